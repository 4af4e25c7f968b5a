/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * arena.h - a bump allocator for cJSON trees that live only as long as
 * one build. cJSON allocates every node and string separately; for a
 * 10,000-Service cluster that is millions of small blocks, and freeing
 * them costs more than making them (glibc then consolidates its free
 * lists at the next large allocation). While an arena is in use, cJSON
 * takes its memory from large chunks (populated at once: one fault per
 * chunk, not per page) and cJSON_Delete() frees nothing; arena_free()
 * unmaps it all.
 *
 * The cJSON hooks are global: svcd is single-threaded, and a tree made
 * while an arena is in use must be neither kept past arena_free() nor
 * deleted after arena_use(NULL) (cJSON would free() arena memory).
 */
#ifndef SVCD_ARENA_H
#define SVCD_ARENA_H

#include <stddef.h>

struct arena;

/* An empty arena (nothing mapped until used); NULL when out of memory. */
struct arena *arena_new(void);
/* The same, mapping chunk bytes at a time (arena_new: 8 MiB), or what
 * one allocation needs when that is more: a small chunk for an arena
 * that only ever holds one small tree at a time. */
struct arena *arena_new_chunked(size_t chunk);
/* cJSON allocates from a from now on; NULL: from malloc() again. */
void arena_use(struct arena *a);
/* Forget everything a holds, keeping its newest chunk for what comes
 * next (a tree made in a is gone: a page after a page). */
void arena_reset(struct arena *a);
/* Unmaps everything a holds (after arena_use(NULL) if it was in use). */
void arena_free(struct arena *a);
/* Bytes handed out so far (for tests and logs). */
size_t arena_used(const struct arena *a);

#endif
