/*
 * utf8 — one check every JSON writer of followerd shares: the length of a
 * valid UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF), so
 * bytes that are not text become U+FFFD rather than invalid JSON.
 */
#ifndef FOLLOWERD_UTF8_H
#define FOLLOWERD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 when
 * there is none. */
size_t utf8_seq(const unsigned char *s, size_t n);

/* Whether the n bytes at s are valid UTF-8 sequences, all of them. */
bool utf8_valid(const unsigned char *s, size_t n);

#endif
