// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock.bpf.c - cgroup sock_addr programs: Service translation at the socket
 * for node-local (hostNetwork) clients (F8), as kube-proxy's OUTPUT chain
 * does it, and for pods (--socket-lb all, the default), in every network
 * namespace whose processes are under --cgroup-path. No packet is
 * rewritten and no conntrack entry made: the socket is pointed at the
 * backend itself, so its packets leave with the backend's address and the
 * tc/XDP programs see plain traffic (never a flow translated twice).
 *
 * What a pod's socket leaves to the tc path, which has what it needs:
 * connect() on UDP (conntrack, flushed when an endpoint goes, so a
 * connected resolver socket moves on; a socket pointed at a backend
 * would stay on a dead one) and sendto() on such a connected socket,
 * sessionAffinity ClientIP and loadBalancerSourceRanges (both keyed by
 * the client's address, unknown before the route is chosen). The node's own sockets have no tc path:
 * they are translated whatever the Service.
 *
 *   sock_connect4 (cgroup/connect4): connect() to a frontend goes to a
 *                 backend; refused at once when there is none.
 *   sock_sendmsg4 (cgroup/sendmsg4): the same per datagram for sendto() on
 *                 unconnected UDP sockets.
 *   sock_recvmsg4 (cgroup/recvmsg4): a reply from that backend shows the
 *                 frontend as its source (resolvers check it).
 *   sock_getpeer4 (cgroup/getpeername4): getpeername() shows the frontend.
 *   sock_connect6, sock_sendmsg6, sock_recvmsg6, sock_getpeer6: the same
 *                 for AF_INET6 sockets: IPv6 frontends (svcd_frontends6,
 *                 svcd_backends6, svcd_sock_rev6), and v4-mapped addresses
 *                 (::ffff:a.b.c.d) as the IPv4 frontends they embed.
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
 * node_netns_cookie: the node's network namespace (hostNetwork sockets);
 * 0 when the kernel cannot tell (no SO_NETNS_COOKIE): every socket of the
 * cgroup is then taken for the node's.
 * translate_pods: sockets of other network namespaces (pods) are
 * translated too (--socket-lb all); false: they keep their tc path.
 * have_set_retval: bpf_set_retval() exists (5.18+), so a refusal can say
 * ECONNREFUSED as kube-proxy's REJECT does; without it, EPERM.
 */
const volatile __u64 node_netns_cookie = 0;
const volatile bool translate_pods = false;
const volatile bool have_set_retval = false;

/* Sized by svcd before load (as svcd_conntrack: one entry per flow). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_sock_rev_key);
	__type(value, struct svcd_sock_rev_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_sock_rev SEC(".maps");

/* The same for IPv6 sockets; a 1-entry placeholder when the node serves
 * no IPv6 (sized by svcd as svcd_sock_rev otherwise). Sockets of either
 * family that ask for a v4-mapped address use svcd_sock_rev: see
 * sock_forward6(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_sock_rev6_key);
	__type(value, struct svcd_sock_rev6_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_sock_rev6 SEC(".maps");

/* An unconnected UDP socket's backend per frontend (svcd_abi.h), sized as
 * svcd_sock_rev; the IPv6 one as svcd_sock_rev6. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_sock_rev_key);
	__type(value, struct svcd_sock_fwd_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_sock_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_sock_rev6_key);
	__type(value, struct svcd_sock_fwd_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_sock_fwd6 SEC(".maps");

enum sock_who {
	SOCK_NOT_OURS, /* not TCP/UDP, or a pod's under --socket-lb host */
	SOCK_NODE,     /* the node's own (hostNetwork) socket */
	SOCK_POD,      /* a pod's socket, --socket-lb all */
};

/* A UDP socket already connected: sendto() naming a peer again on it
 * runs the sendmsg hook too. Its replies must come from the address it is
 * connected to, so a pod's (connected through tc, to the frontend) must
 * not be pointed at a backend for that datagram. */
static __always_inline bool sock_connected(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	return sk && sk->state == BPF_TCP_ESTABLISHED;
}

