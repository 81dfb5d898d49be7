/*
 * proto_decode — strict, bounded decoding of a leader's objects (proto.h).
 *
 * Every object is untrusted input.  Sizes are checked before jansson sees a
 * byte, then each member is looked up by name, type-checked, bounded and
 * validated, and an object with a member nobody looked up is refused (the
 * format version is how the format grows, not silent extra members).
 *
 * Errors name the member path, e.g. "actions[3].extents[0].artifacts[0].path".
 * The path is kept as a small stack of (key, index) pairs and rendered only
 * when an error is reported: the hot path (a million extents in a
 * checkpoint) pays for no string building.
 */
#include "proto/proto.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

#define DEC_DEPTH 8
#define DEC_NOIDX SIZE_MAX
#define OBJ_MAX_KEYS 12

/* Member flags. */
#define REQ 0x1      /* must be present */
#define NONEMPTY 0x2 /* strings: at least one byte; arrays: at least one element */

struct dec {
	char *err; /* PROTO_ERRLEN bytes, or NULL */
	const char *where;
	unsigned depth;
	const char *key[DEC_DEPTH];
	size_t idx[DEC_DEPTH];
};

/* An object being read: the keys looked up, to find members nobody asked for. */
struct obj {
	json_t *o;
	size_t found;
	size_t nkeys;
	const char *keys[OBJ_MAX_KEYS];
};

/* ---- errors ---- */

static void appendf(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void appendf(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= len - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w < len - 1 ? *n + (size_t)w : len - 1;
}

/* Renders where + the path stack + member, e.g. "actions[3].extents[0].id". */
static size_t render_path(const struct dec *d, const char *member, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	appendf(buf, len, &n, "%s", d->where);
	for (unsigned i = 0; i < d->depth; i++) {
		appendf(buf, len, &n, "%s%s", n > 0 ? "." : "", d->key[i]);
		if (d->idx[i] != DEC_NOIDX)
			appendf(buf, len, &n, "[%zu]", d->idx[i]);
	}
	if (member != NULL)
		appendf(buf, len, &n, "%s%s", n > 0 ? "." : "", member);
	return n;
}

static int dec_fail(struct dec *d, int r, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "<path>: <message>" into d->err and returns r.  Bytes outside
 * printable ASCII become '?': the message goes to logs and may quote input. */
static int dec_fail(struct dec *d, int r, const char *member, const char *fmt, ...)
{
	char path[PROTO_ERRLEN], msg[PROTO_ERRLEN];
	size_t n = 0;
	va_list ap;

	if (d->err == NULL)
		return r;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->err[0] = '\0';
	if (render_path(d, member, path, sizeof(path)) > 0)
		appendf(d->err, PROTO_ERRLEN, &n, "%s: ", path);
	appendf(d->err, PROTO_ERRLEN, &n, "%s", msg);
	for (char *p = d->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return r;
}

static int dec_nomem(struct dec *d)
{
	return dec_fail(d, -ENOMEM, NULL, "out of memory");
}

static void dec_push(struct dec *d, const char *key)
{
	assert(d->depth < DEC_DEPTH);
	d->key[d->depth] = key;
	d->idx[d->depth] = DEC_NOIDX;
	d->depth++;
}

static void dec_pop(struct dec *d)
{
	d->depth--;
}

/* ---- single values ---- */

/* Character classes of the protocol's values, one table lookup per byte:
 * the validators run on every extent of a million-extent checkpoint. */
#define C_HEX 0x1  /* 0-9 a-f (lowercase only) */
#define C_NAME 0x2 /* A-Z a-z 0-9 _ - . space */
#define C_PATH 0x4 /* A-Z a-z 0-9 _ - . / */
#define C_ALNUM (C_NAME | C_PATH)

static const unsigned char char_class[256] = {
    [' '] = C_NAME,          ['-'] = C_ALNUM,         ['.'] = C_ALNUM,
    ['/'] = C_PATH,          ['_'] = C_ALNUM,         ['0'] = C_ALNUM | C_HEX,
    ['1'] = C_ALNUM | C_HEX, ['2'] = C_ALNUM | C_HEX, ['3'] = C_ALNUM | C_HEX,
    ['4'] = C_ALNUM | C_HEX, ['5'] = C_ALNUM | C_HEX, ['6'] = C_ALNUM | C_HEX,
    ['7'] = C_ALNUM | C_HEX, ['8'] = C_ALNUM | C_HEX, ['9'] = C_ALNUM | C_HEX,
    ['a'] = C_ALNUM | C_HEX, ['b'] = C_ALNUM | C_HEX, ['c'] = C_ALNUM | C_HEX,
    ['d'] = C_ALNUM | C_HEX, ['e'] = C_ALNUM | C_HEX, ['f'] = C_ALNUM | C_HEX,
    ['g'] = C_ALNUM,         ['h'] = C_ALNUM,         ['i'] = C_ALNUM,
    ['j'] = C_ALNUM,         ['k'] = C_ALNUM,         ['l'] = C_ALNUM,
    ['m'] = C_ALNUM,         ['n'] = C_ALNUM,         ['o'] = C_ALNUM,
    ['p'] = C_ALNUM,         ['q'] = C_ALNUM,         ['r'] = C_ALNUM,
    ['s'] = C_ALNUM,         ['t'] = C_ALNUM,         ['u'] = C_ALNUM,
    ['v'] = C_ALNUM,         ['w'] = C_ALNUM,         ['x'] = C_ALNUM,
    ['y'] = C_ALNUM,         ['z'] = C_ALNUM,         ['A'] = C_ALNUM,
    ['B'] = C_ALNUM,         ['C'] = C_ALNUM,         ['D'] = C_ALNUM,
    ['E'] = C_ALNUM,         ['F'] = C_ALNUM,         ['G'] = C_ALNUM,
    ['H'] = C_ALNUM,         ['I'] = C_ALNUM,         ['J'] = C_ALNUM,
    ['K'] = C_ALNUM,         ['L'] = C_ALNUM,         ['M'] = C_ALNUM,
    ['N'] = C_ALNUM,         ['O'] = C_ALNUM,         ['P'] = C_ALNUM,
    ['Q'] = C_ALNUM,         ['R'] = C_ALNUM,         ['S'] = C_ALNUM,
    ['T'] = C_ALNUM,         ['U'] = C_ALNUM,         ['V'] = C_ALNUM,
    ['W'] = C_ALNUM,         ['X'] = C_ALNUM,         ['Y'] = C_ALNUM,
    ['Z'] = C_ALNUM,
};

static bool is_class(char c, unsigned char cls)
{
	return (char_class[(unsigned char)c] & cls) != 0;
}

static bool name_ok(const char *s, size_t len)
{
	if (len < 1 || len > PROTO_MAX_NAME || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_class(s[i], C_NAME))
			return false;
	return true;
}

bool proto_valid_name(const char *s)
{
	return s != NULL && name_ok(s, strnlen(s, PROTO_MAX_NAME + 1));
}

bool proto_valid_uuid(const char *s)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < PROTO_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_class(s[i], C_HEX))
			return false;
	}
	return s[PROTO_UUID_LEN] == '\0';
}

