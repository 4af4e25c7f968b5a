// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_affinity.c - sessionAffinity ClientIP (docs/datapath.md step 10):
 * a new flow from a client goes to the backend svcd_affinity remembers for
 * {service, client} while that entry is younger than the frontend's
 * affinity_timeout and its backend still has its match pair; otherwise to
 * a weighted choice, which is remembered. Every new flow restarts the
 * entry's clock.
 *
 * Three backends of weight 1, so a datapath that ignores the entry sends
 * FLOWS new flows (different source ports) all to one backend with
 * probability 3 * 3^-FLOWS; the cases that expect a fresh choice repeat
 * it TRIES times and fail only when it never changes, with probability
 * (1/3)^TRIES. Both are far below 1e-9.
 */
#include <linux/bpf.h>

#include "runner.h"
#include "world.h"

#define FLOWS 60
#define TRIES 30
#define TIMEOUT_S 10

#define CLIENT_2 IP4(198, 18, 1, 6)
#define BACKEND_3 IP4(198, 18, 1, 30)
#define BE_3 7
#define NODEPORT_FE IP4(198, 19, 0, 1) /* a second frontend of SVC_ID */
#define SVC_ID_EXT 30

#define THREE_BACKENDS                                      \
	BACKEND(BE_A, BACKEND_A), BACKEND(BE_B, BACKEND_B), \
		BACKEND(BE_3, BACKEND_3)

static const struct pt_service svc_affinity = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.affinity_timeout = TIMEOUT_S,
	.backends = { THREE_BACKENDS },
};
static const struct pt_service svc_no_affinity = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { THREE_BACKENDS },
};
/* The same service id behind another frontend (its NodePort, seen from a
 * pod): one set, one affinity. */
static const struct pt_service svc_affinity_np = {
	.id = SVC_ID,
	.addr = NODEPORT_FE,
	.port = NODEPORT_TCP,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.affinity_timeout = TIMEOUT_S,
	.backends = { THREE_BACKENDS },
};
/* The set after backend A left: revision 2 holds B and 3 only. */
static const struct pt_service svc_affinity_without_a = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 2,
	.affinity_timeout = TIMEOUT_S,
	.backends = { BACKEND(BE_B, BACKEND_B), BACKEND(BE_3, BACKEND_3) },
};

/* Backends from outside (wire tests): local ones, and remote ones behind
 * node B (world.h: 198.18.2.0/24 via node B, so XDP_TX after SNAT). */
#define LOCAL_B IP4(198, 18, 1, 20)
#define REMOTE_1 IP4(198, 18, 2, 21)
#define REMOTE_2 IP4(198, 18, 2, 22)
#define REMOTE_3 IP4(198, 18, 2, 23)

static __u32 backend_of(__be32 addr)
{
	if (addr == BACKEND_A || addr == REMOTE_1)
		return BE_A;
	if (addr == BACKEND_B || addr == LOCAL_B || addr == REMOTE_2)
		return BE_B;
	if (addr == BACKEND_3 || addr == REMOTE_3)
		return BE_3;
	return 0;
}

/* How a translated SYN must come out of the program under test. */
struct expect_out {
	enum pt_prog prog;
	__u32 verdict;
	__be32 saddr; /* 0: the client's address, kept */
};

static const struct expect_out via_pod = { PT_FROM_POD, TC_ACT_OK, 0 };
static const struct expect_out via_wire_local = { PT_FROM_WIRE, XDP_PASS, 0 };
static const struct expect_out via_wire_snat = { PT_FROM_WIRE, XDP_TX, NODE_A };

/*
 * One new TCP flow from client:sport to dst:dport; returns the backend id
 * the SYN was translated to, 0 when it was not translated to one of the
 * three as expected (or the output is broken).
 */
