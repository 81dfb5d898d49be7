/*
 * kql_exec_fn — KQL's semantics as SQLite functions: string operators
 * (has matches whole terms of letters and digits, case-insensitive forms
 * fold every letter: kql_fold), conversions that give null on failure, bin(), startof*(),
 * Kusto's text forms of values, RE2 regexes run by PCRE2 (kre_*), checked
 * integer arithmetic (kql_iarith, kql_abs, kql_lsum: an overflow refused),
 * and the aggregates arg_max, arg_min and percentile (and its split's
 * partial state and merge).  Registered on a
 * connection by kql_exec_register.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "query/kql_exec_int.h"
#include "query/kql_hll.h"
#include "query/kql_fold.h"
#include "query/kql_pct.h"
#include "query/kql_strop.h"
#include "query/kql_json.h"
#include "query/kql_parse.h"
#include "util/timefmt.h"

#define TICKS_DAY (86400 * TIMEFMT_TICKS_PER_SEC)
/* SQLite's subtype of JSON text (its json.c: 'J'). */
#define JSON_SUBTYPE 74

/* ---- text forms ---- */

/* A real as Kusto prints it: the shortest form that reads back the same. */
static void format_real(double r, char *buf, size_t n)
{
	if (isnan(r)) {
		(void)snprintf(buf, n, "NaN");
		return;
	}
	if (isinf(r)) {
		(void)snprintf(buf, n, r > 0 ? "Infinity" : "-Infinity");
		return;
	}
	char text[KQL_JSON_REAL_LEN];

	/* the fewest significant digits that read back as r, in .NET's
	 * fixed form from 1e-4 up to 1e15 (50, not 5e+01; 10, 0.25); past it
	 * the exponent form, whatever the digits (1.0000000000000005E+15,
	 * which C's %.17g writes 1000000000000000.5), a capital E: 1.5E+20,
	 * 5E-05. */
	if (r != 0 && (fabs(r) < 1e-4 || fabs(r) >= 1e15)) {
		(void)kql_json_digits(r, text);
		*strchr(text, 'e') = 'E';
	} else {
		(void)kql_json_shortest(r, text);
	}
	(void)snprintf(buf, n, "%s", text);
}

char *kql_exec_format(const struct kql_value *v, enum proto_coltype type, char *buf, size_t n)
{
	char tmp[TIMEFMT_DATETIME_LEN + TIMEFMT_TIMESPAN_LEN];

	if (v->isnull) {
		(void)snprintf(buf, n, "%s", type == PROTO_T_STRING ? "" : "null");
		return buf;
	}
	switch (type) {
	case PROTO_T_BOOL:
		(void)snprintf(buf, n, "%s", v->i ? "true" : "false");
		break;
	case PROTO_T_INT:
	case PROTO_T_LONG:
		(void)snprintf(buf, n, "%lld", (long long)v->i);
		break;
	case PROTO_T_REAL:
		format_real(v->r, buf, n);
		break;
	case PROTO_T_DATETIME:
		(void)snprintf(buf, n, "%s", timefmt_format_datetime(v->i, tmp));
		break;
	case PROTO_T_TIMESPAN:
		(void)snprintf(buf, n, "%s", timefmt_format_timespan(v->i, tmp));
		break;
	default:
		(void)snprintf(buf, n, "%s", v->s != NULL ? v->s : "");
		break;
	}
	return buf;
}

/* kql_tostring(x, type): x's text as tostring() gives it; a bool True or
 * False, a dynamic string its characters, other dynamic values their JSON
 * (a JSON true stays "true"). */
static void fn_tostring(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype type = (enum proto_coltype)sqlite3_value_int(argv[1]);
	struct kql_value v = {sqlite3_value_type(argv[0]) == SQLITE_NULL,
	                      sqlite3_value_int64(argv[0]), sqlite3_value_double(argv[0]),
	                      (const char *)sqlite3_value_text(argv[0])};
	char buf[64];
	json_t *j;

	if (v.isnull) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
	} else if (type == PROTO_T_BOOL) { /* .NET's Boolean.ToString() */
		sqlite3_result_text(ctx, v.i ? "True" : "False", -1, SQLITE_STATIC);
	} else if (type == PROTO_T_DYNAMIC && v.s != NULL &&
	           (j = json_loads(v.s, JSON_DECODE_ANY, NULL)) != NULL) {
		if (json_is_string(j))
			sqlite3_result_text(ctx, json_string_value(j), -1, SQLITE_TRANSIENT);
		else
			sqlite3_result_value(ctx, argv[0]);
		json_decref(j);
	} else if (type == PROTO_T_STRING || type == PROTO_T_GUID || type == PROTO_T_DECIMAL ||
	           type == PROTO_T_DYNAMIC) {
		sqlite3_result_value(ctx, argv[0]);
	} else {
		sqlite3_result_text(ctx, kql_exec_format(&v, type, buf, sizeof(buf)), -1,
		                    SQLITE_TRANSIENT);
	}
}

/* ---- string operators ---- */

/* kql_strop(code, a, b): strings are never null in Kusto, so a null side
 * reads as "".  The needle b is prepared once per statement when it is a
 * constant or a parameter (SQLite keeps it as the argument's auxiliary
 * data), then each row's a is matched by kql_strop: compared as the full
 * fold of both sides (kql_fold), "CAFÉ" =~ "café" as in Kusto. */
