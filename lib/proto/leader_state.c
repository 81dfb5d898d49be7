/*
 * leader_state — the in-memory state of one leader database (see
 * leader_state.h for the contract).
 *
 * Layout: entities (tables, external tables, materialized views) live in
 * slots that never move, so an extent can name its table by slot number.
 * Extents are fixed-size records in one dense array; dropping one moves the
 * last record into its place.  An open-addressing hash table (linear probing,
 * backward-shift deletion) maps an extent id to its index.  Artifact names,
 * tags and non-canonical paths are interned in a string pool owned by the
 * state and freed with it.
 */
#include "proto/leader_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/evp.h>

#define LS_PATH_LEN 80 /* "artifacts/xx/" + 64 hex + NUL fits */
#define LS_UNKNOWN_LEN (2 * PROTO_MAX_FORMAT_NAME + 2)

struct ls_artifact {
	unsigned char sha[32];
	uint64_t size;
	char *name;          /* interned */
	char *path;          /* interned; NULL: the canonical artifacts/<sha[0:2]>/<sha> */
	uint8_t format;      /* enum proto_format */
	uint8_t compression; /* enum proto_compression */
	bool ignore_first_record;
	char *unknown; /* interned "format/compression" names this build does not know, or NULL */
};

/* 80 bytes: a million of them is 80 MB plus their artifact blocks. */
struct ls_extent {
	unsigned char id[16];
	uint32_t entity; /* slot */
	uint16_t nartifacts;
	uint16_t ntags;
	uint16_t nstats;
	int64_t min_created;
	int64_t max_created;
	uint64_t rows;
	uint64_t original_size;
	uint64_t compressed_size;
	/* ls_artifact[nartifacts], char *tags[ntags], proto_colstat[nstats]
	 * (names interned), then the statistics' min and max texts. */
	void *block;
};

struct ls_entity {
	struct proto_entity def;
	bool has_caching;
	bool has_retention;
	struct proto_caching caching;
	struct proto_retention retention;
	uint64_t nextents;
};

/* Open-addressing set of interned strings. */
struct ls_pool {
	char **slots;
	size_t cap;
	size_t n;
};

struct leader_state {
	char *database;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed;

	struct ls_entity **entities; /* slots; NULL once dropped */
	size_t nentities;
	size_t capentities;

	struct ls_extent *extents;
	size_t nextents;
	size_t capextents;
	uint32_t *index; /* extent index + 1, 0 = empty */
	size_t capindex; /* power of two */

	bool has_caching;
	bool has_retention;
	struct proto_caching caching;
	struct proto_retention retention;
	struct proto_principal *principals[PROTO_NROLES];
	size_t nprincipals[PROTO_NROLES];

	uint64_t rows;
	uint64_t bytes;
	struct ls_pool pool;
	/* The blocks of extents read from a snapshot, in one allocation: they
	 * are freed with it, never one by one. */
	char *arena;
	size_t arena_len;
};

/* Scratch space that turns compact extents into borrowed proto_extent views. */
struct ls_batch {
	struct proto_extent *ext;
	size_t capext;
	struct proto_artifact *art;
	char (*paths)[LS_PATH_LEN];
	char (*unknown)[LS_UNKNOWN_LEN];
	size_t capart;
};

static void seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, LEADER_STATE_ERRLEN, fmt, ap);
	va_end(ap);
}

/* ---- small values ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_parse(const char *s, size_t nbytes, unsigned char *ret)
{
	size_t i;

	for (i = 0; i < nbytes; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		ret[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static void hex_format(const unsigned char *b, size_t nbytes, char *ret)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < nbytes; i++) {
		ret[2 * i] = digits[b[i] >> 4];
		ret[2 * i + 1] = digits[b[i] & 15];
	}
	ret[2 * nbytes] = '\0';
}

int leader_state_uuid_parse(const char *s, unsigned char ret[16])
{
	static const size_t groups[5] = {4, 2, 2, 2, 6};
	unsigned char id[16];
	size_t g, at = 0, o = 0;

	if (!s || strlen(s) != PROTO_UUID_LEN)
		return -EINVAL;
	for (g = 0; g < 5; g++) {
		if (g > 0 && s[at++] != '-')
			return -EINVAL;
		if (hex_parse(s + at, groups[g], id + o) < 0)
			return -EINVAL;
		at += 2 * groups[g];
		o += groups[g];
	}
	memcpy(ret, id, 16);
	return 0;
}

void leader_state_uuid_format(const unsigned char id[16], char ret[PROTO_UUID_LEN + 1])
{
	char hex[33];

	hex_format(id, 16, hex);
	(void)snprintf(ret, PROTO_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	               hex + 16, hex + 20);
}

int leader_state_sha_parse(const char *s, unsigned char ret[32])
{
	unsigned char sha[32];

	if (!s || strlen(s) != PROTO_SHA256_LEN || hex_parse(s, 32, sha) < 0)
		return -EINVAL;
	memcpy(ret, sha, 32);
	return 0;
}

void leader_state_sha_format(const unsigned char sha[32], char ret[PROTO_SHA256_LEN + 1])
{
	hex_format(sha, 32, ret);
}

static void canonical_path(const char *sha_hex, char ret[LS_PATH_LEN])
{
	(void)snprintf(ret, LS_PATH_LEN, "artifacts/%.2s/%s", sha_hex, sha_hex);
}

/* ---- memory ---- */

/* Asks for huge pages under a big array: a million extents fill ~200 MB,
 * and faulting that in 4 KiB pages costs more than filling it. */
static void advise_huge(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t to = ((uintptr_t)p + n) & ~(huge - 1);

	if (to > from)
		(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}

/* ---- string pool ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int pool_grow(struct ls_pool *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64, i;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < p->cap; i++) {
		size_t j;

		if (!p->slots[i])
			continue;
		for (j = str_hash(p->slots[i]) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = p->slots[i];
	}
	free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

/* Returns the pool's copy of s (borrowed from the pool), NULL on ENOMEM. */
static char *pool_intern(struct ls_pool *p, const char *s)
{
	size_t j;

	if ((p->n + 1) * 2 > p->cap && pool_grow(p) < 0)
		return NULL;
	for (j = str_hash(s) & (p->cap - 1); p->slots[j]; j = (j + 1) & (p->cap - 1))
		if (strcmp(p->slots[j], s) == 0)
			return p->slots[j];
	p->slots[j] = strdup(s);
	if (p->slots[j])
		p->n++;
	return p->slots[j];
}

static void pool_clear(struct ls_pool *p)
{
	size_t i;

	for (i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

/* ---- extent id index ---- */

static size_t id_hash(const unsigned char id[16], size_t mask)
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ULL;
	a ^= a >> 31;
	a *= 0xbf58476d1ce4e5b9ULL;
	a ^= a >> 29;
	return (size_t)a & mask;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t index_slot(const struct leader_state *s, const unsigned char id[16])
{
	size_t mask = s->capindex - 1, j;

	for (j = id_hash(id, mask); s->index[j]; j = (j + 1) & mask)
		if (memcmp(s->extents[s->index[j] - 1].id, id, 16) == 0)
			break;
	return j;
}

static int index_grow(struct leader_state *s)
{
	size_t cap = s->capindex ? s->capindex * 2 : 1024, i;
	uint32_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	advise_huge(index, cap * sizeof(*index));
	free(s->index);
	s->index = index;
	s->capindex = cap;
	for (i = 0; i < s->nextents; i++)
		s->index[index_slot(s, s->extents[i].id)] = (uint32_t)(i + 1);
	return 0;
}

static ssize_t find_extent(const struct leader_state *s, const unsigned char id[16])
{
	size_t j;

	if (!s->capindex)
		return -1;
	j = index_slot(s, id);
	return s->index[j] ? (ssize_t)s->index[j] - 1 : -1;
}

/* Empties slot j and shifts back the entries after it that probed past it. */
static void index_remove_slot(struct leader_state *s, size_t j)
{
	size_t mask = s->capindex - 1, k = j;

	for (;;) {
		size_t home;

		k = (k + 1) & mask;
		if (!s->index[k])
			break;
		home = id_hash(s->extents[s->index[k] - 1].id, mask);
		/* Entry k may move to j unless its home lies cyclically in (j, k]. */
		if ((j < k) ? (home <= j || home > k) : (home <= j && home > k)) {
			s->index[j] = s->index[k];
			j = k;
		}
	}
	s->index[j] = 0;
}

/* ---- entities ---- */

static struct ls_entity *entity_find(const struct leader_state *s, const char *name,
                                     uint32_t *ret_slot)
{
	size_t i;

	for (i = 0; i < s->nentities; i++) {
		struct ls_entity *e = s->entities[i];

		if (e && strcmp(e->def.name, name) == 0) {
			if (ret_slot)
				*ret_slot = (uint32_t)i;
			return e;
		}
	}
	return NULL;
}

static const char *kind_word(enum proto_kind k)
{
	switch (k) {
	case PROTO_TABLE:
		return "table";
	case PROTO_EXTERNAL_TABLE:
		return "external table";
	case PROTO_MATERIALIZED_VIEW:
		return "materialized view";
	}
	return "entity";
}

static void entity_free(struct ls_entity *e)
{
	if (!e)
		return;
	proto_entity_clear(&e->def);
	proto_caching_clear(&e->caching);
	free(e);
}

/* ---- extent blocks ---- */

static void block_free(const struct leader_state *s, void *block)
{
	if ((char *)block < s->arena || (char *)block >= s->arena + s->arena_len)
		free(block);
}

/* ---- lifetime ---- */

int leader_state_new(const char *database, const char *uuid, struct leader_state **ret)
{
	struct leader_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->database = strdup(database);
	if (!s->database) {
		free(s);
		return -ENOMEM;
	}
	(void)snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
	*ret = s;
	return 0;
}

static void principals_free(struct proto_principal *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].fqn);
		free(p[i].name);
	}
	free(p);
}

