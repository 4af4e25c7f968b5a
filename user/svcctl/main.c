// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcctl/main.c - reads svcd's pinned maps: dump, lookup, status.
 *
 * A table of {name, handler, help} subcommands, as bpftool's main.h.
 * `-o json` anywhere on the line prints one JSON document on stdout and
 * nothing else, errors included ({"error": "..."}). Exit status: 0 ok,
 * 1 runtime error, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "sys/pinned.h"
#include "sys/loader.h"
#include "lib/log.h"
#include "svcd_abi.h"
#include "svcd_abi_names.h"

#define DEFAULT_PIN_DIR "/sys/fs/bpf/svcd"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct ctx {
	const char *pin_dir;
	bool json;
};

struct cmd {
	const char *name;
	int (*handler)(const struct ctx *c, int argc, char **argv);
	const char *args; /* synopsis */
	const char *help;
};

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

/* A reason added to svcd_abi.h before this table learns its name still prints. */
static const char *reason_name(size_t reason, char *buf, size_t len)
{
	if (svcd_reason_names[reason])
		return svcd_reason_names[reason];
	snprintf(buf, len, "reason_%zu", reason);
	return buf;
}

/* ---- output ----------------------------------------------------------- */

/* One error line: JSON on stdout in JSON mode, else stderr. */
static int fail(const struct ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(const struct ctx *c, int code, const char *fmt, ...)
{
	char msg[512];
	cJSON *obj;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->json) {
		pr_err("%s", msg);
		return code;
	}
	obj = cJSON_CreateObject();
	if (obj && cJSON_AddStringToObject(obj, "error", msg)) {
		text = cJSON_PrintUnformatted(obj);
		if (text) {
			printf("%s\n", text);
			free(text);
		}
	}
	cJSON_Delete(obj);
	return code;
}

/* Prints a JSON document and frees it; NULL means out of memory. */
static int print_json(const struct ctx *c, cJSON *doc)
{
	char *text;

	if (!doc)
		return fail(c, EXIT_RUNTIME, "out of memory");
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return fail(c, EXIT_RUNTIME, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

/* Aligned text table: rows of cells, printed with columns padded. */
#define TABLE_MAX_COLS 12

struct table {
	size_t ncols;
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
};

static int table_row(struct table *t, ...)
{
	char **cells, *cell;
	va_list ap;
	size_t i;
	int err = 0;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;

		cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
		if (!cells)
			return -ENOMEM;
		t->cells = cells;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		cell = strdup(va_arg(ap, const char *));
		if (!cell)
			err = -ENOMEM;
		t->cells[t->nrows * t->ncols + i] = cell;
	}
	va_end(ap);
	t->nrows++;
	return err;
}

static void table_print(const struct table *t)
{
	size_t width[TABLE_MAX_COLS] = {}, r, i, len;
	const char *cell;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			len = cell ? strlen(cell) : 0;
			if (len > width[i])
				width[i] = len;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			if (i + 1 == t->ncols)
				printf("%s\n", cell ? cell : "");
			else
				printf("%-*s  ", (int)width[i],
				       cell ? cell : "");
		}
	}
}

/* The end of a dump: the JSON array (taken: *arr becomes NULL) or the
 * table, or "out of memory" when building them failed (err). */
static int dump_output(const struct ctx *c, int err, cJSON **arr,
		       const struct table *t)
{
	cJSON *doc = *arr;

	if (err)
		return fail(c, EXIT_RUNTIME, "out of memory");
	if (c->json) {
		*arr = NULL;
		return print_json(c, doc);
	}
	table_print(t);
	return 0;
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	default:
		return "?";
	}
}

/* "198.19.96.10:80" or, with proto, "198.19.96.10:80/TCP" */
static const char *fmt_addr(char *buf, size_t len, __be32 addr, __be16 port,
			    int proto)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (proto >= 0)
		snprintf(buf, len, "%s:%u/%s", ip, ntohs(port),
			 proto_name(proto));
	else
		snprintf(buf, len, "%s:%u", ip, ntohs(port));
	return buf;
}

