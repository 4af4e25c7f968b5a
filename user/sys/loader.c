// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * loader.c - skeleton open/load over pinned maps, tc attach/detach, and
 * `svcd --cleanup`. See loader.h.
 *
 * layout: one file (about 900 lines) because load, attach and cleanup share
 * the skeletons and the names of what is attached; cleanup must undo exactly
 * what attach does, and reads best beside it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "sys/loader.h"
#include "sys/migrate.h"
#include "sys/pinned.h"
#include "lib/log.h"
#include "lib/vlog.h"
#include <linux/if_link.h>

#include "pod.skel.h"
#include "sock.skel.h"
#include "svcd_abi.h"
#include "wire.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14; older libc headers lack it */
#endif

struct loader {
	struct loader_config cfg; /* strings belong to the caller */
	struct pod_bpf *skel;
	struct wire_bpf *wire;	  /* XDP + tc; NULL: no uplinks or no XDP */
	struct wire_bpf *wire_tc; /* tc only (tc_only = 1); made when needed */
	struct sock_bpf *sock;	  /* NULL: F8 off */
	struct bpf_link *sock_links[SVCD_SOCK_PROGS]; /* pinned */
	struct migrations migr; /* maps given a new size (sys/migrate.h) */
};

/* Every map svcd pins, for --cleanup. */
static const char *const pinned_maps[] = {
	SVCD_MAP_FRONTENDS,	 SVCD_MAP_SLOTS,	SVCD_MAP_BACKENDS,
	SVCD_MAP_CONNTRACK,	 SVCD_MAP_SERVICES,	SVCD_MAP_STATS,
	SVCD_MAP_REASONS,	 SVCD_MAP_SRC_RANGES,	SVCD_MAP_AFFINITY,
	SVCD_MAP_AFFINITY_MATCH, SVCD_MAP_SOCK_REV,	SVCD_MAP_FRONTENDS6,
	SVCD_MAP_BACKENDS6,	 SVCD_MAP_CONNTRACK6,	SVCD_MAP_AFFINITY6,
	SVCD_MAP_SRC_RANGES6,	 SVCD_MAP_SOCK_REV6,	SVCD_MAP_SOCK_FWD,
	SVCD_MAP_SOCK_FWD6,	 SVCD_MAP_HOOK_REASONS, SVCD_MAP_SHORTFALL,
	SVCD_MAP_CT_SYN,	 SVCD_MAP_CT6_SYN,	SVCD_MAP_CONTROL,
};

/*
 * The verdict of the last program the kernel refused ("prog 'NAME':
 * REASON"), for the error line of the load that failed; cleared before
 * each load.
 */
static char load_refusal[384];

