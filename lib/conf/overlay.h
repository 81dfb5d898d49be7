/*
 * overlay — the admin's run-time changes to the attached database
 * configurations, layered over followerd.conf.
 *
 * An overlay holds at most one entry per attach name, each a small JSON
 * object that the daemon persists in the state store (store_overlay_*):
 *   {"attach": {...}}    an attach made by an admin (PUT on the admin surface;
 *                        conf_attach_to_json's members).  It wins over a
 *                        file section of the same name.
 *   {"detached": {...}}  a file-defined attach an admin detached (DELETE):
 *                        the file's section as it was then.  It stays hidden
 *                        while the file's section is unchanged; editing the
 *                        section brings the attach back.
 *   {"settings": {...}}  the follower's settings an admin changed with the
 *                        Kusto control commands on a file-defined attach:
 *                        only the changed members (hot_cache, hot_window,
 *                        table_hot_cache, admins, users, viewers, monitors,
 *                        principals_modification_kind,
 *                        caching_policies_modification_kind, prefetch), each
 *                        the new value or null (unset).  Each overrides the
 *                        file's value of that member until an admin sets it
 *                        back to the file's value (the member is then
 *                        dropped), PUTs or DELETEs the attach.
 * (Control commands on an admin-made attach change its "attach" entry.)
 *
 * overlay_compose builds the effective configuration (what sync, the cache
 * warmer, http and the Kusto surface work with) from the file's and the
 * overlay, at start, on SIGHUP and after each run-time change.
 *
 * Pure functions, no I/O but conf_attach_from_json's reading of secret
 * files.  Errors: 0 or a negative errno with one line in err (errlen bytes):
 * -EINVAL (malformed entry or attach: the message names the member),
 * -EEXIST (an attach would land on a local database another one names),
 * -E2BIG, -ENOMEM.
 */
#ifndef FOLLOWERD_OVERLAY_H
#define FOLLOWERD_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "conf/conf.h"

#define OVERLAY_MAX_ENTRY ((size_t)256 << 10) /* bytes of one entry's JSON text */

struct overlay;

/* A new empty overlay (*ret); 0 or -ENOMEM. */
int overlay_new(struct overlay **ret);

/* Accepts NULL. */
void overlay_free(struct overlay *o);

/* A deep copy (*ret); 0 or -ENOMEM. */
int overlay_copy(const struct overlay *o, struct overlay **ret);

/* Sets the entry of name from its JSON text (as stored; checked for shape,
 * not against the configuration), or removes it when text is NULL. */
int overlay_set(struct overlay *o, const char *name, const char *text, char *err, size_t errlen);

/* The entry of name as JSON text (a new string, caller frees) into *ret;
 * *ret NULL when there is none.  0 or -ENOMEM. */
int overlay_get(const struct overlay *o, const char *name, char **ret);

/* Where the attach name of the effective configuration comes from:
 * "admin" for an admin-made attach, else "file". */
const char *overlay_source(const struct overlay *o, const char *name);

/* Called by overlay_compose for an entry that could not apply (borrowed
 * strings). */
typedef void overlay_warn_fn(void *arg, const char *name, int error, const char *why);

/* The effective configuration: a new one (*ret, conf_free) with file's
 * [daemon] settings and attaches (secrets included) changed by every entry
 * of o.  An entry that does not apply (a local database clash, a setting the
 * file's attach refuses) is skipped and reported to warn (may be NULL),
 * except the entry of strict (may be NULL): then compose fails with its
 * error. */
int overlay_compose(const struct overlay *o, const struct conf *file, const char *strict,
                    overlay_warn_fn *warn, void *arg, struct conf **ret, char *err, size_t errlen);

/* ---- building entries ---- */

/* The entry text of an admin-made attach a (a new string) into *ret. */
int overlay_entry_attach(const struct conf_attach *a, char **ret);

/* The entry text that detaches name: NULL (no entry) when file has no such
 * attach, else {"detached": the file's section}.  0 or -ENOMEM. */
int overlay_entry_detach(const struct conf *file, const char *name, char **ret);

/* The entry text after the follower's settings of attach next->name changed
 * from cur to next (both borrowed; cur is the effective one): for an
 * admin-made attach (o's entry is "attach") the whole of next, otherwise the
 * entry's settings with the members that changed, dropping those that are
 * back to file's value.  *ret NULL: no entry is needed any more. */
int overlay_entry_settings(const struct overlay *o, const struct conf *file,
                           const struct conf_attach *cur, const struct conf_attach *next,
                           char **ret);

#endif
