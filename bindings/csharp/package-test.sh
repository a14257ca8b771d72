#!/usr/bin/env bash
# Tests the Unity package tarball from outside the source tree: builds it with scripts/unity-package.sh
# (twice, to check it is reproducible and its GUIDs stable), unpacks it into a fresh empty folder,
# validates the archive, package.json, every .meta file and the native plugin's import settings, then
# runs the C# test suite (test.sh) under Mono against the library and the Runtime/ and Examples/ sources
# taken from the unpacked package, and checks that the library Mono loaded is the package's.
#
#   scripts/with-server.sh --backend --allow-anonymous -- bash bindings/csharp/package-test.sh
#
# Needs `cargo build --workspace` first (the servers test.sh starts are the debug ones); the release
# library is built by unity-package.sh. Each failure is named on standard error and the exit status is
# non-zero; on failure the temporary folder is kept for inspection.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir=$("$root/scripts/target-dir.sh")

fail() {
  echo "FAIL package-test: $*" >&2
  exit 1
}
ok() { echo "ok   package: $*"; }

for tool in python3 tar readelf nm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done
[ -x "$target_dir/debug/sealnet-server" ] || {
  echo "package-test: ${target_dir#"$root"/}/debug/sealnet-server is missing: run \`cargo build --workspace\` first" >&2
  exit 2
}

work=$(mktemp -d)
keep=1
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "package-test: left $work for inspection" >&2; fi; }
trap cleanup EXIT

crate_version=$(cd "$root" && cargo metadata --format-version 1 --no-deps --offline |
  python3 -c 'import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "sealnet"))')
package_name=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["name"])' "$here/package.json")

# The tarball, twice: the second build is a no-op for cargo, and both archives must be byte for byte equal.
tarball=$("$root/scripts/unity-package.sh" "$work/out") || fail "scripts/unity-package.sh failed"
[ -f "$tarball" ] || fail "unity-package.sh printed '$tarball', which is not a file"
[ "$(basename "$tarball")" = "$package_name-$crate_version.tgz" ] ||
  fail "the tarball is named $(basename "$tarball"), expected $package_name-$crate_version.tgz"
again=$("$root/scripts/unity-package.sh" "$work/again") || fail "scripts/unity-package.sh failed the second time"
cmp -s "$tarball" "$again" || fail "two runs of unity-package.sh gave different tarballs (not reproducible)"
ok "$(basename "$tarball"), $(wc -c <"$tarball") bytes, reproducible"

# The archive: one top folder package/, regular files and folders only, no path leaving it.
python3 - "$tarball" <<'PY' || fail "the archive's entries are not what Unity's tarball import expects"
import sys, tarfile
bad = []
with tarfile.open(sys.argv[1], "r:gz") as archive:
    for member in archive.getmembers():
        name = member.name
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or parts[0] != "package":
            bad.append(name + ": outside package/")
        elif not (member.isfile() or member.isdir()):
            bad.append(name + ": not a regular file or folder")
        elif member.isfile() and member.mode & 0o022:
            bad.append(name + ": writable by group or others")
