// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock.bpf.c - cgroup sock_addr programs: Service translation at the socket
 * for node-local (hostNetwork) clients (F8), as kube-proxy's OUTPUT chain
 * does it. No packet is rewritten and no conntrack entry made: the socket
 * is pointed at the backend itself, so its packets leave with the
 * backend's address and the tc/XDP programs see plain traffic.
 *
 *   sock_connect4 (cgroup/connect4): connect() to a frontend goes to a
 *                 backend; refused at once when there is none.
 *   sock_sendmsg4 (cgroup/sendmsg4): the same per datagram for sendto() on
 *                 unconnected UDP sockets.
 *   sock_recvmsg4 (cgroup/recvmsg4): a reply from that backend shows the
 *                 frontend as its source (resolvers check it).
 *   sock_getpeer4 (cgroup/getpeername4): getpeername() shows the frontend.
 *
 * docs/datapath.md ("Sockets") gives the rules.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* sock_addr programs: 1 lets the call go on, 0 fails it (EPERM unless a
 * bpf_set_retval() said otherwise). */
#define SOCK_ALLOW 1
#define SOCK_DENY 0

/*
 * Set by svcd through the skeleton before load.
 * node_netns_cookie: only sockets of the node's network namespace (the
 * hostNetwork ones) are translated here; pods keep their tc path (conntrack,
 * UDP flows flushed on endpoint removal). 0 when the kernel cannot tell
 * (no SO_NETNS_COOKIE): every socket of the cgroup is translated.
 * have_set_retval: bpf_set_retval() exists (5.18+), so a refusal can say
 * ECONNREFUSED as kube-proxy's REJECT does; without it, EPERM.
 */
const volatile __u64 node_netns_cookie = 0;
const volatile bool have_set_retval = false;

/* Sized by svcd before load (as svcd_conntrack: one entry per flow). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_sock_rev_key);
	__type(value, struct svcd_sock_rev_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_sock_rev SEC(".maps");

static __always_inline bool sock_is_ours(struct bpf_sock_addr *ctx)
{
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return false;
	return !node_netns_cookie ||
	       bpf_get_netns_cookie(ctx) == node_netns_cookie;
}

/*
 * Remember which frontend the socket asked for, under the backend it got.
 * Returns true when the entry is new (a new flow for the counters). A full
 * map only costs the reverse view (getpeername, the source of replies):
 * the socket is translated all the same, and map_full counted.
 */
static __always_inline bool sock_rev_store(struct bpf_sock_addr *ctx,
					   const struct svcd_backend *be,
					   __u32 service_id)
{
	struct svcd_sock_rev_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.addr = be->addr,
		.port = be->port,
		.proto = ctx->protocol,
	};
	struct svcd_sock_rev_value val = {
		.addr = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
	};
	int err;

	err = bpf_map_update_elem(&svcd_sock_rev, &key, &val, BPF_NOEXIST);
	if (!err)
		return true;
	/* sendto() again toward the same backend: refresh the entry */
	if (err != -EEXIST ||
	    bpf_map_update_elem(&svcd_sock_rev, &key, &val, BPF_ANY))
		stats_add(service_id, STAT_MAP_FULL, 0);
	return false;
}

/* connect4 and sendmsg4: a positive reason lets the call go on. */
static __always_inline int sock_forward(struct bpf_sock_addr *ctx)
{
	struct svcd_frontend_value fe, *fe_ptr;
	struct svcd_backend *be;
	__u32 backend_id;

	if (!sock_is_ours(ctx))
		return -SVCD_R_PASS_NOT_OURS;
	fe_ptr = lb_lookup_frontend_addr(ctx->user_ip4, (__be16)ctx->user_port,
					 ctx->protocol, SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_PASS_NOT_OURS;
	fe = *fe_ptr; /* one revision: slot_count and rev together */
	if (!fe.slot_count) {
		stats_add(fe.service_id, STAT_NO_BACKEND, 0);
		/* Endpoints exist, none local (internalTrafficPolicy Local):
		 * kube-proxy drops; a drop in OUTPUT fails the send with
		 * EPERM, and so does this. */
		if (fe.flags & SVCD_FE_EMPTY_DROP)
			return -SVCD_R_DROP_NO_LOCAL;
		return -SVCD_R_SOCK_REFUSED;
	}
	be = lb_select_backend(&fe, &backend_id);
	if (!be) {
		/* Only in a writer race: the slots of the revision just
		 * read are gone. A packet would be retransmitted; a call
		 * fails for good, so read the new revision once more. */
		fe_ptr = lb_lookup_frontend_addr(ctx->user_ip4,
						 (__be16)ctx->user_port,
						 ctx->protocol,
						 SVCD_SCOPE_INTERNAL);
		if (!fe_ptr)
			return -SVCD_R_DROP_NO_SLOT;
		fe = *fe_ptr;
		if (!fe.slot_count)
			return -SVCD_R_DROP_NO_SLOT;
		be = lb_select_backend(&fe, &backend_id);
		if (!be)
			return -SVCD_R_DROP_NO_SLOT;
	}
	if (sock_rev_store(ctx, be, fe.service_id))
		stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ctx->user_ip4 = be->addr;
	ctx->user_port = be->port;
	return SVCD_R_SOCK_FORWARD;
}

/* recvmsg4 and getpeername4: the backend is shown as the frontend. */
static __always_inline int sock_reverse(struct bpf_sock_addr *ctx)
{
	struct svcd_sock_rev_value *val;
	struct svcd_sock_rev_key key;

	if (!sock_is_ours(ctx))
		return -SVCD_R_PASS_NOT_OURS;
	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = ctx->user_ip4;
	key.port = (__be16)ctx->user_port;
	key.proto = ctx->protocol;
	key.pad = 0;
	val = bpf_map_lookup_elem(&svcd_sock_rev, &key);
	if (!val)
		return -SVCD_R_PASS_NOT_OURS;
	ctx->user_ip4 = val->addr;
	ctx->user_port = val->port;
	return SVCD_R_SOCK_REVERSE;
}

/* The one place a reason becomes a verdict, and is counted. Calls that do
 * not concern a frontend are not counted: they are most of the node's. */
static __always_inline int sock_verdict(int ret)
{
	int reason = ret < 0 ? -ret : ret;

	if (reason == SVCD_R_PASS_NOT_OURS)
		return SOCK_ALLOW;
	stats_reason(reason);
	if (reason == SVCD_R_SOCK_REFUSED) {
		if (have_set_retval)
			bpf_set_retval(-ECONNREFUSED);
		return SOCK_DENY;
	}
	return reason_drops(reason) ? SOCK_DENY : SOCK_ALLOW;
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_verdict(sock_forward(ctx));
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_verdict(sock_forward(ctx));
}

/* recvmsg and getpeername cannot fail: always SOCK_ALLOW. */
SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	sock_verdict(sock_reverse(ctx));
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int sock_getpeer4(struct bpf_sock_addr *ctx)
{
	sock_verdict(sock_reverse(ctx));
	return SOCK_ALLOW;
}
