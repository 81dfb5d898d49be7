#!/usr/bin/env bash
# lib/kusto's v1 output read by the official Node SDK (azure-kusto-data
# 7.0.4, in tests/node_modules): the SDK's response parser must give back
# typed values (guid, datetime, timespan, long, int, real, bool, dynamic)
# from `kustofmt types`, and its Client, talking HTTP to a small node server
# that answers POST /v1/rest/mgmt with `kustofmt serve` (and 404 on
# /v1/rest/auth/metadata, as followerd does), must read every .show answer,
# send control commands, and see Kusto's error bodies on refusals.
source "$(dirname "$0")/lib.sh"

KUSTOFMT=$TOOLS/kustofmt
need_kusto_sdk
[ -x "$KUSTOFMT" ] || { not_ok "kustofmt is built ($KUSTOFMT)"; done_testing; }

cat >"$T/check.mjs" <<'EOF'
// Prints "ok - what" / "not ok - what" lines for the shell to count.
import http from "node:http";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";

const { SDK, KUSTOFMT } = process.env;
const { Client, KustoConnectionStringBuilder, ClientRequestProperties } = await import(`${SDK}/index.js`);
const { KustoResponseDataSetV1 } = await import(`${SDK}/response.js`);

let failed = 0;
function check(what, ok, detail) {
	console.log(`${ok ? "ok" : "not ok"} - ${what}`);
	if (!ok) {
		failed++;
		if (detail !== undefined) console.log(`# ${JSON.stringify(detail)}`);
	}
}

// ---- the SDK's v1 parser on `kustofmt types` ----
const types = JSON.parse(execFileSync(KUSTOFMT, ["types"]).toString());
const ds = new KustoResponseDataSetV1(types);
check("one primary result", ds.primaryResults.length === 1);
const table = ds.primaryResults[0];
check("column types are read from ColumnType", table.columns.map((c) => c.type).join() ===
	"string,datetime,timespan,long,int,real,bool,guid,dynamic", table.columns);
const [row, nulls] = [...table.rows()];
check("string", row.Name === 'café "quoted"', row.Name);
check("datetime parses to a Date", row.When instanceof Date &&
	row.When.toISOString() === "2024-02-29T12:34:56.789Z", row.When);
check("timespan parses to milliseconds", row.Took === (7 * 24 + 3) * 3600e3 + 500, row.Took);
check("long is a number", row.Count === 9007199254740991, row.Count);
check("int is a number", row.Small === -2147483648, row.Small);
check("real is a number", row.Ratio === -0.00125, row.Ratio);
check("bool is a boolean", row.Ok === true, row.Ok);
check("guid is a lowercase string", row.Id === "0f8fad5b-d9cb-469f-a165-70867728950e", row.Id);
check("dynamic is the JSON value", isDeepStrictEqual(row.Payload, { a: [1, "x"], b: null }),
	row.Payload);
check("nulls stay null", nulls.When === null && nulls.Took === null && nulls.Count === null &&
	nulls.Id === null && nulls.Payload === null, nulls.toJSON());

// ---- the Client over HTTP ----
const fmt = spawn(KUSTOFMT, ["serve"], { stdio: ["pipe", "pipe", "inherit"] });
const lines = createInterface({ input: fmt.stdout })[Symbol.asyncIterator]();
const seen = { metadata: 0, bodies: [] };
let queue = Promise.resolve();

