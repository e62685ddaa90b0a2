#!/usr/bin/env bash
# apt-source.sh PACKAGE DIR — Debian's source package PACKAGE, fetched with
# `apt-get source` and unpacked as upstream's tree (Debian's patches not
# applied) in DIR/PACKAGE, through a private apt state in DIR/apt: the
# system's apt configuration, lists and cache are not touched, and the
# mirrors are the system's own (its deb sources, as deb-src). For tests
# and builds that use third-party sources without committing them.
# Exit 0, or 1 with the cause on stderr (no source line, no network...).
set -uo pipefail
[ $# = 2 ] || { echo "usage: apt-source.sh PACKAGE DIR" >&2; exit 2; }
pkg=$1 dir=$(realpath -m "$2")
state=$dir/apt
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.list.d" || exit 1
# deb-src twins of the system's deb sources, one-line and deb822 forms
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f"
done > "$state/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$state/sources.list.d/${f##*/}"
done
opts=(-q -o Dir::State="$state" -o Dir::Cache="$state/cache"
      -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts="$state/sources.list.d"
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update > "$state/update.log" 2>&1 ||
    { echo "apt-get update failed: $(grep -E '^(E|W):' "$state/update.log" | head -1)" >&2; exit 1; }
cd "$dir" || exit 1
# The newest version first; a mirror may list a version whose files it
# lacks (seen: security updates' .dsc answering 404), so each older
# version the lists name is tried in turn.
fetched=0
for ver in "" $(apt-cache "${opts[@]}" showsrc "$pkg" 2> /dev/null | sed -n 's/^Version: //p' |
                sort -u | sort -r -V); do
    rm -f "$pkg"_*.dsc
    if apt-get "${opts[@]}" source --download-only "$pkg${ver:+=$ver}" >> "$state/source.log" 2>&1; then
        fetched=1
        break
    fi
done
[ $fetched = 1 ] ||
    { echo "apt-get source $pkg failed: $(grep -E '^(E|W):' "$state/source.log" | head -1)" >&2; exit 1; }
rm -rf "$pkg"
dpkg-source -x --skip-patches "$pkg"_*.dsc "$pkg" > "$state/unpack.log" 2>&1 ||
    { echo "dpkg-source -x failed: $(tail -1 "$state/unpack.log")" >&2; exit 1; }
