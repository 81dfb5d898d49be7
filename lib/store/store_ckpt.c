/*
 * store_ckpt — loading a checkpoint as a diff (see store_checkpoint_* in
 * store.h).
 *
 * Feeding stages extents and artifacts in a private temporary database
 * attached to the connection ("ATTACH ''": a file SQLite deletes on detach),
 * so a checkpoint fetched over minutes never holds the store's write lock,
 * the daemon's other databases keep committing meanwhile, and abort is a
 * DETACH.  Entities, policies and principals are few: they are kept in
 * memory (struct model) and diffed with the stored ones by lib/diff.
 *
 * Finishing runs in one transaction.  Staged extent seq numbers become the
 * new extent ids (base + seq), so extents and artifacts are appended in key
 * order with set statements and no per-row id lookup.  A first load (or a
 * new uuid: a rewind) inserts everything; otherwise the stored extents not
 * staged are deleted and the staged ones not stored are inserted.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

/* ---- the in-memory model of a database's metadata ---- */

struct m_entity {
	struct proto_entity e;
	bool included; /* passed the filter (stored models: always) */
	bool has_caching;
	struct proto_caching caching;
	bool has_retention;
	struct proto_retention retention;
	uint64_t extents, rows, bytes; /* staged (included) extents */
	int64_t id;                    /* store id: stored row, or set at finish */
	bool matched;                  /* stored model: fed again under its name */
};

struct model {
	struct m_entity *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing on names: index + 1, 0 = empty */
	size_t nslots;
	bool has_caching;
	struct proto_caching caching;
	bool has_retention;
	struct proto_retention retention;
	struct proto_principal *prin[PROTO_NROLES];
	size_t nprin[PROTO_NROLES];
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The index of the entity named name, or -1. */
static ssize_t model_find(const struct model *m, const char *name)
{
	if (m->nslots == 0)
		return -1;
	for (size_t i = name_hash(name) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
		uint32_t v = m->slots[i];

		if (v == 0)
			return -1;
		if (strcmp(m->v[v - 1].e.name, name) == 0)
			return (ssize_t)v - 1;
	}
}

static void slot_put(uint32_t *slots, size_t nslots, const char *name, uint32_t value)
{
	size_t i = name_hash(name) & (nslots - 1);

	while (slots[i] != 0)
		i = (i + 1) & (nslots - 1);
	slots[i] = value;
}

/* Keeps the table at most half full. */
static int model_rehash(struct model *m)
{
	size_t nslots = m->nslots > 0 ? m->nslots * 2 : 64;
	uint32_t *slots;

	if (m->n * 2 < m->nslots)
		return 0;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		slot_put(slots, nslots, m->v[i].e.name, (uint32_t)(i + 1));
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	return 0;
}

/* Appends x (stolen: the model owns its members from now on). */
static int model_add(struct model *m, struct m_entity *x)
{
	struct m_entity *v = store_grow(m->v, m->n, &m->cap, 16, sizeof(*v));
	int r;

	if (v == NULL)
		return -ENOMEM;
	m->v = v;
	m->v[m->n++] = *x;
	memset(x, 0, sizeof(*x));
	r = model_rehash(m);
	if (r == 0 && m->nslots > 0 && model_find(m, m->v[m->n - 1].e.name) < 0)
		slot_put(m->slots, m->nslots, m->v[m->n - 1].e.name, (uint32_t)m->n);
	return r;
}

static void m_entity_clear(struct m_entity *x)
{
	proto_entity_clear(&x->e);
	proto_caching_clear(&x->caching);
	memset(x, 0, sizeof(*x));
}

static void model_clear(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		m_entity_clear(&m->v[i]);
	free(m->v);
	free(m->slots);
	proto_caching_clear(&m->caching);
	for (size_t r = 0; r < PROTO_NROLES; r++)
		store_principals_free(m->prin[r], m->nprin[r]);
	memset(m, 0, sizeof(*m));
}

/* Loads the stored metadata of database db into m. */
static int model_load(struct store *s, int64_t db, struct model *m, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ENT_LIST, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	while ((r = store_step_row(s, st, err, "entities")) == 1) {
		struct m_entity x = {.included = true};

		r = store_entity_read(s, st, &x.e, &x.id, err);
		if (r == 0)
			r = model_add(m, &x);
		m_entity_clear(&x);
		if (r < 0)
			break;
	}
	(void)sqlite3_reset(st);
	for (size_t i = 0; r == 0 && i < m->n; i++) {
		struct m_entity *x = &m->v[i];

		r = store_caching_read(s, db, x->id, &x->has_caching, &x->caching, err);
		if (r == 0)
			r = store_retention_read(s, db, x->id, &x->has_retention, &x->retention,
			                         err);
	}
	if (r == 0)
		r = store_caching_read(s, db, 0, &m->has_caching, &m->caching, err);
	if (r == 0)
		r = store_retention_read(s, db, 0, &m->has_retention, &m->retention, err);
	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++)
		r = store_principals_read(s, db, (enum proto_role)k, &m->prin[k], &m->nprin[k],
		                          err);
	return r;
}