/* Whose socket a connect/sendmsg is on; connect says which hook. */
static __always_inline enum sock_who sock_who(struct bpf_sock_addr *ctx,
					      bool connect)
{
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return SOCK_NOT_OURS;
	if (!node_netns_cookie ||
	    bpf_get_netns_cookie(ctx) == node_netns_cookie)
		return SOCK_NODE;
	if (!translate_pods)
		return SOCK_NOT_OURS;
	/* A connected UDP socket of a pod keeps the tc path (see above): its
	 * connect(), and a sendto() on it that names the peer again. */
	if (ctx->protocol == IPPROTO_UDP && (connect || sock_connected(ctx)))
		return SOCK_NOT_OURS;
	return SOCK_POD;
}

/* A frontend whose rules need the client's address stays with tc for a
 * pod (see above). */
static __always_inline bool
sock_pod_leaves_to_tc(const struct svcd_frontend_value *fe)
{
	return fe->affinity_timeout || (fe->flags & SVCD_FE_SRC_RANGES);
}

/* recvmsg and getpeername: any TCP/UDP socket, whoever's: only a socket
 * a forward hook translated has an entry (its cookie is in the key), and
 * one translated before a restart into --socket-lb host keeps showing
 * the frontend. */
static __always_inline bool sock_is_ours(struct bpf_sock_addr *ctx)
{
	return ctx->protocol == IPPROTO_TCP || ctx->protocol == IPPROTO_UDP;
}

/*
 * Remember which frontend the socket asked for, under the backend it got.
 * Returns true when the entry is new (a new flow for the counters). A full
 * map only costs the reverse view (getpeername, the source of replies):
 * the socket is translated all the same, and map_full counted.
 */
static __always_inline bool sock_rev_store(struct bpf_sock_addr *ctx,
					   const struct svcd_backend *be,
					   __be32 fe_addr, __be16 fe_port,
					   __u32 service_id)
{
	struct svcd_sock_rev_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.addr = be->addr,
		.port = be->port,
		.proto = ctx->protocol,
	};
	struct svcd_sock_rev_value val = {
		.addr = fe_addr,
		.port = fe_port,
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

static __always_inline bool sock_rev6_store(struct bpf_sock_addr *ctx,
					    const struct svcd_backend6 *be,
					    const union svcd_ip6 *fe_addr,
					    __be16 fe_port, __u32 service_id)
{
	struct svcd_sock_rev6_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.addr = be->addr,
		.port = be->port,
		.proto = ctx->protocol,
	};
	struct svcd_sock_rev6_value val = {
		.addr = *fe_addr,
		.port = fe_port,
	};
	int err;

	err = bpf_map_update_elem(&svcd_sock_rev6, &key, &val, BPF_NOEXIST);
	if (!err)
		return true;
	if (err != -EEXIST ||
	    bpf_map_update_elem(&svcd_sock_rev6, &key, &val, BPF_ANY))
		stats_add(service_id, STAT_MAP_FULL, 0);
	return false;
}

/* A frontend without a usable backend: the refusal reason, counted. */
static __always_inline int sock_no_backend(const struct svcd_frontend_value *fe)
{
	stats_add(fe->service_id, STAT_NO_BACKEND, 0);
	/* Endpoints exist, none local (internalTrafficPolicy Local):
	 * kube-proxy drops; a drop in OUTPUT fails the send with EPERM, and
	 * so does this. */
	if (fe->flags & SVCD_FE_EMPTY_DROP)
		return -SVCD_R_DROP_NO_LOCAL;
	return -SVCD_R_SOCK_REFUSED;
}

/*
 * A backend for a new connection or datagram of the frontend fe at
 * addr:port. sticky (sendmsg on UDP): the backend this socket's datagrams
 * to the frontend went to, while the frontend is still that service's
 * with the same slot table revision, as the tc path keeps a UDP flow on
 * one backend by its conntrack entry; otherwise a weighted choice,
 * remembered. A full map only costs the stickiness.
 */
static __always_inline struct svcd_sock_fwd_value *
sock_fwd_hit(void *map, const void *key, const struct svcd_frontend_value *fe)
{
	struct svcd_sock_fwd_value *v = bpf_map_lookup_elem(map, key);

	return v && v->service_id == fe->service_id && v->rev == fe->rev ? v :
									   NULL;
}

static __always_inline void sock_fwd_store(void *map, const void *key,
					   const struct svcd_frontend_value *fe,
					   __u32 backend_id)
{
	struct svcd_sock_fwd_value val = {
		.backend_id = backend_id,
		.service_id = fe->service_id,
		.rev = fe->rev,
	};

	bpf_map_update_elem(map, key, &val, BPF_ANY);
}

