#!/usr/bin/env bash
# vmtest.sh - run the TestVCAN* tests against a real SocketCAN stack.
#
# Hosts without AF_CAN (CI containers, this dev box) cannot create vcan
# interfaces, so this boots Debian's generic kernel under qemu-system-x86_64
# (TCG; no KVM needed) with an initramfs holding static busybox, the CAN
# modules (can, can-raw, can-dev, vcan) and statically linked Go test
# binaries. /init creates vcan0 and vcan1 and runs each binary with
#   EVEDGE_VCAN=vcan0 EVEDGE_VCAN2=vcan1 ./pkg.test -test.run '^TestVCAN' -test.v
# The script then checks the console: any failure, skipped test, package
# without a TestVCAN test, or missing result line (panic, timeout) fails it,
# and the console is printed.
#
# Usage: bash scripts/vmtest.sh
# Environment:
#   VMTEST_PKGS     packages (directories) to test (default: ./drivers/can/socketcan
#                   ./drivers/obd/isotpcan ./agent);
#                   ones that do not exist or have no TestVCAN test are listed and skipped
#   VMTEST_REQUIRE  packages that must run TestVCAN tests (default: ./drivers/can/socketcan
#                   ./drivers/obd/isotpcan)
#   VMTEST_FILES    files or directories the tests read, relative to the repo root or
#                   absolute (default: board ../shared/data/dbc); each test binary runs in
#                   its package directory at the same absolute path as on the host, with
#                   its testdata/ and these copied to their host paths, so relative paths
#                   such as ../board/... or ../../shared/... resolve as they do here
#   VMTEST_CACHE    kernel cache (default: <repo>/.cache/vmtest, git-ignored)
#   VMTEST_REFRESH  set to 1 to fetch the current Debian kernel again
#   VMTEST_KERNEL_PKG  kernel package to fetch (default: what linux-image-amd64 depends on)
#   VMTEST_TIMEOUT  seconds for the whole VM run (default: 300)
#   VMTEST_SMP, VMTEST_MEM  guest CPUs (default: 1) and MiB (default: 512)
#   VMTEST_VERBOSE  set to 1 to print the whole console also on success
#   VMTEST_BZIMAGE  set to 1 to boot the compressed kernel instead of the unpacked
#                   vmlinux (PVH entry; about 3 s faster under TCG)
#
# Needs Debian/Ubuntu (apt-get, dpkg-deb) and Go. Missing qemu-system-x86,
# busybox-static and cpio are installed with apt-get when run as root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

pkgs=${VMTEST_PKGS:-./drivers/can/socketcan ./drivers/obd/isotpcan ./agent}
require=${VMTEST_REQUIRE-./drivers/can/socketcan ./drivers/obd/isotpcan}
files=${VMTEST_FILES-board ../shared/data/dbc}
cache=${VMTEST_CACHE:-$repo/.cache/vmtest}
vm_timeout=${VMTEST_TIMEOUT:-300}
smp=${VMTEST_SMP:-1}
mem=${VMTEST_MEM:-512}
modules="can can-raw can-dev vcan" # load order

