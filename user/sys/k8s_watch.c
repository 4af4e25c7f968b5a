// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s_watch.c - list/watch of Services, EndpointSlices and the Node over
 * libcurl's multi interface (see k8s_watch.h).
 *
 * Each resource has one watcher that cycles LIST (paginated) -> WATCH
 * (from the list's resourceVersion, re-opened from the last seen one when
 * the server ends it) and, on 410 Gone as an HTTP status or an ERROR event,
 * back to LIST. Failures wait a backoff with jitter (or Retry-After) in
 * WAIT. The stores keep the last good state the whole time, so svcd keeps
 * serving while the API server is away.
 *
 * layout: one file (about 1,100 lines): one state machine and the libcurl
 * callbacks that drive it, over one private struct each.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/envnum.h"
#include "sys/k8s_watch.h"
#include "lib/k8s/store.h"
#include "lib/k8s/url.h"
#include "lib/linesplit.h"
#include "lib/log.h"

#define K8S_LIST_LIMIT 500
#define K8S_WATCH_TIMEOUT_S 300
#define K8S_CONNECT_TIMEOUT_MS 5000
#define K8S_LIST_TIMEOUT_S 60
#define K8S_BACKOFF_BASE_MS 250
#define K8S_BACKOFF_CAP_MS 30000
#define K8S_TOKEN_REREAD_S 60
/*
 * A request that receives nothing for this long (no event, no bookmark, not
 * even response headers) is taken for a stalled server or a connection lost
 * without FIN or RST: it is aborted and made again. kube-apiserver sends a
 * bookmark about once a minute to watchers that ask for them (svcd does),
 * so 90 s never cuts a healthy watch; shorter watches (tests) get a third of
 * their length, but never less than the server's silence before its first
 * bookmark (min(60 s, timeout - 2 s), plus 3 s) nor K8S_IDLE_MIN_S.
 */
#define K8S_IDLE_MAX_S 90
#define K8S_IDLE_MIN_S 2
#define K8S_BOOKMARK_EVERY_S 60
#define K8S_BOOKMARK_LEAD_S 2
#define K8S_BOOKMARK_SLACK_S 3
#define K8S_MAX_BODY (512u << 20) /* a list page bigger than this is refused */
#define K8S_ERR_BODY 512	  /* bytes of an error body kept for the log */

enum phase {
	PH_IDLE,
	PH_LISTING,
	PH_WATCHING,
	PH_WAITING,
};

struct buf {
	char *data;
	size_t len, cap;
};

struct watcher {
	struct k8s_client *c;
	enum k8s_resource res;
	struct store *store;
	enum phase phase;
	CURL *easy;
	struct curl_slist *headers;
	char *cont;	 /* continue token of the next list page */
	struct buf body; /* list body, or the start of an error body */
	struct linesplit ls;
	bool listed;	  /* a whole list has been committed once */
	bool must_list;	  /* the next attempt is a (re)list, not a watch */
	bool need_relist; /* ERROR 410 seen in the stream */
	bool stream_bad;  /* malformed or ERROR event: re-watch */
	bool too_big;
	char why[256]; /* what made stream_bad, for the log line */
	unsigned long events;
	uint64_t started_ms;	  /* of the request in flight */
	uint64_t list_started_ms; /* of the list's first page */
	unsigned int list_pages;  /* pages of the list in progress */
	uint64_t retry_at_ms;
	long retry_after_ms; /* from the last response, -1 if none */
	struct backoff bo;
};

struct k8s_client {
	struct k8s_client_config cfg;
	char *token;
	time_t token_read_at;
	CURLM *multi;
	int epfd;
	int curl_timerfd;
	int retry_timerfd;
	struct watcher w[K8S_RESOURCE_COUNT];
	k8s_change_fn on_change;
	void *ctx;
	uint64_t seed;
	struct k8s_client_stats stats;
	/* Both lists are in for the first time: the caller must sync even
	 * when they are empty (its maps may hold an earlier run's state). */
	bool first_sync_due;
	uint64_t dispatch_ns; /* CLOCK_MONOTONIC at the dispatch under way */
	/* when the first watch event that changed a store since the last
	 * k8s_client_take_change_ns() arrived (its dispatch began), 0: none */
	uint64_t first_event_ns;
};

