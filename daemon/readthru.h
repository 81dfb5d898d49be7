/*
 * readthru — the HTTP endpoint's read-through hook (http.h hooks.miss) over
 * lib/warm's demand API: an artifact not cached is fetched, verified and
 * committed, then served from the cache file; the errors become statuses.
 */
#ifndef FOLLOWERD_READTHRU_H
#define FOLLOWERD_READTHRU_H

struct http_miss;
struct warm;

/* hooks.miss with the warmer w (borrowed; NULL: none, http answers 503).
 * Takes the request over (1) unless w is NULL (0) or out of memory. */
int readthru_miss(struct warm *w, const struct http_miss *m);

#endif
