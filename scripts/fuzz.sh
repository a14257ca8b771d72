#!/usr/bin/env bash
# Coverage-guided fuzzing of sealnet's decoders and sessions with libFuzzer (targets in fuzz/), on the
# stable toolchain: RUSTC_BOOTSTRAP=1 lets it take the flags cargo-fuzz passes on nightly. cargo-fuzz
# is not needed (`cargo fuzz run TARGET` in fuzz/ works too where it is installed).
#
#   scripts/fuzz.sh test                       the quick smoke for `make test`: every target's code on its
#                                              seeds and a few thousand mutations, no instrumentation
#   scripts/fuzz.sh build                      builds the instrumented target binaries
#   scripts/fuzz.sh smoke [SECONDS]            builds, then runs every target under libFuzzer for SECONDS
#                                              (default 3) each; one line per target
#   scripts/fuzz.sh run [-j N] [EXECS] [TARGET...]
#                                              EXECS executions (default 10,000,000) of each TARGET (default:
#                                              all), N at a time (default 1), keeping a corpus per target
#   scripts/fuzz.sh replay [TARGET...]         runs every corpus input once more under AddressSanitizer
#   scripts/fuzz.sh repro TARGET FILE...       replays inputs through the uninstrumented target, with a
#                                              Rust backtrace (`--hex HEX...` instead of files also works)
#   scripts/fuzz.sh list                       the targets
#
# Everything lives under cargo's target directory (scripts/target-dir.sh), in fuzz/: build-asan/, build-plain/ and
# smoke-build/ (cargo), corpus/TARGET (grows across runs), seeds/TARGET (rewritten each run from
# fuzz/src/seeds.rs), artifacts/TARGET (crashing, leaking, slow inputs), logs/TARGET.log.
# smoke and run exit non-zero when a target finds something and print the artifact's path.
#
# AddressSanitizer links on this toolchain and is on for smoke and replay; run leaves it off by default
# because it made these targets 3 to 12 times slower, and sealnet's protocol code has no unsafe code for
# it to check (unbounded allocation is caught without it: fuzz/src/alloc.rs). FUZZ_ASAN=1 or 0 overrides
# that; FUZZ_ARGS adds libFuzzer options; SEALNET_FUZZ_SMOKE_RUNS sets the inputs per target of `test`.
set -euo pipefail

# Run by cargo as RUSTC_WRAPPER during `build`: the coverage instrumentation goes on sealnet and the fuzz
# crate only, not on the crates they use. Coverage inside AES, SHA-256 or X25519 only adds noise (no
# fuzzer forges a tag), and instrumenting them made the handshake and session targets several times
# slower. Build scripts and proc macros (no --target) are never instrumented.
if [ -n "${SEALNET_FUZZ_WRAP:-}" ]; then
  crate=""
  has_target=no
  previous=""
  for arg in "$@"; do
    [ "$previous" = --crate-name ] && crate=$arg
    [ "$arg" = --target ] && has_target=yes
    previous=$arg
  done
  case " $SEALNET_FUZZ_WRAP " in
    *" $crate "*)
      # shellcheck disable=SC2086 # a list of flags
      [ "$has_target" = yes ] && exec "$@" $SEALNET_FUZZ_COVERAGE_FLAGS
      ;;
  esac
  exec "$@"
fi

root=$(cd "$(dirname "$0")/.." && pwd)
manifest=$root/fuzz/Cargo.toml
target_dir=$("$root/scripts/target-dir.sh")
work=$target_dir/fuzz
triple=$(rustc -vV | sed -n 's/^host: //p')

# AddressSanitizer on ($1 = 1) or off: separate builds, so switching never rebuilds.
use_asan() {
  asan=${FUZZ_ASAN:-$1}
  build_dir=$work/build-$([ "$asan" != 0 ] && echo asan || echo plain)
  bin_dir=$build_dir/$triple/release
}

