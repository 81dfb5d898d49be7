#!/usr/bin/env bash
# leaderctl ingest of typed data (--format csv|tsv|json, plain, gzip and
# zstd, compression given or from the file's name, --ignore-first-record):
# the extent's artifacts declare format and compression, its rows and column
# statistics come from the parse; bad files (a bad value, a wrong field
# count, an unclosed quote, compressed data declared plain, a truncated gzip)
# are refused naming file, line, column, type and value, and nothing is
# published (head version, log and artifacts unchanged); generate --rows
# writes typed extents whose statistics a real ingest of the same artifact
# reproduces; the typed members survive a checkpoint, and verify is clean.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; # --- verify reads typed artifacts: rows that do not parse, counts that differ ---
check "create-database Tampered" lc create-database Tampered
check "create-table" lc create-table Tampered T 'A:long,B:string'
printf '1,x\n2,y\n' >"$T/t1.csv"
printf 'one,x\n' >"$T/t2.csv"
check "ingest typed rows" lc ingest Tampered T "$T/t1.csv" --format csv
check "ingest bad rows, opaque" lc ingest Tampered T "$T/t2.csv"
check "verify is clean before" lc verify
tuuid=$(lc show --json | jq -r '.databases[] | select(.name == "Tampered") | .uuid')
logs=("$D/db/$tuuid/log/"*.json)
n=${#logs[@]}
jq -c '.actions[0].extents[0].rows = 3 | .actions[0].extents[0].columns[0].max = "7"' "${logs[n - 2]}" >"$T/l1" &&
	cp "$T/l1" "${logs[n - 2]}"
jq -c '.actions[0].extents[0].artifacts[0].format = "csv"' "${logs[n - 1]}" >"$T/l2" && cp "$T/l2" "${logs[n - 1]}"
check_fails "verify finds the tampered typed extents" lc verify
check_match "... an extent whose rows do not parse" \
	"rows of extent .* of Tampered.T: artifacts/.*:1: column 'A' \(long\): 'one': not a long" "$(cat "$T/last.out")"
check_match "... an extent whose row count differs" "of Tampered.T: 2 rows where the extent says 3" "$(cat "$T/last.out")"

done_testing; }
for tool in gzip zstd jq; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed (make test-deps)"
done
D=$T/leader
mkdir -p "$D"
lc() { "$LEADERCTL" -C "$D" "$@"; }
version() { lc show --json | jq -r '.databases[] | select(.name == "Logs") | .version'; }
extents() { lc dump "${2:-Logs}" | jq -c '.extents[]?'; }
last_extent() { extents | jq -c "select(.id == \"$1\")"; }
nartifacts() { find "$D/artifacts" -type f | wc -l; }

check "init (a checkpoint every 3 commits)" lc init --checkpoint-interval 3
check "create-database Logs" lc create-database Logs
check "create-table with every type" lc create-table Logs Events \
	'Timestamp:datetime,Level:string,Latency:real,Code:long,Ok:bool,Id:guid,Span:timespan,Price:decimal,Props:dynamic,N:int'

