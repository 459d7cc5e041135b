#!/usr/bin/env bash
# Build the images the Docker tests run, locally: no registry is reachable, nothing is pulled.
# Each image is cached by its tag: a tag that exists is not rebuilt. Bump the tag (":1" ->
# ":2") whenever what goes into an image changes, so every machine rebuilds it.
#
#   scripts/test-images.sh               devstack-test/busybox:1   (~2 MB, seconds)
#   scripts/test-images.sh --python      ... and devstack-test/python:1 (Debian bookworm
#                                        minbase + python3 via debootstrap, ~1 min)
#   scripts/test-images.sh --localstack  ... and devstack-test/localstack:2026.3.0 (the python
#                                        image's rootfs + pyenv's Python 3.13 + localstack-core
#                                        from the package index, ~2 min; builds python:1 first if missing).
#                                        No Python 3.13 (`pyenv prefix 3.13`): says so, skips it
#                                        (with CI=true, as .ci/run sets: an error, exit 1).
#
# busybox:1 holds a static busybox with a symlink for every applet (sh, httpd, nc, sleep,
# wget, ...), /www/health containing "ok", /tmp, and a minimal /etc/passwd and /etc/group.
# Run its long-lived commands with `docker run --init`: as PID 1 busybox ignores SIGTERM,
# so `docker stop` would wait the full grace period and then SIGKILL.
# busybox-static's wget segfaults when it has to resolve a name: probe by IP or use nc.
set -euo pipefail
cd "$(dirname "$0")/.."

BUSYBOX_IMAGE=devstack-test/busybox:1
PYTHON_IMAGE=devstack-test/python:1
# The tag is LocalStack's version: if the recipe below changes, give it a suffix (2026.3.0-2).
LOCALSTACK_VERSION=2026.3.0
LOCALSTACK_IMAGE=devstack-test/localstack:$LOCALSTACK_VERSION
SUITE=bookworm
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

want_python=0 want_localstack=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    --localstack) want_localstack=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "test-images: unknown argument: $arg (usage: $0 [--python] [--localstack])" >&2; exit 2 ;;
  esac
done

say() { echo "test-images: $*"; }
fail() { echo "test-images: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

t_all=$(now)
scripts/docker-setup.sh

# One build at a time (parallel test workers may all ask for the same image).
exec 9>/tmp/devstack-test-images.lock
flock 9

WORK="" EXPORT_CTR=""
cleanup() {
  if [ -n "$EXPORT_CTR" ]; then docker rm -f "$EXPORT_CTR" >/dev/null 2>&1 || true; EXPORT_CTR=""; fi
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  # debootstrap may leave /proc, /sys or /dev mounted inside the rootfs if it failed midway.
  awk -v d="$WORK" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# Import a rootfs folder as an image. Extra args are `docker import -c` changes.
import_rootfs() {
  local dir=$1 tag=$2; shift 2
  local changes=() c
  for c in "$@"; do changes+=(-c "$c"); done
  tar --numeric-owner -C "$dir" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
}

# Run the image once; on failure drop the tag so the next run rebuilds it.
verify() {
  local tag=$1 expect=$2; shift 2
  local out
  if ! out=$(docker run --rm --init --network none "$tag" "$@" 2>&1) || [ "$out" != "$expect" ]; then
    docker image rm -f "$tag" >/dev/null 2>&1 || true
    fail "$tag does not run: \`$*\` printed '${out}' (wanted '$expect'); tag removed"
  fi
}

# -- busybox --------------------------------------------------------------------------------
build_busybox() {
  local bb=/bin/busybox t0 root applet
  [ -x "$bb" ] || fail "$bb missing: install busybox-static (scripts/docker-setup.sh does as root)"
  # The image has no libc: only a static busybox works (Debian's plain `busybox` is dynamic).
  if ldd "$bb" >/dev/null 2>&1; then fail "$bb is dynamically linked: install busybox-static"; fi
  t0=$(now)
  WORK=$(mktemp -d /var/tmp/devstack-busybox.XXXXXX)
  root=$WORK/rootfs
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,www,proc,sys,dev}
  install -d -m 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  # A symlink for every applet, where busybox itself would install it (bin/sh, usr/bin/env...).
  while read -r applet; do
    case "$applet" in bin/busybox|linuxrc|"") continue ;; esac
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
  done < <("$bb" --list-full)
  for applet in sh httpd nc sleep echo cat env ls mkdir wget true false kill printf date ps id; do
    [ -n "$(find "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" -maxdepth 1 -name "$applet")" ] \
      || fail "busybox has no applet '$applet'"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'ok' >"$root/www/health"
  import_rootfs "$root" "$BUSYBOX_IMAGE" "ENV PATH=$PATH_ENV" 'CMD ["sh"]'
  cleanup; WORK=""
  verify "$BUSYBOX_IMAGE" ok echo ok
  say "built $BUSYBOX_IMAGE in $(since "$t0") ($(docker image inspect -f '{{.Size}}' "$BUSYBOX_IMAGE" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
}

