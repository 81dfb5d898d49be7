/*
 * Unit tests for kql_lex: every token kind, literal decoding (strings and
 * their escapes, numbers, timespan units, raw datetime/guid contents),
 * positions over several lines, and the bounds and errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_lex.h"

#define SEC INT64_C(10000000)

static struct kql_arena *arena;

static int setup(void **state)
{
	arena = kql_arena_new();
	return arena == NULL;
}

static int teardown(void **state)
{
	kql_arena_free(arena);
	return 0;
}

static struct kql_tokens lex_ok(const char *q)
{
	struct kql_tokens t = {0};
	struct kql_error e = {0};

	if (kql_lex(arena, q, strlen(q), &t, &e) != 0)
		fail_msg("%s: %s", q, e.message);
	return t;
}

static void lex_bad(const char *q, uint32_t line, uint32_t col, const char *code)
{
	struct kql_tokens t = {0};
	struct kql_error e = {0};

	assert_int_equal(kql_lex(arena, q, strlen(q), &t, &e), -EINVAL);
	assert_string_equal(e.code, code);
	assert_int_equal(e.pos.line, line);
	assert_int_equal(e.pos.col, col);
}

static void test_words_and_punct(void **state)
{
	struct kql_tokens t = lex_ok("T|where x!=1 and y=~'a' and z !in~ (1) and !has $left.a ..");
	const char *texts[] = {"T",   "|",    "where", "x", "!=",   "1", "and", "y",
	                       "=~",  "a",    "and",   "z", "!in~", "(", "1",   ")",
	                       "and", "!has", "$left", ".", "a",    ".."};

	assert_int_equal(t.n, sizeof(texts) / sizeof(texts[0]) + 1);
	for (size_t i = 0; i < t.n - 1; i++)
		if (t.v[i].kind != KQL_T_LONG)
			assert_string_equal(t.v[i].text, texts[i]);
	assert_int_equal(t.v[t.n - 1].kind, KQL_T_END);
	assert_int_equal(t.v[9].kind, KQL_T_STRING);
	assert_true(t.v[12].space);
	assert_false(t.v[1].space);
}

static void test_strings(void **state)
{
	struct kql_tokens t =
	    lex_ok("'a\\'b' \"c\\\"d\\n\\u00e9\" @'e\\f''g' @\"h\"\"i\" h'secret' ```x\ny```");

	assert_string_equal(t.v[0].text, "a'b");
	assert_string_equal(t.v[1].text, "c\"d\n\xc3\xa9");
	assert_string_equal(t.v[2].text, "e\\f'g");
	assert_string_equal(t.v[3].text, "h\"i");
	assert_string_equal(t.v[4].text, "secret");
	assert_string_equal(t.v[5].text, "x\ny");
	assert_int_equal(t.v[5].kind, KQL_T_STRING);
}

static void test_numbers(void **state)
{
	struct kql_tokens t = lex_ok("42 1.5 2e3 0x1F .5 9223372036854775807");

	assert_int_equal(t.v[0].kind, KQL_T_LONG);
	assert_int_equal(t.v[0].i, 42);
	assert_int_equal(t.v[1].kind, KQL_T_REAL);
	assert_true(t.v[1].r == 1.5);
	assert_true(t.v[2].r == 2000.0);
	assert_int_equal(t.v[3].i, 31);
	assert_true(t.v[4].r == 0.5);
	assert_int_equal(t.v[5].i, INT64_MAX);
}

static void test_timespans(void **state)
{
	struct kql_tokens t = lex_ok("1d 2h 30m 10s 100ms 1.5h 3microseconds 10ticks 2days 5min");
	const int64_t want[] = {86400 * SEC, 7200 * SEC, 1800 * SEC, 10 * SEC,        SEC / 10,
	                        5400 * SEC,  30,         10,         2 * 86400 * SEC, 300 * SEC};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(t.v[i].kind, KQL_T_TIMESPAN);
		assert_int_equal(t.v[i].i, want[i]);
	}
}

static void test_raw_literals(void **state)
{
	struct kql_tokens t = lex_ok("datetime( 2020-01-02 03:04 ) guid(null) timespan(1.02:03:04) "
	                             "todatetime(x)");

	assert_int_equal(t.v[0].kind, KQL_T_RAWLIT);
	assert_string_equal(t.v[0].text, "datetime");
	assert_string_equal(t.v[0].raw, "2020-01-02 03:04");
	assert_string_equal(t.v[1].raw, "null");
	assert_string_equal(t.v[2].raw, "1.02:03:04");
	assert_int_equal(t.v[3].kind, KQL_T_IDENT);
}

static void test_positions(void **state)
{
	struct kql_tokens t = lex_ok("T\n// comment\n| where\n  x");

	assert_int_equal(t.v[1].pos.line, 3);
	assert_int_equal(t.v[1].pos.col, 1);
	assert_int_equal(t.v[3].pos.line, 4);
	assert_int_equal(t.v[3].pos.col, 3);
	assert_int_equal(t.v[3].pos.off, 23);
}

static void test_errors(void **state)
{
	lex_bad("T | where s == 'abc", 1, 16, KQL_E_SYNTAX);
	lex_bad("x\n  'a\\q'", 2, 5, KQL_E_SYNTAX);
	lex_bad("1abc", 1, 1, KQL_E_SYNTAX);
	lex_bad("99999999999999999999", 1, 1, KQL_E_SYNTAX);
	lex_bad("T # x", 1, 3, KQL_E_SYNTAX);
	lex_bad("'\\u0000'", 1, 2, KQL_E_SYNTAX);
	lex_bad("datetime(2020", 1, 9, KQL_E_SYNTAX);
	lex_bad("```abc", 1, 1, KQL_E_SYNTAX);
}

static void test_bounds(void **state)
{
	size_t n = KQL_MAX_QUERY + 1;
	char *big = malloc(n + 1), *many = malloc(2 * KQL_MAX_TOKENS + 3);

	assert_non_null(big);
	assert_non_null(many);
	memset(big, ' ', n);
	big[n] = '\0';
	lex_bad(big, 1, 1, KQL_E_LIMIT);
	for (size_t i = 0; i < KQL_MAX_TOKENS + 1; i++)
		memcpy(many + 2 * i, "x ", 2);
	many[2 * KQL_MAX_TOKENS + 2] = '\0';
	lex_bad(many, 1, 2 * KQL_MAX_TOKENS + 1, KQL_E_LIMIT);
	free(big);
	free(many);
}

static int collect_db(void *arg, const char *name)
{
	char *out = arg;

	strcat(out, name);
	strcat(out, ";");
	return 0;
}

/* database("X") names, found before binding (to authorize and load them). */
static void test_databases(void **state)
{
	static const char q[] = "database('Ops').T | join (database ( \"Sec ret\" ).U) on x "
	                        "| extend s = 'database(\"no\")' | where database == 1";
	char out[128] = "";

	assert_int_equal(kql_lex_databases(q, strlen(q), collect_db, out), 0);
	assert_string_equal(out, "Ops;Sec ret;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words_and_punct), cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_numbers),         cmocka_unit_test(test_timespans),
	    cmocka_unit_test(test_raw_literals),    cmocka_unit_test(test_positions),
	    cmocka_unit_test(test_errors),          cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_databases),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
