#!/usr/bin/env bash
# query_admin — administering KQL queries from the official Node SDK
# (azure-kusto-data in tests/node_modules) against a real followerd: .show
# queries lists running and recent queries (a caller its own, an admin
# everyone's) with ADX's columns, a running query's RowCount the rows
# answered so far; .cancel query stops a running one (its
# client raises Kusto's cancellation), refuses others' queries and names an
# unknown id; a client that disconnects cancels its query and frees its
# worker at once; past max_concurrent_queries a query waits
# query_queue_timeout and is refused with 429, which the SDK raises as its
# ThrottlingError (while .show queries and .cancel query still get
# through), and while it waits it is listed Queued and can be cancelled
# (its client gets Kusto's cancellation at once); past query_max_memory a make_list, make_set or percentile fails
# with E_RUNAWAY_QUERY naming the bound, and the daemon answers the next
# query; database("X").T reads another followed database the caller may
# read (a table of the same name stays apart), 403 for one it may not, a
# semantic error naming an unknown one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

need_kusto_sdk

sdk_port

L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Code:long' >/dev/null
lc "$L" set-caching-policy Logs 3650d >/dev/null
lc "$L" add-principal Logs viewers 'aaduser=viewer@x' >/dev/null
lc "$L" add-principal Logs viewers 'aaduser=other@x' >/dev/null
lc "$L" add-principal Logs admins 'aaduser=admin@x' >/dev/null
awk 'BEGIN { for (i = 0; i < 50; i++) printf "2026-12-01T%02d:00:00Z,host%d,%d\n", i % 24, i % 3, i }' >"$T/e.csv"
lc "$L" ingest Logs Events "$T/e.csv" --format csv >/dev/null
# Ops has a table named Events too; Secret is not the viewer's.
lc "$L" create-database Ops >/dev/null
lc "$L" create-table Ops Events 'Host:string,Rack:long' >/dev/null
lc "$L" add-principal Ops viewers 'aaduser=viewer@x' >/dev/null
printf 'host0,10\nhost1,11\nhost2,12\n' >"$T/ops.csv"
lc "$L" ingest Ops Events "$T/ops.csv" --format csv >/dev/null
lc "$L" create-database Secret >/dev/null
lc "$L" create-table Secret T 'x:long' >/dev/null

write_tokens "$T/tokens" viewer other admin
{
	daemon_conf "listen = 127.0.0.1:$PORT" "tokens_file = $T/tokens" \
		"max_concurrent_queries = 3" "query_queue_timeout = 2s" "query_max_memory = 4M"
	attach_conf logs "$L" Logs
	attach_conf ops "$L" Ops
	attach_conf secret "$L" Secret
} >"$CONF"
start_listening
wait_for "the leader's Logs is applied" 20 at_version logs "$L" Logs
wait_for "the leader's Ops is applied" 20 at_version ops "$L" Ops
loaded() { [ "$(loaded_extents "$1" Events)" = 1 ]; }
wait_for "the extents are loaded" 30 eval 'loaded Logs && loaded Ops'

