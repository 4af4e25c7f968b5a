// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* k8s/kubeconfig.c - kubeconfig and in-cluster credentials (k8s/kubeconfig.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "k8s/kubeconfig.h"

/* What every parsing step needs: the document, where to report, paths. */
struct kc_parse {
	yaml_document_t doc;
	const char *source; /* for messages */
	const char *base_dir;
	char *err;
	size_t err_size;
};

static void __attribute__((format(printf, 4, 5)))
set_err(char *err, size_t err_size, const char *source, const char *fmt, ...)
{
	size_t n;
	va_list ap;
	char *p;

	if (!err || !err_size)
		return;
	n = snprintf(err, err_size, "kubeconfig %s: ", source);
	if (n >= err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, err_size - n, fmt, ap);
	va_end(ap);
	/* one line, whatever the names in the file hold ("a\nb" in YAML) */
	for (p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

#define perr(p, ...) set_err((p)->err, (p)->err_size, (p)->source, __VA_ARGS__)

/* ---- base64 ----------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	size_t i, n = 0, pad = 0, quad = 0;
	uint32_t acc = 0;
	uint8_t *buf;

	buf = malloc(in_len / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < in_len; i++) {
		unsigned char c = in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)
			goto bad; /* a character after padding, or not base64 */
		acc = acc << 6 | v;
		if (++quad == 4) {
			buf[n++] = acc >> 16;
			buf[n++] = acc >> 8;
			buf[n++] = acc;
			acc = 0;
			quad = 0;
		}
	}
	/* The tail: 2 chars -> 1 byte, 3 -> 2; padding must complete it. */
	if (quad == 1 || (pad && quad + pad != 4) || (!quad && pad))
		goto bad;
	if (quad == 2) {
		if (acc & 0xf)
			goto bad; /* non-canonical: stray low bits */
		buf[n++] = acc >> 4;
	} else if (quad == 3) {
		if (acc & 0x3)
			goto bad;
		buf[n++] = acc >> 10;
		buf[n++] = acc >> 2;
	}
	buf[n] = 0;
	*out = buf;
	*out_len = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* ---- files ------------------------------------------------------------ */

/* Read a whole file (at most KUBECONFIG_MAX_FILE), NUL-terminated. */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
	size_t len = 0, cap = 4096;
	uint8_t *buf = NULL, *tmp;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || len + 1 == cap) {
			if (buf)
				cap *= 2;
			if (cap > KUBECONFIG_MAX_FILE + 1)
				cap = KUBECONFIG_MAX_FILE + 1;
			if (len + 1 == cap) {
				err = -EFBIG;
				goto out;
			}
			tmp = realloc(buf, cap);
			if (!tmp) {
				err = -ENOMEM;
				goto out;
			}
			buf = tmp;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

int kubeconfig_read_token(const char *path, char **token)
{
	size_t len, start = 0;
	uint8_t *buf;
	int err;

	*token = NULL;
	err = read_file(path, &buf, &len);
	if (err)
		return err;
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	while (start < len && strchr(" \t\r\n", buf[start]))
		start++;
	if (start == len) {
		free(buf);
		return -ENODATA;
	}
	memmove(buf, buf + start, len - start);
	buf[len - start] = 0;
	*token = (char *)buf;
	return 0;
}

/* name relative to base_dir (unless absolute or no base_dir), malloc'ed. */
static char *resolve(const char *base_dir, const char *name)
{
	char *path;

	if (name[0] == '/' || !base_dir || !*base_dir)
		return strdup(name);
	if (asprintf(&path, "%s/%s", base_dir, name) < 0)
		return NULL;
	return path;
}

/* ---- YAML helpers ----------------------------------------------------- */

static yaml_node_t *node_at(struct kc_parse *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

/* The value under key in a mapping node, or NULL. */
static yaml_node_t *map_get(struct kc_parse *p, yaml_node_t *map,
			    const char *key)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(p, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == strlen(key) &&
		    !memcmp(k->data.scalar.value, key, k->data.scalar.length))
			return node_at(p, pair->value);
	}
	return NULL;
}

/*
 * A scalar's text (libyaml NUL-terminates it), or NULL when absent, null
 * or empty. what and key name the field for the message.
 */
