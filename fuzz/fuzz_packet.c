// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_packet.c - the shipped datapath (pod.bpf.o from_pod and to_pod,
 * wire.bpf.o from_wire, from_wire_tc and to_wire) run by BPF_PROG_TEST_RUN
 * on mutated packets, against docs/design.md invariant 4. After each run:
 *
 *   exactly one reason is counted, in svcd_reasons and under the
 *   program's own hook in svcd_hook_reasons, and the verdict is the
 *   reason's;
 *   PASS_*: the frame leaves byte for byte as it came;
 *   DROP_*: TC_ACT_SHOT or XDP_DROP;
 *   REFUSED: a TCP RST, else an ICMP port unreachable, to the sender,
 *   checksums right;
 *   FORWARD, REVERSE, TX, ICMP_ERROR: translated, never half: the same
 *   length, the IPv4 header and L4 checksums right whenever the input's
 *   were, and (but for ICMP errors, whose tuple is inside) nothing
 *   changed but MACs, addresses, ports and checksums, and a conntrack
 *   pair that maps the output back to the input.
 *
 * libFuzzer cannot see inside BPF, so the input carries structure
 * instead: up to MAX_PACKETS records {sel, length (2 bytes, big endian),
 * frame}. sel's low 3 bits pick the program, SEL_FIX_CSUM has the IPv4,
 * TCP, UDP and ICMP checksums (and the UDP length) made right before the
 * run, so that mutations get past a checksum to the translation paths.
 * Conntrack and affinity are emptied before every input: an input is a
 * flow replayed from nothing, and a crash reproduces alone.
 *
 * The programs run against the services of world.h's addresses (below),
 * in both families, in a network namespace of the process's own with
 * world.h's WIRE_BATCH routes (bpf_fib_lookup() consults it); nothing is
 * attached, nothing pinned. Needs root: without it, or without BPF, the
 * harness prints "SKIP: why" and exits 0 (scripts/fuzz.sh counts a skip).
 *
 * FUZZ_PACKET_TRACE=1 prints each packet's program, reason and verdict
 * (what an input did, e.g. a crash's). FUZZ_PACKET_SEEDS=DIR writes the
 * seeds (the prog tests' packets, built
 * by pktbuild) into DIR and exits; that needs no BPF (make fuzz-seed-packet).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fuzz.h"
#include "progtest.h"
#include "runner.h"
#include "svcd_abi_names.h"
#include "world.h"

#define MAX_PACKETS 4
#define REC_HDR 3	   /* sel, length */
#define SEL_PROG_MASK 0x07 /* % N_PROGS: which program */
#define SEL_FIX_CSUM 0x80  /* make the checksums right before the run */
#define N_PROGS 5

/* ---- what progtest.c reports through the runner ------------------------ */

static char skip_reason[256];
static bool setup_failed;

void test__skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
}

void test__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_packet: setup: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	setup_failed = true;
}

void test__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

bool test__start_subtest(const char *name)
{
	(void)name;
	return true;
}

/* ---- the world: services of every kind, on world.h's addresses --------- */

/* ids of the IPv6 twins: services and backends share one id space */
#define V6_SVC 32
#define V6_BE 16

#define HAIRPIN_PORT bpf_htons(8081)
#define EMPTY_TCP_PORT bpf_htons(82)
#define EMPTY_UDP_PORT bpf_htons(54)
#define AFFINITY_PORT bpf_htons(83)
#define NO_SLOT_PORT bpf_htons(84)
#define LOCAL_NONE_PORT bpf_htons(85)
#define NP_LOCAL_BE bpf_htons(30081)
#define NP_NO_NEIGH bpf_htons(30082)
#define NP_OTHER_UPLINK bpf_htons(30083)
#define NP_LOCAL_NONE bpf_htons(30084)
#define NP_EMPTY bpf_htons(30085)
#define NP_HOST bpf_htons(30086)
#define NP_NO_SLOT bpf_htons(30087)
#define SNAT_PORT 62000 /* one port: SNAT is deterministic */

#define CLUSTER_NP (SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR)
#define LOCAL_NP (SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY | SVCD_FE_NODE_ADDR)

/* One backend per service: which one a new flow gets never depends on
 * bpf_get_prandom_u32(), so an input replays the same way. */
#define BE(id_, addr_, flags_)                                      \
	{                                                           \
		.id = (id_), .addr = (addr_), .port = BACKEND_PORT, \
		.flags = (flags_)                                   \
	}
#define BE_A_LOCAL BE(BE_A, BACKEND_A, SVCD_BE_LOCAL)
#define SVC(id_, addr_, port_, proto_, ...)                    \
	{                                                      \
		.id = (id_), .addr = (addr_), .port = (port_), \
		.proto = (proto_), .rev = 1, __VA_ARGS__       \
	}