/* Each line of text[0..len) as its own log line. */
static void log_lines(enum log_level level, const char *prefix,
		      const char *text, size_t len)
{
	const char *nl;
	size_t n;

	while (len) {
		nl = memchr(text, '\n', len);
		n = nl ? (size_t)(nl - text) : len;
		if (n)
			log_msg(level, "%s%.*s", prefix, (int)n, text);
		if (!nl)
			break;
		len -= n + 1;
		text = nl + 1;
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char prog[64], reason[256], prefix[96], *msg;
	enum log_level ours;
	const char *log;
	size_t log_len;

	switch (level) {
	case LIBBPF_WARN:
		ours = LOG_WARN;
		break;
	case LIBBPF_INFO:
		ours = LOG_DEBUG;
		break;
	default:
		/* libbpf's debug output is long: only at -v 4 and up */
		if (log_get_level() < 4)
			return 0;
		ours = LOG_DEBUG;
		break;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	/* A refused program's verifier log comes as one message: keep its
	 * verdict for our error line, and show the whole log, a line each,
	 * at -v 4 only (it runs to thousands of lines). */
	if (vlog_unframe(msg, &log, &log_len, prog, sizeof(prog))) {
		if (!vlog_reason(log, log_len, reason, sizeof(reason)))
			snprintf(reason, sizeof(reason),
				 "no verdict in the verifier's log");
		snprintf(load_refusal, sizeof(load_refusal), "prog '%s': %s",
			 prog, reason);
		if (log_get_level() >= 4) {
			snprintf(prefix, sizeof(prefix),
				 "libbpf: prog '%s': verifier: ", prog);
			log_lines(LOG_DEBUG, prefix, log, log_len);
		}
		free(msg);
		return 0;
	}
	/* The kernel's extack text for an error we handle ourselves (no
	 * clsact qdisc yet, qdisc exists) is noise at the default level;
	 * our own message names the failure when it is one. */
	if (strstr(msg, "Kernel error message:"))
		ours = LOG_DEBUG;
	/* libbpf's lines already start with "libbpf: " */
	log_lines(ours, "", msg, strlen(msg));
	free(msg);
	return 0;
}

/*
 * The error line of a failed skeleton load: ends with the verifier's
 * verdict when the kernel refused a program, and says where the rest is.
 */
static void log_load_error(enum log_level level, const char *obj,
			   const char *pin_dir, int err, const char *effect)
{
	if (load_refusal[0])
		log_msg(level,
			"load BPF object %s (maps in %s): %s%s: %s (-v 4 shows the verifier's whole log)",
			obj, pin_dir, strerror(-err), effect, load_refusal);
	else
		log_msg(level,
			"load BPF object %s (maps in %s): %s%s (-v 4 shows libbpf's log)",
			obj, pin_dir, strerror(-err), effect);
}

void loader_set_libbpf_log(void)
{
	libbpf_set_print(libbpf_print);
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

int loader_prepare_pin_dir(const char *pin_dir)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	bool last;
	size_t len;
	int err;

	len = strlen(pin_dir);
	if (!len || len >= sizeof(path)) {
		pr_err("--pin-dir '%s': bad path", pin_dir);
		return -EINVAL;
	}
	memcpy(path, pin_dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';

	/* Check the deepest existing ancestor before creating anything, so
	 * a missing mount does not leave directories on another fs. */
	for (;;) {
		if (!stat(path, &st))
			break;
		if (errno != ENOENT) {
			err = -errno;
			pr_err("--pin-dir %s: stat %s: %s", pin_dir, path,
			       strerror(-err));
			return err;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path) {
			strcpy(path, slash ? "/" : ".");
			continue;
		}
		*slash = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("--pin-dir %s: %s is not a directory", pin_dir, path);
		return -ENOTDIR;
	}
	if (!is_bpffs(path)) {
		pr_err("--pin-dir %s is not on a bpffs mount; mount -t bpf bpf %s",
		       pin_dir, pin_dir);
		return -EINVAL;
	}

	/* mkdir -p */
	memcpy(path, pin_dir, strlen(pin_dir) + 1);
	for (slash = path + 1;; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		last = *slash == '\0';
		*slash = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			err = -errno;
			pr_err("--pin-dir %s: mkdir %s: %s", pin_dir, path,
			       strerror(-err));
			return err;
		}
		if (last)
			return 0;
		*slash = '/';
	}
}

/*
 * Before load: a map already pinned under pin_dir is reused by libbpf
 * only if it matches in every parameter, so take its size (reuse beats
 * resize: a resize would drop every flow) and refuse a layout change with
 * a clear message instead of libbpf's (sys/pinned.c checks the pin against
 * its table, which must say what this object declares). want 0: this
 * object does not size the map (the pod object, loaded first, did), so its
 * pinned size is taken without a word.
 */
static int unpin_placeholder(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	if (unlink(path) && errno != ENOENT) {
		pr_err("map %s: cannot remove the placeholder pin %s: %s", name,
		       path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int adopt_pinned(struct loader *l, struct bpf_map *map, __u32 want)
{
	const char *pin_dir = l->cfg.pin_dir;
	const char *name = bpf_map__name(map);
	const struct svcd_map_layout *expect = svcd_map_layout(name);
	struct svcd_map_layout declared = {
		.type = bpf_map__type(map),
		.key_size = bpf_map__key_size(map),
		.value_size = bpf_map__value_size(map),
		.map_flags = bpf_map__map_flags(map),
	};
	char why[SVCD_PIN_WHY_LEN], have_s[80], want_s[80];
	struct bpf_map_info info;
	int fd, err;

	if (!expect || memcmp(expect, &declared, sizeof(declared))) {
		svcd_map_layout_str(&declared, have_s, sizeof(have_s));
		if (expect)
			svcd_map_layout_str(expect, want_s, sizeof(want_s));
		pr_err("BPF object declares map %s as %s, but sys/pinned.c expects %s: a build bug, fix the table in sys/pinned.c",
		       name, have_s, expect ? want_s : "no such map");
		return -EINVAL;
	}
	err = migrate_recover(pin_dir, name);
	if (err)
		return err;
	fd = svcd_pinned_open(pin_dir, name, &info, why, sizeof(why));
	if (fd == -ENOENT)
		return want ? bpf_map__set_max_entries(map, want) : 0;
	if (fd < 0) {
		pr_err("%s", why);
		return fd;
	}
	close(fd);
	if (want > 1 && info.max_entries == 1) {
		/* A 1-entry placeholder (an IPv6 map of a node that served no
		 * IPv6 then): nothing worth keeping, so made again full size. */
		err = unpin_placeholder(pin_dir, name);
		if (err)
			return err;
		pr_info("map %s: the 1-entry placeholder is replaced by one of %u entries",
			name, want);
		return bpf_map__set_max_entries(map, want);
	}
	/* want 1: the placeholder of a map this start does not use (IPv6
	 * on a node without it); a larger pinned one is kept as it is */
	if (want > 1 && info.max_entries != want) {
		err = migrate_prepare(&l->migr, pin_dir, map, &info, want);
		if (err < 0)
			return err;
		if (err)
			return bpf_map__set_max_entries(map, want);
	}
	return bpf_map__set_max_entries(map, info.max_entries);
}

/* A start takes new flows back from a drain (`svcd --cleanup --drain`)
 * that was under way or was cut short: svcd_control cleared. */
static void take_new_flows(struct loader *l)
{
	int fd = bpf_map__fd(l->skel->maps.svcd_control);
	struct svcd_control ctl = {};
	__u32 key = 0;

	if (!bpf_map_lookup_elem(fd, &key, &ctl) &&
	    (ctl.flags & SVCD_CTL_DRAIN))
		pr_warn("%s/%s: a drain (svcd --cleanup --drain) was under way; this start translates new flows again",
			l->cfg.pin_dir, SVCD_MAP_CONTROL);
	ctl.flags = 0;
	if (bpf_map_update_elem(fd, &key, &ctl, BPF_ANY))
		pr_warn("%s/%s: cannot clear the drain switch: %s",
			l->cfg.pin_dir, SVCD_MAP_CONTROL, strerror(errno));
}

/* The kernel has feature f, as probed; without probes (cfg->probes NULL)
 * every feature is taken as there and a load says otherwise. */
static bool have(const struct loader_config *cfg, enum probe_feature f)
{
	return !cfg->probes || probe_have(cfg->probes, f);
}

static int open_wire(struct loader *l, bool tc_only, struct wire_bpf **out);
static int open_uplinks(struct loader *l);
static int tcx_sweep(const char *pin_dir, bool all);

int loader_open(const struct loader_config *cfg, struct loader **out)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, opts,
			    .pin_root_path = cfg->pin_dir);
	struct {
		struct bpf_map *map;
		__u32 size;
	} sizes[15];
	/* IPv6 maps: full size only when the node serves IPv6 (cfg->ipv6);
	 * else a 1-entry placeholder the programs can still name. */
	__u32 v6 = cfg->ipv6 ? 1 : 0;
	struct loader *l;
	size_t i;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	l->skel = pod_bpf__open_opts(&opts);
	if (!l->skel) {
		err = -errno;
		pr_err("open BPF object pod_bpf: %s", strerror(-err));
		goto out_free;
	}

	sizes[0].map = l->skel->maps.svcd_frontends;
	sizes[0].size = cfg->max_frontends;
	sizes[1].map = l->skel->maps.svcd_slots;
	sizes[1].size = cfg->max_slots;
	sizes[2].map = l->skel->maps.svcd_backends;
	sizes[2].size = cfg->max_backends;
	sizes[3].map = l->skel->maps.svcd_services;
	sizes[3].size = cfg->max_services;
	sizes[4].map = l->skel->maps.svcd_stats;
	sizes[4].size = cfg->max_services;
	sizes[5].map = l->skel->maps.svcd_conntrack;
	sizes[5].size = cfg->max_conntrack;
	sizes[6].map = l->skel->maps.svcd_affinity;
	sizes[6].size = cfg->max_affinity;
	/* A match pair per distinct backend of a slot table: never more
	 * than the slots, so the same size never fills first. */
	sizes[7].map = l->skel->maps.svcd_affinity_match;
	sizes[7].size = cfg->max_slots;
	sizes[8].map = l->skel->maps.svcd_frontends6;
	sizes[8].size = v6 ? cfg->max_frontends : 1;
	sizes[9].map = l->skel->maps.svcd_backends6;
	sizes[9].size = v6 ? cfg->max_backends : 1;
	sizes[10].map = l->skel->maps.svcd_conntrack6;
	sizes[10].size = v6 ? cfg->max_conntrack : 1;
	sizes[11].map = l->skel->maps.svcd_affinity6;
	sizes[11].size = v6 ? cfg->max_affinity : 1;
	sizes[12].map = l->skel->maps.svcd_src_ranges6;
	sizes[12].size =
		v6 ? bpf_map__max_entries(l->skel->maps.svcd_src_ranges6) : 1;
	/* embryonic flows: a share of conntrack (SVCD_CT_SYN_SIZE) */
	sizes[13].map = l->skel->maps.svcd_ct_syn;
	sizes[13].size = SVCD_CT_SYN_SIZE(cfg->max_conntrack);
	sizes[14].map = l->skel->maps.svcd_ct6_syn;
	sizes[14].size = v6 ? SVCD_CT_SYN_SIZE(cfg->max_conntrack) : 1;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		err = adopt_pinned(l, sizes[i].map, sizes[i].size);
		if (err)
			goto out_destroy;
	}
	err = adopt_pinned(
		l, l->skel->maps.svcd_hook_reasons,
		bpf_map__max_entries(l->skel->maps.svcd_hook_reasons));
	if (err)
		goto out_destroy;
	/* svcd_reasons is sized by the enum, never by a flag: one pinned by
	 * an older build, with fewer reasons, is kept as it is (its id
	 * too; the reasons it lacks count in svcd_hook_reasons only, until
	 * svcd --cleanup), as svcd_maps_read_reasons() expects */
	err = adopt_pinned(l, l->skel->maps.svcd_reasons, 0);
	if (err)
		goto out_destroy;

	err = adopt_pinned(l, l->skel->maps.svcd_src_ranges,
			   bpf_map__max_entries(l->skel->maps.svcd_src_ranges));
	if (err)
		goto out_destroy;

	l->skel->rodata->coarse_clock = have(cfg, FEAT_TC_COARSE_CLOCK);
	if (!l->skel->rodata->coarse_clock)
		pr_warn("datapath clock: no bpf_ktime_get_coarse_ns in tc (Linux 5.11): the exact clock, which costs a Service's packets about 30 ns more under a paravirtual clock");
	load_refusal[0] = '\0';
	err = pod_bpf__load(l->skel);
	if (err) {
		log_load_error(LOG_ERR, "pod_bpf", cfg->pin_dir, err, "");
		goto out_destroy;
	}
	/* before the writer reads its mirror back from the new maps */
	err = migrate_copy_new(&l->migr);
	if (err)
		goto out_destroy;
	err = open_uplinks(l);
	if (err)
		goto out_destroy;
	take_new_flows(l);
	/* tcx pins of interfaces deleted while no svcd ran */
	tcx_sweep(cfg->pin_dir, false);
	*out = l;
	return 0;

out_destroy:
	migrate_abort(&l->migr, cfg->pin_dir);
	wire_bpf__destroy(l->wire);
	wire_bpf__destroy(l->wire_tc);
	pod_bpf__destroy(l->skel);
out_free:
	free(l);
	return err;
}

/*
 * The uplink programs share every map with the pod programs through the
 * pins pod_bpf just made or reused, so each map takes the pinned size.
 * tc_only: the variant without XDP (from_wire not loaded, from_wire_tc
 * doing all north-south work). Errors are logged by the caller, which
 * knows what they cost; the verifier's verdict is in load_refusal.
 */
static int open_wire(struct loader *l, bool tc_only, struct wire_bpf **out)
{
	const struct loader_config *cfg = &l->cfg;
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, opts,
			    .pin_root_path = cfg->pin_dir);
	struct wire_bpf *w;
	struct bpf_map *map;
	int err;

	load_refusal[0] = '\0';
	w = wire_bpf__open_opts(&opts);
	if (!w)
		return -errno;
	bpf_object__for_each_map(map, w->obj) {
		if (bpf_map__is_internal(map))
			continue;
		err = adopt_pinned(l, map, 0);
		if (err)
			goto err;
	}
	w->rodata->snat_addr = cfg->snat_addr;
	memcpy((void *)&w->rodata->snat_addr6, &cfg->snat_addr6,
	       sizeof(cfg->snat_addr6));
	w->rodata->snat_port_min = cfg->snat_port_min;
	w->rodata->snat_port_max = cfg->snat_port_max;
	w->rodata->xdp_tx_ok = cfg->xdp_tx_ok;
	w->rodata->tc_only = tc_only;
	/* without it, from_wire_tc looks at every packet (wire.bpf.c) */
	w->rodata->xdp_meta = have(cfg, FEAT_XDP_ADJUST_META);
	/* one clock for the whole object, as every hook stamps the same
	 * maps: coarse only when each program loaded here can read it */
	w->rodata->coarse_clock = have(cfg, FEAT_TC_COARSE_CLOCK) &&
				  (tc_only || have(cfg, FEAT_XDP_COARSE_CLOCK));
	if (tc_only)
		bpf_program__set_autoload(w->progs.from_wire, false);
	err = wire_bpf__load(w);
	if (err)
		goto err;
	*out = w;
	return 0;
err:
	wire_bpf__destroy(w);
	return err;
}

/* The first missing feature XDP needs (from_wire and its hand-over to
 * from_wire_tc), or NULL. */
static const char *xdp_missing(const struct probes *p)
{
	static const enum probe_feature need[] = {
		FEAT_PROG_XDP,
		FEAT_XDP_FIB_LOOKUP,
	};
	size_t i;

	for (i = 0; p && i < sizeof(need) / sizeof(need[0]); i++)
		if (!probe_have(p, need[i]))
			return probe_name(need[i]);
	return NULL;
}

/*
 * With --uplinks: the XDP variant when the kernel can run it, else (or
 * when the verifier refuses it) the tc-only one, each fallback said in
 * one line. Only when neither loads is it an error: the flags ask for
 * north-south service and it cannot work.
 */
static int open_uplinks(struct loader *l)
{
	const char *missing = xdp_missing(l->cfg.probes);
	char why[512];
	int err;

	if (!l->cfg.uplinks)
		return 0;
	if (!missing) {
		err = open_wire(l, false, &l->wire);
		if (!err) {
			if (!have(&l->cfg, FEAT_XDP_ADJUST_META))
				pr_info("uplinks: XDP without metadata (the kernel lacks %s): from_wire_tc looks at every packet XDP passes, not only those it hands over",
					probe_name(FEAT_XDP_ADJUST_META));
			return 0;
		}
		snprintf(why, sizeof(why),
			 "the XDP variant did not load: %s%s%s", strerror(-err),
			 load_refusal[0] ? ": " : "", load_refusal);
	} else {
		snprintf(why, sizeof(why), "the kernel lacks %s", missing);
	}
	err = open_wire(l, true, &l->wire_tc);
	if (err) {
		pr_err("load BPF object wire_bpf (maps in %s), tc only: %s%s%s (and %s); --uplinks cannot work on this kernel",
		       l->cfg.pin_dir, strerror(-err),
		       load_refusal[0] ? ": " : "", load_refusal, why);
		return err;
	}
	pr_warn("uplinks: no XDP (%s): from_wire_tc does NodePort, externalIPs, LoadBalancer IPs and SNAT alone at tc ingress, with the skb work XDP avoids (README \"Kernels\": what it costs)",
		why);
	return 0;
}

void loader_close(struct loader *l)
{
	size_t i;

	if (!l)
		return;
	/* closes our fds only: the pinned links stay attached */
	for (i = 0; i < SVCD_SOCK_PROGS; i++)
		bpf_link__destroy(l->sock_links[i]);
	sock_bpf__destroy(l->sock);
	wire_bpf__destroy(l->wire);
	wire_bpf__destroy(l->wire_tc);
	pod_bpf__destroy(l->skel);
	free(l);
}

void loader_migrate_catch_up(struct loader *l)
{
	migrate_catch_up(&l->migr);
}

void loader_migrate_finish(struct loader *l)
{
	migrate_finish(&l->migr, l->cfg.pin_dir);
}

void loader_get_sizes(const struct loader *l, struct loader_sizes *sizes)
{
	sizes->frontends = bpf_map__max_entries(l->skel->maps.svcd_frontends);
	sizes->slots = bpf_map__max_entries(l->skel->maps.svcd_slots);
	sizes->services = bpf_map__max_entries(l->skel->maps.svcd_services);
	sizes->backends = bpf_map__max_entries(l->skel->maps.svcd_backends);
	sizes->conntrack = bpf_map__max_entries(l->skel->maps.svcd_conntrack);
	sizes->frontends6 = bpf_map__max_entries(l->skel->maps.svcd_frontends6);
	sizes->backends6 = bpf_map__max_entries(l->skel->maps.svcd_backends6);
	sizes->conntrack6 = bpf_map__max_entries(l->skel->maps.svcd_conntrack6);
}

static const char *point_name(enum bpf_tc_attach_point point)
{
	return point == BPF_TC_INGRESS ? "ingress" : "egress";
}

/* ---- tcx: tc programs through pinned bpf_links (6.6) ---------------------- */

static void tcx_path(char *path, size_t size, const char *pin_dir, int ifindex,
		     enum bpf_tc_attach_point point)
{
	snprintf(path, size, "%s/%s%d_%s", pin_dir, SVCD_TCX_LINK_PREFIX,
		 ifindex, point_name(point));
}

/*
 * The tcx link pinned for ifindex's hook: 1 and *fd (the caller closes it)
 * when the pin holds a live tcx link on that interface and hook; 0 when
 * there is none. A pin left by an interface that is gone (the kernel
 * detached its link) or not a tcx link of that hook is removed.
 */
static int tcx_pinned(const char *pin_dir, int ifindex,
		      enum bpf_tc_attach_point point, int *fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info), want;
	char path[PATH_MAX];
	/* bpf_link_info's tcx member: { __u32 ifindex, attach_type } where
	 * netns has { netns_ino, attach_type } (older headers) */
	__u32 link_ifindex, link_type;

	tcx_path(path, sizeof(path), pin_dir, ifindex, point);
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return errno == ENOENT ? 0 : -errno;
	want = point == BPF_TC_INGRESS ? SVCD_TCX_INGRESS : SVCD_TCX_EGRESS;
	if (bpf_obj_get_info_by_fd(*fd, &info, &len))
		info.type = 0;
	link_ifindex = info.netns.netns_ino;
	link_type = info.netns.attach_type;
	if (info.type == SVCD_LINK_TYPE_TCX && link_ifindex == (__u32)ifindex &&
	    link_type == want)
		return 1;
	close(*fd);
	*fd = -1;
	unlink(path);
	return 0;
}

