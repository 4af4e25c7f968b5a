/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * serve.h - what svcd answers over HTTP: each healthCheckNodePort
 * (kube-proxy's body, 200 with local ready endpoints, else 503),
 * --healthz-bind-address (/healthz, /livez) and --metrics-bind-address
 * (/metrics in the Prometheus text format, /proxyMode).
 */
#ifndef SVCD_SERVE_H
#define SVCD_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sys/pinned.h"
#include "lib/model.h"
#include "sys/probe.h"

struct serve;

struct serve_sync_info {
	bool ok; /* the desired state was built and written */
	double ms;
	size_t services, frontends, backends, errors;
	/* Service ports a full map stopped, by map (svcd_abi.h) */
	uint32_t full[SVCD_SF_COUNT];
};

/* Addresses may be NULL/"" (not served). NULL + errno on failure. */
struct serve *serve_new(const char *healthz_addr, const char *metrics_addr,
			const struct svcd_maps *maps);
void serve_free(struct serve *s);
int serve_fd(const struct serve *s);
void serve_dispatch(struct serve *s);

/* The node serves IPv6: healthCheckNodePorts opened from now on listen
 * on both families ("[::]:port"), not on "0.0.0.0:port" alone. */
void serve_set_ipv6(struct serve *s, bool ipv6);
/*
 * --nodeport-addresses: healthCheckNodePorts listen on these node
 * addresses only (IPv6 ones when the node serves IPv6), as kube-proxy's;
 * without a call, on the wildcard address. A changed list moves every
 * listener.
 */
void serve_set_hc_addresses(struct serve *s, const __be32 *addrs,
			    size_t n_addrs, const union svcd_ip6 *addrs6,
			    size_t n_addrs6);
/* Opens, updates and closes healthCheckNodePort listeners. */
void serve_set_healthchecks(struct serve *s, const struct model_state *st);
void serve_note_sync(struct serve *s, const struct serve_sync_info *info);
/* One sync caused by a change: seconds from its first event to the last
 * map write, into the histogram svcd_change_to_maps_seconds. */
void serve_observe_change(struct serve *s, double seconds);
/*
 * What /metrics says about the datapath's variants: the kernel's features
 * (svcd_kernel_feature, from probes, which must outlive s) and, through
 * variants(ctx, f), more gauge lines (svcd_datapath_variant per hook).
 */
void serve_set_datapath(struct serve *s, const struct probes *probes,
			void (*variants)(void *ctx, FILE *f), void *ctx);

#endif
