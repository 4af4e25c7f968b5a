// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd-load - a bounded load generator for tests, the demo and benchmarks.
 *
 *   svcd-load --tcp|--udp --to IP:PORT|[IP6]:PORT[,...] [--count N] [--duration SECS]
 *             [--concurrency C] [--timeout-ms T] [--rate R] [--sport P]
 *             [--log FILE] [--json]
 *
 * TCP: opens up to N connections (C at a time), each reads the one line
 * svcd-echo writes ("NAME IP:PORT"). UDP: sends up to N datagrams, each on
 * a connected socket of its own (a new flow), or all from one socket bound
 * to --sport (one flow), and waits for each reply. Stops starting new
 * attempts after N or after SECS, whichever comes first; an attempt in
 * flight ends at its timeout. Counts answers per NAME, the source address
 * the backend saw, failures by kind (refused, timeout, reset, other) and
 * latency percentiles, and prints a summary (JSON with --json). IPv6: the
 * target is "[addr]:port"; svcd-echo answers "NAME [addr]:port" and the
 * source address counted is the address alone, without brackets.
 *
 * A refusal is ECONNREFUSED, which the kernel reports as soon as an ICMP
 * port unreachable (or a TCP RST) arrives: it is not waited for.
 * Several targets (--to A,B,C, one family): attempts go to each in
 * turn, as a client spreading its connections over a Service's pods
 * itself would (the bench's direct floor beside a Service of as many
 * endpoints); --sport takes one target.
 *
 * Exit status: 0 when every attempt was answered, 1 otherwise, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 1024
#define MAX_TARGETS 16
#define MAX_NAMES 64
#define LINE_MAX_LEN 256

enum fail_kind {
	FAIL_REFUSED,
	FAIL_TIMEOUT,
	FAIL_RESET,
	FAIL_OTHER,
	FAIL_KINDS
};
static const char *const fail_names[FAIL_KINDS] = { "refused", "timeout",
						    "reset", "other" };

struct counter {
	char key[64];
	uint64_t n;
};

struct counters {
	struct counter c[MAX_NAMES];
	size_t len;
};

struct samples {
	double *v; /* milliseconds */
	size_t len, cap;
};

enum attempt_state { A_IDLE, A_CONNECTING, A_WAITING };

struct attempt {
	enum attempt_state state;
	int fd;
	uint64_t id;
	double start, deadline; /* seconds, CLOCK_MONOTONIC */
	size_t got;
	char buf[LINE_MAX_LEN];
};

struct load {
	bool udp, json;
	struct sockaddr_storage to[MAX_TARGETS]; /* to[0]: the family's */
	socklen_t to_len[MAX_TARGETS];
	int n_to;
	char to_str[MAX_TARGETS * 48];
	uint64_t count;
	double duration, rate, timeout;
	int concurrency;
	int sport; /* 0: ephemeral */
	FILE *log;

	int epfd;
	int udp_fd; /* the shared socket when sport is set */
	struct attempt *att;
	double t0;
	uint64_t started, answered, failed;
	uint64_t fails[FAIL_KINDS];
	uint64_t seen_self;
	struct counters answers, seen, errors;
	struct samples ok_lat, fail_lat;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svcd-load --tcp|--udp --to IP:PORT|[IP6]:PORT[,...] [--count N] [--duration SECS]\n"
		"                 [--concurrency C] [--timeout-ms T] [--rate PER_SEC]\n"
		"                 [--sport PORT] [--log FILE] [--json]\n"
		"  defaults: --count 100 --duration 10 --concurrency 1 --timeout-ms 2000\n");
}

static void count_add(struct counters *cs, const char *key)
{
	size_t i;

	for (i = 0; i < cs->len; i++) {
		if (!strcmp(cs->c[i].key, key)) {
			cs->c[i].n++;
			return;
		}
	}
	if (cs->len == MAX_NAMES) {
		key = "(more)";
		for (i = 0; i < cs->len; i++) {
			if (!strcmp(cs->c[i].key, key)) {
				cs->c[i].n++;
				return;
			}
		}
		i = cs->len - 1; /* overwrite the last slot: stays bounded */
	} else {
		i = cs->len++;
	}
	snprintf(cs->c[i].key, sizeof(cs->c[i].key), "%s", key);
	cs->c[i].n = 1;
}