/* Remove svcd's tcx link from ifindex's hook: 1 when there was one, 0,
 * or -errno. */
static int tcx_detach(const char *pin_dir, int ifindex, const char *ifname,
		      enum bpf_tc_attach_point point)
{
	char path[PATH_MAX];
	int fd, err;

	err = tcx_pinned(pin_dir, ifindex, point, &fd);
	if (err <= 0)
		return err;
	/* detach even if another process holds the link open */
	err = bpf_link_detach(fd) ? -errno : 0;
	close(fd);
	if (err && err != -ENOLINK) {
		pr_err("%s: detach svcd's tcx %s link: %s", ifname,
		       point_name(point), strerror(-err));
		return err;
	}
	tcx_path(path, sizeof(path), pin_dir, ifindex, point);
	unlink(path);
	return 1;
}

/*
 * Every tcx pin under pin_dir: all (svcd --cleanup, after the links of
 * this namespace went): detach and unlink what is left; else unlink only
 * those whose interface is gone (deleted while no svcd ran). How many
 * went.
 */
static int tcx_sweep(const char *pin_dir, bool all)
{
	struct bpf_link_info info;
	char path[PATH_MAX];
	struct dirent *de;
	__u32 len;
	int fd, n = 0;
	DIR *d;

	d = opendir(pin_dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, SVCD_TCX_LINK_PREFIX,
			    strlen(SVCD_TCX_LINK_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			memset(&info, 0, sizeof(info));
			len = sizeof(info);
			if (!all && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
			    info.type == SVCD_LINK_TYPE_TCX &&
			    info.netns.netns_ino) {
				close(fd); /* a live link: kept */
				continue;
			}
			if (all)
				bpf_link_detach(fd);
			close(fd);
		}
		if (!unlink(path))
			n++;
	}
	closedir(d);
	return n;
}

