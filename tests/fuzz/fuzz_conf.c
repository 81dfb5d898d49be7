/*
 * libFuzzer target for the configuration parsers: followerd.conf text
 * (conf_parse) and attach configurations as JSON (conf_attach_from_json).
 *
 * Beyond "no crash, no leak", it checks the round trips the daemon relies
 * on: whatever parses is dumped, and the dump parses back to an equal
 * configuration; every attach configuration survives JSON and back.
 * Secret files are not read (CONF_SKIP_SECRETS): an input could name any
 * file on the machine.
 *
 *   make fuzz && build-fuzz/fuzz_conf -max_len=4096 corpus/
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_conf: %s\n%s\n", what, detail != NULL ? detail : "");
		abort();
	}
}

/* An attach configuration goes to JSON and comes back equal. */
static void json_round_trip(const struct conf_attach *a)
{
	char err[CONF_ERRLEN] = "";
	struct conf_attach *back = NULL;
	json_t *j = conf_attach_to_json(a);

	check(j != NULL, "conf_attach_to_json failed", a->name);
	int r = conf_attach_from_json(j, CONF_SKIP_SECRETS, &back, err, sizeof(err));
	check(r == 0, "conf_attach_from_json refused conf_attach_to_json's output", err);
	check(conf_attach_equal(a, back), "JSON round trip changed the configuration", a->name);
	conf_attach_free(back);
	json_decref(j);
}

static void fuzz_text(const char *text, size_t size)
{
	char err[CONF_ERRLEN] = "";
	struct conf *c = NULL, *again = NULL;
	struct conf_diff d;

	if (conf_parse("fuzz.conf", text, size, CONF_SKIP_SECRETS, &c, err, sizeof(err)) != 0) {
		check(err[0] != '\0', "an error without a message", NULL);
		return;
	}
	char *dump = conf_dump(c);
	check(dump != NULL, "conf_dump failed", NULL);
	int r = conf_parse("dump", dump, strlen(dump), CONF_SKIP_SECRETS, &again, err, sizeof(err));
	check(r == 0, "the dump does not parse", err);
	check(conf_diff(c, again, &d) == 0, "conf_diff failed", NULL);
	check(d.added.n + d.removed.n + d.changed.n + d.daemon.n == 0,
	      "the dump parses to another configuration", dump);
	conf_diff_clear(&d);
	for (size_t i = 0; i < c->nattach; i++)
		json_round_trip(c->attach[i]);
	free(dump);
	conf_free(again);
	conf_free(c);
}

static void fuzz_json(const char *text, size_t size)
{
	char err[CONF_ERRLEN] = "";
	struct conf_attach *a = NULL;
	json_t *v = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);

	if (v == NULL)
		return;
	if (conf_attach_from_json(v, CONF_SKIP_SECRETS, &a, err, sizeof(err)) == 0) {
		json_round_trip(a);
		conf_attach_free(a);
	} else {
		check(err[0] != '\0', "an error without a message", NULL);
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* JSON objects are tried as attach configurations, everything as text. */
	if (size > 0 && data[0] == '{')
		fuzz_json((const char *)data, size);
	fuzz_text((const char *)data, size);
	return 0;
}
