/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s/objtext.h - the text form in which the store keeps an object: its
 * pruned JSON (store_prune(), k8s/store.h) printed unformatted, with runs
 * that most objects repeat written as one byte 0x01..0x1f (bytes printed
 * JSON never holds raw). Pure: no I/O.
 */
#ifndef SVCD_K8S_OBJTEXT_H
#define SVCD_K8S_OBJTEXT_H

/* Printed JSON to its compact form, in place: never longer. */
void objtext_encode(char *text);
/* The JSON text of a compact one, malloc'ed; NULL when out of memory. */
char *objtext_decode(const char *text);

#endif
