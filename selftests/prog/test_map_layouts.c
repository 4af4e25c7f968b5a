// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_map_layouts.c - sys/pinned.c's table of pinned map layouts says
 * what the shipped BPF objects declare (type, key and value size, flags),
 * map by map, so svcctl and the loader refuse exactly the foreign pins.
 */
#include <bpf/libbpf.h>

#include "runner.h"
#include "sys/pinned.h"

#include "pod.skel.h"
#include "sock.skel.h"
#include "svcd_abi.h" /* before wire.skel.h: union svcd_ip6 */
#include "wire.skel.h"

static void check_object(const char *what, struct bpf_object *obj)
{
	const struct svcd_map_layout *want;
	char sub[64], have_s[80], want_s[80];
	struct svcd_map_layout have;
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(sub, sizeof(sub), "%s_%s", what, bpf_map__name(map));
		if (!test__start_subtest(sub))
			continue;
		want = svcd_map_layout(bpf_map__name(map));
		if (!ASSERT_OK_PTR(want, "layout in sys/pinned.c"))
			continue;
		have.type = bpf_map__type(map);
		have.key_size = bpf_map__key_size(map);
		have.value_size = bpf_map__value_size(map);
		have.map_flags = bpf_map__map_flags(map);
		svcd_map_layout_str(&have, have_s, sizeof(have_s));
		svcd_map_layout_str(want, want_s, sizeof(want_s));
		ASSERT_STREQ(have_s, want_s, "declared layout");
	}
}

void test_map_layouts(void)
{
	struct pod_bpf *pod = pod_bpf__open();
	struct wire_bpf *wire = wire_bpf__open();
	struct sock_bpf *sock = sock_bpf__open();

	if (ASSERT_OK_PTR(pod, "pod_bpf__open") &&
	    ASSERT_OK_PTR(wire, "wire_bpf__open") &&
	    ASSERT_OK_PTR(sock, "sock_bpf__open")) {
		check_object("pod", pod->obj);
		check_object("wire", wire->obj);
		check_object("sock", sock->obj);
	}
	sock_bpf__destroy(sock);
	wire_bpf__destroy(wire);
	pod_bpf__destroy(pod);
}