void leader_state_free(struct leader_state *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nentities; i++)
		entity_free(s->entities[i]);
	free(s->entities);
	for (i = 0; i < s->nextents; i++)
		block_free(s, s->extents[i].block);
	free(s->arena);
	free(s->extents);
	free(s->index);
	proto_caching_clear(&s->caching);
	for (i = 0; i < PROTO_NROLES; i++)
		principals_free(s->principals[i], s->nprincipals[i]);
	pool_clear(&s->pool);
	free(s->database);
	free(s);
}

const char *leader_state_database(const struct leader_state *s)
{
	return s->database;
}

const char *leader_state_uuid(const struct leader_state *s)
{
	return s->uuid;
}

uint64_t leader_state_version(const struct leader_state *s)
{
	return s->version;
}

int64_t leader_state_committed(const struct leader_state *s)
{
	return s->committed;
}

void leader_state_set_version(struct leader_state *s, uint64_t version, int64_t committed)
{
	s->version = version;
	s->committed = committed;
}

void leader_state_counts(const struct leader_state *s, struct proto_counts *ret)
{
	struct proto_counts c = {0};
	size_t i;

	for (i = 0; i < s->nentities; i++) {
		const struct ls_entity *e = s->entities[i];

		if (!e)
			continue;
		if (e->def.kind == PROTO_TABLE)
			c.tables++;
		else if (e->def.kind == PROTO_EXTERNAL_TABLE)
			c.external_tables++;
		else
			c.materialized_views++;
	}
	c.extents = s->nextents;
	c.rows = s->rows;
	c.bytes = s->bytes;
	*ret = c;
}

size_t leader_state_nextents(const struct leader_state *s)
{
	return s->nextents;
}

/* ---- checks shared by several actions ---- */

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first string that appears twice among n, or NULL. */
static const char *first_duplicate(const char **v, size_t n, int *ret_err)
{
	const char **sorted;
	const char *dup = NULL;
	size_t i;

	*ret_err = 0;
	if (n < 2)
		return NULL;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str_ptr);
	for (i = 1; i < n && !dup; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			dup = sorted[i];
	free(sorted);
	return dup;
}

