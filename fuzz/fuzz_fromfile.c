// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_fromfile.c - the --from-file List: the bytes of the file, read and
 * NUL-terminated as svcd/sync.c does, through model_build_text(), then
 * the IPv6 half dropped as on a node without IPv6. Built for two nodes:
 * one with an address of each family, and one in zone-a with
 * --cluster-cidr of both families and no IPv6 address (the rules that
 * read the zone, the CIDRs and a missing family). Every state built must
 * keep model.h's promises (model_check.h).
 */
#include <stdint.h>

#include "fuzz.h"
#include "model.h"
#include "model_check.h"

static void no_error(void *ctx, const char *line)
{
	(void)ctx;
	FUZZ_ASSERT(line && !strchr(line, '\n'), "one line per problem");
}

static void build(const char *text, size_t len, const struct model_config *cfg)
{
	struct model_state state = {};
	int err;

	err = model_build_text(text, len, cfg, no_error, NULL, &state);
	FUZZ_ASSERT(err == 0 || err == -EINVAL || err == -ENOMEM,
		    "model_build_text: 0, -EINVAL or -ENOMEM");
	if (!err) {
		fuzz_check_state(&state);
		model_state_drop_family(&state, MODEL_IPV6);
		fuzz_check_dropped(&state, MODEL_IPV6);
	} else if (err == -EINVAL) {
		FUZZ_ASSERT(!state.n_sets && !state.n_frontends,
			    "not a List: nothing filled");
	}
	model_state_free(&state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_config cfg;
	union svcd_ip6 addr6;
	__be32 addr4;
	char *text = fuzz_strndup(data, size);

	fuzz_model_config(&cfg, &addr4, &addr6);
	build(text, size, &cfg);
	cfg.node_zone = "zone-a";
	cfg.n_node_addrs6 = 0;
	cfg.cluster_ips_from_outside = true;
	cfg.cluster_ips_from_outside6 = true;
	build(text, size, &cfg);
	free(text);
	return 0;
}
