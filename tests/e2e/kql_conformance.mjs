// kql_conformance.mjs — the data and the queries of kql_conformance.sh.
// Each query runs through execute (v2) and executeQueryV1 (v1).
//
//   node kql_conformance.mjs gen DIR     writes DIR/{Events,Hosts}.schema and
//                                        DIR/Events.N.csv, DIR/Hosts.1.csv
//   SDK=… URL=… node kql_conformance.mjs check DIR
//                                        runs every query through the Node
//                                        SDK, prints TAP lines "ok - …"
//
// The data comes from a seeded generator, so both modes see the same rows
// without reading each other's files.  Each case's expected answer is
// computed here, in JavaScript, from those rows by Kusto's documented
// semantics (KUSTO.md, the KQL documentation): never copied from
// followerd's output.  Answers are compared typed: the column names and
// types, datetimes and timespans to the tick, reals with a tolerance,
// dynamic values structurally, order only where the query fixes one.
import { mkdirSync, writeFileSync } from "node:fs";

// ---- the data ----

function mulberry32(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const DAY = 86400000, HOUR = 3600000;
const BASE = Date.UTC(2026, 10, 1); // 2026-11-01T00:00:00Z
const EXTENTS = 4, PER_EXTENT = 150;
const LEVELS = ["Error", "error", "ERROR", "Warning", "warning", "Info", "Info", "Info", "info", "Debug", ""];
const HOSTS = ["host1", "host2", "host3", "host4", "host5", "HOST2", "web-01", ""];
const CODES = [200, 200, 200, 201, 301, 404, 500, 503];
const TAGS = ["red", "blue", "green", "Red"];
const EVENTS_SCHEMA = "Timestamp:datetime,Level:string,Host:string,Latency:real,Code:long,Bytes:int," +
	"Msg:string,Props:dynamic,Dur:timespan,Ok:bool,Tags:dynamic";
const HOSTS_SCHEMA = "Host:string,Region:string,Cores:long";
const DIM = [["host1", "eu", 4], ["host2", "us", 8], ["host3", "eu", 2], ["host4", "asia", 16],
	["web-01", "us", 4], ["db-9", "eu", 32]];

function generate() {
	const rnd = mulberry32(13);
	const pick = (a) => a[Math.floor(rnd() * a.length)];
	const int = (n) => Math.floor(rnd() * n);
	const maybe = (p, v) => (rnd() < p ? null : v);
	const msgs = [
		() => `user u${int(9)} logged in from 10.0.${int(4)}.${int(250)}`,
		() => `GET /api/v${1 + int(3)}/items?id=${int(1000)} returned ${pick(CODES)}`,
		() => `KustoExplorerQueryRun failed: Timeout after ${int(900)}ms`,
		() => `Disk usage at ${int(100)}% on /dev/sda${int(3)}`,
		() => "connection reset by peer",
		() => `TIMEOUT waiting for lock ${int(5)}`,
		() => "",
		() => `Error: code=${pick(CODES)}, retry=${rnd() < 0.5}`,
		() => `naïve Café "quoted" text ${int(10)}`,
	];
	const props = [
		() => ({ user: `u${int(5)}`, n: int(10), tags: [pick(TAGS), pick(TAGS)],
			geo: { city: pick(["Paris", "Oslo", "Lima"]), zip: String(10000 + int(80000)) } }),
		() => ({ user: `u${int(5)}`, n: 0 }),
		() => [1, 2, int(5)],
		() => ({}),
		() => null,
		() => ({ n: 2.5, tags: [] }),
	];
	const tags = [() => [pick(TAGS), pick(TAGS)], () => [], () => null, () => [pick(TAGS)],
		() => ["green", "red", "blue"]];
	const ev = [];
	for (let e = 0; e < EXTENTS; e++)
		for (let i = 0; i < PER_EXTENT; i++) {
			let ts = BASE + e * 2 * DAY + Math.floor(rnd() * 3 * DAY / 1000) * 1000;
			if (rnd() < 0.3) ts += int(1000);
			if (e === 2 && i < 2) ts = null;
			const dur = rnd() < 0.05 ? DAY + int(5 * HOUR) : int(2 * HOUR) + (rnd() < 0.5 ? int(1000) / 1000 : 0);
			ev.push({
				Timestamp: ts, Level: pick(LEVELS), Host: pick(HOSTS),
				Latency: maybe(0.1, int(50000) / 100), Code: maybe(0.05, pick(CODES)),
				Bytes: maybe(0.05, int(100000)), Msg: pick(msgs)(), Props: pick(props)(),
				Dur: maybe(0.08, dur), Ok: maybe(0.1, rnd() < 0.6), Tags: pick(tags)(), extent: e,
			});
		}
	const hosts = DIM.map(([Host, Region, Cores]) => ({ Host, Region, Cores }));
	return { ev, hosts };
}

// ---- Kusto text forms ----

const pad = (n, w = 2) => String(n).padStart(w, "0");
function dtText(ms) {
	const d = new Date(ms);
	return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
		`${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
		`${pad(d.getUTCMilliseconds(), 3)}0000Z`;
}
function tsText(ms) {
	let t = BigInt(Math.round(ms * 1e4));
	const neg = t < 0n;
	if (neg) t = -t;
	const f = t % 10000000n, s = (t / 10000000n) % 60n, m = (t / 600000000n) % 60n;
	const h = (t / 36000000000n) % 24n, d = t / 864000000000n;
	return `${neg ? "-" : ""}${d ? `${d}.` : ""}${pad(h)}:${pad(m)}:${pad(s)}` +
		`${f ? `.${String(f).padStart(7, "0")}` : ""}`;
}
function csvField(v, type) {
	if (v === null || v === undefined) return "";
	let s;
	if (type === "datetime") s = dtText(v);
	else if (type === "timespan") s = tsText(v);
	else if (type === "dynamic") s = JSON.stringify(v);
	else s = String(v);
	return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
function csv(rows, schema) {
	const cols = schema.split(",").map((c) => c.split(":"));
	return rows.map((r) => cols.map(([n, t]) => csvField(r[n], t)).join(",") + "\n").join("");
}

function gen(dir) {
	const { ev, hosts } = generate();
	mkdirSync(dir, { recursive: true });
	writeFileSync(`${dir}/Events.schema`, EVENTS_SCHEMA);
	writeFileSync(`${dir}/Hosts.schema`, HOSTS_SCHEMA);
	for (let e = 0; e < EXTENTS; e++)
		writeFileSync(`${dir}/Events.${e + 1}.csv`, csv(ev.filter((r) => r.extent === e), EVENTS_SCHEMA));
	writeFileSync(`${dir}/Hosts.1.csv`, csv(hosts, HOSTS_SCHEMA));
}

// ---- Kusto semantics in JavaScript (what the expected answers use) ----

const isNull = (v) => v === null || v === undefined;
const lower = (s) => s.toLowerCase();
const terms = (s) => s.split(/[^\p{L}\p{N}]+/u).filter((t) => t);
const has = (s, t) => terms(lower(s)).includes(lower(t));
const hasCs = (s, t) => terms(s).includes(t);
const hasPrefix = (s, t) => terms(lower(s)).some((x) => x.startsWith(lower(t)));
const hasSuffix = (s, t) => terms(lower(s)).some((x) => x.endsWith(lower(t)));
const contains = (s, t) => lower(s).includes(lower(t));
// null compares false with <, >, == and true with != (KUSTO.md).
const gt = (a, b) => !isNull(a) && a > b;
const ge = (a, b) => !isNull(a) && a >= b;
const lt = (a, b) => !isNull(a) && a < b;
const count = (rows) => rows.length;
function groupBy(rows, key) {
	const m = new Map();
	for (const r of rows) {
		const k = key(r);
		const ks = JSON.stringify(k);
		if (!m.has(ks)) m.set(ks, { key: k, rows: [] });
		m.get(ks).rows.push(r);
	}
	return [...m.values()];
}
const vals = (rows, f) => rows.map(f).filter((v) => !isNull(v));
const sum = (rows, f) => vals(rows, f).reduce((a, b) => a + b, 0);
const avg = (rows, f) => { const v = vals(rows, f); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; };
const max = (rows, f) => { const v = vals(rows, f); return v.length ? v.reduce((a, b) => (b > a ? b : a)) : null; };
const min = (rows, f) => { const v = vals(rows, f); return v.length ? v.reduce((a, b) => (b < a ? b : a)) : null; };
const dcount = (rows, f) => new Set(vals(rows, f).map((v) => JSON.stringify(v))).size;
// sort comparator: Kusto's, nulls last when descending and first when
// ascending unless the query says otherwise.
function cmp(a, b, desc, nullsFirst = !desc) {
	if (isNull(a) || isNull(b)) {
		if (isNull(a) && isNull(b)) return 0;
		return isNull(a) === nullsFirst ? -1 : 1;
	}
	const c = a < b ? -1 : a > b ? 1 : 0;
	return desc ? -c : c;
}
function sortBy(rows, ...keys) {
	return [...rows].sort((x, y) => {
		for (const [f, desc, nf] of keys) {
			const c = cmp(f(x), f(y), desc, nf);
			if (c) return c;
		}
		return 0;
	});
}
const binNum = (v, s) => (isNull(v) ? null : Math.floor(v / s) * s);
const startOfDay = (ms) => (isNull(ms) ? null : Math.floor(ms / DAY) * DAY);
const startOfWeek = (ms) => (isNull(ms) ? null : startOfDay(ms) - new Date(ms).getUTCDay() * DAY);
const startOfMonth = (ms) => { const d = new Date(ms); return isNull(ms) ? null : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); };
const startOfYear = (ms) => (isNull(ms) ? null : Date.UTC(new Date(ms).getUTCFullYear(), 0, 1));
const endOfDay = (ms) => (isNull(ms) ? null : BigInt(startOfDay(ms) + DAY) * 10000n - 1n);
const nonNullTs = (r) => !isNull(r.Timestamp);
function pct(rows, f, p) {
	const v = vals(rows, f).sort((a, b) => a - b);
	if (!v.length) return null;
	return v[Math.max(0, Math.ceil((p / 100) * v.length) - 1)];
}
// A value Kusto's estimate may give: one whose rank is within 1% of p.
function pctOk(rows, f, p, got) {
	const v = vals(rows, f).sort((a, b) => a - b);
	const lo = Math.max(0, Math.floor(((p - 1) / 100) * v.length) - 1);
	const hi = Math.min(v.length - 1, Math.ceil(((p + 1) / 100) * v.length));
	return got >= v[lo] && got <= v[hi];
}
const dyn = (v) => (v === undefined ? null : v);
const get = (o, k) => (o !== null && typeof o === "object" && !Array.isArray(o) && k in o ? o[k] : null);
const at = (o, i) => (Array.isArray(o) && i < o.length ? o[i] : null);
// tostring's text: a bool as .NET spells it (True, False), an object as JSON
const tostr = (v) => (isNull(v) ? "" : typeof v === "boolean" ? (v ? "True" : "False") : typeof v === "object" ? JSON.stringify(v) : String(v));
const substring = (s, i, n) => [...s].slice(i, n === undefined ? undefined : i + n).join("");
const roundTo = (x, d) => (isNull(x) ? null : Math.sign(x) * Math.round(Math.abs(x) * 10 ** d) / 10 ** d);

// ---- the cases ----
// {q, cols: "name:type,…", rows: (D) => [[…]], ordered, tol, sets: [col…]}
// or {q, cols, verify: (rows, D) => null | "what is wrong"} for answers
// Kusto leaves free (take_any, arg_max ties, percentile estimates).
// Datetimes are expected as ms (or BigInt ticks), timespans as ms.

const T0 = BASE + 2 * DAY + 6 * HOUR, T1 = BASE + 4 * DAY + 18 * HOUR;
const lit = (ms) => `datetime(${new Date(ms).toISOString()})`;

function cases(D) {
	const E = D.ev, H = D.hosts;
	const n = (f) => () => [[count(E.filter(f))]];
	const C = "Count:long";
	const cnt = (where, f) => ({ q: `Events | where ${where} | count`, cols: C, rows: n(f) });
	const list = [
		{ q: "Events | count", cols: C, rows: () => [[E.length]] },
		{ q: "Events | where Timestamp > ago(3650d) | count", cols: C, rows: n(nonNullTs) },
		cnt('Msg has "timeout"', (r) => has(r.Msg, "timeout")),
		cnt('Msg has_cs "TIMEOUT"', (r) => hasCs(r.Msg, "TIMEOUT")),
		cnt('Msg !has "timeout"', (r) => !has(r.Msg, "timeout")),
		cnt('Msg has "Explorer"', (r) => has(r.Msg, "Explorer")),
		cnt('Msg has "peer" and Msg has "reset"', (r) => has(r.Msg, "peer") && has(r.Msg, "reset")),
		cnt('Msg has_any ("timeout", "RESET")', (r) => has(r.Msg, "timeout") || has(r.Msg, "RESET")),
		cnt('Msg has_all (dynamic(["peer", "reset"]))', (r) => has(r.Msg, "peer") && has(r.Msg, "reset")),
		cnt('Msg hasprefix "kusto"', (r) => hasPrefix(r.Msg, "kusto")),
		cnt('Msg hassuffix "RUN"', (r) => hasSuffix(r.Msg, "RUN")),
		cnt('Msg contains "out"', (r) => contains(r.Msg, "out")),
		cnt('Msg !contains "OUT"', (r) => !contains(r.Msg, "OUT")),
		cnt('Msg contains_cs "Time"', (r) => r.Msg.includes("Time")),
		cnt('Msg contains "CAFÉ"', (r) => contains(r.Msg, "CAFÉ")),
		cnt('Msg startswith "get "', (r) => lower(r.Msg).startsWith("get ")),
		cnt('Msg endswith "PEER"', (r) => lower(r.Msg).endsWith("peer")),
		cnt('Level =~ "error"', (r) => lower(r.Level) === "error"),
		cnt('Level !~ "error"', (r) => lower(r.Level) !== "error"),
		cnt('Level == "Error"', (r) => r.Level === "Error"),
		cnt('Level != "Error"', (r) => r.Level !== "Error"),
		cnt('Host in ("host1", "HOST2")', (r) => ["host1", "HOST2"].includes(r.Host)),
		cnt('Host !in ("host1", "host2", "")', (r) => !["host1", "host2", ""].includes(r.Host)),
		cnt('Host in~ ("HOST1", "host2")', (r) => ["host1", "host2"].includes(lower(r.Host))),
		cnt("Code in (404, 503)", (r) => [404, 503].includes(r.Code)),
		cnt("Latency between (100.0 .. 200.0)", (r) => ge(r.Latency, 100) && r.Latency <= 200),
		cnt("Latency !between (100.0 .. 200.0)", (r) => !isNull(r.Latency) && (r.Latency < 100 || r.Latency > 200)),
		cnt(`Timestamp between (${lit(T0)} .. ${lit(T1)})`, (r) => ge(r.Timestamp, T0) && r.Timestamp <= T1),
		cnt(`Timestamp > ${lit(T0)} and Timestamp <= ${lit(T1)}`, (r) => gt(r.Timestamp, T0) && r.Timestamp <= T1),
		cnt('Msg matches regex @"^GET /api/v[12]/"', (r) => /^GET \/api\/v[12]\//.test(r.Msg)),
		cnt("Code == 500 and Latency > 250", (r) => r.Code === 500 && gt(r.Latency, 250)),
		cnt("Code == 500 or Latency < 10", (r) => r.Code === 500 || lt(r.Latency, 10)),
		cnt("not(Ok)", (r) => r.Ok === false),
		cnt("Ok", (r) => r.Ok === true),
		cnt("isnull(Latency)", (r) => isNull(r.Latency)),
		cnt("isnotnull(Code)", (r) => !isNull(r.Code)),
		cnt("isempty(Host)", (r) => r.Host === ""),
		cnt("isnotempty(Level)", (r) => r.Level !== ""),
		cnt("Latency != 100.5", (r) => r.Latency !== 100.5),
		cnt("Code != 200", (r) => r.Code !== 200),
		cnt("Latency == Latency", (r) => !isNull(r.Latency)),
		cnt("Dur > 1h", (r) => gt(r.Dur, HOUR)),
		cnt("Bytes >= 50000 and Bytes < 60000", (r) => ge(r.Bytes, 50000) && r.Bytes < 60000),
		{ q: "Events | where Code == 404 | project Timestamp, Host, Latency | sort by Timestamp asc, Host asc",
			cols: "Timestamp:datetime,Host:string,Latency:real", ordered: true,
			rows: () => sortBy(E.filter((r) => r.Code === 404), [(r) => r.Timestamp, false], [(r) => r.Host, false])
				.map((r) => [r.Timestamp, r.Host, r.Latency]) },
		{ q: "Events | where Code == 201 | project-away Msg, Props, Tags, Dur",
			cols: "Timestamp:datetime,Level:string,Host:string,Latency:real,Code:long,Bytes:int,Ok:bool",
			rows: () => E.filter((r) => r.Code === 201).map((r) => [r.Timestamp, r.Level, r.Host, r.Latency, r.Code, r.Bytes, r.Ok]) },
		{ q: "Events | project-rename When = Timestamp, Lat = Latency | where Code == 301 | project When, Lat | sort by When desc",
			cols: "When:datetime,Lat:real", ordered: true,
			rows: () => sortBy(E.filter((r) => r.Code === 301), [(r) => r.Timestamp, true]).map((r) => [r.Timestamp, r.Latency]) },
		{ q: "Events | extend L2 = Latency * 2, Kb = Bytes / 1024 | where Code == 503 | project L2, Kb, Bytes, Props",
			cols: "L2:real,Kb:long,Bytes:int,Props:dynamic",
			rows: () => E.filter((r) => r.Code === 503).map((r) => [isNull(r.Latency) ? null : r.Latency * 2,
				isNull(r.Bytes) ? null : Math.trunc(r.Bytes / 1024), r.Bytes, dyn(r.Props)]) },
		{ q: "Events | extend L = strlen(Msg) | summarize max(L) by Host", cols: "Host:string,max_L:long",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, max(g.rows, (r) => [...r.Msg].length)]) },
		// summarize and every aggregate
		{ q: "Events | summarize count() by Level", cols: "Level:string,count_:long",
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize countif(Code >= 500) by Host", cols: "Host:string,countif_:long",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, count(g.rows.filter((r) => ge(r.Code, 500)))]) },
		{ q: "Events | summarize sum(Bytes), sum(Latency), sum(Code) by Host", cols: "Host:string,sum_Bytes:long,sum_Latency:real,sum_Code:long",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, sum(g.rows, (r) => r.Bytes),
				sum(g.rows, (r) => r.Latency), sum(g.rows, (r) => r.Code)]) },
		{ q: "Events | summarize sumif(Latency, Code == 200) by Host", cols: "Host:string,sumif_Latency:real",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, sum(g.rows.filter((r) => r.Code === 200), (r) => r.Latency)]) },
		{ q: "Events | summarize avg(Latency), avgif(Latency, Ok), avg(Bytes) by Level",
			cols: "Level:string,avg_Latency:real,avgif_Latency:real,avg_Bytes:real",
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, avg(g.rows, (r) => r.Latency),
				avg(g.rows.filter((r) => r.Ok === true), (r) => r.Latency), avg(g.rows, (r) => r.Bytes)]) },
		{ q: "Events | summarize min(Latency), max(Latency), min(Timestamp), max(Timestamp), max(Dur) by Host",
			cols: "Host:string,min_Latency:real,max_Latency:real,min_Timestamp:datetime,max_Timestamp:datetime,max_Dur:timespan",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, min(g.rows, (r) => r.Latency), max(g.rows, (r) => r.Latency),
				min(g.rows, (r) => r.Timestamp), max(g.rows, (r) => r.Timestamp), max(g.rows, (r) => r.Dur)]) },
		{ q: "Events | summarize dcount(Host), dcount(Code), dcount(Latency) by Level",
			cols: "Level:string,dcount_Host:long,dcount_Code:long,dcount_Latency:long", dcount: [1, 2, 3],
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, dcount(g.rows, (r) => r.Host),
				dcount(g.rows, (r) => r.Code), dcount(g.rows, (r) => r.Latency)]) },
		{ q: "Events | summarize dcountif(Host, Code == 500) by Level", cols: "Level:string,dcountif_Host:long", dcount: [1],
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, dcount(g.rows.filter((r) => r.Code === 500), (r) => r.Host)]) },
		{ q: "Events | summarize dcount(Bytes)", cols: "dcount_Bytes:long", dcount: [0], rows: () => [[dcount(E, (r) => r.Bytes)]] },
		{ q: 'Events | where Host != "" | summarize make_set(Host) by Level', cols: "Level:string,set_Host:dynamic", sets: [1],
			rows: () => groupBy(E.filter((r) => r.Host !== ""), (r) => r.Level).map((g) => [g.key, [...new Set(g.rows.map((r) => r.Host))]]) },
		{ q: "Events | where Code == 404 | summarize make_list(Latency) by Host", cols: "Host:string,list_Latency:dynamic", sets: [1],
			rows: () => groupBy(E.filter((r) => r.Code === 404), (r) => r.Host).map((g) => [g.key, vals(g.rows, (r) => r.Latency)]) },
		{ q: "Events | where Code == 200 | summarize make_set(Tags) by Host", cols: "Host:string,set_Tags:dynamic", sets: [1],
			rows: () => groupBy(E.filter((r) => r.Code === 200), (r) => r.Host).map((g) =>
				[g.key, [...new Set(g.rows.flatMap((r) => r.Tags ?? []))]]) },
		{ q: "Events | summarize arg_max(Latency, Host, Code) by Level", cols: "Level:string,Latency:real,Host:string,Code:long",
			verify: (rows) => argCheck(rows, E, (r) => r.Latency, true, ["Host", "Code"]) },
		{ q: "Events | where isnotnull(Timestamp) | summarize arg_min(Timestamp, Msg) by Host", cols: "Host:string,Timestamp:datetime,Msg:string",
			rows: () => groupBy(E.filter(nonNullTs), (r) => r.Host).map((g) => {
				const m = min(g.rows, (r) => r.Timestamp);
				return [g.key, m, g.rows.find((r) => r.Timestamp === m).Msg];
			}) },
		{ q: "Events | summarize take_any(Code) by Host", cols: "Host:string,Code:long",
			verify: (rows) => rows.length !== groupBy(E, (r) => r.Host).length ? "groups" :
				rows.every(([h, c]) => E.some((r) => r.Host === h && r.Code === c)) ? null : "a value not in its group" },
		{ q: "Events | summarize percentile(Latency, 50) by Level", cols: "Level:string,percentile_Latency_50:real",
			verify: (rows) => {
				const g = groupBy(E, (r) => r.Level);
				if (rows.length !== g.length) return "groups";
				const bad = rows.filter(([l, v]) => !pctOk(E.filter((r) => r.Level === l), (r) => r.Latency, 50, v));
				return bad.length ? `off: ${JSON.stringify(bad)}` : null;
			} },
		{ q: "Events | summarize percentiles(Latency, 25, 75, 99), percentile(Bytes, 90)",
			cols: "percentile_Latency_25:real,percentile_Latency_75:real,percentile_Latency_99:real,percentile_Bytes_90:int",
			verify: ([[a, b, c, d]]) => [[a, 25], [b, 75], [c, 99]].every(([v, p]) => pctOk(E, (r) => r.Latency, p, v)) &&
				pctOk(E, (r) => r.Bytes, 90, d) ? null : "off" },
		{ q: "Events | summarize count() by bin(Timestamp, 1d)", cols: "Timestamp:datetime,count_:long",
			rows: () => groupBy(E, (r) => startOfDay(r.Timestamp)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize c = count() by bin(Timestamp, 6h), Level | where c > 3",
			cols: "Timestamp:datetime,Level:string,c:long",
			rows: () => groupBy(E, (r) => [binNum(r.Timestamp, 6 * HOUR), r.Level]).filter((g) => g.rows.length > 3)
				.map((g) => [...g.key, g.rows.length]) },
		{ q: "Events | summarize n = count(), total = sum(Bytes) by H = tolower(Host)", cols: "H:string,n:long,total:long",
			rows: () => groupBy(E, (r) => lower(r.Host)).map((g) => [g.key, g.rows.length, sum(g.rows, (r) => r.Bytes)]) },
		{ q: "Events | summarize count() by bin(Latency, 100.0)", cols: "Latency:real,count_:long",
			rows: () => groupBy(E, (r) => binNum(r.Latency, 100)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize count() by floor(Bytes, 25000)", cols: "Bytes:long,count_:long",
			rows: () => groupBy(E, (r) => binNum(r.Bytes, 25000)).map((g) => [g.key, g.rows.length]) },
		// bin_at: bins aligned on its fixed point, the key named as bin's
		{ q: "Events | summarize count() by bin_at(Bytes, 25000, 1000)", cols: "Bytes:long,count_:long",
			rows: () => groupBy(E, (r) => isNull(r.Bytes) ? null : 1000 + binNum(r.Bytes - 1000, 25000))
				.map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize count() by bin_at(Timestamp, 6h, datetime(1970-01-01 01:30))",
			cols: "Timestamp:datetime,count_:long",
			rows: () => groupBy(E, (r) => isNull(r.Timestamp) ? null : 1.5 * HOUR + binNum(r.Timestamp - 1.5 * HOUR, 6 * HOUR))
				.map((g) => [g.key, g.rows.length]) },
		{ q: "Events | where Code == 999 | summarize count(), sum(Latency), countif(Ok), dcount(Host)",
			cols: "count_:long,sum_Latency:real,countif_:long,dcount_Host:long", rows: () => [[0, 0, 0, 0]] },
		{ q: "Events | where Code == 999 | summarize count() by Host", cols: "Host:string,count_:long", rows: () => [] },
		{ q: "Events | summarize Total = sum(Dur) by Host", cols: "Host:string,Total:timespan",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, sum(g.rows, (r) => r.Dur)]) },
		{ q: "Events | summarize pct = round(100.0 * countif(Code >= 500) / count(), 2) by Level", cols: "Level:string,pct:real",
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, roundTo(100 * count(g.rows.filter((r) => ge(r.Code, 500))) / g.rows.length, 2)]) },
		// count, take, top, sort, distinct
		{ q: "Events | take 7 | count", cols: C, rows: () => [[7]] },
		{ q: "Events | limit 5 | project Host", cols: "Host:string",
			verify: (rows) => rows.length === 5 && rows.every(([h]) => E.some((r) => r.Host === h)) ? null : "not 5 rows of Events" },
		{ q: "Events | top 5 by Latency | project Latency", cols: "Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Latency, true]).slice(0, 5).map((r) => [r.Latency]) },
		{ q: "Events | top 5 by Latency asc | project Latency", cols: "Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Latency, false]).slice(0, 5).map((r) => [r.Latency]) },
		{ q: "Events | top 5 by Latency asc nulls last | project Latency", cols: "Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Latency, false, false]).slice(0, 5).map((r) => [r.Latency]) },
		{ q: "Events | top 3 by Latency desc nulls first | project Latency", cols: "Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Latency, true, true]).slice(0, 3).map((r) => [r.Latency]) },
		{ q: "Events | top 4 by Timestamp asc | project Timestamp, Level", cols: "Timestamp:datetime,Level:string",
			verify: (rows) => {
				const want = sortBy(E, [(r) => r.Timestamp, false]).slice(0, 4).map((r) => r.Timestamp);
				return eqv(rows.map((r) => r[0]), want, "datetime") ? null : `timestamps ${JSON.stringify(want.map(String))}`;
			} },
		{ q: "Events | sort by Host asc, Latency desc | project Host, Latency", cols: "Host:string,Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Host, false], [(r) => r.Latency, true]).map((r) => [r.Host, r.Latency]) },
		{ q: "Events | order by Code desc, Bytes asc | project Code, Bytes", cols: "Code:long,Bytes:int", ordered: true,
			rows: () => sortBy(E, [(r) => r.Code, true], [(r) => r.Bytes, false]).map((r) => [r.Code, r.Bytes]) },
		{ q: "Events | sort by Dur | take 3 | project Dur", cols: "Dur:timespan", ordered: true,
			rows: () => sortBy(E, [(r) => r.Dur, true]).slice(0, 3).map((r) => [r.Dur]) },
		{ q: "Events | distinct Level", cols: "Level:string", rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key]) },
		{ q: "Events | distinct Host, Code", cols: "Host:string,Code:long",
			rows: () => groupBy(E, (r) => [r.Host, r.Code]).map((g) => g.key) },
		// union
		{ q: "union withsource=Src Events, Hosts | summarize count() by Src", cols: "Src:string,count_:long",
			rows: () => [["Events", E.length], ["Hosts", H.length]] },
		{ q: "union Events, Hosts | where isnotempty(Region) | project Host, Region, Code",
			cols: "Host:string,Region:string,Code:long", rows: () => H.map((h) => [h.Host, h.Region, null]) },
		{ q: "Events | union (Hosts | project Host, Cores) | summarize sum(Cores), count()",
			cols: "sum_Cores:long,count_:long", rows: () => [[sum(H, (h) => h.Cores), E.length + H.length]] },
		{ q: "union withsource=T (Events | where Code == 500 | as Fives), Hosts | summarize count() by T",
			cols: "T:string,count_:long", rows: () => [["Fives", count(E.filter((r) => r.Code === 500))], ["Hosts", H.length]] },
		// wildcard names: the database's tables whose names match ('*'
		// anywhere, case-sensitive), withsource naming each table; and
		// project-away's, the input's columns
		{ q: "union withsource=Src * | summarize count() by Src", cols: "Src:string,count_:long",
			rows: () => [["Events", E.length], ["Hosts", H.length]] },
		{ q: "union withsource=Src E*t*s, H* | where isnotempty(Region) or Code == 404 | summarize count() by Src",
			cols: "Src:string,count_:long",
			rows: () => [["Events", count(E.filter((r) => r.Code === 404))], ["Hosts", H.length]].filter((g) => g[1] > 0) },
		{ q: 'Hosts | union withsource=Src database("Logs").*v*nts | where Code == 301 or Cores > 4 | project Src, Host, Cores',
			cols: "Src:string,Host:string,Cores:long",
			rows: () => [...H.filter((h) => h.Cores > 4).map((h) => ["Hosts", h.Host, h.Cores]),
				...E.filter((r) => r.Code === 301).map((r) => ["Events", r.Host, null])] },
		{ q: "Events | where Code == 201 | project-away *s, M*g, D*",
			cols: "Timestamp:datetime,Level:string,Host:string,Latency:real,Code:long,Ok:bool",
			rows: () => E.filter((r) => r.Code === 201).map((r) => [r.Timestamp, r.Level, r.Host, r.Latency, r.Code, r.Ok]) },
		// project-keep: the input's order; project-reorder: the items' first
		{ q: "Events | where Code == 201 | project-keep Latency, Ti*, Host",
			cols: "Timestamp:datetime,Host:string,Latency:real",
			rows: () => E.filter((r) => r.Code === 201).map((r) => [r.Timestamp, r.Host, r.Latency]) },
		{ q: "Events | where Code == 201 | project-reorder Code, L* desc | project-away Msg, Props, Tags, Dur",
			cols: "Code:long,Level:string,Latency:real,Timestamp:datetime,Host:string,Bytes:int,Ok:bool",
			rows: () => E.filter((r) => r.Code === 201).map((r) => [r.Code, r.Level, r.Latency, r.Timestamp, r.Host, r.Bytes, r.Ok]) },
		{ q: "Events | project-keep Host, Nope", error: /Failed to resolve column named 'Nope'/ },
		{ q: "union e*", error: /no table matches 'e\*'/ },
		{ q: "Events | project-away Host, *x*", error: /no column matches '\*x\*'/ },
		// join, every kind, and lookup
		...joinCases(E, H),
		// mv-expand
		{ q: "Events | mv-expand Tags | summarize count() by t = tostring(Tags)", cols: "t:string,count_:long",
			rows: () => groupBy(E.flatMap((r) => mvRows(r.Tags)), (t) => tostr(t)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | mv-expand t = Props.tags to typeof(string) | summarize count() by t", cols: "t:string,count_:long",
			rows: () => groupBy(E.flatMap((r) => mvRows(get(r.Props, "tags"))), (t) => tostr(t)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | where Code == 301 | mv-expand with_itemindex=i Tags | summarize count() by i", cols: "i:long,count_:long",
			rows: () => groupBy(E.filter((r) => r.Code === 301).flatMap((r) => mvRows(r.Tags).map((_, i) => i)), (i) => i)
				.map((g) => [g.key, g.rows.length]) },
		// let, as
		{ q: "let lim = 250.0; Events | where Latency > lim | count", cols: C, rows: n((r) => gt(r.Latency, 250)) },
		{ q: "let E5 = Events | where Code == 500; E5 | summarize count() by Host", cols: "Host:string,count_:long",
			rows: () => groupBy(E.filter((r) => r.Code === 500), (r) => r.Host).map((g) => [g.key, g.rows.length]) },
		{ q: "let f = (x:real) { x * 2 + 1 }; Events | summarize s = sum(f(Latency))", cols: "s:real",
			rows: () => [[sum(E, (r) => (isNull(r.Latency) ? null : r.Latency * 2 + 1))]] },
		{ q: "let byCode = (c:long) { Events | where Code == c }; byCode(404) | count", cols: C, rows: n((r) => r.Code === 404) },
		{ q: "Events | where Code == 503 | as Bad | count", cols: C, rows: n((r) => r.Code === 503) },
		// print, range, datatable, render
		{ q: 'print x = 1 + 2, y = strcat("a", "b"), z = 7 / 2, w = 7.0 / 2', cols: "x:long,y:string,z:long,w:real",
			rows: () => [[3, "ab", 3, 3.5]] },
		{ q: "range x from 1 to 20 step 3 | summarize sum(x), count()", cols: "sum_x:long,count_:long",
			rows: () => { const v = []; for (let x = 1; x <= 20; x += 3) v.push(x); return [[v.reduce((a, b) => a + b), v.length]]; } },
		{ q: 'datatable(Code:long, Name:string)[200, "OK", 404, "Not found", 999, "none"] | join kind=inner (Events | summarize n = count() by Code) on Code | project Name, n',
			cols: "Name:string,n:long",
			rows: () => [[200, "OK"], [404, "Not found"]].map(([c, name]) => [name, count(E.filter((r) => r.Code === c))]) },
		{ q: "Events | summarize count() by Level | render barchart", cols: "Level:string,count_:long",
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, g.rows.length]),
			// render is reported in the query properties (Visualization), as ADX does
			response: (res) => {
				const p = res.tables.find((t) => t.kind === "QueryProperties");
				const row = p?._rows.find((r) => r[1] === "Visualization");
				const v = row && (typeof row[2] === "string" ? JSON.parse(row[2]) : row[2]);
				return v?.Visualization === "barchart" ? null : `no Visualization barchart: ${JSON.stringify(p?._rows)}`;
			} },
		// datetime functions
		{ q: "Events | summarize count() by d = startofday(Timestamp)", cols: "d:datetime,count_:long",
			rows: () => groupBy(E, (r) => startOfDay(r.Timestamp)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize count() by w = startofweek(Timestamp), m = startofmonth(Timestamp), y = startofyear(Timestamp)",
			cols: "w:datetime,m:datetime,y:datetime,count_:long",
			rows: () => groupBy(E, (r) => [startOfWeek(r.Timestamp), startOfMonth(r.Timestamp), startOfYear(r.Timestamp)])
				.map((g) => [...g.key, g.rows.length]) },
		{ q: "Events | where Code == 201 | project e = endofday(Timestamp), w = dayofweek(Timestamp), h = datetime_part('hour', Timestamp)",
			cols: "e:datetime,w:timespan,h:int",
			rows: () => E.filter((r) => r.Code === 201).map((r) => [endOfDay(r.Timestamp),
				isNull(r.Timestamp) ? null : new Date(r.Timestamp).getUTCDay() * DAY,
				isNull(r.Timestamp) ? null : new Date(r.Timestamp).getUTCHours()]) },
		{ q: "Events | where Code == 301 | project a = datetime_add('day', 3, Timestamp), b = datetime_add('month', 1, Timestamp), c = datetime_add('minute', -90, Timestamp)",
			cols: "a:datetime,b:datetime,c:datetime",
			rows: () => E.filter((r) => r.Code === 301).map((r) => isNull(r.Timestamp) ? [null, null, null] : [r.Timestamp + 3 * DAY,
				addMonths(r.Timestamp, 1), r.Timestamp - 90 * 60000]) },
		{ q: `Events | where Code == 404 | project h = datetime_diff('hour', ${lit(BASE + 9 * DAY)}, Timestamp), d = datetime_diff('day', Timestamp, ${lit(BASE)}), m = datetime_diff('minute', ${lit(BASE)}, Timestamp)`,
			cols: "h:long,d:long,m:long",
			rows: () => E.filter((r) => r.Code === 404).map((r) => isNull(r.Timestamp) ? [null, null, null] : [
				Math.floor((BASE + 9 * DAY) / HOUR) - Math.floor(r.Timestamp / HOUR),
				Math.floor(r.Timestamp / DAY) - Math.floor(BASE / DAY),
				Math.floor(BASE / 60000) - Math.floor(r.Timestamp / 60000)]) },
		{ q: "Events | where Code == 200 | project f = format_datetime(Timestamp, 'yyyy-MM-dd HH:mm:ss'), g = format_datetime(Timestamp, 'dd/MM/yy h:mm tt')",
			cols: "f:string,g:string",
			rows: () => E.filter((r) => r.Code === 200).map((r) => [fmtA(r.Timestamp), fmtB(r.Timestamp)]) },
		{ q: "Events | summarize count() by bin(Timestamp, 1h) | where count_ > 2", cols: "Timestamp:datetime,count_:long",
			rows: () => groupBy(E, (r) => binNum(r.Timestamp, HOUR)).filter((g) => g.rows.length > 2).map((g) => [g.key, g.rows.length]) },
		{ q: `Events | extend age = ${lit(BASE + 10 * DAY)} - Timestamp | summarize max(age), min(age)`, cols: "max_age:timespan,min_age:timespan",
			rows: () => [[BASE + 10 * DAY - min(E, (r) => r.Timestamp), BASE + 10 * DAY - max(E, (r) => r.Timestamp)]] },
		{ q: "Events | where Code == 200 | project x = Dur / 1m, y = Timestamp + 1d, z = Dur * 2", cols: "x:real,y:datetime,z:timespan",
			rows: () => E.filter((r) => r.Code === 200).map((r) => [isNull(r.Dur) ? null : r.Dur / 60000,
				isNull(r.Timestamp) ? null : r.Timestamp + DAY, isNull(r.Dur) ? null : r.Dur * 2]) },
		// string functions
		{ q: 'Events | where Code == 301 | project l = tolower(Level), u = toupper(Host), s = substring(Msg, 2, 5), c = strcat(Host, "/", Code), d = strcat_delim("|", Level, Code, Ok)',
			cols: "l:string,u:string,s:string,c:string,d:string",
			rows: () => E.filter((r) => r.Code === 301).map((r) => [lower(r.Level), r.Host.toUpperCase(), substring(r.Msg, 2, 5),
				`${r.Host}/${tostr(r.Code)}`, [r.Level, tostr(r.Code), tostr(r.Ok)].join("|")]) },
		{ q: 'Events | where Code == 503 | project w = split(Msg, " ")[0], n = array_length(split(Msg, " ")), r = replace_string(Msg, "user", "USER"), t = trim(" ", strcat(" ", Host, " ")), x = extract("id=([0-9]+)", 1, Msg), i = indexof(Msg, "e")',
			cols: "w:dynamic,n:long,r:string,t:string,x:string,i:long",
			rows: () => E.filter((r) => r.Code === 503).map((r) => [r.Msg.split(" ")[0], r.Msg.split(" ").length,
				r.Msg.replaceAll("user", "USER"), r.Host, (/id=([0-9]+)/.exec(r.Msg) ?? [null, ""])[1], [...r.Msg].indexOf("e")]) },
		{ q: "Events | where Code == 500 | project a = tostring(Code), b = tostring(Latency), c = tostring(Ok), d = tostring(Tags), e = strlen(Msg)",
			cols: "a:string,b:string,c:string,d:string,e:long",
			rows: () => E.filter((r) => r.Code === 500).map((r) => [tostr(r.Code), tostr(r.Latency), tostr(r.Ok), tostr(r.Tags), [...r.Msg].length]) },
		// conversions (a failure gives null)
		{ q: 'print a = toint("12"), b = toint("x"), c = tolong("-7"), d = todouble("1e3"), e = toreal("abc"), f = tobool("TRUE"), g = tobool("yes"), h = todatetime("2026-11-01 10:00"), i = todatetime("garbage"), j = totimespan("01:30:00"), k = totimespan("zz"), l = toguid("not-a-guid"), m = todynamic("{\\"a\\":1}"), n = parse_json("[1,2]"), o = toint(""), p = tolong(2.9)',
			cols: "a:int,b:int,c:long,d:real,e:real,f:bool,g:bool,h:datetime,i:datetime,j:timespan,k:timespan,l:guid,m:dynamic,n:dynamic,o:int,p:long",
			rows: () => [[12, null, -7, 1000, null, true, null, Date.UTC(2026, 10, 1, 10), null, 90 * 60000, null, null, { a: 1 }, [1, 2], null, 2]] },
		{ q: 'Events | extend c = toint(extract("code=([0-9]+)", 1, Msg)) | where isnotnull(c) | summarize count() by c', cols: "c:int,count_:long",
			rows: () => groupBy(E.filter((r) => /code=([0-9]+)/.test(r.Msg)), (r) => Number(/code=([0-9]+)/.exec(r.Msg)[1])).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize s = sum(tolong(Props.n)), c = countif(isnull(todouble(Props.n)))", cols: "s:long,c:long",
			rows: () => [[sum(E, (r) => { const v = get(r.Props, "n"); return isNull(v) ? null : Math.trunc(v); }),
				count(E.filter((r) => isNull(get(r.Props, "n"))))]] },
		// dynamic values
		{ q: 'Events | where Code == 404 | project u = tostring(Props.user), c = Props["geo"]["city"], f = Props.tags[0], n = array_length(Props.tags), z = Props[1]',
			cols: "u:string,c:dynamic,f:dynamic,n:long,z:dynamic",
			rows: () => E.filter((r) => r.Code === 404).map((r) => [tostr(get(r.Props, "user")), get(get(r.Props, "geo"), "city"),
				at(get(r.Props, "tags"), 0), Array.isArray(get(r.Props, "tags")) ? get(r.Props, "tags").length : null, at(r.Props, 1)]) },
		{ q: "Events | where Code == 404 and isnotnull(Props) | project k = bag_keys(Props)", cols: "k:dynamic", sets: [0],
			rows: () => E.filter((r) => r.Code === 404 && !isNull(r.Props)).map((r) => [Array.isArray(r.Props) ? null : Object.keys(r.Props)]) },
		{ q: "Events | summarize s = sum(array_length(Tags)), e = countif(array_length(Tags) == 0)", cols: "s:long,e:long",
			rows: () => [[sum(E, (r) => r.Tags?.length ?? null), count(E.filter((r) => r.Tags?.length === 0))]] },
		// math
		{ q: "Events | where Code == 200 and isnotnull(Latency) | project a = abs(Latency - 250), r = round(Latency, 1), c = ceiling(Latency), s = sqrt(Latency), f = floor(Latency, 10.0)",
			cols: "a:real,r:real,c:real,s:real,f:real",
			rows: () => E.filter((r) => r.Code === 200 && !isNull(r.Latency)).map((r) => [Math.abs(r.Latency - 250),
				roundTo(r.Latency, 1), Math.ceil(r.Latency), Math.sqrt(r.Latency), Math.floor(r.Latency / 10) * 10]) },
		{ q: "Events | where Code == 201 | project a = log(Latency + 1), b = log10(Latency + 1), c = exp(Latency / 100), d = pow(Latency, 2), e = min_of(Latency, 100.0), f = max_of(Code, 300), g = round(Latency)",
			cols: "a:real,b:real,c:real,d:real,e:real,f:long,g:real",
			rows: () => E.filter((r) => r.Code === 201).map((r) => {
				const L = r.Latency, nl = isNull(L);
				return [nl ? null : Math.log(L + 1), nl ? null : Math.log10(L + 1), nl ? null : Math.exp(L / 100), nl ? null : L * L,
					nl ? 100 : Math.min(L, 100), isNull(r.Code) ? 300 : Math.max(r.Code, 300), roundTo(L, 0)];
			}) },
		// iff, case, coalesce
		{ q: 'Events | summarize count() by s = iff(Latency > 250, "slow", "fast")', cols: "s:string,count_:long",
			rows: () => groupBy(E, (r) => (gt(r.Latency, 250) ? "slow" : "fast")).map((g) => [g.key, g.rows.length]) },
		{ q: 'Events | summarize count() by c = case(Code >= 500, "5xx", Code >= 400, "4xx", "other")', cols: "c:string,count_:long",
			rows: () => groupBy(E, (r) => (ge(r.Code, 500) ? "5xx" : ge(r.Code, 400) ? "4xx" : "other")).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize s = sum(coalesce(Latency, 0.0)), b = sum(iif(isnull(Bytes), -1, Bytes))", cols: "s:real,b:long",
			rows: () => [[sum(E, (r) => r.Latency ?? 0), sum(E, (r) => r.Bytes ?? -1)]] },
		// more string operators, their negations and _cs forms
		cnt('Msg !has_cs "TIMEOUT"', (r) => !hasCs(r.Msg, "TIMEOUT")),
		cnt('Msg hasprefix_cs "Kusto"', (r) => terms(r.Msg).some((x) => x.startsWith("Kusto"))),
		cnt('Msg !hasprefix "kusto"', (r) => !hasPrefix(r.Msg, "kusto")),
		cnt('Msg !hassuffix "run"', (r) => !hasSuffix(r.Msg, "run")),
		cnt('Msg !startswith "get"', (r) => !lower(r.Msg).startsWith("get")),
		cnt('Msg startswith_cs "GET"', (r) => r.Msg.startsWith("GET")),
		cnt('Msg endswith_cs "Peer"', (r) => r.Msg.endsWith("Peer")),
		cnt('Msg !endswith "peer"', (r) => !lower(r.Msg).endsWith("peer")),
		cnt('Msg !contains_cs "Time"', (r) => !r.Msg.includes("Time")),
		cnt('Host !in~ ("HOST1", "host2")', (r) => !["host1", "host2"].includes(lower(r.Host))),
		cnt(`Timestamp !between (${lit(T0)} .. ${lit(T1)})`, (r) => !isNull(r.Timestamp) && (r.Timestamp < T0 || r.Timestamp > T1)),
		cnt(`Timestamp between (${lit(T0)} .. 1d)`, (r) => ge(r.Timestamp, T0) && r.Timestamp <= T0 + DAY),
		cnt("Dur between (10m .. 1h)", (r) => ge(r.Dur, 600000) && r.Dur <= HOUR),
		cnt("Dur > 1h + 30m", (r) => gt(r.Dur, 1.5 * HOUR)),
		cnt('toupper(Msg) contains "CAFÉ"', (r) => r.Msg.toUpperCase().includes("CAFÉ")),
		cnt('Tags has "red"', (r) => !isNull(r.Tags) && has(JSON.stringify(r.Tags), "red")),
		cnt("array_length(Tags) > 1", (r) => Array.isArray(r.Tags) && r.Tags.length > 1),
		cnt("Props.n > 3", (r) => gt(get(r.Props, "n"), 3)),
		cnt('Props.user == "u1"', (r) => get(r.Props, "user") === "u1"),
		cnt('tostring(Props.geo.city) in ("Paris", "Oslo")', (r) => ["Paris", "Oslo"].includes(get(get(r.Props, "geo"), "city"))),
		cnt('isempty(extract("id=([0-9]+)", 1, Msg))', (r) => !/id=([0-9]+)/.test(r.Msg)),
		cnt("not(isempty(Host)) and Ok == false", (r) => r.Host !== "" && r.Ok === false),
		cnt("Ok != true", (r) => r.Ok !== true),
		{ q: "Events | summarize by Level", cols: "Level:string", rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key]) },
		{ q: "Events | extend Latency = coalesce(Latency, -1.0) | summarize min(Latency), c = countif(Latency < 0)", cols: "min_Latency:real,c:long",
			rows: () => [[E.some((r) => isNull(r.Latency)) ? -1 : min(E, (r) => r.Latency), count(E.filter((r) => isNull(r.Latency)))]] },
		{ q: "Events | where Code == 404 | project Code + 1, strlen(Host)", cols: "Column1:long,strlen_Host:long",
			rows: () => E.filter((r) => r.Code === 404).map((r) => [405, r.Host.length]) },
		{ q: 'Events | where Host != "" | summarize min(Host), max(Host), min(Level), max(Bytes)', cols: "min_Host:string,max_Host:string,min_Level:string,max_Bytes:int",
			rows: () => { const F = E.filter((r) => r.Host !== ""); return [[min(F, (r) => r.Host), max(F, (r) => r.Host), min(F, (r) => r.Level), max(F, (r) => r.Bytes)]]; } },
		// (avg over no rows is NaN, which followerd answers where the column
		// is passed on unchanged: kql_sdk.sh checks it.)
		{ q: "Events | where Code == 999 | summarize max(Latency), make_set(Host), make_list(Code), percentile(Latency, 50), sum(Bytes)",
			cols: "max_Latency:real,set_Host:dynamic,list_Code:dynamic,percentile_Latency_50:real,sum_Bytes:long",
			rows: () => [[null, [], [], null, 0]] },
		{ q: "Events | summarize count() by w = bin(Timestamp, 7d)", cols: "w:datetime,count_:long",
			// datetimes bin from 0001-01-01 (a Monday), 719162 days before 1970-01-01
			rows: () => groupBy(E, (r) => (isNull(r.Timestamp) ? null : binNum(r.Timestamp + 719162 * DAY, 7 * DAY) - 719162 * DAY)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | top 6 by Host asc, Latency desc | project Host, Latency", cols: "Host:string,Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Host, false], [(r) => r.Latency, true]).slice(0, 6).map((r) => [r.Host, r.Latency]) },
		{ q: "Events | sort by Level asc | distinct Level", cols: "Level:string", rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key]) },
		{ q: "Events | summarize l = make_list(Level) by Host | project Host, n = array_length(l)", cols: "Host:string,n:long",
			rows: () => groupBy(E, (r) => r.Host).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | summarize n = count() by Host, Level | join kind=inner (Events | summarize m = dcount(Code) by Host, Level) on Host, Level | project Host, Level, n, m, Host1, Level1",
			cols: "Host:string,Level:string,n:long,m:long,Host1:string,Level1:string",
			rows: () => groupBy(E, (r) => [r.Host, r.Level]).map((g) => [...g.key, g.rows.length, dcount(g.rows, (r) => r.Code), ...g.key]) },
		{ q: "Events | summarize n = count() by Host, Level | join kind=inner (Events | summarize n = count() by Host) on Host | project Host, Level, n, n1",
			cols: "Host:string,Level:string,n:long,n1:long",
			rows: () => groupBy(E, (r) => [r.Host, r.Level]).map((g) => [...g.key, g.rows.length, count(E.filter((r) => r.Host === g.key[0]))]) },
		{ q: `range d from ${lit(BASE)} to ${lit(BASE + 9 * DAY)} step 1d | join kind=leftouter (Events | summarize c = count() by d = startofday(Timestamp)) on d | project d, c`,
			cols: "d:datetime,c:long",
			rows: () => [...Array(10).keys()].map((i) => [BASE + i * DAY, count(E.filter((r) => startOfDay(r.Timestamp) === BASE + i * DAY)) || null]) },
		{ q: "let m = 300.0; let slow = (t:string) { Events | where Latency > m and Level =~ t }; slow('error') | count", cols: C,
			rows: n((r) => gt(r.Latency, 300) && lower(r.Level) === "error") },
		{ q: "union (Events | where Code == 500), (Events | where Code == 503) | count", cols: C,
			rows: n((r) => r.Code === 500 || r.Code === 503) },
		{ q: `Events | where Code == 500 | project a = Timestamp - 1h, b = Timestamp + Dur, c = (Timestamp - ${lit(BASE)}) / 1h, d = Dur / 2, e = -Dur`,
			cols: "a:datetime,b:datetime,c:real,d:timespan,e:timespan",
			rows: () => E.filter((r) => r.Code === 500).map((r) => { const t = r.Timestamp, d = r.Dur;
				return [isNull(t) ? null : t - HOUR, isNull(t) || isNull(d) ? null : BigInt(t) * 10000n + BigInt(Math.round(d * 1e4)), isNull(t) ? null : (t - BASE) / HOUR,
					isNull(d) ? null : d / 2, isNull(d) ? null : -d]; }) },
		{ q: "Events | where Code == 404 | project y = datetime_part('year', Timestamp), q = datetime_part('quarter', Timestamp), m = datetime_part('month', Timestamp), d = datetime_part('day', Timestamp), dy = datetime_part('dayofyear', Timestamp), mi = datetime_part('minute', Timestamp), s = datetime_part('second', Timestamp), ms = datetime_part('millisecond', Timestamp)",
			cols: "y:int,q:int,m:int,d:int,dy:int,mi:int,s:int,ms:int",
			rows: () => E.filter((r) => r.Code === 404).map((r) => { if (isNull(r.Timestamp)) return Array(8).fill(null);
				const t = new Date(r.Timestamp);
				return [t.getUTCFullYear(), Math.floor(t.getUTCMonth() / 3) + 1, t.getUTCMonth() + 1, t.getUTCDate(),
					Math.floor((r.Timestamp - Date.UTC(t.getUTCFullYear(), 0, 1)) / DAY) + 1, t.getUTCMinutes(), t.getUTCSeconds(), t.getUTCMilliseconds()]; }) },
		{ q: `Events | where Code == 301 | project w = datetime_diff('week', ${lit(BASE + 20 * DAY)}, Timestamp), m = datetime_diff('month', ${lit(Date.UTC(2027, 2, 1))}, Timestamp), y = datetime_diff('year', ${lit(Date.UTC(2030, 0, 1))}, Timestamp)`,
			cols: "w:long,m:long,y:long",
			rows: () => E.filter((r) => r.Code === 301).map((r) => { if (isNull(r.Timestamp)) return [null, null, null];
				const t = new Date(r.Timestamp);
				return [(startOfWeek(BASE + 20 * DAY) - startOfWeek(r.Timestamp)) / (7 * DAY), 2027 * 12 + 2 - (t.getUTCFullYear() * 12 + t.getUTCMonth()), 2030 - t.getUTCFullYear()]; }) },
		{ q: "Events | where Code == 200 | project f = format_datetime(Timestamp, 'yyyy-MM-dd HH:mm:ss.fff'), d = startofday(Timestamp, -1), m = startofmonth(Timestamp, 1)",
			cols: "f:string,d:datetime,m:datetime",
			rows: () => E.filter((r) => r.Code === 200).map((r) => isNull(r.Timestamp) ? ["", null, null] :
				[dtText(r.Timestamp).slice(0, 23).replace("T", " "), startOfDay(r.Timestamp) - DAY, addMonths(startOfMonth(r.Timestamp), 1)]) },
		{ q: 'Events | where Code == 201 | project a = split(Msg, " ", 1), b = substring(Msg, 100), c = replace_string(Host, "host", ""), d = trim(@"[0-9 ]+", Msg), e = tobool(tostring(Ok))',
			cols: "a:dynamic,b:string,c:string,d:string,e:bool",
			rows: () => E.filter((r) => r.Code === 201).map((r) => { const parts = r.Msg.split(" ");
				return [parts.length > 1 ? [parts[1]] : [], substring(r.Msg, 100), r.Host.replaceAll("host", ""),
					r.Msg.replace(/^[0-9 ]+/, "").replace(/[0-9 ]+$/, ""), r.Ok]; }) },
		{ q: 'print t = 1d + 2h + 30m + 10s + 100ms, u = timespan(1.02:00:00), g = guid(74be27de-1e4e-49d9-b579-fe0b331d3642), v = @"C:\\dir", w = tolong(long(null)) + 1, r = real(null) * 2',
			cols: "t:timespan,u:timespan,g:guid,v:string,w:long,r:real",
			rows: () => [[DAY + 2 * HOUR + 30 * 60000 + 10000 + 100, DAY + 2 * HOUR, "74be27de-1e4e-49d9-b579-fe0b331d3642", "C:\\dir", null, null]] },
		{ q: 'Events | summarize c = countif(Latency > 250), n = count(), s = sumif(Bytes, Latency > 250) by Ok', cols: "Ok:bool,c:long,n:long,s:long",
			rows: () => groupBy(E, (r) => r.Ok).map((g) => [g.key, count(g.rows.filter((r) => gt(r.Latency, 250))), g.rows.length,
				sum(g.rows.filter((r) => gt(r.Latency, 250)), (r) => r.Bytes)]) },
		// names Kusto gives, literals, conversions over the data
		{ q: "Events | summarize count() by tostring(Props.user)", cols: "Props_user:string,count_:long",
			rows: () => groupBy(E, (r) => tostr(get(r.Props, "user"))).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | where Timestamp >= datetime(2026-11-03) and Timestamp < datetime(\"2026-11-04 12:00:00\") | count", cols: C,
			rows: n((r) => ge(r.Timestamp, BASE + 2 * DAY) && r.Timestamp < BASE + 3.5 * DAY) },
		{ q: "Events | where todatetime(format_datetime(Timestamp, 'yyyy-MM-dd HH:mm:ss')) == Timestamp | count", cols: C,
			rows: n((r) => !isNull(r.Timestamp) && r.Timestamp % 1000 === 0) },
		{ q: "Events | extend s = tostring(Code) | where toint(s) == Code | count", cols: C, rows: n((r) => !isNull(r.Code)) },
		{ q: "Events | where Code == 404 | project t = totimespan(tostring(Dur)) == Dur, r = todouble(tostring(Latency)) == Latency, b = tobool(tostring(Ok))",
			cols: "t:bool,r:bool,b:bool",
			rows: () => E.filter((r) => r.Code === 404).map((r) => [isNull(r.Dur) ? null : true, isNull(r.Latency) ? null : true, r.Ok]) },
		{ q: "Events | where Code == 503 | top 5 by Host desc nulls first | project Host", cols: "Host:string", ordered: true,
			rows: () => sortBy(E.filter((r) => r.Code === 503), [(r) => r.Host, true]).slice(0, 5).map((r) => [r.Host]) },
		{ q: "Events | summarize arg_max(Timestamp, *) by Host | project Host, Timestamp, Code, Msg", cols: "Host:string,Timestamp:datetime,Code:long,Msg:string",
			rows: () => groupBy(E, (r) => r.Host).map((g) => { const m = max(g.rows, (r) => r.Timestamp); const x = g.rows.find((r) => r.Timestamp === m);
				return [g.key, m, x.Code, x.Msg]; }) },
		{ q: "Events | project Host, Level | union (Hosts | project Host, Level = Region) | distinct Host, Level | count", cols: C,
			rows: () => [[groupBy([...E.map((r) => [r.Host, r.Level]), ...H.map((h) => [h.Host, h.Region])], (x) => x).length]] },
		{ q: "Hosts | join kind=leftouter (Events | summarize n = count(), l = max(Latency) by Host) on Host | project Host, Region, n, l",
			cols: "Host:string,Region:string,n:long,l:real",
			rows: () => H.map((h) => { const g = E.filter((r) => r.Host === h.Host); return [h.Host, h.Region, g.length || null, g.length ? max(g, (r) => r.Latency) : null]; }) },
		{ q: "Events | where Code == 200 | summarize c = count() by Level | top 3 by c | project c", cols: "c:long", ordered: true,
			rows: () => groupBy(E.filter((r) => r.Code === 200), (r) => r.Level).map((g) => g.rows.length).sort((a, b) => b - a).slice(0, 3).map((c) => [c]) },
		{ q: 'Events | summarize count() by h = coalesce(Host, Level, "none")', cols: "h:string,count_:long",
			rows: () => groupBy(E, (r) => r.Host || r.Level || "none").map((g) => [g.key, g.rows.length]) },
		{ q: "Events | sort by Latency desc | take 4 | project Latency", cols: "Latency:real", ordered: true,
			rows: () => sortBy(E, [(r) => r.Latency, true]).slice(0, 4).map((r) => [r.Latency]) },
		{ q: "union Hosts, (Events | where Code == 404 | project Host, Code) | count", cols: C,
			rows: () => [[H.length + count(E.filter((r) => r.Code === 404))]] },
		{ q: "union Hosts, (Events | project Host, Code) | take 1", cols: "Host:string,Region:string,Cores:long,Code:long",
			verify: (rows) => (rows.length === 1 ? null : "not one row") },
		{ q: "range x from 5 to 1 step 1 | count", cols: C, rows: () => [[0]] },
		{ q: "Events | where Code == 301 | project v = iff(Latency > 200, 1, 2.5), w = case(Ok, Level, Host)", cols: "v:real,w:string",
			rows: () => E.filter((r) => r.Code === 301).map((r) => [gt(r.Latency, 200) ? 1 : 2.5, r.Ok === true ? r.Level : r.Host]) },
		{ q: "Events | top 3 by strlen(Msg) desc, Msg asc | project Msg", cols: "Msg:string", ordered: true,
			rows: () => sortBy(E, [(r) => [...r.Msg].length, true], [(r) => r.Msg, false]).slice(0, 3).map((r) => [r.Msg]) },
		{ q: "Events | where Code == 200 | project a = Tags[-1], b = array_length(Tags)", cols: "a:dynamic,b:long",
			rows: () => E.filter((r) => r.Code === 200).map((r) => [Array.isArray(r.Tags) && r.Tags.length ? r.Tags[r.Tags.length - 1] : null,
				Array.isArray(r.Tags) ? r.Tags.length : null]) },
		{ q: "Events | summarize s = make_set(Host, 2), l = make_list(Code, 3) by Level | project Level, a = array_length(s), b = array_length(l)",
			cols: "Level:string,a:long,b:long",
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, Math.min(2, new Set(g.rows.map((r) => r.Host)).size),
				Math.min(3, vals(g.rows, (r) => r.Code).length)]) },
		{ q: "Events | summarize s = sum(toint(Ok)), r = avg(todouble(Ok)), m = make_set(Ok) by Level", cols: "Level:string,s:long,r:real,m:dynamic", sets: [3],
			rows: () => groupBy(E, (r) => r.Level).map((g) => [g.key, sum(g.rows, (r) => (isNull(r.Ok) ? null : +r.Ok)),
				avg(g.rows, (r) => (isNull(r.Ok) ? null : +r.Ok)), [...new Set(vals(g.rows, (r) => r.Ok))]]) },
		{ q: "Events | where Code == 404 | project t = todatetime(strcat(format_datetime(Timestamp, 'dd'), '-Nov-26 ', format_datetime(Timestamp, 'HH:mm:ss'), ' GMT'))",
			cols: "t:datetime",
			rows: () => E.filter((r) => r.Code === 404).map((r) => [isNull(r.Timestamp) ? null : Math.floor(r.Timestamp / 1000) * 1000]) },
		cnt('Host in~ (dynamic(["HOST1", "web-01"]), "host3")', (r) => ["host1", "web-01", "host3"].includes(lower(r.Host))),
		{ q: 'let hs = dynamic(["host1", "host2"]); Events | where Host !in (hs) | count', cols: C, rows: n((r) => !["host1", "host2"].includes(r.Host)) },
		{ q: "Events | where Code == 503 and strlen(Msg) >= 6 | project a = substring(Msg, -4), b = substring(Msg, -6, 2)", cols: "a:string,b:string",
			rows: () => E.filter((r) => r.Code === 503 && [...r.Msg].length >= 6).map((r) => { const c = [...r.Msg];
				return [c.slice(c.length - 4).join(""), c.slice(c.length - 6, c.length - 4).join("")]; }) },
		cnt('Msg matches regex @"(?i)^kusto\\w+ FAILED"', (r) => /^kusto\w+ failed/i.test(r.Msg)),
		{ q: 'Events | project x = extract(@"(\\d++)", 1, Msg) | take 1', error: /repetition of a repetition/ },
		{ q: 'print a = extract("(a*)(ab)?", 0, "aab"), b = extract("(a|ab)", 1, "ab"), c = extract(@"a(.*?)b", 1, "a1b2b")',
			cols: "a:string,b:string,c:string", rows: () => [["aa", "a", "1"]] },
		{ q: "Events | where NoSuchColumn > 1", error: /NoSuchColumn/ },
		// int with int is long (the numerical operators' page); an integer
		// overflow is refused at its operator, never answered
		{ q: "Events | where Code == 201 | project x = Bytes + Bytes, y = Bytes * Bytes, z = -Bytes", cols: "x:long,y:long,z:long",
			rows: () => E.filter((r) => r.Code === 201).map((r) => isNull(r.Bytes) ? [null, null, null] : [2 * r.Bytes, r.Bytes * r.Bytes, -r.Bytes]) },
		{ q: "Events | take 1 | project x = Code + 9223372036854775807 * 2", error: /the operator '\*' overflows a long: not supported \(line 1, column 38\)/ },
		{ q: "Events | summarize sum(Code * 4611686018427387904)", error: /the operator '\*' \(or an integer operator in its operands\) overflows a long.*line 1, column 24/ },
		// a long to an int wraps, as .NET's unchecked cast (measured on Kusto)
		{ q: "print toint(3000000000)", cols: "print_0:int", rows: () => [[3000000000 - 2 ** 32]] },
		{ q: "Events | summarize series_stats(Latency)", error: /series_stats/ },
		{ q: "let E5 = Events | where Code == 500; let Dim = Hosts | where Region == 'eu'; E5 | union E5 | join kind=inner Dim on Host | count", cols: C,
			rows: () => [[2 * count(E.filter((r) => r.Code === 500 && H.some((h) => h.Host === r.Host && h.Region === "eu")))]] },
		{ q: "Events | filter Code == 201 and Latency < 100 | count", cols: C, rows: n((r) => r.Code === 201 && lt(r.Latency, 100)) },
		{ q: "Events | where Code == 500 | as T | join kind=leftsemi (T | where Latency > 250) on Host | count", cols: C,
			rows: n((r) => r.Code === 500 && E.some((x) => x.Code === 500 && gt(x.Latency, 250) && x.Host === r.Host)) },
		// the null rules
		{ q: "print a = long(null) == 1, b = long(null) != 1, c = long(null) == long(null), d = isnull(real(null) + 1), e = isempty(\"\"), f = strlen(tostring(long(null)))",
			cols: "a:bool,b:bool,c:bool,d:bool,e:bool,f:long", rows: () => [[false, true, null, true, true, 0]] },
		{ q: "print d = now() - now()", cols: "d:timespan", rows: () => [[0]] },
	];
	return list;
}

// mv-expand: an array's elements, a bag's members; null (or a scalar) one
// record with null; an empty array or bag none (mv-expand-operator.md).
function mvRows(v) {
	if (Array.isArray(v)) return v;
	if (v !== null && typeof v === "object") return Object.entries(v).map(([k, x]) => ({ [k]: x }));
	return [null];
}

function addMonths(ms, k) {
	const d = new Date(ms);
	const y = d.getUTCFullYear(), m = d.getUTCMonth() + k;
	const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
	return Date.UTC(y, m, Math.min(d.getUTCDate(), last)) + (ms % DAY);
}
function fmtA(ms) {
	if (isNull(ms)) return "";
	const d = new Date(ms);
	return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
function fmtB(ms) {
	if (isNull(ms)) return "";
	const d = new Date(ms), h = d.getUTCHours();
	return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCFullYear() % 100)} ${h % 12 || 12}:${pad(d.getUTCMinutes())} ${h < 12 ? "AM" : "PM"}`;
}

// arg_max/arg_min: per group the extreme value, and the other columns from
// one of the rows that hold it.
function argCheck(rows, E, f, isMax, others) {
	const groups = groupBy(E, (r) => r.Level);
	if (rows.length !== groups.length) return `${rows.length} groups, want ${groups.length}`;
	for (const [lvl, v, ...rest] of rows) {
		const g = E.filter((r) => r.Level === lvl);
		const want = isMax ? max(g, f) : min(g, f);
		if (v !== want) return `${lvl}: ${v}, want ${want}`;
		if (!g.some((r) => f(r) === v && others.every((c, i) => r[c] === rest[i]))) return `${lvl}: no such row`;
	}
	return null;
}

function joinCases(E, H) {
	const hk = new Map(H.map((h) => [h.Host, h]));
	const byHost = groupBy(E, (r) => r.Host);
	const C = "Count:long";
	return [
		{ q: "Events | join (Hosts) on Host | count", cols: C, rows: () => [[byHost.filter((g) => hk.has(g.key)).length]] },
		{ q: "Events | join kind=innerunique (Hosts) on Host | project Host, Region, Host1", cols: "Host:string,Region:string,Host1:string",
			rows: () => byHost.filter((g) => hk.has(g.key)).map((g) => [g.key, hk.get(g.key).Region, g.key]) },
		{ q: "Events | join kind=inner Hosts on Host | summarize count(), sum(Cores) by Region", cols: "Region:string,count_:long,sum_Cores:long",
			rows: () => groupBy(E.filter((r) => hk.has(r.Host)), (r) => hk.get(r.Host).Region)
				.map((g) => [g.key, g.rows.length, sum(g.rows, (r) => hk.get(r.Host).Cores)]) },
		{ q: "Events | join kind=leftouter Hosts on Host | summarize count(), sum(Cores) by Region", cols: "Region:string,count_:long,sum_Cores:long",
			rows: () => groupBy(E, (r) => hk.get(r.Host)?.Region ?? "").map((g) => [g.key, g.rows.length, sum(g.rows, (r) => hk.get(r.Host)?.Cores)]) },
		{ q: "Events | summarize n = count() by Host | join kind=rightouter Hosts on Host | project Host, Host1, n, Region",
			cols: "Host:string,Host1:string,n:long,Region:string",
			rows: () => H.map((h) => { const g = byHost.find((x) => x.key === h.Host); return [g ? h.Host : "", h.Host, g ? g.rows.length : null, h.Region]; }) },
		{ q: "Events | summarize n = count() by Host | join kind=fullouter Hosts on Host | project Host, Host1, n, Cores",
			cols: "Host:string,Host1:string,n:long,Cores:long",
			rows: () => [...byHost.map((g) => [g.key, hk.has(g.key) ? g.key : "", g.rows.length, hk.get(g.key)?.Cores ?? null]),
				...H.filter((h) => !byHost.some((g) => g.key === h.Host)).map((h) => ["", h.Host, null, h.Cores])] },
		{ q: "Events | join kind=leftanti Hosts on Host | summarize count() by Host", cols: "Host:string,count_:long",
			rows: () => byHost.filter((g) => !hk.has(g.key)).map((g) => [g.key, g.rows.length]) },
		{ q: "Events | join kind=rightanti Hosts on Host", cols: "Host:string,Region:string,Cores:long",
			rows: () => H.filter((h) => !byHost.some((g) => g.key === h.Host)).map((h) => [h.Host, h.Region, h.Cores]) },
		{ q: "Events | join kind=leftsemi Hosts on Host | count", cols: C, rows: () => [[count(E.filter((r) => hk.has(r.Host)))]] },
		{ q: "Events | join kind=rightsemi Hosts on Host | project Host, Region", cols: "Host:string,Region:string",
			rows: () => H.filter((h) => byHost.some((g) => g.key === h.Host)).map((h) => [h.Host, h.Region]) },
		{ q: "Events | summarize n = count() by H = tolower(Host) | join kind=inner (Hosts) on $left.H == $right.Host | project H, Region, n",
			cols: "H:string,Region:string,n:long",
			rows: () => groupBy(E, (r) => lower(r.Host)).filter((g) => hk.has(g.key)).map((g) => [g.key, hk.get(g.key).Region, g.rows.length]) },
		{ q: "Events | summarize n = count() by Host | lookup Hosts on Host", cols: "Host:string,n:long,Region:string,Cores:long",
			rows: () => byHost.map((g) => [g.key, g.rows.length, hk.get(g.key)?.Region ?? "", hk.get(g.key)?.Cores ?? null]) },
		{ q: "Events | summarize n = count() by Host | lookup kind=inner (Hosts | project Host, Cores) on Host",
			cols: "Host:string,n:long,Cores:long",
			rows: () => byHost.filter((g) => hk.has(g.key)).map((g) => [g.key, g.rows.length, hk.get(g.key).Cores]) },
	];
}

// ---- comparing typed answers ----

function dtTicks(v) {
	if (typeof v === "bigint") return v;
	const ms = Math.floor(v);
	return BigInt(ms) * 10000n + BigInt(Math.round((v - ms) * 1e4));
}
function parseDt(s) {
	const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{7})Z$/.exec(s);
	if (!m) return undefined;
	return BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) * 10000n + BigInt(m[7]);
}
function parseTs(s) {
	const m = /^(-?)(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{7}))?$/.exec(s);
	if (!m) return undefined;
	const t = ((BigInt(m[2] ?? 0) * 24n + BigInt(m[3])) * 60n + BigInt(m[4])) * 60n + BigInt(m[5]);
	const v = t * 10000000n + BigInt(m[6] ?? 0);
	return m[1] ? -v : v;
}
function deepEq(a, b, asSet) {
	if (asSet && Array.isArray(a) && Array.isArray(b)) {
		const k = (x) => JSON.stringify(canon(x));
		return JSON.stringify(a.map(k).sort()) === JSON.stringify(b.map(k).sort());
	}
	return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
function canon(v) {
	if (Array.isArray(v)) return v.map(canon);
	if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
	return v;
}
// got (raw JSON from the frame) equals want (a JS value) as type says.
function eqv(got, want, type, opt = {}) {
	if (Array.isArray(got) && type !== "dynamic") return got.length === want.length && got.every((g, i) => eqv(g, want[i], type, opt));
	if (isNull(want)) return type === "string" ? got === "" : got === null;
	switch (type) {
	case "datetime": return typeof got === "string" && parseDt(got) === dtTicks(want);
	case "timespan": return typeof got === "string" && parseTs(got) === BigInt(Math.round(want * 1e4));
	case "real": {
		if (Number.isNaN(want)) return got === "NaN";
		if (typeof got !== "number") return false;
		const tol = opt.tol ?? 1e-9;
		return Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));
	}
	case "long": case "int":
		// dcount's stated accuracy (default level 1): exact up to 1,000
		// distinct values, beyond a sigma of 0.8% (3 sigma: 2.4%).
		if (opt.dcount) return want <= 1000 ? got === want : Math.abs(got - want) <= want * 0.024;
		return got === want;
	case "dynamic": return deepEq(got, want, opt.set);
	default: return got === want;
	}
}
const show = (v) => (typeof v === "bigint" ? `${v}t` : v);
function sortKey(row, types) {
	return JSON.stringify(row.map((v, i) => {
		if (isNull(v)) return null;
		if (types[i] === "real" && typeof v === "number") return v.toPrecision(8);
		if (types[i] === "datetime") return String(typeof v === "string" ? parseDt(v) : dtTicks(v)).padStart(20, "0");
		if (types[i] === "timespan") return String(typeof v === "string" ? parseTs(v) : BigInt(Math.round(v * 1e4)));
		if (types[i] === "dynamic") return JSON.stringify(canon(v));
		return v;
	}));
}
function compare(c, cols, got, D) {
	const want = `${c.cols}`;
	const have = cols.map((x) => `${x.name}:${x.type}`).join(",");
	if (c.cols && want !== have) return `columns ${have}, want ${want}`;
	if (c.verify) return c.verify(got, D);
	const types = cols.map((x) => x.type);
	let exp = c.rows(D);
	if (got.length !== exp.length) return `${got.length} rows, want ${exp.length}: ${JSON.stringify(got.slice(0, 8))} want ${JSON.stringify(exp.slice(0, 8), (k, v) => show(v))}`;
	let g = got;
	if (!c.ordered) {
		// a row's string column holds "" where the JS row has null
		const norm = (r) => r.map((v, i) => (types[i] === "string" && isNull(v) ? "" : v));
		g = [...got].sort((a, b) => (sortKey(a, types) < sortKey(b, types) ? -1 : 1));
		exp = exp.map(norm).sort((a, b) => (sortKey(a, types) < sortKey(b, types) ? -1 : 1));
	}
	for (let i = 0; i < g.length; i++)
		for (let j = 0; j < types.length; j++) {
			const opt = { tol: c.tol, set: c.sets?.includes(j), dcount: c.dcount?.includes(j) };
			if (!eqv(g[i][j], exp[i][j], types[j], opt))
				return `row ${i} column ${cols[j].name}: got ${JSON.stringify(g[i][j])}, want ${JSON.stringify(exp[i][j], (k, v) => show(v))}` +
					` (row ${JSON.stringify(g[i])}; got ${JSON.stringify(g.slice(0, 12))})`;
		}
	return null;
}

