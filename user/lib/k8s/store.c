// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s/store.c - object cache fed by list and watch (k8s/store.h).
 * layout: one file (about 1,200 lines) on purpose: the entries, the list
 * staging, the label index and the touched names all live in struct store
 * and change together on every list and event; split, that struct would
 * have to be public. The text an entry is kept in is k8s/objtext.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "k8s/objtext.h"
#include "k8s/store.h"

/*
 * One object, kept as the compact JSON text of what svcd reads of it
 * (store_prune): a few hundred bytes where its parsed cJSON tree would
 * take ten times that. It is parsed again when asked for.
 */
struct store_entry {
	char *key;     /* "namespace/name" or "name" */
	char *text;    /* owned: the pruned object, unformatted */
	char *group;   /* owned: its group in the label index, or NULL */
	size_t seq;    /* input order, to keep the last duplicate of a list */
	bool in_block; /* key, text and group are in the store's block */
};

/* Entries on their way in, from a list or store_replace_all(). */
struct staging {
	struct store_entry *e;
	size_t n, cap;
	size_t invalid; /* items skipped */
};

/* One object in the label index: its group and its key, both owned. */
struct group_node {
	char *group; /* "namespace/<label value>" */
	char *key;
	struct group_node *next;
};

/* At most this many touched names are kept; past it a sync is whole. */
#define STORE_MAX_TOUCHED 4096

