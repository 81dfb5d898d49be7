/*
 * auth — principals, their roles and the tokens file (see auth.h).
 */
#include "policy/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/fsutil.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define LINE_MAX_BYTES 8192

/* ---- authorization ---- */

static const unsigned role_needed[AUTH_NREQUESTS] = {
    [AUTH_REQ_METADATA] = AUTH_ROLES_ALL,
    [AUTH_REQ_DATA] =
        AUTH_ROLE(PROTO_ROLE_ADMINS) | AUTH_ROLE(PROTO_ROLE_USERS) | AUTH_ROLE(PROTO_ROLE_VIEWERS),
    [AUTH_REQ_CONTROL] = AUTH_ROLE(PROTO_ROLE_ADMINS),
};

bool auth_allowed(const struct auth_principal *p, unsigned roles, enum auth_request req,
                  bool allow_anonymous)
{
	if ((size_t)req >= N_ELEMENTS(role_needed))
		return false;
	if (p->via == AUTH_VIA_NONE)
		return allow_anonymous && p->local && req != AUTH_REQ_CONTROL;
	if (p->superuser)
		return true;
	return (roles & role_needed[req]) != 0;
}

const char *auth_request_name(enum auth_request req)
{
	static const char *const names[] = {"metadata", "data", "control"};

	return (size_t)req < N_ELEMENTS(names) ? names[req] : "?";
}

void auth_principals_clear(struct auth_principals *p)
{
	if (p == NULL)
		return;
	for (size_t r = 0; r < PROTO_NROLES; r++) {
		for (size_t i = 0; p->v[r] != NULL && i < p->n[r]; i++) {
			free(p->v[r][i].fqn);
			free(p->v[r][i].name);
		}
		free(p->v[r]);
	}
	memset(p, 0, sizeof(*p));
}

unsigned auth_roles(const struct auth_principals *eff, const char *fqn)
{
	unsigned roles = 0;

	if (fqn == NULL || fqn[0] == '\0')
		return 0;
	for (size_t r = 0; r < PROTO_NROLES; r++)
		for (size_t i = 0; i < eff->n[r]; i++)
			if (strcasecmp(eff->v[r][i].fqn, fqn) == 0) {
				roles |= AUTH_ROLE(r);
				break;
			}
	return roles;
}

/* Appends a copy of (fqn, name) to role r of p; space was reserved. */
static int push(struct auth_principals *p, size_t r, const char *fqn, const char *name)
{
	struct proto_principal *x = &p->v[r][p->n[r]];

	x->fqn = strdup(fqn);
	x->name = strdup(name != NULL ? name : "");
	if (x->fqn == NULL || x->name == NULL) {
		free(x->fqn);
		free(x->name);
		return -ENOMEM;
	}
	p->n[r]++;
	return 0;
}

static bool listed(const struct auth_principals *p, size_t r, const char *fqn)
{
	for (size_t i = 0; i < p->n[r]; i++)
		if (strcasecmp(p->v[r][i].fqn, fqn) == 0)
			return true;
	return false;
}

/* Appends role r of from to role r of to, skipping FQNs already there. */
static int append_role(struct auth_principals *to, const struct auth_principals *from, size_t r)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < from->n[r]; i++)
		if (!listed(to, r, from->v[r][i].fqn))
			ret = push(to, r, from->v[r][i].fqn, from->v[r][i].name);
	return ret;
}

int auth_effective(const struct auth_principals *leader, const struct auth_principals *follower,
                   enum conf_modkind kind, struct auth_principals *ret)
{
	struct auth_principals e = {0};
	bool use_leader = kind == CONF_MOD_NONE || kind == CONF_MOD_UNION;
	bool use_follower = kind == CONF_MOD_UNION || kind == CONF_MOD_REPLACE;
	int r = 0;

	if (!use_leader && !use_follower)
		return -EINVAL;
	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++) {
		size_t n = (use_leader ? leader->n[k] : 0) + (use_follower ? follower->n[k] : 0);

		e.v[k] = calloc(n + 1, sizeof(*e.v[k]));
		if (e.v[k] == NULL)
			r = -ENOMEM;
		if (r == 0 && use_leader)
			r = append_role(&e, leader, k);
		if (r == 0 && use_follower)
			r = append_role(&e, follower, k);
	}
	if (r < 0) {
		auth_principals_clear(&e);
		return r;
	}
	*ret = e;
	return 0;
}