/* ---- maps ------------------------------------------------------------- */

struct pinned {
	int fd;
	struct bpf_map_info info;
};

static int open_map(const struct ctx *c, const char *name, struct pinned *m)
{
	__u32 len = sizeof(m->info);
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, name);
	m->fd = bpf_obj_get(path);
	if (m->fd < 0) {
		err = errno;
		if (err == ENOENT)
			return fail(
				c, EXIT_RUNTIME,
				"no pinned map %s (has svcd run with --pin-dir %s?)",
				path, c->pin_dir);
		return fail(c, EXIT_RUNTIME, "open pinned map %s: %s%s", path,
			    strerror(err),
			    err == EPERM || err == EACCES ? " (run as root)" :
							    "");
	}
	memset(&m->info, 0, sizeof(m->info));
	if (bpf_obj_get_info_by_fd(m->fd, &m->info, &len)) {
		err = errno;
		close(m->fd);
		m->fd = -1;
		return fail(c, EXIT_RUNTIME, "read pinned map %s: %s", path,
			    strerror(err));
	}
	return 0;
}

static void close_map(struct pinned *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

/*
 * Reads every entry of a hash map into one array of key+value records
 * (key at 0, value at vofs). Entries that vanish meanwhile are skipped.
 */
struct entries {
	char *data;
	size_t n, cap, rec, vofs;
};

static int read_entries(const struct pinned *m, struct entries *e)
{
	size_t ksize = m->info.key_size, vsize = m->info.value_size;
	char *key, *prev = NULL, *grown;
	int err = 0;

	memset(e, 0, sizeof(*e));
	e->vofs = (ksize + 7) & ~(size_t)7;
	e->rec = (e->vofs + vsize + 7) & ~(size_t)7;
	for (;;) {
		if (e->n == e->cap) {
			size_t cap = e->cap ? 2 * e->cap : 256;

			grown = realloc(e->data, cap * e->rec);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			e->data = grown;
			e->cap = cap;
			if (prev) /* keep pointing into the new block */
				prev = e->data + (e->n - 1) * e->rec;
		}
		key = e->data + e->n * e->rec;
		if (bpf_map_get_next_key(m->fd, prev, key)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		if (bpf_map_lookup_elem(m->fd, key, key + e->vofs)) {
			if (errno == ENOENT) /* deleted meanwhile: go on */
				continue;
			err = -errno;
			break;
		}
		prev = key;
		e->n++;
	}
	/* A vanished key between get_next_key and lookup leaves prev at
	 * the last good key, so iteration goes on from there. */
	return err;
}

static void *entry_key(const struct entries *e, size_t i)
{
	return e->data + i * e->rec;
}

static void *entry_value(const struct entries *e, size_t i)
{
	return e->data + i * e->rec + e->vofs;
}

static int cmp_u32_key(const void *a, const void *b)
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

static void sort_entries(struct entries *e,
			 int (*cmp)(const void *, const void *))
{
	if (e->n)
		qsort(e->data, e->n, e->rec, cmp);
}

/* read_entries() of the map pinned as NAME, sorted; on failure reports it
 * as "read DIR/NAME: CAUSE" and returns the exit status. */
static int read_sorted(const struct ctx *c, const struct pinned *m,
		       const char *name, struct entries *e,
		       int (*cmp)(const void *, const void *))
{
	int err = read_entries(m, e);

	if (err)
		return fail(c, EXIT_RUNTIME, "read %s/%s: %s", c->pin_dir, name,
			    strerror(-err));
	sort_entries(e, cmp);
	return 0;
}

/* Entry whose key (a u32 id) equals id, in entries sorted by it. */
static void *find_by_id(const struct entries *e, uint32_t id)
{
	char *rec = bsearch(&id, e->data, e->n, e->rec, cmp_u32_key);

	return rec ? rec + e->vofs : NULL;
}

/* ---- the service view: frontends with their backends ----------------- */

struct fe_backend {
	uint32_t id;
	uint32_t weight; /* slots held in the frontend's current rev */
	const struct svcd_backend *be; /* NULL when missing */
};

struct fe_view {
	struct svcd_frontend_key key;
	struct svcd_frontend_value val;
	const struct svcd_service *svc; /* NULL when missing */
	struct fe_backend *backends;
	size_t n_backends;
};

struct svc_maps {
	struct pinned frontends, slots, backends, services;
	struct entries fe, sl, be, sv;
	struct fe_view *views;
	size_t n_views;
};

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
	uint32_t ax, ay;
	int r;

	r = strcmp(svc_name(x, bx, sizeof(bx)), svc_name(y, by, sizeof(by)));
	if (r)
		return r;
	ax = ntohl(x->key.addr);
	ay = ntohl(y->key.addr);
	if (ax != ay)
		return ax < ay ? -1 : 1;
	if (x->key.port != y->key.port)
		return ntohs(x->key.port) < ntohs(y->key.port) ? -1 : 1;
	if (x->key.proto != y->key.proto)
		return x->key.proto < y->key.proto ? -1 : 1;
	return (int)y->key.scope - (int)x->key.scope; /* internal first */
}

static int cmp_fe_backend(const void *a, const void *b)
{
	const struct fe_backend *x = a, *y = b;
	uint32_t ax, ay;

	if (!x->be || !y->be)
		return x->be ? -1 : (y->be ? 1 : 0);
	ax = ntohl(x->be->addr);
	ay = ntohl(y->be->addr);
	if (ax != ay)
		return ax < ay ? -1 : 1;
	return ntohs(x->be->port) < ntohs(y->be->port) ?
		       -1 :
		       ntohs(x->be->port) > ntohs(y->be->port);
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

		if (cmp_slot_key(entry_key(&s->sl, mid), &lo) < 0)
			first = mid + 1;
		else
			hi = mid;
	}
	for (i = first; i < s->sl.n; i++) {
		const struct svcd_slot_key *k = entry_key(&s->sl, i);
		uint32_t id = *(const uint32_t *)entry_value(&s->sl, i);
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
			v->backends[j].be = find_by_id(&s->be, id);
			v->n_backends++;
		}
		v->backends[j].weight++;
	}
	if (v->n_backends) /* qsort(NULL, 0) is undefined */
		qsort(v->backends, v->n_backends, sizeof(*v->backends),
		      cmp_fe_backend);
	return 0;
}