log() { printf 'vmtest: %s\n' "$*" >&2; }
die() {
	printf 'vmtest: FAIL: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# --- tools ------------------------------------------------------------------

ensure_tools() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
		missing+=(busybox-static)
	command -v cpio >/dev/null || missing+=(cpio)
	command -v go >/dev/null || die "go is not on PATH"
	if ! command -v dpkg-deb >/dev/null || ! command -v apt-get >/dev/null; then
		die "needs a Debian-like host (apt-get, dpkg-deb) to fetch Debian's kernel"
	fi
	[ ${#missing[@]} -eq 0 ] && return
	[ "$(id -u)" -eq 0 ] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 && return
	# Stale or empty package lists: update once and retry.
	if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } >>"$work/apt.log" 2>&1; then
		cat "$work/apt.log" >&2
		die "apt-get install ${missing[*]} failed"
	fi
}

# --- kernel and modules -----------------------------------------------------

kdir=$cache/kernel

# extract_vmlinux unpacks the ELF kernel from a bzImage, as the kernel's
# scripts/extract-vmlinux does. qemu boots it directly (PVH entry), which
# saves the ~3 s the compressed kernel spends unpacking itself under TCG.
extract_vmlinux() {
	local img=$1 out=$2 sig magic off
	for sig in 'fd377a585a00 xz -dc' '28b52ffd zstd -dc' '1f8b0800 gzip -dc'; do
		# shellcheck disable=SC2086 # split the decompressor command
		set -- $sig
		magic=$1
		shift
		command -v "$1" >/dev/null || continue
		for off in $(od -An -tx1 -v "$img" | tr -d ' \n' | grep -ob "$magic" | cut -d: -f1 | head -n 8); do
			[ $((off % 2)) -eq 0 ] || continue
			{ tail -c +$((off / 2 + 1)) "$img" | "$@" >"$out" 2>/dev/null; } || true
			[ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
		done
	done
	rm -f "$out"
	return 1
}

fetch_kernel() {
	local pkg=${VMTEST_KERNEL_PKG:-}
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }')
		if [ -z "$pkg" ]; then
			log "apt-get update (no linux-image-amd64 in the package lists)"
			apt-get update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get update failed"; }
			pkg=$(apt-cache depends linux-image-amd64 |
				awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }')
		fi
		[ -n "$pkg" ] || die "cannot tell the current kernel package (apt-cache depends linux-image-amd64)"
	fi
	case $pkg in *-cloud-amd64) die "$pkg is the cloud kernel, which has no CAN; use the generic one" ;; esac
	log "fetching $pkg"
	local dl=$work/dl new=$kdir.new
	mkdir -p "$dl" "$cache"
	(cd "$dl" && apt-get download "$pkg" >"$work/apt.log" 2>&1) || { cat "$work/apt.log" >&2; die "apt-get download $pkg failed"; }
	local deb
	deb=$(ls "$dl"/*.deb)
	rm -rf "$new"
	mkdir -p "$new/x" "$new/modules"
	local pats=('./boot/vmlinuz-*') m
	for m in $modules; do pats+=("*/$m.ko*"); done
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$new/x" --wildcards "${pats[@]}" ||
		die "$pkg lacks vmlinuz or one of the modules: $modules"
	mv "$new"/x/boot/vmlinuz-* "$new/vmlinuz"
	extract_vmlinux "$new/vmlinuz" "$new/vmlinux" || log "could not unpack vmlinux; booting the compressed kernel"
	for m in $modules; do
		local f
		f=$(find "$new/x" -name "$m.ko*" | head -n1)
		case $f in
		*.ko) mv "$f" "$new/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$f" >"$new/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$new/modules/$m.ko" ;;
		*) die "module $m: unexpected file ${f:-(none)}" ;;
		esac
	done
	rm -rf "$new/x"
	# Check the load order against each module's dependencies (.modinfo).
	local loaded=" "
	for m in $modules; do
		local deps d
		deps=$(tr '\0' '\n' <"$new/modules/$m.ko" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' ')
		for d in $deps; do
			case $loaded in *" $d "*) ;; *) die "module $m needs $d, which is not loaded before it" ;; esac
		done
		loaded="$loaded$m "
	done
	basename "$deb" >"$new/package"
	rm -rf "$kdir"
	mv "$new" "$kdir"
}

# --- test binaries ----------------------------------------------------------

declare -a ran=()    # "name dir pkg" of binaries put into the VM
declare -A expect=() # pkg -> TestVCAN names expected to pass
declare -a notes=()  # packages left out, and why

is_required() {
	local r
	for r in $require; do [ "${r%/}" = "${1%/}" ] && return 0; done
	return 1
}

# mirror copies a file or folder into the VM at its logical absolute path
# (symlinks in the path kept as named, their targets copied), so that
# relative paths from the test binaries resolve there as they do here.
mirror() {
	local abs
	abs=$(realpath -ms "$1")
	if [ ! -e "$abs" ]; then
		notes+=("$1: not found, not copied into the VM")
		return
	fi
	mkdir -p "$root$(dirname "$abs")"
	cp -aL "$abs" "$root$abs"
}