void loader_forget_link(const char *pin_dir, int ifindex)
{
	int fd;

	/* tcx_pinned removes a pin whose link lost its interface */
	if (tcx_pinned(pin_dir, ifindex, BPF_TC_INGRESS, &fd) > 0)
		close(fd);
	if (tcx_pinned(pin_dir, ifindex, BPF_TC_EGRESS, &fd) > 0)
		close(fd);
}

/* The tc program's names on a hook, svcd's any variant (pod or uplink). */
static void tc_names(enum bpf_tc_attach_point point, const char **a,
		     const char **b)
{
	*a = point == BPF_TC_INGRESS ? SVCD_PROG_FROM_POD : SVCD_PROG_TO_POD;
	*b = point == BPF_TC_INGRESS ? SVCD_PROG_FROM_WIRE_TC :
				       SVCD_PROG_TO_WIRE;
}

static int detach_filter(int ifindex, const char *ifname,
			 enum bpf_tc_attach_point point, const char *prog_name,
			 const char *alt_name);

/*
 * prog onto ifindex's hook through a tcx link: svcd's pinned link gets
 * the new program in place (bpf_link update: no moment without it), else
 * a new link is made and pinned. Then a netlink filter of svcd's on that
 * hook (an earlier svcd's, or one run with tcx off) goes: tcx programs
 * run before filters and ours never hands a packet on, so there is no gap
 * and no packet seen twice.
 */
