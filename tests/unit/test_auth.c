/*
 * test_auth — authorization decided exhaustively (every role set on each
 * side × every modification kind × every request kind, anonymous callers in
 * every setting), effective principals, the tokens file and its lookups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy/auth.h"
#include "conf/conf.h"

#define FQN "aaduser=alice@contoso.com"

/* The rules as the documentation states them, written out by hand. */
static const bool role_may[PROTO_NROLES][AUTH_NREQUESTS] = {
    /*                       metadata data   control */
    [PROTO_ROLE_ADMINS] = {true, true, true},
    [PROTO_ROLE_USERS] = {true, true, false},
    [PROTO_ROLE_VIEWERS] = {true, true, false},
    [PROTO_ROLE_MONITORS] = {true, false, false},
};

static bool expected(unsigned roles, enum auth_request req)
{
	for (size_t r = 0; r < PROTO_NROLES; r++)
		if ((roles & (1u << r)) && role_may[r][req])
			return true;
	return false;
}

/* Principals holding fqn in every role of set, plus a bystander in each. */
static void build(struct auth_principals *p, unsigned set, const char *fqn)
{
	memset(p, 0, sizeof(*p));
	for (size_t r = 0; r < PROTO_NROLES; r++) {
		p->v[r] = calloc(2, sizeof(*p->v[r]));
		assert_non_null(p->v[r]);
		p->v[r][p->n[r]].fqn = strdup("aaduser=bob@contoso.com");
		p->v[r][p->n[r]++].name = strdup("Bob");
		if (set & (1u << r)) {
			p->v[r][p->n[r]].fqn = strdup(fqn);
			p->v[r][p->n[r]++].name = strdup("");
		}
	}
}

static void test_allowed_exhaustive(void **state)
{
	(void)state;
	struct auth_principal who = {.via = AUTH_VIA_TOKEN};
	const enum conf_modkind kinds[] = {CONF_MOD_NONE, CONF_MOD_UNION, CONF_MOD_REPLACE};
	unsigned cases = 0;

	(void)snprintf(who.fqn, sizeof(who.fqn), "%s", FQN);
	for (unsigned leader = 0; leader <= AUTH_ROLES_ALL; leader++)
		for (unsigned follower = 0; follower <= AUTH_ROLES_ALL; follower++)
			for (size_t k = 0; k < 3; k++) {
				struct auth_principals l, f, e;
				unsigned held = kinds[k] == CONF_MOD_NONE    ? leader
				                : kinds[k] == CONF_MOD_UNION ? leader | follower
				                                             : follower;

				build(&l, leader, FQN);
				build(&f, follower, "AADUSER=Alice@Contoso.com");
				assert_int_equal(auth_effective(&l, &f, kinds[k], &e), 0);
				assert_int_equal(auth_roles(&e, who.fqn), held);
				for (int req = 0; req < AUTH_NREQUESTS; req++) {
					bool want = expected(held, (enum auth_request)req);
					bool got = auth_allowed(&who, auth_roles(&e, who.fqn),
					                        (enum auth_request)req, false);
					if (want != got)
						fail_msg(
						    "leader %x follower %x kind %zu %s: want %d",
						    leader, follower, k,
						    auth_request_name((enum auth_request)req),
						    want);
					/* allow_anonymous changes nothing for a known caller */
					assert_int_equal(
					    got,
					    auth_allowed(&who, held, (enum auth_request)req, true));
					cases++;
				}
				auth_principals_clear(&l);
				auth_principals_clear(&f);
				auth_principals_clear(&e);
			}
	assert_int_equal(cases, 16 * 16 * 3 * 3);
}

static void test_anonymous_and_superuser(void **state)
{
	(void)state;
	struct auth_principal anon = {.via = AUTH_VIA_NONE};
	struct auth_principal root;

	auth_unix_principal(0, &root);
	assert_true(root.superuser);
	assert_string_equal(root.fqn, "unix:uid=0");
	for (unsigned roles = 0; roles <= AUTH_ROLES_ALL; roles++)
		for (int req = 0; req < AUTH_NREQUESTS; req++)
			for (int local = 0; local < 2; local++)
				for (int allow = 0; allow < 2; allow++) {
					anon.local = local;
					/* Anonymous: reads, only when allowed, only locally;
					 * roles given by mistake change nothing. */
					assert_int_equal(auth_allowed(&anon, roles,
					                              (enum auth_request)req,
					                              allow),
					                 allow && local && req != AUTH_REQ_CONTROL);
					/* Root on the Unix socket: everything. */
					assert_true(auth_allowed(&root, roles,
					                         (enum auth_request)req, allow));
				}
}

