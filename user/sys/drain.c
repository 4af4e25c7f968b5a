// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* drain.c - `svcd --cleanup --drain SECONDS`; see drain.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "svcd_abi.h"
#include "sys/drain.h"
#include "sys/nfct.h"
#include "sys/pinned.h"
#include "lib/log.h"

/* CLOCK_MONOTONIC_COARSE, the datapath's clock (bpf_ktime_get_coarse_ns) */
static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * SVCD_NS_PER_SEC + ts.tv_nsec;
}

int drain_begin(const char *pin_dir)
{
	struct svcd_control ctl = { .flags = SVCD_CTL_DRAIN };
	char why[SVCD_PIN_WHY_LEN];
	__u32 key = 0;
	int fd, err = 0;

	fd = svcd_pinned_open(pin_dir, SVCD_MAP_CONTROL, NULL, why,
			      sizeof(why));
	if (fd == -ENOENT)
		return fd;
	if (fd < 0) {
		pr_err("drain: %s", why);
		return fd;
	}
	if (bpf_map_update_elem(fd, &key, &ctl, BPF_ANY)) {
		err = -errno;
		pr_err("drain: set %s/%s: %s", pin_dir, SVCD_MAP_CONTROL,
		       strerror(-err));
	}
	close(fd);
	return err;
}

/* The maps a pass walks, in drain_ct's order. */
static const struct {
	const char *name;
	bool v6;
} ct_maps[DRAIN_CT_MAPS] = {
	{ SVCD_MAP_CONNTRACK, false },
	{ SVCD_MAP_CONNTRACK6, true },
	{ SVCD_MAP_CT_SYN, false },
	{ SVCD_MAP_CT6_SYN, true },
};

