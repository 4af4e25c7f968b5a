// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd/sync.c - from a source to the maps: the --from-file text (inotify on
 * its directory) or the API objects, built into a desired state by the
 * model and written by the writer, rate-limited by one timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lib/arena.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "sys/pinned.h"
#include "sys/takeover.h"
#include "lib/model.h"
#include "svcd/agent.h"

/*
 * When a change is synced (sync_soon): a complete change (a file closed or
 * moved into place) after a quiet spell at once, but for a moment that
 * lets the rest of its burst arrive (an API event: at once, its dispatch
 * took the burst); then the next one waits SYNC_MIN_GAP_NS after it (not
 * after an incremental sync), or as long as it took if longer, so a steady
 * stream of changes costs at most half a CPU and is never starved (a timer that every change pushed back
 * would never fire under a change every 50 ms). A file just created is
 * read SYNC_PARTIAL_NS later unless its writer closes it sooner (a hard
 * link made in place is never closed; a redirect is, once written).
 */
#define SYNC_BATCH_NS (1 * 1000 * 1000)
#define SYNC_MIN_GAP_NS (100 * 1000 * 1000)
#define SYNC_PARTIAL_NS (1000 * 1000 * 1000)
#define MAX_SOURCE_FILE (512u << 20) /* larger than any real List */

static int read_file(const char *path, char **text, size_t *len)
{
	size_t size = 0, cap = 64 * 1024;
	char *buf = NULL, *grown;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || size == cap) {
			if (buf)
				cap *= 2;
			if (cap > MAX_SOURCE_FILE) {
				err = -EFBIG;
				goto out;
			}
			grown = realloc(buf, cap + 1);
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			buf = grown;
		}
		n = read(fd, buf + size, cap - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		size += n;
	}
	buf[size] = '\0';
	*text = buf;
	*len = size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void prev_errors_free(struct svcd *s)
{
	size_t i;

	for (i = 0; i < s->n_prev_errors; i++)
		free(s->prev_errors[i]);
	free(s->prev_errors);
	s->prev_errors = NULL;
	s->n_prev_errors = 0;
}

/*
 * One line per problem. With the API source a sync follows every burst of
 * events, so a problem already logged by the previous sync is only
 * counted; a file is logged whole each time it changes.
 */
static void log_model_errors(struct svcd *s)
{
	size_t i, repeated = 0;
	char **now = NULL;

	for (i = 0; i < s->n_model_errors; i++) {
		if (s->k8s && s->n_prev_errors &&
		    bsearch(&s->model_errors[i], s->prev_errors,
			    s->n_prev_errors, sizeof(char *), str_cmp)) {
			repeated++;
			continue;
		}
		pr_err("%s", s->model_errors[i]);
	}
	if (repeated)
		pr_debug("sync: %zu problems logged before are still there",
			 repeated);
	prev_errors_free(s);
	if (!s->k8s || !s->n_model_errors)
		return;
	now = calloc(s->n_model_errors, sizeof(*now));
	if (!now)
		return;
	for (i = 0; i < s->n_model_errors; i++) {
		now[i] = strdup(s->model_errors[i]);
		if (!now[i])
			break;
	}
	s->prev_errors = now;
	s->n_prev_errors = i;
	qsort(now, i, sizeof(*now), str_cmp);
}

static void model_errors_clear(struct svcd *s)
{
	size_t i;

	for (i = 0; i < s->n_model_errors; i++)
		free(s->model_errors[i]);
	s->n_model_errors = 0;
}

/* Kept until the build is over: a document that is not a List is
 * reported as one line, the rest one line per object. */