static void sample_add(struct samples *s, double ms)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return; /* percentiles get less precise, counts stay right */
		s->v = v;
		s->cap = cap;
	}
	s->v[s->len++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(const struct samples *s, double p)
{
	size_t i;

	if (!s->len)
		return 0;
	i = (size_t)ceil(p / 100.0 * s->len);
	if (i > 0)
		i--;
	if (i >= s->len)
		i = s->len - 1;
	return s->v[i];
}

static const char *errno_name(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ECONNRESET:
		return "ECONNRESET";
	case EPIPE:
		return "EPIPE";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EADDRINUSE:
		return "EADDRINUSE";
	case EMFILE:
		return "EMFILE";
	case ENOBUFS:
		return "ENOBUFS";
	case EPERM:
		return "EPERM";
	case 0:
		return "EOF"; /* closed before a full line */
	default:
		return "EOTHER";
	}
}

static enum fail_kind classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return FAIL_REFUSED;
	case ETIMEDOUT:
		return FAIL_TIMEOUT;
	case ECONNRESET:
	case EPIPE:
		return FAIL_RESET;
	default:
		return FAIL_OTHER;
	}
}

static void finish(struct load *l, struct attempt *a)
{
	if (a->fd >= 0 && a->fd != l->udp_fd)
		close(a->fd); /* also leaves the epoll set */
	else if (a->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, a->fd, NULL);
	a->fd = -1;
	a->state = A_IDLE;
}

/* "addr:port" or "[addr6]:port" of SA, as svcd-echo writes it. */
static void format_addr(char *buf, size_t len,
			const struct sockaddr_storage *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	char ip[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

static void fail(struct load *l, struct attempt *a, int err)
{
	double t = now();
	enum fail_kind kind = classify(err);
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	char self[64] = "-";

	/* the local address, to find the attempt's packets and flow entries */
	if (a->fd >= 0 && !getsockname(a->fd, (struct sockaddr *)&local, &llen))
		format_addr(self, sizeof(self), &local);
	l->failed++;
	l->fails[kind]++;
	count_add(&l->errors, err == ETIMEDOUT ? "timeout" : errno_name(err));
	sample_add(&l->fail_lat, (t - a->start) * 1e3);
	if (l->log)
		fprintf(l->log, "%.3f %llu FAIL %s %s %s\n", (t - l->t0) * 1e3,
			(unsigned long long)a->id, fail_names[kind],
			err == ETIMEDOUT ? "timeout" : errno_name(err), self);
	finish(l, a);
}

/* A full line "NAME IP:PORT" (or "NAME [IP6]:PORT") arrived. */
static void answer(struct load *l, struct attempt *a)
{
	char name[64] = "", seen[64] = "", seen_ip[64], self[64] = "";
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	double t = now();
	char *colon, *ip = seen_ip;

	a->buf[a->got < sizeof(a->buf) ? a->got : sizeof(a->buf) - 1] = '\0';
	if (sscanf(a->buf, "%63s %63s", name, seen) < 1) {
		fail(l, a, EBADMSG);
		return;
	}
	l->answered++;
	count_add(&l->answers, name);
	snprintf(seen_ip, sizeof(seen_ip), "%s", seen);
	colon = strrchr(seen_ip, ':');
	if (colon)
		*colon = '\0';
	/* "[2001:db8::1]" -> "2001:db8::1" */
	if (*ip == '[' && colon && colon[-1] == ']') {
		colon[-1] = '\0';
		ip++;
	}
	count_add(&l->seen, ip);
	if (!getsockname(a->fd, (struct sockaddr *)&local, &llen)) {
		format_addr(self, sizeof(self), &local);
		if (!strcmp(self, seen))
			l->seen_self++;
	}
	sample_add(&l->ok_lat, (t - a->start) * 1e3);
	if (l->log)
		fprintf(l->log, "%.3f %llu OK %s %s %.1fms %s\n",
			(t - l->t0) * 1e3, (unsigned long long)a->id, name,
			seen, (t - a->start) * 1e3, self);
	finish(l, a);
}

/* SA: the wildcard address of the target's family, port PORT. */
static socklen_t any_addr(const struct load *l, struct sockaddr_storage *sa,
			  int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->ss_family = l->to[0].ss_family;
	if (sa->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
		return sizeof(struct sockaddr_in6);
	}
	((struct sockaddr_in *)sa)->sin_port = htons(port);
	return sizeof(struct sockaddr_in);
}

static int open_udp(struct load *l, int k, int *fdp)
{
	struct sockaddr_storage src;
	socklen_t slen;
	int one = 1, fd;

	fd = socket(l->to[k].ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (l->sport) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		slen = any_addr(l, &src, l->sport);
		if (bind(fd, (struct sockaddr *)&src, slen) < 0)
			goto err;
	}
	if (connect(fd, (struct sockaddr *)&l->to[k], l->to_len[k]) < 0)
		goto err;
	*fdp = fd;
	return 0;
err:
	one = -errno;
	close(fd);
	return one;
}

static void start(struct load *l, struct attempt *a)
{
	static const char query[] = "svcd-load\n";
	struct epoll_event ev = { .data.ptr = a };
	int err, fd = -1, one = 1, k;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->id = l->started++;
	k = (int)(a->id % (uint64_t)l->n_to); /* targets in turn */
	a->start = now();
	a->deadline = a->start + l->timeout;

	if (l->udp) {
		if (l->sport) {
			fd = l->udp_fd;
		} else {
			err = open_udp(l, k, &fd);
			if (err) {
				fail(l, a, -err);
				return;
			}
		}
		a->fd = fd;
		if (send(fd, query, sizeof(query) - 1, 0) < 0) {
			fail(l, a, errno);
			return;
		}
		a->state = A_WAITING;
		ev.events = EPOLLIN;
	} else {
		fd = socket(l->to[k].ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail(l, a, errno);
			return;
		}
		a->fd = fd;
		if (l->sport) {
			struct sockaddr_storage src;
			socklen_t slen = any_addr(l, &src, l->sport);

			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
			if (bind(fd, (struct sockaddr *)&src, slen) < 0) {
				fail(l, a, errno);
				return;
			}
		}
		if (connect(fd, (struct sockaddr *)&l->to[k], l->to_len[k]) <
			    0 &&
		    errno != EINPROGRESS) {
			fail(l, a, errno);
			return;
		}
		a->state = A_CONNECTING;
		ev.events = EPOLLOUT | EPOLLIN;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fail(l, a, errno);
}

static void on_event(struct load *l, struct attempt *a, uint32_t events)
{
	socklen_t elen = sizeof(int);
	int err = 0;
	ssize_t n;

	if (a->state == A_CONNECTING) {
		getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err) {
			fail(l, a, err);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN | EPOLLHUP)))
			return;
		a->state = A_WAITING;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = a };
		epoll_ctl(l->epfd, EPOLL_CTL_MOD, a->fd, &ev);
	}
	for (;;) {
		if (l->udp)
			n = recv(a->fd, a->buf, sizeof(a->buf) - 1, 0);
		else
			n = read(a->fd, a->buf + a->got,
				 sizeof(a->buf) - 1 - a->got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			fail(l, a, errno);
			return;
		}
		if (l->udp) {
			a->got = n;
			answer(l, a);
			return;
		}
		if (n == 0) {
			if (a->got)
				answer(l, a); /* line without '\n' */
			else
				fail(l, a, 0);
			return;
		}
		a->got += n;
		if (memchr(a->buf, '\n', a->got) ||
		    a->got == sizeof(a->buf) - 1) {
			answer(l, a);
			return;
		}
	}
}

