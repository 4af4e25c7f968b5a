// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* k8s/objtext.c - what the store keeps of an object, and its compact text
 * (k8s/objtext.h, store_prune in k8s/store.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/objtext.h"
#include "k8s/store.h"

/* ---- what the store keeps of an object --------------------------------- */

/* Delete every member of obj (when an object) not named in keep. */
static void keep_only(cJSON *obj, const char *const *keep)
{
	cJSON *it, *next;
	size_t i;

	if (!cJSON_IsObject(obj))
		return;
	for (it = obj->child; it; it = next) {
		next = it->next;
		for (i = 0; keep[i]; i++)
			if (it->string && !strcmp(it->string, keep[i]))
				break;
		if (!keep[i])
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, it));
	}
}

static void keep_only_in(cJSON *parent, const char *name,
			 const char *const *keep)
{
	keep_only(cJSON_GetObjectItemCaseSensitive(parent, name), keep);
}

#define KEEP(...) ((const char *const[]){ __VA_ARGS__, NULL })

void store_prune(cJSON *obj, const char *kind, const char *label)
{
	cJSON *meta, *it;

	if (!cJSON_IsObject(obj) || !kind)
		return;
	if (!strcmp(kind, "Service"))
		keep_only(obj, KEEP("kind", "apiVersion", "metadata", "spec",
				    "status"));
	else if (!strcmp(kind, "EndpointSlice"))
		keep_only(obj, KEEP("kind", "apiVersion", "metadata",
				    "addressType", "endpoints", "ports"));
	else if (!strcmp(kind, "Node"))
		keep_only(obj,
			  KEEP("kind", "apiVersion", "metadata", "status"));
	else
		return;
	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	keep_only(meta, KEEP("name", "namespace", "resourceVersion", "labels",
			     "annotations"));
	/* the labels the model and the index read */
	keep_only_in(meta, "labels",
		     KEEP("kubernetes.io/service-name",
			  "service.kubernetes.io/service-proxy-name",
			  "service.kubernetes.io/headless",
			  "topology.kubernetes.io/zone", label ? label : ""));
	keep_only_in(meta, "annotations", KEEP("svcd.io/weights"));
	if (!strcmp(kind, "Service")) {
		it = cJSON_GetObjectItemCaseSensitive(obj, "spec");
		keep_only(it,
			  KEEP("type", "clusterIP", "clusterIPs", "ipFamilies",
			       "ports", "externalIPs", "internalTrafficPolicy",
			       "externalTrafficPolicy", "sessionAffinity",
			       "sessionAffinityConfig", "healthCheckNodePort",
			       "loadBalancerSourceRanges"));
		it = cJSON_GetObjectItemCaseSensitive(obj, "status");
		keep_only(it, KEEP("loadBalancer"));
		it = cJSON_GetObjectItemCaseSensitive(it, "loadBalancer");
		keep_only(it, KEEP("ingress"));
		it = cJSON_GetObjectItemCaseSensitive(it, "ingress");
		if (cJSON_IsArray(it)) {
			cJSON *ing;

			cJSON_ArrayForEach(ing, it)
				keep_only(ing, KEEP("ip", "ipMode"));
		}
	} else if (!strcmp(kind, "EndpointSlice")) {
		it = cJSON_GetObjectItemCaseSensitive(obj, "endpoints");
		if (cJSON_IsArray(it)) {
			cJSON *ep;

			cJSON_ArrayForEach(ep, it) {
				keep_only(ep, KEEP("addresses", "conditions",
						   "nodeName", "hints",
						   "targetRef"));
				keep_only_in(ep, "conditions",
					     KEEP("ready", "serving",
						  "terminating"));
				keep_only_in(ep, "targetRef", KEEP("name"));
			}
		}
	} else {
		it = cJSON_GetObjectItemCaseSensitive(obj, "status");
		keep_only(it, KEEP("addresses"));
	}
}

/* ---- the kept text: compact JSON with common runs as one byte ---------- */

/*
 * Runs of JSON that most kept objects repeat, each written as one byte
 * 0x01..0x1f: bytes the printed JSON never holds (cJSON escapes control
 * characters inside strings). Longest first: the encoder takes the first
 * that matches. An object with none of them is kept as printed.
 */
static const char *const tokens[] = {
	"\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false}",
	"\"labels\":{\"kubernetes.io/service-name\":\"",
	",\"internalTrafficPolicy\":\"Cluster\"",
	"\"status\":{\"loadBalancer\":{}}",
	"\"sessionAffinity\":\"None\"",
	"\",\"targetRef\":{\"name\":\"",
	"\",\"resourceVersion\":\"",
	"\"ipFamilies\":[\"IPv4\"]",
	"\"addressType\":\"IPv4\"",
	"\"terminating\":false",
	",\"protocol\":\"TCP\"",
	"\"type\":\"ClusterIP\"",
	"\"terminating\":true",
	"\"conditions\":{",
	"{\"addresses\":[\"",
	"\",\"namespace\":\"",
	"\"clusterIPs\":[\"",
	"\"serving\":false",
	"\"serving\":true",
	"\"clusterIP\":\"",
	",\"nodeName\":\"",
	"\"ready\":false",
	"\"endpoints\":[",
	"\"targetPort\":",
	"\"ready\":true",
	"\"metadata\":{",
	"\"ports\":[{",
	"\"name\":\"",
	"\"spec\":{",
	",\"port\":",
	"\"}},",
};

#define N_TOKENS (sizeof(tokens) / sizeof(tokens[0]))

_Static_assert(N_TOKENS < 0x20, "one byte below 0x20 per token");

static size_t token_len[N_TOKENS];

static void tokens_init(void)
{
	size_t i;

	if (token_len[0])
		return;
	for (i = 0; i < N_TOKENS; i++)
		token_len[i] = strlen(tokens[i]);
}

/* text (printed JSON) with each run of tokens[i] written as byte i + 1,
 * in place: never longer. */
void objtext_encode(char *text)
{
	const char *in = text;
	char *out = text;
	size_t i;

	tokens_init();
	while (*in) {
		if (*in == '"' || *in == ',' || *in == '{') {
			for (i = 0; i < N_TOKENS; i++)
				if (*in == tokens[i][0] &&
				    !strncmp(in, tokens[i], token_len[i]))
					break;
			if (i < N_TOKENS) {
				*out++ = (char)(i + 1);
				in += token_len[i];
				continue;
			}
		}
		*out++ = *in++;
	}
	*out = '\0';
}

/* The JSON text of an encoded one, malloc'ed; NULL when out of memory. */
char *objtext_decode(const char *text)
{
	const unsigned char *p;
	size_t len = 0;
	char *buf, *out;

	tokens_init();
	for (p = (const unsigned char *)text; *p; p++)
		len += *p <= N_TOKENS ? token_len[*p - 1] : 1;
	buf = malloc(len + 1);
	if (!buf)
		return NULL;
	for (out = buf, p = (const unsigned char *)text; *p; p++) {
		if (*p <= N_TOKENS) {
			memcpy(out, tokens[*p - 1], token_len[*p - 1]);
			out += token_len[*p - 1];
		} else {
			*out++ = (char)*p;
		}
	}
	*out = '\0';
	return buf;
}
