/*
 * leader — opening a leader, reading its head, loading a database's state,
 * writing checkpoints and committing (see leader.h).  Verify and vacuum are
 * in leader_maint.c, generate in leader_gen.c.
 */
#include "leader/leader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/timefmt.h"

/* ---- errors and small helpers ---- */

int leader_fail(struct leader *l, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
	return r;
}

int leader_fail_target(struct leader *l, int r, const char *what)
{
	if (r == -ENOLCK)
		return leader_fail(l, r,
		                   "%s: lost the writer lock (the lease expired or was broken; "
		                   "another writer may hold it now), stopped at %s: %s",
		                   target_describe(l->t), what, target_error(l->t));
	return leader_fail(l, r, "%s: %s", what, target_error(l->t));
}

const char *leader_error(const struct leader *l)
{
	return l->err;
}

const char *leader_describe(const struct leader *l)
{
	return target_describe(l->t);
}

void leader_set_lock_timeout(struct leader *l, int timeout_ms)
{
	l->lock_timeout_ms = timeout_ms;
}

void leader_set_crash_point(struct leader *l, const char *point, int sig)
{
	free(l->crash_point);
	l->crash_point = point ? strdup(point) : NULL;
	l->crash_signal = sig;
}

/* TEST ONLY: lets the crash tests kill (or stall) a commit at a known step
 * on targets where system calls cannot be counted (Azure). */
void leader_crash_point(struct leader *l, const char *point)
{
	if (l->crash_point && strcmp(l->crash_point, point) == 0)
		(void)raise(l->crash_signal);
}

