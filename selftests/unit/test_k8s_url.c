// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_k8s_url.c - list and watch paths with encoded query parameters. */
#include <errno.h>
#include <stdlib.h>

#include "lib/k8s/url.h"
#include "runner.h"

#define SEL \
	"labelSelector=%21service.kubernetes.io%2Fservice-proxy-name%2C%21service.kubernetes.io%2Fheadless"

void test_k8s_url(void)
{
	char *path = NULL;
	int err;

	if (test__start_subtest("list")) {
		err = k8s_list_path(K8S_SERVICES, NULL, 500, NULL, &path);
		ASSERT_OK(err, "services");
		ASSERT_STREQ(path, "/api/v1/services?" SEL "&limit=500",
			     "services path");
		free(path);
		err = k8s_list_path(
			K8S_ENDPOINTSLICES, "ignored", 0,
			"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTB9+/=", &path);
		ASSERT_OK(err, "endpointslices with continue");
		ASSERT_STREQ(
			path,
			"/apis/discovery.k8s.io/v1/endpointslices?" SEL
			"&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTB9%2B%2F%3D",
			"endpointslices path");
		free(path);
		err = k8s_list_path(K8S_NODES, "node-1.example", 0, NULL,
				    &path);
		ASSERT_OK(err, "nodes");
		ASSERT_STREQ(
			path,
			"/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1.example",
			"nodes path");
		free(path);
	}
	if (test__start_subtest("watch")) {
		err = k8s_watch_path(K8S_ENDPOINTSLICES, NULL, "12345", 290,
				     &path);
		ASSERT_OK(err, "endpointslices");
		ASSERT_STREQ(
			path,
			"/apis/discovery.k8s.io/v1/endpointslices?" SEL
			"&resourceVersion=12345&watch=1&allowWatchBookmarks=true&timeoutSeconds=290",
			"endpointslices watch");
		free(path);
		err = k8s_watch_path(K8S_NODES, "n1", "7", 0, &path);
		ASSERT_OK(err, "nodes");
		ASSERT_STREQ(
			path,
			"/api/v1/nodes?fieldSelector=metadata.name%3Dn1&resourceVersion=7&watch=1&allowWatchBookmarks=true",
			"nodes watch");
		free(path);
	}
	if (test__start_subtest("errors")) {
		path = (char *)1;
		ASSERT_EQ(k8s_list_path(K8S_NODES, NULL, 0, NULL, &path),
			  -EINVAL, "nodes need a name");
		ASSERT_TRUE(path == NULL, "out cleared");
		ASSERT_EQ(k8s_list_path(K8S_NODES, "", 0, NULL, &path), -EINVAL,
			  "empty name");
		ASSERT_EQ(k8s_watch_path(K8S_SERVICES, NULL, NULL, 0, &path),
			  -EINVAL, "watch needs a resourceVersion");
		ASSERT_EQ(k8s_watch_path(K8S_SERVICES, NULL, "", 0, &path),
			  -EINVAL, "empty resourceVersion");
		ASSERT_EQ(k8s_path_build(K8S_RESOURCE_COUNT,
					 &(struct k8s_query){}, &path),
			  -EINVAL, "unknown resource");
		ASSERT_TRUE(k8s_resource_path(-1) == NULL, "no path for -1");
	}
	if (test__start_subtest("encoding")) {
		struct k8s_query q = {
			.label_selector = "a in (x, y),b!=c",
			.field_selector = "spec.x=é~_.-",
		};

		err = k8s_path_build(K8S_SERVICES, &q, &path);
		ASSERT_OK(err, "build");
		ASSERT_STREQ(
			path,
			"/api/v1/services?labelSelector=a%20in%20%28x%2C%20y%29%2Cb%21%3Dc&fieldSelector=spec.x%3D%C3%A9~_.-",
			"reserved and UTF-8 bytes encoded");
		free(path);
		err = k8s_path_build(K8S_NODES, &(struct k8s_query){}, &path);
		ASSERT_OK(err, "no parameters");
		ASSERT_STREQ(path, "/api/v1/nodes", "bare path");
		free(path);
	}
	if (test__start_subtest("kinds")) {
		ASSERT_STREQ(k8s_resource_kind(K8S_ENDPOINTSLICES),
			     "EndpointSlice", "kind");
		ASSERT_STREQ(k8s_resource_api_version(K8S_ENDPOINTSLICES),
			     "discovery.k8s.io/v1", "apiVersion");
		ASSERT_STREQ(k8s_resource_kind(K8S_SERVICES), "Service",
			     "kind");
		ASSERT_STREQ(k8s_resource_api_version(K8S_NODES), "v1",
			     "apiVersion");
	}
	if (test__start_subtest("join")) {
		ASSERT_OK(k8s_url_join("https://h:6443/", "/api/v1/nodes",
				       &path),
			  "join");
		ASSERT_STREQ(path, "https://h:6443/api/v1/nodes", "one slash");
		free(path);
		ASSERT_OK(k8s_url_join("https://rancher/k8s/clusters/c-1",
				       "/api/v1/services", &path),
			  "join prefix");
		ASSERT_STREQ(path,
			     "https://rancher/k8s/clusters/c-1/api/v1/services",
			     "prefix kept");
		free(path);
	}
}