static void svc_maps_free(struct svc_maps *s)
{
	size_t i;

	for (i = 0; i < s->n_views; i++)
		free(s->views[i].backends);
	free(s->views);
	free(s->fe.data);
	free(s->sl.data);
	free(s->be.data);
	free(s->sv.data);
	close_map(&s->frontends);
	close_map(&s->slots);
	close_map(&s->backends);
	close_map(&s->services);
}

/* Opens and reads the four maps; returns 0 or an exit code (reported). */
static int svc_maps_load(const struct ctx *c, struct svc_maps *s)
{
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->frontends.fd = s->slots.fd = s->backends.fd = s->services.fd = -1;
	err = open_map(c, SVCD_MAP_FRONTENDS, &s->frontends);
	if (!err)
		err = open_map(c, SVCD_MAP_SLOTS, &s->slots);
	if (!err)
		err = open_map(c, SVCD_MAP_BACKENDS, &s->backends);
	if (!err)
		err = open_map(c, SVCD_MAP_SERVICES, &s->services);
	if (err)
		return err;

	err = read_entries(&s->frontends, &s->fe);
	if (!err)
		err = read_entries(&s->slots, &s->sl);
	if (!err)
		err = read_entries(&s->backends, &s->be);
	if (!err)
		err = read_entries(&s->services, &s->sv);
	if (err)
		return fail(c, EXIT_RUNTIME, "read maps in %s: %s", c->pin_dir,
			    strerror(-err));
	sort_entries(&s->sl, cmp_slot_key);
	sort_entries(&s->be, cmp_u32_key);
	sort_entries(&s->sv, cmp_u32_key);

	s->views = calloc(s->fe.n ? s->fe.n : 1, sizeof(*s->views));
	if (!s->views)
		return fail(c, EXIT_RUNTIME, "out of memory");
	for (i = 0; i < s->fe.n; i++) {
		struct fe_view *v = &s->views[s->n_views++];

		memcpy(&v->key, entry_key(&s->fe, i), sizeof(v->key));
		memcpy(&v->val, entry_value(&s->fe, i), sizeof(v->val));
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
	return v->key.scope == SVCD_SCOPE_INTERNAL ? "internal" : "external";
}

static cJSON *view_json(const struct fe_view *v)
{
	char buf[64], name[32];
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
				fmt_addr(buf, sizeof(buf), v->key.addr,
					 v->key.port, v->key.proto));
	cJSON_AddNumberToObject(obj, "affinity_timeout",
				v->val.affinity_timeout);
	cJSON_AddStringToObject(obj, "scope", fe_scope(v));
	cJSON_AddNumberToObject(obj, "service_id", v->val.service_id);
	cJSON_AddNumberToObject(obj, "slot_count", v->val.slot_count);
	cJSON_AddBoolToObject(obj, "local_only",
			      !!(v->val.flags & SVCD_FE_LOCAL_ONLY));
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
		if (fb->be)
			cJSON_AddStringToObject(b, "address",
						fmt_addr(buf, sizeof(buf),
							 fb->be->addr,
							 fb->be->port, -1));
		else
			cJSON_AddNullToObject(b, "address");
		cJSON_AddNumberToObject(b, "weight", fb->weight);
		cJSON_AddStringToObject(b, "state",
					fb->be && (fb->be->flags &
						   SVCD_BE_TERMINATING) ?
						"terminating" :
						"active");
		cJSON_AddBoolToObject(
			b, "local", fb->be && (fb->be->flags & SVCD_BE_LOCAL));
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
	char addr[32];
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
		bool local = fb->be && (fb->be->flags & SVCD_BE_LOCAL);
		bool term = fb->be && (fb->be->flags & SVCD_BE_TERMINATING);

		if (fb->be)
			fmt_addr(addr, sizeof(addr), fb->be->addr, fb->be->port,
				 -1);
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

static int views_table(const struct svc_maps *s, size_t only_index, bool one)
{
	struct table t = { .ncols = 7 };
	char fe[64], aff[16], name[160], bes[4096], svc[32];
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
		fmt_addr(fe, sizeof(fe), v->key.addr, v->key.port,
			 v->key.proto);
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
	struct entries e = {};
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
		uint32_t bid = *(uint32_t *)entry_key(&e, i);
		const struct svcd_backend *be = entry_value(&e, i);

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
	free(e.data);
	close_map(&m);
	return err;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SVCD_NS_PER_SEC + ts.tv_nsec;
}

static double ns_ago(uint64_t now, uint64_t then)
{
	return then && now > then ? (double)(now - then) / SVCD_NS_PER_SEC : 0;
}

static void ct_tuple(const struct svcd_ct_key *k, char *buf, size_t len)
{
	char s[32], d[32];

	snprintf(buf, len, "%s -> %s/%s",
		 fmt_addr(s, sizeof(s), k->saddr, k->sport, -1),
		 fmt_addr(d, sizeof(d), k->daddr, k->dport, -1),
		 proto_name(k->proto));
}

/* What the entry rewrites, in the words of its direction. */
static void ct_nat(const struct svcd_ct_key *k, const struct svcd_ct_value *v,
		   char *buf, size_t len)
{
	char a[32], b[32];

	if (k->dir == SVCD_CT_FORWARD)
		snprintf(buf, len, "dst %s%s%s",
			 fmt_addr(a, sizeof(a), v->nat_daddr, v->nat_dport, -1),
			 v->flags & SVCD_CT_SNAT ? " src " : "",
			 v->flags & SVCD_CT_SNAT ?
				 fmt_addr(b, sizeof(b), v->nat_saddr,
					  v->nat_sport, -1) :
				 "");
	else
		snprintf(buf, len, "src %s dst %s",
			 fmt_addr(a, sizeof(a), v->nat_daddr, v->nat_dport, -1),
			 fmt_addr(b, sizeof(b), v->nat_saddr, v->nat_sport,
				  -1));
}

static const char *tcp_state(const struct svcd_ct_value *v)
{
	if (v->tcp_state < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]))
		return tcp_state_names[v->tcp_state];
	return "?";
}

