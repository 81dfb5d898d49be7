/*
 * kql_stmts — a few prepared statements kept between queries on one
 * connection, found again by their SQL text.  A small query repeated (a
 * dashboard's panel, `T | take 100`) spends a tenth of its CPU preparing
 * the same statement; a kept one is only bound and stepped again.  The
 * text is the executor's own (identifiers and parameters, never a
 * literal), so equal texts are the same statement; a view the connection
 * redefines in between makes SQLite prepare it again on its first step.
 *
 * A statement is taken out while it runs and given back after, reset, so
 * no two uses share one.  One connection, one thread.
 */
#ifndef FOLLOWERD_KQL_STMTS_H
#define FOLLOWERD_KQL_STMTS_H

#include <stddef.h>

#include <sqlite3.h>

#define KQL_STMTS_MAX 16               /* kept at most; the least recently used goes */
#define KQL_STMTS_TEXT ((size_t)16384) /* a longer text is not kept */

struct kql_stmts;

/* A new empty cache in *ret; 0 or -ENOMEM. */
int kql_stmts_new(struct kql_stmts **ret);
/* Finalizes every kept statement (before its connection closes); NULL is a
 * no-op. */
void kql_stmts_free(struct kql_stmts *c);

/* The kept statement of sql (owned by the caller from now on), NULL when
 * none is kept. */
sqlite3_stmt *kql_stmts_take(struct kql_stmts *c, const char *sql);
/* Keeps st (stolen) as sql's, reset and its bindings cleared; a text over
 * KQL_STMTS_TEXT, or no memory, finalizes it instead. */
void kql_stmts_give(struct kql_stmts *c, const char *sql, sqlite3_stmt *st);

#endif
