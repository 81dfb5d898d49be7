/*
 * query_pool — idle read-only connections to the query stores, kept for
 * the partitions of parallel scans (query_par.c).
 *
 * Why: a scan that reads the store with pread copies every page through
 * the kernel (about half of a filter's CPU on tmpfs), while a memory map
 * reads the page cache in place, but only a mapping that outlives the
 * query pays off (a fresh one faults every page in again, which costs
 * more than the copies).  SQLite keeps its map per connection, so the
 * connections are kept: each has the store attached as "q" with
 * mmap_size set.  A connection comes back only clean (no transaction, no
 * statement, no temp object); its functions, bounds and handlers are set
 * again by whoever takes it.  A store file replaced under its path (a
 * rebuild) is noticed by its inode and the old connection closed; the
 * partitions' fingerprints (query_par.c) guard the rows in any case.
 */
#include "query_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool same_file(const struct qpool_conn *c, const char *path)
{
	struct stat st;

	return strcmp(c->path, path) == 0 && stat(path, &st) == 0 && st.st_dev == c->dev &&
	       st.st_ino == c->ino;
}

/* A pooled connection to path into *c; false when there is none. */
static bool take(struct query *q, const char *path, struct qpool_conn *c)
{
	bool found = false;

	pthread_mutex_lock(&q->mu);
	for (size_t i = q->npool; i-- > 0 && !found;) {
		if (strcmp(q->pool[i].path, path) != 0)
			continue;
		*c = q->pool[i];
		q->pool[i] = q->pool[--q->npool];
		found = true;
	}
	pthread_mutex_unlock(&q->mu);
	if (found && !same_file(c, path)) {
		query_pool_close(c);
		found = false;
	}
	return found;
}

static int attach(sqlite3 *db, const char *path)
{
	if (query_attach_ro(db, path, "q") < 0 ||
	    sqlite3_exec(db, "PRAGMA q.mmap_size = " QUERY_MMAP_BYTES, NULL, NULL, NULL) !=
	        SQLITE_OK)
		return -EIO;
	return 0;
}

/* A new connection; the file's identity taken before it is opened, so a
 * replacement in between is seen as one at the next take. */
static int open_new(const char *path, struct qpool_conn *c)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return -errno;
	if ((c->path = strdup(path)) == NULL)
		return -ENOMEM;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	rc = sqlite3_open_v2(":memory:", &c->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK || attach(c->db, path) < 0) {
		query_pool_close(c);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	return 0;
}

int query_pool_get(struct query *q, const char *path, struct qpool_conn *ret)
{
	struct qpool_conn c = {0};
	int rc = 0;

	if (!take(q, path, &c))
		rc = open_new(path, &c);
	if (rc == 0)
		*ret = c;
	return rc;
}

/* Drops the temp views (a partition's); 0 when nothing else is left in
 * temp, no statement and no transaction. */
static int clean(sqlite3 *db)
{
	sqlite3_progress_handler(db, 0, NULL, NULL);
	if (sqlite3_next_stmt(db, NULL) != NULL)
		return -EBUSY;
	if (!sqlite3_get_autocommit(db) &&
	    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	for (int i = 0; i < 16; i++) {
		sqlite3_stmt *s = NULL;
		char *drop = NULL;
		int n = -1, rc;
		if (sqlite3_prepare_v2(
		        db,
		        "SELECT (SELECT count(*) FROM temp.sqlite_schema), (SELECT name "
		        "FROM temp.sqlite_schema WHERE type = 'view' LIMIT 1)",
		        -1, &s, NULL) != SQLITE_OK)
			return -EIO;
		if (sqlite3_step(s) == SQLITE_ROW) {
			n = sqlite3_column_int(s, 0);
			if (sqlite3_column_type(s, 1) == SQLITE_TEXT)
				drop = sqlite3_mprintf("DROP VIEW temp.\"%w\"",
				                       sqlite3_column_text(s, 1));
		}
		sqlite3_finalize(s);
		if (n == 0)
			return sqlite3_get_autocommit(db) ? 0 : -EBUSY;
		if (drop == NULL)
			return -EBUSY; /* something else than a view, or ENOMEM */
		rc = sqlite3_exec(db, drop, NULL, NULL, NULL);
		sqlite3_free(drop);
		if (rc != SQLITE_OK)
			return -EIO;
	}
	return -EBUSY;
}

/* When full, the oldest idle connection goes (a store no longer queried,
 * a detached database's, does not hold its place). */
void query_pool_put(struct query *q, struct qpool_conn *c)
{
	struct qpool_conn old = {0};
	bool kept = false;

	if (c->db == NULL)
		return;
	if (clean(c->db) == 0) {
		pthread_mutex_lock(&q->mu);
		if (!q->stop && q->npool == QUERY_POOL_MAX) {
			old = q->pool[0];
			memmove(q->pool, q->pool + 1, --q->npool * sizeof(*q->pool));
		}
		if (!q->stop) {
			q->pool[q->npool++] = *c;
			kept = true;
		}
		pthread_mutex_unlock(&q->mu);
	}
	if (old.db != NULL)
		query_pool_close(&old);
	if (!kept)
		query_pool_close(c);
	*c = (struct qpool_conn){0};
}

void query_pool_tidy(struct query *q)
{
	struct qpool_conn idle[QUERY_POOL_MAX];
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->npool;
	memcpy(idle, q->pool, n * sizeof(*idle));
	q->npool = 0;
	pthread_mutex_unlock(&q->mu);
	for (size_t i = 0; i < n; i++) {
		if (same_file(&idle[i], idle[i].path))
			query_pool_put(q, &idle[i]);
		else
			query_pool_close(&idle[i]);
	}
}

void query_pool_close(struct qpool_conn *c)
{
	sqlite3_close(c->db);
	free(c->path);
	*c = (struct qpool_conn){0};
}

void query_pool_free(struct query *q)
{
	for (size_t i = 0; i < q->npool; i++)
		query_pool_close(&q->pool[i]);
	q->npool = 0;
}