static cJSON *ct_json(const struct svcd_ct_key *k,
		      const struct svcd_ct_value *v, uint64_t now)
{
	char a[32], nat[96];
	cJSON *obj;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	cJSON_AddStringToObject(obj, "direction",
				k->dir == SVCD_CT_FORWARD ? "forward" :
							    "reverse");
	cJSON_AddStringToObject(obj, "proto", proto_name(k->proto));
	cJSON_AddStringToObject(obj, "source",
				fmt_addr(a, sizeof(a), k->saddr, k->sport, -1));
	cJSON_AddStringToObject(obj, "destination",
				fmt_addr(a, sizeof(a), k->daddr, k->dport, -1));
	cJSON_AddStringToObject(obj, "nat_source",
				fmt_addr(a, sizeof(a), v->nat_saddr,
					 v->nat_sport, -1));
	cJSON_AddStringToObject(obj, "nat_destination",
				fmt_addr(a, sizeof(a), v->nat_daddr,
					 v->nat_dport, -1));
	ct_nat(k, v, nat, sizeof(nat));
	cJSON_AddStringToObject(obj, "nat", nat);
	cJSON_AddNumberToObject(obj, "backend_id", v->backend_id);
	cJSON_AddNumberToObject(obj, "service_id", v->service_id);
	cJSON_AddStringToObject(obj, "tcp_state", tcp_state(v));
	cJSON_AddBoolToObject(obj, "snat", v->flags & SVCD_CT_SNAT);
	cJSON_AddBoolToObject(obj, "seen_reply", v->flags & SVCD_CT_SEEN_REPLY);
	cJSON_AddBoolToObject(obj, "seen_fin", v->flags & SVCD_CT_SEEN_FIN);
	cJSON_AddNumberToObject(obj, "age", ns_ago(now, v->created_ns));
	cJSON_AddNumberToObject(obj, "idle", ns_ago(now, v->last_seen_ns));
	return obj;
}

