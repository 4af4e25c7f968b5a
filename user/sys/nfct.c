// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nfct.c - delete netfilter conntrack entries by tuple; see nfct.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "sys/nfct.h"
#include "lib/log.h"

/* nf_conntrack's per-namespace sysctl: there when the namespace can track */
#define NFCT_PRESENT "/proc/sys/net/netfilter/nf_conntrack_max"

struct nfct {
	int fd;
	__u32 seq;
};

struct msg {
	char buf[256];
	size_t len;
};

static struct nlattr *put(struct msg *m, __u16 type, const void *data,
			  size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	a->nla_type = type;
	a->nla_len = (__u16)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
	return a;
}

static void nest_end(struct msg *m, struct nlattr *a)
{
	a->nla_len = (__u16)(m->buf + m->len - (char *)a);
}

struct nfct *nfct_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	struct nfct *n;

	if (access(NFCT_PRESENT, F_OK))
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_warn("conntrack: no ctnetlink socket (%s): the stack's entries of translated replies stay (a client port reused within 120 s may then miss the new proxy's rules)",
			strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		free(n);
		return NULL;
	}
	/* a kernel that never answers must not hang a cleanup */
	setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return n;
}

void nfct_close(struct nfct *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

int nfct_delete(struct nfct *n, const struct nfct_tuple *t)
{
	bool v6 = t->family == AF_INET6;
	size_t alen = v6 ? 16 : 4;
	struct nlattr *orig, *ip, *proto;
	struct nlmsghdr *h;
	struct nfgenmsg *g;
	struct msg m = {};
	char reply[512];
	ssize_t got;
	int err;

	h = (struct nlmsghdr *)m.buf;
	h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++n->seq;
	m.len = NLMSG_HDRLEN;
	g = (struct nfgenmsg *)(m.buf + m.len);
	g->nfgen_family = (__u8)t->family;
	g->version = NFNETLINK_V0;
	m.len += NLMSG_ALIGN(sizeof(*g));

	orig = put(&m, CTA_TUPLE_ORIG | NLA_F_NESTED, NULL, 0);
	ip = put(&m, CTA_TUPLE_IP | NLA_F_NESTED, NULL, 0);
	put(&m, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, t->src, alen);
	put(&m, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, t->dst, alen);
	nest_end(&m, ip);
	proto = put(&m, CTA_TUPLE_PROTO | NLA_F_NESTED, NULL, 0);
	put(&m, CTA_PROTO_NUM, &t->proto, 1);
	put(&m, CTA_PROTO_SRC_PORT, &t->sport, 2);
	put(&m, CTA_PROTO_DST_PORT, &t->dport, 2);
	nest_end(&m, proto);
	nest_end(&m, orig);
	h->nlmsg_len = (__u32)m.len;

	if (send(n->fd, m.buf, m.len, 0) < 0)
		return -errno;
	for (;;) {
		got = recv(n->fd, reply, sizeof(reply), 0);
		if (got < 0)
			return errno == EINTR ? -EINTR : -errno;
		h = (struct nlmsghdr *)reply;
		if (!NLMSG_OK(h, (size_t)got))
			return -EIO;
		if (h->nlmsg_seq != n->seq)
			continue; /* an answer to an earlier request */
		if (h->nlmsg_type != NLMSG_ERROR)
			return -EIO;
		err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		if (!err)
			return 1;
		return err == -ENOENT ? 0 : err;
	}
}
