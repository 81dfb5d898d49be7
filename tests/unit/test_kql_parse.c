/*
 * Unit tests for kql_parse: every tabular operator and scalar form of the
 * issue-13 subset parsed into the expected tree (compared as kql_ast_dump's
 * S-expression), and syntax, unsupported and limit errors with the code,
 * line, column and the offending token or name in the message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_parse.h"

static const struct {
	const char *query, *tree;
} good[] = {
    {"T", "(query (name T))"},
    {"database(\"Logs\").Events | count", "(query (pipe (table Events db=Logs) (count)))"},
    {"T | where x > 1 | filter y < 2", "(query (pipe (name T) (where (binary > (name x) (lit long "
                                       "1))) (where (binary < (name y) (lit long 2)))))"},
    {"T | project a, b = c * 2, ['with space'] = d",
     "(query (pipe (name T) (project (name a) (= b (binary * (name c) (lit long 2))) (= with space "
     "(name d)))))"},
    {"T | project-away a, b", "(query (pipe (name T) (project-away (name a) (name b))))"},
    {"T | project-rename n = o, m = p",
     "(query (pipe (name T) (project-rename (= n (name o)) (= m (name p)))))"},
    {"T | extend z = x + 1, x * 2", "(query (pipe (name T) (extend (= z (binary + (name x) (lit "
                                    "long 1))) (binary * (name x) (lit long 2)))))"},
    {"T | summarize count(), s = sum(x), avg(y) by bin(Timestamp, 1h), k = tolower(h)",
     "(query (pipe (name T) (summarize (list (call count) (= s (call sum (name x))) (call avg "
     "(name y))) (list (call bin (name Timestamp) (lit timespan 01:00:00)) (= k (call tolower "
     "(name h)))))))"},
    {"T | summarize by k", "(query (pipe (name T) (summarize (list) (list (name k)))))"},
    {"T | summarize hint.strategy=shuffle arg_max(t, *) by k",
     "(query (pipe (name T) (summarize (list (call arg_max (name t) (*))) (list (name k)))))"},
    {"T | count", "(query (pipe (name T) (count)))"},
    {"T | take 10 | limit 5", "(query (pipe (name T) (take (lit long 10)) (take (lit long 5))))"},
    {"T | top 3 by x desc nulls first, y asc", "(query (pipe (name T) (top (lit long 3) (key desc "
                                               "nulls-first (name x)) (key asc (name y)))))"},
    {"T | sort by x | order by y asc nulls last, z desc",
     "(query (pipe (name T) (sort (key desc (name x))) (sort (key asc nulls-last (name y)) (key "
     "desc (name z)))))"},
    {"T | distinct *", "(query (pipe (name T) (distinct (*))))"},
    {"T | distinct a, b", "(query (pipe (name T) (distinct (name a) (name b))))"},
    {"union T1, (T2 | where x == 1), database(\"d\").T3",
     "(query (union outer (table T1) (pipe (name T2) (where (binary == (name x) (lit long 1)))) "
     "(table T3 db=d)))"},
    {"T | union withsource=Src kind=inner U, V",
     "(query (pipe (name T) (union inner withsource=Src (table U) (table V))))"},
    /* wildcard names: touching parts, runs of '*' as one */
    {"union T*", "(query (union outer (pattern T*)))"},
    {"union withsource=Src E*, Other, database(\"d\").T*s, *, a*b*1",
     "(query (union outer withsource=Src (pattern E*) (table Other) (pattern T*s db=d) (pattern *) "
     "(pattern a*b*1)))"},
    {"T | union Ev* | count", "(query (pipe (name T) (union outer (pattern Ev*)) (count)))"},
    {"union T**x***, *", "(query (union outer (pattern T*x*) (pattern *)))"},
    {"T | project-away Prop*, *Id, a, E*s*", "(query (pipe (name T) (project-away (pattern Prop*) "
                                             "(pattern *Id) (name a) (pattern E*s*))))"},
    {"T | project-keep a, P*", "(query (pipe (name T) (project-keep (name a) (pattern P*))))"},
    {"T | project-reorder b, a* asc, *x desc, c",
     "(query (pipe (name T) (project-reorder (name b) (pattern a* asc) (pattern *x desc) (name "
     "c))))"},
    {"T | join (U) on k", "(query (pipe (name T) (join innerunique (name U) (name k))))"},
    {"T | join kind=leftouter U on $left.a == $right.b, c",
     "(query (pipe (name T) (join leftouter (table U) (on (name $left.a) (name $right.b)) (name "
     "c))))"},
    {"T | join kind=rightanti (U | project k) on k and $right.b == $left.a",
     "(query (pipe (name T) (join rightanti (pipe (name U) (project (name k))) (name k) (on (name "
     "$left.a) (name $right.b)))))"},
    {"T | lookup kind=inner U on k", "(query (pipe (name T) (lookup inner (table U) (name k))))"},
    {"T | mv-expand d", "(query (pipe (name T) (mv-expand (mvcol (name d)))))"},
    {"T | mv-expand with_itemindex=i x = d.a to typeof(long), e limit 100",
     "(query (pipe (name T) (mv-expand limit 100 (mvcol x:long (member a (name d))) (mvcol (name "
     "e)))))"},
    {"T | as Saved", "(query (pipe (name T) (as Saved)))"},
    {"T | render timechart with (title = \"t\", ytitle = \"y\")",
     "(query (pipe (name T) (render timechart (= title (lit string \"t\")) (= ytitle (lit string "
     "\"y\")))))"},
    {"let x = 1d; T | where t > ago(x)", "(query (let x (lit timespan 1.00:00:00)) (pipe (name T) "
                                         "(where (binary > (name t) (call ago (name x))))))"},
    {"let R = T | where a == 1; R | count", "(query (let R (pipe (name T) (where (binary == (name "
                                            "a) (lit long 1))))) (pipe (name R) (count)))"},
    {"let f = (a:long, b:string = \"z\") { T | where v > a and s == b }; f(1)",
     "(query (let f (func (param a:long) (param b:string (lit string \"z\")) (body (pipe (name T) "
     "(where (binary and (binary > (name v) (name a)) (binary == (name s) (name b)))))))) (call f "
     "(lit long 1)))"},
    {"let g = (t:(*)) { let n = 2; t | take n }; g(T)",
     "(query (let g (func (param t:(*)) (body (let n (lit long 2)) (pipe (name t) (take (name "
     "n)))))) (call g (name T)))"},
    {"let h = () { 42 }; print h()",
     "(query (let h (func (body (lit long 42)))) (print (call h)))"},
    {"set notruncation; set query_now = datetime(2020-01-01); T | count",
     "(query (set notruncation) (set query_now (lit datetime 2020-01-01T00:00:00.0000000Z)) (pipe "
     "(name T) (count)))"},
    {"print 1, x = 2, \"s\"", "(query (print (lit long 1) (= x (lit long 2)) (lit string \"s\")))"},
    {"range x from 1 to 10 step 2", "(query (range x (lit long 1) (lit long 10) (lit long 2)))"},
    {"range t from datetime(2020-01-01) to datetime(2020-01-02) step 1h",
     "(query (range t (lit datetime 2020-01-01T00:00:00.0000000Z) (lit datetime "
     "2020-01-02T00:00:00.0000000Z) (lit timespan 01:00:00)))"},
    {"datatable(a:long, b:string, c:dynamic) [1, \"x\", dynamic([1, 2]), -2, @\"y\\z\", "
     "dynamic({\"k\": \"v\"})]",
     "(query (datatable (coldef a:long) (coldef b:string) (coldef c:dynamic) (lit long 1) (lit "
     "string \"x\") (lit dynamic \"[1,2]\") (unary neg (lit long 2)) (lit string \"y\\\\z\") (lit "
     "dynamic \"{\\\"k\\\":\\\"v\\\"}\")))"},
    {"print long(null), int(-3), real(nan), real(+inf), bool(true), decimal(1.5), dynamic(null), "
     "guid(null), datetime(null), timespan(null)",
     "(query (print (lit long null) (lit int -3) (lit real nan) (lit real inf) (lit bool true) "
     "(lit decimal \"1.5\") (lit dynamic null) (lit guid null) (lit datetime null) (lit timespan "
     "null)))"},
    {"print datetime(2015-12-31 23:59:59.9), datetime(2017-01-01T10:20:30.1234567Z), timespan(2), "
     "time(00:10:00), 1d, 2h",
     "(query (print (lit datetime 2015-12-31T23:59:59.9000000Z) (lit datetime "
     "2017-01-01T10:20:30.1234567Z) (lit timespan 2.00:00:00) (lit timespan 00:10:00) (lit "
     "timespan 1.00:00:00) (lit timespan 02:00:00)))"},
    {"print -x, +y, - -1, 1 + 2 * 3 - 4 / 5 % 6",
     "(query (print (unary neg (name x)) (unary pos (name y)) (unary neg (unary neg (lit long 1))) "
     "(binary - (binary + (lit long 1) (binary * (lit long 2) (lit long 3))) (binary % (binary / "
     "(lit long 4) (lit long 5)) (lit long 6)))))"},
    {"print a or b and c, not(a == b)", "(query (print (binary or (name a) (binary and (name b) "
                                        "(name c))) (call not (binary == (name a) (name b)))))"},
    {"print x == 1, x != 1, x <> 1, x < 1, x <= 1, x > 1, x >= 1, x =~ \"a\", x !~ \"a\"",
     "(query (print (binary == (name x) (lit long 1)) (binary != (name x) (lit long 1)) (binary != "
     "(name x) (lit long 1)) (binary < (name x) (lit long 1)) (binary <= (name x) (lit long 1)) "
     "(binary > (name x) (lit long 1)) (binary >= (name x) (lit long 1)) (binary =~ (name x) (lit "
     "string \"a\")) (binary !~ (name x) (lit string \"a\"))))"},
    {"print s has \"a\", s !has \"a\", s has_cs \"a\", s !has_cs \"a\", s hasprefix \"a\", s "
     "!hasprefix_cs \"a\", s hassuffix \"a\", s hassuffix_cs \"a\"",
     "(query (print (binary has (name s) (lit string \"a\")) (binary !has (name s) (lit string "
     "\"a\")) (binary has_cs (name s) (lit string \"a\")) (binary !has_cs (name s) (lit string "
     "\"a\")) (binary hasprefix (name s) (lit string \"a\")) (binary !hasprefix_cs (name s) (lit "
     "string \"a\")) (binary hassuffix (name s) (lit string \"a\")) (binary hassuffix_cs (name s) "
     "(lit string \"a\"))))"},
    {"print s contains \"a\", s !contains \"a\", s contains_cs \"a\", s !contains_cs \"a\", s "
     "startswith \"a\", s !startswith \"a\", s startswith_cs \"a\", s endswith \"a\", s "
     "!endswith_cs \"a\"",
     "(query (print (binary contains (name s) (lit string \"a\")) (binary !contains (name s) (lit "
     "string \"a\")) (binary contains_cs (name s) (lit string \"a\")) (binary !contains_cs (name "
     "s) (lit string \"a\")) (binary startswith (name s) (lit string \"a\")) (binary !startswith "
     "(name s) (lit string \"a\")) (binary startswith_cs (name s) (lit string \"a\")) (binary "
     "endswith (name s) (lit string \"a\")) (binary !endswith_cs (name s) (lit string \"a\"))))"},
    {"print x in (1, 2), x !in (1), s in~ (\"a\"), s !in~ (\"b\"), x in (T | project y)",
     "(query (print (in in (name x) (lit long 1) (lit long 2)) (in !in (name x) (lit long 1)) (in "
     "in~ (name s) (lit string \"a\")) (in !in~ (name s) (lit string \"b\")) (in in (name x) (pipe "
     "(name T) (project (name y))))))"},
    {"T | getschema", "(query (pipe (name T) (getschema)))"},
    {"print f(1, b = 2)", "(query (print (call f (lit long 1) (= b (lit long 2)))))"},
    {"print s has_any (\"a\", w), s has_all (d)",
     "(query (print (in has_any (name s) (lit string \"a\") (name w)) (in has_all (name s) (name "
     "d))))"},
    {"print x between (1 .. 10), t !between (ago(1d) .. now()), s matches regex @\"\\d+\"",
     "(query (print (between between (name x) (lit long 1) (lit long 10)) (between !between (name "
     "t) (call ago (lit timespan 1.00:00:00)) (call now)) (binary matches regex (name s) (lit "
     "string \"\\\\d+\"))))"},
    {"print d.a, d[\"a\"], d[0], d.a.b[1][\"c\"], ['a b'].c",
     "(query (print (member a (name d)) (index (name d) (lit string \"a\")) (index (name d) (lit "
     "long 0)) (index (index (member b (member a (name d))) (lit long 1)) (lit string \"c\")) "
     "(member c (name a b))))"},
    {"print iff(x > 1, \"a\", \"b\"), case(x == 1, \"a\", x == 2, \"b\", \"c\"), strcat(\"a\" "
     "\"b\", 'c')",
     "(query (print (call iff (binary > (name x) (lit long 1)) (lit string \"a\") (lit string "
     "\"b\")) (call case (binary == (name x) (lit long 1)) (lit string \"a\") (binary == (name x) "
     "(lit long 2)) (lit string \"b\") (lit string \"c\")) (call strcat (lit string \"ab\") (lit "
     "string \"c\"))))"},
    {"T | where x == 1; T | count",
     "(query (pipe (name T) (where (binary == (name x) (lit long 1)))) (pipe (name T) (count)))"},
};

