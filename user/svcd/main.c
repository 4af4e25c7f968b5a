// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd/main.c - the agent: flags, then one epoll loop over signals, the
 * --from-file source (inotify on its directory, rate-limited by a timer) and
 * link events (attach to pod interfaces as they come).
 *
 * Programs and maps stay when svcd exits, like kube-proxy's rules: a
 * restart reuses the pinned maps (ids and conntrack kept) and replaces the
 * tc programs in place. `svcd --cleanup` removes them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <bpf/bpf.h>

#include "sys/pinned.h"
#include "sys/k8s_watch.h"
#include "lib/k8s/kubeconfig.h"
#include "sys/loader.h"
#include "lib/log.h"
#include "lib/model.h"
#include "sys/netlink.h"
#include "svcd/serve.h"
#include "svcd_abi.h"
#include "lib/writer/writer.h"

#define DEFAULT_PIN_DIR "/sys/fs/bpf/svcd"
/* The cgroup v2 root, as Cilium's --cgroup-root: every node process. */
#define DEFAULT_CGROUP_PATH "/sys/fs/cgroup"
#define DEFAULT_VERBOSITY 2
/*
 * When a change is synced (sync_soon): a complete change (a file closed or
 * moved into place, an API event) after a quiet spell at once, but for a
 * moment that lets the rest of its burst arrive; then the next one waits
 * SYNC_MIN_GAP_NS after it, or as long as it took if longer, so a steady
 * stream of changes costs at most half a CPU and is never starved (a timer that every change pushed back
 * would never fire under a change every 50 ms). A file just created is
 * read SYNC_PARTIAL_NS later unless its writer closes it sooner (a hard
 * link made in place is never closed; a redirect is, once written).
 */
#define SYNC_BATCH_NS (1 * 1000 * 1000)
#define SYNC_MIN_GAP_NS (100 * 1000 * 1000)
#define SYNC_PARTIAL_NS (1000 * 1000 * 1000)
#define MAX_SOURCE_FILE (512u << 20) /* larger than any real List */

#define EXIT_USAGE 2

/* Size ratios of the maps that have no flag of their own (the defaults'). */
#define FRONTENDS_PER_SERVICE (SVCD_DEF_FRONTENDS / SVCD_DEF_SERVICES)
#define SLOTS_PER_BACKEND (SVCD_DEF_SLOTS / SVCD_DEF_BACKENDS)

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
	const char *metrics_addr;
	const char *healthz_addr;
	bool cleanup;
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
	struct loader *loader;
	struct svcd_maps maps;
	bool maps_open;
	struct writer *writer;
	struct netlink *nl;
	struct kubeconfig kc;
	bool kc_loaded;
	struct k8s_client *k8s;
	bool k8s_synced_once;
	struct serve *serve; /* health checks, /healthz, /metrics */
	int epfd, sigfd, inofd, timerfd;
	uint64_t sync_due_ns;  /* the timer's deadline, 0 when disarmed */
	uint64_t last_sync_ns; /* end of the last sync, 0 before the first */
	uint64_t last_sync_cost_ns; /* how long it took */
	char *watch_dir;	    /* directory of --from-file */
	const char *watch_name;	    /* its last component, inside watch_dir */
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

/* ---- flags ------------------------------------------------------------ */

enum {
	OPT_FROM_FILE = 256,
	OPT_KUBECONFIG,
	OPT_MASTER,
	OPT_HOSTNAME,
	OPT_POD_IFACES,
	OPT_UPLINKS,
	OPT_NODEPORT_ADDRS,
	OPT_CLUSTER_CIDR,
	OPT_PIN_DIR,
	OPT_CGROUP_PATH,
	OPT_METRICS_ADDR,
	OPT_HEALTHZ_ADDR,
	OPT_CLEANUP,
	OPT_MAX_SERVICES,
	OPT_MAX_BACKENDS,
	OPT_MAX_CONNTRACK,
	OPT_MAX_AFFINITY,
	OPT_SNAT_PORTS,
};

