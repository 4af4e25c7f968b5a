// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/flush.c - phase 6 of a sync: UDP conntrack entries whose backend
 * left its set (or whose set went away) are deleted, since UDP has no end
 * of flow that would retire them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "log.h"
#include "writer/internal.h"

/* Where a UDP flow of a changed set may still go: (service, address);
 * IPv4 addresses in addr.w[0], zeros after (a service has one family). */
struct flow_dst {
	uint32_t sid;
	union svcd_ip6 addr;
	__be16 port;
};

struct dst_set {
	struct htab t;
	struct flow_dst *v;
	size_t n, cap;
};

static uint32_t dst_hash(const struct flow_dst *d)
{
	uint64_t a, b;

	memcpy(&a, &d->addr.b[0], sizeof(a));
	memcpy(&b, &d->addr.b[8], sizeof(b));
	return mix64((uint64_t)d->sid * 0x9e3779b97f4a7c15ULL ^
		     ((uint64_t)mix64(a ^ (b << 1)) << 16 | d->port));
}

static bool dst_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct flow_dst *a = &((const struct dst_set *)ctx)->v[idx1 - 1];
	const struct flow_dst *b = key;

	return a->sid == b->sid && a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static bool dst_has(const struct dst_set *s, const struct flow_dst *d)
{
	return ht_find(&s->t, dst_hash(d), dst_eq, s, d) != 0;
}

static int dst_add(struct dst_set *s, const struct flow_dst *d)
{
	int err;

	if (dst_has(s, d))
		return 0;
	err = array_reserve((void **)&s->v, &s->cap, s->n, sizeof(*s->v), 64);
	if (err)
		return err;
	err = ht_insert(&s->t, dst_hash(d), s->n + 1);
	if (err)
		return err;
	s->v[s->n++] = *d;
	return 0;
}

struct flush_ctx {
	const struct sync *s;
	struct dst_set keep; /* backends the changed sets hold now */
	struct svcd_ct_key *keys;
	size_t n, cap;
	struct svcd_ct6_key *keys6;
	size_t n6, cap6;
	int err;
};

/* The backends of each changed UDP set, as they are after this sync. */
static int flush_keep_build(struct flush_ctx *fc)
{
	const struct sync *s = fc->s;
	struct writer *w = s->w;
	struct flow_dst d;
	struct slot_table *t;
	struct wsvc *svc;
	uint32_t sid, bid;
	size_t i, k;
	int err;

	for (i = 0; i < s->udp_changed.n; i++) {
		sid = s->udp_changed.v[i];
		svc = svc_get(w, sid);
		if (!svc || !svc->has_live || !svc->live_count)
			continue;
		t = table_find(svc, svc->live_rev);
		for (k = 0; t && k < t->len; k++) {
			bid = t->bids[k];
			if (bid >= w->lim.max_backends || !w->be[bid].present)
				continue;
			d = (struct flow_dst){ .sid = sid,
					       .addr = w->be[bid].be.addr,
					       .port = w->be[bid].be.port };
			err = dst_add(&fc->keep, &d);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * A flow is flushed when its set was removed, or when its set changed and
 * the backend address it goes to is no longer in the set. By address, not
 * by backend id: a backend that only turned terminating gets a new id but
 * still serves (kube-proxy keeps such flows), and its flows, still on the
 * old id, must go when the address itself leaves later. The address is in
 * the forward value (nat_daddr) and the reverse key (saddr).
 */
static int collect_flows(const void *key, const void *value, void *arg)
{
	const struct svcd_ct_value *v = value;
	const struct svcd_ct_key *k = key;
	struct flush_ctx *fc = arg;
	struct flow_dst d = { .sid = v->service_id };

	if (k->proto != IPPROTO_UDP)
		return 0;
	if (!u64set_has(&fc->s->udp_removed, v->service_id)) {
		if (!u64set_has(&fc->s->udp_changed, v->service_id))
			return 0;
		d.addr.w[0] = k->dir == SVCD_CT_REVERSE ? k->saddr :
							  v->nat_daddr;
		d.port = k->dir == SVCD_CT_REVERSE ? k->sport : v->nat_dport;
		if (dst_has(&fc->keep, &d))
			return 0;
	}
	if (array_reserve((void **)&fc->keys, &fc->cap, fc->n,
			  sizeof(*fc->keys), 256)) {
		fc->err = -ENOMEM;
		return -ENOMEM;
	}
	fc->keys[fc->n++] = *k;
	return 0;
}

static bool flow_flushed(const struct flush_ctx *fc, const struct flow_dst *d)
{
	if (u64set_has(&fc->s->udp_removed, d->sid))
		return true;
	return u64set_has(&fc->s->udp_changed, d->sid) &&
	       !dst_has(&fc->keep, d);
}

/* The same for IPv6 flows (svcd_conntrack6). */
static int collect_flows6(const void *key, const void *value, void *arg)
{
	const struct svcd_ct6_value *v = value;
	const struct svcd_ct6_key *k = key;
	struct flush_ctx *fc = arg;
	struct flow_dst d = { .sid = v->service_id };

	if (k->proto != IPPROTO_UDP)
		return 0;
	d.addr = k->dir == SVCD_CT_REVERSE ? k->saddr : v->nat_daddr;
	d.port = k->dir == SVCD_CT_REVERSE ? k->sport : v->nat_dport;
	if (!flow_flushed(fc, &d))
		return 0;
	if (array_reserve((void **)&fc->keys6, &fc->cap6, fc->n6,
			  sizeof(*fc->keys6), 256)) {
		fc->err = -ENOMEM;
		return -ENOMEM;
	}
	fc->keys6[fc->n6++] = *k;
	return 0;
}

static void flush_delete(struct sync *s, enum writer_map map, const void *key)
{
	struct writer *w = s->w;
	int err = w->ops->delete (w->ctx, map, key);

	if (!err) {
		s->stats->udp_flows_flushed++;
	} else if (err != -ENOENT) {
		pr_err("writer: deleting a UDP flow failed (-%s)",
		       err_name(err));
		note_err(s, err);
	}
}

/*
 * Phase 6: UDP has no end of flow, so a flow whose backend left its set
 * would keep going there; delete both directions of it. Keys are
 * collected first: deleting while walking a hash map restarts the walk.
 */
void flush_udp_flows(struct sync *s)
{
	struct flush_ctx fc = { .s = s };
	struct writer *w = s->w;
	size_t i;
	int err;

	if (!s->udp_changed.n && !s->udp_removed.n)
		return;
	err = flush_keep_build(&fc);
	/* only the conntrack maps of families with such sets */
	if (!err && s->udp_family[MODEL_IPV4])
		err = w->ops->iterate(w->ctx, WMAP_CONNTRACK, collect_flows,
				      &fc);
	err = fc.err ?: err;
	if (!err && s->udp_family[MODEL_IPV6])
		err = w->ops->iterate(w->ctx, WMAP_CONNTRACK6, collect_flows6,
				      &fc);
	err = fc.err ?: err;
	if (err) {
		pr_err("writer: collecting UDP flows of removed backends failed (-%s), none flushed",
		       err_name(err));
		note_err(s, err);
		goto out;
	}
	for (i = 0; i < fc.n; i++)
		flush_delete(s, WMAP_CONNTRACK, &fc.keys[i]);
	for (i = 0; i < fc.n6; i++)
		flush_delete(s, WMAP_CONNTRACK6, &fc.keys6[i]);
out:
	ht_fini(&fc.keep.t);
	free(fc.keep.v);
	free(fc.keys);
	free(fc.keys6);
}