static void print_counters_json(const char *key, const struct counters *cs)
{
	size_t i;

	printf("\"%s\":{", key);
	for (i = 0; i < cs->len; i++)
		printf("%s\"%s\":%llu", i ? "," : "", cs->c[i].key,
		       (unsigned long long)cs->c[i].n);
	printf("}");
}

static void print_lat_json(const char *key, const struct samples *s)
{
	printf("\"%s\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
	       key, percentile(s, 50), percentile(s, 90), percentile(s, 99),
	       percentile(s, 100));
}

static int cmp_counter(const void *a, const void *b)
{
	return strcmp(((const struct counter *)a)->key,
		      ((const struct counter *)b)->key);
}

static void report(struct load *l, double elapsed)
{
	size_t i;
	int k;

	/* qsort(NULL, 0, ...) is undefined: sort only what exists. */
	if (l->ok_lat.len)
		qsort(l->ok_lat.v, l->ok_lat.len, sizeof(double), cmp_double);
	if (l->fail_lat.len)
		qsort(l->fail_lat.v, l->fail_lat.len, sizeof(double),
		      cmp_double);
	qsort(l->answers.c, l->answers.len, sizeof(struct counter),
	      cmp_counter);
	qsort(l->seen.c, l->seen.len, sizeof(struct counter), cmp_counter);
	if (l->json) {
		printf("{\"proto\":\"%s\",\"to\":\"%s\",\"attempts\":%llu,"
		       "\"answered\":%llu,\"failed\":%llu,\"elapsed_s\":%.3f,",
		       l->udp ? "udp" : "tcp", l->to_str,
		       (unsigned long long)l->started,
		       (unsigned long long)l->answered,
		       (unsigned long long)l->failed, elapsed);
		printf("\"failures\":{");
		for (k = 0; k < FAIL_KINDS; k++)
			printf("%s\"%s\":%llu", k ? "," : "", fail_names[k],
			       (unsigned long long)l->fails[k]);
		printf("},");
		print_counters_json("errors", &l->errors);
		printf(",");
		print_counters_json("answers", &l->answers);
		printf(",");
		print_counters_json("seen", &l->seen);
		printf(",\"seen_self\":%llu,",
		       (unsigned long long)l->seen_self);
		print_lat_json("latency_ms", &l->ok_lat);
		printf(",");
		print_lat_json("failure_latency_ms", &l->fail_lat);
		printf("}\n");
		return;
	}
	printf("%s %s: %llu attempts, %llu answered, %llu failed in %.2f s\n",
	       l->udp ? "udp" : "tcp", l->to_str,
	       (unsigned long long)l->started, (unsigned long long)l->answered,
	       (unsigned long long)l->failed, elapsed);
	printf("  failures:");
	for (k = 0; k < FAIL_KINDS; k++)
		printf(" %s %llu%s", fail_names[k],
		       (unsigned long long)l->fails[k],
		       k < FAIL_KINDS - 1 ? "," : "\n");
	if (l->ok_lat.len)
		printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		       percentile(&l->ok_lat, 50), percentile(&l->ok_lat, 90),
		       percentile(&l->ok_lat, 99), percentile(&l->ok_lat, 100));
	if (l->fail_lat.len)
		printf("  failure latency ms: p50 %.3f  max %.3f\n",
		       percentile(&l->fail_lat, 50),
		       percentile(&l->fail_lat, 100));
	for (i = 0; i < l->answers.len; i++)
		printf("  %-20s %llu\n", l->answers.c[i].key,
		       (unsigned long long)l->answers.c[i].n);
	printf("  backends saw the client's own address:port in %llu of %llu answers\n",
	       (unsigned long long)l->seen_self,
	       (unsigned long long)l->answered);
}