static __u32 new_flow(struct pt *pt, const struct expect_out *x, __be32 client,
		      __be32 dst, __be16 dport, __u16 sport)
{
	struct pkt_spec spec = TCP_PKT(client, bpf_htons(sport), dst, dport,
				       PKT_SYN, .seq = SEQ_C);
	static const __u8 mac_client[6] = MAC_CLIENT, mac_up0[6] = MAC_UP0;
	struct pkt in, out;
	struct pkt_parsed p;
	__u32 retval;

	if (x->prog == PT_FROM_WIRE) {
		memcpy(spec.smac, mac_client, 6);
		memcpy(spec.dmac, mac_up0, 6);
	}
	if (pkt_build(&spec, &in) || pt_run(pt, x->prog, &in, &out, &retval))
		return 0;
	if (retval != x->verdict || pkt_parse(out.data, out.len, &p) ||
	    p.ipv6 != pt->v6 || !p.ip_csum_ok || !p.l4_csum_ok ||
	    p.saddr != (x->saddr ?: client) || p.dport != BACKEND_PORT)
		return 0;
	return backend_of(p.daddr);
}

/* FLOWS new flows from client: 0 when they all went to one backend (its
 * id in *bid), else how many flows went elsewhere or failed. */
static int flows_stick(struct pt *pt, const struct expect_out *x, __be32 client,
		       __be32 dst, __be16 dport, __u16 sport0, __u32 *bid)
{
	int i, off = 0;
	__u32 got;

	*bid = 0;
	for (i = 0; i < FLOWS; i++) {
		got = new_flow(pt, x, client, dst, dport, sport0 + i);
		if (!*bid)
			*bid = got;
		if (!got || got != *bid)
			off++;
	}
	if (off)
		test__log("  %d of %d flows left backend %u\n", off, FLOWS,
			  *bid);
	return off;
}

static bool setup(struct pt *pt, const struct pt_service *svc,
		  const struct pt_service *svc2)
{
	return ASSERT_OK(pt_reset(pt), "empty the maps") &&
	       ASSERT_OK(pt_service_set(pt, svc), "set service") &&
	       (!svc2 || ASSERT_OK(pt_service_set(pt, svc2), "set service 2"));
}

/* The entry names bid and was used at or after since. */
static void entry_is(struct pt *pt, __u32 sid, __be32 client, __u32 bid,
		     __u64 since, const char *what)
{
	struct svcd_affinity_value v;
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: entry exists", what);
	if (!ASSERT_OK(pt_affinity_get(pt, sid, client, &v), msg))
		return;
	snprintf(msg, sizeof(msg), "%s: entry's backend", what);
	ASSERT_EQ(v.backend_id, bid, msg);
	snprintf(msg, sizeof(msg), "%s: entry's last use refreshed", what);
	ASSERT_GE(v.last_used_ns, since, msg);
}

static void same_client_sticks(struct pt *pt)
{
	__u64 t0 = pt_now_ns();
	__u32 bid, bid2;

	if (!setup(pt, &svc_affinity, NULL))
		return;
	ASSERT_EQ(flows_stick(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT, 20000,
			      &bid),
		  0, "flows of one client on other backends");
	ASSERT_NEQ(bid, 0, "translated to a backend");
	entry_is(pt, SVC_ID, CLIENT, bid, t0, "client 1");
	/* Another client gets an entry of its own and sticks too. */
	ASSERT_EQ(flows_stick(pt, &via_pod, CLIENT_2, FRONTEND, TCP_PORT, 20000,
			      &bid2),
		  0, "flows of client 2 on other backends");
	entry_is(pt, SVC_ID, CLIENT_2, bid2, t0, "client 2");
	ASSERT_EQ(pt_affinity_count(pt), 2, "one entry per client");
}

static void no_timeout_spreads(struct pt *pt)
{
	bool seen[BE_3 + 1] = {};
	int i, n = 0;
	__u32 got;

	if (!setup(pt, &svc_no_affinity, NULL))
		return;
	for (i = 0; i < FLOWS; i++) {
		got = new_flow(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT,
			       20000 + i);
		if (!ASSERT_NEQ(got, 0, "translated to a backend"))
			return;
		n += !seen[got];
		seen[got] = true;
	}
	ASSERT_EQ(n, 3, "backends seen without affinity");
	ASSERT_EQ(pt_affinity_count(pt), 0, "no affinity entry written");
}

/*
 * An entry on backend A: used 1 s ago it is followed every time; used
 * TIMEOUT_S + 5 s ago it is not, and the new choice replaces it.
 */
