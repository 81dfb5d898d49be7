/*
 * test_overlay — lib/overlay: composing the admin's run-time changes over a
 * parsed followerd.conf, and building the entries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/overlay.h"

#define FILE_TEXT                                                                                  \
	"[daemon]\nstate_dir = /var/lib/f\ncache_dir = /var/cache/f\n"                             \
	"[attach \"logs\"]\nleader = /srv/leader\ndatabase = Logs\nhot_cache = 7d\n"               \
	"admins = aaduser=a@x\n"                                                                   \
	"[attach \"metrics\"]\nleader = /srv/leader\ndatabase = Metrics\n"

struct fx {
	struct conf *file;
	struct overlay *o;
	char err[CONF_ERRLEN];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(conf_parse("t.conf", FILE_TEXT, strlen(FILE_TEXT), CONF_SKIP_SECRETS,
	                            &f->file, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(overlay_new(&f->o), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	conf_free(f->file);
	overlay_free(f->o);
	free(f);
	return 0;
}

static struct conf *compose(struct fx *f, const char *strict, int want)
{
	struct conf *c = NULL;

	assert_int_equal(
	    overlay_compose(f->o, f->file, strict, NULL, NULL, &c, f->err, sizeof(f->err)), want);
	return c;
}

static void empty_overlay_is_the_file(void **state)
{
	struct fx *f = *state;
	struct conf *c = compose(f, NULL, 0);

	assert_int_equal(c->nattach, 2);
	assert_true(conf_attach_equal(c->attach[0], f->file->attach[0]));
	assert_string_equal(c->state_dir, "/var/lib/f");
	assert_string_equal(overlay_source(f->o, "logs"), "file");
	conf_free(c);
}

static void admin_attach_added_and_sourced(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	assert_int_equal(overlay_set(f->o, "sales",
	                             "{\"attach\":{\"name\":\"sales\",\"leader\":\"/srv/l\","
	                             "\"database\":\"Sales\"}}",
	                             f->err, sizeof(f->err)),
	                 0);
	c = compose(f, "sales", 0);
	assert_int_equal(c->nattach, 3);
	assert_non_null(conf_attach_find(c, "sales"));
	assert_string_equal(overlay_source(f->o, "sales"), "admin");
	conf_free(c);
}

static void clash_is_strict_or_skipped(void **state)
{
	struct fx *f = *state;
	struct conf *c;
	const char *twin = "{\"attach\":{\"name\":\"twin\",\"leader\":\"/srv/l\",\"database\":"
	                   "\"Metrics\"}}";

	assert_int_equal(overlay_set(f->o, "twin", twin, f->err, sizeof(f->err)), 0);
	assert_null(compose(f, "twin", -EEXIST));
	c = compose(f, NULL, 0); /* skipped */
	assert_int_equal(c->nattach, 2);
	assert_null(conf_attach_find(c, "twin"));
	conf_free(c);
}

