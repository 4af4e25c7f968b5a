// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_model.c - the state model against kube-proxy's semantics
 * (docs/design.md "Semantics"), one subtest per rule.
 *
 * Inputs are written as JSON with single quotes, which fx_build() turns
 * into double quotes, and joined into one List.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>

#include "lib/k8s/store.h"
#include "lib/model.h"
#include "runner.h"

#define MAX_ERRS 16

struct fx {
	struct model_state st;
	char errs[MAX_ERRS][512];
	int n_errs;
	int ret;
};

/* Node facts of every test unless it says otherwise. */
#define NODE "node-a"
#define ZONE "zone-a"

#define SVC_META(ns, name, extra)                                         \
	"'apiVersion':'v1','kind':'Service','metadata':{'namespace':'" ns \
	"','name':'" name "'" extra "}"
/* A Service; spec is the inside of "spec". */
#define SVC(ns, name, spec) "{" SVC_META(ns, name, "") ",'spec':{" spec "}}"
/* A Service with metadata extras (",'labels':{...}") and a status. */
#define SVC_X(ns, name, meta, spec, status) \
	"{" SVC_META(ns, name, meta) ",'spec':{" spec "},'status':{" status "}}"

#define SLICE_META(ns, name, labels)                                           \
	"'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice',"           \
	"'metadata':{'namespace':'" ns "','name':'" name "','labels':{" labels \
	"}}"
/* An EndpointSlice with these labels and addressType. */
#define SLICE_X(ns, name, labels, type, body) \
	"{" SLICE_META(ns, name, labels) ",'addressType':'" type "'," body "}"
#define SVC_LABEL(svc) "'kubernetes.io/service-name':'" svc "'"
/* A JSON array of up to 6 endpoints, one macro argument each. */
#define EPS(...)                                             \
	"[" EPS_N(__VA_ARGS__, EPS6, EPS5, EPS4, EPS3, EPS2, \
		  EPS1)(__VA_ARGS__) "]"
#define EPS_N(_1, _2, _3, _4, _5, _6, N, ...) N
#define EPS1(a) a
#define EPS2(a, b) a "," b
#define EPS3(a, b, c) a "," EPS2(b, c)
#define EPS4(a, b, c, d) a "," EPS3(b, c, d)
#define EPS5(a, b, c, d, e) a "," EPS4(b, c, d, e)
#define EPS6(a, b, c, d, e, f) a "," EPS5(b, c, d, e, f)
/* An IPv4 EndpointSlice of Service svc: its ports ("'ports':[...]"),
 * then its endpoints (none, or up to 6). */
#define SLICE(ns, name, svc, ports, ...)          \
	SLICE_X(ns, name, SVC_LABEL(svc), "IPv4", \
		ports ",'endpoints':" EPS(__VA_ARGS__))
/* An endpoint without conditions, and one with. */
#define EP(addr, node) "{'addresses':['" addr "'],'nodeName':'" node "'}"
#define EPC(addr, node, cond)                                                 \
	"{'addresses':['" addr "'],'nodeName':'" node "','conditions':{" cond \
	"}}"

#define PROXY_LABEL "'service.kubernetes.io/service-proxy-name':'other'"
#define HEADLESS_LABEL "'service.kubernetes.io/headless':''"
#define FQDN_EP "{'addresses':['db.example.com']}"

/* Conditions of a terminating endpoint that still serves. */
#define TERM "'ready':false,'serving':true,'terminating':true"

#define PORT_HTTP "'ports':[{'name':'http','port':80,'protocol':'TCP'}]"
#define SPORT_HTTP "'ports':[{'name':'http','port':8080,'protocol':'TCP'}]"

static void fx_err(void *ctx, const char *line)
{
	struct fx *f = ctx;

	test__log("  model: %s\n", line);
	if (f->n_errs < MAX_ERRS)
		snprintf(f->errs[f->n_errs], sizeof(f->errs[0]), "%s", line);
	f->n_errs++;
}

static __be32 ip(const char *s)
{
	__be32 a = 0;

	if (inet_pton(AF_INET, s, &a) != 1)
		test__fail(__FILE__, __LINE__, "bad test address %s", s);
	return a;
}

static struct model_config node_cfg(__be32 *addrs)
{
	addrs[0] = ip("198.19.0.1");
	addrs[1] = ip("198.19.0.2");
	return (struct model_config){
		.node_name = NODE,
		.node_zone = ZONE,
		.node_addrs = addrs,
		.n_node_addrs = 2,
	};
}

static union svcd_ip6 ip6(const char *s)
{
	union svcd_ip6 a = { 0 };

	if (inet_pton(AF_INET6, s, &a) != 1)
		test__fail(__FILE__, __LINE__, "bad test address %s", s);
	return a;
}

static bool same_fe(const struct model_frontend *a,
		    const struct model_frontend *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == MODEL_IPV6)
		return !memcmp(&a->key6, &b->key6, sizeof(a->key6));
	return !memcmp(&a->key, &b->key, sizeof(a->key));
}

/* Every output must hold these, whatever the input. */
static void check_state(const struct model_state *st)
{
	size_t i, j;

	for (i = 0; i < st->n_frontends; i++) {
		const struct model_frontend *fe = &st->frontends[i];

		ASSERT_LT(fe->set_index, st->n_sets, "set_index");
		if (fe->set_index < st->n_sets)
			ASSERT_EQ(fe->family, st->sets[fe->set_index].family,
				  "frontend of its set's family");
		for (j = i + 1; j < st->n_frontends; j++)
			if (same_fe(fe, &st->frontends[j]))
				ASSERT_TRUE(false, "frontend keys unique");
	}
	for (i = 0; i < st->n_src_ranges; i++)
		ASSERT_LE(st->src_ranges[i].len,
			  st->src_ranges[i].family == MODEL_IPV6 ? 128 : 32,
			  "range length fits its family");
	for (i = 0; i < st->n_sets; i++) {
		const struct model_set *s = &st->sets[i];

		if (i) {
			const struct model_set *p = &st->sets[i - 1];
			int c = strcmp(p->name, s->name);

			if (!c)
				c = strcmp(p->port_name, s->port_name);
			if (!c)
				c = p->proto - s->proto;
			if (!c)
				c = p->set - s->set;
			if (!c)
				c = p->family - s->family;
			ASSERT_LT(c, 0, "sets sorted and unique");
		}
		for (j = 0; j < s->n_backends; j++) {
			int c;

			ASSERT_GE(s->backends[j].weight, 1, "weight >= 1");
			if (s->family == MODEL_IPV4)
				ASSERT_TRUE(
					!s->backends[j].addr6.w[1] &&
						!s->backends[j].addr6.w[2] &&
						!s->backends[j].addr6.w[3],
					"IPv4 backend: zeros after it");
			if (!j)
				continue;
			c = memcmp(&s->backends[j - 1].addr6,
				   &s->backends[j].addr6,
				   sizeof(s->backends[j].addr6));
			ASSERT_TRUE(
				c < 0 || (!c &&
					  ntohs(s->backends[j - 1].port) <
						  ntohs(s->backends[j].port)),
				"backends sorted by (addr, port)");
		}
	}
}

static void fx_quiet(void *ctx, const char *line)
{
	struct fx *f = ctx;

	if (f->n_errs < MAX_ERRS)
		snprintf(f->errs[f->n_errs], sizeof(f->errs[0]), "%s", line);
	f->n_errs++;
}

/* Everything a build gives, field by field. */
static bool same_whole_state(const struct model_state *a,
			     const struct model_state *b)
{
	size_t i;

	if (a->n_sets != b->n_sets || a->n_frontends != b->n_frontends ||
	    a->n_src_ranges != b->n_src_ranges ||
	    a->n_healthchecks != b->n_healthchecks || a->n_lost != b->n_lost)
		return false;
	for (i = 0; i < a->n_sets; i++) {
		const struct model_set *x = &a->sets[i], *y = &b->sets[i];

		if (strcmp(x->name, y->name) ||
		    strcmp(x->port_name, y->port_name) ||
		    x->proto != y->proto || x->set != y->set ||
		    x->family != y->family ||
		    x->affinity_timeout != y->affinity_timeout ||
		    x->n_backends != y->n_backends ||
		    (x->n_backends &&
		     memcmp(x->backends, y->backends,
			    x->n_backends * sizeof(*x->backends))))
			return false;
	}
	for (i = 0; i < a->n_frontends; i++) {
		const struct model_frontend *x = &a->frontends[i],
					    *y = &b->frontends[i];

		if (x->family != y->family || x->flags != y->flags ||
		    x->set_index != y->set_index ||
		    (x->family == MODEL_IPV4 ?
			     memcmp(&x->key, &y->key, sizeof(x->key)) :
			     memcmp(&x->key6, &y->key6, sizeof(x->key6))))
			return false;
	}
	for (i = 0; i < a->n_src_ranges; i++)
		if (memcmp(&a->src_ranges[i], &b->src_ranges[i],
			   sizeof(a->src_ranges[i])))
			return false;
	for (i = 0; i < a->n_healthchecks; i++)
		if (memcmp(&a->healthchecks[i], &b->healthchecks[i],
			   sizeof(a->healthchecks[i])))
			return false;
	return true;
}

/*
 * What the API source keeps of each object (store_prune) builds what the
 * whole object builds, with the same problems reported: checked for every
 * fixture of this file.
 */
static void fx_check_pruned(const struct fx *f, const char *text,
			    const struct model_config *cfg)
{
	cJSON *doc = cJSON_Parse(text), *items, *it;
	struct fx p = {};
	int i;

	if (!doc)
		return; /* a test of malformed text */
	items = cJSON_IsArray(doc) ?
			doc :
			cJSON_GetObjectItemCaseSensitive(doc, "items");
	if (cJSON_IsArray(items))
		cJSON_ArrayForEach(it, items)
			store_prune(it,
				    cJSON_GetStringValue(
					    cJSON_GetObjectItemCaseSensitive(
						    it, "kind")),
				    NULL);
	p.ret = model_build(doc, cfg, fx_quiet, &p, &p.st);
	ASSERT_EQ(p.ret, f->ret, "pruned objects: same result");
	if (!p.ret && !f->ret)
		ASSERT_TRUE(same_whole_state(&f->st, &p.st),
			    "pruned objects: same state");
	ASSERT_EQ(p.n_errs, f->n_errs, "pruned objects: same problems");
	for (i = 0; i < p.n_errs && i < f->n_errs && i < MAX_ERRS; i++)
		ASSERT_STREQ(p.errs[i], f->errs[i],
			     "pruned objects: same problem");
	model_state_free(&p.st);
	cJSON_Delete(doc);
}

/* Builds a List of the NULL-terminated objects (single-quoted JSON). */
static int fx_build_cfg(struct fx *f, const struct model_config *cfg, ...)
{
	size_t len = 64, n = 0;
	const char *obj;
	char *text, *p;
	va_list ap;

	memset(f, 0, sizeof(*f));
	va_start(ap, cfg);
	while ((obj = va_arg(ap, const char *)))
		len += strlen(obj) + 1;
	va_end(ap);
	text = malloc(len);
	if (!ASSERT_OK_PTR(text, "malloc"))
		return -ENOMEM;
	p = text + sprintf(text, "{'kind':'List','apiVersion':'v1','items':[");
	va_start(ap, cfg);
	while ((obj = va_arg(ap, const char *)))
		p += sprintf(p, "%s%s", n++ ? "," : "", obj);
	va_end(ap);
	strcpy(p, "]}");
	for (p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	f->ret = model_build_text(text, strlen(text), cfg, fx_err, f, &f->st);
	fx_check_pruned(f, text, cfg);
	free(text);
	if (!f->ret)
		check_state(&f->st);
	return f->ret;
}

#define fx_build(f, ...)                                         \
	({                                                       \
		__be32 ___addrs[2];                              \
		struct model_config ___cfg = node_cfg(___addrs); \
		fx_build_cfg(f, &___cfg, __VA_ARGS__, NULL);     \
	})

static void fx_free(struct fx *f)
{
	model_state_free(&f->st);
}

static bool fx_has_err(const struct fx *f, const char *text)
{
	int i;

	for (i = 0; i < f->n_errs && i < MAX_ERRS; i++)
		if (strstr(f->errs[i], text))
			return true;
	return false;
}

/* The frontend addr:port/proto in scope; an address with ':' is IPv6. */
static const struct model_frontend *find_fe(const struct model_state *st,
					    const char *addr, uint16_t port,
					    uint8_t proto, uint8_t scope)
{
	struct model_frontend want = { 0 };
	size_t i;

	if (strchr(addr, ':')) {
		want.family = MODEL_IPV6;
		want.key6 = (struct svcd_frontend6_key){
			.addr = ip6(addr),
			.port = htons(port),
			.proto = proto,
			.scope = scope,
		};
	} else {
		want.key = (struct svcd_frontend_key){
			.addr = ip(addr),
			.port = htons(port),
			.proto = proto,
			.scope = scope,
		};
	}
	for (i = 0; i < st->n_frontends; i++)
		if (same_fe(&st->frontends[i], &want))
			return &st->frontends[i];
	return NULL;
}

/* What fe_set() gives for a missing frontend: matches no expectation. */
static const struct model_set missing_set = {
	.name = "(missing)",
	.port_name = "(missing)",
	.proto = 0xff,
	.set = 0xff,
	.affinity_timeout = 0xffffffff,
	.n_backends = 0xffff,
};

static const struct model_set *fe_set(const struct model_state *st,
				      const struct model_frontend *fe)
{
	return fe && fe->set_index < st->n_sets ? &st->sets[fe->set_index] :
						  &missing_set;
}

static unsigned int flags_of(const struct model_frontend *fe)
{
	return fe ? fe->flags : 0xffff;
}

static const struct model_set *find_set(const struct model_state *st,
					const char *name, const char *port,
					uint8_t proto, uint8_t set)
{
	size_t i;

	for (i = 0; i < st->n_sets; i++)
		if (!strcmp(st->sets[i].name, name) &&
		    !strcmp(st->sets[i].port_name, port) &&
		    st->sets[i].proto == proto && st->sets[i].set == set)
			return &st->sets[i];
	return NULL;
}

static size_t count_fes(const struct model_state *st, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_frontends; i++)
		if (!strcmp(st->sets[st->frontends[i].set_index].name, name))
			n++;
	return n;
}

/*
 * "ADDR:PORT/wWEIGHT[+local][+term]" for each backend, space-separated,
 * in the set's order.
 */
