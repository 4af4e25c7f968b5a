// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd-echo - the backend that tests and the demo run in pod namespaces.
 *
 *   svcd-echo --name NAME --port P [--tcp] [--udp]
 *
 * Serves TCP and/or UDP (both when neither is given) on 0.0.0.0:P and on
 * [::]:P (an IPv6-only socket, so IPv4 clients never show as ::ffff:a.b.c.d;
 * skipped with a warning where the kernel has no IPv6). Every TCP connection
 * and every UDP datagram gets one line back:
 *
 *   NAME CLIENT_IP:CLIENT_PORT\n          (IPv4)
 *   NAME [CLIENT_IP6]:CLIENT_PORT\n       (IPv6, RFC 5952 text)
 *
 * so a test learns which backend answered and which source address the
 * backend saw (SNAT or not). TCP: the line is written at accept time, then
 * the server half-closes (FIN) and drops the socket when the client closes,
 * so no TIME_WAIT piles up on the client side. Runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64

static const char *name = "echo";

static void usage(FILE *f)
{
	fprintf(f, "usage: svcd-echo --name NAME --port PORT [--tcp] [--udp]\n"
		   "  answers each TCP connection and UDP datagram, IPv4 and\n"
		   "  IPv6, with \"NAME CLIENT_IP:CLIENT_PORT\\n\" (IPv6:\n"
		   "  \"NAME [CLIENT_IP6]:CLIENT_PORT\\n\")\n");
}

static int format_line(char *buf, size_t len,
		       const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *p6 = (const struct sockaddr_in6 *)peer;
	const struct sockaddr_in *p4 = (const struct sockaddr_in *)peer;
	char ip[INET6_ADDRSTRLEN];

	if (peer->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &p6->sin6_addr, ip, sizeof(ip));
		return snprintf(buf, len, "%s [%s]:%u\n", name, ip,
				ntohs(p6->sin6_port));
	}
	inet_ntop(AF_INET, &p4->sin_addr, ip, sizeof(ip));
	return snprintf(buf, len, "%s %s:%u\n", name, ip, ntohs(p4->sin_port));
}

/* -1 on error; -2 when the family is not supported here (no IPv6). */
static int listen_on(int family, int type, unsigned short port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	socklen_t alen;
	int one = 1;
	int fd;

	if (family == AF_INET6) {
		a6->sin6_port = htons(port);
		a6->sin6_addr = in6addr_any;
		alen = sizeof(*a6);
	} else {
		a4->sin_port = htons(port);
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		alen = sizeof(*a4);
	}
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (family == AF_INET6 && errno == EAFNOSUPPORT) {
			fprintf(stderr, "svcd-echo: no IPv6 here: IPv4 only\n");
			return -2;
		}
		fprintf(stderr, "svcd-echo: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, alen) < 0) {
		fprintf(stderr, "svcd-echo: bind %s%s port %u: %s\n",
			type == SOCK_STREAM ? "tcp" : "udp",
			family == AF_INET6 ? "6" : "", port, strerror(errno));
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 4096) < 0) {
		fprintf(stderr, "svcd-echo: listen: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_all(int epfd, int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		char line[256];
		int fd, n;

		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "svcd-echo: accept: %s\n",
					strerror(errno));
			return;
		}
		n = format_line(line, sizeof(line), &peer);
		/* A fresh socket has an empty send buffer: one short write. */
		if (write(fd, line, n) != n) {
			close(fd);
			continue;
		}
		shutdown(fd, SHUT_WR);
		ev.data.fd = fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			close(fd);
	}
}

/* Drain what the client sent; close on EOF or error. */
static void serve_conn(int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		close(fd); /* also removes it from the epoll set */
		return;
	}
}

static void serve_udp(int fd)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		char buf[2048], line[256];
		ssize_t n;
		int len;

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
			     &plen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error for a past reply */
		}
		len = format_line(line, sizeof(line), &peer);
		sendto(fd, line, len, 0, (struct sockaddr *)&peer, plen);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct epoll_event ev, events[MAX_EVENTS];
	int tcp = 0, udp = 0, port = -1;
	/* [0]: IPv4, [1]: IPv6 (-1 when absent) */
	int epfd, tfd[2] = { -1, -1 }, ufd[2] = { -1, -1 };
	char *end;
	int c, i;

	while ((c = getopt_long(argc, argv, "n:p:tuh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "svcd-echo: bad port '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			tcp = 1;
			break;
		case 'u':
			udp = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (port < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!tcp && !udp)
		tcp = udp = 1;
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "svcd-echo: epoll: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;

		if (tcp) {
			tfd[i] = listen_on(family, SOCK_STREAM, port);
			if (tfd[i] == -1)
				return 1;
		}
		if (udp) {
			ufd[i] = listen_on(family, SOCK_DGRAM, port);
			if (ufd[i] == -1)
				return 1;
		}
		if (tfd[i] == -2 || ufd[i] == -2) {
			/* no IPv6: IPv4 alone */
			if (tfd[i] >= 0)
				close(tfd[i]);
			if (ufd[i] >= 0)
				close(ufd[i]);
			tfd[i] = ufd[i] = -1;
			continue;
		}
		if (tfd[i] >= 0) {
			ev = (struct epoll_event){ .events = EPOLLIN,
						   .data.fd = tfd[i] };
			epoll_ctl(epfd, EPOLL_CTL_ADD, tfd[i], &ev);
		}
		if (ufd[i] >= 0) {
			ev = (struct epoll_event){ .events = EPOLLIN,
						   .data.fd = ufd[i] };
			epoll_ctl(epfd, EPOLL_CTL_ADD, ufd[i], &ev);
		}
	}
	fprintf(stderr, "svcd-echo: %s listening on port %d%s%s%s\n", name,
		port, tcp ? " tcp" : "", udp ? " udp" : "",
		tfd[1] >= 0 || ufd[1] >= 0 ? " (IPv4 and IPv6)" : " (IPv4)");

	for (;;) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "svcd-echo: epoll_wait: %s\n",
				strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == tfd[0] || fd == tfd[1])
				accept_all(epfd, fd);
			else if (fd == ufd[0] || fd == ufd[1])
				serve_udp(fd);
			else
				serve_conn(fd);
		}
	}
}
