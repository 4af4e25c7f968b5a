// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* output.c - svcctl's printing: errors, JSON documents, text tables, addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcctl/output.h"
#include "lib/log.h"

/* One error line: JSON on stdout in JSON mode, else stderr. */
int fail(const struct ctx *c, int code, const char *fmt, ...)
{
	char msg[1024];
	cJSON *obj;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->json) {
		pr_err("%s", msg);
		return code;
	}
	obj = cJSON_CreateObject();
	if (obj && cJSON_AddStringToObject(obj, "error", msg)) {
		text = cJSON_PrintUnformatted(obj);
		if (text) {
			printf("%s\n", text);
			free(text);
		}
	}
	cJSON_Delete(obj);
	return code;
}

/* Prints a JSON document and frees it; NULL means out of memory. */
int print_json(const struct ctx *c, cJSON *doc)
{
	char *text;

	if (!doc)
		return fail(c, EXIT_RUNTIME, "out of memory");
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return fail(c, EXIT_RUNTIME, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

int json_append(cJSON *arr, cJSON *obj)
{
	if (!arr || !obj || !cJSON_AddItemToArray(arr, obj)) {
		cJSON_Delete(obj);
		return -ENOMEM;
	}
	return 0;
}

cJSON *json_append_object(cJSON *arr)
{
	cJSON *obj = cJSON_CreateObject();

	return json_append(arr, obj) ? NULL : obj;
}

int table_row(struct table *t, ...)
{
	char **cells, *cell;
	va_list ap;
	size_t i;
	int err = 0;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;

		cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
		if (!cells)
			return -ENOMEM;
		t->cells = cells;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		cell = strdup(va_arg(ap, const char *));
		if (!cell)
			err = -ENOMEM;
		t->cells[t->nrows * t->ncols + i] = cell;
	}
	va_end(ap);
	t->nrows++;
	return err;
}

void table_print(const struct table *t)
{
	size_t width[TABLE_MAX_COLS] = {}, r, i, len;
	const char *cell;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			len = cell ? strlen(cell) : 0;
			if (len > width[i])
				width[i] = len;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			if (i + 1 == t->ncols)
				printf("%s\n", cell ? cell : "");
			else
				printf("%-*s  ", (int)width[i],
				       cell ? cell : "");
		}
	}
}

/* The end of a dump: the JSON array (taken: *arr becomes NULL) or the
 * table, or "out of memory" when building them failed (err). */
int dump_output(const struct ctx *c, int err, cJSON **arr,
		const struct table *t)
{
	cJSON *doc = *arr;

	if (err)
		return fail(c, EXIT_RUNTIME, "out of memory");
	if (c->json) {
		*arr = NULL;
		return print_json(c, doc);
	}
	table_print(t);
	return 0;
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	default:
		return "?";
	}
}

/* "198.19.96.10:80" or, with proto, "198.19.96.10:80/TCP" */
const char *fmt_addr(char *buf, size_t len, __be32 addr, __be16 port, int proto)
{
	union svcd_ip6 a;

	ip6_from4(&a, addr);
	return fmt_ep(buf, len, AF_INET, &a, port, proto);
}

const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

void ip6_from4(union svcd_ip6 *out, __be32 addr)
{
	out->w[0] = 0;
	out->w[1] = 0;
	out->w[2] = htonl(0xffff);
	out->w[3] = addr;
}

const char *fmt_ip(char *buf, size_t len, int family,
		   const union svcd_ip6 *addr)
{
	if (family == AF_INET6) {
		if (!inet_ntop(AF_INET6, addr, buf, len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET, &addr->w[3], buf, len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

const char *fmt_ep(char *buf, size_t len, int family,
		   const union svcd_ip6 *addr, __be16 port, int proto)
{
	char ip[INET6_ADDRSTRLEN];
	const char *open = family == AF_INET6 ? "[" : "";
	const char *close = family == AF_INET6 ? "]" : "";

	fmt_ip(ip, sizeof(ip), family, addr);
	if (proto >= 0)
		snprintf(buf, len, "%s%s%s:%u/%s", open, ip, close, ntohs(port),
			 proto_name(proto));
	else
		snprintf(buf, len, "%s%s%s:%u", open, ip, close, ntohs(port));
	return buf;
}
