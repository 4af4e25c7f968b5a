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

#include <libmnl/libmnl.h>

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
		pr_warn("conntrack: no ctnetlink socket (%s): the stack's conntrack entries svcd would delete stay (a client port reused while they last may then miss the proxy's NAT)",
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

/* An attribute table filled by mnl_attr_parse*(): types above max are
 * not ours (a newer kernel's), skipped. */
struct attrs {
	const struct nlattr **tb;
	int max;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct attrs *t = data;
	int type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static void parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			 int max)
{
	struct attrs t = { .tb = tb, .max = max };

	memset(tb, 0, (size_t)(max + 1) * sizeof(*tb));
	mnl_attr_parse_nested(nest, attr_cb, &t);
}

/* a's payload when it holds at least len bytes, else NULL */
static const void *payload(const struct nlattr *a, size_t len)
{
	return a && mnl_attr_get_payload_len(a) >= len ?
		       mnl_attr_get_payload(a) :
		       NULL;
}

/* CTA_TUPLE_ORIG or _REPLY into *t: 0, or -EINVAL when a part is missing. */
static int parse_tuple(const struct nlattr *nest, int family,
		       struct nfct_tuple *t)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1],
		*pr[CTA_PROTO_MAX + 1];
	bool v6 = family == AF_INET6;
	size_t alen = v6 ? 16 : 4;
	const void *src, *dst, *num, *sport, *dport;

	if (!nest)
		return -EINVAL;
	parse_nested(nest, tb, CTA_TUPLE_MAX);
	if (!tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	parse_nested(tb[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	parse_nested(tb[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX);
	src = payload(ip[v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC], alen);
	dst = payload(ip[v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST], alen);
	num = payload(pr[CTA_PROTO_NUM], 1);
	if (!src || !dst || !num)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->family = family;
	memcpy(t->src, src, alen);
	memcpy(t->dst, dst, alen);
	t->proto = *(const __u8 *)num;
	/* ICMP and others have no ports: 0 */
	sport = payload(pr[CTA_PROTO_SRC_PORT], 2);
	dport = payload(pr[CTA_PROTO_DST_PORT], 2);
	if (sport)
		memcpy(&t->sport, sport, 2);
	if (dport)
		memcpy(&t->dport, dport, 2);
	return 0;
}

struct dump {
	int family;
	nfct_entry_fn fn;
	void *arg;
	int ret; /* fn's first nonzero value */
};

/* One CT_NEW message of a dump; an entry that does not parse is skipped.
 * Once fn stopped, the rest is read (to NLMSG_DONE), not handed. */
static int dump_cb(const struct nlmsghdr *h, void *data)
{
	const struct nlattr *tb[CTA_MAX + 1] = {};
	struct attrs t = { .tb = tb, .max = CTA_MAX };
	struct dump *d = data;
	struct nfct_entry e;
	const __be32 *status;

	if (d->ret ||
	    mnl_attr_parse(h, sizeof(struct nfgenmsg), attr_cb, &t) < 0 ||
	    parse_tuple(tb[CTA_TUPLE_ORIG], d->family, &e.orig) ||
	    parse_tuple(tb[CTA_TUPLE_REPLY], d->family, &e.reply))
		return MNL_CB_OK;
	status = payload(tb[CTA_STATUS], 4);
	e.status = status ? ntohl(*status) : 0;
	d->ret = d->fn(&e, d->arg);
	return MNL_CB_OK;
}

int nfct_dump(struct nfct *n, int family, nfct_entry_fn fn, void *arg)
{
	struct {
		struct nlmsghdr h;
		struct nfgenmsg g;
	} req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg)),
		       .nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) |
				     IPCTNL_MSG_CT_GET,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.g = { .nfgen_family = (__u8)family, .version = NFNETLINK_V0 },
	};
	struct dump d = { .family = family, .fn = fn, .arg = arg };
	const size_t cap = 64 * 1024;
	ssize_t got;
	char *buf;
	int r, ret = 0;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	req.h.nlmsg_seq = ++n->seq;
	if (send(n->fd, &req, sizeof(req), 0) < 0) {
		free(buf);
		return -errno;
	}
	for (;;) {
		got = recv(n->fd, buf, cap, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)got, n->seq, 0, dump_cb, &d);
		if (r == MNL_CB_STOP)
			break; /* NLMSG_DONE */
		/* ESRCH: an answer to an earlier request, skipped */
		if (r < 0 && errno != ESRCH) {
			ret = -errno;
			break;
		}
	}
	free(buf);
	return ret ? ret : d.ret;
}
