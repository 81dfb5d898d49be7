// query_duck — DuckDB's side of tests/bench/query.sh (a benchmark tool only):
// the reference queries over the cached CSV files (read_csv every time) and
// over a table loaded from them, 2 threads.
//
//   node query_duck.mjs SPEC.json
// SPEC: {"db": file, "csv": [paths], "hosts": csv path, "runs": N,
//        "queries": [{"name", "sql"}]}; the SQL names tables logs and hosts.
// Prints one JSON line per query and mode: {"name", "mode": "csv"|"table",
// "ms": [RUNS timings], "rows", "sum"} (rows and sum of the last column's
// numbers, of the first run, which is not timed), and {"load_ms"} first.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "./peers/node_modules/@duckdb/node-api/lib/index.js";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const quote = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const columns = `columns = {'Timestamp': 'TIMESTAMP', 'Level': 'VARCHAR', 'Host': 'VARCHAR',
  'Service': 'VARCHAR', 'Latency': 'DOUBLE', 'Message': 'VARCHAR', 'Code': 'BIGINT',
  'Props': 'VARCHAR'}`;
const readCsv = `read_csv([${spec.csv.map(quote).join(", ")}], header = false, ${columns})`;

const db = await DuckDBInstance.create(spec.db, { threads: "2" });
const c = await db.connect();
await c.run("SET threads = 2");
await c.run(`CREATE TABLE hosts AS SELECT * FROM read_csv(${quote(spec.hosts)}, header = false,
  columns = {'Host': 'VARCHAR', 'Team': 'VARCHAR'})`);
let t0 = performance.now();
await c.run(`CREATE TABLE logs AS SELECT * FROM ${readCsv}`);
await c.run("CHECKPOINT");
console.log(JSON.stringify({ load_ms: performance.now() - t0 }));
// The CSV mode: the same names in another schema, the files read each time.
await c.run("CREATE SCHEMA csv");
await c.run(`CREATE VIEW csv.logs AS SELECT * FROM ${readCsv}`);
await c.run("CREATE VIEW csv.hosts AS SELECT * FROM main.hosts");

function fingerprint(rows) {
  let sum = 0;
  for (const r of rows) {
    const v = r[r.length - 1];
    if (typeof v === "number" || typeof v === "bigint") sum += Number(v);
  }
  return { rows: rows.length, sum };
}

for (const mode of ["table", "csv"]) {
  await c.run(`SET search_path = '${mode === "csv" ? "csv" : "main"}'`);
  for (const q of spec.queries) {
    const out = { name: q.name, mode, ms: [] };
    try {
      const first = await c.runAndReadAll(q.sql);
      Object.assign(out, fingerprint(first.getRowsJS()));
      for (let i = 0; i < spec.runs; i++) {
        t0 = performance.now();
        const r = await c.runAndReadAll(q.sql);
        r.getRowsJS();
        out.ms.push(performance.now() - t0);
      }
    } catch (e) {
      out.error = String(e.message || e).slice(0, 300);
    }
    console.log(JSON.stringify(out));
  }
}
c.closeSync();
