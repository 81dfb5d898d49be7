/*
 * azure — Azure Blob Storage URLs, Shared Key and SAS authorisation.
 *
 * Pure string functions shared by leaderctl's target (blocking curl) and
 * followerd's fetch path (curl multi): inputs are strings, outputs are URL
 * and header strings.  Nothing here does I/O, holds a curl handle or keeps
 * state.  Functions return 0 or a negative errno:
 *   -EINVAL   malformed input (URL, key, header set)
 *   -ENOBUFS  the caller's buffer is too small
 *   -ENOMEM   out of memory
 *   -EBADMSG  a response body that is not the XML the service sends
 *
 * Two URL styles name a container:
 *   virtual host  https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]
 *   path style    http://127.0.0.1:10000/ACCOUNT/CONTAINER[/PREFIX]
 * Path style is used when the host is an IP literal or "localhost" (Azurite,
 * the storage emulator).  For Shared Key the canonicalized resource is
 * "/ACCOUNT" + the URL's path, so a path-style request is signed over
 * "/ACCOUNT/ACCOUNT/CONTAINER/BLOB", which is what Azurite verifies.
 */
#ifndef FOLLOWERD_AZURE_H
#define FOLLOWERD_AZURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The x-ms-version we speak (leases, conditional Put Blob, List Blobs). */
#define AZURE_API_VERSION "2021-08-06"

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define AZURE_DATE_LEN 30
/* "SharedKey " + account + ":" + 44 base64 characters, and a NUL. */
#define AZURE_AUTH_MAX 128

#define AZURE_ACCOUNT_MAX 64
#define AZURE_CONTAINER_MAX 64
#define AZURE_PREFIX_MAX 1024
#define AZURE_ENDPOINT_MAX 512
#define AZURE_QUERY_MAX 4096

/* A container URL taken apart.  endpoint is what precedes the container in
 * every request URL: "https://ACCOUNT.blob.core.windows.net" or, path style,
 * "http://127.0.0.1:10000/ACCOUNT". */
struct azure_url {
	char endpoint[AZURE_ENDPOINT_MAX];
	char account[AZURE_ACCOUNT_MAX];
	char container[AZURE_CONTAINER_MAX];
	char prefix[AZURE_PREFIX_MAX]; /* "" or "a/b": no leading or trailing '/' */
	char query[AZURE_QUERY_MAX];   /* the URL's query without '?' (a SAS), or "" */
	bool https;
	bool path_style;
};

/* A request header as it will be sent; name is matched case-insensitively. */
struct azure_header {
	const char *name;
	const char *value;
};

/* Parses an http(s) container URL into *ret (untouched on failure).  The
 * account (3-24 lowercase letters and digits), container (3-63 of a-z 0-9 -)
 * and prefix (unreserved characters and '/') are validated; err gets one
 * line naming what is wrong. */
int azure_url_parse(const char *url, struct azure_url *ret, char *err, size_t errlen);

/* True when url's host is an IP literal or localhost (path-style URLs). */
bool azure_url_is_path_style(const char *url);

/* Writes the URL of blob path under u's container and prefix into buf:
 * endpoint/container[/prefix]/path[?query].  path is percent-encoded except
 * '/'.  A NULL path names the container itself (endpoint/container[?query],
 * no prefix: container operations such as List Blobs take the prefix as a
 * parameter).  query (NULL or "") is appended as given; u->query (a SAS) is
 * not added: see azure_sas_append. */
int azure_blob_url(const struct azure_url *u, const char *path, const char *query, char *buf,
                   size_t len);

/* Percent-encodes s into buf: everything but A-Z a-z 0-9 - . _ ~ (and '/'
 * when keep_slash). */
int azure_url_encode(const char *s, bool keep_slash, char *buf, size_t len);

/* Formats t as an RFC 1123 date for x-ms-date (locale independent). */
void azure_format_date(time_t t, char buf[AZURE_DATE_LEN]);

/* Parses an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT") into seconds
 * since the epoch. */
int azure_parse_date(const char *s, int64_t *ret);

/* Builds the Shared Key string-to-sign of a request to url (new string in
 * *ret, caller frees).  hdrs are every header the request will carry; the
 * standard ones (Content-Length, If-Match, Range, ...) and all x-ms-* ones
 * are signed, other names are ignored.  An x-ms-* name given twice, or a
 * name or value holding CR or LF, is -EINVAL.  Header values are trimmed, not otherwise folded:
 * send values without runs of white space. */
int azure_string_to_sign(const char *account, const char *method, const char *url,
                         const struct azure_header *hdrs, size_t nhdrs, char **ret);

/* Signs a request with the account's base64 Shared Key: writes the
 * Authorization header's value "SharedKey ACCOUNT:SIGNATURE" into buf
 * (AZURE_AUTH_MAX is enough).  The request must then be sent with exactly
 * hdrs (and url, method) as signed. */
int azure_sign_shared_key(const char *account, const char *key_b64, const char *method,
                          const char *url, const struct azure_header *hdrs, size_t nhdrs, char *buf,
                          size_t len);

/* A service SAS token for a whole container (sr=c) with permissions such as
 * "racwdl", valid from start (0: no start) to expiry, for http and https,
 * signed with the account key: "sv=...&sr=c&sp=...&se=...&spr=...&sig=...". */
int azure_sas_container(const char *account, const char *key_b64, const char *container,
                        const char *permissions, time_t start, time_t expiry, char *buf,
                        size_t len);

/* Appends a SAS token (a leading '?' is ignored) to url, with '&' when url
 * already has a query.  An empty or NULL sas copies url. */
int azure_sas_append(const char *url, const char *sas, char *buf, size_t len);

/* Copies url into buf for logs and error messages: every query value and any
 * user:password@ become "REDACTED".  The result is always NUL-terminated and
 * never holds a secret, even when truncated (-ENOBUFS then). */
int azure_redact_url(const char *url, char *buf, size_t len);

/* Takes the error <Code> and the first line of <Message> from an error
 * response body; either is "" when absent.  Never fails. */
void azure_error_parse(const char *body, size_t len, char *code, size_t codelen, char *msg,
                       size_t msglen);

/* Parses one List Blobs response page: calls fn for each <Blob> with its
 * decoded <Name>, <Content-Length> and <Last-Modified>, and writes
 * <NextMarker> (or "") into marker.  fn returning non-zero stops the parse
 * and that value is returned.  -EBADMSG on a malformed or unbounded page. */
typedef int (*azure_list_fn)(const char *name, uint64_t size, int64_t mtime, void *arg);
int azure_list_parse(const char *xml, size_t len, azure_list_fn fn, void *arg, char *marker,
                     size_t markerlen);

#endif
