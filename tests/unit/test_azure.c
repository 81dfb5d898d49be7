/*
 * Unit tests for azure: URL parsing of both styles, Shared Key
 * string-to-sign and signature against fixed vectors, SAS generation and
 * appending, redaction, dates, and the List Blobs / error XML subset.
 *
 * The vectors: the string-to-sign of test_sts_doc_example is the example
 * printed in Microsoft's "Authorize with Shared Key" page; the others were
 * written by hand from that page.  Every signature was computed outside
 * this code, with Python's hmac/hashlib/base64 over the literal
 * string-to-sign and Azurite's well-known development key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/azure.h"

#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY                                                                                    \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void test_parse_virtual_host(void **state)
{
	struct azure_url u;
	char err[256];

	assert_int_equal(azure_url_parse("https://myacct.blob.core.windows.net/leader/env/prod/",
	                                 &u, err, sizeof(err)),
	                 0);
	assert_false(u.path_style);
	assert_true(u.https);
	assert_string_equal(u.account, "myacct");
	assert_string_equal(u.container, "leader");
	assert_string_equal(u.prefix, "env/prod");
	assert_string_equal(u.endpoint, "https://myacct.blob.core.windows.net");
	assert_string_equal(u.query, "");

	assert_int_equal(azure_url_parse("https://myacct.blob.core.windows.net/leader?sv=1&sig=x",
	                                 &u, err, sizeof(err)),
	                 0);
	assert_string_equal(u.prefix, "");
	assert_string_equal(u.query, "sv=1&sig=x");
}

static void test_parse_path_style(void **state)
{
	struct azure_url u;
	char err[256];

	assert_int_equal(azure_url_parse("http://127.0.0.1:10000/devstoreaccount1/cont/a/b", &u,
	                                 err, sizeof(err)),
	                 0);
	assert_true(u.path_style);
	assert_false(u.https);
	assert_string_equal(u.account, DEV_ACCOUNT);
	assert_string_equal(u.container, "cont");
	assert_string_equal(u.prefix, "a/b");
	assert_string_equal(u.endpoint, "http://127.0.0.1:10000/devstoreaccount1");

	assert_int_equal(
	    azure_url_parse("http://localhost:10000/devstoreaccount1/c12", &u, err, sizeof(err)),
	    0);
	assert_true(u.path_style);
	assert_int_equal(
	    azure_url_parse("http://[::1]:10000/devstoreaccount1/abc", &u, err, sizeof(err)), 0);
	assert_true(u.path_style);
	assert_string_equal(u.endpoint, "http://[::1]:10000/devstoreaccount1");
	assert_true(azure_url_is_path_style("http://10.1.2.3/acct/c"));
	assert_false(azure_url_is_path_style("https://acct.blob.core.windows.net/c"));
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "ftp://acct.blob.core.windows.net/c1x",
	    "https://acct.blob.core.windows.net/",            /* no container */
	    "https://acct.blob.core.windows.net/Upper",       /* container case */
	    "https://acct.blob.core.windows.net/a--b",        /* "--" */
	    "https://ab.blob.core.windows.net/abc",           /* account too short */
	    "https://user:pw@acct.blob.core.windows.net/abc", /* credentials in URL */
	    "https://acct.blob.core.windows.net/abc/x/../y",  /* '..' segment */
	    "https://acct.blob.core.windows.net/abc/x//y",    /* empty segment */
	    "https://acct.blob.core.windows.net/abc/x y",     /* not unreserved */
	    "https://acct.blob.core.windows.net/abc#frag",
	    "http://127.0.0.1:10000/Dev/abc",          /* account case */
	    "http://127.0.0.1:10000/devstoreaccount1", /* no container */
	};
	struct azure_url u;
	char err[256];
	size_t i;

	memset(&u, 0x5a, sizeof(u));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(azure_url_parse(bad[i], &u, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		assert_int_equal(((unsigned char *)&u)[0], 0x5a); /* untouched */
	}
}

