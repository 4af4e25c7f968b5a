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

struct count_ctx {
	__u64 now;
	struct drain_flows *out;
};

/* One entry of either family: only the parts both layouts share. */
static void count_entry(struct count_ctx *c, __u8 proto, __u8 dir,
			__u8 tcp_state, __u64 last_seen_ns)
{
	__u64 idle = c->now > last_seen_ns ? c->now - last_seen_ns : 0;

	if (dir != SVCD_CT_FORWARD)
		return;
	if (proto == IPPROTO_UDP) {
		if (idle <= SVCD_DRAIN_UDP_IDLE_NS)
			c->out->udp++;
		return;
	}
	if (tcp_state == SVCD_TCP_CLOSING)
		return;
	if (idle <= (tcp_state == SVCD_TCP_SYN_SENT ? SVCD_CT_LIFETIME_SYN :
						      SVCD_CT_LIFETIME_TCP))
		c->out->tcp++;
}

static int count4(const void *key, const void *value, void *arg)
{
	const struct svcd_ct_key *k = key;
	const struct svcd_ct_value *v = value;

	count_entry(arg, k->proto, k->dir, v->tcp_state, v->last_seen_ns);
	return 0;
}

static int count6(const void *key, const void *value, void *arg)
{
	const struct svcd_ct6_key *k = key;
	const struct svcd_ct6_value *v = value;

	count_entry(arg, k->proto, k->dir, v->tcp_state, v->last_seen_ns);
	return 0;
}

int drain_count(const char *pin_dir, struct drain_flows *out)
{
	static const struct {
		const char *name;
		bool v6;
	} maps[] = {
		{ SVCD_MAP_CONNTRACK, false },
		{ SVCD_MAP_CONNTRACK6, true },
		{ SVCD_MAP_CT_SYN, false },
		{ SVCD_MAP_CT6_SYN, true },
	};
	struct count_ctx c = { .now = mono_ns(), .out = out };
	char why[SVCD_PIN_WHY_LEN];
	struct bpf_map_info info;
	size_t i;
	int fd, err;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		fd = svcd_pinned_open(pin_dir, maps[i].name, &info, why,
				      sizeof(why));
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			pr_err("drain: %s", why);
			return fd;
		}
		err = svcd_pinned_walk(fd, maps[i].name, info.key_size,
				       info.value_size, info.max_entries,
				       maps[i].v6 ? count6 : count4, &c);
		close(fd);
		if (err) {
			pr_err("drain: read %s/%s: %s", pin_dir, maps[i].name,
			       strerror(err < 0 ? -err : err));
			return err < 0 ? err : -EIO;
		}
	}
	return 0;
}

int drain_open_ct(const char *pin_dir, int fds[2])
{
	char why[SVCD_PIN_WHY_LEN];

	fds[0] = svcd_pinned_open(pin_dir, SVCD_MAP_CONNTRACK, NULL, why,
				  sizeof(why));
	fds[1] = svcd_pinned_open(pin_dir, SVCD_MAP_CONNTRACK6, NULL, why,
				  sizeof(why));
	return fds[0] >= 0 || fds[1] >= 0 ? 0 : -ENOENT;
}

