// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd/main.c - the agent: flags, setup, then one epoll loop over signals,
 * the source (--from-file through inotify, or the API watch), the sync
 * timer, link events and the HTTP listeners.
 *
 * Programs and maps stay when svcd exits, like kube-proxy's rules: a
 * restart reuses the pinned maps (ids and conntrack kept) and replaces the
 * tc programs in place. `svcd --cleanup` removes them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include <bpf/bpf.h>

#include "lib/log.h"
#include "svcd/agent.h"
#include "svcd_abi.h"
#include "sys/drain.h"
#include "sys/nfct.h"

#define EXIT_USAGE 2

/* Size ratios of the maps that have no flag of their own (the defaults'). */
#define FRONTENDS_PER_SERVICE (SVCD_DEF_FRONTENDS / SVCD_DEF_SERVICES)
#define SLOTS_PER_BACKEND (SVCD_DEF_SLOTS / SVCD_DEF_BACKENDS)

static int epoll_add(struct svcd *s, int fd, enum loop_source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

/* Returns 1 to stop the loop, 0 to go on. */
static int handle_signal(struct svcd *s)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			pr_info("SIGHUP: syncing again from %s",
				s->opts->from_file ? s->opts->from_file :
						     "the API objects");
			sync_once(s);
			break;
		default:
			pr_info("%s: exiting; programs and maps stay in place (svcd --cleanup removes them)",
				strsignal(si.ssi_signo));
			stop = 1;
			break;
		}
	}
	return stop;
}

static int run_loop(struct svcd *s)
{
	struct epoll_event evs[8];
	uint64_t expirations;
	int i, n, err;

	for (;;) {
		n = epoll_wait(s->epfd, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			pr_err("epoll_wait: %s", strerror(-err));
			return err;
		}
		for (i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case SRC_SIGNAL:
				if (handle_signal(s))
					return 0;
				break;
			case SRC_INOTIFY:
				handle_inotify(s);
				break;
			case SRC_TIMER:
				if (read(s->timerfd, &expirations,
					 sizeof(expirations)) > 0)
					sync_due(s);
				break;
			case SRC_HTTP:
				serve_dispatch(s->serve);
				break;
			case SRC_K8S:
				err = k8s_client_dispatch(s->k8s);
				if (err == -ENOMEM)
					return err;
				break;
			case SRC_NETLINK:
				err = netlink_process(s->nl);
				if (err == -ENOMEM)
					return err;
				break;
			}
		}
	}
}

static int setup_loop(struct svcd *s)
{
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0) {
		err = -errno;
		pr_err("signalfd: %s", strerror(-err));
		return err;
	}
	s->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timerfd < 0) {
		err = -errno;
		pr_err("timerfd_create: %s", strerror(-err));
		return err;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		err = -errno;
		pr_err("epoll_create1: %s", strerror(-err));
		return err;
	}
	if (s->opts->from_file) {
		err = setup_watch(s);
		if (err)
			return err;
		err = epoll_add(s, s->inofd, SRC_INOTIFY);
		if (err)
			return err;
	}
	err = epoll_add(s, s->sigfd, SRC_SIGNAL);
	if (!err)
		err = epoll_add(s, s->timerfd, SRC_TIMER);
	if (err)
		pr_err("epoll_ctl: %s", strerror(-err));
	return err;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static void on_k8s_change(void *ctx)
{
	/* Many events -> one sync, like file writes. */
	sync_soon(ctx, true);
}

/* The pin dir is svcd's alone: one made by svcd is 0700, and one found
 * open to others (made by hand, or chmod'ed) is closed again, with a
 * warning. The pins themselves are 0600, made so by the kernel. */
static void private_pin_dir(const char *pin_dir)
{
	struct stat st;

	if (stat(pin_dir, &st) || !(st.st_mode & 077))
		return;
	if (chmod(pin_dir, 0700))
		pr_warn("--pin-dir %s is mode %04o and chmod 0700 failed: %s",
			pin_dir, st.st_mode & 07777, strerror(errno));
	else
		pr_warn("--pin-dir %s was mode %04o: now 0700", pin_dir,
			st.st_mode & 07777);
}

/* --kubeconfig [--master], or in-cluster credentials with --master; read
 * before anything is loaded or pinned, so a refused kubeconfig
 * (insecure-skip-tls-verify, an unreadable file) leaves nothing behind. */