# The targets, as the [[bin]] entries of fuzz/Cargo.toml name them.
mapfile -t all_targets < <(sed -n 's/^path = "fuzz_targets\/\(.*\)\.rs"$/\1/p' "$manifest")

die() {
  echo "fuzz.sh: $*" >&2
  exit 2
}

is_target() {
  local name
  for name in "${all_targets[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

# Largest input worth trying: a header is at most 28 bytes, a handshake message a few hundred.
max_len() {
  case "$1" in
    frame_header) echo 64 ;;
    noise_responder | noise_initiator) echo 512 ;;
    # Commands, not bytes on the wire: a few hundred are plenty, and longer inputs only run slower.
    client_session | encrypted_*) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

# The instrumentation cargo-fuzz uses (coverage level 4 = edges, 8-bit counters, PC table, comparison
# tracing), applied by the wrapper above to sealnet and the fuzz crate; everything gets debug
# assertions, --cfg fuzzing and (unless FUZZ_ASAN=0) AddressSanitizer, which works on this toolchain
# for this host.
coverage_flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"

build() {
  local flags="--cfg fuzzing -Cdebug-assertions"
  [ "$asan" != 0 ] && flags="$flags -Zsanitizer=address"
  echo "building fuzz targets in $build_dir ($([ "$asan" != 0 ] && echo "with" || echo "without") AddressSanitizer)"
  local start=$SECONDS
  # --target keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does.
  SEALNET_FUZZ_WRAP="sealnet sealnet_fuzz ${all_targets[*]}" SEALNET_FUZZ_COVERAGE_FLAGS=$coverage_flags \
    RUSTC_WRAPPER="$root/scripts/fuzz.sh" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags" \
    cargo build --manifest-path "$manifest" --release --bins --target "$triple" --target-dir "$build_dir"
  echo "built in $((SECONDS - start)) s"
}

# Rewrites the seed corpus of $1 from fuzz/src/seeds.rs (the binary writes it and exits).
write_seeds() {
  rm -rf "${work:?}/seeds/$1"
  SEALNET_FUZZ_WRITE_SEEDS=$work/seeds/$1 "$bin_dir/$1" >/dev/null 2>&1 ||
    die "$1 could not write its seeds"
}

# Options every run shares. Inputs that take over 10 s or allocate over 512 MB at once (2 GB in all)
# are findings; leaks are not (the targets keep one static key and clock).
common_options() {
  echo "-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -detect_leaks=0 -print_final_stats=1 \
-max_len=$(max_len "$1") -artifact_prefix=$work/artifacts/$1/"
}