static void expiry(struct pt *pt)
{
	struct svcd_affinity_value v = { .backend_id = BE_A };
	int i, followed = 0, moved = 0;
	__u64 t0;
	__u32 got;

	if (!setup(pt, &svc_affinity, NULL))
		return;
	for (i = 0; i < TRIES; i++) {
		v.last_used_ns = pt_now_ns() - 1 * SVCD_NS_PER_SEC;
		pt_affinity_set(pt, SVC_ID, CLIENT, &v);
		t0 = pt_now_ns();
		got = new_flow(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT,
			       20000 + i);
		followed += got == BE_A;
		entry_is(pt, SVC_ID, CLIENT, BE_A, t0, "fresh entry");
	}
	ASSERT_EQ(followed, TRIES, "fresh entry followed");

	for (i = 0; i < TRIES; i++) {
		v.last_used_ns =
			pt_now_ns() - (TIMEOUT_S + 5) * SVCD_NS_PER_SEC;
		pt_affinity_set(pt, SVC_ID, CLIENT, &v);
		t0 = pt_now_ns();
		got = new_flow(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT,
			       30000 + i);
		if (!ASSERT_NEQ(got, 0, "translated to a backend"))
			return;
		moved += got != BE_A;
		/* Whatever was chosen is remembered, from now. */
		entry_is(pt, SVC_ID, CLIENT, got, t0, "expired entry");
	}
	test__log("  expired entry on A: %d of %d new flows elsewhere\n", moved,
		  TRIES);
	ASSERT_GT(moved, 0, "expired entry: a fresh choice (not always A)");
}

/*
 * A's match pair goes (A left the set; it stays in svcd_backends, as it
 * may for another service): the entry on A is not followed, the client
 * gets a current member, which is remembered and then followed.
 */
static void backend_left(struct pt *pt)
{
	struct svcd_affinity_value v = { .backend_id = BE_A };
	int i, moved = 0;
	__u64 t0;
	__u32 bid;

	if (!setup(pt, &svc_affinity, NULL) ||
	    !ASSERT_OK(pt_service_set(pt, &svc_affinity_without_a),
		       "A leaves (revision 2)") ||
	    !ASSERT_OK(pt_affinity_unmatch(pt, SVC_ID, BE_A),
		       "delete A's match pair"))
		return;
	v.last_used_ns = pt_now_ns();
	pt_affinity_set(pt, SVC_ID, CLIENT, &v);
	t0 = pt_now_ns();
	ASSERT_EQ(flows_stick(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT, 20000,
			      &bid),
		  0, "flows on other backends");
	ASSERT_TRUE(bid == BE_B || bid == BE_3, "a current member chosen");
	entry_is(pt, SVC_ID, CLIENT, bid, t0, "entry moved");

	/* Without its pair even a backend still in the slots is not
	 * followed (the pair, not the slot table, says "member"): fresh
	 * entries on A see a weighted choice, so not always A. */
	if (!setup(pt, &svc_affinity, NULL) ||
	    !ASSERT_OK(pt_affinity_unmatch(pt, SVC_ID, BE_A),
		       "delete A's match pair"))
		return;
	for (i = 0; i < TRIES; i++) {
		v.last_used_ns = pt_now_ns();
		pt_affinity_set(pt, SVC_ID, CLIENT, &v);
		moved += new_flow(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT,
				  21000 + i) != BE_A;
	}
	ASSERT_GT(moved, 0, "entry on A without its pair: not always A");
}

/* ClusterIP and another frontend of the same service id share entries. */
static void shared_by_frontends(struct pt *pt)
{
	__u32 first, bid;

	if (!setup(pt, &svc_affinity, &svc_affinity_np))
		return;
	first = new_flow(pt, &via_pod, CLIENT, FRONTEND, TCP_PORT, 20000);
	if (!ASSERT_NEQ(first, 0, "first flow translated"))
		return;
	ASSERT_EQ(flows_stick(pt, &via_pod, CLIENT, NODEPORT_FE, NODEPORT_TCP,
			      30000, &bid),
		  0, "flows to the second frontend on other backends");
	ASSERT_EQ(bid, first, "second frontend follows the first's choice");
	ASSERT_EQ(pt_affinity_count(pt), 1, "one entry for both");
}

