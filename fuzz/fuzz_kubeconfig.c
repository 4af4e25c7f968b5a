// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_kubeconfig.c - a kubeconfig (kubeconfig_load_string, libyaml),
 * with relative file names resolved against fuzz/files/ (a CA, a
 * certificate, a key and a token). The files it may read are only
 * those: kubeconfig.c's open() is renamed to fuzz_open() for this
 * harness (fuzz.mk), which refuses every other path, so that a fuzzed
 * "/dev/tty" or a FIFO cannot hang a run and no run depends on the
 * machine's files.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>

#include "fuzz.h"
#include "k8s/kubeconfig.h"

#ifndef FUZZ_FILES_DIR
#error "FUZZ_FILES_DIR: the absolute path of fuzz/files"
#endif

int fuzz_open(const char *path, int flags, ...);

int fuzz_open(const char *path, int flags, ...)
{
	size_t n = strlen(FUZZ_FILES_DIR);

	if (strncmp(path, FUZZ_FILES_DIR "/", n + 1) || strstr(path, "/..") ||
	    (flags & O_ACCMODE) != O_RDONLY) {
		errno = ENOENT;
		return -1;
	}
	return open(path, flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc = {};
	char err[512];
	int ret;

	err[0] = '\0';
	ret = kubeconfig_load_string((const char *)data, size, FUZZ_FILES_DIR,
				     NULL, &kc, err, sizeof(err));
	FUZZ_ASSERT(ret <= 0, "0 or -errno");
	if (ret) {
		FUZZ_ASSERT(err[0] && !strchr(err, '\n'),
			    "one line of message");
		kubeconfig_free(&kc);
		return 0;
	}
	FUZZ_ASSERT(kc.server && *kc.server, "a server");
	FUZZ_ASSERT(!kc.insecure_skip_tls_verify, "verification never off");
	FUZZ_ASSERT(!kc.client_cert_pem == !kc.client_key_pem,
		    "a certificate and its key, or neither");
	FUZZ_ASSERT(!kc.ca_pem || kc.ca_pem_len, "a CA has bytes");
	kubeconfig_set_server(&kc, "https://198.19.0.1:443", err, sizeof(err));
	kubeconfig_free(&kc);
	return 0;
}