int drain_open_ct(const char *pin_dir, struct drain_ct *ct)
{
	char why[SVCD_PIN_WHY_LEN];
	bool any = false;
	int i, fd;

	for (i = 0; i < DRAIN_CT_MAPS; i++) {
		ct->fd[i] = -1;
		memset(&ct->info[i], 0, sizeof(ct->info[i]));
	}
	for (i = 0; i < DRAIN_CT_MAPS; i++) {
		fd = svcd_pinned_open(pin_dir, ct_maps[i].name, &ct->info[i],
				      why, sizeof(why));
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			pr_err("drain: %s", why);
			drain_close_ct(ct);
			return fd;
		}
		ct->fd[i] = fd;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

void drain_close_ct(struct drain_ct *ct)
{
	for (int i = 0; i < DRAIN_CT_MAPS; i++) {
		if (ct->fd[i] >= 0)
			close(ct->fd[i]);
		ct->fd[i] = -1;
	}
}

struct pass_ctx {
	struct nfct *nf; /* NULL: nothing deleted */
	__u64 now, since;
	bool all;
	struct drain_pass *out;
};

/* The stack tracks a translated reply frontend -> client for at most
 * 120 s after its last packet (TIME_WAIT; a UDP stream 180 s). */
#define STACK_CT_MAX_NS (180ULL * SVCD_NS_PER_SEC)

/* One forward entry of either family: only the parts both layouts share.
 * Counts it when live; deletes the stack's entry of its translated reply
 * when it is over (or with all) and was seen since the last pass. */
static int pass_entry(struct pass_ctx *c, int family, const void *saddr,
		      const void *daddr, size_t alen, __be16 sport,
		      __be16 dport, __u8 proto, __u8 dir, __u8 tcp_state,
		      __u64 last_seen_ns)
{
	__u64 idle = c->now > last_seen_ns ? c->now - last_seen_ns : 0;
	struct nfct_tuple t = { .family = family, .proto = proto };
	bool live;
	int r;

	if (dir != SVCD_CT_FORWARD)
		return 0;
	if (proto == IPPROTO_UDP)
		live = idle <= SVCD_DRAIN_UDP_IDLE_NS;
	else
		live = tcp_state != SVCD_TCP_CLOSING &&
		       idle <= (tcp_state == SVCD_TCP_SYN_SENT ?
					SVCD_CT_LIFETIME_SYN :
					SVCD_CT_LIFETIME_TCP);
	if (live && proto == IPPROTO_UDP)
		c->out->live.udp++;
	else if (live)
		c->out->live.tcp++;
	/* since: the last pass's start; the datapath refreshes last_seen at
	 * most once per SVCD_CT_REFRESH_NS, so a flow that ended after that
	 * start may show a stamp up to that much older */
	if (!c->nf || (live && !c->all) || idle > STACK_CT_MAX_NS ||
	    (c->since && last_seen_ns + SVCD_CT_REFRESH_NS < c->since))
		return 0;
	/* the reply as the stack saw it: from the frontend to the client */
	memcpy(t.src, daddr, alen);
	memcpy(t.dst, saddr, alen);
	t.sport = dport;
	t.dport = sport;
	r = nfct_delete(c->nf, &t);
	if (r > 0)
		c->out->forgot++;
	else if (r < 0 && !c->out->nf_err)
		c->out->nf_err = r;
	return 0;
}

static int pass4(const void *key, const void *value, void *arg)
{
	const struct svcd_ct_key *k = key;
	const struct svcd_ct_value *v = value;

	return pass_entry(arg, AF_INET, &k->saddr, &k->daddr, 4, k->sport,
			  k->dport, k->proto, k->dir, v->tcp_state,
			  v->last_seen_ns);
}

static int pass6(const void *key, const void *value, void *arg)
{
	const struct svcd_ct6_key *k = key;
	const struct svcd_ct6_value *v = value;

	return pass_entry(arg, AF_INET6, &k->saddr, &k->daddr, 16, k->sport,
			  k->dport, k->proto, k->dir, v->tcp_state,
			  v->last_seen_ns);
}

int drain_pass(const struct drain_ct *ct, struct nfct *nf, __u64 since,
	       bool all, struct drain_pass *out)
{
	struct pass_ctx c = { .nf = nf,
			      .now = mono_ns(),
			      .since = since,
			      .all = all,
			      .out = out };
	const struct bpf_map_info *info;
	int i, err;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < DRAIN_CT_MAPS; i++) {
		if (ct->fd[i] < 0)
			continue;
		info = &ct->info[i];
		err = svcd_pinned_walk(ct->fd[i], ct_maps[i].name,
				       info->key_size, info->value_size,
				       info->max_entries,
				       ct_maps[i].v6 ? pass6 : pass4, &c);
		if (err) {
			err = err < 0 ? err : -EIO;
			pr_err("drain: read %s: %s", ct_maps[i].name,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

int drain_wait(const char *pin_dir, unsigned int timeout_s, volatile bool *stop,
	       unsigned long *left)
{
	__u64 start = mono_ns(), deadline, last_line = 0, now, since = 0;
	unsigned long forgot = 0;
	bool nf_warned = false;
	struct drain_pass p;
	struct drain_ct ct;
	struct nfct *nf;
	int err;

	*left = 0;
	err = drain_begin(pin_dir);
	if (err)
		return err;
	err = drain_open_ct(pin_dir, &ct);
	if (err && err != -ENOENT) /* -ENOENT: no flow table, none live */
		return err;
	deadline = start + (__u64)timeout_s * SVCD_NS_PER_SEC;
	pr_info("drain: new flows are left to the stack's rules (kube-proxy's) from now; waiting up to %u s for the flows svcd translates to end",
		timeout_s);
	/* each pass counts the live flows and deletes the stack's entries
	 * of the replies of flows that ended (before the drain, then since
	 * the last pass): one walk of each map */
	nf = nfct_open();
	for (;;) {
		now = mono_ns();
		err = drain_pass(&ct, nf, since, false, &p);
		if (err)
			break;
		forgot += p.forgot;
		if (p.nf_err && !nf_warned) {
			pr_warn("drain: deleting the stack's conntrack entries of ended flows: %s",
				strerror(-p.nf_err));
			nf_warned = true;
		}
		since = now;
		*left = p.live.tcp + p.live.udp;
		now = mono_ns();
		if (!*left) {
			pr_info("drain: no flow left after %.1f s",
				(double)(now - start) / SVCD_NS_PER_SEC);
			break;
		}
		if (now >= deadline) {
			pr_warn("drain: %u s passed, %lu flows still live (TCP %lu, UDP %lu): they are cut by the cleanup",
				timeout_s, *left, p.live.tcp, p.live.udp);
			break;
		}
		if (*stop) {
			pr_warn("drain: stopped by a signal after %.1f s with %lu flows live (TCP %lu, UDP %lu): they are cut by the cleanup",
				(double)(now - start) / SVCD_NS_PER_SEC, *left,
				p.live.tcp, p.live.udp);
			break;
		}
		if (!last_line || now - last_line >= 5 * SVCD_NS_PER_SEC) {
			pr_info("drain: %lu flows live (TCP %lu, UDP %lu), %.0f s left",
				*left, p.live.tcp, p.live.udp,
				(double)(deadline - now) / SVCD_NS_PER_SEC);
			last_line = now;
		}
		usleep(500 * 1000);
	}
	if (forgot)
		pr_info("drain: %lu entries of translated replies of ended flows deleted from the stack's conntrack",
			forgot);
	drain_close_ct(&ct);
	nfct_close(nf);
	return err;
}
