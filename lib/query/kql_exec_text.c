/*
 * kql_exec_text — the text functions beyond the subset's, as SQLite
 * functions, each as its page describes it: strrep, reverse (by character,
 * of any value's text), strcmp, tohex (a long's 64-bit two's complement,
 * an int's 32), hash_md5/sha1/sha256 of a value's text (Kusto hashes the
 * empty text to the empty text, measured on its emulator), base64 of a
 * text and back (a decoded text that is not UTF-8 is "", as its page
 * shows), and make_datetime.  What a page leaves open is refused at the
 * call's position, never guessed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "query/kql_exec_int.h"
#include "util/timefmt.h"
#include "util/utf8.h"

/* strrep's bound: its page says both 67108864 and "repeated 1024 times"
 * at most; what lies between is refused.  And an answer's bytes. */
#define STRREP_MAX 1024
#define TEXT_MAX (16u << 20)

static const char *text_arg(sqlite3_value *v, int *n)
{
	const char *s = (const char *)sqlite3_value_text(v);

	*n = s != NULL ? sqlite3_value_bytes(v) : 0;
	return s != NULL ? s : "";
}

/* kql_strrep(value, multiplier, delimiter, at) */
static void fn_strrep(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t k = sqlite3_value_int64(argv[1]), at = sqlite3_value_int64(argv[3]);
	int n, dn;
	const char *s = text_arg(argv[0], &n), *d = text_arg(argv[2], &dn);
	char *out, *p;
	size_t len;

	if (sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;
	if (k < 1 || k > STRREP_MAX) {
		kql_exec_fail_at(ctx, at,
		                 "the function 'strrep' takes a multiplier from 1 to %d (its "
		                 "page gives two bounds beyond): not supported",
		                 STRREP_MAX);
		return;
	}
	len = (size_t)k * (size_t)n + (size_t)(k - 1) * (size_t)dn;
	if (len > TEXT_MAX) {
		kql_exec_fail_at(ctx, at, "the function 'strrep' gives more than %u bytes",
		                 TEXT_MAX);
		return;
	}
	if ((out = p = sqlite3_malloc64(len + 1)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (int64_t i = 0; i < k; i++) {
		if (i > 0)
			p = (char *)memcpy(p, d, (size_t)dn) + dn;
		p = (char *)memcpy(p, s, (size_t)n) + n;
	}
	sqlite3_result_text64(ctx, out, len, sqlite3_free, SQLITE_UTF8);
}

/* kql_reverse(text): its characters (code points) in reverse order. */
static void fn_reverse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int n;
	const char *s = text_arg(argv[0], &n);
	char *out = sqlite3_malloc(n + 1);
	int end = n;

	if (out == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	/* each character's bytes copied as they are, from the last one */
	for (int i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && ((unsigned char)s[j] & 0xc0) == 0x80; j++)
			;
		memcpy(out + end - (j - i), s + i, (size_t)(j - i));
		end -= j - i;
	}
	sqlite3_result_text(ctx, out, n, sqlite3_free);
}

/* kql_strcmp(a, b): -1, 0 or 1, ordinal (by code point: UTF-8's bytes). */
static void fn_strcmp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int an, bn;
	const char *a = text_arg(argv[0], &an), *b = text_arg(argv[1], &bn);
	int c = memcmp(a, b, (size_t)(an < bn ? an : bn));

	if (c == 0)
		c = (an > bn) - (an < bn);
	sqlite3_result_int(ctx, (c > 0) - (c < 0));
}

/* kql_tohex(value, min_length, bits): lower-case hex of the value's bits
 * two's complement, zero-padded to min_length (at most 16; -1: none). */
static void fn_tohex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t v = sqlite3_value_int64(argv[0]), min = sqlite3_value_int64(argv[1]);
	uint64_t u = sqlite3_value_int(argv[2]) == 32 ? (uint32_t)v : (uint64_t)v;
	char buf[24];

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	(void)snprintf(buf, sizeof(buf), "%0*llx",
	               (int)(min < 1    ? 1
	                     : min > 16 ? 16
	                                : min),
	               (unsigned long long)u);
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

/* kql_hash(code, text): md5, sha1, sha256 in lower-case hex; "" for "". */
static void fn_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int code = sqlite3_value_int(argv[0]), n;
	const char *s = text_arg(argv[1], &n);
	const EVP_MD *alg = code == 0 ? EVP_md5() : code == 1 ? EVP_sha1() : EVP_sha256();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (n == 0) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	if (EVP_Digest(s, (size_t)n, md, &mdlen, alg, NULL) != 1) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	sqlite3_result_text(ctx, hex, (int)(2 * mdlen), SQLITE_TRANSIENT);
}

