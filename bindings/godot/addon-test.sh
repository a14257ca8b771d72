#!/usr/bin/env bash
# Builds the release addon (package.sh --release, what `make godot-addon` runs) into a temporary copy
# of addons/ and checks what a user would get, without a Godot binary:
#   - the release library is stripped (no .symtab) and at most $SEALNET_GODOT_MAX_MB MB (20 unless set);
#   - both libraries export gdext_rust_init, load with every symbol resolved and need only system
#     libraries (check-library.sh, the checks test.sh runs on the debug build);
#   - every linux entry of sealnet.gdextension for this machine's architecture names a file of the
#     built addon, and every entry points into res://addons/sealnet/bin/;
#   - nothing was written into the source tree's addons/.
# Linux only (x86_64 is what was built and tested). Builds go to target/godot under the repository
# root (or $CARGO_TARGET_DIR when set), as test.sh's do, so the debug library is shared with it.
#
# Usage: bindings/godot/addon-test.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
max_mb="${SEALNET_GODOT_MAX_MB:-20}"

if [[ "$(uname -s)" != Linux ]]; then
  echo "addon-test.sh checks Linux libraries; this is $(uname -s)" >&2
  exit 2
fi
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

# strip, readelf and nm come with binutils, file with file; the load check needs python3.
"$root/scripts/ensure-tool.sh" strip binutils
"$root/scripts/ensure-tool.sh" readelf binutils
"$root/scripts/ensure-tool.sh" nm binutils
"$root/scripts/ensure-tool.sh" file file
"$root/scripts/ensure-tool.sh" python3 python3

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source_bin_before="$(ls -A "$here/addons/sealnet/bin")"

start=$SECONDS
bash "$here/package.sh" --release --out "$work/addons"
echo "package.sh --release took $((SECONDS - start)) s"

addon="$work/addons/sealnet"
gdextension="$addon/sealnet.gdextension"
release="$addon/bin/libsealnet_godot.linux.release.$arch.so"
debug="$addon/bin/libsealnet_godot.linux.debug.$arch.so"
failed=0
fail() {
  echo "addon: $*" >&2
  failed=1
}

# The descriptor is the source tree's, unchanged.
cmp -s "$gdextension" "$here/addons/sealnet/sealnet.gdextension" || fail "sealnet.gdextension differs from the source's"

# Every entry stays inside the addon; every linux entry of this architecture was built.
entries=0
while IFS= read -r line; do
  key="$(sed 's/ *=.*//' <<<"$line")"
  path="$(sed -n 's/^[^=]*= *"\(.*\)"$/\1/p' <<<"$line")"
  entries=$((entries + 1))
  if [[ "$path" != res://addons/sealnet/bin/* ]]; then
    fail "$key points outside res://addons/sealnet/bin/: '$path'"
    continue
  fi
  file="$addon/${path#res://addons/sealnet/}"
  case "$key" in
    linux.*."$arch")
      if [[ -f "$file" ]]; then
        echo "$key -> ${path#res://addons/sealnet/} ($(wc -c <"$file") bytes)"
      else
        fail "$key names $path, which the built addon does not have"
      fi
      ;;
    *) echo "$key -> ${path#res://addons/sealnet/} (not built here)" ;;
  esac
done < <(sed -n '/^\[libraries\]/,/^\[/{/^[a-z0-9_.]* *= *"/p}' "$gdextension")
((entries > 0)) || fail "sealnet.gdextension has no [libraries] entries"
for needed in "linux.debug.$arch" "linux.release.$arch"; do
  grep -q "^$needed *= *\"" "$gdextension" || fail "sealnet.gdextension has no $needed entry"
done
((failed)) && exit 1

# The release library: stripped, and not too large.
if readelf -S -W "$release" | grep -w '\.symtab' >/dev/null; then
  fail "the release library still has a symbol table (.symtab)"
fi
if readelf -S -W "$release" | grep '\.debug_' >/dev/null; then
  fail "the release library still has debug information"
fi
description="$(file -b "$release")"
echo "file: $description"
[[ "$description" == *", stripped"* ]] || fail "file does not call the release library stripped"
size=$(wc -c <"$release")
echo "release library: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MB; the limit is $max_mb MB)"
((size <= max_mb * 1048576)) || fail "the release library is larger than $max_mb MB"

# The debug library (the editor's): no debug information, function names kept for backtraces.
if readelf -S -W "$debug" | grep '\.debug_info' >/dev/null; then
  fail "the debug library still has debug information"
fi
echo "debug library: $(wc -c <"$debug") bytes"

((failed)) && exit 1
bash "$here/check-library.sh" --strict "$release" "$debug"

# package.sh --out must not touch the source tree's addon.
if [[ "$(ls -A "$here/addons/sealnet/bin")" != "$source_bin_before" ]]; then
  fail "package.sh --out changed addons/sealnet/bin/ in the source tree"
fi
((failed)) && exit 1
echo "godot addon: ok (linux $arch release and debug libraries; other platforms not built here)"
