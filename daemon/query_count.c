/*
 * query_count — a bare count of a stored table answered from the query
 * store's catalogue instead of a scan: `T | count`, `T | summarize
 * count()`, also after projects (they drop no row).  An executor's
 * decision: the plan stays what the binder made; this only recognises its
 * shape.
 *
 * Exact: a loaded extent's q.qextents.rows is the number of rows its load
 * inserted, committed in the same transaction as the rows (qstore_load.c),
 * and its rows are never changed in place (a schema change empties the
 * table and its extents with it).  The coordinator's view of the table
 * reads exactly the rows of its eids, and qtable.rows sums their rows in
 * the same snapshot: what a scan of the view counts.  Extents left out
 * (not loaded, not parsing, cold under query_datascope=hotcache) are in
 * neither.
 */
#include "query_int.h"

#include <errno.h>
#include <string.h>

/* Whether e is count() (no argument, no predicate). */
static bool is_count(const struct kql_expr *e)
{
	return e->kind == KQL_E_CALL && e->fn == KQL_F_COUNT && e->nargs == 0;
}

/* The scan under p when p counts its rows and nothing else; else NULL. */
static const struct kql_plan *counted_scan(const struct kql_plan *p)
{
	if (p->kind != KQL_P_AGGREGATE || p->nkeys != 0 || p->nexprs == 0 || p->nin != 1 ||
	    p->ncols != p->nexprs)
		return NULL;
	for (size_t i = 0; i < p->nexprs; i++)
		if (!is_count(p->exprs[i]))
			return NULL;
	p = p->in[0];
	while (p->kind == KQL_P_PROJECT && p->nin == 1)
		p = p->in[0];
	return p->kind == KQL_P_SCAN && !p->foreign ? p : NULL;
}

/* The stored table the coordinator's view of scan reads; NULL: none. */
static const struct qtable *stored(const struct qpar_ctx *c, const struct kql_plan *scan)
{
	if (scan->db && strcmp(scan->db, c->j->db) != 0)
		return NULL;
	for (size_t i = 0; i < c->ntables; i++)
		if (strcmp(c->tables[i].ent->name, scan->table) == 0)
			return &c->tables[i];
	return NULL;
}

int query_count_run(const struct qpar_ctx *c, const struct kql_plan *p, kql_row_fn *row, void *arg)
{
	const struct kql_plan *scan = counted_scan(p);
	const struct qtable *t = scan ? stored(c, scan) : NULL;
	struct kql_value v[8];

	if (!t || p->ncols > sizeof(v) / sizeof(*v) || t->rows > INT64_MAX)
		return -EAGAIN;
	for (size_t i = 0; i < p->ncols; i++)
		v[i] = (struct kql_value){.i = (int64_t)t->rows};
	return row(arg, v, p->ncols);
}