for line in bad:
    print("archive: " + line, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
ok "archive entries all under package/"

unpacked=$work/unpacked
mkdir "$unpacked"
[ -z "$(ls -A "$unpacked")" ] || fail "$unpacked is not empty"
tar -xzf "$tarball" -C "$unpacked" --no-same-owner
pkg=$unpacked/package
[ "$(ls -A "$unpacked")" = package ] || fail "the archive unpacks to $(ls -A "$unpacked" | tr '\n' ' '), not package/ alone"

for required in package.json README.md Runtime/Sealnet.Runtime.asmdef Runtime/NativeMethods.cs Examples/Chat.cs \
  Plugins/README.md Plugins/x86_64/libsealnet.so; do
  [ -f "$pkg/$required" ] || fail "the package lacks $required"
done
for absent in Tests test.sh; do
  [ ! -e "$pkg/$absent" ] || fail "the package contains $absent (console tests are kept out of it)"
done
diff -r "$here/Runtime" "$pkg/Runtime" >/dev/null || fail "the package's Runtime/ differs from bindings/csharp/Runtime"
diff -r "$here/Examples" "$pkg/Examples" >/dev/null || fail "the package's Examples/ differs from bindings/csharp/Examples"
ok "contents: package.json, README.md, Runtime/, Examples/, Plugins/ (no Tests/)"

# package.json, the .meta files and the plugin's import settings.
python3 - "$pkg" "$here" "$crate_version" <<'PY' || fail "package.json or the .meta files are invalid (see above)"
import json, os, re, sys

pkg, source, crate_version = sys.argv[1:4]
errors = []

def error(message):
    errors.append(message)

# package.json: Unity's manifest fields only. npm's lifecycle "scripts", "bin", "files" and the like
# mean nothing to Unity and would run code under npm; any key not listed here fails.
ALLOWED = {"name", "version", "displayName", "description", "unity", "unityRelease", "documentationUrl",
           "changelogUrl", "licensesUrl", "license", "keywords", "author", "dependencies", "samples",
           "hideInEditor", "type"}
SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"
try:
    with open(os.path.join(pkg, "package.json"), encoding="utf-8") as f:
        manifest = json.load(f)
except ValueError as e:
    print("package.json does not parse: %s" % e, file=sys.stderr)
    sys.exit(1)
if not isinstance(manifest, dict):
    error("package.json is not an object")
    manifest = {}
with open(os.path.join(source, "package.json"), encoding="utf-8") as f:
    if json.load(f) != manifest:
        error("package.json differs from bindings/csharp/package.json")
for key in sorted(set(manifest) - ALLOWED):
    error("package.json: unknown or unsafe field %r" % key)
name = manifest.get("name")
if not (isinstance(name, str) and len(name) <= 214 and re.fullmatch(r"[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*){2,}", name)):
    error("package.json: name %r is not a lowercase reverse-domain package name" % (name,))
version = manifest.get("version")
if not (isinstance(version, str) and re.fullmatch(SEMVER, version)):
    error("package.json: version %r is not a semantic version" % (version,))
elif version != crate_version:
    error("package.json: version %s differs from the crate's %s" % (version, crate_version))
for key in ("displayName", "description"):
    if not (isinstance(manifest.get(key), str) and manifest[key].strip()):
        error("package.json: %s missing or empty" % key)
unity = manifest.get("unity")
if not (isinstance(unity, str) and re.fullmatch(r"20\d\d\.\d+|[6-9]\d{3}\.\d+", unity)):
    error("package.json: unity %r is not a Unity version such as 2019.4" % (unity,))
if "unityRelease" in manifest and not re.fullmatch(r"\d+[abfp]\d+", str(manifest["unityRelease"])):
    error("package.json: unityRelease %r is not like 0f1" % (manifest["unityRelease"],))
dependencies = manifest.get("dependencies", {})
if not isinstance(dependencies, dict):
    error("package.json: dependencies is not an object")
else:
    for dep, spec in dependencies.items():
        # A registry version only: git URLs, file: paths and tarball URLs fetch code from elsewhere.
        if not (isinstance(spec, str) and re.fullmatch(SEMVER, spec)):
            error("package.json: dependency %s has %r, not a version" % (dep, spec))
for key in ("documentationUrl", "changelogUrl", "licensesUrl"):
    if key in manifest and not str(manifest[key]).startswith("https://"):
        error("package.json: %s is not an https URL" % key)
author = manifest.get("author")
if author is not None and not (isinstance(author, str) or (isinstance(author, dict) and isinstance(author.get("name"), str))):
    error("package.json: author is neither a string nor an object with a name")
if "keywords" in manifest and not (isinstance(manifest["keywords"], list) and all(isinstance(k, str) for k in manifest["keywords"])):
    error("package.json: keywords is not a list of strings")
for sample in manifest.get("samples", []) if isinstance(manifest.get("samples", []), list) else []:
    path = sample.get("path", "") if isinstance(sample, dict) else ""
    if not path or path.startswith("/") or ".." in path.split("/"):
        error("package.json: sample path %r is not inside the package" % (path,))

# The .meta files: one for every file and folder (the package root aside), none without its asset,
# each with a GUID of 32 hex digits used by nothing else, and the importer Unity uses for that kind.
IMPORTERS = {".cs": "MonoImporter", ".asmdef": "AssemblyDefinitionImporter", ".md": "TextScriptImporter",
             ".so": "PluginImporter"}
guids = {}
assets = 0
for directory, folders, files in os.walk(pkg):
    for entry in folders + files:
        path = os.path.join(directory, entry)
        relative = os.path.relpath(path, pkg)
        if entry.endswith(".meta"):
            if not os.path.exists(path[: -len(".meta")]):
                error("%s: a .meta file without its asset" % relative)
            continue
        assets += 1
        meta = path + ".meta"
        if not os.path.isfile(meta):
            error("%s: no .meta file" % relative)
            continue
        with open(meta, encoding="utf-8") as f:
            text = f.read()
        lines = text.splitlines()
        if not lines or lines[0] != "fileFormatVersion: 2":
            error("%s.meta: does not start with fileFormatVersion: 2" % relative)
        found = re.findall(r"^guid: (\S*)\s*$", text, re.M)
        if len(found) != 1 or not re.fullmatch(r"[0-9a-f]{32}", found[0]):
            error("%s.meta: no single guid of 32 lowercase hex digits (%r)" % (relative, found))
        else:
            if found[0] in guids:
                error("%s.meta: guid %s is also %s's" % (relative, found[0], guids[found[0]]))
            guids[found[0]] = relative
        is_folder = os.path.isdir(path)
        if is_folder != ("\nfolderAsset: yes\n" in text):
            error("%s.meta: folderAsset: yes must be there exactly for folders" % relative)
        importer = "DefaultImporter" if is_folder else ("PackageManifestImporter" if relative == "package.json"
                                                         else IMPORTERS.get(os.path.splitext(entry)[1]))
        if importer and not re.search(r"^%s:$" % importer, text, re.M):
            error("%s.meta: expected %s" % (relative, importer))
        committed = os.path.join(source, relative + ".meta")
        if os.path.isfile(committed):
            with open(committed, encoding="utf-8") as f:
                if f.read() != text:
                    error("%s.meta: differs from the committed one" % relative)

# The plugin's import settings: Editor and Standalone, Linux, x86_64; every other platform off.
with open(os.path.join(pkg, "Plugins/x86_64/libsealnet.so.meta"), encoding="utf-8") as f:
    meta_lines = f.read().splitlines()
platforms = {}
current = None
section = None
in_data = False
for line in meta_lines:
    if line == "  platformData:":
        in_data = True
        continue
    if not in_data:
        continue
    if not line.startswith("    ") and not line.startswith("  - "):
        break
    if line == "  - first:":
        section = "first"
        continue
    stripped = line.strip()
    if section == "first":
        key, _, value = stripped.partition(":")
        current = (key.strip(), value.strip())
        platforms[current] = {"enabled": None, "settings": {}}
        section = None
    elif stripped == "second:":
        pass
    elif stripped.startswith("enabled:"):
        platforms[current]["enabled"] = stripped.split(":", 1)[1].strip()
    elif stripped.startswith("settings:"):
        pass
    elif line.startswith("        "):
        key, _, value = stripped.partition(":")
        platforms[current]["settings"][key.strip()] = value.strip()
if not any(re.fullmatch(r"PluginImporter:", l) for l in meta_lines):
    error("libsealnet.so.meta: not a PluginImporter")
expected_on = {("Editor", "Editor"): {"CPU": "x86_64", "OS": "Linux"}, ("Standalone", "Linux64"): {"CPU": "x86_64"}}
for platform, settings in expected_on.items():
    entry = platforms.get(platform)
    if entry is None or entry["enabled"] != "1":
        error("libsealnet.so.meta: %s: %s must be enabled" % platform)
        continue
    for key, value in settings.items():
        if entry["settings"].get(key) != value:
            error("libsealnet.so.meta: %s: %s: %s must be %s (is %r)" % (platform + (key, value, entry["settings"].get(key))))
for platform in [("Standalone", "Win"), ("Standalone", "Win64"), ("Standalone", "OSXUniversal"), ("Android", "Android"),
                 ("iPhone", "iOS"), ("Any", ""), ("", "Any")]:
    if platform not in platforms:
        error("libsealnet.so.meta: no entry for %s: %s (it must be listed, disabled)" % platform)
for platform, entry in platforms.items():
    if platform not in expected_on and entry["enabled"] != "0":
        error("libsealnet.so.meta: %s: %s must be disabled (enabled: %s)" % (platform + (entry["enabled"],)))
excludes = platforms.get(("", "Any"), {"settings": {}})["settings"]
for key, value in excludes.items():
    want = "0" if key in ("Exclude Editor", "Exclude Linux64") else "1"
    if value != want:
        error("libsealnet.so.meta: Any: %s must be %s (is %s)" % (key, want, value))
for key in ("Exclude Editor", "Exclude Linux64", "Exclude Win", "Exclude Win64", "Exclude OSXUniversal"):
    if key not in excludes:
        error("libsealnet.so.meta: Any: %s missing" % key)

for message in errors:
    print("package: " + message, file=sys.stderr)
if not errors:
    print("ok   package: package.json (%s %s, unity %s); %d files and folders, each with a .meta and a unique GUID; "
          "plugin import settings Editor + Standalone Linux x86_64 only" % (name, version, unity, assets))
sys.exit(1 if errors else 0)
PY

# The library: a stripped x86-64 shared object exporting the C API.
plugin=$pkg/Plugins/x86_64/libsealnet.so
readelf -h "$plugin" | grep 'Type: *DYN' >/dev/null || fail "Plugins/x86_64/libsealnet.so is not a shared object"
readelf -h "$plugin" | grep 'Machine: *Advanced Micro Devices X86-64' >/dev/null || fail "Plugins/x86_64/libsealnet.so is not x86-64"
! readelf -S "$plugin" | grep -e '\.symtab' -e '\.debug_' >/dev/null || fail "Plugins/x86_64/libsealnet.so is not stripped"
for symbol in peer_create peer_destroy peer_service peer_client_create; do
  nm -D --defined-only "$plugin" | grep " T $symbol\$" >/dev/null || fail "Plugins/x86_64/libsealnet.so does not export $symbol"
done
ok "Plugins/x86_64/libsealnet.so: stripped x86-64 shared object, $(wc -c <"$plugin") bytes"

# The C# test suite against the package's library and sources. From inside the temporary folder, so
# that anything Mono leaves in the working directory stays out of the tree.
out=$work/csharp
export SEALNET_CSHARP_LIB_DIR=$pkg/Plugins/x86_64
export SEALNET_CSHARP_RUNTIME_DIR=$pkg/Runtime
export SEALNET_CSHARP_EXAMPLES_DIR=$pkg/Examples
export SEALNET_CSHARP_OUT_DIR=$out
echo "package-test: running test.sh against the unpacked package" >&2
(cd "$work" && bash "$here/test.sh") || fail "the C# tests failed against the unpacked package"

# Which library Mono loaded, read from the process's own memory map, and its version.
cat >"$out/Probe.cs" <<'CS'
using System;
using System.IO;
using System.Linq;
static class Probe
{
    static void Main()
    {
        Console.WriteLine("version " + Sealnet.SealnetPeer.NativeVersion);
        Console.WriteLine("binding " + Sealnet.SealnetPeer.BindingVersion);
        foreach (var path in File.ReadAllLines("/proc/self/maps").Select(l => l.Split(new[] { ' ' }, 6, StringSplitOptions.RemoveEmptyEntries))
                     .Where(f => f.Length == 6 && f[5].Contains("libsealnet")).Select(f => f[5]).Distinct())
            Console.WriteLine("mapped " + path);
    }
}
CS
mcs -langversion:7.2 -nologo -r:System.dll -r:System.Core.dll -r:"$out/Sealnet.Runtime.dll" -out:"$out/Probe.exe" "$out/Probe.cs"
probe=$(cd "$out" && LD_LIBRARY_PATH=$SEALNET_CSHARP_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} mono "$out/Probe.exe") ||
  fail "the probe could not load the package's library"
mapped=$(sed -n 's/^mapped //p' <<<"$probe")
[ "$mapped" = "$(cd "$SEALNET_CSHARP_LIB_DIR" && pwd -P)/libsealnet.so" ] ||
  fail "Mono loaded '$mapped', not the package's Plugins/x86_64/libsealnet.so"
native_version=$(sed -n 's/^version //p' <<<"$probe")
[ "$native_version" = "$crate_version" ] ||
  fail "the package's library reports version $native_version, the crate is $crate_version"
binding_version=$(sed -n 's/^binding //p' <<<"$probe")
[ "$binding_version" = "$crate_version" ] ||
  fail "the package's Runtime/ has BindingVersion $binding_version, the crate is $crate_version"
ok "Mono loaded the package's library (native and binding version $native_version)"

keep=0
echo "package-test: all checks passed ($(basename "$tarball"), $(wc -c <"$tarball") bytes)"
