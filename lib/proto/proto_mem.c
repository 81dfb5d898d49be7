/*
 * proto_mem — releasing and copying the protocol's structs (proto.h).
 *
 * Every clear function accepts a half-built struct: the decoders allocate
 * arrays zeroed and set their counts first, so a failure part-way through
 * leaves only NULL pointers past the point reached, and clearing is safe.
 */
#include "proto/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void proto_entity_clear(struct proto_entity *e)
{
	if (e == NULL)
		return;
	free(e->name);
	for (size_t i = 0; i < e->ncolumns; i++)
		free(e->columns[i].name);
	free(e->columns);
	free(e->folder);
	free(e->docstring);
	free(e->location);
	free(e->source);
	free(e->query);
	memset(e, 0, sizeof(*e));
}

void proto_extent_clear(struct proto_extent *e)
{
	if (e == NULL)
		return;
	free(e->table);
	free_strv(e->tags, e->ntags);
	for (size_t i = 0; i < e->nartifacts; i++) {
		free(e->artifacts[i].name);
		free(e->artifacts[i].path);
		free(e->artifacts[i].format_text);
		free(e->artifacts[i].compression_text);
	}
	free(e->artifacts);
	for (size_t i = 0; i < e->nstats; i++) {
		free(e->stats[i].name);
		free(e->stats[i].min);
		free(e->stats[i].max);
	}
	free(e->stats);
	memset(e, 0, sizeof(*e));
}

void proto_caching_clear(struct proto_caching *c)
{
	if (c == NULL)
		return;
	free(c->windows);
	memset(c, 0, sizeof(*c));
}

void proto_action_clear(struct proto_action *a)
{
	if (a == NULL)
		return;
	proto_entity_clear(&a->entity);
	for (size_t i = 0; i < a->nextents; i++)
		proto_extent_clear(&a->extents[i]);
	free(a->extents);
	free(a->ids);
	free(a->table);
	proto_caching_clear(&a->caching);
	for (size_t i = 0; i < a->nprincipals; i++) {
		free(a->principals[i].fqn);
		free(a->principals[i].name);
	}
	free(a->principals);
	memset(a, 0, sizeof(*a));
}

void proto_head_db_clear(struct proto_head_db *d)
{
	if (d == NULL)
		return;
	free(d->name);
	free_strv(d->detached, d->ndetached);
	memset(d, 0, sizeof(*d));
}

void proto_head_free(struct proto_head *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->ndbs; i++)
		proto_head_db_clear(&h->dbs[i]);
	free(h->dbs);
	free(h);
}

void proto_commit_free(struct proto_commit *c)
{
	if (c == NULL)
		return;
	free(c->database);
	for (size_t i = 0; i < c->nactions; i++)
		proto_action_clear(&c->actions[i]);
	free(c->actions);
	free(c);
}

void proto_manifest_free(struct proto_manifest *m)
{
	if (m == NULL)
		return;
	free(m->database);
	for (size_t i = 0; i < m->nparts; i++)
		free(m->parts[i].path);
	free(m->parts);
	free(m);
}

/* strdup that keeps NULL as NULL; false only when out of memory. */
static bool dup_str(const char *s, char **ret)
{
	*ret = s != NULL ? strdup(s) : NULL;
	return s == NULL || *ret != NULL;
}

/* A zeroed array of n elements of size, or NULL when n is 0; false on ENOMEM. */
static bool alloc_array(size_t n, size_t size, void *ret)
{
	void *p = n > 0 ? calloc(n, size) : NULL;

	memcpy(ret, &p, sizeof(p));
	return n == 0 || p != NULL;
}

int proto_entity_copy(struct proto_entity *dst, const struct proto_entity *src)
{
	struct proto_entity e = {.kind = src->kind, .ncolumns = src->ncolumns};
	bool ok = dup_str(src->name, &e.name) && dup_str(src->folder, &e.folder) &&
	          dup_str(src->docstring, &e.docstring) && dup_str(src->location, &e.location) &&
	          dup_str(src->source, &e.source) && dup_str(src->query, &e.query) &&
	          alloc_array(src->ncolumns, sizeof(*e.columns), &e.columns);

	if (!ok)
		e.ncolumns = 0;
	for (size_t i = 0; ok && i < e.ncolumns; i++) {
		e.columns[i].type = src->columns[i].type;
		ok = dup_str(src->columns[i].name, &e.columns[i].name);
	}
	if (!ok) {
		proto_entity_clear(&e);
		return -ENOMEM;
	}
	*dst = e;
	return 0;
}

static bool copy_artifacts(struct proto_extent *e, const struct proto_extent *src)
{
	if (!alloc_array(src->nartifacts, sizeof(*e->artifacts), &e->artifacts))
		return false;
	e->nartifacts = src->nartifacts;
	for (size_t i = 0; i < e->nartifacts; i++) {
		struct proto_artifact *a = &e->artifacts[i];
		const struct proto_artifact *s = &src->artifacts[i];

		a->size = s->size;
		memcpy(a->sha256, s->sha256, sizeof(a->sha256));
		a->format = s->format;
		a->compression = s->compression;
		a->ignore_first_record = s->ignore_first_record;
		if (!dup_str(s->name, &a->name) || !dup_str(s->path, &a->path) ||
		    !dup_str(s->format_text, &a->format_text) ||
		    !dup_str(s->compression_text, &a->compression_text))
			return false;
	}
	return true;
}

static bool copy_stats(struct proto_extent *e, const struct proto_extent *src)
{
	if (!alloc_array(src->nstats, sizeof(*e->stats), &e->stats))
		return false;
	e->nstats = src->nstats;
	for (size_t i = 0; i < e->nstats; i++) {
		struct proto_colstat *c = &e->stats[i];
		const struct proto_colstat *s = &src->stats[i];

		c->nulls = s->nulls;
		if (!dup_str(s->name, &c->name) || !dup_str(s->min, &c->min) ||
		    !dup_str(s->max, &c->max))
			return false;
	}
	return true;
}

int proto_extent_copy(struct proto_extent *dst, const struct proto_extent *src)
{
	struct proto_extent e = *src;
	bool ok;

	e.table = NULL;
	e.tags = NULL;
	e.ntags = 0;
	e.artifacts = NULL;
	e.nartifacts = 0;
	e.stats = NULL;
	e.nstats = 0;
	ok = dup_str(src->table, &e.table) && alloc_array(src->ntags, sizeof(*e.tags), &e.tags);
	if (ok)
		e.ntags = src->ntags;
	for (size_t i = 0; ok && i < e.ntags; i++)
		ok = dup_str(src->tags[i], &e.tags[i]);
	if (!ok || !copy_artifacts(&e, src) || !copy_stats(&e, src)) {
		proto_extent_clear(&e);
		return -ENOMEM;
	}
	*dst = e;
	return 0;
}

int proto_caching_copy(struct proto_caching *dst, const struct proto_caching *src)
{
	struct proto_caching c = {.hot_span = src->hot_span, .nwindows = src->nwindows};

	if (!alloc_array(src->nwindows, sizeof(*c.windows), &c.windows))
		return -ENOMEM;
	if (c.nwindows > 0)
		memcpy(c.windows, src->windows, c.nwindows * sizeof(*c.windows));
	*dst = c;
	return 0;
}
