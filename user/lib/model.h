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

/*
 * IP families. Every address-bearing output carries one (a set, a
 * frontend, a source range) and its addresses are read by it: IPv4 in the
 * __be32 member, IPv6 in the union svcd_ip6 one (which, for IPv4, holds
 * the address in w[0] and zeros after it). IPv4 is 0 so that a zeroed
 * struct is an IPv4 one, as before IPv6 existed.
 */
enum model_family {
	MODEL_IPV4 = 0,
	MODEL_IPV6 = 1,
	MODEL_FAMILIES,
};

/* Node facts the model needs. */
struct model_config {
	const char *node_name; /* --hostname-override or hostname */
	const char *
		node_zone; /* Node label topology.kubernetes.io/zone, or NULL */
	/* Node addresses for NodePort frontends (network order); may be 0. */
	const __be32 *node_addrs;
	size_t n_node_addrs;
	/* The node's IPv6 addresses for NodePorts; may be 0. A family with
	 * Services needing NodePorts but no node address of that family is
	 * reported in one line per build (not one per Service). */
	const union svcd_ip6 *node_addrs6;
	size_t n_node_addrs6;
	/* The API source: a slice may arrive before its Service or outlive it
	 * for a moment, so one without its Service is skipped silently, as
	 * kube-proxy does; a file names it as an error. */
	bool quiet_orphan_slices;
	/* --cluster-cidr is set: ClusterIPs also answer traffic from outside
	 * the node (routed to it), SNATed toward backends on other nodes. */
	bool cluster_ips_from_outside;	/* IPv4 ClusterIPs (IPv4 CIDR) */
	bool cluster_ips_from_outside6; /* IPv6 ClusterIPs (IPv6 CIDR) */
	/* No "NodePorts: the node has no IPv6 address; ..." line: the build
	 * is of one Service (model_inc_update), the line is the whole's. */
	bool no_nodeport_summary;
};

/* One backend in a desired set; its family is the set's. */
struct model_backend {
	union {
		__be32 addr;	      /* MODEL_IPV4 */
		union svcd_ip6 addr6; /* MODEL_IPV6 (IPv4: addr, then 0) */
	};
	__be16 port;
	uint8_t weight; /* 1..255 after the weight-0 rule is applied */
	uint8_t flags;	/* SVCD_BE_LOCAL | SVCD_BE_TERMINATING */
};

/*
 * A backend set: one Service port (name + protocol) and one selection
 * (cluster or local) of one IP family: a dual-stack Service port has one
 * set per family, each with its own backends (and its own service id in
 * the maps). Frontends point at sets by index. The identity of a set
 * across syncs is (name, port_name, proto, set, family).
 */
struct model_set {
	char name[SVCD_NAME_LEN];	    /* "namespace/name" */
	char port_name[SVCD_PORT_NAME_LEN]; /* "" when unnamed */
	uint8_t proto;			    /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t set;			    /* enum svcd_backend_set */
	uint8_t family;			    /* enum model_family */
	uint32_t affinity_timeout;	    /* seconds, 0 = none */
	struct model_backend *backends;	    /* sorted by (addr, port) */
	size_t n_backends;		    /* 0: refuse */
};

/* A frontend of the family of its set: key for IPv4 (svcd_frontends),
 * key6 for IPv6 (svcd_frontends6). */
struct model_frontend {
	uint8_t family; /* enum model_family, the set's */
	union {
		struct svcd_frontend_key key;
		struct svcd_frontend6_key key6;
	};
	uint16_t flags;	  /* SVCD_FE_*: type and LOCAL_ONLY */
	size_t set_index; /* into model_state.sets */
};

/* One allowed source prefix of one LoadBalancer IP, both of one family
 * (a Service's ranges of the other family do not apply to it). */
struct model_src_range {
	uint8_t family; /* enum model_family */
	uint8_t len;	/* prefix length 0..32 (IPv6: 0..128) */
	union {
		__be32 lb_addr;		 /* LoadBalancer ingress IP */
		union svcd_ip6 lb_addr6; /* IPv6 */
	};
	union {
		__be32 prefix;		/* network order, host bits zero */
		union svcd_ip6 prefix6; /* IPv6 */
	};
};