static int load_credentials(struct svcd *s)
{
	const struct options *o = s->opts;
	char err_line[512] = "";
	int err;

	if (o->kubeconfig)
		err = kubeconfig_load_file(o->kubeconfig, NULL, &s->kc,
					   err_line, sizeof(err_line));
	else
		err = kubeconfig_in_cluster(
			getenv("SVCD_SERVICEACCOUNT_DIR") ?: SA_DIR, o->master,
			&s->kc, err_line, sizeof(err_line));
	if (err) {
		pr_err("%s", err_line[0] ? err_line : strerror(-err));
		return err;
	}
	s->kc_loaded = true;
	if (o->kubeconfig && o->master) {
		err = kubeconfig_set_server(&s->kc, o->master, err_line,
					    sizeof(err_line));
		if (err) {
			pr_err("--master %s: %s", o->master, err_line);
			return err;
		}
	}
	return 0;
}

/* The API client, on the credentials load_credentials() read. */
static int setup_k8s(struct svcd *s)
{
	struct k8s_client_config kcfg = { .node_name = s->node_name };
	const char *env;
	int err;

	/* Tests: short watches, so that faults the API simulator injects
	 * into the next watch come soon (the idle limit follows, sys/k8s_watch.c). */
	env = getenv("SVCD_K8S_WATCH_TIMEOUT_S");
	if (env && *env &&
	    parse_u32("SVCD_K8S_WATCH_TIMEOUT_S", env, 1, 3600,
		      &kcfg.watch_timeout_s))
		return -EINVAL;
	pr_info("k8s: API server %s (%s), node %s", s->kc.server, s->kc.source,
		s->node_name);
	kcfg.kc = &s->kc;
	s->k8s = k8s_client_new(&kcfg, on_k8s_change, s);
	if (!s->k8s)
		return -errno;
	err = epoll_add(s, k8s_client_fd(s->k8s), SRC_K8S);
	if (err)
		pr_err("epoll_ctl: %s", strerror(-err));
	return err;
}

/* Whether any CIDR of cl is IPv6. */
static bool any_cidr6(const struct cidrlist *cl)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (cl->items[i].family == AF_INET6)
			return true;
	return false;
}

/*
 * IPv6 maps full size: the node has an IPv6 address (not loopback or
 * link-local) at start, or --cluster-cidr / --nodeport-addresses name an
 * IPv6 CIDR. Decided at start because the loader sizes the maps once; a
 * node that gets its first IPv6 address later serves IPv6 after a
 * restart (sync.c says so in one line, again when the count changes).
 */
static bool serve_ipv6(const struct options *o)
{
	return node_has_ipv6() || any_cidr6(&o->cluster_cidrs) ||
	       any_cidr6(&o->nodeport_cidrs);
}

/* The loader's sizes and SNAT source from the flags and the uplinks. */
static void loader_config_of(const struct options *o,
			     const struct probes *probes,
			     struct loader_config *lcfg)
{
	*lcfg = (struct loader_config){
		.pin_dir = o->pin_dir,
		.ipv6 = serve_ipv6(o),
		.max_frontends = o->max_services * FRONTENDS_PER_SERVICE,
		.max_slots = o->max_backends * SLOTS_PER_BACKEND,
		.max_services = o->max_services,
		.max_backends = o->max_backends,
		.max_conntrack = o->max_conntrack,
		.max_affinity = o->max_affinity,
		.cgroup_path = o->cgroup_path,
		.sock_pods = o->socket_lb_pods,
		.probes = probes,
		.uplinks = o->uplinks.n > 0,
		.snat_port_min = o->snat_port_min,
		.snat_port_max = o->snat_port_max,
	};
	if (lcfg->max_slots < SVCD_MAX_SLOTS_PER_SERVICE)
		lcfg->max_slots = SVCD_MAX_SLOTS_PER_SERVICE;
	lcfg->snat_addr = snat_address(o);
	lcfg->snat_addr6 = snat_address6(o);
	lcfg->xdp_tx_ok = !uplink_is_veth(o);
	if (o->uplinks.n && !lcfg->xdp_tx_ok)
		pr_info("uplinks: veth, so translated packets leave through tc (bpf_redirect_neigh), not XDP_TX: veth keeps partial checksums that XDP cannot update");
	if (o->uplinks.n) {
		char a[INET_ADDRSTRLEN] = "none";

		if (lcfg->snat_addr)
			inet_ntop(AF_INET, &lcfg->snat_addr, a, sizeof(a));
		else
			pr_warn("--uplinks: no IPv4 address on them yet; external traffic to remote backends under externalTrafficPolicy Cluster is dropped (restart svcd once the uplink has its address)");
		pr_info("uplinks: SNAT toward other nodes from %s, ports %u-%u",
			a, o->snat_port_min, o->snat_port_max);
	}
	if (o->uplinks.n && lcfg->ipv6) {
		char a6[INET6_ADDRSTRLEN] = "none";
		static const union svcd_ip6 zero;

		if (memcmp(&lcfg->snat_addr6, &zero, sizeof(zero)))
			fmt_ip(a6, sizeof(a6), AF_INET6, &lcfg->snat_addr6, -1);
		else
			pr_warn("--uplinks: no IPv6 address on them yet; external IPv6 traffic to remote backends under externalTrafficPolicy Cluster is dropped (restart svcd once the uplink has its address)");
		pr_info("uplinks: IPv6 SNAT toward other nodes from %s", a6);
	}
}

