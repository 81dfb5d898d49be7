/*
 * libFuzzer target for the Kusto management surface: the command parser
 * (kusto_parse), the request decoder (kusto_request_decode) and the whole
 * endpoint (kusto_mgmt) over a small fake backend, so every command that
 * parses is also executed.
 *
 * An input starting with '{' is a request body; anything else is a command,
 * parsed alone and then sent wrapped in a body.  Beyond "no crash, no leak,
 * no undefined behaviour" it checks:
 * - a failed parse has a message, an offset inside the command, and a code
 *   kusto_parse may return;
 * - kusto_mgmt always answers: a status from kusto.h's list and a body that
 *   is JSON, either {"Tables":[...]} with one table (200) or {"error":{...}}
 *   with code, message, @type, @message and @permanent.
 *
 *   make fuzz && build-fuzz/fuzz_kusto -max_total_time=60 -dict=tests/fuzz/kusto.dict \
 *       tests/fuzz/corpus/kusto
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kusto/kusto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_kusto: %s\n%s\n", what, detail != NULL ? detail : "");
		abort();
	}
}

/* ---- a fake backend: two databases, a table, a view, an extent ---- */

static struct proto_column cols[] = {{"Timestamp", PROTO_T_DATETIME}, {"Name", PROTO_T_STRING}};
static struct proto_window window = {0, 864000000000};
static struct proto_caching caching = {6048000000000, &window, 1};

static int fake_databases(void *arg, const char *name, kusto_db_fn *emit, void *ctx, char *err)
{
	static const struct kusto_db dbs[] = {
	    {"Sales", "https://leader/root", "0f8fad5b-d9cb-469f-a165-70867728950e", 3},
	    {"Ops", "https://leader/ops", "", 0},
	};
	int r;

	for (size_t i = 0; i < 2; i++)
		if (name == NULL || strcmp(name, dbs[i].name) == 0) {
			if ((r = emit(ctx, &dbs[i])) != 0 || name != NULL)
				return r;
		}
	return name == NULL ? 0 : -ENOENT;
}

static bool known(const char *db)
{
	return strcmp(db, "Sales") == 0 || strcmp(db, "Ops") == 0;
}

static int fake_entities(void *arg, const char *db, kusto_entity_fn *emit, void *ctx, char *err)
{
	static const struct proto_entity ents[] = {
	    {PROTO_TABLE, "T", cols, 2, "F", "D", NULL, NULL, NULL},
	    {PROTO_MATERIALIZED_VIEW, "V", cols, 1, "", "", NULL, "T", "T | take 1"},
	};
	int r;

	if (!known(db))
		return -ENOENT;
	for (size_t i = 0; i < 2; i++) {
		struct kusto_entity e = {&ents[i], i == 0 ? &caching : NULL};
		if ((r = emit(ctx, &e)) != 0)
			return r;
	}
	return 0;
}

static int fake_extents(void *arg, const char *db, const char *table, kusto_extent_fn *emit,
                        void *ctx, char *err)
{
	static char *tags[] = {"a", "b"};
	struct proto_extent x = {
	    "11111111-2222-3333-4444-555555555555", "T", 1, 2, 3, 4, 5, tags, 2, NULL, 0};

	if (!known(db))
		return -ENOENT;
	return table == NULL || strcmp(table, "T") == 0 ? emit(ctx, &x) : 0;
}

static int fake_caching(void *arg, const char *db, kusto_caching_fn *emit, void *ctx, char *err)
{
	return known(db) ? emit(ctx, &caching) : -ENOENT;
}

static int fake_principals(void *arg, const char *db, kusto_principal_fn *emit, void *ctx,
                           char *err)
{
	static const struct kusto_principal p = {PROTO_ROLE_ADMINS, "aaduser=a@b.c", "A", ""};

	return known(db) ? emit(ctx, &p) : -ENOENT;
}

