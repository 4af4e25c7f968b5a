// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_k8s_store.c - the list/watch object cache. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/k8s/store.h"
#include "lib/model.h"
#include "runner.h"

#define SVC(ns, name, rv, ip)                                              \
	"{\"metadata\":{\"namespace\":\"" ns "\",\"name\":\"" name         \
	"\",\"resourceVersion\":\"" rv "\"},\"spec\":{\"clusterIP\":\"" ip \
	"\"}}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}"

static int apply(struct store *s, const char *line)
{
	char err[256];

	return store_apply_event(s, line, strlen(line), err, sizeof(err));
}

static struct store *services_with(const char *items_json)
{
	struct store *s = store_new("Service", "v1");
	cJSON *items = cJSON_Parse(items_json);

	if (!ASSERT_OK_PTR(s, "store_new") || !ASSERT_OK_PTR(items, "items")) {
		store_free(s);
		cJSON_Delete(items);
		return NULL;
	}
	ASSERT_OK(store_replace_all(s, items, "10", NULL), "replace_all");
	cJSON_Delete(items);
	return s;
}

static const char *ip_of(const struct store *s, const char *key)
{
	const cJSON *spec = cJSON_GetObjectItem(store_get(s, key), "spec");

	return cJSON_GetStringValue(cJSON_GetObjectItem(spec, "clusterIP"));
}