static const struct option long_opts[] = {
	{ "from-file", required_argument, NULL, OPT_FROM_FILE },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "master", required_argument, NULL, OPT_MASTER },
	{ "hostname-override", required_argument, NULL, OPT_HOSTNAME },
	{ "pod-ifaces", required_argument, NULL, OPT_POD_IFACES },
	{ "uplinks", required_argument, NULL, OPT_UPLINKS },
	{ "nodeport-addresses", required_argument, NULL, OPT_NODEPORT_ADDRS },
	{ "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "cgroup-path", required_argument, NULL, OPT_CGROUP_PATH },
	{ "metrics-bind-address", required_argument, NULL, OPT_METRICS_ADDR },
	{ "healthz-bind-address", required_argument, NULL, OPT_HEALTHZ_ADDR },
	{ "cleanup", no_argument, NULL, OPT_CLEANUP },
	{ "v", required_argument, NULL, 'v' },
	{ "max-services", required_argument, NULL, OPT_MAX_SERVICES },
	{ "max-backends", required_argument, NULL, OPT_MAX_BACKENDS },
	{ "max-conntrack", required_argument, NULL, OPT_MAX_CONNTRACK },
	{ "max-affinity", required_argument, NULL, OPT_MAX_AFFINITY },
	{ "snat-port-range", required_argument, NULL, OPT_SNAT_PORTS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: svcd [--kubeconfig PATH [--master URL] | --from-file PATH]\n"
		"            [--hostname-override NAME] [--pod-ifaces GLOB[,GLOB]]\n"
		"            [--uplinks IFACE[,IFACE]] [--nodeport-addresses CIDR[,CIDR]]\n"
		"            [--cluster-cidr CIDR[,CIDR]] [--pin-dir DIR] [--cgroup-path PATH]\n"
		"            [--metrics-bind-address ADDR:PORT]\n"
		"            [--healthz-bind-address ADDR:PORT] [--cleanup] [-v LEVEL]\n"
		"            [--max-services N] [--max-backends N] [--max-conntrack N]\n"
		"            [--max-affinity N]\n"
		"\n"
		"eBPF Service proxy: keeps pinned BPF maps equal to the Services and\n"
		"EndpointSlices it is given and attaches tc programs to pod interfaces.\n"
		"\n"
		"  --from-file PATH          JSON List of Service and EndpointSlice objects\n"
		"                            (kubectl get svc,endpointslices -A -o json);\n"
		"                            re-read when it changes and on SIGHUP\n"
		"  --kubeconfig PATH         list/watch the API server this kubeconfig names\n"
		"                            (current context; TLS always verified)\n"
		"  --master URL              API server URL: overrides the kubeconfig's,\n"
		"                            or alone uses in-cluster credentials\n"
		"                            (service account token and CA)\n"
		"  --hostname-override NAME  this node's name (default: the hostname)\n"
		"  --pod-ifaces GLOB[,GLOB]  attach to interfaces matching these globs,\n"
		"                            as they appear (default: none)\n"
		"  --uplinks IFACE[,IFACE]   uplinks (names or globs): XDP from_wire does\n"
		"                            NodePort/externalIP/LoadBalancer DNAT and\n"
		"                            SNAT toward other nodes\n"
		"  --nodeport-addresses CIDR[,CIDR]  node addresses that answer on\n"
		"                            NodePorts (default: all but loopback)\n"
		"  --snat-port-range MIN-MAX source ports for SNAT toward other nodes\n"
		"                            (default 61000-65535)\n"
		"  --cluster-cidr CIDR[,CIDR]  the pod network; when set, ClusterIPs\n"
		"                            also answer traffic from the uplinks,\n"
		"                            SNATed toward other nodes\n"
		"  --pin-dir DIR             bpffs directory of the maps (default %s)\n"
		"  --cgroup-path PATH        cgroup v2 directory whose processes' sockets of\n"
		"                            this network namespace (hostNetwork clients)\n"
		"                            are translated at connect/sendmsg (default\n"
		"                            %s; \"\" turns the socket programs off)\n"
		"  --metrics-bind-address ADDR:PORT  serve /metrics and /proxyMode\n"
		"  --healthz-bind-address ADDR:PORT  serve /healthz and /livez\n"
		"                            (each only when given)\n"
		"  --cleanup                 remove svcd's tc filters from every link of\n"
		"                            this network namespace, its cgroup socket\n"
		"                            programs and its pinned maps\n"
		"  -v, --v LEVEL             log level: 0 errors and warnings, 2 info\n"
		"                            (default), 3 debug, 4 libbpf debug\n"
		"  --max-services N          size of the service maps (default %u)\n"
		"  --max-backends N          size of the backend map (default %u)\n"
		"  --max-conntrack N         size of the conntrack map (default %u)\n"
		"  --max-affinity N          size of the session affinity map, {service,\n"
		"                            client} pairs (LRU, default %u)\n"
		"  -h, --help                this text\n"
		"\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
		DEFAULT_PIN_DIR, DEFAULT_CGROUP_PATH, SVCD_DEF_SERVICES,
		SVCD_DEF_BACKENDS, SVCD_DEF_CONNTRACK, SVCD_DEF_AFFINITY);
}

