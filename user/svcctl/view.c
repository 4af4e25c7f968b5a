// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* view.c - whole maps, the services view and conntrack words for svcctl. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svcctl/view.h"

static const char *const type_names[] = {
	[SVCD_TYPE_CLUSTER_IP] = "ClusterIP",
	[SVCD_TYPE_NODE_PORT] = "NodePort",
	[SVCD_TYPE_EXTERNAL_IP] = "ExternalIP",
	[SVCD_TYPE_LOAD_BALANCER] = "LoadBalancer",
};

static const char *const tcp_state_names[] = {
	[SVCD_TCP_NONE] = "-",
	[SVCD_TCP_SYN_SENT] = "SYN_SENT",
	[SVCD_TCP_ESTABLISHED] = "ESTABLISHED",
	[SVCD_TCP_CLOSING] = "CLOSING",
};

/* ---- maps ------------------------------------------------------------- */

int open_map(const struct ctx *c, const char *name, struct pinned *m)
{
	char why[SVCD_PIN_WHY_LEN];

	m->fd = svcd_pinned_open(c->pin_dir, name, &m->info, why, sizeof(why));
	if (m->fd < 0) {
		m->fd = -1;
		return fail(c, EXIT_RUNTIME, "%s", why);
	}
	return 0;
}

int open_map_opt(const struct ctx *c, const char *name, struct pinned *m)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, name);
	if (access(path, F_OK) && errno == ENOENT) {
		m->fd = -1;
		memset(&m->info, 0, sizeof(m->info));
		return 0;
	}
	return open_map(c, name, m);
}