# -- python (Debian minbase + python3) ------------------------------------------------------
# debian_mirror: the mirror the machine's apt uses (scripts/lib/debian-mirror.sh).
# shellcheck source=lib/debian-mirror.sh
source scripts/lib/debian-mirror.sh

build_python() {
  local t0 t1 root mirror
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap missing (scripts/docker-setup.sh installs it as root)"
  [ "$(id -u)" = 0 ] || fail "debootstrap needs root to build $PYTHON_IMAGE"
  mirror=$(debian_mirror "$SUITE") || fail "cannot build $PYTHON_IMAGE: see the line above"
  t0=$(now)
  WORK=$(mktemp -d /var/tmp/devstack-python.XXXXXX)
  root=$WORK/rootfs
  say "debootstrap $SUITE (minbase + python3) from $mirror"
  if ! debootstrap --variant=minbase --include=python3 "$SUITE" "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    cp "$WORK/debootstrap.log" /tmp/devstack-debootstrap.log 2>/dev/null || true
    tail -n 15 "$WORK/debootstrap.log" >&2
    fail "debootstrap failed (log: /tmp/devstack-debootstrap.log)"
  fi
  say "debootstrap done in $(since "$t0")"
  # Drop what only a package download left behind.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*_Packages
  t1=$(now)
  import_rootfs "$root" "$PYTHON_IMAGE" "ENV PATH=$PATH_ENV" 'ENV LANG=C.UTF-8' 'CMD ["python3"]'
  say "import done in $(since "$t1")"
  cleanup; WORK=""
  verify "$PYTHON_IMAGE" 1 python3 -c 'print(1)'
  say "built $PYTHON_IMAGE in $(since "$t0") ($(docker image inspect -f '{{.Size}}' "$PYTHON_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# -- localstack (python:1's rootfs + pyenv's Python 3.13 + localstack-core) -----------------
# pyenv's Python 3.13 prefix (`pyenv prefix 3.13`), or nothing (exit 1). pyenv is looked up on
# PATH, then in $PYENV_ROOT, ~/.pyenv and /root/.pyenv.
python313_prefix() {
  local pyenv_bin="" root prefix
  pyenv_bin=$(command -v pyenv 2>/dev/null || true)
  if [ -z "$pyenv_bin" ]; then
    for root in "${PYENV_ROOT:-}" "${HOME:-/root}/.pyenv" /root/.pyenv; do
      if [ -n "$root" ] && [ -x "$root/bin/pyenv" ]; then pyenv_bin=$root/bin/pyenv; break; fi
    done
  fi
  [ -n "$pyenv_bin" ] || return 1
  # pyenv looks for its versions in $PYENV_ROOT (default ~/.pyenv): point it at this checkout.
  root=$(dirname "$(dirname "$(readlink -f "$pyenv_bin")")")
  if [ -z "${PYENV_ROOT:-}" ] && [ -d "$root/versions" ]; then export PYENV_ROOT=$root; fi
  prefix=$("$pyenv_bin" prefix 3.13 2>/dev/null | head -n1) || return 1
  [ -n "$prefix" ] && [ -x "$prefix/bin/python3.13" ] || return 1
  env -u PYTHONPATH -u PYTHONHOME "$prefix/bin/python3.13" -c \
    'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 || return 1
  echo "$prefix"
}

# Without Python 3.13 the LocalStack image cannot be built: its tests skip, except under CI
# (CI=true), where the image is part of what the test command sets up: an error.
skip_localstack() {
  case "${CI:-}" in
    ""|0|false|no) say "skipping LocalStack image: $1; its tests will skip" ;;
    *) fail "cannot build $LOCALSTACK_IMAGE: $1 (CI is set: the test command must build it)" ;;
  esac
}

