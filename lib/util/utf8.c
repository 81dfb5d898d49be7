/*
 * utf8 — the length of a valid UTF-8 sequence, and whether a text is
 * all valid sequences (utf8.h).
 */
#include "util/utf8.h"

/* The length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 when
 * there is none. */
size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned cp, c = s[0];
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(s + i, n - i)) == 0)
			return false;
	return true;
}
