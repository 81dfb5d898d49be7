#!/usr/bin/env bash
# kusto_daemon — followerd's Kusto management endpoint and admin surface,
# driven by the official Node SDK (azure-kusto-data, tests/node_modules) and
# curl, against a real directory leader followed by a real followerd:
#   - every .show command on the followed data, typed;
#   - every follower control command by an admin (answered with the new
#     settings), refused 403 for a viewer; a write refused as read-only;
#   - principals-modification-kind none / union deciding whether a
#     follower-only viewer may read;
#   - the changes persisted in the state store: the same after a restart
#     and after SIGHUP;
#   - /v1/admin/attachments on the admin socket: list, PUT (400 naming the
#     member, 409 on a taken local database), DELETE (404 unknown; a
#     file-defined attach stays detached across restart and reload).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

SDK=$E2E_ROOT/tests/node_modules/azure-kusto-data/dist-esm/src
command -v node >/dev/null || skip_all "node is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -f "$SDK/index.js" ] || skip_all "azure-kusto-data is not installed (make test-deps)"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SOCK=$T/admin.sock
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- the leader: Logs (Events: 3 extents, policies, principals), Metrics ----
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'ts:datetime,msg:string' --folder App --docstring 'app events' >/dev/null
for n in a b c; do ingest "$L" Logs Events "$n" >/dev/null; done
lc "$L" set-caching-policy Logs 7d >/dev/null
lc "$L" set-caching-policy Logs --table Events 2d >/dev/null
lc "$L" add-principal Logs admins 'aaduser=admin@x' --name Admin >/dev/null
lc "$L" add-principal Logs viewers 'aaduser=viewer@x' --name Viewer >/dev/null
lc "$L" create-database Metrics >/dev/null
lc "$L" create-table Metrics Cpu 'ts:datetime,v:real' >/dev/null

for p in admin viewer fviewer other; do echo "aaduser=$p@x $(sha "tok-$p")"; done >"$T/tokens"
chmod 600 "$T/tokens"
{
	daemon_conf "listen = 127.0.0.1:$PORT" "admin_socket = $SOCK" "tokens_file = $T/tokens"
	attach_conf logs "$L" Logs 'admins = aaduser=admin@x'
} >"$CONF"

start() {
	start_follower
	wait_port "$PORT" 10 || { diag "followerd did not listen"; tail -20 "$FLOG"; exit 1; }
}
start
wait_for "the leader's Logs is applied" 10 at_version logs "$L" Logs

# ---- the SDK ----
cat >"$T/check.mjs" <<'EOF'
// node check.mjs PHASE: prints "ok - what" / "not ok - what" lines.
const { SDK, URL: url, PHASE } = process.env;
const { Client, KustoConnectionStringBuilder } = await import(`${SDK}/index.js`);

let failed = 0;
function check(what, ok, detail) {
	console.log(`${ok ? "ok" : "not ok"} - ${PHASE}: ${what}`);
	if (!ok) {
		failed++;
		if (detail !== undefined) console.log(`# ${JSON.stringify(detail)}`);
	}
}
const clients = {};
for (const who of ["admin", "viewer", "fviewer", "other"])
	clients[who] = new Client(KustoConnectionStringBuilder.withAccessToken(url, `tok-${who}`));

async function mgmt(who, db, csl) {
	const r = await clients[who].executeMgmt(db, csl);
	return [...r.primaryResults[0].rows()];
}
async function refused(what, who, db, csl, status, code, says) {
	try {
		await clients[who].executeMgmt(db, csl);
		check(what, false, "no error");
	} catch (e) {
		const err = e.response?.data?.error;
		check(what, e.response?.status === status && err?.code === code &&
			(says === undefined || err["@message"].includes(says)),
			{ status: e.response?.status, err });
	}
}
const follower = async (who) => (await mgmt(who, "Logs", ".show follower database Logs"))[0];
const hot = (json) => JSON.parse(json)?.DataHotSpan?.Value;