/* ---- the checkpoint ---- */

struct store_ckpt {
	struct store *s;
	char *config;
	int64_t db;
	struct store_filter filter;
	char schema[16]; /* the attached staging database */
	bool attached;
	sqlite3_stmt *ins_ext, *ins_art;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed;
	struct proto_counts want;                  /* the manifest's */
	struct proto_counts fed;                   /* everything fed, before filtering */
	uint64_t inc_extents, inc_rows, inc_bytes; /* staged */
	bool excluded_any;
	bool failed;
	uint64_t records; /* fed so far: names a record in errors */
	int64_t seq;      /* extents staged so far */
	struct model model;
};

static void ckpt_free(struct store_ckpt *ck)
{
	char sql[64];

	if (ck == NULL)
		return;
	(void)sqlite3_finalize(ck->ins_ext);
	(void)sqlite3_finalize(ck->ins_art);
	if (ck->attached) {
		store_rollback(ck->s);
		(void)snprintf(sql, sizeof(sql), "DETACH %s", ck->schema);
		(void)sqlite3_exec(ck->s->db, sql, NULL, NULL, NULL);
	}
	model_clear(&ck->model);
	free(ck->config);
	free(ck);
}

void store_checkpoint_abort(struct store_ckpt *ck)
{
	ckpt_free(ck);
}