# Prints a summary line for target $1 from its log $2 and the exit status $3; returns 1 on a finding.
summarize() {
  local name=$1 log=$2 status=$3
  local execs rate cov ft corpus secs found=no
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
  ft=$(grep -o ' ft: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
  corpus=$(grep -o ' corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | sed 's/ corp: //')
  secs=$(sed -n 's/^fuzz.sh: seconds: //p' "$log" | tail -1)
  local artifacts
  artifacts=$(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //' || true)
  if [ "$status" != 0 ] || [ -n "$artifacts" ]; then
    found=YES
  fi
  printf '%-26s execs %-10s time %6ss  exec/s %-7s cov %-5s ft %-6s corpus %-12s found %s\n' \
    "$name" "${execs:-?}" "${secs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$found"
  if [ "$found" = YES ]; then
    echo "  $name: libFuzzer exited with status $status; log: $log"
    local artifact
    for artifact in $artifacts; do echo "  $name: input written to $artifact"; done
    grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY" "$log" | sed "s/^/  $name: /" || true
    return 1
  fi
}

# Runs target $1 with libFuzzer options $2 (corpus in dir $3), logging to logs/$1.log; prints the
# summary line. Returns 1 on a finding.
fuzz_one() {
  local name=$1 options=$2 corpus=$3
  local log=$work/logs/$name.log
  mkdir -p "$work/logs" "$work/artifacts/$name" "$corpus"
  write_seeds "$name"
  local start=$SECONDS status=0
  # shellcheck disable=SC2086 # the option strings are lists of words
  "$bin_dir/$name" $options $(common_options "$name") ${FUZZ_ARGS:-} "$corpus" "$work/seeds/$name" >"$log" 2>&1 ||
    status=$?
  echo "fuzz.sh: seconds: $((SECONDS - start))" >>"$log"
  summarize "$name" "$log" "$status"
}

# Runs fuzz_one for every target in the list, $jobs at a time; prints the summary lines in order.
fuzz_all() {
  local options=$1 corpus_root=$2
  shift 2
  local names=("$@") failed=0 pids=() name
  mkdir -p "$work/summary"
  for name in "${names[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    fuzz_one "$name" "$options" "$corpus_root/$name" >"$work/summary/$name" 2>&1 &
    pids+=($!)
  done
  local index
  for index in "${!names[@]}"; do
    wait "${pids[$index]}" || failed=1
    cat "$work/summary/${names[$index]}"
  done
  return $failed
}

command=${1:-}
[ $# -gt 0 ] && shift
jobs=1
case "$command" in
  list)
    printf '%s\n' "${all_targets[@]}"
    ;;
  test)
    start=$SECONDS
    # Only the smoke test: no libFuzzer (its C++ takes longer to build than all of this), no doc tests.
    cargo test --manifest-path "$manifest" --no-default-features --target-dir "$work/smoke-build" --test smoke "$@"
    echo "fuzz smoke: $((SECONDS - start)) s"
    ;;
  build)
    use_asan 1
    build
    ;;
  smoke)
    seconds=${1:-3}
    use_asan 1
    build
    rm -rf "${work:?}/smoke-corpus"
    echo "running each target for $seconds s (crashes in $work/artifacts)"
    fuzz_all "-max_total_time=$seconds" "$work/smoke-corpus" "${all_targets[@]}" ||
      { echo "fuzz smoke: a target found something (inputs under $work/artifacts)"; exit 1; }
    ;;
  run)
    if [ "${1:-}" = -j ]; then
      jobs=${2:?-j needs a number}
      shift 2
    fi
    execs=10000000
    if [[ "${1:-}" =~ ^[0-9_,]+$ ]]; then
      execs=${1//[_,]/}
      shift
    fi
    names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${all_targets[@]}")
    for name in "${names[@]}"; do is_target "$name" || die "unknown target $name (see: scripts/fuzz.sh list)"; done
    use_asan 0
    build
    echo "running ${names[*]}: $execs executions each, $jobs at a time"
    echo "corpus in $work/corpus, logs in $work/logs, crashes in $work/artifacts"
    fuzz_all "-runs=$execs" "$work/corpus" "${names[@]}" ||
      { echo "fuzz run: a target found something (inputs under $work/artifacts)"; exit 1; }
    ;;
  replay)
    names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${all_targets[@]}")
    for name in "${names[@]}"; do is_target "$name" || die "unknown target $name"; done
    use_asan 1
    build
    jobs=${FUZZ_JOBS:-1}
    # -runs=0: each input of the corpus once, no mutation; an empty corpus becomes the seeds alone.
    fuzz_all "-runs=0" "$work/corpus" "${names[@]}" ||
      { echo "fuzz replay: an input failed (inputs under $work/artifacts)"; exit 1; }
    ;;
  repro)
    name=${1:?repro needs a target}
    shift
    is_target "$name" || die "unknown target $name"
    RUST_BACKTRACE=${RUST_BACKTRACE:-1} cargo run --manifest-path "$manifest" --no-default-features \
      --target-dir "$work/smoke-build" --example repro -- "$name" "$@"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [ -z "$command" ] || die "unknown command $command"
    exit 2
    ;;
esac