/* "a.b.c.d:port" or "[ipv6]:port" into SA; its length, 0 when malformed. */
static socklen_t parse_addr(const char *s, struct sockaddr_storage *sa);

/* --to A[,B...]: up to MAX_TARGETS addresses of one family. */
static int parse_targets(struct load *l, const char *arg)
{
	char buf[sizeof(l->to_str)], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf)) {
		fprintf(stderr, "svcd-load: --to: too long\n");
		return -1;
	}
	strcpy(buf, arg);
	l->n_to = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (l->n_to == MAX_TARGETS) {
			fprintf(stderr,
				"svcd-load: --to: more than %d targets\n",
				MAX_TARGETS);
			return -1;
		}
		l->to_len[l->n_to] = parse_addr(tok, &l->to[l->n_to]);
		if (!l->to_len[l->n_to]) {
			fprintf(stderr,
				"svcd-load: --to: '%s' is not IPv4:PORT nor [IPv6]:PORT\n",
				tok);
			return -1;
		}
		if (l->to[l->n_to].ss_family != l->to[0].ss_family) {
			fprintf(stderr,
				"svcd-load: --to: '%s': every target of one family\n",
				tok);
			return -1;
		}
		l->n_to++;
	}
	if (!l->n_to) {
		fprintf(stderr, "svcd-load: --to: no target\n");
		return -1;
	}
	return 0;
}

static socklen_t parse_addr(const char *s, struct sockaddr_storage *sa)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	char host[64], *colon, *end, *h = host;
	long port;

	snprintf(host, sizeof(host), "%s", s);
	colon = strrchr(host, ':');
	if (!colon)
		return 0;
	*colon = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return 0;
	memset(sa, 0, sizeof(*sa));
	if (*h == '[') {
		if (colon == h + 1 || colon[-1] != ']')
			return 0;
		colon[-1] = '\0';
		h++;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return inet_pton(AF_INET6, h, &s6->sin6_addr) == 1 ?
			       sizeof(*s6) :
			       0;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	return inet_pton(AF_INET, h, &s4->sin_addr) == 1 ? sizeof(*s4) : 0;
}

