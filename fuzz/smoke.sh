#!/usr/bin/env bash
# Smoke-fuzz every target for a short while, starting from the committed seeds.
#
#   fuzz/smoke.sh                      # every target, 60 s each
#   FUZZ_SECONDS=600 fuzz/smoke.sh filter_parse
#
# Environment:
#   FUZZ_SECONDS     libFuzzer -max_total_time per target (default 60)
#   FUZZ_TIMEOUT     libFuzzer -timeout for one input, in seconds (default 20)
#   FUZZ_SANITIZER   cargo fuzz --sanitizer (default address; "none" runs faster)
#   FUZZ_CORPUS_DIR  where the scratch corpora go (default fuzz/corpus/, git-ignored)
#
# Uses `cargo +nightly fuzz` when rustup has a nightly toolchain, else the default
# toolchain with RUSTC_BOOTSTRAP=1 (cargo fuzz needs -Z flags). Installs cargo-fuzz when it
# is missing. Exits non-zero when any target fails (a crash, a failed assertion, a
# timeout or out-of-memory); the failing inputs are in fuzz/artifacts/<target>/.
set -uo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${FUZZ_SECONDS:-60}"
timeout="${FUZZ_TIMEOUT:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
corpus_root="${FUZZ_CORPUS_DIR:-$fuzz_dir/corpus}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 1
fi

if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
echo "smoke: using '${fuzz[*]}'${RUSTC_BOOTSTRAP:+ with RUSTC_BOOTSTRAP=1}, ${seconds}s per target" >&2

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cd "$fuzz_dir" && "${fuzz[@]}" list --fuzz-dir "$fuzz_dir")
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "smoke: no fuzz targets found" >&2
    exit 1
fi

cd "$fuzz_dir" || exit 1
failed=()
for target in "${targets[@]}"; do
    seeds="$fuzz_dir/seeds/$target"
    corpus="$corpus_root/$target"
    mkdir -p "$corpus"
    if [ -d "$seeds" ]; then
        cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
    else
        echo "smoke: warning: no seeds in $seeds" >&2
        seeds=""
    fi
    echo "=== $target (corpus $corpus) ===" >&2
    if "${fuzz[@]}" run --fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer" "$target" "$corpus" ${seeds:+"$seeds"} -- \
        -dict="$fuzz_dir/dict/scim.dict" \
        -max_total_time="$seconds" \
        -timeout="$timeout" \
        -rss_limit_mb=2048 \
        -print_final_stats=1; then
        echo "=== $target: ok ===" >&2
    else
        echo "=== $target: FAILED (see $fuzz_dir/artifacts/$target/) ===" >&2
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "smoke: failing targets: ${failed[*]}" >&2
    echo "smoke: reproduce with: cd $fuzz_dir && ${fuzz[*]} run <target> artifacts/<target>/<file>" >&2
    echo "smoke: minimise with:  cd $fuzz_dir && ${fuzz[*]} tmin <target> artifacts/<target>/<file>" >&2
    exit 1
fi
echo "smoke: all ${#targets[@]} targets ran ${seconds}s without a failure" >&2