static const struct pt_service world[] = {
	/* ClusterIPs, from pods (from_pod, to_pod) */
	SVC(SVC_ID, FRONTEND, TCP_PORT, IPPROTO_TCP,
	    .backends = { BE_A_LOCAL }),
	SVC(SVC_ID_UDP, FRONTEND, UDP_PORT, IPPROTO_UDP,
	    .backends = { BE_A_LOCAL }),
	SVC(9, FRONTEND, HAIRPIN_PORT, IPPROTO_TCP,
	    .backends = { BE(BE_SELF, CLIENT, SVCD_BE_LOCAL) }),
	SVC(10, FRONTEND, EMPTY_TCP_PORT, IPPROTO_TCP),
	SVC(11, FRONTEND, EMPTY_UDP_PORT, IPPROTO_UDP),
	SVC(12, FRONTEND, AFFINITY_PORT, IPPROTO_TCP, .affinity_timeout = 60,
	    .backends = { BE(BE_B, BACKEND_B, 0) }),
	SVC(13, FRONTEND, NO_SLOT_PORT, IPPROTO_TCP, .no_slots = true,
	    .backends = { BE(BE_B, BACKEND_B, 0) }),
	/* internalTrafficPolicy Local, endpoints elsewhere only */
	SVC(14, FRONTEND, LOCAL_NONE_PORT, IPPROTO_TCP,
	    .flags = SVCD_FE_LOCAL_ONLY | SVCD_FE_EMPTY_DROP),
	/* from outside (from_wire, from_wire_tc, to_wire) */
	SVC(20, NODE_A, NODEPORT_TCP, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP, .backends = { BE(BE_B, BACKEND_B, 0) }),
	SVC(21, NODE_A, NODEPORT_UDP, IPPROTO_UDP, .external = true,
	    .flags = CLUSTER_NP, .backends = { BE(BE_B, BACKEND_B, 0) }),
	SVC(22, NODE_A, NP_LOCAL_BE, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP, .backends = { BE_A_LOCAL }),
	SVC(23, NODE_A, NP_NO_NEIGH, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP, .backends = { BE(BE_C, BACKEND_C, 0) }),
	SVC(24, NODE_A, NP_OTHER_UPLINK, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP, .backends = { BE(BE_D, BACKEND_D, 0) }),
	SVC(25, NODE_A, NP_LOCAL_NONE, IPPROTO_TCP, .external = true,
	    .flags = LOCAL_NP | SVCD_FE_EMPTY_DROP),
	SVC(26, NODE_A, NP_EMPTY, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP),
	SVC(27, NODE_A, NP_HOST, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP,
	    .backends = { BE(BE_HOST, NODE_A, SVCD_BE_LOCAL) }),
	SVC(30, NODE_A, NP_NO_SLOT, IPPROTO_TCP, .external = true,
	    .flags = CLUSTER_NP, .no_slots = true,
	    .backends = { BE(BE_B, BACKEND_B, 0) }),
	SVC(28, EXTERNAL_IP, SVC_PORT, IPPROTO_TCP, .external = true,
	    .flags = SVCD_TYPE_EXTERNAL_IP | SVCD_FE_SNAT,
	    .backends = { BE(BE_B, BACKEND_B, 0) }),
	SVC(29, LB_IP, SVC_PORT, IPPROTO_TCP, .external = true,
	    .flags = SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT |
		     SVCD_FE_SRC_RANGES,
	    .backends = { BE_A_LOCAL }),
};

static struct pt pt;

static int install_world(int family)
{
	struct pt_service s;
	size_t i;
	int b, err;

	pt_family(&pt, family);
	for (i = 0; i < ARRAY_SIZE(world); i++) {
		s = world[i];
		if (family == 6) {
			s.id += V6_SVC;
			for (b = 0; b < PT_MAX_BACKENDS && s.backends[b].id;
			     b++)
				s.backends[b].id += V6_BE;
		}
		err = pt_service_set(&pt, &s);
		if (err)
			return err;
	}
	/* LB_IP admits EXT_CLIENT's /24 only */
	return pt_src_range_add(&pt, LB_IP, EXT_CLIENT & IP4(255, 255, 255, 0),
				24);
}

/* The XDP variant's from_wire_tc only finishes packets from_wire marked
 * (metadata BPF_PROG_TEST_RUN cannot give a tc program), so from_wire is
 * taken from that variant and the tc programs from the tc_only one: two
 * wire objects over the one set of maps. */
static struct wire_bpf *xdp_wire;
/* that variant marks its handoffs (a kernel whose XDP cannot call
 * bpf_xdp_adjust_meta gets the unmarked one: wire.bpf.c xdp_meta) */
static bool xdp_meta;

static int setup(void)
{
	struct pt_wire_config cfg = {
		.snat_addr = NODE_A,
		.port_min = SNAT_PORT,
		.port_max = SNAT_PORT,
	};
	struct pt_sizes sizes = {
		.frontends = 64,
		.services = 64,
		.slots = 256,
		.backends = 64,
		.conntrack = 256,
	};
	int err, from_wire;

	if (geteuid() != 0) {
		test__skip(
			"BPF_PROG_TEST_RUN and a network namespace need root");
		return -EPERM;
	}
	err = pt_open(&pt, &sizes);
	err = err ?: pt_open_wire(&pt, &cfg);
	if (err)
		return err;
	xdp_wire = pt.wire;
	xdp_meta = pt.xdp_meta;
	from_wire = pt.from_wire;
	pt.wire = NULL;
	cfg.tc_only = true;
	err = pt_open_wire(&pt, &cfg);
	if (err)
		return err;
	pt.from_wire = from_wire;
	err = wire_world_enter(&pt);
	if (err)
		return err;
	err = install_world(4);
	err = err ?: install_world(6);
	pt_family(&pt, 4);
	if (err)
		test__fail(__FILE__, __LINE__, "install the services: %s",
			   strerror(-err));
	return err;
}

/* ---- checksums, made right on request ---------------------------------- */

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u32 pseudo_sum(const struct pkt_parsed *p, const __u8 *frame,
			__u8 proto, size_t len)
{
	const __u8 *ip = frame + p->l3_off;
	__u32 sum;

	/* addresses: IPv4 at 12..19, IPv6 at 8..39 of the header */
	if (p->ipv6)
		sum = pkt_csum_add(0, ip + 8, 32);
	else
		sum = pkt_csum_add(0, ip + 12, 8);
	return sum + proto + (__u32)len;
}

/* The IPv4 header checksum, and the L4 one over [l4_off, end) when the
 * header is there whole (a fragment's L4 is not). */
static void fix_csums(struct pkt *pkt)
{
	struct pkt_parsed p;
	__u8 *ip, *l4;
	size_t end, len;
	__u16 csum;

	pkt_parse(pkt->data, pkt->len, &p); /* partial is enough */
	if (!p.ipv4 && !p.ipv6)
		return;
	ip = pkt->data + p.l3_off;
	if (p.ipv4) {
		put16(ip + 10, 0);
		put16(ip + 10, pkt_csum_fold(pkt_csum_add(0, ip, p.ihl * 4)));
		if (p.frag & (PKT_MF | PKT_OFFSET_MASK))
			return;
	}
	end = p.l3_off + p.tot_len;
	if (p.ipv6 && p.proto == 44) /* a fragment header: no L4 */
		return;
	if (!p.l4_off || p.l4_off > end || end > pkt->len)
		return;
	l4 = pkt->data + p.l4_off;
	len = end - p.l4_off;
	switch (p.proto) {
	case IPPROTO_TCP:
		if (len < 20)
			return;
		put16(l4 + 16, 0);
		put16(l4 + 16, pkt_csum_fold(pkt_csum_add(
				       pseudo_sum(&p, pkt->data, p.proto, len),
				       l4, len)));
		break;
	case IPPROTO_UDP:
		if (len < 8 || len > 0xffff)
			return;
		put16(l4 + 4, (__u16)len);
		/* IPv4's "no checksum" stays what it is */
		if (p.ipv4 && !l4[6] && !l4[7])
			return;
		put16(l4 + 6, 0);
		csum = pkt_csum_fold(pkt_csum_add(
			pseudo_sum(&p, pkt->data, p.proto, len), l4, len));
		put16(l4 + 6, csum ?: 0xffff);
		break;
	case IPPROTO_ICMP:
		if (len < 8 || !p.ipv4)
			return;
		put16(l4 + 2, 0);
		put16(l4 + 2, pkt_csum_fold(pkt_csum_add(0, l4, len)));
		break;
	case IPPROTO_ICMPV6:
		if (len < 8 || !p.ipv6)
			return;
		put16(l4 + 2, 0);
		put16(l4 + 2, pkt_csum_fold(pkt_csum_add(
				      pseudo_sum(&p, pkt->data, p.proto, len),
				      l4, len)));
		break;
	}
}