void test_k8s_store(void)
{
	struct store_counts c;
	struct store *s;
	char err[256];
	uint64_t gen;
	cJSON *items;

	s = services_with("[" SVC("b", "web", "5", "10.0.0.2") "," SVC(
		"a", "db", "6",
		"10.0.0.1") ","
			    "{\"metadata\":{\"namespace\":\"a\"}}]");
	if (!s)
		return;
	if (test__start_subtest("list")) {
		ASSERT_EQ(store_count(s), 2, "count (nameless item skipped)");
		ASSERT_STREQ(store_resource_version(s), "10", "list RV");
		ASSERT_TRUE(store_dirty(s), "dirty");
		ASSERT_EQ(store_generation(s), 1, "generation");
		ASSERT_STREQ(ip_of(s, "a/db"), "10.0.0.1", "a/db");
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(
				     store_get(s, "b/web"), "kind")),
			     "Service", "kind filled in");
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(
				     store_get(s, "b/web"), "apiVersion")),
			     "v1", "apiVersion filled in");
		store_clear_dirty(s);
		ASSERT_FALSE(store_dirty(s), "cleared");
	}
	if (test__start_subtest("events")) {
		ASSERT_EQ(apply(s,
				EV("ADDED", SVC("a", "api", "11", "10.0.0.3"))),
			  STORE_CHANGED, "ADDED");
		ASSERT_EQ(store_count(s), 3, "count");
		ASSERT_STREQ(store_resource_version(s), "11", "RV follows");
		ASSERT_TRUE(store_dirty(s), "dirty");
		gen = store_generation(s);
		ASSERT_EQ(
			apply(s,
			      EV("MODIFIED",
				 "{\"kind\":\"Service\",\"apiVersion\":\"v1\","
				 "\"metadata\":{\"namespace\":\"a\",\"name\":\"api\",\"resourceVersion\":\"11\"},"
				 "\"spec\":{\"clusterIP\":\"10.0.0.3\"}}")),
			STORE_UNCHANGED, "MODIFIED, same RV");
		ASSERT_EQ(store_generation(s), gen, "no change");
		ASSERT_EQ(apply(s, EV("MODIFIED",
				      SVC("a", "api", "12", "10.0.0.4"))),
			  STORE_CHANGED, "MODIFIED");
		ASSERT_STREQ(ip_of(s, "a/api"), "10.0.0.4", "replaced");
		ASSERT_EQ(store_generation(s), gen + 1, "generation bumped");
		ASSERT_EQ(apply(s, EV("DELETED",
				      SVC("b", "web", "13", "10.0.0.2"))),
			  STORE_CHANGED, "DELETED");
		ASSERT_TRUE(store_get(s, "b/web") == NULL, "gone");
		ASSERT_EQ(store_count(s), 2, "count");
		ASSERT_EQ(apply(s, EV("DELETED",
				      SVC("b", "nope", "14", "1.1.1.1"))),
			  STORE_UNCHANGED, "DELETED unknown");
		ASSERT_STREQ(store_resource_version(s), "14",
			     "RV still follows");
	}
	if (test__start_subtest("bookmark")) {
		store_clear_dirty(s);
		gen = store_generation(s);
		ASSERT_EQ(
			apply(s,
			      EV("BOOKMARK",
				 "{\"kind\":\"Service\",\"metadata\":{\"resourceVersion\":\"99\"}}")),
			STORE_UNCHANGED, "BOOKMARK");
		ASSERT_STREQ(store_resource_version(s), "99", "RV advanced");
		ASSERT_EQ(store_generation(s), gen, "no change");
		ASSERT_FALSE(store_dirty(s), "not dirty");
	}
	if (test__start_subtest("error_events")) {
		ASSERT_EQ(
			store_apply_event(
				s,
				EV("ERROR",
				   "{\"kind\":\"Status\",\"status\":\"Failure\","
				   "\"message\":\"too old resource version: 5 (99)\","
				   "\"reason\":\"Expired\",\"code\":410}"),
				strlen(EV(
					"ERROR",
					"{\"kind\":\"Status\",\"status\":\"Failure\","
					"\"message\":\"too old resource version: 5 (99)\","
					"\"reason\":\"Expired\",\"code\":410}")),
				err, sizeof(err)),
			STORE_GONE, "410 -> relist");
		ASSERT_STREQ(
			err,
			"Service watch: status 410 Expired: too old resource version: 5 (99)",
			"message");
		ASSERT_EQ(apply(s, EV("ERROR", "{\"reason\":\"Gone\"}")),
			  STORE_GONE, "reason Gone without code");
		ASSERT_EQ(
			apply(s,
			      EV("ERROR",
				 "{\"code\":500,\"reason\":\"InternalError\",\"message\":\"etcd\"}")),
			-EPROTO, "other status");
		ASSERT_STREQ(store_resource_version(s), "99", "RV kept");
		ASSERT_EQ(store_count(s), 2, "objects kept");
	}
	if (test__start_subtest("relist")) {
		store_clear_dirty(s);
		/* a/db unchanged, a/api changed, b/new added; nothing else. */
		items = cJSON_Parse("[" SVC("a", "db", "6", "10.0.0.1") "," SVC(
			"a", "api", "120",
			"10.0.0.5") "," SVC("b", "new", "121",
					    "10.0.0.6") "," SVC("b", "new",
								"122",
								"10.0.0.7") "]");
		ASSERT_OK(store_replace_all(s, items, "130", &c), "relist");
		cJSON_Delete(items);
		ASSERT_EQ(c.added, 1, "added");
		ASSERT_EQ(c.changed, 1, "changed");
		ASSERT_EQ(c.removed, 0, "removed");
		ASSERT_STREQ(ip_of(s, "b/new"), "10.0.0.7",
			     "last duplicate wins");
		ASSERT_STREQ(store_resource_version(s), "130", "RV");
		ASSERT_TRUE(store_dirty(s), "dirty");
		items = cJSON_Parse("[" SVC("a", "api", "120", "10.0.0.5") "]");
		ASSERT_OK(store_replace_all(s, items, "140", &c), "relist");
		cJSON_Delete(items);
		ASSERT_EQ(c.removed, 2, "vanished objects deleted");
		ASSERT_EQ(c.added + c.changed, 0, "nothing else");
		ASSERT_EQ(store_count(s), 1, "count");
		gen = store_generation(s);
		items = cJSON_Parse("[" SVC("a", "api", "120", "10.0.0.5") "]");
		ASSERT_OK(store_replace_all(s, items, "150", &c), "relist");
		cJSON_Delete(items);
		ASSERT_EQ(c.added + c.changed + c.removed, 0, "same truth");
		ASSERT_EQ(store_generation(s), gen, "no change");
		ASSERT_OK(store_replace_all(s, NULL, "160", &c),
			  "empty relist");
		ASSERT_EQ(c.removed, 1, "all gone");
		ASSERT_EQ(store_count(s), 0, "empty");
	}
	store_free(s);
}