static int scalar(struct kc_parse *p, yaml_node_t *node, const char *what,
		  const char *key, const char **out)
{
	const char *sep = *what ? " " : "";
	const char *s;

	*out = NULL;
	if (!node)
		return 0;
	if (node->type != YAML_SCALAR_NODE) {
		perr(p, "%s%s%s is not a string", what, sep, key);
		return -EINVAL;
	}
	s = (const char *)node->data.scalar.value;
	if (!node->data.scalar.length ||
	    (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	     (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	      !strcmp(s, "NULL"))))
		return 0;
	if (strlen(s) != node->data.scalar.length) {
		perr(p, "%s%s%s contains a NUL byte", what, sep, key);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

static int map_str(struct kc_parse *p, yaml_node_t *map, const char *key,
		   const char *what, const char **out)
{
	return scalar(p, map_get(p, map, key), what, key, out);
}

static int map_strdup(struct kc_parse *p, yaml_node_t *map, const char *key,
		      const char *what, char **out)
{
	const char *s;
	int err;

	err = map_str(p, map, key, what, &s);
	if (err || !s)
		return err;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* YAML 1.1 booleans, as sigs.k8s.io/yaml reads them. */
static int map_bool(struct kc_parse *p, yaml_node_t *map, const char *key,
		    const char *what, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	const char *s;
	size_t i;
	int err;

	*out = false;
	err = map_str(p, map, key, what, &s);
	if (err || !s)
		return err;
	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	perr(p, "%s %s: \"%s\" is not a boolean", what, key, s);
	return -EINVAL;
}

/*
 * In the sequence under list_key ("clusters"), the item whose name is
 * name; returns its inner mapping (under inner_key, "cluster").
 */
static int find_named(struct kc_parse *p, yaml_node_t *root,
		      const char *list_key, const char *inner_key,
		      const char *name, yaml_node_t **out)
{
	yaml_node_t *seq = map_get(p, root, list_key), *inner;
	yaml_node_item_t *item;
	const char *s;

	*out = NULL;
	if (seq && seq->type != YAML_SEQUENCE_NODE) {
		perr(p, "%s is not a list", list_key);
		return -EINVAL;
	}
	for (item = seq ? seq->data.sequence.items.start : NULL;
	     seq && item < seq->data.sequence.items.top; item++) {
		yaml_node_t *entry = node_at(p, *item);

		if (scalar(p, map_get(p, entry, "name"), list_key, "name", &s))
			return -EINVAL;
		if (!s || strcmp(s, name))
			continue;
		inner = map_get(p, entry, inner_key);
		if (!inner || inner->type != YAML_MAPPING_NODE) {
			perr(p, "%s \"%s\" has no %s mapping", inner_key, name,
			     inner_key);
			return -EINVAL;
		}
		*out = inner;
		return 0;
	}
	perr(p, "%s \"%s\" not found", inner_key, name);
	return -EINVAL;
}

/*
 * PEM bytes from KEY-data (base64, wins as in client-go) or from the file
 * named by KEY (resolved against the kubeconfig's directory).
 */
static int load_pem(struct kc_parse *p, yaml_node_t *map, const char *key,
		    const char *what, uint8_t **out, size_t *out_len)
{
	char data_key[64], *path;
	const char *s;
	int err;

	snprintf(data_key, sizeof(data_key), "%s-data", key);
	err = map_str(p, map, data_key, what, &s);
	if (err)
		return err;
	if (s) {
		err = base64_decode(s, strlen(s), out, out_len);
		if (err == -EINVAL)
			perr(p, "%s %s is not valid base64", what, data_key);
		return err;
	}
	err = map_str(p, map, key, what, &s);
	if (err || !s)
		return err;
	path = resolve(p->base_dir, s);
	if (!path)
		return -ENOMEM;
	err = read_file(path, out, out_len);
	if (err)
		perr(p, "%s %s %s: %s", what, key, path, strerror(-err));
	free(path);
	return err;
}

static int check_url(const char *url)
{
	if (!strncmp(url, "https://", 8))
		return url[8] ? 0 : -EINVAL;
	if (!strncmp(url, "http://", 7))
		return url[7] ? 0 : -EINVAL;
	return -EINVAL;
}

static int parse_cluster(struct kc_parse *p, yaml_node_t *cluster,
			 struct kubeconfig *kc)
{
	char what[300];
	int err;

	snprintf(what, sizeof(what), "cluster \"%s\"", kc->cluster);
	err = map_strdup(p, cluster, "server", what, &kc->server);
	if (err)
		return err;
	if (!kc->server) {
		perr(p, "%s has no server", what);
		return -EINVAL;
	}
	if (check_url(kc->server)) {
		perr(p, "%s server \"%s\" is not an http(s):// URL", what,
		     kc->server);
		return -EINVAL;
	}
	err = map_bool(p, cluster, "insecure-skip-tls-verify", what,
		       &kc->insecure_skip_tls_verify);
	if (err)
		return err;
	if (kc->insecure_skip_tls_verify) {
		perr(p,
		     "%s sets insecure-skip-tls-verify: svcd always verifies the API server; give certificate-authority or certificate-authority-data instead",
		     what);
		return -EINVAL;
	}
	err = map_strdup(p, cluster, "tls-server-name", what,
			 &kc->tls_server_name);
	if (err)
		return err;
	return load_pem(p, cluster, "certificate-authority", what, &kc->ca_pem,
			&kc->ca_pem_len);
}

static int parse_user(struct kc_parse *p, yaml_node_t *user,
		      struct kubeconfig *kc)
{
	char what[300];
	const char *s;
	int err;

	snprintf(what, sizeof(what), "user \"%s\"", kc->user);
	if (map_get(p, user, "exec") || map_get(p, user, "auth-provider")) {
		perr(p,
		     "%s uses %s, which svcd does not run; give a token, tokenFile or client certificate",
		     what,
		     map_get(p, user, "exec") ? "an exec plugin" :
						"an auth-provider");
		return -ENOTSUP;
	}
	if (map_get(p, user, "username") || map_get(p, user, "password")) {
		perr(p,
		     "%s uses basic auth (username/password), which svcd does not support; give a token, tokenFile or client certificate",
		     what);
		return -ENOTSUP;
	}
	err = map_strdup(p, user, "token", what, &kc->token);
	if (err)
		return err;
	err = map_str(p, user, "tokenFile", what, &s);
	if (err)
		return err;
	if (s) {
		kc->token_file = resolve(p->base_dir, s);
		if (!kc->token_file)
			return -ENOMEM;
		/* The file wins over an inline token, as in client-go. */
		free(kc->token);
		kc->token = NULL;
		err = kubeconfig_read_token(kc->token_file, &kc->token);
		if (err) {
			perr(p, "%s tokenFile %s: %s", what, kc->token_file,
			     err == -ENODATA ? "empty" : strerror(-err));
			return err;
		}
	}
	err = load_pem(p, user, "client-certificate", what,
		       &kc->client_cert_pem, &kc->client_cert_pem_len);
	if (err)
		return err;
	err = load_pem(p, user, "client-key", what, &kc->client_key_pem,
		       &kc->client_key_pem_len);
	if (err)
		return err;
	if (!kc->client_cert_pem != !kc->client_key_pem) {
		perr(p, "%s has a client %s but no client %s", what,
		     kc->client_cert_pem ? "certificate" : "key",
		     kc->client_cert_pem ? "key" : "certificate");
		return -EINVAL;
	}
	return 0;
}

static int parse_doc(struct kc_parse *p, const char *context,
		     struct kubeconfig *kc)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	yaml_node_t *ctx, *cluster, *user;
	const char *s;
	char what[300];
	int err;

	if (!root || root->type != YAML_MAPPING_NODE) {
		perr(p, "not a kubeconfig (no top-level mapping)");
		return -EINVAL;
	}
	if (!context) {
		err = map_str(p, root, "current-context", "", &s);
		if (err)
			return err;
		if (!s) {
			perr(p, "no current-context set and no context given");
			return -EINVAL;
		}
		context = s;
	}
	kc->context = strdup(context);
	if (!kc->context)
		return -ENOMEM;
	err = find_named(p, root, "contexts", "context", context, &ctx);
	if (err)
		return err;
	snprintf(what, sizeof(what), "context \"%s\"", context);
	err = map_strdup(p, ctx, "cluster", what, &kc->cluster);
	if (err)
		return err;
	if (!kc->cluster) {
		perr(p, "%s names no cluster", what);
		return -EINVAL;
	}
	err = map_strdup(p, ctx, "user", what, &kc->user);
	if (err)
		return err;
	err = map_strdup(p, ctx, "namespace", what, &kc->namespace);
	if (err)
		return err;
	err = find_named(p, root, "clusters", "cluster", kc->cluster, &cluster);
	if (err)
		return err;
	err = parse_cluster(p, cluster, kc);
	if (err)
		return err;
	/* A context without a user talks to the server anonymously. */
	if (!kc->user)
		return 0;
	err = find_named(p, root, "users", "user", kc->user, &user);
	if (err)
		return err;
	return parse_user(p, user, kc);
}

static int load(const char *source, const char *text, size_t len,
		const char *base_dir, const char *context,
		struct kubeconfig *kc, char *err, size_t err_size)
{
	struct kc_parse p = { .source = source,
			      .base_dir = base_dir,
			      .err = err,
			      .err_size = err_size };
	yaml_parser_t parser;
	int ret;

	memset(kc, 0, sizeof(*kc));
	if (err && err_size)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			ret = -ENOMEM;
		} else {
			perr(&p, "line %zu column %zu: %s",
			     parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "bad YAML");
			ret = -EINVAL;
		}
		yaml_parser_delete(&parser);
		return ret;
	}
	yaml_parser_delete(&parser);
	kc->source = strdup(source);
	ret = kc->source ? parse_doc(&p, context, kc) : -ENOMEM;
	yaml_document_delete(&p.doc);
	if (ret == -ENOMEM)
		perr(&p, "out of memory");
	if (ret)
		kubeconfig_free(kc);
	return ret;
}

