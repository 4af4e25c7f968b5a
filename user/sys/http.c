// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* http.c - HTTP listeners on libmicrohttpd in external epoll mode; see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sys/http.h"
#include "lib/log.h"

/* epoll data of the timerfd; a listener's is its id */
#define HTTPD_TIMER_ID UINT32_MAX

/* An accepted connection, for its deadline; MHD's socket context. */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t deadline_ms;
	bool cut; /* shut down at its deadline; MHD closes it */
};

struct listener {
	struct httpd *h;
	struct MHD_Daemon *daemon;
	uint32_t tag;
	struct conn *first, *last; /* by accept time, so by deadline */
	char name[64];		   /* "ADDR:PORT", for messages */
};

struct httpd {
	int epfd;    /* every daemon's epoll fd and timerfd */
	int timerfd; /* the nearest MHD timeout */
	httpd_handler_fn fn;
	void *ctx;
	struct listener *ls[HTTPD_MAX_LISTENERS];
};

struct httpd *httpd_new(httpd_handler_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u32 = HTTPD_TIMER_ID };
	struct httpd *h;
	int err;

	if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL)) {
		pr_err("http: libmicrohttpd was built without epoll");
		errno = EOPNOTSUPP;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fn = fn;
	h->ctx = ctx;
	h->timerfd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0)
		goto fail;
	h->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->timerfd < 0)
		goto fail;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &ev))
		goto fail;
	return h;
fail:
	err = errno;
	pr_err("http: epoll or timerfd: %s", strerror(err));
	httpd_free(h);
	errno = err;
	return NULL;
}

void httpd_free(struct httpd *h)
{
	int id;

	if (!h)
		return;
	for (id = 0; id < HTTPD_MAX_LISTENERS; id++)
		httpd_unlisten(h, id);
	if (h->timerfd >= 0)
		close(h->timerfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

int httpd_fd(const struct httpd *h)
{
	return h->epfd;
}

static int parse_addr(const char *addr_port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;

	colon = strrchr(addr_port, ':');
	if (!colon || (size_t)(colon - addr_port) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr_port, colon - addr_port);
	host[colon - addr_port] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return 0;
}

/* Our own socket, so that bind errors name the address and nothing but
 * exactly that address is bound; MHD takes it over (and closes it). */
static int listen_socket(const char *addr_port, int *family)
{
	struct sockaddr_storage ss;
	int fd, one = 1, err;
	socklen_t len;

	if (parse_addr(addr_port, &ss, &len)) {
		pr_err("http %s: not ADDR:PORT", addr_port);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = -errno;
		pr_err("http %s: socket: %s", addr_port, strerror(-err));
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		pr_err("http %s: %s", addr_port, strerror(-err));
		close(fd);
		return err;
	}
	*family = ss.ss_family;
	return fd;
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn,
				   struct httpd_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body)
		resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
						       MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r->body);
		return MHD_NO; /* MHD closes the connection */
	}
	if (!MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				     r->content_type ? r->content_type :
						       "text/plain") ||
	    !MHD_add_response_header(resp, "X-Content-Type-Options",
				     "nosniff") ||
	    (r->header_name &&
	     !MHD_add_response_header(resp, r->header_name, r->header_value))) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Answers on the first call, with the headers: svcd reads no request body,
 * and MHD closes the connection after the reply (Connection: close). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct listener *l = cls;
	struct httpd_reply r = { .status = 500 };

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		r.status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (l->h->fn(l->h->ctx, l->tag, url, &r)) {
		free(r.body);
		r = (struct httpd_reply){ .status = 500 };
	}
	return queue_reply(conn, &r);
}

/* MHD's own messages (a client's bad request, a failed accept) are the
 * client's business: debug level. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const char *name = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	pr_debug("http %s: %s", name, msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * MHD's connection timeout counts idleness only: a client sending a header
 * byte every second would hold its connection for as long as the memory
 * limit lasts (hours). Each connection therefore gets a deadline at
 * accept; at it, shutdown() makes MHD read EOF and close the connection
 * itself (the fd stays MHD's).
 */
static void on_connection(void *cls, struct MHD_Connection *mc,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *info;
	struct listener *l = cls;
	struct conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		info = MHD_get_connection_info(
			mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (!c || !info) {
			free(c); /* no deadline: MHD's idle timeout still holds */
			*socket_context = NULL;
			return;
		}
		c->fd = info->connect_fd;
		c->deadline_ms = now_ms() + HTTPD_CONN_DEADLINE_S * 1000ull;
		c->prev = l->last;
		if (l->last)
			l->last->next = c;
		else
			l->first = c;
		l->last = c;
		*socket_context = c;
		return;
	}
	c = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED */
	if (!c)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		l->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->last = c->prev;
	free(c);
	*socket_context = NULL;
}

static void run_listener(struct listener *l);

/* Cuts the connections past their deadline; returns the next deadline of
 * one not cut yet, or 0. */
