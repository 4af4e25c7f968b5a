// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_store.c - the API source: watch event lines and list pages into
 * the stores of Services, EndpointSlices and Nodes (k8s/store.h), then
 * the model, whole and incremental, from what the stores hold.
 *
 * The input is a stream of lines (cut by linesplit, as the watch is). A
 * line holding "items" is a list page (store_list_page(), committed when
 * no continue token comes back), any other a watch event
 * (store_apply_event()); each goes to all three stores, so that a line
 * of the wrong kind is refused as cleanly as a good one is taken. The
 * line "sync", and the end of the input, sync as svcd/sync.c does: a
 * whole build (store_build_list(), model_build(), which must equal
 * model_build_source() over the same stores) that seeds model_inc,
 * or, when only watch events touched some Services since the last seed,
 * model_inc_update() of each, which must hand the writer exactly the
 * whole build's sets, frontends and healthCheckNodePort of those
 * Services (model.h), or say -EAGAIN.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "k8s/store.h"
#include "linesplit.h"
#include "model.h"
#include "model_check.h"

enum { SERVICES, SLICES, NODES, N_STORES };

struct harness {
	struct store *st[N_STORES];
	bool listing[N_STORES]; /* a paginated list is staged */
	struct model_inc *inc;
	bool seeded;
};

static void no_error(void *ctx, const char *line)
{
	(void)ctx;
	FUZZ_ASSERT(line && !strchr(line, '\n'), "one line per problem");
}

static void list_page(struct harness *h, int i, const char *line, size_t len)
{
	char err[256], *cont = NULL;
	int ret;

	if (!h->listing[i])
		store_list_begin(h->st[i]);
	h->listing[i] = true;
	ret = store_list_page(h->st[i], line, len, &cont, err, sizeof(err));
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL || ret == -ENOMEM,
		    "store_list_page: 0, -EINVAL or -ENOMEM");
	if (ret) {
		FUZZ_ASSERT(ret == -ENOMEM || (err[0] && !strchr(err, '\n')),
			    "one line of message");
		store_list_abort(h->st[i]);
		h->listing[i] = false;
		return;
	}
	if (cont) {
		free(cont); /* the next page is the next list line */
		return;
	}
	ret = store_list_commit(h->st[i], NULL);
	FUZZ_ASSERT(ret == 0 || ret == -ENOMEM, "commit after a page");
	h->listing[i] = false;
}

static void watch_event(struct harness *h, int i, const char *line, size_t len)
{
	uint64_t gen = store_generation(h->st[i]);
	size_t count = store_count(h->st[i]);
	const char *rv = store_resource_version(h->st[i]);
	char err[256], *rv_before = rv ? strdup(rv) : NULL;
	int ret;

	if (rv && !rv_before)
		abort();
	err[0] = '\0';
	ret = store_apply_event(h->st[i], line, len, err, sizeof(err));
	FUZZ_ASSERT(
		ret == STORE_UNCHANGED || ret == STORE_CHANGED ||
			ret == STORE_GONE || ret == -EPROTO || ret == -EINVAL ||
			ret == -ENOMEM,
		"store_apply_event: a store_result or -EPROTO/-EINVAL/-ENOMEM");
	if (ret == -EINVAL || ret == -EPROTO)
		FUZZ_ASSERT(err[0] && !strchr(err, '\n'),
			    "one line of message");
	if (ret == -EINVAL || ret == STORE_UNCHANGED || ret == STORE_GONE)
		FUZZ_ASSERT(store_generation(h->st[i]) == gen &&
				    store_count(h->st[i]) == count,
			    "the store untouched");
	rv = store_resource_version(h->st[i]);
	if (ret == -EINVAL)
		FUZZ_ASSERT(!rv == !rv_before &&
				    (!rv || !strcmp(rv, rv_before)),
			    "a malformed line leaves the resourceVersion");
	free(rv_before);
}

static void add_ref(void *ctx, const cJSON *obj)
{
	if (!cJSON_AddItemReferenceToArray(ctx, (cJSON *)obj))
		abort();
}

/* A Service's objects, as k8s_client_service_objects() hands them. */
static cJSON *service_objects(struct harness *h, const char *name)
{
	const cJSON *svc = store_get(h->st[SERVICES], name);
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		abort();
	if (svc)
		add_ref(arr, svc);
	store_for_group(h->st[SLICES], name, add_ref, arr);
	return arr;
}

/* model_build_source() over the stores, as svcd/sync.c builds whole. */
struct source_state {
	const struct store *const *stores;
	cJSON *obj;
};

