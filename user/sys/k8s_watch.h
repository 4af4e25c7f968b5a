/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s_watch.h - the Kubernetes API source: list then watch Services,
 * EndpointSlices and this node's Node over libcurl's multi interface,
 * driven from svcd's one event loop (no thread per watch).
 *
 * The client owns an epoll fd that holds curl's sockets and timers; svcd
 * adds that one fd to its own epoll set and calls k8s_client_dispatch()
 * when it is readable. After a dispatch that changed objects, the change
 * callback runs once; svcd then rebuilds the Services the events touched
 * (k8s_client_take_changes, k8s_client_service_objects), or, after a
 * list, builds the whole List.
 */
#ifndef SVCD_K8S_WATCH_H
#define SVCD_K8S_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/k8s/store.h"
#include "lib/k8s/kubeconfig.h"

struct k8s_client_config {
	const struct kubeconfig *kc;  /* server, CA, credentials */
	const char *node_name;	      /* fieldSelector for the Node watch */
	unsigned int list_limit;      /* page size; 0 = 500 */
	unsigned int watch_timeout_s; /* server-side watch timeout; 0 = 300 */
};

struct k8s_client_stats {
	unsigned long lists, list_pages, watches, events, relists, errors;
	unsigned long http_410, http_429, http_5xx, http_401;
};

typedef void (*k8s_change_fn)(void *ctx);

struct k8s_client;

/* NULL + errno on failure (one pr_err line says why). */
struct k8s_client *k8s_client_new(const struct k8s_client_config *cfg,
				  k8s_change_fn on_change, void *ctx);
void k8s_client_free(struct k8s_client *c);

/* An fd that becomes readable when the client has work to do. */
int k8s_client_fd(const struct k8s_client *c);
/* Does the pending work; returns 0 or -errno on an internal failure. */
int k8s_client_dispatch(struct k8s_client *c);

/* True once Services and EndpointSlices have each been listed whole. */
bool k8s_client_synced(const struct k8s_client *c);

/*
 * The current Services and EndpointSlices, one object at a time, for
 * model_build_source(): how many, and object i of them (Services first,
 * each kind by namespace/name), parsed anew and owned by the caller
 * (cJSON_Delete()); NULL when out of memory. Valid until the next
 * k8s_client_dispatch().
 */
size_t k8s_client_objects(const struct k8s_client *c);
cJSON *k8s_client_object_at(const struct k8s_client *c, size_t i);

/*
 * What watch events changed since the last call: the Services to rebuild
 * ("namespace/name", each malloc'ed, in a malloc'ed array; a name may
 * repeat) from Service events and EndpointSlice events (by their
 * kubernetes.io/service-name label, old and new). *whole: a list replaced
 * Services or EndpointSlices (the first list, a relist), or too much piled
 * up: rebuild everything. Returns 0.
 */
int k8s_client_take_changes(struct k8s_client *c, char ***names,
			    size_t *n_names, bool *whole);
/* The objects of Service name: a cJSON array of references to it (if it
 * exists) and its EndpointSlices, for model_inc_update(); cJSON_Delete()
 * it before the next dispatch. NULL when out of memory. */
cJSON *k8s_client_service_objects(const struct k8s_client *c, const char *name);

/* The node's zone and addresses, -ENOENT until the Node is known. */
int k8s_client_node_info(const struct k8s_client *c,
			 struct store_node_info *info);

/*
 * CLOCK_MONOTONIC (ns) when the first watch event that changed an object
 * since the last call arrived, 0 if none did (lists alone): the start of
 * svcd_change_to_maps_seconds. Resets it.
 */
uint64_t k8s_client_take_change_ns(struct k8s_client *c);

void k8s_client_get_stats(const struct k8s_client *c,
			  struct k8s_client_stats *stats);

#endif
