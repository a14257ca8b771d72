#!/usr/bin/env bash
# Consumes an installed sealnet the way C and C++ users do, outside the source tree (make
# install-test): installs into a staging prefix (scripts/install.sh, PROFILE=debug to reuse the
# build), then builds the C chat and the C++ chat from copies in a temporary folder, through
# pkg-config and through CMake, against the shared and the static library, and runs each against a
# server. Also checks the SONAME, that the static library's only global definitions are peer_*, and
# that it links into one program beside a second, unrelated Rust static library built here.
# Needs SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY (run under scripts/with-server.sh). Installs
# cmake and pkg-config with apt-get when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${SEALNET_SERVER_ADDR:?run under scripts/with-server.sh}"
"$root/scripts/ensure-tool.sh" cmake cmake
"$root/scripts/ensure-tool.sh" pkg-config pkg-config

work=$(mktemp -d -t sealnet-consume.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=/opt/sealnet
stage=$work/stage
installed=$stage$prefix
PROFILE=debug "$root/scripts/install.sh" "$prefix" "$stage" >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  exit 1
}
fail() { echo "install-test: $*" >&2; exit 1; }

# The shared library: a SONAME, under which the development link finds the versioned file.
soname=$("$root/scripts/soname.sh")
readelf -d "$installed/lib/libsealnet.so" | grep "Library soname: \[$soname\]" >/dev/null || fail "no SONAME $soname"
# The static library: peer_* are its only global definitions.
others=$(nm -g --defined-only "$installed/lib/libsealnet.a" | awk 'NF == 3 {print $3}' | grep -v '^peer_' || true)
[ -z "$others" ] || fail "global symbols besides peer_* in libsealnet.a: $(echo "$others" | head -5 | tr '\n' ' ')"
exports=$(nm -g --defined-only "$installed/lib/libsealnet.a" | awk 'NF == 3' | grep -c ' peer_')
echo "install-test: $soname; libsealnet.a has $exports global definitions, all peer_*"

# Sources outside the repository.
src=$work/src
mkdir -p "$src"
cp "$root/examples/chat.c" "$src/chat.c"
cp "$root/bindings/cpp/examples/chat.cpp" "$src/chat.cpp"
printf 'responses 1\nhello from an installed sealnet\n' >"$src/script.txt"

# Runs one built chat against the server, alone in its room; it joins, says one line and leaves.
run_chat() {
  local binary=$1 name=$2
  "$binary" --server "$SEALNET_SERVER_ADDR" --pin "$SEALNET_SERVER_KEY" --name "$name" --room "install-$name" \
    --script "$src/script.txt" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; fail "$name failed"; }
}
# The shared build must load the installed library, the static one none at all.
# grep reads all its input (no -q): an early exit would kill the writer with SIGPIPE, which pipefail
# reports as a failure of the check.
expect_shared() { ldd "$1" | grep "$installed/lib/$soname" >/dev/null || fail "$1 does not load the installed library"; }
expect_static() { ! readelf -d "$1" | grep 'libsealnet' >/dev/null || fail "$1 still needs libsealnet.so"; }

# pkg-config, shared and static.
export PKG_CONFIG_PATH=$installed/lib/pkgconfig
pc() { pkg-config --define-variable=prefix="$installed" "$@" sealnet; }
[ "$(pc --modversion)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)" ] || fail "pkg-config version"
cflags=$(pc --cflags)
shared_libs=$(pc --libs)
static_libs=$(pc --static --libs)
static_libs=${static_libs/-lsealnet/-Wl,-Bstatic -lsealnet -Wl,-Bdynamic}
gcc -std=c11 -Wall -Wextra -Werror $cflags "$src/chat.c" $shared_libs -Wl,-rpath,"$installed/lib" -o "$work/c-pc-shared"
gcc -std=c11 -Wall -Wextra -Werror $cflags "$src/chat.c" $static_libs -o "$work/c-pc-static"
g++ -std=c++17 -Wall -Wextra -Werror $cflags "$src/chat.cpp" $shared_libs -Wl,-rpath,"$installed/lib" -o "$work/cpp-pc-shared"
g++ -std=c++17 -Wall -Wextra -Werror $cflags "$src/chat.cpp" $static_libs -o "$work/cpp-pc-static"