static void fn_strop(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int op = sqlite3_value_int(argv[0]);
	struct kql_needle *nd = sqlite3_get_auxdata(ctx, 2);
	bool made = false;
	const char *a;
	int r;

	if (nd == NULL || kql_needle_op(nd) != op) {
		const char *b = (const char *)sqlite3_value_text(argv[2]);
		if ((nd = kql_needle_new(op, b ? b : "")) == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		made = true;
	}
	a = (const char *)sqlite3_value_text(argv[1]);
	r = kql_strop_match(nd, a ? a : "", a ? (size_t)sqlite3_value_bytes(argv[1]) : 0);
	if (r < 0)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_int(ctx, r);
	/* last: SQLite may free a needle it will not keep right away */
	if (made)
		sqlite3_set_auxdata(ctx, 2, nd, kql_needle_free);
}

/* ASCII text (no NUL either) changes case without kql_fold: in~ lowers
 * every row's value.  false when s has other bytes. */
static bool ascii_case(sqlite3_context *ctx, const char *s, int n, bool upper)
{
	unsigned char from = upper ? 'a' : 'A';
	char *out;

	for (int i = 0; i < n; i++)
		if ((unsigned char)s[i] - 1u >= 0x7fu)
			return false;
	if ((out = sqlite3_malloc(n + 1)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return true;
	}
	for (int i = 0; i < n; i++)
		out[i] = (char)((unsigned)((unsigned char)s[i] - from) < 26u ? s[i] ^ 0x20 : s[i]);
	out[n] = '\0';
	sqlite3_result_text(ctx, out, n, sqlite3_free);
	return true;
}

/* kql_lower(s) / kql_upper(s): tolower/toupper of every letter;
 * kql_casefold(s): the case-insensitive operators' key (kql_fold.h),
 * ASCII lower case for ASCII text. */
static void text_case(sqlite3_context *ctx, sqlite3_value *v, enum kql_fold_to to)
{
	const char *s = (const char *)sqlite3_value_text(v);
	char *out;

	if (s == NULL || ascii_case(ctx, s, sqlite3_value_bytes(v), to == KQL_FOLD_UPPER))
		return;
	if ((out = kql_fold(s, to)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, out, -1, free);
}

static void fn_lower(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	text_case(ctx, argv[0], KQL_FOLD_LOWER);
}

static void fn_upper(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	text_case(ctx, argv[0], KQL_FOLD_UPPER);
}

static void fn_casefold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	text_case(ctx, argv[0], KQL_FOLD_CASE);
}

/* A compiled pattern (PCRE2, whose leftmost-first matching and group
 * numbering are RE2's: (?:...) numbers nothing, named groups are numbered
 * as the others), its match data, and the match context that bounds each
 * match (KRE_*_LIMIT, kre_match).  trim's: code is the run of matches at
 * the start, tail the run at the end. */
#define KRE_MAX_GROUPS 64 /* RE2's numbered groups */

struct kre {
	pcre2_code *code, *tail;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	int ngroups;
};

static void free_regex(void *p)
{
	struct kre *re = p;

	pcre2_code_free(re->code);
	pcre2_code_free(re->tail);
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	free(re);
}

/* What RE2 (Kusto's regex engine) refuses that PCRE2 would read: a
 * repetition of a repetition (a++, RE2's "bad repetition operator", PCRE2's
 * possessive; a lazy a*? is RE2's too), counted repetitions above RE2's 1000
 * in all (which also bounds the compiled program).  *q: 0 after an atom, 1
 * after a quantifier, 2 after a lazy one.  0 or a message. */
static const char *regex_refusal(const char *p, bool bracket, int *q, int *counts)
{
	char *end;
	long lo, hi;

	if (bracket || *q == 0) {
		if (!bracket && *p == '{' && (lo = strtol(p + 1, &end, 10)) >= 0 && end > p + 1) {
			hi = *end == ',' && end[1] != '}' ? strtol(end + 1, &end, 10) : lo;
			if ((*counts += (int)(hi > lo ? (hi < 1001 ? hi : 1001)
			                              : (lo < 1001 ? lo : 1001))) > 1000)
				return "counted repetitions above 1000 in all are not supported";
		}
		return NULL;
	}
	if (*p == '?' && *q == 1) {
		*q = 2;
		return NULL;
	}
	if (*p == '*' || *p == '+' || *p == '{' || *p == '?')
		return "a repetition of a repetition (a++) is not a valid regular expression";
	return NULL;
}

/* The group that opens at p ('('): in *numbered whether RE2 numbers it;
 * false with *why for what RE2 refuses or is not supported here (PCRE2's
 * own groups, (?>...), (?|...), (*VERB), among them). */
static bool group_open(const char *p, bool *numbered, const char **why)
{
	size_t k = 0;

	*numbered = p[1] != '?';
	if (p[1] == '*') {
		*why = "a repetition operator with nothing to repeat is not valid";
		return false;
	}
	if (p[1] != '?' || p[2] == ':')
		return true;
	if (p[2] == 'P' && p[3] == '<')
		k = 4;
	else if (p[2] == '<' && p[3] != '=' && p[3] != '!')
		k = 3;
	if (k > 0) {
		size_t n = strspn(
		    p + k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		*numbered = true;
		if (n > 0 && p[k + n] == '>')
			return true;
		*why = "a malformed group name ((?P<name>...) with letters, digits and _)";
		return false;
	}
	if (p[2] == '=' || p[2] == '!' || p[2] == '<')
		*why = "lookaround assertions ((?=, (?!, (?<=, (?<!) are not valid in RE2";
	else if (p[2] == 'P')
		*why = "named backreferences ((?P=name)) are not valid in RE2";
	else
		*why = "flags other than a leading (?i) ((?s), (?i:...)) are not supported";
	return false;
}

/* An escape that RE2 has not and PCRE2 would read: backreferences
 * (outside brackets), \Z (before a final newline), PCRE2's \K \G \R \X \h
 * \H \v (vertical space there, RE2's vertical tab) \V \N \g \k \o \e \c.  (\C,
 * RE2's any byte, PCRE2_NEVER_BACKSLASH_C refuses.) */
static const char *escape_refusal(char c, bool bracket)
{
	if (!bracket && c >= '1' && c <= '9')
		return "backreferences (\\1) are not valid in RE2";
	if (c != '\0' && strchr("ZKGRXhHvVNgkoec", c) != NULL)
		return "this escape (\\Z, \\K, \\G, \\R, \\X, \\h, \\v, \\g, \\k ...) is not "
		       "supported";
	return NULL;
}

/* The last byte of the escape at p ('\\'): of a quoted \Q...\E, the
 * whole; NULL with *why for what RE2 has not. */
static const char *escape_end(const char *p, bool bracket, const char **why)
{
	const char *e;

	if (p[1] == 'Q') {
		e = strstr(p + 2, "\\E");
		return e != NULL ? e + 1 : p + strlen(p) - 1;
	}
	if ((*why = escape_refusal(p[1], bracket)) != NULL)
		return NULL;
	return p + 1;
}

/* RE2's \s is [\t\n\f\r ], PCRE2's adds the vertical tab: its class (in
 * a bracket: its members) written out, for \s and \S. */
static const char *space_class(char c, bool bracket)
{
	if (bracket)
		return c == 's' ? "\\t\\n\\f\\r " : "\\x00-\\x08\\x0b\\x0e-\\x1f!-\\x{10ffff}";
	return c == 's' ? "[\\t\\n\\f\\r ]" : "[^\\t\\n\\f\\r ]";
}

/* The room pattern pat takes once regex_check has written out its spaces. */
#define KRE_OUT_SIZE(pat) (strlen(pat) * 18 + 1)

/* Whether pattern pat is one RE2 accepts, as far as PCRE2 would read it
 * otherwise (see the refusals above; PCRE2 rejects the rest of what RE2
 * does, a bad bracket or an unbalanced group).  NULL with the pattern for
 * PCRE2 in out (KRE_OUT_SIZE(pat) bytes: \s and \S as RE2 reads them), or
 * why not. */
static const char *regex_check(const char *pat, char *out)
{
	bool bracket = false, numbered;
	const char *why = NULL, *e, *from;
	int counts = 0, groups = 0, q = 0;

	for (const char *p = pat; *p != '\0'; p++) {
		if ((why = regex_refusal(p, bracket, &q, &counts)) != NULL)
			return why;
		from = p;
		if (q == 2 && *p == '?') {
			*out++ = *p;
			continue;
		}
		q = !bracket && strchr("*+?}", *p) != NULL ? 1 : 0;
		if (*p == '\\' && (p[1] == 's' || p[1] == 'S')) {
			out = stpcpy(out, space_class(*++p, bracket));
			continue;
		} else if (*p == '\\' && p[1] != '\0') {
			if ((p = escape_end(p, bracket, &why)) == NULL)
				return why;
		} else if (*p == '[' && !bracket) {
			bracket = true;
			p += p[1] == '^' ? 1 : 0;
			p += p[1] == ']' ? 1 : 0;
		} else if (*p == '[' && p[1] == ':' && (e = strstr(p, ":]")) != NULL) {
			p = e + 1; /* [:alpha:] inside a bracket */
		} else if (*p == ']') {
			bracket = false;
		} else if (*p == '(' && !bracket) {
			if (!group_open(p, &numbered, &why))
				return why;
			if (numbered && ++groups > KRE_MAX_GROUPS)
				return "more than 64 groups are not supported";
		}
		memcpy(out, from, (size_t)(p - from) + 1);
		out += p - from + 1;
	}
	*out = '\0';
	return NULL;
}

/* Each match's bounds: PCRE2 backtracks, so a pattern like (a|a)*b on a
 * long subject could run for ages; at these limits it fails the query
 * instead (kre_match).  The match limit counts backtracking steps (some
 * tens of milliseconds), the heap limit (KiB) the memory of its frames. */
#define KRE_MATCH_LIMIT 2000000
#define KRE_DEPTH_LIMIT 500000
#define KRE_HEAP_LIMIT (16 * 1024)

/* RE2's semantics in PCRE2's options: UTF-8 (a subject that is not valid
 * UTF-8 still matches where it is), $ only at the end (RE2 without (?m)),
 * no \C; (?i) at the start for the whole pattern. */
static pcre2_code *kre_compile(const char *pat, bool icase, int *err)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
	                PCRE2_NEVER_BACKSLASH_C | (icase ? PCRE2_CASELESS : 0);
	PCRE2_SIZE off;

	return pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, err, &off, NULL);
}

/* Compiles (?:pat)+, and (?:pat)+$ for the tail, into *code. */
static int kre_wrap(pcre2_code **code, const char *pat, bool tail, bool icase, int *err)
{
	size_t n = strlen(pat) + 16;
	char *w = malloc(n);

	if (w != NULL && snprintf(w, n, "(?:%s)+%s", pat, tail ? "$" : "") > 0)
		*code = kre_compile(w, icase, err);
	free(w);
	return *code != NULL ? 0 : -1;
}

/* A pattern's program (trim's: the head run (?:pat)+ and the tail run
 * (?:pat)+$), match data, bounds.  NULL with *why for a refusal. */
static struct kre *kre_new(const char *pat, bool trim, const char **why)
{
	bool icase = strncmp(pat, "(?i)", 4) == 0;
	struct kre *re = calloc(1, sizeof(*re));
	char *buf = NULL;
	int err = 0;

	pat += icase ? 4 : 0;
	if (re == NULL || (buf = malloc(KRE_OUT_SIZE(pat))) == NULL ||
	    (*why = regex_check(pat, buf)) != NULL)
		goto out;
	pat = buf;
	/* the pattern alone first: "a)(b" would compile once wrapped */
	if ((re->code = kre_compile(pat, icase, &err)) == NULL)
		goto out;
	(void)pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ngroups);
	if (trim) {
		pcre2_code_free(re->code);
		re->code = NULL;
		if (kre_wrap(&re->code, pat, false, icase, &err) < 0 ||
		    kre_wrap(&re->tail, pat, true, icase, &err) < 0)
			goto out;
	}
	if ((re->md = pcre2_match_data_create_from_pattern(re->code, NULL)) == NULL ||
	    (re->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto out;
	(void)pcre2_set_match_limit(re->mctx, KRE_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(re->mctx, KRE_DEPTH_LIMIT);
	(void)pcre2_set_heap_limit(re->mctx, KRE_HEAP_LIMIT);
	free(buf);
	return re;
out:
	if (*why == NULL)
		*why = err != 0 ? "it does not compile" : "out of memory";
	if (re != NULL)
		free_regex(re);
	free(buf);
	return NULL;
}

/* The compiled pattern of argument i, cached on the statement; a pattern
 * refused or not compiling fails the statement at the query position at. */
static struct kre *regex_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, int64_t at,
                             bool trim)
{
	struct kre *re = sqlite3_get_auxdata(ctx, i);
	const char *pat = (const char *)sqlite3_value_text(argv[i]);
	const char *why = NULL;

	if (re != NULL || pat == NULL)
		return re;
	if ((re = kre_new(pat, trim, &why)) == NULL) {
		if (strcmp(why, "out of memory") == 0)
			sqlite3_result_error_nomem(ctx);
		else
			kql_exec_fail_at(ctx, at, "the regular expression: %s", why);
		return NULL;
	}
	sqlite3_set_auxdata(ctx, i, re, free_regex);
	return sqlite3_get_auxdata(ctx, i);
}

/* Matches code against s (n bytes) with options opts: 1 with re->md filled, 0
 * without a match, -1 with the statement failed at at naming fn (a bound
 * of kre_limits hit, or another PCRE2 error), never a wrong answer. */
static int kre_match_from(sqlite3_context *ctx, struct kre *re, pcre2_code *code, const char *s,
                          size_t n, size_t start, uint32_t opts, int64_t at, const char *fn)
{
	int rc = pcre2_match(code, (PCRE2_SPTR)s, n, start, opts, re->md, re->mctx);
	PCRE2_UCHAR msg[120];

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT) {
		kql_exec_fail_at(
		    ctx, at,
		    "%s: the regular expression took too long on a value (backtracking "
		    "limit reached); simplify the pattern (nested repetitions such as (a+)+)",
		    fn);
	} else {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d", rc);
		kql_exec_fail_at(ctx, at, "%s: the regular expression failed: %s", fn, (char *)msg);
	}
	return -1;
}

static int kre_match(sqlite3_context *ctx, struct kre *re, pcre2_code *code, const char *s,
                     size_t n, uint32_t opts, int64_t at, const char *fn)
{
	return kre_match_from(ctx, re, code, s, n, 0, opts, at, fn);
}

/* ---- extract_all ---- */

/* extract_all's bounds: its page's 16 groups, and the matches of one
 * value (an array of a million strings is some 10 MB of JSON). */
#define EXTRACT_GROUPS_MAX 16
#define EXTRACT_MATCHES_MAX 1048576

/* The groups extract_all reports: groups (a JSON array of numbers and
 * group names, NULL: all of the pattern's) into g[], their number, or -1
 * with the refusal set. */
static int extract_groups(sqlite3_context *ctx, const struct kre *re, const char *groups,
                          int64_t at, int *g)
{
	json_t *a = groups != NULL ? json_loads(groups, JSON_DECODE_ANY, NULL) : NULL, *v;
	size_t i;
	int n = 0;

	if (groups == NULL) {
		for (n = 0; n < re->ngroups; n++)
			g[n] = n + 1;
		return n;
	}
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > EXTRACT_GROUPS_MAX)
		n = -1;
	json_array_foreach(a, i, v)
	{
		int k = json_is_integer(v)  ? (int)json_integer_value(v)
		        : json_is_string(v) ? pcre2_substring_number_from_name(
		                                  re->code, (PCRE2_SPTR)json_string_value(v))
		                            : -1;
		if (n < 0 || k < 1 || k > re->ngroups) {
			n = -1;
			break;
		}
		g[n++] = k;
	}
	json_decref(a);
	if (n < 0)
		kql_exec_fail_at(ctx, at,
		                 "extract_all: the capture groups must be an array of the "
		                 "pattern's group numbers (from 1) or names");
	return n;
}

/* One match's groups g[0, n) into out: a text, or an array of them. */
static int add_match(json_t *out, const char *s, const PCRE2_SIZE *ov, const int *g, int n)
{
	json_t *m = n > 1 ? json_array() : NULL;

	for (int i = 0; i < n; i++) {
		PCRE2_SIZE a = ov[2 * g[i]], b = ov[2 * g[i] + 1];
		json_t *t = a == PCRE2_UNSET ? json_string("") : json_stringn(s + a, b - a);

		if (n > 1 ? json_array_append_new(m, t) != 0 : json_array_append_new(out, t) != 0)
			return -1;
	}
	return n > 1 ? json_array_append_new(out, m) : 0;
}

/* What each_match does with a match: extract_all's groups g[0, ng) into
 * out, at most max matches. */
struct collect {
	const int *g;
	int ng;
	json_t *out;
	size_t max;
};

/* The matches of re in s (n bytes), which do not overlap, added to c
 * (NULL: counted only): their number, or -1 (refused, or no memory).  An
 * empty match is refused: where the next match starts after one (RE2's
 * engines and Go's differ on an empty match abutting the last one) is not
 * documented for Kusto. */
static int64_t each_match(sqlite3_context *ctx, struct kre *re, const char *s, size_t n, int64_t at,
                          const char *fn, const struct collect *c)
{
	size_t start = 0, count = 0;
	int rc;

	while (start <= n && (rc = kre_match_from(ctx, re, re->code, s, n, start, 0, at, fn)) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);

		if (ov[1] == ov[0]) {
			kql_exec_fail_at(ctx, at,
			                 "%s: a pattern matching empty text is not supported", fn);
			return -1;
		}
		count++;
		if (c != NULL && count > c->max) {
			kql_exec_fail_at(ctx, at, "%s: more than %zu matches in a value", fn,
			                 c->max);
			return -1;
		}
		if (c != NULL && add_match(c->out, s, ov, c->g, c->ng) != 0) {
			sqlite3_result_error_nomem(ctx);
			return -1;
		}
		start = ov[1];
	}
	return rc < 0 ? -1 : (int64_t)count;
}

/* kql_extract_all(pattern, groups, text, at): every match's groups (its
 * page's shapes: texts for one group, arrays for more); null without a
 * match.  A group that took no part in a match is "". */