/*
 * One line: the kernel and what it lacks, each missing feature with the
 * release that brought it (what a fallback costs is said where the
 * fallback is taken); features turned off by --disable-feature apart.
 */
static void log_probes(const struct probes *p)
{
	char missing[1024] = "", off[512] = "";
	size_t lm = 0, lo = 0;
	int f, n = 0;

	for (f = 0; f < FEAT_MAX; f++) {
		switch (p->f[f].state) {
		case PROBE_YES:
			n++;
			break;
		case PROBE_OFF:
			lo += snprintf(off + lo,
				       lo < sizeof(off) ? sizeof(off) - lo : 0,
				       "%s%s", lo ? ", " : "", probe_name(f));
			break;
		case PROBE_NO:
		case PROBE_UNKNOWN:
			lm += snprintf(
				missing + lm,
				lm < sizeof(missing) ? sizeof(missing) - lm : 0,
				"%s%s (%s)", lm ? ", " : "", probe_name(f),
				p->f[f].state == PROBE_NO ? probe_since(f) :
							    "probe failed");
			break;
		}
	}
	pr_info("kernel %s: %d of %d features found%s%s%s%s", p->release, n,
		FEAT_MAX, lm ? "; missing: " : "", missing,
		lo ? "; off by --disable-feature: " : "", off);
}

/* Programs loaded over the pinned maps, the maps opened, the writer's
 * mirror read back from them. Returns 0 or -errno (logged). */
static int setup_datapath(struct svcd *s)
{
	const struct options *o = s->opts;
	struct loader_config lcfg;
	struct writer_limits limits;
	struct loader_sizes sizes;
	int err, n;

	err = probes_run(&s->probes,
			 (const char *const *)o->disabled_features.items,
			 o->disabled_features.n);
	if (err)
		return err;
	log_probes(&s->probes);
	loader_config_of(o, &s->probes, &lcfg);
	s->ipv6 = lcfg.ipv6;
	pr_info("IPv6: %s", s->ipv6 ?
				    "served (IPv6 maps full size)" :
				    "not served: the node has no IPv6 address");
	err = loader_prepare_pin_dir(o->pin_dir);
	if (err)
		return err;
	private_pin_dir(o->pin_dir);
	err = loader_open(&lcfg, &s->loader);
	if (err)
		return err;
	/* F8 is optional: without it (no cgroup v2, an old kernel) the rest
	 * works, and the one line logged says why. */
	if (*o->cgroup_path) {
		s->sock_attached = loader_attach_sock(s->loader) >= 0;
		if (s->sock_attached)
			pr_info("socket LB: %s",
				o->socket_lb_pods ?
					"every TCP/UDP socket under --cgroup-path, pods' included (--socket-lb all); pods' connected UDP, sessionAffinity and loadBalancerSourceRanges keep the tc path" :
					"this network namespace's sockets only (--socket-lb host); pods keep the tc path");
	} else {
		n = loader_detach_sock(o->pin_dir);
		if (n > 0)
			pr_info("--cgroup-path is empty: removed %d socket program links left by an earlier run",
				n);
	}
	loader_get_sizes(s->loader, &sizes);
	err = svcd_maps_open_pinned(o->pin_dir, &s->maps); /* logs */
	if (err)
		return err;
	s->maps_open = true;
	s->shortfall_fd = svcd_shortfall_open(o->pin_dir); /* logs */
	/* the first sync writes it whatever an earlier run left there */
	memset(s->shortfall, 0xff, sizeof(s->shortfall));
	limits.max_services = sizes.services;
	limits.max_backends = sizes.backends;
	s->writer = writer_new(&svcd_bpf_writer_ops, &s->maps, &limits);
	if (!s->writer) {
		err = -errno;
		pr_err("read the maps in %s back: %s; svcd --cleanup starts afresh",
		       o->pin_dir, strerror(-err));
		return err;
	}
	pr_info("maps in %s: %zu services, %zu backends already there; node %s",
		o->pin_dir, writer_service_count(s->writer),
		writer_backend_count(s->writer), s->node_name);
	return 0;
}