int kubeconfig_load_string(const char *text, size_t len, const char *base_dir,
			   const char *context, struct kubeconfig *kc,
			   char *err, size_t err_size)
{
	return load("(string)", text, len, base_dir, context, kc, err,
		    err_size);
}

int kubeconfig_load_file(const char *path, const char *context,
			 struct kubeconfig *kc, char *err, size_t err_size)
{
	char *dir = NULL, *slash;
	uint8_t *text;
	size_t len;
	int ret;

	memset(kc, 0, sizeof(*kc));
	ret = read_file(path, &text, &len);
	if (ret) {
		set_err(err, err_size, path, "%s", strerror(-ret));
		return ret;
	}
	slash = strrchr(path, '/');
	if (slash) {
		dir = strndup(path, slash == path ? 1 : slash - path);
		if (!dir) {
			free(text);
			return -ENOMEM;
		}
	}
	ret = load(path, (const char *)text, len, dir, context, kc, err,
		   err_size);
	free(dir);
	free(text);
	return ret;
}

int kubeconfig_set_server(struct kubeconfig *kc, const char *url, char *err,
			  size_t err_size)
{
	char *server;

	if (!url || check_url(url)) {
		set_err(err, err_size, kc->source ? kc->source : "(none)",
			"--master \"%s\" is not an http(s):// URL",
			url ? url : "");
		return -EINVAL;
	}
	server = strdup(url);
	if (!server)
		return -ENOMEM;
	free(kc->server);
	kc->server = server;
	return 0;
}

