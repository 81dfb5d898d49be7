/* Unit tests for lib/diff: entity, policy and principal comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/diff.h"

/* An entity over caller-owned arrays (nothing is freed). */
static struct proto_entity entity(enum proto_kind kind, const char *name, struct proto_column *cols,
                                  size_t ncols)
{
	struct proto_entity e = {.kind = kind,
	                         .name = (char *)name,
	                         .columns = cols,
	                         .ncolumns = ncols,
	                         .folder = (char *)"",
	                         .docstring = (char *)""};
	return e;
}

#define COL(n, t)                                                                                  \
	{                                                                                          \
		.name = (char *)(n), .type = (t)                                                   \
	}

static void assert_change(const struct diff_change *c, enum diff_what what, const char *entity,
                          const char *item)
{
	assert_int_equal(c->what, what);
	if (entity == NULL)
		assert_null(c->entity);
	else
		assert_string_equal(c->entity, entity);
	if (item == NULL)
		assert_null(c->item);
	else
		assert_string_equal(c->item, item);
}

static void test_created_dropped(void **state)
{
	struct proto_column cols[] = {COL("a", PROTO_T_INT)};
	struct proto_entity e = entity(PROTO_TABLE, "T", cols, 1);
	struct diff_list l = {0};

	assert_int_equal(diff_entity(NULL, &e, &l), 0);
	assert_int_equal(diff_entity(&e, NULL, &l), 0);
	assert_int_equal(diff_entity(NULL, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_change(&l.v[0], DIFF_CREATED, "T", NULL);
	assert_change(&l.v[1], DIFF_DROPPED, "T", NULL);
	diff_list_clear(&l);
	assert_int_equal(l.n, 0);
	diff_list_clear(NULL);
}

static void test_same_entity_no_change(void **state)
{
	struct proto_column cols[] = {COL("a", PROTO_T_INT), COL("b", PROTO_T_STRING)};
	struct proto_entity a = entity(PROTO_TABLE, "T", cols, 2);
	struct proto_entity b = entity(PROTO_TABLE, "T", cols, 2);
	struct diff_list l = {0};

	b.folder = (char *)"";
	b.location = NULL;
	assert_int_equal(diff_entity(&a, &b, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_columns(void **state)
{
	struct proto_column old[] = {COL("a", PROTO_T_INT), COL("b", PROTO_T_STRING),
	                             COL("c", PROTO_T_REAL), COL("d", PROTO_T_BOOL)};
	/* b dropped, e added, c retyped, a and c/d keep their order. */
	struct proto_column new[] = {COL("a", PROTO_T_INT), COL("c", PROTO_T_LONG),
	                             COL("e", PROTO_T_DYNAMIC), COL("d", PROTO_T_BOOL)};
	struct proto_entity x = entity(PROTO_TABLE, "T", old, 4);
	struct proto_entity y = entity(PROTO_TABLE, "T", new, 4);
	struct diff_list l = {0};

	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(l.n, 3);
	assert_change(&l.v[0], DIFF_COLUMN_DROPPED, "T", "b");
	assert_int_equal(l.v[0].old_type, PROTO_T_STRING);
	assert_change(&l.v[1], DIFF_COLUMN_ADDED, "T", "e");
	assert_int_equal(l.v[1].new_type, PROTO_T_DYNAMIC);
	assert_change(&l.v[2], DIFF_COLUMN_RETYPED, "T", "c");
	assert_int_equal(l.v[2].old_type, PROTO_T_REAL);
	assert_int_equal(l.v[2].new_type, PROTO_T_LONG);
	diff_list_clear(&l);
}

static void test_reordered(void **state)
{
	struct proto_column old[] = {COL("a", PROTO_T_INT), COL("b", PROTO_T_INT),
	                             COL("c", PROTO_T_INT)};
	struct proto_column swapped[] = {COL("b", PROTO_T_INT), COL("a", PROTO_T_INT),
	                                 COL("c", PROTO_T_INT)};
	/* Dropping a column is not a reorder of the others. */
	struct proto_column dropped[] = {COL("a", PROTO_T_INT), COL("c", PROTO_T_INT)};
	struct proto_entity x = entity(PROTO_TABLE, "T", old, 3);
	struct proto_entity y = entity(PROTO_TABLE, "T", swapped, 3);
	struct proto_entity z = entity(PROTO_TABLE, "T", dropped, 2);
	struct diff_list l = {0};

	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(l.n, 1);
	assert_change(&l.v[0], DIFF_COLUMNS_REORDERED, "T", NULL);
	diff_list_clear(&l);
	assert_int_equal(diff_entity(&x, &z, &l), 0);
	assert_int_equal(l.n, 1);
	assert_change(&l.v[0], DIFF_COLUMN_DROPPED, "T", "b");
	diff_list_clear(&l);
}

static void test_kind_and_texts(void **state)
{
	struct proto_column cols[] = {COL("a", PROTO_T_INT)};
	struct proto_entity x = entity(PROTO_TABLE, "V", cols, 1);
	struct proto_entity y = entity(PROTO_MATERIALIZED_VIEW, "V", cols, 1);
	struct diff_list l = {0};

	y.folder = (char *)"f";
	y.docstring = (char *)"doc";
	y.source = (char *)"T";
	y.query = (char *)"T | summarize count()";
	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(l.n, 5);
	assert_change(&l.v[0], DIFF_KIND_CHANGED, "V", NULL);
	assert_int_equal(l.v[0].old_kind, PROTO_TABLE);
	assert_int_equal(l.v[0].kind, PROTO_MATERIALIZED_VIEW);
	assert_change(&l.v[1], DIFF_FOLDER_CHANGED, "V", NULL);
	assert_change(&l.v[2], DIFF_DOCSTRING_CHANGED, "V", NULL);
	assert_change(&l.v[3], DIFF_SOURCE_CHANGED, "V", NULL);
	assert_change(&l.v[4], DIFF_QUERY_CHANGED, "V", NULL);
	diff_list_clear(&l);
}

static void test_location(void **state)
{
	struct proto_entity x = entity(PROTO_EXTERNAL_TABLE, "X", NULL, 0);
	struct proto_entity y = entity(PROTO_EXTERNAL_TABLE, "X", NULL, 0);
	struct diff_list l = {0};

	x.location = (char *)"https://a/";
	y.location = (char *)"https://b/";
	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(l.n, 1);
	assert_change(&l.v[0], DIFF_LOCATION_CHANGED, "X", NULL);
	diff_list_clear(&l);
}

/* 10,000 columns, reversed: must be quick (sorted matching) and report a
 * reorder only. */
static void test_many_columns(void **state)
{
	enum { N = 10000 };
	struct proto_column *a = calloc(N, sizeof(*a)), *b = calloc(N, sizeof(*b));
	char(*names)[16] = calloc(N, sizeof(*names));
	struct diff_list l = {0};

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "c%zu", i);
		a[i].name = names[i];
		b[N - 1 - i].name = names[i];
	}
	struct proto_entity x = entity(PROTO_TABLE, "T", a, N);
	struct proto_entity y = entity(PROTO_TABLE, "T", b, N);
	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].what, DIFF_COLUMNS_REORDERED);
	diff_list_clear(&l);
	free(a);
	free(b);
	free(names);
}

static void test_caching(void **state)
{
	struct proto_window w1[] = {{.min = 1, .max = 2}}, w2[] = {{.min = 1, .max = 3}};
	struct proto_caching a = {.hot_span = 10, .windows = w1, .nwindows = 1};
	struct proto_caching b = {.hot_span = 10, .windows = w1, .nwindows = 1};
	struct proto_caching c = {.hot_span = 10, .windows = w2, .nwindows = 1};
	struct proto_caching d = {.hot_span = 11};
	struct diff_list l = {0};

	assert_true(diff_caching_equal(NULL, NULL));
	assert_false(diff_caching_equal(&a, NULL));
	assert_false(diff_caching_equal(NULL, &a));
	assert_true(diff_caching_equal(&a, &b));
	assert_false(diff_caching_equal(&a, &c));
	assert_false(diff_caching_equal(&a, &d));
	assert_int_equal(diff_caching("T", PROTO_TABLE, &a, &b, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(diff_caching(NULL, PROTO_TABLE, &a, NULL, &l), 0);
	assert_int_equal(diff_caching("T", PROTO_TABLE, &a, &c, &l), 0);
	assert_int_equal(l.n, 2);
	assert_change(&l.v[0], DIFF_CACHING_CHANGED, NULL, NULL);
	assert_change(&l.v[1], DIFF_CACHING_CHANGED, "T", NULL);
	diff_list_clear(&l);
}

static void test_retention(void **state)
{
	struct proto_retention a = {.soft_delete = 5, .recoverability = true};
	struct proto_retention b = {.soft_delete = 5, .recoverability = false};
	struct diff_list l = {0};

	assert_true(diff_retention_equal(NULL, NULL));
	assert_true(diff_retention_equal(&a, &a));
	assert_false(diff_retention_equal(&a, &b));
	assert_false(diff_retention_equal(NULL, &b));
	assert_int_equal(diff_retention("T", PROTO_TABLE, &a, &a, &l), 0);
	assert_int_equal(diff_retention("T", PROTO_TABLE, &a, &b, &l), 0);
	assert_int_equal(l.n, 1);
	assert_change(&l.v[0], DIFF_RETENTION_CHANGED, "T", NULL);
	diff_list_clear(&l);
}

#define PRIN(f, n)                                                                                 \
	{                                                                                          \
		.fqn = (char *)(f), .name = (char *)(n)                                            \
	}

static void test_principals(void **state)
{
	struct proto_principal old[] = {PRIN("aaduser=c", "C"), PRIN("aaduser=a", "A"),
	                                PRIN("aaduser=b", "B")};
	/* a removed, d added, b renamed, c the same (order does not matter). */
	struct proto_principal new[] = {PRIN("aaduser=d", ""), PRIN("aaduser=c", "C"),
	                                PRIN("aaduser=b", "Bee"), PRIN("aaduser=d", "dup")};
	struct diff_list l = {0};

	assert_int_equal(diff_principals(PROTO_ROLE_VIEWERS, old, 3, new, 4, &l), 0);
	assert_int_equal(l.n, 3);
	assert_change(&l.v[0], DIFF_PRINCIPAL_REMOVED, NULL, "aaduser=a");
	assert_change(&l.v[1], DIFF_PRINCIPAL_RENAMED, NULL, "aaduser=b");
	assert_change(&l.v[2], DIFF_PRINCIPAL_ADDED, NULL, "aaduser=d");
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(l.v[i].role, PROTO_ROLE_VIEWERS);
	diff_list_clear(&l);
	assert_int_equal(diff_principals(PROTO_ROLE_ADMINS, NULL, 0, NULL, 0, &l), 0);
	assert_int_equal(diff_principals(PROTO_ROLE_ADMINS, old, 3, old, 3, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(diff_principals(PROTO_ROLE_ADMINS, NULL, 0, old, 3, &l), 0);
	assert_int_equal(l.n, 3);
	diff_list_clear(&l);
}

static void test_json(void **state)
{
	struct proto_column old[] = {COL("a", PROTO_T_INT)};
	struct proto_column new[] = {COL("a", PROTO_T_LONG)};
	struct proto_entity x = entity(PROTO_TABLE, "T", old, 1);
	struct proto_entity y = entity(PROTO_TABLE, "T", new, 1);
	struct proto_principal p[] = {PRIN("aaduser=a", "A")};
	struct diff_list l = {0};
	json_t *j;
	char *s;

	assert_int_equal(diff_entity(&x, &y, &l), 0);
	assert_int_equal(diff_principals(PROTO_ROLE_USERS, NULL, 0, p, 1, &l), 0);
	assert_int_equal(diff_caching(NULL, PROTO_TABLE, NULL, &(struct proto_caching){0}, &l), 0);
	j = diff_list_to_json(&l);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s,
	                    "[{\"change\":\"column_retyped\",\"kind\":\"table\",\"entity\":\"T\","
	                    "\"column\":\"a\",\"old_type\":\"int\",\"new_type\":\"long\"},"
	                    "{\"change\":\"principal_added\",\"role\":\"users\",\"fqn\":"
	                    "\"aaduser=a\"},{\"change\":\"caching_changed\"}]");
	free(s);
	json_decref(j);
	diff_list_clear(&l);
	assert_string_equal(diff_what_name(DIFF_COLUMNS_REORDERED), "columns_reordered");
	assert_null(diff_what_name((enum diff_what)999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_created_dropped),
	    cmocka_unit_test(test_same_entity_no_change),
	    cmocka_unit_test(test_columns),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_kind_and_texts),
	    cmocka_unit_test(test_location),
	    cmocka_unit_test(test_many_columns),
	    cmocka_unit_test(test_caching),
	    cmocka_unit_test(test_retention),
	    cmocka_unit_test(test_principals),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