int auth_follower_principals(const struct conf_attach *a, struct auth_principals *ret)
{
	struct auth_principals p = {0};
	const struct conf_list *lists[PROTO_NROLES] = {0};
	int r = 0;

	if (a != NULL) {
		lists[PROTO_ROLE_ADMINS] = &a->admins;
		lists[PROTO_ROLE_USERS] = &a->users;
		lists[PROTO_ROLE_VIEWERS] = &a->viewers;
		lists[PROTO_ROLE_MONITORS] = &a->monitors;
	}
	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++) {
		size_t n = lists[k] != NULL ? lists[k]->n : 0;

		p.v[k] = calloc(n + 1, sizeof(*p.v[k]));
		if (p.v[k] == NULL)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < n; i++)
			if (!listed(&p, k, lists[k]->items[i]))
				r = push(&p, k, lists[k]->items[i], "");
	}
	if (r < 0) {
		auth_principals_clear(&p);
		return r;
	}
	*ret = p;
	return 0;
}

/* ---- the tokens file ---- */

enum cred_kind {
	CRED_TOKEN,   /* sha256 of a bearer token */
	CRED_CERT,    /* sha256 fingerprint of a client certificate */
	CRED_SUBJECT, /* subject of a client certificate */
};

struct entry {
	enum cred_kind kind;
	unsigned char sha[AUTH_SHA256_LEN];
	char *subject;
	char *fqn;
};

struct auth_tokens {
	struct entry *v;
	size_t n, cap;
	size_t subjects;
	EVP_MD *sha256; /* fetched once: EVP_sha256() is looked up on every digest */
};

void auth_tokens_free(struct auth_tokens *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].subject);
		free(t->v[i].fqn);
	}
	free(t->v);
	EVP_MD_free(t->sha256);
	free(t);
}

size_t auth_tokens_count(const struct auth_tokens *t)
{
	return t != NULL ? t->n : 0;
}

