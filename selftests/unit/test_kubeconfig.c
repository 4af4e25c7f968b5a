// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_kubeconfig.c - kubeconfig files and in-cluster credentials. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/k8s/kubeconfig.h"
#include "runner.h"

/* "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n" */
#define CA_PEM "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
#define CA_B64 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!ASSERT_OK_PTR(f, path))
		return;
	fputs(text, f);
	fclose(f);
}

static void rm_tree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		test__log("could not remove %s\n", dir);
}

static const char inline_cfg[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: dev\n"
	"clusters:\n"
	"- name: other\n"
	"  cluster:\n"
	"    server: https://other:6443\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"    tls-server-name: kubernetes\n"
	"contexts:\n"
	"- name: dev\n"
	"  context: {cluster: c1, user: u1, namespace: team}\n"
	"- name: anon\n"
	"  context:\n"
	"    cluster: other\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: \"abc.def\"\n"
	"    client-certificate-data: Y2VydA==\n"
	"    client-key-data: a2V5\n";

static int load_str(const char *text, const char *context,
		    struct kubeconfig *kc, char *err, size_t size)
{
	return kubeconfig_load_string(text, strlen(text), NULL, context, kc,
				      err, size);
}

void test_kubeconfig(void)
{
	struct kubeconfig kc;
	char err[512];

	if (test__start_subtest("inline_data")) {
		if (ASSERT_OK(load_str(inline_cfg, NULL, &kc, err, sizeof(err)),
			      err)) {
			ASSERT_STREQ(kc.context, "dev", "context");
			ASSERT_STREQ(kc.cluster, "c1", "cluster");
			ASSERT_STREQ(kc.user, "u1", "user");
			ASSERT_STREQ(kc.namespace, "team", "namespace");
			ASSERT_STREQ(kc.server, "https://10.0.0.1:6443",
				     "server");
			ASSERT_STREQ(kc.tls_server_name, "kubernetes",
				     "tls-server-name");
			ASSERT_EQ(kc.ca_pem_len, strlen(CA_PEM), "CA length");
			ASSERT_STREQ((char *)kc.ca_pem, CA_PEM, "CA bytes");
			ASSERT_STREQ(kc.token, "abc.def", "token");
			ASSERT_TRUE(kc.token_file == NULL, "no token file");
			ASSERT_STREQ((char *)kc.client_cert_pem, "cert",
				     "cert");
			ASSERT_STREQ((char *)kc.client_key_pem, "key", "key");
			ASSERT_FALSE(kc.insecure_skip_tls_verify, "verify");
			kubeconfig_free(&kc);
		}
	}
	if (test__start_subtest("explicit_context")) {
		if (ASSERT_OK(load_str(inline_cfg, "anon", &kc, err,
				       sizeof(err)),
			      err)) {
			ASSERT_STREQ(kc.server, "https://other:6443", "server");
			ASSERT_TRUE(kc.user == NULL && kc.token == NULL &&
					    kc.ca_pem == NULL,
				    "anonymous, system roots");
			kubeconfig_free(&kc);
		}
	}
	if (test__start_subtest("missing_entries")) {
		ASSERT_EQ(load_str(inline_cfg, "foo", &kc, err, sizeof(err)),
			  -EINVAL, "unknown context");
		ASSERT_STREQ(err,
			     "kubeconfig (string): context \"foo\" not found",
			     "message");
		ASSERT_EQ(
			load_str(
				"current-context: x\ncontexts:\n- name: x\n  context: {cluster: nope, user: u}\n",
				NULL, &kc, err, sizeof(err)),
			-EINVAL, "unknown cluster");
		ASSERT_STREQ(err,
			     "kubeconfig (string): cluster \"nope\" not found",
			     "message");
		ASSERT_EQ(
			load_str(
				"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: nope}\nclusters:\n- name: c\n  cluster: {server: 'https://s'}\n",
				NULL, &kc, err, sizeof(err)),
			-EINVAL, "unknown user");
		ASSERT_STREQ(err,
			     "kubeconfig (string): user \"nope\" not found",
			     "message");
		/* a name with a newline (fuzz/corpus/kubeconfig/
		 * regress-newline-in-name): still one line of message */
		ASSERT_EQ(load_str("current-context: \"a\\nb\\tc\"\n", NULL,
				   &kc, err, sizeof(err)),
			  -EINVAL, "unknown context with a newline");
		ASSERT_STREQ(err,
			     "kubeconfig (string): context \"a?b?c\" not found",
			     "one line");
		ASSERT_EQ(load_str("apiVersion: v1\n", NULL, &kc, err,
				   sizeof(err)),
			  -EINVAL, "no current-context");
		ASSERT_TRUE(strstr(err, "no current-context") != NULL, err);
		ASSERT_EQ(
			load_str(
				"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {certificate-authority-data: " CA_B64
				"}\n",
				NULL, &kc, err, sizeof(err)),
			-EINVAL, "no server");
		ASSERT_STREQ(err,
			     "kubeconfig (string): cluster \"c\" has no server",
			     "message");
		ASSERT_EQ(
			load_str(
				"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'ftp://s'}\n",
				NULL, &kc, err, sizeof(err)),
			-EINVAL, "not http(s)");
		ASSERT_EQ(load_str("- a\n- b\n", NULL, &kc, err, sizeof(err)),
			  -EINVAL, "not a mapping");
		ASSERT_EQ(load_str("", NULL, &kc, err, sizeof(err)), -EINVAL,
			  "empty");
	}
	if (test__start_subtest("refused")) {
		static const char base[] =
			"current-context: x\n"
			"contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
			"clusters:\n- name: c\n  cluster:\n    server: https://s\n";
		char text[1024];

		snprintf(text, sizeof(text),
			 "%s    insecure-skip-tls-verify: true\n", base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -EINVAL,
			  "insecure-skip-tls-verify");
		ASSERT_TRUE(
			strstr(err,
			       "cluster \"c\" sets insecure-skip-tls-verify") !=
				NULL,
			err);
		snprintf(
			text, sizeof(text),
			"%s    insecure-skip-tls-verify: false\nusers:\n- name: u\n  user: {token: t}\n",
			base);
		ASSERT_OK(load_str(text, NULL, &kc, err, sizeof(err)),
			  "false is fine");
		kubeconfig_free(&kc);
		snprintf(text, sizeof(text),
			 "%s    insecure-skip-tls-verify: maybe\n", base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -EINVAL,
			  "not a boolean");
		snprintf(
			text, sizeof(text),
			"%susers:\n- name: u\n  user:\n    exec: {command: aws}\n",
			base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -ENOTSUP,
			  "exec plugin");
		ASSERT_TRUE(strstr(err, "exec plugin") != NULL, err);
		snprintf(
			text, sizeof(text),
			"%susers:\n- name: u\n  user: {username: a, password: b}\n",
			base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -ENOTSUP,
			  "basic auth");
		snprintf(
			text, sizeof(text),
			"%susers:\n- name: u\n  user: {client-certificate-data: Y2VydA==}\n",
			base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -EINVAL,
			  "certificate without key");
		ASSERT_TRUE(strstr(err, "no client key") != NULL, err);
		snprintf(text, sizeof(text),
			 "%s    certificate-authority-data: 'not base64!'\n",
			 base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -EINVAL,
			  "bad base64");
		ASSERT_TRUE(strstr(err, "not valid base64") != NULL, err);
		snprintf(text, sizeof(text), "%s    server: [a, b]\n", base);
		ASSERT_EQ(load_str(text, NULL, &kc, err, sizeof(err)), -EINVAL,
			  "duplicate key / non-scalar");
		ASSERT_EQ(load_str("a: [\nb: c\n", NULL, &kc, err, sizeof(err)),
			  -EINVAL, "YAML syntax error");
		ASSERT_TRUE(strstr(err, "kubeconfig (string): line ") != NULL,
			    err);
	}
}

void test_kubeconfig_files(void)
{
	char dir[] = "/tmp/svcd-kubeconfig-XXXXXX", path[600], expect[700];
	struct kubeconfig kc;
	char err[1024], config[2048], *tok;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0700);
	write_file(dir, "ca.pem", CA_PEM);
	write_file(dir, "sub/client.crt", "CERT\n");
	write_file(dir, "sub/client.key", "KEY\n");
	write_file(dir, "token", "  tok-123\n\n");
	/* Relative names resolve against the kubeconfig's directory. */
	snprintf(config, sizeof(config),
		 "current-context: f\n"
		 "contexts:\n- name: f\n  context: {cluster: c, user: u}\n"
		 "clusters:\n- name: c\n  cluster:\n"
		 "    server: https://s:6443\n"
		 "    certificate-authority: ca.pem\n"
		 "users:\n- name: u\n  user:\n"
		 "    token: inline-loses\n"
		 "    tokenFile: token\n"
		 "    client-certificate: sub/client.crt\n"
		 "    client-key: %s/sub/client.key\n",
		 dir);
	write_file(dir, "config", config);

	if (test__start_subtest("relative_files")) {
		snprintf(path, sizeof(path), "%s/config", dir);
		if (ASSERT_OK(kubeconfig_load_file(path, NULL, &kc, err,
						   sizeof(err)),
			      err)) {
			ASSERT_STREQ((char *)kc.ca_pem, CA_PEM, "CA from file");
			ASSERT_STREQ((char *)kc.client_cert_pem, "CERT\n",
				     "cert from file");
			ASSERT_STREQ((char *)kc.client_key_pem, "KEY\n",
				     "key from absolute path");
			snprintf(expect, sizeof(expect), "%s/token", dir);
			ASSERT_STREQ(kc.token_file, expect,
				     "tokenFile resolved");
			ASSERT_STREQ(kc.token, "tok-123",
				     "tokenFile read and trimmed, wins");
			ASSERT_STREQ(kc.source, path, "source");
			kubeconfig_free(&kc);
		}
	}
	if (test__start_subtest("unreadable")) {
		ASSERT_EQ(kubeconfig_load_file("/nonexistent/kubeconfig", NULL,
					       &kc, err, sizeof(err)),
			  -ENOENT, "missing kubeconfig");
		ASSERT_STREQ(
			err,
			"kubeconfig /nonexistent/kubeconfig: No such file or directory",
			"message");
		snprintf(path, sizeof(path), "%s/ca.pem", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/config", dir);
		ASSERT_EQ(kubeconfig_load_file(path, NULL, &kc, err,
					       sizeof(err)),
			  -ENOENT, "missing CA file");
		snprintf(
			expect, sizeof(expect),
			"kubeconfig %s/config: cluster \"c\" certificate-authority %s/ca.pem: No such file or directory",
			dir, dir);
		ASSERT_STREQ(err, expect, "message names the file");
	}
	if (test__start_subtest("read_token")) {
		ASSERT_OK(kubeconfig_read_token(
				  strcat(strcpy(path, dir), "/token"), &tok),
			  "read");
		ASSERT_STREQ(tok, "tok-123", "trimmed");
		free(tok);
		write_file(dir, "empty", " \n");
		ASSERT_EQ(kubeconfig_read_token(
				  strcat(strcpy(path, dir), "/empty"), &tok),
			  -ENODATA, "empty token");
		ASSERT_EQ(kubeconfig_read_token("/nonexistent", &tok), -ENOENT,
			  "missing");
	}
	rm_tree(dir);
}

void test_kubeconfig_in_cluster(void)
{
	char dir[] = "/tmp/svcd-sa-XXXXXX", path[600], expect[700];
	struct kubeconfig kc;
	char err[1024];

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	write_file(dir, "token", "sa-token\n");
	write_file(dir, "ca.crt", CA_PEM);
	write_file(dir, "namespace", "kube-system");

	if (test__start_subtest("service_account")) {
		if (ASSERT_OK(kubeconfig_in_cluster(dir,
						    "https://10.0.0.1:6443",
						    &kc, err, sizeof(err)),
			      err)) {
			ASSERT_STREQ(kc.server, "https://10.0.0.1:6443",
				     "server from --master");
			ASSERT_STREQ(kc.token, "sa-token", "token");
			snprintf(path, sizeof(path), "%s/token", dir);
			ASSERT_STREQ(kc.token_file, path, "token file kept");
			ASSERT_STREQ((char *)kc.ca_pem, CA_PEM, "CA");
			ASSERT_STREQ(kc.namespace, "kube-system", "namespace");
			kubeconfig_free(&kc);
		}
	}
	if (test__start_subtest("errors")) {
		ASSERT_EQ(kubeconfig_in_cluster(dir, NULL, &kc, err,
						sizeof(err)),
			  -EINVAL, "--master required");
		ASSERT_TRUE(strstr(err, "--master") != NULL, err);
		ASSERT_EQ(kubeconfig_in_cluster(dir, "10.0.0.1", &kc, err,
						sizeof(err)),
			  -EINVAL, "not a URL");
		snprintf(path, sizeof(path), "%s/ca.crt", dir);
		unlink(path);
		ASSERT_EQ(kubeconfig_in_cluster(dir, "https://m", &kc, err,
						sizeof(err)),
			  -ENOENT, "no CA");
		snprintf(
			expect, sizeof(expect),
			"kubeconfig %s: CA %s/ca.crt: No such file or directory",
			dir, dir);
		ASSERT_STREQ(err, expect, "message");
		snprintf(path, sizeof(path), "%s/token", dir);
		unlink(path);
		ASSERT_EQ(kubeconfig_in_cluster(dir, "https://m", &kc, err,
						sizeof(err)),
			  -ENOENT, "no token");
	}
	if (test__start_subtest("set_server")) {
		ASSERT_OK(load_str(inline_cfg, NULL, &kc, err, sizeof(err)),
			  err);
		ASSERT_OK(kubeconfig_set_server(&kc, "http://127.0.0.1:8080",
						err, sizeof(err)),
			  "override");
		ASSERT_STREQ(kc.server, "http://127.0.0.1:8080", "server");
		ASSERT_EQ(kubeconfig_set_server(&kc, "127.0.0.1", err,
						sizeof(err)),
			  -EINVAL, "bad URL refused");
		ASSERT_STREQ(kc.server, "http://127.0.0.1:8080", "kept");
		kubeconfig_free(&kc);
	}
	rm_tree(dir);
}

void test_base64(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" },
		{ "Zm9vYg", "foob" },
		{ "Zm9v\nYmFy\n", "foobar" },
		{ "/+8=", "\xff\xef" },
	};
	static const char *const bad[] = { "Z",	       "Zg=",  "Zg===",
					   "Zh==",     "Zm9=", "Zm9v!",
					   "Zg==Zg==", "=",    "Zm9-" };
	size_t i, len;
	uint8_t *out;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!ASSERT_OK(base64_decode(good[i].in, strlen(good[i].in),
					     &out, &len),
			       good[i].in))
			continue;
		ASSERT_EQ(len, strlen(good[i].out), good[i].in);
		ASSERT_STREQ((char *)out, good[i].out, good[i].in);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(base64_decode(bad[i], strlen(bad[i]), &out, &len),
			  -EINVAL, bad[i]);
}
