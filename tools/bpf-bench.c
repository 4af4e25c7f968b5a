// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcd-bpf-bench - per-packet cost of the shipped from_pod program, with
 * BPF_PROG_TEST_RUN, at a given number of installed services.
 *
 *   svcd-bpf-bench [--services N[,N...]] [--repeat R] [--new-flows F]
 *                  [--chain L] [--rounds K] [--family 4|6] [--json] [-v]
 *
 * Loads build/pod.bpf.o through its skeleton with unpinned maps (nothing
 * under /sys/fs/bpf is touched, nothing is attached), writes N services
 * straight into the maps (one backend each, as the agent lays them out:
 * backend, slot, frontend) and times three packets:
 *
 *   established  a TCP ACK of a flow that is already in conntrack, DNATed
 *                on every run. Two services point at each other (PING:80
 *                -> PONG:80, PONG:80 -> PING:80), so the test run's repeat
 *                loop, which feeds each run the previous run's output,
 *                makes every run a real lookup + rewrite + checksum update
 *                (the trick of selftests/prog/test_perf.c).
 *   reply        a backend's ACK to the client of a tracked flow, reverse
 *                NATed on every run: two reverse conntrack entries point
 *                at each other (BACKEND:8080 -> CLIENT shown as PING:80,
 *                PING:80 -> CLIENT shown as BACKEND:8080), each of an
 *                established flow that has seen replies, as a download's
 *                stream of data segments finds them.
 *   new flow     a SYN from a source port not seen before: the frontend,
 *                slot and backend lookups and two conntrack inserts, timed
 *                two ways:
 *                - chained, many new flows in one call: a ring of L
 *                  services (CHAIN_0:80 -> CHAIN_1:80 -> ... ->
 *                  CHAIN_L-1:80 -> CHAIN_0:80) and a repeat of L, so run i
 *                  of a call gets the SYN DNATed to CHAIN_i by run i-1: a
 *                  flow conntrack has never seen, with the same source
 *                  port. Every call takes a fresh source port; the
 *                  program's new_flows counter must grow by L per call.
 *                  This is the program's own cost of a new flow, measured
 *                  like "established" (warm, the call's overhead spread
 *                  over L runs); the median over the calls is reported,
 *                  after one untimed call that warms the ring up.
 *                - one run per call, a SYN to PING:80 (a repeat would make
 *                  it established); the median of F packets. A single
 *                  run pays the test run's own setup and clock reads and
 *                  runs cold after the syscall, so it is reported next to
 *                  the same measurement of a non-service SYN, and the
 *                  difference of the two medians estimates the program's
 *                  cost of a new flow in that cold state.
 *   handshake    a connection's first three packets through from_pod,
 *                one run each (cold, as "new flow (1)"): the client's SYN
 *                to PING:80, PONG's SYN-ACK back, the client's ACK (which
 *                moves the flow from svcd_ct_syn to svcd_conntrack); the
 *                median over F connections of the three runs' sum, and
 *                "net" that sum less three one-run non-service packets.
 *   not a service  an ACK to an address that is no frontend: from_pod
 *                parses the headers, misses conntrack and the frontend
 *                map and passes it. This is the "parse only" baseline:
 *                the cost every pod packet pays for having the program.
 *                Timed both with the repeat loop (next to "established")
 *                and one run per call (next to "new flow": a single run
 *                also pays the test run's own setup and clock reads).
 *
 * --family 6 does the same over IPv6 (svcd_frontends6, svcd_backends6,
 * svcd_conntrack6; the addresses below mapped into 2001:db8::/32 as the
 * prog tests do: 198.18.k.x -> 2001:db8:k::x, 198.19.96.x ->
 * 2001:db8:96::x, 198.19.y.x -> 2001:db8::y:x).
 *
 * Each figure is the median of K rounds. Numbers are a tool's output: this
 * program fails only when the object does not load or a packet does not
 * get the verdict and rewrite it must (exit 1), and on usage (exit 2).
 * Needs root (CAP_BPF, CAP_NET_ADMIN).
 *
 * Service N counts PING and PONG: --services 1 installs just those two,
 * --services 100000 installs 99,998 others first; the L services of the
 * new-flow ring (198.19.112.1 .. 198.19.112.L) come on top ("installed"). The others' frontends are
 * 198.19.96.0/20 x ports 1000..; backends are in 198.18.2.0 - 198.18.255.255.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pod.skel.h"
#include "svcd_abi.h"

#define MAX_SIZES 8
#define PKT_LEN (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct tcphdr))
#define PKT6_LEN (ETH_HLEN + sizeof(struct ipv6hdr) + sizeof(struct tcphdr))

#define IP4(a, b, c, d) \
	htonl(((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (d))
#define CLIENT IP4(198, 18, 1, 5)
#define PING IP4(198, 19, 96, 200)
#define PONG IP4(198, 19, 96, 201)
#define ELSEWHERE IP4(198, 19, 0, 77)
#define BACKEND IP4(198, 18, 1, 10)
/* The new-flow ring: CHAIN(k), k = 0 .. chain - 1, port 80. */
#define CHAIN(k) IP4(198, 19, 112, 1 + (k))
#define MAX_CHAIN 250

static bool verbose;
static int family = 4;	/* --family */
static int chain = 100; /* --chain: new flows per call, the ring's length */

struct bench {
	struct pod_bpf *skel;
	int prog, frontends, slots, backends, conntrack, stats;
	int frontends6, backends6, conntrack6;
};

struct result {
	long services, installed;
	double established_ns, reply_ns, new_flow_ns, new_flow_mean_ns;
	double not_service_ns;
	double not_service_1run_ns; /* one run per call, like new_flow_ns */
	double new_flow_chain_ns;   /* chain new flows per call */
	double new_flow_net_ns;	    /* new_flow_ns - not_service_1run_ns */
	double handshake_ns;	    /* SYN + SYN-ACK + ACK, one run each */
	double handshake_net_ns;    /* less 3 x not_service_1run_ns */
};

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- packets ---------------------------------------------------------- */

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* Ethernet + IPv4 + TCP, every checksum complete (as from a real NIC). */
static void build_tcp(__u8 *buf, __be32 saddr, __be16 sport, __be32 daddr,
		      __be16 dport, __u8 flags)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
	struct {
		__be32 saddr, daddr;
		__u8 zero, proto;
		__be16 len;
	} __attribute__((packed)) pseudo;
	__u32 sum;

	memset(buf, 0, PKT_LEN);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*tcp));
	ip->id = htons(1);
	ip->frag_off = htons(0x4000);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
	tcp->source = sport;
	tcp->dest = dport;
	tcp->seq = htonl(1000);
	tcp->ack_seq = (flags & 0x10) ? htonl(5001) : 0;
	tcp->doff = 5;
	((__u8 *)tcp)[13] = flags;
	tcp->window = htons(65535);
	pseudo.saddr = saddr;
	pseudo.daddr = daddr;
	pseudo.zero = 0;
	pseudo.proto = IPPROTO_TCP;
	pseudo.len = htons(sizeof(*tcp));
	sum = csum_add(0, &pseudo, sizeof(pseudo));
	sum = csum_add(sum, tcp, sizeof(*tcp));
	tcp->check = htons(csum_fold(sum));
}