static const char *backends(const struct model_set *s, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN + 2];
	size_t i, off = 0;

	buf[0] = '\0';
	if (s == &missing_set)
		return "(missing)";
	for (i = 0; i < s->n_backends && off < len; i++) {
		const struct model_backend *b = &s->backends[i];

		if (s->family == MODEL_IPV6) {
			addr[0] = '[';
			inet_ntop(AF_INET6, &b->addr6, addr + 1,
				  sizeof(addr) - 2);
			strcat(addr, "]");
		} else {
			inet_ntop(AF_INET, &b->addr, addr, sizeof(addr));
		}
		off += snprintf(buf + off, len - off, "%s%s:%u/w%u%s%s",
				i ? " " : "", addr, ntohs(b->port), b->weight,
				b->flags & SVCD_BE_LOCAL ? "+local" : "",
				b->flags & SVCD_BE_TERMINATING ? "+term" : "");
	}
	return buf;
}

#define ASSERT_BACKENDS(set, want)                                        \
	({                                                                \
		char ___buf[1024];                                        \
		ASSERT_STREQ(backends(set, ___buf, sizeof(___buf)), want, \
			     "backends of " #set);                        \
	})

/* The cluster set behind the ClusterIP frontend addr:port/TCP. */
static const struct model_set *cip_set(const struct fx *f, const char *addr,
				       uint16_t port)
{
	return fe_set(&f->st, find_fe(&f->st, addr, port, IPPROTO_TCP,
				      SVCD_SCOPE_INTERNAL));
}

/* ---- which objects -------------------------------------------------- */

#define WEB_SVC SVC("default", "web", "'clusterIP':'198.19.96.10'," PORT_HTTP)
#define WEB_SLICE \
	SLICE("default", "web-1", "web", SPORT_HTTP, EP("198.18.1.2", NODE))

void test_model_skips(void)
{
	struct fx f;

	if (test__start_subtest("headless")) {
		fx_build(
			&f, WEB_SVC,
			SVC("default", "none", "'clusterIP':'None'," PORT_HTTP),
			SVC("default", "empty", "'clusterIP':''," PORT_HTTP),
			SVC("default", "missing", PORT_HTTP),
			SVC("default", "nonelist",
			    "'clusterIP':'None','clusterIPs':['None']," PORT_HTTP),
			SLICE("default", "none-1", "none", SPORT_HTTP,
			      EP("198.18.1.3", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no error lines");
		ASSERT_EQ(f.st.n_frontends, 1, "only web");
		ASSERT_EQ(f.st.n_sets, 1, "only web's set");
		ASSERT_STREQ(f.st.sets[0].name, "default/web", "set name");
		fx_free(&f);
	}
	if (test__start_subtest("external_name")) {
		fx_build(
			&f,
			SVC("default", "ext",
			    "'type':'ExternalName','externalName':'example.com',"
			    "'clusterIP':'198.19.96.11'," PORT_HTTP),
			SLICE("default", "ext-1", "ext", SPORT_HTTP,
			      EP("198.18.1.3", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 0, "nothing");
		ASSERT_EQ(f.st.n_sets, 0, "nothing");
		fx_free(&f);
	}
	if (test__start_subtest("labels")) {
		fx_build(&f, WEB_SVC,
			 SVC_X("default", "proxied",
			       ",'labels':{" PROXY_LABEL "}",
			       "'clusterIP':'198.19.96.11'," PORT_HTTP, ""),
			 SVC_X("default", "hl",
			       ",'labels':{" HEADLESS_LABEL "}",
			       "'clusterIP':'198.19.96.12'," PORT_HTTP, ""),
			 SLICE("default", "proxied-1", "proxied", SPORT_HTTP,
			       EP("198.18.1.3", NODE)),
			 /* labelled slices of an installed Service: ignored */
			 SLICE_X("default", "web-proxy",
				 SVC_LABEL("web") "," PROXY_LABEL, "IPv4",
				 SPORT_HTTP
				 ",'endpoints':[" EP("198.18.1.4", NODE) "]"),
			 SLICE_X("default", "web-hl",
				 SVC_LABEL("web") "," HEADLESS_LABEL, "IPv4",
				 SPORT_HTTP
				 ",'endpoints':[" EP("198.18.1.5", NODE) "]"),
			 WEB_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 1, "only web");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("fqdn_slices")) {
		fx_build(&f, WEB_SVC, WEB_SLICE,
			 SLICE_X("default", "web-fqdn", SVC_LABEL("web"),
				 "FQDN",
				 SPORT_HTTP ",'endpoints':[" FQDN_EP "]"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("sctp")) {
		fx_build(
			&f,
			SVC("default", "mixed",
			    "'clusterIP':'198.19.96.12','ports':["
			    "{'name':'sig','port':3868,'protocol':'SCTP'},"
			    "{'name':'http','port':80}]"),
			SLICE("default", "mixed-1", "mixed",
			      "'ports':[{'name':'sig','port':3868,'protocol':'SCTP'},"
			      "{'name':'http','port':8080}]",
			      EP("198.18.1.2", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 1, "TCP port only");
		ASSERT_EQ(f.st.n_sets, 1, "TCP set only");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.12", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("lb_ingress")) {
		fx_build(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.13',"
			      "'ports':[{'name':'http','port':80}]",
			      "'loadBalancer':{'ingress':["
			      "{'ip':'198.19.98.1','ipMode':'Proxy'},"
			      "{'hostname':'lb.example.com'},"
			      "{'ip':'2001:db8::5'},"
			      "{'ip':'198.19.98.2','ipMode':'VIP'},"
			      "{'ip':'198.19.98.3'}]}"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 5, "ClusterIP + 2 LB IPs x 2");
		ASSERT_TRUE(!find_fe(&f.st, "198.19.98.1", 80, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL) &&
				    !find_fe(&f.st, "198.19.98.1", 80,
					     IPPROTO_TCP, SVCD_SCOPE_INTERNAL),
			    "ipMode Proxy not programmed");
		ASSERT_OK_PTR(find_fe(&f.st, "198.19.98.2", 80, IPPROTO_TCP,
				      SVCD_SCOPE_EXTERNAL),
			      "ipMode VIP");
		ASSERT_OK_PTR(find_fe(&f.st, "198.19.98.3", 80, IPPROTO_TCP,
				      SVCD_SCOPE_INTERNAL),
			      "no ipMode");
		fx_free(&f);
	}
}

/* ---- ports ----------------------------------------------------------- */

void test_model_ports(void)
{
	struct fx f;

	if (test__start_subtest("named_multi_port")) {
		fx_build(
			&f,
			SVC("default", "app",
			    "'clusterIP':'198.19.96.20','ports':["
			    "{'name':'http','port':80,'targetPort':'web'},"
			    "{'name':'metrics','port':9090,'targetPort':9999}]"),
			/* port order in the slice differs from the Service */
			SLICE("default", "app-1", "app",
			      "'ports':[{'name':'metrics','port':9100},"
			      "{'name':'http','port':8080}]",
			      EP("198.18.1.2", NODE),
			      EP("198.18.2.2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.20", 80),
				"198.18.1.2:8080/w1+local 198.18.2.2:8080/w1");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.20", 9090),
				"198.18.1.2:9100/w1+local 198.18.2.2:9100/w1");
		ASSERT_STREQ(cip_set(&f, "198.19.96.20", 9090)->port_name,
			     "metrics", "port name of set");
		ASSERT_EQ(f.st.n_sets, 2, "one set per port");
		fx_free(&f);
	}
	if (test__start_subtest("same_name_tcp_udp")) {
		const struct model_frontend *tcp, *udp;

		fx_build(
			&f,
			SVC("kube-system", "dns",
			    "'clusterIP':'198.19.96.53','ports':["
			    "{'name':'dns','port':53,'protocol':'UDP'},"
			    "{'name':'dns','port':53,'protocol':'TCP'}]"),
			SLICE("kube-system", "dns-1", "dns",
			      "'ports':[{'name':'dns','port':5353,'protocol':'TCP'},"
			      "{'name':'dns','port':5354,'protocol':'UDP'}]",
			      EP("198.18.1.53", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		tcp = find_fe(&f.st, "198.19.96.53", 53, IPPROTO_TCP,
			      SVCD_SCOPE_INTERNAL);
		udp = find_fe(&f.st, "198.19.96.53", 53, IPPROTO_UDP,
			      SVCD_SCOPE_INTERNAL);
		ASSERT_OK_PTR(tcp, "TCP frontend");
		ASSERT_OK_PTR(udp, "UDP frontend");
		ASSERT_BACKENDS(fe_set(&f.st, tcp), "198.18.1.53:5353/w1");
		ASSERT_BACKENDS(fe_set(&f.st, udp), "198.18.1.53:5354/w1");
		ASSERT_EQ(fe_set(&f.st, udp)->proto, IPPROTO_UDP, "UDP set");
		/* sets in (name, port_name, proto) order: TCP(6) < UDP(17) */
		ASSERT_EQ(f.st.sets[0].proto, IPPROTO_TCP, "TCP set first");
		fx_free(&f);
	}
	if (test__start_subtest("unnamed_and_unmatched")) {
		fx_build(&f,
			 SVC("default", "one",
			     "'clusterIP':'198.19.96.21','ports':[{'port':80,"
			     "'targetPort':8081}]"),
			 /* unnamed slice port joins the unnamed Service port */
			 SLICE("default", "one-1", "one",
			       "'ports':[{'port':8080}]",
			       EP("198.18.1.2", "node-b")),
			 /* named: does not join; no number: ignored */
			 SLICE("default", "one-2", "one",
			       "'ports':[{'name':'x','port':8082},{'name':''}]",
			       EP("198.18.1.3", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.21", 80),
				"198.18.1.2:8080/w1");
		ASSERT_STREQ(cip_set(&f, "198.19.96.21", 80)->port_name, "",
			     "unnamed");
		fx_free(&f);
	}
}

/* ---- endpoints ------------------------------------------------------- */

void test_model_endpoints(void)
{
	struct fx f;

	if (test__start_subtest("dedup_across_slices")) {
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-b", "web", SPORT_HTTP,
			       EP("198.18.1.2", NODE),
			       EP("198.18.2.3", "node-b")),
			 SLICE("default", "web-a", "web", SPORT_HTTP,
			       EP("198.18.2.3", "node-b"),
			       EP("198.18.1.2", "node-c")),
			 /* same address, other port: not a duplicate */
			 SLICE("default", "web-c", "web",
			       "'ports':[{'name':'http','port':8081}]",
			       EP("198.18.2.3", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		/* web-a comes first by name, but web-b's copy is local */
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local 198.18.2.3:8080/w1 "
				"198.18.2.3:8081/w1");
		fx_free(&f);
	}
	if (test__start_subtest("condition_defaults")) {
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       /* no conditions: ready */
			       EP("198.18.2.1", "node-b"),
			       /* ready null: ready */
			       EPC("198.18.2.2", "node-b", "'ready':null"),
			       /* not ready, serving = ready = false */
			       EPC("198.18.2.3", "node-b",
				   "'ready':false,'terminating':true"),
			       /* ready, explicit */
			       EPC("198.18.2.4", "node-b", "'ready':true"),
			       /* no addresses beyond the first are used */
			       "{'addresses':['198.18.2.5','198.18.2.6']}"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w1 "
				"198.18.2.4:8080/w1 198.18.2.5:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("terminating_fallback")) {
		fx_build(
			&f, WEB_SVC,
			SLICE("default", "web-1", "web", SPORT_HTTP,
			      EPC("198.18.2.1", "node-b", TERM),
			      EPC("198.18.1.2", NODE, TERM),
			      /* terminating but not serving: never */
			      EPC("198.18.2.3", "node-b",
				  "'ready':false,'serving':false,'terminating':true"),
			      /* not ready, not terminating: never */
			      EPC("198.18.2.4", "node-b",
				  "'ready':false,'serving':true")));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local+term "
				"198.18.2.1:8080/w1+term");
		fx_free(&f);

		/* one ready endpoint anywhere: terminating ones are out */
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EPC("198.18.2.1", "node-b", TERM),
			       EP("198.18.2.9", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.9:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("no_endpoints")) {
		const struct model_set *s;

		fx_build(
			&f,
			SVC("default", "empty",
			    "'type':'NodePort','clusterIP':'198.19.96.30',"
			    "'ports':[{'name':'http','port':80,'nodePort':30080}]"),
			SLICE("default", "empty-1", "empty", SPORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		s = cip_set(&f, "198.19.96.30", 80);
		ASSERT_EQ(s->n_backends, 0, "set exists, no backends: refuse");
		ASSERT_EQ(f.st.n_frontends, 5, "ClusterIP + 2 nodes x 2");
		ASSERT_EQ(flags_of(find_fe(&f.st, "198.19.0.1", 30080,
					   IPPROTO_TCP, SVCD_SCOPE_EXTERNAL)),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT |
				  SVCD_FE_NODE_ADDR,
			  "refuse, not drop");
		fx_free(&f);

		/* and with no slice at all */
		fx_build(&f, WEB_SVC);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.st.n_frontends, 1, "frontend");
		ASSERT_EQ(f.st.n_sets, 1, "set");
		ASSERT_EQ(f.st.sets[0].n_backends, 0, "empty");
		fx_free(&f);
	}
}

/* ---- traffic policies ------------------------------------------------ */

#define TWO_NODE_SLICE(ns, name, svc)                            \
	SLICE(ns, name, svc, SPORT_HTTP, EP("198.18.1.2", NODE), \
	      EP("198.18.2.2", "node-b"))

void test_model_traffic_policy(void)
{
	const struct model_frontend *fe;
	struct fx f;

	if (test__start_subtest("internal_local")) {
		fx_build(&f,
			 SVC("default", "itp",
			     "'clusterIP':'198.19.96.40',"
			     "'internalTrafficPolicy':'Local'," PORT_HTTP),
			 TWO_NODE_SLICE("default", "itp-1", "itp"));
		ASSERT_OK(f.ret, "build");
		fe = find_fe(&f.st, "198.19.96.40", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_OK_PTR(fe, "ClusterIP");
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_CLUSTER_IP | SVCD_FE_LOCAL_ONLY,
			  "local only");
		ASSERT_EQ(fe_set(&f.st, fe)->set, SVCD_SET_LOCAL, "local set");
		ASSERT_BACKENDS(fe_set(&f.st, fe), "198.18.1.2:8080/w1+local");
		ASSERT_EQ(f.st.n_sets, 1, "cluster set unused: absent");
		ASSERT_TRUE(!find_set(&f.st, "default/itp", "http", IPPROTO_TCP,
				      SVCD_SET_CLUSTER),
			    "no cluster set");
		fx_free(&f);
	}
	if (test__start_subtest("internal_local_empty_drop")) {
		fx_build(&f,
			 SVC("default", "itp",
			     "'clusterIP':'198.19.96.40',"
			     "'internalTrafficPolicy':'Local'," PORT_HTTP),
			 SLICE("default", "itp-1", "itp", SPORT_HTTP,
			       EP("198.18.2.2", "node-b")),
			 SVC("default", "none",
			     "'clusterIP':'198.19.96.41',"
			     "'internalTrafficPolicy':'Local'," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		fe = find_fe(&f.st, "198.19.96.40", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_CLUSTER_IP | SVCD_FE_LOCAL_ONLY |
				  SVCD_FE_EMPTY_DROP,
			  "elsewhere: drop");
		ASSERT_EQ(fe_set(&f.st, fe)->n_backends, 0, "empty local set");
		/* no endpoint anywhere: refuse, not drop */
		fe = find_fe(&f.st, "198.19.96.41", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_CLUSTER_IP | SVCD_FE_LOCAL_ONLY,
			  "nowhere: refuse");
		fx_free(&f);
	}
	if (test__start_subtest("local_terminating_fallback")) {
		fx_build(&f,
			 SVC("default", "itp",
			     "'clusterIP':'198.19.96.40',"
			     "'internalTrafficPolicy':'Local'," PORT_HTTP),
			 SLICE("default", "itp-1", "itp", SPORT_HTTP,
			       EP("198.18.2.2", "node-b"),
			       EPC("198.18.1.2", NODE, TERM)));
		ASSERT_OK(f.ret, "build");
		fe = find_fe(&f.st, "198.19.96.40", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_BACKENDS(fe_set(&f.st, fe),
				"198.18.1.2:8080/w1+local+term");
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_CLUSTER_IP | SVCD_FE_LOCAL_ONLY,
			  "not empty: no drop flag");
		fx_free(&f);
	}
	if (test__start_subtest("external_local")) {
		static const char *const addrs[] = {
			"198.19.0.1",
			"198.19.0.2",
			"198.19.97.1",
			"198.19.98.1",
		};
		static const uint16_t ports[] = { 30080, 30080, 80, 80 };
		static const uint16_t types[] = {
			SVCD_TYPE_NODE_PORT,
			SVCD_TYPE_NODE_PORT,
			SVCD_TYPE_EXTERNAL_IP,
			SVCD_TYPE_LOAD_BALANCER,
		};
		size_t i;

		fx_build(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.42',"
			      "'externalIPs':['198.19.97.1'],"
			      "'externalTrafficPolicy':'Local',"
			      "'ports':[{'name':'http','port':80,'nodePort':30080}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.1'}]}"),
			TWO_NODE_SLICE("default", "lb-1", "lb"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_EQ(f.st.n_frontends, 9, "ClusterIP + 4 x 2 scopes");
		for (i = 0; i < 4; i++) {
			fe = find_fe(&f.st, addrs[i], ports[i], IPPROTO_TCP,
				     SVCD_SCOPE_INTERNAL);
			if (!ASSERT_OK_PTR(fe, addrs[i]))
				continue;
			/* NodePorts are on node addresses: NODE_ADDR */
			ASSERT_EQ(flags_of(fe) & ~SVCD_FE_NODE_ADDR, types[i],
				  "internal: plain");
			ASSERT_EQ(!!(flags_of(fe) & SVCD_FE_NODE_ADDR),
				  types[i] == SVCD_TYPE_NODE_PORT,
				  "node address flag");
			ASSERT_BACKENDS(fe_set(&f.st, fe),
					"198.18.1.2:8080/w1+local "
					"198.18.2.2:8080/w1");
			fe = find_fe(&f.st, addrs[i], ports[i], IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL);
			if (!ASSERT_OK_PTR(fe, addrs[i]))
				continue;
			ASSERT_EQ(flags_of(fe) & ~SVCD_FE_NODE_ADDR,
				  types[i] | SVCD_FE_LOCAL_ONLY,
				  "external: local only");
			ASSERT_BACKENDS(fe_set(&f.st, fe),
					"198.18.1.2:8080/w1+local");
		}
		/* the ClusterIP follows iTP (Cluster), not eTP */
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.42", 80),
				"198.18.1.2:8080/w1+local 198.18.2.2:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("external_local_empty_drop")) {
		fx_build(
			&f,
			SVC("default", "np",
			    "'type':'NodePort','clusterIP':'198.19.96.43',"
			    "'externalTrafficPolicy':'Local',"
			    "'ports':[{'name':'http','port':80,'nodePort':30081}]"),
			SLICE("default", "np-1", "np", SPORT_HTTP,
			      EP("198.18.2.2", "node-b")));
		ASSERT_OK(f.ret, "build");
		fe = find_fe(&f.st, "198.19.0.2", 30081, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY |
				  SVCD_FE_EMPTY_DROP | SVCD_FE_NODE_ADDR,
			  "drop");
		ASSERT_EQ(fe_set(&f.st, fe)->n_backends, 0, "empty");
		fe = find_fe(&f.st, "198.19.0.2", 30081, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_BACKENDS(fe_set(&f.st, fe), "198.18.2.2:8080/w1");
		fx_free(&f);
	}
}

/* ---- topology hints -------------------------------------------------- */

#define EPH(addr, node, hints) \
	"{'addresses':['" addr "'],'nodeName':'" node "','hints':{" hints "}}"
#define ZONES(z) "'forZones':[" z "]"
#define NODES(n) "'forNodes':[" n "]"

void test_model_topology(void)
{
	struct fx f;

	if (test__start_subtest("zones")) {
		fx_build(
			&f, WEB_SVC,
			SLICE("default", "web-1", "web", SPORT_HTTP,
			      EPH("198.18.2.1", "node-b",
				  ZONES("{'name':'zone-a'}")),
			      EPH("198.18.2.2", "node-c",
				  ZONES("{'name':'zone-b'}")),
			      EPH("198.18.2.3", "node-d",
				  ZONES("{'name':'zone-c'},{'name':'zone-a'}")),
			      /* not ready: its missing hints do not count */
			      EPC("198.18.2.4", "node-e", "'ready':false")));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.3:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("nodes")) {
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EPH("198.18.2.1", "node-b",
				   NODES("{'name':'node-b'}") "," ZONES(
					   "{'name':'zone-a'}")),
			       EPH("198.18.1.2", NODE,
				   NODES("{'name':'" NODE "'}") "," ZONES(
					   "{'name':'zone-a'}"))));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("partial_hints_ignored")) {
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EPH("198.18.2.1", "node-b",
				   ZONES("{'name':'zone-a'}")),
			       EP("198.18.2.2", "node-c")));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w1");
		fx_free(&f);

		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EPH("198.18.1.2", NODE,
				   NODES("{'name':'" NODE "'}")),
			       EP("198.18.2.2", "node-c")));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local 198.18.2.2:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("no_hint_for_us")) {
		fx_build(&f, WEB_SVC,
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EPH("198.18.2.1", "node-b",
				   NODES("{'name':'node-b'}") "," ZONES(
					   "{'name':'zone-b'}")),
			       EPH("198.18.2.2", "node-c",
				   NODES("{'name':'node-c'}") "," ZONES(
					   "{'name':'zone-c'}"))));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("unknown_zone")) {
		struct model_config cfg = { .node_name = NODE };

		fx_build_cfg(&f, &cfg, WEB_SVC,
			     SLICE("default", "web-1", "web", SPORT_HTTP,
				   EPH("198.18.2.1", "node-b",
				       ZONES("{'name':'zone-a'}")),
				   EPH("198.18.2.2", "node-c",
				       ZONES("{'name':'zone-b'}"))),
			     NULL);
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("zone_from_node_in_file")) {
		/* --from-file: no watched Node, the List's own Node of this
		 * node gives the zone; another node's Node is ignored */
		struct model_config cfg = { .node_name = NODE };
#define NODE_OBJ(name, zone)                                         \
	"{'apiVersion':'v1','kind':'Node','metadata':{'name':'" name \
	"','labels':{'topology.kubernetes.io/zone':'" zone "'}}}"

		fx_build_cfg(&f, &cfg, WEB_SVC,
			     SLICE("default", "web-1", "web", SPORT_HTTP,
				   EPH("198.18.2.1", "node-b",
				       ZONES("{'name':'zone-a'}")),
				   EPH("198.18.2.2", "node-c",
				       ZONES("{'name':'zone-b'}"))),
			     NODE_OBJ("node-z", "zone-b"),
			     NODE_OBJ(NODE, "zone-a"), NULL);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no error for Node items");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1");
		fx_free(&f);

		/* the watched Node's zone wins over the file's */
		cfg.node_zone = "zone-b";
		fx_build_cfg(&f, &cfg, WEB_SVC,
			     SLICE("default", "web-1", "web", SPORT_HTTP,
				   EPH("198.18.2.1", "node-b",
				       ZONES("{'name':'zone-a'}")),
				   EPH("198.18.2.2", "node-c",
				       ZONES("{'name':'zone-b'}"))),
			     NODE_OBJ(NODE, "zone-a"), NULL);
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.2:8080/w1");
		fx_free(&f);
#undef NODE_OBJ
	}
	if (test__start_subtest("local_set_not_narrowed")) {
		fx_build(&f,
			 SVC("default", "itp",
			     "'clusterIP':'198.19.96.40',"
			     "'internalTrafficPolicy':'Local'," PORT_HTTP),
			 SLICE("default", "itp-1", "itp", SPORT_HTTP,
			       EPH("198.18.1.2", NODE,
				   ZONES("{'name':'zone-b'}")),
			       EPH("198.18.1.3", NODE,
				   ZONES("{'name':'zone-a'}"))));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(
			cip_set(&f, "198.19.96.40", 80),
			"198.18.1.2:8080/w1+local 198.18.1.3:8080/w1+local");
		fx_free(&f);
	}
}

/* ---- weights --------------------------------------------------------- */

#define WSVC(weights)                                             \
	SVC_X("default", "web",                                   \
	      ",'annotations':{'svcd.io/weights':'" weights "'}", \
	      "'clusterIP':'198.19.96.10'," PORT_HTTP, "")
#define EPT(addr, pod)                                                \
	"{'addresses':['" addr "'],'nodeName':'node-b','targetRef':{" \
	"'kind':'Pod','namespace':'default','name':'" pod "'}}"
#define THREE_SLICE                                                   \
	SLICE("default", "web-1", "web", SPORT_HTTP,                  \
	      EPT("198.18.2.1", "web-a"), EPT("198.18.2.2", "web-b"), \
	      EPT("198.18.2.3", "web-c"))

void test_model_weights(void)
{
	struct fx f;

	if (test__start_subtest("by_address")) {
		fx_build(&f, WSVC("198.18.2.1=1,198.18.2.2=2, 198.18.2.3 = 3"),
			 THREE_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w2 "
				"198.18.2.3:8080/w3");
		fx_free(&f);
	}
	if (test__start_subtest("by_target_name")) {
		fx_build(&f, WSVC("web-c=255,web-a=7"), THREE_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w7 198.18.2.2:8080/w1 "
				"198.18.2.3:8080/w255");
		fx_free(&f);
	}
	if (test__start_subtest("zero")) {
		fx_build(&f, WSVC("web-b=0"), THREE_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.3:8080/w1");
		fx_free(&f);

		/* nothing else left: the zero-weight ones are used, weight 1 */
		fx_build(&f, WSVC("web-a=0,web-b=0,198.18.2.3=0"), THREE_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1 198.18.2.2:8080/w1 "
				"198.18.2.3:8080/w1");
		fx_free(&f);

		/* the rule applies per set: locally only a zero is left */
		fx_build(
			&f,
			SVC_X("default", "web",
			      ",'annotations':{'svcd.io/weights':'198.18.1.2=0'}",
			      "'clusterIP':'198.19.96.10',"
			      "'internalTrafficPolicy':'Local'," PORT_HTTP,
			      ""),
			TWO_NODE_SLICE("default", "web-1", "web"));
		ASSERT_OK(f.ret, "build");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("malformed")) {
		static const char *const bad[] = {
			WSVC("198.18.2.1=1,198.18.2.2=256"),
			WSVC("web-a=x"),
			WSVC("web-a"),
			WSVC("web-a=1,,web-b=2"),
			WSVC("=3"),
			WSVC("web-a=-1"),
			WSVC("web-a=1;web-b=2"),
			SVC_X("default", "web",
			      ",'annotations':{'svcd.io/weights':5}",
			      "'clusterIP':'198.19.96.10'," PORT_HTTP, ""),
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			test__log("case %zu\n", i);
			fx_build(&f, bad[i], THREE_SLICE);
			ASSERT_OK(f.ret, "build");
			ASSERT_EQ(f.n_errs, 1, "one error line");
			ASSERT_TRUE(
				fx_has_err(
					&f,
					"Service default/web: annotation svcd.io/weights"),
				"names the Service and the annotation");
			/* installed, with all weights 1 */
			ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
					"198.18.2.1:8080/w1 198.18.2.2:8080/w1 "
					"198.18.2.3:8080/w1");
			fx_free(&f);
		}
	}
}

/* ---- frontends ------------------------------------------------------- */

void test_model_frontends(void)
{
	const struct model_frontend *fe;
	struct fx f;

	if (test__start_subtest("cluster_ip_key")) {
		fx_build(&f, WEB_SVC, WEB_SLICE);
		ASSERT_OK(f.ret, "build");
		if (ASSERT_EQ(f.st.n_frontends, 1, "one frontend")) {
			fe = &f.st.frontends[0];
			ASSERT_EQ(fe->key.addr, ip("198.19.96.10"), "addr");
			ASSERT_EQ(fe->key.port, htons(80), "port");
			ASSERT_EQ(fe->key.proto, IPPROTO_TCP, "proto");
			ASSERT_EQ(fe->key.scope, SVCD_SCOPE_INTERNAL, "scope");
			ASSERT_EQ(flags_of(fe), SVCD_TYPE_CLUSTER_IP, "type");
		}
		ASSERT_STREQ(f.st.sets[0].name, "default/web", "name");
		ASSERT_STREQ(f.st.sets[0].port_name, "http", "port name");
		ASSERT_EQ(f.st.sets[0].set, SVCD_SET_CLUSTER, "cluster set");
		ASSERT_EQ(f.st.sets[0].backends[0].addr, ip("198.18.1.2"),
			  "backend addr");
		ASSERT_EQ(f.st.sets[0].backends[0].port, htons(8080),
			  "backend port");
		fx_free(&f);
	}
	if (test__start_subtest("node_port")) {
		fx_build(
			&f,
			SVC("default", "np",
			    "'type':'NodePort','clusterIP':'198.19.96.50',"
			    "'ports':[{'name':'http','port':80,'nodePort':30080},"
			    "{'name':'dns','port':53,'protocol':'UDP','nodePort':30053}]"),
			SVC("default", "cip",
			    "'type':'ClusterIP','clusterIP':'198.19.96.51',"
			    "'ports':[{'name':'http','port':80,'nodePort':30090}]"),
			SLICE("default", "np-1", "np",
			      "'ports':[{'name':'http','port':8080},"
			      "{'name':'dns','port':5353,'protocol':'UDP'}]",
			      EP("198.18.2.2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		/* 2 ports x (ClusterIP + 2 node addresses x 2 scopes) + 1 */
		ASSERT_EQ(f.st.n_frontends, 11, "frontends");
		fe = find_fe(&f.st, "198.19.0.2", 30053, IPPROTO_UDP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_OK_PTR(fe, "UDP nodePort, external");
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT |
				  SVCD_FE_NODE_ADDR,
			  "type, eTP Cluster: SNAT");
		ASSERT_BACKENDS(fe_set(&f.st, fe), "198.18.2.2:5353/w1");
		fe = find_fe(&f.st, "198.19.0.1", 30080, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_OK_PTR(fe, "TCP nodePort, internal");
		ASSERT_BACKENDS(fe_set(&f.st, fe), "198.18.2.2:8080/w1");
		ASSERT_TRUE(!find_fe(&f.st, "198.19.0.1", 30090, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL),
			    "type ClusterIP: no nodePort");
		fx_free(&f);
	}
	if (test__start_subtest("external_ip_and_lb")) {
		fx_build(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.52',"
			      "'externalIPs':['198.19.97.2','198.19.98.2'],"
			      "'ports':[{'name':'http','port':80}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.2'},"
			      "{'ip':'198.19.98.3'}]}"),
			TWO_NODE_SLICE("default", "lb-1", "lb"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		fe = find_fe(&f.st, "198.19.97.2", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_EXTERNAL_IP | SVCD_FE_SNAT,
			  "ext IP");
		fe = find_fe(&f.st, "198.19.98.3", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_LOAD_BALANCER, "LB");
		ASSERT_BACKENDS(fe_set(&f.st, fe),
				"198.18.1.2:8080/w1+local 198.18.2.2:8080/w1");
		/* an address both an externalIP and an LB IP: listed once */
		fe = find_fe(&f.st, "198.19.98.2", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_EXTERNAL_IP | SVCD_FE_SNAT,
			  "first one wins");
		/* ClusterIP + 3 addresses x 2 scopes, no nodePort */
		ASSERT_EQ(f.st.n_frontends, 7, "frontends");
		ASSERT_EQ(f.st.n_sets, 1, "all use the cluster set");
		fx_free(&f);
	}
	if (test__start_subtest("affinity")) {
		fx_build(
			&f,
			SVC("default", "a",
			    "'clusterIP':'198.19.96.60',"
			    "'sessionAffinity':'ClientIP'," PORT_HTTP),
			SVC("default", "b",
			    "'clusterIP':'198.19.96.61',"
			    "'sessionAffinity':'ClientIP',"
			    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}}," PORT_HTTP),
			SVC("default", "c",
			    "'clusterIP':'198.19.96.62',"
			    "'sessionAffinity':'ClientIP',"
			    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':86401}}," PORT_HTTP),
			SVC("default", "d",
			    "'clusterIP':'198.19.96.63',"
			    "'sessionAffinity':'None',"
			    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}}," PORT_HTTP),
			SVC("default", "e",
			    "'clusterIP':'198.19.96.64',"
			    "'sessionAffinity':'ClientIP',"
			    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':0}}," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(cip_set(&f, "198.19.96.60", 80)->affinity_timeout,
			  10800, "default");
		ASSERT_EQ(cip_set(&f, "198.19.96.61", 80)->affinity_timeout, 60,
			  "explicit");
		ASSERT_EQ(cip_set(&f, "198.19.96.62", 80)->affinity_timeout,
			  10800, "too long: default");
		ASSERT_EQ(cip_set(&f, "198.19.96.63", 80)->affinity_timeout, 0,
			  "none");
		ASSERT_EQ(cip_set(&f, "198.19.96.64", 80)->affinity_timeout,
			  10800, "zero: default");
		ASSERT_EQ(f.n_errs, 2, "two error lines");
		ASSERT_TRUE(
			fx_has_err(
				&f,
				"Service default/c: spec.sessionAffinityConfig.clientIP.timeoutSeconds 86401 out of range 1..86400"),
			"c reported");
		ASSERT_TRUE(fx_has_err(&f, "Service default/e: "),
			    "e reported");
		fx_free(&f);
	}
	if (test__start_subtest("conflict")) {
		/* b comes first in the input, a sorts first and wins */
		fx_build(
			&f,
			SVC("ns", "b",
			    "'clusterIP':'198.19.96.10','ports':["
			    "{'name':'x','port':81},{'name':'http','port':80}]"),
			SVC("ns", "a", "'clusterIP':'198.19.96.10'," PORT_HTTP),
			SVC("ns", "c", "'clusterIP':'198.19.96.11'," PORT_HTTP),
			SLICE("ns", "b-1", "b", SPORT_HTTP,
			      EP("198.18.2.9", "node-b")),
			SLICE("ns", "a-1", "a", SPORT_HTTP,
			      EP("198.18.2.1", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one error line");
		ASSERT_STREQ(
			f.errs[0],
			"Service ns/b: frontend 198.19.96.10:80/TCP already used by ns/a",
			"error line");
		ASSERT_EQ(count_fes(&f.st, "ns/b"), 0, "b absent whole");
		ASSERT_TRUE(!find_fe(&f.st, "198.19.96.10", 81, IPPROTO_TCP,
				     SVCD_SCOPE_INTERNAL),
			    "b's other port absent");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.2.1:8080/w1");
		ASSERT_STREQ(cip_set(&f, "198.19.96.11", 80)->name, "ns/c",
			     "c applied");
		ASSERT_EQ(f.st.n_sets, 2, "sets of a and c only");
		fx_free(&f);
	}
	if (test__start_subtest("conflict_loser_frees_keys")) {
		/* b takes keys for its first port, then loses its second
		 * to a; c then gets the keys b had taken */
		fx_build(
			&f,
			SVC("ns", "a",
			    "'clusterIP':'198.19.96.10',"
			    "'ports':[{'name':'x','port':81}]"),
			SVC("ns", "b",
			    "'type':'NodePort',"
			    "'clusterIP':'198.19.96.10','ports':[{'name':'http',"
			    "'port':80,'nodePort':30000},{'name':'x','port':81}]"),
			SVC("ns", "c",
			    "'type':'NodePort',"
			    "'clusterIP':'198.19.96.10','ports':[{'name':'http',"
			    "'port':80,'nodePort':30000}]"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one error line");
		ASSERT_TRUE(
			fx_has_err(
				&f,
				"Service ns/b: frontend 198.19.96.10:81/TCP already used by ns/a"),
			"b reported");
		ASSERT_EQ(count_fes(&f.st, "ns/b"), 0, "b absent whole");
		ASSERT_EQ(count_fes(&f.st, "ns/c"), 5, "c whole");
		fe = find_fe(&f.st, "198.19.0.1", 30000, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_OK_PTR(fe, "nodePort");
		ASSERT_STREQ(fe_set(&f.st, fe)->name, "ns/c", "c has it");
		fx_free(&f);
	}
}

/* ---- validation ------------------------------------------------------ */

/* Runs bad next to two good objects; the bad one must be reported with
 * want and be absent whole, the good ones applied. */
static void expect_rejected(const char *bad, const char *want,
			    const char *absent_name)
{
	struct fx f;

	fx_build(&f, WEB_SVC, bad, WEB_SLICE,
		 SVC("other", "ok", "'clusterIP':'198.19.96.99'," PORT_HTTP));
	ASSERT_OK(f.ret, "build");
	ASSERT_EQ(f.n_errs, 1, "one error line");
	ASSERT_STREQ(f.errs[0], want, "error line");
	ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
			"198.18.1.2:8080/w1+local");
	ASSERT_STREQ(cip_set(&f, "198.19.96.99", 80)->name, "other/ok",
		     "other/ok applied");
	if (absent_name)
		ASSERT_EQ(count_fes(&f.st, absent_name), 0, "bad one absent");
	fx_free(&f);
}

#define BAD_SVC(spec) SVC("default", "bad", "'clusterIP':'198.19.96.20'," spec)
#define BAD_PORTS(p) \
	BAD_SVC("'type':'NodePort','ports':[{'name':'a','port':81}," p "]")

void test_model_validation(void)
{
	if (test__start_subtest("service_port_range")) {
		expect_rejected(
			BAD_PORTS("{'name':'b','port':70000}"),
			"Service default/bad: spec.ports[1].port 70000 out of range 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b','port':0}"),
			"Service default/bad: spec.ports[1].port 0 out of range 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b','port':'80'}"),
			"Service default/bad: spec.ports[1].port \"80\" is not an integer in 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b','port':80.5}"),
			"Service default/bad: spec.ports[1].port 80.5 is not an integer in 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b','port':1e300}"),
			"Service default/bad: spec.ports[1].port 1e+300 out of range 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b'}"),
			"Service default/bad: spec.ports[1].port missing",
			"default/bad");
	}
	if (test__start_subtest("node_port_range")) {
		expect_rejected(
			BAD_PORTS("{'name':'b','port':82,'nodePort':0}"),
			"Service default/bad: spec.ports[1].nodePort 0 out of range 1..65535",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'b','port':82,'nodePort':65536}"),
			"Service default/bad: spec.ports[1].nodePort 65536 out of range 1..65535",
			"default/bad");
	}
	if (test__start_subtest("protocol_and_port_name")) {
		expect_rejected(
			BAD_PORTS("{'name':'b','port':82,'protocol':'ICMP'}"),
			"Service default/bad: spec.ports[1].protocol \"ICMP\" unknown",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'abcdefghijklmnop','port':82}"),
			"Service default/bad: spec.ports[1].name \"abcdefghijklmnop\" longer than 15 characters",
			"default/bad");
		expect_rejected(
			BAD_PORTS("{'name':'a','port':82}"),
			"Service default/bad: spec.ports[1] (\"a\" 82/TCP) duplicates the name, port or nodePort of an earlier port",
			"default/bad");
	}
	if (test__start_subtest("service_ips")) {
		expect_rejected(
			SVC("default", "bad",
			    "'clusterIP':'198.19.96.300'," PORT_HTTP),
			"Service default/bad: spec.clusterIP \"198.19.96.300\" is not an IP address",
			"default/bad");
		expect_rejected(
			SVC("default", "bad",
			    "'clusterIP':'198.19.96.20',"
			    "'clusterIPs':['198.19.96.20'],"
			    "'ipFamilies':['IPv6']," PORT_HTTP),
			"Service default/bad: spec.clusterIPs[0] \"198.19.96.20\" is not an IPv6 address",
			"default/bad");
		expect_rejected(
			BAD_SVC("'externalIPs':['198.19.97.1','1.2.3']," PORT_HTTP),
			"Service default/bad: spec.externalIPs[1] \"1.2.3\" is not an IP address",
			"default/bad");
		expect_rejected(
			SVC_X("default", "bad", "",
			      "'clusterIP':'198.19.96.20'," PORT_HTTP,
			      "'loadBalancer':{'ingress':[{'ip':'x'}]}"),
			"Service default/bad: status.loadBalancer.ingress[0].ip \"x\" is not an IP address",
			"default/bad");
	}
	if (test__start_subtest("service_enums")) {
		expect_rejected(
			BAD_SVC("'type':'Bogus'," PORT_HTTP),
			"Service default/bad: spec.type \"Bogus\" unknown",
			"default/bad");
		expect_rejected(
			BAD_SVC("'externalTrafficPolicy':'Nearby'," PORT_HTTP),
			"Service default/bad: spec.externalTrafficPolicy \"Nearby\" unknown",
			"default/bad");
	}
	if (test__start_subtest("slice_endpoint_address")) {
		expect_rejected(
			SLICE("default", "web-abc", "web", SPORT_HTTP,
			      EP("198.18.2.1", "node-b"),
			      EP("198.18.2.2", "node-b"),
			      EP("1.2.3", "node-b")),
			"EndpointSlice default/web-abc: endpoints[2].addresses[0] \"1.2.3\" is not an IPv4 address",
			NULL);
		expect_rejected(
			SLICE("default", "web-abc", "web", SPORT_HTTP,
			      "{'addresses':['198.18.2.1','2001:db8:1::1']}"),
			"EndpointSlice default/web-abc: endpoints[0].addresses[1] \"2001:db8:1::1\" is not an IPv4 address",
			NULL);
		expect_rejected(
			SLICE("default", "web-abc", "web", SPORT_HTTP,
			      "{'addresses':[]}"),
			"EndpointSlice default/web-abc: endpoints[0].addresses missing",
			NULL);
		expect_rejected(
			SLICE("default", "web-abc", "web", SPORT_HTTP,
			      EPC("198.18.2.1", "n", "'ready':'yes'")),
			"EndpointSlice default/web-abc: endpoints[0].conditions are not booleans",
			NULL);
	}
	if (test__start_subtest("slice_ports")) {
		expect_rejected(
			SLICE("default", "web-abc", "web",
			      "'ports':[{'name':'http','port':0}]",
			      EP("198.18.2.1", "n")),
			"EndpointSlice default/web-abc: ports[0].port 0 out of range 1..65535",
			NULL);
		expect_rejected(
			SLICE("default", "web-abc", "web",
			      "'ports':[{'name':'http','port':8080,"
			      "'protocol':'tcp'}]",
			      EP("198.18.2.1", "n")),
			"EndpointSlice default/web-abc: ports[0].protocol \"tcp\" unknown",
			NULL);
	}
	if (test__start_subtest("slice_service_label")) {
		expect_rejected(
			SLICE_X("default", "web-x", "", "IPv4",
				SPORT_HTTP
				",'endpoints':[" EP("198.18.2.1", "n") "]"),
			"EndpointSlice default/web-x: label kubernetes.io/service-name missing",
			NULL);
		expect_rejected(
			SLICE("default", "x", "y", SPORT_HTTP,
			      EP("198.18.2.1", "n")),
			"EndpointSlice default/x: service default/y not found",
			NULL);
		/* same name, other namespace: not found either */
		expect_rejected(
			SLICE("other", "web-1", "web", SPORT_HTTP,
			      EP("198.18.2.1", "n")),
			"EndpointSlice other/web-1: service other/web not found",
			NULL);
	}
	if (test__start_subtest("cluster_ips_from_outside")) {
		__be32 addrs[2];
		struct model_config cfg = node_cfg(addrs);
		const struct model_frontend *in, *out;
		struct fx f;

		/* without --cluster-cidr: a ClusterIP is internal only */
		fx_build(&f, WEB_SVC, WEB_SLICE);
		ASSERT_OK(f.ret, "build");
		ASSERT_TRUE(find_fe(&f.st, "198.19.96.10", 80, IPPROTO_TCP,
				    SVCD_SCOPE_EXTERNAL) == NULL,
			    "no external ClusterIP frontend");
		fx_free(&f);

		cfg.cluster_ips_from_outside = true;
		fx_build_cfg(&f, &cfg, WEB_SVC, WEB_SLICE, NULL);
		ASSERT_OK(f.ret, "build");
		in = find_fe(&f.st, "198.19.96.10", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		out = find_fe(&f.st, "198.19.96.10", 80, IPPROTO_TCP,
			      SVCD_SCOPE_EXTERNAL);
		if (ASSERT_TRUE(in && out, "both scopes")) {
			ASSERT_EQ(out->flags & SVCD_FE_TYPE_MASK,
				  SVCD_TYPE_CLUSTER_IP, "a ClusterIP");
			ASSERT_TRUE(out->flags & SVCD_FE_SNAT,
				    "from outside: SNAT toward other nodes");
			ASSERT_TRUE(!(in->flags & SVCD_FE_SNAT),
				    "from pods: no SNAT");
			ASSERT_EQ(out->set_index, in->set_index,
				  "the same backends");
		}
		fx_free(&f);
	}
	if (test__start_subtest("slice_without_service_quiet_for_api")) {
		__be32 addrs[2];
		struct model_config cfg = node_cfg(addrs);
		struct fx f;

		/* the API source: a slice before its Service is no error */
		cfg.quiet_orphan_slices = true;
		fx_build_cfg(&f, &cfg, WEB_SVC, WEB_SLICE,
			     SLICE("default", "x", "y", SPORT_HTTP,
				   EP("198.18.2.1", "n")),
			     NULL);
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no error line");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("slice_backends_absent_whole")) {
		struct fx f;

		/* the good endpoints of a bad slice are not used either */
		fx_build(&f, WEB_SVC, WEB_SLICE,
			 SLICE("default", "web-2", "web", SPORT_HTTP,
			       EP("198.18.2.1", "node-b"),
			       EP("198.18.2.300", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one line");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("objects")) {
		expect_rejected("42", "items[1]: not an object", NULL);
		expect_rejected(
			"{'kind':'Service','metadata':{'namespace':'x'}}",
			"Service items[1]: metadata.name missing", NULL);
		expect_rejected("{'kind':'Service','apiVersion':'v1',"
				"'metadata':{'name':'x'},'spec':{}}",
				"Service x: metadata.namespace missing", NULL);
		expect_rejected("{'metadata':{'name':'x','namespace':'y'}}",
				"items[1]: kind missing", NULL);
		expect_rejected(
			"{'kind':'Pod','apiVersion':'v1',"
			"'metadata':{'name':'p','namespace':'default'}}",
			"Pod default/p: unknown kind (apiVersion v1), want Service v1, EndpointSlice discovery.k8s.io/v1 or Node v1",
			NULL);
		expect_rejected(
			"{'kind':'Service','apiVersion':'apps/v1',"
			"'metadata':{'name':'p','namespace':'default'}}",
			"Service default/p: unknown kind (apiVersion apps/v1), want Service v1, EndpointSlice discovery.k8s.io/v1 or Node v1",
			NULL);
		expect_rejected(
			"{'kind':'EndpointSlice',"
			"'apiVersion':'discovery.k8s.io/v1beta1',"
			"'metadata':{'name':'p','namespace':'default'}}",
			"EndpointSlice default/p: unknown kind (apiVersion discovery.k8s.io/v1beta1), want Service v1, EndpointSlice discovery.k8s.io/v1 or Node v1",
			NULL);
		expect_rejected("{" SVC_META("default", "nospec", "") "}",
				"Service default/nospec: spec missing", NULL);
	}
	if (test__start_subtest("name_too_long")) {
#define L60 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		struct fx f;

		fx_build(&f, WEB_SVC,
			 SVC(L60 "bbb", L60 "cccc",
			     "'clusterIP':'198.19.96.20'," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one line");
		ASSERT_TRUE(
			fx_has_err(&f,
				   "namespace/name longer than 127 characters"),
			"cause");
		ASSERT_TRUE(!strncmp(f.errs[0], "Service " L60, 68),
			    "names the Service");
		ASSERT_EQ(f.st.n_frontends, 1, "web only");
		fx_free(&f);

		/* 63 + 1 + 63 fits */
		fx_build(&f, SVC(L60 "bbb", L60 "ccc",
				 "'clusterIP':'198.19.96.20'," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no error");
		ASSERT_EQ(f.st.n_frontends, 1, "installed");
		fx_free(&f);
#undef L60
	}
	if (test__start_subtest("duplicates")) {
		struct fx f;

		fx_build(&f, WEB_SVC, WEB_SLICE,
			 SVC("default", "web",
			     "'clusterIP':'198.19.96.77'," PORT_HTTP),
			 SLICE("default", "web-1", "web", SPORT_HTTP,
			       EP("198.18.9.9", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 2, "two lines");
		ASSERT_STREQ(
			f.errs[0],
			"Service default/web: duplicate object, the first one is used",
			"Service");
		ASSERT_STREQ(
			f.errs[1],
			"EndpointSlice default/web-1: duplicate object, the first one is used",
			"EndpointSlice");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		ASSERT_EQ(f.st.n_frontends, 1, "first only");
		fx_free(&f);
	}
	if (test__start_subtest("document")) {
		__be32 addrs[2];
		struct model_config cfg = node_cfg(addrs);
		struct model_state st = { 0 };
		const char *text;
		struct fx f = { 0 };
		cJSON *doc;
		int ret;

		text = "{\"kind\":\"List\",\"items\":[{\"kind\":}]}";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_EQ(ret, -EINVAL, "parse error");
		ASSERT_EQ(f.n_errs, 1, "one line");
		ASSERT_STREQ(f.errs[0],
			     "JSON parse error at byte 32 (line 1, column 33)",
			     "position");
		ASSERT_EQ(st.n_sets + st.n_frontends, 0, "nothing filled");

		f.n_errs = 0;
		text = "[]\n\n  x";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_EQ(ret, -EINVAL, "trailing garbage");
		ASSERT_STREQ(f.errs[0],
			     "JSON parse error at byte 6 (line 3, column 3)",
			     "position");

		f.n_errs = 0;
		text = "{\"kind\":\"Service\",\"items\":[]}";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_EQ(ret, -EINVAL, "not a List");
		ASSERT_EQ(f.n_errs, 1, "one line");

		f.n_errs = 0;
		doc = cJSON_CreateString("x");
		ret = model_build(doc, &cfg, fx_err, &f, &st);
		ASSERT_EQ(ret, -EINVAL, "a string");
		cJSON_Delete(doc);

		/* a bare array, an empty List, a ServiceList */
		f.n_errs = 0;
		text = "[{\"apiVersion\":\"v1\",\"kind\":\"Service\","
		       "\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},"
		       "\"spec\":{\"clusterIP\":\"198.19.96.1\","
		       "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}}]";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_OK(ret, "array");
		ASSERT_EQ(st.n_frontends, 1, "one frontend");
		ASSERT_OK_PTR(find_fe(&st, "198.19.96.1", 53, IPPROTO_UDP,
				      SVCD_SCOPE_INTERNAL),
			      "UDP ClusterIP");
		model_state_free(&st);
		text = "{\"kind\":\"List\",\"items\":null}";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_OK(ret, "empty List");
		ASSERT_EQ(st.n_frontends + st.n_sets, 0, "empty");
		model_state_free(&st);
		text = "{\"kind\":\"ServiceList\",\"items\":[]}";
		ret = model_build_text(text, strlen(text), &cfg, fx_err, &f,
				       &st);
		ASSERT_OK(ret, "ServiceList");
		model_state_free(&st);
		ASSERT_EQ(f.n_errs, 0, "no errors");
		/* no error callback at all */
		text = "[1]";
		ret = model_build_text(text, strlen(text), &cfg, NULL, NULL,
				       &st);
		ASSERT_OK(ret, "NULL err");
		model_state_free(&st);
	}
}

/* ---- determinism ----------------------------------------------------- */

static bool same_state(const struct model_state *a, const struct model_state *b)
{
	size_t i;

	if (a->n_sets != b->n_sets || a->n_frontends != b->n_frontends)
		return false;
	for (i = 0; i < a->n_sets; i++) {
		const struct model_set *x = &a->sets[i], *y = &b->sets[i];

		if (strcmp(x->name, y->name) ||
		    strcmp(x->port_name, y->port_name) ||
		    x->proto != y->proto || x->set != y->set ||
		    x->affinity_timeout != y->affinity_timeout ||
		    x->n_backends != y->n_backends ||
		    (x->n_backends &&
		     memcmp(x->backends, y->backends,
			    x->n_backends * sizeof(*x->backends))))
			return false;
	}
	for (i = 0; i < a->n_frontends; i++) {
		const struct model_frontend *x = &a->frontends[i];
		const struct model_frontend *y = NULL;
		size_t j;

		for (j = 0; j < b->n_frontends; j++)
			if (!memcmp(&b->frontends[j].key, &x->key,
				    sizeof(x->key)))
				y = &b->frontends[j];
		if (!y || y->flags != x->flags || y->set_index != x->set_index)
			return false;
	}
	return true;
}

void test_model_determinism(void)
{
	static const char *const objs[] = {
		SVC("ns", "b",
		    "'clusterIP':'198.19.96.10','ports':["
		    "{'name':'z','port':81},{'name':'a','port':82},"
		    "{'name':'a','port':82,'protocol':'UDP'}]"),
		SVC("ns", "a",
		    "'clusterIP':'198.19.96.11',"
		    "'internalTrafficPolicy':'Local'," PORT_HTTP),
		SVC("ns", "c",
		    "'clusterIP':'198.19.96.10','ports':["
		    "{'name':'z','port':81}]"),
		SLICE("ns", "b-2", "b",
		      "'ports':[{'name':'z','port':1},{'name':'a','port':2}]",
		      EP("198.18.3.1", "node-b"), EP("10.0.0.1", NODE),
		      EP("198.18.2.1", "n")),
		SLICE("ns", "b-1", "b",
		      "'ports':[{'name':'z','port':1},{'name':'a','port':2}]",
		      EP("198.18.3.1", NODE), EP("198.18.0.255", "n")),
		TWO_NODE_SLICE("ns", "a-1", "a"),
	};
	struct fx f1, f2;

	fx_build(&f1, objs[0], objs[1], objs[2], objs[3], objs[4], objs[5]);
	fx_build(&f2, objs[5], objs[4], objs[3], objs[2], objs[1], objs[0]);
	ASSERT_OK(f1.ret, "build 1");
	ASSERT_OK(f2.ret, "build 2");
	ASSERT_TRUE(same_state(&f1.st, &f2.st), "same output in any order");
	ASSERT_EQ(f1.n_errs, 1, "c loses");
	ASSERT_EQ(f2.n_errs, 1, "c loses");
	ASSERT_STREQ(
		f1.errs[0],
		"Service ns/c: frontend 198.19.96.10:81/TCP already used by ns/b",
		"error line");
	if (ASSERT_EQ(f1.st.n_sets, 4, "a: local; b: a/TCP, a/UDP, z/TCP")) {
		ASSERT_STREQ(f1.st.sets[0].name, "ns/a", "sets[0]");
		ASSERT_EQ(f1.st.sets[0].set, SVCD_SET_LOCAL, "sets[0]");
		ASSERT_STREQ(f1.st.sets[1].port_name, "a", "sets[1]");
		ASSERT_EQ(f1.st.sets[1].proto, IPPROTO_TCP, "sets[1]");
		ASSERT_EQ(f1.st.sets[2].proto, IPPROTO_UDP, "sets[2]");
		ASSERT_STREQ(f1.st.sets[3].port_name, "z", "sets[3]");
	}
	ASSERT_BACKENDS(cip_set(&f1, "198.19.96.10", 81),
			"10.0.0.1:1/w1+local 198.18.0.255:1/w1 "
			"198.18.2.1:1/w1 198.18.3.1:1/w1+local");
	fx_free(&f1);
	fx_free(&f2);
}

/* ---- LoadBalancer extras: source ranges, health check node port -------- */

void test_model_lb_extras(void)
{
	const struct model_frontend *fe;
	struct in_addr a;
	struct fx f;

	if (test__start_subtest("source_ranges_per_lb_ip")) {
		fx_build(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.60',"
			      "'loadBalancerSourceRanges':['198.19.0.0/25',"
			      "'198.19.0.200/32','2001:db8::/32'],"
			      "'ports':[{'name':'http','port':80,"
			      "'nodePort':30060}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.6'},"
			      "{'ip':'198.19.98.7'}]}"),
			TWO_NODE_SLICE("default", "lb-1", "lb"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		ASSERT_EQ(f.st.n_src_ranges, 4, "2 LB IPs x 2 IPv4 ranges");
		inet_pton(AF_INET, "198.19.98.6", &a);
		ASSERT_EQ(f.st.src_ranges[0].lb_addr, a.s_addr, "first LB IP");
		inet_pton(AF_INET, "198.19.0.0", &a);
		ASSERT_EQ(f.st.src_ranges[0].prefix, a.s_addr, "prefix");
		ASSERT_EQ(f.st.src_ranges[0].len, 25, "length");
		ASSERT_EQ(f.st.src_ranges[1].len, 32, "host range");
		fe = find_fe(&f.st, "198.19.98.7", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT |
				  SVCD_FE_SRC_RANGES,
			  "LB IP checks sources");
		fe = find_fe(&f.st, "198.19.0.1", 30060, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT |
				  SVCD_FE_NODE_ADDR,
			  "NodePort does not (as kube-proxy)");
		fx_free(&f);
	}
	if (test__start_subtest("bad_source_range_rejects_service")) {
		fx_build(&f,
			 SVC("default", "lb",
			     "'type':'LoadBalancer','clusterIP':'198.19.96.61',"
			     "'loadBalancerSourceRanges':['198.19.0.0/33'],"
			     "'ports':[{'name':'http','port':80}]"));
		ASSERT_OK(f.ret, "build");
		ASSERT_TRUE(fx_has_err(&f, "Service default/lb: "
					   "spec.loadBalancerSourceRanges[0]"),
			    "error names the Service and the entry");
		ASSERT_EQ(f.st.n_frontends, 0, "nothing installed");
		fx_free(&f);
	}
	if (test__start_subtest("health_check_counts_local_ready")) {
		fx_build(
			&f,
			SVC_X("default", "hc", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.62',"
			      "'externalTrafficPolicy':'Local',"
			      "'healthCheckNodePort':32001,"
			      "'ports':[{'name':'http','port':80,'nodePort':30062},"
			      "{'name':'dns','port':53,'protocol':'UDP',"
			      "'nodePort':30063}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.8'}]}"),
			SLICE("default", "hc-1", "hc",
			      "'ports':[{'name':'http','port':8080},"
			      "{'name':'dns','port':5353,'protocol':'UDP'}]",
			      EP("198.18.1.2", NODE), EP("198.18.1.3", NODE),
			      EPC("198.18.1.4", NODE, TERM),
			      EP("198.18.2.2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.st.n_healthchecks, 1, "one health check");
		ASSERT_EQ(f.st.healthchecks[0].port, 32001, "port");
		ASSERT_STREQ(f.st.healthchecks[0].name, "default/hc", "name");
		ASSERT_EQ(f.st.healthchecks[0].local_endpoints, 2,
			  "2 local ready (not the terminating or remote one), "
			  "counted once across ports");
		fe = find_fe(&f.st, "198.19.0.1", 30062, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY |
				  SVCD_FE_NODE_ADDR,
			  "eTP Local: no SNAT");
		fx_free(&f);
	}
	if (test__start_subtest("external_ip_on_node_address")) {
		fx_build(&f,
			 SVC("default", "eip",
			     "'clusterIP':'198.19.96.64','externalIPs':"
			     "['198.19.0.1','198.19.97.64'],"
			     "'ports':[{'name':'http','port':8081}]"),
			 TWO_NODE_SLICE("default", "eip-1", "eip"));
		ASSERT_OK(f.ret, "build");
		fe = find_fe(&f.st, "198.19.0.1", 8081, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_TRUE(flags_of(fe) & SVCD_FE_NODE_ADDR,
			    "a node address: replies come from this node");
		fe = find_fe(&f.st, "198.19.97.64", 8081, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_FALSE(flags_of(fe) & SVCD_FE_NODE_ADDR,
			     "another address: not");
		fx_free(&f);
	}
	if (test__start_subtest("health_check_without_ingress_ip")) {
		fx_build(
			&f,
			SVC("default", "hc",
			    "'type':'LoadBalancer','clusterIP':'198.19.96.65',"
			    "'externalTrafficPolicy':'Local',"
			    "'healthCheckNodePort':32003,"
			    "'ports':[{'name':'http','port':80,'nodePort':30065}]"),
			TWO_NODE_SLICE("default", "hc-1", "hc"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.st.n_healthchecks, 1,
			  "served before the LB has an address");
		ASSERT_EQ(f.st.healthchecks[0].local_endpoints, 1, "one local");
		fx_free(&f);
	}
	if (test__start_subtest("health_check_zero_local")) {
		fx_build(
			&f,
			SVC_X("default", "hc", "",
			      "'type':'LoadBalancer','clusterIP':'198.19.96.63',"
			      "'externalTrafficPolicy':'Local',"
			      "'healthCheckNodePort':32002,"
			      "'ports':[{'name':'http','port':80,'nodePort':30064}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.9'}]}"),
			SLICE("default", "hc-1", "hc", SPORT_HTTP,
			      EP("198.18.2.2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.st.n_healthchecks, 1, "still served");
		ASSERT_EQ(f.st.healthchecks[0].local_endpoints, 0,
			  "none local");
		fx_free(&f);
	}
}

/* ---- IPv6 and dual-stack (kube-proxy's dual-stack cases) ------------ */

#define NODE6_A "2001:db8::1"
#define NODE6_B "2001:db8::2"

/* node_cfg() with IPv6 node addresses too. */
static struct model_config node_cfg6(__be32 *addrs, union svcd_ip6 *addrs6)
{
	struct model_config cfg = node_cfg(addrs);

	addrs6[0] = ip6(NODE6_A);
	addrs6[1] = ip6(NODE6_B);
	cfg.node_addrs6 = addrs6;
	cfg.n_node_addrs6 = 2;
	return cfg;
}

#define fx_build6(f, ...)                                                    \
	({                                                                   \
		__be32 ___addrs[2];                                          \
		union svcd_ip6 ___addrs6[2];                                 \
		struct model_config ___cfg = node_cfg6(___addrs, ___addrs6); \
		fx_build_cfg(f, &___cfg, __VA_ARGS__, NULL);                 \
	})

/* An IPv6 EndpointSlice of Service svc. */
#define SLICE6(ns, name, svc, ports, ...)         \
	SLICE_X(ns, name, SVC_LABEL(svc), "IPv6", \
		ports ",'endpoints':" EPS(__VA_ARGS__))

/* A dual-stack Service web (IPv4 first) with one port. */
#define DUAL_SPEC(extra)                                  \
	"'clusterIP':'198.19.96.10',"                     \
	"'clusterIPs':['198.19.96.10','2001:db8:96::a']," \
	"'ipFamilies':['IPv4','IPv6'],"                   \
	"'ipFamilyPolicy':'RequireDualStack'," extra PORT_HTTP

static size_t count_family(const struct model_state *st, int family)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_frontends; i++)
		n += st->frontends[i].family == family;
	return n;
}

void test_model_dual_stack(void)
{
	const struct model_frontend *fe;
	const struct model_set *s4, *s6;
	struct fx f;

	if (test__start_subtest("dual_stack_two_slices")) {
		fx_build6(&f, SVC("default", "web", DUAL_SPEC("")),
			  SLICE("default", "web-4", "web", SPORT_HTTP,
				EP("198.18.1.2", NODE),
				EP("198.18.2.2", "node-b")),
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:2::2", "node-b"),
				 EP("2001:db8:1::2", NODE)),
			  SLICE_X("default", "web-fqdn", SVC_LABEL("web"),
				  "FQDN",
				  SPORT_HTTP ",'endpoints':[" FQDN_EP "]"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 2, "one ClusterIP per family");
		ASSERT_EQ(f.st.n_sets, 2, "one set per family");
		s4 = cip_set(&f, "198.19.96.10", 80);
		s6 = cip_set(&f, "2001:db8:96::a", 80);
		ASSERT_NEQ(s4, s6, "different sets");
		ASSERT_EQ(s4->family, MODEL_IPV4, "IPv4 set");
		ASSERT_EQ(s6->family, MODEL_IPV6, "IPv6 set");
		ASSERT_STREQ(s6->name, "default/web", "same Service");
		ASSERT_STREQ(s6->port_name, "http", "same port");
		ASSERT_BACKENDS(s4,
				"198.18.1.2:8080/w1+local 198.18.2.2:8080/w1");
		ASSERT_BACKENDS(s6, "[2001:db8:1::2]:8080/w1+local "
				    "[2001:db8:2::2]:8080/w1");
		fe = find_fe(&f.st, "2001:db8:96::a", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_CLUSTER_IP, "v6 ClusterIP");
		fx_free(&f);
	}
	if (test__start_subtest("ipv6_first_families_from_addresses")) {
		/* no ipFamilies: each address says its own family */
		fx_build6(
			&f,
			SVC("default", "web",
			    "'clusterIP':'2001:db8:96::a',"
			    "'clusterIPs':['2001:db8:96::a','198.19.96.10']," PORT_HTTP),
			SLICE6("default", "web-6", "web", SPORT_HTTP,
			       EP("2001:db8:1::2", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV4), 1, "v4 ClusterIP");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV6), 1, "v6 ClusterIP");
		ASSERT_BACKENDS(cip_set(&f, "2001:db8:96::a", 80),
				"[2001:db8:1::2]:8080/w1+local");
		ASSERT_EQ(cip_set(&f, "198.19.96.10", 80)->n_backends, 0,
			  "no IPv4 slice: v4 refuses");
		fx_free(&f);
	}
	if (test__start_subtest("ipv6_only")) {
		fx_build6(&f,
			  SVC("default", "web",
			      "'clusterIP':'2001:db8:96::b',"
			      "'clusterIPs':['2001:db8:96::b'],"
			      "'ipFamilies':['IPv6'],"
			      "'ipFamilyPolicy':'SingleStack'," PORT_HTTP),
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:1::2", NODE),
				 EPC("2001:db8:2::3", "node-b", TERM)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 1, "v6 ClusterIP only");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV6), 1, "IPv6");
		ASSERT_BACKENDS(cip_set(&f, "2001:db8:96::b", 80),
				"[2001:db8:1::2]:8080/w1+local");
		/* the clusterIP field alone, without clusterIPs */
		fx_free(&f);
		fx_build6(&f, SVC("default", "old",
				  "'clusterIP':'2001:db8:96::c'," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_OK_PTR(find_fe(&f.st, "2001:db8:96::c", 80, IPPROTO_TCP,
				      SVCD_SCOPE_INTERNAL),
			      "clusterIP only");
		fx_free(&f);
	}
	if (test__start_subtest("slice_family_matches_no_cluster_ip")) {
		/* an IPv4 Service with an IPv6 slice: the slice is unused */
		fx_build6(&f, WEB_SVC,
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:1::2", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 1, "v4 ClusterIP only");
		ASSERT_EQ(f.st.n_sets, 1, "no IPv6 set");
		ASSERT_EQ(cip_set(&f, "198.19.96.10", 80)->n_backends, 0,
			  "refuses: no IPv4 endpoint");
		fx_free(&f);
	}
	if (test__start_subtest("single_stack_ipv6_ignores_ipv4_slices")) {
		fx_build6(&f,
			  SVC("default", "web",
			      "'clusterIPs':['2001:db8:96::a'],"
			      "'ipFamilies':['IPv6'],"
			      "'ipFamilyPolicy':'SingleStack'," PORT_HTTP),
			  SLICE("default", "web-4", "web", SPORT_HTTP,
				EP("198.18.1.2", NODE)),
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:2::2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV4), 0, "no v4");
		ASSERT_EQ(f.st.n_sets, 1, "one set");
		ASSERT_BACKENDS(cip_set(&f, "2001:db8:96::a", 80),
				"[2001:db8:2::2]:8080/w1");
		fx_free(&f);
	}
	if (test__start_subtest("prefer_dual_stack_one_family")) {
		/* a single-stack cluster gives PreferDualStack one family */
		fx_build6(&f,
			  SVC("default", "web",
			      "'clusterIP':'198.19.96.10',"
			      "'clusterIPs':['198.19.96.10'],"
			      "'ipFamilies':['IPv4'],"
			      "'ipFamilyPolicy':'PreferDualStack'," PORT_HTTP),
			  WEB_SLICE,
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:1::2", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_EQ(f.st.n_frontends, 1, "IPv4 only");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV6), 0, "no v6");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("external_ips_mixed_families")) {
		fx_build6(
			&f,
			SVC("default", "web",
			    DUAL_SPEC("'externalIPs':['198.19.97.1',"
				      "'2001:db8::97:1'],")),
			SVC("default", "v4",
			    "'clusterIP':'198.19.96.11',"
			    "'externalIPs':['198.19.97.2','2001:db8::97:2']," PORT_HTTP),
			WEB_SLICE,
			SLICE6("default", "web-6", "web", SPORT_HTTP,
			       EP("2001:db8:2::2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		fe = find_fe(&f.st, "2001:db8::97:1", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_EXTERNAL_IP | SVCD_FE_SNAT,
			  "v6 externalIP from outside");
		ASSERT_BACKENDS(fe_set(&f.st, fe), "[2001:db8:2::2]:8080/w1");
		fe = find_fe(&f.st, "198.19.97.1", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_BACKENDS(fe_set(&f.st, fe), "198.18.1.2:8080/w1+local");
		ASSERT_OK_PTR(find_fe(&f.st, "198.19.97.2", 80, IPPROTO_TCP,
				      SVCD_SCOPE_EXTERNAL),
			      "v4 externalIP of the IPv4 Service");
		ASSERT_FALSE(find_fe(&f.st, "2001:db8::97:2", 80, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL),
			     "v6 externalIP of an IPv4-only Service: unserved");
		/* web: 2 ClusterIPs + 2 externalIPs x 2 scopes */
		ASSERT_EQ(count_fes(&f.st, "default/web"), 6, "web frontends");
		fx_free(&f);
	}
	if (test__start_subtest("lb_ingress_v6")) {
		fx_build6(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer',"
			      "'clusterIPs':['2001:db8:96::c'],"
			      "'ipFamilies':['IPv6'],"
			      "'ports':[{'name':'http','port':80,"
			      "'nodePort':30080}]",
			      "'loadBalancer':{'ingress':[{'ip':'2001:db8::98:1'},"
			      "{'ip':'198.19.98.1'},{'ip':'2001:db8::98:2',"
			      "'ipMode':'Proxy'}]}"),
			SLICE6("default", "lb-6", "lb", SPORT_HTTP,
			       EP("2001:db8:1::2", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		fe = find_fe(&f.st, "2001:db8::98:1", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT,
			  "v6 LB IP");
		ASSERT_FALSE(find_fe(&f.st, "2001:db8::98:2", 80, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL),
			     "ipMode Proxy skipped");
		ASSERT_FALSE(find_fe(&f.st, "198.19.98.1", 80, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL),
			     "v4 LB IP of an IPv6 Service unserved");
		ASSERT_EQ(count_family(&f.st, MODEL_IPV4), 0, "nothing IPv4");
		fx_free(&f);
	}
	if (test__start_subtest("source_ranges_v6")) {
		fx_build6(
			&f,
			SVC_X("default", "lb", "",
			      "'type':'LoadBalancer',"
			      "'clusterIPs':['198.19.96.60','2001:db8:96::60'],"
			      "'ipFamilies':['IPv4','IPv6'],"
			      "'loadBalancerSourceRanges':['198.19.0.0/25',"
			      "'2001:db8::abcd:1/100','2001:db8:7::/48'],"
			      "'ports':[{'name':'http','port':80,"
			      "'nodePort':30060},{'name':'dns','port':53,"
			      "'protocol':'UDP','nodePort':30061}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.6'},"
			      "{'ip':'2001:db8::98:6'}]}"),
			SVC_X("default", "lb4", "",
			      "'type':'LoadBalancer',"
			      "'clusterIPs':['198.19.96.61','2001:db8:96::61'],"
			      "'loadBalancerSourceRanges':['198.19.0.0/24'],"
			      "'ports':[{'name':'http','port':80}]",
			      "'loadBalancer':{'ingress':[{'ip':'198.19.98.7'},"
			      "{'ip':'2001:db8::98:7'}]}"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "no errors");
		/* lb: 1 v4 range x 1 v4 LB IP + 2 v6 x 1; lb4: 1 x 1 */
		ASSERT_EQ(f.st.n_src_ranges, 4,
			  "ranges per LB IP, not per port");
		ASSERT_EQ(f.st.src_ranges[1].family, MODEL_IPV6, "v6 range");
		{
			union svcd_ip6 lb = ip6("2001:db8::98:6");
			union svcd_ip6 pfx = ip6("2001:db8::a000:0");

			ASSERT_TRUE(!memcmp(&f.st.src_ranges[1].lb_addr6, &lb,
					    sizeof(lb)),
				    "v6 LB IP");
			ASSERT_TRUE(!memcmp(&f.st.src_ranges[1].prefix6, &pfx,
					    sizeof(pfx)),
				    "host bits cleared");
			ASSERT_EQ(f.st.src_ranges[1].len, 100, "length");
			ASSERT_EQ(f.st.src_ranges[2].len, 48, "length /48");
			ASSERT_EQ(f.st.src_ranges[0].family, MODEL_IPV4,
				  "v4 range");
			ASSERT_EQ(f.st.src_ranges[0].len, 25, "v4 length");
		}
		fe = find_fe(&f.st, "2001:db8::98:6", 53, IPPROTO_UDP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT |
				  SVCD_FE_SRC_RANGES,
			  "v6 LB IP checks sources");
		fe = find_fe(&f.st, "2001:db8::98:7", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe), SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT,
			  "only v4 ranges: v6 LB IP open (kube-proxy)");
		fe = find_fe(&f.st, "198.19.98.7", 80, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT |
				  SVCD_FE_SRC_RANGES,
			  "v4 LB IP checks sources");
		fx_free(&f);
	}
	if (test__start_subtest("node_port_v6_node_addresses")) {
		fx_build6(&f,
			  SVC("default", "np",
			      "'type':'NodePort',"
			      "'clusterIPs':['198.19.96.20','2001:db8:96::20'],"
			      "'ipFamilies':['IPv4','IPv6'],"
			      "'externalTrafficPolicy':'Local',"
			      "'ports':[{'name':'http','port':80,"
			      "'nodePort':30080}]"),
			  SLICE6("default", "np-6", "np", SPORT_HTTP,
				 EP("2001:db8:1::2", NODE),
				 EP("2001:db8:2::2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		fe = find_fe(&f.st, NODE6_B, 30080, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY |
				  SVCD_FE_NODE_ADDR,
			  "v6 NodePort, eTP Local");
		ASSERT_BACKENDS(fe_set(&f.st, fe),
				"[2001:db8:1::2]:8080/w1+local");
		fe = find_fe(&f.st, NODE6_A, 30080, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		ASSERT_BACKENDS(fe_set(&f.st, fe),
				"[2001:db8:1::2]:8080/w1+local "
				"[2001:db8:2::2]:8080/w1");
		fe = find_fe(&f.st, "198.19.0.2", 30080, IPPROTO_TCP,
			     SVCD_SCOPE_EXTERNAL);
		ASSERT_EQ(flags_of(fe),
			  SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY |
				  SVCD_FE_NODE_ADDR,
			  "v4 NodePort too, empty: refuses");
		/* 2 ClusterIPs + 4 node addresses x 2 scopes */
		ASSERT_EQ(f.st.n_frontends, 10, "frontends");
		fx_free(&f);
	}
	if (test__start_subtest("node_without_v6_address")) {
		fx_build(&f,
			 SVC("default", "np1",
			     "'type':'NodePort',"
			     "'clusterIPs':['198.19.96.21','2001:db8:96::21'],"
			     "'ports':[{'name':'http','port':80,"
			     "'nodePort':30081},{'name':'https','port':443,"
			     "'nodePort':30443}]"),
			 SVC("default", "np2",
			     "'type':'NodePort',"
			     "'clusterIPs':['2001:db8:96::22'],"
			     "'ports':[{'name':'http','port':80,"
			     "'nodePort':30082}]"));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one line per sync, not per Service");
		ASSERT_STREQ(f.errs[0],
			     "NodePorts: the node has no IPv6 address; IPv6 "
			     "NodePorts of 2 Service(s) (default/np1, ...) not "
			     "served",
			     "the line");
		ASSERT_OK_PTR(find_fe(&f.st, "2001:db8:96::22", 80, IPPROTO_TCP,
				      SVCD_SCOPE_INTERNAL),
			      "v6 ClusterIP served");
		ASSERT_OK_PTR(find_fe(&f.st, "198.19.0.1", 30081, IPPROTO_TCP,
				      SVCD_SCOPE_EXTERNAL),
			      "v4 NodePort served");
		/* np1: 2 ports x (2 ClusterIPs + 2 v4 x 2); np2: 1 */
		ASSERT_EQ(f.st.n_frontends, 13, "no v6 NodePorts");
		fx_free(&f);
	}
	if (test__start_subtest("malformed_ipv6")) {
		fx_build6(
			&f,
			SVC("default", "a",
			    "'clusterIPs':['2001:db8:96::g'],"
			    "'ipFamilies':['IPv6']," PORT_HTTP),
			SVC("default", "b",
			    "'clusterIPs':['2001:db8::96::b']," PORT_HTTP),
			SVC("default", "c",
			    "'clusterIPs':['198.19.96.12'],"
			    "'ipFamilies':['IPv6']," PORT_HTTP),
			SVC("default", "d",
			    "'clusterIPs':['198.19.96.13','2001:db8:96::d'],"
			    "'externalIPs':['2001:db8::97:1:2:3:4:5:6']," PORT_HTTP),
			SVC("default", "e",
			    "'type':'LoadBalancer',"
			    "'clusterIPs':['2001:db8:96::e'],"
			    "'loadBalancerSourceRanges':['2001:db8::/129']," PORT_HTTP),
			SVC("default", "f",
			    "'clusterIPs':['2001:db8:96::f','2001:db8:96::1f']," PORT_HTTP),
			SVC("default", "web",
			    "'clusterIPs':['2001:db8:96::a']," PORT_HTTP),
			SLICE6("default", "web-6", "web", SPORT_HTTP,
			       EP("2001:db8:1::2", NODE)),
			SLICE6("default", "web-x", "web", SPORT_HTTP,
			       EP("198.18.1.2", NODE)),
			SLICE6("default", "web-y", "web", SPORT_HTTP,
			       EP("2001:db8:1:::3", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_TRUE(fx_has_err(&f,
				       "Service default/a: spec.clusterIPs[0] "
				       "\"2001:db8:96::g\" is not an IPv6 "
				       "address"),
			    "bad hex digit");
		ASSERT_TRUE(fx_has_err(&f,
				       "Service default/b: spec.clusterIPs[0] "
				       "\"2001:db8::96::b\" is not an IP "
				       "address"),
			    "two ::");
		ASSERT_TRUE(fx_has_err(&f,
				       "Service default/c: spec.clusterIPs[0] "
				       "\"198.19.96.12\" is not an IPv6 "
				       "address"),
			    "family mismatch");
		ASSERT_TRUE(
			fx_has_err(&f,
				   "Service default/d: spec.externalIPs[0]"),
			"too many groups");
		ASSERT_TRUE(fx_has_err(&f, "Service default/e: "
					   "spec.loadBalancerSourceRanges[0] "
					   "\"2001:db8::/129\" is not a CIDR"),
			    "prefix too long");
		ASSERT_TRUE(fx_has_err(&f,
				       "Service default/f: spec.clusterIPs[1] "
				       "is a second IPv6 address"),
			    "two of one family");
		ASSERT_TRUE(fx_has_err(&f,
				       "EndpointSlice default/web-x: "
				       "endpoints[0].addresses[0] "
				       "\"198.18.1.2\" is not an IPv6 address"),
			    "IPv4 in an IPv6 slice");
		ASSERT_TRUE(fx_has_err(&f, "EndpointSlice default/web-y: "
					   "endpoints[0].addresses[0]"),
			    "bad slice address");
		ASSERT_EQ(f.n_errs, 8, "one line each");
		/* nothing else changed */
		ASSERT_EQ(f.st.n_frontends, 1, "web only");
		ASSERT_BACKENDS(cip_set(&f, "2001:db8:96::a", 80),
				"[2001:db8:1::2]:8080/w1+local");
		fx_free(&f);
	}
	if (test__start_subtest("cluster_cidr_per_family")) {
		__be32 addrs[2];
		union svcd_ip6 addrs6[2];
		struct model_config cfg = node_cfg6(addrs, addrs6);

		cfg.cluster_ips_from_outside6 = true;
		fx_build_cfg(&f, &cfg, SVC("default", "web", DUAL_SPEC("")),
			     NULL);
		ASSERT_OK(f.ret, "build");
		ASSERT_OK_PTR(find_fe(&f.st, "2001:db8:96::a", 80, IPPROTO_TCP,
				      SVCD_SCOPE_EXTERNAL),
			      "v6 ClusterIP from outside");
		ASSERT_FALSE(find_fe(&f.st, "198.19.96.10", 80, IPPROTO_TCP,
				     SVCD_SCOPE_EXTERNAL),
			     "no IPv4 cluster CIDR: v4 ClusterIP inside only");
		fx_free(&f);
	}
	if (test__start_subtest("weights_by_v6_address")) {
		fx_build6(&f,
			  SVC_X("default", "web",
				",'annotations':{'svcd.io/weights':"
				"'2001:db8:1::2=3,198.18.1.2=2'}",
				DUAL_SPEC(""), ""),
			  WEB_SLICE,
			  SLICE6("default", "web-6", "web", SPORT_HTTP,
				 EP("2001:db8:1::2", NODE),
				 EP("2001:db8:1::3", NODE)));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 0, "silent");
		ASSERT_BACKENDS(cip_set(&f, "2001:db8:96::a", 80),
				"[2001:db8:1::2]:8080/w3+local "
				"[2001:db8:1::3]:8080/w1+local");
		ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
				"198.18.1.2:8080/w2+local");
		fx_free(&f);
	}
	if (test__start_subtest("health_check_dual_stack")) {
		fx_build6(
			&f,
			SVC_X("default", "hc", "",
			      "'type':'LoadBalancer',"
			      "'clusterIPs':['198.19.96.62','2001:db8:96::62'],"
			      "'externalTrafficPolicy':'Local',"
			      "'healthCheckNodePort':32001,"
			      "'ports':[{'name':'http','port':80,"
			      "'nodePort':30062}]",
			      ""),
			SLICE("default", "hc-4", "hc", SPORT_HTTP,
			      EP("198.18.1.2", NODE)),
			SLICE6("default", "hc-6", "hc", SPORT_HTTP,
			       EP("2001:db8:1::2", NODE),
			       EP("2001:db8:1::3", NODE),
			       EP("2001:db8:2::2", "node-b")));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.st.n_healthchecks, 1, "one per Service");
		ASSERT_EQ(f.st.healthchecks[0].local_endpoints, 2,
			  "the larger family's local count");
		fx_free(&f);
	}
	if (test__start_subtest("conflict_v6")) {
		fx_build6(&f,
			  SVC("ns", "a",
			      "'clusterIPs':['2001:db8:96::a']," PORT_HTTP),
			  SVC("ns", "b",
			      "'clusterIPs':['2001:db8:96::a']," PORT_HTTP));
		ASSERT_OK(f.ret, "build");
		ASSERT_EQ(f.n_errs, 1, "one line");
		ASSERT_STREQ(f.errs[0],
			     "Service ns/b: frontend [2001:db8:96::a]:80/TCP "
			     "already used by ns/a",
			     "RFC 5952 [addr]:port");
		fx_free(&f);
	}
}

void test_model_drop_family(void)
{
	struct fx f;
	size_t dropped, i;

	fx_build6(&f,
		  SVC_X("default", "lb", "",
			"'type':'LoadBalancer',"
			"'clusterIPs':['198.19.96.60','2001:db8:96::60'],"
			"'loadBalancerSourceRanges':['198.19.0.0/25',"
			"'2001:db8:7::/48'],"
			"'ports':[{'name':'http','port':80,'nodePort':30060}]",
			"'loadBalancer':{'ingress':[{'ip':'198.19.98.6'},"
			"{'ip':'2001:db8::98:6'}]}"),
		  SVC("default", "v6",
		      "'clusterIPs':['2001:db8:96::b']," PORT_HTTP),
		  SVC("default", "web", DUAL_SPEC("")), WEB_SLICE,
		  SLICE6("default", "web-6", "web", SPORT_HTTP,
			 EP("2001:db8:1::2", NODE)));
	ASSERT_OK(f.ret, "build");
	dropped = model_state_drop_family(&f.st, MODEL_IPV6);
	/* lb: ClusterIP + LB x 2 + 2 NodePorts x 2; v6: 1; web: 1 */
	ASSERT_EQ(dropped, 1 + 2 + 4 + 1 + 1, "IPv6 frontends dropped");
	ASSERT_EQ(count_family(&f.st, MODEL_IPV6), 0, "none left");
	for (i = 0; i < f.st.n_sets; i++)
		ASSERT_EQ(f.st.sets[i].family, MODEL_IPV4, "IPv4 sets only");
	ASSERT_EQ(f.st.n_src_ranges, 1, "the IPv4 range");
	check_state(&f.st);
	ASSERT_BACKENDS(cip_set(&f, "198.19.96.10", 80),
			"198.18.1.2:8080/w1+local");
	ASSERT_OK_PTR(find_fe(&f.st, "198.19.0.2", 30060, IPPROTO_TCP,
			      SVCD_SCOPE_EXTERNAL),
		      "IPv4 NodePort kept, pointing at its set");
	fx_free(&f);
}

/* A state without sets still loses its source ranges of the family
 * (fuzz/corpus/store/regress-drop-family-no-sets: an IPv6 LoadBalancer
 * without ports, alone in the cluster, left its ranges for the IPv6
 * placeholder maps of a node without IPv6). */
void test_model_drop_family_no_sets(void)
{
	struct model_state st = {};

	st.src_ranges = calloc(2, sizeof(*st.src_ranges));
	if (!ASSERT_OK_PTR(st.src_ranges, "calloc"))
		return;
	st.n_src_ranges = 2;
	st.src_ranges[0].family = MODEL_IPV6;
	st.src_ranges[0].len = 64;
	st.src_ranges[0].lb_addr6.w[0] = htonl(0x20010db8);
	st.src_ranges[0].prefix6.w[0] = htonl(0x20010db8);
	st.src_ranges[1].family = MODEL_IPV4;
	st.src_ranges[1].len = 24;
	st.src_ranges[1].lb_addr = htonl(0xc6136206);
	st.src_ranges[1].prefix = htonl(0xc6130000);
	ASSERT_EQ(model_state_drop_family(&st, MODEL_IPV6), 0,
		  "no frontends to drop");
	ASSERT_EQ(st.n_src_ranges, 1, "the IPv6 range dropped");
	ASSERT_EQ(st.src_ranges[0].family, MODEL_IPV4, "the IPv4 range kept");
	model_state_free(&st);
}

/* ---- incremental builds (model_inc) ------------------------------------ */

#define INC_SVCS 16

/* Service i at version v (0: none) as JSON: ClusterIP, now and then one of
 * another Service's (a clash), NodePorts, a LoadBalancer with eTP Local
 * (healthCheckNodePort), source ranges, affinity, one or two ports. */
static void inc_svc_json(char *buf, size_t len, int i, unsigned int v)
{
	unsigned int r = v * 2654435761u ^ (unsigned int)i * 97u;
	int cip = (r >> 4) % 23 == 0 ? (i + 1) % INC_SVCS : i;
	bool np = (r >> 7) % 3 == 0, lb = (r >> 9) % 4 == 0;
	bool local = (r >> 11) % 2, ranges = (r >> 13) % 7 == 0;
	bool two = (r >> 15) % 2, aff = (r >> 17) % 5 == 0;
	char ingress[64];

	/* one LB IP each */
	snprintf(ingress, sizeof(ingress),
		 "\"ingress\":[{\"ip\":\"198.19.%d.1\"}]", 50 + i);
	snprintf(
		buf, len,
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":"
		"{\"namespace\":\"ns\",\"name\":\"s%02d\"},\"spec\":{"
		"\"type\":\"%s\",\"clusterIP\":\"198.19.96.%d\","
		"\"clusterIPs\":[\"198.19.96.%d\"],%s%s%s"
		"\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080%s}"
		"%s]},\"status\":{\"loadBalancer\":{%s}}}",
		i,
		lb ? "LoadBalancer" :
		np ? "NodePort" :
		     "ClusterIP",
		cip + 1, cip + 1,
		(lb || np) && local ? "\"externalTrafficPolicy\":\"Local\","
				      "" :
				      "",
		lb && local ? "\"healthCheckNodePort\":32000," : "",
		lb && ranges ?
			"\"loadBalancerSourceRanges\":[\"198.18.0.0/16\"]," :
		aff ? "\"sessionAffinity\":\"ClientIP\"," :
		      "",
		lb || np ? ",\"nodePort\":30100" : "",
		two ? ",{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":53}" :
		      "",
		lb ? ingress : "");
	/* NodePorts of different Services must differ, or they clash */
	if (lb || np) {
		char *p = strstr(buf, "30100");

		if (p)
			snprintf(p, 6, "%05d",
				 30100 + i * 2 + (int)(r >> 19) % 2);
		p[5] = '}';
	}
}

/* Slice k of Service i at version v (0: none): endpoints from a small
 * pool, some on this node, some terminating, now and then a bad one. */
static void inc_slice_json(char *buf, size_t len, int i, int k, unsigned int v)
{
	unsigned int r = v * 40503u ^ (unsigned int)(i * 7 + k) * 2654435761u;
	char eps[1024] = "";
	size_t n = (r >> 3) % 4, e, used = 0;

	for (e = 0; e < n; e++)
		used += (size_t)snprintf(
			eps + used, sizeof(eps) - used,
			"%s{\"addresses\":[\"198.18.%d.%u\"],\"nodeName\":\"%s\","
			"\"conditions\":{\"ready\":%s,\"serving\":true,\"terminating\":%s}}",
			e ? "," : "", (r >> 20) % 53 == 0 ? 999 : 1,
			1 + (r + (unsigned int)e * 5) % 13,
			(r >> (6 + e)) % 2 ? NODE : "node-b",
			(r >> (10 + e)) % 4 ? "true" : "false",
			(r >> (10 + e)) % 4 ? "false" : "true");
	snprintf(
		buf, len,
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
		"\"metadata\":{\"namespace\":\"ns\",\"name\":\"s%02d-%d\",\"labels\":"
		"{\"kubernetes.io/service-name\":\"s%02d\"}},\"addressType\":\"IPv4\","
		"\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},"
		"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}],\"endpoints\":[%s]}",
		i, k, i, eps);
}

struct inc_world {
	unsigned int svc[INC_SVCS];
	unsigned int slice[INC_SVCS][2];
};

static void inc_add(cJSON *arr, const char *json)
{
	cJSON *o = cJSON_Parse(json);

	if (!o)
		test__fail(__FILE__, __LINE__, "bad test JSON %s", json);
	else
		cJSON_AddItemToArray(arr, o);
}

/* The objects of Service i (only == i) or of all (only < 0). */
static cJSON *inc_doc(const struct inc_world *w, int only)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[4096];
	int i, k;

	for (i = 0; i < INC_SVCS; i++) {
		if (only >= 0 && i != only)
			continue;
		if (w->svc[i]) {
			inc_svc_json(buf, sizeof(buf), i, w->svc[i]);
			inc_add(arr, buf);
		}
		for (k = 0; k < 2; k++) {
			if (!w->slice[i][k])
				continue;
			inc_slice_json(buf, sizeof(buf), i, k, w->slice[i][k]);
			inc_add(arr, buf);
		}
	}
	return arr;
}

static void inc_quiet(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

/* The sets and frontends of sets not named name[0..n), as a copy. */
static void inc_state_drop(struct model_state *st, const bool *touched)
{
	size_t i, j = 0, *where = calloc(st->n_sets + 1, sizeof(*where));
	int idx;

	for (i = 0; i < st->n_sets; i++) {
		idx = atoi(st->sets[i].name + 4); /* "ns/sNN" */
		if (touched[idx]) {
			free(st->sets[i].backends);
			where[i] = SIZE_MAX;
			continue;
		}
		where[i] = j;
		st->sets[j++] = st->sets[i];
	}
	st->n_sets = j;
	for (i = 0, j = 0; i < st->n_frontends; i++) {
		if (where[st->frontends[i].set_index] == SIZE_MAX)
			continue;
		st->frontends[j] = st->frontends[i];
		st->frontends[j++].set_index =
			where[st->frontends[i].set_index];
	}
	st->n_frontends = j;
	free(where);
}

static void inc_state_take(struct model_state *dst, struct model_state *src)
{
	size_t base = dst->n_sets, i;

	dst->sets = realloc(dst->sets, (dst->n_sets + src->n_sets + 1) *
					       sizeof(*dst->sets));
	dst->frontends = realloc(dst->frontends,
				 (dst->n_frontends + src->n_frontends + 1) *
					 sizeof(*dst->frontends));
	for (i = 0; i < src->n_sets; i++) {
		dst->sets[dst->n_sets++] = src->sets[i];
		src->sets[i].backends = NULL;
	}
	for (i = 0; i < src->n_frontends; i++) {
		dst->frontends[dst->n_frontends] = src->frontends[i];
		dst->frontends[dst->n_frontends++].set_index += base;
	}
}

/* a and b hold the same frontends, each on an equal set. */
static bool inc_same(const struct model_state *a, const struct model_state *b)
{
	size_t i, j;

	if (a->n_sets != b->n_sets || a->n_frontends != b->n_frontends) {
		test__log("%zu/%zu sets, %zu/%zu frontends\n", a->n_sets,
			  b->n_sets, a->n_frontends, b->n_frontends);
		return false;
	}
	for (i = 0; i < a->n_frontends; i++) {
		const struct model_frontend *x = &a->frontends[i], *y = NULL;
		const struct model_set *p, *q;

		for (j = 0; j < b->n_frontends && !y; j++)
			if (same_fe(x, &b->frontends[j]))
				y = &b->frontends[j];
		if (!y || y->flags != x->flags) {
			test__log("frontend %zu missing or other flags\n", i);
			return false;
		}
		p = &a->sets[x->set_index];
		q = &b->sets[y->set_index];
		if (strcmp(p->name, q->name) ||
		    strcmp(p->port_name, q->port_name) ||
		    p->proto != q->proto || p->set != q->set ||
		    p->family != q->family ||
		    p->affinity_timeout != q->affinity_timeout ||
		    p->n_backends != q->n_backends ||
		    (p->n_backends &&
		     memcmp(p->backends, q->backends,
			    p->n_backends * sizeof(*p->backends)))) {
			test__log("frontend %zu: sets of %s differ\n", i,
				  p->name);
			return false;
		}
	}
	return true;
}

/*
 * Random changes to Services and EndpointSlices: rebuilding only the
 * Services they touch (model_inc_update), or whole when it says only that
 * is exact, always gives what a whole build of everything gives.
 */
void test_model_incremental(void)
{
	struct model_state full, have = { 0 }, part, hcs;
	struct inc_world w = { 0 };
	struct model_inc *mi = model_inc_new();
	unsigned int seed = 1414;
	__be32 addrs[2];
	struct model_config cfg = node_cfg(addrs);
	int step, i, j, n, ret, wholes = 0, incs = 0;
	bool touched[INC_SVCS], ok = true;
	cJSON *doc;
	size_t k;

	cfg.quiet_orphan_slices = true;
	if (!ASSERT_OK_PTR(mi, "model_inc_new"))
		return;
	for (i = 0; i < INC_SVCS; i++) {
		w.svc[i] = 1 + (unsigned int)i;
		w.slice[i][0] = 1 + (unsigned int)i;
	}
	for (step = 0; step < 600 && ok; step++) {
		memset(touched, 0, sizeof(touched));
		n = step ? 1 + rand_r(&seed) % 3 : 0;
		for (j = 0; j < n; j++) {
			i = rand_r(&seed) % INC_SVCS;
			touched[i] = true;
			switch (rand_r(&seed) % 4) {
			case 0:
				w.svc[i] = rand_r(&seed) % 5 ?
						   1 + rand_r(&seed) % 1000 :
						   0;
				break;
			default:
				w.slice[i][rand_r(&seed) % 2] =
					rand_r(&seed) % 4 ?
						1 + rand_r(&seed) % 1000 :
						0;
				break;
			}
		}
		doc = inc_doc(&w, -1);
		memset(&full, 0, sizeof(full));
		ASSERT_OK(model_build(doc, &cfg, inc_quiet, NULL, &full),
			  "whole build");
		cJSON_Delete(doc);

		memset(&part, 0, sizeof(part));
		ret = step ? 0 : -EAGAIN;
		for (i = 0; i < INC_SVCS && !ret; i++) {
			char name[16];

			if (!touched[i])
				continue;
			snprintf(name, sizeof(name), "ns/s%02d", i);
			doc = inc_doc(&w, i);
			ret = model_inc_update(mi, name, doc, &cfg, inc_quiet,
					       NULL, &part);
			cJSON_Delete(doc);
		}
		if (ret && step)
			test__log("step %d: whole (%d), %zu lost\n", step, ret,
				  full.n_lost);
		if (ret) {
			/* whole: start over from the whole build */
			ok = ASSERT_EQ(ret, -EAGAIN, "update") && ok;
			model_state_free(&part);
			model_state_free(&have);
			memset(&have, 0, sizeof(have));
			inc_state_take(&have,
				       &(struct model_state){ .sets = full.sets,
							      .n_sets = 0 });
			/* a deep copy of full */
			for (k = 0; k < full.n_sets; k++) {
				struct model_set *ms;

				have.sets =
					realloc(have.sets,
						(k + 1) * sizeof(*have.sets));
				ms = &have.sets[k];
				*ms = full.sets[k];
				ms->backends = NULL;
				if (full.sets[k].n_backends) {
					ms->backends =
						malloc(ms->n_backends *
						       sizeof(*ms->backends));
					memcpy(ms->backends,
					       full.sets[k].backends,
					       ms->n_backends *
						       sizeof(*ms->backends));
				}
			}
			have.n_sets = full.n_sets;
			have.frontends = realloc(have.frontends,
						 (full.n_frontends +
						  1) * sizeof(*have.frontends));
			memcpy(have.frontends, full.frontends,
			       full.n_frontends * sizeof(*have.frontends));
			have.n_frontends = full.n_frontends;
			ok = ASSERT_OK(model_inc_seed(mi, &full, &cfg),
				       "seed") &&
			     ok;
			wholes++;
		} else {
			inc_state_drop(&have, touched);
			inc_state_take(&have, &part);
			model_state_free(&part);
			incs++;
		}
		if (!inc_same(&have, &full)) {
			test__log("step %d: incremental differs from whole\n",
				  step);
			ok = false;
		}
		if (!ret &&
		    (model_inc_frontends(mi, MODEL_IPV4) != full.n_frontends ||
		     model_inc_healthchecks(mi, &hcs) ||
		     hcs.n_healthchecks != full.n_healthchecks ||
		     (hcs.n_healthchecks &&
		      memcmp(hcs.healthchecks, full.healthchecks,
			     hcs.n_healthchecks * sizeof(*hcs.healthchecks))))) {
			test__log("step %d: counts or healthchecks differ\n",
				  step);
			ok = false;
		}
		if (!ret)
			model_state_free(&hcs);
		model_state_free(&full);
	}
	test__log("%d incremental steps, %d whole\n", incs, wholes);
	ASSERT_TRUE(ok, "incremental builds equal whole ones");
	ASSERT_EQ(incs + wholes, 600, "steps");
	ASSERT_GT(incs, 300, "mostly incremental");
	ASSERT_GT(wholes, 5, "clashes and source ranges made some whole");
	model_state_free(&have);

	/* seeded by an empty state: the first Service comes incrementally */
	memset(&full, 0, sizeof(full));
	memset(&part, 0, sizeof(part));
	memset(&w, 0, sizeof(w));
	w.svc[3] = 7;
	ASSERT_OK(model_inc_seed(mi, &full, &cfg), "seed empty");
	doc = inc_doc(&w, 3);
	ASSERT_OK(model_inc_update(mi, "ns/s03", doc, &cfg, inc_quiet, NULL,
				   &part),
		  "first Service");
	cJSON_Delete(doc);
	ASSERT_GT(part.n_frontends, 0, "its frontends");
	model_state_free(&part);
	model_inc_free(mi);
}
