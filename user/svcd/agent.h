/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svcd/agent.h - the agent's state (struct svcd) and options, shared by
 * the files of svcd/: main.c (setup and the epoll loop), flags.c (command
 * line), sync.c (the --from-file / API source to the writer), links.c
 * (attach to interfaces as they come), node.c (this node's names and
 * addresses).
 */
#ifndef SVCD_AGENT_H
#define SVCD_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/k8s/kubeconfig.h"
#include "sys/k8s_watch.h"
#include "sys/loader.h"
#include "sys/netlink.h"
#include "sys/pinned.h"
#include "svcd/serve.h"
#include "lib/writer/writer.h"

#define DEFAULT_PIN_DIR "/sys/fs/bpf/svcd"
/* The cgroup v2 root, as Cilium's --cgroup-root: every node process. */
#define DEFAULT_CGROUP_PATH "/sys/fs/cgroup"
#define DEFAULT_VERBOSITY 2

struct strlist {
	char **items;
	size_t n;
};

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned int prefix;
};

struct cidrlist {
	struct cidr *items;
	size_t n;
};

struct options {
	const char *from_file;
	const char *kubeconfig;
	const char *master;
	const char *hostname;
	struct strlist pod_ifaces; /* fnmatch globs */
	struct strlist uplinks;
	struct cidrlist nodeport_cidrs;
	struct cidrlist cluster_cidrs;
	const char *pin_dir;
	const char *cgroup_path; /* "": socket programs off */
	/* --socket-lb: true (all) translates pods' sockets at the socket
	 * too; false (host) only the node's own (hostNetwork) sockets */
	bool socket_lb_pods;
	/* --disable-feature: probe names (sys/probe.h) taken as missing */
	struct strlist disabled_features;
	const char *metrics_addr;
	const char *healthz_addr;
	bool cleanup;
	uint32_t drain_s; /* --drain: 0 none */
	bool help;
	int verbosity;
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t max_conntrack;
	uint32_t max_affinity;
	uint16_t snat_port_min, snat_port_max;
};

struct attached_link {
	int ifindex;
	char name[IF_NAMESIZE];
	bool uplink;
	enum loader_xdp_mode mode; /* uplinks: XDP native, generic or none */
};

enum loop_source {
	SRC_SIGNAL,
	SRC_INOTIFY,
	SRC_TIMER,
	SRC_NETLINK,
	SRC_K8S,
	SRC_HTTP,
};

struct svcd {
	const struct options *opts;
	char node_name[256];
	/* The IPv6 maps are full size (loader_config.ipv6): the node had an
	 * IPv6 address at start, or a flag named an IPv6 CIDR. Without it
	 * IPv6 frontends are left out of the maps (one line per sync). */
	bool ipv6;
	size_t v6_dropped; /* IPv6 frontends left out by the last sync */
	struct loader *loader;
	struct probes probes; /* what the kernel has, found at start */
	bool sock_attached;   /* the cgroup socket programs are attached */
	struct svcd_maps maps;
	bool maps_open;
	int shortfall_fd; /* svcd_shortfall, for svcctl status; -1: none */
	__u32 shortfall[SVCD_SF_COUNT]; /* as last written there */
	struct writer *writer;
	struct netlink *nl;
	struct kubeconfig kc;
	bool kc_loaded;
	struct k8s_client *k8s;
	bool k8s_synced_once;
	bool stack_swept; /* sweep_stack_dnat() ran (after the first sync) */
	struct model_inc *inc; /* the API source's incremental builds */
	struct serve *serve;   /* health checks, /healthz, /metrics */
	int epfd, sigfd, inofd, timerfd;
	uint64_t sync_due_ns;  /* the timer's deadline, 0 when disarmed */
	uint64_t last_sync_ns; /* end of the last sync, 0 before the first */
	uint64_t last_sync_cost_ns; /* how long it took */
	bool last_sync_incremental; /* it rebuilt a few Services only */
	/* when the first --from-file change not yet synced was seen, 0: none
	 * (the API source keeps its own: k8s_client_take_change_ns) */
	uint64_t change_first_ns;
	char *watch_dir;	/* directory of --from-file */
	const char *watch_name; /* its last component, inside watch_dir */
	struct attached_link *links;
	size_t n_links, cap_links;
	/* model errors of the sync in progress */
	char **model_errors;
	size_t n_model_errors, cap_model_errors;
	/* those of the previous sync, sorted: the API source logs a bad
	 * object once, not at every event */
	char **prev_errors;
	size_t n_prev_errors;
};

/* flags.c */
/* Returns 0, or -EINVAL after logging one line (usage error), -ENOMEM. */
int parse_args(int argc, char **argv, struct options *o);
void options_free(struct options *o);
void usage(FILE *f);
/* A decimal in [min, max], else one logged line and -EINVAL. */
int parse_u32(const char *flag, const char *arg, uint32_t min, uint32_t max,
	      uint32_t *out);

/* node.c */
int set_node_name(struct svcd *s);
/* This node's IPv4 addresses for NodePorts (--nodeport-addresses). */
size_t node_addresses(const struct options *o, __be32 *out, size_t max);
/* Its IPv6 ones: not loopback, link-local, multicast or v4-mapped. */
size_t node_addresses6(const struct options *o, union svcd_ip6 *out,
		       size_t max);
/* Whether the node has an IPv6 address of that kind. */
bool node_has_ipv6(void);
bool uplink_is_veth(const struct options *o);
/* /metrics lines svcd_datapath_variant{hook,interface,variant} (ctx: the
 * struct svcd), for serve_set_datapath(). */
void links_variants(void *ctx, FILE *f);
__be32 snat_address(const struct options *o);
union svcd_ip6 snat_address6(const struct options *o);
/* An address for logs: RFC 5952 for IPv6 (inet_ntop), "[addr]:port" with
 * a port (port < 0: none). Returns buf. */
const char *fmt_ip(char *buf, size_t len, int family, const void *addr,
		   int port);

/* links.c: on_link_up / on_link_gone for netlink_open() */
extern const struct netlink_ops link_ops;

/* sync.c */
int setup_watch(struct svcd *s);
void handle_inotify(struct svcd *s);
/* A change came in: sync by a deadline that only ever moves earlier. */
void sync_soon(struct svcd *s, bool complete);
/* The timer fired: the sync sync_soon() set up. */
void sync_due(struct svcd *s);
/* Sync now from the file or the API objects. */
void sync_once(struct svcd *s);
void sync_state_free(struct svcd *s);

#endif
