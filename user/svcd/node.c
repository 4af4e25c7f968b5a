// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcd/node.c - this node: its name, NodePort addresses, SNAT address. */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "svcd/agent.h"

static bool in_cidrs(const struct cidrlist *l, __be32 addr)
{
	uint32_t a = ntohl(addr), net, mask;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->items[i].family != AF_INET)
			continue;
		memcpy(&net, l->items[i].addr, 4);
		mask = l->items[i].prefix ? ~0u << (32 - l->items[i].prefix) :
					    0;
		if ((a & mask) == (ntohl(net) & mask))
			return true;
	}
	return false;
}

/*
 * IPv4 addresses of this network namespace for NodePorts: all but
 * loopback, or those inside --nodeport-addresses.
 */
size_t node_addresses(const struct options *o, __be32 *out, size_t max)
{
	struct ifaddrs *ifa, *it;
	size_t n = 0, i;

	if (getifaddrs(&ifa)) {
		pr_warn("list node addresses: %s; no NodePort frontends",
			strerror(errno));
		return 0;
	}
	for (it = ifa; it && n < max; it = it->ifa_next) {
		__be32 addr;

		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET)
			continue;
		addr = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
		if ((ntohl(addr) >> 24) == 127)
			continue;
		if (o->nodeport_cidrs.n && !in_cidrs(&o->nodeport_cidrs, addr))
			continue;
		for (i = 0; i < n && out[i] != addr; i++)
			;
		if (i == n)
			out[n++] = addr;
	}
	freeifaddrs(ifa);
	return n;
}

/* Is any existing uplink a veth? (ethtool's driver name) */
bool uplink_is_veth(const struct options *o)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct if_nameindex *links, *link;
	bool veth = false;
	struct ifreq ifr;
	size_t i;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	links = if_nameindex();
	for (link = links; fd >= 0 && link && link->if_index && !veth; link++) {
		for (i = 0; i < o->uplinks.n; i++)
			if (!fnmatch(o->uplinks.items[i], link->if_name, 0))
				break;
		if (i == o->uplinks.n)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
			 link->if_name);
		ifr.ifr_data = (void *)&info;
		if (!ioctl(fd, SIOCETHTOOL, &ifr) &&
		    !strcmp(info.driver, "veth"))
			veth = true;
	}
	if (links)
		if_freenameindex(links);
	if (fd >= 0)
		close(fd);
	return veth;
}

/* The SNAT source: the first IPv4 address of the first uplink. */
__be32 snat_address(const struct options *o)
{
	struct ifaddrs *ifa, *it;
	__be32 addr = 0;
	size_t i;

	if (!o->uplinks.n || getifaddrs(&ifa))
		return 0;
	for (i = 0; i < o->uplinks.n && !addr; i++)
		for (it = ifa; it && !addr; it = it->ifa_next)
			if (it->ifa_addr &&
			    it->ifa_addr->sa_family == AF_INET &&
			    !fnmatch(o->uplinks.items[i], it->ifa_name, 0))
				addr = ((struct sockaddr_in *)it->ifa_addr)
					       ->sin_addr.s_addr;
	freeifaddrs(ifa);
	return addr;
}

int set_node_name(struct svcd *s)
{
	char *p;

	if (s->opts->hostname) {
		snprintf(s->node_name, sizeof(s->node_name), "%s",
			 s->opts->hostname);
	} else if (gethostname(s->node_name, sizeof(s->node_name) - 1)) {
		pr_err("gethostname: %s; pass --hostname-override NAME",
		       strerror(errno));
		return -errno;
	}
	/* kube-proxy lowercases the node name the same way */
	for (p = s->node_name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return 0;
}