bool proto_valid_sha256(const char *s)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < PROTO_SHA256_LEN; i++)
		if (!is_class(s[i], C_HEX))
			return false;
	return s[PROTO_SHA256_LEN] == '\0';
}

/* Why s (len bytes) is not a valid relative path, or NULL when it is. */
static const char *path_problem(const char *s, size_t len)
{
	size_t seg = 0; /* start of the current segment */

	if (len == 0)
		return "empty path";
	if (len > PROTO_MAX_PATH)
		return "path longer than 1024 bytes";
	if (s[0] == '/')
		return "absolute path not allowed";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/') {
			if (!is_class(s[i], C_PATH))
				return "character not allowed (A-Z a-z 0-9 _ - . / only)";
			continue;
		}
		if (i == seg)
			return "empty segment not allowed";
		if (i - seg == 1 && s[seg] == '.')
			return "'.' segment not allowed";
		if (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.')
			return "'..' segment not allowed";
		seg = i + 1;
	}
	return NULL;
}

bool proto_valid_path(const char *s)
{
	return s != NULL && path_problem(s, strnlen(s, PROTO_MAX_PATH + 1)) == NULL;
}

/* ---- objects and members ---- */

static int obj_init(struct dec *d, json_t *v, struct obj *o, const char *member)
{
	if (!json_is_object(v))
		return dec_fail(d, -EINVAL, member, "expected object");
	o->o = v;
	o->found = 0;
	o->nkeys = 0;
	return 0;
}

static json_t *obj_get(struct obj *o, const char *key)
{
	json_t *v;

	assert(o->nkeys < OBJ_MAX_KEYS);
	o->keys[o->nkeys++] = key;
	v = json_object_get(o->o, key);
	o->found += v != NULL;
	return v;
}

static bool obj_asked(const struct obj *o, const char *key)
{
	for (size_t i = 0; i < o->nkeys; i++)
		if (strcmp(o->keys[i], key) == 0)
			return true;
	return false;
}

/* Refuses the object when it has a member nobody looked up. */
static int obj_done(struct dec *d, struct obj *o)
{
	const char *key;
	json_t *v;

	if (o->found == json_object_size(o->o))
		return 0;
	json_object_foreach(o->o, key, v)
	{
		if (!obj_asked(o, key))
			return dec_fail(d, -EINVAL, NULL, "unknown member '%.64s'", key);
	}
	return dec_fail(d, -EINVAL, NULL, "unknown member");
}

/* Member key of o: *ret NULL when absent and not REQ. */
static int get_member(struct dec *d, struct obj *o, const char *key, unsigned flags, json_t **ret)
{
	json_t *v = obj_get(o, key);

	if (v == NULL && (flags & REQ))
		return dec_fail(d, -EINVAL, key, "missing");
	*ret = v;
	return 0;
}

/* A string of at most max bytes, borrowed from the JSON value; *ret NULL when
 * absent and optional.  key NULL: v itself (an array element). */
static int check_str(struct dec *d, json_t *v, const char *key, unsigned flags, size_t max,
                     const char **ret, size_t *ret_len)
{
	size_t len;

	if (!json_is_string(v))
		return dec_fail(d, -EINVAL, key, "expected string");
	len = json_string_length(v);
	if (len > max)
		return dec_fail(d, -E2BIG, key, "longer than %zu bytes", max);
	if (len == 0 && (flags & NONEMPTY))
		return dec_fail(d, -EINVAL, key, "must not be empty");
	*ret = json_string_value(v);
	*ret_len = len;
	return 0;
}

static int get_str(struct dec *d, struct obj *o, const char *key, unsigned flags, size_t max,
                   const char **ret, size_t *ret_len)
{
	json_t *v = NULL;
	int r = get_member(d, o, key, flags, &v);

	if (r < 0)
		return r;
	if (v == NULL) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	return check_str(d, v, key, flags, max, ret, ret_len);
}

static int dup_mem(struct dec *d, const char *s, size_t len, char **ret)
{
	char *p = malloc(len + 1);

	if (p == NULL)
		return dec_nomem(d);
	memcpy(p, s, len);
	p[len] = '\0';
	*ret = p;
	return 0;
}

static int check_name(struct dec *d, json_t *v, const char *key, char **ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = check_str(d, v, key, NONEMPTY, PROTO_MAX_NAME, &s, &len);

	if (r < 0)
		return r;
	if (!name_ok(s, len))
		return dec_fail(
		    d, -EINVAL, key,
		    "invalid name (A-Z a-z 0-9 _ - . space, no leading or trailing space)");
	return dup_mem(d, s, len, ret);
}

/* A name (docs/PROTOCOL.md "Values"), copied; *ret NULL when absent and optional. */
static int get_name(struct dec *d, struct obj *o, const char *key, unsigned flags, char **ret)
{
	json_t *v = NULL;
	int r = get_member(d, o, key, flags, &v);

	if (r < 0 || v == NULL)
		return r;
	return check_name(d, v, key, ret);
}