void test_k8s_store_malformed(void)
{
	static const char good[] =
		EV("MODIFIED", SVC("a", "x", "20", "10.1.1.1"));
	static const char *const bad[] = {
		"",
		"{",
		"not json",
		"[]",
		"null",
		"{\"type\":\"ADDED\"}",
		"{\"type\":1,\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":[]}",
		"{\"type\":\"ADDED\",\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":7}}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"\"}}}",
		"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}}",
		"{\"type\":\"SYNC\",\"object\":{\"metadata\":{\"name\":\"p\"}}}",
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":5}}}",
	};
	struct store *s =
		services_with("[" SVC("a", "x", "10", "10.1.1.0") "]");
	char err[256];
	uint64_t gen;
	size_t i;
	bool ok;

	if (!s)
		return;
	gen = store_generation(s);
	if (test__start_subtest("bad_lines")) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = 0;
			ASSERT_EQ(store_apply_event(s, bad[i], strlen(bad[i]),
						    err, sizeof(err)),
				  -EINVAL, bad[i]);
			ASSERT_TRUE(err[0] && !strchr(err, '\n'),
				    "one line of message");
		}
		ASSERT_EQ(store_generation(s), gen, "store untouched");
		ASSERT_STREQ(store_resource_version(s), "10", "RV untouched");
		ASSERT_STREQ(ip_of(s, "a/x"), "10.1.1.0", "object untouched");
	}
	if (test__start_subtest("every_truncation")) {
		ok = true;
		/* Every proper prefix of a good line is rejected cleanly. */
		for (i = 0; i < sizeof(good) - 2; i++)
			ok &= store_apply_event(s, good, i, err, sizeof(err)) ==
			      -EINVAL;
		ASSERT_TRUE(ok, "prefixes rejected");
		ASSERT_EQ(store_generation(s), gen, "store untouched");
		ASSERT_EQ(apply(s, good), STORE_CHANGED, "whole line applies");
		ASSERT_STREQ(ip_of(s, "a/x"), "10.1.1.1", "applied");
	}
	if (test__start_subtest("binary_in_message")) {
		ASSERT_EQ(store_apply_event(s, "\x01\xff{\"a", 5, err,
					    sizeof(err)),
			  -EINVAL, "binary");
		ASSERT_TRUE(strstr(err, "??{\"a") != NULL, err);
	}
	store_free(s);
}

void test_k8s_store_list_pages(void)
{
	struct store *s = store_new("EndpointSlice", "discovery.k8s.io/v1");
	struct store_counts c;
	char err[256], *cont;
	const char *page1 =
		"{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"50\",\"continue\":\"tok/1\"},"
		"\"items\":[{\"metadata\":{\"namespace\":\"a\",\"name\":\"s1\",\"managedFields\":[{\"x\":1}]}}]}";
	const char *page2 =
		"{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"50\"},"
		"\"items\":[{\"metadata\":{\"namespace\":\"a\",\"name\":\"s2\"}}]}";
	const char *status =
		"{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\",\"message\":\"continue token expired\"}";

	if (!ASSERT_OK_PTR(s, "store_new"))
		return;
	if (test__start_subtest("two_pages")) {
		store_list_begin(s);
		ASSERT_OK(store_list_page(s, page1, strlen(page1), &cont, err,
					  sizeof(err)),
			  "page 1");
		ASSERT_STREQ(cont, "tok/1", "continue token");
		free(cont);
		ASSERT_EQ(store_count(s), 0, "nothing applied before commit");
		ASSERT_OK(store_list_page(s, page2, strlen(page2), &cont, err,
					  sizeof(err)),
			  "page 2");
		ASSERT_TRUE(cont == NULL, "last page");
		ASSERT_OK(store_list_commit(s, &c), "commit");
		ASSERT_EQ(c.added, 2, "added");
		ASSERT_STREQ(store_resource_version(s), "50", "RV");
		ASSERT_TRUE(cJSON_GetObjectItem(
				    cJSON_GetObjectItem(store_get(s, "a/s1"),
							"metadata"),
				    "managedFields") == NULL,
			    "managedFields dropped");
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(
				     store_get(s, "a/s2"), "kind")),
			     "EndpointSlice", "kind filled in");
	}
	if (test__start_subtest("restart")) {
		store_list_begin(s);
		ASSERT_OK(store_list_page(s, page1, strlen(page1), &cont, err,
					  sizeof(err)),
			  "page 1");
		free(cont);
		ASSERT_EQ(store_list_page(s, status, strlen(status), &cont, err,
					  sizeof(err)),
			  -EINVAL, "Status page");
		ASSERT_STREQ(
			err,
			"EndpointSlice list: status 410 Expired: continue token expired",
			"message");
		ASSERT_EQ(store_list_page(s, "{}", 2, &cont, err, sizeof(err)),
			  -EINVAL, "no resourceVersion");
		ASSERT_EQ(store_list_page(s, "<html>", 6, &cont, err,
					  sizeof(err)),
			  -EINVAL, "not JSON");
		store_list_begin(s); /* from the first page again */
		ASSERT_OK(store_list_page(s, page2, strlen(page2), &cont, err,
					  sizeof(err)),
			  "single page");
		ASSERT_OK(store_list_commit(s, &c), "commit");
		ASSERT_EQ(c.removed, 1, "s1 vanished");
		ASSERT_EQ(c.added + c.changed, 0, "s2 the same");
		ASSERT_EQ(store_list_commit(s, &c), -EINVAL,
			  "commit without pages");
		store_list_begin(s);
		ASSERT_OK(store_list_page(s, page1, strlen(page1), &cont, err,
					  sizeof(err)),
			  "page left staged");
		free(cont);
		/* store_free drops what is staged */
	}
	store_free(s);
}