static int parse_u32(const char *flag, const char *arg, uint32_t min,
		     uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > max) {
		pr_err("%s '%s': expected a number from %u to %u", flag, arg,
		       min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static void strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Split "a,b,c"; empty elements are a usage error. */
static int parse_list(const char *flag, const char *arg, struct strlist *out)
{
	const char *p = arg, *comma;
	char **items;
	size_t len;

	strlist_free(out);
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len) {
			pr_err("%s '%s': empty element", flag, arg);
			return -EINVAL;
		}
		items = realloc(out->items, (out->n + 1) * sizeof(*items));
		if (!items)
			return -ENOMEM;
		out->items = items;
		out->items[out->n] = strndup(p, len);
		if (!out->items[out->n])
			return -ENOMEM;
		out->n++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int parse_cidr(const char *flag, const char *arg, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long prefix;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (!slash)
		goto bad;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || slash[1] == '-' ||
	    prefix > (out->family == AF_INET ? 32u : 128u))
		goto bad;
	out->prefix = prefix;
	return 0;
bad:
	pr_err("%s '%s': expected a CIDR such as 198.18.0.0/15 or 2001:db8::/32",
	       flag, arg);
	return -EINVAL;
}

static int parse_cidrs(const char *flag, const char *arg, struct cidrlist *out)
{
	struct strlist parts = {};
	size_t i;
	int err;

	err = parse_list(flag, arg, &parts);
	if (err)
		goto out;
	free(out->items);
	out->n = 0;
	out->items = calloc(parts.n, sizeof(*out->items));
	if (!out->items) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < parts.n; i++) {
		err = parse_cidr(flag, parts.items[i], &out->items[i]);
		if (err)
			goto out;
		out->n++;
	}
out:
	strlist_free(&parts);
	return err;
}

/* ADDR:PORT with an IPv4 address, [IPv6]:PORT, or "" (disabled). */
static int parse_bind_addr(const char *flag, const char *arg)
{
	char host[INET6_ADDRSTRLEN + 2], addr[16];
	const char *colon, *h;
	size_t hlen;
	uint32_t port;

	if (!*arg)
		return 0;
	colon = strrchr(arg, ':');
	if (!colon)
		goto bad;
	hlen = colon - arg;
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	h = host;
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, addr) != 1)
			goto bad;
	} else if (hlen && inet_pton(AF_INET, h, addr) != 1) {
		goto bad;
	}
	if (parse_u32(flag, colon + 1, 0, 65535, &port))
		return -EINVAL;
	return 0;
bad:
	pr_err("%s '%s': expected ADDR:PORT such as 0.0.0.0:10249 or [::]:10249",
	       flag, arg);
	return -EINVAL;
}

/* "MIN-MAX", 1024 <= MIN <= MAX <= 65535. */
static int parse_port_range(const char *arg, uint16_t *min, uint16_t *max)
{
	unsigned int lo, hi;
	int n = 0;

	if (sscanf(arg, "%u-%u%n", &lo, &hi, &n) != 2 || arg[n] || lo < 1024 ||
	    hi > 65535 || lo > hi) {
		pr_err("--snat-port-range %s: want MIN-MAX with 1024 <= MIN <= MAX <= 65535",
		       arg);
		return -EINVAL;
	}
	*min = (uint16_t)lo;
	*max = (uint16_t)hi;
	return 0;
}

static void options_free(struct options *o)
{
	strlist_free(&o->pod_ifaces);
	strlist_free(&o->uplinks);
	free(o->nodeport_cidrs.items);
	free(o->cluster_cidrs.items);
}

