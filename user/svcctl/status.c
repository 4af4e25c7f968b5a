// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* status.c - `svcctl status`: pin dir, socket LB mode, map fill levels,
 * attached programs. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "svcctl/view.h"
#include "sys/loader.h"

static const char *const status_maps[] = {
	SVCD_MAP_FRONTENDS,    SVCD_MAP_SLOTS,	    SVCD_MAP_BACKENDS,
	SVCD_MAP_SERVICES,     SVCD_MAP_CONNTRACK,  SVCD_MAP_STATS,
	SVCD_MAP_REASONS,      SVCD_MAP_AFFINITY,   SVCD_MAP_AFFINITY_MATCH,
	SVCD_MAP_SOCK_REV,     SVCD_MAP_FRONTENDS6, SVCD_MAP_BACKENDS6,
	SVCD_MAP_CONNTRACK6,   SVCD_MAP_AFFINITY6,  SVCD_MAP_SRC_RANGES6,
	SVCD_MAP_SOCK_REV6,    SVCD_MAP_SOCK_FWD,   SVCD_MAP_SOCK_FWD6,
	SVCD_MAP_HOOK_REASONS, SVCD_MAP_CT_SYN,	    SVCD_MAP_CT6_SYN,
	SVCD_MAP_CONTROL,
};

/* Maps a pin dir may lack: the socket maps are pinned only once the
 * socket programs were loaded (F8), and a pin dir of a build before IPv6
 * has no IPv6 map, one before embryonic conntrack no svcd_ct_syn. Such a
 * map is left out of the list. */
static bool may_be_missing(const char *name)
{
	return !strcmp(name, SVCD_MAP_SOCK_REV) ||
	       !strcmp(name, SVCD_MAP_SOCK_REV6) ||
	       !strcmp(name, SVCD_MAP_SOCK_FWD) ||
	       !strcmp(name, SVCD_MAP_SOCK_FWD6) ||
	       !strcmp(name, SVCD_MAP_FRONTENDS6) ||
	       !strcmp(name, SVCD_MAP_BACKENDS6) ||
	       !strcmp(name, SVCD_MAP_CONNTRACK6) ||
	       !strcmp(name, SVCD_MAP_AFFINITY6) ||
	       !strcmp(name, SVCD_MAP_SRC_RANGES6) ||
	       !strcmp(name, SVCD_MAP_HOOK_REASONS) ||
	       !strcmp(name, SVCD_MAP_CT_SYN) ||
	       !strcmp(name, SVCD_MAP_CT6_SYN) ||
	       !strcmp(name, SVCD_MAP_CONTROL);
}

static int count_one(const void *key, const void *value, void *arg)
{
	(void)key;
	(void)value;
	(*(long *)arg)++;
	return 0;
}

/* Entries of a hash map (arrays are always full: -1); keys only, and
 * those counted before a failing step when one fails. */
