/*
 * kql_fold — Unicode lower and upper case of UTF-8 text (kql_fold.h).
 *
 * The mapping comes from glibc's C.UTF-8 locale through a locale_t of our
 * own (newlocale), so the process's locale is never changed; where that
 * locale is missing only ASCII letters change case.
 */
#include "query/kql_fold.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "util/utf8.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void load_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

bool kql_fold_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static unsigned decode(const unsigned char *s, size_t len)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = s[0] & lead_mask[len];

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

static size_t encode(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned ascii(unsigned cp, bool upper)
{
	if (upper)
		return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
	return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
}

static unsigned one(unsigned cp, bool upper)
{
	wint_t m;

	if (cp < 0x80 || utf8_locale == (locale_t)0)
		return ascii(cp, upper);
	m = upper ? towupper_l((wint_t)cp, utf8_locale) : towlower_l((wint_t)cp, utf8_locale);
	/* A mapping must stay a scalar value: never a surrogate or beyond. */
	return m > 0x10ffff || (m >= 0xd800 && m <= 0xdfff) ? cp : (unsigned)m;
}

static unsigned map(unsigned cp, enum kql_fold_to to)
{
	if (to != KQL_FOLD_CASE)
		return one(cp, to == KQL_FOLD_UPPER);
	if (cp == 0x131 || cp == 0x17f) /* ı, ſ: not i and s (kql_fold.h) */
		return cp;
	return one(one(cp, true), false);
}

char *kql_fold(const char *s, enum kql_fold_to to)
{
	size_t n = strlen(s), i = 0, w = 0;
	/* A code point's case partner needs at most 1.5 times its bytes. */
	char *out = malloc(2 * n + 1);

	if (out == NULL)
		return NULL;
	(void)pthread_once(&once, load_locale);
	while (i < n) {
		size_t len = utf8_seq((const unsigned char *)s + i, n - i);
		if (len == 0) {
			out[w++] = s[i++];
			continue;
		}
		w += encode(map(decode((const unsigned char *)s + i, len), to), out + w);
		i += len;
	}
	out[w] = '\0';
	return out;
}
