#!/bin/sh
# Usage: check_good_config.sh ATTNMATRIX CONFIG EXPECTED_SUBSTRING
# `attnmatrix --list` on a good config exits 0 and lists the backends with their resolved
# files.  ctest runs it from / so that a path resolved against the working directory fails.
tool=$1
config=$2
expected=$3
output=$("$tool" --config "$config" --list 2>&1)
status=$?
if [ "$status" -ne 0 ] || ! printf '%s\n' "$output" | grep -qF -- "$expected"; then
    echo "FAIL: $config: exit status $status (expected 0), expected to find: $expected"
    printf '%s\n' "$output"
    exit 1
fi
printf '%s\n' "$output"
