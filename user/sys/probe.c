// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* probe.c - what this kernel can run. See probe.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "sys/probe.h"
#include "lib/log.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's own, seen by userspace */
#endif

enum probe_kind {
	K_PROG,	       /* arg: prog type */
	K_MAP,	       /* arg: map type */
	K_HELPER,      /* arg: prog type, arg2: helper */
	K_SOCK_ATTACH, /* arg, arg2: expected attach types (v4, v6) */
	K_CUSTOM,      /* its own function */
};

struct probe_desc {
	const char *name;
	const char *what;
	const char *since;
	enum probe_kind kind;
	int arg, arg2;
	int (*custom)(void); /* 1 yes, 0 no, <0 cannot tell */
};

static int probe_map_batch(void);
static int probe_csum_ipv6(void);
static int probe_tcx(void);
static int probe_so_netns_cookie(void);

static const struct probe_desc descs[FEAT_MAX] = {
	[FEAT_PROG_TC] = { "prog_tc", "tc (sched_cls) programs", "4.1", K_PROG,
			   BPF_PROG_TYPE_SCHED_CLS },
	[FEAT_PROG_XDP] = { "prog_xdp", "XDP programs", "4.8", K_PROG,
			    BPF_PROG_TYPE_XDP },
	[FEAT_PROG_SOCK_ADDR] = { "prog_sock_addr", "cgroup sock_addr programs",
				  "4.17", K_PROG,
				  BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
	[FEAT_MAP_HASH] = { "map_hash", "hash maps", "3.19", K_MAP,
			    BPF_MAP_TYPE_HASH },
	[FEAT_MAP_LRU_HASH] = { "map_lru_hash", "LRU hash maps", "4.10", K_MAP,
				BPF_MAP_TYPE_LRU_HASH },
	[FEAT_MAP_PERCPU_ARRAY] = { "map_percpu_array", "per-CPU array maps",
				    "4.6", K_MAP, BPF_MAP_TYPE_PERCPU_ARRAY },
	[FEAT_MAP_LPM_TRIE] = { "map_lpm_trie", "LPM trie maps", "4.11", K_MAP,
				BPF_MAP_TYPE_LPM_TRIE },
	[FEAT_MAP_BATCH] = { "map_batch", "batched map updates", "5.6",
			     K_CUSTOM, 0, 0, probe_map_batch },
	[FEAT_TC_COARSE_CLOCK] = { "tc_coarse_clock",
				   "bpf_ktime_get_coarse_ns in tc", "5.11",
				   K_HELPER, BPF_PROG_TYPE_SCHED_CLS,
				   BPF_FUNC_ktime_get_coarse_ns },
	[FEAT_TC_REDIRECT_NEIGH] = { "tc_redirect_neigh",
				     "bpf_redirect_neigh in tc", "5.10",
				     K_HELPER, BPF_PROG_TYPE_SCHED_CLS,
				     BPF_FUNC_redirect_neigh },
	[FEAT_TC_FIB_LOOKUP] = { "tc_fib_lookup", "bpf_fib_lookup in tc",
				 "4.18", K_HELPER, BPF_PROG_TYPE_SCHED_CLS,
				 BPF_FUNC_fib_lookup },
	[FEAT_TC_ADJUST_ROOM] = { "tc_adjust_room", "bpf_skb_adjust_room in tc",
				  "4.13", K_HELPER, BPF_PROG_TYPE_SCHED_CLS,
				  BPF_FUNC_skb_adjust_room },
	[FEAT_TC_CSUM_IPV6] = { "tc_csum_ipv6",
				"BPF_F_IPV6 in bpf_l4_csum_replace", "6.16",
				K_CUSTOM, 0, 0, probe_csum_ipv6 },
	[FEAT_XDP_COARSE_CLOCK] = { "xdp_coarse_clock",
				    "bpf_ktime_get_coarse_ns in XDP", "5.11",
				    K_HELPER, BPF_PROG_TYPE_XDP,
				    BPF_FUNC_ktime_get_coarse_ns },
	[FEAT_XDP_FIB_LOOKUP] = { "xdp_fib_lookup", "bpf_fib_lookup in XDP",
				  "4.18", K_HELPER, BPF_PROG_TYPE_XDP,
				  BPF_FUNC_fib_lookup },
	[FEAT_XDP_ADJUST_META] = { "xdp_adjust_meta",
				   "bpf_xdp_adjust_meta (XDP to tc metadata)",
				   "4.15", K_HELPER, BPF_PROG_TYPE_XDP,
				   BPF_FUNC_xdp_adjust_meta },
	[FEAT_TCX] = { "tcx", "tc programs through bpf_link (tcx)", "6.6",
		       K_CUSTOM, 0, 0, probe_tcx },
	[FEAT_SOCK_CONNECT] = { "sock_connect", "cgroup/connect4 and connect6",
				"4.17", K_SOCK_ATTACH, BPF_CGROUP_INET4_CONNECT,
				BPF_CGROUP_INET6_CONNECT },
	[FEAT_SOCK_SENDMSG] = { "sock_sendmsg", "cgroup/sendmsg4 and sendmsg6",
				"4.18", K_SOCK_ATTACH, BPF_CGROUP_UDP4_SENDMSG,
				BPF_CGROUP_UDP6_SENDMSG },
	[FEAT_SOCK_RECVMSG] = { "sock_recvmsg", "cgroup/recvmsg4 and recvmsg6",
				"5.2", K_SOCK_ATTACH, BPF_CGROUP_UDP4_RECVMSG,
				BPF_CGROUP_UDP6_RECVMSG },
	[FEAT_SOCK_GETPEERNAME] = { "sock_getpeername",
				    "cgroup/getpeername4 and getpeername6",
				    "5.8", K_SOCK_ATTACH,
				    BPF_CGROUP_INET4_GETPEERNAME,
				    BPF_CGROUP_INET6_GETPEERNAME },
	[FEAT_SOCK_COOKIE] = { "sock_cookie",
			       "bpf_get_socket_cookie in sock_addr", "5.7",
			       K_HELPER, BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
			       BPF_FUNC_get_socket_cookie },
	[FEAT_SOCK_NETNS_COOKIE] = { "sock_netns_cookie",
				     "bpf_get_netns_cookie in sock_addr", "5.7",
				     K_HELPER, BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
				     BPF_FUNC_get_netns_cookie },
	[FEAT_SOCK_SET_RETVAL] = { "sock_set_retval",
				   "bpf_set_retval in sock_addr", "5.18",
				   K_HELPER, BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
				   BPF_FUNC_set_retval },
	[FEAT_SO_NETNS_COOKIE] = { "so_netns_cookie",
				   "getsockopt SO_NETNS_COOKIE", "5.14",
				   K_CUSTOM, 0, 0, probe_so_netns_cookie },
};

const char *probe_name(enum probe_feature f)
{
	return f < FEAT_MAX ? descs[f].name : "?";
}

const char *probe_what(enum probe_feature f)
{
	return f < FEAT_MAX ? descs[f].what : "?";
}

const char *probe_since(enum probe_feature f)
{
	return f < FEAT_MAX ? descs[f].since : "?";
}

const char *probe_state_str(enum probe_state s)
{
	switch (s) {
	case PROBE_NO:
		return "no";
	case PROBE_YES:
		return "yes";
	case PROBE_OFF:
		return "off";
	case PROBE_UNKNOWN:
		return "unknown";
	}
	return "?";
}

int probe_by_name(const char *name)
{
	int i;

	for (i = 0; i < FEAT_MAX; i++)
		if (!strcmp(descs[i].name, name))
			return i;
	return -1;
}

/* r0 = 1; exit */
static const struct bpf_insn ret_one[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/*
 * A helper the kernel knows but refuses for this program type: libbpf's
 * probe (1.1, Debian 12's) reads the verifier's "program of this type
 * cannot use helper" as support, and so said yes to bpf_xdp_adjust_meta
 * on a kernel whose XDP cannot call it (6.18.44-fc-v1300). The same
 * program (call; exit), loaded here with its log read.
 */
static int probe_helper(enum bpf_prog_type type, enum bpf_func_id id)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	int fd, r;

	r = libbpf_probe_bpf_helper(type, id, NULL);
	if (r != 1)
		return r;
	fd = bpf_prog_load(type, NULL, "GPL", prog, 2, &opts);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return strstr(log, "cannot use helper") ? 0 : 1;
}

/* A sock_addr program of that expected attach type loads. */
static int probe_sock_attach(enum bpf_attach_type type)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL, "GPL", ret_one,
			   2, &opts);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	/* an attach type the kernel does not know is refused as invalid */
	return errno == EINVAL ? 0 : -errno;
}

