#!/usr/bin/env bash
# Builds the extension for this machine, copies the library into addons/sealnet/bin/ under the name
# that sealnet.gdextension gives for this platform, and copies the addon into the demo project.
#
# Usage: bindings/godot/package.sh [--release]
# The build goes to target/godot under the repository root (or $CARGO_TARGET_DIR when set).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target/godot}"

profile=debug
flags=()
case "${1:-}" in
  "") ;;
  --release) profile=release; flags=(--release) ;;
  *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac

cargo build --manifest-path "$here/Cargo.toml" --target-dir "$target_dir" ${flags[@]+"${flags[@]}"}

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
case "$(uname -s)" in
  Linux) built=libsealnet_godot.so; name="libsealnet_godot.linux.$profile.$arch.so" ;;
  Darwin) built=libsealnet_godot.dylib; name="libsealnet_godot.macos.$profile.dylib" ;;
  MINGW* | MSYS* | CYGWIN*) built=sealnet_godot.dll; name="sealnet_godot.windows.$profile.$arch.dll" ;;
  *) echo "unsupported system $(uname -s)" >&2; exit 1 ;;
esac

addon="$here/addons/sealnet"
if ! grep -qF "res://addons/sealnet/bin/$name\"" "$addon/sealnet.gdextension"; then
  echo "sealnet.gdextension has no entry for $name" >&2
  exit 1
fi
cp "$target_dir/$profile/$built" "$addon/bin/$name"
echo "copied $profile library to addons/sealnet/bin/$name"

rm -rf "$here/demo/addons/sealnet"
mkdir -p "$here/demo/addons"
cp -R "$addon" "$here/demo/addons/sealnet"
echo "copied the addon into demo/addons/sealnet"
