/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* output.h - svcctl's printing: errors, JSON documents, text tables, addresses. */
#ifndef SVCCTL_OUTPUT_H
#define SVCCTL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include <cjson/cJSON.h>

#include "svcctl/svcctl.h"
#include "svcd_abi.h"

/* One error line: JSON on stdout in JSON mode, else stderr. Returns code. */
int fail(const struct ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints a JSON document and frees it; NULL means out of memory. */
int print_json(const struct ctx *c, cJSON *doc);

/* Appends obj to arr and takes obj (freed on failure). 0, or -ENOMEM when
 * either is NULL (a failed constructor) or the append fails. */
int json_append(cJSON *arr, cJSON *obj);
/* A new empty object at the end of arr; NULL when out of memory. */
cJSON *json_append_object(cJSON *arr);

/* Aligned text table: rows of cells, printed with columns padded. */
#define TABLE_MAX_COLS 12

struct table {
	size_t ncols;
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
};

/* Appends a row of t->ncols strings (copied). 0 or -ENOMEM. */
int table_row(struct table *t, ...);
void table_print(const struct table *t);
void table_free(struct table *t);

/* The end of a dump: the JSON array (taken: *arr becomes NULL) or the
 * table, or "out of memory" when building them failed (err). */
int dump_output(const struct ctx *c, int err, cJSON **arr,
		const struct table *t);

/* "TCP", "UDP" or "?" */
const char *proto_name(uint8_t proto);

/* "198.19.96.10:80" or, with proto >= 0, "198.19.96.10:80/TCP" */
const char *fmt_addr(char *buf, size_t len, __be32 addr, __be16 port,
		     int proto);

/*
 * Addresses of either family: IPv4 ones are kept as ::ffff:a.b.c.d in a
 * union svcd_ip6 beside the family, so that one sort order (bytes, IPv4
 * first) and one printer serve both.
 */
#define ADDR_STR_LEN 64 /* "[" INET6_ADDRSTRLEN "]:65535/TCP" */

/* "IPv4" or "IPv6", as Kubernetes' ipFamilies spells them. */
const char *family_name(int family);
/* addr as ::ffff:a.b.c.d */
void ip6_from4(union svcd_ip6 *out, __be32 addr);
/* The address alone, RFC 5952 for IPv6 (inet_ntop). */
const char *fmt_ip(char *buf, size_t len, int family,
		   const union svcd_ip6 *addr);
/* "198.19.96.10:80", "[2001:db8:96::a]:80", and "/TCP" with proto >= 0 */
const char *fmt_ep(char *buf, size_t len, int family,
		   const union svcd_ip6 *addr, __be16 port, int proto);

#endif