static int probe_map_batch(void)
{
	__u32 key = 1, value = 1, count = 1;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 4, 4, 1, NULL);
	if (fd < 0)
		return -errno;
	err = bpf_map_update_batch(fd, &key, &value, &count, NULL);
	err = err ? -errno : 0;
	close(fd);
	if (!err)
		return 1;
	return err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP ? 0 :
									  err;
}

/*
 * bpf_l4_csum_replace checks its flags when called, not at load: run it
 * once on a small packet with BPF_F_IPV6 (size 0, a zero diff, so it
 * changes nothing) and look at what it returned.
 */
static int probe_csum_ipv6(void)
{
	const struct bpf_insn prog[] = {
		/* r2 = 20 (offset), r3 = 0 (from), r4 = 0 (to, a diff),
		 * r5 = BPF_F_IPV6 | size 0; r1 is the skb already */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_2,
		  .imm = 20 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_5,
		  .imm = BPF_F_IPV6 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_l4_csum_replace },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .repeat = 1);
	int fd, err;

	pkt[12] = 0x86; /* an IPv6 Ethernet frame, for form's sake */
	pkt[13] = 0xdd;
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, NULL, "GPL", prog,
			   sizeof(prog) / sizeof(prog[0]), NULL);
	if (fd < 0)
		return -errno;
	err = bpf_prog_test_run_opts(fd, &run);
	err = err ? -errno : 0;
	close(fd);
	if (err)
		return err;
	/* 0: done; -EINVAL: a flag it does not know */
	if (run.retval == 0)
		return 1;
	return (int)run.retval == -EINVAL ? 0 : (int)run.retval;
}

