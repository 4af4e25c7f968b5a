// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* serve.c - see serve.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sys/http.h"
#include "sys/pinned.h"
#include "lib/log.h"
#include "svcd/serve.h"
#include "svcd_abi_names.h"

#define TAG_HEALTHZ 0x10000u
#define TAG_METRICS 0x10001u

/* listeners of one healthCheckNodePort: one per node address at most */
#define HC_MAX_LISTENERS 16

/* A node address a healthCheckNodePort listens on: "ADDR" or "[ADDR6]". */
typedef char hc_addr[INET6_ADDRSTRLEN + 2];

struct healthcheck {
	uint16_t port;
	/* "[::]:port" (both families), "0.0.0.0:port" (beside "[::]" under
	 * bindv6only), or, with --nodeport-addresses, one per node address */
	int ls[HC_MAX_LISTENERS];
	size_t n_ls;
	char name[SVCD_NAME_LEN];
	uint32_t local_endpoints;
	bool seen; /* in the latest state */
};

/* svcd_change_to_maps_seconds: the bucket bounds fixed by issue 14, as
 * printed in le="..." (%g), then +Inf */
static const double change_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
					 0.005,	 0.01,	  0.025,  0.05,	 0.1,
					 0.25,	 0.5,	  1,	  2.5,	 5 };
#define N_CHANGE_BUCKETS (sizeof(change_buckets) / sizeof(change_buckets[0]))

struct serve {
	struct httpd *httpd;
	const struct svcd_maps *maps;
	struct healthcheck *hcs;
	size_t n_hcs, cap_hcs;
	bool ipv6; /* the node serves IPv6: health checks on [::] too */
	/* --nodeport-addresses: health checks on these only (else on the
	 * wildcard address) */
	bool hc_restricted;
	hc_addr *hc_addrs;
	size_t n_hc_addrs;
	struct serve_sync_info last;
	time_t last_ok; /* wall clock of the last good sync, 0 = none */
	unsigned long syncs, sync_failures;
	/* per bucket (not cumulative), the last one +Inf */
	unsigned long change_counts[N_CHANGE_BUCKETS + 1];
	unsigned long change_count;
	double change_sum;
	const struct probes *probes;	      /* NULL: not known */
	void (*variants)(void *ctx, FILE *f); /* NULL: none */
	void *variants_ctx;
};

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int reply_healthcheck(struct serve *s, uint16_t port,
			     struct httpd_reply *r)
{
	const struct healthcheck *hc = NULL;
	const char *slash;
	size_t i;

