/*
 * overlay — the admin's run-time changes layered over followerd.conf (see
 * overlay.h).  The entries are kept as one JSON object, name -> entry.
 */
#include "conf/overlay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

struct overlay {
	json_t *entries; /* name -> {"attach"|"detached"|"settings": {...}} */
};

/* The follower's settings: what the Kusto control commands change. */
static const char *const setting_keys[] = {
    "hot_cache",
    "hot_window",
    "table_hot_cache",
    "admins",
    "users",
    "viewers",
    "monitors",
    "principals_modification_kind",
    "caching_policies_modification_kind",
    "prefetch",
};

int overlay_new(struct overlay **ret)
{
	struct overlay *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->entries = json_object()) == NULL) {
		free(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

void overlay_free(struct overlay *o)
{
	if (o == NULL)
		return;
	json_decref(o->entries);
	free(o);
}

int overlay_copy(const struct overlay *o, struct overlay **ret)
{
	struct overlay *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->entries = json_deep_copy(o->entries)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* The kind member of an entry ("attach", "detached", "settings") and its
 * object, or NULL. */
static const char *entry_kind(json_t *e, json_t **ret_body)
{
	static const char *const kinds[] = {"attach", "detached", "settings"};
	json_t *body;

	if (!json_is_object(e) || json_object_size(e) != 1)
		return NULL;
	for (size_t i = 0; i < N_ELEMENTS(kinds); i++)
		if ((body = json_object_get(e, kinds[i])) != NULL && json_is_object(body)) {
			*ret_body = body;
			return kinds[i];
		}
	return NULL;
}

int overlay_set(struct overlay *o, const char *name, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *e, *body;

	if (text == NULL) {
		(void)json_object_del(o->entries, name);
		return 0;
	}
	if (strlen(text) > OVERLAY_MAX_ENTRY)
		return conf_errf(err, errlen, -E2BIG, "overlay '%s': larger than %zu bytes", name,
		                 OVERLAY_MAX_ENTRY);
	e = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (e == NULL)
		return conf_errf(err, errlen, -EINVAL, "overlay '%s': %s", name, je.text);
	if (entry_kind(e, &body) == NULL) {
		json_decref(e);
		return conf_errf(err, errlen, -EINVAL,
		                 "overlay '%s': expected one of attach, detached, settings", name);
	}
	if (json_object_set_new(o->entries, name, e) < 0)
		return conf_errf(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

int overlay_get(const struct overlay *o, const char *name, char **ret)
{
	json_t *e = json_object_get(o->entries, name);
	char *text = NULL;

	if (e != NULL && (text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return -ENOMEM;
	*ret = text;
	return 0;
}

const char *overlay_source(const struct overlay *o, const char *name)
{
	json_t *body = NULL;
	const char *kind = entry_kind(json_object_get(o->entries, name), &body);

	return kind != NULL && strcmp(kind, "attach") == 0 ? "admin" : "file";
}

/* ---- composing ---- */

/* The capacity conf's grown arrays imply for n items (conf.c: 4, then the
 * next power of two): arrays built here must have it, conf_attach_add may
 * append. */
static size_t conf_capacity(size_t n)
{
	size_t cap = 4;

	while (cap < n)
		cap *= 2;
	return cap;
}

/* A new configuration with file's [daemon] settings and copies of its
 * attaches. */
static int conf_copy(const struct conf *file, struct conf **ret, char *err, size_t errlen)
{
	struct conf tmp = *file, *c = NULL;
	char *text;
	int r;

	tmp.nattach = 0;
	tmp.attach = NULL;
	if ((text = conf_dump(&tmp)) == NULL)
		return conf_errf(err, errlen, -ENOMEM, "out of memory");
	r = conf_parse("(effective configuration)", text, strlen(text), CONF_SKIP_SECRETS, &c, err,
	               errlen);
	free(text);
	if (r < 0)
		return r;
	if (file->nattach > 0 &&
	    (c->attach = calloc(conf_capacity(file->nattach), sizeof(*c->attach))) == NULL)
		r = conf_errf(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < file->nattach; i++) {
		r = conf_attach_copy(file->attach[i], &c->attach[i]);
		if (r == 0)
			c->nattach++;
		else
			(void)conf_errf(err, errlen, r, "out of memory");
	}
	if (r < 0) {
		conf_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Adds a to c or replaces the attach of its name; steals a on success. */
static int put_attach(struct conf *c, struct conf_attach *a, char *err, size_t errlen)
{
	if (conf_attach_find(c, a->name) != NULL)
		return conf_attach_replace(c, a, err, errlen);
	return conf_attach_add(c, a, err, errlen);
}

/* Moves the secrets of the file's attach fa into a (which was built from
 * JSON, which has none). */
static int take_secrets(struct conf_attach *a, const struct conf_attach *fa)
{
	free(a->account_key);
	free(a->sas_token);
	a->account_key = fa->account_key != NULL ? strdup(fa->account_key) : NULL;
	a->sas_token = fa->sas_token != NULL ? strdup(fa->sas_token) : NULL;
	a->secret_too_open = fa->secret_too_open;
	if ((fa->account_key != NULL && a->account_key == NULL) ||
	    (fa->sas_token != NULL && a->sas_token == NULL))
		return -ENOMEM;
	return 0;
}

/* The file's attach JSON with the settings' members set or removed. */
static int apply_settings(struct conf *c, const struct conf_attach *fa, json_t *settings, char *err,
                          size_t errlen)
{
	json_t *j = conf_attach_to_json(fa), *v;
	struct conf_attach *a = NULL;
	const char *key;
	int r = j == NULL ? -ENOMEM : 0;

	json_object_foreach(settings, key, v)
	{
		if (r == 0 && json_is_null(v))
			(void)json_object_del(j, key);
		else if (r == 0 && json_object_set(j, key, v) < 0)
			r = -ENOMEM;
	}
	if (r == -ENOMEM)
		(void)conf_errf(err, errlen, r, "out of memory");
	if (r == 0)
		r = conf_attach_from_json(j, CONF_SKIP_SECRETS, &a, err, errlen);
	if (r == 0 && (r = take_secrets(a, fa)) < 0)
		(void)conf_errf(err, errlen, r, "out of memory");
	if (r == 0)
		r = put_attach(c, a, err, errlen);
	if (r < 0)
		conf_attach_free(a);
	json_decref(j);
	return r;
}

static bool same_section(const struct conf_attach *fa, json_t *saved)
{
	json_t *j = conf_attach_to_json(fa);
	bool same = j != NULL && json_equal(j, saved);

	json_decref(j);
	return same;
}

static int apply_entry(struct conf *c, const struct conf *file, const char *name, json_t *e,
                       char *err, size_t errlen)
{
	const struct conf_attach *fa = conf_attach_find(file, name);
	struct conf_attach *a = NULL;
	json_t *body = NULL;
	const char *kind = entry_kind(e, &body);
	int r;

	if (kind == NULL)
		return conf_errf(err, errlen, -EINVAL, "malformed entry");
	if (strcmp(kind, "detached") == 0) {
		if (fa != NULL && same_section(fa, body))
			return conf_attach_remove(c, name);
		return 0; /* the file's section changed or went: nothing hidden */
	}
	if (strcmp(kind, "settings") == 0)
		return fa != NULL ? apply_settings(c, fa, body, err, errlen) : 0;
	r = conf_attach_from_json(body, 0, &a, err, errlen);
	if (r == 0 && strcmp(a->name, name) != 0)
		r = conf_errf(err, errlen, -EINVAL, "name: '%s' is not the entry's name", a->name);
	if (r == 0)
		r = put_attach(c, a, err, errlen);
	if (r < 0)
		conf_attach_free(a);
	return r;
}

int overlay_compose(const struct overlay *o, const struct conf *file, const char *strict,
                    overlay_warn_fn *warn, void *arg, struct conf **ret, char *err, size_t errlen)
{
	char why[CONF_ERRLEN];
	struct conf *c = NULL;
	const char *name;
	json_t *e;
	int r = conf_copy(file, &c, err, errlen);

	if (r < 0)
		return r;
	json_object_foreach(o->entries, name, e)
	{
		why[0] = '\0';
		r = apply_entry(c, file, name, e, why, sizeof(why));
		if (r < 0 && (r == -ENOMEM || (strict != NULL && strcmp(strict, name) == 0))) {
			(void)conf_errf(err, errlen, r, "%s", why);
			conf_free(c);
			return r;
		}
		if (r < 0 && warn != NULL)
			warn(arg, name, r, why);
	}
	*ret = c;
	return 0;
}

/* ---- building entries ---- */

static int dump_entry(const char *kind, json_t *body, char **ret)
{
	json_t *e = body != NULL ? json_pack("{s:o}", kind, body) : NULL;
	char *text = e != NULL ? json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(e);
	if (text == NULL)
		return -ENOMEM;
	*ret = text;
	return 0;
}

int overlay_entry_attach(const struct conf_attach *a, char **ret)
{
	return dump_entry("attach", conf_attach_to_json(a), ret);
}

int overlay_entry_detach(const struct conf *file, const char *name, char **ret)
{
	const struct conf_attach *fa = conf_attach_find(file, name);

	if (fa == NULL) {
		*ret = NULL;
		return 0;
	}
	return dump_entry("detached", conf_attach_to_json(fa), ret);
}

static bool same_value(json_t *a, json_t *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && json_equal(a, b));
}

/* Updates settings with the members of the setting keys that differ
 * between jc and jn: dropped when back to the file's (jf), else set. */
static int merge_settings(json_t *settings, json_t *jc, json_t *jn, json_t *jf)
{
	for (size_t i = 0; i < N_ELEMENTS(setting_keys); i++) {
		const char *k = setting_keys[i];
		json_t *vn = json_object_get(jn, k);

		if (same_value(vn, json_object_get(jc, k)))
			continue;
		if (same_value(vn, json_object_get(jf, k)))
			(void)json_object_del(settings, k);
		else if (json_object_set_new(settings, k,
		                             vn != NULL ? json_incref(vn) : json_null()) < 0)
			return -ENOMEM;
	}
	return 0;
}

int overlay_entry_settings(const struct overlay *o, const struct conf *file,
                           const struct conf_attach *cur, const struct conf_attach *next,
                           char **ret)
{
	json_t *e = json_object_get(o->entries, next->name), *body = NULL;
	const char *kind = entry_kind(e, &body);
	const struct conf_attach *fa = conf_attach_find(file, next->name);
	json_t *jc = NULL, *jn = NULL, *jf = NULL, *settings = NULL;
	int r = -ENOMEM;

	if ((kind != NULL && strcmp(kind, "attach") == 0) || fa == NULL)
		return overlay_entry_attach(next, ret);
	jc = conf_attach_to_json(cur);
	jn = conf_attach_to_json(next);
	jf = conf_attach_to_json(fa);
	if (kind != NULL && strcmp(kind, "settings") == 0)
		settings = json_deep_copy(body);
	else
		settings = json_object();
	if (jc == NULL || jn == NULL || jf == NULL || settings == NULL ||
	    merge_settings(settings, jc, jn, jf) < 0)
		goto out;
	*ret = NULL;
	r = 0;
	if (json_object_size(settings) > 0) {
		r = dump_entry("settings", settings, ret);
		settings = NULL; /* stolen */
	}
out:
	json_decref(settings);
	json_decref(jc);
	json_decref(jn);
	json_decref(jf);
	return r;
}