static int check_columns(const struct leader_state *s, const struct proto_entity *e, char *err)
{
	const char **names;
	const char *dup;
	size_t i;
	int r;

	if (e->ncolumns == 0) {
		seterr(err, "%s '%s': no columns", kind_word(e->kind), e->name);
		return -EINVAL;
	}
	names = malloc(e->ncolumns * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (i = 0; i < e->ncolumns; i++)
		names[i] = e->columns[i].name;
	dup = first_duplicate(names, e->ncolumns, &r);
	if (dup)
		seterr(err, "%s '%s': column '%s' appears twice", kind_word(e->kind), e->name, dup);
	free(names);
	return r < 0 ? r : dup ? -EINVAL : 0;
}

/* Checks a definition's kind-specific members against the state. */
static int check_entity(const struct leader_state *s, const struct proto_entity *e, char *err)
{
	const struct ls_entity *src;
	int r = check_columns(s, e, err);

	if (r < 0)
		return r;
	if (e->kind == PROTO_EXTERNAL_TABLE && (!e->location || !*e->location)) {
		seterr(err, "external table '%s': no location", e->name);
		return -EINVAL;
	}
	if (e->kind != PROTO_MATERIALIZED_VIEW)
		return 0;
	if (!e->query || !*e->query || !e->source || !*e->source) {
		seterr(err, "materialized view '%s': no %s", e->name,
		       (!e->source || !*e->source) ? "source" : "query");
		return -EINVAL;
	}
	src = entity_find(s, e->source, NULL);
	if (!src || src->def.kind != PROTO_TABLE) {
		seterr(err,
		       "materialized view '%s': source table '%s' does not exist in database %s",
		       e->name, e->source, s->database);
		return -EINVAL;
	}
	return 0;
}

/* The entity name of the given kind, or an error naming what is wrong. */
static struct ls_entity *entity_of_kind(const struct leader_state *s, const char *name,
                                        enum proto_kind kind, uint32_t *ret_slot, char *err)
{
	struct ls_entity *e = entity_find(s, name, ret_slot);

	if (!e)
		seterr(err, "%s '%s' does not exist in database %s", kind_word(kind), name,
		       s->database);
	else if (e->def.kind != kind)
		seterr(err, "'%s' is a%s %s, not a%s %s", name,
		       e->def.kind == PROTO_EXTERNAL_TABLE ? "n" : "", kind_word(e->def.kind),
		       kind == PROTO_EXTERNAL_TABLE ? "n" : "", kind_word(kind));
	return e && e->def.kind == kind ? e : NULL;
}

/* ---- entity actions ---- */

static int apply_create(struct leader_state *s, const struct proto_entity *def, char *err)
{
	struct ls_entity *e, *old = entity_find(s, def->name, NULL);
	int r;

	if (old) {
		seterr(err, "%s '%s' already exists in database %s", kind_word(old->def.kind),
		       def->name, s->database);
		return -EINVAL;
	}
	r = check_entity(s, def, err);
	if (r < 0)
		return r;
	if (s->nentities == UINT32_MAX)
		return -E2BIG;
	if (s->nentities == s->capentities) {
		size_t cap = s->capentities ? s->capentities * 2 : 16;
		struct ls_entity **v = realloc(s->entities, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->entities = v;
		s->capentities = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (proto_entity_copy(&e->def, def) < 0) {
		free(e);
		return -ENOMEM;
	}
	s->entities[s->nentities++] = e;
	return 0;
}

static int apply_alter(struct leader_state *s, const struct proto_entity *def, char *err)
{
	struct ls_entity *e = entity_of_kind(s, def->name, def->kind, NULL, err);
	struct proto_entity copy;
	int r;

	if (!e)
		return -EINVAL;
	r = check_entity(s, def, err);
	if (r < 0)
		return r;
	if (proto_entity_copy(&copy, def) < 0)
		return -ENOMEM;
	proto_entity_clear(&e->def);
	e->def = copy;
	return 0;
}

static void remove_extent_at(struct leader_state *s, size_t i);

static int apply_drop(struct leader_state *s, const struct proto_entity *def, char *err)
{
	uint32_t slot;
	struct ls_entity *e = entity_of_kind(s, def->name, def->kind, &slot, err);
	size_t i;

	if (!e)
		return -EINVAL;
	for (i = 0; e->def.kind == PROTO_TABLE && i < s->nentities; i++) {
		const struct ls_entity *v = s->entities[i];

		if (v && v->def.kind == PROTO_MATERIALIZED_VIEW &&
		    strcmp(v->def.source, def->name) == 0) {
			seterr(err, "table '%s' is the source of materialized view '%s'", def->name,
			       v->def.name);
			return -EINVAL;
		}
	}
	/* Backwards, because removal moves the last extent into the hole. */
	for (i = s->nextents; i-- > 0 && e->nextents > 0;)
		if (s->extents[i].entity == slot)
			remove_extent_at(s, i);
	entity_free(e);
	s->entities[slot] = NULL;
	return 0;
}

/* ---- extents ---- */

static struct ls_artifact *extent_artifacts(const struct ls_extent *x)
{
	return x->block;
}

static char **extent_tags(const struct ls_extent *x)
{
	return (char **)((struct ls_artifact *)x->block + x->nartifacts);
}

static struct proto_colstat *extent_stats(const struct ls_extent *x)
{
	return (struct proto_colstat *)(extent_tags(x) + x->ntags);
}

static void remove_extent_at(struct leader_state *s, size_t i)
{
	struct ls_extent *x = &s->extents[i];
	struct ls_artifact *a = extent_artifacts(x);
	size_t k, last = s->nextents - 1;

	index_remove_slot(s, index_slot(s, x->id));
	s->rows -= x->rows;
	for (k = 0; k < x->nartifacts; k++)
		s->bytes -= a[k].size;
	s->entities[x->entity]->nextents--;
	block_free(s, x->block);
	if (i != last) {
		s->extents[i] = s->extents[last];
		s->index[index_slot(s, s->extents[i].id)] = (uint32_t)(i + 1);
	}
	s->nextents--;
}

/* The entity an extent may be added to, by table name. */
static int extent_entity(const struct leader_state *s, const char *table, uint32_t *ret_slot,
                         char *err)
{
	struct ls_entity *e = entity_find(s, table, ret_slot);

	if (!e) {
		seterr(err, "table '%s' does not exist in database %s", table, s->database);
		return -EINVAL;
	}
	if (e->def.kind == PROTO_EXTERNAL_TABLE) {
		seterr(err, "'%s' is an external table: it has no extents", table);
		return -EINVAL;
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Refuses an id that appears twice among n binary ids (sorted in place). */
static int check_unique(unsigned char (*ids)[16], size_t n, const char *what, char *err)
{
	size_t i;

	if (n < 2)
		return 0;
	qsort(ids, n, 16, cmp_id);
	for (i = 1; i < n; i++) {
		if (memcmp(ids[i - 1], ids[i], 16) == 0) {
			char text[PROTO_UUID_LEN + 1];

			leader_state_uuid_format(ids[i], text);
			seterr(err, "extent %s appears twice in %s", text, what);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks everything about new extents that could fail, before any change. */
static int check_new_extents(const struct leader_state *s, const struct proto_extent *v, size_t n,
                             char *err)
{
	unsigned char(*ids)[16] = n ? malloc(n * 16) : NULL;
	const char *checked_table = NULL;
	size_t i;
	int r = -EINVAL;
	uint32_t slot;

	if (n && !ids)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct proto_extent *e = &v[i];

		if (leader_state_uuid_parse(e->id, ids[i]) < 0) {
			seterr(err, "extents[%zu]: id '%s' is not a uuid", i, e->id);
			goto out;
		}
		if (find_extent(s, ids[i]) >= 0) {
			seterr(err, "extent %s already exists in database %s", e->id, s->database);
			goto out;
		}
		if (!checked_table || strcmp(checked_table, e->table) != 0) {
			if (extent_entity(s, e->table, &slot, err) < 0)
				goto out;
			checked_table = e->table;
		}
		if (e->min_created > e->max_created) {
			seterr(err, "extent %s: min_created is after max_created", e->id);
			goto out;
		}
		if (e->nartifacts > PROTO_MAX_ARTIFACTS || e->ntags > PROTO_MAX_TAGS ||
		    e->nstats > PROTO_MAX_COLUMNS) {
			seterr(err, "extent %s: too many artifacts or tags", e->id);
			goto out;
		}
	}
	r = check_unique(ids, n, "the same action", err);
out:
	free(ids);
	return r;
}

static int fill_artifact(struct leader_state *s, struct ls_artifact *a,
                         const struct proto_artifact *p)
{
	char canon[LS_PATH_LEN];

	if (leader_state_sha_parse(p->sha256, a->sha) < 0)
		return -EINVAL;
	a->size = p->size;
	a->name = pool_intern(&s->pool, p->name ? p->name : "");
	canonical_path(p->sha256, canon);
	a->path = strcmp(canon, p->path) == 0 ? NULL : pool_intern(&s->pool, p->path);
	if (!a->name || (!a->path && strcmp(canon, p->path) != 0))
		return -ENOMEM;
	a->format = (uint8_t)p->format;
	a->compression = (uint8_t)p->compression;
	a->ignore_first_record = p->ignore_first_record;
	if (p->format_text || p->compression_text) {
		char both[2 * PROTO_MAX_FORMAT_NAME + 2];

		(void)snprintf(both, sizeof(both), "%s/%s", p->format_text ? p->format_text : "",
		               p->compression_text ? p->compression_text : "");
		a->unknown = pool_intern(&s->pool, both);
		if (!a->unknown)
			return -ENOMEM;
	}
	return 0;
}

/* Bytes of the statistics' min and max texts, with their NULs. */
static size_t stats_text_bytes(const struct proto_colstat *c, size_t nstats)
{
	size_t n = 0;

	for (size_t k = 0; k < nstats; k++)
		n += (c[k].min ? strlen(c[k].min) + 1 : 0) + (c[k].max ? strlen(c[k].max) + 1 : 0);
	return n;
}

/* The bytes of an extent's block: rounded up to 8, so that blocks laid end
 * to end (a snapshot's arena) keep their pointers and integers aligned. */
static size_t block_size(size_t nartifacts, size_t ntags, size_t nstats, size_t texts)
{
	size_t n = nartifacts * sizeof(struct ls_artifact) + ntags * sizeof(char *) +
	           nstats * sizeof(struct proto_colstat) + texts;

	return (n + 7) & ~(size_t)7;
}

/* Copies s to *at and advances it; NULL stays NULL. */
static char *put_text(char **at, const char *s)
{
	char *p = *at;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(p, s, n);
	*at += n;
	return p;
}

/* Fills the statistics of x (its block holds room for them). */
static int fill_stats(struct leader_state *s, struct ls_extent *x, const struct proto_extent *e)
{
	struct proto_colstat *c = extent_stats(x);
	char *at = (char *)(c + e->nstats);

	for (size_t k = 0; k < e->nstats; k++) {
		c[k].name = pool_intern(&s->pool, e->stats[k].name);
		if (!c[k].name)
			return -ENOMEM;
		c[k].nulls = e->stats[k].nulls;
		c[k].type = e->stats[k].type;
		c[k].min = put_text(&at, e->stats[k].min);
		c[k].max = put_text(&at, e->stats[k].max);
	}
	return 0;
}

/* Builds the compact record of a checked extent in *x. */
static int compact_extent(struct leader_state *s, const struct proto_extent *e, uint32_t slot,
                          struct ls_extent *x, char *err)
{
	size_t k;
	char **tags;

	memset(x, 0, sizeof(*x));
	(void)leader_state_uuid_parse(e->id, x->id);
	x->entity = slot;
	x->nartifacts = (uint16_t)e->nartifacts;
	x->ntags = (uint16_t)e->ntags;
	x->min_created = e->min_created;
	x->max_created = e->max_created;
	x->rows = e->rows;
	x->original_size = e->original_size;
	x->compressed_size = e->compressed_size;
	x->nstats = (uint16_t)e->nstats;
	if (e->nartifacts + e->ntags + e->nstats == 0)
		return 0;
	x->block = calloc(1, block_size(e->nartifacts, e->ntags, e->nstats,
	                                stats_text_bytes(e->stats, e->nstats)));
	if (!x->block || fill_stats(s, x, e) < 0) {
		free(x->block);
		return -ENOMEM;
	}
	for (k = 0; k < e->nartifacts; k++) {
		int r = fill_artifact(s, &extent_artifacts(x)[k], &e->artifacts[k]);

		if (r < 0) {
			seterr(err, "extent %s: artifacts[%zu]: %s", e->id, k,
			       r == -ENOMEM ? "out of memory" : "bad sha256");
			free(x->block);
			return r;
		}
	}
	tags = extent_tags(x);
	for (k = 0; k < e->ntags; k++) {
		tags[k] = pool_intern(&s->pool, e->tags[k]);
		if (!tags[k]) {
			free(x->block);
			return -ENOMEM;
		}
	}
	return 0;
}

static int reserve_extents(struct leader_state *s, size_t n)
{
	size_t need = s->nextents + n;

	if (need > UINT32_MAX - 1)
		return -E2BIG;
	if (need > s->capextents) {
		size_t cap = s->capextents ? s->capextents : 1024;
		struct ls_extent *v;

		while (cap < need)
			cap *= 2;
		v = realloc(s->extents, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		advise_huge(v, cap * sizeof(*v));
		s->extents = v;
		s->capextents = cap;
	}
	while (need * 2 > s->capindex)
		if (index_grow(s) < 0)
			return -ENOMEM;
	return 0;
}

/* Adds checked extents; on ENOMEM the ones added so far are removed again. */
static int add_checked(struct leader_state *s, const struct proto_extent *v, size_t n, char *err)
{
	size_t i, first = s->nextents;
	uint32_t slot = 0;
	const char *last_table = NULL;
	int r = reserve_extents(s, n);

	for (i = 0; r == 0 && i < n; i++) {
		struct ls_extent *x = &s->extents[s->nextents];
		size_t k;

		/* Consecutive extents usually share a table: skip the lookup. */
		if (!last_table || strcmp(last_table, v[i].table) != 0)
			(void)entity_find(s, v[i].table, &slot);
		last_table = v[i].table;
		r = compact_extent(s, &v[i], slot, x, err);
		if (r < 0)
			break;
		s->index[index_slot(s, x->id)] = (uint32_t)(s->nextents + 1);
		s->nextents++;
		s->entities[slot]->nextents++;
		s->rows += x->rows;
		for (k = 0; k < x->nartifacts; k++)
			s->bytes += extent_artifacts(x)[k].size;
	}
	while (r < 0 && s->nextents > first)
		remove_extent_at(s, s->nextents - 1);
	return r;
}

/* Checks that every id is a uuid of an extent of the state, named once. */
static int check_drop_ids(const struct leader_state *s, const char (*ids)[PROTO_UUID_LEN + 1],
                          size_t n, char *err)
{
	unsigned char(*bin)[16] = n ? malloc(n * 16) : NULL;
	size_t i;
	int r = -EINVAL;

	if (n && !bin)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (leader_state_uuid_parse(ids[i], bin[i]) < 0) {
			seterr(err, "ids[%zu]: '%s' is not a uuid", i, ids[i]);
			goto out;
		}
		if (find_extent(s, bin[i]) < 0) {
			seterr(err, "extent %s not found in database %s", ids[i], s->database);
			goto out;
		}
	}
	r = check_unique(bin, n, "the list of extents to drop", err);
out:
	free(bin);
	return r;
}

static void drop_checked(struct leader_state *s, const char (*ids)[PROTO_UUID_LEN + 1], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char id[16];

		(void)leader_state_uuid_parse(ids[i], id);
		remove_extent_at(s, (size_t)find_extent(s, id));
	}
}

static int apply_extents(struct leader_state *s, const struct proto_action *a, char *err)
{
	int r = 0;

	if (a->op != PROTO_OP_ADD_EXTENTS)
		r = check_drop_ids(s, a->ids, a->nids, err);
	if (r == 0 && a->op != PROTO_OP_DROP_EXTENTS)
		r = check_new_extents(s, a->extents, a->nextents, err);
	if (r < 0)
		return r;
	/* A merge may not re-add an id it drops: check_new_extents saw it present. */
	if (a->op != PROTO_OP_ADD_EXTENTS)
		drop_checked(s, a->ids, a->nids);
	if (a->op != PROTO_OP_DROP_EXTENTS)
		r = add_checked(s, a->extents, a->nextents, err);
	return r;
}

/* ---- policies and principals ---- */

/* The entity a policy may be set on (NULL table: the database, *ret NULL). */
static int policy_target(struct leader_state *s, const char *table, struct ls_entity **ret,
                         char *err)
{
	struct ls_entity *e;

	*ret = NULL;
	if (!table)
		return 0;
	e = entity_find(s, table, NULL);
	if (!e) {
		seterr(err, "table '%s' does not exist in database %s", table, s->database);
		return -EINVAL;
	}
	if (e->def.kind == PROTO_EXTERNAL_TABLE) {
		seterr(err, "'%s' is an external table: it takes no caching or retention policy",
		       table);
		return -EINVAL;
	}
	*ret = e;
	return 0;
}

static int apply_caching(struct leader_state *s, const struct proto_action *a, char *err)
{
	struct ls_entity *e;
	struct proto_caching copy = {0};
	size_t i;
	int r = policy_target(s, a->table, &e, err);

	if (r < 0)
		return r;
	for (i = 0; a->has_policy && i < a->caching.nwindows; i++) {
		if (a->caching.windows[i].min > a->caching.windows[i].max) {
			seterr(err, "caching policy: hot window %zu ends before it starts", i);
			return -EINVAL;
		}
	}
	if (a->caching.hot_span < 0) {
		seterr(err, "caching policy: negative hot span");
		return -EINVAL;
	}
	if (a->has_policy && proto_caching_copy(&copy, &a->caching) < 0)
		return -ENOMEM;
	proto_caching_clear(e ? &e->caching : &s->caching);
	*(e ? &e->caching : &s->caching) = copy;
	*(e ? &e->has_caching : &s->has_caching) = a->has_policy;
	return 0;
}

static int apply_retention(struct leader_state *s, const struct proto_action *a, char *err)
{
	struct ls_entity *e;
	int r = policy_target(s, a->table, &e, err);

	if (r < 0)
		return r;
	if (a->has_policy && a->retention.soft_delete < 0) {
		seterr(err, "retention policy: negative soft delete period");
		return -EINVAL;
	}
	*(e ? &e->retention : &s->retention) = a->retention;
	*(e ? &e->has_retention : &s->has_retention) = a->has_policy;
	return 0;
}

static int apply_principals(struct leader_state *s, const struct proto_action *a, char *err)
{
	struct proto_principal *copy = NULL;
	const char **fqns = NULL;
	const char *dup;
	size_t i;
	int r = 0;

	if ((unsigned)a->role >= PROTO_NROLES)
		return -EINVAL;
	if (a->nprincipals) {
		copy = calloc(a->nprincipals, sizeof(*copy));
		fqns = malloc(a->nprincipals * sizeof(*fqns));
		if (!copy || !fqns)
			r = -ENOMEM;
	}
	for (i = 0; r == 0 && i < a->nprincipals; i++) {
		fqns[i] = a->principals[i].fqn;
		copy[i].fqn = strdup(a->principals[i].fqn);
		copy[i].name = strdup(a->principals[i].name ? a->principals[i].name : "");
		if (!copy[i].fqn || !copy[i].name)
			r = -ENOMEM;
	}
	dup = r == 0 ? first_duplicate(fqns, a->nprincipals, &r) : NULL;
	if (dup) {
		seterr(err, "principal '%s' appears twice in role %s", dup,
		       proto_role_name(a->role));
		r = -EINVAL;
	}
	free(fqns);
	if (r < 0) {
		principals_free(copy, copy ? a->nprincipals : 0);
		return r;
	}
	principals_free(s->principals[a->role], s->nprincipals[a->role]);
	s->principals[a->role] = copy;
	s->nprincipals[a->role] = a->nprincipals;
	return 0;
}

/* ---- applying ---- */

int leader_state_apply(struct leader_state *s, const struct proto_action *a, char *err)
{
	switch (a->op) {
	case PROTO_OP_CREATE:
		return apply_create(s, &a->entity, err);
	case PROTO_OP_ALTER:
		return apply_alter(s, &a->entity, err);
	case PROTO_OP_DROP:
		return apply_drop(s, &a->entity, err);
	case PROTO_OP_ADD_EXTENTS:
	case PROTO_OP_DROP_EXTENTS:
	case PROTO_OP_REPLACE_EXTENTS:
		return apply_extents(s, a, err);
	case PROTO_OP_SET_CACHING:
		return apply_caching(s, a, err);
	case PROTO_OP_SET_RETENTION:
		return apply_retention(s, a, err);
	case PROTO_OP_SET_PRINCIPALS:
		return apply_principals(s, a, err);
	}
	seterr(err, "unknown action %d", (int)a->op);
	return -EINVAL;
}

int leader_state_apply_commit(struct leader_state *s, const struct proto_commit *c, char *err)
{
	char sub[LEADER_STATE_ERRLEN];
	size_t i;

	if (strcmp(c->uuid, s->uuid) != 0 || strcmp(c->database, s->database) != 0) {
		seterr(err, "commit is for database %s (%s), not %s (%s)", c->database, c->uuid,
		       s->database, s->uuid);
		return -EINVAL;
	}
	if (c->version != s->version + 1) {
		seterr(err, "commit has version %llu where %llu was expected",
		       (unsigned long long)c->version, (unsigned long long)s->version + 1);
		return -EINVAL;
	}
	for (i = 0; i < c->nactions; i++) {
		int r = leader_state_apply(s, &c->actions[i], sub);

		if (r < 0 && c->nactions == 1)
			seterr(err, "%s", r == -ENOMEM ? "out of memory" : sub);
		else if (r < 0)
			seterr(err, "actions[%zu]: %s", i, r == -ENOMEM ? "out of memory" : sub);
		if (r < 0)
			return r;
	}
	s->version = c->version;
	s->committed = c->committed;
	return 0;
}

/* ---- lookups ---- */

const struct proto_entity *leader_state_entity(const struct leader_state *s, const char *name)
{
	const struct ls_entity *e = entity_find(s, name, NULL);

	return e ? &e->def : NULL;
}

int leader_state_foreach_entity(const struct leader_state *s, leader_state_entity_fn fn, void *arg)
{
	static const enum proto_kind order[3] = {PROTO_TABLE, PROTO_EXTERNAL_TABLE,
	                                         PROTO_MATERIALIZED_VIEW};
	size_t k, i;
	int r = 0;

	for (k = 0; k < 3; k++)
		for (i = 0; r == 0 && i < s->nentities; i++)
			if (s->entities[i] && s->entities[i]->def.kind == order[k])
				r = fn(&s->entities[i]->def, s->entities[i]->nextents, arg);
	return r;
}

void leader_state_principals(const struct leader_state *s, enum proto_role role,
                             const struct proto_principal **ret, size_t *ret_n)
{
	*ret = s->principals[role];
	*ret_n = s->nprincipals[role];
}

bool leader_state_caching(const struct leader_state *s, const char *table,
                          const struct proto_caching **ret)
{
	const struct ls_entity *e = table ? entity_find(s, table, NULL) : NULL;

	if (table && !e)
		return false;
	*ret = e ? &e->caching : &s->caching;
	return e ? e->has_caching : s->has_caching;
}

bool leader_state_retention(const struct leader_state *s, const char *table,
                            const struct proto_retention **ret)
{
	const struct ls_entity *e = table ? entity_find(s, table, NULL) : NULL;

	if (table && !e)
		return false;
	*ret = e ? &e->retention : &s->retention;
	return e ? e->has_retention : s->has_retention;
}

bool leader_state_has_extent(const struct leader_state *s, const char *id)
{
	unsigned char bin[16];

	return leader_state_uuid_parse(id, bin) == 0 && find_extent(s, bin) >= 0;
}

/* ---- views ---- */

static void batch_clear(struct ls_batch *b)
{
	free(b->ext);
	free(b->art);
	free(b->paths);
	free(b->unknown);
	memset(b, 0, sizeof(*b));
}

static int batch_reserve(struct ls_batch *b, size_t next, size_t nart)
{
	if (next > b->capext) {
		struct proto_extent *v = realloc(b->ext, next * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->ext = v;
		b->capext = next;
	}
	if (nart > b->capart) {
		struct proto_artifact *a = realloc(b->art, nart * sizeof(*a));
		char(*p)[LS_PATH_LEN] = realloc(b->paths, nart * LS_PATH_LEN);
		char(*u)[LS_UNKNOWN_LEN] = realloc(b->unknown, nart * LS_UNKNOWN_LEN);

		if (a)
			b->art = a;
		if (p)
			b->paths = p;
		if (u)
			b->unknown = u;
		if (!a || !p || !u)
			return -ENOMEM;
		b->capart = nart;
	}
	return 0;
}

/* The data format members of view v from a; unknown names are split into
 * buf (owned by the batch, like the paths). */
static void view_data_format(const struct ls_artifact *a, struct proto_artifact *v,
                             char buf[LS_UNKNOWN_LEN])
{
	char *slash;

	v->format = (enum proto_format)a->format;
	v->compression = (enum proto_compression)a->compression;
	v->ignore_first_record = a->ignore_first_record;
	v->format_text = v->compression_text = NULL;
	if (!a->unknown)
		return;
	(void)snprintf(buf, LS_UNKNOWN_LEN, "%s", a->unknown);
	slash = strchr(buf, '/');
	*slash = '\0';
	v->format_text = v->format == PROTO_FMT_UNKNOWN ? buf : NULL;
	v->compression_text = v->compression == PROTO_COMP_UNKNOWN ? slash + 1 : NULL;
}

/* Fills view e from x, its artifacts from *art on (a pointer into b->art). */
static void view_extent(const struct leader_state *s, const struct ls_extent *x,
                        struct proto_extent *e, struct proto_artifact *art,
                        char (*paths)[LS_PATH_LEN], char (*unknown)[LS_UNKNOWN_LEN])
{
	const struct ls_artifact *a = extent_artifacts(x);
	size_t k;

	memset(e, 0, sizeof(*e));
	leader_state_uuid_format(x->id, e->id);
	e->table = s->entities[x->entity]->def.name;
	e->min_created = x->min_created;
	e->max_created = x->max_created;
	e->rows = x->rows;
	e->original_size = x->original_size;
	e->compressed_size = x->compressed_size;
	e->tags = x->ntags ? extent_tags(x) : NULL;
	e->ntags = x->ntags;
	e->artifacts = x->nartifacts ? art : NULL;
	e->nartifacts = x->nartifacts;
	e->stats = x->nstats ? extent_stats(x) : NULL;
	e->nstats = x->nstats;
	for (k = 0; k < x->nartifacts; k++) {
		view_data_format(&a[k], &art[k], unknown[k]);
		art[k].name = a[k].name;
		art[k].size = a[k].size;
		leader_state_sha_format(a[k].sha, art[k].sha256);
		if (a[k].path) {
			art[k].path = a[k].path;
		} else {
			canonical_path(art[k].sha256, paths[k]);
			art[k].path = paths[k];
		}
	}
}

/* Views extents [from, to) of the dense array into b->ext. */
static int batch_view(const struct leader_state *s, struct ls_batch *b, size_t from, size_t to)
{
	size_t i, nart = 0, at = 0;
	int r;

	for (i = from; i < to; i++)
		nart += s->extents[i].nartifacts;
	r = batch_reserve(b, to - from, nart ? nart : 1);
	if (r < 0)
		return r;
	for (i = from; i < to; i++) {
		view_extent(s, &s->extents[i], &b->ext[i - from], b->art + at, b->paths + at,
		            b->unknown + at);
		at += s->extents[i].nartifacts;
	}
	return 0;
}

int leader_state_copy_extent(const struct leader_state *s, const char *id, struct proto_extent *ret)
{
	unsigned char bin[16];
	struct ls_batch b = {0};
	ssize_t i;
	int r;

	if (leader_state_uuid_parse(id, bin) < 0 || (i = find_extent(s, bin)) < 0)
		return -ENOENT;
	r = batch_view(s, &b, (size_t)i, (size_t)i + 1);
	if (r == 0)
		r = proto_extent_copy(ret, &b.ext[0]);
	batch_clear(&b);
	return r;
}

int leader_state_foreach_extent(const struct leader_state *s, const char *table,
                                leader_state_extent_fn fn, void *arg)
{
	struct ls_batch b = {0};
	uint32_t slot = 0;
	size_t i;
	int r = 0;

	if (table && !entity_find(s, table, &slot))
		return 0;
	for (i = 0; r == 0 && i < s->nextents; i++) {
		if (table && s->extents[i].entity != slot)
			continue;
		r = batch_view(s, &b, i, i + 1);
		if (r == 0)
			r = fn(&b.ext[0], arg);
	}
	batch_clear(&b);
	return r;
}

/* ---- records ---- */

struct record_arg {
	leader_state_record_fn fn;
	void *arg;
};

static int entity_record_cb(const struct proto_entity *e, uint64_t nextents, void *arg)
{
	const struct record_arg *ra = arg;
	struct proto_action a = {.op = PROTO_OP_CREATE, .entity = *e};

	return ra->fn(&a, ra->arg);
}

static int policy_records(const struct leader_state *s, const struct ls_entity *e,
                          leader_state_record_fn fn, void *arg)
{
	struct proto_action a = {.table = e ? e->def.name : NULL, .has_policy = true};
	int r = 0;

	if (e ? e->has_caching : s->has_caching) {
		a.op = PROTO_OP_SET_CACHING;
		a.caching = e ? e->caching : s->caching;
		r = fn(&a, arg);
	}
	if (r == 0 && (e ? e->has_retention : s->has_retention)) {
		memset(&a.caching, 0, sizeof(a.caching));
		a.op = PROTO_OP_SET_RETENTION;
		a.retention = e ? e->retention : s->retention;
		r = fn(&a, arg);
	}
	return r;
}

static int settings_records(const struct leader_state *s, leader_state_record_fn fn, void *arg)
{
	static const enum proto_kind order[3] = {PROTO_TABLE, PROTO_EXTERNAL_TABLE,
	                                         PROTO_MATERIALIZED_VIEW};
	size_t k, i;
	int r = policy_records(s, NULL, fn, arg);

	for (k = 0; k < 3; k++)
		for (i = 0; r == 0 && i < s->nentities; i++)
			if (s->entities[i] && s->entities[i]->def.kind == order[k])
				r = policy_records(s, s->entities[i], fn, arg);
	for (k = 0; r == 0 && k < PROTO_NROLES; k++) {
		struct proto_action a = {.op = PROTO_OP_SET_PRINCIPALS};

		if (!s->nprincipals[k])
			continue;
		a.role = (enum proto_role)k;
		a.principals = s->principals[k];
		a.nprincipals = s->nprincipals[k];
		r = fn(&a, arg);
	}
	return r;
}

int leader_state_foreach_record(const struct leader_state *s, size_t max_extents,
                                leader_state_record_fn fn, void *arg)
{
	struct record_arg ra = {fn, arg};
	struct ls_batch b = {0};
	size_t i;
	int r = leader_state_foreach_entity(s, entity_record_cb, &ra);

	if (r == 0)
		r = settings_records(s, fn, arg);
	if (max_extents == 0)
		max_extents = 1;
	for (i = 0; r == 0 && i < s->nextents; i += max_extents) {
		size_t to = i + max_extents < s->nextents ? i + max_extents : s->nextents;
		struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS};

		r = batch_view(s, &b, i, to);
		if (r < 0)
			break;
		a.extents = b.ext;
		a.nextents = to - i;
		r = fn(&a, arg);
	}
	batch_clear(&b);
	return r;
}

/* ---- digest ---- */

struct digest_ctx {
	EVP_MD_CTX *md; /* over the non-extent records, in order */
	EVP_MD_CTX *one;
	uint64_t lanes[4]; /* sum of the per-extent digests: order does not matter */
	uint64_t nextents;
};

static int digest_update(EVP_MD_CTX *md, const void *p, size_t n)
{
	return EVP_DigestUpdate(md, p, n) == 1 ? 0 : -ENOMEM;
}

static int digest_str(EVP_MD_CTX *md, const char *str)
{
	return digest_update(md, str ? str : "", (str ? strlen(str) : 0) + 1);
}

/* Typed artifacts and statistics count only when present, so the digest of
 * a leader without them is what it always was. */
static int digest_data_format(EVP_MD_CTX *md, const struct proto_artifact *a)
{
	unsigned char v[3] = {(unsigned char)a->format, (unsigned char)a->compression,
	                      a->ignore_first_record};
	int r = digest_update(md, v, sizeof(v));

	r = r ? r : digest_str(md, a->format_text);
	return r ? r : digest_str(md, a->compression_text);
}

static int digest_colstat(EVP_MD_CTX *md, const struct proto_colstat *c)
{
	unsigned char type = (unsigned char)c->type;
	int r = digest_str(md, c->name);

	r = r ? r : digest_update(md, &type, 1);
	r = r ? r : digest_update(md, &c->nulls, sizeof(c->nulls));
	r = r ? r : digest_str(md, c->min ? c->min : "\x01");
	return r ? r : digest_str(md, c->max ? c->max : "\x01");
}

static int digest_extent(struct digest_ctx *d, const struct proto_extent *e)
{
	uint64_t nums[7] = {(uint64_t)e->min_created,
	                    (uint64_t)e->max_created,
	                    e->rows,
	                    e->original_size,
	                    e->compressed_size,
	                    e->ntags,
	                    e->nartifacts};
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	size_t k;
	int r = EVP_DigestInit_ex(d->one, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;

	r = r ? r : digest_str(d->one, e->id);
	r = r ? r : digest_str(d->one, e->table);
	r = r ? r : digest_update(d->one, nums, sizeof(nums));
	for (k = 0; r == 0 && k < e->ntags; k++)
		r = digest_str(d->one, e->tags[k]);
	for (k = 0; r == 0 && k < e->nartifacts; k++) {
		const struct proto_artifact *a = &e->artifacts[k];

		r = digest_str(d->one, a->name);
		r = r ? r : digest_str(d->one, a->path);
		r = r ? r : digest_str(d->one, a->sha256);
		r = r ? r : digest_update(d->one, &a->size, sizeof(a->size));
		if (r == 0 && a->format != PROTO_FMT_NONE)
			r = digest_data_format(d->one, a);
	}
	for (k = 0; r == 0 && k < e->nstats; k++)
		r = digest_colstat(d->one, &e->stats[k]);
	if (r == 0 && EVP_DigestFinal_ex(d->one, out, &len) != 1)
		r = -ENOMEM;
	for (k = 0; r == 0 && k < 4; k++) {
		uint64_t v;

		memcpy(&v, out + 8 * k, 8);
		d->lanes[k] += v;
	}
	return r;
}

static int digest_record(const struct proto_action *a, void *arg)
{
	struct digest_ctx *d = arg;
	size_t i;
	int r = 0;

	if (a->op == PROTO_OP_ADD_EXTENTS) {
		for (i = 0; r == 0 && i < a->nextents; i++)
			r = digest_extent(d, &a->extents[i]);
		d->nextents += a->nextents;
	} else {
		char *line = proto_record_encode(a);

		r = line ? digest_str(d->md, line) : -ENOMEM;
		free(line);
	}
	return r;
}

int leader_state_digest(const struct leader_state *s, unsigned char ret[LEADER_STATE_DIGEST_LEN])
{
	struct digest_ctx d = {.md = EVP_MD_CTX_new(), .one = EVP_MD_CTX_new()};
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int r = -ENOMEM;

	if (!d.md || !d.one || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1)
		goto out;
	r = leader_state_foreach_record(s, 1000, digest_record, &d);
	if (r == 0)
		r = digest_update(d.md, d.lanes, sizeof(d.lanes));
	if (r == 0)
		r = digest_update(d.md, &d.nextents, sizeof(d.nextents));
	if (r == 0 && EVP_DigestFinal_ex(d.md, out, &len) != 1)
		r = -ENOMEM;
	if (r == 0)
		memcpy(ret, out, LEADER_STATE_DIGEST_LEN);
out:
	EVP_MD_CTX_free(d.md);
	EVP_MD_CTX_free(d.one);
	return r;
}

/* ---- snapshot ---- */

/*
 * A snapshot is the state in a form that loads at memory speed, for a
 * writer's local cache (lib/leader/leader_cache.c): a header, the database
 * name, the non-extent records as NDJSON (few, and their encoding grows with
 * the protocol), the interned strings, one fixed-size record per extent
 * followed by its artifacts, tags and column statistics, the id index as it
 * is in memory, and a checksum of all of it.  It is machine-local: host
 * byte order (checked) and LS_SNAP_FORMAT.
 */
#define LS_SNAP_MAGIC "FLDSNAP\n"
#define LS_SNAP_FORMAT                                                                             \
	6 /* 5: artifacts' data formats, extents' column statistics;                               \
	   * 6: a statistic's column type */
#define LS_SNAP_ORDER 0x01020304u
#define LS_SNAP_CANON UINT32_MAX /* an artifact path that is the canonical one */
#define LS_SNAP_NONE UINT32_MAX  /* no unknown format or compression names */
#define LS_SNAP_BUF ((size_t)1 << 20)
#define LS_SNAP_MAX_STRING 65536

/* The snapshot copies extents field by field: a field added to any of these
 * must be added to the snapshot too (and LS_SNAP_FORMAT raised), or a commit
 * whose state came from a cache would drop it from the next checkpoint. */
_Static_assert(sizeof(struct ls_extent) == 80, "ls_extent changed: update the snapshot");
_Static_assert(sizeof(struct ls_artifact) == 72, "ls_artifact changed: update the snapshot");
_Static_assert(sizeof(struct proto_extent) == 136, "proto_extent changed: update the snapshot");
_Static_assert(sizeof(struct proto_artifact) == 120, "proto_artifact changed: update the snapshot");
_Static_assert(sizeof(struct proto_colstat) == 40, "proto_colstat changed: update the snapshot");

struct ls_snap_head {
	char magic[8];
	uint32_t format;
	uint32_t order;
	uint64_t version;
	int64_t committed;
	char uuid[PROTO_UUID_LEN + 1];
	char pad[3];
	uint32_t database_len;
	uint64_t settings_len; /* bytes of NDJSON */
	uint64_t nstrings;     /* each: uint32_t length, bytes */
	uint64_t nextents;
	uint64_t blocks_len; /* bytes of the extents' artifact and tag blocks in memory */
	uint64_t capindex;   /* then the id index as it is in memory (uint32_t each) */
	uint64_t hash_probe; /* id_hash of a fixed id: the index is only valid for it */
};

struct ls_snap_extent {
	unsigned char id[16];
	uint32_t entity; /* ordinal among the create records of the settings */
	uint16_t nartifacts;
	uint16_t ntags;
	uint16_t nstats;
	uint16_t pad;
	uint32_t texts; /* bytes of the statistics' min and max texts in memory, NULs included */
	/* then nartifacts ls_snap_artifact, ntags uint32_t strings, nstats
	 * ls_snap_colstat each followed by its min and max texts */
	int64_t min_created;
	int64_t max_created;
	uint64_t rows;
	uint64_t original_size;
	uint64_t compressed_size;
};

struct ls_snap_artifact {
	unsigned char sha[32];
	uint64_t size;
	uint32_t name;    /* string ordinal */
	uint32_t path;    /* string ordinal or LS_SNAP_CANON */
	uint32_t unknown; /* string ordinal ("format/compression") or LS_SNAP_NONE */
	uint8_t format;   /* enum proto_format */
	uint8_t compression;
	uint8_t ignore_first_record;
	uint8_t pad;
};

struct ls_snap_colstat {
	uint64_t nulls;
	uint32_t name;    /* string ordinal */
	uint16_t min_len; /* 0 (with max_len 0): no range; else min_len bytes, then max_len */
	uint16_t max_len;
	uint8_t type; /* the column's type when written (enum proto_coltype) */
	uint8_t pad[7];
};

/* The checksum guards against torn and damaged files, not against whoever
 * can write the cache (they could as well replace leaderctl): xxHash64's
 * round over blocks of LS_SNAP_BUF bytes, chained — ~8x faster than SHA-256
 * here, which matters at 100+ MB read and written per commit. */
#define SUM_P1 11400714785092795863ULL
#define SUM_P2 14029467366897019727ULL
#define SUM_P3 1609587929392839161ULL

static uint64_t sum_round(uint64_t acc, uint64_t v)
{
	acc += v * SUM_P2;
	return ((acc << 31) | (acc >> 33)) * SUM_P1;
}

static uint64_t sum_word(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Four independent lanes in registers: the multiplies overlap. */
static uint64_t sum_block(uint64_t h, const unsigned char *p, size_t n)
{
	uint64_t a = SUM_P1 + SUM_P2, b = SUM_P2, c = SUM_P3, d = 0 - SUM_P1;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		a = sum_round(a, sum_word(p + i));
		b = sum_round(b, sum_word(p + i + 8));
		c = sum_round(c, sum_word(p + i + 16));
		d = sum_round(d, sum_word(p + i + 24));
	}
	for (; i < n; i++)
		a = sum_round(a, p[i]);
	h = sum_round(sum_round(h, n), a);
	h = sum_round(sum_round(h, b), c);
	return sum_round(h, d);
}

static uint64_t sum_final(uint64_t h)
{
	h ^= h >> 33;
	h *= SUM_P2;
	h ^= h >> 29;
	h *= SUM_P3;
	return h ^ (h >> 32);
}

/* Buffered output to a file descriptor, checksummed block by block. */
struct snap_out {
	int fd;
	uint64_t sum;
	bool trailer; /* the checksum itself is not summed */
	char *buf;
	size_t len;
	int r;
};

static int snap_flush(struct snap_out *o)
{
	size_t at = 0;

	if (!o->trailer)
		o->sum = sum_block(o->sum, (const unsigned char *)o->buf, o->len);
	while (o->r == 0 && at < o->len) {
		ssize_t n = write(o->fd, o->buf + at, o->len - at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			o->r = -errno;
		else
			at += (size_t)n;
	}
	o->len = 0;
	return o->r;
}

static void snap_put(struct snap_out *o, const void *p, size_t n)
{
	while (o->r == 0 && n > 0) {
		size_t take = n < LS_SNAP_BUF - o->len ? n : LS_SNAP_BUF - o->len;

		memcpy(o->buf + o->len, p, take);
		o->len += take;
		p = (const char *)p + take;
		n -= take;
		if (o->len == LS_SNAP_BUF)
			(void)snap_flush(o);
	}
}

/* The non-extent records, as NDJSON in a growable buffer. */
struct snap_text {
	char *buf;
	size_t len;
	size_t cap;
};

static int snap_text_record(const struct proto_action *a, void *arg)
{
	struct snap_text *t = arg;
	char *line = proto_record_encode(a);
	size_t n = line ? strlen(line) : 0;

	if (!line)
		return -ENOMEM;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *v;

		while (cap < t->len + n + 1)
			cap *= 2;
		v = realloc(t->buf, cap);
		if (!v) {
			free(line);
			return -ENOMEM;
		}
		t->buf = v;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, line, n);
	t->buf[t->len + n] = '\n';
	t->len += n + 1;
	free(line);
	return 0;
}

static int snap_entity_record(const struct proto_entity *e, uint64_t nextents, void *arg)
{
	struct proto_action a = {.op = PROTO_OP_CREATE, .entity = *e};

	return snap_text_record(&a, arg);
}

/* Entity slot -> ordinal in foreach_entity's order (how the settings list
 * them, and so the slot each gets when the snapshot is read). */
static uint32_t *snap_entity_ordinals(const struct leader_state *s)
{
	static const enum proto_kind order[3] = {PROTO_TABLE, PROTO_EXTERNAL_TABLE,
	                                         PROTO_MATERIALIZED_VIEW};
	uint32_t *ord = calloc(s->nentities ? s->nentities : 1, sizeof(*ord)), n = 0;
	size_t k, i;

	for (k = 0; ord && k < 3; k++)
		for (i = 0; i < s->nentities; i++)
			if (s->entities[i] && s->entities[i]->def.kind == order[k])
				ord[i] = n++;
	return ord;
}

/* The ordinal of an interned string: its pool slot's rank among used slots
 * (never missing; if it were, an ordinal the reader refuses). */
static uint32_t snap_string(const struct leader_state *s, const uint32_t *rank, const char *p)
{
	size_t mask = s->pool.cap - 1, j;

	for (j = str_hash(p) & mask; s->pool.slots[j] && s->pool.slots[j] != p; j = (j + 1) & mask)
		;
	return s->pool.slots[j] ? rank[j] : LS_SNAP_CANON - 1;
}

static void snap_put_strings(struct snap_out *o, const struct leader_state *s)
{
	size_t j;

	for (j = 0; j < s->pool.cap; j++) {
		uint32_t n;

		if (!s->pool.slots[j])
			continue;
		n = (uint32_t)strlen(s->pool.slots[j]);
		snap_put(o, &n, sizeof(n));
		snap_put(o, s->pool.slots[j], n);
	}
}

static void snap_put_artifacts(struct snap_out *o, const struct leader_state *s,
                               const struct ls_extent *x, const uint32_t *rank)
{
	const struct ls_artifact *a = extent_artifacts(x);
	size_t k;

	for (k = 0; k < x->nartifacts; k++) {
		struct ls_snap_artifact sa = {.size = a[k].size,
		                              .format = a[k].format,
		                              .compression = a[k].compression,
		                              .ignore_first_record = a[k].ignore_first_record};

		memcpy(sa.sha, a[k].sha, 32);
		sa.name = snap_string(s, rank, a[k].name);
		sa.path = a[k].path ? snap_string(s, rank, a[k].path) : LS_SNAP_CANON;
		sa.unknown = a[k].unknown ? snap_string(s, rank, a[k].unknown) : LS_SNAP_NONE;
		snap_put(o, &sa, sizeof(sa));
	}
}

static void snap_put_stats(struct snap_out *o, const struct leader_state *s,
                           const struct ls_extent *x, const uint32_t *rank)
{
	const struct proto_colstat *c = extent_stats(x);
	size_t k;

	for (k = 0; k < x->nstats; k++) {
		struct ls_snap_colstat sc = {.nulls = c[k].nulls, .type = (uint8_t)c[k].type};

		sc.name = snap_string(s, rank, c[k].name);
		/* Texts are at most PROTO_MAX_STAT_TEXT: they fit 16 bits. */
		sc.min_len = c[k].min ? (uint16_t)strlen(c[k].min) : 0;
		sc.max_len = c[k].max ? (uint16_t)strlen(c[k].max) : 0;
		snap_put(o, &sc, sizeof(sc));
		snap_put(o, c[k].min, sc.min_len);
		snap_put(o, c[k].max, sc.max_len);
	}
}

/* The bytes of x's statistics' texts (the snapshot sizes blocks with them). */
static size_t extent_texts(const struct ls_extent *x)
{
	return x->nstats ? stats_text_bytes(extent_stats(x), x->nstats) : 0;
}

static void snap_put_extent(struct snap_out *o, const struct leader_state *s,
                            const struct ls_extent *x, const uint32_t *eord, const uint32_t *rank)
{
	struct ls_snap_extent r;
	char **tags = x->ntags ? extent_tags(x) : NULL;
	size_t k;

	memset(&r, 0, sizeof(r));
	memcpy(r.id, x->id, 16);
	r.entity = eord[x->entity];
	r.nartifacts = x->nartifacts;
	r.ntags = x->ntags;
	r.nstats = x->nstats;
	r.texts = (uint32_t)extent_texts(x);
	r.min_created = x->min_created;
	r.max_created = x->max_created;
	r.rows = x->rows;
	r.original_size = x->original_size;
	r.compressed_size = x->compressed_size;
	snap_put(o, &r, sizeof(r));
	snap_put_artifacts(o, s, x, rank);
	for (k = 0; k < x->ntags; k++) {
		uint32_t t = snap_string(s, rank, tags[k]);

		snap_put(o, &t, sizeof(t));
	}
	snap_put_stats(o, s, x, rank);
}

static uint64_t snap_hash_probe(void)
{
	static const unsigned char id[16] = "followerd-probe";

	return id_hash(id, UINT64_MAX);
}

static void snap_head_fill(const struct leader_state *s, const struct snap_text *t,
                           struct ls_snap_head *h)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, LS_SNAP_MAGIC, 8);
	h->format = LS_SNAP_FORMAT;
	h->order = LS_SNAP_ORDER;
	h->version = s->version;
	h->committed = s->committed;
	memcpy(h->uuid, s->uuid, sizeof(h->uuid));
	h->database_len = (uint32_t)strlen(s->database);
	h->settings_len = t->len;
	h->nstrings = s->pool.n;
	h->nextents = s->nextents;
	for (i = 0; i < s->nextents; i++)
		h->blocks_len += block_size(s->extents[i].nartifacts, s->extents[i].ntags,
		                            s->extents[i].nstats, extent_texts(&s->extents[i]));
	h->capindex = s->capindex;
	h->hash_probe = snap_hash_probe();
}

/* Writes the body of the snapshot through o (errors in o->r). */
static void snap_put_body(struct snap_out *o, const struct leader_state *s,
                          const struct snap_text *t, const uint32_t *eord, const uint32_t *rank)
{
	struct ls_snap_head h;
	size_t i;

	snap_head_fill(s, t, &h);
	snap_put(o, &h, sizeof(h));
	snap_put(o, s->database, h.database_len);
	snap_put(o, t->buf, t->len);
	snap_put_strings(o, s);
	for (i = 0; o->r == 0 && i < s->nextents; i++)
		snap_put_extent(o, s, &s->extents[i], eord, rank);
	snap_put(o, s->index, s->capindex * sizeof(*s->index));
}

static uint32_t *snap_string_ranks(const struct leader_state *s)
{
	uint32_t *rank = calloc(s->pool.cap ? s->pool.cap : 1, sizeof(*rank)), n = 0;
	size_t j;

	for (j = 0; rank && j < s->pool.cap; j++)
		if (s->pool.slots[j])
			rank[j] = n++;
	return rank;
}

int leader_state_snapshot_write(const struct leader_state *s, int fd, char *err)
{
	struct snap_out o = {.fd = fd, .buf = malloc(LS_SNAP_BUF)};
	struct snap_text t = {0};
	uint32_t *eord = snap_entity_ordinals(s), *rank = snap_string_ranks(s);
	uint64_t sum;
	int r = -ENOMEM;

	if (!o.buf || !eord || !rank)
		goto out;
	r = leader_state_foreach_entity(s, snap_entity_record, &t);
	if (r == 0)
		r = settings_records(s, snap_text_record, &t);
	if (r < 0)
		goto out;
	snap_put_body(&o, s, &t, eord, rank);
	r = snap_flush(&o);
	if (r == 0) {
		o.trailer = true;
		sum = sum_final(o.sum);
		snap_put(&o, &sum, sizeof(sum));
		r = snap_flush(&o);
	}
out:
	if (r < 0)
		seterr(err, "snapshot: %s", strerror(-r));
	free(o.buf);
	free(t.buf);
	free(eord);
	free(rank);
	return r;
}

/* Bounded reading of a mapped snapshot. */
struct snap_in {
	const char *p;
	size_t left;
};

static const void *snap_take(struct snap_in *in, size_t n)
{
	const char *p = in->p;

	if (n > in->left)
		return NULL;
	in->p += n;
	in->left -= n;
	return p;
}

static int snap_settings(struct leader_state *s, struct snap_in *in, size_t len, char *err)
{
	const char *p = snap_take(in, len), *end;
	char perr[PROTO_ERRLEN];
	int r = 0;

	if (!p)
		return -EINVAL;
	end = p + len;
	while (r == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct proto_action a;

		if (!nl)
			return -EINVAL;
		r = proto_record_decode(p, (size_t)(nl - p), &a, perr);
		if (r < 0) {
			seterr(err, "snapshot: %s", perr);
			return r;
		}
		/* Extents come after, with the index they are saved with. */
		if (a.op == PROTO_OP_ADD_EXTENTS || a.op == PROTO_OP_DROP_EXTENTS ||
		    a.op == PROTO_OP_REPLACE_EXTENTS)
			r = -EINVAL;
		else
			r = leader_state_apply(s, &a, err);
		proto_action_clear(&a);
		p = nl + 1;
	}
	return r;
}

/* Interns the n strings of the snapshot; *ret[i] is string i (pool's). */
static int snap_strings(struct leader_state *s, struct snap_in *in, uint64_t n, char ***ret)
{
	char **v = calloc(n ? n : 1, sizeof(*v)), tmp[LS_SNAP_MAX_STRING + 1];
	uint64_t i;

	if (!v)
		return -ENOMEM;
	if (n > in->left / sizeof(uint32_t)) {
		free(v);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const uint32_t *len = snap_take(in, sizeof(*len));
		uint32_t l = 0;
		const char *p;

		if (len)
			memcpy(&l, len, sizeof(l));
		p = len && l <= LS_SNAP_MAX_STRING ? snap_take(in, l) : NULL;
		if (!p || memchr(p, '\0', l)) {
			free(v);
			return -EINVAL;
		}
		memcpy(tmp, p, l);
		tmp[l] = '\0';
		v[i] = pool_intern(&s->pool, tmp);
		if (!v[i]) {
			free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

/* Whether an artifact's data format is one the protocol decoder could have
 * given: known enums, no compression or header without a format, and the
 * unknown names ("format/compression") exactly when an enum says UNKNOWN —
 * views split them at the '/'. */
static bool snap_format_ok(const struct ls_snap_artifact *sa, const char *unknown)
{
	bool ufmt = sa->format == PROTO_FMT_UNKNOWN, ucomp = sa->compression == PROTO_COMP_UNKNOWN;
	const char *slash = unknown ? strchr(unknown, '/') : NULL;
	size_t nfmt, ncomp;

	if (sa->format > PROTO_FMT_UNKNOWN || sa->compression > PROTO_COMP_UNKNOWN ||
	    sa->ignore_first_record > 1 ||
	    (sa->format == PROTO_FMT_NONE &&
	     (sa->compression != PROTO_COMP_NONE || sa->ignore_first_record)))
		return false;
	if (!unknown)
		return !ufmt && !ucomp;
	if (!slash || strchr(slash + 1, '/'))
		return false;
	nfmt = (size_t)(slash - unknown);
	ncomp = strlen(slash + 1);
	return (nfmt > 0) == ufmt && (ncomp > 0) == ucomp && nfmt <= PROTO_MAX_FORMAT_NAME &&
	       ncomp <= PROTO_MAX_FORMAT_NAME;
}

static int snap_artifacts(struct snap_in *in, struct ls_extent *x, char **strings,
                          uint64_t nstrings)
{
	struct ls_artifact *a = extent_artifacts(x);
	size_t k;

	for (k = 0; k < x->nartifacts; k++) {
		const void *p = snap_take(in, sizeof(struct ls_snap_artifact));
		struct ls_snap_artifact sa;
		const char *unknown;

		if (!p)
			return -EINVAL;
		memcpy(&sa, p, sizeof(sa));
		if (sa.name >= nstrings || (sa.path != LS_SNAP_CANON && sa.path >= nstrings) ||
		    (sa.unknown != LS_SNAP_NONE && sa.unknown >= nstrings))
			return -EINVAL;
		unknown = sa.unknown == LS_SNAP_NONE ? NULL : strings[sa.unknown];
		if (!snap_format_ok(&sa, unknown))
			return -EINVAL;
		a[k] = (struct ls_artifact){.size = sa.size,
		                            .name = strings[sa.name],
		                            .format = sa.format,
		                            .compression = sa.compression,
		                            .ignore_first_record = sa.ignore_first_record,
		                            .unknown = (char *)unknown};
		memcpy(a[k].sha, sa.sha, 32);
		a[k].path = sa.path == LS_SNAP_CANON ? NULL : strings[sa.path];
	}
	return 0;
}

static int snap_tags(struct snap_in *in, struct ls_extent *x, char **strings, uint64_t nstrings)
{
	char **tags = extent_tags(x);
	size_t k;

	for (k = 0; k < x->ntags; k++) {
		const void *p = snap_take(in, sizeof(uint32_t));
		uint32_t t;

		if (!p)
			return -EINVAL;
		memcpy(&t, p, sizeof(t));
		if (t >= nstrings)
			return -EINVAL;
		tags[k] = strings[t];
	}
	return 0;
}

/* Copies a statistic's min or max of len bytes (0: none, *ret NULL) to *at,
 * below end, as the decoder would have taken it: printable ASCII. */
static int snap_stat_text(struct snap_in *in, size_t len, char **at, const char *end, char **ret)
{
	const unsigned char *p;
	size_t i;

	*ret = NULL;
	if (len == 0)
		return 0;
	p = len <= PROTO_MAX_STAT_TEXT && len < (size_t)(end - *at) ? snap_take(in, len) : NULL;
	if (!p)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -EINVAL;
	memcpy(*at, p, len);
	(*at)[len] = '\0';
	*ret = *at;
	*at += len + 1;
	return 0;
}

/* Fills the statistics of x, their texts after them in the block (texts
 * bytes, all of them used). */
static int snap_stats(struct snap_in *in, struct ls_extent *x, size_t texts, char **strings,
                      uint64_t nstrings)
{
	struct proto_colstat *c = extent_stats(x);
	char *at = (char *)(c + x->nstats), *end = at + texts;
	size_t k;

	for (k = 0; k < x->nstats; k++) {
		const void *p = snap_take(in, sizeof(struct ls_snap_colstat));
		struct ls_snap_colstat sc;

		if (!p)
			return -EINVAL;
		memcpy(&sc, p, sizeof(sc));
		if (sc.name >= nstrings || !*strings[sc.name] || sc.nulls > x->rows ||
		    (sc.min_len == 0) != (sc.max_len == 0) || sc.type > PROTO_T_DECIMAL)
			return -EINVAL;
		c[k].name = strings[sc.name];
		c[k].nulls = sc.nulls;
		c[k].type = (enum proto_coltype)sc.type;
		if (snap_stat_text(in, sc.min_len, &at, end, &c[k].min) < 0 ||
		    snap_stat_text(in, sc.max_len, &at, end, &c[k].max) < 0)
			return -EINVAL;
	}
	return at == end ? 0 : -EINVAL;
}

/* Fills the artifacts, tags and statistics of x from the snapshot. */
static int snap_block(struct snap_in *in, struct ls_extent *x, size_t texts, char **strings,
                      uint64_t nstrings)
{
	if (snap_artifacts(in, x, strings, nstrings) < 0 || snap_tags(in, x, strings, nstrings) < 0)
		return -EINVAL;
	return snap_stats(in, x, texts, strings, nstrings);
}

/* Whether an extent record is within what the protocol allows. */
static bool snap_extent_ok(const struct leader_state *s, const struct ls_snap_extent *e)
{
	return e->entity < s->nentities &&
	       s->entities[e->entity]->def.kind != PROTO_EXTERNAL_TABLE &&
	       e->nartifacts <= PROTO_MAX_ARTIFACTS && e->ntags <= PROTO_MAX_TAGS &&
	       e->nstats <= PROTO_MAX_COLUMNS &&
	       e->texts <= (size_t)e->nstats * 2 * (PROTO_MAX_STAT_TEXT + 1) &&
	       e->min_created <= e->max_created;
}

/* Reads one extent record into the next slot of s (capacity reserved), its
 * block from the arena at *at. */
static int snap_extent(struct leader_state *s, struct snap_in *in, char **strings,
                       uint64_t nstrings, size_t *at)
{
	const void *p = snap_take(in, sizeof(struct ls_snap_extent));
	struct ls_extent *x = &s->extents[s->nextents];
	struct ls_snap_extent e;
	size_t k, size;

	if (!p)
		return -EINVAL;
	memcpy(&e, p, sizeof(e));
	size = block_size(e.nartifacts, e.ntags, e.nstats, e.texts);
	if (!snap_extent_ok(s, &e) || size > s->arena_len - *at)
		return -EINVAL;
	*x = (struct ls_extent){.entity = e.entity,
	                        .nartifacts = e.nartifacts,
	                        .ntags = e.ntags,
	                        .nstats = e.nstats,
	                        .min_created = e.min_created,
	                        .max_created = e.max_created,
	                        .rows = e.rows,
	                        .original_size = e.original_size,
	                        .compressed_size = e.compressed_size};
	memcpy(x->id, e.id, 16);
	if (size) {
		x->block = s->arena + *at;
		*at += size;
		if (snap_block(in, x, e.texts, strings, nstrings) < 0)
			return -EINVAL;
	}
	s->nextents++;
	s->entities[e.entity]->nextents++;
	s->rows += x->rows;
	for (k = 0; k < x->nartifacts; k++)
		s->bytes += extent_artifacts(x)[k].size;
	return 0;
}

/* The arena, the index as saved and room for the extents. */
static int snap_alloc(struct leader_state *s, const struct ls_snap_head *h)
{
	s->arena_len = (size_t)h->blocks_len;
	s->arena = malloc(s->arena_len ? s->arena_len : 1);
	s->index = h->capindex ? calloc((size_t)h->capindex, sizeof(*s->index)) : NULL;
	if (!s->arena || (h->capindex && !s->index))
		return -ENOMEM;
	advise_huge(s->arena, s->arena_len);
	advise_huge(s->index, (size_t)h->capindex * sizeof(*s->index));
	s->capindex = (size_t)h->capindex;
	return reserve_extents(s, (size_t)h->nextents);
}

/* Takes the saved index when it maps every extent exactly once (its slots
 * follow from id_hash, which the header's probe pins). */
static int snap_index(struct leader_state *s, struct snap_in *in)
{
	const void *p = snap_take(in, s->capindex * sizeof(*s->index));
	unsigned char *seen = calloc(s->nextents / 8 + 1, 1);
	size_t j, n = 0;
	int r = p ? 0 : -EINVAL;

	if (!seen)
		return -ENOMEM;
	if (r == 0 && s->capindex)
		memcpy(s->index, p, s->capindex * sizeof(*s->index));
	for (j = 0; r == 0 && j < s->capindex; j++) {
		uint32_t e = s->index[j];

		if (!e)
			continue;
		if (e > s->nextents || seen[(e - 1) / 8] & (1u << ((e - 1) % 8)))
			r = -EINVAL;
		else
			seen[(e - 1) / 8] |= (unsigned char)(1u << ((e - 1) % 8));
		n++;
	}
	if (r == 0 && n != s->nextents)
		r = -EINVAL;
	free(seen);
	return r;
}

static int snap_check(const char *map, size_t size, struct ls_snap_head *h)
{
	uint64_t sum = 0, want;
	size_t at;

	if (size < sizeof(*h) + sizeof(sum))
		return -EINVAL;
	for (at = 0; at < size - sizeof(sum); at += LS_SNAP_BUF) {
		size_t n = size - sizeof(sum) - at;

		sum = sum_block(sum, (const unsigned char *)map + at,
		                n < LS_SNAP_BUF ? n : LS_SNAP_BUF);
	}
	memcpy(&want, map + size - sizeof(sum), sizeof(want));
	if (sum_final(sum) != want)
		return -EINVAL;
	memcpy(h, map, sizeof(*h));
	if (memcmp(h->magic, LS_SNAP_MAGIC, 8) != 0 || h->format != LS_SNAP_FORMAT ||
	    h->order != LS_SNAP_ORDER || h->uuid[PROTO_UUID_LEN] != '\0' || h->database_len == 0 ||
	    h->database_len > PROTO_MAX_NAME || h->hash_probe != snap_hash_probe() ||
	    h->nextents >= UINT32_MAX - 1 || (h->capindex & (h->capindex - 1)) != 0 ||
	    h->capindex < 2 * h->nextents || h->capindex > size / sizeof(uint32_t) ||
	    h->blocks_len > size * 2)
		return -EINVAL;
	return 0;
}

/* Rebuilds the state from a checked snapshot's body. */
static int snap_parse(const struct ls_snap_head *h, struct snap_in *in, struct leader_state **ret,
                      char *err)
{
	char name[PROTO_MAX_NAME + 1], **strings = NULL;
	const char *p = snap_take(in, h->database_len);
	struct leader_state *s = NULL;
	uint64_t i;
	size_t at = 0;
	int r = p ? 0 : -EINVAL;

	if (r == 0) {
		memcpy(name, p, h->database_len);
		name[h->database_len] = '\0';
		r = leader_state_new(name, h->uuid, &s);
	}
	if (r == 0)
		r = snap_settings(s, in, h->settings_len, err);
	if (r == 0)
		r = snap_strings(s, in, h->nstrings, &strings);
	if (r == 0 && h->nextents > in->left / sizeof(struct ls_snap_extent))
		r = -EINVAL;
	if (r == 0)
		r = snap_alloc(s, h);
	for (i = 0; r == 0 && i < h->nextents; i++)
		r = snap_extent(s, in, strings, h->nstrings, &at);
	if (r == 0)
		r = snap_index(s, in);
	if (r == 0 && in->left != sizeof(uint64_t))
		r = -EINVAL;
	free(strings);
	if (r < 0) {
		leader_state_free(s);
		return r;
	}
	leader_state_set_version(s, h->version, h->committed);
	*ret = s;
	return 0;
}

int leader_state_snapshot_read(int fd, struct leader_state **ret, char *err)
{
	struct ls_snap_head h;
	struct snap_in in;
	struct stat st;
	char *map = MAP_FAILED;
	int r = fstat(fd, &st) < 0 ? -errno : 0;

	if (err)
		*err = '\0';
	if (r == 0 &&
	    (st.st_size < (off_t)(sizeof(h) + sizeof(uint64_t)) || (uint64_t)st.st_size > SIZE_MAX))
		r = -EINVAL;
	if (r == 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (r == 0 && map == MAP_FAILED)
		r = -errno;
	if (r == 0)
		r = snap_check(map, (size_t)st.st_size, &h);
	if (r == 0) {
		in = (struct snap_in){map + sizeof(h), (size_t)st.st_size - sizeof(h)};
		r = snap_parse(&h, &in, ret, err);
	}
	if (r == -EINVAL && !(err && *err))
		seterr(err, "snapshot: not a snapshot of this format, or damaged");
	else if (r < 0 && r != -EINVAL)
		seterr(err, "snapshot: %s", strerror(-r));
	if (map != MAP_FAILED)
		(void)munmap(map, (size_t)st.st_size);
	return r;
}
