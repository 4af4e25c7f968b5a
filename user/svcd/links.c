// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcd/links.c - attach to pod interfaces and uplinks as they come and go. */
#include <fnmatch.h>
#include <stdlib.h>

#include "lib/log.h"
#include "svcd/agent.h"
#include "svcd_abi.h"

static bool is_pod_iface(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->pod_ifaces.n; i++)
		if (!fnmatch(o->pod_ifaces.items[i], name, 0))
			return true;
	return false;
}

static bool is_uplink(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->uplinks.n; i++)
		if (!fnmatch(o->uplinks.items[i], name, 0))
			return true;
	return false;
}

static struct attached_link *find_attached(struct svcd *s, int ifindex)
{
	size_t i;

	for (i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

static void forget_attached(struct svcd *s, struct attached_link *link)
{
	*link = s->links[--s->n_links];
}

static void attach_link(struct svcd *s, int ifindex, const char *name,
			bool uplink)
{
	enum loader_xdp_mode mode = LOADER_XDP_NATIVE;
	struct attached_link *link;
	const char *tc;

	if (uplink ? loader_attach_uplink(s->loader, ifindex, name, &mode) :
		     loader_attach(s->loader, ifindex, name))
		return; /* logged; the link may be gone already */
	link = find_attached(s, ifindex);
	if (!link) {
		if (s->n_links == s->cap_links) {
			size_t cap = s->cap_links ? 2 * s->cap_links : 16;
			struct attached_link *links;

			links = realloc(s->links, cap * sizeof(*links));
			if (!links) {
				pr_err("%s: attached, but out of memory to remember it",
				       name);
				return;
			}
			s->links = links;
			s->cap_links = cap;
		}
		link = &s->links[s->n_links++];
		link->ifindex = ifindex;
	}
	snprintf(link->name, sizeof(link->name), "%s", name);
	link->uplink = uplink;
	link->mode = mode;
	tc = loader_uses_tcx(s->loader) ? "tcx" : "tc";
	if (uplink && mode == LOADER_XDP_NONE)
		pr_info("%s: attached %s (%s ingress, tc only: no XDP) and %s (%s egress)",
			name, SVCD_PROG_FROM_WIRE_TC, tc, SVCD_PROG_TO_WIRE,
			tc);
	else if (uplink)
		pr_info("%s: attached %s (%s XDP), %s (%s ingress) and %s (%s egress)",
			name, SVCD_PROG_FROM_WIRE,
			mode == LOADER_XDP_NATIVE ? "native" : "generic",
			SVCD_PROG_FROM_WIRE_TC, tc, SVCD_PROG_TO_WIRE, tc);
	else
		pr_info("%s: attached %s (%s ingress) and %s (%s egress)", name,
			SVCD_PROG_FROM_POD, tc, SVCD_PROG_TO_POD, tc);
}

void links_variants(void *ctx, FILE *f)
{
	static const char *const uplink_variant[] = {
		[LOADER_XDP_NATIVE] = "xdp_native",
		[LOADER_XDP_GENERIC] = "xdp_generic",
		[LOADER_XDP_NONE] = "tc_only",
	};
	const struct svcd *s = ctx;
	size_t i;

	for (i = 0; i < s->n_links; i++)
		fprintf(f,
			"svcd_datapath_variant{hook=\"%s\",interface=\"%s\",variant=\"%s\"} 1\n",
			s->links[i].uplink ? "uplink" : "pod", s->links[i].name,
			s->links[i].uplink ? uplink_variant[s->links[i].mode] :
					     "tc");
	fprintf(f,
		"svcd_datapath_variant{hook=\"tc_attach\",interface=\"\",variant=\"%s\"} 1\n",
		loader_uses_tcx(s->loader) ? "tcx" : "netlink");
	if (s->opts->uplinks.n)
		fprintf(f,
			"svcd_datapath_variant{hook=\"xdp_handover\",interface=\"\",variant=\"%s\"} 1\n",
			loader_xdp_meta(s->loader) ? "metadata" : "unmarked");
	fprintf(f,
		"svcd_datapath_variant{hook=\"socket\",interface=\"\",variant=\"%s\"} 1\n",
		!*s->opts->cgroup_path || !s->sock_attached ? "off" :
		s->opts->socket_lb_pods			    ? "all" :
							      "host");
}

static void on_link_up(void *ctx, int ifindex, const char *name,
		       const char *old_name)
{
	struct svcd *s = ctx;
	struct attached_link *link;
	int n;

	if (is_uplink(s->opts, name)) {
		attach_link(s, ifindex, name, true);
		return;
	}
	if (is_pod_iface(s->opts, name)) {
		attach_link(s, ifindex, name, false);
		return;
	}
	link = find_attached(s, ifindex);
	if (link) {
		n = loader_detach(s->opts->pin_dir, ifindex, name);
		forget_attached(s, link);
		if (n >= 0)
			pr_info("%s: detached (renamed from %s, no longer matches --pod-ifaces or --uplinks)",
				name, old_name ? old_name : "?");
		return;
	}
	/* Left behind by an earlier run with other --pod-ifaces? */
	n = loader_detach(s->opts->pin_dir, ifindex, name);
	if (n > 0)
		pr_info("%s: detached svcd programs left by an earlier run (does not match --pod-ifaces or --uplinks)",
			name);
}

static void on_link_gone(void *ctx, int ifindex, const char *name)
{
	struct svcd *s = ctx;
	struct attached_link *link;

	loader_forget_link(s->opts->pin_dir, ifindex);
	link = find_attached(s, ifindex);
	if (!link)
		return;
	forget_attached(s, link);
	pr_info("%s: interface gone; its programs went with it", name);
}

const struct netlink_ops link_ops = {
	.link_up = on_link_up,
	.link_gone = on_link_gone,
};