static const char *const res_names[K8S_RESOURCE_COUNT] = {
	[K8S_SERVICES] = "services",
	[K8S_ENDPOINTSLICES] = "endpointslices",
	[K8S_NODES] = "nodes",
};

static void timerfd_arm_ms(int fd, long ms)
{
	struct itimerspec its = {};

	if (ms >= 0) {
		/* 0 would disarm: fire "now" as one nanosecond. */
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
		if (!ms)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(fd, 0, &its, NULL);
}

static int buf_append(struct buf *b, const char *data, size_t len, size_t limit)
{
	size_t want = b->len + len + 1;
	char *p;

	if (want > limit)
		return -E2BIG;
	if (want > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < want)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* ---- credentials ------------------------------------------------------ */

static void token_refresh(struct k8s_client *c, bool force)
{
	const struct kubeconfig *kc = c->cfg.kc;
	time_t now = time(NULL);
	char *token = NULL;
	int err;

	if (!kc->token_file)
		return;
	if (!force && c->token && now - c->token_read_at < K8S_TOKEN_REREAD_S)
		return;
	c->token_read_at = now;
	err = kubeconfig_read_token(kc->token_file, &token);
	if (err) {
		pr_warn("k8s: cannot read token file %s: %s; keeping the previous token",
			kc->token_file, strerror(-err));
		return;
	}
	free(c->token);
	c->token = token;
}

/* ---- requests --------------------------------------------------------- */

static unsigned int idle_s(const struct k8s_client *c)
{
	unsigned int t = c->cfg.watch_timeout_s, s = t / 3, quiet;

	/* kube-apiserver's first bookmark comes at min(60 s, timeout - 2 s)
	 * (its cacher: the last one just before the watch times out), on a
	 * 1 s tick: a watch of 30 s may be silent for 29 s */
	if (t > K8S_BOOKMARK_LEAD_S + 1) {
		quiet = t - K8S_BOOKMARK_LEAD_S;
		if (quiet > K8S_BOOKMARK_EVERY_S)
			quiet = K8S_BOOKMARK_EVERY_S;
		quiet += K8S_BOOKMARK_SLACK_S;
		if (s < quiet)
			s = quiet;
	}
	if (s < K8S_IDLE_MIN_S)
		return K8S_IDLE_MIN_S;
	return s > K8S_IDLE_MAX_S ? K8S_IDLE_MAX_S : s;
}

static const char *phase_name(const struct watcher *w)
{
	return w->phase == PH_LISTING ? "list" : "watch";
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = size * n;
	char value[128];
	size_t vlen;
	int ms;

	if (len > 5 && !strncmp(data, "HTTP/", 5)) {
		long port = 0;

		/* which connection: the agent tests check that requests in
		 * flight together never share one (see k8s_client_new) */
		curl_easy_getinfo(w->easy, CURLINFO_LOCAL_PORT, &port);
		pr_debug("k8s: %s %s: response on local port %ld",
			 phase_name(w), res_names[w->res], port);
		return len;
	}
	if (len < 12 || strncasecmp(data, "Retry-After:", 12))
		return len;
	vlen = len - 12;
	if (vlen >= sizeof(value))
		vlen = sizeof(value) - 1;
	memcpy(value, data + 12, vlen);
	value[vlen] = '\0';
	while (vlen && (value[vlen - 1] == '\r' || value[vlen - 1] == '\n'))
		value[--vlen] = '\0';
	ms = retry_after_ms(value + strspn(value, " \t"), time(NULL));
	if (ms >= 0)
		w->retry_after_ms = ms;
	return len;
}

static int on_event_line(void *arg, const char *line, size_t len)
{
	struct watcher *w = arg;
	char err[256];
	int ret;

	w->c->stats.events++;
	w->events++;
	ret = store_apply_event(w->store, line, len, err, sizeof(err));
	if (ret == STORE_GONE) {
		pr_info("k8s: watch %s: resourceVersion %s is too old (410 Gone), relisting",
			res_names[w->res], store_resource_version(w->store));
		w->need_relist = true;
		return -ESTALE;
	}
	if (ret == STORE_CHANGED && !w->c->first_event_ns)
		w->c->first_event_ns = w->c->dispatch_ns;
	if (ret < 0) {
		/* logged with the retry delay when the transfer is over */
		snprintf(w->why, sizeof(w->why), "%s", err);
		w->stream_bad = true;
		return ret;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = size * n;
	long code = 0;
	int ret;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* Keep the start of an error body for the log line. */
		if (w->body.len < K8S_ERR_BODY)
			buf_append(&w->body, data,
				   len < K8S_ERR_BODY ? len : K8S_ERR_BODY,
				   K8S_ERR_BODY * 2);
		return len;
	}
	if (w->phase == PH_LISTING) {
		ret = buf_append(&w->body, data, len, K8S_MAX_BODY);
		if (ret) {
			w->too_big = true;
			return 0; /* aborts the transfer */
		}
		return len;
	}
	ret = linesplit_feed(&w->ls, data, len, on_event_line, w);
	if (ret == -E2BIG) {
		snprintf(w->why, sizeof(w->why),
			 "event larger than the line limit");
		w->stream_bad = true;
		return 0;
	}
	return ret ? 0 : len;
}

static void watcher_release_easy(struct watcher *w)
{
	if (w->easy) {
		curl_multi_remove_handle(w->c->multi, w->easy);
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
	}
	curl_slist_free_all(w->headers);
	w->headers = NULL;
}

static int watcher_start(struct watcher *w, const char *path, bool watch)
{
	struct k8s_client *c = w->c;
	const struct kubeconfig *kc = c->cfg.kc;
	char *url = NULL, *auth = NULL;
	int err;

	token_refresh(c, false);
	err = k8s_url_join(kc->server, path, &url);
	if (err)
		goto out;
	w->easy = curl_easy_init();
	if (!w->easy) {
		err = -ENOMEM;
		goto out;
	}
	w->headers = curl_slist_append(NULL, "Accept: application/json");
	if (c->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
			err = -ENOMEM;
			goto out;
		}
		w->headers = curl_slist_append(w->headers, auth);
	}
	curl_easy_setopt(w->easy, CURLOPT_URL, url);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)K8S_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT,
			 watch ? (long)c->cfg.watch_timeout_s + 30 :
				 (long)K8S_LIST_TIMEOUT_S);
	/* Less than a byte a second for idle_s seconds: abort (see above). */
	curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, (long)idle_s(c));
	/* TLS is always verified; the CA comes from the kubeconfig. */
	curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(w->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (kc->ca_pem) {
		struct curl_blob blob = { .data = kc->ca_pem,
					  .len = kc->ca_pem_len,
					  .flags = CURL_BLOB_COPY };

		curl_easy_setopt(w->easy, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (kc->client_cert_pem && kc->client_key_pem) {
		struct curl_blob cert = { .data = kc->client_cert_pem,
					  .len = kc->client_cert_pem_len,
					  .flags = CURL_BLOB_COPY };
		struct curl_blob key = { .data = kc->client_key_pem,
					 .len = kc->client_key_pem_len,
					 .flags = CURL_BLOB_COPY };

		curl_easy_setopt(w->easy, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(w->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(w->easy, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(w->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	buf_reset(&w->body);
	linesplit_reset(&w->ls);
	w->too_big = false;
	w->need_relist = false;
	w->stream_bad = false;
	w->why[0] = '\0';
	w->events = 0;
	w->retry_after_ms = -1;
	w->started_ms = mono_ms();
	if (curl_multi_add_handle(c->multi, w->easy) != CURLM_OK) {
		err = -ENOMEM;
		goto out;
	}
	pr_debug("k8s: GET %s", path);
	err = 0;
out:
	if (err)
		watcher_release_easy(w);
	free(url);
	free(auth);
	return err;
}

static void rearm_retry_timer(struct k8s_client *c)
{
	uint64_t next = 0, now = mono_ms();
	int i;

	for (i = 0; i < K8S_RESOURCE_COUNT; i++) {
		struct watcher *w = &c->w[i];

		if (w->phase == PH_WAITING && (!next || w->retry_at_ms < next))
			next = w->retry_at_ms;
	}
	if (!next)
		timerfd_arm_ms(c->retry_timerfd, -1);
	else
		timerfd_arm_ms(c->retry_timerfd,
			       next > now ? (long)(next - now) : 0);
}

static void watcher_list(struct watcher *w);

/*
 * Wait before the next attempt: Retry-After if the server gave one, else
 * the backoff. With a cause, logs one warning line that names the request,
 * the cause and the delay: "k8s: watch services: CAUSE; next attempt in N ms".
 */
static void __attribute__((format(printf, 2, 3)))
watcher_wait(struct watcher *w, const char *fmt, ...)
{
	struct k8s_client *c = w->c;
	uint32_t ms = backoff_next_ms(&w->bo, backoff_rand_splitmix, &c->seed);
	const char *what = phase_name(w);
	char cause[K8S_ERR_BODY + 128];
	bool server_said = false;
	va_list ap;

	if (w->retry_after_ms >= 0) {
		ms = (uint32_t)w->retry_after_ms;
		server_said = true;
	}
	if (ms < 50)
		ms = 50; /* never spin on a server that fails at once */
	w->phase = PH_WAITING;
	w->retry_at_ms = mono_ms() + ms;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(cause, sizeof(cause), fmt, ap);
		va_end(ap);
		/* the cause may quote the server, which may quote us */
		log_redact(cause, c->token);
		pr_warn("k8s: %s %s: %s; next attempt in %u ms%s", what,
			res_names[w->res], cause, ms,
			server_said ? " (Retry-After)" : "");
	} else {
		pr_debug("k8s: %s %s: next attempt in %u ms", what,
			 res_names[w->res], ms);
	}
	rearm_retry_timer(c);
}

static void watcher_list(struct watcher *w)
{
	struct k8s_client *c = w->c;
	char *path = NULL;
	int err;

	if (!w->cont)
		store_list_begin(w->store);
	w->phase = PH_LISTING;
	err = k8s_list_path(w->res, c->cfg.node_name, c->cfg.list_limit,
			    w->cont, &path);
	if (!err) {
		if (!w->cont) {
			c->stats.lists++;
			w->list_started_ms = mono_ms();
			w->list_pages = 0;
		}
		err = watcher_start(w, path, false);
		free(path);
	}
	if (err) {
		store_list_abort(w->store);
		free(w->cont);
		w->cont = NULL;
		w->must_list = true;
		watcher_wait(w, "cannot start the request: %s", strerror(-err));
	}
}

static void watcher_watch(struct watcher *w)
{
	struct k8s_client *c = w->c;
	char *path = NULL;
	int err;

	w->phase = PH_WATCHING;
	err = k8s_watch_path(w->res, c->cfg.node_name,
			     store_resource_version(w->store),
			     c->cfg.watch_timeout_s, &path);
	if (!err) {
		c->stats.watches++;
		err = watcher_start(w, path, true);
		free(path);
	}
	if (err)
		watcher_wait(w, "cannot start the request: %s", strerror(-err));
}

static void relist(struct watcher *w)
{
	free(w->cont);
	w->cont = NULL;
	w->must_list = true;
	w->c->stats.relists++;
	watcher_list(w);
}

static void list_page_done(struct watcher *w)
{
	struct k8s_client *c = w->c;
	struct store_counts counts = {};
	char err[256], *cont = NULL;
	int ret;

	ret = store_list_page(w->store, w->body.data ? w->body.data : "",
			      w->body.len, &cont, err, sizeof(err));
	free(w->cont);
	w->cont = NULL;
	if (ret) {
		store_list_abort(w->store);
		c->stats.errors++;
		watcher_wait(w, "%s", err);
		return;
	}
	c->stats.list_pages++;
	w->list_pages++;
	if (cont) {
		w->cont = cont;
		watcher_list(w);
		return;
	}
	ret = store_list_commit(w->store, &counts);
	if (ret) {
		watcher_wait(w, "cannot commit: %s", strerror(-ret));
		return;
	}
	pr_info("k8s: listed %zu %s at resourceVersion %s (+%zu ~%zu -%zu) in %u pages, %llu ms",
		store_count(w->store), res_names[w->res],
		store_resource_version(w->store), counts.added, counts.changed,
		counts.removed, w->list_pages,
		(unsigned long long)(mono_ms() - w->list_started_ms));
	if (!w->listed) {
		w->listed = true;
		if (k8s_client_synced(c))
			c->first_sync_due = true;
	}
	w->must_list = false;
	backoff_reset(&w->bo);
	watcher_watch(w);
}

static void watch_done(struct watcher *w, CURLcode res)
{
	uint64_t lasted = mono_ms() - w->started_ms;

	if (w->need_relist) {
		relist(w);
		return;
	}
	if (w->stream_bad) {
		w->c->stats.errors++;
		watcher_wait(w, "%s; re-watching from resourceVersion %s",
			     w->why, store_resource_version(w->store));
		return;
	}
	if (res == CURLE_OPERATION_TIMEDOUT) {
		/* Nothing for idle_s(), or kept open 30 s past the watch's
		 * timeoutSeconds: a stalled server or a dead connection. Try
		 * again at once; the wait that timed out was the pause. */
		if (lasted < ((uint64_t)w->c->cfg.watch_timeout_s + 30) * 1000)
			pr_warn("k8s: watch %s: nothing received for %u s after %llu ms (stalled server or lost connection); re-watching from resourceVersion %s",
				res_names[w->res], idle_s(w->c),
				(unsigned long long)lasted,
				store_resource_version(w->store));
		else
			pr_warn("k8s: watch %s: not ended by the server %llu ms after it began (timeoutSeconds %u); re-watching from resourceVersion %s",
				res_names[w->res], (unsigned long long)lasted,
				w->c->cfg.watch_timeout_s,
				store_resource_version(w->store));
		w->c->stats.errors++;
		watcher_watch(w);
		return;
	}
	if (res != CURLE_OK) {
		w->c->stats.errors++;
		watcher_wait(w, "%s; re-watching from resourceVersion %s",
			     curl_easy_strerror(res),
			     store_resource_version(w->store));
		return;
	}
	/* A watch the server ends is normal; one that ends at once with
	 * nothing in it is a server in trouble: back off. */
	if (w->events || lasted > 1000) {
		backoff_reset(&w->bo);
		watcher_watch(w);
	} else {
		watcher_wait(
			w,
			"ended after %llu ms without an event; re-watching from resourceVersion %s",
			(unsigned long long)lasted,
			store_resource_version(w->store));
	}
}

static void http_error(struct watcher *w, long code)
{
	struct k8s_client *c = w->c;
	char msg[K8S_ERR_BODY + 1];
	size_t i;

	snprintf(msg, sizeof(msg), "%s", w->body.data ? w->body.data : "");
	for (i = 0; msg[i]; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	/* now: after a 401 the token below is already the next one */
	log_redact(msg, c->token);
	c->stats.errors++;
	if (code == 410) {
		c->stats.http_410++;
		store_list_abort(w->store);
		/* A fresh list (no continue token) cannot be too old: a
		 * server that says so is in trouble; back off. */
		if (w->phase == PH_LISTING && !w->cont) {
			w->must_list = true;
			watcher_wait(w, "HTTP 410 Gone%s%s; relisting",
				     msg[0] ? ": " : "", msg);
			return;
		}
		pr_info("k8s: %s %s: HTTP 410 Gone (resourceVersion %s%s), relisting",
			phase_name(w), res_names[w->res],
			store_resource_version(w->store),
			w->cont ? ", continue token expired" : "");
		relist(w);
		return;
	}
	if (code == 401) {
		c->stats.http_401++;
		token_refresh(c, true);
	} else if (code == 429) {
		c->stats.http_429++;
	} else if (code >= 500) {
		c->stats.http_5xx++;
	}
	if (w->phase == PH_LISTING) {
		store_list_abort(w->store);
		free(w->cont);
		w->cont = NULL;
	}
	watcher_wait(w, "HTTP %ld%s%s", code, msg[0] ? ": " : "", msg);
}

static void transfer_done(struct watcher *w, CURLcode res)
{
	long code = 0;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	watcher_release_easy(w);
	if (code && code != 200) {
		http_error(w, code);
		return;
	}
	if (w->phase == PH_WATCHING) {
		watch_done(w, res);
		return;
	}
	if (res != CURLE_OK) {
		w->c->stats.errors++;
		store_list_abort(w->store);
		free(w->cont);
		w->cont = NULL;
		watcher_wait(w, "%s",
			     w->too_big ? "response too large" :
					  curl_easy_strerror(res));
		return;
	}
	list_page_done(w);
}

/* ---- curl multi glue ---------------------------------------------------- */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg,
		     void *sockp)
{
	struct k8s_client *c = arg;
	struct epoll_event ev = { .data.fd = s };

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
		epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct k8s_client *c = arg;

	(void)multi;
	timerfd_arm_ms(c->curl_timerfd, timeout_ms);
	return 0;
}

static void drain_done(struct k8s_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct watcher *w = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &w);
		if (w)
			transfer_done(w, msg->data.result);
	}
}

static void run_due_retries(struct k8s_client *c)
{
	uint64_t now = mono_ms();
	int i;

	for (i = 0; i < K8S_RESOURCE_COUNT; i++) {
		struct watcher *w = &c->w[i];

		if (w->phase != PH_WAITING || w->retry_at_ms > now)
			continue;
		if (w->listed && !w->must_list && !w->cont)
			watcher_watch(w);
		else
			watcher_list(w);
	}
	rearm_retry_timer(c);
}

int k8s_client_dispatch(struct k8s_client *c)
{
	struct epoll_event evs[16];
	bool changed = false;
	int n, i, running;
	uint64_t ticks;

	c->dispatch_ns = mono_ns();
	n = epoll_wait(c->epfd, evs, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd, flags = 0;

		if (fd == c->curl_timerfd) {
			if (read(fd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN)
				return -errno;
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT,
						 0, &running);
		} else if (fd == c->retry_timerfd) {
			if (read(fd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN)
				return -errno;
			run_due_retries(c);
		} else {
			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(c->multi, fd, flags, &running);
		}
		drain_done(c);
	}
	for (i = 0; i < K8S_RESOURCE_COUNT; i++) {
		if (store_dirty(c->w[i].store)) {
			store_clear_dirty(c->w[i].store);
			changed = true;
		}
	}
	if (c->first_sync_due) {
		c->first_sync_due = false;
		changed = true;
	}
	if (changed && c->on_change)
		c->on_change(c->ctx);
	return 0;
}

/* ---- lifetime ------------------------------------------------------------ */

/*
 * Test knobs, not for production: the agent tests shorten watches with
 * SVCD_K8S_WATCH_TIMEOUT_S (seconds; apisim injects most faults into the
 * next watch, so watches must come round quickly there: every watch end
 * is a request) and make lists of a few objects take several pages with
 * SVCD_K8S_LIST_LIMIT (objects per page).
 */
struct k8s_client *k8s_client_new(const struct k8s_client_config *cfg,
				  k8s_change_fn on_change, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct k8s_client *c;
	int i, err = -ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->cfg = *cfg;
	if (!c->cfg.list_limit)
		c->cfg.list_limit = env_uint("SVCD_K8S_LIST_LIMIT", 1,
					     K8S_LIST_LIMIT, K8S_LIST_LIMIT,
					     "a number of objects");
	if (c->cfg.list_limit != K8S_LIST_LIMIT)
		pr_info("k8s: lists in pages of %u", c->cfg.list_limit);
	if (!c->cfg.watch_timeout_s)
		c->cfg.watch_timeout_s = env_uint("SVCD_K8S_WATCH_TIMEOUT_S", 1,
						  3600, K8S_WATCH_TIMEOUT_S,
						  "a number of seconds");
	if (c->cfg.watch_timeout_s != K8S_WATCH_TIMEOUT_S)
		pr_info("k8s: watches last %u s, idle limit %u s",
			c->cfg.watch_timeout_s, idle_s(c));
	c->on_change = on_change;
	c->ctx = ctx;
	c->seed = (uint64_t)mono_ms() ^ ((uint64_t)getpid() << 32);
	c->epfd = c->curl_timerfd = c->retry_timerfd = -1;
	if (cfg->kc->token)
		c->token = strdup(cfg->kc->token);
	c->token_read_at = time(NULL);

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->curl_timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->retry_timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->epfd < 0 || c->curl_timerfd < 0 || c->retry_timerfd < 0) {
		err = -errno;
		goto fail;
	}
	ev.data.fd = c->curl_timerfd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->curl_timerfd, &ev)) {
		err = -errno;
		goto fail;
	}
	ev.data.fd = c->retry_timerfd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->retry_timerfd, &ev)) {
		err = -errno;
		goto fail;
	}
	c->multi = curl_multi_init();
	if (!c->multi)
		goto fail;
	/*
	 * One request per connection at a time: no HTTP/2 multiplexing.
	 * With it (libcurl's default), libcurl 7.88 put a list page on the
	 * connection that carried the other watches and, now and then, left
	 * that page's last data in its buffers after the socket went quiet:
	 * the transfer never ended, svcd waited for the list's 60 s timeout
	 * (seen at 1,000 Services: the EndpointSlices list never came). Three
	 * watchers make at most three connections; a finished one's
	 * connection is reused by the next request.
	 */
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING,
			  (long)CURLPIPE_NOTHING);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);

	for (i = 0; i < K8S_RESOURCE_COUNT; i++) {
		struct watcher *w = &c->w[i];

		w->c = c;
		w->res = i;
		w->store = store_new(k8s_resource_kind(i),
				     k8s_resource_api_version(i));
		if (!w->store)
			goto fail;
		/* a changed slice names its Service to rebuild */
		if (i == K8S_ENDPOINTSLICES &&
		    store_index_label(w->store, "kubernetes.io/service-name"))
			goto fail;
		linesplit_init(&w->ls, 0);
		backoff_init(&w->bo, BACKOFF_DECORRELATED, K8S_BACKOFF_BASE_MS,
			     K8S_BACKOFF_CAP_MS);
	}
	for (i = 0; i < K8S_RESOURCE_COUNT; i++)
		watcher_list(&c->w[i]);
	return c;
