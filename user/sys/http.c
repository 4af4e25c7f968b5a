// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* http.c - see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sys/http.h"
#include "lib/log.h"

#define HTTPD_MAX_LISTENERS 1024
#define HTTPD_MAX_CONNS 128
#define HTTPD_MAX_REQUEST 8192
#define HTTPD_CONN_TIMEOUT_S 10

/* epoll data: listeners are id, connections HTTPD_MAX_LISTENERS + slot */

struct listener {
	int fd; /* -1: free */
	uint32_t tag;
};

struct conn {
	int fd; /* -1: free */
	uint32_t tag;
	time_t started;
	size_t in_len;
	char in[HTTPD_MAX_REQUEST + 1];
	char *out;
	size_t out_len, out_off;
};

struct httpd {
	int epfd;
	httpd_handler_fn fn;
	void *ctx;
	struct listener ls[HTTPD_MAX_LISTENERS];
	struct conn *conns[HTTPD_MAX_CONNS];
};

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

struct httpd *httpd_new(httpd_handler_fn fn, void *ctx)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int i;

	if (!h)
		return NULL;
	h->fn = fn;
	h->ctx = ctx;
	for (i = 0; i < HTTPD_MAX_LISTENERS; i++)
		h->ls[i].fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		free(h);
		return NULL;
	}
	return h;
}

static void conn_close(struct httpd *h, int slot)
{
	struct conn *c = h->conns[slot];

	if (!c)
		return;
	close(c->fd);
	free(c->out);
	free(c);
	h->conns[slot] = NULL;
}

void httpd_free(struct httpd *h)
{
	int i;

	if (!h)
		return;
	for (i = 0; i < HTTPD_MAX_CONNS; i++)
		conn_close(h, i);
	for (i = 0; i < HTTPD_MAX_LISTENERS; i++)
		if (h->ls[i].fd >= 0)
			close(h->ls[i].fd);
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

int httpd_listen(struct httpd *h, const char *addr_port, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	socklen_t len;
	int id, fd, one = 1, err;

	for (id = 0; id < HTTPD_MAX_LISTENERS && h->ls[id].fd >= 0; id++)
		;
	if (id == HTTPD_MAX_LISTENERS) {
		pr_err("http %s: too many listeners", addr_port);
		return -ENOSPC;
	}
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
	ev.data.u32 = (uint32_t)id;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = -errno;
		close(fd);
		return err;
	}
	h->ls[id].fd = fd;
	h->ls[id].tag = tag;
	return id;
}

void httpd_unlisten(struct httpd *h, int id)
{
	if (id < 0 || id >= HTTPD_MAX_LISTENERS || h->ls[id].fd < 0)
		return;
	close(h->ls[id].fd);
	h->ls[id].fd = -1;
}

static void accept_all(struct httpd *h, int id)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int fd, slot;

	for (;;) {
		fd = accept4(h->ls[id].fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (slot = 0; slot < HTTPD_MAX_CONNS && h->conns[slot]; slot++)
			;
		if (slot == HTTPD_MAX_CONNS) {
			close(fd); /* busy: the client retries */
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->tag = h->ls[id].tag;
		c->started = time(NULL);
		ev.data.u32 = HTTPD_MAX_LISTENERS + slot;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		h->conns[slot] = c;
	}
}

static void build_reply(struct httpd *h, struct conn *c)
{
	struct httpd_reply r = { .status = 500 };
	char method[8], path[2048];
	bool head;
	int n;

	if (sscanf(c->in, "%7s %2047s", method, path) != 2) {
		r.status = 400;
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r.status = 405;
	} else if (h->fn(h->ctx, c->tag, path, &r)) {
		free(r.body);
		r.body = NULL;
		r.status = 500;
	}
	head = !strcmp(method, "HEAD");
	n = asprintf(&c->out,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		     "X-Content-Type-Options: nosniff\r\n%s%s"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     r.status, status_text(r.status),
		     r.content_type ? r.content_type : "text/plain",
		     r.extra_header ? r.extra_header : "",
		     r.extra_header ? "\r\n" : "", r.body ? strlen(r.body) : 0,
		     r.body && !head ? r.body : "");
	free(r.body);
	if (n < 0) {
		c->out = NULL;
		return;
	}
	c->out_len = (size_t)n;
}

/* Returns true when the connection is done (close it). */
static bool conn_io(struct httpd *h, int slot, uint32_t events)
{
	struct conn *c = h->conns[slot];
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u32 = HTTPD_MAX_LISTENERS + slot };
	ssize_t n;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		return true;
	if (!c->out) {
		n = read(c->fd, c->in + c->in_len,
			 HTTPD_MAX_REQUEST - c->in_len);
		if (n <= 0)
			return n == 0 || (errno != EAGAIN && errno != EINTR);
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (!strstr(c->in, "\r\n\r\n") && !strstr(c->in, "\n\n") &&
		    c->in_len < HTTPD_MAX_REQUEST)
			return false;
		build_reply(h, c);
		if (!c->out)
			return true;
		epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
	if (n < 0)
		return errno != EAGAIN && errno != EINTR;
	c->out_off += (size_t)n;
	return c->out_off == c->out_len;
}

void httpd_dispatch(struct httpd *h)
{
	struct epoll_event evs[32];
	time_t now = time(NULL);
	int n, i, slot;

	n = epoll_wait(h->epfd, evs, 32, 0);
	for (i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;

		if (id < HTTPD_MAX_LISTENERS) {
			if (h->ls[id].fd >= 0)
				accept_all(h, (int)id);
			continue;
		}
		slot = (int)(id - HTTPD_MAX_LISTENERS);
		if (slot < HTTPD_MAX_CONNS && h->conns[slot] &&
		    conn_io(h, slot, evs[i].events))
			conn_close(h, slot);
	}
	/* A client that never finishes its request loses its slot. */
	for (slot = 0; slot < HTTPD_MAX_CONNS; slot++)
		if (h->conns[slot] &&
		    now - h->conns[slot]->started > HTTPD_CONN_TIMEOUT_S)
			conn_close(h, slot);
}