void test_k8s_store_build_list(void)
{
	struct store *svcs = store_new("Service", "v1");
	struct store *eps = store_new("EndpointSlice", "discovery.k8s.io/v1");
	const struct store *stores[2] = { svcs, eps };
	const char *want[] = { "Service a/z", "Service b/a",
			       "EndpointSlice a/z-1", "EndpointSlice b/a-1",
			       "EndpointSlice b/a-2" };
	const cJSON *item;
	cJSON *list;
	char got[64];
	size_t i = 0;

	if (!ASSERT_OK_PTR(svcs, "svcs") || !ASSERT_OK_PTR(eps, "eps"))
		goto out;
	apply(svcs, EV("ADDED", SVC("b", "a", "1", "10.0.0.1")));
	apply(svcs, EV("ADDED", SVC("a", "z", "2", "10.0.0.2")));
	apply(eps,
	      EV("ADDED",
		 "{\"metadata\":{\"namespace\":\"b\",\"name\":\"a-2\",\"resourceVersion\":\"3\"}}"));
	apply(eps,
	      EV("ADDED",
		 "{\"metadata\":{\"namespace\":\"a\",\"name\":\"z-1\",\"resourceVersion\":\"4\"}}"));
	apply(eps,
	      EV("ADDED",
		 "{\"metadata\":{\"namespace\":\"b\",\"name\":\"a-1\",\"resourceVersion\":\"5\"}}"));
	list = store_build_list(stores, 2);
	if (!ASSERT_OK_PTR(list, "build_list"))
		goto out;
	ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(list, "kind")),
		     "List", "kind");
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "items")) {
		const cJSON *meta = cJSON_GetObjectItem(item, "metadata");

		snprintf(
			got, sizeof(got), "%s %s/%s",
			cJSON_GetStringValue(cJSON_GetObjectItem(item, "kind")),
			cJSON_GetStringValue(
				cJSON_GetObjectItem(meta, "namespace")),
			cJSON_GetStringValue(
				cJSON_GetObjectItem(meta, "name")));
		if (!ASSERT_LT(i, 5, "item count"))
			break;
		ASSERT_STREQ(got, want[i], "stores in order, objects by key");
		i++;
	}
	ASSERT_EQ(i, 5, "all items");
	cJSON_Delete(list);
	/* The stores' objects survive the list (it holds references). */
	ASSERT_STREQ(ip_of(svcs, "a/z"), "10.0.0.2", "objects intact");
	list = store_build_list(stores, 0);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 0,
		  "no stores, empty List");
	cJSON_Delete(list);
out:
	store_free(svcs);
	store_free(eps);
}

