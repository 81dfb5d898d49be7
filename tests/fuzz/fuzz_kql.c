/*
 * libFuzzer target for the KQL front end: lexer, parser and, when a query
 * parses, the AST dump.  Beyond "no crash, no leak, no undefined behaviour,
 * no stack overflow" it checks that a failure has a known code, a message
 * and a position inside the query, and that a success dumps.
 *
 *   make fuzz && build-fuzz/fuzz_kql -max_total_time=60 -dict=tests/fuzz/kql.dict \
 *       tests/fuzz/corpus/kql
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_kql: %s\n%s\n", what, detail != NULL ? detail : "");
		abort();
	}
}

static bool known_code(const char *c)
{
	return strcmp(c, KQL_E_SYNTAX) == 0 || strcmp(c, KQL_E_UNSUPPORTED) == 0 ||
	       strcmp(c, KQL_E_LIMIT) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_node *q = NULL;
	struct kql_error e = {0};
	char *dump;
	int r;

	if (a == NULL)
		return 0;
	r = kql_parse(a, (const char *)data, size, &q, &e);
	if (r == 0) {
		check(q != NULL && q->kind == KQL_N_QUERY, "no query root", NULL);
		dump = kql_ast_dump(q);
		check(dump != NULL && dump[0] == '(', "no dump", NULL);
		free(dump);
	} else {
		check(r == -EINVAL, "an unexpected return", NULL);
		check(e.code != NULL && known_code(e.code), "an unknown code", e.message);
		check(e.message[0] != '\0', "an error without a message", NULL);
		check(e.pos.off <= size && e.pos.line >= 1 && e.pos.col >= 1, "a position outside",
		      e.message);
	}
	kql_arena_free(a);
	return 0;
}
