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

static int parse_ip_port(const char *arg, __be32 *addr, __be16 *port)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon;
	unsigned long p;
	char *end;

	colon = strrchr(arg, ':');
	if (!colon || (size_t)(colon - arg) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, arg, colon - arg);
	ip[colon - arg] = '\0';
	if (inet_pton(AF_INET, ip, addr) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p > 65535)
		return -EINVAL;
	*port = htons(p);
	return 0;
}

/* What `svcctl lookup` was asked, and the conntrack entry it found. */
struct lookup {
	struct svcd_ct_key flow; /* the packet: its forward tuple */
	bool have_from;		 /* --from: flow's source is set */
	bool have_flow;		 /* flow has a conntrack entry: entry */
	struct svcd_ct_value entry;
	char dst[64]; /* "198.19.96.10:80/TCP" */
};

/* tcp|udp DST_IP:PORT [--from SRC_IP:PORT] into l; 0 or an exit status
 * (reported). */
static int lookup_args(const struct ctx *c, int argc, char **argv,
		       struct lookup *l)
{
	int i;

	if (argc < 2)
		return fail(
			c, EXIT_USAGE,
			"lookup: expected tcp|udp DST_IP:PORT [--from SRC_IP:PORT]");
	if (!strcmp(argv[0], "tcp"))
		l->flow.proto = IPPROTO_TCP;
	else if (!strcmp(argv[0], "udp"))
		l->flow.proto = IPPROTO_UDP;
	else
		return fail(c, EXIT_USAGE,
			    "lookup: protocol '%s': expected tcp or udp",
			    argv[0]);
	if (parse_ip_port(argv[1], &l->flow.daddr, &l->flow.dport))
		return fail(c, EXIT_USAGE,
			    "lookup: '%s': expected IPv4_ADDRESS:PORT",
			    argv[1]);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			if (parse_ip_port(argv[++i], &l->flow.saddr,
					  &l->flow.sport))
				return fail(
					c, EXIT_USAGE,
					"lookup --from '%s': expected IPv4_ADDRESS:PORT",
					argv[i]);
			l->have_from = true;
			continue;
		}
		return fail(
			c, EXIT_USAGE,
			"lookup: unexpected argument '%s' (try svcctl help)",
			argv[i]);
	}
	fmt_addr(l->dst, sizeof(l->dst), l->flow.daddr, l->flow.dport,
		 l->flow.proto);
	return 0;
}

/* The conntrack entry of l->flow, if any; 0 or an exit status (reported). */
static int lookup_flow(const struct ctx *c, struct lookup *l)
{
	struct pinned ct = { .fd = -1 };
	int err;

	err = open_map(c, SVCD_MAP_CONNTRACK, &ct);
	if (err)
		return err;
	if (!bpf_map_lookup_elem(ct.fd, &l->flow, &l->entry))
		l->have_flow = true;
	else if (errno != ENOENT)
		err = fail(c, EXIT_RUNTIME, "look up flow: %s",
			   strerror(errno));
	close_map(&ct);
	return err;
}

/* The frontend a packet to l's destination meets. */
static bool lookup_matches(const struct lookup *l, const struct fe_view *v)
{
	return v->key.addr == l->flow.daddr && v->key.port == l->flow.dport &&
	       v->key.proto == l->flow.proto;
}

static int lookup_json(const struct ctx *c, const struct svc_maps *s,
		       const struct lookup *l)
{
	cJSON *doc, *arr, *flow;
	size_t i;

	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "destination", l->dst);
	arr = cJSON_AddArrayToObject(doc, "frontends");
	if (!arr)
		goto nomem;
	for (i = 0; i < s->n_views; i++) {
		if (lookup_matches(l, &s->views[i]) &&
		    json_append(arr, view_json(&s->views[i])))
			goto nomem;
	}
	if (l->have_from && l->have_flow) {
		flow = ct_json(&l->flow, &l->entry, now_ns());
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
	char tuple[96];
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
	    ct_table_row(&t, &l->flow, &l->entry, now_ns()))
		err = fail(c, EXIT_RUNTIME, "out of memory");
	else
		table_print(&t);
	table_free(&t);
	return err;
}

int do_lookup(const struct ctx *c, int argc, char **argv)
{
	struct lookup l = { .flow.dir = SVCD_CT_FORWARD };
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
