/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * af.h - the per-family names the family templates (svc_af.h, pod_af.h,
 * wire_af.h) are written in. Include it with SVC_AF set to 4 or 6, then a
 * template, then af_end.h:
 *
 *   #define SVC_AF 4
 *   #include "af.h"
 *   #include "svc_af.h"    -> svc_forward4(), svc_reverse4(), ...
 *   #include "af_end.h"
 *
 * Why templates: the decisions (conntrack, backend choice, SNAT ports,
 * affinity, policies) are the same for both families; only the types,
 * the maps and how an address is compared differ. One text, compiled
 * twice, keeps them from drifting apart, and each family's code stays
 * what it was: IPv4 pays nothing for IPv6 (no wider keys, no runtime
 * family switch inside the fast path). docs/datapath.md says more.
 *
 * No include guard: it is meant to be included once per family.
 */
#if !defined(SVC_AF) || (SVC_AF != 4 && SVC_AF != 6)
#error "af.h: define SVC_AF as 4 or 6 first"
#endif

#if SVC_AF == 4
#define AFN(name) name##4
#define flow_t struct flow4
#define addr_t __be32
#define ct_key_t struct svcd_ct_key
#define ct_val_t struct svcd_ct_value
#define CT_MAP svcd_conntrack
#define CT_SYN_MAP svcd_ct_syn
#define backend_t struct svcd_backend
#define BACKENDS_MAP svcd_backends
#define aff_key_t struct svcd_affinity_key
#define AFF_MAP svcd_affinity
#define src_range_key_t struct svcd_src_range_key
#define SRC_RANGES_MAP svcd_src_ranges
#define ADDR_BITS 32
#define ADDR_EQ(a, b) ((a) == (b))
#define ADDR_IS_ZERO(a) ((a) == 0)
#define FE_LOOKUP(addr, port, proto, scope) \
	lb_lookup_frontend_addr((addr), (port), (proto), (scope))
#define SELECT_BACKEND(fe, id) lb_select_backend((fe), (id))
#define ETH_P_AF ETH_P_IP
#else
#define AFN(name) name##6
#define flow_t struct flow6
#define addr_t union svcd_ip6
#define ct_key_t struct svcd_ct6_key
#define ct_val_t struct svcd_ct6_value
#define CT_MAP svcd_conntrack6
#define CT_SYN_MAP svcd_ct6_syn
#define backend_t struct svcd_backend6
#define BACKENDS_MAP svcd_backends6
#define aff_key_t struct svcd_affinity6_key
#define AFF_MAP svcd_affinity6
#define src_range_key_t struct svcd_src_range6_key
#define SRC_RANGES_MAP svcd_src_ranges6
#define ADDR_BITS 128
#define ADDR_EQ(a, b) ip6_eq(&(a), &(b))
#define ADDR_IS_ZERO(a) ip6_is_zero(&(a))
#define FE_LOOKUP(addr, port, proto, scope) \
	lb6_lookup_frontend_addr(&(addr), (port), (proto), (scope))
#define SELECT_BACKEND(fe, id) lb6_select_backend((fe), (id))
#define ETH_P_AF ETH_P_IPV6
#endif
