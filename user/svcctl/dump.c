// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* dump.c - `svcctl dump`: services, backends, conntrack, affinity, stats. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "svcctl/view.h"
#include "sys/pinned.h"
#include "svcd_abi_names.h"

/* A reason added to svcd_abi.h before this table learns its name still prints. */
static const char *reason_name(size_t reason, char *buf, size_t len)
{
	if (svcd_reason_names[reason])
		return svcd_reason_names[reason];
	snprintf(buf, len, "reason_%zu", reason);
	return buf;
}

/* ---- dump ------------------------------------------------------------- */

static int dump_services(const struct ctx *c)
{
	struct svc_maps s;
	cJSON *arr;
	size_t i;
	int err;

	err = svc_maps_load(c, &s);
	if (err)
		goto out;
	if (!c->json) {
		if (views_table(&s, 0, false))
			err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	arr = cJSON_CreateArray();
	for (i = 0; arr && i < s.n_views; i++) {
		cJSON *obj = view_json(&s.views[i]);

		if (!obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	err = print_json(c, arr);
out:
	svc_maps_free(&s);
	return err;
}

static void be_flags_text(uint8_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", flags & SVCD_BE_LOCAL ? "local" : "",
		 (flags & SVCD_BE_LOCAL) && (flags & SVCD_BE_TERMINATING) ?
			 "," :
			 "",
		 flags & SVCD_BE_TERMINATING ? "terminating" : "");
	if (!buf[0])
		snprintf(buf, len, "-");
}

static int dump_backends(const struct ctx *c)
{
	struct pinned m = { .fd = -1 };
	struct table t = { .ncols = 4 };
	struct svcd_entries e = {};
	char addr[32], id[16], flags[32];
	cJSON *arr = NULL, *obj;
	size_t i;
	int err;

	err = open_map(c, SVCD_MAP_BACKENDS, &m);
	if (err)
		return err;
	err = read_sorted(c, &m, SVCD_MAP_BACKENDS, &e, cmp_u32_key);
	if (err)
		goto out;
	if (c->json)
		arr = cJSON_CreateArray();
	else
		err = table_row(&t, "ID", "ADDRESS", "PROTO", "FLAGS");
	for (i = 0; !err && i < e.n; i++) {
		uint32_t bid = *(uint32_t *)svcd_entry_key(&e, i);
		const struct svcd_backend *be = svcd_entry_value(&e, i);

		fmt_addr(addr, sizeof(addr), be->addr, be->port, -1);
		if (!c->json) {
			snprintf(id, sizeof(id), "%u", bid);
			be_flags_text(be->flags, flags, sizeof(flags));
			err = table_row(&t, id, addr, proto_name(be->proto),
					flags);
			continue;
		}
		obj = cJSON_CreateObject();
		if (!arr || !obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			err = -ENOMEM;
			break;
		}
		cJSON_AddNumberToObject(obj, "id", bid);
		cJSON_AddStringToObject(obj, "address", addr);
		cJSON_AddStringToObject(obj, "proto", proto_name(be->proto));
		cJSON_AddBoolToObject(obj, "local", be->flags & SVCD_BE_LOCAL);
		cJSON_AddBoolToObject(obj, "terminating",
				      be->flags & SVCD_BE_TERMINATING);
	}
	err = dump_output(c, err, &arr, &t);
out:
	cJSON_Delete(arr);
	table_free(&t);
	svcd_entries_free(&e);
	close_map(&m);
	return err;
}

static int cmp_ct(const void *a, const void *b)
{
	const struct svcd_ct_key *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return memcmp(x, y, sizeof(*x));
}

static int dump_conntrack(const struct ctx *c)
{
	struct pinned m = { .fd = -1 };
	struct table t = { .ncols = 7 };
	struct svcd_entries e = {};
	cJSON *arr = NULL, *obj;
	uint64_t now;
	size_t i;
	int err;

	err = open_map(c, SVCD_MAP_CONNTRACK, &m);
	if (err)
		return err;
	err = read_sorted(c, &m, SVCD_MAP_CONNTRACK, &e, cmp_ct);
	if (err)
		goto out;
	now = now_ns();
	if (c->json)
		arr = cJSON_CreateArray();
	else
		err = table_row(&t, "DIR", "TUPLE", "NAT", "BACKEND", "STATE",
				"AGE(s)", "IDLE(s)");
	for (i = 0; !err && i < e.n; i++) {
		if (!c->json) {
			err = ct_table_row(&t, svcd_entry_key(&e, i),
					   svcd_entry_value(&e, i), now);
			continue;
		}
		obj = ct_json(svcd_entry_key(&e, i), svcd_entry_value(&e, i),
			      now);
		if (!arr || !obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			err = -ENOMEM;
		}
	}
	err = dump_output(c, err, &arr, &t);
out:
	cJSON_Delete(arr);
	table_free(&t);
	svcd_entries_free(&e);
	close_map(&m);
	return err;
}

/* ---- affinity ---------------------------------------------------------- */

static int cmp_affinity(const void *a, const void *b)
{
	const struct svcd_affinity_key *x = a, *y = b;
	uint32_t cx = ntohl(x->client), cy = ntohl(y->client);

	if (x->service_id != y->service_id)
		return x->service_id < y->service_id ? -1 : 1;
	return cx < cy ? -1 : cx > cy;
}

/* The affinity timeout the service's frontends carry (0: none left). */
static uint32_t service_timeout(const struct svc_maps *s, uint32_t sid)
{
	size_t i;

	for (i = 0; i < s->n_views; i++) {
		if (s->views[i].val.service_id == sid &&
		    s->views[i].val.affinity_timeout)
			return s->views[i].val.affinity_timeout;
	}
	return 0;
}

/*
 * What the next new flow of this client does with the entry: follows it
 * ("active"), or chooses afresh because it is too old ("expired") or its
 * backend left the service ("backend_left"; no match pair).
 */
static const char *affinity_state(const struct pinned *match,
				  const struct svcd_affinity_key *k,
				  const struct svcd_affinity_value *v,
				  double ago, uint32_t timeout)
{
	struct svcd_affinity_match_key mk = { .service_id = k->service_id,
					      .backend_id = v->backend_id };
	__u8 one;

	if (!timeout || ago > timeout)
		return "expired";
	if (bpf_map_lookup_elem(match->fd, &mk, &one))
		return "backend_left";
	return "active";
}

static int dump_affinity(const struct ctx *c)
{
	struct pinned aff = { .fd = -1 }, match = { .fd = -1 };
	struct table t = { .ncols = 6 };
	struct svc_maps s = {};
	struct svcd_entries e = {};
	char name[SVCD_NAME_LEN + SVCD_PORT_NAME_LEN + 24], client[32];
	char backend[32], ago_s[24], left_s[24], idbuf[32];
	cJSON *arr = NULL, *obj;
	uint64_t now;
	size_t i;
	int err;

	err = svc_maps_load(c, &s);
	if (!err)
		err = open_map(c, SVCD_MAP_AFFINITY, &aff);
	if (!err)
		err = open_map(c, SVCD_MAP_AFFINITY_MATCH, &match);
	if (err)
		goto out;
	err = read_sorted(c, &aff, SVCD_MAP_AFFINITY, &e, cmp_affinity);
	if (err)
		goto out;
	now = now_ns();
	if (c->json)
		arr = cJSON_CreateArray();
	else
		err = table_row(&t, "SERVICE", "CLIENT", "BACKEND", "AGE(s)",
				"EXPIRES_IN(s)", "STATE");
	for (i = 0; !err && i < e.n; i++) {
		const struct svcd_affinity_key *k = svcd_entry_key(&e, i);
		const struct svcd_affinity_value *v = svcd_entry_value(&e, i);
		const struct svcd_service *svc =
			find_by_id(&s.sv, k->service_id);
		const struct svcd_backend *be =
			find_by_id(&s.be, v->backend_id);
		uint32_t timeout = service_timeout(&s, k->service_id);
		double ago = ns_ago(now, v->last_used_ns);
		double left = timeout > ago ? timeout - ago : 0;
		const char *state = affinity_state(&match, k, v, ago, timeout);

		if (svc)
			snprintf(name, sizeof(name), "%s%s%s/%s", svc->name,
				 svc->port_name[0] ? ":" : "", svc->port_name,
				 proto_name(svc->proto));
		else
			snprintf(name, sizeof(name), "?service-%u",
				 k->service_id);
		inet_ntop(AF_INET, &k->client, client, sizeof(client));
		if (be)
			fmt_addr(backend, sizeof(backend), be->addr, be->port,
				 -1);
		else
			snprintf(backend, sizeof(backend), "?backend-%u",
				 v->backend_id);
		if (!c->json) {
			snprintf(ago_s, sizeof(ago_s), "%.1f", ago);
			if (timeout)
				snprintf(left_s, sizeof(left_s), "%.1f", left);
			else
				snprintf(left_s, sizeof(left_s), "-");
			err = table_row(&t, name, client, backend, ago_s,
					left_s, state);
			continue;
		}
		obj = cJSON_CreateObject();
		if (!arr || !obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			err = -ENOMEM;
			break;
		}
		if (svc) {
			cJSON_AddStringToObject(obj, "service", svc->name);
			cJSON_AddStringToObject(obj, "port_name",
						svc->port_name);
		} else {
			snprintf(idbuf, sizeof(idbuf), "?service-%u",
				 k->service_id);
			cJSON_AddStringToObject(obj, "service", idbuf);
			cJSON_AddStringToObject(obj, "port_name", "");
		}
		cJSON_AddNumberToObject(obj, "service_id", k->service_id);
		cJSON_AddStringToObject(obj, "client", client);
		if (be)
			cJSON_AddStringToObject(obj, "backend", backend);
		else
			cJSON_AddNullToObject(obj, "backend");
		cJSON_AddNumberToObject(obj, "backend_id", v->backend_id);
		cJSON_AddNumberToObject(obj, "last_used_ago_s", ago);
		if (timeout)
			cJSON_AddNumberToObject(obj, "expires_in_s", left);
		else
			cJSON_AddNullToObject(obj, "expires_in_s");
		cJSON_AddNumberToObject(obj, "affinity_timeout", timeout);
		cJSON_AddStringToObject(obj, "state", state);
	}
	err = dump_output(c, err, &arr, &t);
out:
	cJSON_Delete(arr);
	table_free(&t);
	svcd_entries_free(&e);
	close_map(&aff);
	close_map(&match);
	svc_maps_free(&s);
	return err;
}

#define STATS_FIELDS 5
static const char *const stats_names[STATS_FIELDS] = {
	"packets", "bytes", "new_flows", "no_backend", "map_full",
};
_Static_assert(sizeof(struct svcd_stats) == STATS_FIELDS * sizeof(__u64),
	       "a name for every svcd_stats counter");

static int dump_stats(const struct ctx *c)
{
	struct pinned stats = { .fd = -1 }, reasons = { .fd = -1 },
		      services = { .fd = -1 };
	struct table t = { .ncols = 1 + STATS_FIELDS };
	struct svcd_entries sv = {};
	struct svcd_maps counters;
	__u64 vals[STATS_FIELDS], counts[SVCD_R_MAX];
	struct svcd_stats sum;
	cJSON *doc = NULL, *arr = NULL, *obj, *rs = NULL;
	char cells[STATS_FIELDS][24], rname[32];
	size_t i, f;
	int err;

	err = open_map(c, SVCD_MAP_STATS, &stats);
	if (!err)
		err = open_map(c, SVCD_MAP_REASONS, &reasons);
	if (!err)
		err = open_map(c, SVCD_MAP_SERVICES, &services);
	if (err)
		goto out;
	err = read_sorted(c, &services, SVCD_MAP_SERVICES, &sv, cmp_u32_key);
	if (err)
		goto out;
	/* bpfmaps.c sums the per-CPU counters */
	for (i = 0; i < WMAP_COUNT; i++)
		counters.fd[i] = -1;
	counters.stats_fd = stats.fd;
	counters.reasons_fd = reasons.fd;
	counters.affinity_fd = -1;

	if (c->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "services");
		rs = cJSON_AddObjectToObject(doc, "reasons");
		if (!doc || !arr || !rs)
			goto nomem;
	} else {
		err = table_row(&t, "SERVICE", "PACKETS", "BYTES", "NEW_FLOWS",
				"NO_BACKEND", "MAP_FULL");
		if (err)
			goto nomem;
	}
	/* index 0 = all services, then each service id in use */
	for (i = 0; i <= sv.n; i++) {
		uint32_t sid = i ? *(uint32_t *)svcd_entry_key(&sv, i - 1) : 0;
		const struct svcd_service *svc =
			i ? svcd_entry_value(&sv, i - 1) : NULL;
		char name[SVCD_NAME_LEN + SVCD_PORT_NAME_LEN + 24];

		if (sid >= stats.info.max_entries)
			continue;
		err = svcd_maps_read_stats(&counters, sid, &sum);
		if (err) {
			err = fail(c, EXIT_RUNTIME, "read %s/%s[%u]: %s",
				   c->pin_dir, SVCD_MAP_STATS, sid,
				   strerror(-err));
			goto out;
		}
		vals[0] = sum.packets;
		vals[1] = sum.bytes;
		vals[2] = sum.new_flows;
		vals[3] = sum.no_backend;
		vals[4] = sum.map_full;
		if (!svc)
			snprintf(name, sizeof(name), "(all)");
		else
			snprintf(name, sizeof(name), "%s%s%s/%s", svc->name,
				 svc->port_name[0] ? ":" : "", svc->port_name,
				 proto_name(svc->proto));
		if (!c->json) {
			for (f = 0; f < STATS_FIELDS; f++)
				snprintf(cells[f], sizeof(cells[f]), "%llu",
					 (unsigned long long)vals[f]);
			err = table_row(&t, name, cells[0], cells[1], cells[2],
					cells[3], cells[4]);
			if (err)
				goto nomem;
			continue;
		}
		obj = cJSON_CreateObject();
		if (!obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			goto nomem;
		}
		cJSON_AddNumberToObject(obj, "service_id", sid);
		cJSON_AddStringToObject(obj, "service", svc ? svc->name : "");
		cJSON_AddStringToObject(obj, "port_name",
					svc ? svc->port_name : "");
		if (svc)
			cJSON_AddStringToObject(obj, "proto",
						proto_name(svc->proto));
		for (f = 0; f < STATS_FIELDS; f++)
			cJSON_AddNumberToObject(obj, stats_names[f], vals[f]);
	}
	if (!c->json) {
		table_print(&t);
		table_free(&t);
		memset(&t, 0, sizeof(t));
		t.ncols = 2;
		printf("\n");
		err = table_row(&t, "REASON", "PACKETS");
		if (err)
			goto nomem;
	}
	err = svcd_maps_read_reasons(&counters, counts);
	if (err) {
		err = fail(c, EXIT_RUNTIME, "read %s/%s: %s", c->pin_dir,
			   SVCD_MAP_REASONS, strerror(-err));
		goto out;
	}
	for (i = 0; i < SVCD_R_MAX; i++) {
		if (c->json) {
			if (!cJSON_AddNumberToObject(
				    rs, reason_name(i, rname, sizeof(rname)),
				    counts[i]))
				goto nomem;
			continue;
		}
		snprintf(cells[0], sizeof(cells[0]), "%llu",
			 (unsigned long long)counts[i]);
		err = table_row(&t, reason_name(i, rname, sizeof(rname)),
				cells[0]);
		if (err)
			goto nomem;
	}
	if (c->json) {
		err = print_json(c, doc);
		doc = NULL;
	} else {
		table_print(&t);
	}
	goto out;
nomem:
	err = fail(c, EXIT_RUNTIME, "out of memory");
out:
	cJSON_Delete(doc);
	table_free(&t);
	svcd_entries_free(&sv);
	close_map(&stats);
	close_map(&reasons);
	close_map(&services);
	return err;
}

int do_dump(const struct ctx *c, int argc, char **argv)
{
	const char *what = argc > 0 ? argv[0] : "services";

	if (argc > 1)
		return fail(c, EXIT_USAGE,
			    "dump: unexpected argument '%s' (try svcctl help)",
			    argv[1]);
	if (!strcmp(what, "services"))
		return dump_services(c);
	if (!strcmp(what, "backends"))
		return dump_backends(c);
	if (!strcmp(what, "conntrack"))
		return dump_conntrack(c);
	if (!strcmp(what, "stats"))
		return dump_stats(c);
	if (!strcmp(what, "affinity"))
		return dump_affinity(c);
	return fail(
		c, EXIT_USAGE,
		"dump: unknown table '%s'; one of services, backends, conntrack, affinity, stats",
		what);
}