/* Free text of at most PROTO_MAX_TEXT bytes, copied; "" when absent and optional. */
static int get_text(struct dec *d, struct obj *o, const char *key, unsigned flags, char **ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, flags, PROTO_MAX_TEXT, &s, &len);

	if (r < 0)
		return r;
	return dup_mem(d, s != NULL ? s : "", len, ret);
}

static int check_uuid(struct dec *d, json_t *v, const char *key, char *ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = check_str(d, v, key, REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	if (len != PROTO_UUID_LEN || !proto_valid_uuid(s))
		return dec_fail(d, -EINVAL, key, "expected lowercase uuid");
	memcpy(ret, s, PROTO_UUID_LEN + 1);
	return 0;
}

static int get_uuid(struct dec *d, struct obj *o, const char *key, char *ret)
{
	json_t *v = NULL;
	int r = get_member(d, o, key, REQ, &v);

	return r < 0 ? r : check_uuid(d, v, key, ret);
}

static int get_sha256(struct dec *d, struct obj *o, const char *key, char *ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	if (len != PROTO_SHA256_LEN || !proto_valid_sha256(s))
		return dec_fail(d, -EINVAL, key, "expected 64 lowercase hex digits");
	memcpy(ret, s, PROTO_SHA256_LEN + 1);
	return 0;
}

static int get_path(struct dec *d, struct obj *o, const char *key, char **ret)
{
	const char *s = NULL, *why;
	size_t len = 0;
	int r = get_str(d, o, key, REQ | NONEMPTY, PROTO_MAX_PATH, &s, &len);

	if (r < 0)
		return r;
	why = path_problem(s, len);
	if (why != NULL)
		return dec_fail(d, -EINVAL, key, "%s", why);
	return dup_mem(d, s, len, ret);
}

/* A required JSON integer in min..max. */
static int get_uint(struct dec *d, struct obj *o, const char *key, uint64_t min, uint64_t max,
                    uint64_t *ret)
{
	json_t *v;
	json_int_t i;
	int r = get_member(d, o, key, REQ, &v);

	if (r < 0)
		return r;
	if (!json_is_integer(v))
		return dec_fail(d, -EINVAL, key, "expected integer");
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return dec_fail(d, -EINVAL, key, "out of range (%llu..%llu)",
		                (unsigned long long)min, (unsigned long long)max);
	*ret = (uint64_t)i;
	return 0;
}

static int get_datetime(struct dec *d, struct obj *o, const char *key, int64_t *ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	if (timefmt_parse_datetime(s, ret) < 0)
		return dec_fail(
		    d, -EINVAL, key,
		    "expected datetime YYYY-MM-DDTHH:MM:SS[.fffffff]Z (years 0001-9999)");
	return 0;
}

/* A non-negative Kusto timespan. */
static int get_timespan(struct dec *d, struct obj *o, const char *key, int64_t *ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	if (timefmt_parse_timespan(s, ret) < 0)
		return dec_fail(d, -EINVAL, key, "expected timespan [d.]hh:mm:ss[.fffffff]");
	if (*ret < 0)
		return dec_fail(d, -EINVAL, key, "must not be negative");
	return 0;
}

static int get_bool(struct dec *d, struct obj *o, const char *key, bool dflt, bool *ret)
{
	json_t *v = NULL;
	int r = get_member(d, o, key, 0, &v);

	if (r < 0)
		return r;
	if (v != NULL && !json_is_boolean(v))
		return dec_fail(d, -EINVAL, key, "expected boolean");
	*ret = v != NULL ? json_is_true(v) : dflt;
	return 0;
}

/* Decodes one array element v into elem (zeroed, size bytes). */
typedef int (*dec_elem_fn)(struct dec *d, json_t *v, void *elem);

/* Decodes array member key into a new zeroed array of its element count
 * (stored in *ret and *ret_n before the elements are decoded, so that a
 * failure leaves the owner clearable); NULL, 0 when absent or empty. */
static int get_list(struct dec *d, struct obj *o, const char *key, unsigned flags, size_t max,
                    size_t size, void *ret, size_t *ret_n, dec_elem_fn fn)
{
	json_t *arr;
	size_t n;
	char *items;
	int r = get_member(d, o, key, flags, &arr);

	if (r < 0 || arr == NULL)
		return r;
	if (!json_is_array(arr))
		return dec_fail(d, -EINVAL, key, "expected array");
	n = json_array_size(arr);
	if (n > max)
		return dec_fail(d, -E2BIG, key, "%zu elements, more than the %zu allowed", n, max);
	if (n == 0)
		return (flags & NONEMPTY) ? dec_fail(d, -EINVAL, key, "must not be empty") : 0;
	items = calloc(n, size);
	if (items == NULL)
		return dec_nomem(d);
	memcpy(ret, &items, sizeof(items));
	*ret_n = n;
	dec_push(d, key);
	for (size_t i = 0; i < n; i++) {
		d->idx[d->depth - 1] = i;
		r = fn(d, json_array_get(arr, i), items + i * size);
		if (r < 0)
			return r;
	}
	dec_pop(d);
	return 0;
}

/* ---- duplicates ---- */

struct keyref {
	const char *key;
	size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Finds two equal keys among n (sorting refs): 1 with their indexes in
 * *ret_a < *ret_b, 0 when all differ. */
static int find_dup(struct keyref *refs, size_t n, size_t *ret_a, size_t *ret_b)
{
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(refs[i - 1].key, refs[i].key) == 0) {
			*ret_a = refs[i - 1].idx;
			*ret_b = refs[i].idx;
			return 1;
		}
	return 0;
}

/* Keys of n elements of size bytes, at offset off in each (a char array when
 * !is_ptr, a char * when is_ptr) into refs[first...], for find_dup. */
static struct keyref *keyrefs(const void *base, size_t n, size_t size, size_t off, bool is_ptr,
                              struct keyref *refs, size_t first)
{
	for (size_t i = 0; i < n; i++) {
		const void *field = (const char *)base + i * size + off;
		const char *key = field;
		if (is_ptr)
			memcpy(&key, field, sizeof(key));
		refs[first + i].key = key;
		refs[first + i].idx = first + i;
	}
	return refs;
}

/* Refuses n elements whose key (see keyrefs) repeats; names is the array's
 * member and field the key's member within an element (NULL: the element). */
static int check_unique(struct dec *d, const void *base, size_t n, size_t size, size_t off,
                        bool is_ptr, const char *names, const char *field, const char *what)
{
	struct keyref *refs;
	size_t a, b;
	int dup;

	if (n < 2)
		return 0;
	refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return dec_nomem(d);
	dup = find_dup(keyrefs(base, n, size, off, is_ptr, refs, 0), n, &a, &b);
	free(refs);
	if (!dup)
		return 0;
	dec_push(d, names);
	d->idx[d->depth - 1] = b;
	return dec_fail(d, -EINVAL, field, "duplicate %s (also %s[%zu])", what, names, a);
}

/* ---- actions ---- */

static const struct {
	const char *name;
	enum proto_op op;
	enum proto_kind kind;
} op_table[] = {
    {"add_extents", PROTO_OP_ADD_EXTENTS, PROTO_TABLE},
    {"drop_extents", PROTO_OP_DROP_EXTENTS, PROTO_TABLE},
    {"replace_extents", PROTO_OP_REPLACE_EXTENTS, PROTO_TABLE},
    {"create_table", PROTO_OP_CREATE, PROTO_TABLE},
    {"alter_table", PROTO_OP_ALTER, PROTO_TABLE},
    {"drop_table", PROTO_OP_DROP, PROTO_TABLE},
    {"create_external_table", PROTO_OP_CREATE, PROTO_EXTERNAL_TABLE},
    {"alter_external_table", PROTO_OP_ALTER, PROTO_EXTERNAL_TABLE},
    {"drop_external_table", PROTO_OP_DROP, PROTO_EXTERNAL_TABLE},
    {"create_materialized_view", PROTO_OP_CREATE, PROTO_MATERIALIZED_VIEW},
    {"alter_materialized_view", PROTO_OP_ALTER, PROTO_MATERIALIZED_VIEW},
    {"drop_materialized_view", PROTO_OP_DROP, PROTO_MATERIALIZED_VIEW},
    {"set_caching_policy", PROTO_OP_SET_CACHING, PROTO_TABLE},
    {"set_retention_policy", PROTO_OP_SET_RETENTION, PROTO_TABLE},
    {"set_principals", PROTO_OP_SET_PRINCIPALS, PROTO_TABLE},
};

/* A column's "name" and "type", which schemas and column statistics share. */
static int get_name_type(struct dec *d, struct obj *o, char **ret_name,
                         enum proto_coltype *ret_type)
{
	const char *type;
	size_t len;
	int r;

	if ((r = get_name(d, o, "name", REQ, ret_name)) < 0 ||
	    (r = get_str(d, o, "type", REQ, SIZE_MAX, &type, &len)) < 0)
		return r;
	if (proto_coltype_parse(type, ret_type) < 0)
		return dec_fail(d, -EINVAL, "type", "unknown column type '%.32s'", type);
	return 0;
}

static int dec_column(struct dec *d, json_t *v, void *elem)
{
	struct proto_column *c = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_name_type(d, &o, &c->name, &c->type)) < 0)
		return r;
	return obj_done(d, &o);
}

