#!/bin/sh
# Usage: check_isolate_fork.sh ATTNMATRIX CONFIG CASES
# A plugin forks a child that sleeps holding the worker's pipes, then segfaults (D == 24): the
# worker's death must be seen by its exit status, not by end of file on its pipe (which the
# child keeps open), so the cell reads CRASH at once, even with no timeout (--timeout 0), and
# the child, in the worker's process group, must not outlive the run.
. "$(dirname "$0")/common.sh"
pid_file=$(mktemp)
trap 'rm -f "$out" "$err" "$pid_file"' EXIT

# Do not leave the sleeper of a failed run behind.
on_fail() {
    grandchild=$(cat "$pid_file")
    [ -n "$grandchild" ] && kill -9 "$grandchild" 2>/dev/null
}

# 1 when the process is gone (or a zombie waiting for init to reap it: it runs nothing).
gone() {
    [ ! -d "/proc/$1" ] && return 0
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -z "$state" ] || [ "$state" = Z ]
}

# No limit at all: before the fix this run never ended.  A 60 s watchdog turns a hang into a
# failure; the sleeper holds the pipe for 120 s, so ending before the watchdog proves that the
# worker's death was seen by its status, not by end of file (no timing is asserted beyond that).
MISBEHAVE_PID_FILE="$pid_file" timeout 60 "$tool" --config "$config" --cases "$cases" --rows "Isolation: crash" \
    --no-builtin --isolate --timeout 0 --format json --quiet >"$out" 2>"$err"
status=$?
[ "$status" -ne 124 ] || fail "attnmatrix --timeout 0 did not end within 60 s (the worker's death went unseen)"
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (CRASH counts as a failure)"
grep -qF '{"case": "Isolation: crash", "cells": {"sdpa-ref": "PASS", "fork-crasher": "CRASH"}' "$out" ||
    fail "the row should read PASS, CRASH"
grep -qE '"fork-crasher": "[^"]*(killed by SIGSEGV|the worker exited with status [1-9])' "$out" ||
    fail "no crash reason"

grandchild=$(cat "$pid_file")
[ -n "$grandchild" ] || fail "the plugin's child did not write its pid"
# Killed with its group when the worker died: give the kernel a moment to finish it.
tries=0
while ! gone "$grandchild" && [ $tries -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
gone "$grandchild" || fail "the plugin's child (pid $grandchild) outlived the run"

# With a timeout too, the crash is a CRASH and not a TIMEOUT.
: >"$pid_file"
MISBEHAVE_PID_FILE="$pid_file" "$tool" --config "$config" --cases "$cases" --rows "Isolation: crash" \
    --no-builtin --isolate --timeout 30 --format json --quiet >"$out" 2>"$err"
grep -qF '"fork-crasher": "CRASH"' "$out" || fail "--timeout 30: the row should read CRASH"
grandchild=$(cat "$pid_file")
tries=0
while [ -n "$grandchild" ] && ! gone "$grandchild" && [ $tries -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
[ -n "$grandchild" ] && gone "$grandchild" || fail "--timeout 30: the plugin's child outlived the run"
echo "ok: a crash with the pipe held open by a forked child is CRASH, and the child is gone"
