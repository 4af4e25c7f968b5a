/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svc.h - the service translation decisions shared by every hook, for
 * both families: svc_af.h compiled once per family (see af.h for why a
 * template). Gives svc_reverse4/6(), svc_forward4/6(), struct
 * nat_target4/6 and struct snat_config4/6.
 */
#ifndef SVCD_BPF_SVC_H
#define SVCD_BPF_SVC_H

#include "ct.h"
#include "lb.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

/* Tries of a random port before SNAT gives up on a backend. */
#define SNAT_PORT_TRIES 16
/* A SNAT port of a closed TCP flow is free again after this long. */
#define SNAT_REUSE_CLOSED_NS (2 * SVCD_NS_PER_SEC)

/* ct_remap_port(): what became of a SYN's backend tuple, and its tries
 * of a random port (a range of 28k ports nearly always has the first) */
#define REMAP_PORT_TRIES 2
enum { REMAP_FREE, REMAP_DONE, REMAP_FAILED };

#define SVC_AF 4
#include "af.h"
#include "svc_af.h"
#include "af_end.h"

#define SVC_AF 6
#include "af.h"
#include "svc_af.h"
#include "af_end.h"

#endif