/* Returns 0, or -EINVAL after logging one line (usage error). */
static int parse_args(int argc, char **argv, struct options *o)
{
	uint32_t v;
	size_t i;
	int c, err = 0;

	o->pin_dir = DEFAULT_PIN_DIR;
	o->cgroup_path = DEFAULT_CGROUP_PATH;
	o->verbosity = DEFAULT_VERBOSITY;
	o->max_services = SVCD_DEF_SERVICES;
	o->max_backends = SVCD_DEF_BACKENDS;
	o->max_conntrack = SVCD_DEF_CONNTRACK;
	o->max_affinity = SVCD_DEF_AFFINITY;
	/* above the ephemeral range (32768-60999), below nothing else */
	o->snat_port_min = 61000;
	o->snat_port_max = 65535;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":v:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM_FILE:
			o->from_file = optarg;
			break;
		case OPT_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case OPT_MASTER:
			o->master = optarg;
			break;
		case OPT_HOSTNAME:
			o->hostname = optarg;
			break;
		case OPT_POD_IFACES:
			err = parse_list("--pod-ifaces", optarg,
					 &o->pod_ifaces);
			break;
		case OPT_UPLINKS:
			err = parse_list("--uplinks", optarg, &o->uplinks);
			for (i = 0; !err && i < o->uplinks.n; i++) {
				if (strlen(o->uplinks.items[i]) >=
				    IF_NAMESIZE) {
					pr_err("--uplinks: '%s' is longer than an interface name can be",
					       o->uplinks.items[i]);
					err = -EINVAL;
				}
			}
			break;
		case OPT_NODEPORT_ADDRS:
			err = parse_cidrs("--nodeport-addresses", optarg,
					  &o->nodeport_cidrs);
			break;
		case OPT_CLUSTER_CIDR:
			err = parse_cidrs("--cluster-cidr", optarg,
					  &o->cluster_cidrs);
			break;
		case OPT_PIN_DIR:
			o->pin_dir = optarg;
			break;
		case OPT_CGROUP_PATH:
			o->cgroup_path = optarg;
			break;
		case OPT_METRICS_ADDR:
			err = parse_bind_addr("--metrics-bind-address", optarg);
			o->metrics_addr = optarg;
			break;
		case OPT_HEALTHZ_ADDR:
			err = parse_bind_addr("--healthz-bind-address", optarg);
			o->healthz_addr = optarg;
			break;
		case OPT_CLEANUP:
			o->cleanup = true;
			break;
		case 'v':
			err = parse_u32("-v", optarg, 0, 10, &v);
			o->verbosity = v;
			break;
		case OPT_MAX_SERVICES:
			err = parse_u32("--max-services", optarg, 2, 1u << 24,
					&o->max_services);
			break;
		case OPT_MAX_BACKENDS:
			err = parse_u32("--max-backends", optarg, 2, 1u << 24,
					&o->max_backends);
			break;
		case OPT_MAX_CONNTRACK:
			err = parse_u32("--max-conntrack", optarg, 64, 1u << 28,
					&o->max_conntrack);
			break;
		case OPT_MAX_AFFINITY:
			err = parse_u32("--max-affinity", optarg, 64, 1u << 28,
					&o->max_affinity);
			break;
		case OPT_SNAT_PORTS:
			err = parse_port_range(optarg, &o->snat_port_min,
					       &o->snat_port_max);
			break;
		case 'h':
			o->help = true;
			return 0;
		case ':':
			pr_err("%s needs a value (try --help)",
			       argv[optind - 1]);
			return -EINVAL;
		default:
			pr_err("unknown flag '%s' (try --help)",
			       argv[optind - 1]);
			return -EINVAL;
		}
		if (err)
			return err == -ENOMEM ? err : -EINVAL;
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (try --help)", argv[optind]);
		return -EINVAL;
	}
	if (o->from_file && (o->kubeconfig || o->master)) {
		pr_err("--from-file excludes --kubeconfig and --master: pick one source");
		return -EINVAL;
	}
	/* In-cluster credentials need --master: the kubernetes Service's
	 * ClusterIP is no way in for the program that makes ClusterIPs. */
	if (!o->cleanup && !o->from_file && !o->kubeconfig && !o->master) {
		pr_err("no source: pass --from-file PATH, --kubeconfig PATH, or --master URL (in-cluster credentials)");
		return -EINVAL;
	}
	if (o->from_file && !*o->from_file) {
		pr_err("--from-file: empty path");
		return -EINVAL;
	}
	if (!*o->pin_dir) {
		pr_err("--pin-dir: empty path");
		return -EINVAL;
	}
	if (o->hostname && !*o->hostname) {
		pr_err("--hostname-override: empty name");
		return -EINVAL;
	}
	return 0;
}