static int attach_tcx(const struct loader *l, int ifindex, const char *ifname,
		      enum bpf_tc_attach_point point,
		      const struct bpf_program *prog)
{
	int prog_fd = bpf_program__fd(prog), fd, err;
	const char *a, *b;
	char path[PATH_MAX];

	err = tcx_pinned(l->cfg.pin_dir, ifindex, point, &fd);
	if (err < 0) {
		pr_err("%s: open svcd's tcx %s link: %s", ifname,
		       point_name(point), strerror(-err));
		return err;
	}
	if (err > 0) {
		err = bpf_link_update(fd, prog_fd, NULL) ? -errno : 0;
		close(fd);
		if (err) {
			pr_err("%s: replace the program of svcd's tcx %s link: %s",
			       ifname, point_name(point), strerror(-err));
			return err;
		}
	} else {
		fd = bpf_link_create(
			prog_fd, ifindex,
			(enum bpf_attach_type)(point == BPF_TC_INGRESS ?
						       SVCD_TCX_INGRESS :
						       SVCD_TCX_EGRESS),
			NULL);
		if (fd < 0) {
			err = fd;
			pr_err("%s: attach %s to tcx %s: %s", ifname,
			       bpf_program__name(prog), point_name(point),
			       strerror(-err));
			return err;
		}
		tcx_path(path, sizeof(path), l->cfg.pin_dir, ifindex, point);
		err = bpf_obj_pin(fd, path) ? -errno : 0;
		close(fd); /* unpinned, the link goes with it */
		if (err) {
			pr_err("%s: pin svcd's tcx %s link as %s: %s", ifname,
			       point_name(point), path, strerror(-err));
			return err;
		}
	}
	tc_names(point, &a, &b);
	err = detach_filter(ifindex, ifname, point, a, b);
	return err < 0 ? err : 0;
}

static int attach_filter(int ifindex, const char *ifname,
			 enum bpf_tc_attach_point point,
			 const struct bpf_program *prog)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVCD_TC_HANDLE,
			    .priority = SVCD_TC_PRIORITY,
			    .flags = BPF_TC_F_REPLACE,
			    .prog_fd = bpf_program__fd(prog));
	const char *want = bpf_program__name(prog);
	uint32_t prog_id = 0;
	char name[16];
	int err;

	/* Replace only our own program: a filter of someone else that
	 * happens to use our handle and priority is left alone. */
	err = loader_tc_query(ifindex, point, &prog_id, name);
	if (err < 0) {
		pr_err("%s: query tc %s filters: %s", ifname, point_name(point),
		       strerror(-err));
		return err;
	}
	if (err > 0 && strcmp(name, want)) {
		pr_err("%s: tc %s filter handle %#x prio %#x runs program %u '%s', not svcd's %s; not replacing it (remove it, or it is another tool's)",
		       ifname, point_name(point), SVCD_TC_HANDLE,
		       SVCD_TC_PRIORITY, prog_id, name, want);
		return -EBUSY;
	}

	/* Creates the clsact qdisc; it is shared with other users. */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("%s: create clsact qdisc: %s", ifname, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_err("%s: attach %s to tc %s: %s", ifname,
		       bpf_program__name(prog), point_name(point),
		       strerror(-err));
		return err;
	}
	return 0;
}

/*
 * prog onto a tc hook of ifindex: through tcx where the kernel has it,
 * else a netlink filter; after a netlink filter is in place, a tcx link of
 * svcd's on that hook (a run with tcx) goes, so the switch back leaves no
 * gap either.
 */
static int attach_one(const struct loader *l, int ifindex, const char *ifname,
		      enum bpf_tc_attach_point point,
		      const struct bpf_program *prog)
{
	int err;

	if (loader_uses_tcx(l))
		return attach_tcx(l, ifindex, ifname, point, prog);
	err = attach_filter(ifindex, ifname, point, prog);
	if (err)
		return err;
	err = tcx_detach(l->cfg.pin_dir, ifindex, ifname, point);
	return err < 0 ? err : 0;
}