static int ct_table_row(struct table *t, const struct svcd_ct_key *k,
			const struct svcd_ct_value *v, uint64_t now)
{
	char tuple[96], nat[96], be[16], age[24], idle[24];

	ct_tuple(k, tuple, sizeof(tuple));
	ct_nat(k, v, nat, sizeof(nat));
	snprintf(be, sizeof(be), "%u", v->backend_id);
	snprintf(age, sizeof(age), "%.1f", ns_ago(now, v->created_ns));
	snprintf(idle, sizeof(idle), "%.1f", ns_ago(now, v->last_seen_ns));
	return table_row(t, k->dir == SVCD_CT_FORWARD ? "fwd" : "rev", tuple,
			 nat, be, tcp_state(v), age, idle);
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
	struct entries e = {};
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
			err = ct_table_row(&t, entry_key(&e, i),
					   entry_value(&e, i), now);
			continue;
		}
		obj = ct_json(entry_key(&e, i), entry_value(&e, i), now);
		if (!arr || !obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			err = -ENOMEM;
		}
	}
	err = dump_output(c, err, &arr, &t);
out:
	cJSON_Delete(arr);
	table_free(&t);
	free(e.data);
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
	struct entries e = {};
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
		const struct svcd_affinity_key *k = entry_key(&e, i);
		const struct svcd_affinity_value *v = entry_value(&e, i);
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
	free(e.data);
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
	struct entries sv = {};
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
		uint32_t sid = i ? *(uint32_t *)entry_key(&sv, i - 1) : 0;
		const struct svcd_service *svc = i ? entry_value(&sv, i - 1) :
						     NULL;
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
	free(sv.data);
	close_map(&stats);
	close_map(&reasons);
	close_map(&services);
	return err;
}