fail:
	pr_err("k8s: cannot set up the API client: %s", strerror(-err));
	k8s_client_free(c);
	errno = -err;
	return NULL;
}

void k8s_client_free(struct k8s_client *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < K8S_RESOURCE_COUNT; i++) {
		struct watcher *w = &c->w[i];

		if (!w->c)
			continue;
		watcher_release_easy(w);
		store_free(w->store);
		linesplit_free(&w->ls);
		free(w->body.data);
		free(w->cont);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->curl_timerfd >= 0)
		close(c->curl_timerfd);
	if (c->retry_timerfd >= 0)
		close(c->retry_timerfd);
	free(c->token);
	free(c);
}

int k8s_client_fd(const struct k8s_client *c)
{
	return c->epfd;
}

bool k8s_client_synced(const struct k8s_client *c)
{
	return c->w[K8S_SERVICES].listed && c->w[K8S_ENDPOINTSLICES].listed;
}

size_t k8s_client_objects(const struct k8s_client *c)
{
	const struct store *stores[] = { c->w[K8S_SERVICES].store,
					 c->w[K8S_ENDPOINTSLICES].store };

	return store_objects(stores, 2);
}

cJSON *k8s_client_object_at(const struct k8s_client *c, size_t i)
{
	const struct store *stores[] = { c->w[K8S_SERVICES].store,
					 c->w[K8S_ENDPOINTSLICES].store };

	return store_object_at(stores, 2, i);
}