static void fn_extract_all(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t at = sqlite3_value_int64(argv[3]);
	struct kre *re = regex_arg(ctx, argv, 0, at, false);
	const char *s = (const char *)sqlite3_value_text(argv[2]);
	int g[EXTRACT_GROUPS_MAX], ng;
	struct collect c;
	json_t *out;

	if (re == NULL || s == NULL)
		return;
	if (re->ngroups < 1 || re->ngroups > EXTRACT_GROUPS_MAX) {
		kql_exec_fail_at(ctx, at,
		                 "extract_all: the pattern must have 1 to %d capture groups",
		                 EXTRACT_GROUPS_MAX);
		return;
	}
	if ((ng = extract_groups(ctx, re, (const char *)sqlite3_value_text(argv[1]), at, g)) < 0)
		return;
	if ((out = json_array()) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	c = (struct collect){g, ng, out, EXTRACT_MATCHES_MAX};
	if (each_match(ctx, re, s, (size_t)sqlite3_value_bytes(argv[2]), at, "extract_all", &c) > 0)
		kql_exec_result_json(ctx, out);
	json_decref(out);
}

/* countof's plain kind: occurrences of needle (m > 0 bytes) in s, which
 * may overlap ("aaaa" holds "aa" three times, its page says). */
static int64_t count_plain(const char *s, size_t n, const char *needle, size_t m)
{
	int64_t k = 0;

	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), needle, m)) != NULL; p++)
		k++;
	return k;
}

/* kql_countof(text, search, kind, at): kind "normal" or "regex". */
static void fn_countof(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	const char *search = (const char *)sqlite3_value_text(argv[1]);
	const char *kind = (const char *)sqlite3_value_text(argv[2]);
	int64_t at = sqlite3_value_int64(argv[3]), k;
	bool regex = kind != NULL && strcmp(kind, "regex") == 0;
	struct kre *re;

	if (kind == NULL || (!regex && strcmp(kind, "normal") != 0) || search == NULL ||
	    *search == '\0') {
		kql_exec_fail_at(ctx, at,
		                 "countof: the kind is 'normal' or 'regex', and the search is not "
		                 "empty (what else would count is not documented)");
		return;
	}
	if (s == NULL)
		s = "";
	if (!regex)
		k = count_plain(s, (size_t)sqlite3_value_bytes(argv[0]), search, strlen(search));
	else if ((re = regex_arg(ctx, argv, 1, at, false)) == NULL ||
	         (k = each_match(ctx, re, s, (size_t)sqlite3_value_bytes(argv[0]), at, "countof",
	                         NULL)) < 0)
		return;
	sqlite3_result_int64(ctx, k);
}

/* kql_regex(text, pattern, at): matches regex. */
static void fn_regex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	int64_t at = sqlite3_value_int64(argv[2]);
	struct kre *re = regex_arg(ctx, argv, 1, at, false);
	int rc;

	if (re != NULL &&
	    (rc = kre_match(ctx, re, re->code, s ? s : "", (size_t)sqlite3_value_bytes(argv[0]), 0,
	                    at, "matches regex")) >= 0)
		sqlite3_result_int(ctx, rc);
}

/* kql_extract(pattern, group, text, at): RE2's group (0 the whole match) of
 * the first match; null without a match, past the pattern's groups, or
 * when the group took no part in the match. */
static void fn_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t at = sqlite3_value_int64(argv[3]);
	struct kre *re = regex_arg(ctx, argv, 0, at, false);
	int64_t g = sqlite3_value_int64(argv[1]);
	const char *s = (const char *)sqlite3_value_text(argv[2]);
	PCRE2_SIZE *ov;

	if (re == NULL || s == NULL || g < 0 || g > re->ngroups ||
	    kre_match(ctx, re, re->code, s, (size_t)sqlite3_value_bytes(argv[2]), 0, at,
	              "extract") <= 0)
		return;
	ov = pcre2_get_ovector_pointer(re->md);
	if (ov[2 * g] == PCRE2_UNSET)
		return;
	sqlite3_result_text(ctx, s + ov[2 * g], (int)(ov[2 * g + 1] - ov[2 * g]), SQLITE_TRANSIENT);
}

/* Why split's delimiter or index has no documented answer, or NULL: an
 * empty delimiter (it was null; .NET's Split keeps the text whole) and a
 * negative index (it was []). */
static const char *split_unsupported(int argc, sqlite3_value **argv)
{
	const char *d = (const char *)sqlite3_value_text(argv[1]);

	if (d != NULL && *d == '\0')
		return "an empty delimiter";
	if (argc == 4 && sqlite3_value_type(argv[2]) != SQLITE_NULL &&
	    sqlite3_value_int64(argv[2]) < 0)
		return "a negative index";
	return NULL;
}

/* kql_split(text, delimiter[, index], at): a JSON array of the parts. */
static void fn_split(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	const char *d = (const char *)sqlite3_value_text(argv[1]);
	const char *why = split_unsupported(argc, argv);
	json_t *a = json_array();
	char *out;

	if (why != NULL)
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[argc - 1]),
		                 "the function 'split' with %s: not supported", why);
	if (a == NULL || s == NULL || d == NULL || why != NULL)
		goto out;
	for (const char *p = s;; p += strlen(d)) {
		const char *q = strstr(p, d);
		size_t n = q != NULL ? (size_t)(q - p) : strlen(p);
		(void)json_array_append_new(a, json_stringn(p, n));
		if (q == NULL)
			break;
		p = q;
	}
	if (argc == 4) {
		json_t *one = json_array_get(a, (size_t)sqlite3_value_int64(argv[2]));
		json_t *wrapped = json_array();
		if (wrapped == NULL || (one != NULL && json_array_append(wrapped, one) != 0))
			goto out;
		json_decref(a);
		a = wrapped;
	}
	if ((out = json_dumps(a, JSON_COMPACT)) != NULL)
		sqlite3_result_text(ctx, out, -1, free);
out:
	json_decref(a);
}

/* ---- numbers and time ---- */

static bool is_int(sqlite3_value *v)
{
	return sqlite3_value_type(v) == SQLITE_INTEGER;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Fails the statement with a refusal at the query position at (line <<
 * 32 | column, kql_exec_at): kql_exec_error reports it there. */
void kql_exec_fail_at(sqlite3_context *ctx, int64_t at, const char *fmt, ...)
{
	char msg[KQL_ERR_MSG];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), KQL_EXEC_AT "%u:%u:", (unsigned)(at >> 32),
	                 (unsigned)(at & 0xffffffff));

	va_start(ap, fmt);
	(void)vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	sqlite3_result_error(ctx, msg, -1);
}

/* A real result.  SQLite holds no NaN (a NaN result becomes null, which
 * Kusto's NaN is not: isnull() false, sums NaN), so one is refused, naming
 * what gave it; the infinities are reals SQLite keeps. */
static void result_real(sqlite3_context *ctx, double r, int64_t at, const char *what)
{
	if (isnan(r))
		kql_exec_fail_at(
		    ctx, at,
		    "%s gives NaN (not a number) here, which the SQLite executor cannot hold: "
		    "not supported",
		    what);
	else
		sqlite3_result_double(ctx, r);
}

static bool any_null(int argc, sqlite3_value **argv)
{
	for (int i = 0; i < argc; i++)
		if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
			return true;
	return false;
}

static const char *const arith_names[] = {"+", "-", "*", "/", "%"};

/* kql_real(op, a, b, at): real arithmetic as .NET's doubles (SQLite gives
 * null for x / 0 and for inf - inf): 1.0 / 0 is +inf, -1.0 / 0 -inf; a
 * NaN (0.0 / 0, inf - inf, inf * 0) is refused.  Kusto's modulo is never
 * negative: fmod, then + |b|. */
static void fn_real(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int op = sqlite3_value_int(argv[0]);
	double a = sqlite3_value_double(argv[1]), b = sqlite3_value_double(argv[2]), r;
	char what[32];

	if (any_null(argc, argv) || op < KQL_A_ADD || op > KQL_A_MOD)
		return;
	switch (op) {
	case KQL_A_ADD:
		r = a + b;
		break;
	case KQL_A_SUB:
		r = a - b;
		break;
	case KQL_A_MUL:
		r = a * b;
		break;
	case KQL_A_DIV:
		r = a / b;
		break;
	default:
		r = fmod(a, b);
		r = r < 0 ? r + fabs(b) : r;
		break;
	}
	(void)snprintf(what, sizeof(what), "the operator '%s'", arith_names[op]);
	result_real(ctx, r, sqlite3_value_int64(argv[3]), what);
}

/* kql_ticks(op, a, b, at): a timespan times or divided by a real, whole
 * ticks (toward zero, as CAST did); a result past a timespan's range (an
 * infinity, a division by zero) or NaN is refused where SQLite's CAST
 * would clamp it or give null. */
static void fn_ticks(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int op = sqlite3_value_int(argv[0]);
	double a = sqlite3_value_double(argv[1]), b = sqlite3_value_double(argv[2]);
	double r = op == KQL_A_MUL ? a * b : a / b;

	if (any_null(argc, argv))
		return;
	if (!(r > -9.2e18 && r < 9.2e18))
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[3]),
		                 "the operator '%s' gives a timespan out of range: not supported",
		                 op == KQL_A_MUL ? "*" : "/");
	else
		sqlite3_result_int64(ctx, (sqlite3_int64)r);
}

/* kql_long(op, a, b, at): a long's / and % (never negative).  x / 0 is
 * null, as Kusto answers it (measured on its emulator: 1 / 0, 0 / 0); a
 * remainder by zero, which nobody measured, and long.MinValue / -1 are
 * refused. */
static void fn_long(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int op = sqlite3_value_int(argv[0]);
	int64_t a = sqlite3_value_int64(argv[1]), b = sqlite3_value_int64(argv[2]), r;
	int64_t at = sqlite3_value_int64(argv[3]);

	if (any_null(argc, argv))
		return;
	if (b == 0) {
		if (op != KQL_A_DIV)
			kql_exec_fail_at(
			    ctx, at, "the operator '%%' divides by zero (integers): not supported");
		return;
	}
	if (b == -1 || b == 1) {
		if (op == KQL_A_DIV && a == INT64_MIN && b == -1)
			kql_exec_fail_at(ctx, at,
			                 "the operator '/' overflows a long: not supported");
		else
			sqlite3_result_int64(ctx, op == KQL_A_DIV ? (b == 1 ? a : -a) : 0);
		return;
	}
	if (op == KQL_A_DIV) {
		sqlite3_result_int64(ctx, a / b);
		return;
	}
	r = a % b;
	sqlite3_result_int64(ctx, r >= 0 ? r : b < 0 ? r - b : r + b);
}

/* kql_spandiv(op, a, b, at): a timespan divided by a long, whole ticks as
 * kql_long's; by zero refused: Kusto's answer was not measured for it. */
static void fn_spandiv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	if (sqlite3_value_type(argv[2]) == SQLITE_INTEGER && sqlite3_value_int64(argv[2]) == 0)
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[3]),
		                 "the operator '/' divides a timespan by zero: not supported");
	else
		fn_long(ctx, argc, argv);
}

/* The words of a refusal for an integer result of type t out of range. */
static const char *range_words(enum proto_coltype t)
{
	return t == PROTO_T_DATETIME   ? "gives a datetime out of range"
	       : t == PROTO_T_TIMESPAN ? "gives a timespan out of range"
	       : t == PROTO_T_INT      ? "overflows an int"
	                               : "overflows a long";
}

/* Whether r is a value of type t (ticks, longs, ints). */
static bool in_range(__int128 r, enum proto_coltype t)
{
	if (t == PROTO_T_DATETIME)
		return r >= KQL_DT_MIN && r <= KQL_DT_MAX;
	if (t == PROTO_T_INT)
		return r >= INT32_MIN && r <= INT32_MAX;
	return r >= INT64_MIN && r <= INT64_MAX;
}

/* kql_iarith(op, a, b, type, at): + - * of integers, ticks included, whose
 * result is of type (long, timespan, datetime).  SQLite's own operators
 * turn an overflow into a real, which its CAST then clamps; whether Kusto
 * wraps there or fails is not established (its overflow page: an overflow
 * "usually leads to a partial query failure"), so a result out of the
 * type's range is refused, never answered. */
static void fn_iarith(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int op = sqlite3_value_int(argv[0]);
	__int128 a = sqlite3_value_int64(argv[1]), b = sqlite3_value_int64(argv[2]), r;
	enum proto_coltype t = (enum proto_coltype)sqlite3_value_int(argv[3]);

	if (any_null(argc, argv) || op < KQL_A_ADD || op > KQL_A_MUL)
		return;
	r = op == KQL_A_ADD ? a + b : op == KQL_A_SUB ? a - b : a * b;
	if (in_range(r, t))
		sqlite3_result_int64(ctx, (sqlite3_int64)r);
	else
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[4]),
		                 "the operator '%s' %s: not supported", arith_names[op],
		                 range_words(t));
}

