/*
 * leaderctl_extents — ingest (one new extent whose artifacts are the given
 * files), drop-extents and merge-extents (N extents replaced by one whose
 * artifacts are the union).  Artifacts are uploaded before the commit takes
 * the lock, as the protocol's publishing order wants.
 */
#include "leaderctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/instream.h"
#include "util/timefmt.h"

/* ---- ingest ---- */

struct ingest_req {
	struct proto_extent e; /* owned until the commit steals it */
	bool have_rows;
	/* Typed data (--format): the table's schema the rows were checked
	 * against, and each file's compression (given, or from its name). */
	enum proto_format format;
	enum proto_compression compression;
	bool have_compression;
	bool ignore_first_record;
	struct proto_entity schema;
	enum proto_compression *comps;
	uint64_t decoded; /* bytes of rows, all files */
};

static int add_tags(struct lc *c, struct proto_extent *e, const char *list)
{
	char *copy = strdup(list), *save = NULL, *t;
	int r = LC_OK;

	if (!copy)
		return lc_fail(c, "out of memory");
	for (t = strtok_r(copy, ",", &save); t && r == LC_OK; t = strtok_r(NULL, ",", &save)) {
		char **v;

		if (strlen(t) > PROTO_MAX_TEXT || e->ntags >= PROTO_MAX_TAGS) {
			r = lc_usage(c, "--tags: at most %d tags of at most %d bytes",
			             PROTO_MAX_TAGS, PROTO_MAX_TEXT);
			break;
		}
		v = realloc(e->tags, (e->ntags + 1) * sizeof(*v));
		if (!v || !(v[e->ntags] = strdup(t))) {
			if (v)
				e->tags = v;
			r = lc_fail(c, "out of memory");
			break;
		}
		e->tags = v;
		e->ntags++;
	}
	free(copy);
	return r;
}

/* --format, --compression, --ignore-first-record. */
static int data_option(struct lc *c, int opt, const char *arg, struct ingest_req *q)
{
	if (opt == 'i') {
		q->ignore_first_record = true;
		return LC_OK;
	}
	if (opt == 'f' && (proto_format_parse(arg, &q->format) < 0 || q->format == PROTO_FMT_NONE))
		return lc_usage(c, "--format: '%s' is not csv, tsv or json", arg);
	if (opt == 'z' && proto_compression_parse(arg, &q->compression) < 0)
		return lc_usage(c, "--compression: '%s' is not none, gzip or zstd", arg);
	q->have_compression |= opt == 'z';
	return LC_OK;
}

static int check_data_options(struct lc *c, const struct ingest_req *q)
{
	if (q->format == PROTO_FMT_NONE && (q->have_compression || q->ignore_first_record))
		return lc_usage(c, "--compression and --ignore-first-record need --format");
	if (q->format != PROTO_FMT_NONE && q->have_rows)
		return lc_usage(c, "--rows and --format exclude each other (the rows are counted)");
	return LC_OK;
}

static int ingest_options(struct lc *c, int argc, char **argv, struct ingest_req *q)
{
	static const struct option opts[] = {
	    {"created-on", required_argument, NULL, 'c'},
	    {"min", required_argument, NULL, 'a'},
	    {"max", required_argument, NULL, 'b'},
	    {"tags", required_argument, NULL, 't'},
	    {"rows", required_argument, NULL, 'r'},
	    {"format", required_argument, NULL, 'f'},
	    {"compression", required_argument, NULL, 'z'},
	    {"ignore-first-record", no_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0},
	};
	bool on = false, min = false, max = false;
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'c':
			on = true;
			r = lc_parse_datetime(c, "--created-on", optarg, &q->e.min_created);
			q->e.max_created = q->e.min_created;
			break;
		case 'a':
			min = true;
			r = lc_parse_datetime(c, "--min", optarg, &q->e.min_created);
			break;
		case 'b':
			max = true;
			r = lc_parse_datetime(c, "--max", optarg, &q->e.max_created);
			break;
		case 't':
			r = add_tags(c, &q->e, optarg);
			break;
		case 'r':
			q->have_rows = true;
			r = lc_parse_u64(c, "--rows", optarg, PROTO_MAX_VERSION, &q->e.rows);
			break;
		case 'f':
		case 'z':
		case 'i':
			r = data_option(c, opt, optarg, q);
			break;
		default:
			return LC_USAGE;
		}
	}
	if (r == LC_OK)
		r = check_data_options(c, q);
	if (r == LC_OK && (on && (min || max)))
		return lc_usage(c, "--created-on excludes --min and --max");
	if (r == LC_OK && min != max)
		return lc_usage(c, "--min and --max go together");
	if (r == LC_OK && min && q->e.min_created > q->e.max_created)
		return lc_usage(c, "--min is after --max");
	if (r == LC_OK && !on && !min)
		q->e.min_created = q->e.max_created = timefmt_now();
	return r;
}

