// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcd/flags.c - svcd's command line: flags, their checks, usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "svcd/agent.h"
#include "sys/probe.h"
#include "svcd_abi.h"

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
	OPT_SOCKET_LB,
	OPT_DISABLE_FEATURE,
	OPT_DRAIN,
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
	{ "socket-lb", required_argument, NULL, OPT_SOCKET_LB },
	{ "disable-feature", required_argument, NULL, OPT_DISABLE_FEATURE },
	{ "metrics-bind-address", required_argument, NULL, OPT_METRICS_ADDR },
	{ "healthz-bind-address", required_argument, NULL, OPT_HEALTHZ_ADDR },
	{ "cleanup", no_argument, NULL, OPT_CLEANUP },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "v", required_argument, NULL, 'v' },
	{ "max-services", required_argument, NULL, OPT_MAX_SERVICES },
	{ "max-backends", required_argument, NULL, OPT_MAX_BACKENDS },
	{ "max-conntrack", required_argument, NULL, OPT_MAX_CONNTRACK },
	{ "max-affinity", required_argument, NULL, OPT_MAX_AFFINITY },
	{ "snat-port-range", required_argument, NULL, OPT_SNAT_PORTS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void usage(FILE *f)
{
	fprintf(f,
		"Usage: svcd [--kubeconfig PATH [--master URL] | --from-file PATH]\n"
		"            [--hostname-override NAME] [--pod-ifaces GLOB[,GLOB]]\n"
		"            [--uplinks IFACE[,IFACE]] [--nodeport-addresses CIDR[,CIDR]]\n"
		"            [--cluster-cidr CIDR[,CIDR]] [--pin-dir DIR] [--cgroup-path PATH]\n"
		"            [--socket-lb all|host] [--disable-feature NAME[,NAME]]\n"
		"            [--metrics-bind-address ADDR:PORT]\n"
		"            [--healthz-bind-address ADDR:PORT]\n"
		"            [--cleanup [--drain SECONDS]] [-v LEVEL]\n"
		"            [--max-services N] [--max-backends N] [--max-conntrack N]\n"
		"            [--max-affinity N] [--snat-port-range MIN-MAX]\n"
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
		"                            NodePorts and healthCheckNodePorts, IPv4\n"
		"                            and IPv6 CIDRs (default: all but loopback\n"
		"                            and IPv6 link-local); a family\n"
		"                            without a CIDR here answers on all of its\n"
		"  --snat-port-range MIN-MAX source ports for SNAT toward other nodes\n"
		"                            (default 61000-65535)\n"
		"  --cluster-cidr CIDR[,CIDR]  the pod network, one CIDR per family as\n"
		"                            kube-proxy's (198.18.0.0/16,2001:db8::/48);\n"
		"                            ClusterIPs of a family with a CIDR here also\n"
		"                            answer traffic from the uplinks, SNATed\n"
		"                            toward other nodes\n"
		"  --pin-dir DIR             bpffs directory of the maps (default %s)\n"
		"  --cgroup-path PATH        cgroup v2 directory whose processes' sockets\n"
		"                            are translated at connect/sendmsg (default\n"
		"                            %s; \"\" turns the socket programs off)\n"
		"  --socket-lb all|host      all (default): pods' TCP and UDP sockets too,\n"
		"                            in every network namespace under --cgroup-path\n"
		"                            (no per-packet translation, no conntrack entry);\n"
		"                            host: only this network namespace's\n"
		"                            (hostNetwork) sockets, pods keep the tc path\n"
		"                            (for meshes that must see the ClusterIP)\n"
		"  --disable-feature NAME[,NAME]  take these kernel features as missing\n"
		"                            and use the fallback a kernel without them\n"
		"                            gets (for tests; names: svcctl status)\n"
		"  --metrics-bind-address ADDR:PORT  serve /metrics and /proxyMode\n"
		"  --healthz-bind-address ADDR:PORT  serve /healthz and /livez\n"
		"                            (each only when given)\n"
		"  --cleanup                 remove svcd's tc filters from every link of\n"
		"                            this network namespace, its cgroup socket\n"
		"                            programs and its pinned maps\n"
		"  --drain SECONDS           with --cleanup: first leave new flows to\n"
		"                            the stack's rules (kube-proxy's) and keep\n"
		"                            translating the tracked ones until they\n"
		"                            end, at most SECONDS\n"
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

int parse_u32(const char *flag, const char *arg, uint32_t min, uint32_t max,
	      uint32_t *out)
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

void options_free(struct options *o)
{
	strlist_free(&o->pod_ifaces);
	strlist_free(&o->uplinks);
	strlist_free(&o->disabled_features);
	free(o->nodeport_cidrs.items);
	free(o->cluster_cidrs.items);
}

/* What no single flag can check: the source, empty paths. */
static int check_args(const struct options *o)
{
	if (o->drain_s && !o->cleanup) {
		pr_err("--drain SECONDS goes with --cleanup: it drains before the cleanup");
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

/* Returns 0, or -EINVAL after logging one line (usage error). One case per
 * flag: long, but each case is two lines of the same shape. */
int parse_args(int argc, char **argv, struct options *o)
{
	uint32_t v;
	size_t i;
	int c, err = 0;

	o->pin_dir = DEFAULT_PIN_DIR;
	o->cgroup_path = DEFAULT_CGROUP_PATH;
	o->socket_lb_pods = true;
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
		case OPT_SOCKET_LB:
			if (!strcmp(optarg, "all") || !strcmp(optarg, "host")) {
				o->socket_lb_pods = !strcmp(optarg, "all");
			} else {
				pr_err("--socket-lb '%s': expected all or host",
				       optarg);
				err = -EINVAL;
			}
			break;
		case OPT_DISABLE_FEATURE:
			err = parse_list("--disable-feature", optarg,
					 &o->disabled_features);
			for (i = 0; !err && i < o->disabled_features.n; i++) {
				if (probe_by_name(
					    o->disabled_features.items[i]) <
				    0) {
					pr_err("--disable-feature '%s': no such feature (svcctl status lists them)",
					       o->disabled_features.items[i]);
					err = -EINVAL;
				}
			}
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
		case OPT_DRAIN:
			err = parse_u32("--drain", optarg, 1, 86400,
					&o->drain_s);
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
	return check_args(o);
}
