// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_perf.c - per-packet cost of from_pod, measured with
 * BPF_PROG_TEST_RUN's repeat loop. A figure, never an assertion: the
 * numbers are printed as "# perf:" lines and nothing fails on timing.
 *
 * The repeat loop runs the program again and again on the same skb, so
 * the first run's rewrite is what the second run sees. Two services point
 * at each other (PING:80 -> PONG:80, PONG:80 -> PING:80): from the third
 * run on, every run is an established flow with a real address rewrite
 * and checksum update. New flows are timed two ways: one run each over
 * distinct source ports (with the call's own overhead, cold), and chained:
 * a ring of RING services, each backed by the next one's frontend, and a
 * repeat of RING, so every run of a call is a new flow (svcd-bpf-bench's
 * method; docs/datapath.md, "What a packet costs").
 */
#include <errno.h>
#include <bpf/bpf.h>

#include "runner.h"
#include "world.h"

#define REPEAT 100000
#define NEW_FLOWS 500
#define MANY_SERVICES 10000
#define MEASURED_ID (MANY_SERVICES + 1) /* and + 2 */
#define MEASURED_BE (MANY_SERVICES + 1) /* and + 2 */

#define PING IP4(198, 19, 96, 200)
#define PONG IP4(198, 19, 96, 201)
#define RING 64
#define RING_ID (MEASURED_ID + 2) /* .. + RING - 1 */
#define RING_ADDR(k) IP4(198, 19, 112, 1 + (k))
#define RING_CALLS 8

static const struct pt_service svc_ping = {
	.id = MEASURED_ID,
	.addr = PING,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { { .id = MEASURED_BE, .addr = PONG, .port = TCP_PORT } },
};

static const struct pt_service svc_pong = {
	.id = MEASURED_ID + 1,
	.addr = PONG,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { { .id = MEASURED_BE + 1,
			.addr = PING,
			.port = TCP_PORT } },
};

/* 198.19.96.0/20 x ports 80.., one backend each, written straight into the maps (the
 * table-driven pt_service_set() rescans the slot map per service). */
static int add_many_services(struct pt *pt, int n)
{
	int i;

	for (i = 1; i <= n; i++) {
		__be32 addr = IP4(198, 19, 96 + ((i >> 8) & 15), i & 0xff);
		struct svcd_frontend_key fkey = {
			.addr = addr,
			.port = bpf_htons(1000 + (i >> 12)),
			.proto = IPPROTO_TCP,
			.scope = SVCD_SCOPE_INTERNAL,
		};
		struct svcd_frontend_value fval = {
			.service_id = (__u32)i,
			.slot_count = 1,
			.rev = 1,
		};
		struct svcd_slot_key skey = {
			.service_id = (__u32)i,
			.rev = 1,
			.slot = 0,
		};
		struct svcd_backend be = {
			.addr = IP4(198, 18, 16 + (i >> 8), i & 0xff),
			.port = BACKEND_PORT,
			.proto = IPPROTO_TCP,
		};
		__u32 id = (__u32)i;

		if (bpf_map_update_elem(pt->backends, &id, &be, BPF_ANY) ||
		    bpf_map_update_elem(pt->slots, &skey, &id, BPF_ANY) ||
		    bpf_map_update_elem(pt->frontends, &fkey, &fval, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int run_repeat(struct pt *pt, const struct pkt_spec *spec, int repeat,
		      __u32 *retval, __u32 *ns)
{
	struct pkt in, out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data,
		    .data_out = out.data, .data_size_out = sizeof(out.data),
		    .repeat = repeat);

	if (pkt_build(spec, &in))
		return -EINVAL;
	opts.data_size_in = (__u32)in.len;
	if (bpf_prog_test_run_opts(pt->from_pod, &opts))
		return -errno;
	*retval = opts.retval;
	*ns = opts.duration;
	return 0;
}

/* The ring: RING_ADDR(k):TCP_PORT -> RING_ADDR(k + 1 mod RING):TCP_PORT. */
static int add_ring(struct pt *pt)
{
	struct pt_service svc = {
		.port = TCP_PORT,
		.proto = IPPROTO_TCP,
		.rev = 1,
	};
	int k, err;

	for (k = 0; k < RING; k++) {
		svc.id = RING_ID + k;
		svc.addr = RING_ADDR(k);
		svc.backends[0].id = RING_ID + k;
		svc.backends[0].addr = RING_ADDR((k + 1) % RING);
		svc.backends[0].port = TCP_PORT;
		err = pt_service_set(pt, &svc);
		if (err)
			return err;
	}
	return 0;
}

/* ns per new flow, RING new flows per call: the median of RING_CALLS
 * calls (after one untimed), each checked to have made RING flows. */
static int chained_new_flows(struct pt *pt, __u32 *ns)
{
	__u32 t[RING_CALLS], retval, tmp;
	struct svcd_stats before, after;
	int i, j;

	for (i = -1; i < RING_CALLS; i++) {
		struct pkt_spec syn = TCP_PKT(CLIENT, bpf_htons(30000 + i),
					      RING_ADDR(0), TCP_PORT, PKT_SYN);

		if (!ASSERT_OK(pt_stats_get(pt, 0, &before), "stats") ||
		    !ASSERT_OK(run_repeat(pt, &syn, RING, &retval, &tmp),
			       "chained syn") ||
		    !ASSERT_EQ(retval, TC_ACT_OK, "chained syn verdict") ||
		    !ASSERT_OK(pt_stats_get(pt, 0, &after), "stats") ||
		    !ASSERT_EQ(after.new_flows - before.new_flows, RING,
			       "a new flow per run"))
			return -1;
		if (i >= 0)
			t[i] = tmp;
	}
	for (i = 1; i < RING_CALLS; i++)
		for (j = i; j > 0 && t[j - 1] > t[j]; j--) {
			tmp = t[j];
			t[j] = t[j - 1];
			t[j - 1] = tmp;
		}
	*ns = t[RING_CALLS / 2];
	return 0;
}

/* Times established flows (ping-pong) and new flows, prints the figures. */
static void measure(struct pt *pt, const char *what)
{
	struct pkt_spec ack =
		TCP_PKT(CLIENT, CLIENT_PORT, PING, TCP_PORT, PKT_ACK);
	struct pkt_spec other =
		TCP_PKT(CLIENT, CLIENT_PORT, ELSEWHERE, TCP_PORT, PKT_ACK);
	__u32 retval, ns, ns_other, ns_new, ns_chained;
	__u64 total = 0;
	int i;

	if (!ASSERT_OK(pt_service_set(pt, &svc_ping), "set ping") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_pong), "set pong") ||
	    !ASSERT_OK(run_repeat(pt, &ack, REPEAT, &retval, &ns), "ack") ||
	    !ASSERT_EQ(retval, TC_ACT_OK, "ack verdict") ||
	    !ASSERT_OK(run_repeat(pt, &other, REPEAT, &retval, &ns_other),
		       "not ours") ||
	    !ASSERT_EQ(retval, TC_ACT_OK, "not-ours verdict"))
		return;
	for (i = 0; i < NEW_FLOWS; i++) {
		struct pkt_spec syn = TCP_PKT(CLIENT, bpf_htons(20000 + i),
					      PING, TCP_PORT, PKT_SYN);

		if (!ASSERT_OK(run_repeat(pt, &syn, 1, &retval, &ns_new),
			       "syn") ||
		    !ASSERT_EQ(retval, TC_ACT_OK, "syn verdict"))
			return;
		total += ns_new;
	}
	if (!ASSERT_OK(add_ring(pt), "the new-flow ring") ||
	    chained_new_flows(pt, &ns_chained))
		return;
	printf("# perf: from_pod established-flow forward, %s: %u ns/packet (repeat %d)\n",
	       what, ns, REPEAT);
	printf("# perf: from_pod new-flow forward, %s: %u ns/packet (%d flows chained per call, median of %d calls)\n",
	       what, ns_chained, RING, RING_CALLS);
	printf("# perf: from_pod new-flow forward, %s: %llu ns/packet (%d flows, one run each: with the call's own overhead)\n",
	       what, (unsigned long long)(total / NEW_FLOWS), NEW_FLOWS);
	printf("# perf: from_pod not-a-service pass, %s: %u ns/packet (repeat %d)\n",
	       what, ns_other, REPEAT);
}

void test_perf_forward(void)
{
	static const struct pt_sizes sizes = {
		.frontends = 16384,
		.services = 16384,
		.slots = 16384,
		.backends = 16384,
		.conntrack = 4096,
	};
	struct pt pt;

	if (test__start_subtest("one_service")) {
		if (!pt_open(&pt, &sizes)) {
			measure(&pt, "1 service");
			pt_close(&pt);
		}
	}
	if (test__start_subtest("10000_services")) {
		if (!pt_open(&pt, &sizes)) {
			if (ASSERT_OK(add_many_services(&pt, MANY_SERVICES),
				      "install 10000 services"))
				measure(&pt, "10000 services");
			pt_close(&pt);
		}
	}
}