static const struct {
	const char *query, *code;
	uint32_t line, col;
	const char *says;
} bad[] = {
    {"T | where x ==", "SYN0002", 1, 15, "'<end of query>'"},
    {"T | foo", "SYN0002", 1, 5, "'foo'"},
    {"T\n| where x == 1\n| project a,", "SYN0002", 3, 13, "expected an expression"},
    {"T | project a b", "SYN0002", 1, 15, "'b'"},
    {"T | summarize", "SYN0002", 1, 14, "expected an aggregate or 'by'"},
    {"T | top 3 x", "SYN0002", 1, 11, "'x'"},
    {"T | sort x", "SYN0002", 1, 10, "expected 'by'"},
    {"T | where x > (1", "SYN0002", 1, 17, "expected ')'"},
    {"T | join kind=sideways U on k", "SEM0002", 1, 15, "'sideways' join kind"},
    {"T | join U on a.b", "SYN0002", 1, 15, "'a.b'"},
    {"T | join U on x.b", "SYN0002", 1, 15, "$left.a == $right.b"},
    {"T | join U on $left.a == $left.b", "SYN0002", 1, 15, "$left.a == $right.b"},
    {"T | lookup kind=fullouter U on k", "SEM0002", 1, 29, "'fullouter' lookup kind"},
    {"T | mv-apply x on (take 1)", "SEM0002", 1, 5, "'mv-apply' operator"},
    {"T | parse s with * \"a\" x", "SEM0002", 1, 5, "'parse' operator"},
    {"T | sample 3", "SEM0002", 1, 5, "'sample' operator"},
    {"T | project-reorder a granny-asc", "SEM0002", 1, 23, "'granny-asc' order of project-reorder"},
    {"T | project-reorder a*, b granny-desc", "SEM0002", 1, 27, "'granny-desc' order"},
    {"T | project-keep a asc", "SYN0002", 1, 20, "expected"},
    {"T | join U* on k", "SYN0002", 1, 10, "a wildcard names the tables of a union only"},
    {"T | lookup database('d').U* on k", "SYN0002", 1, 26, "the tables of a union only"},
    {"union T *", "SYN0002", 1, 9, "expected ';'"},
    {"T | project-away a *", "SYN0002", 1, 20, "expected"},
    {"T | where x !has_any (\"a\")", "SEM0002", 1, 13, "'!has_any' operator"},
    {"T | where x has_any_cs (\"a\")", "SEM0002", 1, 13, "'has_any_cs' operator"},
    {"evaluate bag_unpack(x)", "SEM0002", 1, 1, "'evaluate' operator"},
    {"search \"x\"", "SEM0002", 1, 1, "'search' operator"},
    {"declare pattern p;", "SEM0002", 1, 1, "'declare' statement"},
    {"declare query_parameters(t:(*)); print 1", "SEM0002", 1, 26,
     "'t' query parameter of a tabular type"},
    {".show tables", "SEM0002", 1, 1, "management"},
    {"datatable(a:long, b:string) [1, \"x\", 2]", "SYN0002", 1, 39, "last row"},
    {"datatable(a:blob) [1]", "SYN0002", 1, 13, "a type name"},
    {"print datetime(2020-13-45)", "SYN0002", 1, 7, "malformed datetime"},
    {"print guid(xyz)", "SYN0002", 1, 7, "malformed guid"},
    {"print int(3000000000)", "SYN0002", 1, 7, "'int(3000000000'"},
    {"print long(1e20)", "SYN0002", 1, 7, "out of range"},
    {"print int(-1e300)", "SYN0002", 1, 7, "out of range"},
    {"print dynamic({1: 2})", "SYN0002", 1, 16, "a string key"},
    {"print x between (1, 2)", "SYN0002", 1, 19, "expected '..'"},
    {"T | where x == 1 T", "SYN0002", 1, 18, "expected ';'"},
    {";", "SYN0002", 1, 1, "expected an expression"},
    {"", "SYN0002", 1, 1, "expected a query"},
    {"let = 1; T", "SYN0002", 1, 5, "expected a name"},
    {"let f = (a:long) { a ; T", "SYN0002", 1, 24, "expected '}'"},
    {"T | take 1 | as", "SYN0002", 1, 16, "expected a name"},
    {"T | render", "SYN0002", 1, 11, "a visualization"},
};

