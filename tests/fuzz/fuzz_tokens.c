/*
 * libFuzzer target for the tokens file parser (auth_tokens_parse) and the
 * Authorization header reader (auth_bearer).
 *
 * Beyond "no crash, no leak": a file that parses keeps its entry count
 * within the bound, and every bearer token found lies inside the header.
 *
 *   make fuzz && build-fuzz/fuzz_tokens -max_len=4096
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[AUTH_ERRLEN] = "";
	struct auth_tokens *t = NULL;
	char *header = malloc(size + 1);
	const char *tok = NULL;
	size_t len = 0;

	if (header == NULL)
		return 0;
	if (auth_tokens_parse("fuzz", (const char *)data, size, &t, err, sizeof(err)) == 0) {
		if (auth_tokens_count(t) > AUTH_TOKENS_MAX)
			abort();
		(void)auth_token_find(t, (const char *)data, size > 64 ? 64 : size);
		auth_tokens_free(t);
	}
	memcpy(header, data, size);
	header[size] = '\0';
	if (auth_bearer(header, &tok, &len) == 0 &&
	    (tok < header || tok + len > header + strlen(header) || len == 0))
		abort();
	free(header);
	return 0;
}
