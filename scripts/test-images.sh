#!/usr/bin/env bash
# Build the images the Docker tests run, locally: no registry is reachable, nothing is pulled.
# Each image is cached by its tag: a tag that exists is not rebuilt. Bump the tag (":1" ->
# ":2") whenever what goes into an image changes, so every machine rebuilds it.
#
#   scripts/test-images.sh            devstack-test/busybox:1   (~2 MB, seconds)
#   scripts/test-images.sh --python   ... and devstack-test/python:1 (Debian bookworm minbase
#                                     + python3 via debootstrap, ~1 min)
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
SUITE=bookworm
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

want_python=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "test-images: unknown argument: $arg (usage: $0 [--python])" >&2; exit 2 ;;
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

WORK=""
cleanup() {
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
# The Debian mirror the machine's apt uses: a deb source whose suite is $SUITE, from
# /etc/apt/sources.list{,.d/*.list} (one-line) or /etc/apt/sources.list.d/*.sources (deb822).
# DEBIAN_MIRROR overrides; deb.debian.org is the fallback.
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local f found=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    found=$(awk -v s="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # skip [options]
        if ($(i + 1) == s) { print $i; exit }
      }' "$f")
    [ -n "$found" ] && break
  done
  if [ -z "$found" ]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      # deb822: stanzas split by blank lines; take URIs of an enabled "deb" stanza listing $SUITE.
      found=$(awk -v s="$SUITE" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " s " ") && uris != "") {
            split(uris, u, " "); print u[1]; done = 1; exit
          }
          types = ""; suites = ""; uris = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        tolower($1) == "types:"   { $1 = ""; types = $0; sub(/^ +/, "", types) }
        tolower($1) == "suites:"  { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
        tolower($1) == "uris:"    { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
        tolower($1) == "enabled:" { enabled = tolower($2) }
        END { if (!done) flush() }' "$f")
      [ -n "$found" ] && break
    done
  fi
  echo "${found:-http://deb.debian.org/debian}"
}

build_python() {
  local t0 t1 root mirror
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap missing (scripts/docker-setup.sh installs it as root)"
  [ "$(id -u)" = 0 ] || fail "debootstrap needs root to build $PYTHON_IMAGE"
  mirror=$(debian_mirror)
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

if have_image "$BUSYBOX_IMAGE"; then say "$BUSYBOX_IMAGE present (cached)"; else build_busybox; fi
if [ "$want_python" = 1 ]; then
  if have_image "$PYTHON_IMAGE"; then say "$PYTHON_IMAGE present (cached)"; else build_python; fi
fi
say "done in $(since "$t_all")"
