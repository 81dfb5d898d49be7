#!/usr/bin/env bash
# lib/cache under injected faults (strace), through cachetool: a failed
# fsync is never retried and leaves nothing in objects/ or tmp/; a crash at
# every fsync and rename of a commit leaves either no object or the right
# one, and the next run resumes and publishes it.
source "$(dirname "$0")/lib.sh"

CT=$TOOLS/cachetool
[ -x "$CT" ] || { not_ok "cachetool is built ($CT)"; done_testing; }
command -v strace >/dev/null || skip_all "strace is not installed"
strace -f -qq -o /dev/null -e inject=fsync:error=EIO:when=1 true 2>/dev/null ||
	skip_all "strace cannot inject faults here"

# LeakSanitizer cannot run under ptrace: it would fail every traced run.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

F=$T/artifact
head -c 1048577 /dev/urandom >"$F"
SHA=$(sha256sum "$F" | cut -d' ' -f1)
SIZE=$(stat -c %s "$F")
OBJ=objects/${SHA:0:2}/$SHA

nfiles() { find "$1" -type f | wc -l; }

# put_with DIR INJECT: cachetool put under strace, fsync calls logged to $T/strace.
put_with() {
	strace -f -qq -o "$T/strace" -e trace=fsync,rename,renameat,renameat2 -e "inject=$2" \
		"$CT" put "$1" "$F" >"$T/put.out" 2>"$T/put.err"
}

# --- a failed fsync: discarded, never retried ---
C=$T/cache
check "the cache is created" "$CT" init "$C"

put_with "$C" fsync:error=EIO:when=1 && not_ok "fsync of the file fails: put fails" ||
	ok "fsync of the file fails: put fails"
check_match "... with -EIO from commit" "cache_writer_commit: -5 " "$(cat "$T/put.err")"
check_eq "... fsync was called once (never retried)" 1 "$(grep -c '^[0-9]* *fsync(' "$T/strace")"
check_eq "... nothing renamed" 0 "$(grep -c 'rename' "$T/strace")"
check_eq "... nothing in objects/" 0 "$(nfiles "$C/objects")"
check_eq "... nothing in tmp/" 0 "$(nfiles "$C/tmp")"

put_with "$C" fsync:error=EIO:when=2 && not_ok "fsync of objects/ (new fan-out dir) fails: put fails" ||
	ok "fsync of objects/ (new fan-out dir) fails: put fails"
check_match "... with -EIO from commit" "cache_writer_commit: -5 " "$(cat "$T/put.err")"
check_eq "... nothing in objects/" 0 "$(nfiles "$C/objects")"
check_eq "... nothing in tmp/" 0 "$(nfiles "$C/tmp")"

put_with "$C" fsync:error=EIO:when=2 && not_ok "fsync of objects/${SHA:0:2}/ after the rename fails: put fails" ||
	ok "fsync of objects/${SHA:0:2}/ after the rename fails: put fails"
check_match "... with -EIO from commit" "cache_writer_commit: -5 " "$(cat "$T/put.err")"
check_eq "... the rename happened" 1 "$(grep -c 'rename' "$T/strace")"
check_eq "... and was undone: nothing in objects/" 0 "$(nfiles "$C/objects")"
check_eq "... nothing in tmp/" 0 "$(nfiles "$C/tmp")"

check "without faults put succeeds" "$CT" put "$C" "$F"
check_eq "... the object is the artifact" "$SHA" "$(sha256sum "$C/$OBJ" | cut -d' ' -f1)"
check_eq "... mode 0640" 640 "$(stat -c %a "$C/$OBJ")"

# --- a crash at each step of a commit ---
# On a fresh cache a commit makes, in order: fsync(file), fsync(objects/)
# for the new fan-out directory, rename, fsync(objects/ab/).  Which rename
# system call libc uses is looked up first.
"$CT" init "$T/probe"
strace -f -qq -o "$T/strace" -e trace=rename,renameat,renameat2 "$CT" put "$T/probe" "$F" >/dev/null
RENAME=$(sed -n 's/^[0-9]* *\(rename[a-z0-9]*\)(.*/\1/p' "$T/strace" | head -1)
check_match "the rename system call is found ($RENAME)" "^rename" "$RENAME"
i=0
for inject in fsync:when=1 fsync:when=2 "$RENAME:when=1" fsync:when=3; do
	i=$((i + 1))
	C=$T/crash$i
	"$CT" init "$C"
	# strace dies of the tracee's signal; keep bash's "Killed" out of the log.
	{
		strace -f -qq -o /dev/null -e "inject=${inject%%:*}:signal=SIGKILL:${inject#*:}" \
			"$CT" put "$C" "$F" >/dev/null 2>&1
		rc=$?
	} 2>/dev/null
	if [ "$(nfiles "$C/objects")" = 0 ]; then
		state=absent
	elif [ "$(sha256sum "$C/$OBJ" 2>/dev/null | cut -d' ' -f1)" = "$SHA" ]; then
		state=right
	else
		state=WRONG
	fi
	check_eq "killed at $inject: exit 137 (SIGKILL)" 137 "$rc"
	check_match "... no object or the right one ($state)" "^(absent|right)$" "$state"
	out=$("$CT" reconcile "$C" "$SHA:$SIZE")
	check_match "... reconcile: no stray, no error" "strays 0 .* errors 0" "$out"
	check "... the next run publishes it" "$CT" put "$C" "$F"
	check_eq "... the object is the artifact" "$SHA" "$(sha256sum "$C/$OBJ" | cut -d' ' -f1)"
	check_eq "... tmp/ is empty" 0 "$(nfiles "$C/tmp")"
done

# --- reconcile against the store ---
C=$T/cache
out=$("$CT" reconcile "$C" "$SHA:$SIZE")
check_match "a known, uncached object is adopted" "adopt $SHA" "$out"
out=$("$CT" reconcile "$C" "$SHA:$((SIZE + 1)):c")
check_match "a wrong-sized object is removed and reported lost" "wrong_size 1 .*lost 1" "$out"
check_eq "... it is gone" 0 "$(nfiles "$C/objects")"

done_testing
