// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* takeover.c - delete the stack's DNAT entries toward svcd's frontends;
 * see takeover.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <bpf/bpf.h>

#include "svcd_abi.h"
#include "sys/nfct.h"
#include "sys/takeover.h"

struct sweep {
	int fe_fd, fe6_fd;
	struct takeover_result *r;
	struct nfct_tuple *hit; /* the entries to delete, after the dump */
	size_t n, cap;
};

/* Whether svcd serves the entry's original destination, in either scope. */
static bool is_frontend(const struct sweep *w, const struct nfct_tuple *t)
{
	struct svcd_frontend_value v;
	struct svcd_frontend6_key k6 = {};
	struct svcd_frontend_key k = {};
	int scope;

	for (scope = SVCD_SCOPE_EXTERNAL; scope <= SVCD_SCOPE_INTERNAL;
	     scope++) {
		if (t->family == AF_INET && w->fe_fd >= 0) {
			memcpy(&k.addr, t->dst, 4);
			k.port = t->dport;
			k.proto = t->proto;
			k.scope = (__u8)scope;
			if (!bpf_map_lookup_elem(w->fe_fd, &k, &v))
				return true;
		} else if (t->family == AF_INET6 && w->fe6_fd >= 0) {
			memcpy(&k6.addr, t->dst, 16);
			k6.port = t->dport;
			k6.proto = t->proto;
			k6.scope = (__u8)scope;
			if (!bpf_map_lookup_elem(w->fe6_fd, &k6, &v))
				return true;
		}
	}
	return false;
}

static int on_entry(const struct nfct_entry *e, void *arg)
{
	struct sweep *w = arg;
	struct nfct_tuple *grown;
	size_t cap;

	if (!(e->status & IPS_DST_NAT))
		return 0;
	w->r->dnat++;
	if (!is_frontend(w, &e->orig))
		return 0;
	w->r->matched++;
	if (w->n == w->cap) {
		cap = w->cap ? 2 * w->cap : 64;
		grown = realloc(w->hit, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		w->hit = grown;
		w->cap = cap;
	}
	w->hit[w->n++] = e->orig;
	return 0;
}

int takeover_sweep(int fe_fd, int fe6_fd, struct takeover_result *r)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct sweep w = { .fe_fd = fe_fd, .fe6_fd = fe6_fd, .r = r };
	struct nfct *nf;
	size_t i;
	int err = 0, d;

	memset(r, 0, sizeof(*r));
	nf = nfct_open();
	if (!nf)
		return 0; /* nothing tracked (or said once by nfct_open) */
	for (i = 0; i < 2 && !err; i++) {
		if ((families[i] == AF_INET ? fe_fd : fe6_fd) < 0)
			continue;
		err = nfct_dump(nf, families[i], on_entry, &w);
	}
	/* what was found is deleted even when a later dump failed */
	for (i = 0; i < w.n; i++) {
		d = nfct_delete(nf, &w.hit[i]);
		if (d > 0)
			r->deleted++;
		else if (d < 0 && !err)
			err = d;
	}
	free(w.hit);
	nfct_close(nf);
	return err;
}
