#!/bin/sh
# Usage: check_rows_filter.sh ATTNMATRIX
# --rows that selects nothing is a usage error (exit 2) naming the rows there are, not an empty
# table that exits 0.
tool=$1
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$tool" --rows "No such row" --quiet >/dev/null 2>"$err"
status=$?
[ "$status" -eq 2 ] || { echo "FAIL: exit status $status, expected 2"; cat "$err"; exit 1; }
grep -qF -- "--rows 'No such row' selects no instance; the rows are: 'Causal full-seq'" "$err" ||
    { echo "FAIL: the message does not name the rows"; cat "$err"; exit 1; }
echo "ok: $(cat "$err")"
