#!/usr/bin/env bash
# kql_sdk — KQL queries from the official Node SDK (azure-kusto-data in
# tests/node_modules) against a real followerd following a real leader with
# typed data: execute (v2) and executeQueryV1 (v1) give typed values that
# match what this test computes from the CSV it published; the client's
# request id is echoed with an activity id; syntax and semantic errors are
# raised with Kusto's codes; a monitor may not query (403); truncation is
# reported so the SDK raises it, and `set notruncation;` lifts it; the
# fragmented v2 shape the Go SDK asks for; query_datascope=hotcache reads
# what is loaded and says what it skipped, while the default reads the
# cold extent through; avg of no values is "NaN", as ADX writes it, the
# infinities "Infinity" and "-Infinity"; a NaN the engine cannot hold raises.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

need_kusto_sdk

sdk_port

L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Latency:real,Code:long,Props:dynamic' >/dev/null
lc "$L" set-caching-policy Logs 30d >/dev/null
lc "$L" add-principal Logs viewers 'aaduser=viewer@x' >/dev/null
lc "$L" add-principal Logs monitors 'aaduser=mon@x' >/dev/null
# 3 hot extents of 40 rows; one cold (created 2020: outside the 30d span)
for e in 1 2 3; do
	awk -v e="$e" 'BEGIN { for (i = 0; i < 40; i++)
		printf "2026-12-0%dT%02d:00:00Z,host%d,%d.25,%d,\"{\"\"k\"\":%d}\"\n", e, i % 24, i % 4, i, 200 + (i % 3) * 100, i }' >"$T/e$e.csv"
	lc "$L" ingest Logs Events "$T/e$e.csv" --format csv >/dev/null
done
cat "$T"/e?.csv >"$T/all.csv"
printf '2020-01-01T00:00:00Z,old,1.0,1,{}\n' >"$T/cold.csv"
lc "$L" ingest Logs Events "$T/cold.csv" --format csv --created-on 2020-01-01T00:00:00Z >/dev/null

write_tokens "$T/tokens" viewer mon
{
	daemon_conf "listen = 127.0.0.1:$PORT" "tokens_file = $T/tokens"
	attach_conf logs "$L" Logs
} >"$CONF"
start_listening
wait_for "the leader's Logs is applied" 20 at_version logs "$L" Logs
loaded() { [ "$(loaded_extents Logs Events)" = 3 ]; }
wait_for "the 3 hot extents are loaded" 30 loaded

# What the answers must be, computed here from the CSV (not by followerd).
EXP_COUNT=$(wc -l <"$T/all.csv")
EXP_BYHOST=$(awk -F, '{ n[$2]++; s[$2] += $3 } END { for (h in n) printf "%s:%d:%.4f\n", h, n[h], s[h] / n[h] }' "$T/all.csv" | sort | paste -sd' ')
EXP_500=$(awk -F, '$4 == 500' "$T/all.csv" | wc -l)

cat >"$T/check.mjs" <<'EOF'
const { SDK, URL: url, EXP_COUNT, EXP_BYHOST, EXP_500 } = process.env;
const { Client, KustoConnectionStringBuilder, ClientRequestProperties } = await import(`${SDK}/index.js`);
let failed = 0;
function check(what, ok, detail) {
	console.log(`${ok ? "ok" : "not ok"} - ${what}`);
	if (!ok) { failed++; if (detail !== undefined) console.log(`# ${JSON.stringify(detail)}`); }
}
const viewer = new Client(KustoConnectionStringBuilder.withAccessToken(url, "tok-viewer"));
const mon = new Client(KustoConnectionStringBuilder.withAccessToken(url, "tok-mon"));
const rows = (r) => [...r.primaryResults[0].rows()];
async function raises(what, client, csl, test, props) {
	try {
		await client.execute("Logs", csl, props);
		check(what, false, "no error");
	} catch (e) {
		check(what, test(e), { status: e.response?.status, data: e.response?.data, message: e.message });
	}
}
const hot = new ClientRequestProperties();
hot.setOption("query_datascope", "hotcache");

let r = rows(await viewer.execute("Logs", "Events | count", hot));
check("execute (v2): Events | count", r.length === 1 && r[0].Count === Number(EXP_COUNT), r[0]?.toJSON());
r = rows(await viewer.execute("Logs", "Events | where Code == 500 | count", hot));
check("a filter", r[0].Count === Number(EXP_500), r[0].toJSON());
// declare query_parameters with the SDK's setParameter (a value is bound, never parsed as KQL)
const par = new ClientRequestProperties();
par.setOption("query_datascope", "hotcache");
par.setParameter("code", 300);
par.setParameter("since", "datetime(1900-01-01)");
const n300 = rows(await viewer.execute("Logs", "Events | where Code == 300 | count", hot))[0].Count;
r = rows(await viewer.execute("Logs", "declare query_parameters(code:long, since:datetime, " +
	"tag:string = 'x'); Events | where Code == code and Timestamp > since | summarize n = count(), t = take_any(tag)", par));
check("declare query_parameters, values from setParameter", n300 > 0 && r[0].n === n300 && r[0].t === "x",
	{ n300, got: r[0].toJSON() });
const bad = new ClientRequestProperties();
bad.setParameter("code", "1) | union Events");
await raises("a parameter's value that is no value of its type is refused, never parsed", viewer,
	"declare query_parameters(code:long); print code",
	(e) => /is no 'long' value/.test(e.response?.data?.error?.["@message"] ?? ""), bad);