/* The IPv6 address an IPv4 one here stands for (see the top). */
static void ip6_of(__be32 v4, __u8 a[16])
{
	__u32 h = ntohl(v4);
	__u8 b2 = (h >> 8) & 0xff, b3 = h & 0xff;

	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[15] = b3;
	if ((h >> 16) == (198u << 8 | 18)) {
		a[5] = b2;
	} else if ((h >> 16) == (198u << 8 | 19) && b2 >= 96 && b2 < 112) {
		a[5] = 0x96;
		a[14] = b2 - 96;
	} else {
		a[13] = b2;
	}
}

/* Ethernet + IPv6 + TCP, checksum complete. */
static void build_tcp6(__u8 *buf, __be32 saddr, __be16 sport, __be32 daddr,
		       __be16 dport, __u8 flags)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip6 + 1);
	__u32 sum;

	memset(buf, 0, PKT6_LEN);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	eth->h_proto = htons(ETH_P_IPV6);
	ip6->version = 6;
	ip6->payload_len = htons(sizeof(*tcp));
	ip6->nexthdr = IPPROTO_TCP;
	ip6->hop_limit = 64;
	ip6_of(saddr, (__u8 *)&ip6->saddr);
	ip6_of(daddr, (__u8 *)&ip6->daddr);
	tcp->source = sport;
	tcp->dest = dport;
	tcp->seq = htonl(1000);
	tcp->ack_seq = (flags & 0x10) ? htonl(5001) : 0;
	tcp->doff = 5;
	((__u8 *)tcp)[13] = flags;
	tcp->window = htons(65535);
	sum = csum_add(0, &ip6->saddr, 32);
	sum += sizeof(*tcp) + IPPROTO_TCP;
	sum = csum_add(sum, tcp, sizeof(*tcp));
	tcp->check = htons(csum_fold(sum));
}