static void test_unix_user(void **state)
{
	(void)state;
	struct auth_principal u;
	struct auth_principals l, f, e;

	auth_unix_principal(1000, &u);
	assert_false(u.superuser);
	assert_true(u.local);
	assert_string_equal(u.fqn, "unix:uid=1000");
	build(&l, 0, "x=y");
	build(&f, AUTH_ROLE(PROTO_ROLE_MONITORS), "unix:uid=1000");
	assert_int_equal(auth_effective(&l, &f, CONF_MOD_UNION, &e), 0);
	assert_true(auth_allowed(&u, auth_roles(&e, u.fqn), AUTH_REQ_METADATA, false));
	assert_false(auth_allowed(&u, auth_roles(&e, u.fqn), AUTH_REQ_DATA, false));
	assert_false(auth_allowed(&u, auth_roles(&e, "unix:uid=10000"), AUTH_REQ_METADATA, false));
	assert_int_equal(auth_roles(&e, ""), 0);
	auth_principals_clear(&l);
	auth_principals_clear(&f);
	auth_principals_clear(&e);
}

static void test_effective_order(void **state)
{
	(void)state;
	struct auth_principals l, f, e;

	build(&l, AUTH_ROLE(PROTO_ROLE_VIEWERS), "a=1");
	build(&f, AUTH_ROLE(PROTO_ROLE_VIEWERS), "a=2");
	assert_int_equal(auth_effective(&l, &f, CONF_MOD_UNION, &e), 0);
	/* bob, a=1 from the leader; bob again is dropped; a=2 */
	assert_int_equal(e.n[PROTO_ROLE_VIEWERS], 3);
	assert_string_equal(e.v[PROTO_ROLE_VIEWERS][0].fqn, "aaduser=bob@contoso.com");
	assert_string_equal(e.v[PROTO_ROLE_VIEWERS][0].name, "Bob");
	assert_string_equal(e.v[PROTO_ROLE_VIEWERS][1].fqn, "a=1");
	assert_string_equal(e.v[PROTO_ROLE_VIEWERS][2].fqn, "a=2");
	assert_int_equal(e.n[PROTO_ROLE_ADMINS], 1);
	auth_principals_clear(&e);
	assert_int_equal(auth_effective(&l, &f, (enum conf_modkind)7, &e), -EINVAL);
	auth_principals_clear(&l);
	auth_principals_clear(&f);
}

static void test_follower_from_conf(void **state)
{
	(void)state;
	const char *text = "[daemon]\nstate_dir = /tmp/s\n[attach \"a\"]\nleader = /tmp/l\n"
	                   "database = D\nadmins = aaduser=ops@contoso.com, unix:uid=0\n"
	                   "viewers = unix:uid=1000\nviewers = unix:uid=1000\n";
	char err[CONF_ERRLEN];
	struct conf *c = NULL;
	struct auth_principals f;

	assert_int_equal(
	    conf_parse("t.conf", text, strlen(text), CONF_SKIP_SECRETS, &c, err, sizeof(err)), 0);
	assert_int_equal(auth_follower_principals(c->attach[0], &f), 0);
	assert_int_equal(f.n[PROTO_ROLE_ADMINS], 2);
	assert_string_equal(f.v[PROTO_ROLE_ADMINS][1].fqn, "unix:uid=0");
	assert_int_equal(f.n[PROTO_ROLE_VIEWERS], 1); /* duplicates dropped */
	assert_int_equal(f.n[PROTO_ROLE_USERS], 0);
	assert_int_equal(auth_roles(&f, "unix:uid=1000"), AUTH_ROLE(PROTO_ROLE_VIEWERS));
	auth_principals_clear(&f);
	assert_int_equal(auth_follower_principals(NULL, &f), 0);
	assert_int_equal(f.n[PROTO_ROLE_ADMINS], 0);
	auth_principals_clear(&f);
	conf_free(c);
}

static void sha_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		(void)sprintf(out + 2 * i, "%02x", md[i]);
}

