// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_slots.c - the slot table (writer/slots.c): hand-picked examples, then
 * properties over random weight vectors from a fixed-seed PRNG.
 *
 * What the algorithm does, and so what the properties are: with m backends
 * of weight > 0, total weight T and g the gcd of those weights,
 *  - T/g <= max_slots: backend i gets exactly w_i/g slots;
 *  - m > max_slots: the first max_slots backends of weight > 0 get one;
 *  - otherwise each gets c_i = max(1, floor(w_i*B/T)) for the largest
 *    budget B <= max_slots whose sum N fits, then all c_i are divided by
 *    their gcd (shares unchanged). With x_i = w_i*B/T and p_i = w_i/T,
 *    e_i = c_i - x_i lies in (-1, 1] and N - B = sum e_i in (-m, m], so
 *    c_i/N - p_i = (e_i - p_i*(N - B))/N and
 *        |share_i - p_i| <= (1 + m*p_i) / N, where N >= max_slots - m + 1
 *    (B is maximal: one more budget step adds at most one slot per
 *    backend, or B = max_slots and N > B - m).
 *  - Interleaving: the k-th of s_i slots sits at (k + 1/2)/s_i of the
 *    table, so a prefix ending at position t holds s_i*t +- 1/2 slots of
 *    each backend and has length L = N*t +- m/2; hence for every prefix
 *        |seen_i(L) - L*s_i/N| <= 1/2 + m*s_i/(2N).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/writer/slots.h"
#include "runner.h"
#include "svcd_abi.h"

#define MAX_N 64

static uint32_t out[SVCD_MAX_SLOTS_PER_SERVICE];
static uint32_t out2[SVCD_MAX_SLOTS_PER_SERVICE];

/* xorshift64: reproducible runs, no libc state. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* n weights, each zero with probability 1/zero_in (0: never zero). */
static void random_weights(uint64_t *seed, uint8_t *w, size_t n,
			   uint32_t zero_in)
{
	size_t i;

	for (i = 0; i < n; i++) {
		w[i] = 1 + rnd(seed) % SVCD_MAX_WEIGHT;
		if (zero_in && rnd(seed) % zero_in == 0)
			w[i] = 0;
	}
}

/* Sum, gcd and count of the non-zero weights; the gcd by trial division,
 * independently of the code under test. */
static void weight_facts(const uint8_t *w, size_t n, uint32_t *total,
			 uint32_t *g, uint32_t *m)
{
	uint32_t least = SVCD_MAX_WEIGHT;
	size_t i;

	*total = *m = 0;
	for (i = 0; i < n; i++) {
		if (!w[i])
			continue;
		*total += w[i];
		(*m)++;
		if (w[i] < least)
			least = w[i];
	}
	for (*g = least; *g > 1; (*g)--) {
		for (i = 0; i < n && w[i] % *g == 0; i++)
			;
		if (i == n)
			break;
	}
}

/* Largest deviation of any prefix from the final proportions. */
static double prefix_error(const uint32_t *out, size_t n_slots,
			   const uint32_t *count, size_t n)
{
	uint32_t seen[MAX_N] = { 0 };
	double worst = 0, d;
	size_t i, j;

	for (i = 0; i < n_slots; i++) {
		seen[out[i]]++;
		for (j = 0; j < n; j++) {
			d = seen[j] - (double)(i + 1) * count[j] / n_slots;
			if (d < 0)
				d = -d;
			if (d > worst)
				worst = d;
		}
	}
	return worst;
}

static void slot_counts(const uint32_t *out, size_t n_slots, uint32_t *count,
			size_t n)
{
	size_t i;

	memset(count, 0, n * sizeof(*count));
	for (i = 0; i < n_slots; i++)
		count[out[i]]++;
}