/* kql_b64enc(text): the base64 of the text's UTF-8 bytes. */
static void fn_b64enc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int n;
	const char *s = text_arg(argv[0], &n);
	char *out = sqlite3_malloc(4 * ((n + 2) / 3) + 1);

	if (out == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, n);
	sqlite3_result_text(ctx, out, n, sqlite3_free);
}

/* The bytes base64 text s (n bytes, no blanks) decodes to, into out
 * (3n/4 + 1 bytes): their number, or -1 when s is no base64. */
static int b64_decode(const char *s, int n, unsigned char *out)
{
	int len, pad = 0;

	if (n % 4 != 0)
		return -1;
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)s, n)) < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding's bytes as data */
	for (int i = n - 1; i >= 0 && pad < 2 && s[i] == '='; i--)
		pad++;
	return len - pad;
}

/* kql_b64dec(text, at): the text base64 encodes; "" when its bytes are not
 * UTF-8 (its page's example); a text that is not base64 is refused. */
static void fn_b64dec(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int n, len;
	const char *s = text_arg(argv[0], &n);
	unsigned char *out = sqlite3_malloc(n / 4 * 3 + 4);

	if (out == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if ((len = b64_decode(s, n, out)) < 0) {
		sqlite3_free(out);
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[1]),
		                 "the function 'base64_decode_tostring' reads a text that is not "
		                 "base64 (not supported)");
		return;
	}
	if (!utf8_valid(out, (size_t)len)) {
		sqlite3_free(out);
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	sqlite3_result_text(ctx, (char *)out, len, sqlite3_free);
}

/* Whether year..minute are a date and time of .NET's DateTime. */
static bool valid_parts(const int64_t *v, int n)
{
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;

	if (v[0] < 1 || v[0] > 9999 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > mdays[v[1] - 1] || (v[1] == 2 && !leap && v[2] > 28))
		return false;
	return (n < 4 || (v[3] >= 0 && v[3] <= 23)) && (n < 5 || (v[4] >= 0 && v[4] <= 59));
}

/* kql_make_datetime(year, month, day[, hour, minute[, second]], at): null
 * for parts that are no date (as its page says); seconds from 0 to
 * 59.9999999 in whole ticks, a finer fraction refused (how Kusto rounds
 * it is not documented). */
static void fn_make_datetime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t v[5] = {0}, at = sqlite3_value_int64(argv[argc - 1]), ticks;
	int nparts = argc - 1, nint = nparts < 5 ? nparts : 5;
	double sec = nparts == 6 ? sqlite3_value_double(argv[5]) * 1e7 : 0;

	for (int i = 0; i < nparts; i++)
		if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
			return;
	for (int i = 0; i < nint; i++)
		v[i] = sqlite3_value_int64(argv[i]);
	if (!valid_parts(v, nint) || !(sec >= 0 && sec < 6e8))
		return;
	if (fabs(sec - nearbyint(sec)) > 1e-3) {
		kql_exec_fail_at(ctx, at,
		                 "the function 'make_datetime' takes seconds in whole ticks (100 "
		                 "ns): a finer fraction is not supported");
		return;
	}
	ticks = (timefmt_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
	         v[3] * 3600 + v[4] * 60) *
	            INT64_C(10000000) +
	        (int64_t)nearbyint(sec);
	sqlite3_result_int64(ctx, ticks);
}

int kql_exec_register_text(sqlite3 *db)
{
	static const struct kql_sqlfn fns[] = {
	    {"kql_strrep", 4, fn_strrep}, {"kql_reverse", 1, fn_reverse},
	    {"kql_strcmp", 2, fn_strcmp}, {"kql_tohex", 3, fn_tohex},
	    {"kql_hash", 2, fn_hash},     {"kql_b64enc", 1, fn_b64enc},
	    {"kql_b64dec", 2, fn_b64dec}, {"kql_make_datetime", -1, fn_make_datetime},
	};

	return kql_exec_register_fns(db, fns, sizeof(fns) / sizeof(fns[0]));
}
