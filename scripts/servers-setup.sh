#!/usr/bin/env bash
# Install the database servers the `process` provider runs (Debian's postgresql and
# redis-server), for the tests of those providers, tmux, for the tests that drive the
# UI in a real terminal, and openssh-server, whose sshd the remote-engine tests run on
# loopback with keys of their own (tests/remote/). As root on Debian only; elsewhere it
# says what is missing and exits 0, and those tests skip with the reason.
# With CI=true (set by .ci/run) a server it cannot install is a broken CI image: it says why
# and exits 1 (and the tests would fail, not skip: tests/components.py).
set -uo pipefail

case "${CI:-}" in ""|0|false|no) ci=0 ;; *) ci=1 ;; esac
# Give up: under CI that is a failure; elsewhere the tests skip with the reason.
give_up() {
  if [ "$ci" = 1 ]; then
    echo "servers-setup: ERROR: $1 (CI is set: the test command must set these up)" >&2
    exit 1
  fi
  echo "servers-setup: $1; their tests skip"
  exit 0
}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v psql >/dev/null || missing+=(postgresql-client)
command -v tmux >/dev/null || missing+=(tmux)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "servers-setup: postgres, redis, tmux and sshd present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  give_up "missing ${missing[*]} (not root on Debian: not installing)"
fi
echo "servers-setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/servers-setup.log 2>&1; then
  apt-get update -q >>/tmp/servers-setup.log 2>&1 || true
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/servers-setup.log 2>&1 \
    || give_up "apt-get failed to install ${missing[*]} (see /tmp/servers-setup.log)"
fi
# The packages start system-wide servers where an init system runs; devstack starts its
# own on free ports, so those are not needed (and not touched).
echo "servers-setup: done"
