#!/usr/bin/env bash
# ensure-tool.sh COMMAND DEBIAN_PACKAGE...: installs the packages with apt-get when COMMAND is missing.
# COMMAND may also be a file's absolute path (a library's header, say): then that file must exist.
set -euo pipefail
command=$1
shift
present() {
  case $command in
    /*) [ -e "$command" ] ;;
    *) command -v "$command" >/dev/null 2>&1 ;;
  esac
}
if present; then
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
present || { echo "ensure-tool: $command still missing after installing $*" >&2; exit 1; }