static __always_inline struct svcd_backend *
sock_choose4(struct bpf_sock_addr *ctx, bool sticky, __be32 addr, __be16 port,
	     const struct svcd_frontend_value *fe)
{
	struct svcd_sock_rev_key key = {
		.cookie = sticky ? bpf_get_socket_cookie(ctx) : 0,
		.addr = addr,
		.port = port,
		.proto = ctx->protocol,
	};
	struct svcd_sock_fwd_value *v;
	struct svcd_backend *be;
	__u32 backend_id;

	if (sticky) {
		v = sock_fwd_hit(&svcd_sock_fwd, &key, fe);
		if (v) {
			backend_id = v->backend_id;
			be = bpf_map_lookup_elem(&svcd_backends, &backend_id);
			if (be)
				return be;
		}
	}
	be = lb_select_backend(fe, &backend_id);
	if (be && sticky)
		sock_fwd_store(&svcd_sock_fwd, &key, fe, backend_id);
	return be;
}

/* sock_choose4() for an IPv6 frontend. */
static __always_inline struct svcd_backend6 *
sock_choose6(struct bpf_sock_addr *ctx, bool sticky, const union svcd_ip6 *addr,
	     __be16 port, const struct svcd_frontend_value *fe)
{
	struct svcd_sock_rev6_key key;
	struct svcd_sock_fwd_value *v;
	struct svcd_backend6 *be;
	__u32 backend_id;

	__builtin_memset(&key, 0, sizeof(key));
	if (sticky) {
		key.cookie = bpf_get_socket_cookie(ctx);
		key.addr = *addr;
		key.port = port;
		key.proto = ctx->protocol;
		v = sock_fwd_hit(&svcd_sock_fwd6, &key, fe);
		if (v) {
			backend_id = v->backend_id;
			be = bpf_map_lookup_elem(&svcd_backends6, &backend_id);
			if (be)
				return be;
		}
	}
	be = lb6_select_backend(fe, &backend_id);
	if (be && sticky)
		sock_fwd_store(&svcd_sock_fwd6, &key, fe, backend_id);
	return be;
}

/*
 * The IPv4 frontend at addr:port and a backend of it, into *fe and *be.
 * Returns 0, or the negative reason of a refusal or drop;
 * -SVCD_R_PASS_NOT_OURS when addr:port is no frontend.
 */
static __always_inline int sock_pick4(struct bpf_sock_addr *ctx,
				      enum sock_who who, bool sticky,
				      __be32 addr, __be16 port,
				      struct svcd_frontend_value *fe,
				      struct svcd_backend **be)
{
	struct svcd_frontend_value *fe_ptr;

