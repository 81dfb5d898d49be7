/*
 * kusto — the request body, the error bodies and kusto_mgmt, which chains
 * decode, parse, execute and serialize for the HTTP server (see kusto.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kusto/kusto_int.h"

/* ---- errors ---- */

/* What Kusto answers for each error: Kusto.Data's exceptions table
 * (learn.microsoft.com, kusto/api/netfx/kusto-data-client-errors) gives the
 * codes, types and permanence; the statuses are explained in kusto.h. */
static const struct {
	int status;
	const char *code;
	const char *message;
	const char *type;
	bool permanent;
} errors[] = {
    [KUSTO_E_BAD_REQUEST] = {400, "General_BadRequest",
                             "Request is invalid and cannot be executed.",
                             "Kusto.Data.Exceptions.KustoBadRequestException", true},
    [KUSTO_E_SYNTAX] = {400, "BadRequest_SyntaxError", "Request is invalid and cannot be executed.",
                        "Kusto.Data.Exceptions.SyntaxException", true},
    [KUSTO_E_READ_ONLY] = {400, "General_BadRequest", "Request is invalid and cannot be executed.",
                           "Kusto.Data.Exceptions.KustoBadRequestException", true},
    [KUSTO_E_LIMITS] =
        {400, "LimitsExceeded", "Request is invalid and cannot be executed.",
         "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException", true},
    [KUSTO_E_FORBIDDEN] = {403, "Forbidden", "Request is forbidden and cannot be executed.",
                           "Kusto.Data.Exceptions.KustoRequestDeniedException", true},
    [KUSTO_E_DB_NOT_FOUND] = {404, "BadRequest_DatabaseNotExist",
                              "Request is invalid and cannot be executed.",
                              "Kusto.Data.Exceptions.DatabaseNotFoundException", true},
    [KUSTO_E_TABLE_NOT_FOUND] = {404, "BadRequest_TableNotExist",
                                 "Request is invalid and cannot be executed.",
                                 "Kusto.Data.Exceptions.TableNotFoundException", true},
    [KUSTO_E_TOO_LARGE] = {413, "Payload too large", "Request is invalid and cannot be executed.",
                           "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException", true},
    [KUSTO_E_INTERNAL] = {500, "General_InternalServerError", "An unexpected error occurred.",
                          "Kusto.Data.Exceptions.KustoServiceException", false},
    [KUSTO_E_NOT_FOUND] = {400, "BadRequest_EntityNotFound",
                           "Request is invalid and cannot be executed.",
                           "Kusto.Data.Exceptions.EntityNotFoundException", true},
};

static unsigned error_index(enum kusto_errcode code)
{
	return (unsigned)code < sizeof(errors) / sizeof(errors[0]) ? (unsigned)code
	                                                           : (unsigned)KUSTO_E_INTERNAL;
}

int kusto_error_status(enum kusto_errcode code)
{
	return errors[error_index(code)].status;
}

char *kusto_error_body(const struct kusto_error *e)
{
	unsigned i = error_index(e->code);
	char message[KUSTO_ERRLEN];
	json_t *v;

	/* Messages quote the command and the backend, and may be cut short in
	 * the middle of a character. */
	(void)snprintf(message, sizeof(message), "%s", e->message);
	kusto_utf8_fix(message);
	v = json_pack("{s:{s:s, s:s, s:s, s:s, s:b}}", "error", "code", errors[i].code, "message",
	              errors[i].message, "@type", errors[i].type, "@message", message, "@permanent",
	              errors[i].permanent);
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	return s;
}

static void vfill(struct kusto_error *err, const char *prefix, const char *fmt, va_list ap)
{
	size_t n = strlen(prefix);
	char *m = err->message;

	memcpy(m, prefix, n + 1);
	(void)vsnprintf(m + n, sizeof(err->message) - n, fmt, ap);
}

int kusto_fail(struct kusto_error *err, enum kusto_errcode code, int r, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->offset = 0;
	va_start(ap, fmt);
	vfill(err, "", fmt, ap);
	va_end(ap);
	return r;
}

int kusto_syntax(struct kusto_error *err, const char *src, size_t pos, const char *fmt, ...)
{
	size_t line = 1, col = 1, n;
	va_list ap;

	for (size_t i = 0; i < pos; i++, col++)
		if (src[i] == '\n') {
			line++;
			col = 0;
		}
	err->code = KUSTO_E_SYNTAX;
	err->offset = pos;
	va_start(ap, fmt);
	vfill(err, "Syntax error: ", fmt, ap);
	va_end(ap);
	n = strlen(err->message);
	(void)snprintf(err->message + n, sizeof(err->message) - n,
	               " at offset %zu (line %zu, column %zu)", pos, line, col);
	return -EINVAL;
}

/* ---- the request ---- */

/* "db": absent, null or a string of at most KUSTO_MAX_DB_NAME bytes. */
static int decode_db(json_t *v, char **ret, struct kusto_error *err)
{
	const char *s = "";

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
			                  "\"db\" must be a string (the database name)");
		if (json_string_length(v) > KUSTO_MAX_DB_NAME)
			return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
			                  "\"db\" is longer than %d bytes", KUSTO_MAX_DB_NAME);
		s = json_string_value(v);
	}
	*ret = strdup(s);
	return *ret != NULL ? 0 : kusto_fail(err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
}

