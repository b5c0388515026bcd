#!/bin/sh
# libdusk.a defines exactly the global symbols libdusk.sym lists: internal
# names are local (ld -r; objcopy --localize-hidden), so module code linked
# beside the runtime can never clash with them.
set -eu
lib=../runtime/libdusk.a
sym=${srcdir:-.}/../runtime/libdusk.sym
[ -f "$lib" ] || lib=$(dirname "$0")/../../../runtime/libdusk.a
[ -f "$sym" ] || sym=$(dirname "$0")/../../../runtime/libdusk.sym
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort >"$tmp/have"
sed -n '/^global:/,/^local:/p' "$sym" | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' |
	sort >"$tmp/want"
n=$(wc -l <"$tmp/want")
if ! diff -u "$tmp/want" "$tmp/have"; then
	echo "exports.sh: 0 passed, 1 failed"
	exit 1
fi
[ "$n" -gt 10 ] || { echo "exports.sh: too few exports ($n)"; exit 1; }
echo "exports.sh: 1 passed, 0 failed ($n exports)"