# --- the same rows in three formats ---
cat >"$T/ev.csv" <<'CSV'
Timestamp,Level,Latency,Code,Ok,Id,Span,Price,Props,N
2026-01-02T03:04:05Z,Info,1.5,200,true,3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162,00:00:01,1.50,"{""a"": [1, 2]}",7
2026-01-02T05:04:05.1234567+02:00,"Error, bad",,500,0,,1.00:00:00,-2,,-3
2026-01-01,"multi
line",NaN,404,FALSE,{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405163},-00:00:02.5,10,null,
CSV
{
	printf 'Timestamp\tLevel\tLatency\tCode\tOk\tId\tSpan\tPrice\tProps\tN\r\n'
	printf '2026-01-02T03:04:05Z\tInfo\t1.5\t200\ttrue\t3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162\t00:00:01\t1.50\t{"a": [1, 2]}\t7\r\n'
	printf '2026-01-02T05:04:05.1234567+02:00\tError, bad\t\t500\t0\t\t1.00:00:00\t-2\t\t-3\r\n'
	printf '2026-01-01\t"multi\nline"\tNaN\t404\tFALSE\t{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405163}\t-00:00:02.5\t10\tnull\t\r\n'
} >"$T/ev.tsv"
cat >"$T/ev.json" <<'JSON'
{"Timestamp":"2026-01-02T03:04:05Z","Level":"Info","Latency":1.5,"Code":200,"Ok":true,"Id":"3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162","Span":"00:00:01","Price":"1.50","Props":{"a":[1,2]},"N":7}
{"Timestamp":"2026-01-02T05:04:05.1234567+02:00","Level":"Error, bad","Code":500,"Ok":false,"Span":"1.00:00:00","Price":"-2","N":-3}

{"Timestamp":"2026-01-01","Level":"multi\nline","Latency":"NaN","Code":404,"Ok":"FALSE","Id":"{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405163}","Span":"-00:00:02.5","Price":"10","Props":null,"extra":1}
JSON
want_stats='[{"name":"Timestamp","type":"datetime","nulls":0,"min":"2026-01-01T00:00:00.0000000Z","max":"2026-01-02T03:04:05.1234567Z"},{"name":"Level","type":"string","nulls":0},{"name":"Latency","type":"real","nulls":1,"min":"1.5","max":"1.5"},{"name":"Code","type":"long","nulls":0,"min":"200","max":"500"},{"name":"Ok","type":"bool","nulls":0},{"name":"Id","type":"guid","nulls":1},{"name":"Span","type":"timespan","nulls":0,"min":"-00:00:02.5000000","max":"1.00:00:00"},{"name":"Price","type":"decimal","nulls":0,"min":"-2","max":"10"},{"name":"Props","type":"dynamic","nulls":2},{"name":"N","type":"int","nulls":1,"min":"-3","max":"7"}]'