# CMake, shared and static.
cat >"$src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(consume_sealnet C CXX)
find_package(sealnet 0.3 REQUIRED)
add_executable(c-cmake-shared chat.c)
target_link_libraries(c-cmake-shared PRIVATE sealnet::sealnet)
add_executable(c-cmake-static chat.c)
target_link_libraries(c-cmake-static PRIVATE sealnet::sealnet_static)
add_executable(cpp-cmake-shared chat.cpp)
target_compile_features(cpp-cmake-shared PRIVATE cxx_std_17)
target_link_libraries(cpp-cmake-shared PRIVATE sealnet::sealnet)
add_executable(cpp-cmake-static chat.cpp)
target_compile_features(cpp-cmake-static PRIVATE cxx_std_17)
target_link_libraries(cpp-cmake-static PRIVATE sealnet::sealnet_static)
CMAKE
cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$installed" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_BUILD_RPATH="$installed/lib" >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "cmake configure"; }
cmake --build "$work/cmake" -j 2 >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "cmake build"; }

for kind in c-pc cpp-pc; do
  expect_shared "$work/$kind-shared"
  expect_static "$work/$kind-static"
done
for kind in c-cmake cpp-cmake; do
  expect_shared "$work/cmake/$kind-shared"
  expect_static "$work/cmake/$kind-static"
done
for binary in "$work"/c-pc-shared "$work"/c-pc-static "$work"/cpp-pc-shared "$work"/cpp-pc-static \
  "$work"/cmake/c-cmake-shared "$work"/cmake/c-cmake-static "$work"/cmake/cpp-cmake-shared "$work"/cmake/cpp-cmake-static; do
  run_chat "$binary" "$(basename "$binary")"
done
echo "install-test: C and C++ chats built outside the tree (pkg-config and CMake, shared and static) ran against the server"

# A second Rust static library in the same program: its runtime and sealnet's must not clash.
other=$work/other
mkdir -p "$other/src"
cat >"$other/Cargo.toml" <<'TOML'
[package]
name = "other_plugin"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["staticlib"]

[workspace]
TOML
cat >"$other/src/lib.rs" <<'RUST'
//! An unrelated Rust static library, as another native plugin of the same game would be.
/// Formats and parses through std, so the library carries Rust's runtime and allocator like sealnet's.
#[no_mangle]
pub extern "C" fn other_plugin_sum(a: i32, b: i32) -> i32 {
    format!("{}", a + b).parse().unwrap_or(0)
}
RUST
CARGO_TARGET_DIR=$other/target cargo build --manifest-path "$other/Cargo.toml" --offline -q 2>"$work/other.log" ||
  CARGO_TARGET_DIR=$other/target cargo build --manifest-path "$other/Cargo.toml" -q
cat >"$src/both.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "sealnet.h"
int other_plugin_sum(int a, int b);
int main(void) {
    if (other_plugin_sum(2, 3) != 5) return 1;
    const char *version = peer_version();
    printf("two Rust static libraries in one program: sealnet %s and another, 2 + 3 = 5\n", version);
    return version == NULL || strlen(version) == 0;
}
C
static_natives=$(pc --static --libs-only-l | sed 's/-lsealnet//')
# Every member of both archives, as Xcode's -all_load (and Unity's iOS builds) take them: the Rust
# runtime inside each would clash (about 2,000 duplicate definitions) unless sealnet keeps its own local.
gcc -std=c11 -Wall -Wextra -Werror $cflags "$src/both.c" -Wl,--whole-archive "$installed/lib/libsealnet.a" \
  "$other/target/debug/libother_plugin.a" -Wl,--no-whole-archive $static_natives -o "$work/both" 2>"$work/both.log" ||
  { head -20 "$work/both.log" >&2; fail "sealnet's static library does not link beside another Rust static library"; }
"$work/both"
