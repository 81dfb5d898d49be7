/*
 * leader_gen_rows — the rows of a generated typed extent (leaderctl
 * generate --rows): a log-like table as CSV, optionally gzip-compressed,
 * with the column statistics a real ingest would publish.
 *
 * Ten million rows have to be written in seconds, so a row is formatted by
 * hand (no printf) and its statistics come from the values as generated
 * (typed exactly as a reader will parse them back: a latency of "3.417" is
 * 3417 / 1000.0, Clinger's exact case) rather than from a second parse.
 * Values are pseudo-random but reproducible: each extent seeds its own
 * generator from its number.
 */
#include "leader/leader_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/timefmt.h"

const struct proto_column leader_gen_log_columns[LEADER_GEN_LOG_COLUMNS] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING},  {"Host", PROTO_T_STRING},
    {"Service", PROTO_T_STRING},     {"Latency", PROTO_T_REAL},  {"Message", PROTO_T_STRING},
    {"Code", PROTO_T_LONG},          {"Props", PROTO_T_DYNAMIC},
};

static const char *const levels[] = {"Info", "Info", "Info",    "Info",    "Info",
                                     "Info", "Info", "Warning", "Warning", "Error"};
static const char *const services[] = {"api", "auth", "billing", "cache",
                                       "db",  "edge", "search",  "worker"};
static const char *const words[] = {
    "request",  "served",  "from",    "cache", "user",     "login",   "failed", "timeout",
    "upstream", "retry",   "ok",      "slow",  "query",    "started", "done",   "session",
    "token",    "expired", "refresh", "write", "read",     "disk",    "queue",  "full",
    "job",      "queued",  "running", "stale", "rejected", "payment", "order",  "shipped",
};
static const int codes[] = {200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 503};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ROW_MAX 512 /* bytes of one formatted row, with room to spare */

/* xorshift64*: fast, good enough for synthetic data. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put_uint(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* One row's values, as generated. */
struct gen_row {
	int64_t ts;
	const char *level, *service, *words[4];
	unsigned host;
	uint64_t latency_ms; /* the latency in thousandths; UINT64_MAX: null */
	int code;
	unsigned k;
};

static void make_row(uint64_t *s, int64_t t0, int64_t span, struct gen_row *r)
{
	uint64_t x = next_rand(s), y = next_rand(s);

	r->ts = t0 + (int64_t)(x % (uint64_t)(span > 0 ? span : 1));
	r->level = levels[y % N(levels)];
	r->host = (unsigned)(y >> 8) % 100;
	r->service = services[(y >> 16) % N(services)];
	r->latency_ms = (y >> 24) % 1000 == 0 ? UINT64_MAX : (y >> 24) % 5000;
	for (int i = 0; i < 4; i++)
		r->words[i] = words[(x >> (8 + 6 * i)) % N(words)];
	r->code = codes[(y >> 40) % N(codes)];
	r->k = (unsigned)(y >> 48) % 10;
}

static char *format_row(char *p, const struct gen_row *r)
{
	char ts[TIMEFMT_DATETIME_LEN];

	p = put_str(p, timefmt_format_datetime(r->ts, ts));
	*p++ = ',';
	p = put_str(p, r->level);
	p = put_str(p, ",host-");
	*p++ = (char)('0' + r->host / 10);
	*p++ = (char)('0' + r->host % 10);
	*p++ = ',';
	p = put_str(p, r->service);
	*p++ = ',';
	if (r->latency_ms != UINT64_MAX) {
		p = put_uint(p, r->latency_ms / 1000);
		*p++ = '.';
		*p++ = (char)('0' + r->latency_ms / 100 % 10);
		*p++ = (char)('0' + r->latency_ms / 10 % 10);
		*p++ = (char)('0' + r->latency_ms % 10);
	}
	for (int i = 0; i < 4; i++) {
		*p++ = i ? ' ' : ',';
		p = put_str(p, r->words[i]);
	}
	*p++ = ',';
	p = put_uint(p, (uint64_t)r->code);
	p = put_str(p, ",\"{\"\"k\"\":");
	p = put_uint(p, r->k);
	p = put_str(p, ",\"\"env\"\":\"\"prod\"\"}\"\n");
	return p;
}

/* The row as a reader will type it, for the statistics. */
static void type_row(const struct gen_row *r, struct kval *v)
{
	memset(v, 0, LEADER_GEN_LOG_COLUMNS * sizeof(*v));
	v[0].i = r->ts;
	v[4].null = r->latency_ms == UINT64_MAX;
	v[4].r = (double)r->latency_ms / 1000.0;
	v[6].i = r->code;
}

static int grow(struct leader_gen_buf *b, size_t need)
{
	char *p;
	size_t cap = b->cap ? b->cap : 1 << 20;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Compresses b->data[0, len) as one gzip member into b->z. */
static int gzip_into(struct leader_gen_buf *b, size_t len)
{
	z_stream z = {0};
	size_t need = deflateBound(&z, (uLong)len) + 64;
	char *p = need > b->zcap ? realloc(b->z, need) : b->z;
	int r;

	if (!p)
		return -ENOMEM;
	b->z = p;
	b->zcap = need > b->zcap ? need : b->zcap;
	/* Level 1: the generator's job is volume, not the best ratio. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)b->data;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)b->z;
	z.avail_out = (uInt)b->zcap;
	r = deflate(&z, Z_FINISH);
	b->zlen = z.total_out;
	(void)deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : -EIO;
}

static void fill_stats(const struct colstats *st, struct leader_gen_typed *t)
{
	for (size_t i = 0; i < LEADER_GEN_LOG_COLUMNS; i++) {
		struct proto_colstat *c = &t->stats[i];
		struct colstats_col cc;
		bool ranged = colstats_format(st, i, t->text[i][0], t->text[i][1]);

		(void)colstats_get(st, i, &cc);
		c->name = (char *)leader_gen_log_columns[i].name;
		c->type = leader_gen_log_columns[i].type;
		c->nulls = cc.nulls;
		c->min = ranged ? t->text[i][0] : NULL;
		c->max = ranged ? t->text[i][1] : NULL;
	}
}

int leader_gen_rows(uint64_t extent, uint64_t rows, int64_t t0, int64_t span, bool gzip,
                    struct leader_gen_buf *b, struct leader_gen_typed *ret)
{
	struct colstats *st = NULL;
	struct kval v[LEADER_GEN_LOG_COLUMNS];
	uint64_t seed = extent * UINT64_C(0x9e3779b97f4a7c15) + 1;
	size_t len = 0;
	int r = colstats_new(leader_gen_log_columns, LEADER_GEN_LOG_COLUMNS, &st);

	for (uint64_t i = 0; r == 0 && i < rows; i++) {
		struct gen_row row;

		r = grow(b, len + ROW_MAX);
		if (r < 0)
			break;
		make_row(&seed, t0, span, &row);
		len = (size_t)(format_row(b->data + len, &row) - b->data);
		type_row(&row, v);
		colstats_add(st, v);
	}
	b->len = len;
	if (r == 0 && gzip)
		r = gzip_into(b, len);
	if (r == 0) {
		ret->original_size = len;
		fill_stats(st, ret);
	}
	colstats_free(st);
	return r;
}

void leader_gen_buf_clear(struct leader_gen_buf *b)
{
	free(b->data);
	free(b->z);
	memset(b, 0, sizeof(*b));
}
