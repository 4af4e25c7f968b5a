// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* netlink.c - link list and link events over rtnetlink. See netlink.h. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "lib/log.h"
#include "sys/netlink.h"

/* Large enough that a burst of pod churn does not overflow it often;
 * when it does, the kernel says ENOBUFS and we resync. */
#define NETLINK_RCVBUF (1 << 20)
#define NETLINK_BUF_SIZE (32 * 1024)

struct link {
	int ifindex;
	char name[IF_NAMESIZE];
	bool seen; /* in the dump being processed */
};

struct netlink {
	struct mnl_socket *events;
	const struct netlink_ops *ops;
	void *ctx;
	struct link *links;
	size_t n_links, cap_links;
	bool dumping;
};

static struct link *find_link(struct netlink *nl, int ifindex)
{
	size_t i;

	for (i = 0; i < nl->n_links; i++)
		if (nl->links[i].ifindex == ifindex)
			return &nl->links[i];
	return NULL;
}

static int link_seen(struct netlink *nl, int ifindex, const char *name)
{
	char old[IF_NAMESIZE];
	struct link *link;

	link = find_link(nl, ifindex);
	if (link) {
		link->seen = true;
		if (!strcmp(link->name, name))
			return 0;
		memcpy(old, link->name, sizeof(old));
		snprintf(link->name, sizeof(link->name), "%s", name);
		nl->ops->link_up(nl->ctx, ifindex, link->name, old);
		return 0;
	}
	if (nl->n_links == nl->cap_links) {
		size_t cap = nl->cap_links ? nl->cap_links * 2 : 16;
		struct link *links;

		links = realloc(nl->links, cap * sizeof(*links));
		if (!links)
			return -ENOMEM;
		nl->links = links;
		nl->cap_links = cap;
	}
	link = &nl->links[nl->n_links++];
	link->ifindex = ifindex;
	link->seen = true;
	snprintf(link->name, sizeof(link->name), "%s", name);
	nl->ops->link_up(nl->ctx, ifindex, link->name, NULL);
	return 0;
}

static void link_removed(struct netlink *nl, struct link *link)
{
	struct link gone = *link;

	/* Remove first: the callback may look at nothing of ours, but keep
	 * the table consistent anyway. */
	*link = nl->links[--nl->n_links];
	nl->ops->link_gone(nl->ctx, gone.ifindex, gone.name);
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFLA_IFNAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {};
	struct netlink *nl = data;
	struct ifinfomsg *ifm;
	struct link *link;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifm)))
		return MNL_CB_OK;
	ifm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		link = find_link(nl, ifm->ifi_index);
		if (link)
			link_removed(nl, link);
		return MNL_CB_OK;
	}
	mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb);
	if (!tb[IFLA_IFNAME])
		return MNL_CB_OK;
	if (link_seen(nl, ifm->ifi_index, mnl_attr_get_str(tb[IFLA_IFNAME])))
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

/*
 * One RTM_GETLINK dump on its own blocking socket, so that its replies
 * never mix with events. Links not in the dump are reported gone.
 */
static int dump_links(struct netlink *nl)
{
	struct mnl_socket *sock;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	unsigned int seq, portid;
	char *buf;
	ssize_t n;
	size_t i;
	int err = 0, ret;

	buf = malloc(NETLINK_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sock) {
		err = -errno;
		pr_err("open rtnetlink socket for a link dump: %s",
		       strerror(-err));
		goto out_free;
	}
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		pr_err("bind rtnetlink socket: %s", strerror(-err));
		goto out_close;
	}
	portid = mnl_socket_get_portid(sock);
	seq = (unsigned int)time(NULL);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		pr_err("send RTM_GETLINK dump request: %s", strerror(-err));
		goto out_close;
	}

	for (i = 0; i < nl->n_links; i++)
		nl->links[i].seen = false;
	for (;;) {
		n = mnl_socket_recvfrom(sock, buf, NETLINK_BUF_SIZE);
		if (n < 0) {
			err = -errno;
			pr_err("read RTM_GETLINK dump: %s", strerror(-err));
			goto out_close;
		}
		ret = mnl_cb_run(buf, n, seq, portid, msg_cb, nl);
		if (ret == MNL_CB_STOP)
			break;
		if (ret < 0) {
			err = errno ? -errno : -EIO;
			pr_err("RTM_GETLINK dump: %s", strerror(-err));
			goto out_close;
		}
	}
	/* Walk backwards: link_removed moves the last entry into the hole. */
	for (i = nl->n_links; i-- > 0;)
		if (!nl->links[i].seen)
			link_removed(nl, &nl->links[i]);
out_close:
	mnl_socket_close(sock);
out_free:
	free(buf);
	return err;
}

struct netlink *netlink_open(const struct netlink_ops *ops, void *ctx)
{
	int rcvbuf = NETLINK_RCVBUF;
	struct netlink *nl;
	int err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->ops = ops;
	nl->ctx = ctx;
	nl->events =
		mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl->events) {
		err = -errno;
		pr_err("open rtnetlink socket for link events: %s",
		       strerror(-err));
		goto out_free;
	}
	/* Best effort: a smaller buffer only means more resyncs. */
	setsockopt(mnl_socket_get_fd(nl->events), SOL_SOCKET, SO_RCVBUF,
		   &rcvbuf, sizeof(rcvbuf));
	/* Subscribe before the dump, so no change falls between the two. */
	if (mnl_socket_bind(nl->events, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		pr_err("subscribe to rtnetlink link events: %s",
		       strerror(-err));
		goto out_close;
	}
	err = dump_links(nl);
	if (err)
		goto out_close;
	return nl;

out_close:
	mnl_socket_close(nl->events);
out_free:
	free(nl->links);
	free(nl);
	errno = -err;
	return NULL;
}

void netlink_close(struct netlink *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->events);
	free(nl->links);
	free(nl);
}

int netlink_fd(const struct netlink *nl)
{
	return mnl_socket_get_fd(nl->events);
}

int netlink_process(struct netlink *nl)
{
	bool resync = false;
	ssize_t n;
	char *buf;
	int err = 0, ret;

	buf = malloc(NETLINK_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		n = mnl_socket_recvfrom(nl->events, buf, NETLINK_BUF_SIZE);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Events were dropped: drain, then resync. */
				resync = true;
				continue;
			}
			err = -errno;
			pr_err("read rtnetlink link events: %s",
			       strerror(-err));
			goto out;
		}
		ret = mnl_cb_run(buf, n, 0, 0, msg_cb, nl);
		if (ret < 0 && errno == ENOMEM) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (resync) {
		pr_warn("rtnetlink link events were lost (ENOBUFS); listing links again");
		err = dump_links(nl);
	}
out:
	free(buf);
	return err;
}