/* ---- the check --------------------------------------------------------- */

static const enum pt_prog progs[N_PROGS] = {
	PT_FROM_POD, PT_TO_POD, PT_FROM_WIRE, PT_FROM_WIRE_TC, PT_TO_WIRE,
};
static const char *const prog_names[N_PROGS] = {
	"from_pod", "to_pod", "from_wire", "from_wire_tc", "to_wire",
};
static const enum svcd_hook prog_hooks[N_PROGS] = {
	SVCD_HOOK_FROM_POD,	SVCD_HOOK_TO_POD,  SVCD_HOOK_FROM_WIRE,
	SVCD_HOOK_FROM_WIRE_TC, SVCD_HOOK_TO_WIRE,
};

struct run {
	int prog; /* index into progs[] */
	const struct pkt *in, *out;
	__u32 verdict;
	int reason;
};

static void dump_frame(const char *what, const struct pkt *pkt)
{
	char buf[256];
	size_t i;

	pkt_describe(pkt->data, pkt->len, buf, sizeof(buf));
	fprintf(stderr, "  %s: %s\n   ", what, buf);
	for (i = 0; i < pkt->len && i < 128; i++)
		fprintf(stderr, "%s%02x", i && !(i % 16) ? "\n    " : " ",
			pkt->data[i]);
	fputc('\n', stderr);
}

/* A broken invariant: say which, on what, and abort (libFuzzer keeps the
 * input). */
static void __attribute__((noreturn, format(printf, 2, 3)))
violation(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: packet invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  program %s, verdict %u, reason %s\n",
		prog_names[r->prog], r->verdict,
		r->reason >= 0 ? pt_reason_name(r->reason) : "(none)");
	dump_frame("in ", r->in);
	dump_frame("out", r->out);
	abort();
}

static bool reason_drops(int reason)
{
	switch (reason) {
	case SVCD_R_DROP_NO_SLOT:
	case SVCD_R_DROP_CT_FULL:
	case SVCD_R_DROP_REWRITE:
	case SVCD_R_DROP_NO_LOCAL:
	case SVCD_R_DROP_SNAT_PORTS:
	case SVCD_R_DROP_SOURCE_RANGE:
	case SVCD_R_DROP_FIB:
		return true;
	default:
		return false;
	}
}

static bool reason_passes(int reason)
{
	switch (reason) {
	case SVCD_R_PASS_NOT_IP:
	case SVCD_R_PASS_NOT_OURS:
	case SVCD_R_PASS_FRAGMENT:
	case SVCD_R_PASS_MALFORMED:
	case SVCD_R_PASS_OTHER_PROTO:
	case SVCD_R_PASS_REFUSE_STACK:
	case SVCD_R_PASS_TO_TC:
	case SVCD_R_PASS_EXT_HDR:
	case SVCD_R_PASS_STALE_REPLY:
		return true;
	default:
		return false;
	}
}

/* A flow's tuple, either family, as conntrack keys it. */
struct tuple {
	bool v6;
	__u8 proto;
	union svcd_ip6 saddr, daddr;
	__be16 sport, dport;
};

/*
 * The tuple of a frame, either family: false when it has no IP header or
 * no room for the ports. An IP length past the frame's end is no reason
 * to refuse one: a tc program sees only the linear head of a non-linear
 * skb, so the datapath takes such frames, and pktbuild's parser does not:
 * it parses a copy with the length cut to the frame (and an IPv6 payload
 * length of 0 taken as "up to the end").
 */
static bool tuple_of(const struct pkt *pkt, struct tuple *t, size_t *l4_off)
{
	static struct pkt cut;
	struct pkt_parsed p;
	size_t room, len;

	memset(t, 0, sizeof(*t));
	cut = *pkt;
	if (cut.len >= ETH_HLEN + 40 && cut.data[12] == 0x86 &&
	    cut.data[13] == 0xdd) {
		room = cut.len - ETH_HLEN - 40;
		len = (size_t)cut.data[18] << 8 | cut.data[19];
		/* 0: a jumbogram's, or a BIG TCP GSO packet's */
		if (!len || len > room)
			put16(cut.data + 18, (__u16)room);
	} else if (cut.len >= ETH_HLEN + 20 && cut.data[12] == 0x08 &&
		   cut.data[13] == 0x00) {
		room = cut.len - ETH_HLEN;
		if (((size_t)cut.data[16] << 8 | cut.data[17]) > room)
			put16(cut.data + 16, (__u16)room);
	}
	pkt_parse(cut.data, cut.len, &p); /* partial is enough */
	if (!p.ipv4 && !p.ipv6)
		return false;
	if (!p.l4_off || p.l4_off + 4 > cut.len)
		return false;
	t->v6 = p.ipv6;
	t->proto = p.proto;
	if (p.ipv6) {
		memcpy(t->saddr.b, p.saddr6, 16);
		memcpy(t->daddr.b, p.daddr6, 16);
	} else {
		t->saddr.w[0] = p.saddr;
		t->daddr.w[0] = p.daddr;
	}
	memcpy(&t->sport, cut.data + p.l4_off, 2);
	memcpy(&t->dport, cut.data + p.l4_off + 2, 2);
	*l4_off = p.l4_off;
	return true;
}

static void tuple_reverse(const struct tuple *t, struct tuple *rev)
{
	*rev = *t;
	rev->saddr = t->daddr;
	rev->daddr = t->saddr;
	rev->sport = t->dport;
	rev->dport = t->sport;
}

static bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->v6 == b->v6 && a->proto == b->proto &&
	       !memcmp(&a->saddr, &b->saddr, sizeof(a->saddr)) &&
	       !memcmp(&a->daddr, &b->daddr, sizeof(a->daddr)) &&
	       a->sport == b->sport && a->dport == b->dport;
}

/* The conntrack entry keyed by t in direction dir; its NAT fields as a
 * tuple {nat_saddr, nat_daddr, nat_sport, nat_dport}. */
static bool ct_lookup(const struct tuple *t, __u8 dir, struct tuple *nat)
{
	*nat = *t;
	if (t->v6) {
		struct svcd_ct6_key key = {
			.saddr = t->saddr,
			.daddr = t->daddr,
			.sport = t->sport,
			.dport = t->dport,
			.proto = t->proto,
			.dir = dir,
		};
		struct svcd_ct6_value val;

		/* svcd_conntrack6, or svcd_ct6_syn mid-handshake */
		if (bpf_map_lookup_elem(pt.conntrack6, &key, &val) &&
		    bpf_map_lookup_elem(pt.ct6_syn, &key, &val))
			return false;
		nat->saddr = val.nat_saddr;
		nat->daddr = val.nat_daddr;
		nat->sport = val.nat_sport;
		nat->dport = val.nat_dport;
	} else {
		struct svcd_ct_key key = {
			.saddr = t->saddr.w[0],
			.daddr = t->daddr.w[0],
			.sport = t->sport,
			.dport = t->dport,
			.proto = t->proto,
			.dir = dir,
		};
		struct svcd_ct_value val;

		if (bpf_map_lookup_elem(pt.conntrack, &key, &val) &&
		    bpf_map_lookup_elem(pt.ct_syn, &key, &val))
			return false;
		memset(&nat->saddr, 0, sizeof(nat->saddr));
		memset(&nat->daddr, 0, sizeof(nat->daddr));
		nat->saddr.w[0] = val.nat_saddr;
		nat->daddr.w[0] = val.nat_daddr;
		nat->sport = val.nat_sport;
		nat->dport = val.nat_dport;
	}
	return true;
}

static unsigned long n_collisions;

/*
 * in -> out must be a translation conntrack holds both ways:
 *   forward: FORWARD[in] = out, and REVERSE[out turned around] = in;
 *   reply:   REVERSE[in] = out turned around, and FORWARD[out turned
 *            around] = in turned around.
 * One allowance, the limit ct_forget_reused() (svc_af.h) states: two live
 * flows on one backend tuple share one reverse entry, the later one's.
 */
static void check_conntrack(const struct run *r, const struct tuple *in,
			    const struct tuple *out)
{
	struct tuple nat, back, in_rev, out_rev, other;

	tuple_reverse(in, &in_rev);
	tuple_reverse(out, &out_rev);
	if (ct_lookup(in, SVCD_CT_FORWARD, &nat) && tuple_eq(&nat, out)) {
		if (!ct_lookup(&out_rev, SVCD_CT_REVERSE, &back))
			violation(r, "forward translation without the reverse "
				     "conntrack entry");
		if (tuple_eq(&back, in))
			return;
		/* the other flow's forward entry leads to the same place */
		if (ct_lookup(&back, SVCD_CT_FORWARD, &other) &&
		    tuple_eq(&other, out)) {
			n_collisions++;
			return;
		}
		violation(r, "the reverse conntrack entry does not lead back "
			     "to the input");
	}
	if (ct_lookup(in, SVCD_CT_REVERSE, &nat)) {
		tuple_reverse(&nat, &back);
		if (!tuple_eq(&back, out))
			violation(r, "reply translated to other than its "
				     "reverse conntrack entry says");
		if (!ct_lookup(&out_rev, SVCD_CT_FORWARD, &back))
			violation(r, "reply translated without its flow's "
				     "forward conntrack entry");
		if (!tuple_eq(&back, &in_rev))
			violation(r, "the flow's forward entry does not lead "
				     "to this reply's source");
		return;
	}
	violation(r, "translated, but no conntrack entry explains it");
}

/*
 * Half a translation leaves a field behind: outside the MACs (a redirect
 * sets them), the addresses, the ports and the checksums, a translated
 * frame is the input byte for byte.
 */
static void check_only_tuple_changed(const struct run *r, const struct tuple *t,
				     size_t l4_off)
{
	static struct pkt a, b;
	size_t csum_off = 0, i;

	a = *r->in;
	b = *r->out;
	memset(a.data, 0, 12);
	memset(b.data, 0, 12);
	if (t->v6) {
		memset(a.data + ETH_HLEN + 8, 0, 32);
		memset(b.data + ETH_HLEN + 8, 0, 32);
	} else {
		memset(a.data + ETH_HLEN + 10, 0, 10);
		memset(b.data + ETH_HLEN + 10, 0, 10);
	}
	memset(a.data + l4_off, 0, 4);
	memset(b.data + l4_off, 0, 4);
	if (t->proto == IPPROTO_TCP)
		csum_off = l4_off + 16;
	else if (t->proto == IPPROTO_UDP)
		csum_off = l4_off + 6;
	if (csum_off && csum_off + 2 <= a.len) {
		memset(a.data + csum_off, 0, 2);
		memset(b.data + csum_off, 0, 2);
	}
	for (i = 0; i < a.len && a.data[i] == b.data[i]; i++)
		;
	if (i < a.len)
		violation(r,
			  "translation changed byte %zu, outside the "
			  "addresses, ports and checksums",
			  i);
}

static void check_translated(const struct run *r)
{
	struct pkt_parsed pi, po;
	struct tuple ti, to;
	size_t l4_in, l4_out;
	int in_err = pkt_parse(r->in->data, r->in->len, &pi);
	int out_err = pkt_parse(r->out->data, r->out->len, &po);

	if (r->out->len != r->in->len)
		violation(r, "translation changed the frame length %zu -> %zu",
			  r->in->len, r->out->len);
	if (pi.ipv4 && pi.ip_csum_ok && !(po.ipv4 && po.ip_csum_ok))
		violation(r, "IPv4 header checksum broken by translation");
	if (!in_err && pi.l4) {
		if (out_err || !po.l4)
			violation(r, "translated output does not parse");
		if (pi.l4_csum_ok && !po.l4_csum_ok)
			violation(r, "L4 checksum broken by translation");
	}
	if (r->reason == SVCD_R_ICMP_ERROR)
		return; /* the tuple to check is the quoted one */
	if (!tuple_of(r->in, &ti, &l4_in) || !tuple_of(r->out, &to, &l4_out))
		violation(r, "translated a frame without an IP/L4 tuple");
	if (ti.v6 != to.v6 || ti.proto != to.proto || l4_in != l4_out)
		violation(r, "translation changed the family, protocol or "
			     "header lengths");
	check_only_tuple_changed(r, &ti, l4_in);
	check_conntrack(r, &ti, &to);
}