static long count_entries(const struct pinned *m)
{
	long n = 0;

	if (m->info.type == BPF_MAP_TYPE_ARRAY ||
	    m->info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return -1;
	svcd_pinned_walk(m->fd, m->info.name, m->info.key_size, 0,
			 m->info.max_entries, count_one, &n);
	return n;
}

/* The socket hook a cgroup link is attached at, for people. */
static const char *sock_hook_name(uint32_t attach_type)
{
	switch (attach_type) {
	case BPF_CGROUP_INET4_CONNECT:
		return "cgroup connect4";
	case BPF_CGROUP_UDP4_SENDMSG:
		return "cgroup sendmsg4";
	case BPF_CGROUP_UDP4_RECVMSG:
		return "cgroup recvmsg4";
	case BPF_CGROUP_INET4_GETPEERNAME:
		return "cgroup getpeername4";
	case BPF_CGROUP_INET6_CONNECT:
		return "cgroup connect6";
	case BPF_CGROUP_UDP6_SENDMSG:
		return "cgroup sendmsg6";
	case BPF_CGROUP_UDP6_RECVMSG:
		return "cgroup recvmsg6";
	case BPF_CGROUP_INET6_GETPEERNAME:
		return "cgroup getpeername6";
	default:
		return "cgroup ?";
	}
}

/*
 * The path of the cgroup with this id, under the first cgroup2 mount that
 * can open it (its id is its kernfs file handle); "" when none can.
 */
static void cgroup_path_of(uint64_t id, char *out, size_t size)
{
	char line[4096], mnt[4096], fstype[64], proc[64];
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	int mount_id, mfd, fd;
	ssize_t n;
	FILE *f;

	out[0] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (!out[0] && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE ... */
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* the kernfs handle type, taken from the mount's own root */
		h.fh.handle_bytes = sizeof(uint64_t);
		if (name_to_handle_at(AT_FDCWD, mnt, &h.fh, &mount_id, 0))
			continue;
		memcpy(h.fh.f_handle, &id, sizeof(id));
		mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
		close(mfd);
		if (fd < 0)
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, out, size - 1);
		out[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	fclose(f);
}

/* One variable of a loaded program's .rodata, looked up by name. */
struct rodata_var {
	const char *name;
	bool have;
	uint64_t value; /* little-endian integer of 1, 2, 4 or 8 bytes */
};

/* The value of each variable of interest in the .rodata map mfd (info in
 * *m), through the map's BTF: its value type is the DATASEC that gives
 * every variable's offset. 0 or -errno. */
static int rodata_read(int mfd, const struct bpf_map_info *m,
		       struct rodata_var *vars, size_t n)
{
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec, *var;
	unsigned char *value = NULL;
	struct btf *btf;
	const char *name;
	__u32 zero = 0;
	int i, err = 0;
	size_t k;

	btf = btf__load_from_kernel_by_id(m->btf_id);
	if (!btf)
		return -errno;
	sec = btf__type_by_id(btf, m->btf_value_type_id);
	value = calloc(1, m->value_size);
	if (!sec || !btf_is_datasec(sec) || !value) {
		err = value ? -ENOENT : -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(mfd, &zero, value)) {
		err = -errno;
		goto out;
	}
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		var = btf__type_by_id(btf, vs->type);
		name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
		if (!name || vs->offset + vs->size > m->value_size)
			continue;
		for (k = 0; k < n; k++) {
			if (strcmp(name, vars[k].name) ||
			    (vs->size != 1 && vs->size != 2 && vs->size != 4 &&
			     vs->size != 8))
				continue;
			vars[k].have = true;
			vars[k].value = 0;
			memcpy(&vars[k].value, value + vs->offset, vs->size);
		}
	}
out:
	free(value);
	btf__free(btf);
	return err;
}

/*
 * The .rodata variables vars[0..n) program prog_id was loaded with, from
 * its ".rodata" map (libbpf names it "<object>.rodata"): how the loader
 * chose its variant. A variable the program does not have stays !have.
 */
static void prog_rodata(uint32_t prog_id, struct rodata_var *vars, size_t n)
{
	struct bpf_prog_info pinfo = {};
	struct bpf_map_info minfo;
	__u32 map_ids[16], len, i, nmaps;
	size_t nlen;
	int pfd, mfd;

	pfd = bpf_prog_get_fd_by_id(prog_id);
	if (pfd < 0)
		return;
	pinfo.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	pinfo.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(pinfo);
	if (bpf_obj_get_info_by_fd(pfd, &pinfo, &len))
		pinfo.nr_map_ids = 0;
	close(pfd);
	nmaps = pinfo.nr_map_ids < sizeof(map_ids) / sizeof(map_ids[0]) ?
			pinfo.nr_map_ids :
			sizeof(map_ids) / sizeof(map_ids[0]);
	for (i = 0; i < nmaps; i++) {
		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		memset(&minfo, 0, sizeof(minfo));
		len = sizeof(minfo);
		nlen = 0;
		if (!bpf_obj_get_info_by_fd(mfd, &minfo, &len))
			nlen = strnlen(minfo.name, sizeof(minfo.name));
		if (nlen >= 7 && !strcmp(minfo.name + nlen - 7, ".rodata") &&
		    minfo.btf_id && minfo.btf_value_type_id)
			rodata_read(mfd, &minfo, vars, n);
		close(mfd);
	}
}

/*
 * The --socket-lb mode program prog_id was loaded with, from what is
 * loaded, not from flags. "all" when it translates pods' sockets
 * (translate_pods), or every socket of the cgroup because it cannot tell
 * the node's namespace from pods' (node_netns_cookie 0: no
 * SO_NETNS_COOKIE); "host" otherwise; "?" when it cannot be read.
 */
static const char *sock_lb_mode(uint32_t prog_id)
{
	struct rodata_var v[] = { { .name = "translate_pods" },
				  { .name = "node_netns_cookie" } };

	prog_rodata(prog_id, v, 2);
	if (!v[0].have)
		return "?";
	return v[0].value || (v[1].have && !v[1].value) ? "all" : "host";
}

/*
 * The variant of a tc or XDP program of svcd, from its .rodata: the
 * uplink's tc program alone ("tc_only") or behind XDP (xdp, the XDP
 * program's own mode; "xdp_missing" when it was loaded to work behind XDP
 * and no XDP program of svcd is on the device), the pod programs "tc";
 * *clock "coarse" or "exact"
 * (coarse_clock), "?" when it cannot be read.
 */
static const char *tc_variant(uint32_t prog_id, const char *prog,
			      const char *xdp_mode, const char **clock)
{
	/* every pod interface runs the same program: read its .rodata
	 * (a BTF load) once per program, not once per row */
	static struct rodata_var v[] = { { .name = "coarse_clock" },
					 { .name = "tc_only" } };
	static uint32_t last_id;

	if (prog_id != last_id) {
		v[0].have = v[1].have = false;
		prog_rodata(prog_id, v, 2);
		last_id = prog_id;
	}
	*clock = !v[0].have ? "?" : v[0].value ? "coarse" : "exact";
	if (strcmp(prog, SVCD_PROG_FROM_WIRE_TC))
		return strcmp(prog, SVCD_PROG_FROM_WIRE) ? "tc" : xdp_mode;
	if (v[1].have && v[1].value)
		return "tc_only";
	return xdp_mode[0] ? xdp_mode : "xdp_missing";
}

/* What `svcctl status` builds: two tables, or one JSON document. */
struct status {
	struct table maps, links;
	cJSON *doc, *maps_arr, *links_arr; /* JSON mode: "maps", "attached" */
	cJSON *uplinks_obj;    /* JSON mode: "variants": {"uplinks": {...}} */
	const char *socket_lb; /* "all", "host", "off" (no socket link), "?" */
	/* per hook, from what is attached (NULL: no such link) */
	const char *pod_variant, *uplink_variant, *clock;
	const char *tc_attach; /* "tcx", "netlink", "mixed" */
	int n_pods, n_uplinks;
	/* svcd_shortfall as the agent's last sync left it */
	bool have_sf;
	__u32 sf[SVCD_SF_COUNT];
	bool draining; /* svcd_control: SVCD_CTL_DRAIN set */
};

/* svcd_control's drain switch (false when not pinned: an older build). */
static bool status_draining(const struct ctx *c)
{
	struct svcd_control ctl = {};
	char why[SVCD_PIN_WHY_LEN];
	__u32 key = 0;
	bool on;
	int fd;

	fd = svcd_pinned_open(c->pin_dir, SVCD_MAP_CONTROL, NULL, why,
			      sizeof(why));
	if (fd < 0)
		return false;
	on = !bpf_map_lookup_elem(fd, &key, &ctl) &&
	     (ctl.flags & SVCD_CTL_DRAIN);
	close(fd);
	return on;
}

/* The svcd_shortfall index of map name, or -1. */
static int sf_index(const char *name)
{
	int i;

	for (i = 0; i < SVCD_SF_COUNT; i++)
		if (!strcmp(svcd_shortfall_name(i), name))
			return i;
	return -1;
}

/* The fill level of the map pinned as NAME: a row of the maps table or an
 * object of "maps"; 0 or an exit status (reported). */
static int status_map(const struct ctx *c, struct status *st, const char *name)
{
	char entries[24], max[24], id[24];
	struct pinned m = { .fd = -1 };
	cJSON *obj;
	long n;
	int err;

	err = open_map(c, name, &m);
	if (err)
		return err;
	n = count_entries(&m);
	if (c->json) {
		obj = json_append_object(st->maps_arr);
		if (!obj)
			goto nomem;
		cJSON_AddStringToObject(obj, "name", name);
		cJSON_AddNumberToObject(obj, "id", m.info.id);
		if (n >= 0)
			cJSON_AddNumberToObject(obj, "entries", n);
		cJSON_AddNumberToObject(obj, "max_entries", m.info.max_entries);
		/* Service ports the last sync could not fit: absent when no
		 * agent wrote svcd_shortfall (an older build) */
		if (st->have_sf && sf_index(name) >= 0)
			cJSON_AddNumberToObject(obj, "shortfall",
						st->sf[sf_index(name)]);
		goto out;
	}
	if (n >= 0)
		snprintf(entries, sizeof(entries), "%ld", n);
	else
		snprintf(entries, sizeof(entries), "(array)");
	snprintf(max, sizeof(max), "%u", m.info.max_entries);
	snprintf(id, sizeof(id), "%u", m.info.id);
	if (table_row(&st->maps, name, entries, max, id))
		goto nomem;
	goto out;
nomem:
	err = fail(c, EXIT_RUNTIME, "out of memory");
out:
	close_map(&m);
	return err;
}

static int status_maps_add(const struct ctx *c, struct status *st)
{
	char path[4096];
	size_t i;
	int err;

	for (i = 0; i < sizeof(status_maps) / sizeof(status_maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir,
			 status_maps[i]);
		if (may_be_missing(status_maps[i]) && access(path, F_OK))
			continue;
		err = status_map(c, st, status_maps[i]);
		if (err)
			return err;
	}
	return 0;
}

/* One attached program: a row of the links table or an object of
 * "attached". 0 or -ENOMEM. */
static int status_link_row(const struct ctx *c, struct status *st,
			   const struct if_nameindex *ifp, const char *hook,
			   const char *prog, uint32_t prog_id,
			   const char *variant, const char *clock)
{
	char id[24], var[64];
	cJSON *obj;

	if (!c->json) {
		snprintf(id, sizeof(id), "%u", prog_id);
		snprintf(var, sizeof(var), "%s%s", variant,
			 strcmp(clock, "exact") ? "" : ", exact clock");
		return table_row(&st->links, ifp->if_name, hook,
				 prog[0] ? prog : "?", id, var);
	}
	obj = json_append_object(st->links_arr);
	if (!obj)
		return -ENOMEM;
	cJSON_AddStringToObject(obj, "interface", ifp->if_name);
	cJSON_AddNumberToObject(obj, "ifindex", ifp->if_index);
	cJSON_AddStringToObject(obj, "hook", hook);
	cJSON_AddStringToObject(obj, "program", prog);
	cJSON_AddNumberToObject(obj, "prog_id", prog_id);
	cJSON_AddStringToObject(obj, "variant", variant);
	cJSON_AddStringToObject(obj, "clock", clock);
	return 0;
}

/* svcd's XDP program on ifindex: 1 and its id, name and mode ("xdp_native"
 * or "xdp_generic"), or 0 (none, or not svcd's). */
static int xdp_of(int ifindex, uint32_t *prog_id, char name[16],
		  const char **mode)
{
	__u32 flags = 0;

	if (loader_xdp_query(ifindex, prog_id, &flags, name) <= 0)
		return 0;
	*mode = flags == XDP_FLAGS_DRV_MODE ? "xdp_native" :
		flags == XDP_FLAGS_SKB_MODE ? "xdp_generic" :
					      "xdp";
	return !strcmp(name, SVCD_PROG_FROM_WIRE);
}

/* The hooks' variants, for the summary: pod and uplink as seen on the
 * links (the last uplink's wins in text; JSON has each). */
static void status_variant_seen(struct status *st, const char *ifname,
				const char *prog, const char *variant)
{
	if (!strcmp(prog, SVCD_PROG_FROM_POD)) {
		st->pod_variant = "tc";
		st->n_pods++;
	} else if (!strcmp(prog, SVCD_PROG_FROM_WIRE_TC)) {
		st->n_uplinks++;
		if (st->uplinks_obj)
			cJSON_AddStringToObject(st->uplinks_obj, ifname,
						variant);
		if (!st->uplink_variant)
			st->uplink_variant = variant;
		else if (strcmp(st->uplink_variant, variant))
			st->uplink_variant = "mixed";
	}
}

/* svcd's XDP program and tc filters on every link of this network
 * namespace; 0 or an exit status (reported). */
static int status_tc_add(const struct ctx *c, struct status *st)
{
	struct if_nameindex *ifs, *ifp;
	const char *xdp_mode, *variant, *clock;
	char hook[64], name[16];
	uint32_t prog_id;
	int p, err = 0;

	ifs = if_nameindex();
	if (!ifs)
		return fail(c, EXIT_RUNTIME, "list network interfaces: %s",
			    strerror(errno));
	for (ifp = ifs; !err && ifp->if_index; ifp++) {
		xdp_mode = "";
		prog_id = 0;
		if (xdp_of(ifp->if_index, &prog_id, name, &xdp_mode) == 1) {
			variant = tc_variant(prog_id, name, xdp_mode, &clock);
			err = status_link_row(c, st, ifp,
					      !strcmp(xdp_mode, "xdp_native") ?
						      "xdp native" :
						      "xdp generic",
					      name, prog_id, variant, clock);
		} else {
			xdp_mode = "";
		}
		/* p: ingress, egress; tcx, then netlink filters */
		for (p = 0; !err && p < 4; p++) {
			enum bpf_tc_attach_point point = p & 1 ? BPF_TC_EGRESS :
								 BPF_TC_INGRESS;

			prog_id = 0;
			if ((p < 2 ? loader_tcx_query(ifp->if_index, point,
						      &prog_id, name) :
				     loader_tc_query(ifp->if_index, point,
						     &prog_id, name)) <= 0)
				continue;
			snprintf(hook, sizeof(hook), "%s %s",
				 p < 2 ? "tcx" : "tc",
				 p & 1 ? "egress" : "ingress");
			if (!st->tc_attach)
				st->tc_attach = p < 2 ? "tcx" : "netlink";
			else if (strcmp(st->tc_attach,
					p < 2 ? "tcx" : "netlink"))
				st->tc_attach = "mixed";
			variant = tc_variant(prog_id, name, xdp_mode, &clock);
			if (!strcmp(clock, "exact"))
				st->clock = "exact";
			else if (!strcmp(clock, "coarse") && !st->clock)
				st->clock = "coarse";
			status_variant_seen(st, ifp->if_name, name, variant);
			err = status_link_row(c, st, ifp, hook, name, prog_id,
					      variant, clock);
		}
	}
	if_freenameindex(ifs);
	return err ? fail(c, EXIT_RUNTIME, "out of memory") : 0;
}

/* The cgroup socket programs (F8), through their pinned links; 0 or an
 * exit status (reported). */
static int status_sock_add(const struct ctx *c, struct status *st)
{
	struct loader_sock_link sl;
	char where[4096], id[24];
	cJSON *obj;
	size_t i;

	for (i = 0; i < SVCD_SOCK_PROGS; i++) {
		if (loader_sock_link_query(c->pin_dir, svcd_sock_progs[i],
					   &sl) <= 0)
			continue;
		/* all eight come from one object: the first tells */
		if (!strcmp(st->socket_lb, "off"))
			st->socket_lb = sock_lb_mode(sl.prog_id);
		cgroup_path_of(sl.cgroup_id, where, sizeof(where));
		if (!c->json) {
			if (!where[0])
				snprintf(where, sizeof(where), "cgroup id %llu",
					 (unsigned long long)sl.cgroup_id);
			snprintf(id, sizeof(id), "%u", sl.prog_id);
			if (table_row(&st->links, where,
				      sock_hook_name(sl.attach_type),
				      sl.prog_name[0] ? sl.prog_name : "?", id,
				      st->socket_lb))
				return fail(c, EXIT_RUNTIME, "out of memory");
			continue;
		}
		obj = json_append_object(st->links_arr);
		if (!obj)
			return fail(c, EXIT_RUNTIME, "out of memory");
		if (where[0])
			cJSON_AddStringToObject(obj, "cgroup", where);
		else
			cJSON_AddNullToObject(obj, "cgroup");
		cJSON_AddNumberToObject(obj, "cgroup_id", (double)sl.cgroup_id);
		cJSON_AddStringToObject(obj, "hook",
					sock_hook_name(sl.attach_type));
		cJSON_AddStringToObject(obj, "program", sl.prog_name);
		cJSON_AddNumberToObject(obj, "prog_id", sl.prog_id);
		cJSON_AddNumberToObject(obj, "link_id", sl.link_id);
		cJSON_AddStringToObject(obj, "variant", st->socket_lb);
	}
	return 0;
}

/*
 * The kernel's features, probed here (svcctl runs on the node it looks
 * at): text, one line with the count and each missing feature with the
 * release that has it; JSON, "kernel": {"release", "features": {NAME:
 * "yes"|"no"|"unknown"}}.
 */
static void status_kernel(const struct ctx *c, struct status *st)
{
	cJSON *kernel, *features;
	struct probes p;
	int f, n = 0;

	probes_run(&p, NULL, 0);
	if (c->json) {
		kernel = cJSON_AddObjectToObject(st->doc, "kernel");
		if (!kernel)
			return;
		cJSON_AddStringToObject(kernel, "release", p.release);
		features = cJSON_AddObjectToObject(kernel, "features");
		for (f = 0; features && f < FEAT_MAX; f++)
			cJSON_AddStringToObject(features, probe_name(f),
						probe_state_str(p.f[f].state));
		return;
	}
	for (f = 0; f < FEAT_MAX; f++)
		n += p.f[f].state == PROBE_YES;
	printf("kernel: %s, %d of %d features\n", p.release, n, FEAT_MAX);
	for (f = 0; f < FEAT_MAX; f++) {
		if (p.f[f].state == PROBE_YES)
			continue;
		printf("  missing: %-18s %s (%s)\n", probe_name(f),
		       probe_what(f),
		       p.f[f].state == PROBE_NO ? probe_since(f) :
						  "cannot tell: run as root");
	}
}

static void status_print_text(const struct ctx *c, struct status *st)
{
	int i;

	printf("pin dir: %s\n", c->pin_dir);
	status_kernel(c, st);
	printf("socket LB: %s\n", st->socket_lb);
	if (st->draining)
		printf("draining: new flows are left to the stack's rules (svcd --cleanup --drain); tracked flows are still translated\n");
	printf("variants: pods %s (%d), uplinks %s (%d), socket %s, clock %s\n\n",
	       st->pod_variant ? st->pod_variant : "none", st->n_pods,
	       st->uplink_variant ? st->uplink_variant : "none", st->n_uplinks,
	       st->socket_lb, st->clock ? st->clock : "none");
	table_print(&st->maps);
	for (i = 0; st->have_sf && i < SVCD_SF_COUNT; i++)
		if (st->sf[i])
			printf("map %s is full: the last sync could not install %u Service ports (svcd %s gives it room)\n",
			       svcd_shortfall_name(i), st->sf[i],
			       svcd_shortfall_flag(i));
	printf("\n");
	if (st->links.nrows > 1)
		table_print(&st->links);
	else
		printf("no svcd programs attached (tc in this network namespace, or cgroup socket programs)\n");
}

int do_status(const struct ctx *c, int argc, char **argv)
{
	struct status st = { .maps.ncols = 4,
			     .links.ncols = 5,
			     .socket_lb = "off" };
	cJSON *variants = NULL;
	int err;

	if (argc > 0)
		return fail(c, EXIT_USAGE, "status: unexpected argument '%s'",
			    argv[0]);
	if (c->json) {
		st.doc = cJSON_CreateObject();
		cJSON_AddStringToObject(st.doc, "pin_dir", c->pin_dir);
		st.maps_arr = cJSON_AddArrayToObject(st.doc, "maps");
		st.links_arr = cJSON_AddArrayToObject(st.doc, "attached");
		variants = cJSON_AddObjectToObject(st.doc, "variants");
		st.uplinks_obj = variants ? cJSON_AddObjectToObject(variants,
								    "uplinks") :
					    NULL;
		if (!st.maps_arr || !st.links_arr || !st.uplinks_obj) {
			err = fail(c, EXIT_RUNTIME, "out of memory");
			goto out;
		}
	} else if (table_row(&st.maps, "MAP", "ENTRIES", "MAX", "ID") ||
		   table_row(&st.links, "INTERFACE/CGROUP", "HOOK", "PROGRAM",
			     "PROG_ID", "VARIANT")) {
		err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	st.have_sf = !svcd_shortfall_read(c->pin_dir, st.sf);
	st.draining = status_draining(c);
	err = status_maps_add(c, &st);
	if (!err)
		err = status_tc_add(c, &st);
	if (!err)
		err = status_sock_add(c, &st);
	if (err)
		goto out;
	if (c->json) {
		cJSON_AddStringToObject(st.doc, "socket_lb", st.socket_lb);
		cJSON_AddBoolToObject(st.doc, "draining", st.draining);
		cJSON_AddStringToObject(variants, "pods",
					st.pod_variant ? st.pod_variant :
							 "none");
		cJSON_AddStringToObject(variants, "socket", st.socket_lb);
		cJSON_AddStringToObject(variants, "clock",
					st.clock ? st.clock : "none");
		cJSON_AddStringToObject(variants, "tc_attach",
					st.tc_attach ? st.tc_attach : "none");
		status_kernel(c, &st);
		err = print_json(c, st.doc);
		st.doc = NULL;
	} else {
		status_print_text(c, &st);
	}
out:
	cJSON_Delete(st.doc);
	table_free(&st.maps);
	table_free(&st.links);
	return err;
}
