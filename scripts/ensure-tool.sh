#!/usr/bin/env bash
# ensure-tool.sh COMMAND DEBIAN_PACKAGE...: installs the packages with apt-get when COMMAND is missing.
set -euo pipefail
command=$1
shift
if command -v "$command" >/dev/null 2>&1; then
  exit 0
fi
echo "installing $* (for $command)"
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get install -y -q "$@" >/dev/null 2>&1 || {
  $sudo_cmd apt-get update -q >/dev/null
  $sudo_cmd apt-get install -y -q "$@" >/dev/null
}
command -v "$command" >/dev/null 2>&1 || { echo "ensure-tool: $command still missing after installing $*" >&2; exit 1; }
