/*
 * Unit tests for fsutil: atomic and exclusive writes, no temp files left
 * behind, bounded reads, mkdir -p.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

struct fx {
	char dir[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/fsutil-test.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void path_in(const struct fx *f, const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", f->dir, name);
}

/* Number of entries in dir other than . and .. (temp files included). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void assert_content(const char *path, const char *want)
{
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(fsutil_read_file(path, 1 << 20, &data, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	free(data);
}

static void test_write_replaces(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	struct stat st;
	mode_t old = umask(022);

	path_in(f, "head.json", p);
	assert_int_equal(fsutil_write_atomic(p, "one", 3, false), 0);
	assert_content(p, "one");
	assert_int_equal(fsutil_write_atomic(p, "second", 6, false), 0);
	assert_content(p, "second");
	assert_int_equal(count_entries(f->dir), 1);
	/* Published files are readable by others (a web server), not 0600. */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	umask(old);
}

static void test_write_empty(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	path_in(f, "empty", p);
	assert_int_equal(fsutil_write_atomic(p, "", 0, false), 0);
	assert_content(p, "");
}

static void test_exclusive(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	path_in(f, "once", p);
	assert_int_equal(fsutil_write_atomic(p, "first", 5, true), 0);
	assert_int_equal(fsutil_write_atomic(p, "other", 5, true), -EEXIST);
	assert_content(p, "first");
	assert_int_equal(count_entries(f->dir), 1); /* the temp file is gone */
}

static void test_write_missing_dir(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	path_in(f, "no/such/file", p);
	assert_int_equal(fsutil_write_atomic(p, "x", 1, false), -ENOENT);
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_copy(void **state)
{
	struct fx *f = *state;
	char src[PATH_MAX], dst[PATH_MAX];
	char *big = malloc(1 << 20), *data = NULL;
	size_t len = 0, i;

	assert_non_null(big);
	for (i = 0; i < (1 << 20); i++)
		big[i] = (char)('a' + i % 26);
	path_in(f, "src", src);
	path_in(f, "dst", dst);
	assert_int_equal(fsutil_write_atomic(src, big, 1 << 20, false), 0);
	assert_int_equal(fsutil_copy_atomic(src, dst, false), 0);
	assert_int_equal(fsutil_read_file(dst, 1 << 20, &data, &len), 0);
	assert_int_equal(len, 1 << 20);
	assert_memory_equal(data, big, 1 << 20);
	assert_int_equal(fsutil_copy_atomic(src, dst, true), -EEXIST);
	path_in(f, "absent", src);
	assert_int_equal(fsutil_copy_atomic(src, dst, false), -ENOENT);
	assert_int_equal(count_entries(f->dir), 2);
	free(data);
	free(big);
}

static void test_read_bounds(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	char *data = (char *)"untouched";
	size_t len = 77;

	path_in(f, "ten", p);
	assert_int_equal(fsutil_write_atomic(p, "0123456789", 10, false), 0);
	assert_int_equal(fsutil_read_file(p, 9, &data, &len), -EFBIG);
	assert_string_equal(data, "untouched");
	assert_int_equal(len, 77);
	assert_int_equal(fsutil_read_file(p, 10, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_int_equal(data[10], '\0');
	free(data);
	path_in(f, "absent", p);
	assert_int_equal(fsutil_read_file(p, 10, &data, &len), -ENOENT);
	assert_int_equal(fsutil_read_file(f->dir, 10, &data, &len), -EISDIR);
	/* st_size is 0 for /proc files: the bound must hold while reading. */
	assert_int_equal(fsutil_read_file("/proc/self/status", 16, &data, &len), -EFBIG);
}

static void test_mkdirs(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX], file[PATH_MAX];
	struct stat st;

	path_in(f, "a/b//c/", p);
	assert_int_equal(fsutil_mkdirs(p, 0755), 0);
	path_in(f, "a/b/c", p);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fsutil_mkdirs(p, 0755), 0); /* exists: fine */
	path_in(f, "a/file", file);
	assert_int_equal(fsutil_write_atomic(file, "x", 1, false), 0);
	path_in(f, "a/file/d", p);
	assert_int_equal(fsutil_mkdirs(p, 0755), -ENOTDIR);
	assert_int_equal(fsutil_mkdirs("", 0755), -EINVAL);
}

static void test_fsync_dir(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];

	assert_int_equal(fsutil_fsync_dir(f->dir), 0);
	path_in(f, "gone", p); /* after an unlink: its directory is synced */
	assert_int_equal(fsutil_fsync_dir(p), 0);
	path_in(f, "nodir/x", p);
	assert_int_equal(fsutil_fsync_dir(p), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exclusive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_missing_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fsync_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