	fe_ptr = lb_lookup_frontend_addr(addr, port, ctx->protocol,
					 SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_PASS_NOT_OURS;
	if (who == SOCK_POD && sock_pod_leaves_to_tc(fe_ptr))
		return -SVCD_R_PASS_NOT_OURS;
	*fe = *fe_ptr; /* one revision: slot_count and rev together */
	if (!fe->slot_count)
		return sock_no_backend(fe);
	*be = sock_choose4(ctx, sticky, addr, port, fe);
	if (*be)
		return 0;
	/* Only in a writer race: the slots of the revision just read are
	 * gone. A packet would be retransmitted; a call fails for good, so
	 * read the new revision once more. */
	fe_ptr = lb_lookup_frontend_addr(addr, port, ctx->protocol,
					 SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_DROP_NO_SLOT;
	*fe = *fe_ptr;
	if (!fe->slot_count)
		return -SVCD_R_DROP_NO_SLOT;
	*be = sock_choose4(ctx, sticky, addr, port, fe);
	return *be ? 0 : -SVCD_R_DROP_NO_SLOT;
}

/* sock_pick4() for an IPv6 frontend (svcd_frontends6, svcd_backends6). */
static __always_inline int sock_pick6(struct bpf_sock_addr *ctx,
				      enum sock_who who, bool sticky,
				      const union svcd_ip6 *addr, __be16 port,
				      struct svcd_frontend_value *fe,
				      struct svcd_backend6 **be)
{
	struct svcd_frontend_value *fe_ptr;

	fe_ptr = lb6_lookup_frontend_addr(addr, port, ctx->protocol,
					  SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_PASS_NOT_OURS;
	if (who == SOCK_POD && sock_pod_leaves_to_tc(fe_ptr))
		return -SVCD_R_PASS_NOT_OURS;
	*fe = *fe_ptr;
	if (!fe->slot_count)
		return sock_no_backend(fe);
	*be = sock_choose6(ctx, sticky, addr, port, fe);
	if (*be)
		return 0;
	fe_ptr = lb6_lookup_frontend_addr(addr, port, ctx->protocol,
					  SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_DROP_NO_SLOT;
	*fe = *fe_ptr;
	if (!fe->slot_count)
		return -SVCD_R_DROP_NO_SLOT;
	*be = sock_choose6(ctx, sticky, addr, port, fe);
	return *be ? 0 : -SVCD_R_DROP_NO_SLOT;
}

/* connect4 and sendmsg4: a positive reason lets the call go on. */
static __always_inline int sock_forward(struct bpf_sock_addr *ctx, bool connect)
{
	enum sock_who who = sock_who(ctx, connect);
	__be16 port = (__be16)ctx->user_port;
	__be32 addr = ctx->user_ip4;
	struct svcd_frontend_value fe;
	struct svcd_backend *be = NULL;
	int ret;

	/* draining (svcd_control): the stack's rules take new flows */
	if (who == SOCK_NOT_OURS || svcd_draining())
		return -SVCD_R_PASS_NOT_OURS;
	ret = sock_pick4(ctx, who, !connect && ctx->protocol == IPPROTO_UDP,
			 addr, port, &fe, &be);
	if (ret || !be) /* verifier: be is set when ret is 0 */
		return ret ? ret : -SVCD_R_DROP_NO_SLOT;
	if (sock_rev_store(ctx, be, addr, port, fe.service_id))
		stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ctx->user_ip4 = be->addr;
	ctx->user_port = be->port;
	return SVCD_R_SOCK_FORWARD;
}

/* The socket address of an IPv6 hook; true when it is v4-mapped
 * (::ffff:a.b.c.d, an AF_INET6 socket talking IPv4). */
static __always_inline bool sock_read_ip6(struct bpf_sock_addr *ctx,
					  union svcd_ip6 *a)
{
	/* verifier: user_ip6 is read one 4-byte word at a time */
	a->w[0] = ctx->user_ip6[0];
	a->w[1] = ctx->user_ip6[1];
	a->w[2] = ctx->user_ip6[2];
	a->w[3] = ctx->user_ip6[3];
	return !a->w[0] && !a->w[1] && a->w[2] == bpf_htonl(0xffff);
}

/*
 * connect6 and sendmsg6. An IPv6 frontend goes to an IPv6 backend, its
 * reverse entry in svcd_sock_rev6. A v4-mapped address is an IPv4
 * frontend: looked up in the IPv4 maps, pointed at ::ffff:<backend>, and
 * remembered in svcd_sock_rev under the embedded IPv4 addresses, the map
 * the kernel's IPv4 path uses for the same socket (sendto() to a mapped
 * address runs sendmsg4 with the plain IPv4 address, while recvfrom()
 * runs recvmsg6 with the mapped one: both meet in svcd_sock_rev).
 */
static __always_inline int sock_forward6(struct bpf_sock_addr *ctx,
					 bool connect)
{
	enum sock_who who = sock_who(ctx, connect);
	bool sticky = !connect && ctx->protocol == IPPROTO_UDP;
	__be16 port = (__be16)ctx->user_port;
	struct svcd_frontend_value fe;
	struct svcd_backend6 *be6 = NULL;
	struct svcd_backend *be = NULL;
	union svcd_ip6 addr;
	int ret;

	/* draining (svcd_control): the stack's rules take new flows */
	if (who == SOCK_NOT_OURS || svcd_draining())
		return -SVCD_R_PASS_NOT_OURS;
	if (sock_read_ip6(ctx, &addr)) {
		ret = sock_pick4(ctx, who, sticky, addr.w[3], port, &fe, &be);
		if (ret || !be)
			return ret ? ret : -SVCD_R_DROP_NO_SLOT;
		if (sock_rev_store(ctx, be, addr.w[3], port, fe.service_id))
			stats_add(fe.service_id, STAT_NEW_FLOW, 0);
		ctx->user_ip6[3] = be->addr; /* the ::ffff: prefix stays */
		ctx->user_port = be->port;
		return SVCD_R_SOCK_FORWARD;
	}
	ret = sock_pick6(ctx, who, sticky, &addr, port, &fe, &be6);
	if (ret || !be6)
		return ret ? ret : -SVCD_R_DROP_NO_SLOT;
	if (sock_rev6_store(ctx, be6, &addr, port, fe.service_id))
		stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ctx->user_ip6[0] = be6->addr.w[0];
	ctx->user_ip6[1] = be6->addr.w[1];
	ctx->user_ip6[2] = be6->addr.w[2];
	ctx->user_ip6[3] = be6->addr.w[3];
	ctx->user_port = be6->port;
	return SVCD_R_SOCK_FORWARD;
}

/* The frontend remembered for the socket's IPv4 peer addr:port, or NULL. */
static __always_inline struct svcd_sock_rev_value *
sock_rev_lookup(struct bpf_sock_addr *ctx, __be32 addr, __be16 port)
{
	struct svcd_sock_rev_key key;

	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = addr;
	key.port = port;
	key.proto = ctx->protocol;
	key.pad = 0;
	return bpf_map_lookup_elem(&svcd_sock_rev, &key);
}

/* recvmsg4 and getpeername4: the backend is shown as the frontend. */
static __always_inline int sock_reverse(struct bpf_sock_addr *ctx)
{
	struct svcd_sock_rev_value *val;

	if (!sock_is_ours(ctx))
		return -SVCD_R_PASS_NOT_OURS;
	val = sock_rev_lookup(ctx, ctx->user_ip4, (__be16)ctx->user_port);
	if (!val)
		return -SVCD_R_PASS_NOT_OURS;
	ctx->user_ip4 = val->addr;
	ctx->user_port = val->port;
	return SVCD_R_SOCK_REVERSE;
}

/* recvmsg6 and getpeername6; v4-mapped peers as sock_forward6() says. */
static __always_inline int sock_reverse6(struct bpf_sock_addr *ctx)
{
	__be16 port = (__be16)ctx->user_port;
	struct svcd_sock_rev6_value *val6;
	struct svcd_sock_rev_value *val;
	struct svcd_sock_rev6_key key;
	union svcd_ip6 addr;

	if (!sock_is_ours(ctx))
		return -SVCD_R_PASS_NOT_OURS;
	if (sock_read_ip6(ctx, &addr)) {
		val = sock_rev_lookup(ctx, addr.w[3], port);
		if (!val)
			return -SVCD_R_PASS_NOT_OURS;
		ctx->user_ip6[3] = val->addr;
		ctx->user_port = val->port;
		return SVCD_R_SOCK_REVERSE;
	}
	__builtin_memset(&key, 0, sizeof(key));
	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = addr;
	key.port = port;
	key.proto = ctx->protocol;
	val6 = bpf_map_lookup_elem(&svcd_sock_rev6, &key);
	if (!val6)
		return -SVCD_R_PASS_NOT_OURS;
	ctx->user_ip6[0] = val6->addr.w[0];
	ctx->user_ip6[1] = val6->addr.w[1];
	ctx->user_ip6[2] = val6->addr.w[2];
	ctx->user_ip6[3] = val6->addr.w[3];
	ctx->user_port = val6->port;
	return SVCD_R_SOCK_REVERSE;
}

/* The one place a reason becomes a verdict, and is counted. Calls that do
 * not concern a frontend are not counted: they are most of the node's. */
static __always_inline int sock_verdict(int ret)
{
	int reason = ret < 0 ? -ret : ret;

	if (reason == SVCD_R_PASS_NOT_OURS)
		return SOCK_ALLOW;
	stats_reason(SVCD_HOOK_SOCK, reason);
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
	return sock_verdict(sock_forward(ctx, true));
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_verdict(sock_forward(ctx, false));
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

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	return sock_verdict(sock_forward6(ctx, true));
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_verdict(sock_forward6(ctx, false));
}

SEC("cgroup/recvmsg6")
int sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	sock_verdict(sock_reverse6(ctx));
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername6")
int sock_getpeer6(struct bpf_sock_addr *ctx)
{
	sock_verdict(sock_reverse6(ctx));
	return SOCK_ALLOW;
}