/* ---- links ------------------------------------------------------------ */

static bool is_pod_iface(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->pod_ifaces.n; i++)
		if (!fnmatch(o->pod_ifaces.items[i], name, 0))
			return true;
	return false;
}

static bool is_uplink(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->uplinks.n; i++)
		if (!fnmatch(o->uplinks.items[i], name, 0))
			return true;
	return false;
}

static struct attached_link *find_attached(struct svcd *s, int ifindex)
{
	size_t i;

	for (i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

static void forget_attached(struct svcd *s, struct attached_link *link)
{
	*link = s->links[--s->n_links];
}

static void attach_link(struct svcd *s, int ifindex, const char *name,
			bool uplink)
{
	enum loader_xdp_mode mode = LOADER_XDP_NATIVE;
	struct attached_link *link;

	if (uplink ? loader_attach_uplink(s->loader, ifindex, name, &mode) :
		     loader_attach(s->loader, ifindex, name))
		return; /* logged; the link may be gone already */
	link = find_attached(s, ifindex);
	if (!link) {
		if (s->n_links == s->cap_links) {
			size_t cap = s->cap_links ? 2 * s->cap_links : 16;
			struct attached_link *links;

			links = realloc(s->links, cap * sizeof(*links));
			if (!links) {
				pr_err("%s: attached, but out of memory to remember it",
				       name);
				return;
			}
			s->links = links;
			s->cap_links = cap;
		}
		link = &s->links[s->n_links++];
		link->ifindex = ifindex;
	}
	snprintf(link->name, sizeof(link->name), "%s", name);
	link->uplink = uplink;
	if (uplink)
		pr_info("%s: attached %s (%s XDP), %s (tc ingress) and %s (tc egress)",
			name, SVCD_PROG_FROM_WIRE,
			mode == LOADER_XDP_NATIVE ? "native" : "generic",
			SVCD_PROG_FROM_WIRE_TC, SVCD_PROG_TO_WIRE);
	else
		pr_info("%s: attached %s (tc ingress) and %s (tc egress)", name,
			SVCD_PROG_FROM_POD, SVCD_PROG_TO_POD);
}

static void on_link_up(void *ctx, int ifindex, const char *name,
		       const char *old_name)
{
	struct svcd *s = ctx;
	struct attached_link *link;
	int n;

	if (is_uplink(s->opts, name)) {
		attach_link(s, ifindex, name, true);
		return;
	}
	if (is_pod_iface(s->opts, name)) {
		attach_link(s, ifindex, name, false);
		return;
	}
	link = find_attached(s, ifindex);
	if (link) {
		n = loader_detach(ifindex, name);
		forget_attached(s, link);
		if (n >= 0)
			pr_info("%s: detached (renamed from %s, no longer matches --pod-ifaces or --uplinks)",
				name, old_name ? old_name : "?");
		return;
	}
	/* Left behind by an earlier run with other --pod-ifaces? */
	n = loader_detach(ifindex, name);
	if (n > 0)
		pr_info("%s: detached svcd programs left by an earlier run (does not match --pod-ifaces or --uplinks)",
			name);
}

static void on_link_gone(void *ctx, int ifindex, const char *name)
{
	struct svcd *s = ctx;
	struct attached_link *link;

	link = find_attached(s, ifindex);
	if (!link)
		return;
	forget_attached(s, link);
	pr_info("%s: interface gone; its programs went with it", name);
}

static const struct netlink_ops link_ops = {
	.link_up = on_link_up,
	.link_gone = on_link_gone,
};

/* ---- sync ------------------------------------------------------------- */

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

static bool in_cidrs(const struct cidrlist *l, __be32 addr)
{
	uint32_t a = ntohl(addr), net, mask;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->items[i].family != AF_INET)
			continue;
		memcpy(&net, l->items[i].addr, 4);
		mask = l->items[i].prefix ? ~0u << (32 - l->items[i].prefix) :
					    0;
		if ((a & mask) == (ntohl(net) & mask))
			return true;
	}
	return false;
}