bool loader_uses_tcx(const struct loader *l)
{
	return l->cfg.probes && have(&l->cfg, FEAT_TCX);
}

bool loader_xdp_meta(const struct loader *l)
{
	return l->wire && l->wire->rodata->xdp_meta;
}

int loader_attach(struct loader *l, int ifindex, const char *ifname)
{
	int err;

	err = attach_one(l, ifindex, ifname, BPF_TC_INGRESS,
			 l->skel->progs.from_pod);
	if (err)
		return err;
	return attach_one(l, ifindex, ifname, BPF_TC_EGRESS,
			  l->skel->progs.to_pod);
}

/* from_wire onto XDP, native else generic; -EBUSY when another
 * program holds the hook (never replaced). */
static int attach_xdp(struct wire_bpf *w, int ifindex, const char *ifname,
		      enum loader_xdp_mode *mode)
{
	int fd = bpf_program__fd(w->progs.from_wire);
	__u32 old_mode = 0;
	uint32_t prog_id;
	char name[16];
	int err;

	err = loader_xdp_query(ifindex, &prog_id, &old_mode, name);
	if (err < 0) {
		pr_err("%s: query XDP program: %s", ifname, strerror(-err));
		return err;
	}
	if (err > 0 && strcmp(name, SVCD_PROG_FROM_WIRE)) {
		pr_err("%s: XDP program %u '%s' is attached, not svcd's %s; not replacing it",
		       ifname, prog_id, name, SVCD_PROG_FROM_WIRE);
		return -EBUSY;
	}
	/* Attaching over our own program replaces it atomically. */
	if (!err || old_mode == XDP_FLAGS_DRV_MODE) {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
		if (!err) {
			*mode = LOADER_XDP_NATIVE;
			return 0;
		}
		pr_warn("%s: native XDP not available (%s); using generic XDP, which is slower",
			ifname, strerror(-err));
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
	if (err)
		return err;
	*mode = LOADER_XDP_GENERIC;
	return 0;
}

static int detach_xdp(int ifindex, const char *ifname);

int loader_attach_uplink(struct loader *l, int ifindex, const char *ifname,
			 enum loader_xdp_mode *mode)
{
	struct wire_bpf *w = l->wire;
	int err;

	if (w) {
		err = attach_xdp(w, ifindex, ifname, mode);
		if (err == -EBUSY)
			return err;
		if (err) {
			if (!l->wire_tc &&
			    open_wire(l, true, &l->wire_tc) < 0) {
				pr_err("%s: attach %s to XDP: %s, and the tc-only variant did not load: %s",
				       ifname, SVCD_PROG_FROM_WIRE,
				       strerror(-err), load_refusal);
				return err;
			}
			pr_warn("%s: attach %s to XDP: %s; tc only on this uplink (%s does all north-south work, with the skb work XDP avoids)",
				ifname, SVCD_PROG_FROM_WIRE, strerror(-err),
				SVCD_PROG_FROM_WIRE_TC);
			w = NULL;
		}
	}
	if (!w) {
		/* tc first, then our XDP program (a restart from XDP) goes:
		 * no gap; a packet it translated meanwhile names no frontend
		 * any more, so the tc-only program passes it. */
		*mode = LOADER_XDP_NONE;
		err = attach_one(l, ifindex, ifname, BPF_TC_INGRESS,
				 l->wire_tc->progs.from_wire_tc);
		if (!err)
			err = attach_one(l, ifindex, ifname, BPF_TC_EGRESS,
					 l->wire_tc->progs.to_wire);
		if (!err)
			err = detach_xdp(ifindex, ifname);
		return err < 0 ? err : 0;
	}
	err = attach_one(l, ifindex, ifname, BPF_TC_INGRESS,
			 w->progs.from_wire_tc);
	if (err)
		return err;
	return attach_one(l, ifindex, ifname, BPF_TC_EGRESS, w->progs.to_wire);
}

static int detach_xdp(int ifindex, const char *ifname)
{
	__u32 mode = 0;
	uint32_t prog_id;
	char name[16];
	int err;

	err = loader_xdp_query(ifindex, &prog_id, &mode, name);
	if (err <= 0)
		return err == -EINVAL || err == -EOPNOTSUPP ? 0 : err;
	if (strcmp(name, SVCD_PROG_FROM_WIRE))
		return 0; /* someone else's */
	err = bpf_xdp_detach(ifindex, mode, NULL);
	if (err) {
		pr_err("%s: detach %s from XDP: %s", ifname,
		       SVCD_PROG_FROM_WIRE, strerror(-err));
		return err;
	}
	return 1;
}

static int detach_filter(int ifindex, const char *ifname,
			 enum bpf_tc_attach_point point, const char *prog_name,
			 const char *alt_name)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVCD_TC_HANDLE,
			    .priority = SVCD_TC_PRIORITY);
	uint32_t prog_id = 0;
	char name[16];
	int err;

	err = loader_tc_query(ifindex, point, &prog_id, name);
	if (err <= 0) {
		if (err)
			pr_err("%s: query tc %s filters: %s", ifname,
			       point_name(point), strerror(-err));
		return err;
	}
	if (alt_name && !strcmp(name, alt_name))
		prog_name = alt_name;
	if (strcmp(name, prog_name)) {
		pr_warn("%s: tc %s filter %#x prio %#x runs program %u '%s', not svcd's %s; left alone",
			ifname, point_name(point), SVCD_TC_HANDLE,
			SVCD_TC_PRIORITY, prog_id, name, prog_name);
		return 0;
	}
	err = bpf_tc_detach(&hook, &opts);
	if (err == -ENOENT) /* gone meanwhile */
		return 0;
	if (err) {
		pr_err("%s: detach %s from tc %s: %s", ifname, prog_name,
		       point_name(point), strerror(-err));
		return err;
	}
	return 1;
}

/* svcd's tc programs on one hook, both kinds: how many went, or -errno. */
static int detach_one(const char *pin_dir, int ifindex, const char *ifname,
		      enum bpf_tc_attach_point point)
{
	const char *a, *b;
	int n, m;

	tc_names(point, &a, &b);
	n = tcx_detach(pin_dir, ifindex, ifname, point);
	m = detach_filter(ifindex, ifname, point, a, b);
	if (n < 0 || m < 0)
		return n < 0 ? n : m;
	return n + m;
}