/* kql_abs(x, type, at): |x| of an integer or a timespan; |long.MinValue|
 * (SQLite's abs fails on it) is refused, as .NET's Math.Abs refuses it
 * (an int's abs is a long: Kusto.Language's type; an int type is checked
 * all the same). */
static void fn_abs(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype t = (enum proto_coltype)sqlite3_value_int(argv[1]);
	__int128 x = sqlite3_value_int64(argv[0]);

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER)
		sqlite3_result_double(ctx, fabs(sqlite3_value_double(argv[0])));
	else if (in_range(x < 0 ? -x : x, t))
		sqlite3_result_int64(ctx, (sqlite3_int64)(x < 0 ? -x : x));
	else
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[2]),
		                 "the function 'abs' %s: not supported", range_words(t));
}

/* Whether s[0..n) is a JSON number (RFC 8259's grammar: no hex, no inf,
 * no leading '+' or '.'), and whether it is an integer. */
static bool json_number(const char *s, size_t n, bool *integer)
{
	size_t i = s[0] == '-';

	*integer = true;
	if (i >= n || !isdigit((unsigned char)s[i]) ||
	    (s[i] == '0' && i + 1 < n && isdigit((unsigned char)s[i + 1])))
		return false;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i < n && s[i] == '.') {
		*integer = false;
		if (++i >= n || !isdigit((unsigned char)s[i]))
			return false;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*integer = false;
		i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-') ? 2 : 1;
		if (i >= n || !isdigit((unsigned char)s[i]))
			return false;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	return i == n;
}

/* kql_dnum(d): the number a dynamic value d (its JSON text) holds, for
 * arithmetic beside a scalar; null when it holds anything else (an
 * object, an array, a string, a bool, null), as Kusto's operators answer
 * null for a dynamic that is not a number.  An integer past a long is a
 * real. */
static void fn_dnum(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	bool integer;
	char *end;
	long long v;

	if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER ||
	    sqlite3_value_type(argv[0]) == SQLITE_FLOAT) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || s == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n > 64 || !json_number(s, n, &integer)) {
		sqlite3_result_null(ctx);
		return;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (integer && errno == 0 && end == s + n)
		sqlite3_result_int64(ctx, v);
	else
		sqlite3_result_double(ctx, strtod(s, NULL));
}

/* kql_nan(x, at): x, the value of a column whose null is Kusto's NaN
 * (avg of no values, kql_col.nan_if_null), read by an expression: a NaN it
 * would see as null is refused. */
static void fn_nan(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[1]),
		                 "a NaN (avg of no values) used in an expression: not supported");
	else
		sqlite3_result_value(ctx, argv[0]);
}

/* kql_jreal(x, at): a real going into a dynamic value (make_list,
 * make_set, todynamic); an infinity, which JSON has not (SQLite would
 * write Inf), is refused. */
static void fn_jreal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char buf[KQL_JSON_REAL_LEN];

	/* x is a real expression: an integer SQLite holds for it is a real
	 * too (1.0, as a set compares it) */
	if (sqlite3_value_type(argv[0]) != SQLITE_FLOAT &&
	    sqlite3_value_type(argv[0]) != SQLITE_INTEGER) {
		sqlite3_result_value(ctx, argv[0]);
	} else if (isinf(sqlite3_value_double(argv[0]))) {
		kql_exec_fail_at(
		    ctx, sqlite3_value_int64(argv[1]),
		    "an infinite real in a dynamic value (JSON has no infinity): not supported");
	} else {
		/* JSON text (SQLite's JSON subtype, which json_group_array
		 * takes as it is): SQLite's own writes 15 digits */
		sqlite3_result_text(ctx, kql_json_real(sqlite3_value_double(argv[0]), buf), -1,
		                    SQLITE_TRANSIENT);
		sqlite3_result_subtype(ctx, JSON_SUBTYPE);
	}
}

/* kql_todynamic(text, at): JSON text as Kusto's dynamic value writes it
 * (kql_json.h: "2.50" is 2.5, "1e20" 1E+20, where json() kept the text);
 * JSON null is null.  Valid JSON jansson cannot hold exactly (an integer
 * past 64 bits, a real past a double's range, deep nesting) is refused. */
static void fn_todynamic(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	json_t *v;
	char *out;

	if (text == NULL)
		return;
	v = json_loadb(text, (size_t)sqlite3_value_bytes(argv[0]), JSON_DECODE_ANY | JSON_ALLOW_NUL,
	               NULL);
	if (v == NULL) {
		kql_exec_fail_at(
		    ctx, sqlite3_value_int64(argv[1]),
		    "the function 'todynamic' reads JSON this engine cannot hold exactly (a "
		    "number past 64-bit integers or doubles, nesting past 2048): not supported");
		return;
	}
	if (!json_is_null(v) && (out = kql_json_dump(v, 0)) != NULL)
		sqlite3_result_text(ctx, out, -1, free);
	else if (!json_is_null(v))
		sqlite3_result_error_nomem(ctx);
	json_decref(v);
}

/* kql_bin(x, size, at): x rounded down to a multiple of size (toward
 * -inf); below long.MinValue (bin(long.MinValue + 1, 10)) refused. */
static void fn_bin(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;
	if (is_int(argv[0]) && is_int(argv[1])) {
		int64_t x = sqlite3_value_int64(argv[0]), s = sqlite3_value_int64(argv[1]);
		__int128 r = s > 0 ? (__int128)floor_div(x, s) * s : 0;
		if (s > 0 && r >= INT64_MIN)
			sqlite3_result_int64(ctx, (sqlite3_int64)r);
		else if (s > 0)
			kql_exec_fail_at(ctx, sqlite3_value_int64(argv[2]),
			                 "the function 'bin' overflows a long: not supported");
		return;
	}
	double x = sqlite3_value_double(argv[0]), s = sqlite3_value_double(argv[1]);
	if (s > 0)
		result_real(ctx, floor(x / s) * s, sqlite3_value_int64(argv[2]),
		            "the function 'bin'");
}

/* Days since 1970-01-01 to a civil date and back (Howard Hinnant's). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* The first day of the period (a day, a week from Sunday, a month, a
 * year) off periods after the one holding day days (from 1970). */
static int64_t period_start(int unit, int64_t days, int64_t off)
{
	int64_t y;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	switch (unit) {
	case KQL_U_WEEK:
		return days - ((days + 4) % 7 + 7) % 7 + 7 * off;
	case KQL_U_MONTH:
		return days_from_civil(y + floor_div(m - 1 + off, 12),
		                       (int)((m - 1 + off) % 12 + 12) % 12 + 1, 1);
	case KQL_U_YEAR:
		return days_from_civil(y + off, 1, 1);
	default:
		return days + off;
	}
}

/* kql_startof(unit, dt[, offset], at): start of the day, week (Sunday),
 * month or year of dt, moved by offset whole units; an end unit is the
 * last tick of the period, the next one's start less a tick.  Past a
 * datetime's range refused. */
static void fn_startof(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int unit = sqlite3_value_int(argv[0]);
	bool end = unit >= KQL_U_ENDOFDAY;
	int64_t off = argc > 3 ? sqlite3_value_int64(argv[2]) : 0;
	__int128 r;

	if (sqlite3_value_type(argv[1]) == SQLITE_NULL || off < -100000 || off > 100000)
		return;
	if (end)
		unit = unit - KQL_U_ENDOFDAY + KQL_U_DAY;
	r = (__int128)period_start(unit, floor_div(sqlite3_value_int64(argv[1]), TICKS_DAY),
	                           off + end) *
	        TICKS_DAY -
	    end;
	if (in_range(r, PROTO_T_DATETIME))
		sqlite3_result_int64(ctx, (sqlite3_int64)r);
	else /* startofweek(datetime(0001-01-01)), a Monday: the Sunday before */
		kql_exec_fail_at(
		    ctx, sqlite3_value_int64(argv[argc - 1]),
		    "the start or end of a period gives a datetime out of range: not supported");
}

/* kql_dayofweek(dt): the timespan since the Sunday before. */
static void fn_dayofweek(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t days;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	days = floor_div(sqlite3_value_int64(argv[0]), TICKS_DAY);
	sqlite3_result_int64(ctx, (((days + 4) % 7 + 7) % 7) * TICKS_DAY);
}

/* An integer x rounded to a multiple of 10^-digits (-15 <= digits < 0), half
 * away from zero, in integers (a long past 2^53 is no double); false
 * past a long's range. */
static bool round_integer(int64_t x, int digits, int64_t *ret)
{
	int64_t p = 1, q, r;

	for (int k = digits; k < 0; k++) /* digits >= -15: no overflow */
		p *= 10;
	q = x / p;
	r = x % p;
	if (r >= p - r)
		q++;
	else if (-r >= p + r)
		q--;
	return !__builtin_mul_overflow(q, p, ret);
}

/* kql_round(x[, digits], at): half away from zero, as .NET's Math.Round
 * with MidpointRounding.AwayFromZero; a long's digits left of the point
 * (round(25, -1) is 30; it was 25).  Digits past 15 either way (.NET's
 * bound) were null and are refused: Kusto's answer is not documented. */
static void fn_round(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	double x = sqlite3_value_double(argv[0]), p;
	int64_t wide = argc > 2 ? sqlite3_value_int64(argv[1]) : 0;
	int64_t at = sqlite3_value_int64(argv[argc - 1]), i;
	int digits = (int)wide;

	if (any_null(argc - 1, argv))
		return;
	if (wide < -15 || wide > 15) {
		kql_exec_fail_at(ctx, at,
		                 "the function 'round' takes digits from -15 to 15: not supported");
		return;
	}
	if (is_int(argv[0])) {
		if (digits >= 0 || round_integer(sqlite3_value_int64(argv[0]), digits, &i))
			sqlite3_result_int64(ctx, digits >= 0 ? sqlite3_value_int64(argv[0]) : i);
		else
			kql_exec_fail_at(ctx, at, "the function 'round' overflows a long");
		return;
	}
	p = pow(10, digits);
	/* x * p past a double's range: x has no digits that far right */
	sqlite3_result_double(ctx, isfinite(x * p) ? round(x * p) / p : x);
}

static double exp10_of(double x)
{
	return pow(10, x);
}

static double cot_of(double x)
{
	return 1 / tan(x);
}

static double degrees_of(double x)
{
	return x * (180 / M_PI);
}

static double radians_of(double x)
{
	return x * (M_PI / 180);
}

