/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loader.h - opens the pod_bpf skeleton over the pinned maps in --pin-dir
 * (reusing them across restarts), attaches from_pod/to_pod to tc hooks of
 * pod interfaces, the uplink programs to uplinks and the socket programs
 * to a cgroup, and removes everything svcd made on `svcd --cleanup`.
 *
 * Programs and maps outlive the agent on purpose: a restarted or upgraded
 * svcd replaces its tc filters in place (same handle and priority,
 * BPF_TC_F_REPLACE) and its pinned cgroup links in place (bpf_link
 * update), and keeps the maps, so established flows never see a gap
 * (docs/design.md invariant 2).
 */
#ifndef SVCD_LOADER_H
#define SVCD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "svcd_abi.h"
#include "sys/probe.h"

/*
 * svcd's tc filters are found by these, on the ingress and egress hooks
 * of clsact; the program names confirm that a filter is ours.
 */
#define SVCD_TC_HANDLE 0x5cd
#define SVCD_TC_PRIORITY 0x5cd
#define SVCD_PROG_FROM_POD "from_pod"	      /* tc ingress, pod interfaces */
#define SVCD_PROG_TO_POD "to_pod"	      /* tc egress, pod interfaces */
#define SVCD_PROG_FROM_WIRE "from_wire"	      /* XDP, uplinks */
#define SVCD_PROG_FROM_WIRE_TC "from_wire_tc" /* tc ingress, uplinks */
#define SVCD_PROG_TO_WIRE "to_wire"	      /* tc egress, uplinks */

/*
 * tcx (6.6): the tc programs attached through bpf_links instead of
 * netlink filters where the kernel has it (FEAT_TCX), each link pinned
 * under --pin-dir as SVCD_TCX_LINK_PREFIX + "IFINDEX_ingress" or
 * "_egress" so it outlives svcd as a filter does. The attach types by
 * number: the system's linux/bpf.h may predate them.
 */
#define SVCD_TCX_LINK_PREFIX "svcd_tcx_"
#define SVCD_TCX_INGRESS 46   /* BPF_TCX_INGRESS */
#define SVCD_TCX_EGRESS 47    /* BPF_TCX_EGRESS */
#define SVCD_LINK_TYPE_TCX 11 /* BPF_LINK_TYPE_TCX */

/*
 * The cgroup socket programs of F8 (sock.bpf.c), attached with bpf_links
 * pinned under --pin-dir as SVCD_SOCK_LINK_PREFIX + program name, so they
 * outlive svcd as tc filters do.
 */
#define SVCD_SOCK_LINK_PREFIX "svcd_link_"
#define SVCD_SOCK_PROGS 8
static const char *const svcd_sock_progs[SVCD_SOCK_PROGS] = {
	"sock_connect4", /* cgroup/connect4 */
	"sock_sendmsg4", /* cgroup/sendmsg4 */
	"sock_recvmsg4", /* cgroup/recvmsg4 */
	"sock_getpeer4", /* cgroup/getpeername4 */
	"sock_connect6", /* cgroup/connect6 */
	"sock_sendmsg6", /* cgroup/sendmsg6 */
	"sock_recvmsg6", /* cgroup/recvmsg6 */
	"sock_getpeer6", /* cgroup/getpeername6 */
};

/* Requested sizes; a pinned map of a smaller size is migrated to it
 * (sys/migrate.h), one of a larger size kept unless it is an LRU map. */
struct loader_config {
	const char *pin_dir;
	uint32_t max_frontends;
	uint32_t max_slots;
	uint32_t max_services; /* svcd_services and svcd_stats */
	uint32_t max_backends;
	uint32_t max_conntrack;
	uint32_t max_affinity; /* svcd_affinity: {service, client} pairs */
	/* The node serves IPv6: the IPv6 maps get the sizes above; false:
	 * 1-entry placeholders (replaced when a later start serves IPv6). */
	bool ipv6;
	/* uplink programs (wire.bpf.c), fixed at load */
	uint32_t snat_addr;	   /* __be32 node address for SNAT; 0: none */
	union svcd_ip6 snat_addr6; /* IPv6 node address for SNAT; ::: none */
	uint16_t snat_port_min, snat_port_max;
	bool xdp_tx_ok; /* false when an uplink is a veth (wire.bpf.c) */
	/* --uplinks given: the uplink programs are loaded (else not at all,
	 * so a kernel that cannot run them costs nothing without uplinks) */
	bool uplinks;
	/* socket programs (sock.bpf.c); svcd_sock_rev has max_conntrack
	 * entries, one per translated socket as conntrack has per flow, and
	 * svcd_sock_rev6 too when ipv6 (else a 1-entry placeholder) */
	const char *cgroup_path; /* cgroup v2 directory; NULL or "": none */
	/* pods' sockets too (--socket-lb all), not only the node's */
	bool sock_pods;
	/* what the kernel has (sys/probe.h); the variants follow it */
	const struct probes *probes;
};

