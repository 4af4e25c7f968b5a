// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * seed_dump.c - linked into the unit tests by fuzz/seed.sh with
 * -Wl,--wrap=FN for each parser: every input a test hands a parser is
 * written into the seed corpus of its harness ($FUZZ_SEED_DIR/<name>/,
 * one file per distinct input, named by its FNV-1a hash), then the real
 * function runs and the test goes on as always.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"
#include "k8s/store.h"
#include "model.h"

static void dump(const char *harness, const void *head, size_t head_len,
		 const void *data, size_t len)
{
	const char *dir = getenv("FUZZ_SEED_DIR");
	uint64_t h = 0xcbf29ce484222325ull;
	char path[4096];
	size_t i;
	FILE *f;

	if (!dir || !data)
		return;
	for (i = 0; i < head_len; i++)
		h = (h ^ ((const uint8_t *)head)[i]) * 0x100000001b3ull;
	for (i = 0; i < len; i++)
		h = (h ^ ((const uint8_t *)data)[i]) * 0x100000001b3ull;
	snprintf(path, sizeof(path), "%s/%s", dir, harness);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/unit-%016llx", dir, harness,
		 (unsigned long long)h);
	f = fopen(path, "we");
	if (!f)
		return;
	if (head_len)
		fwrite(head, 1, head_len, f);
	fwrite(data, 1, len, f);
	fclose(f);
}

int __real_model_build_text(const char *text, size_t len,
			    const struct model_config *cfg, model_error_fn err,
			    void *err_ctx, struct model_state *out);
int __wrap_model_build_text(const char *text, size_t len,
			    const struct model_config *cfg, model_error_fn err,
			    void *err_ctx, struct model_state *out);
int __wrap_model_build_text(const char *text, size_t len,
			    const struct model_config *cfg, model_error_fn err,
			    void *err_ctx, struct model_state *out)
{
	dump("fromfile", NULL, 0, text, len);
	dump("objtext", NULL, 0, text, len);
	return __real_model_build_text(text, len, cfg, err, err_ctx, out);
}

int __real_store_apply_event(struct store *s, const char *line, size_t len,
			     char *err, size_t err_size);
int __wrap_store_apply_event(struct store *s, const char *line, size_t len,
			     char *err, size_t err_size);
int __wrap_store_apply_event(struct store *s, const char *line, size_t len,
			     char *err, size_t err_size)
{
	dump("store", NULL, 0, line, len);
	return __real_store_apply_event(s, line, len, err, err_size);
}

int __real_store_list_page(struct store *s, const char *body, size_t len,
			   char **continue_token, char *err, size_t err_size);
int __wrap_store_list_page(struct store *s, const char *body, size_t len,
			   char **continue_token, char *err, size_t err_size);
int __wrap_store_list_page(struct store *s, const char *body, size_t len,
			   char **continue_token, char *err, size_t err_size)
{
	dump("store", NULL, 0, body, len);
	return __real_store_list_page(s, body, len, continue_token, err,
				      err_size);
}

int __real_kubeconfig_load_string(const char *text, size_t len,
				  const char *base_dir, const char *context,
				  struct kubeconfig *kc, char *err,
				  size_t err_size);
int __wrap_kubeconfig_load_string(const char *text, size_t len,
				  const char *base_dir, const char *context,
				  struct kubeconfig *kc, char *err,
				  size_t err_size);
int __wrap_kubeconfig_load_string(const char *text, size_t len,
				  const char *base_dir, const char *context,
				  struct kubeconfig *kc, char *err,
				  size_t err_size)
{
	dump("kubeconfig", NULL, 0, text, len);
	return __real_kubeconfig_load_string(text, len, base_dir, context, kc,
					     err, err_size);
}

int __real_kubeconfig_load_file(const char *path, const char *context,
				struct kubeconfig *kc, char *err,
				size_t err_size);
int __wrap_kubeconfig_load_file(const char *path, const char *context,
				struct kubeconfig *kc, char *err,
				size_t err_size);
int __wrap_kubeconfig_load_file(const char *path, const char *context,
				struct kubeconfig *kc, char *err,
				size_t err_size)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			dump("kubeconfig", NULL, 0, buf, (size_t)n);
		close(fd);
	}
	return __real_kubeconfig_load_file(path, context, kc, err, err_size);
}

int __real_base64_decode(const char *in, size_t in_len, uint8_t **out,
			 size_t *out_len);
int __wrap_base64_decode(const char *in, size_t in_len, uint8_t **out,
			 size_t *out_len);
int __wrap_base64_decode(const char *in, size_t in_len, uint8_t **out,
			 size_t *out_len)
{
	dump("base64", NULL, 0, in, in_len);
	return __real_base64_decode(in, in_len, out, out_len);
}
