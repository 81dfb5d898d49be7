/*
 * timefmt — Kusto datetime and timespan values.
 *
 * Times are Kusto ticks (100 ns) in an int64_t: datetimes count from the Unix
 * epoch (UTC), timespans are durations.  Used by the protocol (canonical
 * forms), the config file and the CLIs (friendly forms such as "7d").
 */
#ifndef FOLLOWERD_TIMEFMT_H
#define FOLLOWERD_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_TICKS_PER_SEC INT64_C(10000000)
#define TIMEFMT_DATETIME_LEN 32 /* buffer size for a formatted datetime */
#define TIMEFMT_TIMESPAN_LEN 40

/* Parses "YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z" (years 0001-9999); 0 or -EINVAL.
 * *ret untouched on failure. */
int timefmt_parse_datetime(const char *s, int64_t *ret);

/* Formats as "YYYY-MM-DDTHH:MM:SS.fffffffZ" (7 fraction digits, Kusto's
 * form) into buf (>= TIMEFMT_DATETIME_LEN); returns buf. */
char *timefmt_format_datetime(int64_t ticks, char *buf);

/* Parses Kusto's timespan "[-][d.]hh:mm:ss[.f{1,7}]"; 0 or -EINVAL. */
int timefmt_parse_timespan(const char *s, int64_t *ret);

/* Parses the friendly forms too: "7d", "12h", "30m", "1.5h", "90s",
 * "100ms", "0" and the Kusto form; 0 or -EINVAL. */
int timefmt_parse_duration(const char *s, int64_t *ret);

/* Formats as Kusto does: "7.00:00:00", "00:30:00", "1.02:03:04.5000000"
 * (days only when non-zero, fraction only when non-zero); returns buf. */
char *timefmt_format_timespan(int64_t ticks, char *buf);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day
 * 1-31, not checked): for parsers of other datetime forms (lib/data). */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The current time in ticks since the epoch (CLOCK_REALTIME). */
int64_t timefmt_now(void);

#endif