build_tests() {
	local pkg dir tfiles tests name f
	for pkg in $pkgs; do
		if [ ! -d "$pkg" ] || ! compgen -G "$pkg/*.go" >/dev/null; then
			is_required "$pkg" && die "$pkg: required package has no Go files"
			notes+=("$pkg: no such package yet, skipped")
			continue
		fi
		tfiles=$(GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go list -f \
			'{{range .TestGoFiles}}{{$.Dir}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$.Dir}}/{{.}} {{end}}' "$pkg") ||
			die "$pkg: go list failed"
		tests=""
		# shellcheck disable=SC2086 # tfiles is a list
		[ -n "$tfiles" ] && tests=$({ grep -ho '^func TestVCAN[A-Za-z0-9_]*' $tfiles || true; } | sed 's/^func //' | sort -u | tr '\n' ' ')
		if [ -z "$tests" ]; then
			is_required "$pkg" && die "$pkg: expected TestVCAN* tests, found none"
			if [ -z "$tfiles" ]; then
				notes+=("$pkg: no test files, skipped")
			else
				notes+=("$pkg: no TestVCAN* tests, skipped")
			fi
			continue
		fi
		name=$(echo "${pkg#./}" | tr '/.' '__')
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go test -c -ldflags='-s -w' -o "$root/tests/$name.test" "$pkg" ||
			die "$pkg: building the test binary failed (CGO_ENABLED=0 GOOS=linux GOARCH=amd64)"
		dir=$(realpath "$(go list -f '{{.Dir}}' "$pkg")")
		mkdir -p "$root$dir"
		if [ -d "$dir/testdata" ]; then mirror "$dir/testdata"; fi
		echo "$name $dir $pkg" >>"$root/tests/list"
		ran+=("$name $dir $pkg")
		expect[$pkg]=$tests
	done
	[ ${#ran[@]} -gt 0 ] || die "no package with TestVCAN* tests in: $pkgs"
	for f in $files; do mirror "$f"; done
}

write_init() {
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "VMTEST BOOTED kernel $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)s"
ok=1
for m in can can-raw can-dev vcan; do
	insmod /modules/$m.ko || { echo "VMTEST SETUP-FAIL insmod $m"; ok=0; }
done
for i in vcan0 vcan1; do
	{ ip link add dev $i type vcan && ip link set $i up; } || { echo "VMTEST SETUP-FAIL $i"; ok=0; }
done
ip link show vcan0; ip link show vcan1
if [ $ok = 1 ]; then
	while read -r name dir pkg; do
		echo "VMTEST BEGIN $pkg"
		cd "$dir"
		EVEDGE_VCAN=vcan0 EVEDGE_VCAN2=vcan1 /tests/$name.test \
			-test.run '^TestVCAN' -test.v -test.count=1 -test.timeout=240s
		rc=$?
		echo "VMTEST END $pkg"
		if [ $rc = 0 ]; then echo "VMTEST PASS $pkg"; else echo "VMTEST FAIL $pkg (exit $rc)"; fi
	done </tests/list
fi
echo "VMTEST DONE uptime $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
EOF
	chmod +x "$root/init"
}

make_initrd() {
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,tests}
	cp /bin/busybox "$root/bin/busybox"
	cp "$kdir"/modules/*.ko "$root/modules/"
	# The kernel opens /dev/console for /init before devtmpfs is mounted.
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	write_init
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initrd"
}

# --- run and check ------------------------------------------------------------

section() { # the go test output of one package
	awk -v b="VMTEST BEGIN $1" -v e="VMTEST END $1" '$0 == e { p = 0 } p { print } $0 == b { p = 1 }' "$work/console.log"
}

check_console() {
	local fails=() pkg name out t
	local con=$work/console.log
	grep -q 'VMTEST BOOTED' "$con" || fails+=("the VM never reached /init (kernel panic or boot failure)")
	if grep -q 'VMTEST SETUP-FAIL' "$con"; then
		fails+=("VM setup: $(grep -o 'VMTEST SETUP-FAIL.*' "$con" | tr '\n' ';')")
	fi
	for r in "${ran[@]}"; do
		pkg=${r##* }
		out=$(section "$pkg")
		if ! grep -q "^VMTEST PASS $pkg\$" "$con"; then
			if grep -q "^VMTEST FAIL $pkg " "$con"; then
				fails+=("$pkg: $(grep -o "VMTEST FAIL $pkg .*" "$con")")
			else
				fails+=("$pkg: no result line (crash, hang or timeout)")
			fi
		fi
		if grep -q -- '--- SKIP' <<<"$out"; then
			fails+=("$pkg: tests skipped although vcan is there: $(grep -- '--- SKIP' <<<"$out" | tr -s ' ' | tr '\n' ';')")
		fi
		if grep -q 'testing: warning: no tests to run' <<<"$out"; then
			fails+=("$pkg: no TestVCAN test ran")
		fi
		for t in ${expect[$pkg]}; do
			grep -q -- "^--- PASS: $t (" <<<"$out" || fails+=("$pkg: $t did not pass")
		done
	done
	grep -q 'VMTEST DONE' "$con" || fails+=("the VM did not finish (no 'VMTEST DONE')")
	if [ ${#fails[@]} -gt 0 ]; then
		echo "==================== VM console ====================" >&2
		cat "$con" >&2
		echo "====================================================" >&2
		for f in "${fails[@]}"; do log "FAIL: $f"; done
		exit 1
	fi
}

main() {
	local t0 tb tvm rc
	t0=$(now)
	work=$(mktemp -d "${TMPDIR:-/tmp}/vmtest.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	root=$work/root
	mkdir -p "$root/tests"
	: >"$root/tests/list"

	ensure_tools
	if [ "${VMTEST_REFRESH:-0}" = 1 ] || [ ! -f "$kdir/package" ]; then
		fetch_kernel
	fi
	log "kernel: $(cat "$kdir/package") (cache $kdir)"
	log "  (VMTEST_REFRESH=1 fetches the current one)"

	tb=$(now)
	build_tests
	make_initrd
	log "built ${#ran[@]} test binaries and initramfs ($(du -h "$work/initrd" | cut -f1)) in $(since "$tb")"

	local kernel=$kdir/vmlinux
	if [ ! -f "$kernel" ] || [ "${VMTEST_BZIMAGE:-0}" = 1 ]; then kernel=$kdir/vmlinuz; fi
	tvm=$(now)
	set +e
	timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg -m "$mem" -smp "$smp" \
		-nodefaults -nographic -no-reboot -serial stdio -monitor none -nic none \
		-kernel "$kernel" -initrd "$work/initrd" \
		-append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/console.raw" 2>&1
	rc=$?
	set -e
	local vmtime
	vmtime=$(since "$tvm")
	# The serial console has CRLF line ends and escape sequences.
	tr -d '\r' <"$work/console.raw" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g' >"$work/console.log"
	cp "$work/console.log" "$cache/last-console.log" 2>/dev/null || true
	case $rc in
	0) ;;
	124 | 137) log "qemu killed after ${vm_timeout}s (VMTEST_TIMEOUT)" ;;
	*) log "qemu exited with status $rc" ;;
	esac
	if [ "${VMTEST_VERBOSE:-0}" = 1 ]; then
		cat "$work/console.log" >&2
	fi
	for n in "${notes[@]}"; do log "$n"; done
	check_console
	for r in "${ran[@]}"; do
		echo "----- go test ${r##* } (in the VM) -----"
		section "${r##* }"
	done
	grep -o 'VMTEST PASS .*' "$work/console.log"
	log "boot+test in VM: $vmtime ($(grep -o 'VMTEST DONE uptime .*' "$work/console.log" | cut -d' ' -f4) guest uptime); total $(since "$t0")"
}

main "$@"