struct store {
	char *kind;
	char *api_version;
	struct store_entry *entries; /* sorted by key, keys unique */
	size_t n, cap;
	char *rv;
	uint64_t generation;
	bool dirty;
	/* a paginated list in progress: its objects, already pruned */
	struct staging staged;
	/* the strings of the entries a list installed, side by side in one
	 * allocation rather than scattered among the freed pages of the
	 * list's parsed objects (which would keep those pages resident);
	 * freed when the last of them goes */
	char *block;
	size_t block_live;
	char *staged_rv;
	/* objects parsed for store_get() and store_for_group(), freed at
	 * the next of those calls or change */
	cJSON *scratch;
	/* a list page's parse, while a list is under way (lib/arena.h) */
	struct arena *page_arena;
	/* an object printed before it is encoded and kept */
	char *print_buf;
	size_t print_cap;
	/* store_index_label(): objects by the group their label names */
	char *label;
	struct group_node **buckets;
	size_t n_buckets, n_nodes;
	/* what watch events touched since store_take_touched() */
	char **touched;
	size_t n_touched, cap_touched;
	bool relisted;
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

struct store *store_new(const char *kind, const char *api_version)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = strdup(kind);
	s->api_version = strdup(api_version);
	if (!s->kind || !s->api_version) {
		store_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static void index_free(struct store *s);
static void touched_clear(struct store *s);
static size_t find(const struct store *s, const char *key, bool *found);

/* For entries of staging and new ones: never in a block. */
static void entry_free(struct store_entry *e)
{
	free(e->key);
	free(e->text);
	free(e->group);
}

static void free_entries(struct store_entry *entries, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		entry_free(&entries[i]);
	free(entries);
}

/* For the store's entries: in the block or not. */
static void kept_free(struct store *s, struct store_entry *e)
{
	if (!e->in_block) {
		entry_free(e);
		return;
	}
	e->in_block = false;
	if (!--s->block_live) {
		free(s->block);
		s->block = NULL;
	}
}

static void kept_free_all(struct store *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		kept_free(s, &s->entries[i]);
	free(s->entries);
	s->entries = NULL;
	s->n = s->cap = 0;
}

/* The strings of every entry back in their own allocations (before they
 * change in place); -ENOMEM leaves the block as it was. */
static int uncompact(struct store *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct store_entry *e = &s->entries[i], c = { .seq = e->seq };

		if (!e->in_block)
			continue;
		c.key = strdup(e->key);
		c.text = strdup(e->text);
		c.group = e->group ? strdup(e->group) : NULL;
		if (!c.key || !c.text || (e->group && !c.group)) {
			entry_free(&c);
			return -ENOMEM;
		}
		kept_free(s, e);
		*e = c;
	}
	return 0;
}

/* Move the strings of every entry into one new block (after a list). */
static void compact(struct store *s)
{
	size_t i, total = 0, len;
	struct store_entry *e;
	char *block, *p;

	if (s->block || !s->n)
		return; /* entries of an older list are there still */
	for (i = 0; i < s->n; i++) {
		e = &s->entries[i];
		total += strlen(e->key) + strlen(e->text) + 2 +
			 (e->group ? strlen(e->group) + 1 : 0);
	}
	block = malloc(total);
	if (!block)
		return; /* stay scattered */
	for (p = block, i = 0; i < s->n; i++) {
		e = &s->entries[i];
		len = strlen(e->key) + 1;
		memcpy(p, e->key, len);
		free(e->key);
		e->key = p;
		p += len;
		len = strlen(e->text) + 1;
		memcpy(p, e->text, len);
		free(e->text);
		e->text = p;
		p += len;
		if (e->group) {
			len = strlen(e->group) + 1;
			memcpy(p, e->group, len);
			free(e->group);
			e->group = p;
			p += len;
		}
		e->in_block = true;
	}
	s->block = block;
	s->block_live = s->n;
}

static void scratch_clear(struct store *s)
{
	cJSON_Delete(s->scratch);
	s->scratch = NULL;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	kept_free_all(s);
	store_list_abort(s);
	index_free(s);
	touched_clear(s);
	scratch_clear(s);
	arena_free(s->page_arena);
	free(s->print_buf);
	free(s->touched);
	free(s->label);
	free(s->rv);
	free(s->kind);
	free(s->api_version);
	free(s);
}

const char *store_kind(const struct store *s)
{
	return s->kind;
}

const char *store_resource_version(const struct store *s)
{
	return s->rv;
}

size_t store_count(const struct store *s)
{
	return s->n;
}

uint64_t store_generation(const struct store *s)
{
	return s->generation;
}

bool store_dirty(const struct store *s)
{
	return s->dirty;
}

void store_clear_dirty(struct store *s)
{
	s->dirty = false;
}

static void mark_changed(struct store *s)
{
	s->generation++;
	s->dirty = true;
	scratch_clear(s);
}

static const char *str_at(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static const char *object_rv(const cJSON *obj)
{
	return str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
		      "resourceVersion");
}

/* ---- the label index and the touched names ---------------------------- */

static uint64_t str_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* The group of obj ("namespace/<label value>"), malloc'ed; NULL when it
 * has none (no index, no label, no namespace) or out of memory. */
static char *group_of(const struct store *s, const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *ns = str_at(meta, "namespace"), *v;
	char *g;

	if (!s->label || !ns || !*ns)
		return NULL;
	v = str_at(cJSON_GetObjectItemCaseSensitive(meta, "labels"), s->label);
	if (!v || !*v)
		return NULL;
	if (asprintf(&g, "%s/%s", ns, v) < 0)
		return NULL;
	return g;
}

static void touched_clear(struct store *s)
{
	size_t i;

	for (i = 0; i < s->n_touched; i++)
		free(s->touched[i]);
	s->n_touched = 0;
}

/* name is consumed. Too many, or out of memory: everything is. */
static void touch(struct store *s, char *name)
{
	char **grown;

	if (!name) {
		if (!s->label)
			s->relisted = true; /* out of memory */
		return;
	}
	if (s->relisted || s->n_touched >= STORE_MAX_TOUCHED) {
		s->relisted = true;
		touched_clear(s);
		free(name);
		return;
	}
	if (s->n_touched == s->cap_touched) {
		size_t cap = s->cap_touched ? 2 * s->cap_touched : 16;

		grown = realloc(s->touched, cap * sizeof(*grown));
		if (!grown) {
			s->relisted = true;
			touched_clear(s);
			free(name);
			return;
		}
		s->touched = grown;
		s->cap_touched = cap;
	}
	s->touched[s->n_touched++] = name;
}

/* An object changed under key: the groups of its old and new versions
 * (either may be NULL: none, or no such version) are touched, or the key
 * itself without an index. */
static void touch_object(struct store *s, const char *key, const char *old,
			 bool had_old, const char *group)
{
	if (!s->label) {
		touch(s, strdup(key));
		return;
	}
	if (had_old && old)
		touch(s, strdup(old));
	if (group && !(had_old && old && !strcmp(old, group)))
		touch(s, strdup(group));
}

static void index_del(struct store *s, const char *key, const char *g)
{
	struct group_node **pp, *n;

	if (!s->label || !s->n_buckets || !g)
		return;
	for (pp = &s->buckets[str_hash(g) & (s->n_buckets - 1)]; (n = *pp);
	     pp = &n->next) {
		if (!strcmp(n->key, key) && !strcmp(n->group, g)) {
			*pp = n->next;
			free(n->group);
			free(n->key);
			free(n);
			s->n_nodes--;
			break;
		}
	}
}

static void index_free(struct store *s)
{
	struct group_node *n, *next;
	size_t i;

	for (i = 0; i < s->n_buckets; i++) {
		for (n = s->buckets[i]; n; n = next) {
			next = n->next;
			free(n->group);
			free(n->key);
			free(n);
		}
	}
	free(s->buckets);
	s->buckets = NULL;
	s->n_buckets = s->n_nodes = 0;
}

/* Returns 0 or -ENOMEM (then the index is incomplete: relisted set). */
static int index_add(struct store *s, const char *key, const char *group)
{
	struct group_node *n, **b, *next;
	size_t i, nb;
	char *g;

	if (!s->label || !group)
		return 0;
	g = strdup(group);
	if (!g)
		goto fail;
	if (s->n_nodes >= s->n_buckets) {
		nb = s->n_buckets ? 2 * s->n_buckets : 256;
		b = calloc(nb, sizeof(*b));
		if (!b)
			goto fail;
		for (i = 0; i < s->n_buckets; i++) {
			for (n = s->buckets[i]; n; n = next) {
				next = n->next;
				n->next = b[str_hash(n->group) & (nb - 1)];
				b[str_hash(n->group) & (nb - 1)] = n;
			}
		}
		free(s->buckets);
		s->buckets = b;
		s->n_buckets = nb;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto fail;
	n->group = g;
	n->key = strdup(key);
	if (!n->key) {
		free(n);
		goto fail;
	}
	b = &s->buckets[str_hash(g) & (s->n_buckets - 1)];
	n->next = *b;
	*b = n;
	s->n_nodes++;
	return 0;
fail:
	free(g);
	s->relisted = true;
	return -ENOMEM;
}

/* After a list replaced everything. */
static void index_rebuild(struct store *s)
{
	size_t i;

	if (!s->label)
		return;
	index_free(s);
	for (i = 0; i < s->n; i++)
		index_add(s, s->entries[i].key, s->entries[i].group);
}

/* Parse an entry's text back into the object (kind and apiVersion filled
 * in); NULL when out of memory. */
static cJSON *entry_parse(const struct store *s, const struct store_entry *e)
{
	char *json = objtext_decode(e->text);
	cJSON *obj = json ? cJSON_Parse(json) : NULL;

	free(json);
	if (!obj)
		return NULL;
	if ((!cJSON_GetObjectItemCaseSensitive(obj, "kind") &&
	     !cJSON_AddStringToObject(obj, "kind", s->kind)) ||
	    (!cJSON_GetObjectItemCaseSensitive(obj, "apiVersion") &&
	     !cJSON_AddStringToObject(obj, "apiVersion", s->api_version))) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

int store_index_label(struct store *s, const char *label)
{
	size_t i;

	if (uncompact(s))
		return -ENOMEM;
	free(s->label);
	s->label = strdup(label);
	if (!s->label)
		return -ENOMEM;
	/* objects kept so far: their groups under this label (the label is
	 * one store_prune keeps) */
	for (i = 0; i < s->n; i++) {
		cJSON *obj = entry_parse(s, &s->entries[i]);

		free(s->entries[i].group);
		s->entries[i].group = obj ? group_of(s, obj) : NULL;
		cJSON_Delete(obj);
	}
	index_rebuild(s);
	return 0;
}

/* obj parsed from e into the scratch list; NULL when out of memory. */
static const cJSON *scratch_add(const struct store *cs,
				const struct store_entry *e)
{
	struct store *s = (struct store *)cs; /* the cache only */
	cJSON *obj;

	if (!s->scratch) {
		s->scratch = cJSON_CreateArray();
		if (!s->scratch)
			return NULL;
	}
	obj = entry_parse(s, e);
	if (!obj)
		return NULL;
	cJSON_AddItemToArray(s->scratch, obj);
	return obj;
}

void store_for_group(const struct store *s, const char *group, store_each_fn fn,
		     void *ctx)
{
	const struct group_node *n;
	bool found;
	size_t i;

	scratch_clear((struct store *)s);
	if (!s->n_buckets)
		return;
	for (n = s->buckets[str_hash(group) & (s->n_buckets - 1)]; n;
	     n = n->next) {
		const cJSON *obj;

		if (strcmp(n->group, group))
			continue;
		i = find(s, n->key, &found);
		obj = found ? scratch_add(s, &s->entries[i]) : NULL;
		if (obj)
			fn(ctx, obj);
	}
}

size_t store_take_touched(struct store *s, char ***names, bool *relisted)
{
	size_t n = s->n_touched;

	*relisted = s->relisted;
	*names = s->touched;
	s->touched = NULL;
	s->n_touched = s->cap_touched = 0;
	s->relisted = false;
	return n;
}

static int set_rv(struct store *s, const char *rv)
{
	char *copy;

	if (!rv || (s->rv && !strcmp(s->rv, rv)))
		return 0;
	copy = strdup(rv);
	if (!copy)
		return -ENOMEM;
	free(s->rv);
	s->rv = copy;
	return 0;
}

/*
 * The key of an object, malloc'ed; NULL with errno EINVAL when it has no
 * name or is of another kind, ENOMEM when out of memory.
 */
static char *object_key(const struct store *s, const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = str_at(meta, "name"),
		   *ns = str_at(meta, "namespace");
	const char *kind = str_at(obj, "kind");
	char *key;

	if (!cJSON_IsObject(obj) || !name || !*name ||
	    (kind && strcmp(kind, s->kind))) {
		errno = EINVAL;
		return NULL;
	}
	if (ns && *ns) {
		if (asprintf(&key, "%s/%s", ns, name) < 0) {
			errno = ENOMEM;
			return NULL;
		}
		return key;
	}
	key = strdup(name);
	if (!key)
		errno = ENOMEM;
	return key;
}

/*
 * obj as the store keeps its text (objtext_encode), in an allocation of
 * its exact size; printed into the store's buffer first, not into one
 * cJSON allocates (a list page's objects are in an arena). NULL when out
 * of memory.
 */
static char *print_compact(const struct store *cs, const cJSON *obj)
{
	struct store *s = (struct store *)cs; /* the buffer only */
	size_t cap;
	char *grown;

	for (;;) {
		if (s->print_buf &&
		    cJSON_PrintPreallocated((cJSON *)obj, s->print_buf,
					    (int)s->print_cap, false)) {
			objtext_encode(s->print_buf);
			return strdup(s->print_buf);
		}
		cap = s->print_cap ? 2 * s->print_cap : 16384;
		if (cap > (1u << 30))
			return NULL;
		grown = realloc(s->print_buf, cap);
		if (!grown)
			return NULL;
		s->print_buf = grown;
		s->print_cap = cap;
	}
}

/*
 * Make obj (owned, changed in place) the entry the store keeps under key
 * (consumed): pruned (store_prune), without the kind and apiVersion the
 * store adds back when it parses it, as compact text. Returns 0 or
 * -ENOMEM (key freed).
 */
static int make_entry(const struct store *s, char *key, cJSON *obj,
		      struct store_entry *e)
{
	const char *kind = str_at(obj, "kind"),
		   *api = str_at(obj, "apiVersion");

	store_prune(obj, s->kind, s->label);
	if (kind && !strcmp(kind, s->kind))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
	if (api && !strcmp(api, s->api_version))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
	*e = (struct store_entry){ .key = key };
	e->group = group_of(s, obj);
	e->text = print_compact(s, obj);
	if (!e->text) {
		entry_free(e);
		return -ENOMEM;
	}
	return 0;
}

/* Whether the object in text b is the one in a. */
static bool same_object(const struct store *s, const struct store_entry *a,
			const struct store_entry *b)
{
	cJSON *x, *y;
	const char *rva, *rvb;
	bool same;

	if (!strcmp(a->text, b->text))
		return true;
	x = entry_parse(s, a);
	y = entry_parse(s, b);
	rva = object_rv(x);
	rvb = object_rv(y);
	/* Same resourceVersion, same object: skip the deep compare. */
	if (rva && rvb)
		same = !strcmp(rva, rvb);
	else
		same = x && y && cJSON_Compare(x, y, true);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return same;
}

/* Index of key, or of where it would go (*found false). */
static size_t find(const struct store *s, const char *key, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(s->entries[mid].key, key);

		if (!cmp) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const cJSON *store_get(const struct store *s, const char *key)
{
	bool found;
	size_t i = find(s, key, &found);

	scratch_clear((struct store *)s);
	return found ? scratch_add(s, &s->entries[i]) : NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct store_entry *x = a, *y = b;
	int cmp = strcmp(x->key, y->key);

	if (cmp)
		return cmp;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Install entries (owned, any order, maybe with duplicate keys: the last
 * one wins) as the whole content; count the differences.
 */
static void install(struct store *s, struct store_entry *entries, size_t n,
		    struct store_counts *counts)
{
	size_t i, j, k;

	if (n) /* qsort(NULL, 0) is undefined */
		qsort(entries, n, sizeof(*entries), cmp_entry);
	for (i = 0, k = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(entries[i].key, entries[i + 1].key)) {
			entry_free(&entries[i]);
			continue;
		}
		entries[k++] = entries[i];
	}
	n = k;
	/* Merge walk of old and new, both sorted. */
	for (i = 0, j = 0; i < s->n || j < n;) {
		int cmp = i == s->n ? 1 :
			  j == n    ? -1 :
				      strcmp(s->entries[i].key, entries[j].key);

		if (cmp < 0) {
			counts->removed++;
			i++;
		} else if (cmp > 0) {
			counts->added++;
			j++;
		} else {
			if (!same_object(s, &s->entries[i], &entries[j]))
				counts->changed++;
			i++;
			j++;
		}
	}
	kept_free_all(s);
	s->entries = entries;
	s->n = n;
	s->cap = n;
	compact(s);
	if (counts->added || counts->changed || counts->removed)
		mark_changed(s);
	scratch_clear(s);
	/* whatever changed, the next sync is whole */
	touched_clear(s);
	s->relisted = true;
	index_rebuild(s);
}

/* Append an entry for item (owned, consumed) to st: 0, 1 (invalid:
 * counted) or -ENOMEM. */
static int stage(const struct store *s, struct staging *st, cJSON *item)
{
	struct store_entry *e;
	char *key;

	key = object_key(s, item);
	if (!key) {
		cJSON_Delete(item);
		if (errno != EINVAL)
			return -ENOMEM;
		st->invalid++;
		return 1;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 64;

		e = realloc(st->e, cap * sizeof(*e));
		if (!e) {
			free(key);
			cJSON_Delete(item);
			return -ENOMEM;
		}
		st->e = e;
		st->cap = cap;
	}
	e = &st->e[st->n];
	if (make_entry(s, key, item, e)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	cJSON_Delete(item);
	e->seq = st->n++;
	return 0;
}

static void staging_drop(struct staging *st)
{
	free_entries(st->e, st->n);
	*st = (struct staging){};
}

/* The staged entries (consumed) become the content; rv (consumed) the
 * resourceVersion unless NULL. */
static void commit_staged(struct store *s, struct staging *st, char *rv,
			  struct store_counts *counts)
{
	struct store_counts local = {};

	if (!counts)
		counts = &local;
	memset(counts, 0, sizeof(*counts));
	counts->invalid = st->invalid;
	install(s, st->e, st->n, counts);
	*st = (struct staging){};
	if (rv) {
		free(s->rv);
		s->rv = rv;
	}
}

int store_replace_all(struct store *s, const cJSON *items, const char *rv,
		      struct store_counts *counts)
{
	struct staging st = {};
	char *rv_copy = NULL;
	const cJSON *item;
	int err;

	if (items && !cJSON_IsArray(items))
		return -EINVAL;
	if (rv) {
		rv_copy = strdup(rv);
		if (!rv_copy)
			return -ENOMEM;
	}
	cJSON_ArrayForEach(item, items) {
		cJSON *copy = cJSON_Duplicate(item, true);

		err = copy ? stage(s, &st, copy) : -ENOMEM;
		if (err < 0) {
			free(rv_copy);
			staging_drop(&st);
			return err;
		}
	}
	commit_staged(s, &st, rv_copy, counts);
	return 0;
}

void store_list_begin(struct store *s)
{
	store_list_abort(s);
}

void store_list_abort(struct store *s)
{
	arena_free(s->page_arena);
	s->page_arena = NULL;
	staging_drop(&s->staged);
	free(s->staged_rv);
	s->staged_rv = NULL;
}

/* Status objects carry why a request failed; name it in the message. */
static void status_err(const cJSON *status, char *err, size_t err_size,
		       const char *what)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
	const char *reason = str_at(status, "reason");
	const char *msg = str_at(status, "message");

	set_err(err, err_size, "%s: status %d %s: %s", what,
		cJSON_IsNumber(code) ? code->valueint : 0,
		reason ? reason : "(no reason)", msg ? msg : "(no message)");
}

int store_list_page(struct store *s, const char *body, size_t len,
		    char **continue_token, char *err, size_t err_size)
{
	cJSON *doc, *items, *item, *meta;
	const char *rv, *cont, *kind;
	int ret = -EINVAL;
	char *rv_copy;

	*continue_token = NULL;
	/* The page's objects are pruned and printed, then dropped: parsed
	 * into an arena that the next page reuses, not freed node by node. */
	if (!s->page_arena)
		s->page_arena = arena_new();
	else
		arena_reset(s->page_arena);
	arena_use(s->page_arena);
	doc = cJSON_ParseWithLength(body, len);
	if (!doc) {
		arena_use(NULL);
		set_err(err, err_size, "%s list: response is not JSON",
			s->kind);
		return -EINVAL;
	}
	kind = str_at(doc, "kind");
	if (kind && !strcmp(kind, "Status")) {
		char what[64];

		snprintf(what, sizeof(what), "%s list", s->kind);
		status_err(doc, err, err_size, what);
		goto out;
	}
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	rv = str_at(meta, "resourceVersion");
	cont = str_at(meta, "continue");
	if (!cJSON_IsObject(doc) ||
	    (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) || !rv ||
	    !*rv) {
		set_err(err, err_size,
			"%s list: response is not a List with items and metadata.resourceVersion",
			s->kind);
		goto out;
	}
	ret = -ENOMEM;
	/* Every page carries the snapshot's resourceVersion: keep the last. */
	rv_copy = strdup(rv);
	if (!rv_copy)
		goto out;
	free(s->staged_rv);
	s->staged_rv = rv_copy;
	if (cont && *cont) {
		*continue_token = strdup(cont);
		if (!*continue_token)
			goto out;
	}
	/* Each item is pruned and kept as text as it comes: a list never
	 * holds the parsed objects of more than one page. */
	while (cJSON_IsArray(items) && (item = items->child)) {
		cJSON_DetachItemViaPointer(items, item);
		if (stage(s, &s->staged, item) < 0) {
			free(*continue_token);
			*continue_token = NULL;
			goto out;
		}
	}
	ret = 0;
out:
	cJSON_Delete(doc); /* nothing to free in the arena */
	arena_use(NULL);
	return ret;
}

int store_list_commit(struct store *s, struct store_counts *counts)
{
	char *rv = s->staged_rv;

	if (!rv) {
		store_list_abort(s);
		return -EINVAL;
	}
	s->staged_rv = NULL;
	commit_staged(s, &s->staged, rv, counts);
	arena_free(s->page_arena); /* until the next list */
	s->page_arena = NULL;
	return 0;
}

/* Put entry e (owned, consumed). */
static int put(struct store *s, struct store_entry *e)
{
	struct store_entry *old;
	bool found;
	size_t i = find(s, e->key, &found);

	if (found) {
		old = &s->entries[i];
		if (same_object(s, old, e)) {
			entry_free(e);
			return STORE_UNCHANGED;
		}
		touch_object(s, old->key, old->group, true, e->group);
		index_del(s, old->key, old->group);
		kept_free(s, old);
		*old = *e;
		index_add(s, old->key, old->group);
		mark_changed(s);
		return STORE_CHANGED;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct store_entry *grown =
			realloc(s->entries, cap * sizeof(*grown));

		if (!grown) {
			entry_free(e);
			return -ENOMEM;
		}
		s->entries = grown;
		s->cap = cap;
	}
	memmove(&s->entries[i + 1], &s->entries[i],
		(s->n - i) * sizeof(*s->entries));
	s->entries[i] = *e;
	s->n++;
	touch_object(s, e->key, NULL, false, e->group);
	index_add(s, e->key, e->group);
	mark_changed(s);
	return STORE_CHANGED;
}

static int del(struct store *s, const char *key)
{
	struct store_entry *e;
	bool found;
	size_t i = find(s, key, &found);

	if (!found)
		return STORE_UNCHANGED;
	e = &s->entries[i];
	touch_object(s, key, e->group, true, NULL);
	index_del(s, key, e->group);
	kept_free(s, e);
	memmove(&s->entries[i], &s->entries[i + 1],
		(s->n - i - 1) * sizeof(*s->entries));
	s->n--;
	mark_changed(s);
	return STORE_CHANGED;
}

/* A short, printable excerpt of a bad line for the one-line message. */
static void excerpt(const char *line, size_t len, char *out, size_t size)
{
	size_t i, n = len < size - 4 ? len : size - 4;

	for (i = 0; i < n; i++)
		out[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	strcpy(out + n, n < len ? "..." : "");
}

int store_apply_event(struct store *s, const char *line, size_t len, char *err,
		      size_t err_size)
{
	struct store_entry e;
	cJSON *doc, *obj;
	const char *type;
	char what[80];
	int ret = -EINVAL;
	char *key;

	doc = cJSON_ParseWithLength(line, len);
	type = str_at(doc, "type");
	obj = cJSON_GetObjectItemCaseSensitive(doc, "object");
	if (!type || !cJSON_IsObject(obj)) {
		excerpt(line, len, what, sizeof(what));
		set_err(err, err_size,
			"%s watch: malformed event (want type and object): %s",
			s->kind, what);
		goto out;
	}
	if (!strcmp(type, "ERROR")) {
		const cJSON *code =
			cJSON_GetObjectItemCaseSensitive(obj, "code");
		const char *reason = str_at(obj, "reason");

		snprintf(what, sizeof(what), "%s watch", s->kind);
		status_err(obj, err, err_size, what);
		if ((cJSON_IsNumber(code) && code->valueint == 410) ||
		    (reason &&
		     (!strcmp(reason, "Expired") || !strcmp(reason, "Gone"))))
			ret = STORE_GONE;
		else
			ret = -EPROTO;
		goto out;
	}
	if (!strcmp(type, "BOOKMARK")) {
		const char *rv = object_rv(obj);

		if (!rv || !*rv) {
			set_err(err, err_size,
				"%s watch: BOOKMARK without metadata.resourceVersion",
				s->kind);
			goto out;
		}
		ret = set_rv(s, rv) ?: STORE_UNCHANGED;
		goto out;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") &&
	    strcmp(type, "DELETED")) {
		set_err(err, err_size, "%s watch: unknown event type \"%.32s\"",
			s->kind, type);
		goto out;
	}
	key = object_key(s, obj);
	if (!key) {
		if (errno == ENOMEM) {
			ret = -ENOMEM;
			goto out;
		}
		set_err(err, err_size,
			"%s watch: %s object without metadata.name or of kind \"%.32s\"",
			s->kind, type,
			str_at(obj, "kind") ? str_at(obj, "kind") : "");
		goto out;
	}
	/* Take the RV first: an -ENOMEM later leaves the store as it was. */
	ret = set_rv(s, object_rv(obj));
	if (ret) {
		free(key);
		goto out;
	}
	if (!strcmp(type, "DELETED")) {
		ret = del(s, key);
		free(key);
		goto out;
	}
	ret = make_entry(s, key, obj, &e);
	if (ret)
		goto out;
	ret = put(s, &e);
out:
	cJSON_Delete(doc);
	return ret;
}

cJSON *store_build_list(const struct store *const *stores, size_t n)
{
	cJSON *list, *items, *obj;
	size_t i, j;

	list = cJSON_CreateObject();
	if (!list)
		return NULL;
	if (!cJSON_AddStringToObject(list, "kind", "List") ||
	    !cJSON_AddStringToObject(list, "apiVersion", "v1"))
		goto fail;
	items = cJSON_AddArrayToObject(list, "items");
	if (!items)
		goto fail;
	for (i = 0; i < n; i++) {
		for (j = 0; j < stores[i]->n; j++) {
			obj = entry_parse(stores[i], &stores[i]->entries[j]);
			if (!obj)
				goto fail;
			cJSON_AddItemToArray(items, obj);
		}
	}
	return list;
fail:
	cJSON_Delete(list);
	return NULL;
}

size_t store_objects(const struct store *const *stores, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += stores[i]->n;
	return total;
}

cJSON *store_object_at(const struct store *const *stores, size_t n, size_t i)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (i < stores[k]->n)
			return entry_parse(stores[k], &stores[k]->entries[i]);
		i -= stores[k]->n;
	}
	return NULL;
}

/* Append the addresses of one type (InternalIP, ExternalIP), deduplicated. */
static void node_addrs_of(const cJSON *addresses, const char *type,
			  struct store_node_info *info)
{
	const cJSON *a;
	size_t i;

	cJSON_ArrayForEach(a, addresses) {
		const char *t = str_at(a, "type"), *addr = str_at(a, "address");
		struct in_addr in;

		if (!t || strcmp(t, type) || !addr ||
		    inet_pton(AF_INET, addr, &in) != 1)
			continue;
		for (i = 0; i < info->n_addrs; i++)
			if (info->addrs[i] == in.s_addr)
				break;
		if (i < info->n_addrs || info->n_addrs == STORE_NODE_MAX_ADDRS)
			continue;
		info->addrs[info->n_addrs++] = in.s_addr;
	}
}

int store_node_info(const struct store *nodes, const char *node_name,
		    struct store_node_info *info)
{
	const cJSON *meta, *labels, *addresses;
	const char *zone;
	cJSON *node;
	bool found;
	size_t i;

	memset(info, 0, sizeof(*info));
	i = find(nodes, node_name, &found);
	if (!found)
		return -ENOENT;
	node = entry_parse(nodes, &nodes->entries[i]);
	if (!node)
		return -ENOMEM;
	meta = cJSON_GetObjectItemCaseSensitive(node, "metadata");
	labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	zone = str_at(labels, "topology.kubernetes.io/zone");
	/* Label values are at most 63 characters; ignore anything else. */
	if (zone && strlen(zone) < sizeof(info->zone))
		strcpy(info->zone, zone);
	addresses = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(node, "status"), "addresses");
	node_addrs_of(addresses, "InternalIP", info);
	node_addrs_of(addresses, "ExternalIP", info);
	cJSON_Delete(node);
	return 0;
}