/*
 * IPv4 addresses of this network namespace for NodePorts: all but
 * loopback, or those inside --nodeport-addresses.
 */
static size_t node_addresses(const struct options *o, __be32 *out, size_t max)
{
	struct ifaddrs *ifa, *it;
	size_t n = 0, i;

	if (getifaddrs(&ifa)) {
		pr_warn("list node addresses: %s; no NodePort frontends",
			strerror(errno));
		return 0;
	}
	for (it = ifa; it && n < max; it = it->ifa_next) {
		__be32 addr;

		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET)
			continue;
		addr = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
		if ((ntohl(addr) >> 24) == 127)
			continue;
		if (o->nodeport_cidrs.n && !in_cidrs(&o->nodeport_cidrs, addr))
			continue;
		for (i = 0; i < n && out[i] != addr; i++)
			;
		if (i == n)
			out[n++] = addr;
	}
	freeifaddrs(ifa);
	return n;
}

/* Is any existing uplink a veth? (ethtool's driver name) */
static bool uplink_is_veth(const struct options *o)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct if_nameindex *links, *link;
	bool veth = false;
	struct ifreq ifr;
	size_t i;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	links = if_nameindex();
	for (link = links; fd >= 0 && link && link->if_index && !veth; link++) {
		for (i = 0; i < o->uplinks.n; i++)
			if (!fnmatch(o->uplinks.items[i], link->if_name, 0))
				break;
		if (i == o->uplinks.n)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
			 link->if_name);
		ifr.ifr_data = (void *)&info;
		if (!ioctl(fd, SIOCETHTOOL, &ifr) &&
		    !strcmp(info.driver, "veth"))
			veth = true;
	}
	if (links)
		if_freenameindex(links);
	if (fd >= 0)
		close(fd);
	return veth;
}

/* The SNAT source: the first IPv4 address of the first uplink. */
static __be32 snat_address(const struct options *o)
{
	struct ifaddrs *ifa, *it;
	__be32 addr = 0;
	size_t i;

	if (!o->uplinks.n || getifaddrs(&ifa))
		return 0;
	for (i = 0; i < o->uplinks.n && !addr; i++)
		for (it = ifa; it && !addr; it = it->ifa_next)
			if (it->ifa_addr &&
			    it->ifa_addr->sa_family == AF_INET &&
			    !fnmatch(o->uplinks.items[i], it->ifa_name, 0))
				addr = ((struct sockaddr_in *)it->ifa_addr)
					       ->sin_addr.s_addr;
	freeifaddrs(ifa);
	return addr;
}

/* Applies a desired state built from doc (file text or API objects). */
static void sync_apply(struct svcd *s, const char *source, const char *text,
		       size_t len, const cJSON *doc, struct timespec *t0)
{
	struct model_config cfg = {
		.node_name = s->node_name,
		.quiet_orphan_slices = s->k8s != NULL,
		.cluster_ips_from_outside = s->opts->cluster_cidrs.n > 0,
	};
	struct store_node_info node = {};
	__be32 node_addrs[MAX_NODE_ADDRS];
	struct model_state state = {};
	struct writer_stats ws = {};
	double built_ms, write_ms;
	int err;

	if (s->k8s && !k8s_client_node_info(s->k8s, &node))
		cfg.node_zone = node.zone[0] ? node.zone : NULL;
	/* NodePorts answer on this node's addresses, as kube-proxy's
	 * --nodeport-addresses picks them (default: all of them). */
	cfg.n_node_addrs = node_addresses(s->opts, node_addrs, MAX_NODE_ADDRS);
	cfg.node_addrs = node_addrs;
	model_errors_clear(s);
	if (doc)
		err = model_build(doc, &cfg, on_model_error, s, &state);
	else
		err = model_build_text(text, len, &cfg, on_model_error, s,
				       &state);
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
	built_ms = ms_since(t0);

	/* Errors are logged by the writer per set, counted in ws. */
	writer_sync(s->writer, &state, &ws);
	write_ms = ms_since(t0) - built_ms;
	if (s->serve) {
		struct serve_sync_info info = {
			.ok = true,
			.ms = ms_since(t0),
			.services = writer_service_count(s->writer),
			.frontends = state.n_frontends,
			.backends = writer_backend_count(s->writer),
			.errors = s->n_model_errors + ws.errors,
		};

		serve_set_healthchecks(s->serve, &state);
		serve_note_sync(s->serve, &info);
	}
	pr_info("sync: %zu services, %zu frontends, %zu backends (+%u ~%u -%u), %zu errors in %.1f ms (read and build %.1f, maps %.1f)",
		writer_service_count(s->writer), state.n_frontends,
		writer_backend_count(s->writer), ws.services_added,
		ws.services_updated, ws.services_removed,
		s->n_model_errors + ws.errors, ms_since(t0), built_ms,
		write_ms);
	if (ws.udp_flows_flushed)
		pr_info("sync: flushed %u UDP flows to removed backends",
			ws.udp_flows_flushed);
out:
	model_errors_clear(s);
	model_state_free(&state);
	/* A sync frees a whole parsed cluster; give it back to the system
	 * rather than keep it in glibc's free lists until the next one. */
	malloc_trim(0);
}

