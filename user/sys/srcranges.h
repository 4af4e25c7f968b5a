/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * srcranges.h - keeps svcd_src_ranges (loadBalancerSourceRanges) equal to
 * the desired state, in two halves around the map writer: additions before
 * it (so a frontend never checks ranges that are not there yet), removals
 * after it (so none is removed while a frontend still relies on it).
 */
#ifndef SVCD_SRCRANGES_H
#define SVCD_SRCRANGES_H

#include "lib/model.h"

/* Returns 0 or the first -errno (logged with the LB IP and prefix). */
int src_ranges_add(int map_fd, const struct model_state *st);
int src_ranges_prune(int map_fd, const struct model_state *st);

#endif