/* The members of a create_* / alter_* action. */
static int dec_entity(struct dec *d, struct obj *o, struct proto_entity *e)
{
	int r;

	if ((r = get_name(d, o, "name", REQ, &e->name)) < 0 ||
	    (r = get_list(d, o, "columns", REQ | NONEMPTY, PROTO_MAX_COLUMNS, sizeof(*e->columns),
	                  &e->columns, &e->ncolumns, dec_column)) < 0 ||
	    (r = get_text(d, o, "folder", 0, &e->folder)) < 0 ||
	    (r = get_text(d, o, "docstring", 0, &e->docstring)) < 0)
		return r;
	if (e->kind == PROTO_EXTERNAL_TABLE &&
	    (r = get_text(d, o, "location", REQ | NONEMPTY, &e->location)) < 0)
		return r;
	if (e->kind == PROTO_MATERIALIZED_VIEW &&
	    ((r = get_name(d, o, "source", REQ, &e->source)) < 0 ||
	     (r = get_text(d, o, "query", REQ | NONEMPTY, &e->query)) < 0))
		return r;
	return check_unique(d, e->columns, e->ncolumns, sizeof(*e->columns),
	                    offsetof(struct proto_column, name), true, "columns", "name",
	                    "column name");
}

static int dec_tag(struct dec *d, json_t *v, void *elem)
{
	const char *s = NULL;
	size_t len = 0;
	int r = check_str(d, v, NULL, NONEMPTY, PROTO_MAX_TEXT, &s, &len);

	return r < 0 ? r : dup_mem(d, s, len, elem);
}

/* An artifact's file name: free text, but safe as one path segment. */
static int get_artifact_name(struct dec *d, struct obj *o, char **ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, "name", REQ | NONEMPTY, PROTO_MAX_NAME, &s, &len);

	if (r < 0)
		return r;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strpbrk(s, "/\\") != NULL)
		return dec_fail(d, -EINVAL, "name", "not a plain file name");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return dec_fail(d, -EINVAL, "name", "control character not allowed");
	return dup_mem(d, s, len, ret);
}

/* A format or compression name: known ones give their enum (*ret_known
 * >= 0), others (a newer writer's) are kept as text, so a follower can say
 * which format it does not know.  *ret_text NULL when absent. */