/* TCP: a RST from the frontend; else ICMP port unreachable to the sender
 * (docs/datapath.md step 9). Built fresh, so its checksums are right
 * whatever the input's were. */
static void check_refusal(const struct run *r)
{
	struct pkt_parsed po;
	struct tuple ti, to;
	size_t l4_off;
	bool icmp;

	if (!tuple_of(r->in, &ti, &l4_off))
		violation(r, "refused a frame without an IP/L4 tuple");
	if (pkt_parse(r->out->data, r->out->len, &po) || !po.l4 ||
	    !tuple_of(r->out, &to, &l4_off))
		violation(r, "refusal does not parse");
	if (ti.proto == IPPROTO_TCP) {
		if (po.proto != IPPROTO_TCP || !(po.tcp_flags & PKT_RST) ||
		    to.sport != ti.dport || to.dport != ti.sport)
			violation(r, "TCP refusal is not a RST from the "
				     "frontend port");
	} else {
		icmp = po.ipv4 ?
			       po.proto == IPPROTO_ICMP && po.icmp_type == 3 &&
				       po.icmp_code == 3 :
			       po.proto == IPPROTO_ICMPV6 &&
				       po.icmp_type == 1 && po.icmp_code == 4;
		if (!icmp)
			violation(r, "refusal is not an ICMP port unreachable");
	}
	if ((po.ipv4 && !po.ip_csum_ok) || !po.l4_csum_ok)
		violation(r, "refusal's checksums are wrong");
	if (to.v6 != ti.v6 || memcmp(&to.daddr, &ti.saddr, sizeof(to.daddr)) ||
	    memcmp(&to.saddr, &ti.daddr, sizeof(to.saddr)))
		violation(r, "refusal is not from the frontend to the sender");
}

static void check_run(const struct run *r)
{
	bool xdp = progs[r->prog] == PT_FROM_WIRE;
	__u32 meta = PT_HANDOFF_MAGIC;

	if (reason_drops(r->reason)) {
		if (r->verdict != (xdp ? XDP_DROP : TC_ACT_SHOT))
			violation(r, "a drop reason, but not dropped");
		return;
	}
	if (reason_passes(r->reason)) {
		if (r->verdict != (xdp ? XDP_PASS : TC_ACT_OK))
			violation(r, "a pass reason, but not passed");
		if (r->out->len != r->in->len ||
		    memcmp(r->out->data, r->in->data, r->in->len))
			violation(r, "passed, but not byte for byte");
		if (xdp &&
		    (r->reason == SVCD_R_PASS_TO_TC && xdp_meta ?
			     pt.meta_len != sizeof(meta) ||
				     memcmp(pt.meta, &meta, sizeof(meta)) :
			     pt.meta_len != 0))
			violation(r,
				  "XDP metadata (%u bytes) is not the "
				  "handoff mark iff PASS_TO_TC (none "
				  "without xdp_meta)",
				  pt.meta_len);
		return;
	}
	switch (r->reason) {
	case SVCD_R_REFUSED:
		if (xdp || r->verdict != TC_ACT_REDIRECT)
			violation(r, "refused, but not sent back");
		check_refusal(r);
		return;
	case SVCD_R_TX:
		if (r->verdict != (xdp ? XDP_TX : TC_ACT_REDIRECT))
			violation(r, "TX, but not sent out");
		break;
	case SVCD_R_FORWARD:
	case SVCD_R_REVERSE:
		if (xdp ? r->verdict != XDP_PASS :
			  r->verdict != TC_ACT_OK &&
				    r->verdict != TC_ACT_REDIRECT)
			violation(r, "translated, but verdict is neither pass "
				     "nor redirect");
		break;
	case SVCD_R_ICMP_ERROR:
		if (xdp || r->verdict != TC_ACT_OK)
			violation(r, "ICMP error translated, but not passed");
		break;
	default:
		violation(r, "a reason no packet program gives");
	}
	if (xdp && pt.meta_len)
		violation(r, "translated, but XDP metadata left");
	check_translated(r);
}

/* ---- counters ---------------------------------------------------------- */

struct counters {
	__u64 reasons[SVCD_R_MAX];
	__u64 hooks[SVCD_HOOK_MAX][SVCD_R_MAX];
};

#define HOOK_KEYS (SVCD_HOOK_MAX * SVCD_REASON_STRIDE)

static __u64 *percpu; /* HOOK_KEYS x ncpus */
static __u32 batch_keys[HOOK_KEYS];
static bool no_batch; /* a kernel before 5.6: a lookup per key */

/* Entries 0..n-1 of a per-CPU array summed over the CPUs into sums[]: one
 * batch lookup, not n (the lookups were most of a run's cost). */
static int read_percpu(int fd, __u32 n, __u64 *sums)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n, next, key;
	int cpu, err;

	if (!no_batch) {
		err = bpf_map_lookup_batch(fd, NULL, &next, batch_keys, percpu,
					   &count, &opts);
		if ((!err || errno == ENOENT) && count == n)
			goto sum;
		no_batch = true;
	}
	for (key = 0; key < n; key++)
		if (bpf_map_lookup_elem(fd, &key, percpu + key * pt.ncpus))
			return -errno;
sum:
	for (key = 0; key < n; key++) {
		sums[key] = 0;
		for (cpu = 0; cpu < pt.ncpus; cpu++)
			sums[key] += percpu[key * pt.ncpus + cpu];
	}
	return 0;
}

static int read_counters(struct counters *c)
{
	static __u64 sums[HOOK_KEYS];
	int err, h;

	err = read_percpu(pt.reasons, SVCD_R_MAX, c->reasons);
	err = err ?: read_percpu(pt.hook_reasons, HOOK_KEYS, sums);
	if (err)
		return err;
	for (h = 0; h < SVCD_HOOK_MAX; h++)
		memcpy(c->hooks[h], sums + h * SVCD_REASON_STRIDE,
		       sizeof(c->hooks[h]));
	return 0;
}