void test_slots_examples(void)
{
	uint32_t count[16];
	size_t n;

	if (test__start_subtest("all_zero")) {
		uint8_t w[] = { 0, 0, 0 };

		ASSERT_EQ(slots_build(w, 3, out, 100, NULL), 0, "no slots");
		ASSERT_EQ(slots_build(w, 0, out, 100, NULL), 0, "no backends");
	}
	if (test__start_subtest("one_backend")) {
		uint8_t w[] = { 200 };

		ASSERT_EQ(slots_build(w, 1, out, 100, NULL), 1, "one slot");
		ASSERT_EQ(out[0], 0, "backend 0");
	}
	if (test__start_subtest("zero_weights_skipped")) {
		uint8_t w[] = { 0, 3, 0, 6 };

		n = slots_build(w, 4, out, 100, NULL);
		slot_counts(out, n, count, 4);
		ASSERT_EQ(n, 3, "slots");
		ASSERT_EQ(count[0] + count[2], 0, "zero weight");
		ASSERT_EQ(count[1], 1, "3 -> 1");
		ASSERT_EQ(count[3], 2, "6 -> 2");
	}
	if (test__start_subtest("interleaved")) {
		uint8_t w[] = { 1, 2, 3 };

		n = slots_build(w, 3, out, 100, NULL);
		slot_counts(out, n, count, 3);
		ASSERT_EQ(n, 6, "slots");
		ASSERT_EQ(count[0] * 100 + count[1] * 10 + count[2], 123,
			  "1:2:3");
		ASSERT_LE(prefix_error(out, n, count, 3), 1.0, "prefix error");
	}
	if (test__start_subtest("255_and_1")) {
		uint8_t w[] = { 255, 1 };

		n = slots_build(w, 2, out, SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		slot_counts(out, n, count, 2);
		ASSERT_EQ(n, 256, "slots");
		ASSERT_EQ(count[0], 255, "heavy");
		ASSERT_EQ(count[1], 1, "light");
		ASSERT_LE(prefix_error(out, n, count, 2), 1.0, "prefix error");
	}
	if (test__start_subtest("scaled_down")) {
		uint8_t w[] = { 200, 100, 50, 1 };

		n = slots_build(w, 4, out, 100, NULL);
		slot_counts(out, n, count, 4);
		ASSERT_LE(n, 100, "fits");
		ASSERT_GE(n, 90, "uses the room");
		ASSERT_GE(count[3], 1, "light one keeps a slot");
		ASSERT_LE(count[0] > 2 * count[1] ? count[0] - 2 * count[1] :
						    2 * count[1] - count[0],
			  2, "200:100");
		ASSERT_LE(count[1] > 2 * count[2] ? count[1] - 2 * count[2] :
						    2 * count[2] - count[1],
			  2, "100:50");
		test__log("scaled to %u/%u/%u/%u\n", count[0], count[1],
			  count[2], count[3]);
	}
	if (test__start_subtest("each_keeps_one")) {
		uint8_t w[10] = {
			255, 255, 255, 255, 255, 255, 255, 255, 255, 1
		};

		n = slots_build(w, 10, out, 20, NULL);
		slot_counts(out, n, count, 10);
		ASSERT_LE(n, 20, "fits");
		ASSERT_EQ(count[9], 1, "weight 1 keeps one slot");
		ASSERT_EQ(n, 19, "slots");
		ASSERT_EQ(count[0], 2, "heavy ones share what is left");
	}
	if (test__start_subtest("max_slots_cap")) {
		uint8_t w[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };

		n = slots_build(w, 10, out, 4, NULL);
		slot_counts(out, n, count, 10);
		ASSERT_EQ(n, 4, "capped");
		ASSERT_EQ(count[0] + count[1] + count[2] + count[3], 4,
			  "first four");
		ASSERT_EQ(slots_build(w, 10, out, 0, NULL), 0, "max 0");
	}
	if (test__start_subtest("service_max")) {
		static uint8_t w[20000];

		memset(w, 1, sizeof(w));
		w[0] = 255;
		n = slots_build(w, 20000, out, SVCD_MAX_SLOTS_PER_SERVICE,
				NULL);
		ASSERT_EQ(n, SVCD_MAX_SLOTS_PER_SERVICE, "capped at the max");
		memset(w, 255, 100);
		n = slots_build(w, 100, out, SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		ASSERT_EQ(n, 100, "equal weights reduce to one each");
	}
}

/* Every backend gets exactly w_i/g slots when T/g fits. */
void test_slots_exact(void)
{
	uint32_t count[MAX_N], total, g, m;
	uint64_t seed = 0x5107ab1e;
	size_t trial, i, n, n_slots, max_slots, bad = 0;
	uint8_t w[MAX_N];

	for (trial = 0; trial < 400; trial++) {
		n = 1 + rnd(&seed) % MAX_N;
		random_weights(&seed, w, n, 5);
		/* Small common factors make the gcd interesting. */
		if (trial % 4 == 0)
			for (i = 0; i < n; i++)
				w[i] = (w[i] % 42) * 6;
		weight_facts(w, n, &total, &g, &m);
		max_slots = SVCD_MAX_SLOTS_PER_SERVICE;
		if (trial % 2 && m)
			max_slots = total / g + rnd(&seed) % 8; /* just fits */
		n_slots = slots_build(w, n, out, max_slots, NULL);
		slot_counts(out, n_slots, count, n);
		if (!m) {
			bad += n_slots != 0;
			continue;
		}
		bad += n_slots != total / g;
		for (i = 0; i < n; i++)
			bad += count[i] != w[i] / g;
		if (bad) {
			test__log("trial %zu: n %zu, T/g %u, %zu slots\n",
				  trial, n, total / g, n_slots);
			break;
		}
	}
	ASSERT_EQ(bad, 0, "backends without exactly w/g slots");
}

/* Scaled down to max_slots: fits, every backend keeps a slot, each share
 * within (1 + m*p_i) / (max_slots - m + 1) of w_i/T. */
void test_slots_scaled(void)
{
	uint32_t count[MAX_N], total, g, m;
	uint64_t seed = 0x5ca1ed;
	size_t trial, i, n, n_slots, max_slots, scaled = 0, bad = 0;
	double p, share, bound, worst = 0;
	uint8_t w[MAX_N];

	for (trial = 0; trial < 600; trial++) {
		n = 2 + rnd(&seed) % (MAX_N - 1);
		random_weights(&seed, w, n, 6);
		weight_facts(w, n, &total, &g, &m);
		if (!m)
			continue;
		max_slots = m + rnd(&seed) % 300;
		n_slots = slots_build(w, n, out, max_slots, NULL);
		slot_counts(out, n_slots, count, n);
		if (n_slots > max_slots || !n_slots) {
			test__log("trial %zu: %zu slots, max %zu\n", trial,
				  n_slots, max_slots);
			bad++;
			break;
		}
		if (total / g > max_slots)
			scaled++;
		for (i = 0; i < n; i++) {
			if (!w[i] != !count[i]) {
				test__log("trial %zu: weight %u, %u slots\n",
					  trial, w[i], count[i]);
				bad++;
				continue;
			}
			p = (double)w[i] / total;
			share = (double)count[i] / n_slots;
			bound = (1 + m * p) / (max_slots - m + 1);
			if (fabs(share - p) > bound + 1e-12) {
				test__log(
					"trial %zu: backend %zu share %f, weight share %f, bound %f\n",
					trial, i, share, p, bound);
				bad++;
			}
			if (fabs(share - p) / bound > worst)
				worst = fabs(share - p) / bound;
		}
		if (bad)
			break;
	}
	ASSERT_EQ(bad, 0, "tables off the bound");
	ASSERT_GT(scaled, 400, "vectors that needed scaling");
	test__log("worst deviation: %.2f of the bound\n", worst);
}

/*
 * Any prefix of the table is close to the final proportions: seen_i(L) -
 * L*s_i/N falls between increments of seen_i and jumps up at them, so
 * its extremes are just before and just after each slot of backend i.
 */
void test_slots_prefix(void)
{
	uint32_t count[MAX_N], seen[MAX_N], total, g, m, i;
	uint64_t seed = 0x9ef1c5;
	size_t trial, n, L, n_slots, max_slots, bad = 0;
	double q, bound, after, before;
	uint8_t w[MAX_N];

	for (trial = 0; trial < 300 && !bad; trial++) {
		n = 1 + rnd(&seed) % MAX_N;
		random_weights(&seed, w, n, 5);
		weight_facts(w, n, &total, &g, &m);
		max_slots = trial % 3 ? SVCD_MAX_SLOTS_PER_SERVICE :
					m + rnd(&seed) % 500;
		n_slots = slots_build(w, n, out, max_slots, NULL);
		slot_counts(out, n_slots, count, n);
		memset(seen, 0, sizeof(seen));
		for (L = 1; L <= n_slots; L++) {
			i = out[L - 1];
			seen[i]++;
			q = (double)count[i] / n_slots;
			bound = 0.5 + m * q / 2 + 1e-9;
			after = seen[i] - L * q;
			before = seen[i] - 1 - (L - 1) * q;
			if (fabs(after) > bound || fabs(before) > bound) {
				test__log(
					"trial %zu: backend %u at slot %zu of %zu: %f / %f, bound %f\n",
					trial, i, L, n_slots, before, after,
					bound);
				bad++;
				break;
			}
		}
	}
	ASSERT_EQ(bad, 0, "prefixes off the bound");
}

/*
 * One backend added at a random place (backends are sorted by address, so
 * a new one lands anywhere) or removed. Shares: the old and new tables
 * differ by exactly the changed backend's share p (total variation
 * distance), the least any table can. Slot positions: the whole table is
 * re-laid, so most slots change backend; that costs nothing here (a new
 * flow picks a random slot, conntrack keeps established ones, affinity
 * remembers backend ids), and a Maglev-style table of fixed size would
 * move only about p of its slots. Asserted: what this one achieves.
 */
static void disrupt(bool add, double *mean_moved, double *worst_moved,
		    size_t *bad)
{
	uint32_t id[MAX_N + 1], id2[MAX_N + 1], c1[MAX_N + 1], c2[MAX_N + 1];
	uint8_t w[MAX_N + 1], w2[MAX_N + 1];
	uint32_t t1, t2, g, m;
	uint64_t seed = add ? 0xadd : 0xde1;
	size_t trial, i, j, n, n2, at, n1s, n2s, longest, moved;
	double p, tv, f;
	const size_t trials = 300;

	*mean_moved = *worst_moved = 0;
	for (trial = 0; trial < trials; trial++) {
		n = 2 + rnd(&seed) % 31;
		random_weights(&seed, w, n, 0);
		for (i = 0; i < n; i++)
			id[i] = i;
		at = rnd(&seed) % (add ? n + 1 : n);
		for (i = 0, j = 0; i <= n; i++) {
			if (add && i == at) {
				w2[j] = 1 + rnd(&seed) % SVCD_MAX_WEIGHT;
				id2[j++] = n; /* the new one */
			}
			if (i == n || (!add && i == at))
				continue;
			w2[j] = w[i];
			id2[j++] = id[i];
		}
		n2 = j;
		weight_facts(w, n, &t1, &g, &m);
		weight_facts(w2, n2, &t2, &g, &m);
		n1s = slots_build(w, n, out, SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		n2s = slots_build(w2, n2, out2, SVCD_MAX_SLOTS_PER_SERVICE,
				  NULL);
		/* Shares by backend identity. */
		memset(c1, 0, sizeof(c1));
		memset(c2, 0, sizeof(c2));
		for (i = 0; i < n1s; i++)
			c1[id[out[i]]]++;
		for (i = 0; i < n2s; i++)
			c2[id2[out2[i]]]++;
		tv = 0;
		for (i = 0; i <= n; i++)
			tv += fabs((double)c1[i] / n1s - (double)c2[i] / n2s);
		tv /= 2;
		p = add ? (double)w2[at] / t2 : (double)w[at] / t1;
		if (fabs(tv - p) > 1e-9) {
			test__log(
				"trial %zu: shares moved %f, changed share %f\n",
				trial, tv, p);
			(*bad)++;
		}
		longest = n1s > n2s ? n1s : n2s;
		for (i = 0, moved = 0; i < longest; i++)
			moved += i >= n1s || i >= n2s ||
				 id[out[i]] != id2[out2[i]];
		f = (double)moved / longest;
		*mean_moved += f / trials;
		if (f > *worst_moved)
			*worst_moved = f;
	}
}

void test_slots_disruption(void)
{
	double mean, worst;
	size_t bad = 0;

	disrupt(true, &mean, &worst, &bad);
	ASSERT_EQ(bad, 0, "add: shares moved beyond the new one's");
	/* Measured with this seed: 0.90 of the slots on average. */
	ASSERT_LE(mean, 0.95, "add: slots moved (mean fraction)");
	printf("#      one backend added: %.2f of the slots change backend on average, %.2f at worst\n",
	       mean, worst);
	disrupt(false, &mean, &worst, &bad);
	ASSERT_EQ(bad, 0, "remove: shares moved beyond the removed one's");
	ASSERT_LE(mean, 0.95, "remove: slots moved (mean fraction)");
	printf("#      one backend removed: %.2f of the slots change backend on average, %.2f at worst\n",
	       mean, worst);
}

void test_slots_edges(void)
{
	uint8_t w[4] = { 0 };
	uint32_t count[4];
	size_t n;

	if (test__start_subtest("no_backends")) {
		ASSERT_EQ(slots_build(w, 0, out, 100, NULL), 0, "n = 0");
		ASSERT_EQ(slots_build(w, 4, out, 100, NULL), 0, "all zero");
	}
	if (test__start_subtest("max_slots_0")) {
		w[0] = 7;
		ASSERT_EQ(slots_build(w, 1, out, 0, NULL), 0, "no room");
	}
	if (test__start_subtest("max_slots_1")) {
		uint8_t v[] = { 0, 9, 200, 0 };

		n = slots_build(v, 4, out, 1, NULL);
		ASSERT_EQ(n, 1, "one slot");
		ASSERT_EQ(out[0], 1, "the first backend of weight > 0");
	}
	if (test__start_subtest("n_1")) {
		for (w[0] = 1; w[0] < SVCD_MAX_WEIGHT; w[0]++) {
			n = slots_build(w, 1, out, SVCD_MAX_SLOTS_PER_SERVICE,
					NULL);
			if (!ASSERT_EQ(n, 1, "one backend, one slot"))
				break;
		}
	}
	if (test__start_subtest("zero_between")) {
		uint8_t v[] = { 0, 255, 0, 1 };

		n = slots_build(v, 4, out, SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		slot_counts(out, n, count, 4);
		ASSERT_EQ(n, 256, "slots");
		ASSERT_EQ(count[0] + count[2], 0, "zero weights get none");
	}
	if (test__start_subtest("more_backends_than_slots")) {
		uint8_t v[] = { 0, 5, 5, 0, 5, 5 };
		uint32_t c[6];

		n = slots_build(v, 6, out, 3, NULL);
		slot_counts(out, n, c, 6);
		ASSERT_EQ(n, 3, "slots");
		ASSERT_EQ(c[1] + c[2] + c[4], 3, "the first three get one");
		ASSERT_EQ(c[5], 0, "the fourth gets none");
	}
	if (test__start_subtest("caller_scratch")) {
		uint8_t v[] = { 3, 1 };
		static char scratch[1 << 20];

		ASSERT_LE(slots_scratch_size(2, SVCD_MAX_SLOTS_PER_SERVICE),
			  sizeof(scratch), "scratch size");
		n = slots_build(v, 2, out, SVCD_MAX_SLOTS_PER_SERVICE, scratch);
		slot_counts(out, n, count, 2);
		ASSERT_EQ(n, 4, "slots");
		ASSERT_EQ(count[0], 3, "3:1");
	}
}
