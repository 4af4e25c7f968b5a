// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_weights.c - new flows spread over backends in proportion to their
 * slots (docs/datapath.md step 10: slot = prandom % slot_count).
 *
 * A gets 1 slot of 4, B gets 3. Over N = 2000 flows A's count is
 * Binomial(2000, 1/4): mean 500, sd 19.4. The window 500 +- 120 is 6.2 sd
 * wide on each side, so a correct datapath fails it with probability
 * about 5e-10; a datapath ignoring weights (1:1, mean 1000) or always
 * picking one backend lands far outside.
 */
#include "runner.h"
#include "world.h"

#define FLOWS 2000
#define EXPECT_A (FLOWS / 4)
#define TOLERANCE 120

static const struct pt_service svc_1_to_3 = SVC_TCP_ON(
	1, { .id = BE_A, .addr = BACKEND_A, .port = BACKEND_PORT, .weight = 1 },
	{ .id = BE_B, .addr = BACKEND_B, .port = BACKEND_PORT, .weight = 3 });

static void run_flows(struct pt *pt, int *to_a, int *to_b, int *other)
{
	struct pkt_spec spec = C_TO_FE(PKT_SYN);
	struct pkt in, out;
	struct pkt_parsed p;
	__u32 retval;
	int i;

	for (i = 0; i < FLOWS; i++) {
		spec.sport = bpf_htons(20000 + i);
		pkt_build(&spec, &in);
		if (!ASSERT_OK(pt_run(pt, PT_FROM_POD, &in, &out, &retval),
			       "bpf_prog_test_run_opts"))
			return;
		if (retval != TC_ACT_OK || pkt_parse(out.data, out.len, &p) ||
		    p.ipv6 != pt->v6 || !p.ip_csum_ok || !p.l4_csum_ok ||
		    p.dport != BACKEND_PORT) {
			(*other)++;
			continue;
		}
		if (p.daddr == BACKEND_A)
			(*to_a)++;
		else if (p.daddr == BACKEND_B)
			(*to_b)++;
		else
			(*other)++;
	}
}

static void run_weighted(int family)
{
	struct svcd_stats before, after;
	int to_a = 0, to_b = 0, other = 0;
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (!ASSERT_OK(pt_reset(&pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(&pt, &svc_1_to_3), "set service 1:3") ||
	    !ASSERT_OK(pt_stats_get(&pt, SVC_ID, &before), "read stats"))
		goto out;
	run_flows(&pt, &to_a, &to_b, &other);
	test__log("  %d flows: A %d, B %d, other %d (expected A %d +- %d)\n",
		  FLOWS, to_a, to_b, other, EXPECT_A, TOLERANCE);
	ASSERT_EQ(other, 0, "flows not translated to A or B, or bad csum");
	ASSERT_GE(to_a, EXPECT_A - TOLERANCE, "flows to A (weight 1 of 4)");
	ASSERT_LE(to_a, EXPECT_A + TOLERANCE, "flows to A (weight 1 of 4)");
	ASSERT_EQ(to_a + to_b, FLOWS, "every flow went to A or B");
	if (ASSERT_OK(pt_stats_get(&pt, SVC_ID, &after), "read stats"))
		ASSERT_EQ(after.new_flows - before.new_flows, FLOWS,
			  "svcd_stats[service].new_flows");
	ASSERT_EQ(pt_ct_count(&pt), 2 * FLOWS,
		  "conntrack entries (forward + reverse per flow)");
out:
	pt_close(&pt);
}

void test_weighted_selection(void)
{
	run_weighted(4);
}

/* IPv6 frontends name svcd_backends6 ids through the shared slots. */
void test_weighted_selection6(void)
{
	run_weighted(6);
}
