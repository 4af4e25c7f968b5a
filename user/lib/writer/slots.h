/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* writer/slots.h - the slot table: backend weights in, interleaved slots out. */
#ifndef SVCD_WRITER_SLOTS_H
#define SVCD_WRITER_SLOTS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of scratch slots_build() needs for n backends and max_slots. */
size_t slots_scratch_size(size_t n, size_t max_slots);

/*
 * Slot table for weights: backends[i] gets weight[i]/g slots (g = gcd of
 * the non-zero weights), scaled down proportionally (each at least 1)
 * when the sum exceeds max_slots; when even one slot each does not fit,
 * the first max_slots backends of non-zero weight get one.
 * Slots of different backends are interleaved so that any prefix of the
 * table is close to the final proportions. Writes up to max_slots backend
 * indexes into out and returns their count (0 when no weight is > 0).
 * scratch holds slots_scratch_size(n, max_slots) bytes, or is NULL to
 * allocate it here (then 0 with errno ENOMEM when that fails).
 */
size_t slots_build(const uint8_t *weights, size_t n, uint32_t *out,
		   size_t max_slots, void *scratch);

#endif
