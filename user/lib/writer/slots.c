// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* writer/slots.c - the slot table from backend weights (see slots.h). */
#include <errno.h>
#include <stdlib.h>

#include "svcd_abi.h"
#include "writer/slots.h"

struct slot_pos {
	uint32_t num; /* the k-th slot of a backend with s slots sits at */
	uint32_t den; /* (2k + 1) / (2s) of the table */
	uint32_t idx; /* backend index */
};

static int slot_pos_cmp(const void *pa, const void *pb)
{
	const struct slot_pos *a = pa, *b = pb;
	uint64_t l = (uint64_t)a->num * b->den, r = (uint64_t)b->num * a->den;

	if (l != r)
		return l < r ? -1 : 1;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return 0;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

size_t slots_scratch_size(size_t n, size_t max_slots)
{
	return n * sizeof(uint32_t) + max_slots * sizeof(struct slot_pos);
}

/* Sum of slots when the table is scaled to budget slots (each >= 1). */
static uint64_t scaled_sum(const uint8_t *weights, size_t n, uint64_t total,
			   uint64_t budget)
{
	uint64_t sum = 0, s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		s = weights[i] * budget / total;
		sum += s ? s : 1;
	}
	return sum;
}

static size_t build(const uint8_t *weights, size_t n, uint32_t *out,
		    size_t max_slots, void *scratch)
{
	uint32_t *count = scratch, g = 0, m = 0, k;
	struct slot_pos *pos = (void *)(count + n);
	uint64_t total = 0, lo, hi, mid, s;
	size_t i, n_slots = 0;

	for (i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		g = gcd(weights[i], g);
		total += weights[i];
		m++;
	}
	if (!m || !max_slots)
		return 0;

	if (m > max_slots) {
		/* Not even one slot each: the first max_slots get one. */
		for (i = 0, k = 0; i < n; i++) {
			count[i] = weights[i] && k < max_slots;
			k += count[i];
		}
	} else if (total / g > max_slots) {
		/* Largest budget whose scaled table (each >= 1) fits. */
		lo = 0;
		hi = max_slots;
		while (lo < hi) {
			mid = (lo + hi + 1) / 2;
			if (scaled_sum(weights, n, total, mid) <= max_slots)
				lo = mid;
			else
				hi = mid - 1;
		}
		g = 0;
		for (i = 0; i < n; i++) {
			s = weights[i] ? weights[i] * lo / total : 0;
			count[i] = weights[i] && !s ? 1 : s;
			if (count[i])
				g = gcd(count[i], g);
		}
		for (i = 0; i < n; i++)
			count[i] /= g;
	} else {
		for (i = 0; i < n; i++)
			count[i] = weights[i] / g;
	}

	/*
	 * Interleave: place the k-th of a backend's s slots at (k + 1/2) / s
	 * of the table and sort by position, so any prefix of the table (and
	 * any window of it) is close to the final proportions.
	 */
	for (i = 0; i < n; i++) {
		for (k = 0; k < count[i]; k++) {
			pos[n_slots].num = 2 * k + 1;
			pos[n_slots].den = 2 * count[i];
			pos[n_slots].idx = i;
			n_slots++;
		}
	}
	if (n_slots)
		qsort(pos, n_slots, sizeof(*pos), slot_pos_cmp);
	for (i = 0; i < n_slots; i++)
		out[i] = pos[i].idx;
	return n_slots;
}

size_t slots_build(const uint8_t *weights, size_t n, uint32_t *out,
		   size_t max_slots, void *scratch)
{
	size_t n_slots, most = n * SVCD_MAX_WEIGHT;
	void *own;

	if (scratch)
		return build(weights, n, out, max_slots, scratch);
	/* No table is longer than the sum of the weights. */
	own = malloc(
		slots_scratch_size(n, max_slots < most ? max_slots : most) + 1);
	if (!own) {
		errno = ENOMEM;
		return 0;
	}
	n_slots = build(weights, n, out, max_slots, own);
	free(own);
	return n_slots;
}