static void test_tokens(void **state)
{
	(void)state;
	char h1[65], h2[65], text[1024], err[AUTH_ERRLEN];
	struct auth_tokens *t = NULL;
	unsigned char fp[32];

	sha_hex("s3cret-token-1", h1);
	sha_hex("s3cret-token-2", h2);
	(void)snprintf(
	    text, sizeof(text),
	    "# tokens\n\n"
	    "aaduser=alice@contoso.com %s\n"
	    "  aadapp=prom   sha256:%s  \r\n"
	    "cert=pinned cert-sha256:%s\n"
	    "cert=host1 cert-subject:CN=host1,O=Example Org\n",
	    h1, h2, "0102030405060708090A0B0C0D0E0F10:11:12:13:14:15:16:17:18:19:1a1b1c1d1e1f20");
	assert_int_equal(auth_tokens_parse("tok", text, strlen(text), &t, err, sizeof(err)), 0);
	assert_int_equal(auth_tokens_count(t), 4);
	assert_int_equal(auth_tokens_subjects(t), 1);
	assert_string_equal(auth_token_find(t, "s3cret-token-1", 14), "aaduser=alice@contoso.com");
	assert_string_equal(auth_token_find(t, "s3cret-token-2", 14), "aadapp=prom");
	assert_null(auth_token_find(t, "s3cret-token-3", 14));
	assert_null(auth_token_find(t, "s3cret-token-1", 13));
	assert_null(auth_token_find(t, "", 0));
	for (int i = 0; i < 32; i++)
		fp[i] = (unsigned char)(i + 1);
	assert_string_equal(auth_cert_find(t, fp, NULL), "cert=pinned");
	/* a token's hash is not a certificate fingerprint */
	assert_null(
	    auth_cert_find(t, (const unsigned char *)"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL));
	fp[0] = 0;
	assert_null(auth_cert_find(t, fp, NULL));
	assert_null(auth_cert_find(t, fp, "CN=host2,O=Example Org"));
	assert_string_equal(auth_cert_find(t, fp, "CN=host1,O=Example Org"), "cert=host1");
	auth_tokens_free(t);
	auth_tokens_free(NULL);
}

static void bad(const char *text, int want, const char *msg)
{
	struct auth_tokens *t = NULL;
	char err[AUTH_ERRLEN] = "";

	assert_int_equal(auth_tokens_parse("tok", text, strlen(text), &t, err, sizeof(err)), want);
	assert_null(t);
	if (strstr(err, msg) == NULL)
		fail_msg("'%s' does not contain '%s'", err, msg);
}

static void test_tokens_bad(void **state)
{
	(void)state;
	char h[65], text[512];

	sha_hex("x", h);
	bad("alice 0000\n", -EINVAL, "tok:1: 'alice' is not a principal");
	bad("\na=b 00\n", -EINVAL, "tok:2: wants the SHA-256");
	bad("a=b\n", -EINVAL, "tok:1: wants the SHA-256");
	bad("a=b cert-sha256:zz\n", -EINVAL, "cert-sha256: wants 64 hex");
	bad("a=b cert-subject:\n", -EINVAL, "cert-subject: wants");
	(void)snprintf(text, sizeof(text), "a=b %s\nc=d %s\n", h, h);
	bad(text, -EINVAL, "tok:2: the same credential");
	(void)snprintf(text, sizeof(text), "a=b %s extra\n", h);
	bad(text, -EINVAL, "tok:1: wants the SHA-256");
	{
		struct auth_tokens *t = NULL;
		char err[AUTH_ERRLEN] = "";

		assert_int_equal(auth_tokens_parse("tok", "a=b\0 x\n", 7, &t, err, sizeof(err)),
		                 -EINVAL);
		assert_non_null(strstr(err, "NUL"));
	}
}

static void test_bearer(void **state)
{
	(void)state;
	const char *tok = NULL;
	size_t n = 0;

	assert_int_equal(auth_bearer("Bearer abc.def", &tok, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(tok, "abc.def", 7);
	assert_int_equal(auth_bearer("  bearer   xyz  ", &tok, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(auth_bearer("Basic dXNlcg==", &tok, &n), -ENOENT);
	assert_int_equal(auth_bearer("Bearertoken", &tok, &n), -ENOENT);
	assert_int_equal(auth_bearer("Bearer ", &tok, &n), -EINVAL);
	assert_int_equal(auth_bearer("Bearer a b", &tok, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed_exhaustive),
	    cmocka_unit_test(test_anonymous_and_superuser),
	    cmocka_unit_test(test_unix_user),
	    cmocka_unit_test(test_effective_order),
	    cmocka_unit_test(test_follower_from_conf),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_tokens_bad),
	    cmocka_unit_test(test_bearer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
