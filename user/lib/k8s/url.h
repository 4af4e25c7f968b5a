/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s/url.h - request paths of the Kubernetes API that svcd lists and
 * watches, with percent-encoded query parameters. Pure string building.
 */
#ifndef SVCD_K8S_URL_H
#define SVCD_K8S_URL_H

#include <stdbool.h>

enum k8s_resource {
	K8S_SERVICES = 0,	/* /api/v1/services */
	K8S_ENDPOINTSLICES = 1, /* /apis/discovery.k8s.io/v1/endpointslices */
	K8S_NODES = 2,		/* /api/v1/nodes */
	K8S_RESOURCE_COUNT,
};

/* kube-proxy's selector for Services and EndpointSlices. */
#define K8S_PROXY_LABEL_SELECTOR                     \
	"!service.kubernetes.io/service-proxy-name," \
	"!service.kubernetes.io/headless"

/* Every field is optional: NULL / 0 / false leaves the parameter out. */
struct k8s_query {
	const char *label_selector;
	const char *field_selector;
	unsigned int limit;	    /* list page size */
	const char *continue_token; /* from the previous page's metadata */
	const char *resource_version;
	bool watch;		    /* watch=1 */
	bool allow_watch_bookmarks; /* allowWatchBookmarks=true */
	unsigned int timeout_seconds;
};

/* "/api/v1/services" ...; NULL for an unknown resource. */
const char *k8s_resource_path(enum k8s_resource res);
/* "Service", "EndpointSlice", "Node"; the kind of the items. */
const char *k8s_resource_kind(enum k8s_resource res);
/* "v1", "discovery.k8s.io/v1", "v1". */
const char *k8s_resource_api_version(enum k8s_resource res);

/*
 * Build "PATH?k=v&..." into a new string (*out, free()). Returns 0,
 * -EINVAL (unknown resource) or -ENOMEM.
 */
int k8s_path_build(enum k8s_resource res, const struct k8s_query *q,
		   char **out);

/*
 * The paths svcd uses. Services and EndpointSlices carry
 * K8S_PROXY_LABEL_SELECTOR; Nodes carry fieldSelector=metadata.name=NODE
 * (node_name is required for K8S_NODES, -EINVAL without it).
 * List: limit (0 = none) and continue (NULL on the first page).
 * Watch: watch=1, allowWatchBookmarks=true, resourceVersion (required),
 * timeoutSeconds (0 = the server's default).
 */
int k8s_list_path(enum k8s_resource res, const char *node_name,
		  unsigned int limit, const char *continue_token, char **out);
int k8s_watch_path(enum k8s_resource res, const char *node_name,
		   const char *resource_version, unsigned int timeout_seconds,
		   char **out);

/*
 * Join the server URL (as in a kubeconfig, maybe with a path prefix and a
 * trailing '/') and a path starting with '/'. Returns 0 or -ENOMEM.
 */
int k8s_url_join(const char *server, const char *path, char **out);

#endif
