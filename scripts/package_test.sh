#!/usr/bin/env bash
# package_test.sh - build the amd64 package and check it (make test-package).
#
# Checks, failing with a message naming what is wrong:
#   - dpkg-deb --info: package name, architecture, version, Depends on
#     libc6, the conffile, and the postinst/prerm/postrm scripts (sh -n clean);
#   - dpkg-deb --contents: every expected path with its mode, all root:root;
#     no test data, Go sources or stray files;
#   - the unpacked /usr/bin/evedge runs (`version`) and its `selftest`
#     passes on the sim board with the packaged board files;
#   - systemd-analyze verify accepts the unit in the unpacked tree (where
#     ExecStart=/usr/bin/evedge exists), with no warning, and
#     `systemd-analyze security --offline` rates it OK or better.
# systemd-analyze comes from Debian's systemd package (make deps); without
# it that check is skipped, or fails when EVEDGE_REQUIRE_SYSTEMD is set.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
work=$(mktemp -d "${TMPDIR:-/tmp}/evedge-pkgtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=()
fail() { fails+=("$*"); }

OUT=$work/out VERSION=1.2.3-4-gabcdef bash scripts/package.sh amd64 >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	echo "package_test: FAIL: scripts/package.sh amd64 failed" >&2
	exit 1
}
deb=$(ls "$work"/out/*.deb)
[ "$(basename "$deb")" = evedge_1.2.3.4.gabcdef_amd64.deb ] || fail "package file name $(basename "$deb")"

# --- dpkg-deb --info ----------------------------------------------------------
info=$(dpkg-deb --info "$deb")
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = evedge ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = amd64 ] || fail "Architecture: $(field Architecture)"
[ "$(field Version)" = 1.2.3.4.gabcdef ] || fail "Version: $(field Version)"
[[ "$(field Depends)" =~ ^libc6\ \(\>=\ 2\.[0-9]+\)$ ]] || fail "Depends: $(field Depends)"
for s in postinst prerm postrm conffiles; do
	grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$s" <<<"$info" || fail "--info lists no $s"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work" --one-top-level=ctrl
[ "$(cat "$work/ctrl/conffiles")" = /etc/evedge/evedge.toml ] || fail "conffiles: $(cat "$work/ctrl/conffiles")"
for s in postinst prerm postrm; do
	sh -n "$work/ctrl/$s" || fail "$s: syntax"
	[ -x "$work/ctrl/$s" ] || fail "$s not executable"
done
grep -q 'adduser --system' "$work/ctrl/postinst" || fail "postinst creates no system user"
grep -q 'install -d -o evedge -g evedge -m 0750 /var/lib/evedge' "$work/ctrl/postinst" || fail "postinst makes no /var/lib/evedge for evedge"

# --- dpkg-deb --contents ------------------------------------------------------
contents=$(dpkg-deb --contents "$deb")
expect() { # mode path
	grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \\./$2\$" <<<"$contents" || fail "--contents: no $1 root/root ./$2"
}
expect -rwxr-xr-x usr/bin/evedge
expect -rw-r--r-- etc/evedge/evedge.toml
expect -rw-r--r-- lib/systemd/system/evedge.service
for b in sim rpi4-pican2 imx8mp-evk generic-arm64; do expect -rw-r--r-- "usr/share/evedge/board/$b.toml"; done
expect -rw-r--r-- usr/share/evedge/board/sim/sim-ev.dbc
expect -rw-r--r-- usr/share/evedge/board/sim/sim-ev.toml
expect -rw-r--r-- usr/share/evedge/board/vehicles/hyundai-kona-ev.toml
grep -vq 'root/root' <<<"$contents" && fail "files not owned by root: $(grep -v root/root <<<"$contents" | head -3)"
grep -qE '\.go$|testdata|/systemd/evedge\.toml' <<<"$contents" && fail "sources or test data packaged"
nfiles=$(grep -c '^-' <<<"$contents")
[ "$nfiles" -eq 11 ] || fail "expected 11 files, found $nfiles: $(grep '^-' <<<"$contents" | awk '{print $6}' | tr '\n' ' ')"

# --- the unpacked tree --------------------------------------------------------
root=$work/root
dpkg-deb -x "$deb" "$root"
v=$("$root/usr/bin/evedge" version) || fail "evedge version failed"
[ "$v" = "evedge 1.2.3-4-gabcdef" ] || fail "evedge version: $v"
if ! (cd "$work" && "$root/usr/bin/evedge" selftest --board "$root/usr/share/evedge/board/sim.toml") >"$work/selftest.txt" 2>&1; then
	fail "selftest on the packaged sim board failed: $(cat "$work/selftest.txt")"
fi

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$root/lib/systemd"
	# The unit's dependencies (sysinit.target, ...) come from the host.
	for f in /lib/systemd/system/*; do
		[ -e "$root/lib/systemd/system/$(basename "$f")" ] || cp -a "$f" "$root/lib/systemd/system/"
	done
	if ! out=$(systemd-analyze verify --man=no --root="$root" "$root/lib/systemd/system/evedge.service" 2>&1); then
		fail "systemd-analyze verify: $out"
	elif [ -n "$out" ]; then
		fail "systemd-analyze verify warns: $out"
	fi
	sec=$(systemd-analyze security --offline=true --root="$root" "$root/lib/systemd/system/evedge.service" 2>&1 | grep 'Overall exposure level' || true)
	[[ $sec =~ exposure\ level\ for\ evedge.service:\ ([0-9.]+)\ (OK|SAFE) ]] || fail "systemd-analyze security: ${sec:-no rating}"
	echo "package_test: systemd-analyze verify: ok; ${sec#→ }"
elif [ -n "${EVEDGE_REQUIRE_SYSTEMD:-}" ]; then
	fail "systemd-analyze not found (apt-get install systemd) and EVEDGE_REQUIRE_SYSTEMD is set"
else
	echo "package_test: SKIP systemd-analyze verify: systemd-analyze not found (apt-get install systemd)"
fi

if [ ${#fails[@]} -gt 0 ]; then
	echo "$info" >&2
	echo "$contents" >&2
	for f in "${fails[@]}"; do echo "package_test: FAIL: $f" >&2; done
	exit 1
fi
echo "package_test: ok: $(basename "$deb") $(stat -c %s "$deb") bytes, $nfiles files"