static int run_agent(const struct options *o)
{
	struct svcd s = {
		.opts = o,
		.epfd = -1,
		.sigfd = -1,
		.inofd = -1,
		.timerfd = -1,
		.shortfall_fd = -1,
	};
	int err;

	err = set_node_name(&s);
	if (err)
		return err;
	err = setup_loop(&s);
	if (err)
		goto out;
	if (!o->from_file) {
		err = load_credentials(&s);
		if (err)
			goto out;
	}
	err = setup_datapath(&s);
	if (err)
		goto out;

	s.serve = serve_new(o->healthz_addr, o->metrics_addr, &s.maps);
	if (!s.serve) {
		err = -errno;
		goto out; /* logged with the address */
	}
	serve_set_ipv6(s.serve, s.ipv6);
	serve_set_datapath(s.serve, &s.probes, links_variants, &s);
	err = epoll_add(&s, serve_fd(s.serve), SRC_HTTP);
	if (err) {
		pr_err("epoll_ctl: %s", strerror(-err));
		goto out;
	}

	/* the entries the old programs made since load, in the new maps
	 * before the new programs meet their flows' next packets */
	loader_migrate_catch_up(s.loader);
	/* Attaches to every existing match through on_link_up. */
	s.nl = netlink_open(&link_ops, &s);
	if (!s.nl) {
		err = -errno;
		goto out;
	}
	err = epoll_add(&s, netlink_fd(s.nl), SRC_NETLINK);
	if (err) {
		pr_err("epoll_ctl: %s", strerror(-err));
		goto out;
	}
	/* every hook runs the new programs now: a map given a new size
	 * takes what the old ones added meanwhile, and its old pin goes */
	loader_migrate_finish(s.loader);

	if (o->from_file) {
		sync_once(&s);
	} else {
		err = setup_k8s(&s);
		if (err)
			goto out;
	}
	err = run_loop(&s);
out:
	k8s_client_free(s.k8s);
	serve_free(s.serve);
	if (s.kc_loaded)
		kubeconfig_free(&s.kc);
	netlink_close(s.nl);
	writer_free(s.writer);
	if (s.maps_open)
		svcd_maps_close(&s.maps);
	loader_close(s.loader);
	close_fd(s.epfd);
	close_fd(s.sigfd);
	close_fd(s.inofd);
	close_fd(s.timerfd);
	close_fd(s.shortfall_fd);
	free(s.links);
	sync_state_free(&s);
	return err;
}

static volatile bool drain_stop;

static void on_drain_signal(int sig)
{
	(void)sig;
	drain_stop = true;
}

static int run_cleanup(const struct options *o)
{
	struct loader_cleanup_stats st;
	struct sigaction sa = { .sa_handler = on_drain_signal };
	struct drain_ct ct = { .fd = { -1, -1, -1, -1 } };
	struct drain_pass p = {};
	unsigned long left;
	struct nfct *nf;
	int err;

	if (o->drain_s) {
		/* SIGINT/SIGTERM end the wait, not the cleanup */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		err = drain_wait(o->pin_dir, o->drain_s, &drain_stop, &left);
		if (err == -ENOENT)
			pr_info("drain: no svcd maps pinned in %s: nothing to drain",
				o->pin_dir);
		else if (err)
			return err;
	}
	/* the flows' table outlives its pin until the stack's entries of
	 * their translated replies are gone (sys/nfct.h) */
	nf = nfct_open();
	if (nf && drain_open_ct(o->pin_dir, &ct))
		drain_close_ct(&ct);
	err = loader_cleanup(o->pin_dir, &st);
	pr_info("cleanup: removed %u programs (tc filters and XDP; %u links looked at), %u cgroup socket links, %u pinned maps from %s%s",
		st.filters, st.links, st.sock_links, st.maps, o->pin_dir,
		st.dir_removed ? " and the directory" : "");
	if (nf && !drain_pass(&ct, nf, 0, true, &p)) {
		if (p.forgot)
			pr_info("cleanup: %lu entries of replies svcd translated deleted from the stack's conntrack (a client reusing their ports now meets the stack's rules)",
				p.forgot);
		else if (p.nf_err)
			pr_warn("cleanup: the stack's conntrack entries of translated replies: %s",
				strerror(-p.nf_err));
	}
	drain_close_ct(&ct);
	nfct_close(nf);
	return err;
}

int main(int argc, char **argv)
{
	struct options opts = {};
	int err;

	log_set_prefix("svcd");
	err = parse_args(argc, argv, &opts);
	if (err) {
		options_free(&opts);
		return err == -ENOMEM ? 1 : EXIT_USAGE;
	}
	if (opts.help) {
		usage(stdout);
		options_free(&opts);
		return 0;
	}
	/* Warnings are always shown (log.h). */
	log_set_level(opts.verbosity < LOG_WARN ? LOG_WARN : opts.verbosity);
	loader_set_libbpf_log();
	signal(SIGPIPE, SIG_IGN);

	if (opts.cleanup) {
		err = run_cleanup(&opts);
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		err = run_agent(&opts);
		curl_global_cleanup();
	}
	options_free(&opts);
	return err ? 1 : 0;
}
