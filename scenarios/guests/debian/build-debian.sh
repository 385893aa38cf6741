#!/bin/bash
# build-debian.sh — build a Debian bookworm guest image with systemd, for qns.
#
#   build-debian.sh [--package PKG]... [--file SRC:DST]... [--size MB] [LINK]
#
# A real distribution, from Debian's packages only: debootstrap's minbase,
# systemd as init, udev, Debian's kernel with a small initramfs
# (initramfs-tools with just the modules a virtio disk needs), the packages
# the user names (--package, e.g. curl python3) and the user's own files and
# folders (--file SRC:DST, copied to DST in the root file system), and the
# qns guest agent (qns-agent and qns-agent.service, beside this script): a
# systemd unit that reads the qns.* kernel parameters the default guest reads,
# configures NICs, routes and services, runs the scenario's command and
# powers off. So `guest_image = KEY` in a scenario drives it exactly like the
# default guest.
#
# The image goes to $(qns_cache_dir)/guest/<key>: vmlinux (the kernel,
# uncompressed, booted through its PVH entry: default/extract-vmlinux.sh), initrd.img,
# disk.img (raw ext4, the root file system, booted as /dev/vda with
# snapshot=on so runs never change it), GUEST-INFO (how to boot it, hashes,
# the package versions installed) and SHA256SUMS. <key> is the SHA-256 of the
# candidate versions of the requested packages and everything they depend on
# (from the private apt index), of the files given, of --size and of this
# recipe: a key that is built costs a few apt-cache look-ups. It prints the
# image folder; LINK, if given, becomes a symlink to it.
#
# Environment: QNS_CACHE_DIR (see scripts/private-apt.sh), QNS_APT_MAX_AGE.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../scripts/private-apt.sh
source "$here/../../../scripts/private-apt.sh"
# shellcheck source=../default/image-cache.sh
source "$here/../default/image-cache.sh"

SUITE=bookworm
# What every image has: init, device manager, the agent's tools, the kernel.
BASE_PACKAGES=(systemd systemd-sysv udev kmod iproute2 ethtool initramfs-tools linux-image-amd64)
# debootstrap's minbase set (Priority: required, and apt), for the key.
MINBASE=(base-files base-passwd bash coreutils dash debianutils diffutils dpkg findutils grep
    gzip hostname init-system-helpers libc-bin login mawk ncurses-base ncurses-bin perl-base sed
    sysvinit-utils tar util-linux apt)
# The initramfs only has to find and mount the root: virtio-blk and ext4.
INITRD_MODULES=(virtio_pci virtio_blk ext4 crc32c_generic)
# The kernel command line (GUEST-INFO's cmdline; qns appends its qns.* words):
#  console=ttyS0     the console is the first serial port, which qns records
#  root=/dev/vda ro  the disk (virtio-blk); systemd remounts it read-write
#  net.ifnames=0     NICs are eth0, eth1, ... in the order of their -device
#  panic=-1          a kernel panic reboots at once, which -no-reboot ends
CMDLINE="console=ttyS0,115200 root=/dev/vda ro net.ifnames=0 panic=-1"
EPOCH=1577836800

die() { echo "build-debian: error: $*" >&2; exit 1; }
usage() { sed -n '4,5p' "$0" | sed 's/^# *//' >&2; exit 2; }

