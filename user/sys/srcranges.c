// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* srcranges.c - see srcranges.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/log.h"
#include "sys/srcranges.h"
#include "svcd_abi.h"

static void key_of(const struct model_src_range *r,
		   struct svcd_src_range_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = 32 + r->len;
	key->lb_addr = r->lb_addr;
	key->src_addr = r->prefix;
}

static bool wanted(const struct model_state *st,
		   const struct svcd_src_range_key *key)
{
	struct svcd_src_range_key k;
	size_t i;

	for (i = 0; i < st->n_src_ranges; i++) {
		key_of(&st->src_ranges[i], &k);
		if (!memcmp(&k, key, sizeof(k)))
			return true;
	}
	return false;
}

int src_ranges_add(int map_fd, const struct model_state *st)
{
	struct svcd_src_range_key key;
	char lb[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	__u8 one = 1;
	size_t i;
	int err = 0;

	for (i = 0; i < st->n_src_ranges; i++) {
		key_of(&st->src_ranges[i], &key);
		if (!bpf_map_update_elem(map_fd, &key, &one, BPF_ANY))
			continue;
		if (!err)
			err = -errno;
		inet_ntop(AF_INET, &key.lb_addr, lb, sizeof(lb));
		inet_ntop(AF_INET, &key.src_addr, src, sizeof(src));
		pr_err("loadBalancerSourceRanges of %s: add %s/%u: %s", lb, src,
		       key.prefixlen - 32, strerror(errno));
	}
	return err;
}

int src_ranges_prune(int map_fd, const struct model_state *st)
{
	struct svcd_src_range_key key, next, *stale = NULL;
	size_t n = 0, cap = 0, i;
	void *prev = NULL;
	int err = 0;

	/* Collect first: deleting while walking an LPM trie restarts it. */
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (wanted(st, &next))
			continue;
		if (n == cap) {
			void *p;

			cap = cap ? 2 * cap : 16;
			p = realloc(stale, cap * sizeof(*stale));
			if (!p) {
				free(stale);
				return -ENOMEM;
			}
			stale = p;
		}
		stale[n++] = next;
	}
	for (i = 0; i < n; i++)
		if (bpf_map_delete_elem(map_fd, &stale[i]) && errno != ENOENT &&
		    !err)
			err = -errno;
	free(stale);
	return err;
}
