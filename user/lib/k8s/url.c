// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* k8s/url.c - API paths with encoded query parameters (k8s/url.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/url.h"

static const struct {
	const char *path;
	const char *kind;
	const char *api_version;
} resources[K8S_RESOURCE_COUNT] = {
	[K8S_SERVICES] = { "/api/v1/services", "Service", "v1" },
	[K8S_ENDPOINTSLICES] = { "/apis/discovery.k8s.io/v1/endpointslices",
				 "EndpointSlice", "discovery.k8s.io/v1" },
	[K8S_NODES] = { "/api/v1/nodes", "Node", "v1" },
};

const char *k8s_resource_path(enum k8s_resource res)
{
	return (unsigned int)res < K8S_RESOURCE_COUNT ? resources[res].path :
							NULL;
}

const char *k8s_resource_kind(enum k8s_resource res)
{
	return (unsigned int)res < K8S_RESOURCE_COUNT ? resources[res].kind :
							NULL;
}

const char *k8s_resource_api_version(enum k8s_resource res)
{
	return (unsigned int)res < K8S_RESOURCE_COUNT ?
		       resources[res].api_version :
		       NULL;
}

/* A growing string; on allocation failure it stays failed. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct strbuf *sb, const char *data, size_t n)
{
	if (sb->failed)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		char *s;

		while (cap < sb->len + n + 1)
			cap *= 2;
		s = realloc(sb->s, cap);
		if (!s) {
			sb->failed = true;
			return;
		}
		sb->s = s;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, data, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void sb_str(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/* RFC 3986: everything but the unreserved characters is %XX-encoded. */
static void sb_encoded(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = *s;
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			sb_add(sb, (const char *)&c, 1);
		else
			sb_add(sb, esc, 3);
	}
}

static void sb_param(struct strbuf *sb, bool *first, const char *name,
		     const char *value)
{
	sb_str(sb, *first ? "?" : "&");
	*first = false;
	sb_str(sb, name);
	sb_str(sb, "=");
	sb_encoded(sb, value);
}

int k8s_path_build(enum k8s_resource res, const struct k8s_query *q, char **out)
{
	struct strbuf sb = {};
	bool first = true;
	char num[16];

	*out = NULL;
	if (!k8s_resource_path(res))
		return -EINVAL;
	sb_str(&sb, k8s_resource_path(res));
	if (q->label_selector)
		sb_param(&sb, &first, "labelSelector", q->label_selector);
	if (q->field_selector)
		sb_param(&sb, &first, "fieldSelector", q->field_selector);
	if (q->limit) {
		snprintf(num, sizeof(num), "%u", q->limit);
		sb_param(&sb, &first, "limit", num);
	}
	if (q->continue_token)
		sb_param(&sb, &first, "continue", q->continue_token);
	if (q->resource_version)
		sb_param(&sb, &first, "resourceVersion", q->resource_version);
	if (q->watch)
		sb_param(&sb, &first, "watch", "1");
	if (q->allow_watch_bookmarks)
		sb_param(&sb, &first, "allowWatchBookmarks", "true");
	if (q->timeout_seconds) {
		snprintf(num, sizeof(num), "%u", q->timeout_seconds);
		sb_param(&sb, &first, "timeoutSeconds", num);
	}
	if (sb.failed) {
		free(sb.s);
		return -ENOMEM;
	}
	*out = sb.s;
	return 0;
}

/* The selectors every request for res carries. */
static int selectors(enum k8s_resource res, const char *node_name,
		     struct k8s_query *q, char *field, size_t field_size)
{
	switch (res) {
	case K8S_SERVICES:
	case K8S_ENDPOINTSLICES:
		q->label_selector = K8S_PROXY_LABEL_SELECTOR;
		return 0;
	case K8S_NODES:
		if (!node_name || !*node_name)
			return -EINVAL;
		if (snprintf(field, field_size, "metadata.name=%s",
			     node_name) >= (int)field_size)
			return -EINVAL;
		q->field_selector = field;
		return 0;
	default:
		return -EINVAL;
	}
}

/* metadata.name is at most 253 characters. */
#define FIELD_SELECTOR_LEN 300

int k8s_list_path(enum k8s_resource res, const char *node_name,
		  unsigned int limit, const char *continue_token, char **out)
{
	struct k8s_query q = { .limit = limit,
			       .continue_token = continue_token };
	char field[FIELD_SELECTOR_LEN];
	int err;

	*out = NULL;
	err = selectors(res, node_name, &q, field, sizeof(field));
	if (err)
		return err;
	return k8s_path_build(res, &q, out);
}

int k8s_watch_path(enum k8s_resource res, const char *node_name,
		   const char *resource_version, unsigned int timeout_seconds,
		   char **out)
{
	struct k8s_query q = { .resource_version = resource_version,
			       .watch = true,
			       .allow_watch_bookmarks = true,
			       .timeout_seconds = timeout_seconds };
	char field[FIELD_SELECTOR_LEN];
	int err;

	*out = NULL;
	if (!resource_version || !*resource_version)
		return -EINVAL;
	err = selectors(res, node_name, &q, field, sizeof(field));
	if (err)
		return err;
	return k8s_path_build(res, &q, out);
}

int k8s_url_join(const char *server, const char *path, char **out)
{
	size_t n = strlen(server);

	while (n && server[n - 1] == '/')
		n--;
	while (*path == '/')
		path++;
	if (asprintf(out, "%.*s/%s", (int)n, server, path) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