void drain_close_ct(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

struct forget_ctx {
	struct nfct *nf;
	__u64 now, since;
	bool all;
	unsigned long deleted;
	int err;
};

/* The stack tracks a translated reply frontend -> client for at most
 * 120 s after its last packet (TIME_WAIT; a UDP stream 180 s). */
#define STACK_CT_MAX_NS (180ULL * SVCD_NS_PER_SEC)

static int forget_entry(struct forget_ctx *c, int family, const void *saddr,
			const void *daddr, size_t alen, __be16 sport,
			__be16 dport, __u8 proto, __u8 dir, __u8 tcp_state,
			__u64 last_seen_ns)
{
	__u64 idle = c->now > last_seen_ns ? c->now - last_seen_ns : 0;
	struct nfct_tuple t = { .family = family, .proto = proto };
	bool over;
	int r;

	/* since: the last pass's start; the datapath refreshes last_seen at
	 * most once per SVCD_CT_REFRESH_NS, so a flow that ended after that
	 * start may show a stamp up to that much older */
	if (dir != SVCD_CT_FORWARD || idle > STACK_CT_MAX_NS ||
	    (c->since && last_seen_ns + SVCD_CT_REFRESH_NS < c->since))
		return 0;
	over = proto == IPPROTO_UDP ? idle > SVCD_DRAIN_UDP_IDLE_NS :
				      tcp_state == SVCD_TCP_CLOSING ||
					      idle > SVCD_CT_LIFETIME_SYN;
	if (!c->all && !over)
		return 0;
	/* the reply as the stack saw it: from the frontend to the client */
	memcpy(t.src, daddr, alen);
	memcpy(t.dst, saddr, alen);
	t.sport = dport;
	t.dport = sport;
	r = nfct_delete(c->nf, &t);
	if (r > 0)
		c->deleted++;
	else if (r < 0 && !c->err)
		c->err = r;
	return 0;
}

static int forget4(const void *key, const void *value, void *arg)
{
	const struct svcd_ct_key *k = key;
	const struct svcd_ct_value *v = value;

	return forget_entry(arg, AF_INET, &k->saddr, &k->daddr, 4, k->sport,
			    k->dport, k->proto, k->dir, v->tcp_state,
			    v->last_seen_ns);
}

static int forget6(const void *key, const void *value, void *arg)
{
	const struct svcd_ct6_key *k = key;
	const struct svcd_ct6_value *v = value;

	return forget_entry(arg, AF_INET6, &k->saddr, &k->daddr, 16, k->sport,
			    k->dport, k->proto, k->dir, v->tcp_state,
			    v->last_seen_ns);
}

long drain_forget_stack(const int fds[2], struct nfct *nf, __u64 since,
			bool all)
{
	struct forget_ctx c = {
		.nf = nf, .now = mono_ns(), .since = since, .all = all
	};
	struct bpf_map_info info;
	__u32 len;
	int i, err;

	if (!nf)
		return 0;
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fds[i], &info, &len))
			return -errno;
		err = svcd_pinned_walk(
			fds[i], i ? SVCD_MAP_CONNTRACK6 : SVCD_MAP_CONNTRACK,
			info.key_size, info.value_size, info.max_entries,
			i ? forget6 : forget4, &c);
		if (err)
			return err < 0 ? err : -EIO;
	}
	if (c.err && !c.deleted)
		return c.err;
	return (long)c.deleted;
}

int drain_wait(const char *pin_dir, unsigned int timeout_s, volatile bool *stop,
	       unsigned long *left)
{
	__u64 start = mono_ns(), deadline, last_line = 0, now, since = 0;
	unsigned long forgot = 0;
	struct drain_flows f;
	struct nfct *nf;
	int err, fds[2] = { -1, -1 };
	long n;

	*left = 0;
	err = drain_begin(pin_dir);
	if (err)
		return err;
	deadline = start + (__u64)timeout_s * SVCD_NS_PER_SEC;
	pr_info("drain: new flows are left to the stack's rules (kube-proxy's) from now; waiting up to %u s for the flows svcd translates to end",
		timeout_s);
	/* each pass deletes the stack's entries of the replies of flows
	 * that ended (before the drain, then since the last pass) */
	nf = nfct_open();
	if (nf && drain_open_ct(pin_dir, fds))
		fds[0] = fds[1] = -1;
	for (;;) {
		now = mono_ns();
		n = drain_forget_stack(fds, nf, since, false);
		if (n > 0)
			forgot += (unsigned long)n;
		since = now;
		err = drain_count(pin_dir, &f);
		if (err)
			break;
		*left = f.tcp + f.udp;
		now = mono_ns();
		if (!*left) {
			pr_info("drain: no flow left after %.1f s",
				(double)(now - start) / SVCD_NS_PER_SEC);
			break;
		}
		if (now >= deadline) {
			pr_warn("drain: %u s passed, %lu flows still live (TCP %lu, UDP %lu): they are cut by the cleanup",
				timeout_s, *left, f.tcp, f.udp);
			break;
		}
		if (*stop) {
			pr_warn("drain: stopped by a signal after %.1f s with %lu flows live (TCP %lu, UDP %lu): they are cut by the cleanup",
				(double)(now - start) / SVCD_NS_PER_SEC, *left,
				f.tcp, f.udp);
			break;
		}
		if (!last_line || now - last_line >= 5 * SVCD_NS_PER_SEC) {
			pr_info("drain: %lu flows live (TCP %lu, UDP %lu), %.0f s left",
				*left, f.tcp, f.udp,
				(double)(deadline - now) / SVCD_NS_PER_SEC);
			last_line = now;
		}
		usleep(500 * 1000);
	}
	if (forgot)
		pr_info("drain: %lu entries of translated replies of ended flows deleted from the stack's conntrack",
			forgot);
	drain_close_ct(fds);
	nfct_close(nf);
	return err;
}
