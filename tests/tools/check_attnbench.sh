#!/bin/sh
# Usage: check_attnbench.sh ATTNBENCH UNAVAILABLE_PLUGIN
# attnbench on the tiny preset with the reference: JSON and table output, a shapes file,
# a backend that cannot run here shown as a row, and the reference left out unless named.
tool=$1
unavailable_plugin=$2
. "$(dirname "$0")/tool_check.sh"

run 0 --preset tiny --backend sdpa-ref --repeats 2 --format json
grep -q '"results"' "$dir/out" || fail "no \"results\" in the JSON"
rows=$(grep -c '"status": "ok"' "$dir/out")
[ "$rows" -eq 2 ] || fail "$rows timed rows, expected 2 (the tiny preset has two shapes)"
grep -q '"ms_median": [0-9]' "$dir/out" || fail "no ms_median"
grep -q '"tflops": [0-9]' "$dir/out" || fail "no tflops"

run 0 --preset tiny --backend sdpa-ref --warmup 0 --repeats 1 --dtype float32
grep -q "^backend *case *ms median" "$dir/out" || fail "no table header"
grep -q "tiny decode GQA 4/2 Tk128 float32" "$dir/out" || fail "--dtype not applied to the preset"

cat >"$dir/shapes.yaml" <<'YAML'
cases:
  - row: bench
    name: my shape
    q_len: 16
    kv_len: 32
    head_dim: 16
YAML
run 0 --shapes "$dir/shapes.yaml" --backend sdpa-ref --warmup 0 --repeats 1 --format json
grep -q '"case": "my shape"' "$dir/out" || fail "the shapes file's case is missing"

# A backend without its device is a row that says so, not a failure.
cat >"$dir/config.yaml" <<YAML
backends:
  - name: sdpa-ref
    plugin: attn_sdpa_ref
  - name: no-device
    plugin: $unavailable_plugin
YAML
run 0 --config "$dir/config.yaml" --preset tiny --warmup 0 --repeats 1
grep -q "^no-device .*UNAVAILABLE: " "$dir/out" || fail "no UNAVAILABLE row for the backend without a device"
grep -q "^sdpa-ref" "$dir/out" && fail "the reference was timed without being named"

# A config whose only backend runs the golden plugin times nothing unless it is named.
cat >"$dir/reference_only.yaml" <<YAML
backends:
  - name: sdpa-ref
    plugin: attn_sdpa_ref
YAML
run 2 --config "$dir/reference_only.yaml" --preset tiny
grep -q "timed only when named" "$dir/err" || fail "no explanation for the empty backend list"
run 2 --preset huge
grep -q "'huge' is not prefill, decode, all or tiny" "$dir/err" || fail "bad preset not named"
run 2 --preset tiny --backend sdpa-ref --repeats 0
run 0 --help
grep -q "^usage: attnbench" "$dir/out" || fail "--help printed no usage"
echo "ok"
