# shellcheck shell=bash
# debian_mirror SUITE: print the Debian mirror the machine's apt uses for SUITE, the URI of
# the first enabled `deb` source that lists it, from (in this order)
#   $APT_SOURCES_ROOT/sources.list and sources.list.d/*.list   one-line format
#   $APT_SOURCES_ROOT/sources.list.d/*.sources                 deb822 (`URIs:`)
# APT_SOURCES_ROOT defaults to /etc/apt (tests point it at a fake tree); DEBIAN_MIRROR, when
# set, wins. No mirror hostname is built in: a machine whose apt has none gets one line on
# stderr saying where it looked, and status 1.
# Sourced by scripts/test-images.sh; tests/unit/test_debian_mirror.py runs it.

debian_mirror() {
  local suite=$1 root=${APT_SOURCES_ROOT:-/etc/apt} f found=""
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return 0; fi
  for f in "$root/sources.list" "$root"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    found=$(awk -v s="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # skip [options]
        if ($(i + 1) == s) { print $i; exit }
      }' "$f")
    [ -n "$found" ] && break
  done
  if [ -z "$found" ]; then
    for f in "$root"/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      # deb822: stanzas split by blank lines; the first URI of an enabled "deb" stanza
      # whose Suites: list $suite.
      found=$(awk -v s="$suite" '
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
  if [ -z "$found" ]; then
    echo "no Debian mirror for '$suite' in $root/sources.list, $root/sources.list.d/*.list or" \
      "$root/sources.list.d/*.sources (URIs:): add one to apt's sources, or set DEBIAN_MIRROR=URL" >&2
    return 1
  fi
  echo "$found"
}
