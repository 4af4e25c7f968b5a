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
void close_map(struct pinned *m);

int cmp_u32_key(const void *a, const void *b);

/* Every entry of the map pinned as NAME, sorted by cmp; on failure reports
 * it as "read DIR/NAME: CAUSE" and returns the exit status. */
int read_sorted(const struct ctx *c, const struct pinned *m, const char *name,
		struct svcd_entries *e, int (*cmp)(const void *, const void *));

/* Entry whose key (a u32 id) equals id, in entries sorted by it. */
void *find_by_id(const struct svcd_entries *e, uint32_t id);

/* ---- the services view ------------------------------------------------- */

struct fe_backend {
	uint32_t id;
	uint32_t weight; /* slots held in the frontend's current rev */
	const struct svcd_backend *be; /* NULL when missing */
};

struct fe_view {
	struct svcd_frontend_key key;
	struct svcd_frontend_value val;
	const struct svcd_service *svc; /* NULL when missing */
	struct fe_backend *backends;
	size_t n_backends;
};

/* The four maps of the view, read whole; views sorted by service name. */
struct svc_maps {
	struct pinned frontends, slots, backends, services;
	struct svcd_entries fe, sl, be, sv;
	struct fe_view *views;
	size_t n_views;
};

/* Opens and reads the four maps; returns 0 or an exit code (reported).
 * svc_maps_free() is due either way. */
int svc_maps_load(const struct ctx *c, struct svc_maps *s);
void svc_maps_free(struct svc_maps *s);

/* One frontend as a JSON object; NULL when out of memory. */
cJSON *view_json(const struct fe_view *v);

/* Prints the views as a table (only views[only_index] when one). 0 or
 * -ENOMEM. */
int views_table(const struct svc_maps *s, size_t only_index, bool one);

/* ---- conntrack entries ------------------------------------------------- */

/* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
uint64_t now_ns(void);
/* Seconds from then to now; 0 when then is unset or in the future. */
double ns_ago(uint64_t now, uint64_t then);

/* "198.18.1.20:41000 -> 198.19.96.20:53/UDP" */
void ct_tuple(const struct svcd_ct_key *k, char *buf, size_t len);
cJSON *ct_json(const struct svcd_ct_key *k, const struct svcd_ct_value *v,
	       uint64_t now);
/* One row of the DIR TUPLE NAT BACKEND STATE AGE(s) IDLE(s) table. */
int ct_table_row(struct table *t, const struct svcd_ct_key *k,
		 const struct svcd_ct_value *v, uint64_t now);

#endif
