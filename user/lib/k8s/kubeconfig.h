/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s/kubeconfig.h - where the API server is and how to authenticate to it:
 * from a kubeconfig file (--kubeconfig, libyaml) or from the pod's
 * service-account directory (in-cluster, with --master).
 *
 * Pure apart from reading the files a kubeconfig names. Errors are one
 * line in a caller buffer, naming the file and what is wrong:
 *   kubeconfig /x: context "foo" not found
 */
#ifndef SVCD_KUBECONFIG_H
#define SVCD_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* Largest CA, certificate, key or token file read. */
#define KUBECONFIG_MAX_FILE (1u << 20)

struct kubeconfig {
	char *source;	       /* kubeconfig path, "(string)" or the SA dir */
	char *context;	       /* context followed; NULL in-cluster */
	char *cluster;	       /* cluster name; NULL in-cluster */
	char *user;	       /* user name; NULL in-cluster */
	char *namespace;       /* context's or SA's namespace, or NULL */
	char *server;	       /* "https://host:port[/prefix]" */
	char *tls_server_name; /* name to verify instead of the host, or NULL */
	uint8_t *ca_pem;       /* CA bundle (PEM), or NULL: system roots */
	size_t ca_pem_len;
	/*
	 * Parsed so that it is refused: loading fails when it is true, since
	 * svcd never turns verification off. Always false after a success.
	 */
	bool insecure_skip_tls_verify;
	/* Bearer token: the inline one, or tokenFile's content at load. */
	char *token;
	/* Re-read it every 60 s and after a 401 (kubeconfig_read_token). */
	char *token_file;
	uint8_t *client_cert_pem; /* both or neither */
	size_t client_cert_pem_len;
	uint8_t *client_key_pem;
	size_t client_key_pem_len;
};

/*
 * Parse the kubeconfig at path, following context (NULL: current-context)
 * to its cluster and user. Relative file names inside are resolved against
 * the kubeconfig's directory, as kubectl does. Returns 0 and fills *kc
 * (kubeconfig_free), or -errno with a message in err: -ENOENT/-EACCES/...
 * for unreadable files, -EINVAL for bad content, missing entries and
 * insecure-skip-tls-verify, -ENOTSUP for exec/auth-provider/basic auth.
 */
int kubeconfig_load_file(const char *path, const char *context,
			 struct kubeconfig *kc, char *err, size_t err_size);

/* Same from text; base_dir resolves relative names (NULL: as given). */
int kubeconfig_load_string(const char *text, size_t len, const char *base_dir,
			   const char *context, struct kubeconfig *kc,
			   char *err, size_t err_size);

/*
 * In-cluster: token file SA_DIR/token (read once now, kept in token_file
 * for re-reads), CA SA_DIR/ca.crt, namespace SA_DIR/namespace (optional).
 * sa_dir NULL means KUBECONFIG_SA_DIR. The server is master, which is
 * required: the Service address of the API server is what svcd itself
 * has to program.
 */
int kubeconfig_in_cluster(const char *sa_dir, const char *master,
			  struct kubeconfig *kc, char *err, size_t err_size);

/* --master over a kubeconfig's server. Returns 0, -EINVAL or -ENOMEM. */
int kubeconfig_set_server(struct kubeconfig *kc, const char *url, char *err,
			  size_t err_size);

/*
 * Read a bearer token file (surrounding whitespace trimmed) into *token
 * (free()). Returns 0, -errno of the read, -EFBIG or -ENODATA when empty.
 */
int kubeconfig_read_token(const char *path, char **token);

void kubeconfig_free(struct kubeconfig *kc);

/*
 * Standard base64 (RFC 4648 with '=' padding, which may be left out;
 * whitespace is skipped). Returns 0 and a malloc'ed *out (NUL-terminated,
 * *out_len without it), -EINVAL on bad input or -ENOMEM.
 */
int base64_decode(const char *in, size_t in_len, uint8_t **out,
		  size_t *out_len);

#endif