/* healthCheckNodePort of a LoadBalancer Service with eTP Local. */
struct model_healthcheck {
	char name[SVCD_NAME_LEN]; /* "namespace/name" */
	uint16_t port;		  /* host order */
	uint32_t local_endpoints; /* local ready, not terminating; of a
				   * dual-stack Service the larger family's
				   * count (a Pod has one address of each) */
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
	/* Services left out whole: a frontend of theirs was taken by a
	 * Service sorting first (model_inc needs a whole build then) */
	size_t n_lost;
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

/*
 * Objects one at a time, for a whole build that never holds them all in
 * memory (the API source's store: 10,000 Services and their
 * EndpointSlices as one cJSON tree are 100+ MiB): get(ctx, i) returns
 * object i of n, valid until the next get() (NULL: out of memory); the
 * build copies what it keeps. The source has no two objects of one kind
 * and one name and no Node objects (the zone comes from cfg->node_zone).
 */
struct model_source {
	size_t n;
	const cJSON *(*get)(void *ctx, size_t i);
	void *ctx;
};

/* model_build() over a source: the same result as over a List of its
 * objects in the same order. Returns 0, -EINVAL (no source) or -ENOMEM. */
int model_build_source(const struct model_source *src,
		       const struct model_config *cfg, model_error_fn err,
		       void *err_ctx, struct model_state *out);

/* Same, from JSON text (reports a parse error as one line through err). */
int model_build_text(const char *text, size_t len,
		     const struct model_config *cfg, model_error_fn err,
		     void *err_ctx, struct model_state *out);

void model_state_free(struct model_state *state);

/*
 * Takes the sets, frontends and source ranges of family out of state (a
 * node whose IPv6 maps are placeholders): the rest keeps its order and
 * its frontends their sets. Returns how many frontends went.
 */
size_t model_state_drop_family(struct model_state *state, int family);

/*
 * Incremental builds. A whole build (model_build) seeds the cache with who
 * owns which frontend key, the healthCheckNodePorts and the Services with
 * source ranges; then a change to a few Services rebuilds only those, each
 * from its own objects (its Service and its EndpointSlices), and hands the
 * writer only their sets (writer_sync_partial). The result is the whole
 * build's exactly, or -EAGAIN: only a whole build is (a frontend key
 * another Service claims, a Service that lost one, source ranges, a
 * changed model_config, no seed yet); the caller then builds whole and
 * seeds again.
 */
struct model_inc;

struct model_inc *model_inc_new(void);
void model_inc_free(struct model_inc *mi);
/* The whole state st, built with cfg. Returns 0 or -ENOMEM (not seeded). */
int model_inc_seed(struct model_inc *mi, const struct model_state *st,
		   const struct model_config *cfg);
/* Forget the seed: the next build is whole. */
void model_inc_reset(struct model_inc *mi);
/*
 * Rebuild Service name ("namespace/name") from objs, a cJSON array of its
 * Service object (none when it is gone) and its EndpointSlices; problems
 * are reported through err as model_build() reports them. Its sets,
 * frontends and healthCheckNodePort are appended to *out (frontends index
 * out's sets). Returns 0, -EAGAIN (out and the cache unchanged) or
 * -ENOMEM (the seed is dropped).
 */
int model_inc_update(struct model_inc *mi, const char *name, const cJSON *objs,
		     const struct model_config *cfg, model_error_fn err,
		     void *err_ctx, struct model_state *out);
/* Frontends of the whole state, of family fam. */
size_t model_inc_frontends(const struct model_inc *mi, int fam);
/* Every healthCheckNodePort of the whole state, in Service order, into
 * out->healthchecks (out otherwise empty; model_state_free it). */
int model_inc_healthchecks(const struct model_inc *mi, struct model_state *out);
/* Whether an update since the last call touched a Service that has or had
 * a healthCheckNodePort (model_inc_healthchecks is O(Services)). */
bool model_inc_take_hc_changed(struct model_inc *mi);

#endif