static int do_dump(const struct ctx *c, int argc, char **argv)
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

/* ---- lookup ----------------------------------------------------------- */

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

static int do_lookup(const struct ctx *c, int argc, char **argv)
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

/* ---- status ----------------------------------------------------------- */

static const char *const status_maps[] = {
	SVCD_MAP_FRONTENDS, SVCD_MAP_SLOTS,	SVCD_MAP_BACKENDS,
	SVCD_MAP_SERVICES,  SVCD_MAP_CONNTRACK, SVCD_MAP_STATS,
	SVCD_MAP_REASONS,   SVCD_MAP_AFFINITY,	SVCD_MAP_AFFINITY_MATCH,
	SVCD_MAP_SOCK_REV,
};

/* Entries of a hash map (arrays are always full: -1). */
static long count_entries(const struct pinned *m)
{
	char key[64], next[64];
	void *prev = NULL;
	long n = 0;

	if (m->info.type == BPF_MAP_TYPE_ARRAY ||
	    m->info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return -1;
	if (m->info.key_size > sizeof(key))
		return -1;
	while (!bpf_map_get_next_key(m->fd, prev, next)) {
		memcpy(key, next, m->info.key_size);
		prev = key;
		n++;
	}
	return n;
}

/* The socket hook a cgroup link is attached at, for people. */
static const char *sock_hook_name(uint32_t attach_type)
{
	switch (attach_type) {
	case BPF_CGROUP_INET4_CONNECT:
		return "cgroup connect4";
	case BPF_CGROUP_UDP4_SENDMSG:
		return "cgroup sendmsg4";
	case BPF_CGROUP_UDP4_RECVMSG:
		return "cgroup recvmsg4";
	case BPF_CGROUP_INET4_GETPEERNAME:
		return "cgroup getpeername4";
	default:
		return "cgroup ?";
	}
}

/*
 * The path of the cgroup with this id, under the first cgroup2 mount that
 * can open it (its id is its kernfs file handle); "" when none can.
 */
static void cgroup_path_of(uint64_t id, char *out, size_t size)
{
	char line[4096], mnt[4096], fstype[64], proc[64];
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	int mount_id, mfd, fd;
	ssize_t n;
	FILE *f;

	out[0] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (!out[0] && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE ... */
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* the kernfs handle type, taken from the mount's own root */
		h.fh.handle_bytes = sizeof(uint64_t);
		if (name_to_handle_at(AT_FDCWD, mnt, &h.fh, &mount_id, 0))
			continue;
		memcpy(h.fh.f_handle, &id, sizeof(id));
		mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
		close(mfd);
		if (fd < 0)
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, out, size - 1);
		out[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	fclose(f);
}

static int do_status(const struct ctx *c, int argc, char **argv)
{
	struct table maps = { .ncols = 4 }, links = { .ncols = 4 };
	struct if_nameindex *ifs = NULL, *ifp;
	struct pinned m = { .fd = -1 };
	cJSON *doc = NULL, *marr = NULL, *larr = NULL, *obj;
	char entries[24], max[24], id[24], hook[64];
	size_t i;
	int err = 0, p;

	if (argc > 0)
		return fail(c, EXIT_USAGE, "status: unexpected argument '%s'",
			    argv[0]);
	if (c->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "pin_dir", c->pin_dir);
		marr = cJSON_AddArrayToObject(doc, "maps");
		larr = cJSON_AddArrayToObject(doc, "attached");
		if (!marr || !larr)
			goto nomem;
	} else if (table_row(&maps, "MAP", "ENTRIES", "MAX", "ID") ||
		   table_row(&links, "INTERFACE/CGROUP", "HOOK", "PROGRAM",
			     "PROG_ID")) {
		goto nomem;
	}

	for (i = 0; i < sizeof(status_maps) / sizeof(status_maps[0]); i++) {
		char path[4096];
		long n;

		/* pinned only once the socket programs were loaded (F8) */
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir,
			 status_maps[i]);
		if (!strcmp(status_maps[i], SVCD_MAP_SOCK_REV) &&
		    access(path, F_OK))
			continue;
		err = open_map(c, status_maps[i], &m);
		if (err)
			goto out;
		n = count_entries(&m);
		if (c->json) {
			obj = cJSON_CreateObject();
			if (!obj || !cJSON_AddItemToArray(marr, obj)) {
				cJSON_Delete(obj);
				goto nomem;
			}
			cJSON_AddStringToObject(obj, "name", status_maps[i]);
			cJSON_AddNumberToObject(obj, "id", m.info.id);
			if (n >= 0)
				cJSON_AddNumberToObject(obj, "entries", n);
			cJSON_AddNumberToObject(obj, "max_entries",
						m.info.max_entries);
		} else {
			if (n >= 0)
				snprintf(entries, sizeof(entries), "%ld", n);
			else
				snprintf(entries, sizeof(entries), "(array)");
			snprintf(max, sizeof(max), "%u", m.info.max_entries);
			snprintf(id, sizeof(id), "%u", m.info.id);
			if (table_row(&maps, status_maps[i], entries, max, id))
				goto nomem;
		}
		close_map(&m);
	}

	/* svcd's tc filters on every link of this network namespace */
	ifs = if_nameindex();
	if (!ifs) {
		err = fail(c, EXIT_RUNTIME, "list network interfaces: %s",
			   strerror(errno));
		goto out;
	}
	for (ifp = ifs; ifp->if_index; ifp++) {
		for (p = 0; p < 2; p++) {
			enum bpf_tc_attach_point point = p ? BPF_TC_EGRESS :
							     BPF_TC_INGRESS;
			uint32_t prog_id = 0;
			char name[16];

			if (loader_tc_query(ifp->if_index, point, &prog_id,
					    name) <= 0)
				continue;
			snprintf(hook, sizeof(hook), "tc %s",
				 p ? "egress" : "ingress");
			if (c->json) {
				obj = cJSON_CreateObject();
				if (!obj || !cJSON_AddItemToArray(larr, obj)) {
					cJSON_Delete(obj);
					goto nomem;
				}
				cJSON_AddStringToObject(obj, "interface",
							ifp->if_name);
				cJSON_AddNumberToObject(obj, "ifindex",
							ifp->if_index);
				cJSON_AddStringToObject(obj, "hook", hook);
				cJSON_AddStringToObject(obj, "program", name);
				cJSON_AddNumberToObject(obj, "prog_id",
							prog_id);
				continue;
			}
			snprintf(id, sizeof(id), "%u", prog_id);
			if (table_row(&links, ifp->if_name, hook,
				      name[0] ? name : "?", id))
				goto nomem;
		}
	}
	/* the cgroup socket programs (F8), through their pinned links */
	for (i = 0; i < SVCD_SOCK_PROGS; i++) {
		struct loader_sock_link sl;
		char where[4096];

		p = loader_sock_link_query(c->pin_dir, svcd_sock_progs[i], &sl);
		if (p <= 0)
			continue;
		cgroup_path_of(sl.cgroup_id, where, sizeof(where));
		if (c->json) {
			obj = cJSON_CreateObject();
			if (!obj || !cJSON_AddItemToArray(larr, obj)) {
				cJSON_Delete(obj);
				goto nomem;
			}
			if (where[0])
				cJSON_AddStringToObject(obj, "cgroup", where);
			else
				cJSON_AddNullToObject(obj, "cgroup");
			cJSON_AddNumberToObject(obj, "cgroup_id",
						(double)sl.cgroup_id);
			cJSON_AddStringToObject(obj, "hook",
						sock_hook_name(sl.attach_type));
			cJSON_AddStringToObject(obj, "program", sl.prog_name);
			cJSON_AddNumberToObject(obj, "prog_id", sl.prog_id);
			cJSON_AddNumberToObject(obj, "link_id", sl.link_id);
			continue;
		}
		if (!where[0])
			snprintf(where, sizeof(where), "cgroup id %llu",
				 (unsigned long long)sl.cgroup_id);
		snprintf(id, sizeof(id), "%u", sl.prog_id);
		if (table_row(&links, where, sock_hook_name(sl.attach_type),
			      sl.prog_name[0] ? sl.prog_name : "?", id))
			goto nomem;
	}
	if (c->json) {
		err = print_json(c, doc);
		doc = NULL;
		goto out;
	}
	printf("pin dir: %s\n\n", c->pin_dir);
	table_print(&maps);
	printf("\n");
	if (links.nrows > 1)
		table_print(&links);
	else
		printf("no svcd programs attached (tc in this network namespace, or cgroup socket programs)\n");
	err = 0;
	goto out;
nomem:
	err = fail(c, EXIT_RUNTIME, "out of memory");
out:
	if (ifs)
		if_freenameindex(ifs);
	close_map(&m);
	cJSON_Delete(doc);
	table_free(&maps);
	table_free(&links);
	return err;
}

