/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* af_end.h - forget af.h's per-family names (and SVC_AF). No guard. */
#undef AFN
#undef flow_t
#undef addr_t
#undef ct_key_t
#undef ct_val_t
#undef CT_MAP
#undef CT_SYN_MAP
#undef backend_t
#undef BACKENDS_MAP
#undef aff_key_t
#undef AFF_MAP
#undef src_range_key_t
#undef SRC_RANGES_MAP
#undef ADDR_BITS
#undef ADDR_EQ
#undef ADDR_IS_ZERO
#undef FE_LOOKUP
#undef SELECT_BACKEND
#undef ETH_P_AF
#undef SVC_AF