int kubeconfig_in_cluster(const char *sa_dir, const char *master,
			  struct kubeconfig *kc, char *err, size_t err_size)
{
	char *ns_path = NULL, *ca_path = NULL;
	int ret;

	memset(kc, 0, sizeof(*kc));
	if (!sa_dir)
		sa_dir = KUBECONFIG_SA_DIR;
	if (!master || !*master) {
		set_err(err, err_size, sa_dir,
			"in-cluster credentials need --master URL (the API server's Service address is what svcd programs)");
		return -EINVAL;
	}
	kc->source = strdup(sa_dir);
	if (!kc->source)
		goto nomem;
	ret = kubeconfig_set_server(kc, master, err, err_size);
	if (ret)
		goto fail;
	if (asprintf(&kc->token_file, "%s/token", sa_dir) < 0) {
		kc->token_file = NULL;
		goto nomem;
	}
	ret = kubeconfig_read_token(kc->token_file, &kc->token);
	if (ret) {
		set_err(err, err_size, sa_dir, "token %s: %s", kc->token_file,
			ret == -ENODATA ? "empty" : strerror(-ret));
		goto fail;
	}
	if (asprintf(&ca_path, "%s/ca.crt", sa_dir) < 0) {
		ca_path = NULL;
		goto nomem;
	}
	ret = read_file(ca_path, &kc->ca_pem, &kc->ca_pem_len);
	if (ret) {
		set_err(err, err_size, sa_dir, "CA %s: %s", ca_path,
			strerror(-ret));
		goto fail;
	}
	if (asprintf(&ns_path, "%s/namespace", sa_dir) < 0) {
		ns_path = NULL;
		goto nomem;
	}
	/* Optional: only informative for svcd. */
	ret = kubeconfig_read_token(ns_path, &kc->namespace);
	if (ret == -ENOMEM)
		goto nomem;
	free(ns_path);
	free(ca_path);
	return 0;
nomem:
	ret = -ENOMEM;
	set_err(err, err_size, sa_dir, "out of memory");
fail:
	free(ns_path);
	free(ca_path);
	kubeconfig_free(kc);
	return ret;
}

void kubeconfig_free(struct kubeconfig *kc)
{
	free(kc->source);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace);
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->ca_pem);
	free(kc->token);
	free(kc->token_file);
	free(kc->client_cert_pem);
	free(kc->client_key_pem);
	memset(kc, 0, sizeof(*kc));
}