/* The one reason a run counted: in svcd_reasons, and under its program's
 * hook only. */
static int counted_reason(const struct run *r, const struct counters *b,
			  const struct counters *a)
{
	__u64 total = 0, d;
	int reason = -1, h, i;

	for (i = 0; i < SVCD_R_MAX; i++) {
		d = a->reasons[i] - b->reasons[i];
		total += d;
		if (d)
			reason = i;
	}
	if (total != 1)
		violation(r, "%llu reasons counted, not one",
			  (unsigned long long)total);
	for (h = 0; h < SVCD_HOOK_MAX; h++)
		for (i = 0; i < SVCD_R_MAX; i++) {
			d = a->hooks[h][i] - b->hooks[h][i];
			if (d != (h == (int)prog_hooks[r->prog] && i == reason))
				violation(r,
					  "svcd_hook_reasons[%s][%s] moved by "
					  "%llu",
					  svcd_hook_names[h], pt_reason_name(i),
					  (unsigned long long)d);
		}
	return reason;
}

/* ---- one input --------------------------------------------------------- */

static struct counters counts;

/*
 * libFuzzer sees the harness, not the BPF programs: each (program,
 * reason, place in the flow) a run ends in is a feature of its own, so an
 * input that reaches a new outcome is kept (libFuzzer's extra counters).
 */
static __u8 outcomes[N_PROGS][SVCD_R_MAX][MAX_PACKETS]
	__attribute__((used, section("__libfuzzer_extra_counters")));
static unsigned long n_runs;
static bool trace; /* FUZZ_PACKET_TRACE: a line per packet run */

