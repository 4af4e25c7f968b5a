// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcd/node.c - this node: its name, NodePort addresses (IPv4 and IPv6),
 * SNAT addresses. */
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

/* Whether l holds a CIDR of family: --nodeport-addresses filters only the
 * families it names (kube-proxy's NewNodePortAddresses: a family without
 * a CIDR there matches all its addresses). */
static bool names_family(const struct cidrlist *l, int family)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->items[i].family == family)
			return true;
	return false;
}

/* Whether addr (16 bytes) is in one of the IPv6 CIDRs of l. */
static bool in_cidrs6(const struct cidrlist *l, const union svcd_ip6 *addr)
{
	unsigned int bits, i;
	size_t k;

	for (k = 0; k < l->n; k++) {
		const struct cidr *c = &l->items[k];

		if (c->family != AF_INET6)
			continue;
		bits = c->prefix;
		for (i = 0; i < 16 && bits;
		     i++, bits = bits > 8 ? bits - 8 : 0) {
			uint8_t mask = bits >= 8 ? 0xff :
						   (uint8_t)(0xff00 >> bits);

			if ((addr->b[i] ^ c->addr[i]) & mask)
				break;
		}
		if (!bits)
			return true;
	}
	return false;
}

/*
 * An IPv6 address that serves NodePorts and SNAT: not loopback, not
 * link-local (fe80::/10: ambiguous without its interface, and not what a
 * client outside the link uses), not multicast, not v4-mapped.
 */
static bool usable6(const union svcd_ip6 *a)
{
	static const union svcd_ip6 loopback = { .b[15] = 1 };

	if (!memcmp(a, &loopback, sizeof(*a)))
		return false;
	if (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80)
		return false;
	if (a->b[0] == 0xff)
		return false;
	if (!a->w[0] && !a->w[1] && a->w[2] == htonl(0xffff))
		return false;
	return true;
}

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
 * loopback, or those inside the IPv4 CIDRs of --nodeport-addresses.
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
		if (names_family(&o->nodeport_cidrs, AF_INET) &&
		    !in_cidrs(&o->nodeport_cidrs, addr))
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
/*
 * The same for IPv6 (usable6()); with --nodeport-addresses naming IPv6
 * CIDRs, those inside them.
 */
size_t node_addresses6(const struct options *o, union svcd_ip6 *out, size_t max)
{
	struct ifaddrs *ifa, *it;
	size_t n = 0, i;

	if (getifaddrs(&ifa)) {
		pr_warn("list node addresses: %s; no IPv6 NodePort frontends",
			strerror(errno));
		return 0;
	}
	for (it = ifa; it && n < max; it = it->ifa_next) {
		union svcd_ip6 addr;

		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET6)
			continue;
		memcpy(&addr, &((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr,
		       sizeof(addr));
		if (!usable6(&addr))
			continue;
		if (names_family(&o->nodeport_cidrs, AF_INET6) &&
		    !in_cidrs6(&o->nodeport_cidrs, &addr))
			continue;
		for (i = 0; i < n && memcmp(&out[i], &addr, sizeof(addr)); i++)
			;
		if (i == n)
			out[n++] = addr;
	}
	freeifaddrs(ifa);
	return n;
}

/* Does this network namespace have an IPv6 address (usable6())? */
bool node_has_ipv6(void)
{
	struct ifaddrs *ifa, *it;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (it = ifa; it && !found; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET6)
			continue;
		found = usable6((const union svcd_ip6 *)&(
					(struct sockaddr_in6 *)it->ifa_addr)
					->sin6_addr);
	}
	freeifaddrs(ifa);
	return found;
}

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

/* The IPv6 SNAT source: the first usable IPv6 address of the first uplink
 * that has one; all-zero: none. */
union svcd_ip6 snat_address6(const struct options *o)
{
	union svcd_ip6 addr = { 0 }, a;
	struct ifaddrs *ifa, *it;
	bool found = false;
	size_t i;

	if (!o->uplinks.n || getifaddrs(&ifa))
		return addr;
	for (i = 0; i < o->uplinks.n && !found; i++)
		for (it = ifa; it && !found; it = it->ifa_next) {
			if (!it->ifa_addr ||
			    it->ifa_addr->sa_family != AF_INET6 ||
			    fnmatch(o->uplinks.items[i], it->ifa_name, 0))
				continue;
			memcpy(&a,
			       &((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr,
			       sizeof(a));
			if (usable6(&a)) {
				addr = a;
				found = true;
			}
		}
	freeifaddrs(ifa);
	return addr;
}

/* "198.19.0.1" or "2001:db8::1" (RFC 5952, as inet_ntop writes it);
 * with a port, "198.19.0.1:80" or "[2001:db8::1]:80". */
const char *fmt_ip(char *buf, size_t len, int family, const void *addr,
		   int port)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (port < 0)
		snprintf(buf, len, "%s", a);
	else if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", a, port);
	else
		snprintf(buf, len, "%s:%d", a, port);
	return buf;
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