static void test_trees(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct kql_arena *a = kql_arena_new();
		struct kql_node *q = NULL;
		struct kql_error e = {0};
		char *dump;

		assert_non_null(a);
		if (kql_parse(a, good[i].query, strlen(good[i].query), &q, &e) != 0)
			fail_msg("%s: %s", good[i].query, e.message);
		dump = kql_ast_dump(q);
		if (strcmp(dump, good[i].tree) != 0)
			fail_msg("%s\n got %s\nwant %s", good[i].query, dump, good[i].tree);
		free(dump);
		kql_arena_free(a);
	}
}

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kql_arena *a = kql_arena_new();
		struct kql_node *q = NULL;
		struct kql_error e = {0};

		assert_non_null(a);
		if (kql_parse(a, bad[i].query, strlen(bad[i].query), &q, &e) != -EINVAL)
			fail_msg("%s: parsed", bad[i].query);
		if (strcmp(e.code, bad[i].code) != 0 || e.pos.line != bad[i].line ||
		    e.pos.col != bad[i].col || strstr(e.message, bad[i].says) == NULL)
			fail_msg("%s: got %s %u:%u %s", bad[i].query, e.code, e.pos.line, e.pos.col,
			         e.message);
		assert_null(q);
		kql_arena_free(a);
	}
}