static int get_data_name(struct dec *d, struct obj *o, const char *key,
                         int (*parse)(const char *, void *), void *ret_enum, char **ret_text,
                         bool *ret_present)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, NONEMPTY, PROTO_MAX_FORMAT_NAME, &s, &len);

	*ret_present = s != NULL;
	if (r < 0 || s == NULL)
		return r;
	for (size_t i = 0; i < len; i++)
		if (!is_class(s[i], C_PATH) || s[i] == '/' || s[i] == '.')
			return dec_fail(d, -EINVAL, key, "not a name (A-Z a-z 0-9 _ -)");
	if (parse(s, ret_enum) == 0)
		return 0;
	return dup_mem(d, s, len, ret_text);
}

static int parse_format(const char *s, void *ret)
{
	return strcmp(s, "none") == 0 ? -EINVAL : proto_format_parse(s, ret);
}

static int parse_compression(const char *s, void *ret)
{
	return proto_compression_parse(s, ret);
}

/* format, compression, ignore_first_record: all absent for an opaque artifact. */
static int dec_data_format(struct dec *d, struct obj *o, struct proto_artifact *a)
{
	bool has_format = false, has_comp = false;
	int r;

	if ((r = get_data_name(d, o, "format", parse_format, &a->format, &a->format_text,
	                       &has_format)) < 0 ||
	    (r = get_data_name(d, o, "compression", parse_compression, &a->compression,
	                       &a->compression_text, &has_comp)) < 0 ||
	    (r = get_bool(d, o, "ignore_first_record", false, &a->ignore_first_record)) < 0)
		return r;
	if (a->format_text)
		a->format = PROTO_FMT_UNKNOWN;
	if (a->compression_text)
		a->compression = PROTO_COMP_UNKNOWN;
	if (!has_format && (has_comp || a->ignore_first_record))
		return dec_fail(d, -EINVAL, has_comp ? "compression" : "ignore_first_record",
		                "only with a format");
	return 0;
}

static int dec_artifact(struct dec *d, json_t *v, void *elem)
{
	struct proto_artifact *a = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 || (r = get_artifact_name(d, &o, &a->name)) < 0 ||
	    (r = get_path(d, &o, "path", &a->path)) < 0 ||
	    (r = get_uint(d, &o, "size", 0, PROTO_MAX_VERSION, &a->size)) < 0 ||
	    (r = get_sha256(d, &o, "sha256", a->sha256)) < 0 || (r = dec_data_format(d, &o, a)) < 0)
		return r;
	return obj_done(d, &o);
}

/* A statistic's min or max: printable ASCII of at most PROTO_MAX_STAT_TEXT. */
static int get_stat_text(struct dec *d, struct obj *o, const char *key, char **ret)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, key, NONEMPTY, PROTO_MAX_STAT_TEXT, &s, &len);

	if (r < 0 || s == NULL)
		return r;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return dec_fail(d, -EINVAL, key, "not printable ASCII");
	return dup_mem(d, s, len, ret);
}

static int dec_colstat(struct dec *d, json_t *v, void *elem)
{
	struct proto_colstat *c = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_name_type(d, &o, &c->name, &c->type)) < 0 ||
	    (r = get_uint(d, &o, "nulls", 0, PROTO_MAX_VERSION, &c->nulls)) < 0 ||
	    (r = get_stat_text(d, &o, "min", &c->min)) < 0 ||
	    (r = get_stat_text(d, &o, "max", &c->max)) < 0)
		return r;
	if ((c->min == NULL) != (c->max == NULL))
		return dec_fail(d, -EINVAL, c->min ? "max" : "min",
		                "missing (min and max go together)");
	return obj_done(d, &o);
}

/* The extent's column statistics: unique names, nulls within rows. */
static int dec_stats(struct dec *d, struct obj *o, struct proto_extent *e)
{
	int r = get_list(d, o, "columns", 0, PROTO_MAX_COLUMNS, sizeof(*e->stats), &e->stats,
	                 &e->nstats, dec_colstat);

	if (r < 0)
		return r;
	for (size_t i = 0; i < e->nstats; i++)
		if (e->stats[i].nulls > e->rows) {
			dec_push(d, "columns");
			d->idx[d->depth - 1] = i;
			return dec_fail(d, -EINVAL, "nulls", "more than the extent's rows");
		}
	return check_unique(d, e->stats, e->nstats, sizeof(*e->stats),
	                    offsetof(struct proto_colstat, name), true, "columns", "name",
	                    "column name");
}

static int dec_extent(struct dec *d, json_t *v, void *elem)
{
	struct proto_extent *e = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 || (r = get_uuid(d, &o, "id", e->id)) < 0 ||
	    (r = get_name(d, &o, "table", REQ, &e->table)) < 0 ||
	    (r = get_datetime(d, &o, "min_created", &e->min_created)) < 0 ||
	    (r = get_datetime(d, &o, "max_created", &e->max_created)) < 0 ||
	    (r = get_uint(d, &o, "rows", 0, PROTO_MAX_VERSION, &e->rows)) < 0 ||
	    (r = get_uint(d, &o, "original_size", 0, PROTO_MAX_VERSION, &e->original_size)) < 0 ||
	    (r = get_uint(d, &o, "compressed_size", 0, PROTO_MAX_VERSION, &e->compressed_size)) <
	        0 ||
	    (r = get_list(d, &o, "tags", 0, PROTO_MAX_TAGS, sizeof(*e->tags), &e->tags, &e->ntags,
	                  dec_tag)) < 0 ||
	    (r = get_list(d, &o, "artifacts", REQ, PROTO_MAX_ARTIFACTS, sizeof(*e->artifacts),
	                  &e->artifacts, &e->nartifacts, dec_artifact)) < 0 ||
	    (r = dec_stats(d, &o, e)) < 0)
		return r;
	if (e->min_created > e->max_created)
		return dec_fail(d, -EINVAL, "min_created", "later than max_created");
	return obj_done(d, &o);
}

static int dec_id(struct dec *d, json_t *v, void *elem)
{
	return check_uuid(d, v, NULL, elem);
}