static void test_blob_url(void **state)
{
	struct azure_url u;
	char buf[512], err[128];

	assert_int_equal(azure_url_parse("http://127.0.0.1:10000/devstoreaccount1/cont/pre", &u,
	                                 err, sizeof(err)),
	                 0);
	assert_int_equal(azure_blob_url(&u, "db/a b+c.json", "comp=lease", buf, sizeof(buf)), 0);
	assert_string_equal(
	    buf, "http://127.0.0.1:10000/devstoreaccount1/cont/pre/db/a%20b%2Bc.json?comp=lease");
	assert_int_equal(azure_blob_url(&u, NULL, "restype=container", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://127.0.0.1:10000/devstoreaccount1/cont?restype=container");
	assert_int_equal(azure_blob_url(&u, "head.json", NULL, buf, 20), -ENOBUFS);
	assert_int_equal(strlen(buf), 19);
}

/* The example string-to-sign of Microsoft's Shared Key documentation. */
static void test_sts_doc_example(void **state)
{
	const struct azure_header h[] = {
	    {"x-ms-version", "2015-02-21"},
	    {"X-MS-Date", "Fri, 26 Jun 2015 23:39:12 GMT"},
	    {"User-Agent", "ignored"},
	};
	char *sts = NULL, auth[AZURE_AUTH_MAX];

	assert_int_equal(
	    azure_string_to_sign("myaccount", "GET",
	                         "https://myaccount.blob.core.windows.net/"
	                         "mycontainer?restype=container&comp=metadata&timeout=20",
	                         h, 3, &sts),
	    0);
	assert_string_equal(sts,
	                    "GET\n\n\n\n\n\n\n\n\n\n\n\n"
	                    "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
	                    "x-ms-version:2015-02-21\n"
	                    "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
	free(sts);
	assert_int_equal(
	    azure_sign_shared_key("myaccount", DEV_KEY, "GET",
	                          "https://myaccount.blob.core.windows.net/"
	                          "mycontainer?restype=container&comp=metadata&timeout=20",
	                          h, 3, auth, sizeof(auth)),
	    0);
	assert_string_equal(auth,
	                    "SharedKey myaccount:1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
}

/* A conditional Put Blob, path style: the account appears twice. */
static void test_sts_put_path_style(void **state)
{
	const struct azure_header h[] = {
	    {"x-ms-version", "2021-08-06"},
	    {"Content-Length", "11"},
	    {"If-None-Match", "*"},
	    {"x-ms-blob-type", " BlockBlob "},
	    {"Expect", ""},
	    {"x-ms-date", "Mon, 23 Nov 2026 10:00:00 GMT"},
	};
	const char *url = "http://127.0.0.1:10000/devstoreaccount1/leader/db/head%20x.json";
	char *sts = NULL, auth[AZURE_AUTH_MAX];

	assert_int_equal(azure_string_to_sign(DEV_ACCOUNT, "PUT", url, h, 6, &sts), 0);
	assert_string_equal(sts, "PUT\n\n\n11\n\n\n\n\n\n*\n\n\n"
	                         "x-ms-blob-type:BlockBlob\n"
	                         "x-ms-date:Mon, 23 Nov 2026 10:00:00 GMT\n"
	                         "x-ms-version:2021-08-06\n"
	                         "/devstoreaccount1/devstoreaccount1/leader/db/head%20x.json");
	free(sts);
	assert_int_equal(
	    azure_sign_shared_key(DEV_ACCOUNT, DEV_KEY, "PUT", url, h, 6, auth, sizeof(auth)), 0);
	assert_string_equal(
	    auth, "SharedKey devstoreaccount1:wOj63cn1piIzVzUaHaCR22UfLrP0Z0Jvrg90frapd88=");
}

static void test_sts_query_rules(void **state)
{
	const struct azure_header h[] = {
	    {"Content-Length", "0"}, /* signs as "" */
	    {"Range", "bytes=0-9"},
	};
	char *sts = NULL;

	/* Names lowercased and sorted, values decoded, repeated names joined. */
	assert_int_equal(
	    azure_string_to_sign("acct", "DELETE",
	                         "https://acct.blob.core.windows.net/c1?Prefix=a%2Fb+c&"
	                         "marker=&comp=list&comp=a",
	                         h, 2, &sts),
	    0);
	assert_string_equal(sts, "DELETE\n\n\n\n\n\n\n\n\n\n\nbytes=0-9\n"
	                         "/acct/c1\ncomp:a,list\nmarker:\nprefix:a/b c");
	free(sts);
}

static void test_sign_rejects(void **state)
{
	const struct azure_header dup[] = {{"x-ms-date", "a"}, {"X-Ms-Date", "b"}};
	const struct azure_header crlf[] = {{"If-Match", "\"x\"\r\nx-ms-evil: 1"}};
	char auth[AZURE_AUTH_MAX], *sts = NULL;

	assert_int_equal(azure_string_to_sign("acct", "GET", "https://acct.x/c", crlf, 1, &sts),
	                 -EINVAL);
	assert_int_equal(azure_string_to_sign("acct", "GET", "https://acct.x/c", dup, 2, &sts),
	                 -EINVAL);
	assert_int_equal(azure_sign_shared_key("acct", "not base64!", "GET", "https://acct.x/c",
	                                       NULL, 0, auth, sizeof(auth)),
	                 -EINVAL);
	assert_int_equal(azure_sign_shared_key("acct", "abc", "GET", "https://acct.x/c", NULL, 0,
	                                       auth, sizeof(auth)),
	                 -EINVAL);
	assert_int_equal(azure_sign_shared_key("acct", DEV_KEY, "GET", "https://acct.x/c?a=%zz",
	                                       NULL, 0, auth, sizeof(auth)),
	                 -EINVAL);
	assert_int_equal(
	    azure_sign_shared_key("acct", DEV_KEY, "GET", "https://acct.x/c", NULL, 0, auth, 20),
	    -ENOBUFS);
}

static void test_dates(void **state)
{
	char buf[AZURE_DATE_LEN];
	int64_t t = 0;

	azure_format_date(1435361952, buf);
	assert_string_equal(buf, "Fri, 26 Jun 2015 23:39:12 GMT");
	assert_int_equal(azure_parse_date(buf, &t), 0);
	assert_int_equal(t, 1435361952);
	azure_format_date(0, buf);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_int_equal(azure_parse_date("Fri, 26 Jun 2015 23:39:12 UTC", &t), -EINVAL);
	assert_int_equal(azure_parse_date("Fri, 26 Jux 2015 23:39:12 GMT", &t), -EINVAL);
	assert_int_equal(azure_parse_date("Fri, 26 Jun 2015 24:39:12 GMT", &t), -EINVAL);
	assert_int_equal(azure_parse_date("", &t), -EINVAL);
}

static void test_sas_container(void **state)
{
	char tok[512];

	assert_int_equal(azure_sas_container(DEV_ACCOUNT, DEV_KEY, "leader", "racwdl", 0,
	                                     1795428000, tok, sizeof(tok)),
	                 0);
	assert_string_equal(
	    tok, "sv=2021-08-06&sr=c&sp=racwdl&se=2026-11-23T10%3A00%3A00Z"
	         "&spr=https%2Chttp&sig=BN28CIhJ8vG0pORRIc%2BeA7KnR9UFDbR5HudrTiQgPSg%3D");
	assert_int_equal(
	    azure_sas_container(DEV_ACCOUNT, DEV_KEY, "leader", "rq", 0, 1, tok, sizeof(tok)),
	    -EINVAL);
	assert_int_equal(azure_sas_container(DEV_ACCOUNT, DEV_KEY, "leader", "r", 0, 1, tok, 40),
	                 -ENOBUFS);
}

static void test_sas_append(void **state)
{
	char buf[256];

	assert_int_equal(azure_sas_append("http://h/a/c/b", "?sv=1&sig=x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://h/a/c/b?sv=1&sig=x");
	assert_int_equal(azure_sas_append("http://h/a/c?comp=list", "sv=1&sig=x", buf, sizeof(buf)),
	                 0);
	assert_string_equal(buf, "http://h/a/c?comp=list&sv=1&sig=x");
	assert_int_equal(azure_sas_append("http://h/a", NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://h/a");
	assert_int_equal(azure_sas_append("http://h/a", "?", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://h/a");
	assert_int_equal(azure_sas_append("http://h/a", "sig=x", buf, 12), -ENOBUFS);
}

static void test_redact(void **state)
{
	char buf[256];

	assert_int_equal(azure_redact_url("https://a.blob.core.windows.net/c/b?comp=list&sv=2021&"
	                                  "sig=SECRET%2B&flag",
	                                  buf, sizeof(buf)),
	                 0);
	assert_string_equal(buf, "https://a.blob.core.windows.net/c/b?comp=REDACTED&sv=REDACTED&"
	                         "sig=REDACTED&flag");
	assert_int_equal(azure_redact_url("http://u:SECRET@h:1/p?x=1#SECRET", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://REDACTED@h:1/p?x=REDACTED");
	assert_int_equal(azure_redact_url("sv=1&sig=SECRET", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sv=REDACTED&sig=REDACTED");
	assert_int_equal(azure_redact_url("http://h/p", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://h/p");
	/* Truncated output holds no secret either. */
	assert_int_equal(azure_redact_url("http://h/p?sig=SECRETSECRET", buf, 18), -ENOBUFS);
	assert_null(strstr(buf, "SECRET"));
	assert_int_equal(strlen(buf), 17);
}

struct seen {
	int n;
	char names[4][64];
	uint64_t sizes[4];
	int64_t mtimes[4];
	int stop_at;
};

static int collect(const char *name, uint64_t size, int64_t mtime, void *arg)
{
	struct seen *s = arg;

	if (s->n == s->stop_at)
		return 42;
	if (s->n < 4) {
		strncpy(s->names[s->n], name, 63);
		s->sizes[s->n] = size;
		s->mtimes[s->n] = mtime;
	}
	s->n++;
	return 0;
}

static const char list_xml[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults "
    "ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c1\">"
    "<Prefix>db/</Prefix><Marker/><MaxResults>2</MaxResults><Blobs>"
    "<Blob><Name>db/a&amp;b&#x20;&#233;.json</Name><Properties>"
    "<Creation-Time>Mon, 23 Nov 2026 09:00:00 GMT</Creation-Time>"
    "<Last-Modified>Mon, 23 Nov 2026 10:00:00 GMT</Last-Modified><Etag>0x1</Etag>"
    "<Content-Length>11</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>"
    "<Blob><Name Encoded=\"true\">db/%01x</Name><Properties>"
    "<Last-Modified>Thu, 01 Jan 1970 00:00:01 GMT</Last-Modified>"
    "<Content-Length>0</Content-Length></Properties><Metadata /></Blob>"
    "</Blobs><NextMarker>2!8!bWFy&amp;a2Vy</NextMarker></EnumerationResults>";

static void test_list_parse(void **state)
{
	struct seen s = {.stop_at = -1};
	char marker[128];

	assert_int_equal(
	    azure_list_parse(list_xml, sizeof(list_xml) - 1, collect, &s, marker, sizeof(marker)),
	    0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "db/a&b \xc3\xa9.json");
	assert_int_equal(s.sizes[0], 11);
	assert_int_equal(s.mtimes[0], 1795428000);
	assert_string_equal(s.names[1], "db/\x01x");
	assert_int_equal(s.sizes[1], 0);
	assert_int_equal(s.mtimes[1], 1);
	assert_string_equal(marker, "2!8!bWFy&a2Vy");

	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(
	    azure_list_parse(list_xml, sizeof(list_xml) - 1, collect, &s, marker, sizeof(marker)),
	    42);
}

static void test_list_parse_edges(void **state)
{
	static const char empty[] = "<?xml version=\"1.0\"?><EnumerationResults><Blobs />"
	                            "<NextMarker /></EnumerationResults>";
#define LM "<Last-Modified>Thu, 01 Jan 1970 00:00:01 GMT</Last-Modified>"
#define END "</EnumerationResults>"
	static const char *const bad[] = {
	    "<html>not a listing</html>",
	    "<EnumerationResults><Blobs><Blob><Name>x</Name>" LM "</Blob></Blobs>" END,
	    "<EnumerationResults><Blob><Name>x</Name><Content-Length>1x</Content-Length>" LM
	    "</Blob>" END,
	    "<EnumerationResults><Blob><Name>&bogus;</Name><Content-Length>1</Content-Length>" LM
	    "</Blob>" END,
	    "<EnumerationResults><Blob><Name><![CDATA[x]]></Name><Content-Length>1"
	    "</Content-Length>" LM "</Blob>" END,
	    "<EnumerationResults><Blob><Name>x</Name><Content-Length>1</Content-Length>" LM
	    "</Blob><Blob><Name>unterminated" END,
	    /* A body cut short is not a complete, shorter listing. */
	    "<EnumerationResults><Blob><Name>x</Name><Content-Length>1</Content-Length>" LM
	    "</Blob>",
	};
#undef LM
#undef END
	struct seen s = {.stop_at = -1};
	char marker[16] = "old";
	size_t i;

	assert_int_equal(
	    azure_list_parse(empty, sizeof(empty) - 1, collect, &s, marker, sizeof(marker)), 0);
	assert_int_equal(s.n, 0);
	assert_string_equal(marker, "");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    azure_list_parse(bad[i], strlen(bad[i]), collect, &s, marker, sizeof(marker)),
		    -EBADMSG);
	/* A marker longer than the caller's buffer is refused, not cut. */
	assert_int_equal(azure_list_parse(list_xml, sizeof(list_xml) - 1, collect, &s, marker, 5),
	                 -EBADMSG);
}

static void test_error_parse(void **state)
{
	static const char body[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
	    "<Message>Server failed to authenticate the request. Make sure the value of the "
	    "Authorization header is formed correctly including the signature.\n"
	    "RequestId:1\nTime:2026-11-23T10:00:00.000Z</Message></Error>";
	char code[64], msg[256];

	azure_error_parse(body, sizeof(body) - 1, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "AuthenticationFailed");
	assert_string_equal(msg, "Server failed to authenticate the request. Make sure the value "
	                         "of the Authorization header is formed correctly including the "
	                         "signature.");
	azure_error_parse(body, sizeof(body) - 1, code, sizeof(code), msg, 16);
	assert_string_equal(msg, "Server failed t");
	azure_error_parse("garbage", 7, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	/* The length bounds the scan: the tag past len is not seen. */
	azure_error_parse(body, 60, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_virtual_host),
	    cmocka_unit_test(test_parse_path_style),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_blob_url),
	    cmocka_unit_test(test_sts_doc_example),
	    cmocka_unit_test(test_sts_put_path_style),
	    cmocka_unit_test(test_sts_query_rules),
	    cmocka_unit_test(test_sign_rejects),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_sas_container),
	    cmocka_unit_test(test_sas_append),
	    cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_list_parse),
	    cmocka_unit_test(test_list_parse_edges),
	    cmocka_unit_test(test_error_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