static double sign_of(double x)
{
	return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* kql_math(code, x[, y], at), the codes kql_exec_expr.c writes: as .NET's
 * Math: log(0) is -inf, exp and pow past a double's range +inf; a NaN
 * (sqrt, log of a negative, pow of a negative to a fraction, acos of 2,
 * cos of an infinity) is refused; null for a null argument. */
static const struct {
	const char *name;
	double (*f1)(double);
	double (*f2)(double, double);
} math_fns[] = {
    {"ceiling", ceil, NULL},
    {"sqrt", sqrt, NULL},
    {"log", log, NULL},
    {"log10", log10, NULL},
    {"exp", exp, NULL},
    {"pow", NULL, pow},
    {"log2", log2, NULL},
    {"exp2", exp2, NULL},
    {"exp10", exp10_of, NULL},
    {"cos", cos, NULL},
    {"sin", sin, NULL},
    {"tan", tan, NULL},
    {"acos", acos, NULL},
    {"asin", asin, NULL},
    {"atan", atan, NULL},
    {"atan2", NULL, atan2},
    {"cot", cot_of, NULL},
    {"degrees", degrees_of, NULL},
    {"radians", radians_of, NULL},
    {"sign", sign_of, NULL},
};

static void fn_math(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int code = sqlite3_value_int(argv[0]);
	double x = sqlite3_value_double(argv[1]), r;
	char what[32];

	if (argc < 3 || any_null(argc, argv) || code < 0 ||
	    code >= (int)(sizeof(math_fns) / sizeof(math_fns[0])) ||
	    (math_fns[code].f2 != NULL) != (argc == 4))
		return;
	/* ceiling of an integer is the integer */
	if (code == 0 && is_int(argv[1])) {
		sqlite3_result_int64(ctx, sqlite3_value_int64(argv[1]));
		return;
	}
	r = math_fns[code].f2 != NULL ? math_fns[code].f2(x, sqlite3_value_double(argv[2]))
	                              : math_fns[code].f1(x);
	(void)snprintf(what, sizeof(what), "the function '%s'", math_fns[code].name);
	result_real(ctx, r, sqlite3_value_int64(argv[argc - 1]), what);
}

/* ---- datetime parts, arithmetic, formats ---- */

struct civil {
	int64_t y, days;
	int m, d, hh, mm, ss;
	int64_t frac; /* ticks within the second */
};

static struct civil civil_of(int64_t t)
{
	struct civil c;
	int64_t in_day;

	c.days = floor_div(t, TICKS_DAY);
	in_day = t - c.days * TICKS_DAY;
	civil_from_days(c.days, &c.y, &c.m, &c.d);
	c.hh = (int)(in_day / (3600 * TIMEFMT_TICKS_PER_SEC));
	c.mm = (int)(in_day / (60 * TIMEFMT_TICKS_PER_SEC) % 60);
	c.ss = (int)(in_day / TIMEFMT_TICKS_PER_SEC % 60);
	c.frac = in_day % TIMEFMT_TICKS_PER_SEC;
	return c;
}

static const struct {
	const char *name;
	int64_t ticks; /* 0 for calendar parts */
	int calendar;  /* 1 year, 2 quarter, 3 month */
} periods[] = {
    {"year", 0, 1},
    {"quarter", 0, 2},
    {"month", 0, 3},
    {"week", 7 * TICKS_DAY, 0},
    {"day", TICKS_DAY, 0},
    {"hour", 3600 * TIMEFMT_TICKS_PER_SEC, 0},
    {"minute", 60 * TIMEFMT_TICKS_PER_SEC, 0},
    {"second", TIMEFMT_TICKS_PER_SEC, 0},
    {"millisecond", TIMEFMT_TICKS_PER_SEC / 1000, 0},
    {"microsecond", 10, 0},
    {"nanosecond", 1, 0},
};

static int period(sqlite3_value *v)
{
	const char *s = (const char *)sqlite3_value_text(v);

	for (size_t i = 0; s != NULL && i < sizeof(periods) / sizeof(periods[0]); i++)
		if (strcasecmp(s, periods[i].name) == 0)
			return (int)i;
	return -1;
}

static int64_t months_of(const struct civil *c)
{
	return c->y * 12 + c->m - 1;
}

/* period's index in periods[], or -1 having refused it (what names the
 * function whose argument it is): an unknown period was null, where Kusto
 * knows only the documented ones. */
static int period_at(sqlite3_context *ctx, sqlite3_value *v, int64_t at, const char *what)
{
	int p = period(v);

	if (p < 0 && sqlite3_value_type(v) != SQLITE_NULL)
		kql_exec_fail_at(
		    ctx, at,
		    "the function '%s' knows no period '%s' (year, quarter, month, week, "
		    "day, hour, minute, second, millisecond, microsecond, nanosecond)",
		    what, (const char *)sqlite3_value_text(v));
	return p;
}

/* t moved by n of the tick period p into *ret: false past DateTime's range. */
static bool add_ticks(int64_t t, int64_t n, int p, int64_t *ret)
{
	int64_t d;

	if (p == 10) /* nanoseconds: whole ticks of 100, truncated */
		d = n / 100;
	else if (__builtin_mul_overflow(n, periods[p].ticks, &d))
		return false;
	return !__builtin_add_overflow(t, d, ret) && *ret >= KQL_DT_MIN && *ret <= KQL_DT_MAX;
}

/* t moved by n months, the day clamped to the month's last (Jan 31 + 1
 * month is Feb 28 or 29, as .NET's AddMonths): false past the range. */
static bool add_months(int64_t t, int64_t n, int64_t *ret)
{
	struct civil c = civil_of(t);
	int64_t months, y, last;
	int m, d;

	if (n > 120000 || n < -120000) /* 10,000 years: past the range either way */
		return false;
	months = months_of(&c) + n;
	y = floor_div(months, 12);
	m = (int)(months - y * 12) + 1;
	civil_from_days(days_from_civil(y + (m == 12), m == 12 ? 1 : m + 1, 1) - 1, &y, &m, &d);
	last = d;
	*ret = days_from_civil(y, m, c.d < last ? c.d : (int)last) * TICKS_DAY +
	       (t - c.days * TICKS_DAY);
	return *ret >= KQL_DT_MIN && *ret <= KQL_DT_MAX;
}

/* kql_dtadd(period, amount, dt, at): a result past DateTime's range is
 * refused (.NET's Add* throw there; Kusto's answer is not documented). */
static void fn_dtadd(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t at = sqlite3_value_int64(argv[3]);
	int p = period_at(ctx, argv[0], at, "datetime_add");
	int64_t n = sqlite3_value_int64(argv[1]), t = sqlite3_value_int64(argv[2]), r;
	static const int months_per[] = {0, 12, 3, 1};
	bool ok;

	if (p < 0 || any_null(3, argv))
		return;
	/* past 120,000 (months) the result is out of the range anyway */
	ok = periods[p].calendar == 0 ? add_ticks(t, n, p, &r)
	                              : n <= 120000 && n >= -120000 &&
	                                    add_months(t, n * months_per[periods[p].calendar], &r);
	if (ok)
		sqlite3_result_int64(ctx, r);
	else
		kql_exec_fail_at(
		    ctx, at,
		    "the function 'datetime_add' gives a datetime outside 0001-01-01 .. "
		    "9999-12-31: not supported");
}

/* kql_dtdiff(period, dt1, dt2, at): period boundaries crossed from dt2 to
 * dt1. */
static void fn_dtdiff(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int p = period_at(ctx, argv[0], sqlite3_value_int64(argv[3]), "datetime_diff");
	int64_t t1 = sqlite3_value_int64(argv[1]), t2 = sqlite3_value_int64(argv[2]);
	struct civil a = civil_of(t1), b = civil_of(t2);

	if (p < 0 || sqlite3_value_type(argv[1]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[2]) == SQLITE_NULL)
		return;
	switch (periods[p].calendar) {
	case 1:
		sqlite3_result_int64(ctx, a.y - b.y);
		return;
	case 2:
		sqlite3_result_int64(ctx,
		                     floor_div(months_of(&a), 3) - floor_div(months_of(&b), 3));
		return;
	case 3:
		sqlite3_result_int64(ctx, months_of(&a) - months_of(&b));
		return;
	default:
		break;
	}
	if (p == 3) /* weeks start on Sunday */
		t1 += 4 * TICKS_DAY, t2 += 4 * TICKS_DAY;
	if (p == 10 && in_range((__int128)(t1 - t2) * 100, PROTO_T_LONG))
		sqlite3_result_int64(ctx, (t1 - t2) * 100);
	else if (p == 10) /* nanoseconds past a long: some 29,000 years */
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[3]),
		                 "the function 'datetime_diff' overflows a long: not supported");
	else
		sqlite3_result_int64(ctx, floor_div(t1, periods[p].ticks) -
		                              floor_div(t2, periods[p].ticks));
}

/* ISO 8601 weeks: Monday first, week 1 holds the year's first Thursday. */
static int64_t iso_weeks_in(int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1);
	int wd = (int)(((jan1 + 3) % 7 + 7) % 7) + 1; /* Monday 1 .. Sunday 7 */
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return wd == 4 || (leap && wd == 3) ? 53 : 52;
}

static int64_t iso_week(const struct civil *c)
{
	int wd = (int)(((c->days + 3) % 7 + 7) % 7) + 1;
	int64_t doy = c->days - days_from_civil(c->y, 1, 1) + 1;
	int64_t w = (doy - wd + 10) / 7;

	if (w < 1)
		return iso_weeks_in(c->y - 1);
	return w > iso_weeks_in(c->y) ? 1 : w;
}

/* kql_dtpart(part, dt, at) */
static void fn_dtpart(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *part = (const char *)sqlite3_value_text(argv[0]);
	int64_t t = sqlite3_value_int64(argv[1]);
	struct civil c = civil_of(t);
	int64_t v;

	if (part == NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;
	if (strcasecmp(part, "year") == 0)
		v = c.y;
	else if (strcasecmp(part, "quarter") == 0)
		v = (c.m - 1) / 3 + 1;
	else if (strcasecmp(part, "month") == 0)
		v = c.m;
	else if (strcasecmp(part, "week_of_year") == 0)
		v = iso_week(&c);
	else if (strcasecmp(part, "day") == 0)
		v = c.d;
	else if (strcasecmp(part, "dayofyear") == 0)
		v = c.days - days_from_civil(c.y, 1, 1) + 1;
	else if (strcasecmp(part, "hour") == 0)
		v = c.hh;
	else if (strcasecmp(part, "minute") == 0)
		v = c.mm;
	else if (strcasecmp(part, "second") == 0)
		v = c.ss;
	else if (strcasecmp(part, "millisecond") == 0)
		v = c.frac / 10000;
	else if (strcasecmp(part, "microsecond") == 0)
		v = c.frac / 10;
	else if (strcasecmp(part, "nanosecond") == 0)
		v = c.frac * 100;
	else {
		/* an unknown part was null; Kusto knows only its page's */
		kql_exec_fail_at(
		    ctx, sqlite3_value_int64(argv[2]),
		    "the function 'datetime_part' knows no part '%s' (year, quarter, month, "
		    "week_of_year, day, dayofyear, hour, minute, second, millisecond, "
		    "microsecond, nanosecond)",
		    part);
		return;
	}
	sqlite3_result_int64(ctx, v);
}

/* Whether a run of n letters c is one of format_datetime's documented
 * elements (its page: y yy yyyy M MM d dd h hh H HH m mm s ss f..fffffff
 * F..FFFFFFF tt). */
static bool format_element(char c, int n)
{
	switch (c) {
	case 'y':
		return n == 1 || n == 2 || n == 4;
	case 'M':
	case 'd':
	case 'h':
	case 'H':
	case 'm':
	case 's':
		return n <= 2;
	case 'f':
	case 'F':
		return n <= 7;
	case 't':
		return n == 2;
	default:
		return false;
	}
}

/* One format_datetime element (a run of n letters c, checked) of t into
 * out. */
static void format_field(const struct civil *t, char c, int n, FILE *out)
{
	int h12 = t->hh % 12 == 0 ? 12 : t->hh % 12;
	char frac[8];

	switch (c) {
	case 'y':
		/* y is the year of the century unpadded (2009 is 9), yy padded. */
		fprintf(out, "%0*lld", n, (long long)(n <= 2 ? t->y % 100 : t->y));
		return;
	case 'f':
	case 'F':
		(void)snprintf(frac, sizeof(frac), "%07lld", (long long)t->frac);
		frac[n] = '\0';
		for (int k = n - 1; c == 'F' && k >= 0 && frac[k] == '0'; k--)
			frac[k] = '\0';
		fputs(frac, out);
		return;
	case 't':
		fputs(t->hh < 12 ? "AM" : "PM", out);
		return;
	default:
		break;
	}
	fprintf(out, "%0*d", n,
	        c == 'M'   ? t->m
	        : c == 'd' ? t->d
	        : c == 'H' ? t->hh
	        : c == 'h' ? h12
	        : c == 'm' ? t->mm
	                   : t->ss);
}

/* kql_format_datetime(dt, format, at): the page's elements, its
 * delimiters (space / - : , . _ [ ]) copied; anything else is refused:
 * .NET's other specifiers (MMM, ddd, yyy, t, z, K), quotes, escapes and
 * other letters (a T) were guessed at (an empty string, .NET's text),
 * where Kusto's answer is not documented. */
static void fn_format_datetime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *fmt = (const char *)sqlite3_value_text(argv[1]);
	struct civil t = civil_of(sqlite3_value_int64(argv[0]));
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	const char *bad = NULL;
	int n = 1;

	if (fmt == NULL || sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    (out = open_memstream(&buf, &len)) == NULL)
		return;
	for (const char *p = fmt; *p != '\0' && bad == NULL; p += n) {
		for (n = 1; p[n] == p[0];)
			n++;
		if (format_element(*p, n))
			format_field(&t, *p, n, out);
		else if (strchr(" /-:,._[]", *p) != NULL)
			fwrite(p, 1, (size_t)n, out);
		else
			bad = p;
	}
	if (fclose(out) == 0 && bad == NULL)
		sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
	else if (bad != NULL)
		kql_exec_fail_at(
		    ctx, sqlite3_value_int64(argv[2]),
		    "the function 'format_datetime' does not support the format element '%.*s' "
		    "(its page's elements: y yy yyyy M MM d dd h hh H HH m mm s ss f..fffffff "
		    "F..FFFFFFF tt; delimiters: space / - : , . _ [ ])",
		    n > 16 ? 16 : n, bad);
	free(buf);
}

