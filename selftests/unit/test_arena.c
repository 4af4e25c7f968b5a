// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_arena.c - cJSON trees in a bump arena (lib/arena.h), as the API
 * source's whole build parses every stored object into one. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/arena.h"
#include "lib/k8s/store.h"
#include "runner.h"

static const char page[] =
	"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\","
	"\"metadata\":{\"resourceVersion\":\"7\"},\"items\":["
	"{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"},"
	"\"spec\":{\"clusterIP\":\"198.19.96.1\",\"ports\":[{\"port\":80}]}},"
	"{\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\"},"
	"\"spec\":{\"clusterIP\":\"198.19.96.2\",\"ports\":[{\"port\":53,"
	"\"protocol\":\"UDP\"}]}}]}";

void test_arena(void)
{
	struct store *st = store_new("Service", "v1");
	const struct store *stores[1] = { st };
	char err[128], *cont = NULL, *plain = NULL, *in_arena = NULL;
	struct arena *a;
	cJSON *doc;

	if (!ASSERT_OK_PTR(st, "store_new"))
		return;
	store_list_begin(st);
	ASSERT_OK(store_list_page(st, page, strlen(page), &cont, err,
				  sizeof(err)),
		  "list page");
	ASSERT_OK(store_list_commit(st, NULL), "list commit");

	doc = store_build_list(stores, 1);
	if (ASSERT_OK_PTR(doc, "list, malloc"))
		plain = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);

	a = arena_new();
	if (!ASSERT_OK_PTR(a, "arena_new"))
		goto out;
	ASSERT_EQ(arena_used(a), 0, "empty at first");
	arena_use(a);
	doc = store_build_list(stores, 1);
	arena_use(NULL);
	ASSERT_GT(arena_used(a), 0, "the list's nodes came from the arena");
	/* printed with malloc again: outlives the arena */
	if (ASSERT_OK_PTR(doc, "list, arena"))
		in_arena = cJSON_PrintUnformatted(doc);
	arena_free(a); /* the list with it, never cJSON_Delete()d */
	if (plain && in_arena)
		ASSERT_STREQ(in_arena, plain, "same list either way");

	/* after it, cJSON is back on malloc: a tree to delete as usual */
	doc = cJSON_Parse(page);
	ASSERT_OK_PTR(doc, "parse after the arena");
	/* a list page is parsed in the store's own arena: what it keeps is
	 * what the same items kept through store_replace_all() give */
	if (doc) {
		struct store *st2 = store_new("Service", "v1");
		const struct store *stores2[1] = { st2 };
		cJSON *doc2;
		char *via_replace = NULL;

		if (ASSERT_OK_PTR(st2, "store_new"))
			ASSERT_OK(store_replace_all(
					  st2,
					  cJSON_GetObjectItemCaseSensitive(
						  doc, "items"),
					  "7", NULL),
				  "replace_all");
		doc2 = st2 ? store_build_list(stores2, 1) : NULL;
		if (doc2)
			via_replace = cJSON_PrintUnformatted(doc2);
		if (via_replace && plain)
			ASSERT_STREQ(plain, via_replace,
				     "a list page keeps what replace_all does");
		cJSON_Delete(doc2);
		free(via_replace);
		store_free(st2);
	}
	cJSON_Delete(doc);
out:
	free(plain);
	free(in_arena);
	store_free(st);
}

/* A small-chunked arena reused per object, as svcd's whole sync from the
 * API source uses one: a tree larger than a chunk gets a chunk of its
 * own, a reset keeps the newest chunk, and each tree reads back whole. */
void test_arena_chunked(void)
{
	struct arena *a = arena_new_chunked(4096);
	char *text = NULL, *back = NULL;
	cJSON *arr, *doc;
	size_t i, len;
	int round;

	if (!ASSERT_OK_PTR(a, "arena_new_chunked"))
		return;
	/* an array of 2,000 strings: far more than one 4 KiB chunk */
	arr = cJSON_CreateArray();
	for (i = 0; arr && i < 2000; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString("198.18.1.1"));
	text = arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	if (!ASSERT_OK_PTR(text, "text"))
		goto out;
	len = strlen(text);
	for (round = 0; round < 3; round++) {
		arena_reset(a);
		arena_use(a);
		doc = cJSON_Parse(round == 1 ? "[1,2,3]" : text);
		arena_use(NULL);
		if (!ASSERT_OK_PTR(doc, "parse in the arena"))
			break;
		ASSERT_GT(arena_used(a), 0, "from the arena");
		if (round == 1) {
			ASSERT_EQ(cJSON_GetArraySize(doc), 3, "small tree");
			ASSERT_LT(arena_used(a), 4096, "in one chunk");
			continue;
		}
		ASSERT_GT(arena_used(a), 4096, "large tree: chunks of its own");
		back = cJSON_PrintUnformatted(doc);
		if (ASSERT_OK_PTR(back, "print"))
			ASSERT_EQ(strlen(back), len, "read back whole");
		if (back)
			ASSERT_STREQ(back, text, "same tree");
		free(back);
		back = NULL;
	}
out:
	free(text);
	arena_free(a);
}
