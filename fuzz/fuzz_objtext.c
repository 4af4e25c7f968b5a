// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_objtext.c - the store's compact text (k8s/objtext.h): for any
 * text without the bytes 0x01..0x1f, and for the printed form of any
 * JSON the input parses to (what the store encodes), decode(encode(x))
 * is x and encode never makes it longer.
 */
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "k8s/objtext.h"

static void round_trip(const char *x)
{
	char *enc = strdup(x), *dec;

	if (!enc)
		abort();
	objtext_encode(enc);
	FUZZ_ASSERT(strlen(enc) <= strlen(x), "encode never longer");
	dec = objtext_decode(enc);
	if (!dec)
		abort();
	FUZZ_ASSERT(!strcmp(dec, x), "decode(encode(x)) == x");
	free(dec);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *printed;
	size_t i, n = 0;
	cJSON *doc;

	/* the JSON the store keeps: printed unformatted by cJSON */
	doc = cJSON_ParseWithLength((const char *)data, size);
	if (doc) {
		printed = cJSON_PrintUnformatted(doc);
		if (printed) {
			round_trip(printed);
			free(printed);
		}
		cJSON_Delete(doc);
	}
	/* any text: the bytes the encoding takes for itself left out */
	for (i = 0; i < size && text[i]; i++)
		if ((unsigned char)text[i] >= 0x20)
			text[n++] = text[i];
	text[n] = '\0';
	round_trip(text);
	free(text);
	return 0;
}
