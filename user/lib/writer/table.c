// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* writer/table.c - the writer's generic containers (see table.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "writer/table.h"

int array_reserve(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : first;
	p = realloc(*v, new_cap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = new_cap;
	return 0;
}

/* ---- hash table --------------------------------------------------------- */

static int ht_resize(struct htab *t, uint32_t buckets)
{
	struct hent *old = t->e;
	uint32_t old_buckets = old ? t->mask + 1 : 0;
	uint32_t i, j;

	t->e = calloc(buckets, sizeof(*t->e));
	if (!t->e) {
		t->e = old;
		return -ENOMEM;
	}
	t->mask = buckets - 1;
	for (i = 0; i < old_buckets; i++) {
		if (!old[i].val)
			continue;
		for (j = old[i].hash & t->mask; t->e[j].val;
		     j = (j + 1) & t->mask)
			;
		t->e[j] = old[i];
	}
	free(old);
	return 0;
}

void ht_fini(struct htab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* Room for want more entries at a load of at most one half. */
int ht_reserve(struct htab *t, uint32_t want)
{
	uint32_t buckets = t->e ? t->mask + 1 : 0;
	uint64_t need = ((uint64_t)t->n + want) * 2;

	if (buckets >= need && buckets)
		return 0;
	if (!buckets)
		buckets = 16;
	while (buckets < need) {
		if (buckets >= 1u << 31)
			return -ENOMEM;
		buckets *= 2;
	}
	return ht_resize(t, buckets);
}

uint32_t ht_find(const struct htab *t, uint32_t hash, ht_eq_fn eq,
		 const void *ctx, const void *key)
{
	uint32_t i;

	if (!t->e)
		return 0;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask) {
		if (t->e[i].hash == hash && eq(ctx, t->e[i].val, key))
			return t->e[i].val;
	}
	return 0;
}

/* The caller made sure the value is not in the table yet. */
int ht_insert(struct htab *t, uint32_t hash, uint32_t val)
{
	uint32_t i;
	int err;

	err = ht_reserve(t, 1);
	if (err)
		return err;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask)
		;
	t->e[i].hash = hash;
	t->e[i].val = val;
	t->n++;
	return 0;
}

static struct hent *ht_slot_of(const struct htab *t, uint32_t hash,
			       uint32_t val)
{
	uint32_t i;

	if (!t->e)
		return NULL;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask) {
		if (t->e[i].val == val)
			return &t->e[i];
	}
	return NULL;
}

void ht_remove(struct htab *t, uint32_t hash, uint32_t val)
{
	struct hent *h = ht_slot_of(t, hash, val);
	uint32_t i, j, home;

	if (!h)
		return;
	i = h - t->e;
	t->e[i].val = 0;
	t->n--;
	/* Pull back every later entry of the run that may sit at i. */
	for (j = (i + 1) & t->mask; t->e[j].val; j = (j + 1) & t->mask) {
		home = t->e[j].hash & t->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			t->e[i] = t->e[j];
			t->e[j].val = 0;
			i = j;
		}
	}
}

void ht_replace(struct htab *t, uint32_t hash, uint32_t old_val,
		uint32_t new_val)
{
	struct hent *h = ht_slot_of(t, hash, old_val);

	if (h)
		h->val = new_val;
}

/* ---- u64set ------------------------------------------------------------ */

static bool u64_eq(const void *ctx, uint32_t val, const void *key)
{
	const struct u64set *s = ctx;

	return s->v[val - 1] == *(const uint64_t *)key;
}

bool u64set_has(const struct u64set *s, uint64_t key)
{
	return ht_find(&s->t, mix64(key), u64_eq, s, &key) != 0;
}

int u64set_add(struct u64set *s, uint64_t key)
{
	int err;

	if (u64set_has(s, key))
		return 0;
	err = array_reserve((void **)&s->v, &s->cap, s->n, sizeof(*s->v), 64);
	if (err)
		return err;
	err = ht_insert(&s->t, mix64(key), s->n + 1);
	if (err)
		return err;
	s->v[s->n++] = key;
	return 0;
}

/* Moves the last key into the hole: callers walking v go backwards. */
void u64set_remove(struct u64set *s, uint64_t key)
{
	uint32_t hash = mix64(key), idx1;
	uint64_t last;

	idx1 = ht_find(&s->t, hash, u64_eq, s, &key);
	if (!idx1)
		return;
	ht_remove(&s->t, hash, idx1);
	last = s->v[s->n - 1];
	if (idx1 != s->n) {
		s->v[idx1 - 1] = last;
		ht_replace(&s->t, mix64(last), s->n, idx1);
	}
	s->n--;
}

void u64set_fini(struct u64set *s)
{
	ht_fini(&s->t);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- id allocator ------------------------------------------------------ */

int ida_init(struct idalloc *a, uint32_t max)
{
	a->bits = calloc((max + 63) / 64, sizeof(*a->bits));
	if (!a->bits)
		return -ENOMEM;
	a->max = max;
	a->bits[0] = 1; /* id 0 is reserved */
	a->hint = 1;
	return 0;
}

void ida_fini(struct idalloc *a)
{
	free(a->bits);
	free(a->quarantine);
}

void ida_set(struct idalloc *a, uint32_t id)
{
	a->bits[id / 64] |= 1ULL << (id % 64);
}

uint32_t ida_alloc(struct idalloc *a)
{
	uint32_t word, id;
	uint64_t free_bits;

	for (word = a->hint / 64; word < (a->max + 63) / 64; word++) {
		free_bits = ~a->bits[word];
		if (!free_bits)
			continue;
		id = word * 64 + __builtin_ctzll(free_bits);
		if (id >= a->max)
			break;
		ida_set(a, id);
		a->hint = id + 1;
		return id;
	}
	a->hint = a->max;
	return 0;
}

/* Free id at the start of the next sync. */
int ida_free_later(struct idalloc *a, uint32_t id)
{
	/* On failure the id leaks until restart. */
	if (array_reserve((void **)&a->quarantine, &a->cap_quarantine,
			  a->n_quarantine, sizeof(*a->quarantine), 64))
		return -ENOMEM;
	a->quarantine[a->n_quarantine++] = id;
	return 0;
}

void ida_release(struct idalloc *a)
{
	size_t i;
	uint32_t id;

	for (i = 0; i < a->n_quarantine; i++) {
		id = a->quarantine[i];
		a->bits[id / 64] &= ~(1ULL << (id % 64));
		if (id < a->hint)
			a->hint = id;
	}
	a->n_quarantine = 0;
}