static void build_pkt(__u8 *buf, __be32 saddr, __be16 sport, __be32 daddr,
		      __be16 dport, __u8 flags)
{
	if (family == 6)
		build_tcp6(buf, saddr, sport, daddr, dport, flags);
	else
		build_tcp(buf, saddr, sport, daddr, dport, flags);
}

/* Is the output's destination (source) the address addr stands for? */
static bool out_addr_is(const __u8 *buf, bool dst, __be32 addr)
{
	const struct iphdr *ip = (const struct iphdr *)(buf + ETH_HLEN);
	const struct ipv6hdr *ip6 = (const struct ipv6hdr *)(buf + ETH_HLEN);
	__u8 a[16];

	if (family == 4)
		return (dst ? ip->daddr : ip->saddr) == addr;
	ip6_of(addr, a);
	return !memcmp(dst ? &ip6->daddr : &ip6->saddr, a, 16);
}

static bool out_daddr_is(const __u8 *buf, __be32 addr)
{
	return out_addr_is(buf, true, addr);
}

static bool out_saddr_is(const __u8 *buf, __be32 addr)
{
	return out_addr_is(buf, false, addr);
}

/* ---- maps --------------------------------------------------------------- */

static int bench_open(struct bench *b, long n)
{
	__u32 size = 1024;
	struct bpf_map *map;
	int err;

	/* room for n + the pair + the ring, and service ids up to there */
	while (size < n + MAX_CHAIN + 16)
		size *= 2;
	memset(b, 0, sizeof(*b));
	b->skel = pod_bpf__open();
	if (!b->skel) {
		fprintf(stderr, "svcd-bpf-bench: open pod.bpf.o: %s\n",
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(map, b->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_map__set_max_entries(b->skel->maps.svcd_frontends, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_services, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_stats, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_slots, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_backends, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_conntrack, 65536);
	bpf_map__set_max_entries(b->skel->maps.svcd_frontends6, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_backends6, size);
	bpf_map__set_max_entries(b->skel->maps.svcd_conntrack6, 65536);
	err = pod_bpf__load(b->skel);
	if (err) {
		fprintf(stderr, "svcd-bpf-bench: load pod.bpf.o: %s%s\n",
			strerror(-err),
			err == -EPERM || err == -EACCES ?
				" (needs root: CAP_BPF and CAP_NET_ADMIN)" :
				"");
		pod_bpf__destroy(b->skel);
		b->skel = NULL;
		return -1;
	}
	b->prog = bpf_program__fd(b->skel->progs.from_pod);
	b->frontends = bpf_map__fd(b->skel->maps.svcd_frontends);
	b->slots = bpf_map__fd(b->skel->maps.svcd_slots);
	b->backends = bpf_map__fd(b->skel->maps.svcd_backends);
	b->conntrack = bpf_map__fd(b->skel->maps.svcd_conntrack);
	b->stats = bpf_map__fd(b->skel->maps.svcd_stats);
	b->frontends6 = bpf_map__fd(b->skel->maps.svcd_frontends6);
	b->backends6 = bpf_map__fd(b->skel->maps.svcd_backends6);
	b->conntrack6 = bpf_map__fd(b->skel->maps.svcd_conntrack6);
	return 0;
}

/* One service of one backend, in the agent's order: backend, slot,
 * frontend. */
static int add_service(struct bench *b, __u32 id, __be32 addr, __be16 port,
		       __be32 be_addr, __be16 be_port)
{
	struct svcd_frontend_key fkey = {
		.addr = addr,
		.port = port,
		.proto = IPPROTO_TCP,
		.scope = SVCD_SCOPE_INTERNAL,
	};
	struct svcd_frontend_value fval = {
		.service_id = id,
		.slot_count = 1,
		.rev = 1,
	};
	struct svcd_slot_key skey = { .service_id = id, .rev = 1, .slot = 0 };
	struct svcd_backend be = {
		.addr = be_addr,
		.port = be_port,
		.proto = IPPROTO_TCP,
	};

	struct svcd_frontend6_key fkey6 = {
		.port = port,
		.proto = IPPROTO_TCP,
		.scope = SVCD_SCOPE_INTERNAL,
	};
	struct svcd_backend6 be6 = { .port = be_port, .proto = IPPROTO_TCP };

	if (family == 6) {
		ip6_of(addr, fkey6.addr.b);
		ip6_of(be_addr, be6.addr.b);
		if (bpf_map_update_elem(b->backends6, &id, &be6, BPF_ANY) ||
		    bpf_map_update_elem(b->slots, &skey, &id, BPF_ANY) ||
		    bpf_map_update_elem(b->frontends6, &fkey6, &fval, BPF_ANY))
			return -errno;
		return 0;
	}
	if (bpf_map_update_elem(b->backends, &id, &be, BPF_ANY) ||
	    bpf_map_update_elem(b->slots, &skey, &id, BPF_ANY) ||
	    bpf_map_update_elem(b->frontends, &fkey, &fval, BPF_ANY))
		return -errno;
	return 0;
}

static int install(struct bench *b, long n)
{
	long others = n > 2 ? n - 2 : 0, i;
	int err;

	for (i = 1; i <= others; i++) {
		__u32 k = (__u32)i;
		__u32 a = k % (254 * 254);

		err = add_service(b, k,
				  IP4(198, 19, 96 + ((k >> 8) & 15), k & 0xff),
				  htons(1000 + (k >> 12)),
				  IP4(198, 18, 2 + a / 254, 1 + a % 254),
				  htons(8080 + k / (254 * 254)));
		if (err) {
			fprintf(stderr,
				"svcd-bpf-bench: install service %ld of %ld: %s\n",
				i, others, strerror(-err));
			return err;
		}
	}
	err = add_service(b, others + 1, PING, htons(80), PONG, htons(80));
	if (!err)
		err = add_service(b, others + 2, PONG, htons(80), PING,
				  htons(80));
	if (err) {
		fprintf(stderr, "svcd-bpf-bench: install PING/PONG: %s\n",
			strerror(-err));
		return err;
	}
	for (i = 0; i < chain && !err; i++)
		err = add_service(b, (__u32)(others + 3 + i), CHAIN(i),
				  htons(80), CHAIN((i + 1) % chain), htons(80));
	if (err)
		fprintf(stderr,
			"svcd-bpf-bench: install the new-flow ring: %s\n",
			strerror(-err));
	return err;
}

/* svcd_stats[0].new_flows summed over the CPUs, or -1. */
static long long new_flows_counted(struct bench *b)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct svcd_stats *v;
	long long sum = 0;
	__u32 key = 0;

	if (ncpu < 1)
		return -1;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(b->stats, &key, v)) {
		free(v);
		return -1;
	}
	for (i = 0; i < ncpu; i++)
		sum += v[i].new_flows;
	free(v);
	return sum;
}

/* add_reply_pair()'s two entries, in svcd_conntrack6. */
static int add_reply_pair6(struct bench *b, const struct svcd_ct_key *key,
			   const struct svcd_ct_value *val)
{
	struct svcd_ct6_key k = {
		.sport = key->sport,
		.dport = key->dport,
		.proto = key->proto,
		.dir = SVCD_CT_REVERSE,
	};
	struct svcd_ct6_value v = {
		.nat_sport = val->nat_sport,
		.nat_dport = val->nat_dport,
		.backend_id = val->backend_id,
		.service_id = val->service_id,
		.flags = val->flags,
		.tcp_state = val->tcp_state,
		.created_ns = val->created_ns,
		.last_seen_ns = val->last_seen_ns,
	};

	ip6_of(key->saddr, k.saddr.b);
	ip6_of(key->daddr, k.daddr.b);
	ip6_of(val->nat_saddr, v.nat_saddr.b);
	ip6_of(val->nat_daddr, v.nat_daddr.b);
	if (bpf_map_update_elem(b->conntrack6, &k, &v, BPF_ANY))
		return -errno;
	/* the forward entry: client -> to, shown the other way */
	ip6_of(CLIENT, k.saddr.b);
	k.sport = val->nat_sport;
	ip6_of(val->nat_daddr, k.daddr.b);
	k.dport = val->nat_dport;
	k.dir = SVCD_CT_FORWARD;
	ip6_of(CLIENT, v.nat_saddr.b);
	ip6_of(key->saddr, v.nat_daddr.b);
	v.nat_sport = val->nat_sport;
	v.nat_dport = key->sport;
	if (bpf_map_update_elem(b->conntrack6, &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * The "reply" ping-pong: a reverse entry for FROM:FROM_PORT -> client port
 * cport that rewrites the source to TO:TO_PORT, with its forward entry, of
 * an established TCP flow that has seen replies, last seen now.
 */
static int add_reply_pair(struct bench *b, __be32 from, __be16 from_port,
			  __be32 to, __be16 to_port, __be16 cport)
{
	struct timespec t;
	struct svcd_ct_key key = {
		.saddr = from,
		.daddr = CLIENT,
		.sport = from_port,
		.dport = cport,
		.proto = IPPROTO_TCP,
		.dir = SVCD_CT_REVERSE,
	};
	struct svcd_ct_value val = {
		.nat_saddr = CLIENT,
		.nat_sport = cport,
		.nat_daddr = to,
		.nat_dport = to_port,
		.backend_id = 1,
		.service_id = 1,
		.flags = SVCD_CT_SEEN_REPLY,
		.tcp_state = SVCD_TCP_ESTABLISHED,
	};

	/* the datapath's clock (svcd_now()) is CLOCK_MONOTONIC_COARSE */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	val.created_ns = val.last_seen_ns =
		(__u64)t.tv_sec * 1000000000ull + (__u64)t.tv_nsec;
	if (family == 6)
		return add_reply_pair6(b, &key, &val);
	if (bpf_map_update_elem(b->conntrack, &key, &val, BPF_ANY))
		return -errno;
	key.saddr = CLIENT;
	key.sport = cport;
	key.daddr = to;
	key.dport = to_port;
	key.dir = SVCD_CT_FORWARD;
	val.nat_saddr = CLIENT;
	val.nat_sport = cport;
	val.nat_daddr = from;
	val.nat_dport = from_port;
	if (bpf_map_update_elem(b->conntrack, &key, &val, BPF_ANY))
		return -errno;
	return 0;
}

/* ---- runs ----------------------------------------------------------------- */

static int run(struct bench *b, const __u8 *in, __u8 *out, int repeat,
	       __u32 *retval, __u32 *ns)
{
	/* ifindex 1 (lo): a refusal's bpf_redirect has a real target */
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = family == 6 ? PKT6_LEN : PKT_LEN,
		    .data_out = out, .data_size_out = 256, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(b->prog, &opts))
		return -errno;
	*retval = opts.retval;
	*ns = opts.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int measure(struct bench *b, long n, int repeat, int new_flows,
		   int rounds, struct result *r)
{
	__u8 in[256], out[256];
	double est[16], reply[16], other[16], *fresh, *once, *chained, *hs;
	int calls = new_flows / chain > 0 ? new_flows / chain : 1;
	long long counted, before;
	double sum = 0;
	__u32 retval, ns;
	int i, k, err;
	__u16 port = 20000;

	memset(r, 0, sizeof(*r));
	r->services = n;
	r->installed = (n > 2 ? n : 2) + chain;
	fresh = calloc(new_flows, sizeof(*fresh));
	once = calloc(new_flows, sizeof(*once));
	chained = calloc(calls, sizeof(*chained));
	hs = calloc(new_flows, sizeof(*hs));
	if (!fresh || !once || !chained || !hs) {
		free(fresh);
		free(once);
		free(chained);
		free(hs);
		return -ENOMEM;
	}
	for (k = 0; k < rounds; k++) {
		/* established: ping-pong from one client port */
		build_pkt(in, CLIENT, htons(40000), PING, htons(80), 0x10);
		err = run(b, in, out, repeat, &retval, &ns);
		if (err || retval != TC_ACT_OK ||
		    (!out_daddr_is(out, PING) && !out_daddr_is(out, PONG))) {
			fprintf(stderr,
				"svcd-bpf-bench: established ACK: err %d verdict %u: not forwarded\n",
				err, retval);
			goto fail;
		}
		est[k] = ns;
		/* reply: ping-pong between two reverse entries, refreshed
		 * each round (their last_seen_ns is "now") */
		err = add_reply_pair(b, BACKEND, htons(8080), PING, htons(80),
				     htons(40001));
		if (!err)
			err = add_reply_pair(b, PING, htons(80), BACKEND,
					     htons(8080), htons(40001));
		if (err) {
			fprintf(stderr,
				"svcd-bpf-bench: conntrack entries for the reply: %s\n",
				strerror(-err));
			goto fail;
		}
		build_pkt(in, BACKEND, htons(8080), CLIENT, htons(40001), 0x10);
		err = run(b, in, out, repeat, &retval, &ns);
		if (err || retval != TC_ACT_OK ||
		    (!out_saddr_is(out, PING) && !out_saddr_is(out, BACKEND))) {
			fprintf(stderr,
				"svcd-bpf-bench: reply ACK: err %d verdict %u: not reverse-NATed\n",
				err, retval);
			goto fail;
		}
		reply[k] = ns;
		/* not a service: parse + misses */
		build_pkt(in, CLIENT, htons(40000), ELSEWHERE, htons(80), 0x10);
		err = run(b, in, out, repeat, &retval, &ns);
		if (err || retval != TC_ACT_OK ||
		    !out_daddr_is(out, ELSEWHERE)) {
			fprintf(stderr,
				"svcd-bpf-bench: non-service ACK: err %d verdict %u: not passed untouched\n",
				err, retval);
			goto fail;
		}
		other[k] = ns;
	}
	for (i = 0; i < new_flows; i++) {
		build_pkt(in, CLIENT, htons(port++), PING, htons(80), 0x02);
		err = run(b, in, out, 1, &retval, &ns);
		if (err || retval != TC_ACT_OK || !out_daddr_is(out, PONG)) {
			fprintf(stderr,
				"svcd-bpf-bench: new-flow SYN %d: err %d verdict %u: not DNATed to the backend\n",
				i, err, retval);
			goto fail;
		}
		fresh[i] = ns;
		sum += ns;
		/* the same one-run call on a packet from_pod only passes:
		 * what a single test run costs besides the program's work */
		build_pkt(in, CLIENT, htons(port), ELSEWHERE, htons(80), 0x02);
		err = run(b, in, out, 1, &retval, &ns);
		if (err || retval != TC_ACT_OK) {
			fprintf(stderr,
				"svcd-bpf-bench: non-service SYN: err %d verdict %u\n",
				err, retval);
			goto fail;
		}
		once[i] = ns;
	}
	/* handshakes: SYN, the backend's SYN-ACK, the client's ACK */
	for (i = 0; i < new_flows; i++) {
		__be16 p = htons(port++);
		double sum3 = 0;

		build_pkt(in, CLIENT, p, PING, htons(80), 0x02);
		err = run(b, in, out, 1, &retval, &ns);
		if (err || retval != TC_ACT_OK || !out_daddr_is(out, PONG))
			goto hs_fail;
		sum3 += ns;
		build_pkt(in, PONG, htons(80), CLIENT, p, 0x12);
		err = run(b, in, out, 1, &retval, &ns);
		if (err || retval != TC_ACT_OK || !out_saddr_is(out, PING))
			goto hs_fail;
		sum3 += ns;
		build_pkt(in, CLIENT, p, PING, htons(80), 0x10);
		err = run(b, in, out, 1, &retval, &ns);
		if (err || retval != TC_ACT_OK || !out_daddr_is(out, PONG))
			goto hs_fail;
		hs[i] = sum3 + ns;
		continue;
hs_fail:
		fprintf(stderr,
			"svcd-bpf-bench: handshake %d: err %d verdict %u: not translated\n",
			i, err, retval);
		goto fail;
	}
	/* call -1 warms the ring's services up, as the repeat loop's first
	 * runs do for the figures above; it is checked, not timed */
	for (i = -1; i < calls; i++) {
		before = new_flows_counted(b);
		build_pkt(in, CLIENT, htons(port++), CHAIN(0), htons(80), 0x02);
		err = run(b, in, out, chain, &retval, &ns);
		counted = new_flows_counted(b);
		if (err || retval != TC_ACT_OK ||
		    !out_daddr_is(out, CHAIN(0)) || before < 0 ||
		    counted - before != chain) {
			fprintf(stderr,
				"svcd-bpf-bench: chained SYNs, call %d: err %d verdict %u, %lld new flows counted of %d\n",
				i, err, retval, counted - before, chain);
			goto fail;
		}
		if (i >= 0)
			chained[i] = ns;
	}
	r->established_ns = median(est, rounds);
	r->reply_ns = median(reply, rounds);
	r->not_service_ns = median(other, rounds);
	r->new_flow_mean_ns = sum / new_flows;
	r->new_flow_ns = median(fresh, new_flows);
	r->not_service_1run_ns = median(once, new_flows);
	r->new_flow_net_ns = r->new_flow_ns - r->not_service_1run_ns;
	r->new_flow_chain_ns = median(chained, calls);
	r->handshake_ns = median(hs, new_flows);
	r->handshake_net_ns = r->handshake_ns - 3 * r->not_service_1run_ns;
	free(fresh);
	free(once);
	free(chained);
	free(hs);
	return 0;
fail:
	free(fresh);
	free(once);
	free(chained);
	free(hs);
	return -EIO;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svcd-bpf-bench [--services N[,N...]] [--repeat R] [--new-flows F]\n"
		"                      [--chain L] [--rounds K] [--family 4|6] [--json] [-v]\n"
		"  per-packet cost of from_pod (BPF_PROG_TEST_RUN) with N services installed\n"
		"  defaults: --services 1,100000 --repeat 100000 --new-flows 2000 --chain 100\n"
		"            --rounds 5 (new flows chained: F / L calls of L new flows each)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "services", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "new-flows", required_argument, NULL, 'f' },
		{ "chain", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "family", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	long sizes[MAX_SIZES] = { 1, 100000 };
	int n_sizes = 2, repeat = 100000, new_flows = 2000, rounds = 5;
	struct result res[MAX_SIZES];
	bool json = false;
	char *s, *end, *tok;
	int c, i, rc = 0;

	while ((c = getopt_long(argc, argv, "s:r:f:c:k:F:jvh", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			n_sizes = 0;
			s = optarg;
			while ((tok = strsep(&s, ",")) && n_sizes < MAX_SIZES) {
				long v = strtol(tok, &end, 10);

				if (*end || v < 1 || v > 1000000) {
					fprintf(stderr,
						"svcd-bpf-bench: --services: '%s' is not in 1..1000000\n",
						tok);
					return 2;
				}
				sizes[n_sizes++] = v;
			}
			break;
		case 'r':
			repeat = atoi(optarg);
			if (repeat < 1 || repeat > 10000000) {
				fprintf(stderr,
					"svcd-bpf-bench: bad --repeat\n");
				return 2;
			}
			break;
		case 'f':
			new_flows = atoi(optarg);
			if (new_flows < 1 || new_flows > 20000) {
				fprintf(stderr,
					"svcd-bpf-bench: --new-flows must be 1..20000\n");
				return 2;
			}
			break;
		case 'c':
			chain = atoi(optarg);
			if (chain < 2 || chain > MAX_CHAIN) {
				fprintf(stderr,
					"svcd-bpf-bench: --chain must be 2..%d\n",
					MAX_CHAIN);
				return 2;
			}
			break;
		case 'k':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > 16) {
				fprintf(stderr,
					"svcd-bpf-bench: --rounds must be 1..16\n");
				return 2;
			}
			break;
		case 'F':
			family = atoi(optarg);
			if (family != 4 && family != 6) {
				fprintf(stderr,
					"svcd-bpf-bench: --family must be 4 or 6\n");
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !n_sizes) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(print_libbpf);

	for (i = 0; i < n_sizes; i++) {
		struct bench b;

		if (bench_open(&b, sizes[i]))
			return 1;
		if (install(&b, sizes[i]) ||
		    measure(&b, sizes[i], repeat, new_flows, rounds, &res[i]))
			rc = 1;
		pod_bpf__destroy(b.skel);
		if (rc)
			return rc;
	}
	if (json) {
		printf("{\"program\":\"from_pod\",\"family\":%d,\"repeat\":%d,\"new_flows\":%d,\"chain\":%d,\"rounds\":%d,\"results\":[",
		       family, repeat, new_flows, chain, rounds);
		for (i = 0; i < n_sizes; i++)
			printf("%s{\"services\":%ld,\"installed\":%ld,\"established_ns\":%.1f,"
			       "\"reply_ns\":%.1f,"
			       "\"new_flow_chain_ns\":%.1f,"
			       "\"new_flow_ns\":%.1f,\"new_flow_mean_ns\":%.1f,"
			       "\"new_flow_net_ns\":%.1f,"
			       "\"not_service_ns\":%.1f,\"not_service_1run_ns\":%.1f,"
			       "\"handshake_ns\":%.1f,\"handshake_net_ns\":%.1f}",
			       i ? "," : "", res[i].services, res[i].installed,
			       res[i].established_ns, res[i].reply_ns,
			       res[i].new_flow_chain_ns, res[i].new_flow_ns,
			       res[i].new_flow_mean_ns, res[i].new_flow_net_ns,
			       res[i].not_service_ns,
			       res[i].not_service_1run_ns, res[i].handshake_ns,
			       res[i].handshake_net_ns);
		printf("]}\n");
		return 0;
	}
	printf("from_pod%s, ns/packet (BPF_PROG_TEST_RUN)\n"
	       "  established, reply, not a service: repeat %d, median of %d rounds\n"
	       "  new flow: %d SYNs chained in one call (a ring of services: every\n"
	       "    run a new flow), median of %d calls: the program's own cost\n"
	       "  (1): one run per call, median of %d SYNs: each also pays the call's\n"
	       "    own overhead, cold; (1) net = new flow (1) - not a service (1)\n"
	       "  handshake (1): SYN + SYN-ACK + ACK, one run each, median of %d;\n"
	       "    net = less 3 x not a service (1)\n",
	       family == 6 ? " IPv6" : "", repeat, rounds, chain,
	       new_flows / chain > 0 ? new_flows / chain : 1, new_flows,
	       new_flows);
	printf("%10s %12s %8s %14s %9s | %13s %18s %8s | %13s %8s\n",
	       "services", "established", "reply", "not a service", "new flow",
	       "new flow (1)", "not a service (1)", "(1) net", "handshake (1)",
	       "net");
	for (i = 0; i < n_sizes; i++)
		printf("%10ld %12.1f %8.1f %14.1f %9.1f | %13.1f %18.1f %8.1f | %13.1f %8.1f\n",
		       res[i].services, res[i].established_ns, res[i].reply_ns,
		       res[i].not_service_ns, res[i].new_flow_chain_ns,
		       res[i].new_flow_ns, res[i].not_service_1run_ns,
		       res[i].new_flow_net_ns, res[i].handshake_ns,
		       res[i].handshake_net_ns);
	return 0;
}