int loader_detach(const char *pin_dir, int ifindex, const char *ifname)
{
	int in, eg, xdp;

	in = detach_one(pin_dir, ifindex, ifname, BPF_TC_INGRESS);
	eg = detach_one(pin_dir, ifindex, ifname, BPF_TC_EGRESS);
	xdp = detach_xdp(ifindex, ifname);
	if (in < 0)
		return in;
	if (eg < 0)
		return eg;
	if (xdp < 0)
		return xdp;
	return in + eg + xdp;
}

/* ---- socket programs (F8) ---------------------------------------------- */

static void sock_link_path(char *path, size_t size, const char *pin_dir,
			   const char *prog)
{
	snprintf(path, size, "%s/%s%s", pin_dir, SVCD_SOCK_LINK_PREFIX, prog);
}

/* The cgroup's id, as bpf_link_info reports it: its kernfs file handle. */
static int cgroup_id_of(const char *path, __u64 *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(__u64)];
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/* This network namespace's cookie, as bpf_get_netns_cookie() gives it for
 * a socket in it; 0 when the kernel cannot say (before 5.14). */
static __u64 netns_cookie(void)
{
	socklen_t len = sizeof(__u64);
	__u64 cookie = 0;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

static int open_sock(struct loader *l)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, opts,
			    .pin_root_path = l->cfg.pin_dir);
	struct bpf_map *map;
	__u32 want;
	int err;

	l->sock = sock_bpf__open_opts(&opts);
	if (!l->sock) {
		err = -errno;
		pr_warn("open BPF object sock_bpf: %s; hostNetwork clients are not translated (F8 off)",
			strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, l->sock->obj) {
		if (bpf_map__is_internal(map))
			continue;
		if (map == l->sock->maps.svcd_sock_rev ||
		    map == l->sock->maps.svcd_sock_fwd)
			want = l->cfg.max_conntrack;
		else if (map == l->sock->maps.svcd_sock_rev6 ||
			 map == l->sock->maps.svcd_sock_fwd6)
			want = l->cfg.ipv6 ? l->cfg.max_conntrack : 1;
		else
			want = 0;
		err = adopt_pinned(l, map, want); /* logs */
		if (err)
			return err;
	}
	l->sock->rodata->node_netns_cookie =
		have(&l->cfg, FEAT_SO_NETNS_COOKIE) ? netns_cookie() : 0;
	l->sock->rodata->translate_pods = l->cfg.sock_pods;
	if (!l->sock->rodata->node_netns_cookie && !l->cfg.sock_pods)
		pr_warn("socket programs: no SO_NETNS_COOKIE (Linux 5.14), so they cannot tell the node's sockets from pods': pods in the cgroup are translated at the socket too (--socket-lb host cannot hold)");
	l->sock->rodata->have_set_retval = have(&l->cfg, FEAT_SOCK_SET_RETVAL);
	if (!l->sock->rodata->have_set_retval)
		pr_info("socket programs: no bpf_set_retval (Linux 5.18): connect() to a Service without endpoints fails with EPERM, not ECONNREFUSED");
	load_refusal[0] = '\0';
	err = sock_bpf__load(l->sock);
	if (err) {
		log_load_error(LOG_WARN, "sock_bpf", l->cfg.pin_dir, err,
			       " (no socket LB: F8 off, pods via tc)");
		migrate_abort(&l->migr, l->cfg.pin_dir);
		return err;
	}
	return migrate_copy_new(&l->migr);
}

/*
 * The link pinned at path: 0 and *link (NULL when there is none), or
 * -errno. Looks first, so that a missing pin is not a libbpf warning.
 */
static int open_pinned_link(const char *path, struct bpf_link **link)
{
	*link = NULL;
	if (access(path, F_OK))
		return errno == ENOENT ? 0 : -errno;
	*link = bpf_link__open(path);
	return *link ? 0 : -errno;
}

/* Undo a half-done loader_attach_sock: no socket link at all is left. */
static void sock_undo(struct loader *l)
{
	size_t i;

	for (i = 0; i < SVCD_SOCK_PROGS; i++) {
		if (!l->sock_links[i])
			continue;
		bpf_link__detach(l->sock_links[i]);
		bpf_link__unpin(l->sock_links[i]);
		bpf_link__destroy(l->sock_links[i]);
		l->sock_links[i] = NULL;
	}
	loader_detach_sock(l->cfg.pin_dir);
	sock_bpf__destroy(l->sock);
	l->sock = NULL;
}

/*
 * One program: update the link an earlier svcd pinned for the same cgroup
 * and hook in place, or attach and pin a new one. Returns 1 (updated), 0
 * (attached) or -errno after logging one line.
 */
static int sock_attach_one(struct loader *l, struct bpf_program *prog,
			   const char *path, int cgroup_fd, __u64 cgroup_id,
			   struct bpf_link **out)
{
	const char *cg = l->cfg.cgroup_path, *name = bpf_program__name(prog);
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	struct bpf_link *link;
	int err;

	err = open_pinned_link(path, &link);
	if (err) {
		pr_warn("open pinned link %s: %s; hostNetwork clients are not translated (F8 off)",
			path, strerror(-err));
		return err;
	}
	if (link) {
		if (!bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) &&
		    info.type == BPF_LINK_TYPE_CGROUP &&
		    info.cgroup.cgroup_id == cgroup_id &&
		    info.cgroup.attach_type ==
			    bpf_program__expected_attach_type(prog)) {
			err = bpf_link__update_program(link, prog);
			if (!err) {
				*out = link;
				return 1;
			}
			bpf_link__destroy(link);
			pr_warn("cgroup %s: replace %s in its link %s: %s; hostNetwork clients are not translated (F8 off)",
				cg, name, path, strerror(-err));
			return err;
		}
		/* pinned for another cgroup: that one is no longer ours */
		bpf_link__detach(link);
		bpf_link__unpin(link);
		bpf_link__destroy(link);
	}

	link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!link) {
		err = -errno;
		pr_warn("cgroup %s: attach %s: %s; hostNetwork clients are not translated (F8 off)",
			cg, name, strerror(-err));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err) {
		bpf_link__destroy(link); /* unpinned: detaches it */
		pr_warn("pin link of %s as %s: %s; hostNetwork clients are not translated (F8 off)",
			name, path, strerror(-err));
		return err;
	}
	*out = link;
	return 0;
}