	for (i = 0; i < s->n_hcs; i++)
		if (s->hcs[i].port == port)
			hc = &s->hcs[i];
	if (!hc) {
		r->status = 404;
		return 0;
	}
	slash = strchr(hc->name, '/');
	r->status = hc->local_endpoints ? 200 : 503;
	r->content_type = "application/json";
	/* kube-proxy's header: lets a load balancer weigh nodes */
	r->header_name = "X-Load-Balancing-Endpoint-Weight";
	snprintf(r->header_value, sizeof(r->header_value), "%u",
		 hc->local_endpoints);
	if (asprintf(&r->body,
		     "{\"service\":{\"namespace\":\"%.*s\",\"name\":\"%s\"},"
		     "\"localEndpoints\":%u,\"serviceProxyHealthy\":true}\n",
		     slash ? (int)(slash - hc->name) : 0, hc->name,
		     slash ? slash + 1 : hc->name, hc->local_endpoints) < 0) {
		r->body = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int reply_healthz(struct serve *s, const char *path,
			 struct httpd_reply *r)
{
	char last[32] = "", now[32];

	if (strcmp(path, "/healthz") && strcmp(path, "/livez")) {
		r->status = 404;
		return 0;
	}
	iso_time(time(NULL), now, sizeof(now));
	if (s->last_ok)
		iso_time(s->last_ok, last, sizeof(last));
	/* Healthy once the maps hold a whole desired state. */
	r->status = s->last_ok ? 200 : 503;
	r->content_type = "application/json";
	if (asprintf(
		    &r->body,
		    "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\", \"nodeEligible\": true}\n",
		    last, now) < 0) {
		r->body = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int reply_metrics(struct serve *s, const char *path,
			 struct httpd_reply *r)
{
	static __u64 hook_reasons[SVCD_HOOK_MAX][SVCD_R_MAX];
	__u64 reasons[SVCD_R_MAX] = {};
	int h;
	unsigned long cum;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	if (!strcmp(path, "/proxyMode")) {
		r->status = 200;
		r->body = strdup("ebpf");
		return r->body ? 0 : -ENOMEM;
	}
	if (strcmp(path, "/metrics")) {
		r->status = 404;
		return 0;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f,
		"# HELP svcd_sync_total Syncs of the maps to the desired state.\n"
		"# TYPE svcd_sync_total counter\nsvcd_sync_total %lu\n"
		"# HELP svcd_sync_failures_total Syncs whose input was rejected whole.\n"
		"# TYPE svcd_sync_failures_total counter\n"
		"svcd_sync_failures_total %lu\n"
		"# HELP svcd_sync_duration_seconds Duration of the last sync.\n"
		"# TYPE svcd_sync_duration_seconds gauge\n"
		"svcd_sync_duration_seconds %.6f\n"
		"# HELP svcd_services Backend sets (service ports) in the maps.\n"
		"# TYPE svcd_services gauge\nsvcd_services %zu\n"
		"# HELP svcd_frontends Frontends in the maps.\n"
		"# TYPE svcd_frontends gauge\nsvcd_frontends %zu\n"
		"# HELP svcd_backends Backends in the maps.\n"
		"# TYPE svcd_backends gauge\nsvcd_backends %zu\n"
		"# HELP svcd_sync_errors Objects or sets rejected in the last sync.\n"
		"# TYPE svcd_sync_errors gauge\nsvcd_sync_errors %zu\n",
		s->syncs, s->sync_failures, s->last.ms / 1000.0,
		s->last.services, s->last.frontends, s->last.backends,
		s->last.errors);
	fprintf(f,
		"# HELP svcd_map_full_sets Service ports the last sync could not install (or left at their previous version) because the map or its id space was full.\n"
		"# TYPE svcd_map_full_sets gauge\n");
	for (i = 0; i < SVCD_SF_COUNT; i++)
		fprintf(f, "svcd_map_full_sets{map=\"%s\"} %u\n",
			svcd_shortfall_name(i), s->last.full[i]);
	fprintf(f,
		"# HELP svcd_change_to_maps_seconds From the first watch event of a batch (or a --from-file change) to the last map write of its sync.\n"
		"# TYPE svcd_change_to_maps_seconds histogram\n");
	for (i = 0, cum = 0; i <= (int)N_CHANGE_BUCKETS; i++) {
		cum += s->change_counts[i];
		if (i < (int)N_CHANGE_BUCKETS)
			fprintf(f,
				"svcd_change_to_maps_seconds_bucket{le=\"%g\"} %lu\n",
				change_buckets[i], cum);
		else
			fprintf(f,
				"svcd_change_to_maps_seconds_bucket{le=\"+Inf\"} %lu\n",
				cum);
	}
	fprintf(f,
		"svcd_change_to_maps_seconds_sum %.9f\n"
		"svcd_change_to_maps_seconds_count %lu\n",
		s->change_sum, s->change_count);
	if (s->probes) {
		fprintf(f,
			"# HELP svcd_kernel_feature Kernel features probed at start (svcctl status names them): 1 usable, 0 missing (state=no), not probed (unknown) or off by --disable-feature (off).\n"
			"# TYPE svcd_kernel_feature gauge\n");
		for (i = 0; i < FEAT_MAX; i++)
			fprintf(f,
				"svcd_kernel_feature{kernel=\"%s\",feature=\"%s\",state=\"%s\"} %d\n",
				s->probes->release, probe_name(i),
				probe_state_str(s->probes->f[i].state),
				probe_have(s->probes, i));
	}
	if (s->variants) {
		fprintf(f,
			"# HELP svcd_datapath_variant The program variant each hook runs (1 per hook and variant in use).\n"
			"# TYPE svcd_datapath_variant gauge\n");
		s->variants(s->variants_ctx, f);
	}
	if (!svcd_maps_read_reasons(s->maps, reasons)) {
		fprintf(f, "# HELP svcd_datapath_packets_total Packets the "
			   "datapath saw, by verdict reason.\n"
			   "# TYPE svcd_datapath_packets_total counter\n");
		for (i = 1; i < SVCD_R_MAX; i++)
			fprintf(f,
				"svcd_datapath_packets_total{reason=\"%s\"} %llu\n",
				svcd_reason_names[i],
				(unsigned long long)reasons[i]);
	}
	if (!svcd_maps_read_hook_reasons(s->maps, hook_reasons)) {
		fprintf(f,
			"# HELP svcd_datapath_hook_packets_total Packets (socket calls) each hook took, by verdict reason: a hook's reasons add up to what it took.\n"
			"# TYPE svcd_datapath_hook_packets_total counter\n");
		for (h = 0; h < SVCD_HOOK_MAX; h++)
			for (i = 1; i < SVCD_R_MAX; i++)
				fprintf(f,
					"svcd_datapath_hook_packets_total{hook=\"%s\",reason=\"%s\"} %llu\n",
					svcd_hook_names[h],
					svcd_reason_names[i],
					(unsigned long long)hook_reasons[h][i]);
	}
	fclose(f);
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4";
	r->body = buf;
	return 0;
}

static int handle(void *ctx, uint32_t tag, const char *path,
		  struct httpd_reply *r)
{
	struct serve *s = ctx;

	if (tag == TAG_HEALTHZ)
		return reply_healthz(s, path, r);
	if (tag == TAG_METRICS)
		return reply_metrics(s, path, r);
	/* a healthCheckNodePort answers any path, as kube-proxy's does */
	return reply_healthcheck(s, (uint16_t)tag, r);
}

struct serve *serve_new(const char *healthz_addr, const char *metrics_addr,
			const struct svcd_maps *maps)
{
	struct serve *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->maps = maps;
	s->httpd = httpd_new(handle, s);
	if (!s->httpd)
		goto fail;
	if (healthz_addr && *healthz_addr &&
	    httpd_listen(s->httpd, healthz_addr, TAG_HEALTHZ) < 0)
		goto fail;
	if (metrics_addr && *metrics_addr &&
	    httpd_listen(s->httpd, metrics_addr, TAG_METRICS) < 0)
		goto fail;
	return s;
fail:
	serve_free(s);
	errno = EADDRNOTAVAIL;
	return NULL;
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	httpd_free(s->httpd);
	free(s->hcs);
	free(s->hc_addrs);
	free(s);
}

int serve_fd(const struct serve *s)
{
	return httpd_fd(s->httpd);
}

void serve_dispatch(struct serve *s)
{
	httpd_dispatch(s->httpd);
}

/* Whether this network namespace can have IPv6 sockets at all. */
static bool ipv6_usable(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* net.ipv6.bindv6only: "[::]" then takes IPv6 only. */
static bool bindv6only(void)
{
	FILE *f = fopen("/proc/sys/net/ipv6/bindv6only", "re");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v != 0;
}

static void hc_unlisten(struct serve *s, struct healthcheck *hc)
{
	size_t i;

	for (i = 0; i < hc->n_ls; i++)
		httpd_unlisten(s->httpd, hc->ls[i]);
	hc->n_ls = 0;
}

/* With --nodeport-addresses, as kube-proxy's: a listener on each node
 * address NodePorts answer on, none while there is none. Each failure is
 * logged with its address. */
static int hc_listen_addrs(struct serve *s, struct healthcheck *hc,
			   uint16_t port)
{
	char addr[sizeof(hc_addr) + 8];
	size_t i;
	int id;

	for (i = 0; i < s->n_hc_addrs; i++) {
		if (hc->n_ls == HC_MAX_LISTENERS) {
			pr_warn("healthCheckNodePort %u: listens on the first %d node addresses only",
				port, HC_MAX_LISTENERS);
			break;
		}
		snprintf(addr, sizeof(addr), "%s:%u", s->hc_addrs[i], port);
		id = httpd_listen(s->httpd, addr, port);
		if (id >= 0)
			hc->ls[hc->n_ls++] = id;
	}
	return 0;
}

/*
 * On a node that serves IPv6 a healthCheckNodePort answers on both
 * families, as kube-proxy's (one server per family): "[::]:port", which
 * takes IPv4 too, and "0.0.0.0:port" beside it when bindv6only says it
 * does not. On an IPv4 node, or where the namespace has no IPv6 sockets,
 * "0.0.0.0:port" as before. With --nodeport-addresses, on the node
 * addresses instead (hc_listen_addrs). Returns 0 or the error (logged).
 */
static int hc_listen(struct serve *s, struct healthcheck *hc, uint16_t port)
{
	char addr[32];
	int id;

	hc->n_ls = 0;
	if (s->hc_restricted)
		return hc_listen_addrs(s, hc, port);
	if (s->ipv6 && ipv6_usable()) {
		snprintf(addr, sizeof(addr), "[::]:%u", port);
		id = httpd_listen(s->httpd, addr, port);
		if (id >= 0) {
			hc->ls[hc->n_ls++] = id;
			if (!bindv6only())
				return 0;
		}
	}
	snprintf(addr, sizeof(addr), "0.0.0.0:%u", port);
	id = httpd_listen(s->httpd, addr, port);
	if (id < 0) {
		hc_unlisten(s, hc);
		return id;
	}
	hc->ls[hc->n_ls++] = id;
	return 0;
}

void serve_set_hc_addresses(struct serve *s, const __be32 *addrs,
			    size_t n_addrs, const union svcd_ip6 *addrs6,
			    size_t n_addrs6)
{
	char text[INET6_ADDRSTRLEN];
	size_t i, n = 0;
	hc_addr *list;

	if (!s->ipv6)
		n_addrs6 = 0;
	list = calloc(n_addrs + n_addrs6 + 1, sizeof(*list));
	if (!list)
		return; /* the listeners stay as they are */
	for (i = 0; i < n_addrs; i++)
		if (inet_ntop(AF_INET, &addrs[i], list[n], sizeof(list[n])))
			n++;
	for (i = 0; i < n_addrs6; i++)
		if (inet_ntop(AF_INET6, &addrs6[i], text, sizeof(text)))
			snprintf(list[n++], sizeof(list[0]), "[%s]", text);
	if (s->hc_restricted && n == s->n_hc_addrs &&
	    !memcmp(list, s->hc_addrs, n * sizeof(*list))) {
		free(list);
		return;
	}
	free(s->hc_addrs);
	s->hc_addrs = list;
	s->n_hc_addrs = n;
	s->hc_restricted = true;
	/* the node's addresses changed: every health check moves with them */
	for (i = 0; i < s->n_hcs; i++) {
		hc_unlisten(s, &s->hcs[i]);
		hc_listen(s, &s->hcs[i], s->hcs[i].port);
	}
}

void serve_set_ipv6(struct serve *s, bool ipv6)
{
	s->ipv6 = ipv6;
}

void serve_set_healthchecks(struct serve *s, const struct model_state *st)
{
	struct healthcheck *hc;
	size_t i, j;

	for (j = 0; j < s->n_hcs; j++)
		s->hcs[j].seen = false;
	for (i = 0; i < st->n_healthchecks; i++) {
		const struct model_healthcheck *m = &st->healthchecks[i];

		for (j = 0; j < s->n_hcs && s->hcs[j].port != m->port; j++)
			;
		if (j < s->n_hcs) {
			hc = &s->hcs[j];
			if (hc->seen) {
				pr_err("Service %s: healthCheckNodePort %u already served for %s",
				       m->name, m->port, hc->name);
				continue;
			}
		} else {
			if (s->n_hcs == s->cap_hcs) {
				size_t cap = s->cap_hcs ? 2 * s->cap_hcs : 8;
				void *p = realloc(s->hcs, cap * sizeof(*hc));

				if (!p)
					continue;
				s->hcs = p;
				s->cap_hcs = cap;
			}
			hc = &s->hcs[s->n_hcs];
			if (hc_listen(s, hc, m->port))
				continue; /* logged with the address */
			hc->port = m->port;
			hc->local_endpoints = m->local_endpoints;
			s->n_hcs++;
			pr_info("Service %s: serving healthCheckNodePort %u (%u local endpoints: %d)",
				m->name, m->port, m->local_endpoints,
				m->local_endpoints ? 200 : 503);
		}
		hc->seen = true;
		memcpy(hc->name, m->name, sizeof(hc->name));
		if (hc->local_endpoints != m->local_endpoints)
			pr_info("Service %s: healthCheckNodePort %u now answers %d (%u local endpoints)",
				m->name, m->port,
				m->local_endpoints ? 200 : 503,
				m->local_endpoints);
		hc->local_endpoints = m->local_endpoints;
	}
	for (j = 0; j < s->n_hcs;) {
		if (s->hcs[j].seen) {
			j++;
			continue;
		}
		pr_info("Service %s: healthCheckNodePort %u closed",
			s->hcs[j].name, s->hcs[j].port);
		hc_unlisten(s, &s->hcs[j]);
		s->hcs[j] = s->hcs[--s->n_hcs];
	}
}

void serve_note_sync(struct serve *s, const struct serve_sync_info *info)
{
	s->syncs++;
	if (!info->ok) {
		s->sync_failures++;
		return;
	}
	s->last = *info;
	s->last_ok = time(NULL);
}

void serve_set_datapath(struct serve *s, const struct probes *probes,
			void (*variants)(void *ctx, FILE *f), void *ctx)
{
	s->probes = probes;
	s->variants = variants;
	s->variants_ctx = ctx;
}

void serve_observe_change(struct serve *s, double seconds)
{
	size_t i;

	for (i = 0; i < N_CHANGE_BUCKETS && seconds > change_buckets[i]; i++)
		;
	s->change_counts[i]++;
	s->change_count++;
	s->change_sum += seconds;
}