/* Fails early, before uploading anything, when the database is not there. */
static int check_database(struct lc *c, const char *db)
{
	struct proto_head *h = NULL;
	int r = LC_OK;

	if (leader_read_head(c->l, &h) < 0)
		return lc_engine(c);
	if (!leader_head_find(h, db))
		r = lc_fail(c, "database '%s' does not exist", db);
	proto_head_free(h);
	return r;
}

static int upload_all(struct lc *c, struct ingest_req *q, char **files, int n)
{
	uint64_t lines = 0, total = 0;
	int i;

	if (n > PROTO_MAX_ARTIFACTS)
		return lc_usage(c, "at most %d files make one extent", PROTO_MAX_ARTIFACTS);
	q->e.artifacts = calloc((size_t)n, sizeof(*q->e.artifacts));
	if (!q->e.artifacts)
		return lc_fail(c, "out of memory");
	for (i = 0; i < n; i++) {
		struct proto_artifact *a = &q->e.artifacts[i];

		if (leader_upload_file(c->l, files[i], a, &lines) < 0)
			return lc_engine(c);
		q->e.nartifacts++;
		if (strlen(a->name) > PROTO_MAX_NAME || strcmp(a->name, ".") == 0 ||
		    strcmp(a->name, "..") == 0 || !*a->name)
			return lc_usage(c, "%s: not a usable artifact name", files[i]);
		total += lines;
		q->e.original_size += a->size;
		q->e.compressed_size += a->size;
		if (q->format != PROTO_FMT_NONE) {
			a->format = q->format;
			a->compression = q->comps[i];
			a->ignore_first_record = q->ignore_first_record;
		}
		if (c->verbose)
			fprintf(stderr, "leaderctl: ingest: %s -> %s (%llu bytes)\n", files[i],
			        a->path, (unsigned long long)a->size);
	}
	if (q->format != PROTO_FMT_NONE)
		q->e.original_size = q->decoded;
	else if (!q->have_rows)
		q->e.rows = total;
	return LC_OK;
}

/* Reads every row of every file against the table's schema before anything
 * is uploaded: the row count and the column statistics come from here. */
static int check_all(struct lc *c, const char *db, struct ingest_req *q, char **files, int n)
{
	struct colstats *st = NULL;
	int i, r = LC_OK;

	if (n > PROTO_MAX_ARTIFACTS)
		return lc_usage(c, "at most %d files make one extent", PROTO_MAX_ARTIFACTS);
	if (leader_table_schema(c->l, db, q->e.table, &q->schema) < 0)
		return lc_engine(c);
	q->comps = calloc((size_t)n, sizeof(*q->comps));
	if (!q->comps || colstats_new(q->schema.columns, q->schema.ncolumns, &st) < 0) {
		colstats_free(st);
		return lc_fail(c, "out of memory");
	}
	for (i = 0; r == LC_OK && i < n; i++) {
		struct leader_data_opts o = {q->format, q->compression, q->ignore_first_record};
		uint64_t bytes = 0;

		if (!q->have_compression)
			o.compression = instream_from_name(files[i]);
		q->comps[i] = o.compression;
		if (leader_check_rows(c->l, files[i], &o, &q->schema, st, &bytes) < 0)
			r = lc_fail(c, "%s; nothing was published", leader_error(c->l));
		q->decoded += bytes;
	}
	if (r == LC_OK) {
		q->e.rows = colstats_rows(st);
		if (leader_extent_stats(st, &q->schema, &q->e) < 0)
			r = lc_fail(c, "out of memory");
	}
	colstats_free(st);
	return r;
}

/* The schema the rows were checked against must still be the table's. */
static int same_schema(const struct leader_state *st, const struct ingest_req *q, char *err)
{
	const struct proto_entity *e = leader_state_entity(st, q->e.table);
	bool same = e && e->ncolumns == q->schema.ncolumns;

	for (size_t i = 0; same && i < e->ncolumns; i++)
		same = e->columns[i].type == q->schema.columns[i].type &&
		       strcmp(e->columns[i].name, q->schema.columns[i].name) == 0;
	if (same)
		return 0;
	(void)snprintf(err, LEADER_ERRLEN,
	               "table '%s' changed while its rows were checked; "
	               "ingest again",
	               q->e.table);
	return -EINVAL;
}