static int fake_follower(void *arg, const char *db, kusto_follower_fn *emit, void *ctx, char *err)
{
	static struct conf_table_hot tables[] = {{"T", 864000000000}};
	static const struct kusto_principal ps[] = {{PROTO_ROLE_VIEWERS, "aadgroup=g", "", "n"}};
	struct kusto_follower f = {db,
	                           "https://leader/root",
	                           true,
	                           caching,
	                           tables,
	                           1,
	                           ps,
	                           1,
	                           CONF_MOD_UNION,
	                           CONF_MOD_REPLACE,
	                           false};

	return known(db) ? emit(ctx, &f) : -ENOENT;
}

static int fake_set(void *arg, const char *db, const struct kusto_follower *f, char *err)
{
	/* Touch everything the executor hands over, for ASan's sake. */
	size_t n = strlen(f->database) + strlen(f->root);

	for (size_t i = 0; i < f->ntables; i++)
		n += strlen(f->tables[i].table);
	for (size_t i = 0; i < f->nprincipals; i++)
		n += strlen(f->principals[i].fqn) + strlen(f->principals[i].notes);
	for (size_t i = 0; i < f->caching.nwindows; i++)
		n += f->caching.windows[i].min <= f->caching.windows[i].max;
	return n > 0 && known(db) ? 0 : -ENOENT;
}

static const struct kusto_backend backend = {
    NULL,         fake_databases,  fake_entities, fake_extents,
    fake_caching, fake_principals, fake_follower, fake_set,
};

/* ---- checks ---- */

static void check_answer(int status, const char *body)
{
	json_t *v = json_loads(body, JSON_REJECT_DUPLICATES, NULL), *e;

	check(v != NULL, "the answer is not JSON", body);
	if (status == 200) {
		check(json_array_size(json_object_get(v, "Tables")) == 1, "not one table", body);
	} else {
		check(status == 400 || status == 403 || status == 404 || status == 413 ||
		          status == 500,
		      "unexpected status", body);
		e = json_object_get(v, "error");
		check(json_is_string(json_object_get(e, "code")) &&
		          json_is_string(json_object_get(e, "message")) &&
		          json_is_string(json_object_get(e, "@type")) &&
		          json_string_length(json_object_get(e, "@message")) > 0 &&
		          json_is_boolean(json_object_get(e, "@permanent")),
		      "an error body without Kusto's members", body);
	}
	json_decref(v);
}

static void run_mgmt(const char *body, size_t len)
{
	int status = 0;
	char *out = NULL;

	for (int writes = 0; writes < 2; writes++) {
		/* Failing means out of memory, which ASan turns into a crash
		 * first: any failure here is a bug. */
		check(kusto_mgmt(body, len, &backend, writes, &status, &out, NULL) == 0,
		      "kusto_mgmt failed", NULL);
		check_answer(status, out);
		free(out);
	}
}

static void fuzz_command(const char *csl, size_t len)
{
	struct kusto_cmd c;
	struct kusto_error e = {0};
	int r = kusto_parse(csl, len, &c, &e);

	if (r == 0) {
		struct kusto_table *t = NULL;
		check(kusto_cmd_name(c.kind)[0] == '.', "a command without a name", NULL);
		/* Executed directly too: no JSON wrapping to filter the bytes. */
		if (kusto_execute(&c, "Sales", &backend, &t, &e) == 0) {
			char *out = kusto_response(&t, 1);
			check(out != NULL, "a result that does not serialize", NULL);
			free(out);
			kusto_table_free(t);
		}
		kusto_cmd_clear(&c);
	} else {
		check(e.message[0] != '\0', "an error without a message", NULL);
		check(e.offset <= len, "an error offset past the command", e.message);
		check(e.code == KUSTO_E_SYNTAX || e.code == KUSTO_E_READ_ONLY ||
		          e.code == KUSTO_E_TOO_LARGE || e.code == KUSTO_E_INTERNAL,
		      "an unexpected error code", e.message);
	}
	/* The same command through the endpoint, as a client would send it. */
	json_t *req = json_pack("{s:s, s:s%}", "db", "Sales", "csl", csl, len);
	char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	if (body != NULL)
		run_mgmt(body, strlen(body));
	free(body);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == '{')
		run_mgmt((const char *)data, size);
	else
		fuzz_command((const char *)data, size);
	return 0;
}
