// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* arena.c - a bump allocator for cJSON trees (arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cjson/cJSON.h>

#include "arena.h"

#define ARENA_CHUNK (8u << 20)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size; /* bytes of data[] */
	max_align_t data[];
};

struct arena {
	struct arena_chunk *chunks; /* the newest first */
	size_t used;
	size_t chunk; /* bytes mapped at a time, header included */
};

static struct arena *current; /* the arena cJSON's hooks allocate from */

static void *arena_alloc(size_t n)
{
	struct arena *a = current;
	struct arena_chunk *c = a->chunks;
	size_t size;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->size - c->used < n) {
		size = n > a->chunk - sizeof(*c) ? n : a->chunk - sizeof(*c);
		p = mmap(NULL, sizeof(*c) + size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		c = p;
		c->next = a->chunks;
		c->used = 0;
		c->size = size;
		a->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	a->used += n;
	return p;
}

static void arena_nofree(void *p)
{
	(void)p; /* all at once, in arena_free() */
}

struct arena *arena_new(void)
{
	return arena_new_chunked(ARENA_CHUNK);
}

struct arena *arena_new_chunked(size_t chunk)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a)
		a->chunk = chunk > sizeof(struct arena_chunk) ?
				   chunk :
				   sizeof(struct arena_chunk) + 1;
	return a;
}

void arena_use(struct arena *a)
{
	cJSON_Hooks hooks = { .malloc_fn = arena_alloc,
			      .free_fn = arena_nofree };

	current = a;
	cJSON_InitHooks(a ? &hooks : NULL);
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c;

	if (!a)
		return;
	if (current == a)
		arena_use(NULL);
	while ((c = a->chunks)) {
		a->chunks = c->next;
		munmap(c, sizeof(*c) + c->size);
	}
	free(a);
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *c;

	if (!a || !a->chunks)
		return;
	while ((c = a->chunks->next)) {
		a->chunks->next = c->next;
		munmap(c, sizeof(*c) + c->size);
	}
	a->chunks->used = 0;
	a->used = 0;
}

size_t arena_used(const struct arena *a)
{
	return a ? a->used : 0;
}