void close_map(struct pinned *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

static int read_entries(const struct pinned *m, struct svcd_entries *e)
{
	if (m->fd < 0) { /* a map the pin dir lacks: empty */
		memset(e, 0, sizeof(*e));
		return 0;
	}
	return svcd_pinned_read_all(m->fd, &m->info, e);
}

int cmp_u32_key(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_slot_key(const void *a, const void *b)
{
	const struct svcd_slot_key *x = a, *y = b;

	if (x->service_id != y->service_id)
		return x->service_id < y->service_id ? -1 : 1;
	if (x->rev != y->rev)
		return x->rev < y->rev ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void sort_entries(struct svcd_entries *e,
			 int (*cmp)(const void *, const void *))
{
	if (e->n && cmp)
		qsort(e->data, e->n, e->rec, cmp);
}

/* read_entries() of the map pinned as NAME, sorted; on failure reports it
 * as "read DIR/NAME: CAUSE" and returns the exit status. */
int read_sorted(const struct ctx *c, const struct pinned *m, const char *name,
		struct svcd_entries *e, int (*cmp)(const void *, const void *))
{
	int err = read_entries(m, e);

	if (err)
		return fail(c, EXIT_RUNTIME, "read %s/%s: %s", c->pin_dir, name,
			    strerror(-err));
	sort_entries(e, cmp);
	return 0;
}

/* Entry whose key (a u32 id) equals id, in entries sorted by it. */
void *find_by_id(const struct svcd_entries *e, uint32_t id)
{
	char *rec;

	if (!e->n) /* data is NULL then; bsearch's must not be */
		return NULL;
	rec = bsearch(&id, e->data, e->n, e->rec, cmp_u32_key);

	return rec ? rec + e->vofs : NULL;
}

/* ---- the service view: frontends with their backends ----------------- */

static const char *svc_name(const struct fe_view *v, char *buf, size_t len)
{
	if (v->svc)
		return v->svc->name;
	snprintf(buf, len, "?service-%u", v->val.service_id);
	return buf;
}

static int cmp_view(const void *a, const void *b)
{
	const struct fe_view *x = a, *y = b;
	char bx[32], by[32];
	int r;

	r = strcmp(svc_name(x, bx, sizeof(bx)), svc_name(y, by, sizeof(by)));
	if (r)
		return r;
	/* network order: bytes sort as numbers, ::ffff:IPv4 first */
	r = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (r)
		return r;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (int)y->scope - (int)x->scope; /* internal first */
}

static int cmp_fe_backend(const void *a, const void *b)
{
	const struct fe_backend *x = a, *y = b;
	int r;

	if (!x->found || !y->found)
		return x->found ? -1 : (y->found ? 1 : 0);
	r = memcmp(&x->be.addr, &y->be.addr, sizeof(x->be.addr));
	if (r)
		return r;
	return ntohs(x->be.port) < ntohs(y->be.port) ?
		       -1 :
		       ntohs(x->be.port) > ntohs(y->be.port);
}

void be_view4(struct be_view *out, const struct svcd_backend *be)
{
	out->family = AF_INET;
	ip6_from4(&out->addr, be->addr);
	out->port = be->port;
	out->proto = be->proto;
	out->flags = be->flags;
}

void be_view6(struct be_view *out, const struct svcd_backend6 *be)
{
	out->family = AF_INET6;
	out->addr = be->addr;
	out->port = be->port;
	out->proto = be->proto;
	out->flags = be->flags;
}

/* In the family's map first: ids are unique across both. */
static bool find_backend(const struct svc_maps *s, int family, uint32_t id,
			 struct be_view *out)
{
	const struct svcd_backend6 *b6 = find_by_id(&s->be6, id);
	const struct svcd_backend *b4 = find_by_id(&s->be, id);

	if (b6 && (family == AF_INET6 || !b4)) {
		be_view6(out, b6);
		return true;
	}
	if (b4) {
		be_view4(out, b4);
		return true;
	}
	return false;
}

bool svc_find_backend(const struct svc_maps *s, uint32_t id,
		      struct be_view *out)
{
	return find_backend(s, AF_INET, id, out);
}

/* Backends of one frontend: the slots of its (service, rev), counted. */
static int view_backends(struct svc_maps *s, struct fe_view *v)
{
	struct svcd_slot_key lo = { .service_id = v->val.service_id,
				    .rev = v->val.rev };
	size_t first, i, j, hi;

	/* lower bound of (service_id, rev, 0) */
	first = 0;
	hi = s->sl.n;
	while (first < hi) {
		size_t mid = (first + hi) / 2;

		if (cmp_slot_key(svcd_entry_key(&s->sl, mid), &lo) < 0)
			first = mid + 1;
		else
			hi = mid;
	}
	for (i = first; i < s->sl.n; i++) {
		const struct svcd_slot_key *k = svcd_entry_key(&s->sl, i);
		uint32_t id = *(const uint32_t *)svcd_entry_value(&s->sl, i);
		struct fe_backend *grown;

		if (k->service_id != lo.service_id || k->rev != lo.rev)
			break;
		if (k->slot >= v->val.slot_count)
			continue; /* left over from a bigger table */
		for (j = 0; j < v->n_backends; j++)
			if (v->backends[j].id == id)
				break;
		if (j == v->n_backends) {
			grown = realloc(v->backends, (j + 1) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			v->backends = grown;
			v->backends[j].id = id;
			v->backends[j].weight = 0;
			v->backends[j].found = find_backend(s, v->family, id,
							    &v->backends[j].be);
			v->n_backends++;
		}
		v->backends[j].weight++;
	}
	if (v->n_backends) /* qsort(NULL, 0) is undefined */
		qsort(v->backends, v->n_backends, sizeof(*v->backends),
		      cmp_fe_backend);
	return 0;
}

void svc_maps_free(struct svc_maps *s)
{
	size_t i;

	for (i = 0; i < s->n_views; i++)
		free(s->views[i].backends);
	free(s->views);
	svcd_entries_free(&s->fe);
	svcd_entries_free(&s->sl);
	svcd_entries_free(&s->be);
	svcd_entries_free(&s->sv);
	svcd_entries_free(&s->fe6);
	svcd_entries_free(&s->be6);
	close_map(&s->frontends6);
	close_map(&s->backends6);
	close_map(&s->frontends);
	close_map(&s->slots);
	close_map(&s->backends);
	close_map(&s->services);
}

/* Opens and reads the four maps; returns 0 or an exit code (reported). */
int svc_maps_load(const struct ctx *c, struct svc_maps *s)
{
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->frontends.fd = s->slots.fd = s->backends.fd = s->services.fd = -1;
	s->frontends6.fd = s->backends6.fd = -1;
	err = open_map(c, SVCD_MAP_FRONTENDS, &s->frontends);
	if (!err)
		err = open_map(c, SVCD_MAP_SLOTS, &s->slots);
	if (!err)
		err = open_map(c, SVCD_MAP_BACKENDS, &s->backends);
	if (!err)
		err = open_map(c, SVCD_MAP_SERVICES, &s->services);
	if (!err)
		err = open_map_opt(c, SVCD_MAP_FRONTENDS6, &s->frontends6);
	if (!err)
		err = open_map_opt(c, SVCD_MAP_BACKENDS6, &s->backends6);
	if (err)
		return err;

	err = read_entries(&s->frontends, &s->fe);
	if (!err)
		err = read_entries(&s->slots, &s->sl);
	if (!err)
		err = read_entries(&s->backends, &s->be);
	if (!err)
		err = read_entries(&s->services, &s->sv);
	if (!err)
		err = read_entries(&s->frontends6, &s->fe6);
	if (!err)
		err = read_entries(&s->backends6, &s->be6);
	if (err)
		return fail(c, EXIT_RUNTIME, "read maps in %s: %s", c->pin_dir,
			    strerror(-err));
	sort_entries(&s->sl, cmp_slot_key);
	sort_entries(&s->be, cmp_u32_key);
	sort_entries(&s->sv, cmp_u32_key);
	sort_entries(&s->be6, cmp_u32_key);

	s->views = calloc(s->fe.n + s->fe6.n + 1, sizeof(*s->views));
	if (!s->views)
		return fail(c, EXIT_RUNTIME, "out of memory");
	for (i = 0; i < s->fe.n + s->fe6.n; i++) {
		struct fe_view *v = &s->views[s->n_views++];

		if (i < s->fe.n) {
			const struct svcd_frontend_key *k =
				svcd_entry_key(&s->fe, i);

			v->family = AF_INET;
			ip6_from4(&v->addr, k->addr);
			v->port = k->port;
			v->proto = k->proto;
			v->scope = k->scope;
			memcpy(&v->val, svcd_entry_value(&s->fe, i),
			       sizeof(v->val));
		} else {
			const struct svcd_frontend6_key *k =
				svcd_entry_key(&s->fe6, i - s->fe.n);

			v->family = AF_INET6;
			v->addr = k->addr;
			v->port = k->port;
			v->proto = k->proto;
			v->scope = k->scope;
			memcpy(&v->val, svcd_entry_value(&s->fe6, i - s->fe.n),
			       sizeof(v->val));
		}
		v->svc = find_by_id(&s->sv, v->val.service_id);
		if (view_backends(s, v))
			return fail(c, EXIT_RUNTIME, "out of memory");
	}
	if (s->n_views)
		qsort(s->views, s->n_views, sizeof(*s->views), cmp_view);
	return 0;
}

static const char *fe_type(const struct fe_view *v)
{
	return type_names[v->val.flags & SVCD_FE_TYPE_MASK];
}

static const char *fe_scope(const struct fe_view *v)
{
	return v->scope == SVCD_SCOPE_INTERNAL ? "internal" : "external";
}

cJSON *view_json(const struct fe_view *v)
{
	char buf[ADDR_STR_LEN], name[32];
	cJSON *obj, *arr, *b;
	size_t i;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	cJSON_AddStringToObject(obj, "service",
				svc_name(v, name, sizeof(name)));
	cJSON_AddStringToObject(obj, "port_name",
				v->svc ? v->svc->port_name : "");
	cJSON_AddStringToObject(obj, "type", fe_type(v));
	cJSON_AddStringToObject(obj, "frontend",
				fmt_ep(buf, sizeof(buf), v->family, &v->addr,
				       v->port, v->proto));
	cJSON_AddNumberToObject(obj, "affinity_timeout",
				v->val.affinity_timeout);
	cJSON_AddStringToObject(obj, "scope", fe_scope(v));
	cJSON_AddNumberToObject(obj, "service_id", v->val.service_id);
	cJSON_AddNumberToObject(obj, "slot_count", v->val.slot_count);
	cJSON_AddBoolToObject(obj, "local_only",
			      !!(v->val.flags & SVCD_FE_LOCAL_ONLY));
	cJSON_AddStringToObject(obj, "family", family_name(v->family));
	arr = cJSON_AddArrayToObject(obj, "backends");
	if (!arr)
		goto err;
	for (i = 0; i < v->n_backends; i++) {
		const struct fe_backend *fb = &v->backends[i];

		b = cJSON_CreateObject();
		if (!b || !cJSON_AddItemToArray(arr, b)) {
			cJSON_Delete(b);
			goto err;
		}
		if (fb->found)
			cJSON_AddStringToObject(
				b, "address",
				fmt_ep(buf, sizeof(buf), fb->be.family,
				       &fb->be.addr, fb->be.port, -1));
		else
			cJSON_AddNullToObject(b, "address");
		cJSON_AddNumberToObject(b, "weight", fb->weight);
		cJSON_AddStringToObject(b, "state",
					fb->found && (fb->be.flags &
						      SVCD_BE_TERMINATING) ?
						"terminating" :
						"active");
		cJSON_AddBoolToObject(b, "local",
				      fb->found &&
					      (fb->be.flags & SVCD_BE_LOCAL));
		cJSON_AddNumberToObject(b, "backend_id", fb->id);
	}
	return obj;
err:
	cJSON_Delete(obj);
	return NULL;
}

/* "198.18.1.2:8080 w1 local,terminating; ..." */
static void backends_text(const struct fe_view *v, char *buf, size_t len)
{
	size_t i, used = 0;
	char addr[ADDR_STR_LEN];
	int n;

	buf[0] = '\0';
	if (!v->n_backends) {
		snprintf(buf, len, "%s",
			 v->val.flags & SVCD_FE_EMPTY_DROP ?
				 "(none local: drop)" :
				 "(none: refuse)");
		return;
	}
	for (i = 0; i < v->n_backends && used < len; i++) {
		const struct fe_backend *fb = &v->backends[i];
		bool local = fb->found && (fb->be.flags & SVCD_BE_LOCAL);
		bool term = fb->found && (fb->be.flags & SVCD_BE_TERMINATING);

		if (fb->found)
			fmt_ep(addr, sizeof(addr), fb->be.family, &fb->be.addr,
			       fb->be.port, -1);
		else
			snprintf(addr, sizeof(addr), "?backend-%u", fb->id);
		n = snprintf(buf + used, len - used, "%s%s w%u%s%s",
			     i ? ", " : "", addr, fb->weight,
			     local ? " local" : "", term ? " terminating" : "");
		if (n < 0)
			break;
		used += n;
	}
}

int views_table(const struct svc_maps *s, size_t only_index, bool one)
{
	struct table t = { .ncols = 7 };
	char fe[ADDR_STR_LEN], aff[16], name[160], bes[4096], svc[32];
	size_t i;
	int err;

	err = table_row(&t, "SERVICE", "TYPE", "SCOPE", "FRONTEND", "AFFINITY",
			"SLOTS", "BACKENDS");
	for (i = 0; !err && i < s->n_views; i++) {
		const struct fe_view *v = &s->views[i];
		char slots[16];

		if (one && i != only_index)
			continue;
		snprintf(name, sizeof(name), "%s%s%s",
			 svc_name(v, svc, sizeof(svc)),
			 v->svc && v->svc->port_name[0] ? ":" : "",
			 v->svc ? v->svc->port_name : "");
		fmt_ep(fe, sizeof(fe), v->family, &v->addr, v->port, v->proto);
		if (v->val.affinity_timeout)
			snprintf(aff, sizeof(aff), "%us",
				 v->val.affinity_timeout);
		else
			snprintf(aff, sizeof(aff), "-");
		snprintf(slots, sizeof(slots), "%u", v->val.slot_count);
		backends_text(v, bes, sizeof(bes));
		err = table_row(&t, name, fe_type(v), fe_scope(v), fe, aff,
				slots, bes);
	}
	if (!err)
		table_print(&t);
	table_free(&t);
	return err;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	/* the datapath stamps with bpf_ktime_get_coarse_ns() */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * SVCD_NS_PER_SEC + ts.tv_nsec;
}

double ns_ago(uint64_t now, uint64_t then)
{
	return then && now > then ? (double)(now - then) / SVCD_NS_PER_SEC : 0;
}

void ct_view4(struct ct_view *out, const struct svcd_ct_key *k,
	      const struct svcd_ct_value *v)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	ip6_from4(&out->saddr, k->saddr);
	ip6_from4(&out->daddr, k->daddr);
	out->sport = k->sport;
	out->dport = k->dport;
	out->proto = k->proto;
	out->dir = k->dir;
	if (!v) {
		ip6_from4(&out->nat_saddr, 0);
		ip6_from4(&out->nat_daddr, 0);
		return;
	}
	ip6_from4(&out->nat_saddr, v->nat_saddr);
	ip6_from4(&out->nat_daddr, v->nat_daddr);
	out->nat_sport = v->nat_sport;
	out->nat_dport = v->nat_dport;
	out->backend_id = v->backend_id;
	out->service_id = v->service_id;
	out->flags = v->flags;
	out->tcp_state = v->tcp_state;
	out->created_ns = v->created_ns;
	out->last_seen_ns = v->last_seen_ns;
}

void ct_view6(struct ct_view *out, const struct svcd_ct6_key *k,
	      const struct svcd_ct6_value *v)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->saddr = k->saddr;
	out->daddr = k->daddr;
	out->sport = k->sport;
	out->dport = k->dport;
	out->proto = k->proto;
	out->dir = k->dir;
	if (!v)
		return;
	out->nat_saddr = v->nat_saddr;
	out->nat_daddr = v->nat_daddr;
	out->nat_sport = v->nat_sport;
	out->nat_dport = v->nat_dport;
	out->backend_id = v->backend_id;
	out->service_id = v->service_id;
	out->flags = v->flags;
	out->tcp_state = v->tcp_state;
	out->created_ns = v->created_ns;
	out->last_seen_ns = v->last_seen_ns;
}

int cmp_ct_view(const void *a, const void *b)
{
	const struct ct_view *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	r = memcmp(&x->saddr, &y->saddr, sizeof(x->saddr));
	if (!r)
		r = memcmp(&x->daddr, &y->daddr, sizeof(x->daddr));
	if (r)
		return r;
	if (x->sport != y->sport)
		return ntohs(x->sport) < ntohs(y->sport) ? -1 : 1;
	if (x->dport != y->dport)
		return ntohs(x->dport) < ntohs(y->dport) ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

void ct_tuple(const struct ct_view *c, char *buf, size_t len)
{
	char s[ADDR_STR_LEN], d[ADDR_STR_LEN];

	snprintf(buf, len, "%s -> %s/%s",
		 fmt_ep(s, sizeof(s), c->family, &c->saddr, c->sport, -1),
		 fmt_ep(d, sizeof(d), c->family, &c->daddr, c->dport, -1),
		 proto_name(c->proto));
}

/* What the entry rewrites, in the words of its direction. */
static void ct_nat(const struct ct_view *c, char *buf, size_t len)
{
	char a[ADDR_STR_LEN], b[ADDR_STR_LEN];

	fmt_ep(a, sizeof(a), c->family, &c->nat_daddr, c->nat_dport, -1);
	fmt_ep(b, sizeof(b), c->family, &c->nat_saddr, c->nat_sport, -1);
	if (c->dir == SVCD_CT_FORWARD)
		snprintf(buf, len, "dst %s%s%s", a,
			 c->flags & SVCD_CT_SNAT ? " src " : "",
			 c->flags & SVCD_CT_SNAT ? b : "");
	else
		snprintf(buf, len, "src %s dst %s", a, b);
}

static const char *tcp_state(const struct ct_view *c)
{
	if (c->tcp_state < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]))
		return tcp_state_names[c->tcp_state];
	return "?";
}

cJSON *ct_json(const struct ct_view *c, uint64_t now)
{
	char a[ADDR_STR_LEN], nat[2 * ADDR_STR_LEN + 16];
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	cJSON_AddStringToObject(obj, "direction",
				c->dir == SVCD_CT_FORWARD ? "forward" :
							    "reverse");
	cJSON_AddStringToObject(obj, "proto", proto_name(c->proto));
	cJSON_AddStringToObject(obj, "source",
				fmt_ep(a, sizeof(a), c->family, &c->saddr,
				       c->sport, -1));
	cJSON_AddStringToObject(obj, "destination",
				fmt_ep(a, sizeof(a), c->family, &c->daddr,
				       c->dport, -1));
	cJSON_AddStringToObject(obj, "nat_source",
				fmt_ep(a, sizeof(a), c->family, &c->nat_saddr,
				       c->nat_sport, -1));
	cJSON_AddStringToObject(obj, "nat_destination",
				fmt_ep(a, sizeof(a), c->family, &c->nat_daddr,
				       c->nat_dport, -1));
	ct_nat(c, nat, sizeof(nat));
	cJSON_AddStringToObject(obj, "nat", nat);
	cJSON_AddNumberToObject(obj, "backend_id", c->backend_id);
	cJSON_AddNumberToObject(obj, "service_id", c->service_id);
	cJSON_AddStringToObject(obj, "tcp_state", tcp_state(c));
	cJSON_AddBoolToObject(obj, "snat", c->flags & SVCD_CT_SNAT);
	cJSON_AddBoolToObject(obj, "seen_reply", c->flags & SVCD_CT_SEEN_REPLY);
	cJSON_AddBoolToObject(obj, "seen_fin", c->flags & SVCD_CT_SEEN_FIN);
	cJSON_AddNumberToObject(obj, "age", ns_ago(now, c->created_ns));
	cJSON_AddNumberToObject(obj, "idle", ns_ago(now, c->last_seen_ns));
	cJSON_AddStringToObject(obj, "family", family_name(c->family));
	cJSON_AddBoolToObject(obj, "embryonic", c->embryonic);
	return obj;
}

int ct_table_row(struct table *t, const struct ct_view *c, uint64_t now)
{
	char tuple[2 * ADDR_STR_LEN + 16], nat[2 * ADDR_STR_LEN + 16];
	char be[16], age[24], idle[24], state[40];

	ct_tuple(c, tuple, sizeof(tuple));
	/* "syn-sent*": the entry waits in svcd_ct_syn for the handshake */
	snprintf(state, sizeof(state), "%s%s", tcp_state(c),
		 c->embryonic ? "*" : "");
	ct_nat(c, nat, sizeof(nat));
	snprintf(be, sizeof(be), "%u", c->backend_id);
	snprintf(age, sizeof(age), "%.1f", ns_ago(now, c->created_ns));
	snprintf(idle, sizeof(idle), "%.1f", ns_ago(now, c->last_seen_ns));
	return table_row(t, c->dir == SVCD_CT_FORWARD ? "fwd" : "rev", tuple,
			 nat, be, state, age, idle);
}