/* The text with the run of the pattern's matches at its start (lead)
 * and then the run that ends what is left (tail) removed: that second
 * run a subject of its own, as Kusto's two replacements see it. */
static void trim_ends(sqlite3_context *ctx, sqlite3_value **argv, bool lead, bool tail,
                      const char *fn)
{
	int64_t at = sqlite3_value_int64(argv[2]);
	struct kre *re = regex_arg(ctx, argv, 0, at, true);
	const char *s = (const char *)sqlite3_value_text(argv[1]);
	size_t start = 0, n = (size_t)sqlite3_value_bytes(argv[1]);
	int rc;

	if (re == NULL || s == NULL)
		return;
	if (lead && (rc = kre_match(ctx, re, re->code, s, n, PCRE2_ANCHORED, at, fn)) != 0) {
		if (rc < 0)
			return;
		start = pcre2_get_ovector_pointer(re->md)[1];
	}
	if (tail && (rc = kre_match(ctx, re, re->tail, s + start, n - start, 0, at, fn)) != 0) {
		if (rc < 0)
			return;
		n = start + pcre2_get_ovector_pointer(re->md)[0];
	}
	sqlite3_result_text(ctx, s + start, (int)(n - start), SQLITE_TRANSIENT);
}

/* kql_trim(pattern, text, at), kql_trim_start, kql_trim_end */
static void fn_trim(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	trim_ends(ctx, argv, true, true, "trim");
}

static void fn_trim_start(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	trim_ends(ctx, argv, true, false, "trim_start");
}

static void fn_trim_end(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	trim_ends(ctx, argv, false, true, "trim_end");
}

/* The number of characters (code points) in the first n bytes of s. */
static int64_t chars_in(const char *s, size_t n)
{
	int64_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

/* Where the k-th character of s starts (its end when k is past it). */
static const char *char_at(const char *s, int64_t k)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80 && k-- == 0)
			break;
	return s;
}

/* kql_indexof(text, lookup, start, length, occurrence): -1 when absent;
 * positions and lengths count characters, as strlen and substring do. */
static void fn_indexof(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	const char *x = (const char *)sqlite3_value_text(argv[1]);
	int64_t len = s != NULL ? chars_in(s, strlen(s)) : 0;
	int64_t start = argc > 2 ? sqlite3_value_int64(argv[2]) : 0;
	int64_t span = argc > 3 ? sqlite3_value_int64(argv[3]) : -1;
	int64_t nth = argc > 4 ? sqlite3_value_int64(argv[4]) : 1;
	int64_t xlen = x != NULL ? chars_in(x, strlen(x)) : 0;
	const char *p, *q;
	int64_t at;

	/* A negative start counts from the end; the match must lie within
	 * start .. start + length, both ends included (the documentation's
	 * examples). */
	if (start < 0)
		start = len + start < 0 ? 0 : len + start;
	if (s == NULL || x == NULL || start > len || nth < 1)
		return;
	/* at: the character position of p, counted as p moves (linear). */
	for (q = p = char_at(s, start), at = start; (p = strstr(p, x)) != NULL; p++) {
		at += chars_in(q, (size_t)(p - q));
		q = p;
		if (span >= 0 && at + xlen > start + span + 1)
			break;
		if (--nth == 0) {
			sqlite3_result_int64(ctx, at);
			return;
		}
	}
	sqlite3_result_int64(ctx, -1);
}

/* kql_substring(text, start[, length], at): characters from start (a
 * negative one counts from the end, its page), length of them or the
 * rest.  A length below zero, or a length with a start before the text's
 * first character (-10 of 6), were SQLite's substr's answers ("", and the
 * window's part inside the text) where Kusto's are not documented, and
 * are refused; without a length such a start takes the whole text. */
static void fn_substring(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]), *from;
	int64_t at = sqlite3_value_int64(argv[argc - 1]);
	int64_t start = sqlite3_value_int64(argv[1]),
	        n = argc > 3 ? sqlite3_value_int64(argv[2]) : -1;
	int64_t len;

	if (s == NULL || any_null(argc - 1, argv))
		return;
	len = chars_in(s, strlen(s));
	(void)at;
	/* a negative length, or a start before the first character, gives ""
	 * (measured on Kusto: substring('abc', -10) and substring('abc', -10,
	 * 2) are ""); a negative start within the text counts from its end */
	if ((argc > 3 && n < 0) || start < -len) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	if (start < 0)
		start = len + start;
	from = char_at(s, start);
	sqlite3_result_text(ctx, from,
	                    argc > 3 ? (int)(char_at(from, n) - from) : (int)strlen(from),
	                    SQLITE_TRANSIENT);
}

/* kql_indexes(n1, n2 ...): the JSON array [0, 1 ... max(n) - 1] that
 * mv-expand walks. */
static void fn_indexes(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t n = 0;
	char *buf, *w;

	for (int i = 0; i < argc; i++)
		if (sqlite3_value_int64(argv[i]) > n)
			n = sqlite3_value_int64(argv[i]);
	if (n > (INT64_C(1) << 20)) {
		sqlite3_result_error(ctx, "mv-expand: an array longer than 1048576 elements", -1);
		return;
	}
	if ((buf = malloc((size_t)n * 10 + 3)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	w = buf;
	*w++ = '[';
	for (int64_t i = 0; i < n; i++)
		w += sprintf(w, i > 0 ? ",%lld" : "%lld", (long long)i);
	*w++ = ']';
	sqlite3_result_text(ctx, buf, (int)(w - buf), free);
}

/* ---- aggregates ---- */

/* Counts n more bytes against the query's budget (the function's user
 * data; NULL: none); false, with the aggregate failed, past its limit. */
bool kql_exec_charge(sqlite3_context *ctx, size_t n)
{
	struct kql_budget *b = sqlite3_user_data(ctx);
	uint64_t used, peak;

	if (b == NULL)
		return true;
	used = __atomic_add_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
	peak = __atomic_load_n(&b->peak, __ATOMIC_RELAXED);
	while (used > peak && !__atomic_compare_exchange_n(&b->peak, &peak, used, true,
	                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (b->limit == 0 || used <= b->limit)
		return true;
	(void)__atomic_sub_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED); /* not taken */
	sqlite3_result_error_toobig(ctx);
	return false;
}

/* Gives n bytes back (an aggregate's state freed). */
void kql_exec_release(sqlite3_context *ctx, size_t n)
{
	struct kql_budget *b = sqlite3_user_data(ctx);

	if (b != NULL)
		(void)__atomic_sub_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
}

struct extreme {
	sqlite3_value *key, *value;
	size_t bytes; /* counted for key and value */
};

static size_t value_bytes(sqlite3_value *v)
{
	return v != NULL ? 64 + (size_t)sqlite3_value_bytes(v) : 0;
}

bool kql_exec_better(sqlite3_value *k, sqlite3_value *than, int sign)
{
	double a = sqlite3_value_double(k), b = sqlite3_value_double(than);

	if (sqlite3_value_type(k) == SQLITE_TEXT)
		return strcmp((const char *)sqlite3_value_text(k),
		              (const char *)sqlite3_value_text(than)) *
		           sign >
		       0;
	return sign > 0 ? a > b : a < b;
}

/* kql_argmax(key, value) / kql_argmin: value at the row where key is
 * largest / smallest; rows with a null key are skipped. */
static void extreme_step(sqlite3_context *ctx, sqlite3_value **argv, int sign)
{
	struct extreme *x = sqlite3_aggregate_context(ctx, sizeof(*x));
	sqlite3_value *k = argv[0];

	if (x == NULL)
		return;
	if (sqlite3_value_type(k) == SQLITE_NULL) {
		/* Kusto still gives a row when every key is null: keep the
		 * first one's value until a real key comes. */
		if (x->key == NULL && x->value == NULL &&
		    (x->value = sqlite3_value_dup(argv[1])) == NULL)
			sqlite3_result_error_nomem(ctx);
		return;
	}
	if (x->key != NULL && !kql_exec_better(k, x->key, sign))
		return;
	sqlite3_value_free(x->key);
	sqlite3_value_free(x->value);
	kql_exec_release(ctx, x->bytes);
	x->key = sqlite3_value_dup(k);
	x->value = sqlite3_value_dup(argv[1]);
	x->bytes = 0;
	if (x->key == NULL || (x->value == NULL && argv[1] != NULL))
		sqlite3_result_error_nomem(ctx);
	else if (kql_exec_charge(ctx, value_bytes(x->key) + value_bytes(x->value)))
		x->bytes = value_bytes(x->key) + value_bytes(x->value);
}

static void argmax_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	extreme_step(ctx, argv, 1);
}

static void argmin_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	extreme_step(ctx, argv, -1);
}

static void extreme_final(sqlite3_context *ctx)
{
	struct extreme *x = sqlite3_aggregate_context(ctx, 0);

	if (x == NULL)
		return;
	if (x->value != NULL)
		sqlite3_result_value(ctx, x->value);
	sqlite3_value_free(x->key);
	sqlite3_value_free(x->value);
	kql_exec_release(ctx, x->bytes);
}

struct samples {
	double *v;
	size_t n, cap;
	double p;
	bool integral;
};

/* Room in s for more values, counted against the query's budget; false
 * (the aggregate failed) past it or out of memory. */
static bool samples_room(sqlite3_context *ctx, struct samples *s, size_t more)
{
	size_t cap = s->cap ? s->cap : 64;
	double *v;

	while (cap < s->n + more)
		cap *= 2;
	if (cap == s->cap)
		return true;
	if (!kql_exec_charge(ctx, (cap - s->cap) * sizeof(*s->v)))
		return false;
	if ((v = realloc(s->v, cap * sizeof(*v))) == NULL) {
		kql_exec_release(ctx, (cap - s->cap) * sizeof(*s->v));
		sqlite3_result_error_nomem(ctx);
		return false;
	}
	s->v = v;
	s->cap = cap;
	return true;
}

/* x's value kept (nulls skipped); false when it is not. */
static bool sample_add(sqlite3_context *ctx, struct samples *s, sqlite3_value *x)
{
	if (s == NULL || sqlite3_value_type(x) == SQLITE_NULL || !samples_room(ctx, s, 1))
		return false;
	s->v[s->n++] = sqlite3_value_double(x);
	s->integral = is_int(x) && (s->n == 1 || s->integral);
	return true;
}

static void percentile_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct samples *s = sqlite3_aggregate_context(ctx, sizeof(*s));

	if (sample_add(ctx, s, argv[0]))
		s->p = sqlite3_value_double(argv[1]);
}

/* kql_pstate(x): the non-null values of x as text (kql_pct.h), a split's
 * partial state of percentile(x, p); kql_pmerge(state, p): percentile's
 * answer over the states' values together, the whole plan's. */
static void pstate_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)sample_add(ctx, sqlite3_aggregate_context(ctx, sizeof(struct samples)), argv[0]);
}

