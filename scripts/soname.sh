#!/usr/bin/env bash
# Prints the shared library's SONAME: libsealnet.so.0.MINOR while the major version is 0 (the ABI may
# change with each minor version), libsealnet.so.MAJOR after. build.rs sets the same.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then echo "libsealnet.so.0.$minor"; else echo "libsealnet.so.$major"; fi