/* ---- main ------------------------------------------------------------- */

static int do_help(const struct ctx *c, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "dump", do_dump, "dump [services|backends|conntrack|affinity|stats]",
	  "print a map (services by default)" },
	{ "lookup", do_lookup,
	  "lookup tcp|udp DST_IP:PORT [--from SRC_IP:PORT]",
	  "the frontend that matches, its backends, the flow's entry" },
	{ "status", do_status, "status",
	  "pin dir, map fill levels, attached programs" },
	{ "help", do_help, "help", "this text" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: svcctl [--pin-dir DIR] [-o json] COMMAND [ARGS]\n\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-50s %s\n", cmds[i].args, cmds[i].help);
	fprintf(f,
		"\n  --pin-dir DIR   where svcd pins its maps (default %s)\n"
		"  -o json         JSON on stdout, errors too (anywhere on the line)\n"
		"\nExit status: 0 ok, 1 runtime error, 2 usage error.\n",
		DEFAULT_PIN_DIR);
}

static int do_help(const struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (c->json)
		return fail(c, EXIT_USAGE, "help has no JSON form");
	usage(stdout);
	return 0;
}

/* libbpf speaks only through our logger, and not at all in JSON mode. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { .pin_dir = DEFAULT_PIN_DIR };
	char **args;
	int i, n = 0, ret;
	size_t k;

	log_set_prefix("svcctl");
	libbpf_set_print(libbpf_quiet);

	/* Global options anywhere on the line; the rest stays in order. */
	args = calloc(argc + 1, sizeof(*args));
	if (!args) {
		pr_err("out of memory");
		return EXIT_RUNTIME;
	}
	for (i = 1; i < argc; i++)
		if ((!strcmp(argv[i], "-o") && i + 1 < argc &&
		     !strcmp(argv[i + 1], "json")) ||
		    !strcmp(argv[i], "-ojson") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "-j"))
			c.json = true;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "json")) {
				ret = fail(
					&c, EXIT_USAGE,
					"-o: the only output format is json");
				goto out;
			}
			i++;
			continue;
		}
		if (!strcmp(argv[i], "-ojson") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "-j"))
			continue;
		if (!strcmp(argv[i], "--pin-dir")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				ret = fail(&c, EXIT_USAGE,
					   "--pin-dir needs a directory");
				goto out;
			}
			c.pin_dir = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--pin-dir=", 10)) {
			c.pin_dir = argv[i] + 10;
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			args[n++] = "help";
			continue;
		}
		args[n++] = argv[i];
	}
	if (!n) {
		ret = fail(&c, EXIT_USAGE, "no command (try svcctl help)");
		goto out;
	}
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(args[0], cmds[k].name)) {
			ret = cmds[k].handler(&c, n - 1, args + 1);
			goto out;
		}
	}
	ret = fail(&c, EXIT_USAGE, "unknown command '%s' (try svcctl help)",
		   args[0]);
out:
	free(args);
	return ret;
}
