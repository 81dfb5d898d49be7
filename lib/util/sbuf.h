/*
 * sbuf — a growable string that remembers running out of memory, so a
 * builder appends without a check per call and looks once at the end.
 */
#ifndef FOLLOWERD_SBUF_H
#define FOLLOWERD_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialised is empty; p is owned (free it), NUL-terminated once
 * anything was added. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed: p holds what came before it */
};

/* Appends n bytes of s (s may hold NULs). */
void sbuf_addn(struct sbuf *b, const char *s, size_t n);
/* Appends the string s. */
void sbuf_add(struct sbuf *b, const char *s);

#endif