static int build_ingest(const struct leader_state *st, struct proto_commit *cm, void *arg,
                        char *err)
{
	struct ingest_req *q = arg;
	struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS, .nextents = 1};
	int r;

	if (q->format != PROTO_FMT_NONE && same_schema(st, q, err) < 0)
		return -EINVAL;
	a.extents = calloc(1, sizeof(*a.extents));
	if (!a.extents)
		return -ENOMEM;
	r = proto_extent_copy(&a.extents[0], &q->e);
	if (r == 0)
		r = leader_commit_add(cm, &a);
	proto_action_clear(&a);
	return r;
}

int lc_cmd_ingest(struct lc *c, int argc, char **argv)
{
	struct ingest_req q = {0};
	int r = ingest_options(c, argc, argv, &q);

	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 3, -1);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	if (r == LC_OK)
		r = lc_check_name(c, "table", argv[optind + 1]);
	if (r == LC_OK && (!(q.e.table = strdup(argv[optind + 1])) || leader_new_uuid(q.e.id) < 0))
		r = lc_fail(c, "out of memory or no random numbers");
	if (r == LC_OK && q.format == PROTO_FMT_NONE)
		r = check_database(c, argv[optind]);
	else if (r == LC_OK)
		r = check_all(c, argv[optind], &q, argv + optind + 2, argc - optind - 2);
	if (r == LC_OK)
		r = upload_all(c, &q, argv + optind + 2, argc - optind - 2);
	if (r == LC_OK && leader_commit(c->l, argv[optind], build_ingest, &q, NULL) < 0)
		r = lc_engine(c);
	if (r == LC_OK)
		printf("%s\n", q.e.id);
	proto_extent_clear(&q.e);
	proto_entity_clear(&q.schema);
	free(q.comps);
	return r;
}

/* ---- drop-extents ---- */

struct ids_req {
	char (*ids)[PROTO_UUID_LEN + 1];
	size_t n;
	char new_id[PROTO_UUID_LEN + 1]; /* merge */
};

static int parse_ids(struct lc *c, int argc, char **argv, struct ids_req *q)
{
	int i;

	q->n = (size_t)(argc - optind - 1);
	if (q->n > PROTO_MAX_EXTENTS)
		return lc_usage(c, "more than %d extents", PROTO_MAX_EXTENTS);
	q->ids = calloc(q->n ? q->n : 1, sizeof(*q->ids));
	if (!q->ids)
		return lc_fail(c, "out of memory");
	for (i = 0; i < (int)q->n; i++) {
		const char *id = argv[optind + 1 + i];

		if (!proto_valid_uuid(id))
			return lc_usage(c, "'%s' is not an extent id (a lowercase uuid)", id);
		memcpy(q->ids[i], id, PROTO_UUID_LEN + 1);
	}
	return LC_OK;
}

static int copy_ids(struct proto_action *a, const struct ids_req *q)
{
	a->ids = calloc(q->n, sizeof(*a->ids));
	if (!a->ids)
		return -ENOMEM;
	memcpy(a->ids, q->ids, q->n * sizeof(*a->ids));
	a->nids = q->n;
	return 0;
}

static int build_drop(const struct leader_state *st, struct proto_commit *cm, void *arg, char *err)
{
	struct proto_action a = {.op = PROTO_OP_DROP_EXTENTS};
	int r = copy_ids(&a, arg);

	if (r == 0)
		r = leader_commit_add(cm, &a);
	proto_action_clear(&a);
	return r;
}

static int ids_command(struct lc *c, int argc, char **argv, size_t min, struct ids_req *q)
{
	int r = lc_getopt(c, argc, argv, "", (const struct option[]){{NULL, 0, NULL, 0}});

	if (r != -1)
		return r == '?' ? LC_USAGE : lc_usage(c, "no options here");
	r = lc_positional(c, argc, argv, 1 + (int)min, -1);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	return r == LC_OK ? parse_ids(c, argc, argv, q) : r;
}

int lc_cmd_drop_extents(struct lc *c, int argc, char **argv)
{
	struct ids_req q = {0};
	int r = ids_command(c, argc, argv, 1, &q);

	if (r == LC_OK && leader_commit(c->l, argv[optind], build_drop, &q, NULL) < 0)
		r = lc_engine(c);
	free(q.ids);
	return r;
}

/* ---- merge-extents ---- */

static bool has_tag(const struct proto_extent *e, const char *tag)
{
	size_t i;

	for (i = 0; i < e->ntags; i++)
		if (strcmp(e->tags[i], tag) == 0)
			return true;
	return false;
}

static bool has_artifact(const struct proto_extent *e, const char *path)
{
	size_t i;

	for (i = 0; i < e->nartifacts; i++)
		if (strcmp(e->artifacts[i].path, path) == 0)
			return true;
	return false;
}

