// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* dump.c - `svcctl dump`: services, backends, conntrack, affinity,
 * loadBalancerSourceRanges, stats. */
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

/* "demo/web:http/TCP" */
static void service_label(const struct svcd_service *svc, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s/%s", svc->name, svc->port_name[0] ? ":" : "",
		 svc->port_name, proto_name(svc->proto));
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
		if (json_append(arr, view_json(&s.views[i]))) {
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	err = print_json(c, arr);
out:
	svc_maps_free(&s);
	return err;
}

/* One pinned map read whole and sorted, and the table or JSON array that a
 * dump of it builds. */
struct map_dump {
	struct pinned m;
	struct svcd_entries e;
	struct table t;
	cJSON *arr; /* JSON mode */
};

/* Opens and reads the map pinned as NAME, sorted by cmp; 0 or an exit
 * status (reported). map_dump_free() is due either way. */
static int map_dump_read(const struct ctx *c, struct map_dump *d,
			 const char *name,
			 int (*cmp)(const void *, const void *))
{
	int err;

	err = open_map(c, name, &d->m);
	if (!err)
		err = read_sorted(c, &d->m, name, &d->e, cmp);
	return err;
}

static void map_dump_free(struct map_dump *d)
{
	cJSON_Delete(d->arr);
	table_free(&d->t);
	svcd_entries_free(&d->e);
	close_map(&d->m);
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

/* One backend of either family, for the merged dump. */
struct be_row {
	uint32_t id;
	struct be_view be;
};

static int cmp_be_row(const void *a, const void *b)
{
	return cmp_u32_key(&((const struct be_row *)a)->id,
			   &((const struct be_row *)b)->id);
}

/* svcd_backends and svcd_backends6 (ids from one allocator) by id. */
static int dump_backends(const struct ctx *c)
{
	struct map_dump d = { .m.fd = -1, .t.ncols = 4 };
	struct map_dump d6 = { .m.fd = -1 };
	char addr[ADDR_STR_LEN], id[16], flags[32];
	struct be_row *rows = NULL;
	size_t i, n = 0;
	cJSON *obj;
	int err;

	err = map_dump_read(c, &d, SVCD_MAP_BACKENDS, cmp_u32_key);
	if (!err)
		err = open_map_opt(c, SVCD_MAP_BACKENDS6, &d6.m);
	if (!err)
		err = read_sorted(c, &d6.m, SVCD_MAP_BACKENDS6, &d6.e,
				  cmp_u32_key);
	if (err)
		goto out;
	rows = calloc(d.e.n + d6.e.n + 1, sizeof(*rows));
	if (!rows) {
		err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	for (i = 0; i < d.e.n; i++, n++) {
		rows[n].id = *(uint32_t *)svcd_entry_key(&d.e, i);
		be_view4(&rows[n].be, svcd_entry_value(&d.e, i));
	}
	for (i = 0; i < d6.e.n; i++, n++) {
		rows[n].id = *(uint32_t *)svcd_entry_key(&d6.e, i);
		be_view6(&rows[n].be, svcd_entry_value(&d6.e, i));
	}
	qsort(rows, n, sizeof(*rows), cmp_be_row);
	if (c->json)
		d.arr = cJSON_CreateArray();
	else
		err = table_row(&d.t, "ID", "ADDRESS", "PROTO", "FLAGS");
	for (i = 0; !err && i < n; i++) {
		const struct be_view *be = &rows[i].be;

		fmt_ep(addr, sizeof(addr), be->family, &be->addr, be->port, -1);
		if (!c->json) {
			snprintf(id, sizeof(id), "%u", rows[i].id);
			be_flags_text(be->flags, flags, sizeof(flags));
			err = table_row(&d.t, id, addr, proto_name(be->proto),
					flags);
			continue;
		}
		obj = json_append_object(d.arr);
		if (!obj) {
			err = -ENOMEM;
			break;
		}
		cJSON_AddNumberToObject(obj, "id", rows[i].id);
		cJSON_AddStringToObject(obj, "address", addr);
		cJSON_AddStringToObject(obj, "proto", proto_name(be->proto));
		cJSON_AddBoolToObject(obj, "local", be->flags & SVCD_BE_LOCAL);
		cJSON_AddBoolToObject(obj, "terminating",
				      be->flags & SVCD_BE_TERMINATING);
		cJSON_AddStringToObject(obj, "family", family_name(be->family));
	}
	err = dump_output(c, err, &d.arr, &d.t);
out:
	free(rows);
	map_dump_free(&d6);
	map_dump_free(&d);
	return err;
}

/* svcd_conntrack and svcd_conntrack6, then the embryonic flows of
 * svcd_ct_syn and svcd_ct6_syn (absent under an svcd before them), as
 * one list of ct_view. */
static int dump_conntrack(const struct ctx *c)
{
	static const char *const names[4] = { SVCD_MAP_CONNTRACK6,
					      SVCD_MAP_CT_SYN, SVCD_MAP_CT6_SYN,
					      NULL };
	struct map_dump d = { .m.fd = -1, .t.ncols = 7 };
	struct map_dump more[3] = { { .m.fd = -1 },
				    { .m.fd = -1 },
				    { .m.fd = -1 } };
	struct ct_view *rows = NULL;
	size_t i, k, n = 0, total;
	uint64_t now;
	int err;

	err = map_dump_read(c, &d, SVCD_MAP_CONNTRACK, NULL);
	for (k = 0; !err && names[k]; k++) {
		err = open_map_opt(c, names[k], &more[k].m);
		if (!err)
			err = read_sorted(c, &more[k].m, names[k], &more[k].e,
					  NULL);
	}
	if (err)
		goto out;
	total = d.e.n + more[0].e.n + more[1].e.n + more[2].e.n;
	rows = calloc(total + 1, sizeof(*rows));
	if (!rows) {
		err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	for (i = 0; i < d.e.n; i++)
		ct_view4(&rows[n++], svcd_entry_key(&d.e, i),
			 svcd_entry_value(&d.e, i));
	for (i = 0; i < more[0].e.n; i++)
		ct_view6(&rows[n++], svcd_entry_key(&more[0].e, i),
			 svcd_entry_value(&more[0].e, i));
	for (i = 0; i < more[1].e.n; i++) {
		ct_view4(&rows[n], svcd_entry_key(&more[1].e, i),
			 svcd_entry_value(&more[1].e, i));
		rows[n++].embryonic = true;
	}
	for (i = 0; i < more[2].e.n; i++) {
		ct_view6(&rows[n], svcd_entry_key(&more[2].e, i),
			 svcd_entry_value(&more[2].e, i));
		rows[n++].embryonic = true;
	}
	qsort(rows, n, sizeof(*rows), cmp_ct_view);
	now = now_ns();
	if (c->json)
		d.arr = cJSON_CreateArray();
	else
		err = table_row(&d.t, "DIR", "TUPLE", "NAT", "BACKEND", "STATE",
				"AGE(s)", "IDLE(s)");
	for (i = 0; !err && i < n; i++) {
		if (c->json)
			err = json_append(d.arr, ct_json(&rows[i], now));
		else
			err = ct_table_row(&d.t, &rows[i], now);
	}
	err = dump_output(c, err, &d.arr, &d.t);
out:
	free(rows);
	for (k = 0; k < 3; k++)
		map_dump_free(&more[k]);
	map_dump_free(&d);
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

static int cmp_affinity6(const void *a, const void *b)
{
	const struct svcd_affinity6_key *x = a, *y = b;

	if (x->service_id != y->service_id)
		return x->service_id < y->service_id ? -1 : 1;
	return memcmp(&x->client, &y->client, sizeof(x->client));
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
static const char *affinity_state(const struct pinned *match, uint32_t sid,
				  const struct svcd_affinity_value *v,
				  double ago, uint32_t timeout)
{
	struct svcd_affinity_match_key mk = { .service_id = sid,
					      .backend_id = v->backend_id };
	__u8 one;

	if (!timeout || ago > timeout)
		return "expired";
	if (bpf_map_lookup_elem(match->fd, &mk, &one))
		return "backend_left";
	return "active";
}

/* One affinity entry of either family, and the words the dump has for it. */
struct affinity_row {
	int family;
	uint32_t service_id;
	const struct svcd_affinity_value *v;
	const struct svcd_service *svc; /* NULL when missing */
	bool have_be;			/* be found */
	struct be_view be;
	uint32_t timeout; /* the service's affinity timeout; 0: none left */
	double ago, left; /* seconds since last use, and until expiry */
	const char *state;
	char name[SVCD_NAME_LEN + SVCD_PORT_NAME_LEN + 24];
	char client[ADDR_STR_LEN], backend[ADDR_STR_LEN];
};

/* Entry i of e (svcd_affinity, or svcd_affinity6 when family is AF_INET6). */
static void affinity_row(const struct svc_maps *s, const struct pinned *match,
			 const struct svcd_entries *e, int family, size_t i,
			 uint64_t now, struct affinity_row *r)
{
	union svcd_ip6 client;

	r->family = family;
	if (family == AF_INET6) {
		const struct svcd_affinity6_key *k = svcd_entry_key(e, i);

		r->service_id = k->service_id;
		client = k->client;
	} else {
		const struct svcd_affinity_key *k = svcd_entry_key(e, i);

		r->service_id = k->service_id;
		ip6_from4(&client, k->client);
	}
	r->v = svcd_entry_value(e, i);
	r->svc = find_by_id(&s->sv, r->service_id);
	r->have_be = svc_find_backend(s, r->v->backend_id, &r->be);
	r->timeout = service_timeout(s, r->service_id);
	r->ago = ns_ago(now, r->v->last_used_ns);
	r->left = r->timeout > r->ago ? r->timeout - r->ago : 0;
	r->state =
		affinity_state(match, r->service_id, r->v, r->ago, r->timeout);
	if (r->svc)
		service_label(r->svc, r->name, sizeof(r->name));
	else
		snprintf(r->name, sizeof(r->name), "?service-%u",
			 r->service_id);
	fmt_ip(r->client, sizeof(r->client), family, &client);
	if (r->have_be)
		fmt_ep(r->backend, sizeof(r->backend), r->be.family,
		       &r->be.addr, r->be.port, -1);
	else
		snprintf(r->backend, sizeof(r->backend), "?backend-%u",
			 r->v->backend_id);
}

/* One row of the SERVICE CLIENT BACKEND AGE(s) EXPIRES_IN(s) STATE table. */
static int affinity_table_row(struct table *t, const struct affinity_row *r)
{
	char ago[24], left[24];

	snprintf(ago, sizeof(ago), "%.1f", r->ago);
	if (r->timeout)
		snprintf(left, sizeof(left), "%.1f", r->left);
	else
		snprintf(left, sizeof(left), "-");
	return table_row(t, r->name, r->client, r->backend, ago, left,
			 r->state);
}

/* One object at the end of arr; 0 or -ENOMEM. */
static int affinity_json(cJSON *arr, const struct affinity_row *r)
{
	char id[32];
	cJSON *obj;

	obj = json_append_object(arr);
	if (!obj)
		return -ENOMEM;
	if (r->svc) {
		cJSON_AddStringToObject(obj, "service", r->svc->name);
		cJSON_AddStringToObject(obj, "port_name", r->svc->port_name);
	} else {
		snprintf(id, sizeof(id), "?service-%u", r->service_id);
		cJSON_AddStringToObject(obj, "service", id);
		cJSON_AddStringToObject(obj, "port_name", "");
	}
	cJSON_AddNumberToObject(obj, "service_id", r->service_id);
	cJSON_AddStringToObject(obj, "client", r->client);
	if (r->have_be)
		cJSON_AddStringToObject(obj, "backend", r->backend);
	else
		cJSON_AddNullToObject(obj, "backend");
	cJSON_AddNumberToObject(obj, "backend_id", r->v->backend_id);
	cJSON_AddNumberToObject(obj, "last_used_ago_s", r->ago);
	if (r->timeout)
		cJSON_AddNumberToObject(obj, "expires_in_s", r->left);
	else
		cJSON_AddNullToObject(obj, "expires_in_s");
	cJSON_AddNumberToObject(obj, "affinity_timeout", r->timeout);
	cJSON_AddStringToObject(obj, "state", r->state);
	cJSON_AddStringToObject(obj, "family", family_name(r->family));
	return 0;
}

/* svcd_affinity, then svcd_affinity6, each by service and client. */
static int dump_affinity(const struct ctx *c)
{
	struct map_dump d = { .m.fd = -1, .t.ncols = 6 };
	struct map_dump d6 = { .m.fd = -1 };
	struct pinned match = { .fd = -1 };
	struct svc_maps s = {};
	struct affinity_row r;
	uint64_t now;
	size_t i;
	int err;

	err = svc_maps_load(c, &s);
	if (!err)
		err = open_map(c, SVCD_MAP_AFFINITY, &d.m);
	if (!err)
		err = open_map_opt(c, SVCD_MAP_AFFINITY6, &d6.m);
	if (!err)
		err = open_map(c, SVCD_MAP_AFFINITY_MATCH, &match);
	if (!err)
		err = read_sorted(c, &d.m, SVCD_MAP_AFFINITY, &d.e,
				  cmp_affinity);
	if (!err)
		err = read_sorted(c, &d6.m, SVCD_MAP_AFFINITY6, &d6.e,
				  cmp_affinity6);
	if (err)
		goto out;
	now = now_ns();
	if (c->json)
		d.arr = cJSON_CreateArray();
	else
		err = table_row(&d.t, "SERVICE", "CLIENT", "BACKEND", "AGE(s)",
				"EXPIRES_IN(s)", "STATE");
	for (i = 0; !err && i < d.e.n + d6.e.n; i++) {
		if (i < d.e.n)
			affinity_row(&s, &match, &d.e, AF_INET, i, now, &r);
		else
			affinity_row(&s, &match, &d6.e, AF_INET6, i - d.e.n,
				     now, &r);
		if (c->json)
			err = affinity_json(d.arr, &r);
		else
			err = affinity_table_row(&d.t, &r);
	}
	err = dump_output(c, err, &d.arr, &d.t);
out:
	map_dump_free(&d6);
	map_dump_free(&d);
	close_map(&match);
	svc_maps_free(&s);
	return err;
}

/* ---- loadBalancerSourceRanges ------------------------------------------ */

/* One allowed source prefix of an LB IP, of either family. */
struct range_row {
	int family;
	union svcd_ip6 lb, src;
	int len; /* source prefix length; -1: a key svcd does not write */
};

static int cmp_range_row(const void *a, const void *b)
{
	const struct range_row *x = a, *y = b;
	int r;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	r = memcmp(&x->lb, &y->lb, sizeof(x->lb));
	if (!r)
		r = memcmp(&x->src, &y->src, sizeof(x->src));
	return r ? r : x->len - y->len;
}

/* svcd_src_ranges and svcd_src_ranges6: {LB IP, source prefix} pairs. */
static int dump_src_ranges(const struct ctx *c)
{
	struct map_dump d = { .m.fd = -1, .t.ncols = 3 };
	struct map_dump d6 = { .m.fd = -1 };
	char lb[ADDR_STR_LEN], src[ADDR_STR_LEN + 16], ip[ADDR_STR_LEN];
	struct range_row *rows = NULL;
	size_t i, n = 0;
	cJSON *obj;
	int err;

	err = map_dump_read(c, &d, SVCD_MAP_SRC_RANGES, NULL);
	if (!err)
		err = open_map_opt(c, SVCD_MAP_SRC_RANGES6, &d6.m);
	if (!err)
		err = read_sorted(c, &d6.m, SVCD_MAP_SRC_RANGES6, &d6.e, NULL);
	if (err)
		goto out;
	rows = calloc(d.e.n + d6.e.n + 1, sizeof(*rows));
	if (!rows) {
		err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	for (i = 0; i < d.e.n; i++, n++) {
		const struct svcd_src_range_key *k = svcd_entry_key(&d.e, i);

		rows[n].family = AF_INET;
		ip6_from4(&rows[n].lb, k->lb_addr);
		ip6_from4(&rows[n].src, k->src_addr);
		rows[n].len = k->prefixlen >= 32 && k->prefixlen <= 64 ?
				      (int)k->prefixlen - 32 :
				      -1;
	}
	for (i = 0; i < d6.e.n; i++, n++) {
		const struct svcd_src_range6_key *k = svcd_entry_key(&d6.e, i);

		rows[n].family = AF_INET6;
		rows[n].lb = k->lb_addr;
		rows[n].src = k->src_addr;
		rows[n].len = k->prefixlen >= 128 && k->prefixlen <= 256 ?
				      (int)k->prefixlen - 128 :
				      -1;
	}
	qsort(rows, n, sizeof(*rows), cmp_range_row);
	if (c->json)
		d.arr = cJSON_CreateArray();
	else
		err = table_row(&d.t, "LOAD_BALANCER", "SOURCE", "FAMILY");
	for (i = 0; !err && i < n; i++) {
		fmt_ip(lb, sizeof(lb), rows[i].family, &rows[i].lb);
		fmt_ip(ip, sizeof(ip), rows[i].family, &rows[i].src);
		if (rows[i].len >= 0)
			snprintf(src, sizeof(src), "%s/%d", ip, rows[i].len);
		else
			snprintf(src, sizeof(src), "?");
		if (!c->json) {
			err = table_row(&d.t, lb, src,
					family_name(rows[i].family));
			continue;
		}
		obj = json_append_object(d.arr);
		if (!obj) {
			err = -ENOMEM;
			break;
		}
		cJSON_AddStringToObject(obj, "load_balancer", lb);
		cJSON_AddStringToObject(obj, "source", src);
		cJSON_AddStringToObject(obj, "family",
					family_name(rows[i].family));
	}
	err = dump_output(c, err, &d.arr, &d.t);
out:
	free(rows);
	map_dump_free(&d6);
	map_dump_free(&d);
	return err;
}

/* ---- stats ------------------------------------------------------------- */

#define STATS_FIELDS 5
static const char *const stats_names[STATS_FIELDS] = {
	"packets", "bytes", "new_flows", "no_backend", "map_full",
};
_Static_assert(sizeof(struct svcd_stats) == STATS_FIELDS * sizeof(__u64),
	       "a name for every svcd_stats counter");

/* What `dump stats` reads, and the table or JSON document it builds. */
struct stats_dump {
	struct pinned stats, reasons, services, hook_reasons;
	struct svcd_entries sv;	   /* the services, sorted by id */
	struct svcd_maps counters; /* stats and reasons, for sys/pinned.c */
	struct table t;
	cJSON *doc, *arr, *rs; /* JSON mode: the document, its "services"
				* and its "reasons" */
};

/* Opens the three maps and reads the services; 0 or an exit status
 * (reported). stats_dump_free() is due either way. */
static int stats_open(const struct ctx *c, struct stats_dump *d)
{
	size_t i;
	int err;

	err = open_map(c, SVCD_MAP_STATS, &d->stats);
	if (!err)
		err = open_map(c, SVCD_MAP_REASONS, &d->reasons);
	if (!err)
		err = open_map(c, SVCD_MAP_SERVICES, &d->services);
	/* per hook: absent from a pin dir of an older build */
	if (!err)
		err = open_map_opt(c, SVCD_MAP_HOOK_REASONS, &d->hook_reasons);
	if (!err)
		err = read_sorted(c, &d->services, SVCD_MAP_SERVICES, &d->sv,
				  cmp_u32_key);
	if (err)
		return err;
	/* sys/pinned.c sums the per-CPU counters */
	for (i = 0; i < WMAP_COUNT; i++)
		d->counters.fd[i] = -1;
	d->counters.stats_fd = d->stats.fd;
	d->counters.reasons_fd = d->reasons.fd;
	d->counters.affinity_fd = -1;
	d->counters.affinity6_fd = -1;
	d->counters.hook_reasons_fd = d->hook_reasons.fd;
	return 0;
}

static void stats_dump_free(struct stats_dump *d)
{
	cJSON_Delete(d->doc);
	table_free(&d->t);
	svcd_entries_free(&d->sv);
	close_map(&d->stats);
	close_map(&d->reasons);
	close_map(&d->services);
	close_map(&d->hook_reasons);
}

/* The counters of service sid (0 and svc NULL: all services) as a row of
 * the table or an object of "services"; 0 or an exit status (reported). */
static int stats_service(const struct ctx *c, struct stats_dump *d,
			 uint32_t sid, const struct svcd_service *svc)
{
	char name[SVCD_NAME_LEN + SVCD_PORT_NAME_LEN + 24];
	char cells[STATS_FIELDS][24];
	__u64 vals[STATS_FIELDS];
	struct svcd_stats sum;
	cJSON *obj;
	size_t f;
	int err;

	err = svcd_maps_read_stats(&d->counters, sid, &sum);
	if (err)
		return fail(c, EXIT_RUNTIME, "read %s/%s[%u]: %s", c->pin_dir,
			    SVCD_MAP_STATS, sid, strerror(-err));
	vals[0] = sum.packets;
	vals[1] = sum.bytes;
	vals[2] = sum.new_flows;
	vals[3] = sum.no_backend;
	vals[4] = sum.map_full;
	if (!c->json) {
		if (svc)
			service_label(svc, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "(all)");
		for (f = 0; f < STATS_FIELDS; f++)
			snprintf(cells[f], sizeof(cells[f]), "%llu",
				 (unsigned long long)vals[f]);
		if (table_row(&d->t, name, cells[0], cells[1], cells[2],
			      cells[3], cells[4]))
			return fail(c, EXIT_RUNTIME, "out of memory");
		return 0;
	}
	obj = json_append_object(d->arr);
	if (!obj)
		return fail(c, EXIT_RUNTIME, "out of memory");
	cJSON_AddNumberToObject(obj, "service_id", sid);
	cJSON_AddStringToObject(obj, "service", svc ? svc->name : "");
	cJSON_AddStringToObject(obj, "port_name", svc ? svc->port_name : "");
	if (svc)
		cJSON_AddStringToObject(obj, "proto", proto_name(svc->proto));
	for (f = 0; f < STATS_FIELDS; f++)
		cJSON_AddNumberToObject(obj, stats_names[f], vals[f]);
	return 0;
}

/*
 * Per hook (svcd_hook_reasons): each hook's total, the packets (socket
 * calls) it took, and its non-zero reasons. Text: HOOK TOTAL REASONS,
 * reasons as name=count; JSON "hooks": {HOOK: {"total": N, "reasons":
 * {NAME: N}}}, every reason of every hook. Nothing when the pin dir has no
 * such map (an older build). 0 or an exit status (reported).
 */
static int stats_hooks(const struct ctx *c, struct stats_dump *d)
{
	static __u64 counts[SVCD_HOOK_MAX][SVCD_R_MAX];
	struct table t = { .ncols = 3 };
	char total[24], rname[32], list[1024];
	cJSON *hooks = NULL, *h, *rs;
	size_t hook, r, len;
	__u64 sum;
	int err;

	if (d->counters.hook_reasons_fd < 0)
		return 0;
	err = svcd_maps_read_hook_reasons(&d->counters, counts);
	if (err)
		return fail(c, EXIT_RUNTIME, "read %s/%s: %s", c->pin_dir,
			    SVCD_MAP_HOOK_REASONS, strerror(-err));
	if (c->json) {
		hooks = cJSON_AddObjectToObject(d->doc, "hooks");
		if (!hooks)
			goto nomem;
	} else {
		printf("\n");
		if (table_row(&t, "HOOK", "TOTAL", "REASONS"))
			goto nomem;
	}
	for (hook = 0; hook < SVCD_HOOK_MAX; hook++) {
		for (r = 0, sum = 0; r < SVCD_R_MAX; r++)
			sum += counts[hook][r];
		if (c->json) {
			h = cJSON_AddObjectToObject(hooks,
						    svcd_hook_names[hook]);
			if (!h || !cJSON_AddNumberToObject(h, "total", sum))
				goto nomem;
			rs = cJSON_AddObjectToObject(h, "reasons");
			for (r = 0; rs && r < SVCD_R_MAX; r++)
				if (!cJSON_AddNumberToObject(
					    rs,
					    reason_name(r, rname,
							sizeof(rname)),
					    counts[hook][r]))
					goto nomem;
			if (!rs)
				goto nomem;
			continue;
		}
		list[0] = '\0';
		for (r = 0, len = 0; r < SVCD_R_MAX; r++)
			if (counts[hook][r] && len < sizeof(list))
				len += snprintf(
					list + len, sizeof(list) - len,
					"%s%s=%llu", len ? " " : "",
					reason_name(r, rname, sizeof(rname)),
					(unsigned long long)counts[hook][r]);
		snprintf(total, sizeof(total), "%llu", (unsigned long long)sum);
		if (table_row(&t, svcd_hook_names[hook], total,
			      len ? list : "-"))
			goto nomem;
	}
	if (!c->json)
		table_print(&t);
	table_free(&t);
	return 0;
nomem:
	table_free(&t);
	return fail(c, EXIT_RUNTIME, "out of memory");
}

/* The drop and pass reasons: the REASON PACKETS table (printed) or the
 * "reasons" object; 0 or an exit status (reported). */
static int stats_reasons(const struct ctx *c, struct stats_dump *d)
{
	struct table t = { .ncols = 2 };
	__u64 counts[SVCD_R_MAX];
	char rname[32], count[24];
	const char *name;
	size_t i;
	int err;

	if (!c->json) {
		printf("\n");
		if (table_row(&t, "REASON", "PACKETS"))
			goto nomem;
	}
	err = svcd_maps_read_reasons(&d->counters, counts);
	if (err) {
		err = fail(c, EXIT_RUNTIME, "read %s/%s: %s", c->pin_dir,
			   SVCD_MAP_REASONS, strerror(-err));
		goto out;
	}
	for (i = 0; i < SVCD_R_MAX; i++) {
		name = reason_name(i, rname, sizeof(rname));
		if (c->json) {
			if (!cJSON_AddNumberToObject(d->rs, name, counts[i]))
				goto nomem;
			continue;
		}
		snprintf(count, sizeof(count), "%llu",
			 (unsigned long long)counts[i]);
		if (table_row(&t, name, count))
			goto nomem;
	}
	if (!c->json)
		table_print(&t);
	err = stats_hooks(c, d);
	goto out;
nomem:
	err = fail(c, EXIT_RUNTIME, "out of memory");
out:
	table_free(&t);
	return err;
}

static int dump_stats(const struct ctx *c)
{
	struct stats_dump d = { .stats.fd = -1,
				.reasons.fd = -1,
				.services.fd = -1,
				.hook_reasons.fd = -1,
				.t.ncols = 1 + STATS_FIELDS };
	size_t i;
	int err;

	err = stats_open(c, &d);
	if (err)
		goto out;
	if (c->json) {
		d.doc = cJSON_CreateObject();
		d.arr = cJSON_AddArrayToObject(d.doc, "services");
		d.rs = cJSON_AddObjectToObject(d.doc, "reasons");
		if (!d.doc || !d.arr || !d.rs) {
			err = fail(c, EXIT_RUNTIME, "out of memory");
			goto out;
		}
	} else if (table_row(&d.t, "SERVICE", "PACKETS", "BYTES", "NEW_FLOWS",
			     "NO_BACKEND", "MAP_FULL")) {
		err = fail(c, EXIT_RUNTIME, "out of memory");
		goto out;
	}
	/* index 0 = all services, then each service id in use */
	for (i = 0; !err && i <= d.sv.n; i++) {
		uint32_t sid = i ? *(uint32_t *)svcd_entry_key(&d.sv, i - 1) :
				   0;

		if (sid < d.stats.info.max_entries)
			err = stats_service(c, &d, sid,
					    i ? svcd_entry_value(&d.sv, i - 1) :
						NULL);
	}
	if (err)
		goto out;
	if (!c->json)
		table_print(&d.t);
	err = stats_reasons(c, &d);
	if (!err && c->json) {
		err = print_json(c, d.doc);
		d.doc = NULL;
	}
out:
	stats_dump_free(&d);
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
	if (!strcmp(what, "src-ranges"))
		return dump_src_ranges(c);
	return fail(
		c, EXIT_USAGE,
		"dump: unknown table '%s'; one of services, backends, conntrack, affinity, src-ranges, stats",
		what);
}
