/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model.h - the state model: Kubernetes Service and EndpointSlice objects
 * in, desired frontends and weighted backend sets out, with kube-proxy's
 * semantics (docs/design.md "Semantics"). Pure: no I/O, no BPF, no globals.
 */
#ifndef SVCD_MODEL_H
#define SVCD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "svcd_abi.h"

/* Node facts the model needs. */
struct model_config {
	const char *node_name; /* --hostname-override or hostname */
	const char *
		node_zone; /* Node label topology.kubernetes.io/zone, or NULL */
	/* Node addresses for NodePort frontends (network order); may be 0. */
	const __be32 *node_addrs;
	size_t n_node_addrs;
	/* The API source: a slice may arrive before its Service or outlive it
	 * for a moment, so one without its Service is skipped silently, as
	 * kube-proxy does; a file names it as an error. */
	bool quiet_orphan_slices;
	/* --cluster-cidr is set: ClusterIPs also answer traffic from outside
	 * the node (routed to it), SNATed toward backends on other nodes. */
	bool cluster_ips_from_outside;
};

/* One backend in a desired set. */
struct model_backend {
	__be32 addr;
	__be16 port;
	uint8_t weight; /* 1..255 after the weight-0 rule is applied */
	uint8_t flags;	/* SVCD_BE_LOCAL | SVCD_BE_TERMINATING */
};

/*
 * A backend set: one Service port (name + protocol) and one selection
 * (cluster or local). Frontends point at sets by index. The identity of a
 * set across syncs is (name, port_name, proto, set).
 */
struct model_set {
	char name[SVCD_NAME_LEN];	    /* "namespace/name" */
	char port_name[SVCD_PORT_NAME_LEN]; /* "" when unnamed */
	uint8_t proto;			    /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t set;			    /* enum svcd_backend_set */
	uint32_t affinity_timeout;	    /* seconds, 0 = none */
	struct model_backend *backends;	    /* sorted by (addr, port) */
	size_t n_backends;		    /* 0: refuse */
};

struct model_frontend {
	struct svcd_frontend_key key;
	uint16_t flags;	  /* SVCD_FE_*: type and LOCAL_ONLY */
	size_t set_index; /* into model_state.sets */
};

/* One allowed source prefix of one LoadBalancer IP. */
struct model_src_range {
	__be32 lb_addr; /* LoadBalancer ingress IP */
	__be32 prefix;	/* network order, host bits zero */
	uint8_t len;	/* prefix length 0..32 */
};

/* healthCheckNodePort of a LoadBalancer Service with eTP Local. */
struct model_healthcheck {
	char name[SVCD_NAME_LEN]; /* "namespace/name" */
	uint16_t port;		  /* host order */
	uint32_t local_endpoints; /* local ready, not terminating */
};

struct model_state {
	struct model_set *sets;
	size_t n_sets;
	struct model_frontend *frontends; /* keys unique */
	size_t n_frontends;
	struct model_src_range *src_ranges; /* for SVCD_FE_SRC_RANGES */
	size_t n_src_ranges;
	struct model_healthcheck *healthchecks; /* in Service order */
	size_t n_healthchecks;
};

/*
 * Called once per problem found in the input, with one line that names the
 * object ("Service default/web", "EndpointSlice default/web-abc12") and the
 * cause. The object is skipped; the rest is applied.
 */
typedef void (*model_error_fn)(void *ctx, const char *line);

/*
 * Build the desired state from a JSON List (items: Service and
 * EndpointSlice objects, as `kubectl get svc,endpointslices -A -o json`
 * prints) or from any cJSON array of such objects.
 * Returns 0 and fills *out (free with model_state_free), or -EINVAL if the
 * document itself is not a List/array (nothing is filled), or -ENOMEM.
 * Problems with single objects are reported through err and skipped.
 */
int model_build(const cJSON *doc, const struct model_config *cfg,
		model_error_fn err, void *err_ctx, struct model_state *out);

/* Same, from JSON text (reports a parse error as one line through err). */
int model_build_text(const char *text, size_t len,
		     const struct model_config *cfg, model_error_fn err,
		     void *err_ctx, struct model_state *out);

void model_state_free(struct model_state *state);

#endif