/* Refuses an extent id named twice in one action (in ids, extents or both). */
static int check_extent_ids(struct dec *d, const struct proto_action *a)
{
	size_t n = a->nids + a->nextents, x, y;
	struct keyref *refs;
	int dup;

	if (n < 2)
		return 0;
	refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return dec_nomem(d);
	(void)keyrefs(a->ids, a->nids, sizeof(*a->ids), 0, false, refs, 0);
	(void)keyrefs(a->extents, a->nextents, sizeof(*a->extents),
	              offsetof(struct proto_extent, id), false, refs, a->nids);
	dup = find_dup(refs, n, &x, &y);
	free(refs);
	if (!dup)
		return 0;
	char also[48];
	if (x < a->nids)
		(void)snprintf(also, sizeof(also), "ids[%zu]", x);
	else
		(void)snprintf(also, sizeof(also), "extents[%zu].id", x - a->nids);
	dec_push(d, y < a->nids ? "ids" : "extents");
	d->idx[d->depth - 1] = y < a->nids ? y : y - a->nids;
	return dec_fail(d, -EINVAL, y < a->nids ? NULL : "id", "duplicate extent id (also %s)",
	                also);
}

/* The members of add_extents, drop_extents, replace_extents. */
static int dec_extent_op(struct dec *d, struct obj *o, size_t max_extents, struct proto_action *a)
{
	unsigned ids = 0, extents = REQ;
	int r;

	if (a->op == PROTO_OP_DROP_EXTENTS || a->op == PROTO_OP_REPLACE_EXTENTS)
		ids = REQ | NONEMPTY;
	if (a->op == PROTO_OP_REPLACE_EXTENTS)
		extents |= NONEMPTY;
	if (ids != 0 && (r = get_list(d, o, "ids", ids, PROTO_MAX_EXTENTS, sizeof(*a->ids), &a->ids,
	                              &a->nids, dec_id)) < 0)
		return r;
	if (a->op != PROTO_OP_DROP_EXTENTS &&
	    (r = get_list(d, o, "extents", extents, max_extents, sizeof(*a->extents), &a->extents,
	                  &a->nextents, dec_extent)) < 0)
		return r;
	return check_extent_ids(d, a);
}

static int dec_window(struct dec *d, json_t *v, void *elem)
{
	struct proto_window *w = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 || (r = get_datetime(d, &o, "min", &w->min)) < 0 ||
	    (r = get_datetime(d, &o, "max", &w->max)) < 0)
		return r;
	if (w->min > w->max)
		return dec_fail(d, -EINVAL, "min", "later than max");
	return obj_done(d, &o);
}

static int dec_caching(struct dec *d, json_t *v, struct proto_caching *c)
{
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_timespan(d, &o, "hot_span", &c->hot_span)) < 0 ||
	    (r = get_list(d, &o, "hot_windows", 0, PROTO_MAX_WINDOWS, sizeof(*c->windows),
	                  &c->windows, &c->nwindows, dec_window)) < 0)
		return r;
	return obj_done(d, &o);
}

static int dec_retention(struct dec *d, json_t *v, struct proto_retention *p)
{
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_timespan(d, &o, "soft_delete", &p->soft_delete)) < 0 ||
	    (r = get_bool(d, &o, "recoverability", true, &p->recoverability)) < 0)
		return r;
	return obj_done(d, &o);
}

/* The members of set_caching_policy and set_retention_policy. */
static int dec_policy_op(struct dec *d, struct obj *o, struct proto_action *a)
{
	json_t *policy;
	int r;

	if ((r = get_name(d, o, "table", 0, &a->table)) < 0 ||
	    (r = get_member(d, o, "policy", REQ, &policy)) < 0)
		return r;
	a->has_policy = !json_is_null(policy);
	if (!a->has_policy)
		return 0;
	dec_push(d, "policy");
	if (a->op == PROTO_OP_SET_CACHING)
		r = dec_caching(d, policy, &a->caching);
	else
		r = dec_retention(d, policy, &a->retention);
	if (r == 0)
		dec_pop(d);
	return r;
}

static int dec_principal(struct dec *d, json_t *v, void *elem)
{
	struct proto_principal *p = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_text(d, &o, "fqn", REQ | NONEMPTY, &p->fqn)) < 0 ||
	    (r = get_text(d, &o, "name", 0, &p->name)) < 0)
		return r;
	return obj_done(d, &o);
}

static int dec_principals_op(struct dec *d, struct obj *o, struct proto_action *a)
{
	const char *role;
	size_t len;
	int r;

	if ((r = get_str(d, o, "role", REQ, SIZE_MAX, &role, &len)) < 0)
		return r;
	if (proto_role_parse(role, &a->role) < 0)
		return dec_fail(d, -EINVAL, "role", "unknown role '%.32s'", role);
	return get_list(d, o, "principals", REQ, PROTO_MAX_PRINCIPALS, sizeof(*a->principals),
	                &a->principals, &a->nprincipals, dec_principal);
}

/* Reads "op" into a->op and a->entity.kind. */
static int dec_op(struct dec *d, struct obj *o, bool record, struct proto_action *a)
{
	size_t i, n = sizeof(op_table) / sizeof(op_table[0]), len;
	const char *s;
	int r = get_str(d, o, "op", REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	for (i = 0; i < n && strcmp(s, op_table[i].name) != 0; i++)
		continue;
	if (i == n)
		return dec_fail(d, -EINVAL, "op", "unknown op '%.32s'", s);
	a->op = op_table[i].op;
	a->entity.kind = op_table[i].kind;
	if (record && a->op != PROTO_OP_CREATE && a->op != PROTO_OP_ADD_EXTENTS &&
	    a->op != PROTO_OP_SET_CACHING && a->op != PROTO_OP_SET_RETENTION &&
	    a->op != PROTO_OP_SET_PRINCIPALS)
		return dec_fail(d, -EINVAL, "op", "'%s' not allowed in a checkpoint", s);
	return 0;
}

/* One action into a (zeroed by the caller; cleared by the caller on failure). */
static int dec_action(struct dec *d, json_t *v, bool record, struct proto_action *a)
{
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 || (r = dec_op(d, &o, record, a)) < 0)
		return r;
	switch (a->op) {
	case PROTO_OP_CREATE:
	case PROTO_OP_ALTER:
		r = dec_entity(d, &o, &a->entity);
		break;
	case PROTO_OP_DROP:
		r = get_name(d, &o, "name", REQ, &a->entity.name);
		break;
	case PROTO_OP_ADD_EXTENTS:
	case PROTO_OP_DROP_EXTENTS:
	case PROTO_OP_REPLACE_EXTENTS:
		r = dec_extent_op(d, &o, record ? PROTO_MAX_LINE_EXTENTS : PROTO_MAX_EXTENTS, a);
		break;
	case PROTO_OP_SET_CACHING:
	case PROTO_OP_SET_RETENTION:
		r = dec_policy_op(d, &o, a);
		break;
	case PROTO_OP_SET_PRINCIPALS:
		r = dec_principals_op(d, &o, a);
		break;
	}
	return r < 0 ? r : obj_done(d, &o);
}