static void run_affinity(int family)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (test__start_subtest("same_client_sticks"))
		same_client_sticks(&pt);
	if (test__start_subtest("no_timeout_spreads"))
		no_timeout_spreads(&pt);
	if (test__start_subtest("expiry"))
		expiry(&pt);
	if (test__start_subtest("backend_left"))
		backend_left(&pt);
	if (test__start_subtest("shared_by_frontends"))
		shared_by_frontends(&pt);
	pt_close(&pt);
}

/* ---- from the wire: XDP on an uplink ----------------------------------- */

#define EXT_SVC_AFF(flags_, ...)                                        \
	{                                                               \
		.id = SVC_ID_EXT, .addr = NODE_A, .port = NODEPORT_TCP, \
		.proto = IPPROTO_TCP, .rev = 1, .external = true,       \
		.flags = (flags_), .affinity_timeout = TIMEOUT_S,       \
		.backends = { __VA_ARGS__ },                            \
	}
#define LOCAL_BACKEND(id_, addr_)                                   \
	{                                                           \
		.id = (id_), .addr = (addr_), .port = BACKEND_PORT, \
		.flags = SVCD_BE_LOCAL                              \
	}

/* externalTrafficPolicy Cluster, three backends on this node: DNAT only */
static const struct pt_service np_local = EXT_SVC_AFF(
	SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR,
	LOCAL_BACKEND(BE_A, BACKEND_A), LOCAL_BACKEND(BE_B, LOCAL_B),
	LOCAL_BACKEND(BE_3, BACKEND_3));
/* the same with three backends on node B: DNAT + SNAT, sent back out */
static const struct pt_service np_remote =
	EXT_SVC_AFF(SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR,
		    BACKEND(BE_A, REMOTE_1), BACKEND(BE_B, REMOTE_2),
		    BACKEND(BE_3, REMOTE_3));

/* From outside through XDP; the key is the client's own address, also
 * when the backend sees the node's (SNAT). */
static void wire_sticks(struct pt *pt, const struct pt_service *svc,
			const struct expect_out *x)
{
	__u64 t0 = pt_now_ns();
	__u32 bid;

	if (!setup(pt, svc, NULL))
		return;
	ASSERT_EQ(flows_stick(pt, x, EXT_CLIENT, NODE_A, NODEPORT_TCP, 20000,
			      &bid),
		  0, "flows from outside on other backends");
	ASSERT_NEQ(bid, 0, "translated to a backend");
	entry_is(pt, SVC_ID_EXT, EXT_CLIENT, bid, t0, "external client");
	ASSERT_EQ(pt_affinity_count(pt), 1, "one entry");
}

void test_affinity(void)
{
	run_affinity(4);
}

/* IPv6: svcd_affinity6 with the shared svcd_affinity_match. */
void test_affinity6(void)
{
	run_affinity(6);
}

static void run_affinity_wire(int family)
{
	/* Ample room for FLOWS SNAT ports toward one backend: a port is
	 * drawn at random, 16 tries, so a nearly full range could drop a
	 * flow by chance. */
	static const struct pt_wire_config cfg = {
		.snat_addr = NODE_A,
		.port_min = 40000,
		.port_max = 40000 + 40 * FLOWS,
	};
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (pt_open_wire(&pt, &cfg))
		goto out;
	if (wire_world_enter(&pt))
		goto out;
	if (ASSERT_NEQ(pt.uplink_ifindex, 0, "up0 exists")) {
		if (test__start_subtest("local_backends"))
			wire_sticks(&pt, &np_local, &via_wire_local);
		if (test__start_subtest("remote_backends_snat"))
			wire_sticks(&pt, &np_remote, &via_wire_snat);
	}
	pt_netns_leave();
out:
	pt_close(&pt);
}

void test_affinity_wire(void)
{
	run_affinity_wire(4);
}

void test_affinity_wire6(void)
{
	run_affinity_wire(6);
}
