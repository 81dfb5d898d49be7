/*
 * Unit tests for kreq: query request bodies as the Node, Python and Go SDKs
 * and Grafana send them, option names in any case, unknown options
 * ignored, bad values refused by name, caps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query/kreq.h"

#define TICKS_PER_MIN INT64_C(600000000)

static int parse(const char *body, struct kreq *r, char *err)
{
	return kreq_parse(body, strlen(body), r, err);
}

static void test_node_body(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];

	assert_int_equal(parse("{\"db\":\"Logs\",\"csl\":\"Events | count\",\"properties\":"
	                       "{\"Options\":{\"servertimeout\":\"00:02:00.000\","
	                       "\"queryconsistency\":\"strongconsistency\"},\"Parameters\":{}}}",
	                       &r, err),
	                 0);
	assert_string_equal(r.db, "Logs");
	assert_string_equal(r.csl, "Events | count");
	assert_int_equal(r.opts.timeout, 2 * TICKS_PER_MIN);
	assert_int_equal(r.opts.max_records, 500000);
	assert_false(r.opts.fragmented);
	kreq_clear(&r);
}

/* properties.Parameters: a string as it is, a number or a bool its JSON
 * text; anything else refused naming the parameter. */
static void test_parameters(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];

	assert_int_equal(parse("{\"db\":\"Logs\",\"csl\":\"T\",\"properties\":{\"Parameters\":"
	                       "{\"n\":500,\"s\":\"a b\",\"b\":true}}}",
	                       &r, err),
	                 0);
	assert_int_equal(r.nparams, 3);
	assert_string_equal(r.param_names[0], "n");
	assert_string_equal(r.param_values[0], "500");
	assert_string_equal(r.param_values[1], "a b");
	assert_string_equal(r.param_values[2], "true");
	kreq_clear(&r);
	assert_int_equal(parse("{\"db\":\"Logs\",\"csl\":\"T\",\"properties\":{\"Parameters\":"
	                       "{\"o\":{}}}}",
	                       &r, err),
	                 -EINVAL);
	assert_non_null(strstr(err, "parameter 'o'"));
}

static void test_python_string_properties(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];

	assert_int_equal(
	    parse("{\"db\":\"Logs\",\"csl\":\"T\",\"properties\":\"{\\\"Options\\\":"
	          "{\\\"NoTruncation\\\":true,\\\"Query_DataScope\\\":\\\"HotCache\\\"}}\"}",
	          &r, err),
	    0);
	assert_true(r.opts.notruncation);
	assert_int_equal(r.opts.scope, KREQ_SCOPE_HOTCACHE);
	kreq_clear(&r);
}

static void test_go_and_grafana(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];

	assert_int_equal(
	    parse("{\"db\":\"Logs\",\"csl\":\"T\",\"querySource\":\"schema\","
	          "\"properties\":{\"options\":{\"results_v2_fragment_primary_tables\":true,"
	          "\"results_error_reporting_placement\":\"end_of_table\","
	          "\"truncationmaxrecords\":10,\"servertimeout\":\"50m\","
	          "\"query_now\":\"2024-02-29T12:00:00Z\"}}}",
	          &r, err),
	    0);
	assert_true(r.opts.fragmented);
	assert_true(r.opts.end_of_table);
	assert_int_equal(r.opts.max_records, 10);
	assert_int_equal(r.opts.timeout, 50 * TICKS_PER_MIN);
	assert_true(r.opts.has_now);
	kreq_clear(&r);
}

static void test_refusals(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];

	assert_int_equal(parse("{\"db\":\"Logs\"}", &r, err), -EINVAL);
	assert_non_null(strstr(err, "'csl' is missing"));
	assert_int_equal(parse("[1]", &r, err), -EINVAL);
	assert_int_equal(parse("{\"csl\":\"T\",\"csl\":\"U\"}", &r, err), -EINVAL);
	assert_int_equal(
	    parse("{\"csl\":\"T\",\"properties\":{\"Options\":{\"servertimeout\":\"soon\"}}}", &r,
	          err),
	    -EINVAL);
	assert_non_null(strstr(err, "'servertimeout': 'soon'"));
	assert_int_equal(
	    parse("{\"csl\":\"T\",\"properties\":{\"Options\":{\"servertimeout\":\"2h\"}}}", &r,
	          err),
	    -EINVAL);
	assert_non_null(strstr(err, "at most 1 hour"));
	assert_int_equal(
	    parse("{\"csl\":\"T\",\"properties\":{\"Options\":{\"query_datascope\":\"cold\"}}}", &r,
	          err),
	    -EINVAL);
	assert_int_equal(parse("{\"csl\":\"T\",\"properties\":42}", &r, err), -EINVAL);
	/* an unknown option is ignored whatever its form */
	assert_int_equal(
	    parse("{\"csl\":\"T\",\"properties\":{\"Options\":{\"x\":{\"y\":1}}}}", &r, err), 0);
	kreq_clear(&r);
}

static void test_caps(void **state)
{
	struct kreq r;
	char err[KREQ_ERRLEN];
	size_t n = KREQ_MAX_QUERY + 64;
	char *body = malloc(n + 32);

	strcpy(body, "{\"csl\":\"");
	memset(body + 8, 'x', KREQ_MAX_QUERY + 1);
	strcpy(body + 8 + KREQ_MAX_QUERY + 1, "\"}");
	assert_int_equal(parse(body, &r, err), -E2BIG);
	free(body);
	assert_int_equal(kreq_parse("{}", KREQ_MAX_BODY + 1, &r, err), -E2BIG);
}

static void test_set_statements(void **state)
{
	struct kreq_opts o;
	char err[KREQ_ERRLEN];

	kreq_opts_default(&o);
	assert_int_equal(kreq_set(&o, "NOTRUNCATION", "true", err), 0);
	assert_true(o.notruncation);
	assert_int_equal(kreq_set(&o, "query_take_max_records", "5", err), 1);
	assert_int_equal(kreq_set(&o, "truncationmaxrecords", "-5", err), -EINVAL);
	assert_non_null(strstr(err, "truncationmaxrecords"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_body),      cmocka_unit_test(test_python_string_properties),
	    cmocka_unit_test(test_go_and_grafana), cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_caps),           cmocka_unit_test(test_set_statements),
	    cmocka_unit_test(test_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
