/*
 * kql_pct — percentile's partial state as text (kql_pct.h).
 */
#include "query/kql_pct.h"

#include <stdint.h>
#include <string.h>

size_t kql_pct_size(size_t n)
{
	return 2 + n * KQL_PCT_DIGITS;
}

void kql_pct_write(const double *v, size_t n, bool integral, char *buf)
{
	*buf++ = integral ? 'i' : 'r';
	for (size_t i = 0; i < n; i++) {
		uint64_t w;
		memcpy(&w, &v[i], sizeof(w));
		/* the last letter holds the low 6 bits, the first the high 4 */
		for (int d = KQL_PCT_DIGITS - 1; d >= 0; d--, w >>= 6)
			buf[d] = (char)('0' + (w & 63));
		buf += KQL_PCT_DIGITS;
	}
	*buf = '\0';
}

long kql_pct_count(const char *text, size_t len, bool *ret_integral)
{
	if (len < 1 || (text[0] != 'i' && text[0] != 'r') || (len - 1) % KQL_PCT_DIGITS != 0)
		return -1;
	*ret_integral = text[0] == 'i';
	return (long)((len - 1) / KQL_PCT_DIGITS);
}

int kql_pct_read(const char *text, size_t n, double *out)
{
	const unsigned char *s = (const unsigned char *)text + 1;

	for (size_t i = 0; i < n; i++) {
		uint64_t w = 0;
		for (int d = 0; d < KQL_PCT_DIGITS; d++, s++) {
			unsigned b = (unsigned)*s - '0';
			/* the first letter's 4 bits, the others' 6 */
			if (b >= (d == 0 ? 16u : 64u))
				return -1;
			w = w << 6 | b;
		}
		memcpy(&out[i], &w, sizeof(w));
	}
	return 0;
}