int proto_action_from_json(json_t *v, const char *where, struct proto_action *ret, char *err)
{
	struct dec d = {.err = err, .where = where != NULL ? where : ""};
	struct proto_action a = {0};
	int r = dec_action(&d, v, false, &a);

	if (r < 0) {
		proto_action_clear(&a);
		return r;
	}
	*ret = a;
	return 0;
}

/* ---- whole objects ---- */

/* Parses len bytes of JSON (at most max) into a new object value. */
static int load(struct dec *d, const char *buf, size_t len, size_t max, const char *what,
                json_t **ret)
{
	json_error_t jerr;
	json_t *v;

	if (len > max)
		return dec_fail(d, -E2BIG, NULL, "%s of %zu bytes is larger than the %zu allowed",
		                what, len, max);
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		/* jansson 2.14 reports some allocation failures (lexer set-up,
		 * inserting a member) with no message at all: every syntax error
		 * has one, so an empty text means out of memory. */
		if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0')
			return dec_nomem(d);
		return dec_fail(d, -EINVAL, NULL, "invalid JSON at line %d column %d: %s",
		                jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return dec_fail(d, -EINVAL, NULL, "%s: expected a JSON object", what);
	}
	*ret = v;
	return 0;
}

/* Checks "format" first, so that a newer format is reported as such rather
 * than as its first unknown member. */
static int check_format(struct dec *d, struct obj *o)
{
	const char *s = NULL;
	size_t len = 0;
	int r = get_str(d, o, "format", REQ, SIZE_MAX, &s, &len);

	if (r < 0)
		return r;
	if (strcmp(s, PROTO_FORMAT) != 0)
		return dec_fail(d, -EPROTONOSUPPORT, "format",
		                "unsupported format '%.64s' (supported: '" PROTO_FORMAT "')", s);
	return 0;
}

/* Loads and opens a top-level object whose first member checked is "format". */
static int open_object(struct dec *d, const char *buf, size_t len, size_t max, const char *what,
                       json_t **ret_root, struct obj *o)
{
	int r = load(d, buf, len, max, what, ret_root);

	if (r < 0)
		return r;
	(void)obj_init(d, *ret_root, o, NULL);
	return check_format(d, o);
}

/* A kind of top-level object: its name in errors, its size limit, the size
 * of its struct and how to fill one (body) and free a half-built one. */
struct top_kind {
	const char *what;
	size_t max;
	size_t size;
	int (*body)(struct dec *d, struct obj *o, void *obj);
	void (*free_obj)(void *obj);
};

/* Decodes a top-level object of kind k into a new struct stored in *ret
 * (untouched on failure). */
static int decode_top(const struct top_kind *k, const char *buf, size_t len, void **ret, char *err)
{
	struct dec d = {.err = err, .where = ""};
	json_t *root = NULL;
	void *obj = NULL;
	struct obj o;
	int r;

	r = open_object(&d, buf, len, k->max, k->what, &root, &o);
	if (r < 0)
		goto out;
	obj = calloc(1, k->size);
	if (obj == NULL) {
		r = dec_nomem(&d);
		goto out;
	}
	r = k->body(&d, &o, obj);
	if (r < 0)
		goto out;
	*ret = obj;
	obj = NULL;
out:
	k->free_obj(obj);
	json_decref(root);
	return r;
}

/* The members naming one version of a database, in the order a head
 * entry, a commit and a manifest check them; name_key is the name's. */
static int get_db_version(struct dec *d, struct obj *o, const char *name_key, char **ret_name,
                          char *ret_uuid, uint64_t *ret_version, int64_t *ret_committed)
{
	int r;

	if ((r = get_name(d, o, name_key, REQ, ret_name)) < 0 ||
	    (r = get_uuid(d, o, "uuid", ret_uuid)) < 0 ||
	    (r = get_uint(d, o, "version", 1, PROTO_MAX_VERSION, ret_version)) < 0)
		return r;
	return get_datetime(d, o, "committed", ret_committed);
}

static int dec_detached(struct dec *d, json_t *v, void *elem)
{
	return check_name(d, v, NULL, elem);
}

static int dec_head_db(struct dec *d, json_t *v, void *elem)
{
	struct proto_head_db *db = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 ||
	    (r = get_db_version(d, &o, "name", &db->name, db->uuid, &db->version, &db->committed)) <
	        0 ||
	    (r = get_uint(d, &o, "checkpoint", 0, db->version, &db->checkpoint)) < 0 ||
	    (r = get_uint(d, &o, "log_start", 1, db->checkpoint + 1, &db->log_start)) < 0 ||
	    (r = get_list(d, &o, "detached_followers", 0, PROTO_MAX_DETACHED, sizeof(*db->detached),
	                  &db->detached, &db->ndetached, dec_detached)) < 0)
		return r;
	return obj_done(d, &o);
}