static const cJSON *source_get(void *ctx, size_t i)
{
	struct source_state *ss = ctx;

	cJSON_Delete(ss->obj);
	ss->obj = store_object_at(ss->stores, 2, i);
	return ss->obj;
}

static bool same_set(const struct model_set *a, const struct model_set *b)
{
	return !strcmp(a->name, b->name) &&
	       !strcmp(a->port_name, b->port_name) && a->proto == b->proto &&
	       a->set == b->set && a->family == b->family;
}

static bool same_content(const struct model_set *a, const struct model_set *b)
{
	return a->affinity_timeout == b->affinity_timeout &&
	       a->n_backends == b->n_backends &&
	       (!a->n_backends ||
		!memcmp(a->backends, b->backends,
			a->n_backends * sizeof(*a->backends)));
}

static size_t sets_of(const struct model_state *st, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_sets; i++)
		n += !strcmp(st->sets[i].name, name);
	return n;
}

static size_t frontends_of(const struct model_state *st, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_frontends; i++)
		n += !strcmp(st->sets[st->frontends[i].set_index].name, name);
	return n;
}

/* What model_inc_update() gave for name is what the whole build has. */
static void check_partial(const struct model_state *whole,
			  const struct model_state *part, const char *name)
{
	const struct model_healthcheck *hw = NULL, *hp = NULL;
	size_t i, j;

	FUZZ_ASSERT(sets_of(whole, name) == sets_of(part, name),
		    "incremental: the whole build's number of sets");
	for (i = 0; i < whole->n_sets; i++) {
		const struct model_set *w = &whole->sets[i];

		if (strcmp(w->name, name))
			continue;
		for (j = 0; j < part->n_sets; j++)
			if (same_set(w, &part->sets[j]))
				break;
		FUZZ_ASSERT(j < part->n_sets, "incremental: each whole set");
		FUZZ_ASSERT(same_content(w, &part->sets[j]),
			    "incremental: the whole set's backends");
	}
	FUZZ_ASSERT(frontends_of(whole, name) == frontends_of(part, name),
		    "incremental: the whole build's number of frontends");
	for (i = 0; i < whole->n_frontends; i++) {
		const struct model_frontend *w = &whole->frontends[i];

		if (strcmp(whole->sets[w->set_index].name, name))
			continue;
		for (j = 0; j < part->n_frontends; j++)
			if (fuzz_frontend_same_key(w, &part->frontends[j]))
				break;
		FUZZ_ASSERT(j < part->n_frontends,
			    "incremental: each whole frontend");
		FUZZ_ASSERT(part->frontends[j].flags == w->flags,
			    "incremental: the frontend's flags");
		FUZZ_ASSERT(same_set(&whole->sets[w->set_index],
				     &part->sets[part->frontends[j].set_index]),
			    "incremental: the frontend's set");
	}
	for (i = 0; i < whole->n_healthchecks; i++)
		if (!strcmp(whole->healthchecks[i].name, name))
			hw = &whole->healthchecks[i];
	for (i = 0; i < part->n_healthchecks; i++)
		if (!strcmp(part->healthchecks[i].name, name))
			hp = &part->healthchecks[i];
	FUZZ_ASSERT(!hw == !hp, "incremental: the healthCheckNodePort");
	if (hw)
		FUZZ_ASSERT(hw->port == hp->port &&
				    hw->local_endpoints == hp->local_endpoints,
			    "incremental: the healthCheckNodePort's figures");
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool named(char **names, size_t n, const char *name)
{
	return bsearch(&name, names, n, sizeof(*names), str_cmp) != NULL;
}

/* Names of both stores' touched groups, sorted and each once. */
static size_t take_touched(struct harness *h, char ***out, bool *whole)
{
	char **svc, **sl, **all;
	bool relisted[2];
	size_t n_svc, n_sl, i, n = 0;

	n_svc = store_take_touched(h->st[SERVICES], &svc, &relisted[0]);
	n_sl = store_take_touched(h->st[SLICES], &sl, &relisted[1]);
	*whole = relisted[0] || relisted[1];
	all = calloc(n_svc + n_sl + 1, sizeof(*all));
	if (!all)
		abort();
	for (i = 0; i < n_svc; i++)
		all[n++] = svc[i];
	for (i = 0; i < n_sl; i++)
		all[n++] = sl[i];
	free(svc);
	free(sl);
	qsort(all, n, sizeof(*all), str_cmp);
	for (i = 0, n_svc = 0; i < n; i++) {
		if (n_svc && !strcmp(all[i], all[n_svc - 1])) {
			free(all[i]);
			continue;
		}
		all[n_svc++] = all[i];
	}
	*out = all;
	return n_svc;
}

static void sync(struct harness *h)
{
	const struct store *stores[2] = { h->st[SERVICES], h->st[SLICES] };
	struct model_state whole = {}, part = {};
	struct store_node_info node;
	struct model_config cfg;
	union svcd_ip6 addr6;
	__be32 addr4;
	char **names;
	size_t n, i;
	bool relisted;
	struct source_state ss = {};
	cJSON *list, *objs;
	int err = 0;

	fuzz_model_config(&cfg, &addr4, &addr6);
	cfg.quiet_orphan_slices = true; /* the API source */
	if (!store_node_info(h->st[NODES], "node-a", &node) && node.zone[0])
		cfg.node_zone = node.zone;
	n = take_touched(h, &names, &relisted);

	list = store_build_list(stores, 2);
	if (!list)
		abort();
	err = model_build(list, &cfg, no_error, NULL, &whole);
	FUZZ_ASSERT(err == 0 || err == -ENOMEM, "a List builds");
	cJSON_Delete(list);
	if (err)
		goto out;
	fuzz_check_state(&whole);
	/* svcd builds whole one object at a time, each freed at the next:
	 * the same state, and (ASan) no string kept from a freed object */
	ss.stores = stores;
	err = model_build_source(
		&(struct model_source){
			.n = store_objects(stores, 2),
			.get = source_get,
			.ctx = &ss,
		},
		&cfg, no_error, NULL, &part);
	cJSON_Delete(ss.obj);
	FUZZ_ASSERT(err == 0 || err == -ENOMEM, "the objects build");
	if (!err)
		fuzz_check_same_state(&whole, &part);
	model_state_free(&part);
	err = 0;

	if (h->seeded && !relisted && n) {
		for (i = 0; i < n && !err; i++) {
			objs = service_objects(h, names[i]);
			err = model_inc_update(h->inc, names[i], objs, &cfg,
					       no_error, NULL, &part);
			cJSON_Delete(objs);
		}
		FUZZ_ASSERT(err == 0 || err == -EAGAIN || err == -ENOMEM,
			    "model_inc_update: 0, -EAGAIN or -ENOMEM");
		if (!err) {
			fuzz_check_state(&part);
			for (i = 0; i < part.n_sets; i++)
				FUZZ_ASSERT(
					named(names, n, part.sets[i].name),
					"incremental: only the Services named");
			for (i = 0; i < n; i++)
				check_partial(&whole, &part, names[i]);
			goto out; /* the cache follows by itself */
		}
	}
	/* a whole sync: the cache starts again from it */
	err = 0;
	h->seeded = !model_inc_seed(h->inc, &whole, &cfg);
	model_state_drop_family(&whole, MODEL_IPV6);
	fuzz_check_dropped(&whole, MODEL_IPV6);
out:
	if (err) {
		model_inc_reset(h->inc);
		h->seeded = false;
	}
	model_state_free(&whole);
	model_state_free(&part);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	for (i = 0; i < N_STORES; i++)
		store_clear_dirty(h->st[i]);
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct harness *h = ctx;
	int i;

	if (len == 4 && !memcmp(line, "sync", 4)) {
		sync(h);
		return 0;
	}
	for (i = 0; i < N_STORES; i++) {
		if (memmem(line, len, "\"items\"", 7))
			list_page(h, i, line, len);
		else
			watch_event(h, i, line, len);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h = {};
	struct linesplit ls;
	int i, ret;

	h.st[SERVICES] = store_new("Service", "v1");
	h.st[SLICES] = store_new("EndpointSlice", "discovery.k8s.io/v1");
	h.st[NODES] = store_new("Node", "v1");
	h.inc = model_inc_new();
	if (!h.st[SERVICES] || !h.st[SLICES] || !h.st[NODES] || !h.inc ||
	    store_index_label(h.st[SLICES], "kubernetes.io/service-name"))
		abort();
	linesplit_init(&ls, 0);
	ret = linesplit_feed(&ls, (const char *)data, size, on_line, &h);
	FUZZ_ASSERT(ret == 0 || ret == -ENOMEM, "every line delivered");
	/* the last line, without its newline */
	if (linesplit_pending(&ls))
		on_line(&h, ls.buf, ls.len);
	sync(&h);
	linesplit_free(&ls);
	model_inc_free(h.inc);
	for (i = 0; i < N_STORES; i++)
		store_free(h.st[i]);
	return 0;
}