void test_k8s_store_node_info(void)
{
	struct store *nodes = store_new("Node", "v1");
	struct store_node_info info;

	if (!ASSERT_OK_PTR(nodes, "store_new"))
		return;
	ASSERT_EQ(
		apply(nodes,
		      EV("ADDED",
			 "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"3\","
			 "\"labels\":{\"topology.kubernetes.io/zone\":\"zone-a\"}},"
			 "\"status\":{\"addresses\":["
			 "{\"type\":\"Hostname\",\"address\":\"n1\"},"
			 "{\"type\":\"ExternalIP\",\"address\":\"203.0.113.7\"},"
			 "{\"type\":\"InternalIP\",\"address\":\"2001:db8::1\"},"
			 "{\"type\":\"InternalIP\",\"address\":\"198.19.0.11\"},"
			 "{\"type\":\"ExternalIP\",\"address\":\"198.19.0.11\"},"
			 "{\"type\":\"InternalIP\",\"address\":\"bogus\"}]}}")),
		STORE_CHANGED, "node added");
	if (ASSERT_OK(store_node_info(nodes, "n1", &info), "n1")) {
		ASSERT_STREQ(info.zone, "zone-a", "zone");
		ASSERT_EQ(info.n_addrs, 2, "IPv4 addresses, deduplicated");
		ASSERT_EQ(info.addrs[0], inet_addr("198.19.0.11"),
			  "InternalIP first");
		ASSERT_EQ(info.addrs[1], inet_addr("203.0.113.7"),
			  "then ExternalIP");
	}
	ASSERT_EQ(store_node_info(nodes, "n2", &info), -ENOENT, "unknown node");
	ASSERT_EQ(
		apply(nodes,
		      EV("MODIFIED",
			 "{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"4\"}}")),
		STORE_CHANGED, "node without labels/status");
	ASSERT_OK(store_node_info(nodes, "n1", &info), "n1 bare");
	ASSERT_STREQ(info.zone, "", "no zone");
	ASSERT_EQ(info.n_addrs, 0, "no addresses");
	store_free(nodes);
}

#define SLICE(name, svc, rv)                                             \
	"{\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name           \
	"\",\"resourceVersion\":\"" rv "\",\"labels\":{\"kubernetes.io/" \
	"service-name\":\"" svc "\"}}}"

static void count_obj(void *ctx, const cJSON *obj)
{
	(void)obj;
	(*(int *)ctx)++;
}

static int in_group(const struct store *s, const char *group)
{
	int n = 0;

	store_for_group(s, group, count_obj, &n);
	return n;
}