/* The text counts against the budget beside the values it copies. */
static void pstate_final(sqlite3_context *ctx)
{
	struct samples *s = sqlite3_aggregate_context(ctx, 0);
	size_t n = s != NULL ? s->n : 0, len = 0;
	char *text = kql_pct_text(n ? s->v : NULL, n, n == 0 || s->integral, &len);

	if (text == NULL) {
		sqlite3_result_error_nomem(ctx);
	} else if (!kql_exec_charge(ctx, len)) {
		free(text);
	} else {
		/* past SQLITE_LIMIT_LENGTH (kql_exec_bound): SQLITE_TOOBIG */
		sqlite3_result_text64(ctx, text, len, free, SQLITE_UTF8);
		kql_exec_release(ctx, len);
	}
	if (s != NULL) {
		kql_exec_release(ctx, s->cap * sizeof(*s->v));
		free(s->v);
	}
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median3(double a, double b, double c)
{
	if (a > b) {
		double t = a;
		a = b;
		b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* Splits v[*lo, *hi) around pivot: [*lo, lt) below it, [lt, gt) equal to
 * it, [gt, *hi) above it (many equal values: one round takes them all);
 * then narrows [*lo, *hi) to the part holding index k.  true: v[k] found. */
static bool partition3(double *v, size_t *lo, size_t *hi, size_t k, double pivot)
{
	size_t lt = *lo, gt = *hi;
	size_t i = lt;

	while (i < gt) {
		double x = v[i];
		if (x < pivot) {
			v[i++] = v[lt];
			v[lt++] = x;
		} else if (x > pivot) {
			v[i] = v[--gt];
			v[gt] = x;
		} else {
			i++;
		}
	}
	if (k < lt)
		*hi = lt;
	else if (k >= gt)
		*lo = gt;
	return k >= lt && k < gt;
}

/* Puts v's k-th smallest (from 0) at v[k], in O(n) on average where a sort
 * takes O(n log n): quickselect on a median-of-three pivot.  Past 2 log2 n
 * rounds (values that defeat the pivot: a leader's data is untrusted) what
 * is left is sorted instead, so never worse than a sort. */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	int rounds = 2 * (int)log2((double)n + 1) + 2;

	while (hi - lo > 16 && rounds-- > 0) {
		double pivot = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
		if (partition3(v, &lo, &hi, k, pivot))
			return;
	}
	qsort(v + lo, hi - lo, sizeof(*v), compare_doubles);
}

/* Nearest rank: the index (from 0) of the smallest value with at least
 * p% of the n values at or below it.  Kusto estimates (t-digest); on small
 * inputs both agree. */
static size_t nearest_rank(double p, size_t n)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	rank = rank == 0 ? 0 : rank - 1;
	return rank >= n ? n - 1 : rank;
}

static void percentile_result(sqlite3_context *ctx, double v, bool integral)
{
	if (integral)
		sqlite3_result_int64(ctx, (sqlite3_int64)v);
	else
		sqlite3_result_double(ctx, v);
}

static void percentile_final(sqlite3_context *ctx)
{
	struct samples *s = sqlite3_aggregate_context(ctx, 0);
	size_t rank;

	if (s != NULL)
		kql_exec_release(ctx, s->cap * sizeof(*s->v));
	if (s != NULL && s->n > 0) {
		rank = nearest_rank(s->p, s->n);
		select_kth(s->v, s->n, rank);
		percentile_result(ctx, s->v[rank], s->integral);
	}
	if (s != NULL)
		free(s->v);
}

/* kql_pmerge's state: the values of texts one by one (s), and the pairs
 * of paired texts (kql_pct.h), npairs of them holding total values. */
struct pmerge {
	struct samples s;
	struct kql_pct_pair *pairs;
	size_t npairs, pcap;
	uint64_t total;
};

/* Room in m for more pairs, counted as samples_room counts. */
static bool pairs_room(sqlite3_context *ctx, struct pmerge *m, size_t more)
{
	size_t cap = m->pcap ? m->pcap : 64;
	struct kql_pct_pair *p;

	while (cap < m->npairs + more)
		cap *= 2;
	if (cap == m->pcap)
		return true;
	if (!kql_exec_charge(ctx, (cap - m->pcap) * sizeof(*p)))
		return false;
	if ((p = realloc(m->pairs, cap * sizeof(*p))) == NULL) {
		kql_exec_release(ctx, (cap - m->pcap) * sizeof(*p));
		sqlite3_result_error_nomem(ctx);
		return false;
	}
	m->pairs = p;
	m->pcap = cap;
	return true;
}

/* Adds a paired text's n values (np pairs); false when it failed. */
static bool pmerge_pairs(sqlite3_context *ctx, struct pmerge *m, const char *text, size_t len,
                         size_t np, long long n)
{
	if (!pairs_room(ctx, m, np))
		return false;
	if (kql_pct_read_pairs(text, len, m->pairs + m->npairs) < 0) {
		sqlite3_result_error(ctx, "percentile(): a malformed partial state", -1);
		return false;
	}
	m->npairs += np;
	m->total += (uint64_t)n;
	return true;
}

/* Adds a text's n values one by one; false when it failed. */
static bool pmerge_values(sqlite3_context *ctx, struct pmerge *m, const char *text, size_t len,
                          long long n)
{
	if (!samples_room(ctx, &m->s, (size_t)n))
		return false;
	if (kql_pct_read(text, len, m->s.v + m->s.n) < 0) {
		sqlite3_result_error(ctx, "percentile(): a malformed partial state", -1);
		return false;
	}
	m->s.n += (size_t)n;
	return true;
}

static void pmerge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct pmerge *m = sqlite3_aggregate_context(ctx, sizeof(*m));
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	size_t len = (size_t)sqlite3_value_bytes(argv[0]), np;
	bool integral = true, was;
	long long n;

	if (m == NULL || text == NULL)
		return;
	if ((n = kql_pct_count(text, len, &integral)) < 0) {
		sqlite3_result_error(ctx, "percentile(): a malformed partial state", -1);
		return;
	}
	was = m->s.n > 0 || m->total > 0;
	np = kql_pct_npairs(text, len);
	if (n == 0 ||
	    !(np ? pmerge_pairs(ctx, m, text, len, np, n) : pmerge_values(ctx, m, text, len, n)))
		return;
	m->s.integral = integral && (!was || m->s.integral);
	m->s.p = sqlite3_value_double(argv[1]);
}

/* Pairs only (values repeat): a sort of the few pairs; else the pairs'
 * values added to the others', selected as percentile_final does. */
static void pmerge_final(sqlite3_context *ctx)
{
	struct pmerge *m = sqlite3_aggregate_context(ctx, 0);
	size_t n, rank;

	if (m == NULL)
		return;
	n = m->s.n + (size_t)m->total;
	if (n > 0 && m->s.n == 0) {
		rank = nearest_rank(m->s.p, n);
		percentile_result(ctx, kql_pct_select(m->pairs, m->npairs, rank), m->s.integral);
	} else if (n > 0 && samples_room(ctx, &m->s, (size_t)m->total)) {
		for (size_t i = 0; i < m->npairs; i++)
			for (uint64_t k = 0; k < m->pairs[i].n; k++)
				m->s.v[m->s.n++] = m->pairs[i].v;
		rank = nearest_rank(m->s.p, n);
		select_kth(m->s.v, n, rank);
		percentile_result(ctx, m->s.v[rank], m->s.integral);
	}
	kql_exec_release(ctx, m->s.cap * sizeof(*m->s.v) + m->pcap * sizeof(*m->pairs));
	free(m->s.v);
	free(m->pairs);
}

/* The state of kql_collect: the elements and the bytes counted for them
 * (an element costs about its text and a jansson node). */
struct collection {
	json_t *a;
	json_t *seen; /* make_set: the elements' JSON texts as keys (a hash set) */
	size_t bytes;
};

/* Whether item is new to acc's set (then it is remembered); -1 when out of
 * memory.  Equal values have equal compact texts (keys sorted). */
static int first_seen(struct collection *acc, const json_t *item)
{
	char *key = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	int r = -1;

	if (key != NULL && (acc->seen != NULL || (acc->seen = json_object()) != NULL)) {
		r = json_object_get(acc->seen, key) == NULL;
		if (r == 1 && json_object_set_new(acc->seen, key, json_true()) < 0)
			r = -1;
	}
	free(key);
	return r;
}

/* kql_collect(distinct, d): make_set / make_list of dynamic values; an
 * array's elements are added one by one, nulls skipped. */
static void collect_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct collection *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
	const char *text = (const char *)sqlite3_value_text(argv[1]);
	bool distinct = sqlite3_value_int(argv[0]) != 0;
	json_t *v, *item;
	size_t i, n, each;

	if (acc == NULL || text == NULL || (v = json_loads(text, JSON_DECODE_ANY, NULL)) == NULL)
		return;
	if (acc->a == NULL && (acc->a = json_array()) == NULL) {
		json_decref(v);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	n = json_is_array(v) ? json_array_size(v) : 1;
	each = 64 + (size_t)sqlite3_value_bytes(argv[1]) / (n > 0 ? n : 1);
	each += distinct ? each : 0; /* the key in the set */
	for (i = 0; i < n; i++) {
		int fresh = 1;
		item = json_is_array(v) ? json_array_get(v, i) : v;
		if (json_is_null(item))
			continue;
		if (distinct && (fresh = first_seen(acc, item)) < 0) {
			sqlite3_result_error_nomem(ctx);
			break;
		}
		if (fresh == 0)
			continue;
		if (!kql_exec_charge(ctx, each))
			break;
		acc->bytes += each;
		(void)json_array_append(acc->a, item);
	}
	json_decref(v);
}

static void collect_final(sqlite3_context *ctx)
{
	struct collection *acc = sqlite3_aggregate_context(ctx, 0);
	char *out;

	if (acc == NULL || acc->a == NULL) {
		if (acc != NULL)
			json_decref(acc->seen);
		sqlite3_result_text(ctx, "[]", 2, SQLITE_STATIC);
		return;
	}
	if ((out = kql_json_dump(acc->a, 0)) != NULL)
		sqlite3_result_text(ctx, out, -1, free);
	else
		sqlite3_result_error_nomem(ctx);
	json_decref(acc->a);
	json_decref(acc->seen);
	kql_exec_release(ctx, acc->bytes);
}

/* kql_dcount(x, accuracy) and kql_dstate(x, accuracy): the estimated
 * number of distinct non-null x (kql_hll.h), or the state of it as text
 * (a split's partial); kql_dmerge(state): the estimate of the union of
 * the states.  The state counts against the query's budget. */
struct dcount {
	struct kql_hll h;
	size_t charged; /* bytes counted against the budget */
	bool ready;
};

static uint64_t value_hash(sqlite3_value *v)
{
	const void *p;

	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		return kql_hll_hash_int(sqlite3_value_int64(v));
	case SQLITE_FLOAT:
		return kql_hll_hash_real(sqlite3_value_double(v));
	case SQLITE_BLOB:
		p = sqlite3_value_blob(v);
		return kql_hll_hash_blob(p, (size_t)sqlite3_value_bytes(v));
	default:
		p = sqlite3_value_text(v);
		return kql_hll_hash_text(p, (size_t)sqlite3_value_bytes(v));
	}
}

/* ctx's state, made on the first step (accuracy acc); NULL on failure. */
static struct dcount *dcount_state(sqlite3_context *ctx, int64_t acc)
{
	struct dcount *d = sqlite3_aggregate_context(ctx, sizeof(*d));

	if (d == NULL) {
		sqlite3_result_error_nomem(ctx);
		return NULL;
	}
	if (!d->ready && kql_hll_init(&d->h, acc >= 0 && acc <= KQL_HLL_MAX ? (int)acc : -1) < 0) {
		sqlite3_result_error(ctx, "dcount(): the accuracy must be 0 to 4", -1);
		return NULL;
	}
	d->ready = true;
	return d;
}

/* Charges r bytes grown (or fails the aggregate on r < 0). */
static void dcount_grown(sqlite3_context *ctx, struct dcount *d, long r)
{
	if (r == -ENOMEM)
		sqlite3_result_error_nomem(ctx);
	else if (r < 0)
		sqlite3_result_error(ctx, "dcount(): a malformed partial state", -1);
	else if (r > 0 && kql_exec_charge(ctx, (size_t)r))
		d->charged += (size_t)r;
}

static void dcount_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct dcount *d;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    (d = dcount_state(ctx, sqlite3_value_int64(argv[1]))) == NULL)
		return;
	dcount_grown(ctx, d, kql_hll_add(&d->h, value_hash(argv[0])));
}

