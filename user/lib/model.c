// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * model.c - Service and EndpointSlice objects in, frontends and weighted
 * backend sets out, with kube-proxy's semantics (docs/design.md "Semantics").
 *
 * Three passes: name every item and find duplicates; parse and validate
 * each object into plain structs (an object with any problem is dropped
 * whole, after one error line); then build the Services in "namespace/name"
 * order, so that a frontend claimed twice goes to the same Service on every
 * node and every sync. Strings taken from the document point into it and
 * live only while model_build runs.
 *
 * layout: kept whole (about 2,000 lines) on purpose: the three passes
 * share one arena and one set of parsed structs, and split across files
 * they would need those structs in a header that nothing else may use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "model.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"
#define LABEL_HEADLESS "service.kubernetes.io/headless"
#define ANNOTATION_WEIGHTS "svcd.io/weights"

#define AFFINITY_DEFAULT 10800
#define AFFINITY_MAX 86400

/* Object outcomes besides 0 (use it) and -errno. */
#define OBJ_SKIP 1 /* skipped on purpose, silently */

enum obj_kind {
	KIND_NONE, /* reported and dropped while naming it */
	KIND_SERVICE,
	KIND_SLICE,
};

enum svc_state {
	SVC_OK,
	SVC_SKIPPED, /* headless, ExternalName, proxy-name */
	SVC_INVALID, /* reported */
	SVC_LOST,    /* lost a frontend to a Service sorting first */
};

struct item {
	const cJSON *obj;
	enum obj_kind kind;
	bool duplicate;
	size_t index;
	char name[SVCD_NAME_LEN]; /* "namespace/name" */
};

/* A Service port or an EndpointSlice port. */
struct port_spec {
	char name[SVCD_PORT_NAME_LEN];
	uint8_t proto;
	uint16_t port;	    /* host order */
	uint16_t node_port; /* host order, 0 = none; Services only */
};

/* An address of either family: IPv4 in a.w[0], the rest zero, so that
 * memcmp() of two of the same family orders them numerically. */
struct ipaddr {
	int fam; /* enum model_family */
	union svcd_ip6 a;
};

struct weight_rule {
	const char *key; /* into the annotation, not NUL-terminated */
	size_t key_len;
	bool is_addr;
	struct ipaddr addr;
	uint8_t weight;
};

/* One loadBalancerSourceRanges entry, before it meets the LB IPs. */
struct src_cidr {
	int fam;
	uint8_t len;
	union svcd_ip6 prefix; /* host bits zero */
};

struct svc {
	char name[SVCD_NAME_LEN];
	enum svc_state state;
	bool node_ports;    /* type NodePort or LoadBalancer */
	bool load_balancer; /* type LoadBalancer */
	bool itp_local;
	bool etp_local;
	uint32_t affinity_timeout;
	struct port_spec *ports;
	size_t n_ports, cap_ports;
	struct ipaddr *cluster_ips; /* each family at most once */
	size_t n_cluster_ips, cap_cluster_ips;
	struct ipaddr *external_ips;
	size_t n_external_ips, cap_external_ips;
	struct ipaddr *lb_ips;
	size_t n_lb_ips, cap_lb_ips;
	struct weight_rule *weights;
	size_t n_weights, cap_weights;
	uint16_t hc_node_port;	 /* healthCheckNodePort, 0 = none */
	struct src_cidr *ranges; /* per LB IP of their family later */
	size_t n_ranges, cap_ranges;
	size_t n_ranges_fam[MODEL_FAMILIES];
	size_t *slices; /* into build.slices, sorted by slice name */
	size_t n_slices, cap_slices;
};

struct endpoint {
	struct ipaddr addr;
	const char *target_name; /* targetRef.name or NULL */
	bool ready, serving, terminating, local;
	bool node_hints, node_match; /* hints.forNodes, names this node */
	bool zone_hints, zone_match; /* hints.forZones, names this zone */
};

struct slice {
	char name[SVCD_NAME_LEN];    /* "namespace/name" */
	char service[SVCD_NAME_LEN]; /* "namespace/<service-name label>" */
	int fam;		     /* addressType */
	struct port_spec *ports;
	size_t n_ports, cap_ports;
	struct endpoint *eps;
	size_t n_eps, cap_eps;
};

/* An endpoint joined to one Service port. */
struct candidate {
	const struct endpoint *ep;
	__be16 port;
	uint8_t weight;
	size_t seq; /* slice order, then endpoint order */
};

/* A frontend key of either family, as the frontend table holds it. */
struct fe_tkey {
	uint8_t fam;
	uint8_t pad[3];
	struct svcd_frontend6_key k; /* IPv4: the svcd_frontend_key, zeros */
};

/* Frontend keys taken so far: open addressing, owner 0 = empty slot. */
struct fe_table {
	struct fe_tkey *keys;
	size_t *owners; /* svc index + 1 */
	size_t cap, len;
};

struct build {
	const struct model_config *cfg;
	model_error_fn err;
	void *err_ctx;
	struct item *items;
	size_t n_items;
	struct svc *svcs;
	size_t n_svcs, cap_svcs;
	struct slice *slices;
	size_t n_slices, cap_slices;
	struct fe_table table;
	struct model_state state;
	size_t cap_sets, cap_frontends, cap_src_ranges, cap_healthchecks;
	/* cfg->node_zone, or (a file) the zone label of this node's Node
	 * object in the List; points into cfg or the document */
	const char *node_zone;
	/* NodePorts of a family the node has no address in: how many
	 * Services, and the first, for one line at the end */
	size_t np_skipped[MODEL_FAMILIES];
	char np_first[MODEL_FAMILIES][SVCD_NAME_LEN];
	const struct svc *np_last[MODEL_FAMILIES];
	/* model_build_source(): each object is gone after its parse, so
	 * the strings the build points at (targetRef names, weight
	 * annotations, the Node's zone) are copied into strs */
	bool transient;
	struct str_chunk *strs;
};

/* Copies of strings, for a build whose objects do not outlive their parse. */
struct str_chunk {
	struct str_chunk *next;
	size_t used, cap;
	char data[];
};

#define STR_CHUNK_SIZE 65536

/* ---- helpers ----------------------------------------------------------- */

/* Append one zeroed element to *data (libbpf_ensure_mem style). */
static void *array_add(void **data, size_t *len, size_t *cap, size_t size)
{
	char *p;

	if (*len == *cap) {
		size_t n = *cap ? *cap * 2 : 4;

		p = reallocarray(*data, n, size);
		if (!p)
			return NULL;
		*data = p;
		*cap = n;
	}
	p = (char *)*data + *len * size;
	memset(p, 0, size);
	(*len)++;
	return p;
}

/*
 * *str as the build may keep it: itself while the objects outlive the
 * build (model_build), a copy while they do not (model_build_source).
 * Returns 0 or -ENOMEM (*str unchanged).
 */
static int keep_str(struct build *b, const char **str)
{
	struct str_chunk *c = b->strs;
	size_t len;
	char *p;

	if (!b->transient || !*str)
		return 0;
	len = strlen(*str) + 1;
	if (!c || c->cap - c->used < len) {
		size_t cap = len > STR_CHUNK_SIZE ? len : STR_CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return -ENOMEM;
		c->next = b->strs;
		c->used = 0;
		c->cap = cap;
		b->strs = c;
	}
	p = c->data + c->used;
	memcpy(p, *str, len);
	c->used += len;
	*str = p;
	return 0;
}

static void report(struct build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct build *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	char *p;

	if (!b->err)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one line, whatever the document held */
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	b->err(b->err_ctx, line);
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool absent(const cJSON *it)
{
	return !it || cJSON_IsNull(it);
}

/* 0 with *out NULL when absent, 0 with the string, or -EINVAL. */
static int get_string(const cJSON *obj, const char *key, const char **out)
{
	const cJSON *it = field(obj, key);

	*out = NULL;
	if (absent(it))
		return 0;
	if (!cJSON_IsString(it))
		return -EINVAL;
	*out = it->valuestring;
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, bool def, bool *out)
{
	const cJSON *it = field(obj, key);

	*out = def;
	if (absent(it))
		return 0;
	if (!cJSON_IsBool(it))
		return -EINVAL;
	*out = cJSON_IsTrue(it);
	return 0;
}

static bool has_label(const cJSON *labels, const char *key)
{
	return field(labels, key) != NULL;
}

/* A JSON value as it would read in the document, for messages. */
static const char *describe(const cJSON *it, char *buf, size_t len)
{
	if (absent(it))
		snprintf(buf, len, "null");
	else if (cJSON_IsNumber(it))
		snprintf(buf, len, "%.15g", it->valuedouble);
	else if (cJSON_IsString(it))
		snprintf(buf, len, "\"%.64s\"", it->valuestring);
	else if (cJSON_IsBool(it))
		snprintf(buf, len, "%s", cJSON_IsTrue(it) ? "true" : "false");
	else
		snprintf(buf, len, "%s",
			 cJSON_IsArray(it) ? "an array" : "an object");
	return buf;
}

/* An integral JSON number in lo..hi. */
static bool int_in_range(const cJSON *it, long lo, long hi, long *out)
{
	double d;

	if (!cJSON_IsNumber(it))
		return false;
	d = it->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || (double)(long)d != d)
		return false;
	*out = (long)d;
	return true;
}

/* Why it is not an integer in lo..hi, e.g. "70000 out of range 1..65535". */
static const char *range_cause(const cJSON *it, long lo, long hi, char *buf,
			       size_t len)
{
	char val[96];
	double d = it->valuedouble;

	describe(it, val, sizeof(val));
	/* doubles this large are integers; converting them is undefined */
	if (cJSON_IsNumber(it) &&
	    (d <= -1e18 || d >= 1e18 || d == (double)(long long)d))
		snprintf(buf, len, "%s out of range %ld..%ld", val, lo, hi);
	else
		snprintf(buf, len, "%s is not an integer in %ld..%ld", val, lo,
			 hi);
	return buf;
}

/* MODEL_IPV4 or MODEL_IPV6 (and *out), or -EINVAL. */
static int parse_ip(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->a.w[0]) == 1)
		out->fam = MODEL_IPV4;
	else if (inet_pton(AF_INET6, s, &out->a) == 1)
		out->fam = MODEL_IPV6;
	else
		return -EINVAL;
	return out->fam;
}

static const char *fam_name(int fam)
{
	return fam == MODEL_IPV6 ? "IPv6" : "IPv4";
}

static bool ip_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->fam == b->fam && !memcmp(&a->a, &b->a, sizeof(a->a));
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : "TCP";
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* ---- frontend table ---------------------------------------------------- */

static uint64_t mix64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