int loader_attach_sock(struct loader *l)
{
	const char *cg = l->cfg.cgroup_path;
	struct bpf_program *progs[SVCD_SOCK_PROGS];
	int cgroup_fd = -1, err, updated = 0;
	char path[PATH_MAX];
	struct statfs st;
	__u64 cgroup_id = 0;
	size_t i;

	if (statfs(cg, &st)) {
		err = -errno;
		pr_warn("--cgroup-path %s: %s; hostNetwork clients are not translated (F8 off)",
			cg, strerror(-err));
		goto out_undo;
	}
	if (st.f_type != CGROUP2_SUPER_MAGIC) {
		pr_warn("--cgroup-path %s is not a cgroup v2 directory (mount -t cgroup2 none DIR, or name the unified hierarchy, e.g. /sys/fs/cgroup/unified); hostNetwork clients are not translated (F8 off)",
			cg);
		err = -EINVAL;
		goto out_undo;
	}
	cgroup_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = cgroup_fd < 0 ? -errno : cgroup_id_of(cg, &cgroup_id);
	if (err) {
		pr_warn("--cgroup-path %s: %s; hostNetwork clients are not translated (F8 off)",
			cg, strerror(-err));
		goto out_undo;
	}
	err = open_sock(l); /* logs */
	if (err)
		goto out_undo;

	progs[0] = l->sock->progs.sock_connect4;
	progs[1] = l->sock->progs.sock_sendmsg4;
	progs[2] = l->sock->progs.sock_recvmsg4;
	progs[3] = l->sock->progs.sock_getpeer4;
	progs[4] = l->sock->progs.sock_connect6;
	progs[5] = l->sock->progs.sock_sendmsg6;
	progs[6] = l->sock->progs.sock_recvmsg6;
	progs[7] = l->sock->progs.sock_getpeer6;
	for (i = 0; i < SVCD_SOCK_PROGS; i++) {
		sock_link_path(path, sizeof(path), l->cfg.pin_dir,
			       svcd_sock_progs[i]);
		err = sock_attach_one(l, progs[i], path, cgroup_fd, cgroup_id,
				      &l->sock_links[i]);
		if (err < 0)
			goto out_undo;
		updated += err;
	}
	pr_info("cgroup %s: socket programs %s (connect4, sendmsg4, recvmsg4, getpeername4, connect6, sendmsg6, recvmsg6, getpeername6; links pinned in %s)",
		cg, updated ? "replaced in place" : "attached", l->cfg.pin_dir);
	err = 0;
	goto out;
out_undo:
	sock_undo(l);
out:
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	return err;
}

int loader_detach_sock(const char *pin_dir)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int n = 0, err = 0, ret;
	size_t i;

	for (i = 0; i < SVCD_SOCK_PROGS; i++) {
		sock_link_path(path, sizeof(path), pin_dir, svcd_sock_progs[i]);
		ret = open_pinned_link(path, &link);
		if (ret) {
			if (!err)
				err = ret;
			pr_err("open pinned link %s: %s", path, strerror(-ret));
			continue;
		}
		if (!link)
			continue;
		/* Detach even if some process still holds the link open;
		 * then the pin goes. */
		bpf_link__detach(link);
		if (bpf_link__unpin(link)) {
			if (!err)
				err = -errno;
			pr_err("unpin link %s: %s", path, strerror(errno));
		} else {
			n++;
		}
		bpf_link__destroy(link);
	}
	return err ? err : n;
}

static int cleanup_links(const char *pin_dir,
			 struct loader_cleanup_stats *stats)
{
	struct if_nameindex *links, *link;
	int err = 0, n;

	links = if_nameindex();
	if (!links) {
		err = -errno;
		pr_err("list network interfaces: %s", strerror(-err));
		return err;
	}
	for (link = links; link->if_index; link++) {
		stats->links++;
		n = loader_detach(pin_dir, link->if_index, link->if_name);
		if (n < 0) {
			if (!err)
				err = n;
			continue;
		}
		if (n)
			pr_info("%s: removed %d svcd program%s (tcx or tc, XDP)",
				link->if_name, n, n == 1 ? "" : "s");
		stats->filters += n;
	}
	if_freenameindex(links);
	return err;
}

static int cleanup_pins(const char *pin_dir, struct loader_cleanup_stats *stats)
{
	char path[PATH_MAX];
	struct stat st;
	int err = 0;
	size_t i;

	if (stat(pin_dir, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		pr_err("--pin-dir %s: %s", pin_dir, strerror(-err));
		return err;
	}
	if (!is_bpffs(pin_dir)) {
		pr_err("--pin-dir %s is not on a bpffs mount; mount -t bpf bpf %s",
		       pin_dir, pin_dir);
		return -EINVAL;
	}
	stats->filters += tcx_sweep(pin_dir, true);
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		/* one an interrupted migration left (sys/migrate.h) */
		snprintf(path, sizeof(path), "%s/%s%s", pin_dir, pinned_maps[i],
			 SVCD_MIGRATING_SUFFIX);
		if (!unlink(path))
			stats->maps++;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned_maps[i]);
		if (unlink(path)) {
			if (errno == ENOENT)
				continue;
			if (!err)
				err = -errno;
			pr_err("unlink pinned map %s: %s", path,
			       strerror(errno));
			continue;
		}
		stats->maps++;
	}
	if (!rmdir(pin_dir))
		stats->dir_removed = true;
	else if (errno != ENOTEMPTY && errno != EEXIST && errno != EBUSY)
		pr_warn("remove --pin-dir %s: %s", pin_dir, strerror(errno));
	return err;
}

int loader_cleanup(const char *pin_dir, struct loader_cleanup_stats *stats)
{
	int err, err2;

	memset(stats, 0, sizeof(*stats));
	err = cleanup_links(pin_dir, stats);
	/* before the maps: the links hold the socket programs */
	err2 = loader_detach_sock(pin_dir);
	if (err2 > 0)
		stats->sock_links = err2;
	if (err2 < 0 && !err)
		err = err2;
	err2 = cleanup_pins(pin_dir, stats);
	return err ? err : err2;
}