user_packages=()
files=()
size_extra=256
link=""
while [ "$#" -gt 0 ]; do
    case $1 in
        -p | --package)
            [ "$#" -ge 2 ] || usage
            for p in ${2//,/ }; do
                [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "'$p' is not a Debian package name"
                user_packages+=("$p")
            done
            shift 2 ;;
        -f | --file)
            [ "$#" -ge 2 ] || usage
            src=${2%%:*}; dst=${2#*:}
            [ "$src" != "$2" ] && [ -n "$src" ] || die "--file '$2' is not SRC:DST"
            [ -e "$src" ] || die "--file '$2': no file or folder '$src'"
            case $dst in
                /*) ;;
                *) die "--file '$2': the destination '$dst' is not an absolute path" ;;
            esac
            case /$dst/ in */../*) die "--file '$2': the destination has a '..'" ;; esac
            files+=("$(realpath "$src"):$dst")
            shift 2 ;;
        -s | --size)
            [ "$#" -ge 2 ] || usage
            [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -le 65536 ] || die "--size '$2' is not a number of MiB"
            size_extra=$2
            shift 2 ;;
        -h | --help) usage ;;
        -*) die "unknown option '$1'" ;;
        *)
            [ -z "$link" ] || usage
            link=$1
            shift ;;
    esac
done
mapfile -t user_packages < <(printf '%s\n' "${user_packages[@]}" | LC_ALL=C sort -u | sed '/^$/d')

for tool in apt-cache debootstrap mkfs.ext4 debugfs chroot mount umount sha256sum flock realpath readelf xz; do
    command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (install: apt debootstrap e2fsprogs coreutils util-linux binutils xz-utils)"
done
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

qns_apt_setup
aptc() { qns_apt_cache -o Dir::State::status=/dev/null "$@"; }

# --- the key -------------------------------------------------------------------
roots=("${MINBASE[@]}" "${BASE_PACKAGES[@]}" "${user_packages[@]}")
for p in "${user_packages[@]}"; do
    aptc show "$p" > /dev/null 2>&1 || die "no package '$p' in Debian $SUITE"
done
closure=$(aptc depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${roots[@]}" | grep -v '^ ' | grep -v '^<' | LC_ALL=C sort -u) ||
    die "apt-cache depends failed (is the private apt index set up?)"
# shellcheck disable=SC2086
versions=$(aptc policy $closure | awk '
    /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
    /^  Candidate:/ && $2 != "(none)" { print pkg "=" $2 }' | LC_ALL=C sort)
files_digest() {
    local f src dst
    for f in "${files[@]}"; do
        src=${f%%:*}; dst=${f#*:}
        echo "file $dst"
        (cd "$src" 2>/dev/null && find . -printf '%P %y %m\n' -type f -exec sha256sum {} + |
            LC_ALL=C sort) || { stat -c '%a' "$src"; sha256sum < "$src"; }
    done
}
key=$(
    {
        echo "suite $SUITE"
        printf 'root %s\n' "${roots[@]}"
        printf '%s\n' "$versions"
        files_digest
        echo "size $size_extra"
        for r in debian/build-debian.sh debian/qns-agent debian/qns-agent.service \
            default/extract-vmlinux.sh default/qemu-args.sh; do
            printf 'recipe %s %s\n' "$r" "$(sha256sum < "$here/../$r" | cut -d' ' -f1)"
        done
    } | sha256sum | cut -d' ' -f1
)

cache=$(qns_cache_dir)/guest
mkdir -p "$cache"
out=$cache/$key
done_() {
    if [ -n "$link" ]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$out" "$link.tmp.$$"
        mv -Tf "$link.tmp.$$" "$link"
    fi
    echo "$out"
    exit 0
}
image_cache_ready "$cache" "$key" && done_

exec 9>"$cache/.lock-debian"
flock 9
image_cache_ready "$cache" "$key" && done_
image_cache_clear "$cache" "$key" build-debian

echo "build-debian: building $key (${user_packages[*]:-no extra packages})" >&2
start=$(date +%s)
tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
root=$tmp/root
img=$tmp/out
mkdir -p "$root" "$img"
unmount_all() {
    local m
    for m in dev/pts dev proc sys; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
    done
    return 0
}
cleanup() {
    unmount_all
    # Never past a mount point that is still there.
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

mirror=$(qns_debian_mirror)
debs=$(qns_cache_dir)/debian/debs
mkdir -p "$debs"
include=$(IFS=,; echo "systemd,systemd-sysv,udev,kmod,iproute2,ethtool")
debootstrap --variant=minbase --include="$include" --cache-dir="$debs" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$root" "$mirror" > "$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }

# The rest from inside, with the updates and security fixes the key counted.
qns_debian_sources "$SUITE" > "$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=zstd\n' > "$root/etc/initramfs-tools/conf.d/qns.conf"
printf '%s\n' "${INITRD_MODULES[@]}" >> "$root/etc/initramfs-tools/modules"
# SOURCE_DATE_EPOCH: initramfs-tools (and what else honours it) writes
# fixed times, so the same inputs give the same initramfs.
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C SOURCE_DATE_EPOCH=$EPOCH "$@"; }
{
    in_root apt-get -q update &&
        in_root apt-get -q -y --no-install-recommends dist-upgrade &&
        in_root apt-get -q -y --no-install-recommends install \
            "${BASE_PACKAGES[@]}" "${user_packages[@]}"
} > "$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log" >&2; die "installing packages failed"; }
installed=$(in_root dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort)
in_root apt-get -q clean > /dev/null
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"
unmount_all

# --- configuration ---------------------------------------------------------------
# Fixed identity: the same image boots the same way every time.
printf '%s\n' "${key:0:32}" > "$root/etc/machine-id"
echo qns > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n' > "$root/etc/hosts"
printf '# the root is /dev/vda (see GUEST-INFO)\n/dev/vda / ext4 rw,noatime 0 1\n' > "$root/etc/fstab"
: > "$root/etc/resolv.conf"
install -D -m 0755 "$here/qns-agent" "$root/usr/lib/qns/qns-agent"
install -D -m 0644 "$here/qns-agent.service" "$root/etc/systemd/system/qns-agent.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sfn /etc/systemd/system/qns-agent.service \
    "$root/etc/systemd/system/multi-user.target.wants/qns-agent.service"
# The console is the agent's: no login prompt on it.
for u in serial-getty@ttyS0.service getty@tty1.service; do
    ln -sfn /dev/null "$root/etc/systemd/system/$u"
done
for f in "${files[@]}"; do
    src=${f%%:*}; dst=${f#*:}
    mkdir -p "$root$(dirname "$dst")"
    cp -a --no-preserve=ownership "$src" "$root$dst"
done

# What a build leaves that says when it ran: logs, caches of the package
# tools, backup copies; then every time is EPOCH.
rm -rf "$root"/var/log/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
    "$root"/var/cache/ldconfig/aux-cache "$root"/etc/*- "$root"/var/lib/systemd/catalog/database
sed -i -E "s/^([^:]*:[^:]*:)[0-9]+:/\1$((EPOCH / 86400)):/" "$root/etc/shadow"   # last change: EPOCH's day
find "$root" -xdev -exec touch -h -d "@$EPOCH" {} +

# --- kernel, initramfs, disk ---------------------------------------------------------
kernel_release=$(sed -n 's/^linux-image-\([0-9].*-amd64\)=.*/\1/p' <<< "$installed" | head -n 1)
[ -n "$kernel_release" ] || die "no kernel was installed"
kernel_file=$("$here/../default/extract-vmlinux.sh" "$root/boot/vmlinuz-$kernel_release" "$img") ||
    die "cannot take the kernel out of vmlinuz-$kernel_release"
cp "$root/boot/initrd.img-$kernel_release" "$img/initrd.img"
used_mb=$(du -sm --apparent-size "$root" | cut -f1)
size_mb=$(( used_mb + used_mb / 4 + size_extra ))
uuid=$(printf '%s' "$key" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
E2FSPROGS_FAKE_TIME=$EPOCH mkfs.ext4 -q -F -L qns-root -U "$uuid" \
    -E "root_owner=0:0,hash_seed=$uuid" -d "$root" "$img/disk.img" "${size_mb}M" >&2 ||
    die "mkfs.ext4 failed"
# mke2fs copies each file's ctime, which nothing can set but the clock of the
# build, and the atimes the build's own reads of the tree left (nanoseconds
# included): set them to EPOCH in the image, so the same inputs give the
# same disk (debugfs's own write time is EPOCH too).
(cd "$root" && find . -xdev -mindepth 1 -printf '%P\n') | LC_ALL=C sort > "$tmp/paths"
! grep -q '"' "$tmp/paths" || die "a file name in the root file system has a '\"'"
{ echo; cat "$tmp/paths"; } | while IFS= read -r p; do
    for f in "ctime @$EPOCH" "ctime_extra 0" "atime @$EPOCH" "atime_extra 0"; do
        printf 'sif "/%s" %s\n' "$p" "$f"
    done
done > "$tmp/times"
E2FSPROGS_FAKE_TIME=$EPOCH debugfs -w -f "$tmp/times" "$img/disk.img" > "$tmp/debugfs.log" 2>&1 ||
    die "debugfs failed"
! grep -q '^sif: ' "$tmp/debugfs.log" || die "debugfs: $(grep -m1 '^sif: ' "$tmp/debugfs.log")"

# --- GUEST-INFO --------------------------------------------------------------------
sha() { sha256sum < "$1" | cut -d' ' -f1; }
{
    echo "# qns Debian guest — generated by build-debian.sh; GKeyFile (INI) format."
    echo "[guest]"
    echo "key=$key"
    echo "kind=debian"
    echo "agent=qns-agent"
    echo "kernel=$kernel_file"
    echo "kernel_release=$kernel_release"
    echo "kernel_boot=$( [ "$kernel_file" = vmlinux ] && echo pvh || echo bzimage )"
    echo "kernel_sha256=$(sha "$img/$kernel_file")"
    echo "kernel_size=$(stat -c %s "$img/$kernel_file")"
    echo "initrd=initrd.img"
    echo "initrd_sha256=$(sha "$img/initrd.img")"
    echo "initrd_size=$(stat -c %s "$img/initrd.img")"
    echo "disk=disk.img"
    echo "disk_sha256=$(sha "$img/disk.img")"
    echo "disk_size=$(stat -c %s "$img/disk.img")"
    echo "packages_requested=${user_packages[*]}"
    echo "# Kernel command line: append the qns.* parameters (see README.md)."
    echo "cmdline=$CMDLINE"
    echo "# Booted with qns.boot=snapshot, its init waits for its configuration disk"
    echo "# (serial qns-config): qns restores it from a snapshot (boot = snapshot)."
    echo "snapshot=yes"
    echo "# QEMU arguments, kernel and initrd relative to this folder; the disk is"
    echo "# attached as -drive file=disk.img,if=virtio,format=raw,snapshot=on."
    echo "qemu_args=$("$here/../default/qemu-args.sh" --base "$kernel_file" initrd.img | sed 's/^256M$/512M/' |
        tr '\n' ' ' | sed 's/ $//')"
    echo "nic_e1000=$("$here/../default/qemu-args.sh" --nic e1000 ID MAC)"
    echo "nic_virtio=$("$here/../default/qemu-args.sh" --nic virtio ID MAC)"
    echo
    echo "[packages]"
    printf '%s\n' "$installed"
} > "$img/GUEST-INFO"
(cd "$img" && sha256sum "$kernel_file" initrd.img disk.img > SHA256SUMS)
chmod 0755 "$img"
image_cache_publish "$cache" "$key" "$img" || die "cannot move the image to $out"
echo "build-debian: $out ($(( $(date +%s) - start )) s)" >&2
done_
