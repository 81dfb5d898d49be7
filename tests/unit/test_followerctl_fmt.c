/*
 * Unit tests of followerctl's formatting: durations, sizes, JSON members and
 * aligned tables (cli/followerctl_fmt.c is compiled in: the CLI is not part
 * of libfollower).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../cli/followerctl_fmt.c"

static void test_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ctl_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(ctl_duration(0.85, b, sizeof(b)), "850ms");
	assert_string_equal(ctl_duration(12, b, sizeof(b)), "12s");
	assert_string_equal(ctl_duration(185, b, sizeof(b)), "3m05s");
	assert_string_equal(ctl_duration(2 * 3600 + 3 * 60 + 10, b, sizeof(b)), "2h03m");
	assert_string_equal(ctl_duration(4 * 86400 + 2 * 3600, b, sizeof(b)), "4d02h");
	assert_string_equal(ctl_duration(-5, b, sizeof(b)), "0s");
}

static void test_bytes(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ctl_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(ctl_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(ctl_bytes(1536, b, sizeof(b)), "1.5 KiB");
	assert_string_equal(ctl_bytes(3.0 * (1 << 30), b, sizeof(b)), "3.0 GiB");
}

static void test_member(void **state)
{
	json_t *o = json_pack("{s:s, s:I, s:b, s:n, s:f}", "s", "x", "i", (json_int_t)42, "b", 1,
	                      "n", "r", 1.5);
	char b[64];

	(void)state;
	assert_string_equal(ctl_member(o, "s", b, sizeof(b)), "x");
	assert_string_equal(ctl_member(o, "i", b, sizeof(b)), "42");
	assert_string_equal(ctl_member(o, "b", b, sizeof(b)), "true");
	assert_string_equal(ctl_member(o, "n", b, sizeof(b)), "-");
	assert_string_equal(ctl_member(o, "absent", b, sizeof(b)), "-");
	assert_string_equal(ctl_member(o, "r", b, sizeof(b)), "1.5");
	json_decref(o);
}

/* A table printed into a pipe: columns padded to the widest cell. */
static void test_table(void **state)
{
	static const char *const head[] = {"A", "BB", "C"};
	static const char *const row1[] = {"long-cell", "x", "end"};
	static const char *const row2[] = {"y", NULL, "z"};
	struct ctl_table *t = ctl_table_new(3, head);
	char buf[256] = "";
	FILE *saved = stdout;
	int fd[2];
	ssize_t n;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 10; i++) /* past the first growth */
		assert_int_equal(ctl_table_add(t, i % 2 == 0 ? row1 : row2), 0);
	assert_int_equal(pipe(fd), 0);
	stdout = fdopen(fd[1], "w");
	assert_non_null(stdout);
	ctl_table_print(t);
	(void)fclose(stdout);
	stdout = saved;
	n = read(fd[0], buf, sizeof(buf) - 1);
	(void)close(fd[0]);
	assert_true(n > 0);
	assert_memory_equal(buf,
	                    "A          BB  C\n"
	                    "long-cell  x   end\n"
	                    "y          -   z\n",
	                    strlen("A          BB  C\nlong-cell  x   end\ny          -   z\n"));
	ctl_table_free(t);
	ctl_table_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_member),
	    cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