/* tcx: the kernel's own BTF knows the attach type BPF_TCX_INGRESS. */
static int probe_tcx(void)
{
	const struct btf_enum *e;
	const struct btf_type *t;
	struct btf *btf;
	int id, i, n, found = 0;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "bpf_attach_type", BTF_KIND_ENUM);
	if (id < 0) {
		btf__free(btf);
		return id;
	}
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	n = btf_vlen(t);
	for (i = 0; i < n && !found; i++)
		found = !strcmp(btf__name_by_offset(btf, e[i].name_off),
				"BPF_TCX_INGRESS");
	btf__free(btf);
	return found;
}

static int probe_so_netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
	err = err ? -errno : 0;
	close(fd);
	if (!err)
		return 1;
	return err == -ENOPROTOOPT ? 0 : err;
}

static int probe_one(const struct probe_desc *d)
{
	int a, b;

	switch (d->kind) {
	case K_PROG:
		return libbpf_probe_bpf_prog_type(d->arg, NULL);
	case K_MAP:
		return libbpf_probe_bpf_map_type(d->arg, NULL);
	case K_HELPER:
		return probe_helper(d->arg, d->arg2);
	case K_SOCK_ATTACH:
		a = probe_sock_attach(d->arg);
		b = probe_sock_attach(d->arg2);
		if (a < 0 || b < 0)
			return a < 0 ? a : b;
		return a && b;
	case K_CUSTOM:
		return d->custom();
	}
	return -EINVAL;
}

int probe_feature(enum probe_feature f)
{
	if (f < 0 || f >= FEAT_MAX)
		return -EINVAL;
	return probe_one(&descs[f]);
}

int probes_run(struct probes *p, const char *const *disabled, size_t nd)
{
	char names[FEAT_MAX * 24];
	struct utsname u;
	size_t i, len = 0;
	int f, r;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < nd; i++) {
		if (probe_by_name(disabled[i]) >= 0)
			continue;
		for (f = 0; f < FEAT_MAX; f++)
			len += snprintf(names + len, sizeof(names) - len,
					"%s%s", f ? " " : "", descs[f].name);
		pr_err("--disable-feature %s: no such feature (one of: %s)",
		       disabled[i], names);
		return -EINVAL;
	}
	if (!uname(&u))
		snprintf(p->release, sizeof(p->release), "%s", u.release);
	for (f = 0; f < FEAT_MAX; f++) {
		r = probe_one(&descs[f]);
		if (r < 0) {
			p->f[f].state = PROBE_UNKNOWN;
			p->f[f].err = r;
			pr_debug("probe %s: cannot tell: %s", descs[f].name,
				 strerror(-r));
		} else {
			p->f[f].state = r ? PROBE_YES : PROBE_NO;
		}
	}
	for (i = 0; i < nd; i++) {
		f = probe_by_name(disabled[i]);
		if (p->f[f].state == PROBE_YES)
			p->f[f].state = PROBE_OFF;
	}
	return 0;
}
