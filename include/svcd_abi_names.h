/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcd_abi_names.h - printable names of svcd_abi.h's enums, for user code only. */
#ifndef SVCD_ABI_NAMES_H
#define SVCD_ABI_NAMES_H

#include "svcd_abi.h"

/* Names of enum svcd_reason values, as svcctl and the tests print them. */
static const char *const svcd_reason_names[] = {
	[SVCD_R_NONE] = "none",
	[SVCD_R_PASS_NOT_IP] = "pass_not_ip",
	[SVCD_R_PASS_NOT_OURS] = "pass_not_ours",
	[SVCD_R_FORWARD] = "forward",
	[SVCD_R_REVERSE] = "reverse",
	[SVCD_R_REFUSED] = "refused",
	[SVCD_R_PASS_FRAGMENT] = "pass_fragment",
	[SVCD_R_DROP_NO_SLOT] = "drop_no_slot",
	[SVCD_R_DROP_CT_FULL] = "drop_ct_full",
	[SVCD_R_DROP_REWRITE] = "drop_rewrite",
	[SVCD_R_PASS_MALFORMED] = "pass_malformed",
	[SVCD_R_PASS_OTHER_PROTO] = "pass_other_proto",
	[SVCD_R_DROP_NO_LOCAL] = "drop_no_local",
	[SVCD_R_DROP_SNAT_PORTS] = "drop_snat_ports",
	[SVCD_R_DROP_SOURCE_RANGE] = "drop_source_range",
	[SVCD_R_PASS_REFUSE_STACK] = "pass_refuse_stack",
	[SVCD_R_PASS_TO_TC] = "pass_to_tc",
	[SVCD_R_DROP_FIB] = "drop_fib",
	[SVCD_R_TX] = "tx",
	[SVCD_R_SOCK_FORWARD] = "sock_forward",
	[SVCD_R_SOCK_REVERSE] = "sock_reverse",
	[SVCD_R_SOCK_REFUSED] = "sock_refused",
	[SVCD_R_PASS_EXT_HDR] = "pass_ext_hdr",
	[SVCD_R_ICMP_ERROR] = "icmp_error",
	[SVCD_R_PASS_STALE_REPLY] = "pass_stale_reply",
};
_Static_assert(sizeof(svcd_reason_names) / sizeof(svcd_reason_names[0]) ==
		       SVCD_R_MAX,
	       "a name for every svcd_reason");

/* Names of enum svcd_hook values: the program names. */
static const char *const svcd_hook_names[] = {
	[SVCD_HOOK_FROM_POD] = "from_pod",
	[SVCD_HOOK_TO_POD] = "to_pod",
	[SVCD_HOOK_FROM_WIRE] = "from_wire",
	[SVCD_HOOK_FROM_WIRE_TC] = "from_wire_tc",
	[SVCD_HOOK_TO_WIRE] = "to_wire",
	[SVCD_HOOK_SOCK] = "sock",
};
_Static_assert(sizeof(svcd_hook_names) / sizeof(svcd_hook_names[0]) ==
		       SVCD_HOOK_MAX,
	       "a name for every svcd_hook");

#endif