static int empty_map(int fd)
{
	__u8 key[64];

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

static void run_packet(int prog, int nth, struct pkt *in)
{
	struct counters after;
	struct pkt out;
	struct run r = { .prog = prog, .in = in, .out = &out, .reason = -1 };
	int err;

	out.len = 0; /* what a failed run leaves to print */
	err = pt_run(&pt, progs[prog], in, &out, &r.verdict);
	/* the kernel refuses some frames (shorter than an Ethernet or an
	 * IPv4 header): the program never saw them */
	if (err == -EINVAL)
		return;
	if (err)
		violation(&r, "BPF_PROG_TEST_RUN: %s", strerror(-err));
	if (read_counters(&after)) {
		fprintf(stderr, "fuzz_packet: cannot read the counters\n");
		abort();
	}
	r.reason = counted_reason(&r, &counts, &after);
	counts = after;
	if (trace)
		fprintf(stderr, "fuzz_packet: %s: %s, verdict %u\n",
			prog_names[prog], pt_reason_name(r.reason), r.verdict);
	n_runs++;
	outcomes[prog][r.reason][nth]++;
	check_run(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt in;
	size_t off = 0, len;
	int n;

	if (empty_map(pt.conntrack) || empty_map(pt.conntrack6) ||
	    empty_map(pt.ct_syn) || empty_map(pt.ct6_syn) ||
	    empty_map(pt.affinity) || empty_map(pt.affinity6)) {
		fprintf(stderr, "fuzz_packet: cannot empty conntrack\n");
		abort();
	}
	for (n = 0; n < MAX_PACKETS && off + REC_HDR <= size; n++) {
		__u8 sel = data[off];

		len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += REC_HDR;
		if (len > size - off)
			len = size - off;
		in.len = len < PKT_MAX ? len : PKT_MAX;
		memcpy(in.data, data + off, in.len);
		off += len;
		if (sel & SEL_FIX_CSUM)
			fix_csums(&in);
		run_packet((sel & SEL_PROG_MASK) % N_PROGS, n, &in);
	}
	return 0;
}

/* ---- seeds: the prog tests' packets ------------------------------------ */

struct seed_pkt {
	int prog; /* index into progs[] */
	struct pkt_spec spec;
	bool raw; /* checksums as built: no SEL_FIX_CSUM */
};

struct seed {
	const char *name;
	struct seed_pkt pkts[MAX_PACKETS];
	bool once; /* IPv4 header features, or a family of its own: not
		    * written again as IPv6 */
};

#define FROM_POD 0
#define TO_POD 1
#define FROM_WIRE 2
#define FROM_WIRE_TC 3
#define TO_WIRE 4

static const __u8 ip_opts[] = { 0x94, 0x04, 0x00, 0x00 }; /* router alert */
static const char hello[] = "hello";
static const __u8 sctp_init[16] = { 0x9c, 0x40, 0x00, 0x50 };

#define P(prog_, ...)                                \
	{                                            \
		.prog = (prog_), .spec = __VA_ARGS__ \
	}
#define EXT_TO(dst, dport, flags, ...)                                 \
	TCP_PKT(EXT_CLIENT, EXT_PORT, dst, dport, flags, .seq = SEQ_C, \
		ON_UP0(MAC_CLIENT), __VA_ARGS__)
#define B_TO_SNAT(flags, ...)                                                 \
	TCP_PKT(BACKEND_B, BACKEND_PORT, NODE_A, bpf_htons(SNAT_PORT), flags, \
		.seq = SEQ_B, .ack = SEQ_C + 1, ON_UP0(MAC_NODE_B),           \
		__VA_ARGS__)

/* from test_flows.c, test_forward.c, test_refuse.c, test_passthrough.c,
 * test_wire.c and test_icmp_error.c, one flow per seed */
static const struct seed seeds[] = {
	{ .name = "tcp_flow",
	  .pkts = { P(FROM_POD, C_TO_FE(PKT_SYN)),
		    P(FROM_POD, A_TO_C(PKT_SYN | PKT_ACK)),
		    P(FROM_POD,
		      C_TO_FE(PKT_ACK, .payload = hello, .payload_len = 5)),
		    P(FROM_POD, C_TO_FE(PKT_FIN | PKT_ACK)) } },
	{ .name = "tcp_reply_in_to_pod",
	  .pkts = { P(FROM_POD, C_TO_FE(PKT_SYN)),
		    P(TO_POD, A_TO_C(PKT_SYN | PKT_ACK)),
		    P(TO_POD, FE_TO_C(PKT_ACK)) } },
	{ .name = "tcp_rst",
	  .pkts = { P(FROM_POD, C_TO_FE(PKT_SYN)),
		    P(FROM_POD, A_TO_C(PKT_RST | PKT_ACK)),
		    P(FROM_POD, C_TO_FE(PKT_SYN)) } },
	{ .name = "udp_flow",
	  .pkts = { P(FROM_POD, UDP_C_TO_FE(.payload = "q", .payload_len = 1)),
		    P(FROM_POD,
		      UDP_A_TO_C(.payload = "answer", .payload_len = 6)),
		    P(TO_POD, UDP_A_TO_C(.udp_zero_csum = true)) } },
	{ .name = "ip_options",
	  .pkts = { P(FROM_POD, C_TO_FE(PKT_SYN, .ip_opts = ip_opts,
					.ip_opts_len = sizeof(ip_opts))),
		    P(FROM_POD, A_TO_C(PKT_SYN | PKT_ACK, .ip_opts = ip_opts,
				       .ip_opts_len = sizeof(ip_opts))) },
	  .once = true },
	{ .name = "hairpin",
	  .pkts = { P(FROM_POD, TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
					HAIRPIN_PORT, PKT_SYN)),
		    P(FROM_POD, TCP_PKT(CLIENT, BACKEND_PORT, FRONTEND,
					CLIENT_PORT, PKT_SYN | PKT_ACK)) } },
	{ .name = "refuse_tcp",
	  .pkts = { P(FROM_POD, TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
					EMPTY_TCP_PORT, PKT_SYN)) } },
	{ .name = "refuse_udp",
	  .pkts = { P(FROM_POD,
		      UDP_PKT(CLIENT, CLIENT_PORT, FRONTEND, EMPTY_UDP_PORT,
			      .payload = hello, .payload_len = 5)) } },
	{ .name = "affinity",
	  .pkts = { P(FROM_POD, TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
					AFFINITY_PORT, PKT_SYN)),
		    P(FROM_POD, TCP_PKT(CLIENT, bpf_htons(40001), FRONTEND,
					AFFINITY_PORT, PKT_SYN)) } },
	{ .name = "local_none",
	  .pkts = { P(FROM_POD, TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
					LOCAL_NONE_PORT, PKT_SYN)) } },
	{ .name = "nodeport_no_slot",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NP_NO_SLOT, PKT_SYN)),
		    P(FROM_WIRE_TC, EXT_TO(NODE_A, NP_NO_SLOT, PKT_SYN)) } },
	{ .name = "no_slot",
	  .pkts = { P(FROM_POD, TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
					NO_SLOT_PORT, PKT_SYN)) } },
	{ .name = "fragment",
	  .pkts = { P(FROM_POD, UDP_C_TO_FE(.frag = PKT_MF, .payload = sctp_init,
					    .payload_len = sizeof(sctp_init))),
		    P(TO_POD, UDP_C_TO_FE(.frag = 185, .payload = sctp_init,
					  .payload_len = sizeof(sctp_init))) },
	  .once = true },
	{ .name = "passthrough",
	  .pkts = { P(FROM_POD, { .ethertype = ETH_P_ARP,
				  .saddr = CLIENT,
				  .daddr = FRONTEND }),
		    P(FROM_POD, C_TO_FE(PKT_SYN, .ethertype = ETH_P_8021Q)),
		    P(TO_POD, { .saddr = CLIENT,
				.daddr = FRONTEND,
				.proto = IPPROTO_ICMP,
				.icmp_type = 8,
				.icmp_rest = 0x12340001,
				.payload = hello,
				.payload_len = 4 }),
		    P(FROM_POD, { .saddr = CLIENT,
				  .daddr = FRONTEND,
				  .proto = 132,
				  .payload = sctp_init,
				  .payload_len = sizeof(sctp_init) }) },
	  .once = true },
	{ .name = "malformed",
	  .pkts = { { .prog = FROM_POD,
		      .raw = true,
		      .spec = C_TO_FE(PKT_SYN, .ihl = 15) },
		    { .prog = FROM_POD,
		      .raw = true,
		      .spec = C_TO_FE(PKT_SYN, .doff = 15) },
		    { .prog = TO_POD,
		      .raw = true,
		      .spec = UDP_C_TO_FE(.truncate = 14 + 20 + 4) },
		    { .prog = FROM_POD,
		      .raw = true,
		      .spec = C_TO_FE(PKT_SYN, .tot_len = 16) } },
	  .once = true },
	{ .name = "ipv6_ext_hdrs",
	  .pkts = { P(FROM_POD, C_TO_FE(PKT_SYN, .ethertype = ETH_P_IPV6,
					.ext = { 0, 60 }, .n_ext = 2)),
		    P(FROM_POD, C_TO_FE(PKT_SYN, .ethertype = ETH_P_IPV6,
					.ext = { 44 }, .n_ext = 1)) },
	  .once = true },
	{ .name = "nodeport_xdp_tx",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN)),
		    P(FROM_WIRE, B_TO_SNAT(PKT_SYN | PKT_ACK)),
		    P(FROM_WIRE, EXT_TO(NODE_A, NODEPORT_TCP, PKT_ACK)) } },
	{ .name = "nodeport_tc",
	  .pkts = { P(FROM_WIRE_TC, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN)),
		    P(FROM_WIRE_TC, B_TO_SNAT(PKT_SYN | PKT_ACK)) } },
	{ .name = "nodeport_udp",
	  .pkts = { P(FROM_WIRE, UDP_PKT(EXT_CLIENT, EXT_PORT, NODE_A,
					 NODEPORT_UDP, ON_UP0(MAC_CLIENT),
					 .payload = hello, .payload_len = 5)),
		    P(FROM_WIRE_TC,
		      UDP_PKT(BACKEND_B, BACKEND_PORT, NODE_A,
			      bpf_htons(SNAT_PORT), ON_UP0(MAC_NODE_B))) } },
	{ .name = "nodeport_local",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NP_LOCAL_BE, PKT_SYN)),
		    P(FROM_POD, TCP_PKT(BACKEND_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT, PKT_SYN | PKT_ACK)) } },
	{ .name = "nodeport_no_neigh",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NP_NO_NEIGH, PKT_SYN)),
		    P(FROM_WIRE_TC, EXT_TO(NODE_A, NP_NO_NEIGH, PKT_SYN)) } },
	{ .name = "nodeport_other_uplink",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NP_OTHER_UPLINK, PKT_SYN)),
		    P(FROM_WIRE_TC,
		      EXT_TO(NODE_A, NP_OTHER_UPLINK, PKT_SYN)) } },
	{ .name = "nodeport_local_none",
	  .pkts = { P(FROM_WIRE, EXT_TO(NODE_A, NP_LOCAL_NONE, PKT_SYN)),
		    P(FROM_WIRE, EXT_TO(NODE_A, NP_EMPTY, PKT_SYN)) } },
	{ .name = "nodeport_host",
	  .pkts = { P(FROM_WIRE_TC, EXT_TO(NODE_A, NP_HOST, PKT_SYN)),
		    P(TO_WIRE, TCP_PKT(NODE_A, BACKEND_PORT, EXT_CLIENT,
				       EXT_PORT, PKT_SYN | PKT_ACK)) } },
	{ .name = "external_ip",
	  .pkts = { P(FROM_WIRE, EXT_TO(EXTERNAL_IP, SVC_PORT, PKT_SYN)) } },
	{ .name = "lb_source_ranges",
	  .pkts = { P(FROM_WIRE, EXT_TO(LB_IP, SVC_PORT, PKT_SYN)),
		    P(FROM_WIRE, TCP_PKT(EXT_OUTSIDER, EXT_PORT, LB_IP, SVC_PORT,
					 PKT_SYN, ON_UP0(MAC_CLIENT))) } },
};