cat >"$T/check.mjs" <<'EOF'
const { SDK, URL: url } = process.env;
const { Client, KustoConnectionStringBuilder, ClientRequestProperties } = await import(`${SDK}/index.js`);
let failed = 0;
function check(what, ok, detail) {
	console.log(`${ok ? "ok" : "not ok"} - ${what}`);
	if (!ok) { failed++; if (detail !== undefined) console.log(`# ${JSON.stringify(detail)}`); }
}
const client = (who) => new Client(KustoConnectionStringBuilder.withAccessToken(url, `tok-${who}`));
const viewer = client("viewer"), other = client("other"), admin = client("admin");
const rows = (r) => [...r.primaryResults[0].rows()].map((x) => x.toJSON());
const props = (id) => { const p = new ClientRequestProperties(); p.clientRequestId = id; return p; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A query that runs for minutes unless stopped (a range of 2e9 rows).
const SLOW = "range x from 1 to 2000000000 step 1 | summarize count()";

async function queries(who) { return rows(await who.execute("Logs", ".show queries")); }
async function find(who, id) { return (await queries(who)).find((q) => q.ClientActivityId === id); }
async function waitState(who, id, state, ms = 10000) {
	const end = Date.now() + ms;
	for (;;) {
		const q = await find(who, id);
		if (q?.State === state || Date.now() > end) return q;
		await sleep(50);
	}
}
async function raises(what, promise, test) {
	try { await promise; check(what, false, "no error"); return null; } catch (e) {
		check(what, test(e), { name: e.name, status: e.response?.status, data: e.response?.data,
			message: e.message?.slice(0, 400) });
		return e;
	}
}
// A raw query its caller can abandon (the connection closes).
function raw(id, csl = SLOW) {
	const ac = new AbortController();
	const p = fetch(`${url}/v2/rest/query`, { method: "POST", signal: ac.signal,
		headers: { authorization: "Bearer tok-viewer", "content-type": "application/json",
			"x-ms-client-request-id": id, "x-ms-app": "query_admin.sh" },
		body: JSON.stringify({ db: "Logs", csl }) }).then((r) => r.text()).catch(() => null);
	return { p, abort: () => ac.abort() };
}

// .show queries and .cancel query.
const slow = viewer.execute("Logs", SLOW, props("QA;slow-1"));
slow.catch(() => {});
let q = await waitState(viewer, "QA;slow-1", "InProgress");
check(".show queries: the caller sees its running query with ADX's columns",
	q?.Text === SLOW && q.Database === "Logs" && q.User === "aaduser=viewer@x" &&
	q.StartedOn instanceof Date && /^[0-9a-f-]{36}$/.test(q.RootActivityId ?? ""), q);
check("... another user does not", (await find(other, "QA;slow-1")) === undefined);
check("... an admin of the database does", (await find(admin, "QA;slow-1"))?.State === "InProgress");
await raises("another user may not cancel it (400, as unknown to him)",
	other.execute("Logs", '.cancel query "QA;slow-1"'),
	(e) => e.response?.status === 400 && /QA;slow-1/.test(e.response.data.error["@message"]));
await raises(".cancel query of an unknown id: 400 naming it",
	admin.execute("Logs", '.cancel query "QA;nope"'),
	(e) => e.response?.status === 400 && e.response.data.error.code === "BadRequest_EntityNotFound" &&
		/'QA;nope'/.test(e.response.data.error["@message"]));
let t0 = Date.now();
let r = rows(await admin.execute("Logs", '.cancel query "QA;slow-1" with (reason = "too slow")'));
check(".cancel query by an admin", r[0]?.ClientActivityId === "QA;slow-1" &&
	r[0].CancellationState === "Cancelled successfully", r);
await raises("the cancelled query's client raises Kusto's cancellation", slow,
	(e) => /Query was cancelled \(E_QUERY_CANCELLED\).*admin@x.*too slow/.test(e.message));
console.log(`cancel to the client's error: ${Date.now() - t0} ms`);
q = await waitState(viewer, "QA;slow-1", "Cancelled");
check(".show queries: Cancelled, with the reason", q?.State === "Cancelled" &&
	/admin@x/.test(q.FailureReason) && q.Duration !== undefined, q);
r = rows(await admin.execute("Logs", '.cancel query "QA;slow-1"'));
check("... cancelling it again: 'Cancel failed', it is no longer running",
	r[0]?.CancellationState === "Cancel failed" && /no longer running/.test(r[0].ReasonPhrase), r);

// A running query's RowCount is the rows answered so far.
const streaming = raw("QA;rows-1", "range x from 1 to 2000000000 step 1 | where x % 100000 == 0");
q = await waitState(viewer, "QA;rows-1", "InProgress");
for (const end = Date.now() + 10000; q?.State === "InProgress" && !(q.RowCount > 0) && Date.now() < end;
	q = await find(viewer, "QA;rows-1"))
	await sleep(100);
const first = q?.RowCount;
await sleep(500);
q = await find(viewer, "QA;rows-1");
check(".show queries: a running query's RowCount grows as it answers rows",
	q?.State === "InProgress" && first > 0 && q.RowCount > first, { first, q });
streaming.abort();
await waitState(viewer, "QA;rows-1", "Cancelled");

// Completed and failed queries are kept.
await viewer.execute("Logs", "Events | take 7", props("QA;take-1"));
q = await find(viewer, "QA;take-1");
check("a completed query: Completed, its rows counted", q?.State === "Completed" &&
	q.RowCount === 7 && q.ResultSetStatistics?.TablesStatistics?.[0]?.RowCount === 7, q);
await raises("a syntax error", viewer.execute("Logs", "Events | whre", props("QA;bad-1")), () => true);
q = await find(viewer, "QA;bad-1");
check("... is Failed, with the error", q?.State === "Failed" && /could not be parsed/.test(q.FailureReason), q);
r = rows(await viewer.execute("Logs", ".show running queries"));
check(".show running queries: none now", r.length === 0, r);

// A client that disconnects cancels its query; the workers are free at once.
const gone = [raw("QA;gone-1"), raw("QA;gone-2")];
for (const id of ["QA;gone-1", "QA;gone-2"]) await waitState(viewer, id, "InProgress");
await sleep(300); /* both are on the workers now */
t0 = Date.now();
gone.forEach((g) => g.abort());
const states = [await waitState(viewer, "QA;gone-1", "Cancelled"), await waitState(viewer, "QA;gone-2", "Cancelled")];
check("disconnected clients: their queries are Cancelled",
	states.every((s) => s?.State === "Cancelled" && /closed its connection/.test(s.FailureReason)), states);
console.log(`disconnect to Cancelled: ${Date.now() - t0} ms`);
t0 = Date.now();
r = rows(await viewer.execute("Logs", "Events | count"));
const took = Date.now() - t0;
check(`... and the next query runs at once (${took} ms)`, r[0]?.Count === 50 && took < 2000, r);

// max_concurrent_queries = 3: a fourth waits 2 s, then 429 (the SDK's ThrottlingError).
const busy = [raw("QA;t-1"), raw("QA;t-2"), raw("QA;t-3")];
for (const id of ["QA;t-1", "QA;t-2", "QA;t-3"]) await waitState(viewer, id, "InProgress");
t0 = Date.now();
await raises("past max_concurrent_queries: the SDK raises ThrottlingError",
	viewer.execute("Logs", "print 1"),
	(e) => e.name === "ThrottlingError" && /429/.test(e.message));
const waited = Date.now() - t0;
check(`... after waiting query_queue_timeout (${waited} ms)`, waited >= 1900 && waited < 6000);
// While it waits: Queued in .show queries, and .cancel query answers it at once.
const queued = fetch(`${url}/v2/rest/query`, { method: "POST",
	headers: { authorization: "Bearer tok-viewer", "content-type": "application/json",
		"x-ms-client-request-id": "QA;queued-1" },
	body: JSON.stringify({ db: "Logs", csl: "print 'waiting'" }) })
	.then(async (res) => ({ status: res.status, body: await res.text(), at: Date.now() }));
q = await waitState(viewer, "QA;queued-1", "Queued", 1500);
check(".show queries: a query waiting for a slot is Queued", q?.State === "Queued" &&
	q.Text === "print 'waiting'" && q.User === "aaduser=viewer@x" && q.Database === "Logs", q);
r = rows(await viewer.execute("Logs", ".show running queries"));
check("... and listed by .show running queries", r.some((x) => x.ClientActivityId === "QA;queued-1"), r);
t0 = Date.now();
r = rows(await admin.execute("Logs", '.cancel query "QA;queued-1" with (reason = "not now")'));
check("... .cancel query cancels it", r[0]?.CancellationState === "Cancelled successfully", r);
const qa = await queued;
check(`... its client gets Kusto's cancellation at once (${qa.at - t0} ms), not the 429`,
	qa.status === 503 && /E_QUERY_CANCELLED.*admin@x.*not now/.test(qa.body) && qa.at - t0 < 1500, qa);
q = await find(viewer, "QA;queued-1");
check("... and it is listed Cancelled, with the reason", q?.State === "Cancelled" &&
	/not now/.test(q.FailureReason), q);
await raises("a refused query of its own", viewer.execute("Logs", "print 2", props("QA;throttled-1")),
	(e) => e.name === "ThrottlingError");
q = await find(viewer, "QA;throttled-1");
check("... is listed Throttled by .show queries", q?.State === "Throttled" && q.Text === "print 2" &&
	/max_concurrent_queries/.test(q.FailureReason), q);
for (const id of ["QA;t-1", "QA;t-2", "QA;t-3"]) {
	r = rows(await admin.execute("Logs", `.cancel query "${id}"`));
	if (r[0]?.CancellationState !== "Cancelled successfully") check(`cancel ${id}`, false, r);
}
check("... .cancel query still gets through while every slot is held", true);
await Promise.all(busy.map((b) => b.p));
r = rows(await viewer.execute("Logs", "print x = 1"));
check("... and afterwards queries run", r[0]?.x === 1, r);

// query_max_memory = 4M.
for (const [id, csl] of [
	["QA;mem-1", "range x from 1 to 2000000 step 1 | summarize make_list(x)"],
	["QA;mem-2", "range x from 1 to 300000 step 1 | summarize make_set(parse_json(tostring(x)))"],
	["QA;mem-3", "range x from 1 to 2000000 step 1 | summarize percentile(x, 50)"]]) {
	await raises(`past query_max_memory, ${csl.split("| ")[1]} fails with E_RUNAWAY_QUERY`,
		viewer.execute("Logs", csl, props(id)),
		(e) => /E_RUNAWAY_QUERY/.test(e.message + JSON.stringify(e.response?.data ?? "")) &&
			/4194304 bytes \(query_max_memory\)/.test(e.message + JSON.stringify(e.response?.data ?? "")));
}
q = await find(viewer, "QA;mem-1");
check("... .show queries: Failed, naming the bound", q?.State === "Failed" && /query_max_memory/.test(q.FailureReason), q);
r = rows(await viewer.execute("Logs", "range x from 1 to 1000 step 1 | summarize n = array_length(make_list(x)), p = percentile(x, 50)"));
check("... a query within the bound runs", r[0]?.n === 1000 && r[0]?.p === 500, r);

// database("X").T
r = rows(await viewer.execute("Logs", 'database("Ops").Events | count'));
check('database("Ops").Events: the other database\'s table of the same name', r[0]?.Count === 3, r);
r = rows(await viewer.execute("Logs", 'Events | summarize n = count() by Host | join kind=inner (database("Ops").Events) on Host | project Host, n, Rack | order by Host asc'));
check("... joined with the request database's", JSON.stringify(r) ===
	JSON.stringify([{ Host: "host0", n: 17, Rack: 10 }, { Host: "host1", n: 17, Rack: 11 }, { Host: "host2", n: 16, Rack: 12 }]), r);
await raises('database("Secret"), which the caller may not read: 403 naming it',
	viewer.execute("Logs", 'database("Secret").T | count'),
	(e) => e.response?.status === 403 && /'Secret'/.test(e.response.data.error["@message"]));
await raises('database("Nope"): a semantic error naming it',
	viewer.execute("Logs", 'database("Nope").T | count'),
	(e) => e.response?.status === 400 && e.response.data.error["@errorCode"] === "SEM0100" &&
		/'Nope'/.test(e.response.data.error["@message"]));

// Semantic errors as ADX reports them (code and words), raised by the SDK.
for (const [csl, code, re] of [
	["Events | where Nope > 1", "SEM0100", /Failed to resolve scalar expression named 'Nope'/],
	["Events | extend x = nofunc(Code)", "SEM0260", /Unknown function: 'nofunc'/],
	["Events | where Code == 'x'", "SEM0101", /Cannot compare values of types long and string/],
	["NoTable | count", "SEM0100", /Failed to resolve table expression named 'NoTable'/]]) {
	await raises(`${csl}: ${code}`, viewer.execute("Logs", csl),
		(e) => e.response?.status === 400 && e.response.data.error["@errorCode"] === code &&
			re.test(e.response.data.error["@message"]) &&
			e.response.data.error["@type"] === "Kusto.Data.Exceptions.SemanticException");
}
process.exit(failed ? 1 : 0);
EOF
SDK=$SDK URL=$URL node "$T/check.mjs" >"$T/node.out" 2>&1
relay_tap "$T/node.out" $?
check "followerd is still running" kill -0 "$FPID"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
