#!/bin/sh
# Usage: check_variants.sh ATTNMATRIX CONFIG
# Every flex-cpu variant of the config must PASS every row of the table: attnmatrix exits 0
# on no FAIL, and no table row may hold PARTIAL, UNSUPPORTED, N/A or SKIP either.
matrix=$1
config=$2
out=$("$matrix" --quiet --config "$config" 2>&1)
status=$?
echo "$out"
if [ $status -ne 0 ]; then
    echo "attnmatrix exited with $status" >&2
    exit 1
fi
if echo "$out" | grep '^| ' | grep -v '^| Case' | grep -E 'FAIL|PARTIAL|UNSUPPORTED|N/A|SKIP' >/dev/null; then
    echo "some flex-cpu cell is not PASS" >&2
    exit 1
fi
echo "every flex-cpu variant passed every row"
