#!/usr/bin/env bash
# Builds a Unity Package Manager tarball of the C# binding (bindings/csharp) with the native library for
# the host platform, for Unity's Package Manager window: "+" → "Add package from tarball...".
#
#   scripts/unity-package.sh [OUTDIR]          (make unity-package)
#
# Builds the library in release (`cargo build --release --lib`, fat LTO: a few minutes from cold), strips
# it (`strip --strip-unneeded`) and packs, under the top folder package/ as `npm pack` does:
#
#   package.json, README.md, Runtime/, Examples/, Plugins/README.md and
#   Plugins/x86_64/libsealnet.so (Editor and Standalone, Linux, x86_64 only)
#
# with every .meta file Unity needs: the committed ones, and fixed GUIDs for the plugin folder and the
# library written here. The console tests (Tests/, test.sh) are left out: they are Mono programs kept out
# of Unity builds by a define constraint, not Unity Test Framework tests.
#
# package.json's "version" must equal the crate's (Cargo.toml): the script fails when they differ rather
# than rewriting the copy, so that the package installed by git URL reports the same version as the
# tarball. The tarball is OUTDIR/<package name>-<version>.tgz (OUTDIR defaults to unity/ in cargo's target
# directory, scripts/target-dir.sh); its path is the only line on standard output. The archive is
# reproducible: sorted entries, fixed times and owners, gzip without a name or time stamp.
#
# Only Linux x86_64 hosts are supported: bindings/csharp/Plugins/README.md has the other platforms' builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/bindings/csharp
target_dir=$("$root/scripts/target-dir.sh")
out_dir=${1:-$target_dir/unity}

fail() {
  echo "unity-package: $*" >&2
  exit 1
}

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
  fail "the host is $(uname -s) $(uname -m); only Linux x86_64 is packaged here (see bindings/csharp/Plugins/README.md for the other platforms)"
for tool in cargo strip tar gzip python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done

# The crate's version, and package.json's name and version (which must parse as JSON).
crate_version=$(cd "$root" && cargo metadata --format-version 1 --no-deps --offline |
  python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "sealnet":
        print(p["version"])')
[ -n "$crate_version" ] || fail "could not read the version of the sealnet crate from Cargo.toml"
read -r name version < <(python3 -c 'import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
print(m["name"], m["version"])' "$src/package.json") || fail "bindings/csharp/package.json does not parse or lacks name/version"
[ "$version" = "$crate_version" ] ||
  fail "bindings/csharp/package.json has version $version but Cargo.toml has $crate_version: set \"version\": \"$crate_version\" in package.json"

echo "unity-package: building the release library (cargo build --release --lib)" >&2
(cd "$root" && cargo build --release --lib --target-dir "$target_dir" >&2)
library=$target_dir/release/libsealnet.so
[ -f "$library" ] || fail "${library} was not built"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$work/package
mkdir -p "$pkg/Plugins/x86_64"

# The committed files, each with its committed .meta.
for item in package.json README.md Runtime Examples Plugins/README.md Plugins; do
  [ -e "$src/$item" ] || fail "bindings/csharp/$item is missing"
  [ -f "$src/$item.meta" ] || fail "bindings/csharp/$item has no .meta file"
  # Of Plugins/ only its README: a library dropped into the source folder is not packaged.
  [ "$item" = Plugins ] || cp -R "$src/$item" "$pkg/$item"
  cp "$src/$item.meta" "$pkg/$item.meta"
done

strip --strip-unneeded -o "$pkg/Plugins/x86_64/libsealnet.so" "$library"

# The folder and the library added here. Their GUIDs are fixed (never regenerate them: a project that
# imported the package refers to the library by GUID).
cat >"$pkg/Plugins/x86_64.meta" <<'META'
fileFormatVersion: 2
guid: 6f1d2c8e4a3b4e0f9c7d5b2a1e8f3c64
folderAsset: yes
DefaultImporter:
  externalObjects: {}
  userData:
  assetBundleName:
  assetBundleVariant:
META
# Editor and Standalone player on Linux x86_64 only; every other platform off.
cat >"$pkg/Plugins/x86_64/libsealnet.so.meta" <<'META'
fileFormatVersion: 2
guid: 8b4e1a7d2c5f4d3e9a6b0c1d2e3f4a57
PluginImporter:
  externalObjects: {}
  serializedVersion: 2
  iconMap: {}
  executionOrder: {}
  defineConstraints: []
  isPreloaded: 0
  isOverridable: 0
  isExplicitlyReferenced: 0
  validateReferences: 1
  platformData:
  - first:
      : Any
    second:
      enabled: 0
      settings:
        Exclude Android: 1
        Exclude Editor: 0
        Exclude Linux64: 0
        Exclude OSXUniversal: 1
        Exclude Win: 1
        Exclude Win64: 1
        Exclude iOS: 1
  - first:
      Android: Android
    second:
      enabled: 0
      settings:
        CPU: ARMv7
  - first:
      Any: 
    second:
      enabled: 0
      settings: {}
  - first:
      Editor: Editor
    second:
      enabled: 1
      settings:
        CPU: x86_64
        DefaultValueInitialized: true
        OS: Linux
  - first:
      Standalone: Linux64
    second:
      enabled: 1
      settings:
        CPU: x86_64
  - first:
      Standalone: OSXUniversal
    second:
      enabled: 0
      settings:
        CPU: None
  - first:
      Standalone: Win
    second:
      enabled: 0
      settings:
        CPU: None
  - first:
      Standalone: Win64
    second:
      enabled: 0
      settings:
        CPU: None
  - first:
      iPhone: iOS
    second:
      enabled: 0
      settings:
        AddToEmbeddedBinaries: false
        CPU: AnyCPU
        CompileFlags: 
        FrameworkDependencies: 
  userData: 
  assetBundleName: 
  assetBundleVariant: 
META

# Unity ignores an asset without a .meta in an immutable (tarball) package, and warns about a .meta
# without its asset: refuse both, and GUIDs used twice.
missing=$(cd "$pkg" && find . -mindepth 1 ! -name '*.meta' |
  while read -r path; do [ -f "$path.meta" ] || echo "${path#./}"; done)
[ -z "$missing" ] || fail "no .meta file for (add one with a new GUID in bindings/csharp): $(echo "$missing" | paste -sd " " -)"
orphans=$(cd "$pkg" && find . -name '*.meta' | while read -r meta; do [ -e "${meta%.meta}" ] || echo "${meta#./}"; done)
[ -z "$orphans" ] || fail ".meta files without their asset: $(echo "$orphans" | paste -sd " " -)"
duplicates=$(cd "$pkg" && find . -name '*.meta' -exec sed -n 's/^guid: *//p' {} + | sort | uniq -d)
[ -z "$duplicates" ] || fail "GUIDs used by more than one .meta file: $(echo "$duplicates" | paste -sd " " -)"

mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
tarball=$out_dir/$name-$version.tgz
# npm pack's conventions: top folder package/, fixed modification time, root owner.
tar -C "$work" --format=ustar --sort=name --mtime='1985-10-26 08:15:00 UTC' --owner=0 --group=0 --numeric-owner \
  --mode='u=rwX,go=rX' -cf - package | gzip -n -9 >"$work/package.tgz"
mv "$work/package.tgz" "$tarball"
echo "unity-package: $(du -h "$tarball" | cut -f1) ($(wc -c <"$tarball") bytes), version $version" >&2
printf '%s\n' "$tarball"
