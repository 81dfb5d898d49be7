/*
 * auth — who is calling, and what a caller may do with a followed database.
 *
 * Authentication turns what a connection carries into a principal, an FQN
 * such as "aaduser=alice@contoso.com":
 *   - a bearer token: the tokens file maps the SHA-256 of each accepted token
 *     to an FQN (the file holds hashes, never tokens; a presented token is
 *     hashed and compared with every entry in constant time);
 *   - a TLS client certificate: the same file maps a certificate's SHA-256
 *     fingerprint, or its subject when it chains to tls_client_ca, to an FQN;
 *   - the admin Unix socket: the peer's uid (SO_PEERCRED) is "unix:uid=N";
 *     root is the superuser, admin of everything;
 *   - nothing: anonymous, only where allow_anonymous is set and never from
 *     off the loopback.
 *
 * Authorization is by the roles a principal holds in a database's effective
 * principals: the leader's (the store) combined with the follower's own (the
 * attach configuration: admins, users, viewers, monitors) by the attach's
 * principals_modification_kind — none: the leader's; union: both; replace:
 * the follower's alone.  Then:
 *   - metadata (the views: databases, schemas, extents, policies, history,
 *     metrics): any role;
 *   - data (artifacts): admins, users, viewers;
 *   - control (the follower's control commands): admins.
 * An allowed anonymous caller reads metadata and data of every database and
 * controls nothing.  FQNs compare ASCII case-insensitively (Kusto's).
 *
 * Pure functions but for auth_tokens_load (reads a file).  Errors: 0 or a
 * negative errno with one line in err (AUTH_ERRLEN bytes): -EINVAL for a
 * malformed tokens file (FILE:LINE: what), -E2BIG past a bound, -ENOMEM.
 */
#ifndef FOLLOWERD_AUTH_H
#define FOLLOWERD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/proto.h"

#define AUTH_ERRLEN 512
#define AUTH_FQN_MAX CONF_MAX_FQN /* bytes of an FQN */
#define AUTH_TOKEN_MAX 4096       /* bytes of a presented bearer token */
#define AUTH_TOKENS_FILE_MAX ((size_t)1 << 20)
#define AUTH_TOKENS_MAX 10000 /* entries of the tokens file */
#define AUTH_SHA256_LEN 32

/* What a request wants to do. */
enum auth_request {
	AUTH_REQ_METADATA, /* read views of the metadata */
	AUTH_REQ_DATA,     /* read artifacts (and metadata) */
	AUTH_REQ_CONTROL,  /* run the follower's control commands */
};
#define AUTH_NREQUESTS 3

/* How the caller was identified. */
enum auth_via {
	AUTH_VIA_NONE,  /* nothing presented: anonymous */
	AUTH_VIA_TOKEN, /* a bearer token */
	AUTH_VIA_CERT,  /* a TLS client certificate */
	AUTH_VIA_UNIX,  /* the peer of a Unix socket */
};

/* A caller.  fqn is "" for an anonymous caller. */
struct auth_principal {
	enum auth_via via;
	bool local;     /* came over the loopback or a Unix socket */
	bool superuser; /* root on a Unix socket: admin of every database */
	char fqn[AUTH_FQN_MAX + 1];
};

/* Role bits: AUTH_ROLE(PROTO_ROLE_ADMINS) | ... */
#define AUTH_ROLE(r) (1u << (unsigned)(r))
#define AUTH_ROLES_ALL ((1u << PROTO_NROLES) - 1)

/* The principals of each role (index: enum proto_role).  Owned arrays of
 * owned strings (auth_principals_clear). */
struct auth_principals {
	struct proto_principal *v[PROTO_NROLES];
	size_t n[PROTO_NROLES];
};

void auth_principals_clear(struct auth_principals *p);

/* ---- authorization (pure) ---- */

/* Whether p may make a request of kind req in a database where it holds
 * roles (AUTH_ROLE bits; ignored for anonymous callers and the superuser).
 * allow_anonymous is the configuration's: an anonymous caller is allowed
 * metadata and data only with it and only when local. */
bool auth_allowed(const struct auth_principal *p, unsigned roles, enum auth_request req,
                  bool allow_anonymous);

/* The roles fqn holds in eff (0 for "" or none). */
unsigned auth_roles(const struct auth_principals *eff, const char *fqn);

/* The follower's own principals configured in a (borrowed) into *ret (a new
 * copy, display names ""); a NULL a gives none.  0 or -ENOMEM. */
int auth_follower_principals(const struct conf_attach *a, struct auth_principals *ret);

/* The effective principals into *ret (a new copy): leader's and follower's
 * (both borrowed) combined by kind; on union each role lists the leader's
 * first, then the follower's not already there (by FQN).  0, -EINVAL for
 * an unknown kind, -ENOMEM. */
int auth_effective(const struct auth_principals *leader, const struct auth_principals *follower,
                   enum conf_modkind kind, struct auth_principals *ret);

/* The name of a request kind: "metadata", "data", "control". */
const char *auth_request_name(enum auth_request req);

/* ---- authentication ---- */

/* The accepted bearer tokens and client certificates (a tokens file). */
struct auth_tokens;

/* Parses len bytes of a tokens file (name is used in messages): lines of
 * "FQN CREDENTIAL" where CREDENTIAL is the hex SHA-256 of a token (an
 * optional "sha256:" prefix), "cert-sha256:HEX" (colons allowed) or
 * "cert-subject:SUBJECT" (the rest of the line, RFC 2253); '#' comments and
 * blank lines.  A credential given twice is an error.  *ret is new. */
int auth_tokens_parse(const char *name, const char *text, size_t len, struct auth_tokens **ret,
                      char *err, size_t errlen);

/* Reads and parses path.  *ret_too_open (may be NULL) is set when the file
 * is readable or writable by group or others, for the caller to warn. */
int auth_tokens_load(const char *path, struct auth_tokens **ret, bool *ret_too_open, char *err,
                     size_t errlen);

void auth_tokens_free(struct auth_tokens *t);

/* Entries of the file, and how many of them map certificate subjects. */
size_t auth_tokens_count(const struct auth_tokens *t);
size_t auth_tokens_subjects(const struct auth_tokens *t);

/* The FQN (borrowed from t) of the bearer token of len bytes, or NULL.  The
 * token is hashed and compared with every entry, match or not. */
const char *auth_token_find(const struct auth_tokens *t, const char *token, size_t len);

/* The FQN of a client certificate by its SHA-256 fingerprint (DER), else
 * by subject when subject is not NULL (pass it only for a certificate that
 * verified against tls_client_ca), or NULL. */
const char *auth_cert_find(const struct auth_tokens *t, const unsigned char fp[AUTH_SHA256_LEN],
                           const char *subject);

/* The bearer token of an Authorization header value ("Bearer TOKEN", the
 * scheme case-insensitive): *ret_token points into value, *ret_len its
 * length.  -ENOENT for another scheme, -EINVAL for an empty, oversized or
 * malformed token. */
int auth_bearer(const char *value, const char **ret_token, size_t *ret_len);

/* Fills *ret for the peer uid of a Unix socket: "unix:uid=N", superuser
 * when uid is 0, local. */
void auth_unix_principal(uint32_t uid, struct auth_principal *ret);

#endif