/* An ICMP error from the router about the translated packet inner_spec
 * (client -> backend A), quoting its IP header and 8 bytes of L4. */
static int icmp_error_seed(__u8 type, const struct pkt_spec *inner_spec,
			   struct pkt *out)
{
	struct pkt inner;
	struct pkt_parsed p;
	struct pkt_spec s = {
		.saddr = IP4(198, 19, 0, 2),
		.daddr = CLIENT,
		.icmp_type = type,
	};

	if (pkt_build(inner_spec, &inner) ||
	    pkt_parse(inner.data, inner.len, &p))
		return -EINVAL;
	s.proto = p.ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	/* destination unreachable (port) or time exceeded, per family */
	if (p.ipv6) {
		s.icmp_type = type == 3 ? 1 : 3;
		s.icmp_code = type == 3 ? 4 : 0;
	} else {
		s.icmp_code = type == 3 ? 3 : 0;
	}
	s.payload = inner.data + p.l3_off;
	s.payload_len = p.l4_off - p.l3_off + 8;
	return pkt_build(&s, out);
}

static int write_seed(const char *dir, const char *name, const char *tag,
		      const struct pkt *pkts, const __u8 *sels, int n)
{
	char path[512];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/test-%s%s", dir, name, tag);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "fuzz_packet: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++) {
		fputc(sels[i], f);
		fputc(pkts[i].len >> 8, f);
		fputc(pkts[i].len & 0xff, f);
		fwrite(pkts[i].data, 1, pkts[i].len, f);
	}
	return fclose(f) ? -EIO : 0;
}

static int write_seeds(const char *dir)
{
	struct pkt pkts[MAX_PACKETS];
	__u8 sels[MAX_PACKETS];
	struct pkt_spec inner;
	size_t i;
	int family, n, err;

	for (family = 4; family <= 6; family += 2) {
		const char *tag = family == 6 ? "6" : "";

		pkt_default_ipv6 = family == 6;
		for (i = 0; i < ARRAY_SIZE(seeds); i++) {
			if (family == 6 && seeds[i].once)
				continue;
			for (n = 0; n < MAX_PACKETS; n++) {
				const struct seed_pkt *sp = &seeds[i].pkts[n];

				if (!sp->spec.proto && !sp->spec.ethertype)
					break; /* the end of the flow */
				if (pkt_build(&sp->spec, &pkts[n]))
					return -EINVAL;
				sels[n] = sp->prog |
					  (sp->raw ? 0 : SEL_FIX_CSUM);
			}
			err = write_seed(dir, seeds[i].name, tag, pkts, sels,
					 n);
			if (err)
				return err;
		}
		/* the router's error about a translated flow, back to it */
		pkt_build(&(struct pkt_spec)C_TO_FE(PKT_SYN), &pkts[0]);
		inner = (struct pkt_spec)C_TO_A(PKT_SYN);
		if (icmp_error_seed(3, &inner, &pkts[1]) ||
		    icmp_error_seed(11, &inner, &pkts[2]))
			return -EINVAL;
		sels[0] = FROM_POD | SEL_FIX_CSUM;
		sels[1] = TO_POD | SEL_FIX_CSUM;
		sels[2] = FROM_POD | SEL_FIX_CSUM;
		err = write_seed(dir, "icmp_error", tag, pkts, sels, 3);
		if (err)
			return err;
	}
	pkt_default_ipv6 = false;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed_dir = getenv("FUZZ_PACKET_SEEDS");

	(void)argc;
	(void)argv;
	if (seed_dir)
		exit(write_seeds(seed_dir) ? 1 : 0);
	trace = getenv("FUZZ_PACKET_TRACE");
	if (setup()) {
		if (setup_failed)
			exit(1);
		printf("SKIP: %s\n", skip_reason[0] ? skip_reason : "setup");
		fflush(stdout);
		exit(0);
	}
	percpu = calloc((size_t)HOOK_KEYS * pt.ncpus, sizeof(*percpu));
	if (!percpu || read_counters(&counts)) {
		fprintf(stderr, "fuzz_packet: cannot read the counters\n");
		exit(1);
	}
	return 0;
}

/* Figures at the end of a run, for scripts/fuzz.sh: the datapath's own
 * coverage, as the (hook, reason) pairs reached, and each pair. */
static void __attribute__((destructor)) report(void)
{
	struct counters c;
	int h, r, reached = 0;

	if (!pt.skel || read_counters(&c))
		return;
	fprintf(stderr, "fuzz_packet: reached:");
	for (h = 0; h < SVCD_HOOK_MAX; h++)
		for (r = 0; r < SVCD_R_MAX; r++)
			if (c.hooks[h][r]) {
				reached++;
				fprintf(stderr, " %s/%s", svcd_hook_names[h],
					pt_reason_name(r));
			}
	fprintf(stderr,
		"\nfuzz-figures: %lu packets, %d hook/reason pairs, %lu "
		"reverse entries shared by two live flows (allowed)\n",
		n_runs, reached, n_collisions);
}