static size_t fe_hash(const struct fe_tkey *key)
{
	uint64_t w[3];

	_Static_assert(sizeof(*key) == sizeof(w), "frontend tkey is 24 bytes");
	memcpy(w, key, sizeof(w));
	return (size_t)mix64(w[0] ^ mix64(w[1] ^ mix64(w[2])));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t fe_slot(const struct fe_table *t, const struct fe_tkey *key)
{
	size_t i = fe_hash(key) & (t->cap - 1);

	while (t->owners[i] && memcmp(&t->keys[i], key, sizeof(*key)))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int fe_grow(struct fe_table *t)
{
	struct fe_table n = { .cap = t->cap ? t->cap * 2 : 64 };
	size_t i, j;

	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.owners = calloc(n.cap, sizeof(*n.owners));
	if (!n.keys || !n.owners) {
		free(n.keys);
		free(n.owners);
		return -ENOMEM;
	}
	for (i = 0; i < t->cap; i++) {
		if (!t->owners[i])
			continue;
		j = fe_slot(&n, &t->keys[i]);
		n.keys[j] = t->keys[i];
		n.owners[j] = t->owners[i];
	}
	n.len = t->len;
	free(t->keys);
	free(t->owners);
	*t = n;
	return 0;
}

/* ---- pass 1: name every item, find duplicates ------------------------- */

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = *(const struct item *const *)pa;
	const struct item *b = *(const struct item *const *)pb;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

#define LABEL_ZONE "topology.kubernetes.io/zone"

static void node_item(struct build *b, const cJSON *meta, const char *name)
{
	const cJSON *zone;

	if (b->cfg->node_zone || !b->cfg->node_name ||
	    strcmp(name, b->cfg->node_name))
		return;
	zone = field(field(meta, "labels"), LABEL_ZONE);
	if (cJSON_IsString(zone) && *zone->valuestring) {
		b->node_zone = zone->valuestring;
		if (keep_str(b, &b->node_zone))
			b->node_zone = NULL; /* out of memory: no zone */
	}
}

static void name_item(struct build *b, struct item *it)
{
	const char *kind, *api, *name, *ns;
	const cJSON *meta;

	it->kind = KIND_NONE;
	if (!cJSON_IsObject(it->obj)) {
		report(b, "items[%zu]: not an object", it->index);
		return;
	}
	if (get_string(it->obj, "kind", &kind) || !kind || !*kind) {
		report(b, "items[%zu]: kind missing", it->index);
		return;
	}
	meta = field(it->obj, "metadata");
	if (get_string(meta, "name", &name) || !name || !*name) {
		report(b, "%s items[%zu]: metadata.name missing", kind,
		       it->index);
		return;
	}
	if (get_string(meta, "namespace", &ns) || (ns && !*ns))
		ns = NULL;
	if (get_string(it->obj, "apiVersion", &api))
		api = "?";
	if (!strcmp(kind, "Node") && (!api || !strcmp(api, "v1"))) {
		/* A file may carry this node's Node (`kubectl get
		 * svc,endpointslices,nodes -o json`): its zone, as the API
		 * source reads it from the watched Node; others are ignored. */
		node_item(b, meta, name);
		return;
	}
	if (!strcmp(kind, "Service") && (!api || !strcmp(api, "v1"))) {
		it->kind = KIND_SERVICE;
	} else if (!strcmp(kind, "EndpointSlice") &&
		   (!api || !strcmp(api, "discovery.k8s.io/v1"))) {
		it->kind = KIND_SLICE;
	} else {
		report(b,
		       "%s %s%s%s: unknown kind (apiVersion %s), want Service v1, EndpointSlice discovery.k8s.io/v1 or Node v1",
		       kind, ns ? ns : "", ns ? "/" : "", name,
		       api ? api : "missing");
		return;
	}
	if (!ns) {
		report(b, "%s %s: metadata.namespace missing", kind, name);
		it->kind = KIND_NONE;
		return;
	}
	if ((size_t)snprintf(it->name, sizeof(it->name), "%s/%s", ns, name) >=
	    sizeof(it->name)) {
		report(b, "%s %s/%s: namespace/name longer than %d characters",
		       kind, ns, name, SVCD_NAME_LEN - 1);
		it->kind = KIND_NONE;
	}
}

static int name_items(struct build *b, const cJSON *items)
{
	struct item **sorted;
	const cJSON *obj;
	size_t i, n = 0;

	b->n_items = (size_t)cJSON_GetArraySize(items);
	b->items = calloc(b->n_items ? b->n_items : 1, sizeof(*b->items));
	sorted = calloc(b->n_items ? b->n_items : 1, sizeof(*sorted));
	if (!b->items || !sorted) {
		free(sorted);
		return -ENOMEM;
	}
	i = 0;
	cJSON_ArrayForEach(obj, items) {
		struct item *it = &b->items[i];

		it->obj = obj;
		it->index = i++;
		name_item(b, it);
		if (it->kind != KIND_NONE)
			sorted[n++] = it;
	}
	if (n)
		qsort(sorted, n, sizeof(*sorted), item_cmp);
	for (i = 1; i < n; i++)
		if (sorted[i]->kind == sorted[i - 1]->kind &&
		    !strcmp(sorted[i]->name, sorted[i - 1]->name))
			sorted[i]->duplicate = true;
	free(sorted);
	return 0;
}

/* ---- pass 2: parse and validate --------------------------------------- */

/*
 * A port of a Service (spec.ports[i]) or of an EndpointSlice (ports[i]).
 * Returns 0, OBJ_SKIP for SCTP and for slice ports without a number
 * (kube-proxy ignores both), or -EINVAL after reporting.
 */
static int parse_port(struct build *b, const char *obj, const cJSON *it,
		      const char *where, bool service, struct port_spec *p)
{
	const char *kind = service ? "Service" : "EndpointSlice";
	const char *name, *proto;
	const cJSON *num;
	char val[160];
	bool skip = false;
	long v;

	if (!cJSON_IsObject(it)) {
		report(b, "%s %s: %s is not an object", kind, obj, where);
		return -EINVAL;
	}
	if (get_string(it, "name", &name)) {
		report(b, "%s %s: %s.name is not a string", kind, obj, where);
		return -EINVAL;
	}
	if (name && strlen(name) >= sizeof(p->name)) {
		report(b, "%s %s: %s.name \"%.64s\" longer than %zu characters",
		       kind, obj, where, name, sizeof(p->name) - 1);
		return -EINVAL;
	}
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");

	if (get_string(it, "protocol", &proto)) {
		report(b, "%s %s: %s.protocol is not a string", kind, obj,
		       where);
		return -EINVAL;
	}
	if (!proto || !strcmp(proto, "TCP")) {
		p->proto = IPPROTO_TCP;
	} else if (!strcmp(proto, "UDP")) {
		p->proto = IPPROTO_UDP;
	} else if (!strcmp(proto, "SCTP")) {
		skip = true;
	} else {
		report(b, "%s %s: %s.protocol \"%.32s\" unknown", kind, obj,
		       where, proto);
		return -EINVAL;
	}

	num = field(it, "port");
	if (absent(num) && service) {
		report(b, "%s %s: %s.port missing", kind, obj, where);
		return -EINVAL;
	} else if (absent(num)) {
		skip = true;
	} else if (!int_in_range(num, 1, 65535, &v)) {
		report(b, "%s %s: %s.port %s", kind, obj, where,
		       range_cause(num, 1, 65535, val, sizeof(val)));
		return -EINVAL;
	} else {
		p->port = (uint16_t)v;
	}

	num = field(it, "nodePort");
	if (service && !absent(num)) {
		if (!int_in_range(num, 1, 65535, &v)) {
			report(b, "%s %s: %s.nodePort %s", kind, obj, where,
			       range_cause(num, 1, 65535, val, sizeof(val)));
			return -EINVAL;
		}
		p->node_port = (uint16_t)v;
	}
	return skip ? OBJ_SKIP : 0;
}

/* One IP of a Service, of either family (family: the one it must be). */
static int add_svc_ip(struct build *b, struct svc *s, const cJSON *it,
		      const char *where, const char *family,
		      struct ipaddr **arr, size_t *len, size_t *cap)
{
	struct ipaddr addr, *slot;
	char val[96];
	int af = -EINVAL;

	if (cJSON_IsString(it))
		af = parse_ip(it->valuestring, &addr);
	if (af < 0 || (family && strcmp(family, fam_name(af)))) {
		report(b, "Service %s: %s %s is not an %s address", s->name,
		       where, describe(it, val, sizeof(val)),
		       family ? family : "IP");
		return -EINVAL;
	}
	slot = array_add((void **)arr, len, cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = addr;
	return 0;
}

/* clusterIPs with ipFamilies (each address's own family when they are
 * absent), or clusterIP; OBJ_SKIP when headless. The families of the
 * ClusterIPs are the Service's: kube-proxy's proxier of a family handles
 * only Services with a ClusterIP of it. */
static int parse_cluster_ips(struct build *b, struct svc *s, const cJSON *spec)
{
	const cJSON *ips = field(spec, "clusterIPs");
	const cJSON *families = field(spec, "ipFamilies");
	const cJSON *ip;
	char where[64];
	int i = 0, ret;

	if (!cJSON_IsArray(ips) || !cJSON_GetArraySize(ips)) {
		ip = field(spec, "clusterIP");
		if (absent(ip) ||
		    (cJSON_IsString(ip) &&
		     (!*ip->valuestring || !strcmp(ip->valuestring, "None"))))
			return OBJ_SKIP;
		ret = add_svc_ip(b, s, ip, "spec.clusterIP", NULL,
				 &s->cluster_ips, &s->n_cluster_ips,
				 &s->cap_cluster_ips);
		if (ret)
			return ret;
		return s->n_cluster_ips ? 0 : OBJ_SKIP;
	}
	cJSON_ArrayForEach(ip, ips) {
		const cJSON *fam = cJSON_GetArrayItem(families, i);
		const char *family = NULL;

		if (cJSON_IsString(ip) &&
		    (!*ip->valuestring || !strcmp(ip->valuestring, "None")))
			return OBJ_SKIP;
		if (cJSON_IsString(fam)) {
			family = fam->valuestring;
			if (strcmp(family, "IPv4") && strcmp(family, "IPv6")) {
				report(b,
				       "Service %s: spec.ipFamilies[%d] \"%.32s\" unknown",
				       s->name, i, family);
				return -EINVAL;
			}
		}
		snprintf(where, sizeof(where), "spec.clusterIPs[%d]", i);
		ret = add_svc_ip(b, s, ip, where, family, &s->cluster_ips,
				 &s->n_cluster_ips, &s->cap_cluster_ips);
		if (ret)
			return ret;
		if (s->n_cluster_ips == 2 &&
		    s->cluster_ips[0].fam == s->cluster_ips[1].fam) {
			report(b,
			       "Service %s: spec.clusterIPs[%d] is a second %s address",
			       s->name, i, fam_name(s->cluster_ips[1].fam));
			return -EINVAL;
		}
		if (s->n_cluster_ips > 2) {
			report(b,
			       "Service %s: spec.clusterIPs has more than 2 addresses",
			       s->name);
			return -EINVAL;
		}
		i++;
	}
	return s->n_cluster_ips ? 0 : OBJ_SKIP;
}

static int parse_svc_ports(struct build *b, struct svc *s, const cJSON *spec)
{
	const cJSON *ports = field(spec, "ports"), *it;
	struct port_spec p, *slot;
	char where[48];
	size_t j;
	int i = 0, ret;

	if (absent(ports))
		return 0;
	if (!cJSON_IsArray(ports)) {
		report(b, "Service %s: spec.ports is not an array", s->name);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, ports) {
		memset(&p, 0, sizeof(p));
		snprintf(where, sizeof(where), "spec.ports[%d]", i++);
		ret = parse_port(b, s->name, it, where, true, &p);
		if (ret == OBJ_SKIP)
			continue;
		if (ret)
			return ret;
		for (j = 0; j < s->n_ports; j++) {
			const struct port_spec *o = &s->ports[j];

			if (o->proto != p.proto)
				continue;
			if (!strcmp(o->name, p.name) || o->port == p.port ||
			    (p.node_port && o->node_port == p.node_port)) {
				report(b,
				       "Service %s: %s (\"%s\" %u/%s) duplicates the name, port or nodePort of an earlier port",
				       s->name, where, p.name, p.port,
				       proto_name(p.proto));
				return -EINVAL;
			}
		}
		slot = array_add((void **)&s->ports, &s->n_ports, &s->cap_ports,
				 sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = p;
	}
	return 0;
}

static int parse_external_ips(struct build *b, struct svc *s, const cJSON *spec,
			      const cJSON *status)
{
	const cJSON *ips = field(spec, "externalIPs"), *it;
	const cJSON *ingress;
	const char *mode;
	char where[64];
	int i = 0, ret;

	if (!absent(ips) && !cJSON_IsArray(ips)) {
		report(b, "Service %s: spec.externalIPs is not an array",
		       s->name);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, ips) {
		snprintf(where, sizeof(where), "spec.externalIPs[%d]", i++);
		ret = add_svc_ip(b, s, it, where, NULL, &s->external_ips,
				 &s->n_external_ips, &s->cap_external_ips);
		if (ret)
			return ret;
	}

	ingress = field(field(status, "loadBalancer"), "ingress");
	if (!absent(ingress) && !cJSON_IsArray(ingress)) {
		report(b,
		       "Service %s: status.loadBalancer.ingress is not an array",
		       s->name);
		return -EINVAL;
	}
	i = 0;
	cJSON_ArrayForEach(it, ingress) {
		snprintf(where, sizeof(where),
			 "status.loadBalancer.ingress[%d].ip", i++);
		/* ipMode Proxy: the load balancer delivers to the node */
		if (!get_string(it, "ipMode", &mode) && mode &&
		    !strcmp(mode, "Proxy"))
			continue;
		if (absent(field(it, "ip")))
			continue;
		ret = add_svc_ip(b, s, field(it, "ip"), where, NULL, &s->lb_ips,
				 &s->n_lb_ips, &s->cap_lb_ips);
		if (ret)
			return ret;
	}
	return 0;
}

/* "Local" -> true; absent or "Cluster" -> false; else -EINVAL. */
static int parse_policy(struct build *b, struct svc *s, const cJSON *spec,
			const char *key, bool *local)
{
	char val[96];
	const char *v;

	if (get_string(spec, key, &v) ||
	    (v && strcmp(v, "Local") && strcmp(v, "Cluster"))) {
		report(b, "Service %s: spec.%s %s unknown", s->name, key,
		       describe(field(spec, key), val, sizeof(val)));
		return -EINVAL;
	}
	*local = v && !strcmp(v, "Local");
	return 0;
}

static int parse_affinity(struct build *b, struct svc *s, const cJSON *spec)
{
	const cJSON *timeout;
	const char *v;
	char val[160];
	long t;

	if (get_string(spec, "sessionAffinity", &v) ||
	    (v && strcmp(v, "ClientIP") && strcmp(v, "None"))) {
		report(b, "Service %s: spec.sessionAffinity %s unknown",
		       s->name,
		       describe(field(spec, "sessionAffinity"), val,
				sizeof(val)));
		return -EINVAL;
	}
	s->affinity_timeout = 0;
	if (!v || strcmp(v, "ClientIP"))
		return 0;
	s->affinity_timeout = AFFINITY_DEFAULT;
	timeout = field(field(field(spec, "sessionAffinityConfig"), "clientIP"),
			"timeoutSeconds");
	if (absent(timeout))
		return 0;
	if (!int_in_range(timeout, 1, AFFINITY_MAX, &t)) {
		/* not fatal: the Service works with the default */
		report(b,
		       "Service %s: spec.sessionAffinityConfig.clientIP.timeoutSeconds %s, using %d",
		       s->name,
		       range_cause(timeout, 1, AFFINITY_MAX, val, sizeof(val)),
		       AFFINITY_DEFAULT);
		return 0;
	}
	s->affinity_timeout = (uint32_t)t;
	return 0;
}

/* spec.healthCheckNodePort and spec.loadBalancerSourceRanges. */
static int parse_lb_extras(struct build *b, struct svc *s, const cJSON *spec)
{
	const cJSON *hc = field(spec, "healthCheckNodePort");
	const cJSON *ranges = field(spec, "loadBalancerSourceRanges"), *it;
	struct src_cidr *r;
	char val[160], buf[64], *slash, *end;
	struct ipaddr addr;
	long v, j, max;
	int i = 0;

	if (!absent(hc)) {
		if (!int_in_range(hc, 1, 65535, &v)) {
			report(b, "Service %s: spec.healthCheckNodePort %s",
			       s->name,
			       range_cause(hc, 1, 65535, val, sizeof(val)));
			return -EINVAL;
		}
		s->hc_node_port = (uint16_t)v;
	}
	if (absent(ranges))
		return 0;
	if (!cJSON_IsArray(ranges)) {
		report(b,
		       "Service %s: spec.loadBalancerSourceRanges is not an array",
		       s->name);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, ranges) {
		const char *str = cJSON_GetStringValue(it);

		if (!str || strlen(str) >= sizeof(buf))
			goto bad;
		snprintf(buf, sizeof(buf), "%s", str);
		slash = strchr(buf, '/');
		if (!slash)
			goto bad;
		*slash = '\0';
		v = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end)
			goto bad;
		if (parse_ip(buf, &addr) < 0)
			goto bad;
		max = addr.fam == MODEL_IPV6 ? 128 : 32;
		if (v < 0 || v > max)
			goto bad;
		r = array_add((void **)&s->ranges, &s->n_ranges, &s->cap_ranges,
			      sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->fam = addr.fam;
		r->len = (uint8_t)v;
		/* host bits zero: whole bytes, then the partial one */
		for (j = 0; j < max / 8; j++) {
			long bits = v - 8 * j;

			if (bits >= 8)
				r->prefix.b[j] = addr.a.b[j];
			else if (bits > 0)
				r->prefix.b[j] = (uint8_t)(addr.a.b[j] &
							   (0xff00 >> bits));
		}
		s->n_ranges_fam[addr.fam]++;
		i++;
	}
	return 0;
bad:
	report(b,
	       "Service %s: spec.loadBalancerSourceRanges[%d] %s is not a CIDR",
	       s->name, i, describe(it, val, sizeof(val)));
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * svcd.io/weights: "KEY=WEIGHT[,KEY=WEIGHT...]". Returns 0, -ENOMEM, or
 * -EINVAL with *bad pointing at the entry that does not parse.
 */
static int parse_weight_rules(struct svc *s, const char *text, const char **bad)
{
	const char *p = text;
	struct weight_rule *r;
	char key[INET6_ADDRSTRLEN];

	while (is_blank(*p))
		p++;
	if (!*p)
		return 0;
	for (;;) {
		const char *start, *k;
		size_t key_len;
		unsigned int w = 0;

		while (is_blank(*p))
			p++;
		*bad = start = k = p;
		while (*p && *p != '=' && *p != ',' && !is_blank(*p))
			p++;
		key_len = (size_t)(p - start);
		while (is_blank(*p))
			p++;
		if (!key_len || *p++ != '=')
			return -EINVAL;
		while (is_blank(*p))
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			w = w * 10 + (unsigned int)(*p++ - '0');
			if (w > SVCD_MAX_WEIGHT)
				return -EINVAL;
		}
		while (is_blank(*p))
			p++;
		if (*p && *p != ',')
			return -EINVAL;

		r = array_add((void **)&s->weights, &s->n_weights,
			      &s->cap_weights, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->key = k;
		r->key_len = key_len;
		r->weight = (uint8_t)w;
		if (key_len < sizeof(key)) {
			memcpy(key, k, key_len);
			key[key_len] = '\0';
			r->is_addr = parse_ip(key, &r->addr) >= 0;
		}
		if (!*p)
			return 0;
		p++;
	}
}

static int parse_weights(struct build *b, struct svc *s, const cJSON *meta)
{
	const cJSON *it = field(field(meta, "annotations"), ANNOTATION_WEIGHTS);
	const char *bad = NULL;
	int ret;

	if (!it)
		return 0;
	if (!cJSON_IsString(it)) {
		ret = -EINVAL;
	} else {
		const char *text = it->valuestring;

		if (keep_str(b, &text))
			return -ENOMEM;
		ret = parse_weight_rules(s, text, &bad);
		if (ret == -ENOMEM)
			return ret;
	}
	if (ret) {
		/* not fatal: the Service works with equal weights */
		report(b,
		       "Service %s: annotation %s: \"%.*s\" is not KEY=WEIGHT with WEIGHT 0..%d; weights ignored",
		       s->name, ANNOTATION_WEIGHTS,
		       bad ? (int)strcspn(bad, ",") : 0, bad ? bad : "",
		       SVCD_MAX_WEIGHT);
		s->n_weights = 0;
	}
	return 0;
}

static int fill_service(struct build *b, struct svc *s, const cJSON *obj)
{
	const cJSON *meta = field(obj, "metadata");
	const cJSON *spec = field(obj, "spec");
	const cJSON *labels = field(meta, "labels");
	const char *type;
	int ret;

	if (has_label(labels, LABEL_PROXY_NAME) ||
	    has_label(labels, LABEL_HEADLESS))
		return OBJ_SKIP;
	if (!cJSON_IsObject(spec)) {
		report(b, "Service %s: spec missing", s->name);
		return -EINVAL;
	}
	if (get_string(spec, "type", &type)) {
		report(b, "Service %s: spec.type is not a string", s->name);
		return -EINVAL;
	}
	if (type && !strcmp(type, "ExternalName"))
		return OBJ_SKIP;
	if (type && !strcmp(type, "NodePort"))
		s->node_ports = true;
	else if (type && !strcmp(type, "LoadBalancer"))
		s->node_ports = s->load_balancer = true;
	else if (type && strcmp(type, "ClusterIP")) {
		report(b, "Service %s: spec.type \"%.32s\" unknown", s->name,
		       type);
		return -EINVAL;
	}

	ret = parse_cluster_ips(b, s, spec);
	if (!ret)
		ret = parse_svc_ports(b, s, spec);
	if (!ret)
		ret = parse_external_ips(b, s, spec, field(obj, "status"));
	if (!ret)
		ret = parse_policy(b, s, spec, "internalTrafficPolicy",
				   &s->itp_local);
	if (!ret)
		ret = parse_policy(b, s, spec, "externalTrafficPolicy",
				   &s->etp_local);
	if (!ret)
		ret = parse_affinity(b, s, spec);
	if (!ret)
		ret = parse_lb_extras(b, s, spec);
	/* last: its problems are not fatal, and worth a line only then */
	if (!ret)
		ret = parse_weights(b, s, meta);
	return ret;
}

static void svc_release(struct svc *s)
{
	free(s->ports);
	free(s->cluster_ips);
	free(s->external_ips);
	free(s->lb_ips);
	free(s->weights);
	free(s->ranges);
	free(s->slices);
	s->ranges = NULL;
	s->n_ranges = 0;
	s->ports = NULL;
	s->cluster_ips = s->external_ips = s->lb_ips = NULL;
	s->weights = NULL;
	s->slices = NULL;
	s->n_ports = s->n_cluster_ips = s->n_external_ips = s->n_lb_ips = 0;
	memset(s->n_ranges_fam, 0, sizeof(s->n_ranges_fam));
	s->n_weights = s->n_slices = 0;
}

static int add_service(struct build *b, const struct item *it)
{
	struct svc *s;
	int ret;

	s = array_add((void **)&b->svcs, &b->n_svcs, &b->cap_svcs, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s->name, it->name, sizeof(s->name));
	ret = fill_service(b, s, it->obj);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		/* kept without its data, so its slices are not "not found" */
		svc_release(s);
		s->state = ret == OBJ_SKIP ? SVC_SKIPPED : SVC_INVALID;
	}
	return 0;
}

static bool hint_names(const cJSON *list, const char *name)
{
	const cJSON *h;
	const char *v;

	if (!name)
		return false;
	cJSON_ArrayForEach(h, list)
		if (!get_string(h, "name", &v) && v && !strcmp(v, name))
			return true;
	return false;
}

static int parse_endpoint(struct build *b, struct slice *sl, const cJSON *it,
			  int i)
{
	const struct model_config *cfg = b->cfg;
	const cJSON *addrs = field(it, "addresses"), *a;
	const cJSON *cond = field(it, "conditions");
	const cJSON *hints = field(it, "hints"), *list;
	const char *node;
	struct endpoint *ep;
	char val[96];
	int j = 0;

	if (!cJSON_IsObject(it)) {
		report(b, "EndpointSlice %s: endpoints[%d] is not an object",
		       sl->name, i);
		return -EINVAL;
	}
	if (!cJSON_IsArray(addrs) || !cJSON_GetArraySize(addrs)) {
		report(b, "EndpointSlice %s: endpoints[%d].addresses missing",
		       sl->name, i);
		return -EINVAL;
	}
	ep = array_add((void **)&sl->eps, &sl->n_eps, &sl->cap_eps,
		       sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	/* kube-proxy uses the first address; all must be valid, and of
	 * the slice's addressType */
	cJSON_ArrayForEach(a, addrs) {
		struct ipaddr addr;

		if (!cJSON_IsString(a) ||
		    parse_ip(a->valuestring, &addr) != sl->fam) {
			report(b,
			       "EndpointSlice %s: endpoints[%d].addresses[%d] %s is not an %s address",
			       sl->name, i, j, describe(a, val, sizeof(val)),
			       fam_name(sl->fam));
			return -EINVAL;
		}
		if (!j++)
			ep->addr = addr;
	}
	if ((!absent(cond) && !cJSON_IsObject(cond)) ||
	    get_bool(cond, "ready", true, &ep->ready) ||
	    get_bool(cond, "serving", ep->ready, &ep->serving) ||
	    get_bool(cond, "terminating", false, &ep->terminating)) {
		report(b,
		       "EndpointSlice %s: endpoints[%d].conditions are not booleans",
		       sl->name, i);
		return -EINVAL;
	}
	if (get_string(it, "nodeName", &node)) {
		report(b,
		       "EndpointSlice %s: endpoints[%d].nodeName is not a string",
		       sl->name, i);
		return -EINVAL;
	}
	ep->local = node && cfg->node_name && !strcmp(node, cfg->node_name);
	if (get_string(field(it, "targetRef"), "name", &ep->target_name))
		ep->target_name = NULL;
	if (keep_str(b, &ep->target_name))
		return -ENOMEM;

	list = field(hints, "forNodes");
	ep->node_hints = cJSON_IsArray(list) && cJSON_GetArraySize(list);
	ep->node_match = hint_names(list, cfg->node_name);
	list = field(hints, "forZones");
	ep->zone_hints = cJSON_IsArray(list) && cJSON_GetArraySize(list);
	ep->zone_match = hint_names(list, b->node_zone);
	return 0;
}

static int fill_slice(struct build *b, struct slice *sl, const cJSON *obj)
{
	const cJSON *meta = field(obj, "metadata");
	const cJSON *labels = field(meta, "labels");
	const cJSON *ports = field(obj, "ports");
	const cJSON *eps = field(obj, "endpoints");
	const char *type, *svc, *ns;
	struct port_spec p, *slot;
	const cJSON *it;
	char where[48];
	int i, ret;

	if (has_label(labels, LABEL_PROXY_NAME) ||
	    has_label(labels, LABEL_HEADLESS))
		return OBJ_SKIP;
	if (get_string(obj, "addressType", &type) || !type) {
		report(b, "EndpointSlice %s: addressType missing", sl->name);
		return -EINVAL;
	}
	if (!strcmp(type, "IPv4"))
		sl->fam = MODEL_IPV4;
	else if (!strcmp(type, "IPv6"))
		sl->fam = MODEL_IPV6;
	else
		return OBJ_SKIP; /* FQDN */
	if (get_string(labels, LABEL_SERVICE_NAME, &svc) || !svc || !*svc) {
		report(b, "EndpointSlice %s: label %s missing", sl->name,
		       LABEL_SERVICE_NAME);
		return -EINVAL;
	}
	get_string(meta, "namespace", &ns); /* checked by name_item() */
	if ((size_t)snprintf(sl->service, sizeof(sl->service), "%s/%s", ns,
			     svc) >= sizeof(sl->service)) {
		report(b, "EndpointSlice %s: label %s \"%.64s\" too long",
		       sl->name, LABEL_SERVICE_NAME, svc);
		return -EINVAL;
	}

	if (!absent(ports) && !cJSON_IsArray(ports)) {
		report(b, "EndpointSlice %s: ports is not an array", sl->name);
		return -EINVAL;
	}
	i = 0;
	cJSON_ArrayForEach(it, ports) {
		memset(&p, 0, sizeof(p));
		snprintf(where, sizeof(where), "ports[%d]", i++);
		ret = parse_port(b, sl->name, it, where, false, &p);
		if (ret == OBJ_SKIP)
			continue;
		if (ret)
			return ret;
		slot = array_add((void **)&sl->ports, &sl->n_ports,
				 &sl->cap_ports, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = p;
	}

	if (!absent(eps) && !cJSON_IsArray(eps)) {
		report(b, "EndpointSlice %s: endpoints is not an array",
		       sl->name);
		return -EINVAL;
	}
	i = 0;
	cJSON_ArrayForEach(it, eps) {
		ret = parse_endpoint(b, sl, it, i++);
		if (ret)
			return ret;
	}
	return 0;
}

static void slice_release(struct slice *sl)
{
	free(sl->ports);
	free(sl->eps);
}

static int add_slice(struct build *b, const struct item *it)
{
	struct slice *sl;
	int ret;

	sl = array_add((void **)&b->slices, &b->n_slices, &b->cap_slices,
		       sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	memcpy(sl->name, it->name, sizeof(sl->name));
	ret = fill_slice(b, sl, it->obj);
	if (ret) {
		slice_release(sl);
		b->n_slices--;
	}
	return ret == -ENOMEM ? ret : 0;
}

static int parse_items(struct build *b)
{
	static const char *const kinds[] = {
		[KIND_SERVICE] = "Service",
		[KIND_SLICE] = "EndpointSlice",
	};
	size_t i;
	int ret;

	for (i = 0; i < b->n_items; i++) {
		const struct item *it = &b->items[i];

		if (it->kind == KIND_NONE)
			continue;
		if (it->duplicate) {
			report(b,
			       "%s %s: duplicate object, the first one is used",
			       kinds[it->kind], it->name);
			continue;
		}
		if (it->kind == KIND_SERVICE)
			ret = add_service(b, it);
		else
			ret = add_slice(b, it);
		if (ret)
			return ret;
	}
	return 0;
}

/* Services by name; each gets its slices, in slice name order. */
static int link_slices(struct build *b)
{
	struct svc *s;
	size_t i, *slot;

	if (b->n_svcs)
		qsort(b->svcs, b->n_svcs, sizeof(*b->svcs), name_cmp);
	for (i = 0; i < b->n_slices; i++) {
		const struct slice *sl = &b->slices[i];

		s = NULL;
		if (b->n_svcs)
			s = bsearch(sl->service, b->svcs, b->n_svcs,
				    sizeof(*b->svcs), name_cmp);
		if (!s) {
			if (!b->cfg->quiet_orphan_slices)
				report(b,
				       "EndpointSlice %s: service %s not found",
				       sl->name, sl->service);
			continue;
		}
		if (s->state != SVC_OK)
			continue;
		slot = array_add((void **)&s->slices, &s->n_slices,
				 &s->cap_slices, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = i;
	}
	return 0;
}

static int slice_index_cmp(const void *pa, const void *pb, void *arg)
{
	const struct slice *slices = arg;

	return strcmp(slices[*(const size_t *)pa].name,
		      slices[*(const size_t *)pb].name);
}

/* ---- pass 3: build each Service ---------------------------------------- */

static int candidate_cmp(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;
	uint16_t ap = ntohs(a->port), bp = ntohs(b->port);
	int c;

	/* one family: network order compares as numbers */
	c = memcmp(&a->ep->addr.a, &b->ep->addr.a, sizeof(a->ep->addr.a));
	if (c)
		return c;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static uint8_t weight_of(const struct svc *s, const struct endpoint *ep)
{
	const char *name = ep->target_name;
	size_t i;

	for (i = 0; i < s->n_weights; i++)
		if (s->weights[i].is_addr &&
		    ip_eq(&s->weights[i].addr, &ep->addr))
			return s->weights[i].weight;
	for (i = 0; name && i < s->n_weights; i++)
		if (strlen(name) == s->weights[i].key_len &&
		    !memcmp(name, s->weights[i].key, s->weights[i].key_len))
			return s->weights[i].weight;
	return 1;
}

static bool same_backend(const struct candidate *a, const struct candidate *b)
{
	return ip_eq(&a->ep->addr, &b->ep->addr) && a->port == b->port;
}

/*
 * The endpoints of one Service port in one family: every slice of that
 * addressType with a port of the same name and protocol, deduplicated by
 * address:port (the first slice by name wins, unless a later copy is
 * node-local), sorted by address:port.
 */
static int join_port(struct build *b, const struct svc *s,
		     const struct port_spec *p, int fam, struct candidate **out,
		     size_t *n_out)
{
	struct candidate *c = NULL, *slot;
	size_t n = 0, cap = 0, i, j, k, seq = 0;

	for (i = 0; i < s->n_slices; i++) {
		const struct slice *sl = &b->slices[s->slices[i]];
		const struct port_spec *sp = NULL;

		if (sl->fam != fam)
			continue;

		for (j = 0; j < sl->n_ports && !sp; j++)
			if (sl->ports[j].proto == p->proto &&
			    !strcmp(sl->ports[j].name, p->name))
				sp = &sl->ports[j];
		for (j = 0; sp && j < sl->n_eps; j++) {
			slot = array_add((void **)&c, &n, &cap, sizeof(*slot));
			if (!slot) {
				free(c);
				return -ENOMEM;
			}
			slot->ep = &sl->eps[j];
			slot->port = htons(sp->port);
			slot->weight = weight_of(s, slot->ep);
			slot->seq = seq++;
		}
	}
	if (n)
		qsort(c, n, sizeof(*c), candidate_cmp);
	for (i = 0, k = 0; i < n; i = j) {
		size_t pick = i;

		for (j = i + 1; j < n && same_backend(&c[i], &c[j]); j++)
			if (!c[pick].ep->local && c[j].ep->local)
				pick = j;
		c[k++] = c[pick];
	}
	*out = c;
	*n_out = k;
	return 0;
}

enum pick {
	PICK_READY,
	PICK_READY_NODE,
	PICK_READY_ZONE,
	PICK_TERMINATING,
};

static bool picked(const struct endpoint *ep, enum pick how, bool local)
{
	if (local && !ep->local)
		return false;
	switch (how) {
	case PICK_READY:
		return ep->ready;
	case PICK_READY_NODE:
		return ep->ready && ep->node_match;
	case PICK_READY_ZONE:
		return ep->ready && ep->zone_match;
	case PICK_TERMINATING:
		return ep->serving && ep->terminating;
	}
	return false;
}

/* Topology hints narrow the cluster set only when every ready endpoint
 * carries them and one of them is for this node (zone). */
static enum pick cluster_pick(const struct build *b, const struct candidate *c,
			      size_t n)
{
	bool ready = false, all_node = true, any_node = false;
	bool all_zone = true, any_zone = false;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct endpoint *ep = c[i].ep;

		if (!ep->ready)
			continue;
		ready = true;
		all_node &= ep->node_hints;
		any_node |= ep->node_match;
		all_zone &= ep->zone_hints;
		any_zone |= ep->zone_match;
	}
	if (!ready)
		return PICK_TERMINATING;
	if (all_node && any_node)
		return PICK_READY_NODE;
	if (b->node_zone && all_zone && any_zone)
		return PICK_READY_ZONE;
	return PICK_READY;
}

/* One backend set out of the candidates, with the weight-0 rule. */
static int select_set(const struct build *b, const struct candidate *c,
		      size_t n, enum svcd_backend_set set,
		      struct model_backend **out, size_t *n_out)
{
	bool local = set == SVCD_SET_LOCAL;
	struct model_backend *be;
	enum pick how;
	size_t i, k = 0, weighted = 0;

	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	if (local) {
		how = PICK_READY;
		for (i = 0; i < n && !picked(c[i].ep, how, true); i++)
			;
		if (i == n)
			how = PICK_TERMINATING;
	} else {
		how = cluster_pick(b, c, n);
	}
	for (i = 0; i < n; i++)
		if (picked(c[i].ep, how, local) && c[i].weight)
			weighted++;
	be = calloc(n, sizeof(*be));
	if (!be)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!picked(c[i].ep, how, local))
			continue;
		/* weight 0 stays out unless nothing else is left */
		if (weighted && !c[i].weight)
			continue;
		be[k].addr6 = c[i].ep->addr.a;
		be[k].port = c[i].port;
		be[k].weight = weighted ? c[i].weight : 1;
		be[k].flags =
			(c[i].ep->local ? SVCD_BE_LOCAL : 0) |
			(how == PICK_TERMINATING ? SVCD_BE_TERMINATING : 0);
		k++;
	}
	if (!k) {
		free(be);
		be = NULL;
	}
	*out = be;
	*n_out = k;
	return 0;
}

/* What one Service port builds: its two candidate sets, and the frontends
 * and sets of the whole Service so far (committed only if all are free). */
struct svc_build {
	struct build *b;
	struct svc *s;
	size_t owner; /* svc index + 1 */
	const struct port_spec *port;
	int fam; /* the family being built */
	struct model_backend *be[2];
	size_t n_be[2];
	long set_index[2]; /* into sets, -1 = not used yet */
	struct model_set *sets;
	size_t n_sets, cap_sets;
	struct model_frontend *fes;
	size_t n_fes, cap_fes;
	bool lost;
};

/* "198.19.96.10:80/TCP" or "[2001:db8:96::a]:80/TCP" (RFC 5952). */
static void format_frontend(const struct fe_tkey *t, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (t->fam == MODEL_IPV6) {
		inet_ntop(AF_INET6, &t->k.addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u/%s", addr, ntohs(t->k.port),
			 proto_name(t->k.proto));
	} else {
		struct svcd_frontend_key k4;

		memcpy(&k4, &t->k, sizeof(k4));
		inet_ntop(AF_INET, &k4.addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u/%s", addr, ntohs(k4.port),
			 proto_name(k4.proto));
	}
}

static int use_set(struct svc_build *sb, enum svcd_backend_set set)
{
	struct model_set *ms;

	if (sb->set_index[set] >= 0)
		return 0;
	ms = array_add((void **)&sb->sets, &sb->n_sets, &sb->cap_sets,
		       sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	memcpy(ms->name, sb->s->name, sizeof(ms->name));
	memcpy(ms->port_name, sb->port->name, sizeof(ms->port_name));
	ms->proto = sb->port->proto;
	ms->set = set;
	ms->family = (uint8_t)sb->fam;
	ms->affinity_timeout = sb->s->affinity_timeout;
	ms->backends = sb->be[set];
	ms->n_backends = sb->n_be[set];
	sb->be[set] = NULL; /* owned by the set now */
	sb->set_index[set] = (long)(sb->n_sets - 1);
	return 0;
}

static bool is_node_addr(const struct model_config *cfg,
			 const struct ipaddr *addr)
{
	size_t i;

	if (addr->fam == MODEL_IPV6) {
		for (i = 0; i < cfg->n_node_addrs6; i++)
			if (!memcmp(&cfg->node_addrs6[i], &addr->a,
				    sizeof(addr->a)))
				return true;
		return false;
	}
	for (i = 0; i < cfg->n_node_addrs; i++)
		if (cfg->node_addrs[i] == addr->a.w[0])
			return true;
	return false;
}

static int add_frontend(struct svc_build *sb, const struct ipaddr *addr,
			__be16 port, enum svcd_scope scope,
			enum svcd_frontend_type type, bool local)
{
	struct fe_tkey key = {
		.fam = (uint8_t)addr->fam,
		.k = {
			.port = port,
			.proto = sb->port->proto,
			.scope = scope,
		},
	};
	struct fe_table *t = &sb->b->table;
	enum svcd_backend_set set = local ? SVCD_SET_LOCAL : SVCD_SET_CLUSTER;
	struct model_frontend *fe;
	size_t i, owner;
	char what[80];
	int ret;

	if (addr->fam == MODEL_IPV6) {
		key.k.addr = addr->a;
	} else {
		/* an IPv4 key in the front, zeros after it */
		struct svcd_frontend_key k4 = {
			.addr = addr->a.w[0],
			.port = port,
			.proto = sb->port->proto,
			.scope = scope,
		};

		memset(&key.k, 0, sizeof(key.k));
		memcpy(&key.k, &k4, sizeof(k4));
	}

	if (sb->lost)
		return 0;
	if ((t->len + 1) * 2 > t->cap) {
		ret = fe_grow(t);
		if (ret)
			return ret;
	}
	i = fe_slot(t, &key);
	owner = t->owners[i];
	if (owner == sb->owner)
		return 0; /* the same key twice in one Service: first wins */
	if (owner && sb->b->svcs[owner - 1].state != SVC_LOST) {
		format_frontend(&key, what, sizeof(what));
		report(sb->b, "Service %s: frontend %s already used by %s",
		       sb->s->name, what, sb->b->svcs[owner - 1].name);
		sb->lost = true;
		return 0;
	}
	/* free, or left behind by a Service that lost: take it */
	if (!owner)
		t->len++;
	t->keys[i] = key;
	t->owners[i] = sb->owner;

	ret = use_set(sb, set);
	if (ret)
		return ret;
	fe = array_add((void **)&sb->fes, &sb->n_fes, &sb->cap_fes,
		       sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->family = key.fam;
	if (key.fam == MODEL_IPV6)
		fe->key6 = key.k;
	else
		memcpy(&fe->key, &key.k, sizeof(fe->key));
	fe->flags = type;
	fe->set_index = (size_t)sb->set_index[set];
	/* eTP Cluster from outside: the backend must reply through here */
	if (scope == SVCD_SCOPE_EXTERNAL && !local)
		fe->flags |= SVCD_FE_SNAT;
	/* only ranges of its own family apply (none: open to all) */
	if (type == SVCD_TYPE_LOAD_BALANCER && sb->s->n_ranges_fam[addr->fam])
		fe->flags |= SVCD_FE_SRC_RANGES;
	if (is_node_addr(sb->b->cfg, addr))
		fe->flags |= SVCD_FE_NODE_ADDR;
	if (local) {
		fe->flags |= SVCD_FE_LOCAL_ONLY;
		/* endpoints exist elsewhere: drop rather than refuse */
		if (!sb->n_be[SVCD_SET_LOCAL] && sb->n_be[SVCD_SET_CLUSTER])
			fe->flags |= SVCD_FE_EMPTY_DROP;
	}
	return 0;
}

/* Internal scope: the cluster set; external scope: per eTP. */
static int add_external(struct svc_build *sb, const struct ipaddr *addr,
			__be16 port, enum svcd_frontend_type type)
{
	int ret;

	ret = add_frontend(sb, addr, port, SVCD_SCOPE_INTERNAL, type, false);
	if (!ret)
		ret = add_frontend(sb, addr, port, SVCD_SCOPE_EXTERNAL, type,
				   sb->s->etp_local);
	return ret;
}

/* NodePorts on every node address of the family being built; none when
 * the node has no address in it (counted for one line per build). */
static int add_node_ports(struct svc_build *sb)
{
	const struct model_config *cfg = sb->b->cfg;
	struct build *b = sb->b;
	__be16 port = htons(sb->port->node_port);
	struct ipaddr a = { .fam = sb->fam };
	size_t i, n;
	int ret = 0;

	n = sb->fam == MODEL_IPV6 ? cfg->n_node_addrs6 : cfg->n_node_addrs;
	if (!n) {
		/* a node with no address at all is told so elsewhere */
		if (cfg->n_node_addrs + cfg->n_node_addrs6 &&
		    b->np_last[sb->fam] != sb->s) {
			b->np_last[sb->fam] = sb->s;
			if (!b->np_skipped[sb->fam]++)
				memcpy(b->np_first[sb->fam], sb->s->name,
				       sizeof(b->np_first[0]));
		}
		return 0;
	}
	for (i = 0; i < n && !ret; i++) {
		memset(&a.a, 0, sizeof(a.a));
		if (sb->fam == MODEL_IPV6)
			a.a = cfg->node_addrs6[i];
		else
			a.a.w[0] = cfg->node_addrs[i];
		ret = add_external(sb, &a, port, SVCD_TYPE_NODE_PORT);
	}
	return ret;
}

/* The frontends and sets of one Service port in one family (sb->fam). */
static int build_port_family(struct svc_build *sb, const struct ipaddr *cip)
{
	const struct model_config *cfg = sb->b->cfg;
	const struct svc *s = sb->s;
	__be16 port = htons(sb->port->port);
	bool outside = sb->fam == MODEL_IPV6 ? cfg->cluster_ips_from_outside6 :
					       cfg->cluster_ips_from_outside;
	struct candidate *c;
	size_t n, i;
	int ret, set;

	ret = join_port(sb->b, s, sb->port, sb->fam, &c, &n);
	if (ret)
		return ret;
	for (set = 0; set < 2 && !ret; set++) {
		sb->set_index[set] = -1;
		ret = select_set(sb->b, c, n, set, &sb->be[set],
				 &sb->n_be[set]);
	}
	free(c);

	if (!ret) {
		ret = add_frontend(sb, cip, port, SVCD_SCOPE_INTERNAL,
				   SVCD_TYPE_CLUSTER_IP, s->itp_local);
		/* kube-proxy's KUBE-SERVICES take ClusterIP traffic from
		 * anywhere, masquerading what comes from outside the cluster
		 * CIDR; here, with --cluster-cidr, from the uplinks too. The
		 * internal policy holds (it is a ClusterIP), and remote
		 * backends get SNAT so that replies come back this way. */
		if (!ret && outside)
			ret = add_frontend(sb, cip, port, SVCD_SCOPE_EXTERNAL,
					   SVCD_TYPE_CLUSTER_IP, s->itp_local);
	}
	/* addresses of another family than the ClusterIPs' are not served
	 * (kube-proxy's proxier of that family does not see the Service) */
	for (i = 0; i < s->n_external_ips && !ret; i++)
		if (s->external_ips[i].fam == sb->fam)
			ret = add_external(sb, &s->external_ips[i], port,
					   SVCD_TYPE_EXTERNAL_IP);
	for (i = 0; i < s->n_lb_ips && !ret; i++)
		if (s->lb_ips[i].fam == sb->fam)
			ret = add_external(sb, &s->lb_ips[i], port,
					   SVCD_TYPE_LOAD_BALANCER);
	if (!ret && s->node_ports && sb->port->node_port)
		ret = add_node_ports(sb);

	for (set = 0; set < 2; set++) {
		free(sb->be[set]);
		sb->be[set] = NULL;
	}
	return ret;
}

/* Each family of the Service's ClusterIPs on its own, in their order. */
static int build_port(struct svc_build *sb)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < sb->s->n_cluster_ips && !ret; i++) {
		sb->fam = sb->s->cluster_ips[i].fam;
		ret = build_port_family(sb, &sb->s->cluster_ips[i]);
	}
	return ret;
}

static int addr_cmp(const void *pa, const void *pb)
{
	return memcmp(pa, pb, sizeof(union svcd_ip6));
}

/* Source ranges per LB IP, and the health check with its local count:
 * distinct local addresses that are ready (terminating ones don't count). */
static int commit_lb_extras(struct svc_build *sb, size_t base)
{
	struct model_state *st = &sb->b->state;
	const struct svc *s = sb->s;
	struct model_healthcheck *hc;
	union svcd_ip6 *addrs = NULL;
	size_t i, j, total = 0, best = 0;
	int fam;

	for (i = 0; i < s->n_lb_ips; i++) {
		const struct ipaddr *lb = &s->lb_ips[i];

		/* served only in a family of the ClusterIPs */
		for (j = 0; j < s->n_cluster_ips; j++)
			if (s->cluster_ips[j].fam == lb->fam)
				break;
		if (j == s->n_cluster_ips)
			continue;
		for (j = 0; j < s->n_ranges; j++) {
			struct model_src_range *r;

			if (s->ranges[j].fam != lb->fam)
				continue;
			r = array_add((void **)&st->src_ranges,
				      &st->n_src_ranges, &sb->b->cap_src_ranges,
				      sizeof(*r));
			if (!r)
				return -ENOMEM;
			r->family = (uint8_t)lb->fam;
			r->len = s->ranges[j].len;
			r->prefix6 = s->ranges[j].prefix;
			r->lb_addr6 = lb->a;
		}
	}
	/* kube-proxy serves it for every LoadBalancer with eTP Local, also
	 * before the load balancer has an address: that is when it asks. */
	if (!s->hc_node_port || !s->etp_local || !s->load_balancer)
		return 0;
	/* the sets are the state's now: base .. base + sb->n_sets */
	for (i = base; i < base + sb->n_sets; i++)
		if (st->sets[i].set == SVCD_SET_LOCAL)
			total += st->sets[i].n_backends;
	if (total) {
		addrs = calloc(total, sizeof(*addrs));
		if (!addrs)
			return -ENOMEM;
	}
	for (fam = 0; fam < MODEL_FAMILIES; fam++) {
		size_t n = 0, distinct = 0;

		for (i = base; i < base + sb->n_sets; i++) {
			const struct model_set *ms = &st->sets[i];

			if (ms->set != SVCD_SET_LOCAL || ms->family != fam)
				continue;
			for (j = 0; j < ms->n_backends; j++)
				if (!(ms->backends[j].flags &
				      SVCD_BE_TERMINATING))
					addrs[n++] = ms->backends[j].addr6;
		}
		if (n)
			qsort(addrs, n, sizeof(*addrs), addr_cmp);
		for (i = 0; i < n; i++)
			if (!i || addr_cmp(&addrs[i], &addrs[i - 1]))
				distinct++;
		if (distinct > best)
			best = distinct;
	}
	free(addrs);
	hc = array_add((void **)&st->healthchecks, &st->n_healthchecks,
		       &sb->b->cap_healthchecks, sizeof(*hc));
	if (!hc)
		return -ENOMEM;
	memcpy(hc->name, s->name, sizeof(hc->name));
	hc->port = s->hc_node_port;
	hc->local_endpoints = (uint32_t)best;
	return 0;
}

static int commit_service(struct svc_build *sb)
{
	struct build *b = sb->b;
	struct model_state *st = &b->state;
	size_t base = st->n_sets, i;
	void *p;

	for (i = 0; i < sb->n_sets; i++) {
		p = array_add((void **)&st->sets, &st->n_sets, &b->cap_sets,
			      sizeof(*st->sets));
		if (!p)
			return -ENOMEM;
		memcpy(p, &sb->sets[i], sizeof(sb->sets[i]));
		sb->sets[i].backends = NULL; /* owned by the state now */
	}
	for (i = 0; i < sb->n_fes; i++) {
		struct model_frontend *fe;

		fe = array_add((void **)&st->frontends, &st->n_frontends,
			       &b->cap_frontends, sizeof(*fe));
		if (!fe)
			return -ENOMEM;
		*fe = sb->fes[i];
		fe->set_index += base;
	}
	return commit_lb_extras(sb, base);
}

static int build_service(struct build *b, size_t idx)
{
	struct svc_build sb = {
		.b = b,
		.s = &b->svcs[idx],
		.owner = idx + 1,
	};
	size_t i;
	int ret = 0;

	for (i = 0; i < sb.s->n_ports && !ret && !sb.lost; i++) {
		sb.port = &sb.s->ports[i];
		ret = build_port(&sb);
	}
	if (sb.lost)
		sb.s->state = SVC_LOST; /* its keys are free again */
	else if (!ret)
		ret = commit_service(&sb);
	for (i = 0; i < sb.n_sets; i++)
		free(sb.sets[i].backends);
	free(sb.sets);
	free(sb.fes);
	return ret;
}

static int set_cmp(const void *pa, const void *pb)
{
	const struct model_set *a = pa, *b = pb;
	int c;

	c = strcmp(a->name, b->name);
	if (!c)
		c = strcmp(a->port_name, b->port_name);
	if (!c)
		c = (int)a->proto - (int)b->proto;
	if (!c)
		c = (int)a->set - (int)b->set;
	if (!c)
		c = (int)a->family - (int)b->family;
	return c;
}

static int index_cmp(const void *pa, const void *pb, void *arg)
{
	const struct model_set *sets = arg;

	return set_cmp(&sets[*(const size_t *)pa], &sets[*(const size_t *)pb]);
}

/* Sets in (name, port_name, proto, set, family) order; frontends follow. */
static int sort_sets(struct model_state *st)
{
	size_t n = st->n_sets, i, *order, *where;
	struct model_set *sorted;

	if (!n)
		return 0;
	order = calloc(n, sizeof(*order));
	where = calloc(n, sizeof(*where));
	sorted = calloc(n, sizeof(*sorted));
	if (!order || !where || !sorted) {
		free(order);
		free(where);
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), index_cmp, st->sets);
	for (i = 0; i < n; i++) {
		sorted[i] = st->sets[order[i]];
		where[order[i]] = i;
	}
	for (i = 0; i < st->n_frontends; i++)
		st->frontends[i].set_index = where[st->frontends[i].set_index];
	free(st->sets);
	st->sets = sorted;
	free(order);
	free(where);
	return 0;
}

/* ---- entry points ------------------------------------------------------ */

/* The items of a List (kind "List" or "<Kind>List") or of an array. */
static int doc_items(const cJSON *doc, const cJSON **items)
{
	const char *kind;
	size_t len;

	*items = NULL;
	if (cJSON_IsArray(doc)) {
		*items = doc;
		return 0;
	}
	if (get_string(doc, "kind", &kind) || !kind)
		return -EINVAL;
	len = strlen(kind);
	if (len < 4 || strcmp(kind + len - 4, "List"))
		return -EINVAL;
	*items = field(doc, "items");
	if (absent(*items)) {
		*items = NULL; /* an empty List */
		return 0;
	}
	return cJSON_IsArray(*items) ? 0 : -EINVAL;
}

static void build_free(struct build *b)
{
	size_t i;

	for (i = 0; i < b->n_svcs; i++)
		svc_release(&b->svcs[i]);
	for (i = 0; i < b->n_slices; i++)
		slice_release(&b->slices[i]);
	free(b->svcs);
	free(b->slices);
	free(b->items);
	free(b->table.keys);
	free(b->table.owners);
	while (b->strs) {
		struct str_chunk *next = b->strs->next;

		free(b->strs);
		b->strs = next;
	}
}

/* Pass 3 of a whole build, once every object is parsed: link, build,
 * sort. Fills *out or frees what was built; frees b's working state. */
static int build_finish(struct build *b, int ret, struct model_state *out)
{
	const struct model_config *cfg = b->cfg;
	size_t i;

	if (!ret)
		ret = link_slices(b);
	for (i = 0; i < b->n_svcs && !ret; i++) {
		struct svc *s = &b->svcs[i];

		if (s->state != SVC_OK)
			continue;
		if (s->n_slices)
			qsort_r(s->slices, s->n_slices, sizeof(*s->slices),
				slice_index_cmp, b->slices);
		ret = build_service(b, i);
	}
	if (!ret)
		ret = sort_sets(&b->state);
	for (i = 0; i < b->n_svcs && !ret; i++)
		b->state.n_lost += b->svcs[i].state == SVC_LOST;
	for (i = 0; i < MODEL_FAMILIES && !ret && !cfg->no_nodeport_summary;
	     i++)
		if (b->np_skipped[i])
			report(b,
			       "NodePorts: the node has no %s address; %s NodePorts of %zu Service(s) (%s%s) not served",
			       fam_name((int)i), fam_name((int)i),
			       b->np_skipped[i], b->np_first[i],
			       b->np_skipped[i] > 1 ? ", ..." : "");
	if (ret)
		model_state_free(&b->state);
	else
		*out = b->state;
	build_free(b);
	return ret;
}

int model_build(const cJSON *doc, const struct model_config *cfg,
		model_error_fn err, void *err_ctx, struct model_state *out)
{
	struct build b = {
		.cfg = cfg,
		.err = err,
		.err_ctx = err_ctx,
		.node_zone = cfg ? cfg->node_zone : NULL,
	};
	const cJSON *items;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	if (doc_items(doc, &items)) {
		report(&b,
		       "document is neither a List nor an array of objects");
		return -EINVAL;
	}
	ret = name_items(&b, items);
	if (!ret)
		ret = parse_items(&b);
	return build_finish(&b, ret, out);
}

int model_build_source(const struct model_source *src,
		       const struct model_config *cfg, model_error_fn err,
		       void *err_ctx, struct model_state *out)
{
	struct build b = {
		.cfg = cfg,
		.err = err,
		.err_ctx = err_ctx,
		.node_zone = cfg ? cfg->node_zone : NULL,
		.transient = true,
	};
	struct item it;
	size_t i;
	int ret = 0;

	if (!src || !src->get || !cfg || !out)
		return -EINVAL;
	/* One object at a time: named, parsed into the build's own
	 * structures (strings copied), and let go by the next get(). No
	 * duplicates to look for: the source has none. */
	for (i = 0; i < src->n && !ret; i++) {
		memset(&it, 0, sizeof(it));
		it.index = i;
		it.obj = src->get(src->ctx, i);
		if (!it.obj) {
			ret = -ENOMEM;
			break;
		}
		name_item(&b, &it);
		if (it.kind == KIND_SERVICE)
			ret = add_service(&b, &it);
		else if (it.kind == KIND_SLICE)
			ret = add_slice(&b, &it);
	}
	return build_finish(&b, ret, out);
}

/* The parse lives only inside model_build_text(): in an arena (arena.h),
 * unmapped whole, rather than millions of blocks to free one by one. */
int model_build_text(const char *text, size_t len,
		     const struct model_config *cfg, model_error_fn err,
		     void *err_ctx, struct model_state *out)
{
	struct build b = { .err = err, .err_ctx = err_ctx };
	const char *end = NULL, *p;
	size_t pos, line = 1, col = 1;
	struct arena *arena = arena_new();
	cJSON *doc;
	int ret;

	if (!arena)
		return -ENOMEM;
	arena_use(arena);
	doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (doc && end) {
		/* trailing bytes other than blanks are an error too */
		for (p = end; p < text + len; p++)
			if (*p != ' ' && *p != '\t' && *p != '\n' &&
			    *p != '\r' && *p != '\0')
				break;
		if (p < text + len) {
			cJSON_Delete(doc);
			doc = NULL;
			end = p;
		}
	}
	if (!doc) {
		pos = end && end >= text && end <= text + len ?
			      (size_t)(end - text) :
			      0;
		for (p = text; p && p < text + pos; p++) {
			col++;
			if (*p == '\n') {
				line++;
				col = 1;
			}
		}
		report(&b,
		       "JSON parse error at byte %zu (line %zu, column %zu)",
		       pos, line, col);
		arena_free(arena);
		return -EINVAL;
	}
	ret = model_build(doc, cfg, err, err_ctx, out);
	arena_free(arena); /* doc with it: cJSON_Delete() would only walk it */
	return ret;
}

void model_state_free(struct model_state *state)
{
	size_t i;

	if (!state)
		return;
	for (i = 0; i < state->n_sets; i++)
		free(state->sets[i].backends);
	free(state->sets);
	free(state->frontends);
	free(state->src_ranges);
	free(state->healthchecks);
	memset(state, 0, sizeof(*state));
}

size_t model_state_drop_family(struct model_state *state, int family)
{
	size_t i, n = 0, dropped, *where;

	if (!state)
		return 0;
	/* no sets (so no frontends) may still leave source ranges to drop */
	where = state->n_sets ? calloc(state->n_sets, sizeof(*where)) : NULL;
	if (state->n_sets && !where)
		return 0; /* nothing dropped: the writer reports the rest */
	for (i = 0; i < state->n_sets; i++) {
		if (state->sets[i].family == family) {
			free(state->sets[i].backends);
			continue;
		}
		where[i] = n;
		state->sets[n++] = state->sets[i];
	}
	state->n_sets = n;
	for (i = 0, n = 0; i < state->n_frontends; i++) {
		if (state->frontends[i].family == family)
			continue;
		state->frontends[n] = state->frontends[i];
		state->frontends[n].set_index =
			where[state->frontends[i].set_index];
		n++;
	}
	dropped = state->n_frontends - n;
	state->n_frontends = n;
	for (i = 0, n = 0; i < state->n_src_ranges; i++)
		if (state->src_ranges[i].family != family)
			state->src_ranges[n++] = state->src_ranges[i];
	state->n_src_ranges = n;
	free(where);
	return dropped;
}

/* ---- incremental builds (model_inc) ------------------------------------ */

/* One Service of the whole state: its frontend keys, healthCheckNodePort
 * and whether it has source ranges. */
struct inc_svc {
	char name[SVCD_NAME_LEN];
	struct fe_tkey *keys;
	size_t n_keys;
	size_t n_fam[MODEL_FAMILIES];
	bool ranges;
	bool has_hc;
	struct model_healthcheck hc;
	struct inc_svc *next; /* in its name bucket */
};

/* A frontend key of the whole state and its Service. */
struct inc_key {
	struct fe_tkey key;
	struct inc_svc *owner;
	struct inc_key *next;
};

struct model_inc {
	bool seeded;
	/* the model_config of the seed: another one needs a whole build */
	struct model_config cfg;
	char zone[64];
	__be32 *addrs;
	union svcd_ip6 *addrs6;
	char node_name[256];
	struct inc_svc **svcs; /* by name hash */
	size_t n_svc_buckets, n_svcs;
	struct inc_key **keys; /* by key hash */
	size_t n_key_buckets, n_keys;
	size_t n_fam[MODEL_FAMILIES];
	size_t n_hc;	 /* Services with a healthCheckNodePort */
	bool hc_changed; /* by an update, since model_inc_take_hc_changed */
};

static size_t str_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return (size_t)mix64(h);
}

static void inc_clear(struct model_inc *mi)
{
	struct inc_svc *sv, *sn;
	struct inc_key *k, *kn;
	size_t i;

	for (i = 0; i < mi->n_svc_buckets; i++)
		for (sv = mi->svcs[i]; sv; sv = sn) {
			sn = sv->next;
			free(sv->keys);
			free(sv);
		}
	for (i = 0; i < mi->n_key_buckets; i++)
		for (k = mi->keys[i]; k; k = kn) {
			kn = k->next;
			free(k);
		}
	free(mi->svcs);
	free(mi->keys);
	free(mi->addrs);
	free(mi->addrs6);
	mi->svcs = NULL;
	mi->keys = NULL;
	mi->addrs = NULL;
	mi->addrs6 = NULL;
	mi->n_svc_buckets = mi->n_svcs = mi->n_key_buckets = mi->n_keys = 0;
	memset(mi->n_fam, 0, sizeof(mi->n_fam));
	mi->n_hc = 0;
	mi->seeded = false;
}

struct model_inc *model_inc_new(void)
{
	return calloc(1, sizeof(struct model_inc));
}

void model_inc_free(struct model_inc *mi)
{
	if (!mi)
		return;
	inc_clear(mi);
	free(mi);
}

void model_inc_reset(struct model_inc *mi)
{
	inc_clear(mi);
}

static struct inc_svc *inc_svc_find(const struct model_inc *mi,
				    const char *name)
{
	struct inc_svc *sv;

	if (!mi->n_svc_buckets)
		return NULL;
	for (sv = mi->svcs[str_hash(name) & (mi->n_svc_buckets - 1)]; sv;
	     sv = sv->next)
		if (!strcmp(sv->name, name))
			return sv;
	return NULL;
}

static struct inc_key **inc_key_slot(const struct model_inc *mi,
				     const struct fe_tkey *key)
{
	struct inc_key **pp;

	for (pp = &mi->keys[fe_hash(key) & (mi->n_key_buckets - 1)]; *pp;
	     pp = &(*pp)->next)
		if (!memcmp(&(*pp)->key, key, sizeof(*key)))
			return pp;
	return pp;
}

/* Grow a chained table of power-of-two buckets to hold n + 1 entries
 * at a load of at most one. */
static int inc_grow_svcs(struct model_inc *mi)
{
	struct inc_svc **b, *sv, *next;
	size_t nb, i, h;

	if (mi->n_svcs < mi->n_svc_buckets)
		return 0;
	nb = mi->n_svc_buckets ? 2 * mi->n_svc_buckets : 1024;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < mi->n_svc_buckets; i++)
		for (sv = mi->svcs[i]; sv; sv = next) {
			next = sv->next;
			h = str_hash(sv->name) & (nb - 1);
			sv->next = b[h];
			b[h] = sv;
		}
	free(mi->svcs);
	mi->svcs = b;
	mi->n_svc_buckets = nb;
	return 0;
}

static int inc_grow_keys(struct model_inc *mi, size_t more)
{
	struct inc_key **b, *k, *next;
	size_t nb, i, h;

	if (mi->n_keys + more <= mi->n_key_buckets)
		return 0;
	nb = mi->n_key_buckets ? mi->n_key_buckets : 1024;
	while (nb < mi->n_keys + more)
		nb *= 2;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < mi->n_key_buckets; i++)
		for (k = mi->keys[i]; k; k = next) {
			next = k->next;
			h = fe_hash(&k->key) & (nb - 1);
			k->next = b[h];
			b[h] = k;
		}
	free(mi->keys);
	mi->keys = b;
	mi->n_key_buckets = nb;
	return 0;
}

static void tkey_of(struct fe_tkey *t, const struct model_frontend *fe)
{
	memset(t, 0, sizeof(*t));
	t->fam = fe->family;
	if (fe->family == MODEL_IPV6)
		t->k = fe->key6;
	else
		memcpy(&t->k, &fe->key, sizeof(fe->key));
}

/* Take sv's keys out of the key table and its counts out of the whole. */
static void inc_unlink(struct model_inc *mi, struct inc_svc *sv)
{
	struct inc_key **pp, *k;
	size_t i;

	for (i = 0; i < sv->n_keys; i++) {
		pp = inc_key_slot(mi, &sv->keys[i]);
		k = *pp;
		if (k && k->owner == sv) {
			*pp = k->next;
			free(k);
			mi->n_keys--;
		}
	}
	for (i = 0; i < MODEL_FAMILIES; i++)
		mi->n_fam[i] -= sv->n_fam[i];
	mi->n_hc -= sv->has_hc;
}

/* Put sv's keys into the key table (they are free: checked before). */
static int inc_link(struct model_inc *mi, struct inc_svc *sv)
{
	struct inc_key **pp, *k;
	size_t i;

	if (inc_grow_keys(mi, sv->n_keys))
		return -ENOMEM;
	for (i = 0; i < sv->n_keys; i++) {
		pp = inc_key_slot(mi, &sv->keys[i]);
		if (*pp)
			continue; /* the same key twice in one Service */
		k = calloc(1, sizeof(*k));
		if (!k)
			return -ENOMEM;
		k->key = sv->keys[i];
		k->owner = sv;
		*pp = k;
		mi->n_keys++;
	}
	for (i = 0; i < MODEL_FAMILIES; i++)
		mi->n_fam[i] += sv->n_fam[i];
	mi->n_hc += sv->has_hc;
	return 0;
}

static void inc_svc_drop(struct model_inc *mi, struct inc_svc *sv)
{
	struct inc_svc **pp;

	inc_unlink(mi, sv);
	for (pp = &mi->svcs[str_hash(sv->name) & (mi->n_svc_buckets - 1)];
	     *pp != sv; pp = &(*pp)->next)
		;
	*pp = sv->next;
	mi->n_svcs--;
	free(sv->keys);
	free(sv);
}

static int inc_svc_insert(struct model_inc *mi, struct inc_svc *sv)
{
	size_t h;

	if (inc_grow_svcs(mi))
		return -ENOMEM;
	h = str_hash(sv->name) & (mi->n_svc_buckets - 1);
	sv->next = mi->svcs[h];
	mi->svcs[h] = sv;
	mi->n_svcs++;
	return 0;
}

/* The Service entry of name made from the part of st named so (sets
 * name == name), unlinked. NULL with *err 0 when st holds none of it. */
static struct inc_svc *inc_svc_make(const struct model_state *st,
				    const char *name, int *err)
{
	struct inc_svc *sv;
	size_t i, n = 0;

	*err = 0;
	for (i = 0; i < st->n_frontends; i++)
		n += !strcmp(st->sets[st->frontends[i].set_index].name, name);
	for (i = 0; i < st->n_healthchecks; i++)
		n += !strcmp(st->healthchecks[i].name, name);
	if (!n)
		return NULL;
	sv = calloc(1, sizeof(*sv));
	if (sv)
		sv->keys = calloc(n, sizeof(*sv->keys));
	if (!sv || !sv->keys) {
		free(sv);
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	for (i = 0; i < st->n_frontends; i++) {
		const struct model_frontend *fe = &st->frontends[i];

		if (strcmp(st->sets[fe->set_index].name, name))
			continue;
		tkey_of(&sv->keys[sv->n_keys++], fe);
		sv->n_fam[fe->family == MODEL_IPV6]++;
		if (fe->flags & SVCD_FE_SRC_RANGES)
			sv->ranges = true;
	}
	for (i = 0; i < st->n_healthchecks; i++)
		if (!strcmp(st->healthchecks[i].name, name)) {
			sv->has_hc = true;
			sv->hc = st->healthchecks[i];
		}
	return sv;
}

static bool cfg_same(const struct model_inc *mi, const struct model_config *c)
{
	const struct model_config *m = &mi->cfg;

	return !strcmp(mi->node_name, c->node_name ? c->node_name : "") &&
	       !strcmp(mi->zone, c->node_zone ? c->node_zone : "") &&
	       m->n_node_addrs == c->n_node_addrs &&
	       m->n_node_addrs6 == c->n_node_addrs6 &&
	       (!c->n_node_addrs ||
		!memcmp(mi->addrs, c->node_addrs,
			c->n_node_addrs * sizeof(*c->node_addrs))) &&
	       (!c->n_node_addrs6 ||
		!memcmp(mi->addrs6, c->node_addrs6,
			c->n_node_addrs6 * sizeof(*c->node_addrs6))) &&
	       m->quiet_orphan_slices == c->quiet_orphan_slices &&
	       m->cluster_ips_from_outside == c->cluster_ips_from_outside &&
	       m->cluster_ips_from_outside6 == c->cluster_ips_from_outside6;
}

int model_inc_seed(struct model_inc *mi, const struct model_state *st,
		   const struct model_config *cfg)
{
	struct inc_svc *sv;
	size_t i, j, n_fe_done = 0;
	int err = 0;

	inc_clear(mi);
	if (st->n_lost)
		return 0; /* not seeded: whole builds until that is over */
	mi->cfg = *cfg;
	snprintf(mi->node_name, sizeof(mi->node_name), "%s",
		 cfg->node_name ? cfg->node_name : "");
	snprintf(mi->zone, sizeof(mi->zone), "%s",
		 cfg->node_zone ? cfg->node_zone : "");
	if (cfg->n_node_addrs) {
		mi->addrs = calloc(cfg->n_node_addrs, sizeof(*mi->addrs));
		if (!mi->addrs)
			goto nomem;
		memcpy(mi->addrs, cfg->node_addrs,
		       cfg->n_node_addrs * sizeof(*mi->addrs));
	}
	if (cfg->n_node_addrs6) {
		mi->addrs6 = calloc(cfg->n_node_addrs6, sizeof(*mi->addrs6));
		if (!mi->addrs6)
			goto nomem;
		memcpy(mi->addrs6, cfg->node_addrs6,
		       cfg->n_node_addrs6 * sizeof(*mi->addrs6));
	}
	if (inc_grow_keys(mi, st->n_frontends + 1) || inc_grow_svcs(mi))
		goto nomem;
	/* The sets are in name order: one Service's are together, and so
	 * are its frontends once grouped by set. Index frontends by set. */
	{
		size_t *first = calloc(st->n_sets + 1, sizeof(*first));
		size_t *next = calloc(st->n_frontends + 1, sizeof(*next));

		if (!first || !next) {
			free(first);
			free(next);
			goto nomem;
		}
		for (i = st->n_frontends; i-- > 0;) {
			next[i] = first[st->frontends[i].set_index];
			first[st->frontends[i].set_index] = i + 1;
		}
		for (i = 0; i < st->n_sets && !err; i = j) {
			for (j = i + 1;
			     j < st->n_sets &&
			     !strcmp(st->sets[j].name, st->sets[i].name);
			     j++)
				;
			sv = calloc(1, sizeof(*sv));
			if (!sv) {
				err = -ENOMEM;
				break;
			}
			snprintf(sv->name, sizeof(sv->name), "%s",
				 st->sets[i].name);
			{
				size_t k, f, n = 0;

				for (k = i; k < j; k++)
					for (f = first[k]; f; f = next[f - 1])
						n++;
				sv->keys = calloc(n ? n : 1, sizeof(*sv->keys));
				if (!sv->keys) {
					free(sv);
					err = -ENOMEM;
					break;
				}
				for (k = i; k < j; k++)
					for (f = first[k]; f; f = next[f - 1]) {
						const struct model_frontend *fe =
							&st->frontends[f - 1];

						tkey_of(&sv->keys[sv->n_keys++],
							fe);
						sv->n_fam[fe->family ==
							  MODEL_IPV6]++;
						if (fe->flags &
						    SVCD_FE_SRC_RANGES)
							sv->ranges = true;
					}
				n_fe_done += n;
			}
			err = inc_svc_insert(mi, sv);
			if (err) {
				free(sv->keys);
				free(sv);
				break;
			}
			err = inc_link(mi, sv);
		}
		free(first);
		free(next);
		if (err)
			goto nomem;
	}
	for (i = 0; i < st->n_healthchecks; i++) {
		sv = inc_svc_find(mi, st->healthchecks[i].name);
		if (!sv) {
			/* a healthCheckNodePort without frontends */
			sv = calloc(1, sizeof(*sv));
			if (!sv || inc_svc_insert(mi, sv)) {
				free(sv);
				goto nomem;
			}
			memcpy(sv->name, st->healthchecks[i].name,
			       sizeof(sv->name));
		}
		if (!sv->has_hc)
			mi->n_hc++;
		sv->has_hc = true;
		sv->hc = st->healthchecks[i];
	}
	(void)n_fe_done;
	mi->seeded = true;
	return 0;
nomem:
	inc_clear(mi);
	return -ENOMEM;
}

/* Append the part of sub (one Service's build) to out. */
static int inc_append(struct model_state *out, struct model_state *sub)
{
	size_t base = out->n_sets, i;
	void *p;

	if (sub->n_sets) {
		p = realloc(out->sets,
			    (out->n_sets + sub->n_sets) * sizeof(*out->sets));
		if (!p)
			return -ENOMEM;
		out->sets = p;
	}
	if (sub->n_frontends) {
		p = realloc(out->frontends,
			    (out->n_frontends + sub->n_frontends) *
				    sizeof(*out->frontends));
		if (!p)
			return -ENOMEM;
		out->frontends = p;
	}
	if (sub->n_healthchecks) {
		p = realloc(out->healthchecks,
			    (out->n_healthchecks + sub->n_healthchecks) *
				    sizeof(*out->healthchecks));
		if (!p)
			return -ENOMEM;
		out->healthchecks = p;
	}
	for (i = 0; i < sub->n_sets; i++) {
		out->sets[out->n_sets++] = sub->sets[i];
		sub->sets[i].backends = NULL; /* out's now */
	}
	for (i = 0; i < sub->n_frontends; i++) {
		out->frontends[out->n_frontends] = sub->frontends[i];
		out->frontends[out->n_frontends++].set_index += base;
	}
	for (i = 0; i < sub->n_healthchecks; i++)
		out->healthchecks[out->n_healthchecks++] = sub->healthchecks[i];
	return 0;
}

int model_inc_update(struct model_inc *mi, const char *name, const cJSON *objs,
		     const struct model_config *cfg, model_error_fn err,
		     void *err_ctx, struct model_state *out)
{
	struct model_config sub_cfg;
	struct model_state sub = { 0 };
	struct inc_svc *old, *sv = NULL;
	struct inc_key **pp;
	size_t i;
	int ret;

	if (!mi->seeded || !cfg_same(mi, cfg))
		return -EAGAIN;
	old = inc_svc_find(mi, name);
	if (old && old->ranges)
		return -EAGAIN;
	sub_cfg = *cfg;
	sub_cfg.no_nodeport_summary = true;
	ret = model_build(objs, &sub_cfg, err, err_ctx, &sub);
	if (ret == -EINVAL)
		return -EAGAIN; /* not an array: the whole build says why */
	if (ret)
		goto nomem;
	/* Only its own objects: anything of another name is the whole
	 * build's business (a slice labelled for another Service). */
	for (i = 0; i < sub.n_sets; i++)
		if (strcmp(sub.sets[i].name, name)) {
			ret = -EAGAIN;
			goto out;
		}
	if (sub.n_src_ranges || sub.n_lost) {
		ret = -EAGAIN;
		goto out;
	}
	sv = inc_svc_make(&sub, name, &ret);
	if (ret)
		goto nomem;
	/* Each key free or its own: else who wins is the whole build's. */
	for (i = 0; sv && i < sv->n_keys; i++) {
		pp = inc_key_slot(mi, &sv->keys[i]);
		if (*pp && (*pp)->owner != old) {
			ret = -EAGAIN;
			goto out;
		}
	}
	ret = inc_append(out, &sub);
	if (ret)
		goto nomem;
	if ((old && old->has_hc) || (sv && sv->has_hc))
		mi->hc_changed = true;
	if (old)
		inc_svc_drop(mi, old);
	if (sv) {
		ret = inc_svc_insert(mi, sv);
		if (ret)
			goto nomem;
		sv = NULL; /* the table's now */
		ret = inc_link(mi, inc_svc_find(mi, name));
		if (ret)
			goto nomem;
	}
out:
	if (sv) {
		free(sv->keys);
		free(sv);
	}
	model_state_free(&sub);
	return ret;
nomem:
	inc_clear(mi);
	if (sv) {
		free(sv->keys);
		free(sv);
	}
	model_state_free(&sub);
	return -ENOMEM;
}

bool model_inc_take_hc_changed(struct model_inc *mi)
{
	bool changed = mi->hc_changed;

	mi->hc_changed = false;
	return changed;
}

size_t model_inc_frontends(const struct model_inc *mi, int fam)
{
	return fam >= 0 && fam < MODEL_FAMILIES ? mi->n_fam[fam] : 0;
}

static int hc_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_healthcheck *)a)->name,
		      ((const struct model_healthcheck *)b)->name);
}

int model_inc_healthchecks(const struct model_inc *mi, struct model_state *out)
{
	const struct inc_svc *sv;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!mi->n_hc)
		return 0;
	out->healthchecks = calloc(mi->n_hc, sizeof(*out->healthchecks));
	if (!out->healthchecks)
		return -ENOMEM;
	for (i = 0; i < mi->n_svc_buckets; i++)
		for (sv = mi->svcs[i]; sv; sv = sv->next)
			if (sv->has_hc && out->n_healthchecks < mi->n_hc)
				out->healthchecks[out->n_healthchecks++] =
					sv->hc;
	qsort(out->healthchecks, out->n_healthchecks,
	      sizeof(*out->healthchecks), hc_name_cmp);
	return 0;
}