/* Adds what src holds to the merged extent m (arrays sized for the worst). */
static int merge_into(struct proto_extent *m, const struct proto_extent *src, char *err)
{
	size_t i;

	if (m->table && strcmp(m->table, src->table) != 0) {
		(void)snprintf(err, LEADER_ERRLEN, "extent %s is in table '%s', not '%s'", src->id,
		               src->table, m->table);
		return -EINVAL;
	}
	if (!m->table && !(m->table = strdup(src->table)))
		return -ENOMEM;
	m->min_created = src->min_created < m->min_created ? src->min_created : m->min_created;
	m->max_created = src->max_created > m->max_created ? src->max_created : m->max_created;
	m->rows += src->rows;
	m->original_size += src->original_size;
	m->compressed_size += src->compressed_size;
	for (i = 0; i < src->ntags; i++)
		if (!has_tag(m, src->tags[i]) && !(m->tags[m->ntags++] = strdup(src->tags[i])))
			return -ENOMEM;
	for (i = 0; i < src->nartifacts; i++) {
		struct proto_artifact *a = &m->artifacts[m->nartifacts];

		if (has_artifact(m, src->artifacts[i].path))
			continue;
		*a = src->artifacts[i];
		a->name = strdup(src->artifacts[i].name);
		a->path = strdup(src->artifacts[i].path);
		a->format_text = a->format_text ? strdup(a->format_text) : NULL;
		a->compression_text = a->compression_text ? strdup(a->compression_text) : NULL;
		m->nartifacts++;
		if (!a->name || !a->path || (src->artifacts[i].format_text && !a->format_text) ||
		    (src->artifacts[i].compression_text && !a->compression_text))
			return -ENOMEM;
	}
	return 0;
}

static int merge_extents(const struct leader_state *st, const struct ids_req *q,
                         struct proto_extent *m, char *err)
{
	struct proto_extent *src = calloc(q->n, sizeof(*src));
	size_t i, nart = 0, ntags = 0;
	int r = src ? 0 : -ENOMEM;

	for (i = 0; r == 0 && i < q->n; i++) {
		r = leader_state_copy_extent(st, q->ids[i], &src[i]);
		if (r == -ENOENT)
			(void)snprintf(err, LEADER_ERRLEN, "extent %s not found in database %s",
			               q->ids[i], leader_state_database(st));
		nart += r == 0 ? src[i].nartifacts : 0;
		ntags += r == 0 ? src[i].ntags : 0;
	}
	if (r == 0) {
		m->artifacts = calloc(nart ? nart : 1, sizeof(*m->artifacts));
		m->tags = calloc(ntags ? ntags : 1, sizeof(*m->tags));
		r = m->artifacts && m->tags ? 0 : -ENOMEM;
		m->min_created = src[0].min_created;
		m->max_created = src[0].max_created;
	}
	for (i = 0; r == 0 && i < q->n; i++)
		r = merge_into(m, &src[i], err);
	if (r == 0)
		r = leader_merge_stats(src, q->n, m, err);
	if (r == 0 && (m->nartifacts > PROTO_MAX_ARTIFACTS || m->ntags > PROTO_MAX_TAGS)) {
		(void)snprintf(err, LEADER_ERRLEN,
		               "the merged extent would have %zu artifacts and "
		               "%zu tags, more than %d and %d",
		               m->nartifacts, m->ntags, PROTO_MAX_ARTIFACTS, PROTO_MAX_TAGS);
		r = -EINVAL;
	}
	for (i = 0; src && i < q->n; i++)
		proto_extent_clear(&src[i]);
	free(src);
	return r;
}

static int build_merge(const struct leader_state *st, struct proto_commit *cm, void *arg, char *err)
{
	struct ids_req *q = arg;
	struct proto_action a = {.op = PROTO_OP_REPLACE_EXTENTS};
	int r = copy_ids(&a, q);

	if (r == 0) {
		a.extents = calloc(1, sizeof(*a.extents));
		r = a.extents ? 0 : -ENOMEM;
	}
	if (r == 0) {
		a.nextents = 1;
		memcpy(a.extents[0].id, q->new_id, sizeof(q->new_id));
		r = merge_extents(st, q, &a.extents[0], err);
	}
	if (r == 0)
		r = leader_commit_add(cm, &a);
	proto_action_clear(&a);
	return r;
}

int lc_cmd_merge_extents(struct lc *c, int argc, char **argv)
{
	struct ids_req q = {0};
	int r = ids_command(c, argc, argv, 2, &q);

	if (r == LC_OK && leader_new_uuid(q.new_id) < 0)
		r = lc_fail(c, "no random numbers for a uuid");
	if (r == LC_OK && leader_commit(c->l, argv[optind], build_merge, &q, NULL) < 0)
		r = lc_engine(c);
	if (r == LC_OK)
		printf("%s\n", q.new_id);
	free(q.ids);
	return r;
}
