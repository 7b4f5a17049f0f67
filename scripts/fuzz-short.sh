#!/bin/sh
# Runs every fuzz target for a short time (default 60 s each), one after the other, from
# the seed corpora in fuzz/corpus/<target>. Exits non-zero on the first crash; the crashing
# input is left in fuzz/artifacts/<target>/. Needs `cargo install cargo-fuzz` and a nightly
# toolchain. Usage: scripts/fuzz-short.sh [seconds-per-target] [target...]
set -eu
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
[ $# -gt 0 ] && shift
targets="$*"
[ -n "$targets" ] || targets="$(cargo +nightly fuzz list)"
cargo +nightly fuzz build
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t: ${secs}s"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
        | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)|panicked|ERROR" || true
    found="$(find "artifacts/$t" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | head -n 1)"
    if [ -n "$found" ]; then
        echo "!! $t: failing inputs in fuzz/artifacts/$t" >&2
        exit 1
    fi
done
echo "all targets ran clean"