/* Deep nesting is refused with an error, not a stack overflow. */
static void test_depth(void **state)
{
	const char *kinds[] = {"(",  "-",      "f(",  "dynamic([", "T | where x in (",
	                       "1+", "a and ", "d.a", "d[0]"};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t n = 100000, len = strlen(kinds[k]);
		char *q = malloc(n * len + 1);
		struct kql_arena *a = kql_arena_new();
		struct kql_node *root = NULL;
		struct kql_error e = {0};

		assert_non_null(q);
		for (size_t i = 0; i < n; i++)
			memcpy(q + i * len, kinds[k], len);
		q[n * len] = '\0';
		assert_int_equal(kql_parse(a, q, n * len, &root, &e), -EINVAL);
		assert_string_equal(e.code, KQL_E_LIMIT);
		kql_arena_free(a);
		free(q);
	}
}

static void test_operator_bound(void **state)
{
	size_t n = KQL_MAX_OPERATORS + 1;
	char *q = malloc(n * 7 + 2);
	struct kql_arena *a = kql_arena_new();
	struct kql_node *root = NULL;
	struct kql_error e = {0};

	assert_non_null(q);
	q[0] = 'T';
	for (size_t i = 0; i < n; i++)
		memcpy(q + 1 + i * 7, "|count ", 7);
	q[1 + n * 7] = '\0';
	assert_int_equal(kql_parse(a, q, strlen(q), &root, &e), -EINVAL);
	assert_string_equal(e.code, KQL_E_LIMIT);
	kql_arena_free(a);
	free(q);
}

/* Every prefix of a valid query fails cleanly or parses (no crash, no
 * leak, an error position inside the text). */
static void test_prefixes(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = strlen(good[i].query);
		for (size_t n = 0; n < len; n++) {
			struct kql_arena *a = kql_arena_new();
			struct kql_node *root = NULL;
			struct kql_error e = {0};
			if (kql_parse(a, good[i].query, n, &root, &e) != 0)
				assert_true(e.pos.off <= n);
			kql_arena_free(a);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trees),    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_depth),    cmocka_unit_test(test_operator_bound),
	    cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
