#!/usr/bin/env bash
# package.sh - build evedge .deb packages with dpkg-deb.
#
# Usage: bash scripts/package.sh [ARCH...]     (default: amd64 arm64 armhf)
# Environment:
#   OUT       output directory (default: bin)
#   VERSION   version string (default: git describe, as the Makefile)
#   BUILD_TIME  RFC 3339 build time for the clock sanity floor
#             (default: the last commit's time, so builds are reproducible)
#   EVEDGE_BIN  use this prebuilt binary instead of building (one ARCH only)
#
# Each package holds:
#   /usr/bin/evedge                        the agent, cgo on (SQLite, miniaudio), stripped
#   /etc/evedge/evedge.toml                default configuration (conffile)
#   /usr/share/evedge/board/               board profiles, sim/ and vehicles/
#   /lib/systemd/system/evedge.service     the hardened Type=notify unit
#   /usr/share/doc/evedge/README.md
#   DEBIAN/postinst prerm postrm           system user evedge, /var/lib/evedge, enable/stop
# Cross builds use the compilers of `make deps` (gcc-aarch64-linux-gnu,
# gcc-arm-linux-gnueabihf).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
out=${OUT:-bin}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
build_time=${BUILD_TIME:-$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64 armhf)

die() {
	echo "package: $*" >&2
	exit 1
}

# Debian versions start with a digit and have no '-' without a revision.
debver=${version#v}
[[ $debver =~ ^[0-9]+\.[0-9] ]] || debver="0.0~git.$debver"
debver=${debver//-/.}

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/evedge-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT

for arch in "${archs[@]}"; do
	case $arch in
	amd64) goenv=(GOARCH=amd64) cc=${CC_AMD64:-gcc} ;;
	arm64) goenv=(GOARCH=arm64) cc=aarch64-linux-gnu-gcc ;;
	armhf) goenv=(GOARCH=arm GOARM=7) cc=arm-linux-gnueabihf-gcc ;;
	*) die "unknown architecture $arch (amd64, arm64, armhf)" ;;
	esac
	root=$work/$arch
	mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/evedge" "$root/usr/share/evedge/board" \
		"$root/lib/systemd/system" "$root/usr/share/doc/evedge"
	if [ -n "${EVEDGE_BIN:-}" ]; then
		[ ${#archs[@]} -eq 1 ] || die "EVEDGE_BIN needs exactly one ARCH"
		install -m 0755 "$EVEDGE_BIN" "$root/usr/bin/evedge"
	else
		command -v "$cc" >/dev/null || die "$cc not found (make deps installs the cross compilers)"
		echo "package: building $arch ($cc)" >&2
		env CGO_ENABLED=1 GOOS=linux "${goenv[@]}" CC="$cc" go build -trimpath \
			-ldflags "-s -w -X main.version=$version -X github.com/evedge/evedge/agent/wallclock.BuildTime=$build_time" \
			-o "$root/usr/bin/evedge" ./agent/cmd/evedge
	fi
	install -m 0644 scripts/debian/evedge.toml "$root/etc/evedge/evedge.toml"
	install -m 0644 board/*.toml "$root/usr/share/evedge/board/"
	for d in sim vehicles; do
		cp -r "board/$d" "$root/usr/share/evedge/board/"
	done
	install -m 0644 board/systemd/evedge.service "$root/lib/systemd/system/evedge.service"
	install -m 0644 README.md "$root/usr/share/doc/evedge/README.md"
	for s in postinst prerm postrm; do
		install -m 0755 "scripts/debian/$s" "$root/DEBIAN/$s"
	done
	echo /etc/evedge/evedge.toml >"$root/DEBIAN/conffiles"
	find "$root" -type d -exec chmod 0755 {} +
	find "$root/usr/share/evedge" -type f -exec chmod 0644 {} +

	# The newest glibc symbol version the binary needs (cgo links glibc).
	glibc=$(readelf -V --wide "$root/usr/bin/evedge" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -n1 || true)
	depends="libc6${glibc:+ (>= $glibc)}"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat >"$root/DEBIAN/control" <<CONTROL
Package: evedge
Version: $debver
Architecture: $arch
Maintainer: evedge developers <evedge@users.noreply.github.com>
Installed-Size: $size
Depends: $depends
Recommends: libasound2
Section: misc
Priority: optional
Homepage: https://github.com/evedge/evedge
Description: on-board agent for electric cars
 evedge listens to the vehicle's CAN buses and OBD-II port, keeps a bounded
 local history, spots faults with a small int8 model, answers the driver's
 voice commands, serves the service centre's API and reports to the
 manufacturer's cloud over MQTT. Runs as the systemd service evedge.service
 under its own user, with board profiles for Raspberry Pi 4 + PiCAN2, the
 NXP i.MX 8M Plus EVK, generic ARM boards and a simulated car.
CONTROL
	deb=$out/evedge_${debver}_${arch}.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "$deb $(stat -c %s "$deb") bytes (binary $(stat -c %s "$root/usr/bin/evedge") bytes)"
done
