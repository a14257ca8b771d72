#!/usr/bin/env bash
# Installs sealnet for C and C++ users (make install):
#
#   scripts/install.sh [PREFIX] [DESTDIR]       PROFILE=release (default) or debug
#
# Into DESTDIR/PREFIX (PREFIX defaults to /usr/local): lib/libsealnet.so.X.Y.Z with its SONAME link
# and the development link, lib/libsealnet.a with only the peer_* API global (so it links beside other
# Rust static libraries), include/sealnet.h and sealnet.hpp, lib/pkgconfig/sealnet.pc, the CMake
# package lib/cmake/sealnet (imported targets sealnet::sealnet and sealnet::sealnet_static),
# bin/sealnet-server and bin/sealnet-backend, etc/sealnet/sealnet-server.toml (the defaults) and an
# example systemd unit in lib/systemd/system. The files name PREFIX, not DESTDIR: DESTDIR is for
# staging (a package build, or a test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-/usr/local}
destdir=${2:-}
profile=${PROFILE:-release}
case $profile in release | debug) ;; *) echo "install.sh: PROFILE is release or debug" >&2; exit 2 ;; esac
case $prefix in /*) ;; *) echo "install.sh: PREFIX must be an absolute path" >&2; exit 2 ;; esac
target=$("$root/scripts/target-dir.sh")
built=$target/$profile
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
soname=$("$root/scripts/soname.sh")

flags=()
[ "$profile" = release ] && flags=(--release)
cargo build "${flags[@]}" --manifest-path "$root/Cargo.toml" --workspace
"$root/scripts/ensure-tool.sh" objcopy binutils

stage=$destdir$prefix
install -d "$stage/lib/pkgconfig" "$stage/lib/cmake/sealnet" "$stage/include" "$stage/bin" \
  "$stage/etc/sealnet" "$stage/lib/systemd/system"

# The shared library under its full version, found at run time by its SONAME, linked by the bare name.
install -m 0755 "$built/libsealnet.so" "$stage/lib/libsealnet.so.$version"
[ "$profile" = release ] && strip --strip-unneeded "$stage/lib/libsealnet.so.$version"
ln -sf "libsealnet.so.$version" "$stage/lib/$soname"
ln -sf "$soname" "$stage/lib/libsealnet.so"

# The static library as one object whose only global definitions are the peer_* API: Rust's runtime
# and dependencies inside it stay local, so a second Rust static library in the same program (another
# plugin) does not clash with them.
work=$(mktemp -d -t sealnet-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
ld -r --whole-archive "$built/libsealnet.a" -o "$work/sealnet.o"
# Embedded LLVM bitcode (from the standard library) would only make ar hand the object to a linker
# plugin; the machine code is what links.
objcopy --wildcard --keep-global-symbol='peer_*' --remove-section=.llvmbc --remove-section=.llvmcmd \
  --redefine-sym DW.ref.rust_eh_personality=DW.ref.sealnet_rust_eh_personality "$work/sealnet.o"
rm -f "$stage/lib/libsealnet.a"
ar crs "$stage/lib/libsealnet.a" "$work/sealnet.o"

install -m 0644 "$root/include/sealnet.h" "$root/bindings/cpp/sealnet.hpp" "$stage/include/"

# What the static library needs from the system (rustc's native-static-libs for this target).
native_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@NATIVE_LIBS@|$native_libs|g" \
  "$root/packaging/sealnet.pc.in" >"$stage/lib/pkgconfig/sealnet.pc"
sed -e "s|@VERSION@|$version|g" -e "s|@SONAME@|$soname|g" \
  "$root/packaging/sealnetConfig.cmake.in" >"$stage/lib/cmake/sealnet/sealnetConfig.cmake"
sed -e "s|@VERSION@|$version|g" \
  "$root/packaging/sealnetConfigVersion.cmake.in" >"$stage/lib/cmake/sealnet/sealnetConfigVersion.cmake"

install -m 0755 "$built/sealnet-server" "$built/sealnet-backend" "$stage/bin/"
[ "$profile" = release ] && strip --strip-unneeded "$stage/bin/sealnet-server" "$stage/bin/sealnet-backend"
install -m 0644 "$root/packaging/sealnet-server.toml" "$stage/etc/sealnet/sealnet-server.toml"
sed -e "s|@PREFIX@|$prefix|g" "$root/packaging/sealnet-server.service.in" \
  >"$stage/lib/systemd/system/sealnet-server.service"
echo "install.sh: sealnet $version ($profile) installed in $stage"