static void dcount_final(sqlite3_context *ctx)
{
	struct dcount *d = sqlite3_aggregate_context(ctx, 0);

	sqlite3_result_int64(ctx, d != NULL && d->ready ? kql_hll_count(&d->h) : 0);
	if (d != NULL) {
		kql_exec_release(ctx, d->charged);
		kql_hll_free(&d->h);
	}
}

static void dstate_final(sqlite3_context *ctx)
{
	struct dcount *d = sqlite3_aggregate_context(ctx, 0);
	struct kql_hll empty;
	char *text;

	(void)kql_hll_init(&empty, KQL_HLL_DEFAULT);
	if ((text = kql_hll_text(d != NULL && d->ready ? &d->h : &empty)) != NULL)
		sqlite3_result_text(ctx, text, -1, free);
	else
		sqlite3_result_error_nomem(ctx);
	if (d != NULL) {
		kql_exec_release(ctx, d->charged);
		kql_hll_free(&d->h);
	}
}

static void dmerge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	struct dcount *d;

	if (text == NULL || (d = dcount_state(ctx, 0)) == NULL)
		return;
	dcount_grown(ctx, d, kql_hll_merge_text(&d->h, text, (size_t)sqlite3_value_bytes(argv[0])));
}

/* kql_rsum(x, at): sum and sumif of reals, SQLite's sum (every value
 * added as a double, in order; null over none) but a NaN (+inf and -inf
 * summed) refused where SQLite's would be null, which coalesce(sum, 0)
 * then turns into 0. */
struct rsum {
	double s;
	int64_t at;
	bool any;
};

static void rsum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rsum *st;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	if ((st = sqlite3_aggregate_context(ctx, sizeof(*st))) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	st->s += sqlite3_value_double(argv[0]);
	st->at = sqlite3_value_int64(argv[1]);
	st->any = true;
}

static void rsum_final(sqlite3_context *ctx)
{
	struct rsum *st = sqlite3_aggregate_context(ctx, 0);

	if (st != NULL && st->any)
		result_real(ctx, st->s, st->at, "the aggregate 'sum'");
}

/* kql_lsum(x, 'type at op op_at'): sum and sumif of integers and
 * timespans, exact whatever the order of the values: the low 64 bits wrap
 * and each overflow of them is counted, so the sum is lo + carry * 2^64,
 * a long exactly when carry is 0.  Past a long it is refused (SQLite's sum
 * failed with "integer overflow" as soon as a running sum left the range,
 * even where the total is a long).  Null over no values.  x written as
 * SQLite's unchecked + - * (op, at op_at; kql_exec_sql's unchecked) is a
 * real where one of them overflowed: refused.  The type and positions are
 * one text, read at a group's first value (each argument costs a copy a
 * row). */
struct lsum {
	int64_t lo, carry, at, op_at;
	int type, op;
	bool any;
};

static void lsum_info(struct lsum *st, const char *s)
{
	char *end;

	st->type = (int)strtol(s != NULL ? s : "", &end, 10);
	st->at = strtoll(end, &end, 10);
	st->op = (int)strtol(end, &end, 10);
	st->op_at = strtoll(end, &end, 10);
	st->any = true;
}

static void lsum_real(sqlite3_context *ctx, const struct lsum *st)
{
	if (st->op >= KQL_A_ADD && st->op <= KQL_A_MUL)
		kql_exec_fail_at(
		    ctx, st->op_at,
		    "the operator '%s' (or an integer operator in its operands) %s: not "
		    "supported",
		    arith_names[st->op], range_words((enum proto_coltype)st->type));
	else
		kql_exec_fail_at(ctx, st->at,
		                 "the aggregate 'sum' of a real in an integer sum: not supported");
}

static void lsum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int type = sqlite3_value_type(argv[0]);
	struct lsum *st;
	int64_t v;

	if (type == SQLITE_NULL)
		return;
	if ((st = sqlite3_aggregate_context(ctx, sizeof(*st))) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (!st->any)
		lsum_info(st, (const char *)sqlite3_value_text(argv[1]));
	if (type == SQLITE_FLOAT) {
		lsum_real(ctx, st);
		return;
	}
	v = sqlite3_value_int64(argv[0]);
	if (__builtin_add_overflow(st->lo, v, &st->lo))
		st->carry += v < 0 ? -1 : 1;
}

static void lsum_final(sqlite3_context *ctx)
{
	struct lsum *st = sqlite3_aggregate_context(ctx, 0);

	if (st == NULL || !st->any)
		return;
	if (st->carry == 0)
		sqlite3_result_int64(ctx, st->lo);
	else
		kql_exec_fail_at(ctx, st->at, "the aggregate 'sum' %s: not supported",
		                 range_words((enum proto_coltype)st->type));
}

/* kql_array_head(array, n): the array's first n elements (make_set and
 * make_list with a maximum size); anything else as it is. */
static void fn_array_head(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	int64_t n = sqlite3_value_int64(argv[1]);
	json_t *a;
	char *out;

	if (text == NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL || n < 0 ||
	    (a = json_loads(text, JSON_DECODE_ANY, NULL)) == NULL) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	while (json_is_array(a) && json_array_size(a) > (size_t)n)
		(void)json_array_remove(a, json_array_size(a) - 1);
	if ((out = kql_json_dump(a, 0)) != NULL)
		sqlite3_result_text(ctx, out, -1, free);
	else
		sqlite3_result_error_nomem(ctx);
	json_decref(a);
}

/* ---- ingestion time ---- */

/* kql_ingest(key, map)'s map: keys ascending, each with its time. */
struct ingest_map {
	int64_t *keys, *ticks;
	size_t n;
};

static void ingest_map_free(void *p)
{
	struct ingest_map *m = p;

	if (m == NULL)
		return;
	free(m->keys);
	free(m->ticks);
	free(m);
}

/* "k0 t0 k1 t1 ..." (keys ascending); NULL on ENOMEM or a malformed text. */
static struct ingest_map *ingest_map_new(const char *text)
{
	struct ingest_map *m = calloc(1, sizeof(*m));
	size_t cap = 1;
	char *end;

	for (const char *p = text; *p; p++)
		cap += *p == ' ';
	if (m == NULL || !(m->keys = calloc(cap, sizeof(int64_t))) ||
	    !(m->ticks = calloc(cap, sizeof(int64_t)))) {
		ingest_map_free(m);
		return NULL;
	}
	for (const char *p = text; *p && m->n < cap; p = end) {
		m->keys[m->n] = strtoll(p, &end, 10);
		if (end == p || (m->n > 0 && m->keys[m->n] <= m->keys[m->n - 1]))
			break;
		m->ticks[m->n] = strtoll(p = end, &end, 10);
		if (end == p)
			break;
		m->n++;
	}
	return m;
}

/* kql_ingest(key, map): the time of the greatest key of map not above key
 * (null below the first).  The daemon's views read each row's ingestion
 * time so: the map of its extents' first rowids (kql_exec.h). */
static void fn_ingest(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct ingest_map *m = sqlite3_get_auxdata(ctx, 1);
	const char *text = (const char *)sqlite3_value_text(argv[1]);
	bool made = false;
	int64_t key = sqlite3_value_int64(argv[0]);
	size_t lo = 0, hi;

	if (m == NULL) {
		if ((m = ingest_map_new(text ? text : "")) == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		made = true;
	}
	for (hi = m->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->keys[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || sqlite3_value_type(argv[0]) == SQLITE_NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int64(ctx, m->ticks[lo - 1]);
	if (made)
		sqlite3_set_auxdata(ctx, 1, m, ingest_map_free);
}

/* ---- registration ---- */

static const struct {
	const char *name;
	int nargs;
	void (*fn)(sqlite3_context *, int, sqlite3_value **);
	void (*step)(sqlite3_context *, int, sqlite3_value **);
	void (*final)(sqlite3_context *);
} functions[] = {
    {"kql_tostring", 2, fn_tostring, NULL, NULL},
    {"kql_strop", 3, fn_strop, NULL, NULL},
    {"kql_lower", 1, fn_lower, NULL, NULL},
    {"kql_casefold", 1, fn_casefold, NULL, NULL},
    {"kql_upper", 1, fn_upper, NULL, NULL},
    {"kql_regex", 3, fn_regex, NULL, NULL},
    {"kql_extract", 4, fn_extract, NULL, NULL},
    {"kql_extract_all", 4, fn_extract_all, NULL, NULL},
    {"kql_countof", 4, fn_countof, NULL, NULL},
    {"kql_split", -1, fn_split, NULL, NULL},
    {"kql_bin", 3, fn_bin, NULL, NULL},
    {"kql_real", 4, fn_real, NULL, NULL},
    {"kql_long", 4, fn_long, NULL, NULL},
    {"kql_spandiv", 4, fn_spandiv, NULL, NULL},
    {"kql_ticks", 4, fn_ticks, NULL, NULL},
    {"kql_iarith", 5, fn_iarith, NULL, NULL},
    {"kql_abs", 3, fn_abs, NULL, NULL},
    {"kql_nan", 2, fn_nan, NULL, NULL},
    {"kql_dnum", 1, fn_dnum, NULL, NULL},
    {"kql_jreal", 2, fn_jreal, NULL, NULL},
    {"kql_todynamic", 2, fn_todynamic, NULL, NULL},
    {"kql_startof", -1, fn_startof, NULL, NULL},
    {"kql_dayofweek", 1, fn_dayofweek, NULL, NULL},
    {"kql_round", -1, fn_round, NULL, NULL},
    {"kql_math", -1, fn_math, NULL, NULL},
    {"kql_dtadd", 4, fn_dtadd, NULL, NULL},
    {"kql_dtdiff", 4, fn_dtdiff, NULL, NULL},
    {"kql_dtpart", 3, fn_dtpart, NULL, NULL},
    {"kql_format_datetime", 3, fn_format_datetime, NULL, NULL},
    {"kql_trim", 3, fn_trim, NULL, NULL},
    {"kql_trim_start", 3, fn_trim_start, NULL, NULL},
    {"kql_trim_end", 3, fn_trim_end, NULL, NULL},
    {"kql_indexof", -1, fn_indexof, NULL, NULL},
    {"kql_substring", -1, fn_substring, NULL, NULL},
    {"kql_indexes", -1, fn_indexes, NULL, NULL},
    {"kql_array_head", 2, fn_array_head, NULL, NULL},
    {"kql_ingest", 2, fn_ingest, NULL, NULL},
    {"kql_argmax", 2, NULL, argmax_step, extreme_final},
    {"kql_argmin", 2, NULL, argmin_step, extreme_final},
    {"kql_percentile", 2, NULL, percentile_step, percentile_final},
    {"kql_pstate", 1, NULL, pstate_step, pstate_final},
    {"kql_pmerge", 2, NULL, pmerge_step, pmerge_final},
    {"kql_collect", 2, NULL, collect_step, collect_final},
    {"kql_dcount", 2, NULL, dcount_step, dcount_final},
    {"kql_dstate", 2, NULL, dcount_step, dstate_final},
    {"kql_dmerge", 1, NULL, dmerge_step, dcount_final},
    {"kql_rsum", 2, NULL, rsum_step, rsum_final},
    {"kql_lsum", 2, NULL, lsum_step, lsum_final},
};

int kql_exec_register_fns(sqlite3 *db, const struct kql_sqlfn *fns, size_t n)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

	for (size_t i = 0; i < n; i++)
		if (sqlite3_create_function(db, fns[i].name, fns[i].nargs, flags, NULL, fns[i].fn,
		                            NULL, NULL) != SQLITE_OK)
			return -ENOMEM;
	return 0;
}

int kql_exec_register_budget(sqlite3 *db, struct kql_budget *b)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
		if (sqlite3_create_function(db, functions[i].name, functions[i].nargs, flags, b,
		                            functions[i].fn, functions[i].step,
		                            functions[i].final) != SQLITE_OK)
			return -ENOMEM;
	}
	if (kql_exec_register_conv(db) != 0 || kql_exec_register_text(db) != 0 ||
	    kql_exec_register_dyn(db) != 0)
		return -ENOMEM;
	return kql_exec_register_merge(db, b);
}

int kql_exec_register(sqlite3 *db)
{
	return kql_exec_register_budget(db, NULL);
}
