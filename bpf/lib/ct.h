/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ct.h - conntrack: per-flow backend choice and reverse-NAT state. */
#ifndef SVCD_BPF_CT_H
#define SVCD_BPF_CT_H

#include "maps.h"
#include "parse.h"

static __always_inline void ct_key_of(const struct flow4 *f, __u8 dir,
				      struct svcd_ct_key *key)
{
	key->saddr = f->saddr;
	key->daddr = f->daddr;
	key->sport = f->sport;
	key->dport = f->dport;
	key->proto = f->proto;
	key->dir = dir;
	key->pad = 0;
}

static __always_inline __u64 ct_lifetime(const struct svcd_ct_value *ct)
{
	switch (ct->tcp_state) {
	case SVCD_TCP_NONE:
		return SVCD_CT_LIFETIME_UDP;
	case SVCD_TCP_SYN_SENT:
		return SVCD_CT_LIFETIME_SYN;
	case SVCD_TCP_CLOSING:
		return SVCD_CT_LIFETIME_CLOSING;
	default:
		return SVCD_CT_LIFETIME_TCP;
	}
}

/* A forward entry is live when used recently enough for its state; a new
 * SYN on a closing TCP flow starts a new flow (port reuse). */
static __always_inline bool ct_is_live(const struct svcd_ct_value *ct,
				       const struct flow4 *f, __u64 now)
{
	if (now - ct->last_seen_ns > ct_lifetime(ct))
		return false;
	if (ct->tcp_state == SVCD_TCP_CLOSING &&
	    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return false;
	return true;
}

/* Moves the TCP state on by what this packet shows and refreshes the
 * timestamp at most once per SVCD_CT_REFRESH_NS (fewer cache-line writes). */
static __always_inline void
ct_touch(struct svcd_ct_value *ct, const struct flow4 *f, bool reply, __u64 now)
{
	if (f->proto == IPPROTO_TCP) {
		if (f->tcp_flags & (TCP_FIN | TCP_RST)) {
			if (ct->tcp_state != SVCD_TCP_CLOSING)
				ct->tcp_state = SVCD_TCP_CLOSING;
		} else if (reply && ct->tcp_state == SVCD_TCP_SYN_SENT) {
			ct->tcp_state = SVCD_TCP_ESTABLISHED;
		}
	}
	if (reply && !(ct->flags & SVCD_CT_SEEN_REPLY))
		ct->flags |= SVCD_CT_SEEN_REPLY;
	if (now - ct->last_seen_ns > SVCD_CT_REFRESH_NS)
		ct->last_seen_ns = now;
}

#endif