static void malformed_entries_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(overlay_set(f->o, "x", "{", f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(overlay_set(f->o, "x", "{\"what\":{}}", f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(
	    overlay_set(f->o, "x", "{\"attach\":{},\"settings\":{}}", f->err, sizeof(f->err)),
	    -EINVAL);
	assert_int_equal(overlay_set(f->o, "bad",
	                             "{\"attach\":{\"name\":\"bad\",\"leader\":\"/l\","
	                             "\"database\":\"D\",\"hot_cache\":\"soon\"}}",
	                             f->err, sizeof(f->err)),
	                 0);
	assert_null(compose(f, "bad", -EINVAL));
	assert_non_null(strstr(f->err, "hot_cache"));
}

static void detach_hides_until_the_section_changes(void **state)
{
	struct fx *f = *state;
	struct conf *c, *edited = NULL;
	char *text = NULL;
	const char *t2 = FILE_TEXT "prefetch = true\n";

	assert_int_equal(overlay_entry_detach(f->file, "metrics", &text), 0);
	assert_non_null(text);
	assert_int_equal(overlay_set(f->o, "metrics", text, f->err, sizeof(f->err)), 0);
	free(text);
	c = compose(f, NULL, 0);
	assert_int_equal(c->nattach, 1);
	assert_null(conf_attach_find(c, "metrics"));
	conf_free(c);
	/* the file's section edited: it comes back */
	assert_int_equal(conf_parse("t.conf", t2, strlen(t2), CONF_SKIP_SECRETS, &edited, f->err,
	                            sizeof(f->err)),
	                 0);
	assert_int_equal(
	    overlay_compose(f->o, edited, NULL, NULL, NULL, &c, f->err, sizeof(f->err)), 0);
	assert_non_null(conf_attach_find(c, "metrics"));
	conf_free(c);
	conf_free(edited);
	/* an attach the file does not have needs no entry */
	assert_int_equal(overlay_entry_detach(f->file, "nope", &text), 0);
	assert_null(text);
}

/* A copy of the file's logs attach changed as a control command would. */
static struct conf_attach *changed_logs(struct fx *f, bool prefetch, int64_t hot)
{
	struct conf_attach *a = NULL;

	assert_int_equal(conf_attach_copy(conf_attach_find(f->file, "logs"), &a), 0);
	a->prefetch = prefetch;
	a->hot_cache = hot;
	return a;
}

static void settings_override_changed_members_only(void **state)
{
	struct fx *f = *state;
	const struct conf_attach *fa = conf_attach_find(f->file, "logs");
	struct conf_attach *next = changed_logs(f, true, fa->hot_cache);
	struct conf *c;
	char *text = NULL;

	assert_int_equal(overlay_entry_settings(f->o, f->file, fa, next, &text), 0);
	assert_non_null(text);
	assert_string_equal(text, "{\"settings\":{\"prefetch\":true}}");
	assert_int_equal(overlay_set(f->o, "logs", text, f->err, sizeof(f->err)), 0);
	free(text);
	c = compose(f, NULL, 0);
	assert_true(conf_attach_find(c, "logs")->prefetch);
	assert_int_equal(conf_attach_find(c, "logs")->hot_cache, fa->hot_cache);
	assert_string_equal(overlay_source(f->o, "logs"), "file");
	/* unsetting hot_cache is recorded as null and applied */
	conf_attach_free(next);
	next = changed_logs(f, true, CONF_UNSET);
	assert_int_equal(
	    overlay_entry_settings(f->o, f->file, conf_attach_find(c, "logs"), next, &text), 0);
	assert_string_equal(text, "{\"settings\":{\"hot_cache\":null,\"prefetch\":true}}");
	assert_int_equal(overlay_set(f->o, "logs", text, f->err, sizeof(f->err)), 0);
	free(text);
	conf_free(c);
	c = compose(f, NULL, 0);
	assert_int_equal(conf_attach_find(c, "logs")->hot_cache, CONF_UNSET);
	/* back to the file's values: no entry is needed */
	conf_attach_free(next);
	assert_int_equal(conf_attach_copy(fa, &next), 0);
	assert_int_equal(
	    overlay_entry_settings(f->o, f->file, conf_attach_find(c, "logs"), next, &text), 0);
	assert_null(text);
	conf_attach_free(next);
	conf_free(c);
}

static void settings_of_admin_attach_rewrite_it(void **state)
{
	struct fx *f = *state;
	struct conf_attach *a = NULL, *next = NULL;
	char *text = NULL;
	json_t *j;

	assert_int_equal(overlay_set(f->o, "sales",
	                             "{\"attach\":{\"name\":\"sales\",\"leader\":\"/srv/l\","
	                             "\"database\":\"Sales\"}}",
	                             f->err, sizeof(f->err)),
	                 0);
	j = json_pack("{s:s, s:s, s:s}", "name", "sales", "leader", "/srv/l", "database", "Sales");
	assert_int_equal(conf_attach_from_json(j, CONF_SKIP_SECRETS, &a, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(conf_attach_copy(a, &next), 0);
	next->prefetch = true;
	assert_int_equal(overlay_entry_settings(f->o, f->file, a, next, &text), 0);
	assert_non_null(strstr(text, "{\"attach\":{"));
	assert_non_null(strstr(text, "\"prefetch\":true"));
	free(text);
	json_decref(j);
	conf_attach_free(a);
	conf_attach_free(next);
}

static void copy_and_get(void **state)
{
	struct fx *f = *state;
	struct overlay *c = NULL;
	char *text = NULL;

	assert_int_equal(
	    overlay_set(f->o, "logs", "{\"settings\":{\"prefetch\":true}}", f->err, sizeof(f->err)),
	    0);
	assert_int_equal(overlay_copy(f->o, &c), 0);
	assert_int_equal(overlay_set(f->o, "logs", NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(overlay_get(f->o, "logs", &text), 0);
	assert_null(text);
	assert_int_equal(overlay_get(c, "logs", &text), 0);
	assert_string_equal(text, "{\"settings\":{\"prefetch\":true}}");
	free(text);
	overlay_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(empty_overlay_is_the_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(admin_attach_added_and_sourced, setup, teardown),
	    cmocka_unit_test_setup_teardown(clash_is_strict_or_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(malformed_entries_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(detach_hides_until_the_section_changes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(settings_override_changed_members_only, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(settings_of_admin_attach_rewrite_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(copy_and_get, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
