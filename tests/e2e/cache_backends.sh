#!/usr/bin/env bash
# cache_backends — the artifact cache against real storage: a leader
# published to Azure Blob Storage (Azurite), read with the account's Shared
# Key and with a read-only SAS token under a prefix, and a leader directory
# served by nginx.  For each, the hot artifacts are warmed and a cold one is
# read through: in objects/ with the right sha256, recorded cached, and
# served byte-exact by the daemon.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
[ -x "$TOOLS/aztool" ] || skip_all "aztool not built"
command -v curl >/dev/null || skip_all "curl not installed"
CACHE=$T/cache

# publish CMD DB: a database with a 7d policy, two hot extents and a cold
# one; the artifacts' sha256 in $T/DB.hot1, .hot2, .cold.
publish() {
	local cmd=$1 db=$2 tag
	$cmd create-database "$db" >/dev/null
	$cmd create-table "$db" Events 'msg:string' >/dev/null
	$cmd set-caching-policy "$db" 7d >/dev/null
	for tag in hot1 hot2 cold; do
		head -c $((100000 + RANDOM)) /dev/urandom >"$T/$db.$tag.csv"
		sha256sum "$T/$db.$tag.csv" | cut -d' ' -f1 >"$T/$db.$tag"
	done
	$cmd ingest "$db" Events "$T/$db.hot1.csv" >/dev/null
	$cmd ingest "$db" Events "$T/$db.hot2.csv" >/dev/null
	$cmd ingest "$db" Events "$T/$db.cold.csv" --created-on 2020-01-01T00:00:00Z >/dev/null
}

object() { echo "$CACHE/objects/${1:0:2}/$1"; }
cached_ok() {
	[ "$(sha256sum "$(object "$1")" 2>/dev/null | cut -d' ' -f1)" = "$1" ] &&
		[ "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$1')")" = cached ]
}
# served SHA: the daemon serves it byte-exact.
served() {
	[ "$(curl -s "$URL/v1/artifacts/$1" | sha256sum | cut -d' ' -f1)" = "$1" ]
}

# check_backend NAME DB: warmed, cold not fetched, read through, served.
check_backend() {
	local name=$1 db=$2 h1 h2 c
	h1=$(cat "$T/$db.hot1") h2=$(cat "$T/$db.hot2") c=$(cat "$T/$db.cold")
	wait_for "$name: the hot artifacts are warmed and verified" 20 cached_ok "$h1"
	wait_for "$name: ... both" 10 cached_ok "$h2"
	check "$name: the cold one is not fetched by the warmer" test ! -e "$(object "$c")"
	check "$name: a hot one is served byte-exact" served "$h1"
	check "$name: the cold one is read through, byte-exact" served "$c"
	check "$name: ... and is now cached, verified" cached_ok "$c"
}

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
follow() {
	{
		daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" \
			"admin_socket = $T/admin.sock"
		printf '%s\n' "$@"
	} >"$CONF"
	start_follower
}

# ---- nginx ----
if command -v nginx >/dev/null; then
	L=$T/leader
	mkdir -p "$L"
	"$LEADERCTL" -C "$L" init >/dev/null
	publish "$LEADERCTL -C $L" Web
	chmod o+x "$T" # nginx's worker may run as another user
	start_nginx "$L"
	follow "$(attach_conf web "$NGINX_URL" Web)"
	check_backend nginx Web
	stop_follower
	check_eq "nginx: followerd stops cleanly" 0 "$FRC"
else
	skip "the nginx case: nginx not installed (make test-deps)"
fi

# ---- Azurite: Shared Key, and a read-only SAS under a prefix ----
start_azurite
printf '%s\n' "$AZ_KEY" >"$T/key"
az_create_container keyed >/dev/null
az_create_container sas >/dev/null
"$TOOLS/aztool" --account-key "$AZ_KEY" sas "$AZ_URL/sas" rl 600 >"$T/sas-ro"
chmod 600 "$T/key" "$T/sas-ro"
KEYED=$AZ_URL/keyed
PREFIXED=$AZ_URL/sas/env/prod
lk() { "$LEADERCTL" -C "$KEYED" --account-key-file "$T/key" "$@"; }
ls_() { "$LEADERCTL" -C "$PREFIXED" --account-key-file "$T/key" "$@"; }
lk init >/dev/null
ls_ init >/dev/null
publish lk Keyed
publish ls_ Sas
rm -rf "$CACHE" "$STATE"
follow "$(attach_conf keyed "$KEYED" Keyed "account_key_file = $T/key")" \
	"$(attach_conf viasas "$PREFIXED" Sas "sas_token_file = $T/sas-ro")"
check_backend "Azurite, Shared Key" Keyed
check_backend "Azurite, read-only SAS" Sas
stop_follower
check_eq "Azurite: followerd stops cleanly" 0 "$FRC"
done_testing
