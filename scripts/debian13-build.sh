#!/usr/bin/env bash
# debian13-build.sh - build and run the unit and cluster tests on Debian 13
# (trixie: gcc 14, hiredis 1.x, libuv 1.50, raft 0.22) in a chroot made with
# debootstrap from the Debian mirror apt uses. Not part of CI; needs root.
#
#   scripts/debian13-build.sh                 # make the root once, build, test
#   scripts/debian13-build.sh --src DIR       # another checkout / snapshot
#   scripts/debian13-build.sh --root DIR      # where the trixie root lives
#                                             # (default /var/tmp/rsm-trixie)
#   scripts/debian13-build.sh --regex RE      # ctest -R (default unit+cluster;
#                                             # python3 is in the root for the
#                                             # integration tests, e.g.
#                                             # '^integration\.(agent|failover)$')
#
# The sources are copied into the root (git's tracked and untracked,
# not ignored files of --src), built there with the same flags as
# scripts/test.sh (-DRSM_TEST_FAULTS=ON, RelWithDebInfo: -Werror) and tested
# with ctest. /proc, /dev and /dev/pts are mounted into the root for the run
# and unmounted on exit; the chroot shares this host's network (the tests
# use 127.0.0.1 only).
set -euo pipefail
cd "$(dirname "$0")/.."

root=/var/tmp/rsm-trixie
src=$(pwd)
regex='^(unit|cluster)\.'
build_type=RelWithDebInfo
while [ $# -gt 0 ]; do
    case "$1" in
    --root) root=$2; shift ;;
    --src) src=$(cd "$2" && pwd); shift ;;
    --regex) regex=$2; shift ;;
    --build-type) build_type=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "debian13-build: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" -eq 0 ] || { echo "debian13-build: run as root" >&2; exit 2; }
log() { printf '[debian13-build %s] %s\n' "$(date +%T)" "$*" >&2; }

PACKAGES=(build-essential cmake pkg-config libuv1-dev libhiredis-dev
          libraft-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev
          libcmocka-dev libhttp-parser-dev nettle-dev liblz4-dev libssl-dev
          openssl redis-server git
          python3)

if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
fi

debian_mirror() {
    local f u
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
             /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        u=$(awk '/^URIs:/ {print $2} /^deb / {for (i = 2; i <= NF; i++)
                 if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f" |
            grep -v -- '-security' | grep -m1 debian || true)
        [ -n "$u" ] && { echo "$u"; return; }
    done
    echo http://deb.debian.org/debian
}

mounted=()
cleanup() {
    local i
    for (( i = ${#mounted[@]} - 1; i >= 0; i-- )); do
        umount -l "${mounted[$i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT
mount_in() { # TYPE-ARGS... TARGET
    local target=${*: -1}
    mountpoint -q "$target" && return 0
    mount "$@"
    mounted+=("$target")
}

mirror=$(debian_mirror)
if [ ! -f "$root/.rsm-debootstrap-done" ]; then
    log "debootstrap --variant=minbase trixie $root $mirror"
    rm -rf "$root"
    debootstrap --variant=minbase trixie "$root" "$mirror" > "$root.debootstrap.log" 2>&1 \
        || { tail -20 "$root.debootstrap.log" >&2; exit 1; }
    touch "$root/.rsm-debootstrap-done"
fi
grep -q trixie "$root/etc/os-release" || { echo "$root is not trixie" >&2; exit 1; }

mount_in -t proc proc "$root/proc"
mount_in --bind /dev "$root/dev"
mount_in --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# debootstrap writes no /etc/hosts: without it "localhost" does not resolve
# (unit.redis connects to it by name)
[ -s "$root/etc/hosts" ] ||
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' > "$root/etc/hosts"
# a chroot has no init: no service may start on install (redis-server)
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

missing=$(for p in "${PACKAGES[@]}"; do
              chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
                  grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
    log "apt-get install in the root: $(echo $missing)"
    chroot "$root" apt-get update -qq
    # shellcheck disable=SC2086
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing > "$root.apt.log" 2>&1 \
        || { tail -30 "$root.apt.log" >&2; exit 1; }
fi
chroot "$root" dpkg-query -W -f='  ${Package} ${Version}\n' gcc-14 libhiredis-dev \
    libuv1-dev libraft-dev libprotobuf-c-dev libjansson-dev libcmocka-dev \
    libhttp-parser-dev redis-server cmake >&2 2>/dev/null || true

log "copying $src into $root/src"
rm -rf "$root/src" "$root/build"
mkdir -p "$root/src"
(cd "$src" && if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
     git ls-files -co --exclude-standard -z | tar --null -T - -c
 else tar -c --exclude=./build* .; fi) | tar -x -C "$root/src"

log "cmake + build ($build_type, -DRSM_TEST_FAULTS=ON)"
chroot "$root" sh -c "cmake -S /src -B /build -DCMAKE_BUILD_TYPE=$build_type \
    -DRSM_TEST_FAULTS=ON >/build.cmake.log 2>&1 || { cat /build.cmake.log; exit 1; }"
if ! chroot "$root" cmake --build /build -j"$(nproc)" > "$root/build.log" 2>&1; then
    grep -E -B2 -A6 "error|Error" "$root/build.log" | head -80 >&2
    echo "debian13-build: the build failed (log: $root/build.log)" >&2
    exit 1
fi
log "ctest -R '$regex'"
chroot "$root" sh -c "cd /build && ctest --no-tests=error --output-on-failure -j2 -R '$regex'"
