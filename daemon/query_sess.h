/*
 * query_sess — what a query worker keeps between queries so that a small
 * query costs little: its connection to one database's query store (the
 * kql_* functions registered, the store attached read-only, the statements
 * of every query prepared, the queries' own last ones, the temp views of
 * the last query with the eids each reads), per table, the walk of its
 * visible extents (each one's facts: loaded at which eid with how many
 * rows, queryable, its created-on range and statistics), and the
 * database's schema (qsess_schema, kept apart from the connection, on the
 * generation alone).
 *
 * Exactly one version per query, as without it.  What is kept was read in
 * one state-store snapshot and one query-store snapshot; it is used again
 * only by a query whose own snapshots show the same generation of the
 * state store (store_generation: no change of extents, schemas, policies,
 * principals or databases in between, which every such change bumps in
 * its own transaction), the same PRAGMA data_version of the query store
 * (no commit by anyone: the same loaded extents) and the same query-store
 * file.  Anything else (a new version, a pass of qsync, a failed query)
 * drops the session and the query starts afresh; a commit that changes
 * nothing a query reads (a poll's status row, the state or last error of
 * a database, the cache's blob states) keeps it.  The query still opens
 * its own read transactions, so it reads its own snapshots (never a
 * version older than one applied before it started); equal generations
 * and data versions only mean the kept facts are its.
 * Memory: between queries the connection's page caches are released
 * (sqlite3_db_release_memory); what stays is the schema, the views and the
 * walks (at most QSESS_WALK_BYTES a table).
 *
 * One per worker thread; not shared.
 */
#ifndef FOLLOWERD_QUERY_SESS_H
#define FOLLOWERD_QUERY_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_skip.h"
#include "query/kql_stmts.h"
#include "store/store.h"

/* One visible extent of a table as the walk found it. */
struct qsess_ext {
	int64_t id;    /* the state store's row id */
	int64_t eid;   /* loaded at eid in the query store's snapshot; 0: not */
	uint64_t rows; /* q.qextents.rows of a loaded one */
	bool typed;    /* queryable (its artifacts declare a data format) */
	bool bad;      /* not loaded: its rows do not parse (q.qerrors) */
	int64_t min_created, max_created;
	struct kql_skip_col *cols; /* its statistics (names interned, query_extents.h) */
	size_t ncols;
};

/* A table's walk past this is used by its query only, not kept (a table
 * of very many extents walks as without the session, never wrongly). */
#define QSESS_WALK_BYTES ((size_t)32 << 20)

/* The walk of one table: its visible extents sorted by eid (those not
 * loaded first), and the view the connection holds for it now. */
struct qsess_walk {
	char *table;
	bool filled;
	struct qsess_ext *exts;
	size_t n, cap, bytes;
	char *view_sql; /* the CREATE TEMP VIEW last run for it; NULL: none */
	/* the eids it reads and whether it has the rows' ingestion times: in
	 * one session (one schema, one query-store snapshot, one walk) the
	 * view is a function of them, so a query reading the same uses it
	 * without building its text again */
	int64_t *view_eids;
	size_t view_neids;
	bool view_ingest;
};

/* The statements a kept connection runs for every query, prepared once
 * (parsing them again was ~5% of a small query's CPU). */
enum qsess_st {
	QSESS_BEGIN,    /* BEGIN */
	QSESS_SNAPSHOT, /* a read of q: the query store's snapshot starts */
	QSESS_VERSION,  /* PRAGMA q.data_version */
	QSESS_COMMIT,   /* COMMIT */
	QSESS_STORED,   /* a table's stored name and schema in q */
	QSESS__N
};

/* The request database's schema as the last query read it (the binder's
 * tables over the store's entities), used again while the database and
 * the state store's generation are the same; independent of the
 * connection (a pass of qsync keeps it). */
struct qsess_schema {
	int64_t db_id, generation; /* generation -1: nothing kept */
	struct store_entity *ents;
	size_t nents;
	struct kql_schema_table *tables;
	struct kql_schema_column *cols;
};

struct qsess {
	struct qsess_schema schema;
	sqlite3 *db; /* NULL: nothing kept */
	sqlite3_stmt *st[QSESS__N];
	struct kql_stmts *stmts; /* the queries' own statements; NULL until the first */
	int64_t db_id;
	dev_t dev;
	ino_t ino;
	int64_t generation; /* the state store's (store_generation) */
	int64_t q_version;  /* the query store's PRAGMA data_version */
	uint64_t bound;     /* kql_exec_bound's limit on db */
	/* the memory budget db's aggregates count against, reset per query */
	struct kql_budget budget;
	struct qsess_walk *walks;
	size_t nwalks;
};

/* A new empty session in *ret; 0 or -ENOMEM. */
int qsess_new(struct qsess **ret);
/* Closes the connection and forgets every walk; s stays usable. */
void qsess_drop(struct qsess *s);
/* NULL is a no-op. */
void qsess_free(struct qsess *s);
/* Frees the kept schema: after it, nothing is kept. */
void qsess_schema_clear(struct qsess_schema *c);

/* Statement id on s->db, prepared the first time (kept until
 * qsess_drop), reset; NULL when it cannot be prepared. */
sqlite3_stmt *qsess_stmt(struct qsess *s, enum qsess_st id);
/* Steps statement id of s once and resets it: 0, or -EIO. */
int qsess_run(struct qsess *s, enum qsess_st id);
/* The statements the queries on s->db keep (kql_stmts.h), made the first
 * time (kept until qsess_drop); NULL on ENOMEM (then none are kept). */
struct kql_stmts *qsess_stmts(struct qsess *s);

/* The walk of table in s (an empty one, added, when s has none); NULL on
 * ENOMEM. */
struct qsess_walk *qsess_walk(struct qsess *s, const char *table);
/* Empties w (its view text too); w stays usable. */
void qsess_walk_clear(struct qsess_walk *w);
/* Whether w's view reads exactly eids (n of them), with the ingestion
 * time column when ingest. */
bool qsess_view_reads(const struct qsess_walk *w, const int64_t *eids, size_t n, bool ingest);
/* Records that w's view (view_sql) reads eids (with the ingestion time
 * column when ingest); -ENOMEM (then it records none, and the next query
 * builds the view's text again). */
int qsess_view_set(struct qsess_walk *w, const int64_t *eids, size_t n, bool ingest);
/* Appends e to w, its cols copied (e borrowed); 0 or -ENOMEM. */
int qsess_walk_add(struct qsess_walk *w, const struct qsess_ext *e);
/* Sorts w's extents by eid; it is then filled (unless over
 * QSESS_WALK_BYTES: the next query walks again). */
void qsess_walk_done(struct qsess_walk *w);

#endif