async function shows() {
	let rows = await mgmt("viewer", "", ".show databases");
	check(".show databases: Logs, typed", rows.length === 1 && rows[0].DatabaseName === "Logs" &&
		/^v[0-9]+\.0$/.test(rows[0].Version) && typeof rows[0].IsCurrent === "boolean" &&
		rows[0].DatabaseAccessMode === "ReadOnlyFollowing", rows.map((r) => r.toJSON()));
	rows = await mgmt("viewer", "", ".show version");
	check(".show version (ADX's web UI asks it first)", rows.length === 1 &&
		rows[0].ServiceType === "Engine" && /^[0-9.]+$/.test(rows[0].BuildVersion),
		rows.map((r) => r.toJSON()));
	rows = await mgmt("viewer", "Logs", ".show tables");
	check(".show tables", rows.length === 1 && rows[0].TableName === "Events" &&
		rows[0].Folder === "App" && rows[0].DocString === "app events", rows.map((r) => r.toJSON()));
	rows = await mgmt("viewer", "Logs", ".show table Events schema as json");
	check(".show table schema as json", JSON.parse(rows[0].Schema).OrderedColumns
		.map((c) => c.Name + ":" + c.CslType).join() === "ts:datetime,msg:string", rows[0].toJSON());
	rows = await mgmt("viewer", "Logs", ".show database Logs schema as json");
	check(".show database schema as json",
		Object.keys(JSON.parse(rows[0].DatabaseSchema).Databases.Logs.Tables).join() === "Events");
	rows = await mgmt("viewer", "Logs", ".show database Logs extents");
	check(".show database extents: 3, typed", rows.length === 3 && rows.every((x) =>
		x.TableName === "Events" && typeof x.RowCount === "number" &&
		x.MinCreatedOn instanceof Date && /^[0-9a-f-]{36}$/.test(x.ExtentId)),
		rows.map((r) => r.toJSON()));
	rows = await mgmt("viewer", "Logs", ".show table Events extents");
	check(".show table extents", rows.length === 3, rows.length);
	rows = await mgmt("viewer", "Logs", ".show database Logs policy caching");
	check(".show database policy caching: the leader's 7d", hot(rows[0].Policy) === "7.00:00:00",
		rows[0].toJSON());
	rows = await mgmt("viewer", "Logs", ".show table Events policy caching");
	check(".show table policy caching: the leader's 2d", hot(rows[0].Policy) === "2.00:00:00",
		rows[0].toJSON());
	rows = await mgmt("viewer", "Logs", ".show database Logs principals");
	const fqns = rows.map((r) => r.Role + " " + r.PrincipalFQN);
	check(".show database principals: leader's and follower's", fqns.includes(
		"Database Logs Admin aaduser=admin@x") && fqns.includes("Database Logs Viewer aaduser=viewer@x"),
		fqns);
	rows = await mgmt("viewer", "", ".show follower databases");
	check(".show follower databases", rows.length === 1 && rows[0].DatabaseName === "Logs" &&
		rows[0].AuthorizedPrincipalsModificationKind === "Union", rows.map((r) => r.toJSON()));
	await refused("a table that does not exist: 404", "viewer", "Logs", ".show table Nope extents",
		404, "BadRequest_TableNotExist");
	await refused("a database it may not see: 404", "other", "Logs", ".show database Logs extents",
		404, "BadRequest_DatabaseNotExist");
}