static uint64_t cut_late(struct listener *l, uint64_t now)
{
	struct conn *c;
	bool cut = false;

	for (c = l->first; c; c = c->next) {
		if (c->cut)
			continue;
		if (c->deadline_ms > now)
			break;
		pr_debug("http %s: a connection open for %d s: closed", l->name,
			 HTTPD_CONN_DEADLINE_S);
		shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
		cut = true;
	}
	if (cut)
		run_listener(l); /* MHD reads the EOFs now */
	for (c = l->first; c; c = c->next)
		if (!c->cut)
			return c->deadline_ms;
	return 0;
}

static struct MHD_Daemon *start_daemon(struct listener *l, int fd, int family)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, l->name, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)HTTPD_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)HTTPD_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)HTTPD_CONN_PER_IP, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, l, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTPD_CONN_MEMORY, MHD_OPTION_END);
}

int httpd_listen(struct httpd *h, const char *addr_port, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const union MHD_DaemonInfo *info;
	struct listener *l = NULL;
	int id, fd, family = AF_UNSPEC, err;

	for (id = 0; id < HTTPD_MAX_LISTENERS && h->ls[id]; id++)
		;
	if (id == HTTPD_MAX_LISTENERS) {
		pr_err("http %s: too many listeners (%d)", addr_port,
		       HTTPD_MAX_LISTENERS);
		return -ENOSPC;
	}
	fd = listen_socket(addr_port, &family);
	if (fd < 0)
		return fd; /* logged */
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->h = h;
	l->tag = tag;
	snprintf(l->name, sizeof(l->name), "%s", addr_port);
	l->daemon = start_daemon(l, fd, family);
	if (!l->daemon) {
		pr_err("http %s: libmicrohttpd did not start (-v 3 says why)",
		       addr_port);
		close(fd); /* still ours when MHD fails */
		err = -EIO;
		goto out_free;
	}
	info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	ev.data.u32 = (uint32_t)id;
	if (!info || epoll_ctl(h->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev)) {
		err = info ? -errno : -EIO;
		pr_err("http %s: cannot poll the listener: %s", addr_port,
		       strerror(-err));
		goto out_stop;
	}
	h->ls[id] = l;
	return id;
out_stop:
	MHD_stop_daemon(l->daemon); /* closes fd */
out_free:
	free(l);
	return err;
}

void httpd_unlisten(struct httpd *h, int id)
{
	struct listener *l;

	if (id < 0 || id >= HTTPD_MAX_LISTENERS || !h->ls[id])
		return;
	l = h->ls[id];
	/* closing the daemon's epoll fd takes it out of h->epfd */
	MHD_stop_daemon(l->daemon);
	free(l);
	h->ls[id] = NULL;
}

static unsigned int connections(const struct listener *l)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(l->daemon,
				   MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return info ? info->num_connections : 0;
}

/*
 * At its connection limit (or out of fds) MHD takes the listening socket
 * out of its epoll set, and puts it back only at the start of the MHD_run
 * after one that closed a connection; with no event and no timeout left,
 * that run would never come. So a run that closed a connection is
 * followed by another.
 */
static void run_listener(struct listener *l)
{
	unsigned int before = connections(l);

	MHD_run(l->daemon);
	if (connections(l) < before)
		MHD_run(l->daemon);
}

/* Arms the timerfd to the nearest MHD timeout over every listener or to
 * min ms (a connection's deadline), whichever comes first (1 ms at least:
 * MHD says 0 while it has buffered work), or disarms it. */
static void arm_timer(struct httpd *h, MHD_UNSIGNED_LONG_LONG min)
{
	MHD_UNSIGNED_LONG_LONG ms;
	struct itimerspec its = {};
	int id;

	for (id = 0; id < HTTPD_MAX_LISTENERS; id++)
		if (h->ls[id] && MHD_get_timeout(h->ls[id]->daemon, &ms) &&
		    ms < min)
			min = ms;
	if (min != ULLONG_MAX) {
		if (!min)
			min = 1;
		its.it_value.tv_sec = (time_t)(min / 1000);
		its.it_value.tv_nsec = (long)(min % 1000) * 1000000;
	}
	timerfd_settime(h->timerfd, 0, &its, NULL);
}

void httpd_dispatch(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t expirations, now, next = 0, d;
	struct epoll_event evs[32];
	bool timer = false;
	uint32_t id;
	int n, i;

	n = epoll_wait(h->epfd, evs, 32, 0);
	for (i = 0; i < n; i++) {
		id = evs[i].data.u32;
		if (id == HTTPD_TIMER_ID) {
			timer = read(h->timerfd, &expirations,
				     sizeof(expirations)) > 0;
			continue;
		}
		if (id < HTTPD_MAX_LISTENERS && h->ls[id])
			run_listener(h->ls[id]);
	}
	/* Due timeouts: MHD drops the connections that idled too long. */
	if (timer)
		for (id = 0; id < HTTPD_MAX_LISTENERS; id++)
			if (h->ls[id] &&
			    MHD_get_timeout(h->ls[id]->daemon, &ms) && !ms)
				run_listener(h->ls[id]);
	/* Deadlines: slow clients that were never idle long enough. */
	now = now_ms();
	for (id = 0; id < HTTPD_MAX_LISTENERS; id++) {
		if (!h->ls[id])
			continue;
		d = cut_late(h->ls[id], now);
		if (d && (!next || d < next))
			next = d;
	}
	arm_timer(h, next ? next - now : ULLONG_MAX);
}