async function check() {
	const { SDK, URL: url } = process.env;
	const { Client, KustoConnectionStringBuilder } = await import(`${SDK}/index.js`);
	const client = new Client(KustoConnectionStringBuilder.withAccessToken(url, "tok-viewer"));
	const D = generate();
	const list = cases(D);
	let failed = 0;
	const only = process.env.ONLY;
	for (const c of list) {
		if (only && !c.q.includes(only)) continue;
		let why;
		// execute (v2 frames), then executeQueryV1 (v1 tables): the same answer
		for (const [how, run] of [["v2", (q) => client.execute("Logs", q)], ["v1", (q) => client.executeQueryV1("Logs", q)]]) {
			try {
				const res = await run(c.q);
				const t = res.primaryResults[0];
				why = c.error ? "no error" : compare(c, t.columns.map((x) => ({ name: x.name, type: x.type })), t._rows, D);
				if (!why && c.response && how === "v2") why = c.response(res);
			} catch (e) {
				const msg = `${e.response?.data?.error?.message ?? ""} ${e.message}`;
				why = c.error && c.error.test(msg) ? null : `raised: ${msg}`;
			}
			if (why) {
				why = `${how}: ${why}`;
				break;
			}
		}
		console.log(`${why ? "not ok" : "ok"} - ${c.q}`);
		if (why) { failed++; console.log(`# ${why.slice(0, 1500)}`); }
	}
	console.log(`# ${list.length} queries, ${list.length - failed} passed`);
	process.exit(failed ? 1 : 0);
}

if (process.argv[2] === "gen") gen(process.argv[3]);
else if (process.argv[2] === "check") await check();
else { console.error("usage: kql_conformance.mjs gen|check DIR"); process.exit(2); }