/* Copies sql into buf replacing each "@S" by the staging schema name. */
static void ck_sql(const struct store_ckpt *ck, const char *sql, char *buf, size_t len)
{
	size_t n = 0, k = strlen(ck->schema);

	for (const char *p = sql; *p != '\0' && n + k < len; p++) {
		if (p[0] == '@' && p[1] == 'S') {
			memcpy(buf + n, ck->schema, k);
			n += k;
			p++;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
}

/* Runs sql (with "@S" for the staging schema). */
static int ck_exec(struct store_ckpt *ck, const char *fmt, char *err)
{
	char sql[1024];
	int rc;

	ck_sql(ck, fmt, sql, sizeof(sql));
	rc = sqlite3_exec(ck->s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlerr(ck->s, rc, err, "checkpoint staging");
}

/* Prepares sql (with "@S" for the staging schema) into *ret. */
static int ck_prepare(struct store_ckpt *ck, const char *fmt, sqlite3_stmt **ret, char *err)
{
	char sql[1024];
	int rc;

	ck_sql(ck, fmt, sql, sizeof(sql));
	rc = sqlite3_prepare_v2(ck->s->db, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlerr(ck->s, rc, err, "checkpoint prepare");
}

/* Staging: one row per extent with its first artifact inline (most extents
 * have one: a second table would double the staging inserts), the others
 * in art; ents maps model indexes to entity ids, gone lists removed extents. */
static const char ck_schema_sql[] =
    "PRAGMA @S.journal_mode = OFF; PRAGMA @S.synchronous = OFF;"
    "CREATE TABLE @S.ext(seq INTEGER PRIMARY KEY, uuid BLOB NOT NULL, ent INTEGER NOT NULL,"
    "  min_created INTEGER, max_created INTEGER, rows INTEGER, original_size INTEGER,"
    "  compressed_size INTEGER, bytes INTEGER, tags TEXT,"
    "  a_name TEXT, a_path TEXT, a_size INTEGER, a_sha256 BLOB, stats TEXT, a_data TEXT);"
    "CREATE TABLE @S.art(seq INTEGER NOT NULL, ord INTEGER NOT NULL, name TEXT NOT NULL,"
    "  path TEXT, size INTEGER NOT NULL, sha256 BLOB NOT NULL, data TEXT);"
    "CREATE TABLE @S.ents(idx INTEGER PRIMARY KEY, id INTEGER NOT NULL);"
    "CREATE INDEX @S.ents_id ON ents(id);"
    "CREATE TABLE @S.gone(id INTEGER PRIMARY KEY);";

static int ck_attach(struct store_ckpt *ck, char *err)
{
	char sql[64];
	int rc, r;

	if (!sqlite3_get_autocommit(ck->s->db))
		return store_errf(err, -EBUSY, "checkpoint: a transaction is open on the handle");
	(void)snprintf(ck->schema, sizeof(ck->schema), "ck%u", ++ck->s->nattached);
	(void)snprintf(sql, sizeof(sql), "ATTACH '' AS %s", ck->schema);
	rc = sqlite3_exec(ck->s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_sqlerr(ck->s, rc, err, "checkpoint staging");
	ck->attached = true;
	r = ck_exec(ck, ck_schema_sql, err);
	if (r == 0)
		r = ck_prepare(
		    ck,
		    "INSERT INTO @S.ext(seq, uuid, ent, min_created, max_created, rows, "
		    "original_size, compressed_size, bytes, tags, a_name, a_path, a_size, "
		    "a_sha256, stats, a_data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		    "?11, ?12, ?13, ?14, ?15, ?16)",
		    &ck->ins_ext, err);
	if (r == 0)
		r = ck_prepare(ck,
		               "INSERT INTO @S.art(seq, ord, name, path, size, sha256, data) "
		               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		               &ck->ins_art, err);
	return r;
}

int store_checkpoint_begin(struct store *s, const char *config, const struct proto_manifest *m,
                           const struct store_filter *filter, struct store_ckpt **ret, char *err)
{
	struct store_ckpt *ck = NULL;
	struct store_dbrow row = {0};
	int r = store_check_writable(s, err);

	if (r == 0)
		r = store_dbrow_find(s, config, &row, err);
	if (r < 0)
		return r;
	ck = calloc(1, sizeof(*ck));
	if (ck == NULL || (ck->config = strdup(config)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	ck->s = s;
	ck->db = row.id;
	if (filter != NULL)
		ck->filter = *filter;
	(void)snprintf(ck->uuid, sizeof(ck->uuid), "%s", m->uuid);
	ck->version = m->version;
	ck->committed = m->committed;
	ck->want = m->counts;
	r = ck_attach(ck, err);
	if (r < 0)
		goto out;
	*ret = ck;
	ck = NULL;
out:
	ckpt_free(ck);
	return r;
}

/* ---- feeding ---- */

/* Writes "record N (op): <message>" into err; returns r. */
static int rec_err(struct store_ckpt *ck, const struct proto_action *a, char *err, int r,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int rec_err(struct store_ckpt *ck, const struct proto_action *a, char *err, int r,
                   const char *fmt, ...)
{
	char msg[STORE_ERRLEN];
	const char *op = proto_op_name(a->op, a->entity.kind);
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return store_errf(err, r, "checkpoint record %" PRIu64 " (%s): %s", ck->records,
	                  op != NULL ? op : "?", msg);
}

static bool ck_included(const struct store_ckpt *ck, enum proto_kind kind, const char *name)
{
	if (ck->filter.include == NULL)
		return true;
	return ck->filter.include(kind, name, ck->filter.arg);
}

static int feed_create(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	struct m_entity x = {0};
	int r;

	if (model_find(&ck->model, a->entity.name) >= 0)
		return rec_err(ck, a, err, -EINVAL, "'%s' created twice", a->entity.name);
	switch (a->entity.kind) {
	case PROTO_TABLE:
		ck->fed.tables++;
		break;
	case PROTO_EXTERNAL_TABLE:
		ck->fed.external_tables++;
		break;
	case PROTO_MATERIALIZED_VIEW:
		ck->fed.materialized_views++;
		break;
	}
	x.included = ck_included(ck, a->entity.kind, a->entity.name);
	ck->excluded_any |= !x.included;
	r = proto_entity_copy(&x.e, &a->entity);
	if (r == 0)
		r = model_add(&ck->model, &x);
	m_entity_clear(&x);
	return r;
}

/* The included entity a policy record names, NULL for the database; *ret_skip
 * when the entity is excluded. */
static int policy_entity(struct store_ckpt *ck, const struct proto_action *a, char *err,
                         struct m_entity **ret, bool *ret_skip)
{
	ssize_t i;

	*ret = NULL;
	*ret_skip = false;
	if (a->table == NULL)
		return 0;
	i = model_find(&ck->model, a->table);
	if (i < 0)
		return rec_err(ck, a, err, -EINVAL, "no table '%s'", a->table);
	*ret = &ck->model.v[i];
	*ret_skip = !(*ret)->included;
	return 0;
}

static int feed_caching(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	struct m_entity *x;
	bool skip, *has;
	struct proto_caching *p;
	int r = policy_entity(ck, a, err, &x, &skip);

	if (r < 0 || skip)
		return r;
	has = x != NULL ? &x->has_caching : &ck->model.has_caching;
	p = x != NULL ? &x->caching : &ck->model.caching;
	proto_caching_clear(p);
	*has = a->has_policy;
	return a->has_policy ? proto_caching_copy(p, &a->caching) : 0;
}

static int feed_retention(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	struct m_entity *x;
	bool skip;
	int r = policy_entity(ck, a, err, &x, &skip);

	if (r < 0 || skip)
		return r;
	if (x != NULL) {
		x->has_retention = a->has_policy;
		x->retention = a->retention;
	} else {
		ck->model.has_retention = a->has_policy;
		ck->model.retention = a->retention;
	}
	return 0;
}

static int feed_principals(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	struct proto_principal *v;
	size_t k = (size_t)a->role;

	if (k >= PROTO_NROLES)
		return rec_err(ck, a, err, -EINVAL, "bad role %d", (int)a->role);
	v = calloc(a->nprincipals + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < a->nprincipals; i++) {
		v[i].fqn = strdup(a->principals[i].fqn);
		v[i].name = strdup(a->principals[i].name != NULL ? a->principals[i].name : "");
		if (v[i].fqn == NULL || v[i].name == NULL) {
			store_principals_free(v, i + 1);
			return -ENOMEM;
		}
	}
	store_principals_free(ck->model.prin[k], ck->model.nprin[k]);
	ck->model.prin[k] = v;
	ck->model.nprin[k] = a->nprincipals;
	return 0;
}

/* Stages the artifacts after the first (which stage_extent puts inline). */
static int stage_artifacts(struct store_ckpt *ck, const struct proto_extent *x, char *err)
{
	for (size_t i = 1; i < x->nartifacts; i++) {
		int r = store_artifact_put(ck->s, ck->ins_art, ck->seq, x, i, "checkpoint staging",
		                           err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Binds the first artifact of x (or NULLs) to parameters 11-14 and 16
 * (*data: its data format, freed by the caller after the step). */
static int bind_first_artifact(sqlite3_stmt *st, const struct proto_extent *x,
                               unsigned char sha[32], char **data, char *err)
{
	const struct proto_artifact *a = x->nartifacts > 0 ? &x->artifacts[0] : NULL;

	if (a == NULL)
		return 0;
	if (store_sha_parse(a->sha256, sha) < 0)
		return store_errf(err, -EINVAL, "extent %s: artifacts[0]: bad sha256", x->id);
	if (store_data_encode(a, data) < 0)
		return store_errf(err, -ENOMEM, "out of memory");
	(void)store_bind_text(st, 16, *data);
	(void)store_bind_text(st, 11, a->name != NULL ? a->name : "");
	(void)store_bind_text(st, 12, store_path_stored(a));
	(void)sqlite3_bind_int64(st, 13, (int64_t)a->size);
	(void)sqlite3_bind_blob(st, 14, sha, 32, SQLITE_STATIC);
	return 0;
}

static int stage_extent(struct store_ckpt *ck, size_t ent, const struct proto_extent *x,
                        uint64_t bytes, char *err)
{
	unsigned char uuid[16], sha[32];
	char *tags = NULL, *stats = NULL, *data = NULL;
	sqlite3_stmt *st = ck->ins_ext;
	int r;

	if (store_uuid_parse(x->id, uuid) < 0)
		return store_errf(err, -EINVAL, "extent '%.36s': bad id", x->id);
	(void)sqlite3_clear_bindings(st);
	r = bind_first_artifact(st, x, sha, &data, err);
	if (r == 0)
		r = store_tags_encode(x->tags, x->ntags, &tags);
	if (r == 0)
		r = store_stats_encode(x, &stats);
	if (r < 0)
		goto out;
	ck->seq++;
	(void)sqlite3_bind_int64(st, 1, ck->seq);
	(void)sqlite3_bind_blob(st, 2, uuid, sizeof(uuid), SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 3, (int64_t)ent);
	(void)sqlite3_bind_int64(st, 4, x->min_created);
	(void)sqlite3_bind_int64(st, 5, x->max_created);
	(void)sqlite3_bind_int64(st, 6, (int64_t)x->rows);
	(void)sqlite3_bind_int64(st, 7, (int64_t)x->original_size);
	(void)sqlite3_bind_int64(st, 8, (int64_t)x->compressed_size);
	(void)sqlite3_bind_int64(st, 9, (int64_t)bytes);
	(void)store_bind_text(st, 10, tags);
	(void)store_bind_text(st, 15, stats);
	r = store_step_done(ck->s, st, err, "checkpoint staging");
out:
	free(tags);
	free(stats);
	free(data);
	return r < 0 ? r : stage_artifacts(ck, x, err);
}

static int feed_extents(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	ssize_t ent = -1;

	for (size_t i = 0; i < a->nextents; i++) {
		const struct proto_extent *x = &a->extents[i];
		struct m_entity *e;
		uint64_t bytes = 0;
		int r;

		if (ent < 0 || strcmp(ck->model.v[ent].e.name, x->table) != 0)
			ent = model_find(&ck->model, x->table);
		if (ent < 0)
			return rec_err(ck, a, err, -EINVAL, "extents[%zu]: no table '%s'", i,
			               x->table);
		e = &ck->model.v[ent];
		for (size_t k = 0; k < x->nartifacts; k++)
			bytes += x->artifacts[k].size;
		ck->fed.extents++;
		ck->fed.rows += x->rows;
		ck->fed.bytes += bytes;
		if (!e->included)
			continue;
		if (e->e.kind == PROTO_EXTERNAL_TABLE)
			return rec_err(ck, a, err, -EINVAL,
			               "extents[%zu]: '%s' is an external table", i, x->table);
		r = stage_extent(ck, (size_t)ent, x, bytes, err);
		if (r < 0)
			return r;
		e->extents++;
		e->rows += x->rows;
		e->bytes += bytes;
		ck->inc_extents++;
		ck->inc_rows += x->rows;
		ck->inc_bytes += bytes;
	}
	return 0;
}

static int feed_one(struct store_ckpt *ck, const struct proto_action *a, char *err)
{
	switch (a->op) {
	case PROTO_OP_CREATE:
		return feed_create(ck, a, err);
	case PROTO_OP_ADD_EXTENTS:
		return feed_extents(ck, a, err);
	case PROTO_OP_SET_CACHING:
		return feed_caching(ck, a, err);
	case PROTO_OP_SET_RETENTION:
		return feed_retention(ck, a, err);
	case PROTO_OP_SET_PRINCIPALS:
		return feed_principals(ck, a, err);
	default:
		return rec_err(ck, a, err, -EINVAL, "not allowed in a checkpoint");
	}
}

int store_checkpoint_feed(struct store_ckpt *ck, const struct proto_action *records, size_t n,
                          char *err)
{
	int r;

	if (ck->failed)
		return store_errf(err, -EINVAL, "checkpoint: an earlier feed failed");
	/* Only the staging database is written: the store is not locked. */
	r = ck_exec(ck, "BEGIN", err);
	for (size_t i = 0; r == 0 && i < n; i++, ck->records++)
		r = feed_one(ck, &records[i], err);
	if (r == 0)
		r = ck_exec(ck, "COMMIT", err);
	if (r < 0) {
		store_rollback(ck->s);
		ck->failed = true;
	}
	return r;
}

/* ---- finishing ---- */

static int check_count(char *err, const char *what, const char *whose, uint64_t want, uint64_t have)
{
	if (want == have)
		return 0;
	return store_errf(err, -EBADMSG,
	                  "checkpoint: %s: the manifest says %" PRIu64 ", %s %" PRIu64, what, want,
	                  whose, have);
}

/* Compares counts c with the manifest's. */
static int check_counts(const struct store_ckpt *ck, const struct proto_counts *c,
                        const char *whose, char *err)
{
	const struct proto_counts *w = &ck->want;
	int r = check_count(err, "tables", whose, w->tables, c->tables);

	if (r == 0)
		r = check_count(err, "external tables", whose, w->external_tables,
		                c->external_tables);
	if (r == 0)
		r = check_count(err, "materialized views", whose, w->materialized_views,
		                c->materialized_views);
	if (r == 0)
		r = check_count(err, "extents", whose, w->extents, c->extents);
	if (r == 0)
		r = check_count(err, "rows", whose, w->rows, c->rows);
	if (r == 0)
		r = check_count(err, "bytes", whose, w->bytes, c->bytes);
	return r;
}

/* The stored counts of database db, for the check after applying; the
 * extent sums only when extents (a scan of them). */
static int stored_counts(struct store *s, int64_t db, bool extents, struct proto_counts *c,
                         char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_COUNT_KINDS, err);
	enum proto_kind kind;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	while ((r = store_step_row(s, st, err, "counts")) == 1) {
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);

		if (store_kind_parse((const char *)sqlite3_column_text(st, 0), &kind) < 0)
			continue;
		*(kind == PROTO_TABLE            ? &c->tables
		  : kind == PROTO_EXTERNAL_TABLE ? &c->external_tables
		                                 : &c->materialized_views) = n;
	}
	if (r < 0 || !extents)
		return r;
	if ((st = store_stmt(s, ST_COUNT_EXTENTS, err)) == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	r = store_step_row(s, st, err, "counts");
	if (r == 1) {
		c->extents = (uint64_t)sqlite3_column_int64(st, 0);
		c->rows = (uint64_t)sqlite3_column_int64(st, 1);
		c->bytes = (uint64_t)sqlite3_column_int64(st, 2);
		(void)sqlite3_reset(st);
	}
	return r < 0 ? r : 0;
}

/* One finish in progress. */
struct finish {
	struct store_ckpt *ck;
	struct store *s;
	char *err;
	struct store_dbrow row;
	struct model cur; /* the stored state before */
	bool replace;     /* first load or new uuid: everything is replaced */
	struct store_summary sum;
};

/* Runs a one-off statement on the staging and main databases with up to two
 * integer parameters; *ret (may be NULL) receives up to three columns of the
 * first row. */
static int fin_run(struct finish *f, const char *fmt, int64_t p1, int64_t p2, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r = ck_prepare(f->ck, fmt, &st, f->err);

	if (r == 0) {
		(void)sqlite3_bind_int64(st, 1, p1);
		(void)sqlite3_bind_int64(st, 2, p2);
		r = store_step_row(f->s, st, f->err, "checkpoint apply");
	}
	for (int i = 0; r == 1 && ret != NULL && i < 3 && i < sqlite3_column_count(st); i++)
		ret[i] = sqlite3_column_int64(st, i);
	(void)sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

static int ents_map(struct finish *f, size_t idx, int64_t id)
{
	return fin_run(f, "INSERT INTO @S.ents(idx, id) VALUES(?1, ?2)", (int64_t)idx, id, NULL);
}

/* Creates or alters the included entities fed, appending their changes. */
static int apply_entities(struct finish *f)
{
	struct model *fed = &f->ck->model;
	int r = 0;

	for (size_t i = 0; r == 0 && i < fed->n; i++) {
		struct m_entity *x = &fed->v[i];
		ssize_t j = x->included ? model_find(&f->cur, x->e.name) : -1;
		struct m_entity *old = j >= 0 ? &f->cur.v[j] : NULL;
		size_t before = f->sum.changes.n;

		if (!x->included)
			continue;
		if (old != NULL)
			old->matched = true;
		r = diff_entity(old != NULL ? &old->e : NULL, &x->e, &f->sum.changes);
		if (r == 0 && (old == NULL || f->replace))
			r = store_entity_insert(f->s, f->row.id, &x->e, &x->id, f->err);
		else if (r == 0 && f->sum.changes.n > before)
			r = store_entity_update(f->s, old->id, &x->e, f->err);
		if (r == 0 && old != NULL && !f->replace)
			x->id = old->id;
		if (r == 0)
			r = diff_caching(x->e.name, x->e.kind,
			                 old != NULL && old->has_caching ? &old->caching : NULL,
			                 x->has_caching ? &x->caching : NULL, &f->sum.changes);
		if (r == 0)
			r = diff_retention(
			    x->e.name, x->e.kind,
			    old != NULL && old->has_retention ? &old->retention : NULL,
			    x->has_retention ? &x->retention : NULL, &f->sum.changes);
		if (r == 0)
			r = ents_map(f, i, x->id);
	}
	return r;
}

/* Drops the stored entities not fed again (their extents are gone already). */
static int drop_entities(struct finish *f)
{
	int r = 0;

	for (size_t j = 0; r == 0 && j < f->cur.n; j++) {
		struct m_entity *old = &f->cur.v[j];

		if (old->matched)
			continue;
		r = diff_entity(&old->e, NULL, &f->sum.changes);
		if (r == 0 && !f->replace)
			r = store_run_id(f->s, ST_COL_DELETE, old->id, f->err);
		if (r == 0 && !f->replace)
			r = store_run_id(f->s, ST_ENT_DELETE, old->id, f->err);
	}
	return r;
}

/* -EBADMSG naming an extent id the checkpoint lists twice; query returns
 * such a uuid (the first column) when there is one. */
static int duplicates(struct finish *f, const char *query, int64_t db)
{
	char id[PROTO_UUID_LEN + 1];
	sqlite3_stmt *st = NULL;
	int rc, r = ck_prepare(f->ck, query, &st, f->err);

	if (r < 0)
		return r;
	(void)sqlite3_bind_int64(st, 1, db);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
		store_uuid_format(sqlite3_column_blob(st, 0), id);
		r = store_errf(f->err, -EBADMSG, "checkpoint: extent %s listed twice", id);
	} else if (rc != SQLITE_DONE) {
		r = store_sqlerr(f->s, rc, f->err, "checkpoint duplicates");
	}
	(void)sqlite3_finalize(st);
	return r;
}

#define INSERT_EXTENTS                                                                             \
	"INSERT INTO extents(id, db, entity, uuid, min_created, max_created, rows, "               \
	"original_size, compressed_size, bytes, tags, stats) "                                     \
	"SELECT ?2 + s.seq, ?1, m.id, s.uuid, s.min_created, s.max_created, s.rows, "              \
	"s.original_size, s.compressed_size, s.bytes, s.tags, s.stats "
/* In staging order: ids ascend, the table is appended to. */
#define INSERT_ALL_EXTENTS INSERT_EXTENTS "FROM @S.ext s CROSS JOIN @S.ents m ON m.idx = s.ent"
/* In uuid order: the probes of the stored index go forward, not at random. */
#define INSERT_NEW_EXTENTS                                                                         \
	INSERT_EXTENTS                                                                             \
	"FROM @S.ext s INDEXED BY ext_uk CROSS JOIN @S.ents m ON m.idx = s.ent "                   \
	"WHERE NOT EXISTS (SELECT 1 FROM extents e WHERE e.db = ?1 AND e.uuid = s.uuid) "          \
	"ORDER BY s.uuid"
#define INSERT_FIRST_ARTIFACTS                                                                     \
	"INSERT INTO artifacts(extent, ord, name, path, size, sha256, data) "                      \
	"SELECT ?1 + a.seq, 0, a.a_name, a.a_path, a.a_size, a.a_sha256, a.a_data FROM @S.ext a "  \
	"WHERE a.a_sha256 IS NOT NULL"
#define INSERT_MORE_ARTIFACTS                                                                      \
	"INSERT INTO artifacts(extent, ord, name, path, size, sha256, data) "                      \
	"SELECT ?1 + a.seq, a.ord, a.name, a.path, a.size, a.sha256, a.data FROM @S.art a WHERE 1"
#define ONLY_NEW " AND EXISTS (SELECT 1 FROM extents e WHERE e.id = ?1 + a.seq)"

/* Deletes the stored extents the checkpoint does not hold (same id in the
 * same entity), counting them as removed.  Both sides are walked in uuid
 * order through indexes that hold uuid and entity. */
static int remove_extents(struct finish *f)
{
	int64_t sums[3] = {0};
	int r = fin_run(f, "CREATE INDEX @S.ext_uk ON ext(uuid, ent)", 0, 0, NULL);

	if (r == 0)
		r = duplicates(
		    f, "SELECT uuid FROM @S.ext GROUP BY uuid HAVING count(*) > 1 LIMIT 1", 0);
	if (r == 0)
		r = fin_run(f,
		            "INSERT INTO @S.gone(id) SELECT e.id FROM extents e WHERE e.db = ?1 "
		            "AND NOT EXISTS (SELECT 1 FROM @S.ext s WHERE s.uuid = e.uuid AND "
		            "s.ent = (SELECT m.idx FROM @S.ents m WHERE m.id = e.entity))",
		            f->row.id, 0, NULL);
	if (r == 0)
		r = fin_run(f,
		            "SELECT count(*), coalesce(sum(e.rows), 0), coalesce(sum(e.bytes), 0) "
		            "FROM @S.gone g JOIN extents e ON e.id = g.id",
		            0, 0, sums);
	if (r == 0)
		r = fin_run(f, "DELETE FROM artifacts WHERE extent IN (SELECT id FROM @S.gone)", 0,
		            0, NULL);
	if (r == 0)
		r = fin_run(f, "DELETE FROM extents WHERE id IN (SELECT id FROM @S.gone)", 0, 0,
		            NULL);
	f->sum.extents_removed += (uint64_t)sums[0];
	f->sum.rows_removed += (uint64_t)sums[1];
	f->sum.bytes_removed += (uint64_t)sums[2];
	return r;
}

/* Inserts the staged extents the store does not hold yet (all of them when
 * replacing), with ids base + seq, and their artifacts. */
static int add_extents(struct finish *f)
{
	int64_t base = 0, sums[3] = {0};
	int r = fin_run(f, "SELECT coalesce(max(id), 0) FROM main.extents", 0, 0, &base);

	if (r == 0)
		r = fin_run(f, f->replace ? INSERT_ALL_EXTENTS : INSERT_NEW_EXTENTS, f->row.id,
		            base, NULL);
	/* A replace did not check its staging: the stored index tells. */
	if (r == 0 && f->replace)
		r = duplicates(f,
		               "SELECT uuid FROM extents WHERE db = ?1 GROUP BY uuid "
		               "HAVING count(*) > 1 LIMIT 1",
		               f->row.id);
	if (r == 0)
		r = fin_run(f,
		            f->replace ? INSERT_FIRST_ARTIFACTS : INSERT_FIRST_ARTIFACTS ONLY_NEW,
		            base, 0, NULL);
	if (r == 0)
		r = fin_run(f, f->replace ? INSERT_MORE_ARTIFACTS : INSERT_MORE_ARTIFACTS ONLY_NEW,
		            base, 0, NULL);
	if (r == 0)
		r = fin_run(f,
		            "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0) "
		            "FROM extents WHERE id > ?1",
		            base, 0, sums);
	f->sum.extents_added += (uint64_t)sums[0];
	f->sum.rows_added += (uint64_t)sums[1];
	f->sum.bytes_added += (uint64_t)sums[2];
	return r;
}

/* Rewrites the database's policies and principals, appending their changes. */
static int apply_db_rows(struct finish *f)
{
	struct model *fed = &f->ck->model;
	int64_t db = f->row.id;
	int r = diff_caching(NULL, PROTO_TABLE, f->cur.has_caching ? &f->cur.caching : NULL,
	                     fed->has_caching ? &fed->caching : NULL, &f->sum.changes);

	if (r == 0)
		r = diff_retention(NULL, PROTO_TABLE,
		                   f->cur.has_retention ? &f->cur.retention : NULL,
		                   fed->has_retention ? &fed->retention : NULL, &f->sum.changes);
	if (r == 0)
		r = store_run_id(f->s, ST_WIPE_CACHING, db, f->err);
	if (r == 0)
		r = store_run_id(f->s, ST_WIPE_RETENTION, db, f->err);
	if (r == 0)
		r = store_run_id(f->s, ST_WIPE_EXCLUDED, db, f->err);
	if (r == 0 && fed->has_caching)
		r = store_caching_write(f->s, db, 0, &fed->caching, f->err);
	if (r == 0 && fed->has_retention)
		r = store_retention_write(f->s, db, 0, &fed->retention, f->err);
	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++) {
		r = diff_principals((enum proto_role)k, f->cur.prin[k], f->cur.nprin[k],
		                    fed->prin[k], fed->nprin[k], &f->sum.changes);
		if (r == 0)
			r = store_principals_write(f->s, db, (enum proto_role)k, fed->prin[k],
			                           fed->nprin[k], f->err);
	}
	return r;
}

/* Writes each fed entity's policies and extent totals, and the names of the
 * excluded ones (after apply_db_rows emptied those tables). */
static int apply_entity_rows(struct finish *f)
{
	struct model *fed = &f->ck->model;
	int64_t db = f->row.id;
	int r = 0;

	for (size_t i = 0; r == 0 && i < fed->n; i++) {
		const struct m_entity *x = &fed->v[i];

		if (!x->included) {
			r = store_excluded_put(f->s, db, x->e.name, x->e.kind, f->err);
			continue;
		}
		if (x->has_caching)
			r = store_caching_write(f->s, db, x->id, &x->caching, f->err);
		if (r == 0 && x->has_retention)
			r = store_retention_write(f->s, db, x->id, &x->retention, f->err);
		if (r == 0)
			r = store_entity_totals(f->s, x->id, x->extents, x->rows, x->bytes, f->err);
	}
	return r;
}

static int set_applied(struct finish *f)
{
	struct store_ckpt *ck = f->ck;
	sqlite3_stmt *st = store_stmt(f->s, ST_DB_SET_APPLIED, f->err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, f->row.id);
	(void)store_bind_text(st, 2, ck->uuid);
	(void)sqlite3_bind_int64(st, 3, (int64_t)ck->version);
	(void)sqlite3_bind_int64(st, 4, ck->committed);
	(void)sqlite3_bind_int64(st, 5, store_now());
	(void)sqlite3_bind_int64(st, 6, (int64_t)ck->inc_extents);
	(void)sqlite3_bind_int64(st, 7, (int64_t)ck->inc_rows);
	(void)sqlite3_bind_int64(st, 8, (int64_t)ck->inc_bytes);
	(void)sqlite3_bind_int(st, 9, 1); /* a checkpoint is visible at once */
	return store_step_done(f->s, st, f->err, "database applied");
}

/* The history note of a rewind: {"change":"rewind","old_uuid":..,"old_version":..}. */
static char *rewind_note(const struct store_dbrow *row)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "change", "rewind", "old_uuid", row->uuid,
	                      "old_version", (json_int_t)row->applied_version);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return text;
}

static int finish_history(struct finish *f)
{
	struct store_ckpt *ck = f->ck;
	char *note = NULL;
	int r;

	if (f->sum.rewound && (note = rewind_note(&f->row)) == NULL)
		return -ENOMEM;
	r = store_history_add(f->s, f->row.id, ck->uuid, ck->version, ck->committed, true, &f->sum,
	                      note, f->err);
	free(note);
	return r;
}

/* Checks the stored state against the manifest (when nothing was excluded).
 * After a replace, the extents added are all the database holds: their sums
 * are already known from the rows themselves. */
static int verify_stored(struct finish *f)
{
	struct proto_counts have = {0};
	int r = stored_counts(f->s, f->row.id, !f->replace, &have, f->err);

	if (f->replace) {
		have.extents = f->sum.extents_added;
		have.rows = f->sum.rows_added;
		have.bytes = f->sum.bytes_added;
	}
	return r < 0 ? r : check_counts(f->ck, &have, "the store holds", f->err);
}

/* Everything finish does inside the transaction. */
static int finish_apply(struct finish *f)
{
	struct store_ckpt *ck = f->ck;
	int r = store_dbrow_find(f->s, ck->config, &f->row, f->err);

	if (r == 0 && f->row.id != ck->db)
		r = store_errf(f->err, -ENOENT, "database '%s': detached meanwhile", ck->config);
	if (r == 0)
		r = model_load(f->s, f->row.id, &f->cur, f->err);
	if (r < 0)
		return r;
	/* A checkpoint keeps no older version: its own becomes visible, so
	 * the rows only an older visible version held go first. */
	r = store_purge_held(f->s, &f->row, f->err);
	if (r < 0)
		return r;
	f->replace = strcmp(f->row.uuid, ck->uuid) != 0;
	f->sum.rewound = f->replace && f->row.uuid[0] != '\0';
	if (f->replace) {
		f->sum.extents_removed = f->row.extents;
		f->sum.rows_removed = f->row.rows;
		f->sum.bytes_removed = f->row.bytes;
		r = store_wipe(f->s, f->row.id, false, f->err);
	}
	if (r == 0)
		r = apply_entities(f);
	if (r == 0 && !f->replace)
		r = remove_extents(f);
	if (r == 0)
		r = add_extents(f);
	if (r == 0)
		r = drop_entities(f);
	if (r == 0)
		r = apply_db_rows(f);
	if (r == 0)
		r = apply_entity_rows(f);
	if (r == 0)
		r = store_run_id(f->s, ST_ENT_PUBLISH, f->row.id, f->err);
	if (r == 0 && !ck->excluded_any)
		r = verify_stored(f);
	if (r == 0)
		r = set_applied(f);
	if (r == 0)
		r = finish_history(f);
	return r;
}

int store_checkpoint_finish(struct store_ckpt *ck, struct store_summary *ret, char *err)
{
	struct finish f = {.ck = ck, .s = ck->s, .err = err};
	int r = 0;

	if (ck->failed)
		r = store_errf(err, -EINVAL, "checkpoint: an earlier feed failed");
	if (r == 0)
		r = check_counts(ck, &ck->fed, "the parts hold", err);
	if (r == 0) {
		r = store_begin(ck->s, err);
		/* Another writer holds the lock: keep the staging for a retry. */
		if (r == -EBUSY)
			return r;
	}
	if (r == 0)
		r = finish_apply(&f);
	if (r == 0)
		r = store_commit(ck->s, err);
	if (r < 0) {
		store_rollback(ck->s);
		store_summary_clear(&f.sum);
	} else if (ret != NULL) {
		*ret = f.sum;
	} else {
		store_summary_clear(&f.sum);
	}
	model_clear(&f.cur);
	ckpt_free(ck);
	return r;
}