int leader_sha256_hex(const void *data, size_t len, char ret[PROTO_SHA256_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	leader_state_sha_format(md, ret);
	return 0;
}

int64_t leader_next_committed(int64_t previous)
{
	int64_t now = timefmt_now();

	return now > previous ? now : previous + 1;
}

int leader_new_uuid(char ret[PROTO_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	leader_state_uuid_format(b, ret);
	return 0;
}

/* ---- lifetime ---- */

int leader_open(const char *spec, const struct target_auth *auth, struct leader **ret, char *err,
                size_t errlen)
{
	struct leader *l = calloc(1, sizeof(*l));
	int r;

	if (!l) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = target_open(spec, auth, &l->t, err, errlen);
	if (r < 0) {
		free(l);
		return r;
	}
	l->spec = strdup(spec);
	l->account_key = auth && auth->account_key ? strdup(auth->account_key) : NULL;
	l->sas_token = auth && auth->sas_token ? strdup(auth->sas_token) : NULL;
	if (!l->spec || (auth && auth->account_key && !l->account_key) ||
	    (auth && auth->sas_token && !l->sas_token)) {
		leader_free(l);
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->lock_timeout_ms = LEADER_DEFAULT_LOCK_TIMEOUT_MS;
	*ret = l;
	return 0;
}

static void preexisting_clear(struct leader *l)
{
	size_t i;

	for (i = 0; i < l->npre; i++) {
		free(l->pre[i].path);
		free(l->pre[i].local);
	}
	free(l->pre);
	l->pre = NULL;
	l->npre = 0;
}

static void secret_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

int leader_open_target(const struct leader *l, struct target **ret, char *err, size_t errlen)
{
	struct target_auth auth = {l->account_key, l->sas_token};

	return target_open(l->spec, &auth, ret, err, errlen);
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	preexisting_clear(l);
	target_free(l->t);
	free(l->crash_point);
	free(l->cache_dir);
	free(l->spec);
	secret_free(l->account_key);
	secret_free(l->sas_token);
	free(l);
}

/* ---- objects, head, lock ---- */

int leader_get(struct leader *l, const char *path, size_t max, char **ret, size_t *ret_len,
               char ret_etag[TARGET_ETAG_MAX])
{
	int r = target_get(l->t, path, max, ret, ret_len, ret_etag);

	if (r == -EFBIG || r == -E2BIG)
		return leader_fail(l, r, "%s: larger than %zu bytes", path, max);
	return r < 0 ? leader_fail_target(l, r, path) : 0;
}

int leader_read_head_etag(struct leader *l, struct proto_head **ret, char etag[TARGET_ETAG_MAX])
{
	char *buf = NULL, perr[PROTO_ERRLEN];
	size_t len = 0;
	int r = target_get(l->t, PROTO_PATH_HEAD, PROTO_MAX_HEAD_BYTES, &buf, &len, etag);

	if (r == -ENOENT)
		return leader_fail(l, r, "%s: not a leader (no %s; run 'leaderctl init')",
		                   target_describe(l->t), PROTO_PATH_HEAD);
	if (r < 0)
		return leader_fail_target(l, r, PROTO_PATH_HEAD);
	r = proto_head_decode(buf, len, ret, perr);
	free(buf);
	if (r < 0)
		return leader_fail(l, r, "%s: %s", PROTO_PATH_HEAD, perr);
	return 0;
}

int leader_read_head(struct leader *l, struct proto_head **ret)
{
	char etag[TARGET_ETAG_MAX];

	return leader_read_head_etag(l, ret, etag);
}

struct proto_head_db *leader_head_find(const struct proto_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->ndbs; i++)
		if (strcmp(h->dbs[i].name, name) == 0)
			return &h->dbs[i];
	return NULL;
}

int leader_put_head(struct leader *l, struct proto_head *h, const char *etag)
{
	char *text;
	size_t len;
	int r;

	h->updated = leader_next_committed(h->updated);
	text = proto_head_encode(h);
	if (!text)
		return leader_fail(l, -ENOMEM, "%s: out of memory", PROTO_PATH_HEAD);
	len = strlen(text);
	if (len > PROTO_MAX_HEAD_BYTES) {
		free(text);
		return leader_fail(l, -E2BIG, "%s: would be %zu bytes, more than %zu",
		                   PROTO_PATH_HEAD, len, PROTO_MAX_HEAD_BYTES);
	}
	r = target_put(l->t, PROTO_PATH_HEAD, text, len,
	               *etag ? TARGET_PUT_IF_MATCH : TARGET_PUT_NEW, *etag ? etag : NULL);
	free(text);
	if (r == -ESTALE)
		return leader_fail(l, r, "%s changed while the lock was held (another writer?)",
		                   PROTO_PATH_HEAD);
	if (r == -EEXIST)
		return leader_fail(l, r, "%s: already a leader", target_describe(l->t));
	return r < 0 ? leader_fail_target(l, r, PROTO_PATH_HEAD) : 0;
}

int leader_lock(struct leader *l)
{
	int r = target_lock(l->t, l->lock_timeout_ms);

	if (r == -ETIMEDOUT)
		return leader_fail(l, r, "%s: another writer holds the lock (waited %d s)",
		                   target_describe(l->t), l->lock_timeout_ms / 1000);
	return r < 0 ? leader_fail_target(l, r, "lock") : 0;
}

void leader_unlock(struct leader *l)
{
	target_unlock(l->t);
}

int leader_init(struct leader *l, uint32_t checkpoint_interval)
{
	struct proto_head h = {.checkpoint_interval = checkpoint_interval};
	int r;

	if (checkpoint_interval == 0)
		return leader_fail(l, -EINVAL, "checkpoint interval must be at least 1");
	r = leader_lock(l);
	if (r < 0)
		return r;
	r = leader_put_head(l, &h, "");
	leader_unlock(l);
	return r;
}

/* ---- loading ---- */

/* Applies the lines of one part; errors name the part and the line. */
static int apply_part(struct leader *l, struct leader_state *st, const struct proto_part *p,
                      const char *buf, size_t len)
{
	char perr[PROTO_ERRLEN], serr[LEADER_STATE_ERRLEN];
	size_t at = 0, line = 0;
	int r = 0;

	while (at < len && r == 0) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;
		struct proto_action a;

		line++;
		r = proto_record_decode(buf + at, n, &a, perr);
		if (r < 0)
			return leader_fail(l, r, "%s:%zu: %s", p->path, line, perr);
		r = leader_state_apply(st, &a, serr);
		proto_action_clear(&a);
		if (r < 0)
			return leader_fail(l, r, "%s:%zu: %s", p->path, line, serr);
		at += n + 1;
	}
	if (line != p->records)
		return leader_fail(l, -EINVAL, "%s: %zu records where the manifest says %llu",
		                   p->path, line, (unsigned long long)p->records);
	return 0;
}

static int load_part(struct leader *l, struct leader_state *st, const struct proto_part *p)
{
	char *buf = NULL, sha[PROTO_SHA256_LEN + 1];
	size_t len = 0;
	int r = leader_get(l, p->path, PROTO_MAX_PART_BYTES, &buf, &len, NULL);

	if (r < 0)
		return r;
	if (len != p->size) {
		r = leader_fail(l, -EINVAL, "%s: %zu bytes where the manifest says %llu", p->path,
		                len, (unsigned long long)p->size);
		goto out;
	}
	r = leader_sha256_hex(buf, len, sha);
	if (r == 0 && strcmp(sha, p->sha256) != 0)
		r = leader_fail(l, -EINVAL, "%s: sha256 %s where the manifest says %s", p->path,
		                sha, p->sha256);
	if (r == 0)
		r = apply_part(l, st, p, buf, len);
out:
	free(buf);
	return r;
}

static int check_counts(struct leader *l, const char *path, const struct proto_counts *want,
                        const struct proto_counts *got)
{
	if (memcmp(want, got, sizeof(*want)) == 0)
		return 0;
	return leader_fail(
	    l, -EINVAL,
	    "%s: counts say %llu tables, %llu external tables, %llu views, %llu "
	    "extents, %llu rows, %llu bytes; the parts hold %llu, %llu, %llu, %llu, "
	    "%llu, %llu",
	    path, (unsigned long long)want->tables, (unsigned long long)want->external_tables,
	    (unsigned long long)want->materialized_views, (unsigned long long)want->extents,
	    (unsigned long long)want->rows, (unsigned long long)want->bytes,
	    (unsigned long long)got->tables, (unsigned long long)got->external_tables,
	    (unsigned long long)got->materialized_views, (unsigned long long)got->extents,
	    (unsigned long long)got->rows, (unsigned long long)got->bytes);
}

static int read_manifest(struct leader *l, const struct leader_state *st, uint64_t version,
                         const char *path, struct proto_manifest **ret)
{
	char *buf = NULL, perr[PROTO_ERRLEN];
	size_t len = 0;
	struct proto_manifest *m = NULL;
	int r = leader_get(l, path, PROTO_MAX_MANIFEST_BYTES, &buf, &len, NULL);

	if (r < 0)
		return r;
	r = proto_manifest_decode(buf, len, &m, perr);
	free(buf);
	if (r < 0)
		return leader_fail(l, r, "%s: %s", path, perr);
	if (strcmp(m->uuid, leader_state_uuid(st)) != 0 || m->version != version ||
	    strcmp(m->database, leader_state_database(st)) != 0) {
		r = leader_fail(l, -EINVAL, "%s: is for %s (%s) version %llu", path, m->database,
		                m->uuid, (unsigned long long)m->version);
		proto_manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

int leader_load_checkpoint(struct leader *l, struct leader_state *st, uint64_t version,
                           struct proto_manifest **ret_manifest)
{
	char path[PROTO_MAX_PATH];
	struct proto_manifest *m = NULL;
	struct proto_counts got;
	size_t i;
	int r;

	(void)proto_path_manifest(path, sizeof(path), leader_state_uuid(st), version);
	r = read_manifest(l, st, version, path, &m);
	for (i = 0; r == 0 && i < m->nparts; i++)
		r = load_part(l, st, &m->parts[i]);
	if (r == 0) {
		leader_state_set_version(st, version, m->committed);
		leader_state_counts(st, &got);
		r = check_counts(l, path, &m->counts, &got);
	}
	if (r == 0 && ret_manifest) {
		*ret_manifest = m;
		m = NULL;
	}
	proto_manifest_free(m);
	return r;
}

int leader_read_commit(struct leader *l, const char *uuid, uint64_t version,
                       struct proto_commit **ret)
{
	char path[PROTO_MAX_PATH], *buf = NULL, perr[PROTO_ERRLEN];
	size_t len = 0;
	int r;

	(void)proto_path_commit(path, sizeof(path), uuid, version);
	r = leader_get(l, path, PROTO_MAX_COMMIT_BYTES, &buf, &len, NULL);
	if (r < 0)
		return r;
	r = proto_commit_decode(buf, len, ret, perr);
	free(buf);
	if (r < 0)
		return leader_fail(l, r, "%s: %s", path, perr);
	if (strcmp((*ret)->uuid, uuid) != 0 || (*ret)->version != version) {
		proto_commit_free(*ret);
		*ret = NULL;
		return leader_fail(l, -EINVAL, "%s: holds uuid %s version %llu", path, uuid,
		                   (unsigned long long)version);
	}
	return 0;
}

int leader_load_log(struct leader *l, struct leader_state *st, uint64_t from, uint64_t to,
                    leader_log_hook hook, void *arg)
{
	char serr[LEADER_STATE_ERRLEN], path[PROTO_MAX_PATH];
	uint64_t v;
	int r = 0;

	for (v = from; r == 0 && v <= to; v++) {
		struct proto_commit *c = NULL;

		r = leader_read_commit(l, leader_state_uuid(st), v, &c);
		if (r == 0 && hook)
			r = hook(st, c, arg);
		if (r == 0) {
			r = leader_state_apply_commit(st, c, serr);
			if (r < 0) {
				(void)proto_path_commit(path, sizeof(path), leader_state_uuid(st),
				                        v);
				r = leader_fail(l, r, "%s: %s", path, serr);
			}
		}
		proto_commit_free(c);
	}
	return r;
}

static int load_from(struct leader *l, const struct proto_head_db *db, uint64_t base,
                     struct leader_state **ret)
{
	struct leader_state *st = NULL;
	int r = leader_state_new(db->name, db->uuid, &st);

	if (r < 0)
		return leader_fail(l, r, "out of memory");
	if (base > db->version || (base == 0 && db->log_start > 1) || base + 1 < db->log_start)
		r = leader_fail(l, -EINVAL,
		                "%s: version %llu, checkpoint %llu and log_start %llu do not fit",
		                db->name, (unsigned long long)db->version, (unsigned long long)base,
		                (unsigned long long)db->log_start);
	if (r == 0 && base > 0)
		r = leader_load_checkpoint(l, st, base, NULL);
	if (r == 0)
		r = leader_load_log(l, st, base + 1, db->version, NULL, NULL);
	if (r < 0) {
		leader_state_free(st);
		return r;
	}
	*ret = st;
	return 0;
}

int leader_load(struct leader *l, const struct proto_head_db *db, struct leader_state **ret)
{
	return load_from(l, db, db->checkpoint, ret);
}

int leader_load_replay(struct leader *l, const struct proto_head_db *db, struct leader_state **ret)
{
	return load_from(l, db, db->log_start > 0 ? db->log_start - 1 : 0, ret);
}

/* ---- checkpoint writing ---- */

void leader_ckpt_init(struct leader_ckpt *w, struct leader *l, const char *uuid, uint64_t version)
{
	memset(w, 0, sizeof(*w));
	w->l = l;
	(void)snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
	w->version = version;
}

void leader_ckpt_clear(struct leader_ckpt *w)
{
	size_t i;

	for (i = 0; i < w->nparts; i++)
		free(w->parts[i].path);
	free(w->parts);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int ckpt_flush(struct leader_ckpt *w)
{
	char path[PROTO_MAX_PATH];
	struct proto_part *p;
	int r;

	if (w->len == 0)
		return 0;
	if (w->nparts >= PROTO_MAX_PARTS)
		return leader_fail(w->l, -E2BIG, "checkpoint: more than %d parts", PROTO_MAX_PARTS);
	if (w->nparts == w->capparts) {
		size_t cap = w->capparts ? w->capparts * 2 : 16;

		p = realloc(w->parts, cap * sizeof(*p));
		if (!p)
			return leader_fail(w->l, -ENOMEM, "out of memory");
		w->parts = p;
		w->capparts = cap;
	}
	(void)proto_path_part(path, sizeof(path), w->uuid, w->version, (unsigned)w->nparts);
	p = &w->parts[w->nparts];
	memset(p, 0, sizeof(*p));
	r = leader_sha256_hex(w->buf, w->len, p->sha256);
	if (r == 0)
		r = target_put(w->l->t, path, w->buf, w->len, TARGET_PUT_ANY, NULL);
	if (r < 0)
		return leader_fail_target(w->l, r, path);
	p->path = strdup(path);
	if (!p->path)
		return leader_fail(w->l, -ENOMEM, "out of memory");
	p->size = w->len;
	p->records = w->records;
	w->nparts++;
	w->bytes_written += w->len;
	w->len = 0;
	w->records = 0;
	w->part_extents = 0;
	return 0;
}

/* Appends one encoded line (steals line), cutting a part first if needed. */
static int ckpt_line(struct leader_ckpt *w, char *line, size_t nextents)
{
	size_t len = strlen(line);
	int r = 0;

	if (w->len > 0 && (w->len + len + 1 > LEADER_PART_MAX_BYTES ||
	                   w->part_extents + nextents > LEADER_PART_MAX_EXTENTS))
		r = ckpt_flush(w);
	if (r == 0 && w->len + len + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 1 << 20;
		char *b;

		while (cap < w->len + len + 1)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (b) {
			w->buf = b;
			w->cap = cap;
		} else {
			r = leader_fail(w->l, -ENOMEM, "out of memory");
		}
	}
	if (r == 0) {
		memcpy(w->buf + w->len, line, len);
		w->buf[w->len + len] = '\n';
		w->len += len + 1;
		w->records++;
		w->part_extents += nextents;
	}
	free(line);
	return r;
}

/* Encodes extents into lines no longer than the protocol allows. */
static int ckpt_extents(struct leader_ckpt *w, const struct proto_extent *v, size_t n)
{
	struct proto_action a = {
	    .op = PROTO_OP_ADD_EXTENTS, .extents = (struct proto_extent *)v, .nextents = n};
	char *line = proto_record_encode(&a);
	size_t i, k;
	int r;

	if (!line)
		return leader_fail(w->l, -ENOMEM, "out of memory");
	if (strlen(line) >= PROTO_MAX_LINE_BYTES) {
		free(line);
		if (n == 1)
			return leader_fail(w->l, -E2BIG,
			                   "extent %s: too large for a checkpoint line", v[0].id);
		r = ckpt_extents(w, v, n / 2);
		return r < 0 ? r : ckpt_extents(w, v + n / 2, n - n / 2);
	}
	for (i = 0; i < n; i++) {
		w->counts.extents++;
		w->counts.rows += v[i].rows;
		for (k = 0; k < v[i].nartifacts; k++)
			w->counts.bytes += v[i].artifacts[k].size;
	}
	return ckpt_line(w, line, n);
}

int leader_ckpt_record(struct leader_ckpt *w, const struct proto_action *a)
{
	char *line;

	if (a->op == PROTO_OP_ADD_EXTENTS)
		return ckpt_extents(w, a->extents, a->nextents);
	if (a->op == PROTO_OP_CREATE) {
		if (a->entity.kind == PROTO_TABLE)
			w->counts.tables++;
		else if (a->entity.kind == PROTO_EXTERNAL_TABLE)
			w->counts.external_tables++;
		else
			w->counts.materialized_views++;
	}
	line = proto_record_encode(a);
	if (!line)
		return leader_fail(w->l, -ENOMEM, "out of memory");
	if (strlen(line) >= PROTO_MAX_LINE_BYTES) {
		free(line);
		return leader_fail(w->l, -E2BIG, "checkpoint: a %s record is larger than %zu bytes",
		                   proto_op_name(a->op, a->entity.kind), PROTO_MAX_LINE_BYTES);
	}
	return ckpt_line(w, line, 0);
}

int leader_ckpt_finish(struct leader_ckpt *w, const char *database, int64_t committed)
{
	struct proto_manifest m = {.version = w->version, .committed = committed};
	char path[PROTO_MAX_PATH], *text = NULL;
	int r = ckpt_flush(w);

	if (r < 0)
		return r;
	m.database = strdup(database);
	(void)snprintf(m.uuid, sizeof(m.uuid), "%s", w->uuid);
	m.parts = w->parts;
	m.nparts = w->nparts;
	m.counts = w->counts;
	text = m.database ? proto_manifest_encode(&m) : NULL;
	free(m.database);
	if (!text)
		return leader_fail(w->l, -ENOMEM, "out of memory");
	(void)proto_path_manifest(path, sizeof(path), w->uuid, w->version);
	r = target_put(w->l->t, path, text, strlen(text), TARGET_PUT_ANY, NULL);
	w->bytes_written += strlen(text);
	free(text);
	return r < 0 ? leader_fail_target(w->l, r, path) : 0;
}

static int ckpt_record_cb(const struct proto_action *a, void *arg)
{
	return leader_ckpt_record(arg, a);
}

int leader_write_checkpoint(struct leader *l, const struct leader_state *st)
{
	struct leader_ckpt w;
	int r;

	leader_ckpt_init(&w, l, leader_state_uuid(st), leader_state_version(st));
	r = leader_state_foreach_record(st, PROTO_MAX_LINE_EXTENTS, ckpt_record_cb, &w);
	if (r == -ENOMEM && !*l->err)
		r = leader_fail(l, r, "out of memory");
	if (r == 0)
		r = leader_ckpt_finish(&w, leader_state_database(st), leader_state_committed(st));
	leader_ckpt_clear(&w);
	return r;
}

/* ---- artifacts ---- */

/* Streams the file through SHA-256, counting bytes and newlines. */
static int hash_fd(struct leader *l, int fd, const char *local, char sha[PROTO_SHA256_LEN + 1],
                   uint64_t *ret_size, uint64_t *ret_lines)
{
	size_t bufsize = 1 << 20;
	unsigned char *buf = malloc(bufsize), md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t size = 0, lines = 0;
	unsigned int mdlen = 0;
	int r = -ENOMEM;

	if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, bufsize);
		unsigned char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = leader_fail(l, -errno, "%s: %s", local, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		size += (uint64_t)n;
		for (p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++)
			lines++;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	leader_state_sha_format(md, sha);
	*ret_size = size;
	*ret_lines = lines;
	r = 0;
out:
	if (r == -ENOMEM)
		(void)leader_fail(l, r, "%s: out of memory", local);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

static int remember_preexisting(struct leader *l, const char *path, const char *local)
{
	struct leader_preexisting *v = realloc(l->pre, (l->npre + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->pre = v;
	v[l->npre].path = strdup(path);
	v[l->npre].local = strdup(local);
	if (!v[l->npre].path || !v[l->npre].local) {
		free(v[l->npre].path);
		free(v[l->npre].local);
		return -ENOMEM;
	}
	l->npre++;
	return 0;
}

static int upload_checked(struct leader *l, const char *local, const struct stat *before,
                          const char *path)
{
	struct stat after;
	int r = target_put_file(l->t, path, local, TARGET_PUT_NEW);

	if (r == -EEXIST)
		r = remember_preexisting(l, path, local);
	else if (r < 0)
		return leader_fail(l, r, "%s: upload to %s: %s", local, path, target_error(l->t));
	if (r < 0)
		return leader_fail(l, r, "%s: out of memory", local);
	if (stat(local, &after) < 0)
		return leader_fail(l, -errno, "%s: %s", local, strerror(errno));
	if (after.st_size != before->st_size || after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before->st_mtim.tv_nsec)
		return leader_fail(l, -EAGAIN, "%s: changed while it was uploaded", local);
	return 0;
}

int leader_upload_file(struct leader *l, const char *local, struct proto_artifact *ret,
                       uint64_t *ret_lines)
{
	struct proto_artifact a = {0};
	char path[PROTO_MAX_PATH];
	const char *base = strrchr(local, '/');
	uint64_t lines = 0;
	struct stat st;
	int fd = open(local, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return leader_fail(l, -errno, "%s: %s", local, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = leader_fail(l, -EINVAL, "%s: not a regular file", local);
		goto out;
	}
	r = hash_fd(l, fd, local, a.sha256, &a.size, &lines);
	if (r < 0)
		goto out;
	(void)proto_path_artifact(path, sizeof(path), a.sha256);
	r = upload_checked(l, local, &st, path);
	if (r < 0)
		goto out;
	a.name = strdup(base ? base + 1 : local);
	a.path = strdup(path);
	if (!a.name || !a.path) {
		free(a.name);
		free(a.path);
		r = leader_fail(l, -ENOMEM, "out of memory");
		goto out;
	}
	*ret = a;
	if (ret_lines)
		*ret_lines = lines;
out:
	(void)close(fd);
	return r;
}

struct exists_arg {
	const char *path;
};

static int exists_cb(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	const struct exists_arg *e = arg;

	return strcmp(path, e->path) == 0 ? 1 : 0;
}

/* Under the lock: artifacts found already there must still be (a vacuum may
 * have run since); upload again any that is gone. */
static int recheck_preexisting(struct leader *l)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < l->npre; i++) {
		struct exists_arg e = {l->pre[i].path};

		r = target_list(l->t, l->pre[i].path, exists_cb, &e);
		if (r == 0)
			r = target_put_file(l->t, l->pre[i].path, l->pre[i].local, TARGET_PUT_NEW);
		if (r == 1 || r == -EEXIST)
			r = 0;
		if (r < 0)
			r = leader_fail_target(l, r, l->pre[i].path);
	}
	return r;
}

/* ---- committing ---- */

int leader_commit_add(struct proto_commit *c, struct proto_action *a)
{
	struct proto_action *v = realloc(c->actions, (c->nactions + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->actions = v;
	v[c->nactions++] = *a;
	memset(a, 0, sizeof(*a));
	return 0;
}

/* Releases the actions of a commit on the stack (its database is borrowed). */
static void commit_clear(struct proto_commit *c)
{
	size_t i;

	for (i = 0; i < c->nactions; i++)
		proto_action_clear(&c->actions[i]);
	free(c->actions);
	memset(c, 0, sizeof(*c));
}

/* Under the lock, before anything is written: the ETag of a log object
 * already at c's version (the orphan of a crashed commit) into etag, or ""
 * when there is none.  The log object is then written only if that is still
 * so (create-only, or If-Match on the orphan), so a writer that lost its lock
 * without noticing cannot replace a commit another writer published. */
static int probe_orphan(struct leader *l, const struct proto_commit *c, char etag[TARGET_ETAG_MAX])
{
	char path[PROTO_MAX_PATH], *buf = NULL;
	int r;

	(void)proto_path_commit(path, sizeof(path), c->uuid, c->version);
	r = leader_get(l, path, PROTO_MAX_COMMIT_BYTES, &buf, NULL, etag);
	free(buf);
	if (r == -ENOENT)
		etag[0] = '\0';
	return r == -ENOENT ? 0 : r;
}

/* Writes the log object of c: create-only when orphan_etag is "", else in
 * place of that orphan.  Another writer's object there is -ESTALE. */
static int put_commit(struct leader *l, const struct proto_commit *c, const char *orphan_etag)
{
	char path[PROTO_MAX_PATH], *text = proto_commit_encode(c);
	size_t len;
	int r;

	if (!text)
		return leader_fail(l, -ENOMEM, "out of memory");
	(void)proto_path_commit(path, sizeof(path), c->uuid, c->version);
	len = strlen(text);
	if (len > PROTO_MAX_COMMIT_BYTES)
		r = leader_fail(l, -E2BIG, "%s: would be %zu bytes, more than %zu", path, len,
		                PROTO_MAX_COMMIT_BYTES);
	else
		r = target_put(l->t, path, text, len,
		               *orphan_etag ? TARGET_PUT_IF_MATCH : TARGET_PUT_NEW,
		               *orphan_etag ? orphan_etag : NULL);
	free(text);
	if (r == -EEXIST || r == -ESTALE)
		return leader_fail(l, -ESTALE,
		                   "%s was written by another writer while the lock "
		                   "was held",
		                   path);
	return r < 0 && r != -E2BIG ? leader_fail_target(l, r, path) : r;
}

/* Renews the writer lock before each step that writes, so that a lock lost
 * while the process stalled (an Azure lease expired or broken) stops the
 * commit before it overwrites what another writer may since have written. */
static int renew_lock(struct leader *l, const char *what)
{
	int r = target_lock_renew(l->t);

	if (r == -ENOLCK)
		return leader_fail(l, r,
		                   "%s: lost the writer lock before writing %s (the lease expired "
		                   "or was broken; another writer may hold it now): %s",
		                   target_describe(l->t), what, target_error(l->t));
	return r < 0 ? leader_fail_target(l, r, "lock") : 0;
}

/* Publishes an applied commit: log, checkpoint when due, head. */
static int publish(struct leader *l, struct proto_head *h, const char *etag,
                   struct proto_head_db *db, const struct leader_state *st,
                   const struct proto_commit *c, const char *orphan_etag)
{
	int r;

	leader_crash_point(l, "after-artifacts");
	r = renew_lock(l, "the log object");
	if (r == 0)
		r = put_commit(l, c, orphan_etag);
	if (r < 0)
		return r;
	leader_crash_point(l, "after-log");
	if (h->checkpoint_interval && c->version % h->checkpoint_interval == 0) {
		r = renew_lock(l, "the checkpoint");
		if (r == 0)
			r = leader_write_checkpoint(l, st);
		if (r < 0)
			return r;
		db->checkpoint = c->version;
		leader_crash_point(l, "after-checkpoint");
	}
	db->version = c->version;
	db->committed = c->committed;
	r = renew_lock(l, PROTO_PATH_HEAD);
	return r < 0 ? r : leader_put_head(l, h, etag);
}

/* Prefixes the error of a commit that was not published with its version. */
static int not_committed(struct leader *l, int r, const struct proto_commit *c)
{
	char msg[LEADER_ERRLEN];

	(void)snprintf(msg, sizeof(msg), "%s", l->err);
	return leader_fail(l, r, "%s version %llu not committed: %s", c->database,
	                   (unsigned long long)c->version, msg);
}

static int build_and_apply(struct leader *l, struct leader_state *st, struct proto_commit *c,
                           leader_build_fn fn, void *arg)
{
	char serr[LEADER_ERRLEN];
	int r;

	serr[0] = '\0';
	r = fn(st, c, arg, serr);
	if (r < 0)
		return leader_fail(l, r, "%s", *serr ? serr : strerror(-r));
	if (c->nactions == 0)
		return leader_fail(l, -EINVAL, "nothing to commit");
	r = leader_state_apply_commit(st, c, serr);
	return r < 0 ? leader_fail(l, r, "%s", serr) : 0;
}

static int commit_locked(struct leader *l, const char *name, leader_build_fn fn, void *arg,
                         uint64_t *ret_version)
{
	char etag[TARGET_ETAG_MAX] = "", orphan[TARGET_ETAG_MAX] = "";
	struct proto_head *h = NULL;
	struct proto_head_db *db;
	struct leader_state *st = NULL;
	struct proto_commit c = {0};
	int r = leader_read_head_etag(l, &h, etag);

	if (r < 0)
		goto out;
	db = leader_head_find(h, name);
	if (!db) {
		r = leader_fail(l, -ENOENT, "database '%s' does not exist", name);
		goto out;
	}
	r = leader_cache_load(l, h, db, &st);
	if (r < 0)
		goto out;
	c.database = db->name;
	memcpy(c.uuid, db->uuid, sizeof(c.uuid));
	c.version = db->version + 1;
	c.committed = leader_next_committed(db->committed);
	r = build_and_apply(l, st, &c, fn, arg);
	if (r == 0)
		r = recheck_preexisting(l);
	if (r == 0)
		r = probe_orphan(l, &c, orphan);
	if (r == 0) {
		r = publish(l, h, etag, db, st, &c, orphan);
		if (r == -ENOLCK || r == -ESTALE)
			r = not_committed(l, r, &c);
	}
	if (r == 0) /* under the lock: no other writer of the cache on this machine */
		leader_cache_save(l, st, &c, h->checkpoint_interval);
	if (r == 0 && ret_version)
		*ret_version = c.version;
out:
	commit_clear(&c);
	leader_state_free(st);
	proto_head_free(h);
	return r;
}

int leader_commit(struct leader *l, const char *db, leader_build_fn fn, void *arg,
                  uint64_t *ret_version)
{
	int r = leader_lock(l);

	if (r < 0)
		return r;
	r = commit_locked(l, db, fn, arg, ret_version);
	leader_unlock(l);
	if (r == 0)
		preexisting_clear(l);
	return r;
}

/* ---- databases ---- */

int leader_head_add_db(struct proto_head *h, const char *name, const char *uuid, int64_t committed)
{
	struct proto_head_db *v, *d;

	v = realloc(h->dbs, (h->ndbs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->dbs = v;
	d = &v[h->ndbs];
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	if (!d->name)
		return -ENOMEM;
	(void)snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->version = 1;
	d->committed = committed;
	d->log_start = 1;
	h->ndbs++;
	return 0;
}

static int create_locked(struct leader *l, const char *name, char uuid[PROTO_UUID_LEN + 1])
{
	char etag[TARGET_ETAG_MAX] = "";
	struct proto_head *h = NULL;
	struct proto_commit c = {.version = 1};
	int r = leader_read_head_etag(l, &h, etag);

	if (r < 0)
		return r;
	if (!proto_valid_name(name))
		r = leader_fail(l, -EINVAL, "'%s' is not a valid database name", name);
	else if (leader_head_find(h, name))
		r = leader_fail(l, -EEXIST, "database '%s' already exists", name);
	else if (h->ndbs >= PROTO_MAX_DATABASES)
		r = leader_fail(l, -E2BIG, "already %d databases", PROTO_MAX_DATABASES);
	else if (leader_new_uuid(uuid) < 0)
		r = leader_fail(l, -EIO, "no random numbers for a uuid");
	if (r == 0) {
		c.database = (char *)name;
		memcpy(c.uuid, uuid, sizeof(c.uuid));
		c.committed = leader_next_committed(0);
		r = put_commit(l, &c, ""); /* a new uuid: nothing can be there */
	}
	if (r == 0 && leader_head_add_db(h, name, uuid, c.committed) < 0)
		r = leader_fail(l, -ENOMEM, "out of memory");
	if (r == 0)
		r = leader_put_head(l, h, etag);
	proto_head_free(h);
	return r;
}

int leader_create_database(struct leader *l, const char *name, char ret_uuid[PROTO_UUID_LEN + 1])
{
	char uuid[PROTO_UUID_LEN + 1];
	int r = leader_lock(l);

	if (r < 0)
		return r;
	r = create_locked(l, name, uuid);
	leader_unlock(l);
	if (r == 0)
		memcpy(ret_uuid, uuid, sizeof(uuid));
	return r;
}

/* What a head-only change does to the database it names. */
typedef int (*head_edit_fn)(struct leader *l, struct proto_head *h, struct proto_head_db *db,
                            void *arg);

static int edit_head(struct leader *l, const char *name, head_edit_fn fn, void *arg)
{
	char etag[TARGET_ETAG_MAX] = "";
	struct proto_head *h = NULL;
	struct proto_head_db *db;
	int r = leader_lock(l);

	if (r < 0)
		return r;
	r = leader_read_head_etag(l, &h, etag);
	if (r == 0) {
		db = leader_head_find(h, name);
		r = db ? fn(l, h, db, arg)
		       : leader_fail(l, -ENOENT, "database '%s' does not exist", name);
	}
	if (r == 0)
		r = leader_put_head(l, h, etag);
	proto_head_free(h);
	leader_unlock(l);
	return r;
}

static int drop_db(struct leader *l, struct proto_head *h, struct proto_head_db *db, void *arg)
{
	size_t i = (size_t)(db - h->dbs);

	proto_head_db_clear(db);
	memmove(&h->dbs[i], &h->dbs[i + 1], (h->ndbs - i - 1) * sizeof(*db));
	h->ndbs--;
	return 0;
}

int leader_drop_database(struct leader *l, const char *name)
{
	return edit_head(l, name, drop_db, NULL);
}

struct detach_arg {
	const char *follower;
	bool detached;
};

static int detach_db(struct leader *l, struct proto_head *h, struct proto_head_db *db, void *arg)
{
	const struct detach_arg *d = arg;
	char **v;
	size_t i;

	for (i = 0; i < db->ndetached && strcmp(db->detached[i], d->follower) != 0; i++)
		;
	if (!d->detached && i == db->ndetached)
		return leader_fail(l, -ENOENT, "follower '%s' is not detached from %s", d->follower,
		                   db->name);
	if (!d->detached) {
		free(db->detached[i]);
		memmove(&db->detached[i], &db->detached[i + 1],
		        (db->ndetached - i - 1) * sizeof(*v));
		db->ndetached--;
		return 0;
	}
	if (i < db->ndetached)
		return leader_fail(l, -EEXIST, "follower '%s' is already detached from %s",
		                   d->follower, db->name);
	if (db->ndetached >= PROTO_MAX_DETACHED)
		return leader_fail(l, -E2BIG, "%s: already %d detached followers", db->name,
		                   PROTO_MAX_DETACHED);
	v = realloc(db->detached, (db->ndetached + 1) * sizeof(*v));
	if (!v || !(v[db->ndetached] = strdup(d->follower))) {
		if (v)
			db->detached = v;
		return leader_fail(l, -ENOMEM, "out of memory");
	}
	db->detached = v;
	db->ndetached++;
	return 0;
}

int leader_set_detached(struct leader *l, const char *db, const char *follower, bool detached)
{
	struct detach_arg d = {follower, detached};

	if (!proto_valid_name(follower))
		return leader_fail(l, -EINVAL, "'%s' is not a valid follower name", follower);
	return edit_head(l, db, detach_db, &d);
}

struct checkpoint_arg {
	uint64_t version;
};

static int checkpoint_db(struct leader *l, struct proto_head *h, struct proto_head_db *db,
                         void *arg)
{
	struct checkpoint_arg *c = arg;
	struct leader_state *st = NULL;
	int r;

	c->version = db->version;
	if (db->checkpoint == db->version)
		return 0;
	r = leader_cache_load(l, h, db, &st);
	if (r == 0)
		r = leader_write_checkpoint(l, st);
	if (r == 0)
		db->checkpoint = db->version;
	leader_state_free(st);
	return r;
}

int leader_checkpoint(struct leader *l, const char *db, uint64_t *ret_version)
{
	struct checkpoint_arg c = {0};
	int r = edit_head(l, db, checkpoint_db, &c);

	if (r == 0 && ret_version)
		*ret_version = c.version;
	return r;
}