/* "a b" of the touched names, sorted and without repeats; "!" relisted. */
static void touched(struct store *s, char *out, size_t len)
{
	char **names, *tmp;
	bool relisted;
	size_t n = store_take_touched(s, &names, &relisted), i, j, used = 0;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				tmp = names[i];
				names[i] = names[j];
				names[j] = tmp;
			}
	out[0] = '\0';
	if (relisted)
		used += (size_t)snprintf(out, len, "!");
	for (i = 0; i < n; i++) {
		if (!i || strcmp(names[i], names[i - 1]))
			used += (size_t)snprintf(out + used, len - used, "%s%s",
						 used ? " " : "", names[i]);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* EndpointSlices by their Service, and what events touched. */
void test_k8s_store_groups(void)
{
	struct store *s = store_new("EndpointSlice", "discovery.k8s.io/v1");
	cJSON *items = cJSON_Parse("[" SLICE("a-1", "a", "1") "," SLICE(
		"a-2", "a", "2") "," SLICE("b-1", "b", "3") "]");
	char buf[256];

	if (!ASSERT_OK_PTR(s, "store_new") || !ASSERT_OK_PTR(items, "items"))
		goto out;
	ASSERT_OK(store_index_label(s, "kubernetes.io/service-name"), "index");
	ASSERT_OK(store_replace_all(s, items, "10", NULL), "list");
	ASSERT_EQ(in_group(s, "ns/a"), 2, "a's slices");
	ASSERT_EQ(in_group(s, "ns/b"), 1, "b's slices");
	ASSERT_EQ(in_group(s, "ns/c"), 0, "c's slices");
	touched(s, buf, sizeof(buf));
	ASSERT_STREQ(buf, "!", "a list: everything");
	touched(s, buf, sizeof(buf));
	ASSERT_STREQ(buf, "", "taken");

	/* a slice moves from a to c: both touched */
	ASSERT_EQ(apply(s, EV("MODIFIED", SLICE("a-2", "c", "11"))),
		  STORE_CHANGED, "move");
	ASSERT_EQ(apply(s, EV("ADDED", SLICE("d-1", "d", "12"))), STORE_CHANGED,
		  "add");
	ASSERT_EQ(apply(s, EV("DELETED", SLICE("b-1", "b", "13"))),
		  STORE_CHANGED, "delete");
	ASSERT_EQ(apply(s, EV("MODIFIED", SLICE("d-1", "d", "12"))),
		  STORE_UNCHANGED, "same");
	touched(s, buf, sizeof(buf));
	ASSERT_STREQ(buf, "ns/a ns/b ns/c ns/d", "touched");
	ASSERT_EQ(in_group(s, "ns/a"), 1, "a's slices");
	ASSERT_EQ(in_group(s, "ns/b"), 0, "b's slices");
	ASSERT_EQ(in_group(s, "ns/c"), 1, "c's slices");
	ASSERT_EQ(in_group(s, "ns/d"), 1, "d's slices");
	/* one without the label touches none, and is in no group */
	ASSERT_EQ(apply(s, EV("ADDED",
			      "{\"metadata\":{\"namespace\":\"ns\",\"name\":"
			      "\"x\",\"resourceVersion\":\"14\"}}")),
		  STORE_CHANGED, "unlabelled");
	touched(s, buf, sizeof(buf));
	ASSERT_STREQ(buf, "", "unlabelled touches nothing");
out:
	cJSON_Delete(items);
	store_free(s);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET) && (buf = malloc(len + 1))) {
		if (fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static bool same_built(const struct model_state *a, const struct model_state *b)
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
	for (i = 0; i < a->n_frontends; i++)
		if (a->frontends[i].family != b->frontends[i].family ||
		    a->frontends[i].flags != b->frontends[i].flags ||
		    a->frontends[i].set_index != b->frontends[i].set_index ||
		    memcmp(&a->frontends[i].key6, &b->frontends[i].key6,
			   sizeof(a->frontends[i].key6)))
			return false;
	return (!a->n_src_ranges ||
		!memcmp(a->src_ranges, b->src_ranges,
			a->n_src_ranges * sizeof(*a->src_ranges))) &&
	       (!a->n_healthchecks ||
		!memcmp(a->healthchecks, b->healthchecks,
			a->n_healthchecks * sizeof(*a->healthchecks)));
}

static void count_err(void *ctx, const char *line)
{
	(void)line;
	(*(size_t *)ctx)++;
}

/* model_build_source() over the stores, as svcd's API source builds:
 * each object freed at the next get(), so a string the build kept
 * without copying is a use after free (ASan) or a wrong result. */
struct stores_src {
	const struct store *const *stores;
	cJSON *obj;
};

static const cJSON *stores_get(void *ctx, size_t i)
{
	struct stores_src *ss = ctx;

	cJSON_Delete(ss->obj);
	ss->obj = store_object_at(ss->stores, 2, i);
	return ss->obj;
}

/* Weights by pod name (targetRef), zone hints, a broken Service and an
 * orphan slice: what the example clusters lack. */
static const char named_doc[] =
	"{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
	"{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"web\","
	"\"annotations\":{\"svcd.io/weights\":\"pod-a=1, pod-b=3,198.18.1.13=0\"}},"
	"\"spec\":{\"clusterIP\":\"198.19.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}],"
	"\"trafficDistribution\":\"PreferClose\"}},"
	"{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"bad\"},"
	"\"spec\":{\"clusterIP\":\"198.19.0.11\",\"ports\":[{\"port\":70000}]}},"
	"{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"web-1\","
	"\"labels\":{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\","
	"\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
	"{\"addresses\":[\"198.18.1.11\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"pod-a\"},\"nodeName\":\"node-a\",\"zone\":\"z1\","
	"\"hints\":{\"forZones\":[{\"name\":\"z1\"}]}},"
	"{\"addresses\":[\"198.18.1.12\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"pod-b\"},\"nodeName\":\"node-b\",\"zone\":\"z1\","
	"\"hints\":{\"forZones\":[{\"name\":\"z1\"}]}},"
	"{\"addresses\":[\"198.18.1.13\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"pod-c\"},\"nodeName\":\"node-c\",\"zone\":\"z2\","
	"\"hints\":{\"forZones\":[{\"name\":\"z2\"}]}}]},"
	"{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"gone-1\","
	"\"labels\":{\"kubernetes.io/service-name\":\"gone\"}},\"addressType\":\"IPv4\","
	"\"ports\":[{\"port\":80}],\"endpoints\":[{\"addresses\":[\"198.18.1.14\"]}]}"
	"]}";

/*
 * The API source's whole build (objects through the stores: pruned, kept
 * as text, parsed back by store_build_list, or one at a time by
 * store_object_at for model_build_source) equals the build of the full
 * objects, on the repo's example clusters and a List with what they lack;
 * and one Service's objects (store_get, store_for_group) are its objects
 * in that list.
 */
void test_k8s_store_pruned_build(void)
{
	static const char *const files[] = {
		"examples/demo-cluster.json",
		"examples/demo-dual-stack.json",
		"named-weights-and-zones",
	};
	__be32 addrs[1] = { htonl(0xc6120001) };
	union svcd_ip6 addrs6[1] = {};
	struct model_config cfg = {
		.node_name = "node-a",
		.node_addrs = addrs,
		.n_node_addrs = 1,
		.node_addrs6 = addrs6,
		.n_node_addrs6 = 1,
	};
	size_t f;

	addrs6[0].w[0] = htonl(0x20010db8);
	addrs6[0].w[3] = htonl(1);
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct model_state full = {}, pruned = {};
		size_t errs_full = 0, errs_pruned = 0, n_svc = 0;
		int n_sl = 0;
		struct store *svcs = store_new("Service", "v1");
		struct store *sls =
			store_new("EndpointSlice", "discovery.k8s.io/v1");
		const struct store *stores[2] = { svcs, sls };
		struct stores_src ss = { .stores = stores };
		struct model_state streamed = {};
		size_t errs_streamed = 0;
		cJSON *doc, *svc_items, *sl_items, *it, *list;
		bool file = !strncmp(files[f], "examples/", 9);
		char *text = file ? read_all(files[f]) : strdup(named_doc);

		cfg.node_zone = file ? NULL : "z1";
		if (!test__start_subtest(files[f] + (file ? 9 : 0)))
			goto next;
		if (!ASSERT_OK_PTR(text, files[f]) ||
		    !ASSERT_OK_PTR(svcs, "store_new") ||
		    !ASSERT_OK_PTR(sls, "store_new"))
			goto next;
		ASSERT_OK(store_index_label(sls, "kubernetes.io/service-name"),
			  "index");
		doc = cJSON_Parse(text);
		svc_items = cJSON_CreateArray();
		sl_items = cJSON_CreateArray();
		if (!ASSERT_OK_PTR(doc, "parse") ||
		    !ASSERT_OK_PTR(svc_items, "array") ||
		    !ASSERT_OK_PTR(sl_items, "array")) {
			cJSON_Delete(doc);
			cJSON_Delete(svc_items);
			cJSON_Delete(sl_items);
			goto next;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "items")) {
			const char *kind = cJSON_GetStringValue(
				cJSON_GetObjectItem(it, "kind"));

			if (kind && !strcmp(kind, "Service"))
				cJSON_AddItemReferenceToArray(svc_items, it);
			else if (kind && !strcmp(kind, "EndpointSlice"))
				cJSON_AddItemReferenceToArray(sl_items, it);
		}
		ASSERT_OK(store_replace_all(svcs, svc_items, "1", NULL),
			  "services");
		ASSERT_OK(store_replace_all(sls, sl_items, "1", NULL),
			  "slices");
		ASSERT_GT(store_count(svcs), 0, "services kept");
		ASSERT_GT(store_count(sls), 0, "slices kept");
		ASSERT_OK(model_build(doc, &cfg, count_err, &errs_full, &full),
			  "build full");
		list = store_build_list(stores, 2);
		if (ASSERT_OK_PTR(list, "store_build_list")) {
			ASSERT_OK(model_build(list, &cfg, count_err,
					      &errs_pruned, &pruned),
				  "build pruned");
			ASSERT_TRUE(same_built(&full, &pruned),
				    "the stores' objects build the same state");
			ASSERT_EQ(errs_pruned, errs_full, "same problems");
			ASSERT_GT(full.n_sets, 0, "something built");
			cJSON_Delete(list);
		}
		ASSERT_EQ(store_objects(stores, 2),
			  store_count(svcs) + store_count(sls), "objects");
		ASSERT_TRUE(!store_object_at(stores, 2,
					     store_objects(stores, 2)),
			    "past the end");
		ASSERT_OK(model_build_source(
				  &(struct model_source){
					  .n = store_objects(stores, 2),
					  .get = stores_get,
					  .ctx = &ss,
				  },
				  &cfg, count_err, &errs_streamed, &streamed),
			  "build one object at a time");
		cJSON_Delete(ss.obj);
		ASSERT_TRUE(same_built(&full, &streamed),
			    "one object at a time builds the same state");
		ASSERT_EQ(errs_streamed, errs_full, "same problems, streamed");
		if (!file) {
			/* the names and the zone were used: pod-a 1, pod-b 3
			 * (z1's), pod-c not in this zone; one broken Service
			 * and one orphan slice reported */
			ASSERT_EQ(errs_full, 2, "problems in the named List");
			ASSERT_EQ(streamed.n_sets, 1, "one set");
			if (streamed.n_sets == 1 &&
			    ASSERT_EQ(streamed.sets[0].n_backends, 2,
				      "z1's two pods")) {
				ASSERT_EQ(streamed.sets[0].backends[0].weight,
					  1, "pod-a by name");
				ASSERT_EQ(streamed.sets[0].backends[1].weight,
					  3, "pod-b by name");
			}
		}
		model_state_free(&streamed);
		/* every Service's objects, one Service at a time */
		cJSON_ArrayForEach(it, svc_items) {
			const cJSON *meta = cJSON_GetObjectItem(it, "metadata");
			char key[256];

			snprintf(key, sizeof(key), "%s/%s",
				 cJSON_GetStringValue(cJSON_GetObjectItem(
					 meta, "namespace")),
				 cJSON_GetStringValue(
					 cJSON_GetObjectItem(meta, "name")));
			if (store_get(svcs, key))
				n_svc++;
			store_for_group(sls, key, count_obj, &n_sl);
		}
		ASSERT_EQ(n_svc, store_count(svcs), "store_get finds each");
		/* (the named List's orphan slice belongs to no Service) */
		ASSERT_EQ(n_sl, cJSON_GetArraySize(sl_items) - !file,
			  "store_for_group finds each slice");
		model_state_free(&full);
		model_state_free(&pruned);
		cJSON_Delete(svc_items);
		cJSON_Delete(sl_items);
		cJSON_Delete(doc);
next:
		free(text);
		store_free(svcs);
		store_free(sls);
	}
}

