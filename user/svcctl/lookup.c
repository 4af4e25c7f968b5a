// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* lookup.c - `svcctl lookup`: the frontend a packet meets, and its flow. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "svcctl/view.h"

/*
 * "198.19.96.10:80", "[2001:db8:96::a]:80", or "[::ffff:198.19.96.10]:80"
 * (a v4-mapped address is the IPv4 frontend it embeds, as an AF_INET6
 * socket meets it). IPv4 kept as ::ffff:a.b.c.d in *addr. 0 or -EINVAL.
 */
static int parse_ep(const char *arg, int *family, union svcd_ip6 *addr,
		    __be16 *port)
{
	char ip[INET6_ADDRSTRLEN];
	const char *colon, *start = arg;
	unsigned long p;
	size_t len;
	char *end;
	__be32 a4;

	if (arg[0] == '[') {
		colon = strstr(arg, "]:");
		start = arg + 1;
		len = colon ? (size_t)(colon - start) : 0;
		if (!colon || !len || len >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, start, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET6, ip, addr) != 1)
			return -EINVAL;
		*family = !addr->w[0] && !addr->w[1] &&
					  addr->w[2] == htonl(0xffff) ?
				  AF_INET :
				  AF_INET6;
		colon++;
	} else {
		colon = strrchr(arg, ':');
		len = colon ? (size_t)(colon - arg) : 0;
		if (!colon || len >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, arg, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET, ip, &a4) != 1)
			return -EINVAL;
		ip6_from4(addr, a4);
		*family = AF_INET;
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p > 65535)
		return -EINVAL;
	*port = htons(p);
	return 0;
}

/* What `svcctl lookup` was asked, and the conntrack entry it found. */
struct lookup {
	int family; /* of the destination (and --from) */
	union svcd_ip6 daddr, saddr;
	__be16 dport, sport;
	__u8 proto;
	bool have_from;		/* --from: saddr and sport are set */
	bool have_flow;		/* the flow has a conntrack entry: flow */
	struct ct_view flow;	/* the packet's forward tuple (and entry) */
	char dst[ADDR_STR_LEN]; /* "198.19.96.10:80/TCP" */
};

#define EP_WORDS "ADDRESS:PORT or [IPv6_ADDRESS]:PORT"

/* tcp|udp DST:PORT [--from SRC:PORT] into l; 0 or an exit status
 * (reported). */
static int lookup_args(const struct ctx *c, int argc, char **argv,
		       struct lookup *l)
{
	int i, from_family;

	if (argc < 2)
		return fail(
			c, EXIT_USAGE,
			"lookup: expected tcp|udp DST_IP:PORT [--from SRC_IP:PORT] (IPv6: [ADDR]:PORT)");
	if (!strcmp(argv[0], "tcp"))
		l->proto = IPPROTO_TCP;
	else if (!strcmp(argv[0], "udp"))
		l->proto = IPPROTO_UDP;
	else
		return fail(c, EXIT_USAGE,
			    "lookup: protocol '%s': expected tcp or udp",
			    argv[0]);
	if (parse_ep(argv[1], &l->family, &l->daddr, &l->dport))
		return fail(c, EXIT_USAGE, "lookup: '%s': expected " EP_WORDS,
			    argv[1]);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			if (parse_ep(argv[++i], &from_family, &l->saddr,
				     &l->sport))
				return fail(
					c, EXIT_USAGE,
					"lookup --from '%s': expected " EP_WORDS,
					argv[i]);
			if (from_family != l->family)
				return fail(
					c, EXIT_USAGE,
					"lookup --from '%s': an %s source for an %s destination",
					argv[i], family_name(from_family),
					family_name(l->family));
			l->have_from = true;
			continue;
		}
		return fail(
			c, EXIT_USAGE,
			"lookup: unexpected argument '%s' (try svcctl help)",
			argv[i]);
	}
	fmt_ep(l->dst, sizeof(l->dst), l->family, &l->daddr, l->dport,
	       l->proto);
	return 0;
}

/* The conntrack entry of the flow, if any, into l->flow; 0 or an exit
 * status (reported). */