const server = http.createServer((req, res) => {
	let body = "";
	req.on("data", (d) => (body += d));
	req.on("end", () => {
		if (req.method === "GET" && req.url === "/v1/rest/auth/metadata") {
			seen.metadata++;
			res.writeHead(404).end();
			return;
		}
		if (req.method !== "POST" || req.url !== "/v1/rest/mgmt") {
			res.writeHead(405).end();
			return;
		}
		seen.bodies.push(JSON.parse(body));
		// One request at a time through kustofmt: a line in, a line out.
		queue = queue.then(async () => {
			fmt.stdin.write(body.replace(/\n/g, " ") + "\n");
			const { value } = await lines.next();
			const sp = value.indexOf(" ");
			res.writeHead(Number(value.slice(0, sp)), { "Content-Type": "application/json" });
			res.end(value.slice(sp + 1));
		});
	});
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}`;
const client = new Client(KustoConnectionStringBuilder.withAccessToken(url, "test-token"));

async function mgmt(db, csl, props) {
	const r = await client.executeMgmt(db, csl, props);
	return [...r.primaryResults[0].rows()];
}

try {
	let rows = await mgmt("Sales", ".show databases");
	check("the SDK asked /v1/rest/auth/metadata and took the 404", seen.metadata === 1, seen);
	check("the request body has db and csl", seen.bodies[0].db === "Sales" &&
		seen.bodies[0].csl === ".show databases", seen.bodies[0]);
	check(".show databases: two rows", rows.length === 2, rows.map((r) => r.toJSON()));
	const sales = rows.find((r) => r.DatabaseName === "Sales");
	check(".show databases: typed columns", sales.IsCurrent === true && sales.ReservedSlot1 === false &&
		sales.DatabaseId === "0f8fad5b-d9cb-469f-a165-70867728950e" && sales.Version === "v42.0" &&
		sales.DatabaseAccessMode === "ReadOnlyFollowing", sales.toJSON());

	rows = await mgmt("Sales", ".show table T extents");
	const x = rows[0];
	check(".show table extents: datetimes are Dates", x.MaxCreatedOn instanceof Date &&
		x.MaxCreatedOn.toISOString() === "2024-01-01T01:00:00.000Z" &&
		x.MinCreatedOn.toISOString() === "2024-01-01T00:00:00.000Z", x.toJSON());
	check(".show table extents: numbers", x.RowCount === 1000 && x.OriginalSize === 4096 &&
		x.CompressedSize === 1024 && x.ExtentId === "11111111-2222-3333-4444-555555555555",
		x.toJSON());

	rows = await mgmt("Sales", ".show database Sales schema as json");
	const schema = JSON.parse(rows[0].DatabaseSchema);
	check(".show database schema as json: the schema parses",
		schema.Databases.Sales.Tables.T.OrderedColumns[0].CslType === "datetime", schema);

	rows = await mgmt("Sales", ".show table T schema as json");
	check(".show table schema as json", rows[0].TableName === "T" &&
		JSON.parse(rows[0].Schema).OrderedColumns.length === 2 && rows[0].Folder === "Logs",
		rows[0].toJSON());

	rows = await mgmt("Sales", ".show tables");
	check(".show tables", rows.length === 1 && rows[0].DocString === "A table", rows);

	rows = await mgmt("Sales", ".show database Sales policy caching");
	check(".show database policy caching: the policy's JSON",
		JSON.parse(rows[0].Policy).DataHotSpan.Value === "7.00:00:00" &&
		rows[0].EntityName === "[Sales]", rows[0].toJSON());

	rows = await mgmt("Sales", ".show database Sales principals");
	check(".show database principals", rows[0].Role === "Database Sales Admin" &&
		rows[0].PrincipalFQN === "aaduser=alice@contoso.com", rows[0].toJSON());

	// Client request properties go as an object; the decoder takes them.
	const props = new ClientRequestProperties();
	props.setOption("servertimeout", 60000);
	props.setParameter("x", "y");
	rows = await mgmt("Sales", ".alter follower database Sales policy caching hot = 3d", props);
	check("the request properties were sent", typeof seen.bodies.at(-1).properties === "object",
		seen.bodies.at(-1));
	check(".alter follower database answers the new settings",
		JSON.parse(rows[0].CachingPolicyOverride).DataHotSpan.Value === "3.00:00:00",
		rows[0].toJSON());
	await mgmt("Sales", ".alter follower database Sales prefetch-extents = true");
	rows = await mgmt("", ".show follower database Sales");
	check("the change is there on the next request", rows[0].IsAutoPrefetchEnabled === true &&
		JSON.parse(rows[0].CachingPolicyOverride).DataHotSpan.Value === "3.00:00:00" &&
		rows[0].CachingPoliciesModificationKind === "Union", rows[0].toJSON());

	async function refused(what, db, csl, status, code, says) {
		try {
			await client.executeMgmt(db, csl);
			check(what, false, "no error");
		} catch (e) {
			const err = e.response?.data?.error;
			check(what, e.response?.status === status && err?.code === code &&
				err["@message"].includes(says) && err["@permanent"] === true &&
				typeof err["@type"] === "string" && typeof err.message === "string",
				{ status: e.response?.status, err });
		}
	}
	await refused("a write is refused as read-only (400)", "Sales", ".drop table T", 400,
		"General_BadRequest", "read-only follower database");
	await refused("a syntax error names the offset (400)", "Sales", ".show tabels", 400,
		"BadRequest_SyntaxError", "at offset 6");
	await refused("an unknown database (404)", "Sales", ".show database Nope extents", 404,
		"BadRequest_DatabaseNotExist", "Database 'Nope' was not found");
	await refused("an unknown table (404)", "Sales", ".show table Nope extents", 404,
		"BadRequest_TableNotExist", "Table 'Nope'");
} catch (e) {
	check("no unexpected exception", false, String(e.stack || e));
}
server.close();
fmt.stdin.end();
process.exit(failed ? 1 : 0);
EOF

SDK=$SDK KUSTOFMT=$KUSTOFMT timeout 60 node "$T/check.mjs" >"$T/node.out" 2>&1
rc=$?
relay_tap "$T/node.out" "$rc"
check_eq "the node checks ran to the end" 0 "$rc"
done_testing