r = rows(await viewer.execute("Logs", "Events | summarize n = count(), a = avg(Latency) by Host | order by Host asc", hot));
const got = r.map((x) => `${x.Host}:${x.n}:${x.a.toFixed(4)}`).join(" ");
check("summarize count, avg by Host", got === EXP_BYHOST, { got, want: EXP_BYHOST });
r = rows(await viewer.execute("Logs", "Events | where Code == 300 | top 1 by Timestamp desc | project Timestamp, Latency, Props, Host", hot));
check("typed values: a Date, a number, a dynamic object, a string",
	r[0].Timestamp instanceof Date && r[0].Timestamp.toISOString() === "2026-12-03T22:00:00.000Z" &&
	r[0].Latency === 22.25 && r[0].Props?.k === 22 && r[0].Host === "host2", r[0]?.toJSON());
const v1 = await viewer.executeQueryV1("Logs", "Events | count", hot);
check("executeQueryV1 (v1): the same count", rows(v1)[0].Count === Number(EXP_COUNT));
for (const [shape, run] of [["v2", (q) => viewer.execute("Logs", q, hot)], ["v1", (q) => viewer.executeQueryV1("Logs", q, hot)]]) {
	const nan = rows(await run("Events | where Code < 0 | summarize a = avg(Latency), n = count()"))[0];
	check(`avg of no values: NaN as Kusto's JSON writes it ("NaN"), ${shape}`, nan?.a === "NaN" && nan.n === 0, nan?.toJSON());
	// JSON has no infinities: Kusto writes the strings, which the Node SDK
	// passes on as they are (it converts no real).
	const inf = rows(await run("print a = 1.0 / 0, b = log(0), c = real(+inf) > 1e308, d = 2.5"))[0];
	check(`the infinities as Kusto's JSON writes them ("Infinity", "-Infinity"), ${shape}`,
		inf?.a === "Infinity" && inf.b === "-Infinity" && inf.c === true && inf.d === 2.5, inf?.toJSON());
}
await raises("a NaN the engine cannot hold is refused, naming the function and its position", viewer,
	"print x = 1 | extend y = sqrt(-1)",
	(e) => /'sqrt' gives NaN.*line 1, column 26/.test(e.message + JSON.stringify(e.response?.data ?? "")));

await raises("a syntax error raises with SYN0002", viewer, "Events | whre x",
	(e) => e.response?.status === 400 && e.response.data.error["@errorCode"] === "SYN0002");
await raises("an unknown column raises with SEM0100", viewer, "Events | where Nope > 1",
	(e) => e.response?.status === 400 && e.response.data.error["@errorCode"] === "SEM0100");
await raises("a monitor may not query (403)", mon, "Events | count", (e) => e.response?.status === 403);

const small = new ClientRequestProperties();
small.setOption("query_datascope", "hotcache");
small.setOption("truncationmaxrecords", 5);
await raises("truncation is raised by the SDK", viewer, "Events | take 20",
	(e) => /exceeded the internal record count limit 5/.test(e.message), small);
r = rows(await viewer.execute("Logs", "set notruncation; Events | take 20", small));
check("set notruncation; lifts it", r.length === 20, r.length);

// The fragmented v2 shape (the Go SDK asks for it), and the ids.
const res = await fetch(`${url}/v2/rest/query`, { method: "POST",
	headers: { authorization: "Bearer tok-viewer", "content-type": "application/json",
		"x-ms-client-request-id": "KGC.execute;42" },
	body: JSON.stringify({ db: "Logs", csl: "Events | take 3", properties: { Options: {
		results_v2_fragment_primary_tables: true, results_error_reporting_placement: "end_of_table",
		query_datascope: "hotcache" } } }) });
const frames = await res.json();
check("the client's request id is echoed, an activity id added",
	res.headers.get("x-ms-client-request-id") === "KGC.execute;42" &&
	/^[0-9a-f-]{36}$/.test(res.headers.get("x-ms-activity-id") ?? ""));
check("fragmented: header, TableHeader, TableFragment, TableCompletion, completion",
	frames[0].IsFragmented === true && frames[0].ErrorReportingPlacement === "EndOfTable" &&
	frames.map((f) => f.FrameType).join() ===
	"DataSetHeader,DataTable,TableHeader,TableFragment,TableCompletion,DataTable,DataSetCompletion",
	frames.map((f) => f.FrameType));
const props = frames.find((f) => f.TableKind === "QueryProperties");
// every answer has the Visualization property first (ADX's), null without render
check("@ExtendedProperties holds Visualization (null without render)",
	props.Rows[0][1] === "Visualization" && JSON.parse(props.Rows[0][2]).Visualization === null,
	props.Rows);
check("hotcache says how many extents it skipped",
	JSON.parse(props.Rows.find((r) => r[1] === "QueryDataScope")[2]).SkippedExtents === 1,
	props?.Rows);
// Last: reading the cold extent through loads it.
r = rows(await viewer.execute("Logs", "Events | count"));
check("without hotcache, the cold extent is read through: its row is counted",
	r[0]?.Count === Number(EXP_COUNT) + 1, r[0]?.toJSON());
process.exit(failed ? 1 : 0);
EOF
SDK=$SDK URL=$URL EXP_COUNT=$EXP_COUNT EXP_BYHOST=$EXP_BYHOST EXP_500=$EXP_500 \
	node "$T/check.mjs" >"$T/node.out" 2>&1
relay_tap "$T/node.out" $?
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