static int parse_num(const char *opt, const char *s, double min, double max,
		     double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (*end || *out < min || *out > max) {
		fprintf(stderr, "svcd-load: %s: '%s' is not in [%g, %g]\n", opt,
			s, min, max);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "to", required_argument, NULL, 'T' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "sport", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct load l = {
		.count = 100,
		.duration = 10,
		.timeout = 2.0,
		.concurrency = 1,
		.udp_fd = -1,
	};
	struct epoll_event events[64];
	bool proto_set = false, to_set = false;
	double v, end_time, elapsed;
	int c, i, active;

	while ((c = getopt_long(argc, argv, "tuT:n:d:c:w:r:s:l:jh", opts,
				NULL)) != -1) {
		switch (c) {
		case 't':
		case 'u':
			if (proto_set && l.udp != (c == 'u')) {
				fprintf(stderr,
					"svcd-load: give one of --tcp, --udp\n");
				return 2;
			}
			l.udp = c == 'u';
			proto_set = true;
			break;
		case 'T':
			if (parse_targets(&l, optarg))
				return 2;
			snprintf(l.to_str, sizeof(l.to_str), "%s", optarg);
			to_set = true;
			break;
		case 'n':
			if (parse_num("--count", optarg, 1, 1e9, &v))
				return 2;
			l.count = (uint64_t)v;
			break;
		case 'd':
			if (parse_num("--duration", optarg, 0.001, 86400,
				      &l.duration))
				return 2;
			break;
		case 'c':
			if (parse_num("--concurrency", optarg, 1,
				      MAX_CONCURRENCY, &v))
				return 2;
			l.concurrency = (int)v;
			break;
		case 'w':
			if (parse_num("--timeout-ms", optarg, 1, 600000, &v))
				return 2;
			l.timeout = v / 1e3;
			break;
		case 'r':
			if (parse_num("--rate", optarg, 0, 1e7, &l.rate))
				return 2;
			break;
		case 's':
			if (parse_num("--sport", optarg, 1, 65535, &v))
				return 2;
			l.sport = (int)v;
			break;
		case 'l':
			l.log = fopen(optarg, "w");
			if (!l.log) {
				fprintf(stderr, "svcd-load: %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			setvbuf(l.log, NULL, _IOLBF, 0);
			break;
		case 'j':
			l.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!proto_set || !to_set || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* One source port is one flow: its attempts go one after another,
	 * to one target. */
	if (l.sport && l.n_to > 1) {
		fprintf(stderr, "svcd-load: --sport takes one --to target\n");
		return 2;
	}
	if (l.sport)
		l.concurrency = 1;
	signal(SIGPIPE, SIG_IGN);

	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	l.att = calloc(l.concurrency, sizeof(*l.att));
	if (l.epfd < 0 || !l.att) {
		fprintf(stderr, "svcd-load: setup: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < l.concurrency; i++)
		l.att[i].fd = -1;
	if (l.udp && l.sport) {
		int err = open_udp(&l, 0, &l.udp_fd);

		if (err) {
			fprintf(stderr,
				"svcd-load: udp socket on port %d: %s\n",
				l.sport, strerror(-err));
			return 1;
		}
	}

	l.t0 = now();
	end_time = l.t0 + l.duration;
	for (;;) {
		double t = now(), wake = t + 0.1;
		bool more = l.started < l.count && t < end_time;

		active = 0;
		for (i = 0; i < l.concurrency; i++) {
			struct attempt *a = &l.att[i];

			if (a->state != A_IDLE && t >= a->deadline)
				fail(&l, a, ETIMEDOUT);
			if (a->state == A_IDLE && more) {
				double due = l.rate > 0 ?
						     l.t0 + l.started / l.rate :
						     t;

				if (due <= t) {
					start(&l, a);
					more = l.started < l.count;
				} else if (due < wake) {
					wake = due;
				}
			}
			if (a->state != A_IDLE) {
				active++;
				if (a->deadline < wake)
					wake = a->deadline;
			}
		}
		if (!active && !(l.started < l.count && now() < end_time))
			break;
		if (!active && l.rate <= 0)
			continue;
		int timeout_ms = (int)ceil((wake - now()) * 1e3);
		if (timeout_ms < 0)
			timeout_ms = 0;
		int n = epoll_wait(l.epfd, events, 64, timeout_ms);
		for (i = 0; i < n; i++) {
			struct attempt *a = events[i].data.ptr;

			if (a->state != A_IDLE)
				on_event(&l, a, events[i].events);
		}
	}
	elapsed = now() - l.t0;
	report(&l, elapsed);
	if (l.log)
		fclose(l.log);
	if (l.udp_fd >= 0)
		close(l.udp_fd);
	close(l.epfd);
	free(l.att);
	free(l.ok_lat.v);
	free(l.fail_lat.v);
	return l.failed == 0 && l.started > 0 ? 0 : 1;
}