/* How the XDP program ended up attached to an uplink. */
enum loader_xdp_mode {
	LOADER_XDP_NATIVE,
	LOADER_XDP_GENERIC,
	LOADER_XDP_NONE, /* tc only: from_wire_tc does all the work */
};

/* Sizes in effect after load (pinned ones win). */
struct loader_sizes {
	uint32_t frontends, slots, services, backends, conntrack;
	/* the IPv6 maps: 1 when they are placeholders (no IPv6) */
	uint32_t frontends6, backends6, conntrack6;
};

struct loader; /* opaque: the loaded skeleton */

/* Route libbpf's messages through log.h (its debug output at -v 4+). */
void loader_set_libbpf_log(void);

/*
 * Make sure pin_dir exists (created like mkdir -p) and is on bpffs.
 * Returns 0, or -errno after logging one line that says what to do.
 */
int loader_prepare_pin_dir(const char *pin_dir);

/*
 * Open and load the skeleton, reusing pinned maps under cfg->pin_dir and
 * pinning the ones that are missing. Returns 0 and *out, or -errno.
 */
int loader_open(const struct loader_config *cfg, struct loader **out);
/* Frees the skeleton; attached programs and pinned maps stay. */
void loader_close(struct loader *l);
void loader_get_sizes(const struct loader *l, struct loader_sizes *sizes);
/* Just before the hooks get the new programs: the maps given a new size
 * take what the old programs added since load (sys/migrate.h). */
void loader_migrate_catch_up(struct loader *l);
/* After every hook has the new programs: the maps given a new size at
 * this start stop being migrated (sys/migrate.h: pass 2, old pins gone). */
void loader_migrate_finish(struct loader *l);

/*
 * Attach from_pod to tc ingress and to_pod to tc egress of ifindex,
 * replacing svcd's previous programs there in place. 0 or -errno.
 */
int loader_attach(struct loader *l, int ifindex, const char *ifname);

/*
 * Attach from_wire to XDP (native, else generic: *mode says which),
 * from_wire_tc to tc ingress and to_wire to tc egress of an uplink,
 * replacing svcd's previous programs in place. 0 or -errno.
 */
int loader_attach_uplink(struct loader *l, int ifindex, const char *ifname,
			 enum loader_xdp_mode *mode);

/*
 * Remove svcd's programs from ifindex: its tc filters (our handle,
 * priority and program names), its tcx links pinned under pin_dir, its
 * XDP program; other programs are never touched. Returns the number of
 * programs removed (0..3) or -errno.
 */
int loader_detach(const char *pin_dir, int ifindex, const char *ifname);

/* ifindex is gone: unpin svcd's tcx links on it (the kernel detached
 * them already). */
void loader_forget_link(const char *pin_dir, int ifindex);

/* Whether the tc programs go through tcx links (else netlink filters). */
bool loader_uses_tcx(const struct loader *l);

/* With --uplinks and XDP loaded: from_wire marks what it hands over to
 * from_wire_tc in the XDP metadata (else from_wire_tc looks at every
 * packet: the kernel's XDP cannot call bpf_xdp_adjust_meta). */
bool loader_xdp_meta(const struct loader *l);

/* The name of program id into name ("" when it cannot be read): 0, or
 * -1 when it cannot. */
static inline int loader_prog_name(uint32_t id, char name[16])
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -1;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -1;
	snprintf(name, 16, "%s", info.name);
	return 0;
}

/*
 * Look up the filter with svcd's handle and priority on one hook
 * (BPF_TC_INGRESS or BPF_TC_EGRESS) of ifindex. Returns 1 and fills
 * prog_id and name (the program's name, "" if it cannot be read) when
 * there is one, 0 when there is none (or no clsact qdisc), or -errno.
 * Inline so that svcctl, which does not link the loader, shares it.
 */
static inline int loader_tc_query(int ifindex, enum bpf_tc_attach_point point,
				  uint32_t *prog_id, char name[16])
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVCD_TC_HANDLE,
			    .priority = SVCD_TC_PRIORITY);
	int err;

	name[0] = '\0';
	err = bpf_tc_query(&hook, &opts);
	/* ENOENT: no such filter; EINVAL: no clsact qdisc on the link */
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	if (err)
		return err;
	*prog_id = opts.prog_id;
	loader_prog_name(opts.prog_id, name);
	return 1;
}

/*
 * The XDP program attached to ifindex (any mode): 1 and its id, mode
 * (XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE or 0) and name ("" if it cannot
 * be read), 0 when none, or -errno. Inline for svcctl.
 */
