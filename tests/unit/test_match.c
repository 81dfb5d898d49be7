/*
 * Unit tests for match: '*' wildcards and include/exclude lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/match.h"

static void test_literal(void **state)
{
	(void)state;
	assert_true(match_wildcard("Events", "Events"));
	assert_false(match_wildcard("Events", "events")); /* case-sensitive, as Kusto */
	assert_false(match_wildcard("Events", "Events2"));
	assert_false(match_wildcard("Events", "Event"));
	assert_true(match_wildcard("", ""));
	assert_false(match_wildcard("", "a"));
	assert_false(match_wildcard("a", ""));
}

static void test_star(void **state)
{
	(void)state;
	assert_true(match_wildcard("*", ""));
	assert_true(match_wildcard("*", "anything at all"));
	assert_true(match_wildcard("**", ""));
	assert_true(match_wildcard("**", "x"));
	assert_true(match_wildcard("***", "xyz"));
	assert_true(match_wildcard("table*", "table"));
	assert_true(match_wildcard("table*", "tableA"));
	assert_false(match_wildcard("table*", "Table"));
	assert_false(match_wildcard("table*", "tabl"));
	assert_true(match_wildcard("*_private", "_private"));
	assert_true(match_wildcard("*_private", "tableA_private"));
	assert_false(match_wildcard("*_private", "tableA_privat"));
	assert_true(match_wildcard("*mid*", "mid"));
	assert_true(match_wildcard("*mid*", "a mid b"));
	assert_false(match_wildcard("*mid*", "mi d"));
}

static void test_segments(void **state)
{
	(void)state;
	assert_true(match_wildcard("a*b*c", "abc"));
	assert_true(match_wildcard("a*b*c", "aXbYc"));
	assert_true(match_wildcard("a*b*c", "abbbcbc"));
	assert_false(match_wildcard("a*b*c", "ac"));
	assert_false(match_wildcard("a*b*c", "acb"));
	assert_false(match_wildcard("a*b*c", "abcd"));
	/* The prefix and the suffix may not share characters. */
	assert_false(match_wildcard("aa*aa", "aaa"));
	assert_true(match_wildcard("aa*aa", "aaaa"));
	assert_false(match_wildcard("ab*ba", "aba"));
	/* Middle segments may not overlap the suffix either. */
	assert_false(match_wildcard("*ab*ab", "xab"));
	assert_true(match_wildcard("*ab*ab", "abab"));
	/* The leftmost place of a middle segment is the right one. */
	assert_true(match_wildcard("*a*ab*b", "aabab"));
	assert_true(match_wildcard("x**y", "xy"));
	assert_true(match_wildcard("x**y", "x-y"));
}

/* Compares match_wildcard with a plain recursive matcher on every pattern
 * over {a, b, *} up to length 5 and every name over {a, b} up to length 6. */
static bool slow_match(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return slow_match(p + 1, s) || (*s != '\0' && slow_match(p, s + 1));
	return *s == *p && slow_match(p + 1, s + 1);
}

static void enumerate(char *buf, size_t len, size_t max, const char *alphabet,
                      void (*fn)(const char *, void *), void *arg)
{
	buf[len] = '\0';
	fn(buf, arg);
	if (len == max)
		return;
	for (const char *c = alphabet; *c != '\0'; c++) {
		buf[len] = *c;
		enumerate(buf, len + 1, max, alphabet, fn, arg);
	}
}

static void check_name(const char *name, void *arg)
{
	const char *pattern = arg;
	if (match_wildcard(pattern, name) != slow_match(pattern, name))
		fail_msg("pattern '%s' name '%s': expected %d", pattern, name,
		         slow_match(pattern, name));
}

static void check_pattern(const char *pattern, void *arg)
{
	(void)arg;
	char name[8];
	enumerate(name, 0, 6, "ab", check_name, (void *)pattern);
}

static void test_exhaustive(void **state)
{
	(void)state;
	char pattern[8];
	enumerate(pattern, 0, 5, "ab*", check_pattern, NULL);
}

/* Inputs that make a backtracking matcher exponential (or quadratic) must
 * stay fast: a 1 MB name against patterns of many stars. */
static void test_no_blowup(void **state)
{
	(void)state;
	size_t n = 1000000;
	char *name = malloc(n + 1);
	char *pattern = malloc(2 * 1000 + 2);
	assert_non_null(name);
	assert_non_null(pattern);
	memset(name, 'a', n);
	name[n] = '\0';
	size_t k = 0;
	for (int i = 0; i < 1000; i++) {
		pattern[k++] = '*';
		pattern[k++] = 'a';
	}
	pattern[k++] = 'b';
	pattern[k] = '\0';

	clock_t t0 = clock();
	assert_false(match_wildcard(pattern, name));
	pattern[k - 1] = '*'; /* "*a*a...*a*": a match */
	assert_true(match_wildcard(pattern, name));
	name[n - 1] = 'b';
	pattern[k - 1] = 'b';
	pattern[k - 2] = '*'; /* "*a*a...*a**b" */
	assert_true(match_wildcard(pattern, name));
	/* A middle segment that is absent ("aaab") is searched for once. */
	assert_false(match_wildcard("*aaab*c", name));
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* A quadratic matcher would take minutes here; a generous bound that
	 * also holds under the sanitizers. */
	assert_true(secs < 2.0);
	free(name);
	free(pattern);
}

static void test_included_issue_example(void **state)
{
	(void)state;
	char *include[] = {"tableA*", "tableB*"};
	char *exclude[] = {"tableA_private"};
	const char *names[] = {"tableA", "tableA2", "tableA_private", "tableB", "tableC"};
	const char *want[] = {"tableA", "tableA2", "tableB"};
	const char *got[5];
	size_t ngot = 0;

	for (size_t i = 0; i < 5; i++)
		if (match_included(include, 2, exclude, 1, names[i]))
			got[ngot++] = names[i];
	assert_int_equal(ngot, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(got[i], want[i]);
}

static void test_included_rules(void **state)
{
	(void)state;
	char *all[] = {"*"};
	char *one[] = {"Events"};
	char *logs[] = {"Logs*"};

	/* Empty include list: everything. */
	assert_true(match_included(NULL, 0, NULL, 0, "Anything"));
	assert_true(match_included(NULL, 0, one, 1, "Other"));
	assert_false(match_included(NULL, 0, one, 1, "Events"));
	/* Exclusion wins over an explicit inclusion. */
	assert_false(match_included(one, 1, one, 1, "Events"));
	assert_false(match_included(all, 1, all, 1, "Events"));
	/* A non-empty include list selects only what it names. */
	assert_true(match_included(logs, 1, NULL, 0, "LogsEast"));
	assert_false(match_included(logs, 1, NULL, 0, "Events"));
	assert_false(match_included(logs, 1, NULL, 0, "logsEast"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal),        cmocka_unit_test(test_star),
	    cmocka_unit_test(test_segments),       cmocka_unit_test(test_exhaustive),
	    cmocka_unit_test(test_no_blowup),      cmocka_unit_test(test_included_issue_example),
	    cmocka_unit_test(test_included_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
