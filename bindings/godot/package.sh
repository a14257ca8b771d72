#!/usr/bin/env bash
# Builds the extension for this machine and puts the library into addons/sealnet/bin/ under the name
# that sealnet.gdextension gives for this platform, then copies the addon into the demo project.
#
# Usage: bindings/godot/package.sh [--release] [--out DIR]
#   (nothing)  the debug library (what the editor loads), unstripped, for working on the binding
#   --release  the addon to ship (`make godot-addon`): the release library, stripped
#              (`strip --strip-unneeded`), under the release name, and beside it the debug library with
#              its debug information stripped (`strip --strip-debug`), since the editor and debug
#              exports load the debug entry
#   --out DIR  writes a copy of the addon to DIR/sealnet (sealnet.gdextension and bin/ with only the
#              libraries just built) and leaves addons/ and the demo alone; addon-test.sh uses it
# The build goes to target/godot under the repository root (or $CARGO_TARGET_DIR when set); the
# libraries there stay unstripped, to turn the addresses of a crash report into function names.
# Linux x86_64 is built and tested; the macOS (universal: x86_64 and arm64 joined with lipo) and
# Windows paths below were never run. Android and iOS are cross builds: see README.md, "Platforms".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target/godot}"
manifest="$here/Cargo.toml"
source_addon="$here/addons/sealnet"

release=0
out=
while (($#)); do
  case "$1" in
    --release) release=1 ;;
    --out)
      [[ $# -ge 2 && -n "$2" ]] || { echo "$0: --out needs a directory" >&2; exit 2; }
      out=$2
      shift
      ;;
    *) echo "usage: $0 [--release] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
case "$(uname -s)" in
  Linux) system=linux ;;
  Darwin) system=macos ;;
  MINGW* | MSYS* | CYGWIN*) system=windows ;;
  *) echo "unsupported system $(uname -s)" >&2; exit 1 ;;
esac

# The name sealnet.gdextension gives the library of PROFILE on this platform.
addon_name() {
  case $system in
    linux) echo "libsealnet_godot.linux.$1.$arch.so" ;;
    macos) echo "libsealnet_godot.macos.$1.dylib" ;;
    windows) echo "sealnet_godot.windows.$1.$arch.dll" ;;
  esac
}

# build PROFILE: builds the library and prints the path of the file to copy.
build() {
  local profile=$1 flags=()
  [[ $profile == release ]] && flags=(--release)
  case $system in
    linux)
      cargo build --manifest-path "$manifest" --target-dir "$target_dir" ${flags[@]+"${flags[@]}"} >&2
      echo "$target_dir/$profile/libsealnet_godot.so"
      ;;
    windows)
      cargo build --manifest-path "$manifest" --target-dir "$target_dir" ${flags[@]+"${flags[@]}"} >&2
      echo "$target_dir/$profile/sealnet_godot.dll"
      ;;
    macos)
      # One universal dylib (the macos entries have no architecture): needs
      # `rustup target add x86_64-apple-darwin aarch64-apple-darwin`.
      local triple parts=()
      for triple in x86_64-apple-darwin aarch64-apple-darwin; do
        cargo build --manifest-path "$manifest" --target-dir "$target_dir" --target "$triple" \
          ${flags[@]+"${flags[@]}"} >&2
        parts+=("$target_dir/$triple/$profile/libsealnet_godot.dylib")
      done
      mkdir -p "$target_dir/universal/$profile"
      lipo -create -output "$target_dir/universal/$profile/libsealnet_godot.dylib" "${parts[@]}" >&2
      echo "$target_dir/universal/$profile/libsealnet_godot.dylib"
      ;;
  esac
}

# place PROFILE STRIP BIN: builds PROFILE and writes it into BIN under its addon name; STRIP is
# "unneeded" (every symbol no relocation needs: the release library), "debug" (debug information
# only: the debug library of a release addon keeps function names for backtraces) or "none".
place() {
  local profile=$1 strip_mode=$2 bin=$3 built name
  built="$(build "$profile")"
  name="$(addon_name "$profile")"
  if ! grep -qF "\"res://addons/sealnet/bin/$name\"" "$source_addon/sealnet.gdextension"; then
    echo "sealnet.gdextension has no entry for $name" >&2
    exit 1
  fi
  rm -f "$bin/$name"
  case "$system:$strip_mode" in
    *:none) cp "$built" "$bin/$name" ;;
    linux:unneeded) strip --strip-unneeded -o "$bin/$name" "$built" ;;
    linux:debug) strip --strip-debug -o "$bin/$name" "$built" ;;
    # Apple's strip: -x drops the local symbols (the exported ones stay), -S the debug symbols.
    macos:unneeded) cp "$built" "$bin/$name" && strip -x "$bin/$name" ;;
    macos:debug) cp "$built" "$bin/$name" && strip -S "$bin/$name" ;;
    # MSVC keeps symbols and debug information in the .pdb beside the .dll, which is not copied.
    windows:*) cp "$built" "$bin/$name" ;;
  esac
  echo "$profile library ($(wc -c <"$bin/$name") bytes) in ${bin#"$root"/}/$name"
}

if [[ -n "$out" ]]; then
  # A fresh copy: the descriptor and everything else of the addon, but no library left in the
  # source tree's bin/ by an earlier run.
  mkdir -p "$out"
  addon="$(cd "$out" && pwd)/sealnet"
  rm -rf "$addon"
  cp -R "$source_addon" "$addon"
  find "$addon/bin" -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
else
  addon="$source_addon"
fi

if ((release)); then
  place release unneeded "$addon/bin"
  place debug debug "$addon/bin"
else
  place debug none "$addon/bin"
fi

if [[ -z "$out" ]]; then
  rm -rf "$here/demo/addons/sealnet"
  mkdir -p "$here/demo/addons"
  cp -R "$addon" "$here/demo/addons/sealnet"
  echo "copied the addon into demo/addons/sealnet"
fi
