/*
 * kql_json — the text of a dynamic value as Kusto writes it.  Kusto's
 * dynamic reals are .NET's round-trip form ("R": 15 significant digits
 * when they read back as the same double, else 17; the documentation's
 * series outputs show 0.69314718055994529 and 1.0986122886681098), with
 * ".0" on a whole number (111.0, [-1.0,1.0,3.0]) and a capital E.  The
 * writers of this engine differed: jansson's 17 digits (0.1 as
 * 0.10000000000000001), SQLite's 15 (0.6931471805599453 as
 * 0.693147180559945, another number), SQLite's json() the text as typed
 * ("2.50").  Every dynamic value built here goes through this writer.
 */
#ifndef FOLLOWERD_KQL_JSON_H
#define FOLLOWERD_KQL_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Room for any real's text (sign, 17 digits, point, exponent). */
#define KQL_JSON_REAL_LEN 32

/* r (finite) into buf as Kusto's dynamic value writes it; returns buf. */
char *kql_json_real(double r, char buf[KQL_JSON_REAL_LEN]);

/* r (finite) in C's exponent form (%.*e) with the fewest significant
 * digits, 1 to 17, that read back as r, into buf; returns that number of
 * digits. */
int kql_json_digits(double r, char buf[KQL_JSON_REAL_LEN]);

/* r (finite) in those digits, written out without an exponent from 1e-28
 * to 1e28 (1000, 0.00001): a decimal literal's text (decimal(0.2) is 0.2,
 * not 0.20000000000000001).  buf. */
char *kql_json_shortest(double r, char buf[KQL_JSON_REAL_LEN]);

/* v (borrowed) as compact JSON text, reals as kql_json_real writes them,
 * object keys in their order, or sorted when sorted; a new string the
 * caller frees, NULL on ENOMEM or an infinite or NaN real. */
char *kql_json_dump(const json_t *v, int sorted);

#endif
