/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fib.h - sending a translated packet out ourselves. Needed when the new
 * source is a node address (SNAT, NodePort replies): the stack drops such
 * a packet arriving from outside as a martian, so it must not be passed
 * up. The route and the next hop's MAC come from the kernel's FIB.
 */
#ifndef SVCD_BPF_FIB_H
#define SVCD_BPF_FIB_H

#include <linux/if_ether.h>

#include "parse.h"
#include "svc.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline int fib_lookup_target4(void *ctx, __u32 ifindex,
					      const struct flow4 *f,
					      const struct nat_target4 *t,
					      struct bpf_fib_lookup *params)
{
	__builtin_memset(params, 0, sizeof(*params));
	params->family = AF_INET;
	params->l4_protocol = f->proto;
	params->sport = t->sport;
	params->dport = t->dport;
	params->tot_len = f->ip_len;
	params->ipv4_src = t->saddr;
	params->ipv4_dst = t->daddr;
	params->ifindex = ifindex;
	return bpf_fib_lookup(ctx, params, sizeof(*params), 0);
}

static __always_inline int fib_lookup_target6(void *ctx, __u32 ifindex,
					      const struct flow6 *f,
					      const struct nat_target6 *t,
					      struct bpf_fib_lookup *params)
{
	__builtin_memset(params, 0, sizeof(*params));
	params->family = AF_INET6;
	params->l4_protocol = f->proto;
	params->sport = t->sport;
	params->dport = t->dport;
	params->tot_len = f->ip_len;
	__builtin_memcpy(params->ipv6_src, &t->saddr, sizeof(t->saddr));
	__builtin_memcpy(params->ipv6_dst, &t->daddr, sizeof(t->daddr));
	params->ifindex = ifindex;
	return bpf_fib_lookup(ctx, params, sizeof(*params), 0);
}

/* tc: redirect after a lookup toward the translated destination,
 * resolving the next hop's MAC through the neighbour table when the FIB
 * lacks it. */
static __always_inline int tc_fib_redirect(struct __sk_buff *skb, int ret,
					   struct bpf_fib_lookup *p)
{
	if (ret == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(p->ifindex, NULL, 0, 0);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS)
		return -SVCD_R_DROP_FIB;
	if (bpf_skb_store_bytes(skb, 0, p->dmac, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, p->smac, ETH_ALEN, 0))
		return -SVCD_R_DROP_REWRITE;
	return bpf_redirect(p->ifindex, 0);
}

static __always_inline int tc_fib_redirect4(struct __sk_buff *skb,
					    const struct flow4 *f,
					    const struct nat_target4 *t)
{
	struct bpf_fib_lookup params;
	int ret;

	ret = fib_lookup_target4(skb, skb->ifindex, f, t, &params);
	return tc_fib_redirect(skb, ret, &params);
}

static __always_inline int tc_fib_redirect6(struct __sk_buff *skb,
					    const struct flow6 *f,
					    const struct nat_target6 *t)
{
	struct bpf_fib_lookup params;
	int ret;

	ret = fib_lookup_target6(skb, skb->ifindex, f, t, &params);
	return tc_fib_redirect(skb, ret, &params);
}

#endif