static inline int loader_xdp_query(int ifindex, uint32_t *prog_id,
				   __u32 *mode_flags, char name[16])
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	name[0] = '\0';
	*prog_id = 0;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	if (q.attach_mode == XDP_ATTACHED_DRV) {
		*prog_id = q.drv_prog_id;
		*mode_flags = XDP_FLAGS_DRV_MODE;
	} else if (q.attach_mode == XDP_ATTACHED_SKB) {
		*prog_id = q.skb_prog_id;
		*mode_flags = XDP_FLAGS_SKB_MODE;
	} else {
		*prog_id = q.prog_id;
		*mode_flags = 0;
	}
	loader_prog_name(*prog_id, name);
	return 1;
}

/* Whether s is the name of one of svcd's tc programs. */
static inline bool loader_is_tc_prog(const char *s)
{
	return !strcmp(s, SVCD_PROG_FROM_POD) || !strcmp(s, SVCD_PROG_TO_POD) ||
	       !strcmp(s, SVCD_PROG_FROM_WIRE_TC) ||
	       !strcmp(s, SVCD_PROG_TO_WIRE);
}

/*
 * Look up svcd's program among the tcx programs of one hook
 * (BPF_TC_INGRESS or BPF_TC_EGRESS) of ifindex (this network namespace's):
 * 1 and prog_id and name when one of them has a name of svcd's tc
 * programs, 0 when none (or the kernel has no tcx), or -errno. Inline
 * for svcctl.
 */
static inline int loader_tcx_query(int ifindex, enum bpf_tc_attach_point point,
				   uint32_t *prog_id, char name[16])
{
	__u32 ids[64], cnt = 64, i;
	int err;

	name[0] = '\0';
	err = bpf_prog_query(ifindex,
			     (enum bpf_attach_type)(point == BPF_TC_INGRESS ?
							    SVCD_TCX_INGRESS :
							    SVCD_TCX_EGRESS),
			     0, NULL, ids, &cnt);
	if (err)
		return errno == EINVAL || errno == ENOENT || errno == ENODEV ?
			       0 :
			       -errno;
	for (i = 0; i < cnt && i < 64; i++) {
		if (!loader_prog_name(ids[i], name) &&
		    loader_is_tc_prog(name)) {
			*prog_id = ids[i];
			return 1;
		}
	}
	name[0] = '\0';
	return 0;
}

/*
 * F8: load sock.bpf.c and attach its programs to cfg->cgroup_path, with
 * links pinned under the pin dir. Links an earlier svcd pinned for the
 * same cgroup get the new programs in place (bpf_link update: no moment
 * without translation); links to another cgroup are replaced. All or
 * nothing: on failure no svcd socket link is left. Returns 0 or -errno
 * after logging one line; svcd goes on without F8 then.
 */
int loader_attach_sock(struct loader *l);

/*
 * Detach and unpin the socket links pinned under pin_dir (svcd --cleanup,
 * or an svcd started with an empty --cgroup-path). Returns how many were
 * removed, or the first -errno (after going on with the rest).
 */
int loader_detach_sock(const char *pin_dir);

/* What a pinned socket link is attached to (svcctl status). */
struct loader_sock_link {
	uint32_t link_id;
	uint32_t prog_id;
	uint64_t cgroup_id;
	uint32_t attach_type; /* enum bpf_attach_type */
	char prog_name[16];   /* "" if it cannot be read */
};

/*
 * Read the link pinned as SVCD_SOCK_LINK_PREFIX + prog under pin_dir.
 * Returns 1 and fills *out, 0 when there is none, or -errno. Inline so
 * that svcctl, which does not link the loader, shares it.
 */
static inline int loader_sock_link_query(const char *pin_dir, const char *prog,
					 struct loader_sock_link *out)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd, err;

	out->prog_name[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s%s", pin_dir, SVCD_SOCK_LINK_PREFIX,
		 prog);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	out->link_id = info.id;
	out->prog_id = info.prog_id;
	out->cgroup_id = info.cgroup.cgroup_id;
	out->attach_type = info.cgroup.attach_type;
	loader_prog_name(info.prog_id, out->prog_name);
	return 1;
}

struct loader_cleanup_stats {
	unsigned int links;	 /* links looked at */
	unsigned int filters;	 /* tc filters removed */
	unsigned int sock_links; /* cgroup socket links removed */
	unsigned int maps;	 /* pinned maps unlinked */
	bool dir_removed;	 /* pin dir removed (it was empty) */
};

/*
 * `svcd --cleanup`: remove svcd's tc filters from every link of the
 * current network namespace, detach and unpin its cgroup socket links,
 * unlink svcd's pinned maps under pin_dir and remove the directory if it
 * is empty. Returns 0 or the first -errno (after going on with the rest).
 */
int loader_cleanup(const char *pin_dir, struct loader_cleanup_stats *stats);

#endif
