/*
 * followerctl_fmt — aligned tables and human-friendly durations and sizes.
 */
#include "followerctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row 0 the header */
};

struct ctl_table *ctl_table_new(size_t ncols, const char *const *header)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	if (ctl_table_add(t, header) < 0) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 8;
		char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		t->cells = p;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] != NULL ? cells[i] : "-");
		if (t->cells[t->nrows * t->ncols + i] == NULL) {
			for (size_t k = 0; k < i; k++)
				free(t->cells[t->nrows * t->ncols + k]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

void ctl_table_print(const struct ctl_table *t)
{
	size_t w[32] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols && i < 32; i++) {
			size_t n = strlen(t->cells[r * t->ncols + i]);

			w[i] = n > w[i] ? n : w[i];
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			if (i + 1 == t->ncols)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)(i < 32 ? w[i] : 0), s);
		}
	}
}

void ctl_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

const char *ctl_duration(double s, char *buf, size_t len)
{
	uint64_t n;

	if (s < 0)
		s = 0;
	if (s < 1 && s > 0) {
		(void)snprintf(buf, len, "%.0fms", s * 1000);
		return buf;
	}
	n = (uint64_t)(s + 0.5);
	if (n < 60)
		(void)snprintf(buf, len, "%" PRIu64 "s", n);
	else if (n < 3600)
		(void)snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", n / 60, n % 60);
	else if (n < 86400)
		(void)snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", n / 3600, n % 3600 / 60);
	else
		(void)snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", n / 86400, n % 86400 / 3600);
	return buf;
}

const char *ctl_bytes(double b, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	size_t u = 0;

	while (b >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		(void)snprintf(buf, len, "%.0f B", b);
	else
		(void)snprintf(buf, len, "%.1f %s", b, units[u]);
	return buf;
}

const char *ctl_member(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		(void)snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		(void)snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		(void)snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		(void)snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		(void)snprintf(buf, len, "-");
	return buf;
}
