/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model_check.h - what model.h promises of every desired state, whatever
 * the input: checked by the harnesses that build one (fuzz_store.c,
 * fuzz_fromfile.c). A broken promise is a crash (FUZZ_ASSERT).
 */
#ifndef SVCD_FUZZ_MODEL_CHECK_H
#define SVCD_FUZZ_MODEL_CHECK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"

static inline bool fuzz_frontend_same_key(const struct model_frontend *a,
					  const struct model_frontend *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == MODEL_IPV4)
		return !memcmp(&a->key, &b->key, sizeof(a->key));
	return !memcmp(&a->key6, &b->key6, sizeof(a->key6));
}

/* Host bits of prefix (len bits kept) of an n-byte address are zero. */
static inline bool fuzz_host_bits_zero(const uint8_t *addr, size_t n,
				       unsigned int len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int kept = len >= 8 * (i + 1) ? 8 :
				    len > 8 * i	       ? len - 8 * i :
							 0;
		uint8_t host = kept == 8 ? 0 : (uint8_t)(0xffu >> kept);

		if (addr[i] & host)
			return false;
	}
	return true;
}

static inline void fuzz_check_state(const struct model_state *st)
{
	size_t i, j;

	FUZZ_ASSERT(!st->n_sets || st->sets, "sets");
	FUZZ_ASSERT(!st->n_frontends || st->frontends, "frontends");
	for (i = 0; i < st->n_sets; i++) {
		const struct model_set *s = &st->sets[i];

		FUZZ_ASSERT(memchr(s->name, '\0', sizeof(s->name)),
			    "set name terminated");
		FUZZ_ASSERT(memchr(s->port_name, '\0', sizeof(s->port_name)),
			    "port name terminated");
		FUZZ_ASSERT(s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP,
			    "set protocol");
		FUZZ_ASSERT(s->family < MODEL_FAMILIES, "set family");
		FUZZ_ASSERT(!s->n_backends || s->backends, "backends");
		for (j = 0; j < s->n_backends; j++)
			FUZZ_ASSERT(s->backends[j].weight >= 1,
				    "backend weight 1..255");
	}
	for (i = 0; i < st->n_frontends; i++) {
		const struct model_frontend *fe = &st->frontends[i];

		FUZZ_ASSERT(fe->set_index < st->n_sets, "frontend's set");
		FUZZ_ASSERT(fe->family == st->sets[fe->set_index].family,
			    "frontend of its set's family");
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(!fuzz_frontend_same_key(fe,
							    &st->frontends[j]),
				    "frontend keys unique");
	}
	for (i = 0; i < st->n_src_ranges; i++) {
		const struct model_src_range *r = &st->src_ranges[i];

		FUZZ_ASSERT(r->family < MODEL_FAMILIES, "range family");
		if (r->family == MODEL_IPV4)
			FUZZ_ASSERT(r->len <= 32 &&
					    fuzz_host_bits_zero(
						    (const uint8_t *)&r->prefix,
						    4, r->len),
				    "IPv4 range: length, host bits zero");
		else
			FUZZ_ASSERT(r->len <= 128 &&
					    fuzz_host_bits_zero(r->prefix6.b,
								16, r->len),
				    "IPv6 range: length, host bits zero");
	}
	for (i = 0; i < st->n_healthchecks; i++)
		FUZZ_ASSERT(memchr(st->healthchecks[i].name, '\0',
				   sizeof(st->healthchecks[i].name)),
			    "healthcheck name terminated");
}

/* Two builds of the same objects gave the same state, field by field. */
static inline void fuzz_check_same_state(const struct model_state *a,
					 const struct model_state *b)
{
	size_t i;

	FUZZ_ASSERT(a->n_sets == b->n_sets &&
			    a->n_frontends == b->n_frontends &&
			    a->n_src_ranges == b->n_src_ranges &&
			    a->n_healthchecks == b->n_healthchecks &&
			    a->n_lost == b->n_lost,
		    "same counts");
	for (i = 0; i < a->n_sets; i++) {
		const struct model_set *x = &a->sets[i], *y = &b->sets[i];

		FUZZ_ASSERT(
			!strcmp(x->name, y->name) &&
				!strcmp(x->port_name, y->port_name) &&
				x->proto == y->proto && x->set == y->set &&
				x->family == y->family &&
				x->affinity_timeout == y->affinity_timeout &&
				x->n_backends == y->n_backends &&
				(!x->n_backends ||
				 !memcmp(x->backends, y->backends,
					 x->n_backends * sizeof(*x->backends))),
			"same set");
	}
	for (i = 0; i < a->n_frontends; i++)
		FUZZ_ASSERT(fuzz_frontend_same_key(&a->frontends[i],
						   &b->frontends[i]) &&
				    a->frontends[i].flags ==
					    b->frontends[i].flags &&
				    a->frontends[i].set_index ==
					    b->frontends[i].set_index,
			    "same frontend");
	FUZZ_ASSERT(!a->n_src_ranges ||
			    !memcmp(a->src_ranges, b->src_ranges,
				    a->n_src_ranges * sizeof(*a->src_ranges)),
		    "same source ranges");
	FUZZ_ASSERT(
		!a->n_healthchecks ||
			!memcmp(a->healthchecks, b->healthchecks,
				a->n_healthchecks * sizeof(*a->healthchecks)),
		"same healthchecks");
}

/* After model_state_drop_family(st, family): nothing of it is left. */
static inline void fuzz_check_dropped(const struct model_state *st, int family)
{
	size_t i;

	for (i = 0; i < st->n_sets; i++)
		FUZZ_ASSERT(st->sets[i].family != family, "set of the family");
	for (i = 0; i < st->n_frontends; i++)
		FUZZ_ASSERT(st->frontends[i].family != family,
			    "frontend of the family");
	for (i = 0; i < st->n_src_ranges; i++)
		FUZZ_ASSERT(st->src_ranges[i].family != family,
			    "range of the family");
	fuzz_check_state(st);
}

/* The node svcd's harnesses build for: node-a, one address per family. */
static inline void fuzz_model_config(struct model_config *cfg, __be32 *addr4,
				     union svcd_ip6 *addr6)
{
	*addr4 = htonl(0xc6120001); /* 198.18.0.1 */
	memset(addr6, 0, sizeof(*addr6));
	addr6->w[0] = htonl(0x20010db8);
	addr6->w[3] = htonl(1);
	*cfg = (struct model_config){
		.node_name = "node-a",
		.node_addrs = addr4,
		.n_node_addrs = 1,
		.node_addrs6 = addr6,
		.n_node_addrs6 = 1,
	};
}

#endif