async function controls() {
	await refused("a viewer's control command: 403", "viewer", "Logs",
		".alter follower database Logs prefetch-extents = true", 403, "Forbidden");
	await refused("a write: read-only", "admin", "Logs", ".drop table Events", 400,
		"General_BadRequest", "read-only");
	let rows = await mgmt("admin", "Logs", ".alter follower database Logs policy caching hot = 3d");
	check(".alter follower database policy caching", hot(rows[0].CachingPolicyOverride) === "3.00:00:00",
		rows[0].toJSON());
	rows = await mgmt("admin", "Logs", ".delete follower database Logs policy caching");
	check(".delete follower database policy caching", rows[0].CachingPolicyOverride === null ||
		rows[0].CachingPolicyOverride === "", rows[0].toJSON());
	await mgmt("admin", "Logs", ".alter follower database Logs policy caching hot = 5d");
	rows = await mgmt("admin", "Logs", ".alter follower database Logs table Events policy caching hot = 1d");
	check(".alter follower database table policy caching", rows[0].TableMetadataOverrides.includes("Events"),
		rows[0].toJSON());
	await mgmt("admin", "Logs", ".alter follower database Logs tables (Events, Gone) policy caching hot = 4d");
	rows = await mgmt("admin", "Logs", ".delete follower database Logs table Gone policy caching");
	check(".delete follower database table policy caching", !rows[0].TableMetadataOverrides.includes("Gone"),
		rows[0].toJSON());
	await mgmt("admin", "Logs", ".add follower database Logs users ('aaduser=tmp@x')");
	rows = await mgmt("admin", "Logs", ".drop follower database Logs users ('aaduser=tmp@x')");
	check(".add / .drop follower database users", !rows[0].AuthorizedPrincipalsOverride.includes("tmp@x"),
		rows[0].toJSON());
	await refused("a follower-only principal cannot read yet", "fviewer", "Logs",
		".show database Logs extents", 404, "BadRequest_DatabaseNotExist");
	rows = await mgmt("admin", "Logs", ".add follower database Logs viewers ('aaduser=fviewer@x') 'added'");
	check(".add follower database viewers", rows[0].AuthorizedPrincipalsOverride.includes("fviewer@x"),
		rows[0].toJSON());
	rows = await mgmt("fviewer", "Logs", ".show database Logs extents");
	check("... union: the follower's viewer reads", rows.length === 3, rows.length);
	rows = await mgmt("admin", "Logs", ".alter follower database Logs principals-modification-kind = none");
	check(".alter principals-modification-kind = none", rows[0].AuthorizedPrincipalsModificationKind === "None",
		rows[0].toJSON());
	await refused("... none: the follower's viewer is refused", "fviewer", "Logs",
		".show database Logs extents", 404, "BadRequest_DatabaseNotExist");
	rows = await mgmt("viewer", "Logs", ".show table Events extents");
	check("... none: the leader's viewer still reads", rows.length === 3, rows.length);
	await mgmt("admin", "Logs", ".alter follower database Logs principals-modification-kind = union");
	rows = await mgmt("fviewer", "Logs", ".show table Events extents");
	check("... union again: the follower's viewer reads", rows.length === 3, rows.length);
	rows = await mgmt("admin", "Logs", ".alter follower database Logs caching-policies-modification-kind = replace");
	check(".alter caching-policies-modification-kind", rows[0].CachingPoliciesModificationKind === "Replace",
		rows[0].toJSON());
	rows = await mgmt("admin", "Logs", ".alter follower database Logs prefetch-extents = true");
	check(".alter prefetch-extents", rows[0].IsAutoPrefetchEnabled === true, rows[0].toJSON());
	rows = await mgmt("viewer", "Logs", ".show database Logs policy caching");
	check("the effective policy follows the override (replace: 5d)", hot(rows[0].Policy) === "5.00:00:00",
		rows[0].toJSON());
}

// What the controls left, as any later phase must still see it.
async function persisted() {
	const f = await follower("admin");
	check("the settings are kept", hot(f.CachingPolicyOverride) === "5.00:00:00" &&
		f.AuthorizedPrincipalsOverride.includes("fviewer@x") && f.IsAutoPrefetchEnabled === true &&
		f.CachingPoliciesModificationKind === "Replace" &&
		f.AuthorizedPrincipalsModificationKind === "Union" &&
		hot(JSON.stringify(JSON.parse(f.TableMetadataOverrides).Events.CachingPolicyOverride)) === "4.00:00:00", f.toJSON());
	const rows = await mgmt("fviewer", "Logs", ".show table Events extents");
	check("the follower's viewer still reads", rows.length === 3, rows.length);
}

try {
	if (PHASE === "first") {
		await shows();
		await controls();
	}
	await persisted();
} catch (e) {
	check("no unexpected exception", false, String(e.stack || e));
}
process.exit(failed ? 1 : 0);
EOF