size_t auth_tokens_subjects(const struct auth_tokens *t)
{
	return t != NULL ? t->subjects : 0;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses 64 hex digits (colons between bytes allowed when colons). */
static int parse_sha(const char *s, bool colons, unsigned char out[AUTH_SHA256_LEN])
{
	size_t j = 0;

	for (size_t i = 0; i < AUTH_SHA256_LEN; i++) {
		int hi, lo;

		if (colons && i > 0 && s[j] == ':')
			j++;
		hi = hexdigit(s[j]);
		lo = hi >= 0 ? hexdigit(s[j + 1]) : -1;
		if (lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
		j += 2;
	}
	return s[j] == '\0' ? 0 : -EINVAL;
}

static bool same_credential(const struct entry *a, const struct entry *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == CRED_SUBJECT)
		return strcmp(a->subject, b->subject) == 0;
	return memcmp(a->sha, b->sha, AUTH_SHA256_LEN) == 0;
}

static bool valid_fqn(const char *s)
{
	size_t n = strlen(s);
	const char *eq = strchr(s, '=');

	if (n == 0 || n > AUTH_FQN_MAX || eq == NULL || eq == s || eq[1] == '\0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ',' || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* Reads the credential cred into e; a message into why on failure. */
static int parse_credential(const char *cred, struct entry *e, const char **why)
{
	if (strncmp(cred, "cert-sha256:", 12) == 0) {
		e->kind = CRED_CERT;
		*why = "cert-sha256: wants 64 hex digits (colons between bytes allowed)";
		return parse_sha(cred + 12, true, e->sha);
	}
	if (strncmp(cred, "cert-subject:", 13) == 0) {
		e->kind = CRED_SUBJECT;
		*why = "cert-subject: wants a subject such as CN=host1,O=Example";
		if (cred[13] == '\0')
			return -EINVAL;
		e->subject = strdup(cred + 13);
		return e->subject != NULL ? 0 : -ENOMEM;
	}
	e->kind = CRED_TOKEN;
	*why = "wants the SHA-256 of a token (64 hex digits), cert-sha256:HEX or "
	       "cert-subject:SUBJECT";
	if (strncmp(cred, "sha256:", 7) == 0)
		cred += 7;
	return parse_sha(cred, false, e->sha);
}

static int add_entry(struct auth_tokens *t, struct entry *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap > 0 ? t->cap * 2 : 16;
		struct entry *v = reallocarray(t->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *e;
	t->subjects += e->kind == CRED_SUBJECT;
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Parses one line (NUL-terminated, modified) into t. */
static int parse_line(struct auth_tokens *t, char *line, const char *name, unsigned lineno,
                      char *err, size_t errlen)
{
	struct entry e = {0};
	const char *why = "";
	char *fqn = trim(line), *cred;
	int r;

	if (*fqn == '\0' || *fqn == '#')
		return 0;
	cred = fqn + strcspn(fqn, " \t");
	if (*cred != '\0')
		*cred++ = '\0';
	cred = trim(cred);
	if (!valid_fqn(fqn)) {
		(void)snprintf(err, errlen, "%s:%u: '%.64s' is not a principal (KIND=VALUE)", name,
		               lineno, fqn);
		return -EINVAL;
	}
	r = parse_credential(cred, &e, &why);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		if (same_credential(&t->v[i], &e)) {
			why = "the same credential is given on an earlier line";
			r = -EINVAL;
		}
	if (r == 0 && t->n >= AUTH_TOKENS_MAX) {
		why = "too many entries (at most 10000)";
		r = -E2BIG;
	}
	if (r == 0 && (e.fqn = strdup(fqn)) == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = add_entry(t, &e);
	if (r < 0) {
		free(e.subject);
		free(e.fqn);
		(void)snprintf(err, errlen, "%s:%u: %s", name, lineno,
		               r == -ENOMEM ? "out of memory" : why);
	}
	return r;
}

int auth_tokens_parse(const char *name, const char *text, size_t len, struct auth_tokens **ret,
                      char *err, size_t errlen)
{
	struct auth_tokens *t = calloc(1, sizeof(*t));
	char line[LINE_MAX_BYTES + 1];
	unsigned lineno = 0;
	size_t pos = 0;
	int r = 0;

	if (t == NULL)
		return -ENOMEM;
	t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (len > AUTH_TOKENS_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: larger than 1 MiB", name);
		r = -E2BIG;
	}
	while (r == 0 && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > LINE_MAX_BYTES || memchr(text + pos, '\0', n) != NULL) {
			(void)snprintf(err, errlen,
			               "%s:%u: line longer than %d bytes or holding NUL", name,
			               lineno, LINE_MAX_BYTES);
			r = -EINVAL;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		r = parse_line(t, line, name, lineno, err, errlen);
		pos += n + 1;
	}
	if (r < 0) {
		auth_tokens_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

int auth_tokens_load(const char *path, struct auth_tokens **ret, bool *ret_too_open, char *err,
                     size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int r = fsutil_read_file(path, AUTH_TOKENS_FILE_MAX, &text, &len);

	if (r < 0) {
		(void)snprintf(err, errlen, "%s: %s", path,
		               r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	r = auth_tokens_parse(path, text, len, ret, err, errlen);
	if (r == 0 && ret_too_open != NULL)
		*ret_too_open = stat(path, &st) == 0 && (st.st_mode & 077) != 0;
	free(text);
	return r;
}

/* ---- lookups ---- */

/* The index of the entry of kind whose hash is sha, or -1, comparing with
 * every entry whatever matched (constant time in the position). */
static long find_sha(const struct auth_tokens *t, enum cred_kind kind,
                     const unsigned char sha[AUTH_SHA256_LEN])
{
	long found = -1;

	for (size_t i = 0; t != NULL && i < t->n; i++) {
		int differs = CRYPTO_memcmp(t->v[i].sha, sha, AUTH_SHA256_LEN);

		if (t->v[i].kind == kind && differs == 0)
			found = (long)i;
	}
	return found;
}

const char *auth_token_find(const struct auth_tokens *t, const char *token, size_t len)
{
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	long i;

	if (t == NULL || len == 0 || len > AUTH_TOKEN_MAX)
		return NULL;
	if (EVP_Digest(token, len, sha, &n, t->sha256 != NULL ? t->sha256 : EVP_sha256(), NULL) !=
	        1 ||
	    n != AUTH_SHA256_LEN)
		return NULL;
	i = find_sha(t, CRED_TOKEN, sha);
	return i >= 0 ? t->v[i].fqn : NULL;
}

const char *auth_cert_find(const struct auth_tokens *t, const unsigned char fp[AUTH_SHA256_LEN],
                           const char *subject)
{
	long i = find_sha(t, CRED_CERT, fp);

	if (i >= 0)
		return t->v[i].fqn;
	for (size_t k = 0; t != NULL && subject != NULL && k < t->n; k++)
		if (t->v[k].kind == CRED_SUBJECT && strcmp(t->v[k].subject, subject) == 0)
			return t->v[k].fqn;
	return NULL;
}

int auth_bearer(const char *value, const char **ret_token, size_t *ret_len)
{
	const char *tok;
	size_t n;

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
		return -ENOENT;
	tok = value + 6;
	while (*tok == ' ' || *tok == '\t')
		tok++;
	n = strcspn(tok, " \t");
	if (n == 0 || n > AUTH_TOKEN_MAX || tok[n + strspn(tok + n, " \t")] != '\0')
		return -EINVAL;
	*ret_token = tok;
	*ret_len = n;
	return 0;
}

void auth_unix_principal(uint32_t uid, struct auth_principal *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->via = AUTH_VIA_UNIX;
	ret->local = true;
	ret->superuser = uid == 0;
	(void)snprintf(ret->fqn, sizeof(ret->fqn), "unix:uid=%u", (unsigned)uid);
}
