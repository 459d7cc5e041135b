#!/usr/bin/env bash
# Make a Docker engine available for the tests, plus the tools scripts/test-images.sh needs
# (busybox-static, debootstrap, openssl). Idempotent: a fast no-op when `docker info` already
# works and the tools are installed. On a fresh Debian 12 machine as root (CI) it installs what
# is missing with apt-get and starts dockerd in the background (log: /tmp/dockerd.log).
# No image is ever pulled: test images are built locally by scripts/test-images.sh.
# Exit 0 when the engine answers; otherwise one line on stderr saying why, and exit 1.
set -euo pipefail

DEADLINE=${DOCKER_START_TIMEOUT:-60}   # seconds to wait for a started dockerd to answer
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}

say() { echo "docker-setup: $*"; }
fail() { echo "docker-setup: ERROR: $*" >&2; exit 1; }

engine_up() { timeout 20 docker info >/dev/null 2>&1; }
pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; }

# -- packages -------------------------------------------------------------------------------
missing=()
if can_apt; then
  # docker-compose (Debian's, the python 1.29 one): a baseline of benchmarks/run_all.py.
  for p in busybox-static debootstrap openssl docker-compose; do
    pkg_installed "$p" || missing+=("$p")
  done
  # The engine package only matters when no engine answers and no dockerd binary exists
  # (a docker-ce install, for instance, provides its own and conflicts with docker.io).
  if ! command -v dockerd >/dev/null 2>&1 && ! engine_up; then
    missing+=(docker.io)
  fi
elif ! command -v debootstrap >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! command -v openssl >/dev/null 2>&1; then
  say "note: cannot install busybox-static/debootstrap/openssl (not root or no apt-get); test-images.sh needs them"
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  apt-get -qq update >/dev/null || fail "apt-get update failed"
  # --no-install-recommends: skips needrestart, git, apparmor... (added back below if the
  # kernel enforces AppArmor, since dockerd then needs apparmor_parser).
  extra=()
  if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && ! pkg_installed apparmor \
     && printf '%s\n' "${missing[@]}" | grep -qx docker.io; then
    extra+=(apparmor)
  fi
  apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" "${extra[@]}" >/tmp/docker-setup-apt.log 2>&1 \
    || { tail -n 20 /tmp/docker-setup-apt.log >&2; fail "apt-get install ${missing[*]} failed (log: /tmp/docker-setup-apt.log)"; }
fi

# -- engine ---------------------------------------------------------------------------------
if engine_up; then
  exit 0
fi

case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix:///var/run/docker.sock|unix:///run/docker.sock) ;;
  *) fail "docker info fails against DOCKER_HOST=$DOCKER_HOST (not starting a local dockerd)" ;;
esac
command -v dockerd >/dev/null 2>&1 || fail "no Docker engine: dockerd is not installed (needs root + apt-get to install docker.io)"
[ "$(id -u)" = 0 ] || fail "dockerd is installed but not answering, and starting it needs root"

start=$(date +%s)
if pid=$(pgrep -x dockerd | head -n1) && [ -n "$pid" ]; then
  say "dockerd already starting (pid $pid); waiting"
else
  say "starting dockerd (log: $LOG)"
  # setsid + closed stdin: the daemon outlives this script and holds none of its pipes.
  setsid dockerd >"$LOG" 2>&1 </dev/null &
  pid=$!
fi

while ! engine_up; do
  if ! kill -0 "$pid" 2>/dev/null; then
    last=$(grep -v '^\s*$' "$LOG" 2>/dev/null | tail -n1 | cut -c1-300)
    fail "dockerd exited before answering; last log line: ${last:-<none>} (log: $LOG)"
  fi
  if [ $(( $(date +%s) - start )) -ge "$DEADLINE" ]; then
    fail "dockerd did not answer docker info within ${DEADLINE}s (log: $LOG)"
  fi
  sleep 0.5
done
say "dockerd ready in $(( $(date +%s) - start ))s"