static int dec_head(struct dec *d, struct obj *o, void *obj)
{
	struct proto_head *h = obj;
	uint64_t interval;
	int r;

	if ((r = get_datetime(d, o, "updated", &h->updated)) < 0 ||
	    (r = get_uint(d, o, "checkpoint_interval", 0, UINT32_MAX, &interval)) < 0 ||
	    (r = get_list(d, o, "databases", REQ, PROTO_MAX_DATABASES, sizeof(*h->dbs), &h->dbs,
	                  &h->ndbs, dec_head_db)) < 0 ||
	    (r = obj_done(d, o)) < 0)
		return r;
	h->checkpoint_interval = (uint32_t)interval;
	if ((r = check_unique(d, h->dbs, h->ndbs, sizeof(*h->dbs),
	                      offsetof(struct proto_head_db, name), true, "databases", "name",
	                      "database name")) < 0)
		return r;
	return check_unique(d, h->dbs, h->ndbs, sizeof(*h->dbs),
	                    offsetof(struct proto_head_db, uuid), false, "databases", "uuid",
	                    "database uuid");
}

static void head_free(void *h)
{
	proto_head_free(h);
}

int proto_head_decode(const char *buf, size_t len, struct proto_head **ret, char *err)
{
	static const struct top_kind kind = {"head", PROTO_MAX_HEAD_BYTES,
	                                     sizeof(struct proto_head), dec_head, head_free};
	void *h;
	int r = decode_top(&kind, buf, len, &h, err);

	if (r >= 0)
		*ret = h;
	return r;
}

static int dec_commit_action(struct dec *d, json_t *v, void *elem)
{
	return dec_action(d, v, false, elem);
}

static int dec_commit(struct dec *d, struct obj *o, void *obj)
{
	struct proto_commit *c = obj;
	int r;

	if ((r = get_db_version(d, o, "database", &c->database, c->uuid, &c->version,
	                        &c->committed)) < 0 ||
	    (r = get_list(d, o, "actions", REQ, PROTO_MAX_ACTIONS, sizeof(*c->actions), &c->actions,
	                  &c->nactions, dec_commit_action)) < 0)
		return r;
	return obj_done(d, o);
}

static void commit_free(void *c)
{
	proto_commit_free(c);
}

int proto_commit_decode(const char *buf, size_t len, struct proto_commit **ret, char *err)
{
	static const struct top_kind kind = {"commit", PROTO_MAX_COMMIT_BYTES,
	                                     sizeof(struct proto_commit), dec_commit, commit_free};
	void *c;
	int r = decode_top(&kind, buf, len, &c, err);

	if (r >= 0)
		*ret = c;
	return r;
}

static int dec_part(struct dec *d, json_t *v, void *elem)
{
	struct proto_part *p = elem;
	struct obj o;
	int r;

	if ((r = obj_init(d, v, &o, NULL)) < 0 || (r = get_path(d, &o, "path", &p->path)) < 0 ||
	    (r = get_uint(d, &o, "size", 0, PROTO_MAX_VERSION, &p->size)) < 0 ||
	    (r = get_sha256(d, &o, "sha256", p->sha256)) < 0 ||
	    (r = get_uint(d, &o, "records", 0, PROTO_MAX_VERSION, &p->records)) < 0)
		return r;
	if (p->size > PROTO_MAX_PART_BYTES)
		return dec_fail(d, -E2BIG, "size", "larger than the %zu bytes allowed",
		                PROTO_MAX_PART_BYTES);
	return obj_done(d, &o);
}

static int dec_counts(struct dec *d, struct obj *parent, struct proto_counts *c)
{
	const uint64_t max = PROTO_MAX_VERSION;
	json_t *v;
	struct obj o;
	int r;

	if ((r = get_member(d, parent, "counts", REQ, &v)) < 0 ||
	    (r = obj_init(d, v, &o, "counts")) < 0)
		return r;
	dec_push(d, "counts");
	if ((r = get_uint(d, &o, "tables", 0, max, &c->tables)) < 0 ||
	    (r = get_uint(d, &o, "external_tables", 0, max, &c->external_tables)) < 0 ||
	    (r = get_uint(d, &o, "materialized_views", 0, max, &c->materialized_views)) < 0 ||
	    (r = get_uint(d, &o, "extents", 0, max, &c->extents)) < 0 ||
	    (r = get_uint(d, &o, "rows", 0, max, &c->rows)) < 0 ||
	    (r = get_uint(d, &o, "bytes", 0, max, &c->bytes)) < 0 || (r = obj_done(d, &o)) < 0)
		return r;
	dec_pop(d);
	return 0;
}

static int dec_manifest(struct dec *d, struct obj *o, void *obj)
{
	struct proto_manifest *m = obj;
	int r;

	if ((r = get_db_version(d, o, "database", &m->database, m->uuid, &m->version,
	                        &m->committed)) < 0 ||
	    (r = get_list(d, o, "parts", REQ, PROTO_MAX_PARTS, sizeof(*m->parts), &m->parts,
	                  &m->nparts, dec_part)) < 0 ||
	    (r = dec_counts(d, o, &m->counts)) < 0)
		return r;
	return obj_done(d, o);
}

static void manifest_free(void *m)
{
	proto_manifest_free(m);
}

int proto_manifest_decode(const char *buf, size_t len, struct proto_manifest **ret, char *err)
{
	static const struct top_kind kind = {"manifest", PROTO_MAX_MANIFEST_BYTES,
	                                     sizeof(struct proto_manifest), dec_manifest,
	                                     manifest_free};
	void *m;
	int r = decode_top(&kind, buf, len, &m, err);

	if (r >= 0)
		*ret = m;
	return r;
}

int proto_record_decode(const char *line, size_t len, struct proto_action *ret, char *err)
{
	struct dec d = {.err = err, .where = ""};
	struct proto_action a = {0};
	json_t *root = NULL;
	int r;

	r = load(&d, line, len, PROTO_MAX_LINE_BYTES, "checkpoint line", &root);
	if (r < 0)
		goto out;
	r = dec_action(&d, root, true, &a);
	if (r < 0)
		goto out;
	*ret = a;
	memset(&a, 0, sizeof(a));
out:
	proto_action_clear(&a);
	json_decref(root);
	return r;
}