n=0
for fmt in csv tsv json; do
	src=$T/ev.$fmt
	skip=()
	[ "$fmt" = json ] || skip=(--ignore-first-record)
	gzip -c "$src" >"$T/ev-$fmt.$fmt.gz"
	zstd -q -c "$src" >"$T/ev-$fmt.$fmt.zst"
	cp "$src" "$T/ev-$fmt.gzipped"
	gzip -c "$src" >"$T/ev-$fmt.gzipped"
	for file in "$src" "$T/ev-$fmt.$fmt.gz" "$T/ev-$fmt.$fmt.zst" "$T/ev-$fmt.gzipped"; do
		comp=()
		case "$file" in *.gzipped) comp=(--compression gzip) ;; esac
		want_comp=none
		case "$file" in *.gz | *.gzipped) want_comp=gzip ;; *.zst) want_comp=zstd ;; esac
		name=$(basename "$file")
		id=$(lc ingest Logs Events "$file" --format "$fmt" "${comp[@]}" "${skip[@]}" 2>"$T/err")
		if [ -z "$id" ]; then not_ok "ingest $name as $fmt"; sed 's/^/# /' "$T/err"; continue; fi
		ok "ingest $name as $fmt"
		n=$((n + 1))
		x=$(last_extent "$id")
		check_eq "$name: 3 rows, format $fmt, compression $want_comp" \
			"3 $fmt $want_comp ${skip:+true}" \
			"$(jq -r '"\(.rows) \(.artifacts[0].format) \(.artifacts[0].compression // "none") \(.artifacts[0].ignore_first_record // "")"' <<<"$x")"
		check_eq "$name: column statistics" "$want_stats" "$(jq -c .columns <<<"$x")"
	done
done
check_eq "original_size is the uncompressed rows' size" "$(stat -c %s "$T/ev.csv")" \
	"$(extents | jq -r 'select(.artifacts[0].name == "ev-csv.csv.zst") | .original_size')"

# --- refused files: the message, and nothing published ---
v=$(version)
arts=$(nartifacts)
refuse() { # refuse DESC EXPECTED-MESSAGE-REGEX ARGS...
	local desc=$1 re=$2; shift 2
	check_fails "$desc is refused" lc ingest Logs Events "$@"
	check_match "... $desc: the message" "$re" "$(cat "$T/last.out")"
}
printf 'Timestamp,Level,Latency,Code,Ok,Id,Span,Price,Props,N\n2026-01-02,a,1,2,true,,,,,1\n2026-01-02,b,fast,2,true,,,,,1\n' >"$T/bad1.csv"
refuse "a bad real" "^leaderctl: ingest: $T/bad1.csv:3: column 'Latency' \(real\): 'fast': not a real .*; nothing was published$" \
	"$T/bad1.csv" --format csv --ignore-first-record
printf '2026-01-02,a,1,99999999999999999999,true,,,,,1\n' >"$T/bad2.csv"
refuse "an overflowing long" "bad2.csv:1: column 'Code' \(long\): '99999999999999999999': out of range for long" \
	"$T/bad2.csv" --format csv
printf '2026-01-02,a,1,2,true,,,,,2147483648\n' >"$T/bad3.csv"
refuse "an int out of range" "bad3.csv:1: column 'N' \(int\): '2147483648': out of range for int" "$T/bad3.csv" --format csv
printf '2026-01-02,a,1,2,true\n' >"$T/bad4.csv"
refuse "a short record" "bad4.csv:1: 5 fields, the table has 10 columns" "$T/bad4.csv" --format csv
printf '2026-01-02,"a,1,2,true,,,,,1\n' >"$T/bad5.csv"
refuse "an unclosed quote" "bad5.csv:1: a quoted field is not closed" "$T/bad5.csv" --format csv
printf '{"Timestamp":"2026-02-30"}\n' >"$T/bad6.json"
refuse "an impossible date in JSON" "bad6.json:1: column 'Timestamp' \(datetime\): '2026-02-30': not a datetime" \
	"$T/bad6.json" --format json
printf '{"Props":{"a":1},"Props":2}\n' >"$T/bad7.json"
refuse "a duplicate JSON key" "bad7.json:1: not a JSON object: duplicate object key" "$T/bad7.json" --format json
printf '2026-01-02\tx\t1\t2\ttrue\t\t\t\t{bad}\t1\n' >"$T/bad8.tsv"
refuse "bad dynamic JSON in TSV" "bad8.tsv:1: column 'Props' \(dynamic\): '\{bad\}': not a dynamic" "$T/bad8.tsv" --format tsv
gzip -c "$T/ev.csv" >"$T/plain-name.csv"
refuse "gzip data declared plain" "plain-name.csv:1: gzip-compressed data declared plain" \
	"$T/plain-name.csv" --format csv --ignore-first-record
head -c 60 "$T/ev-csv.csv.gz" >"$T/trunc.csv.gz"
refuse "a truncated gzip file" "trunc.csv.gz:.*gzip: truncated input" "$T/trunc.csv.gz" --format csv
refuse "zstd data declared gzip" "not gzip data" "$T/ev-csv.csv.zst" --format csv --compression gzip
refuse "a good file with a bad one" "bad1.csv:3: column 'Latency'" \
	"$T/ev.csv" "$T/bad1.csv" --format csv --ignore-first-record
check_eq "the head did not move" "$v" "$(version)"
check_eq "no artifact was uploaded" "$arts" "$(nartifacts)"
check_eq "no log object was written" "$v" "$(find "$D/db" -path '*/log/*' -name '*.json' | wc -l)"

# --- usage ---
check_fails "--rows with --format" lc ingest Logs Events "$T/ev.csv" --format csv --rows 3
check_fails "--compression without --format" lc ingest Logs Events "$T/ev.csv" --compression gzip
check_fails "an unknown format" lc ingest Logs Events "$T/ev.csv" --format parquet
check_match "... says which are known" "--format: 'parquet' is not csv, tsv or json" "$(cat "$T/last.out")"
check "ingest without --format stays opaque" lc ingest Logs Events "$T/ev.csv"
check_eq "... no format, no statistics, rows counted by lines" "null null 5" \
	"$(extents | jq -r 'select(.artifacts[0].name == "ev.csv" and .artifacts[0].format == null) | "\(.artifacts[0].format) \(.columns) \(.rows)"')"

# --- merge-extents merges the statistics; not across an alter-table ---
printf '2026-03-01T00:00:00Z,x,0.25,100,true,,,,,\n' >"$T/m1.csv"
printf '2026-04-01T00:00:00Z,y,,600,true,,,99.5,,\n' >"$T/m2.csv"
m1=$(lc ingest Logs Events "$T/m1.csv" --format csv)
m2=$(lc ingest Logs Events "$T/m2.csv" --format csv)
m=$(lc merge-extents Logs "$m1" "$m2")
check_match "merge-extents of two typed extents" '^[0-9a-f-]{36}$' "$m"
check_eq "... the merged statistics" \
	'2 [0,"2026-03-01T00:00:00.0000000Z","2026-04-01T00:00:00.0000000Z"] [1,"0.25","0.25"] ["100","600"] [1,"99.5","99.5"]' \
	"$(last_extent "$m" | jq -c -r '"\(.rows) \(.columns[0] | [.nulls, .min, .max]) \(.columns[2] | [.nulls, .min, .max]) \(.columns[3] | [.min, .max]) \(.columns[7] | [.nulls, .min, .max])"')"
check "alter-table adds a column" lc alter-table Logs Events \
	'Timestamp:datetime,Level:string,Latency:real,Code:long,Ok:bool,Id:guid,Span:timespan,Price:decimal,Props:dynamic,N:int,Extra:string'
printf '2026-05-01T00:00:00Z,z,1,1,true,,,,,,more\n' >"$T/m3.csv"
m3=$(lc ingest Logs Events "$T/m3.csv" --format csv)
check_match "ingest with the new column" '^[0-9a-f-]{36}$' "$m3"
check_eq "... its extent lists 11 columns" 11 "$(last_extent "$m3" | jq '.columns | length')"
check_fails "merging extents of two schemas is refused" lc merge-extents Logs "$m" "$m3"
check_match "... saying why" "were written with different columns" "$(cat "$T/last.out")"

# --- a checkpoint keeps the typed members; verify is clean ---
check "checkpoint" lc checkpoint Logs
check_eq "the checkpoint holds $n typed extents with statistics" "$((n + 2))" \
	"$(cat "$(ls -d "$D"/db/*/checkpoint/* | tail -1)"/part-*.ndjson | jq -c '.extents[]? | select(.artifacts[0].format != null and .columns != null)' | wc -l)"
check "verify" lc verify

# --- generate --rows: typed extents a real ingest agrees with ---
check "generate 4 extents of 500 rows (gzip)" lc generate Gen --tables 2 --extents 4 --rows 500 --gzip
lc dump Gen >"$T/gen.ndjson"
check_eq "4 extents of 500 rows, csv + gzip, 8 column statistics" "4" \
	"$(jq -c '.extents[]? | select(.rows == 500 and .artifacts[0].format == "csv" and .artifacts[0].compression == "gzip" and (.columns | length) == 8)' "$T/gen.ndjson" | wc -l)"
x=$(jq -c '.extents[]?' "$T/gen.ndjson" | head -1)
sha=$(jq -r '.artifacts[0].sha256' <<<"$x")
check "create-table with the generated columns" lc create-table Logs Gen \
	'Timestamp:datetime,Level:string,Host:string,Service:string,Latency:real,Message:string,Code:long,Props:dynamic'
id=$(lc ingest Logs Gen "$D/artifacts/${sha:0:2}/$sha" --format csv --compression gzip)
check_match "... ingested" '^[0-9a-f-]{36}$' "$id"
check_eq "ingesting a generated artifact gives its published statistics" \
	"$(jq -c '[.rows, .original_size, .columns]' <<<"$x")" \
	"$(last_extent "$id" | jq -c '[.rows, .original_size, .columns]')"
check "verify after generate" lc verify

# --- verify reads typed artifacts: rows that do not parse, counts that differ ---
check "create-database Tampered" lc create-database Tampered
check "create-table" lc create-table Tampered T 'A:long,B:string'
printf '1,x\n2,y\n' >"$T/t1.csv"
printf 'one,x\n' >"$T/t2.csv"
check "ingest typed rows" lc ingest Tampered T "$T/t1.csv" --format csv
check "ingest bad rows, opaque" lc ingest Tampered T "$T/t2.csv"
check "verify is clean before" lc verify
tuuid=$(lc show --json | jq -r '.databases[] | select(.name == "Tampered") | .uuid')
logs=("$D/db/$tuuid/log/"*.json)
n=${#logs[@]}
jq -c '.actions[0].extents[0].rows = 3 | .actions[0].extents[0].columns[0].max = "7"' "${logs[n - 2]}" >"$T/l1" &&
	cp "$T/l1" "${logs[n - 2]}"
jq -c '.actions[0].extents[0].artifacts[0].format = "csv"' "${logs[n - 1]}" >"$T/l2" && cp "$T/l2" "${logs[n - 1]}"
check_fails "verify finds the tampered typed extents" lc verify
check_match "... an extent whose rows do not parse" \
	"rows of extent .* of Tampered.T: artifacts/.*:1: column 'A' \(long\): 'one': not a long" "$(cat "$T/last.out")"
check_match "... an extent whose row count differs" "of Tampered.T: 2 rows where the extent says 3" "$(cat "$T/last.out")"

# --- ingest and verify stream a typed artifact: 64 MiB of CSV never held whole ---
if [ -x /usr/bin/time ]; then
	check "create-database Big" lc create-database Big
	check "create-table" lc create-table Big T 'Ts:datetime,Host:string,N:long'
	awk 'BEGIN { for (i = 0; i < 1400000; i++)
		printf "2026-12-01T00:%02d:%02d.1234567Z,host-%d-padding-padding,%d\n", i % 60, i % 60, i % 97, i }' >"$T/big.csv"
	/usr/bin/time -f '%M' -o "$T/ingest.rss" "$LEADERCTL" -C "$D" ingest Big T "$T/big.csv" --format csv --compression none >"$T/last.out" 2>&1
	check_eq "ingest parses a $(($(stat -c %s "$T/big.csv") >> 20)) MiB CSV" 0 $?
	rss=$(tail -1 "$T/ingest.rss")
	check_eq "... in less than 48 MiB of memory" yes "$([ "$rss" -lt 49152 ] && echo yes || echo "no: $rss KiB")"
	/usr/bin/time -f '%M' -o "$T/verify.rss" "$LEADERCTL" -C "$D" verify >"$T/last.out" 2>&1
	check_match "verify reads it" "problems found" "$(cat "$T/last.out")"
	check_eq "... and finds its rows good (the problems are the tampered ones)" "" "$(grep 'Big' "$T/last.out")"
	rss=$(tail -1 "$T/verify.rss")
	check_eq "... in less than 48 MiB of memory" yes "$([ "$rss" -lt 49152 ] && echo yes || echo "no: $rss KiB")"
	rm -f "$T/big.csv"
else
	skip "ingest and verify stream: /usr/bin/time not installed (make test-deps)"
fi

done_testing
