/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netlink.h - follows the links of the current network namespace over
 * rtnetlink (libmnl): one dump at start, then RTMGRP_LINK events, with a
 * fresh dump whenever the kernel drops events (ENOBUFS).
 *
 * The module keeps the set of known links and reports changes only:
 * link_up for a new ifindex or a new name of a known one, link_gone when
 * an ifindex disappears. State flips (up/down) are not reported.
 */
#ifndef SVCD_NETLINK_H
#define SVCD_NETLINK_H

struct netlink_ops {
	/* A link appeared, or was renamed (old_name is NULL when new). */
	void (*link_up)(void *ctx, int ifindex, const char *name,
			const char *old_name);
	/* A link disappeared; name is the last one seen. */
	void (*link_gone)(void *ctx, int ifindex, const char *name);
};

struct netlink;

/*
 * Subscribe to link events (non-blocking socket) and dump the current
 * links, calling ops->link_up for each. Returns NULL and sets errno.
 */
struct netlink *netlink_open(const struct netlink_ops *ops, void *ctx);
void netlink_close(struct netlink *nl);

/* The fd to wait on (EPOLLIN). */
int netlink_fd(const struct netlink *nl);

/*
 * Read and handle every pending event; resyncs with a dump on ENOBUFS.
 * Returns 0 or -errno.
 */
int netlink_process(struct netlink *nl);

#endif
