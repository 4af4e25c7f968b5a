// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_base64.c - kubeconfig's base64_decode (the *-data fields): any
 * input is decoded or refused without harm, and what it takes is
 * canonical: encoding the output again gives the input back, whitespace
 * and padding aside. And any bytes, encoded, decode to themselves.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "k8s/kubeconfig.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 of data, without padding when pad is false. */
static char *encode(const uint8_t *data, size_t len, bool pad)
{
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i;

	if (!out)
		abort();
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (len - i == 1) {
		*o++ = b64[data[i] >> 2];
		*o++ = b64[(data[i] & 3) << 4];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = data[i] << 8 | data[i + 1];

		*o++ = b64[v >> 10];
		*o++ = b64[v >> 4 & 63];
		*o++ = b64[(v & 15) << 2];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *again, *bare;
	uint8_t *out;
	size_t out_len, i, n = 0;
	int ret;

	/* the input as a field's value */
	ret = base64_decode(text, size, &out, &out_len);
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL || ret == -ENOMEM,
		    "0, -EINVAL or -ENOMEM");
	if (!ret) {
		FUZZ_ASSERT(out[out_len] == '\0', "NUL-terminated");
		FUZZ_ASSERT(out_len <= size / 4 * 3 + 2,
			    "no more than it holds");
		/* the input without whitespace and padding */
		bare = fuzz_strndup(data, size);
		for (i = 0; i < size; i++)
			if (!strchr(" \t\r\n=", text[i]) || !text[i])
				bare[n++] = text[i];
		bare[n] = '\0';
		again = encode(out, out_len, false);
		FUZZ_ASSERT(strlen(again) == n && !memcmp(again, bare, n),
			    "canonical: encode(decode(x)) == x");
		free(again);
		free(bare);
		free(out);
	}
	/* the input as bytes, encoded with and without padding */
	for (i = 0; i < 2; i++) {
		again = encode(data, size, i);
		ret = base64_decode(again, strlen(again), &out, &out_len);
		FUZZ_ASSERT(!ret || ret == -ENOMEM, "our encoding decodes");
		if (!ret) {
			FUZZ_ASSERT(out_len == size &&
					    (!size || !memcmp(out, data, size)),
				    "decode(encode(x)) == x");
			free(out);
		}
		free(again);
	}
	free(text);
	return 0;
}
