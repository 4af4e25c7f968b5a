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

int do_lookup(const struct ctx *c, int argc, char **argv)
{
	struct svcd_ct_key ck = { .dir = SVCD_CT_FORWARD };
	struct pinned ct = { .fd = -1 };
	struct svcd_ct_value cv;
	bool have_from = false, have_flow = false;
	struct svc_maps s = {};
	cJSON *doc = NULL, *arr, *obj;
	struct table t = {};
	char dst[64], tuple[96];
	__be32 daddr, saddr = 0;
	__be16 dport, sport = 0;
	uint8_t proto;
	size_t i, matches = 0;
	int err;

	if (argc < 2)
		return fail(
			c, EXIT_USAGE,
			"lookup: expected tcp|udp DST_IP:PORT [--from SRC_IP:PORT]");
	if (!strcmp(argv[0], "tcp"))
		proto = IPPROTO_TCP;
	else if (!strcmp(argv[0], "udp"))
		proto = IPPROTO_UDP;
	else
		return fail(c, EXIT_USAGE,
			    "lookup: protocol '%s': expected tcp or udp",
			    argv[0]);
	if (parse_ip_port(argv[1], &daddr, &dport))
		return fail(c, EXIT_USAGE,
			    "lookup: '%s': expected IPv4_ADDRESS:PORT",
			    argv[1]);
	for (i = 2; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < (size_t)argc) {
			if (parse_ip_port(argv[++i], &saddr, &sport))
				return fail(
					c, EXIT_USAGE,
					"lookup --from '%s': expected IPv4_ADDRESS:PORT",
					argv[i]);
			have_from = true;
			continue;
		}
		return fail(
			c, EXIT_USAGE,
			"lookup: unexpected argument '%s' (try svcctl help)",
			argv[i]);
	}

	err = svc_maps_load(c, &s);
	if (err)
		goto out;
	if (have_from) {
		err = open_map(c, SVCD_MAP_CONNTRACK, &ct);
		if (err)
			goto out;
		ck.saddr = saddr;
		ck.sport = sport;
		ck.daddr = daddr;
		ck.dport = dport;
		ck.proto = proto;
		if (!bpf_map_lookup_elem(ct.fd, &ck, &cv))
			have_flow = true;
		else if (errno != ENOENT) {
			err = fail(c, EXIT_RUNTIME, "look up flow: %s",
				   strerror(errno));
			goto out;
		}
	}

	fmt_addr(dst, sizeof(dst), daddr, dport, proto);
	if (c->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "destination", dst);
		arr = cJSON_AddArrayToObject(doc, "frontends");
		if (!arr)
			goto nomem;
		for (i = 0; i < s.n_views; i++) {
			const struct fe_view *v = &s.views[i];

			if (v->key.addr != daddr || v->key.port != dport ||
			    v->key.proto != proto)
				continue;
			obj = view_json(v);
			if (!obj || !cJSON_AddItemToArray(arr, obj)) {
				cJSON_Delete(obj);
				goto nomem;
			}
		}
		if (have_from && have_flow) {
			obj = ct_json(&ck, &cv, now_ns());
			if (!obj || !cJSON_AddItemToObject(doc, "flow", obj)) {
				cJSON_Delete(obj);
				goto nomem;
			}
		} else if (have_from) {
			cJSON_AddNullToObject(doc, "flow");
		}
		err = print_json(c, doc);
		doc = NULL;
		goto out;
	}

	for (i = 0; i < s.n_views; i++) {
		const struct fe_view *v = &s.views[i];

		if (v->key.addr != daddr || v->key.port != dport ||
		    v->key.proto != proto)
			continue;
		if (!matches++)
			printf("frontend %s:\n", dst);
		if (views_table(&s, i, true))
			goto nomem;
	}
	if (!matches)
		printf("no frontend for %s: traffic to it passes untranslated\n",
		       dst);
	if (have_from) {
		ct_tuple(&ck, tuple, sizeof(tuple));
		if (!have_flow) {
			printf("no conntrack entry for %s: the next packet starts a new flow\n",
			       tuple);
		} else {
			t.ncols = 7;
			printf("\nconntrack:\n");
			if (table_row(&t, "DIR", "TUPLE", "NAT", "BACKEND",
				      "STATE", "AGE(s)", "IDLE(s)") ||
			    ct_table_row(&t, &ck, &cv, now_ns()))
				goto nomem;
			table_print(&t);
		}
	}
	err = 0;
	goto out;
nomem:
	err = fail(c, EXIT_RUNTIME, "out of memory");
out:
	cJSON_Delete(doc);
	table_free(&t);
	close_map(&ct);
	svc_maps_free(&s);
	return err;
}
