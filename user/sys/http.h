/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.h - a small HTTP/1.1 server inside svcd's event loop, for the
 * healthCheckNodePorts, --healthz-bind-address and --metrics-bind-address.
 * One request per connection (Connection: close), GET/HEAD only, bodies
 * made by the caller's handler. Like the k8s client, it owns an epoll fd
 * that svcd polls as one source.
 */
#ifndef SVCD_HTTP_H
#define SVCD_HTTP_H

#include <stdint.h>

struct httpd_reply {
	int status;		  /* 200, 404, 503, ... */
	const char *content_type; /* NULL: text/plain */
	char *body;		  /* malloc'd by the handler, freed by httpd */
	const char *extra_header; /* one "Name: value" line or NULL */
};

/* Called once per request; tag is the listener's. Returns 0, or -ENOMEM
 * (then httpd answers 500). */
typedef int (*httpd_handler_fn)(void *ctx, uint32_t tag, const char *path,
				struct httpd_reply *reply);

struct httpd;

struct httpd *httpd_new(httpd_handler_fn fn, void *ctx);
void httpd_free(struct httpd *h);
int httpd_fd(const struct httpd *h);
void httpd_dispatch(struct httpd *h);

/*
 * Listen on "ADDR:PORT" (IPv4, or [IPv6]:PORT). Returns a listener id
 * (>= 0) or -errno after logging one line naming the address.
 */
int httpd_listen(struct httpd *h, const char *addr_port, uint32_t tag);
void httpd_unlisten(struct httpd *h, int id);

#endif