/* A kept object comes back as the pruned object, whatever runs of its
 * text the store writes short (gen-cluster's and the API server's). */
void test_k8s_store_text_roundtrip(void)
{
	static const char *const objs[] = {
		"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[{\"addresses\":[\"198.18.2.1\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"nodeName\":\"n2\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"p-0\",\"namespace\":\"b\",\"uid\":\"u\"}},{\"addresses\":[\"198.18.2.2\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true},\"nodeName\":\"n2\",\"targetRef\":{\"name\":\"p-1\"},\"zone\":\"z\",\"hints\":{\"forZones\":[{\"name\":\"z\"}]}}],\"kind\":\"EndpointSlice\",\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"web\",\"x\":\"y\"},\"name\":\"web-1\",\"namespace\":\"b\",\"resourceVersion\":\"7\",\"uid\":\"u\"},\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"b\",\"resourceVersion\":\"8\",\"annotations\":{\"svcd.io/weights\":\"a=2\",\"big\":\"x\"}},\"spec\":{\"clusterIP\":\"198.19.0.1\",\"clusterIPs\":[\"198.19.0.1\"],\"internalTrafficPolicy\":\"Cluster\",\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{\"app\":\"web\"},\"sessionAffinity\":\"None\",\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}",
		/* strings holding what the store writes short, escaped */
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"odd\",\"namespace\":\"b\",\"annotations\":{\"svcd.io/weights\":\"\\\"}},\\\"name\\\":\\\",\\\"port\\\":\\u0001\"}},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"198.19.0.2\"}}",
	};
	const char *kinds[] = { "EndpointSlice", "Service", "Service" };
	const char *apis[] = { "discovery.k8s.io/v1", "v1", "v1" };
	size_t i;

	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		struct store *s = store_new(kinds[i], apis[i]);
		cJSON *items = cJSON_Parse(objs[i]), *want, *arr;
		const cJSON *got;
		char key[64];

		if (!ASSERT_OK_PTR(s, "store_new") ||
		    !ASSERT_OK_PTR(items, "parse")) {
			store_free(s);
			cJSON_Delete(items);
			continue;
		}
		want = cJSON_Duplicate(items, true);
		arr = cJSON_CreateArray();
		cJSON_AddItemToArray(arr, items);
		ASSERT_OK(store_replace_all(s, arr, "1", NULL), "replace_all");
		store_prune(want, kinds[i], NULL);
		if (!cJSON_GetObjectItem(want, "apiVersion"))
			cJSON_AddStringToObject(want, "apiVersion", apis[i]);
		snprintf(key, sizeof(key), "b/%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(want, "metadata"),
				 "name")));
		got = store_get(s, key);
		ASSERT_OK_PTR(got, key);
		ASSERT_TRUE(got && cJSON_Compare(got, want, true),
			    "the pruned object back");
		ASSERT_FALSE(cJSON_GetObjectItem(
				     cJSON_GetObjectItem(got, "metadata"),
				     "uid"),
			     "uid pruned");
		cJSON_Delete(want);
		cJSON_Delete(arr);
		store_free(s);
	}
}
