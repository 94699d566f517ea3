#!/bin/sh
# Usage: check_generated_config.sh ATTNMATRIX WORK_DIR KIND EXPECTED_SUBSTRING [--no-line]
# The bad configs that cannot be committed: not regular files, or too large to keep in the tree.
# Makes the input KIND in WORK_DIR, then checks it as check_bad_config.sh checks bad/*.yaml.
set -u
tool=$1 dir=$2 kind=$3
shift 3
mkdir -p "$dir"

# N opening brackets, then N closing ones: a list nested N deep.
brackets() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; ++i) printf "["; for (i = 0; i < n; ++i) printf "]" }'
}

case $kind in
directory) # a folder given as the config
    config=$dir/a_directory.yaml
    mkdir -p "$config" ;;
dev_zero) # endless zeros: read to end of file, this once took 8.5 GB
    config=/dev/zero ;;
fifo) # a named pipe: opening it for reading waits for a writer unless it is refused first
    config=$dir/a_fifo.yaml
    rm -f "$config" && mkfifo "$config" || exit 1 ;;
over_size_limit) # one byte past ATTN_TEXT_FILE_MAX (16 MiB); sparse, refused by its size alone
    config=$dir/over_size_limit.yaml
    rm -f "$config" && dd if=/dev/zero of="$config" bs=1 count=1 seek=16777216 2>/dev/null || exit 1 ;;
at_size_limit) # exactly 16 MiB of comments: read and parsed (no document), not refused by size
    config=$dir/at_size_limit.yaml
    awk 'BEGIN { for (i = 0; i < 262144; ++i) printf "#%62s\n", "" }' >"$config" ;;
deep) # 100,000 levels: libyaml's loader took a minute on it; refused at the 65th
    config=$dir/deep.yaml
    { printf 'backends: '; brackets 100000; echo; } >"$config" ;;
deep_at_limit) # the root mapping and 63 lists: 64 levels, the limit, parsed as usual
    config=$dir/deep_at_limit.yaml
    { printf 'backends: '; brackets 63; echo; } >"$config" ;;
many_keys) # 99,000 option keys (198,000 nodes, under the node limit), the last one twice: 40,000
    # took 5 s when keys were compared pairwise
    config=$dir/many_keys.yaml
    awk 'BEGIN {
        print "backends:\n  - name: a\n    plugin: attn_sdpa_ref\n    options:"
        for (i = 0; i < 99000; ++i) printf "      k%d: v\n", i
        print "      k98999: v"
    }' >"$config" ;;
many_nodes) # 16 MiB of one-character list items (8 million nodes): libyaml took 7 GB to build
    # it; refused at node 200,001, before the document is built
    config=$dir/many_nodes.yaml
    awk 'BEGIN { printf "backends: ["; for (i = 0; i < 4000000; ++i) printf "1,"; print "1]" }' >"$config" ;;
nodes_at_limit) # 200,000 nodes exactly (the root mapping, its key, a list of 199,997 items):
    # parsed as usual, then refused for what it says
    config=$dir/nodes_at_limit.yaml
    awk 'BEGIN { printf "backends: ["; for (i = 0; i < 199996; ++i) printf "1,"; print "1]" }' >"$config" ;;
many_backends) # 257 backend entries, one past ATTN_CONFIG_MAX_BACKENDS
    config=$dir/many_backends.yaml
    awk 'BEGIN { print "backends:"; for (i = 0; i < 257; ++i) printf "  - {name: b%d, plugin: attn_sdpa_ref}\n", i }' >"$config" ;;
*)
    echo "check_generated_config.sh: unknown kind '$kind'"
    exit 1 ;;
esac
exec sh "$(dirname "$0")/check_bad_config.sh" "$tool" "$config" "$@"
