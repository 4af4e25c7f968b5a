/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.h - HTTP/1.1 listeners on libmicrohttpd, run from svcd's own event
 * loop (no thread), for the healthCheckNodePorts, --healthz-bind-address
 * and --metrics-bind-address.
 *
 * One MHD daemon per listening address, each in MHD's external epoll mode.
 * The server owns one epoll fd holding every daemon's epoll fd and a
 * timerfd armed to the nearest MHD timeout, so the caller polls a single
 * fd (httpd_fd) and calls httpd_dispatch when it is readable: a slow or
 * idle client is dropped after HTTPD_CONN_TIMEOUT_S without the caller
 * bounding its own wait. A client that trickles a byte now and then (never
 * idle that long) is cut HTTPD_CONN_DEADLINE_S after its accept, and one
 * address holds at most HTTPD_CONN_PER_IP of a listener's HTTPD_CONN_LIMIT
 * connections: slow clients from one address cannot keep a health checker
 * at another out (test_svcd_security.sh). One request per connection
 * (Connection: close).
 * GET and HEAD are answered by the caller's handler (HEAD without the
 * body); any other method gets 405. Requests larger than the
 * per-connection memory limit are refused by MHD (431 or a close), never
 * buffered whole.
 */
#ifndef SVCD_HTTP_H
#define SVCD_HTTP_H

#include <stdint.h>

#define HTTPD_CONN_TIMEOUT_S 5	      /* idle or slow client: dropped */
#define HTTPD_CONN_DEADLINE_S 10      /* any client: cut after this */
#define HTTPD_CONN_LIMIT 64	      /* connections per listener */
#define HTTPD_CONN_PER_IP 16	      /* of those, per client address */
#define HTTPD_CONN_MEMORY (16 * 1024) /* bytes per connection, request too */
#define HTTPD_MAX_LISTENERS 1024

struct httpd_reply {
	int status;		  /* 200, 404, 503, ... */
	const char *content_type; /* NULL: text/plain */
	char *body;		  /* malloc'd by the handler, freed by httpd */
	const char *header_name;  /* one extra header, or NULL */
	char header_value[64];
};

/* Called once per GET or HEAD request; tag is the listener's, path has no
 * query string. Returns 0, or -ENOMEM (then httpd answers 500). */
typedef int (*httpd_handler_fn)(void *ctx, uint32_t tag, const char *path,
				struct httpd_reply *reply);

struct httpd;

/* NULL + errno on failure. */
struct httpd *httpd_new(httpd_handler_fn fn, void *ctx);
void httpd_free(struct httpd *h);
/* Readable when a listener has work or an MHD timeout is due. */
int httpd_fd(const struct httpd *h);
/* Runs the listeners that have work; never blocks. */
void httpd_dispatch(struct httpd *h);

/*
 * Listen on exactly "ADDR:PORT" (IPv4, or [IPv6]:PORT). Returns a listener
 * id (>= 0) or -errno after logging one line naming the address.
 */
int httpd_listen(struct httpd *h, const char *addr_port, uint32_t tag);
/* Closes the listener and its connections. */
void httpd_unlisten(struct httpd *h, int id);

#endif