static void on_model_error(void *ctx, const char *line)
{
	struct svcd *s = ctx;
	char *copy;

	if (s->n_model_errors == s->cap_model_errors) {
		size_t cap = s->cap_model_errors ? 2 * s->cap_model_errors : 16;
		char **grown;

		grown = realloc(s->model_errors, cap * sizeof(*grown));
		if (!grown) {
			pr_err("%s", line);
			return;
		}
		s->model_errors = grown;
		s->cap_model_errors = cap;
	}
	copy = strdup(line);
	if (!copy) {
		pr_err("%s", line);
		return;
	}
	s->model_errors[s->n_model_errors++] = copy;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	       (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

#define MAX_NODE_ADDRS 64

/* Whether cl names a CIDR of family (AF_INET, AF_INET6). */
static bool has_family(const struct cidrlist *cl, int family)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (cl->items[i].family == family)
			return true;
	return false;
}

/*
 * The node's addresses for NodePorts, read with getifaddrs() (a netlink
 * dump of every link and address: two of them cost more than the rest
 * of an incremental sync) only when they may have changed: a netlink
 * socket subscribed to address events, never read in the event loop, is
 * drained at each sync; anything on it (or an overflow, or no socket)
 * means read them again. An event that comes between the drain and the
 * dump stays queued for the next sync.
 */
static struct {
	bool opened;
	int fd; /* -1: none (the addresses are read every time) */
	bool valid;
	size_t n4, n6;
	__be32 addrs[MAX_NODE_ADDRS];
	union svcd_ip6 addrs6[MAX_NODE_ADDRS];
} addr_cache;

static bool addrs_may_have_changed(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	char buf[8192];
	bool changed = false;
	ssize_t n;

	if (!addr_cache.opened) {
		addr_cache.opened = true;
		addr_cache.fd = socket(AF_NETLINK,
				       SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
				       NETLINK_ROUTE);
		if (addr_cache.fd >= 0 &&
		    bind(addr_cache.fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(addr_cache.fd);
			addr_cache.fd = -1;
		}
		if (addr_cache.fd < 0) {
			addr_cache.fd = -1;
			pr_debug(
				"sync: no netlink socket for address events (%s); the node's addresses are read at every sync",
				strerror(errno));
		}
		return true;
	}
	if (addr_cache.fd < 0)
		return true;
	for (;;) {
		n = recv(addr_cache.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			changed = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* ENOBUFS: events were lost, so something changed */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			changed = true;
		return changed;
	}
}

static void node_addrs_now(struct svcd *s, struct model_config *cfg)
{
	/* drained first: the events before this dump are in it */
	bool changed = addrs_may_have_changed();

	if (changed || !addr_cache.valid) {
		addr_cache.n4 = node_addresses(s->opts, addr_cache.addrs,
					       MAX_NODE_ADDRS);
		addr_cache.n6 = node_addresses6(s->opts, addr_cache.addrs6,
						MAX_NODE_ADDRS);
		addr_cache.valid = addr_cache.fd >= 0;
	}
	cfg->n_node_addrs = addr_cache.n4;
	cfg->node_addrs = addr_cache.addrs;
	cfg->n_node_addrs6 = addr_cache.n6;
	cfg->node_addrs6 = addr_cache.addrs6;
}

/* The model's view of this node, as of now (its addresses point into
 * addr_cache until the next sync). */
static void build_cfg(struct svcd *s, struct model_config *cfg,
		      struct store_node_info *node)
{
	*cfg = (struct model_config){
		.node_name = s->node_name,
		.quiet_orphan_slices = s->k8s != NULL,
		/* --cluster-cidr per family, as kube-proxy's dual-stack
		 * list: ClusterIPs of a family answer from outside when a
		 * CIDR of that family is given */
		.cluster_ips_from_outside =
			has_family(&s->opts->cluster_cidrs, AF_INET),
		.cluster_ips_from_outside6 =
			has_family(&s->opts->cluster_cidrs, AF_INET6),
	};
	memset(node, 0, sizeof(*node));
	if (s->k8s && !k8s_client_node_info(s->k8s, node))
		cfg->node_zone = node->zone[0] ? node->zone : NULL;
	/* NodePorts answer on this node's addresses, as kube-proxy's
	 * --nodeport-addresses picks them (default: all of them). */
	node_addrs_now(s, cfg);
	/* and so do healthCheckNodePorts when that flag narrows them
	 * (kube-proxy's rule; else the wildcard address) */
	if (s->serve && s->opts->nodeport_cidrs.n)
		serve_set_hc_addresses(s->serve, cfg->node_addrs,
				       cfg->n_node_addrs, cfg->node_addrs6,
				       cfg->n_node_addrs6);
}

/* What a sync did, for its /metrics figures and its log line. */
struct sync_done {
	const struct timespec *t0; /* the sync's start */
	uint64_t change_ns;	   /* the change it answers, 0: none */
	/* new healthCheckNodePorts for the server, or NULL: unchanged */
	const struct model_state *healthchecks;
	const struct writer_stats *ws;
	size_t frontends, errors;
	double built_ms, write_ms;
	size_t incremental; /* Services rebuilt by an incremental sync, or 0 */
	size_t text_len;    /* bytes of --from-file read, or 0 */
};

/*
 * The end of every sync, whole or incremental: the histogram, the health
 * and metrics server's view, then one line (the agent tests and the
 * bench read it: one per sync) and one more when UDP flows were flushed.
 */
static void sync_finish(struct svcd *s, const struct sync_done *d)
{
	const struct writer_stats *ws = d->ws;
	char tail[192];
	int i;

	if (s->serve && d->change_ns) {
		uint64_t now = mono_ns();

		serve_observe_change(
			s->serve,
			now > d->change_ns ? (now - d->change_ns) / 1e9 : 0);
	}
	if (s->serve) {
		struct serve_sync_info info = {
			.ok = true,
			.ms = ms_since(d->t0),
			.services = writer_service_count(s->writer),
			.frontends = d->frontends,
			.backends = writer_backend_count(s->writer),
			.errors = d->errors,
		};

		memcpy(info.full, ws->full, sizeof(info.full));
		if (d->healthchecks)
			serve_set_healthchecks(s->serve, d->healthchecks);
		serve_note_sync(s->serve, &info);
	}
	if (d->incremental)
		snprintf(
			tail, sizeof(tail),
			"in %.3f ms (incremental, %zu Services: build %.3f, maps %.3f)",
			ms_since(d->t0), d->incremental, d->built_ms,
			d->write_ms);
	else if (d->text_len) /* --from-file keeps its full re-read: what
				* it costs per MB of input */
		snprintf(
			tail, sizeof(tail),
			"in %.1f ms (read and build %.1f, maps %.1f; %.2f MB of --from-file, %.1f ms per MB)",
			ms_since(d->t0), d->built_ms, d->write_ms,
			d->text_len / 1e6,
			ms_since(d->t0) / (d->text_len / 1e6));
	else
		snprintf(tail, sizeof(tail),
			 "in %.1f ms (read and build %.1f, maps %.1f)",
			 ms_since(d->t0), d->built_ms, d->write_ms);
	pr_info("sync: %zu services, %zu frontends, %zu backends (+%u ~%u -%u), %zu errors %s",
		writer_service_count(s->writer), d->frontends,
		writer_backend_count(s->writer), ws->services_added,
		ws->services_updated, ws->services_removed,
		s->n_model_errors + ws->errors, tail);
	if (ws->udp_flows_flushed)
		pr_info("sync: flushed %u UDP flows to removed backends",
			ws->udp_flows_flushed);
	/* a full map: one line a map, however many sets it stopped */
	for (i = 0; i < SVCD_SF_COUNT; i++)
		if (ws->full[i])
			pr_err("sync: map %s is full: %u Service ports not installed or left at their previous version (the first: %s); %s gives it room, and a restart with it migrates the maps, flows kept",
			       svcd_shortfall_name(i), ws->full[i],
			       ws->full_first[i], svcd_shortfall_flag(i));
	/* written when it changes, not at every (per-event) sync */
	if (s->shortfall_fd >= 0 &&
	    memcmp(s->shortfall, ws->full, sizeof(s->shortfall))) {
		if (svcd_shortfall_write(s->shortfall_fd, ws->full))
			pr_warn("sync: write %s: %s", SVCD_MAP_SHORTFALL,
				strerror(errno));
		else
			memcpy(s->shortfall, ws->full, sizeof(s->shortfall));
	}
}

/*
 * Applies a desired state built from doc (file text or API objects).
 * change_ns: when the change that caused this sync arrived (0: none, a
 * list or the start), for svcd_change_to_maps_seconds. With the API
 * source the whole state seeds the incremental builds (s->inc).
 */
/*
 * After the first sync of this start, the frontends are in the maps: the
 * stack's conntrack entries of the flows another proxy's DNAT sent to
 * them go (sys/takeover.h). One dump of the stack's table, once.
 */
static void sweep_stack_dnat(struct svcd *s)
{
	struct takeover_result r;
	uint64_t t0 = mono_ns();
	double ms;
	int err;

	if (!s->maps_open)
		return;
	err = takeover_sweep(s->maps.fd[WMAP_FRONTENDS],
			     s->maps.fd[WMAP_FRONTENDS6], &r);
	ms = (double)(mono_ns() - t0) / 1e6;
	if (err)
		pr_warn("takeover: the stack's conntrack: %s (%lu entries of other NAT toward svcd's frontends deleted before it, in %.1f ms)",
			strerror(-err), r.deleted, ms);
	else if (r.matched)
		pr_info("takeover: %lu of the stack's conntrack entries that NAT sent to svcd's frontends deleted in %.1f ms (%lu found; another proxy's flows, kube-proxy's: svcd translates them now, and the entries would clash with its flows on the same client ports)",
			r.deleted, ms, r.matched);
	else
		pr_debug(
			"takeover: none of the stack's %lu DNAT conntrack entries goes to svcd's frontends (%.1f ms)",
			r.dnat, ms);
}

static void sync_apply(struct svcd *s, const char *source, const char *text,
		       size_t len, const struct model_source *src,
		       struct timespec *t0, uint64_t change_ns)
{
	struct model_config cfg;
	struct store_node_info node;
	size_t dropped;
	struct model_state state = {};
	struct writer_stats ws = {};
	double built_ms, write_ms;
	int err;

	build_cfg(s, &cfg, &node);
	model_errors_clear(s);
	if (src)
		err = model_build_source(src, &cfg, on_model_error, s, &state);
	else
		err = model_build_text(text, len, &cfg, on_model_error, s,
				       &state);
	if (err && s->inc)
		model_inc_reset(s->inc); /* the next sync is whole again */
	if (err == -EINVAL) {
		pr_err("%s: %s; maps left as they are", source,
		       s->n_model_errors ?
			       s->model_errors[0] :
			       "not a JSON List of Service and EndpointSlice objects");
		goto out;
	}
	if (err) {
		pr_err("%s: build the desired state: %s; maps left as they are",
		       source, strerror(-err));
		goto out;
	}
	log_model_errors(s);
	if (s->inc && model_inc_seed(s->inc, &state, &cfg))
		pr_warn("sync: out of memory keeping the state for incremental syncs; the next sync is whole too");
	/* IPv6 maps are 1-entry placeholders: leave IPv6 out, in one line
	 * (not one map error per IPv6 Service) */
	dropped = s->ipv6 ? 0 : model_state_drop_family(&state, MODEL_IPV6);
	if (dropped && dropped != s->v6_dropped)
		pr_warn("%s: %zu IPv6 frontends not served: the node had no IPv6 address when svcd started (restart svcd once it has one)",
			source, dropped);
	s->v6_dropped = dropped;
	built_ms = ms_since(t0);

	/* Errors are logged by the writer per set, counted in ws. */
	writer_sync(s->writer, &state, &ws);
	if (!s->stack_swept) {
		s->stack_swept = true;
		sweep_stack_dnat(s);
	}
	/* a set left at its old version: the next sync retries it whole */
	if (ws.errors && s->inc)
		model_inc_reset(s->inc);
	s->last_sync_incremental = false;
	write_ms = ms_since(t0) - built_ms;
	sync_finish(s, &(struct sync_done){
			       .t0 = t0,
			       .change_ns = change_ns,
			       .healthchecks = &state,
			       .ws = &ws,
			       .frontends = state.n_frontends,
			       .errors = s->n_model_errors + ws.errors,
			       .built_ms = built_ms,
			       .write_ms = write_ms,
			       .text_len = text ? len : 0,
		       });
out:
	model_errors_clear(s);
	model_state_free(&state);
	/* A sync frees a whole parsed cluster; give it back to the system
	 * rather than keep it in glibc's free lists until the next one. */
	malloc_trim(0);
}

/*
 * The incremental sync's logging: a problem not logged before is logged
 * and remembered; the set is whole again at the next whole sync.
 */
static void log_model_errors_inc(struct svcd *s)
{
	size_t i, j, repeated = 0;
	char **grown, *copy;

	for (i = 0; i < s->n_model_errors; i++) {
		if (s->n_prev_errors &&
		    bsearch(&s->model_errors[i], s->prev_errors,
			    s->n_prev_errors, sizeof(char *), str_cmp)) {
			repeated++;
			continue;
		}
		pr_err("%s", s->model_errors[i]);
		copy = strdup(s->model_errors[i]);
		grown = copy ? realloc(s->prev_errors, (s->n_prev_errors + 1) *
							       sizeof(*grown)) :
			       NULL;
		if (!grown) {
			free(copy);
			continue;
		}
		s->prev_errors = grown;
		for (j = s->n_prev_errors;
		     j > 0 && strcmp(grown[j - 1], copy) > 0; j--)
			grown[j] = grown[j - 1];
		grown[j] = copy;
		s->n_prev_errors++;
	}
	if (repeated)
		pr_debug("sync: %zu problems logged before are still there",
			 repeated);
}

/*
 * Only the Services named (names[0..n), sorted, unique) are rebuilt
 * (model_inc) and written (writer_sync_partial). Returns 0 when done,
 * -EAGAIN when only a whole sync is exact (nothing written), -ENOMEM.
 */
static int sync_partial(struct svcd *s, char **names, size_t n,
			struct timespec *t0, uint64_t change_ns)
{
	struct model_config cfg;
	struct store_node_info node;
	struct model_state part = {}, hcs;
	struct writer_stats ws = {};
	double built_ms, write_ms;
	size_t i, frontends;
	bool have_hcs;
	cJSON *objs;
	int err = 0;

	build_cfg(s, &cfg, &node);
	model_errors_clear(s);
	for (i = 0; i < n && !err; i++) {
		objs = k8s_client_service_objects(s->k8s, names[i]);
		if (!objs) {
			err = -ENOMEM;
			break;
		}
		err = model_inc_update(s->inc, names[i], objs, &cfg,
				       on_model_error, s, &part);
		cJSON_Delete(objs);
	}
	if (err) {
		model_errors_clear(s);
		model_state_free(&part);
		return err;
	}
	/* the IPv6 line of a whole sync stays as it was */
	if (!s->ipv6)
		model_state_drop_family(&part, MODEL_IPV6);
	built_ms = ms_since(t0);
	err = writer_sync_partial(s->writer, &part, (const char *const *)names,
				  n, &ws);
	if (err == -EAGAIN) {
		model_errors_clear(s);
		model_state_free(&part);
		return err;
	}
	log_model_errors_inc(s);
	write_ms = ms_since(t0) - built_ms;
	/* a set left at its old version: the next sync retries it whole */
	if (ws.errors)
		model_inc_reset(s->inc);
	s->last_sync_incremental = true;
	frontends = model_inc_frontends(s->inc, MODEL_IPV4) +
		    (s->ipv6 ? model_inc_frontends(s->inc, MODEL_IPV6) : 0);
	have_hcs = s->serve && model_inc_take_hc_changed(s->inc) &&
		   !model_inc_healthchecks(s->inc, &hcs);
	sync_finish(s, &(struct sync_done){
			       .t0 = t0,
			       .change_ns = change_ns,
			       .healthchecks = have_hcs ? &hcs : NULL,
			       .ws = &ws,
			       .frontends = frontends,
			       .errors = s->n_prev_errors + ws.errors,
			       .built_ms = built_ms,
			       .write_ms = write_ms,
			       .incremental = n,
		       });
	if (have_hcs)
		model_state_free(&hcs);
	model_errors_clear(s);
	model_state_free(&part);
	return 0;
}

static void names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Sorted, each once. */
static size_t names_unique(char **names, size_t n)
{
	size_t i, k = 0;

	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	for (i = 0; i < n; i++) {
		if (k && !strcmp(names[i], names[k - 1])) {
			free(names[i]);
			continue;
		}
		names[k++] = names[i];
	}
	return k;
}

/* model_build_source() over the API source's stores. One object's tree
 * at a time: 1 MiB holds any but an EndpointSlice of thousands of
 * endpoints (which gets a chunk of its own). */
#define API_OBJECT_ARENA (1u << 20)

struct api_source {
	const struct k8s_client *k8s;
	struct arena *arena;
};

static const cJSON *api_object(void *ctx, size_t i)
{
	struct api_source *as = ctx;
	cJSON *obj;

	/* the previous object is done with: its memory is this one's */
	arena_reset(as->arena);
	arena_use(as->arena);
	obj = k8s_client_object_at(as->k8s, i);
	arena_use(NULL);
	return obj;
}

void sync_once(struct svcd *s)
{
	const char *path = s->opts->from_file;
	uint64_t change_ns;
	struct timespec t0;
	char *text = NULL, **names = NULL;
	size_t len = 0, n_names = 0;
	struct api_source api_src;
	bool whole = false;
	struct arena *arena;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the change this sync answers (none for the first one) */
	change_ns = s->change_first_ns;
	s->change_first_ns = 0;
	if (s->k8s) {
		/* Until both lists are in, a sync would delete every
		 * service the missing half names. */
		if (!k8s_client_synced(s->k8s))
			return;
		change_ns = k8s_client_take_change_ns(s->k8s);
		k8s_client_take_changes(s->k8s, &names, &n_names, &whole);
		n_names = names_unique(names, n_names);
		if (!s->inc)
			s->inc = model_inc_new();
		/* Services changed, nothing else: rebuild only those (a
		 * sync with none is SIGHUP's or the Node's: whole) */
		if (s->k8s_synced_once && !whole && n_names && s->inc) {
			err = sync_partial(s, names, n_names, &t0, change_ns);
			if (!err) {
				names_free(names, n_names);
				return;
			}
			pr_debug(
				"sync: %zu Services changed, syncing whole (%s)",
				n_names,
				err == -EAGAIN ? "not exact incrementally" :
						 strerror(-err));
		}
		names_free(names, n_names);
		/* One object at a time, each parsed into an arena that the
		 * next one reuses: the build never holds the cluster as one
		 * cJSON tree (100+ MiB at 10,000 Services). */
		arena = arena_new_chunked(API_OBJECT_ARENA);
		if (!arena) {
			pr_err("API objects: out of memory; maps left as they are");
			return;
		}
		if (!s->k8s_synced_once) {
			pr_info("k8s: first full list received, syncing");
			change_ns = 0; /* a list, not a change */
		}
		s->k8s_synced_once = true;
		api_src.k8s = s->k8s;
		api_src.arena = arena;
		sync_apply(s, "API objects", NULL, 0,
			   &(struct model_source){
				   .n = k8s_client_objects(s->k8s),
				   .get = api_object,
				   .ctx = &api_src,
			   },
			   &t0, change_ns);
		arena_free(arena);
		return;
	}
	err = read_file(path, &text, &len);
	if (err) {
		pr_err("read --from-file %s: %s; maps left as they are", path,
		       strerror(-err));
		return;
	}
	sync_apply(s, path, text, len, NULL, &t0, change_ns);
	free(text);
}

/* A change came in: sync by a deadline that only ever moves earlier. */
void sync_soon(struct svcd *s, bool complete)
{
	struct itimerspec its = {};
	uint64_t now = mono_ns(), due, gap = SYNC_MIN_GAP_NS;

	/* After an incremental sync (a few Services, well under a
	 * millisecond) the next one waits only as long as it took: still
	 * at most half a CPU, without the floor meant for whole ones. */
	if (s->last_sync_incremental)
		gap = 0;
	if (s->last_sync_cost_ns > gap)
		gap = s->last_sync_cost_ns;
	due = now + (complete ? SYNC_BATCH_NS : SYNC_PARTIAL_NS);
	/* An API event: the dispatch that brought it took all that had
	 * arrived; waiting for more would only delay it. */
	if (complete && s->k8s)
		due = now;
	if (s->last_sync_ns && due < s->last_sync_ns + gap)
		due = s->last_sync_ns + gap;
	if (s->sync_due_ns && s->sync_due_ns <= due)
		return; /* rides along with the sync already due */
	s->sync_due_ns = due;
	its.it_value.tv_sec = (time_t)(due / 1000000000ull);
	its.it_value.tv_nsec = (long)(due % 1000000000ull);
	timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The timer fired: the sync sync_soon() set up, timed for the next. */
void sync_due(struct svcd *s)
{
	uint64_t t0 = mono_ns();

	s->sync_due_ns = 0;
	sync_once(s);
	s->last_sync_ns = mono_ns();
	s->last_sync_cost_ns = s->last_sync_ns - t0;
}

void handle_inotify(struct svcd *s)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool hit = false, complete = false;
	uint64_t t = mono_ns();
	ssize_t n;
	char *p;

	for (;;) {
		n = read(s->inofd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				hit = complete = true;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
				pr_warn("--from-file directory %s was removed or moved; changes are no longer seen (restart svcd)",
					s->watch_dir);
			if (ev->len && !strcmp(ev->name, s->watch_name)) {
				hit = true;
				/* IN_CREATE alone: still being written */
				if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
					complete = true;
			}
		}
	}
	if (!hit)
		return;
	if (!s->change_first_ns)
		s->change_first_ns = t;
	sync_soon(s, complete);
}

int setup_watch(struct svcd *s)
{
	const char *path = s->opts->from_file;
	char *slash;
	int err;

	s->watch_dir = strdup(path);
	if (!s->watch_dir)
		return -ENOMEM;
	slash = strrchr(s->watch_dir, '/');
	if (!slash) {
		s->watch_name = path;
		strcpy(s->watch_dir, ".");
	} else {
		s->watch_name = path + (slash - s->watch_dir) + 1;
		if (slash == s->watch_dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!*s->watch_name) {
		pr_err("--from-file %s: names a directory, not a file", path);
		return -EINVAL;
	}
	s->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inofd < 0) {
		err = -errno;
		pr_err("inotify_init1: %s", strerror(-err));
		return err;
	}
	/* The directory, not the file: editors and `mv` replace the file,
	 * and `kubectl ... > file` truncates and rewrites it. */
	if (inotify_add_watch(s->inofd, s->watch_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
				      IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		err = -errno;
		pr_err("watch directory %s of --from-file: %s", s->watch_dir,
		       strerror(-err));
		return err;
	}
	return 0;
}

void sync_state_free(struct svcd *s)
{
	model_errors_clear(s);
	free(s->model_errors);
	prev_errors_free(s);
	free(s->watch_dir);
	model_inc_free(s->inc);
	s->inc = NULL;
	if (addr_cache.fd >= 0 && addr_cache.opened)
		close(addr_cache.fd);
	addr_cache.opened = addr_cache.valid = false;
}