# node_phase PHASE: runs the SDK checks, one TAP line each.
node_phase() {
	SDK=$SDK URL=$URL PHASE=$1 timeout 60 node "$T/check.mjs" >"$T/node.out" 2>&1
	local rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) diag "$line" ;;
		esac
	done <"$T/node.out"
	check_eq "the $1 node checks ran to the end" 0 "$rc"
}

node_phase first
check_eq "the changes are in the state store" 1 "$(q "SELECT count(*) FROM overlay WHERE name = 'logs'")"

stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
start
node_phase restart
reload
node_phase reload

# ---- /v1/admin/attachments on the admin socket (root: the superuser) ----
# adm METHOD PATH [BODY]: prints the status, the body in $T/body.
adm() {
	local data=()
	[ $# -lt 3 ] || data=(--data-binary "$3")
	curl -s --unix-socket "$SOCK" -o "$T/body" -w '%{http_code}' -X "$1" "${data[@]}" "http://admin$2"
}
body() { jq -r "$1" "$T/body" 2>/dev/null; }

check_eq "GET attachments: logs from the file" "200 logs file" \
	"$(adm GET /v1/admin/attachments) $(body '.attachments[] | .name + " " + .source')"
check_eq "... as conf_attach_to_json writes it" "$L Logs" \
	"$(body '.attachments[0] | .leader + " " + .database')"
check_eq "a viewer may not: 403" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tok-viewer' "$URL/v1/admin/attachments")"
check_eq "PUT a new attach: 200, from the admin" "200 metrics admin Metrics" \
	"$(adm PUT /v1/admin/attachments/metrics "{\"leader\":\"$L\",\"database\":\"Metrics\"}") $(body '.attachment | .name + " " + .source + " " + .database')"
wait_for "... it is followed" 10 at_version metrics "$L" Metrics
check_eq "PUT with a bad member: 400 naming it" "400 BadRequest hot_cache" \
	"$(adm PUT /v1/admin/attachments/bad "{\"leader\":\"$L\",\"database\":\"Metrics\",\"hot_cache\":\"soon\"}") $(body .error.code) $(body .error.message | grep -o hot_cache | head -1)"
check_eq "PUT with an unknown member: 400 naming it" "400 colour" \
	"$(adm PUT /v1/admin/attachments/bad "{\"leader\":\"$L\",\"database\":\"Metrics\",\"colour\":1}") $(body .error.message | grep -o colour | head -1)"
check_eq "PUT with a name not the path's: 400" 400 \
	"$(adm PUT /v1/admin/attachments/bad "{\"name\":\"other\",\"leader\":\"$L\",\"database\":\"Metrics\"}")"
check_eq "PUT onto a taken local database: 409" "409 Conflict" \
	"$(adm PUT /v1/admin/attachments/twin "{\"leader\":\"$L\",\"database\":\"Metrics\"}") $(body .error.code)"
check_eq "DELETE an unknown one: 404" 404 "$(adm DELETE /v1/admin/attachments/nope)"
check_eq "GET /v1/admin/attachments/x: 405" 405 "$(adm GET /v1/admin/attachments/x)"

stop_follower
start
check_eq "after a restart the admin's attach is there" "logs file,metrics admin" \
	"$(adm GET /v1/admin/attachments >/dev/null; body '[.attachments[] | .name + " " + .source] | join(",")')"
check_eq "DELETE a file-defined attach: 200" '200 logs' \
	"$(adm DELETE /v1/admin/attachments/logs) $(body .detached)"
wait_for "... it leaves the store" 10 not_in_store logs
stop_follower
start
check_eq "after a restart it stays detached" "metrics" \
	"$(adm GET /v1/admin/attachments >/dev/null; body '[.attachments[].name] | join(",")')"
reload
check_eq "... and after a reload" "metrics" \
	"$(adm GET /v1/admin/attachments >/dev/null; body '[.attachments[].name] | join(",")')"
check_eq "DELETE the admin's attach: 200" 200 "$(adm DELETE /v1/admin/attachments/metrics)"
wait_for "... it leaves the store" 10 not_in_store metrics
check_eq "/healthz stayed up" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"

stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
check_eq "no error was logged" "" "$(grep -E '^<[0-3]>' "$FLOG")"
done_testing
