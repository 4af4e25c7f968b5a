/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s/store.h - the object cache that list and watch feed: one store per
 * resource (Services, EndpointSlices, Nodes), keyed "namespace/name" (just
 * "name" for cluster-scoped objects), holding each object as the compact
 * JSON text of what svcd reads of it (store_prune), parsed again when asked
 * for, plus the resourceVersion to resume a watch from.
 *
 * Pure over cJSON: no I/O, no curl, no globals. The HTTP side hands it
 * list pages and watch lines; the rebuild side asks for every object,
 * one at a time (store_object_at, for model_build_source), or, for a
 * change, for the objects of the Services it touched
 * (store_take_touched, store_for_group).
 *
 * Coalescing: every change bumps the store's generation and sets dirty;
 * the event loop applies a burst of events, then rebuilds once for all
 * stores that are dirty and clears the flags.
 */
#ifndef SVCD_K8S_STORE_H
#define SVCD_K8S_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <linux/types.h>

struct store;

/* What a (re)list did to the store. */
struct store_counts {
	size_t added, changed, removed;
	size_t invalid; /* items without metadata.name, or of another kind */
};

/* Results of store_apply_event() that are not errors. */
enum store_result {
	STORE_UNCHANGED = 0, /* bookmark, or an event that changed nothing */
	STORE_CHANGED = 1,   /* an object was added, replaced or deleted */
	STORE_GONE = 2,	     /* ERROR 410 Gone/Expired: relist */
};

/*
 * kind ("Service") and api_version ("v1") are what list items lack and
 * what model_build() needs to tell objects apart: objects stored without
 * them get them. Returns NULL and sets errno.
 */
struct store *store_new(const char *kind, const char *api_version);
void store_free(struct store *s);

const char *store_kind(const struct store *s);
/* The resourceVersion to watch from, or NULL before the first list. */
const char *store_resource_version(const struct store *s);
size_t store_count(const struct store *s);
/*
 * The object under key ("ns/name" or "name"), or NULL (none, or out of
 * memory): parsed from the kept text, and valid until the next change or
 * the next store_get() or store_for_group() on this store.
 */
const cJSON *store_get(const struct store *s, const char *key);
/* Bumped by every change. */
uint64_t store_generation(const struct store *s);
bool store_dirty(const struct store *s);
void store_clear_dirty(struct store *s);

/*
 * Replace the whole content with items (a cJSON array of objects, copied)
 * and set the resourceVersion to rv (unless NULL): a relist converges to
 * the new truth, removing what vanished. counts may be NULL. Invalid
 * items are skipped and counted. Returns 0, -EINVAL (items is not an
 * array) or -ENOMEM; on error the store is unchanged.
 */
int store_replace_all(struct store *s, const cJSON *items, const char *rv,
		      struct store_counts *counts);

/*
 * A paginated list, page by page, committed as one store_replace_all():
 * store_list_begin(), then store_list_page() for each response body until
 * *continue_token comes back NULL (otherwise pass it as continue= of the
 * next request and free() it), then store_list_commit(). An error or a
 * 410 on a continue means store_list_begin() again from the first page.
 * store_list_page returns 0, -EINVAL (not a List; message in err), or
 * -ENOMEM. store_list_commit returns 0, -EINVAL (no page was added) or
 * -ENOMEM; the staged pages are dropped either way.
 */
void store_list_begin(struct store *s);
int store_list_page(struct store *s, const char *body, size_t len,
		    char **continue_token, char *err, size_t err_size);
int store_list_commit(struct store *s, struct store_counts *counts);
void store_list_abort(struct store *s);

/*
 * Apply one watch line: {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
 * "object": {...}}. The resourceVersion follows the object's (or the
 * bookmark's) metadata.resourceVersion. Returns enum store_result, or:
 *   -EPROTO  an ERROR event with another status (message in err)
 *   -EINVAL  a malformed line (message in err); the store is untouched
 *   -ENOMEM
 * On -EPROTO and -EINVAL the caller logs err and re-watches from
 * store_resource_version(); on STORE_GONE it relists.
 */
int store_apply_event(struct store *s, const char *line, size_t len, char *err,
		      size_t err_size);

/*
 * {"kind":"List","apiVersion":"v1","items":[...]} of every object of the
 * given stores: stores in the order given, objects by key, each parsed
 * from its kept text and owned by the list: free it with cJSON_Delete().
 * Returns NULL on allocation failure.
 */
cJSON *store_build_list(const struct store *const *stores, size_t n);

/*
 * The same objects one at a time, for a build that never holds them all
 * (model_build_source): store_objects() is how many there are, and
 * store_object_at() parses object i of them, in store_build_list()'s
 * order, owned by the caller (cJSON_Delete()). NULL when out of memory
 * or i is past the end.
 */
size_t store_objects(const struct store *const *stores, size_t n);
cJSON *store_object_at(const struct store *const *stores, size_t n, size_t i);

/*
 * What changed, for a sync that rebuilds only that. With an index label
 * (store_index_label: EndpointSlices by kubernetes.io/service-name), the
 * store also finds every object of a group ("namespace/<label value>");
 * without one, the group of an object is its key.
 *
 * store_take_touched() hands over (caller frees each name and the array)
 * the groups that watch events changed since the last call: an object
 * added, changed or deleted names the group of its old and of its new
 * version (an object without the label names none); a name may come more
 * than once. *relisted is set when a list replaced the content since, or
 * when more than a few thousand names piled up (or memory ran out): then
 * the names are none and everything may have changed.
 */
/* store_for_group's objects are as store_get's: valid until the next
 * change, store_get() or store_for_group() on this store. */
typedef void (*store_each_fn)(void *ctx, const cJSON *obj);
int store_index_label(struct store *s, const char *label);
void store_for_group(const struct store *s, const char *group, store_each_fn fn,
		     void *ctx);
size_t store_take_touched(struct store *s, char ***names, bool *relisted);

/*
 * What the store keeps of an object of kind (Service, EndpointSlice, Node;
 * others are left alone), pruned in place: kind, apiVersion; metadata
 * name, namespace, resourceVersion, the labels kubernetes.io/service-name,
 * service.kubernetes.io/service-proxy-name and .../headless,
 * topology.kubernetes.io/zone and label (the index's, may be NULL), the
 * annotation svcd.io/weights; a Service's spec fields the model reads and
 * status.loadBalancer.ingress[].ip/ipMode; an EndpointSlice's addressType,
 * ports and endpoints[] addresses, conditions (ready, serving,
 * terminating), nodeName, hints and targetRef.name; a Node's
 * status.addresses. A member of another type than expected (metadata not
 * an object, ...) is kept as it is, so the model reports what it would
 * have reported. The model's build of the pruned objects is the build of
 * the full ones (selftests/unit/test_model.c checks every fixture).
 */
void store_prune(cJSON *obj, const char *kind, const char *label);

#define STORE_NODE_MAX_ADDRS 8

/* What model_config needs from this node's Node object. */
struct store_node_info {
	char zone[64]; /* label topology.kubernetes.io/zone, "" if none */
	__be32 addrs[STORE_NODE_MAX_ADDRS]; /* IPv4, network order */
	size_t n_addrs; /* InternalIP ones first, then ExternalIP */
};

/* Returns 0, or -ENOENT when the store has no Node node_name. */
int store_node_info(const struct store *nodes, const char *node_name,
		    struct store_node_info *info);

#endif
