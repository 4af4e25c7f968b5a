/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * view.h - what svcctl reads from the pinned maps: one map read whole and
 * sorted, the services view (each frontend with its service and the
 * backends of its slot table) and the words for a conntrack entry.
 */
#ifndef SVCCTL_VIEW_H
#define SVCCTL_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "svcctl/output.h"
#include "sys/pinned.h"
#include "svcd_abi.h"

struct pinned {
	int fd;
	struct bpf_map_info info;
};

/* Opens the map pinned as NAME under c->pin_dir; 0 or an exit status
 * (reported). */
int open_map(const struct ctx *c, const char *name, struct pinned *m);
/* The same for a map a pin dir may lack (the IPv6 maps of a pin dir made
 * before IPv6): 0 with m->fd -1 when it is not there, read as empty. */
int open_map_opt(const struct ctx *c, const char *name, struct pinned *m);
void close_map(struct pinned *m);

int cmp_u32_key(const void *a, const void *b);

/* Every entry of the map pinned as NAME, sorted by cmp (NULL: as read;
 * none when m->fd is -1); on failure reports it as "read DIR/NAME: CAUSE" and returns the
 * exit status. */
int read_sorted(const struct ctx *c, const struct pinned *m, const char *name,
		struct svcd_entries *e, int (*cmp)(const void *, const void *));

/* Entry whose key (a u32 id) equals id, in entries sorted by it. */
void *find_by_id(const struct svcd_entries *e, uint32_t id);

/* ---- backends of either family ------------------------------------------ */

struct be_view {
	int family;	     /* AF_INET or AF_INET6 */
	union svcd_ip6 addr; /* IPv4 as ::ffff:a.b.c.d */
	__be16 port;
	__u8 proto, flags;
};

void be_view4(struct be_view *out, const struct svcd_backend *be);
void be_view6(struct be_view *out, const struct svcd_backend6 *be);

/* ---- the services view ------------------------------------------------- */

struct fe_backend {
	uint32_t id;
	uint32_t weight; /* slots held in the frontend's current rev */
	bool found;	 /* be holds the backend; false when missing */
	struct be_view be;
};

struct fe_view {
	int family;	     /* AF_INET (svcd_frontends) or AF_INET6 */
	union svcd_ip6 addr; /* IPv4 as ::ffff:a.b.c.d */
	__be16 port;
	__u8 proto, scope;
	struct svcd_frontend_value val;
	const struct svcd_service *svc; /* NULL when missing */
	struct fe_backend *backends;
	size_t n_backends;
};

/* The maps of the view, read whole; views sorted by service name. The
 * IPv6 maps are empty (fd -1) in a pin dir made before IPv6. */
struct svc_maps {
	struct pinned frontends, slots, backends, services;
	struct pinned frontends6, backends6;
	struct svcd_entries fe, sl, be, sv, fe6, be6;
	struct fe_view *views;
	size_t n_views;
};

/* Opens and reads the maps; returns 0 or an exit code (reported).
 * svc_maps_free() is due either way. */
int svc_maps_load(const struct ctx *c, struct svc_maps *s);
void svc_maps_free(struct svc_maps *s);

/* Backend id of either family (ids are shared: one map holds it), into
 * *out; false when neither has it. */
bool svc_find_backend(const struct svc_maps *s, uint32_t id,
		      struct be_view *out);

/* One frontend as a JSON object; NULL when out of memory. */
cJSON *view_json(const struct fe_view *v);

/* Prints the views as a table (only views[only_index] when one). 0 or
 * -ENOMEM. */
int views_table(const struct svc_maps *s, size_t only_index, bool one);

/* ---- conntrack entries ------------------------------------------------- */

/* CLOCK_MONOTONIC_COARSE, as the datapath's bpf_ktime_get_coarse_ns() */
uint64_t now_ns(void);
/* Seconds from then to now; 0 when then is unset or in the future. */
double ns_ago(uint64_t now, uint64_t then);

/* A conntrack entry of either family (svcd_conntrack, svcd_conntrack6). */
struct ct_view {
	int family;
	union svcd_ip6 saddr, daddr, nat_saddr, nat_daddr;
	__be16 sport, dport, nat_sport, nat_dport;
	__u8 proto, dir, flags, tcp_state;
	__u32 backend_id, service_id;
	__u64 created_ns, last_seen_ns;
	bool embryonic; /* from svcd_ct_syn/svcd_ct6_syn: handshake not over */
};

/* From a key and its value (v NULL: the key alone, value fields zero). */
void ct_view4(struct ct_view *out, const struct svcd_ct_key *k,
	      const struct svcd_ct_value *v);
void ct_view6(struct ct_view *out, const struct svcd_ct6_key *k,
	      const struct svcd_ct6_value *v);
/* Direction, family, then the tuple. */
int cmp_ct_view(const void *a, const void *b);

/* "198.18.1.20:41000 -> 198.19.96.20:53/UDP", IPv6 as [addr]:port */
void ct_tuple(const struct ct_view *c, char *buf, size_t len);
cJSON *ct_json(const struct ct_view *c, uint64_t now);
/* One row of the DIR TUPLE NAT BACKEND STATE AGE(s) IDLE(s) table. */
int ct_table_row(struct table *t, const struct ct_view *c, uint64_t now);

#endif