int k8s_client_node_info(const struct k8s_client *c,
			 struct store_node_info *info)
{
	return store_node_info(c->w[K8S_NODES].store, c->cfg.node_name, info);
}

int k8s_client_take_changes(struct k8s_client *c, char ***names,
			    size_t *n_names, bool *whole)
{
	char **svc = NULL, **sl = NULL, **node = NULL, **all;
	bool relisted[3];
	size_t n_svc, n_sl, n_node, i;

	n_svc = store_take_touched(c->w[K8S_SERVICES].store, &svc,
				   &relisted[0]);
	n_sl = store_take_touched(c->w[K8S_ENDPOINTSLICES].store, &sl,
				  &relisted[1]);
	/* the Node: its zone is in the model's config, which the caller
	 * compares whole */
	n_node = store_take_touched(c->w[K8S_NODES].store, &node, &relisted[2]);
	for (i = 0; i < n_node; i++)
		free(node[i]);
	free(node);
	*whole = relisted[0] || relisted[1];
	*names = NULL;
	*n_names = 0;
	all = n_svc + n_sl ? calloc(n_svc + n_sl, sizeof(*all)) : NULL;
	if (n_svc + n_sl && !all)
		*whole = true;
	for (i = 0; i < n_svc; i++) {
		if (all)
			all[(*n_names)++] = svc[i];
		else
			free(svc[i]);
	}
	for (i = 0; i < n_sl; i++) {
		if (all)
			all[(*n_names)++] = sl[i];
		else
			free(sl[i]);
	}
	free(svc);
	free(sl);
	*names = all;
	return 0;
}

static void add_ref(void *ctx, const cJSON *obj)
{
	/* a reference: deleting the array leaves the store's object */
	if (!cJSON_AddItemReferenceToArray(ctx, (cJSON *)obj))
		((cJSON *)ctx)->valueint = -1;
}

cJSON *k8s_client_service_objects(const struct k8s_client *c, const char *name)
{
	const cJSON *svc = store_get(c->w[K8S_SERVICES].store, name);
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	if (svc)
		add_ref(arr, svc);
	store_for_group(c->w[K8S_ENDPOINTSLICES].store, name, add_ref, arr);
	if (arr->valueint == -1) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

uint64_t k8s_client_take_change_ns(struct k8s_client *c)
{
	uint64_t t = c->first_event_ns;

	c->first_event_ns = 0;
	return t;
}

void k8s_client_get_stats(const struct k8s_client *c,
			  struct k8s_client_stats *stats)
{
	*stats = c->stats;
}