static void sync_once(struct svcd *s)
{
	const char *path = s->opts->from_file;
	struct timespec t0;
	char *text = NULL;
	size_t len = 0;
	cJSON *doc;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s->k8s) {
		/* Until both lists are in, a sync would delete every
		 * service the missing half names. */
		if (!k8s_client_synced(s->k8s))
			return;
		doc = k8s_client_build_list(s->k8s);
		if (!doc) {
			pr_err("API objects: out of memory building the list; maps left as they are");
			return;
		}
		if (!s->k8s_synced_once)
			pr_info("k8s: first full list received, syncing");
		s->k8s_synced_once = true;
		sync_apply(s, "API objects", NULL, 0, doc, &t0);
		cJSON_Delete(doc);
		return;
	}
	err = read_file(path, &text, &len);
	if (err) {
		pr_err("read --from-file %s: %s; maps left as they are", path,
		       strerror(-err));
		return;
	}
	sync_apply(s, path, text, len, NULL, &t0);
	free(text);
}

/* ---- event loop ------------------------------------------------------- */

static int epoll_add(struct svcd *s, int fd, enum loop_source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A change came in: sync by a deadline that only ever moves earlier. */
static void sync_soon(struct svcd *s, bool complete)
{
	struct itimerspec its = {};
	uint64_t now = mono_ns(), due, gap = SYNC_MIN_GAP_NS;

	if (s->last_sync_cost_ns > gap)
		gap = s->last_sync_cost_ns;
	due = now + (complete ? SYNC_BATCH_NS : SYNC_PARTIAL_NS);
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
static void sync_due(struct svcd *s)
{
	uint64_t t0 = mono_ns();

	s->sync_due_ns = 0;
	sync_once(s);
	s->last_sync_ns = mono_ns();
	s->last_sync_cost_ns = s->last_sync_ns - t0;
}

static void handle_inotify(struct svcd *s)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool hit = false, complete = false;
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
	if (hit)
		sync_soon(s, complete);
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

static int setup_watch(struct svcd *s)
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

static int set_node_name(struct svcd *s)
{
	char *p;

	if (s->opts->hostname) {
		snprintf(s->node_name, sizeof(s->node_name), "%s",
			 s->opts->hostname);
	} else if (gethostname(s->node_name, sizeof(s->node_name) - 1)) {
		pr_err("gethostname: %s; pass --hostname-override NAME",
		       strerror(errno));
		return -errno;
	}
	/* kube-proxy lowercases the node name the same way */
	for (p = s->node_name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return 0;
}

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static void on_k8s_change(void *ctx)
{
	/* Many events -> one sync, like file writes. */
	sync_soon(ctx, true);
}

/* --kubeconfig [--master], or in-cluster credentials with --master. */
static int setup_k8s(struct svcd *s)
{
	const struct options *o = s->opts;
	struct k8s_client_config kcfg = { .node_name = s->node_name };
	char err_line[512] = "";
	const char *env;
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
	/* Tests: short watches, so that faults the API simulator injects
	 * into the next watch come soon (the idle limit follows, k8s.c). */
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

static int run_agent(const struct options *o)
{
	struct loader_config lcfg = {
		.pin_dir = o->pin_dir,
		.max_frontends = o->max_services * FRONTENDS_PER_SERVICE,
		.max_slots = o->max_backends * SLOTS_PER_BACKEND,
		.max_services = o->max_services,
		.max_backends = o->max_backends,
		.max_conntrack = o->max_conntrack,
		.max_affinity = o->max_affinity,
		.cgroup_path = o->cgroup_path,
	};
	struct svcd s = {
		.opts = o,
		.epfd = -1,
		.sigfd = -1,
		.inofd = -1,
		.timerfd = -1,
	};
	struct writer_limits limits;
	struct loader_sizes sizes;
	int err, n;

	if (lcfg.max_slots < SVCD_MAX_SLOTS_PER_SERVICE)
		lcfg.max_slots = SVCD_MAX_SLOTS_PER_SERVICE;
	lcfg.snat_addr = snat_address(o);
	lcfg.snat_port_min = o->snat_port_min;
	lcfg.snat_port_max = o->snat_port_max;
	lcfg.xdp_tx_ok = !uplink_is_veth(o);
	if (o->uplinks.n && !lcfg.xdp_tx_ok)
		pr_info("uplinks: veth, so translated packets leave through tc (bpf_redirect_neigh), not XDP_TX: veth keeps partial checksums that XDP cannot update");
	if (o->uplinks.n) {
		char a[INET_ADDRSTRLEN] = "none";

		if (lcfg.snat_addr)
			inet_ntop(AF_INET, &lcfg.snat_addr, a, sizeof(a));
		else
			pr_warn("--uplinks: no IPv4 address on them yet; external traffic to remote backends under externalTrafficPolicy Cluster is dropped (restart svcd once the uplink has its address)");
		pr_info("uplinks: SNAT toward other nodes from %s, ports %u-%u",
			a, o->snat_port_min, o->snat_port_max);
	}
	err = set_node_name(&s);
	if (err)
		return err;
	err = setup_loop(&s);
	if (err)
		goto out;

	err = loader_prepare_pin_dir(o->pin_dir);
	if (err)
		goto out;
	err = loader_open(&lcfg, &s.loader);
	if (err)
		goto out;
	/* F8 is optional: without it (no cgroup v2, an old kernel) the rest
	 * works, and the one line logged says why. */
	if (*o->cgroup_path) {
		loader_attach_sock(s.loader);
	} else {
		n = loader_detach_sock(o->pin_dir);
		if (n > 0)
			pr_info("--cgroup-path is empty: removed %d socket program links left by an earlier run",
				n);
	}
	loader_get_sizes(s.loader, &sizes);
	err = svcd_maps_open_pinned(o->pin_dir, &s.maps); /* logs */
	if (err)
		goto out;
	s.maps_open = true;
	limits.max_services = sizes.services;
	limits.max_backends = sizes.backends;
	s.writer = writer_new(&svcd_bpf_writer_ops, &s.maps, &limits);
	if (!s.writer) {
		err = -errno;
		pr_err("read the maps in %s back: %s; svcd --cleanup starts afresh",
		       o->pin_dir, strerror(-err));
		goto out;
	}
	pr_info("maps in %s: %zu services, %zu backends already there; node %s",
		o->pin_dir, writer_service_count(s.writer),
		writer_backend_count(s.writer), s.node_name);

	s.serve = serve_new(o->healthz_addr, o->metrics_addr, &s.maps);
	if (!s.serve) {
		err = -errno;
		goto out; /* logged with the address */
	}
	err = epoll_add(&s, serve_fd(s.serve), SRC_HTTP);
	if (err) {
		pr_err("epoll_ctl: %s", strerror(-err));
		goto out;
	}

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
	free(s.watch_dir);
	free(s.links);
	model_errors_clear(&s);
	free(s.model_errors);
	prev_errors_free(&s);
	return err;
}

static int run_cleanup(const struct options *o)
{
	struct loader_cleanup_stats st;
	int err;

	err = loader_cleanup(o->pin_dir, &st);
	pr_info("cleanup: removed %u programs (tc filters and XDP; %u links looked at), %u cgroup socket links, %u pinned maps from %s%s",
		st.filters, st.links, st.sock_links, st.maps, o->pin_dir,
		st.dir_removed ? " and the directory" : "");
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
