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

int drain_wait(const char *pin_dir, unsigned int timeout_s, volatile bool *stop,
	       unsigned long *left)
{
	__u64 start = mono_ns(), deadline, last_line = 0, now;
	struct drain_flows f;
	int err;

	*left = 0;
	err = drain_begin(pin_dir);
	if (err)
		return err;
	deadline = start + (__u64)timeout_s * SVCD_NS_PER_SEC;
	pr_info("drain: new flows are left to the stack's rules (kube-proxy's) from now; waiting up to %u s for the flows svcd translates to end",
		timeout_s);
	for (;;) {
		err = drain_count(pin_dir, &f);
		if (err)
			return err;
		*left = f.tcp + f.udp;
		now = mono_ns();
		if (!*left) {
			pr_info("drain: no flow left after %.1f s",
				(double)(now - start) / SVCD_NS_PER_SEC);
			return 0;
		}
		if (now >= deadline) {
			pr_warn("drain: %u s passed, %lu flows still live (TCP %lu, UDP %lu): they are cut by the cleanup",
				timeout_s, *left, f.tcp, f.udp);
			return 0;
		}
		if (*stop) {
			pr_warn("drain: stopped by a signal after %.1f s with %lu flows live (TCP %lu, UDP %lu): they are cut by the cleanup",
				(double)(now - start) / SVCD_NS_PER_SEC, *left,
				f.tcp, f.udp);
			return 0;
		}
		if (!last_line || now - last_line >= 5 * SVCD_NS_PER_SEC) {
			pr_info("drain: %lu flows live (TCP %lu, UDP %lu), %.0f s left",
				*left, f.tcp, f.udp,
				(double)(deadline - now) / SVCD_NS_PER_SEC);
			last_line = now;
		}
		usleep(500 * 1000);
	}
}