static int lookup_flow(const struct ctx *c, struct lookup *l)
{
	struct svcd_ct6_key k6 = { .saddr = l->saddr,
				   .daddr = l->daddr,
				   .sport = l->sport,
				   .dport = l->dport,
				   .proto = l->proto,
				   .dir = SVCD_CT_FORWARD };
	struct svcd_ct_key k4 = { .saddr = l->saddr.w[3],
				  .daddr = l->daddr.w[3],
				  .sport = l->sport,
				  .dport = l->dport,
				  .proto = l->proto,
				  .dir = SVCD_CT_FORWARD };
	bool v6 = l->family == AF_INET6;
	struct pinned ct = { .fd = -1 };
	struct svcd_ct6_value v6val;
	struct svcd_ct_value v4val;
	bool embryonic = false;
	int err;

	if (v6)
		err = open_map_opt(c, SVCD_MAP_CONNTRACK6, &ct);
	else
		err = open_map(c, SVCD_MAP_CONNTRACK, &ct);
	if (err)
		return err;
	if (ct.fd >= 0 && !bpf_map_lookup_elem(ct.fd, v6 ? (void *)&k6 : &k4,
					       v6 ? (void *)&v6val : &v4val))
		l->have_flow = true;
	else if (ct.fd >= 0 && errno != ENOENT)
		err = fail(c, EXIT_RUNTIME, "look up flow: %s",
			   strerror(errno));
	close_map(&ct);
	/* a TCP flow whose handshake is not over: the embryonic map */
	if (!err && !l->have_flow && l->proto == IPPROTO_TCP) {
		err = open_map_opt(c, v6 ? SVCD_MAP_CT6_SYN : SVCD_MAP_CT_SYN,
				   &ct);
		if (!err && ct.fd >= 0 &&
		    !bpf_map_lookup_elem(ct.fd, v6 ? (void *)&k6 : &k4,
					 v6 ? (void *)&v6val : &v4val))
			l->have_flow = embryonic = true;
	}
	if (v6)
		ct_view6(&l->flow, &k6, l->have_flow ? &v6val : NULL);
	else
		ct_view4(&l->flow, &k4, l->have_flow ? &v4val : NULL);
	l->flow.embryonic = embryonic;
	close_map(&ct);
	return err;
}

/* The frontend a packet to l's destination meets. */
static bool lookup_matches(const struct lookup *l, const struct fe_view *v)
{
	return v->family == l->family &&
	       !memcmp(&v->addr, &l->daddr, sizeof(v->addr)) &&
	       v->port == l->dport && v->proto == l->proto;
}

static int lookup_json(const struct ctx *c, const struct svc_maps *s,
		       const struct lookup *l)
{
	cJSON *doc, *arr, *flow;
	size_t i;

	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "destination", l->dst);
	cJSON_AddStringToObject(doc, "family", family_name(l->family));
	arr = cJSON_AddArrayToObject(doc, "frontends");
	if (!arr)
		goto nomem;
	for (i = 0; i < s->n_views; i++) {
		if (lookup_matches(l, &s->views[i]) &&
		    json_append(arr, view_json(&s->views[i])))
			goto nomem;
	}
	if (l->have_from && l->have_flow) {
		flow = ct_json(&l->flow, now_ns());
		if (!flow || !cJSON_AddItemToObject(doc, "flow", flow)) {
			cJSON_Delete(flow);
			goto nomem;
		}
	} else if (l->have_from) {
		cJSON_AddNullToObject(doc, "flow");
	}
	return print_json(c, doc);
nomem:
	cJSON_Delete(doc);
	return fail(c, EXIT_RUNTIME, "out of memory");
}

static int lookup_text(const struct ctx *c, const struct svc_maps *s,
		       const struct lookup *l)
{
	struct table t = { .ncols = 7 };
	size_t i, matches = 0;
	char tuple[2 * ADDR_STR_LEN + 16];
	int err = 0;

	for (i = 0; i < s->n_views; i++) {
		if (!lookup_matches(l, &s->views[i]))
			continue;
		if (!matches++)
			printf("frontend %s:\n", l->dst);
		if (views_table(s, i, true))
			return fail(c, EXIT_RUNTIME, "out of memory");
	}
	if (!matches)
		printf("no frontend for %s: traffic to it passes untranslated\n",
		       l->dst);
	if (!l->have_from)
		return 0;
	ct_tuple(&l->flow, tuple, sizeof(tuple));
	if (!l->have_flow) {
		printf("no conntrack entry for %s: the next packet starts a new flow\n",
		       tuple);
		return 0;
	}
	printf("\nconntrack:\n");
	if (table_row(&t, "DIR", "TUPLE", "NAT", "BACKEND", "STATE", "AGE(s)",
		      "IDLE(s)") ||
	    ct_table_row(&t, &l->flow, now_ns()))
		err = fail(c, EXIT_RUNTIME, "out of memory");
	else
		table_print(&t);
	table_free(&t);
	return err;
}

int do_lookup(const struct ctx *c, int argc, char **argv)
{
	struct lookup l = {};
	struct svc_maps s = {};
	int err;

	err = lookup_args(c, argc, argv, &l);
	if (err)
		return err;
	err = svc_maps_load(c, &s);
	if (!err && l.have_from)
		err = lookup_flow(c, &l);
	if (err)
		goto out;
	if (c->json)
		err = lookup_json(c, &s, &l);
	else
		err = lookup_text(c, &s, &l);
out:
	svc_maps_free(&s);
	return err;
}