/* "csl": a string of 1..KUSTO_MAX_CSL bytes. */
static int decode_csl(json_t *v, char **ret, struct kusto_error *err)
{
	if (!json_is_string(v))
		return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
		                  "\"csl\" is missing or not a string (the command text)");
	if (json_string_length(v) > KUSTO_MAX_CSL)
		return kusto_fail(err, KUSTO_E_TOO_LARGE, -E2BIG,
		                  "\"csl\" is %zu bytes, more than the %zu allowed",
		                  json_string_length(v), KUSTO_MAX_CSL);
	*ret = strdup(json_string_value(v));
	return *ret != NULL ? 0 : kusto_fail(err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
}

/* "properties": absent, null, an object, or a string holding one (the
 * client request properties; followerd has no use for them). */
static int check_properties(json_t *v, struct kusto_error *err)
{
	json_error_t jerr;
	json_t *inner;
	bool object;

	if (v == NULL || json_is_null(v) || json_is_object(v))
		return 0;
	if (!json_is_string(v))
		return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
		                  "\"properties\" must be an object or a string holding one");
	if (json_string_length(v) == 0)
		return 0;
	inner =
	    json_loadb(json_string_value(v), json_string_length(v), JSON_REJECT_DUPLICATES, &jerr);
	if (inner == NULL)
		return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
		                  "\"properties\" is not JSON: %s (line %d, column %d)", jerr.text,
		                  jerr.line, jerr.column);
	object = json_is_object(inner);
	json_decref(inner);
	return object ? 0
	              : kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
	                           "\"properties\" must hold a JSON object");
}

int kusto_request_decode(const char *body, size_t len, struct kusto_request *ret,
                         struct kusto_error *err)
{
	struct kusto_request req = {0};
	json_error_t jerr;
	json_t *v = NULL;
	int r;

	if (len > KUSTO_MAX_BODY)
		return kusto_fail(err, KUSTO_E_TOO_LARGE, -E2BIG,
		                  "the request body is %zu bytes, more than the %zu allowed", len,
		                  KUSTO_MAX_BODY);
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		return kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
		                  "the body is not JSON: %s (line %d, column %d)", jerr.text,
		                  jerr.line, jerr.column);
	if (!json_is_object(v)) {
		r = kusto_fail(err, KUSTO_E_BAD_REQUEST, -EINVAL,
		               "the body must be an object {\"db\", \"csl\", \"properties\"}");
		goto out;
	}
	r = check_properties(json_object_get(v, "properties"), err);
	if (r == 0)
		r = decode_csl(json_object_get(v, "csl"), &req.csl, err);
	if (r == 0)
		r = decode_db(json_object_get(v, "db"), &req.db, err);
	if (r == 0) {
		*ret = req;
		req = (struct kusto_request){0};
	}
out:
	kusto_request_clear(&req);
	json_decref(v);
	return r;
}

void kusto_request_clear(struct kusto_request *r)
{
	if (r == NULL)
		return;
	free(r->db);
	free(r->csl);
	*r = (struct kusto_request){0};
}

/* ---- the endpoint ---- */

/* Decodes, parses, authorizes and executes: the result table in *ret. */
static int run(const char *body, size_t len, const struct kusto_backend *be, bool allow_writes,
               struct kusto_table **ret, struct kusto_error *err)
{
	struct kusto_request req = {0};
	struct kusto_cmd cmd = {0};
	int r = kusto_request_decode(body, len, &req, err);

	if (r == 0)
		r = kusto_parse(req.csl, strlen(req.csl), &cmd, err);
	if (r == 0 && kusto_cmd_is_write(&cmd) && !allow_writes)
		r = kusto_fail(err, KUSTO_E_FORBIDDEN, -EPERM,
		               "the caller may not run '%s': the follower's control commands need "
		               "database admin rights",
		               kusto_cmd_name(cmd.kind));
	if (r == 0)
		r = kusto_execute(&cmd, req.db, be, ret, err);
	kusto_cmd_clear(&cmd);
	kusto_request_clear(&req);
	return r;
}

int kusto_mgmt(const char *body, size_t len, const struct kusto_backend *be, bool allow_writes,
               int *ret_status, char **ret_body, struct kusto_error *ret_err)
{
	struct kusto_error err = {.code = KUSTO_E_INTERNAL};
	struct kusto_table *t = NULL;
	char *out = NULL;
	int r = run(body, len, be, allow_writes, &t, &err);

	if (r == 0) {
		out = kusto_response(&t, 1);
		if (out == NULL)
			r = kusto_fail(&err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	}
	kusto_table_free(t);
	if (r < 0)
		out = kusto_error_body(&err);
	if (out == NULL)
		return -ENOMEM;
	*ret_status = r < 0 ? kusto_error_status(err.code) : 200;
	*ret_body = out;
	if (ret_err != NULL)
		*ret_err = err;
	return 0;
}