build_localstack() {
  local prefix py t0 t1 root
  if ! prefix=$(python313_prefix); then
    skip_localstack "no Python 3.13 (\`pyenv prefix 3.13\` found none)"
    return 0
  fi
  py=$prefix/bin/python3.13
  if ! env -u PYTHONPATH -u PYTHONHOME "$py" -m pip --version >/dev/null 2>&1; then
    skip_localstack "no Python 3.13 with pip ($py -m pip fails)"
    return 0
  fi
  command -v openssl >/dev/null 2>&1 || fail "openssl missing (scripts/docker-setup.sh installs it as root)"
  # The base is the python image's Debian rootfs: pyenv's Python links against the libssl3,
  # libffi8, libsqlite3... that python3 pulled into it (host and image are both bookworm).
  if have_image "$PYTHON_IMAGE"; then say "$PYTHON_IMAGE present (cached): its rootfs is the base"; else build_python; fi

  t0=$(now)
  WORK=$(mktemp -d /var/tmp/devstack-localstack.XXXXXX)
  root=$WORK/rootfs
  mkdir "$root"
  EXPORT_CTR=$(docker create --network none "$PYTHON_IMAGE" true)
  docker export "$EXPORT_CTR" | tar --numeric-owner -C "$root" -x
  docker rm -f "$EXPORT_CTR" >/dev/null; EXPORT_CTR=""
  rm -f "$root/.dockerenv"
  say "base rootfs exported from $PYTHON_IMAGE in $(since "$t0")"

  # Python 3.13 at /opt/py313 (it relocates; the image sets LD_LIBRARY_PATH for libpython).
  # Left out: the test suite, the static lib, Tk/IDLE and whatever pip installed on the host.
  t1=$(now)
  mkdir -p "$root/opt/py313"
  tar -C "$prefix" \
    --exclude=./lib/python3.13/test --exclude='./lib/python3.13/config-3.13*' \
    --exclude=./lib/python3.13/idlelib --exclude=./lib/python3.13/tkinter \
    --exclude=./lib/python3.13/turtledemo --exclude='./lib/python3.13/lib-dynload/_tkinter*' \
    --exclude='./lib/python3.13/site-packages/*' -c . | tar -C "$root/opt/py313" -x
  say "copied $("$py" --version 2>&1) from $prefix in $(since "$t1")"

  # LocalStack with the same Python, into /opt/localstack (PYTHONPATH in the image).
  t1=$(now)
  say "pip install localstack-core[runtime]==$LOCALSTACK_VERSION with $py"
  if ! env -u PYTHONPATH -u PYTHONHOME -u PIP_TARGET PIP_DISABLE_PIP_VERSION_CHECK=1 \
      "$py" -m pip install --no-input --target "$root/opt/localstack" \
      "localstack-core[runtime]==$LOCALSTACK_VERSION" 'cbor2<5.7' service_identity >"$WORK/pip.log" 2>&1; then
    cp "$WORK/pip.log" /tmp/devstack-localstack-pip.log 2>/dev/null || true
    tail -n 15 "$WORK/pip.log" >&2
    fail "pip install localstack-core failed (log: /tmp/devstack-localstack-pip.log)"
  fi
  say "pip install done in $(since "$t1")"

  # The TLS certificate LocalStack would otherwise generate at start (its generator breaks
  # with the current pyOpenSSL): key then certificate in one file.
  mkdir -p "$root/var/lib/localstack/cache"
  if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
      -days 730 -subj /CN=localhost >"$WORK/openssl.log" 2>&1; then
    cat "$WORK/openssl.log" >&2
    fail "openssl could not make the TLS certificate"
  fi
  cat "$WORK/key.pem" "$WORK/cert.pem" >"$root/var/lib/localstack/cache/server.test.pem"

  t1=$(now)
  import_rootfs "$root" "$LOCALSTACK_IMAGE" \
    "ENV PATH=/opt/py313/bin:$PATH_ENV" 'ENV LANG=C.UTF-8' \
    'ENV LD_LIBRARY_PATH=/opt/py313/lib PYTHONPATH=/opt/localstack GATEWAY_LISTEN=0.0.0.0:4566 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1' \
    'EXPOSE 4566' 'CMD ["/opt/py313/bin/python3.13","-m","localstack.runtime.main"]'
  say "import done in $(since "$t1")"
  cleanup; WORK=""
  verify "$LOCALSTACK_IMAGE" "$LOCALSTACK_VERSION" python3.13 -c \
    'import localstack.runtime.main; from importlib.metadata import version; print(version("localstack-core"))'
  say "built $LOCALSTACK_IMAGE in $(since "$t0") ($(docker image inspect -f '{{.Size}}' "$LOCALSTACK_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

if have_image "$BUSYBOX_IMAGE"; then say "$BUSYBOX_IMAGE present (cached)"; else build_busybox; fi
if [ "$want_python" = 1 ]; then
  if have_image "$PYTHON_IMAGE"; then say "$PYTHON_IMAGE present (cached)"; else build_python; fi
fi
if [ "$want_localstack" = 1 ]; then
  if have_image "$LOCALSTACK_IMAGE"; then say "$LOCALSTACK_IMAGE present (cached)"; else build_localstack; fi
fi
say "done in $(since "$t_all")"
