#!/bin/bash
# build-guest.sh LINK — build qns's default guest image and point LINK at it.
#
# The guest is Debian's own kernel (booted uncompressed through its Xen PVH
# ELF note) and a small uncompressed initramfs: busybox-static, the NIC driver
# modules (virtio-net, e1000), iperf3, ethtool and socat with exactly the
# shared libraries they need, and the recipe's /init (init, beside this
# script). qemu-args.sh, beside it too, says how to boot it; GUEST-INFO in the
# image folder records versions, hashes and the recommended arguments.
#
# The image goes to $(qns_cache_dir)/guest/<key>, where <key> is the SHA-256
# of the exact package versions resolved from the private apt index and of the
# recipe files (this script, init and qemu-args.sh). A key that is already
# built costs two apt-cache look-ups (~2 s) and nothing else. Builds are atomic
# (temporary folder, rename) and serialised with flock. The same inputs give
# byte-identical files.
#
# Environment: QNS_CACHE_DIR (see scripts/private-apt.sh), QNS_APT_MAX_AGE.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 LINK" >&2
    exit 2
fi
link=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../scripts/private-apt.sh
source "$here/../../../scripts/private-apt.sh"
# shellcheck source=image-cache.sh
source "$here/image-cache.sh"

# Kernel meta package, the modules the guest needs (with their dependencies:
# the NICs, the disk of `disk =` as /dev/vda, ext4 to mount it, and the
# crc32c that ext4's metadata checksums ask the crypto API for), and the
# user-space packages whose programs go into the initramfs.
KERNEL_META=linux-image-amd64
MODULES=(virtio_pci virtio_net e1000 virtio_blk ext4 crc32c_generic)
PROGRAMS=(/usr/bin/iperf3 /sbin/ethtool /usr/bin/socat)
USER_PACKAGES=(busybox-static iperf3 ethtool socat)
# Fixed instant for every file in the initramfs (2020-01-01T00:00:00Z).
EPOCH=1577836800

die() { echo "build-guest: error: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg readelf cpio xz depmod modprobe sha256sum flock; do
    command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (install: apt dpkg binutils cpio xz-utils kmod util-linux)"
done

qns_apt_setup

# apt-cache against the private index only, never the host's installed state.
# Two calls in all (each loads the index, ~1 s): the dependency graph, then
# the candidate versions.
aptc() { qns_apt_cache -o Dir::State::status=/dev/null "$@"; }

resolve_packages() {   # sets kernel_pkg and manifest ("PKG=VERSION" lines)
    # "PKG DEP" lines: the first alternative of each Depends/Pre-Depends of the
    # candidate versions of the roots and, recursively, of what they depend on.
    graph=$(aptc depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "$KERNEL_META" "${USER_PACKAGES[@]}" | awk '
        /^[^ ]/ { pkg = $1; alt = 0; next }
        /^ [ |](Pre)?Depends: / {
            first = !alt; alt = ($0 ~ /^ \|/)
            dep = $2
            if (first && dep !~ /^</) print pkg, dep
        }') || die "apt-cache depends failed (is the private apt index set up?)"

    declare -A deps=()
    while read -r p d; do deps[$p]+=" $d"; done <<< "$graph"

    # The kernel image package the meta package currently depends on.
    kernel_pkg=""
    for d in ${deps[$KERNEL_META]:-}; do
        case $d in linux-image-*) kernel_pkg=$d; break ;; esac
    done
    [ -n "$kernel_pkg" ] || die "$KERNEL_META depends on no linux-image package"

    # User-space packages and, transitively, the shared-library packages (lib*)
    # they depend on; other dependencies (debconf, adduser) are not needed.
    queue=("${USER_PACKAGES[@]}")
    declare -A seen=()
    packages=()
    while [ "${#queue[@]}" -gt 0 ]; do
        p=${queue[0]}; queue=("${queue[@]:1}")
        [ -z "${seen[$p]:-}" ] || continue
        seen[$p]=1
        packages+=("$p")
        for d in ${deps[$p]:-}; do
            case $d in lib*) [ -n "${seen[$d]:-}" ] || queue+=("$d") ;; esac
        done
    done

    declare -A version=()
    while read -r p v; do
        version[$p]=$v
    done < <(aptc policy "$KERNEL_META" "$kernel_pkg" "${packages[@]}" | awk '
        /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
        /^  Candidate:/ { print pkg, $2 }')
    for p in "$KERNEL_META" "$kernel_pkg" "${packages[@]}"; do
        case ${version[$p]:-(none)} in
            "(none)") die "no candidate for package $p in the private apt index" ;;
        esac
    done

    manifest=$(
        {
            printf '%s=%s\n' "$KERNEL_META" "${version[$KERNEL_META]}" "$kernel_pkg" "${version[$kernel_pkg]}"
            for p in "${packages[@]}"; do printf '%s=%s\n' "$p" "${version[$p]}"; done
        } | LC_ALL=C sort
    )
}

# Resolving takes two apt-cache calls (~1 s each, more on a busy machine);
# the answer only changes with the index, so it is kept beside the images,
# keyed by the index files' names, sizes and times, the roots and this script.
cache=$(qns_cache_dir)/guest
mkdir -p "$cache"
apt_root=$(qns_apt_root)
fingerprint=$(
    {
        stat -c '%n %s %Y' "$apt_root/sources.list" "$apt_root"/lists/*Packages* 2>/dev/null || true
        echo "$KERNEL_META ${USER_PACKAGES[*]}"
        sha256sum < "$here/build-guest.sh"
    } | sha256sum | cut -d' ' -f1
)
resolved=$cache/.resolved
if [ -f "$resolved" ] && [ "$(head -n 1 "$resolved")" = "fingerprint $fingerprint" ]; then
    kernel_pkg=$(sed -n 's/^kernel //p' "$resolved")
    manifest=$(sed -n '/=/p' "$resolved")
else
    resolve_packages
    {
        echo "fingerprint $fingerprint"
        echo "kernel $kernel_pkg"
        printf '%s\n' "$manifest"
    } > "$resolved.$$"
    mv -f "$resolved.$$" "$resolved"
fi
kernel_release=${kernel_pkg#linux-image-}

key=$(
    {
        printf '%s\n' "$manifest"
        printf 'recipe build-guest.sh %s\n' "$(sha256sum < "$here/build-guest.sh" | cut -d' ' -f1)"
        printf 'recipe init %s\n' "$(sha256sum < "$here/init" | cut -d' ' -f1)"
        printf 'recipe qemu-args.sh %s\n' "$(sha256sum < "$here/qemu-args.sh" | cut -d' ' -f1)"
        printf 'recipe extract-vmlinux.sh %s\n' "$(sha256sum < "$here/extract-vmlinux.sh" | cut -d' ' -f1)"
    } | sha256sum | cut -d' ' -f1
)

out=$cache/$key
make_link() {
    mkdir -p "$(dirname "$link")"
    ln -sfn "$out" "$link.tmp.$$"
    mv -Tf "$link.tmp.$$" "$link"
}
if image_cache_ready "$cache" "$key"; then
    make_link
    exit 0
fi

exec 9>"$cache/.lock"
flock 9
if image_cache_ready "$cache" "$key"; then   # another build finished it while we waited
    make_link
    exit 0
fi
image_cache_clear "$cache" "$key" build-guest

echo "build-guest: building $key" >&2
tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
work=$tmp/work
img=$tmp/out
pkgroot=$work/pkgroot      # every package unpacked
initrd=$work/initrd        # the initramfs tree
mkdir -p "$work/debs" "$pkgroot" "$initrd" "$img"

# --- fetch and unpack ------------------------------------------------------
# every package of the manifest but the kernel's meta package
mapfile -t dl < <(grep -v "^$KERNEL_META=" <<< "$manifest")
(cd "$work/debs" && qns_apt_get download "${dl[@]}" >&2) || die "download failed"
for deb in "$work"/debs/*.deb; do
    dpkg -x "$deb" "$pkgroot"
done

# --- kernel: the uncompressed ELF inside vmlinuz (extract-vmlinux.sh) ---------
vmlinuz=$pkgroot/boot/vmlinuz-$kernel_release
[ -f "$vmlinuz" ] || die "$kernel_pkg has no /boot/vmlinuz-$kernel_release"
kernel_file=$("$here/extract-vmlinux.sh" "$vmlinuz" "$img") || die "cannot take the kernel out of $vmlinuz"

# --- modules, in dependency order --------------------------------------------
moddir=lib/modules/$kernel_release
[ -d "$pkgroot/$moddir" ] || die "$kernel_pkg has no /$moddir"
depmod -b "$pkgroot" "$kernel_release"
# Debian signs its modules; checking a signature (RSA + SHA-256) costs ~30 ms
# of virtual time per module under TCG, ~0.25 s in all. The guest does not
# enforce signatures, so the copies in the initramfs go without them: the code
# is Debian's, byte for byte (the kernel notes an unsigned module as a taint).
strip_signature() {   # strip_signature SRC DST
    local magic='~Module signature appended~' size f sig_len
    size=$(stat -c %s "$1")
    if [ "$(tail -c 28 "$1")" != "$magic" ]; then   # $(...) drops the newline
        cp "$1" "$2"
        return 0
    fi
    # struct module_signature (12 bytes) precedes the magic: algo, hash,
    # id_type, signer_len, key_id_len, pad[3], sig_len (big-endian 32 bit)
    read -r -a f < <(od -An -tu1 -v -j "$((size - 40))" -N 12 "$1")
    sig_len=$(( (f[8] << 24) | (f[9] << 16) | (f[10] << 8) | f[11] ))
    head -c "$(( size - 40 - sig_len - f[3] - f[4] ))" "$1" > "$2"
}
mkdir -p "$initrd/$moddir" "$initrd/etc/qns"
: > "$initrd/etc/qns/modules"
for m in "${MODULES[@]}"; do
    modprobe -d "$pkgroot" -S "$kernel_release" --show-depends "$m" ||
        die "module $m not found in $kernel_pkg"
done | while read -r kind path _; do
    case $kind in
        insmod)
            rel=${path#"$pkgroot"/}
            # CPU-specific crypto (crc32c-intel, pulled in by ext4's soft
            # dependency) refuses to load on QEMU's qemu64 CPU, which has
            # no SSE4.2; the generic module does the work.
            case $rel in */kernel/arch/x86/crypto/*) continue ;; esac
            if ! grep -qxF "/$rel" "$initrd/etc/qns/modules"; then
                mkdir -p "$initrd/$(dirname "$rel")"
                strip_signature "$path" "$initrd/$rel"
                echo "/$rel" >> "$initrd/etc/qns/modules"
            fi ;;
        builtin) ;;
        *) die "unexpected modprobe output: $kind $path" ;;
    esac
done
[ -s "$initrd/etc/qns/modules" ] || die "no module to load (all built in?)"

# --- user space ----------------------------------------------------------------
mkdir -p "$initrd"/{bin,sbin,usr/bin,usr/sbin,proc,sys,run,tmp,root,mnt,var/www,lib/x86_64-linux-gnu,lib64}
cp "$pkgroot/bin/busybox" "$initrd/bin/busybox"
for applet in $("$initrd/bin/busybox" --list-full); do
    [ -e "$initrd/$applet" ] || [ -L "$initrd/$applet" ] || ln -s /bin/busybox "$initrd/$applet"
done

libdirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib)
find_lib() {   # find_lib SONAME -> path in pkgroot
    local d
    for d in "${libdirs[@]}"; do
        if [ -e "$pkgroot/$d/$1" ]; then printf '%s\n' "$pkgroot/$d/$1"; return 0; fi
    done
    return 1
}
needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'; }

declare -A have=()
elfs=()
for prog in "${PROGRAMS[@]}"; do
    [ -f "$pkgroot$prog" ] || die "$prog not found in the unpacked packages"
    cp -L "$pkgroot$prog" "$initrd$prog"
    elfs+=("$initrd$prog")
    interp=$(readelf -lW "$pkgroot$prog" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
    if [ -n "$interp" ] && [ ! -e "$initrd$interp" ]; then
        # The loader itself is in lib/x86_64-linux-gnu (libc.so.6 needs it
        # there too); the interpreter path is a symlink to it, as in Debian.
        so=$(basename "$interp")
        real=$(find_lib "$so") || die "no dynamic loader $interp"
        cp -L "$real" "$initrd/lib/x86_64-linux-gnu/$so"
        have[$so]=1
        elfs+=("$initrd/lib/x86_64-linux-gnu/$so")
        mkdir -p "$initrd$(dirname "$interp")"
        [ "$interp" = "/lib/x86_64-linux-gnu/$so" ] || ln -s "/lib/x86_64-linux-gnu/$so" "$initrd$interp"
    fi
done
while [ "${#elfs[@]}" -gt 0 ]; do
    e=${elfs[0]}; elfs=("${elfs[@]:1}")
    for so in $(needed "$e"); do
        [ -z "${have[$so]:-}" ] || continue
        src=$(find_lib "$so") || die "shared library $so (needed by ${e#"$initrd"}) is in no unpacked package"
        cp -L "$src" "$initrd/lib/x86_64-linux-gnu/$so"
        have[$so]=1
        elfs+=("$initrd/lib/x86_64-linux-gnu/$so")
    done
done

install -m 0755 "$here/init" "$initrd/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$initrd/etc/passwd"
printf 'root:x:0:\n' > "$initrd/etc/group"
printf '127.0.0.1\tlocalhost\n' > "$initrd/etc/hosts"
printf '<html><body>qns guest</body></html>\n' > "$initrd/var/www/index.html"
printf '%s\n' "$kernel_release" > "$initrd/etc/qns/kernel-release"

# --- initramfs: reproducible cpio, uncompressed ----------------------------------
# Uncompressed on purpose: QEMU loads it as it is, and the kernel copies it
# into its rootfs; unpacking a zstd archive instead costs ~0.45 s of virtual
# time (and its wall-clock equivalent) under TCG for ~10 MB saved on disk.
# Modes do not depend on the umask or the packages' modes: directories 0755
# (/tmp 1777), executables 0755, other files 0644; every mtime is EPOCH,
# owner 0:0, inode numbers renumbered (--reproducible), names sorted.
find "$initrd" -type d -exec chmod 0755 {} +
find "$initrd" -type f -exec chmod 0644 {} +
chmod 1777 "$initrd/tmp"
chmod 0755 "$initrd/init" "$initrd/bin/busybox" "$initrd/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
for prog in "${PROGRAMS[@]}"; do chmod 0755 "$initrd$prog"; done
find "$initrd" -exec touch -h -d "@$EPOCH" {} +

# /dev/console must exist before /init runs (the kernel opens it for init's
# stdio); a device node needs no root when written as a cpio header directly.
newc() {   # newc NAME MODE(octal) NLINK RDEVMAJOR RDEVMINOR: one empty entry
    local name=$1
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 "$((8#$2))" 0 0 "$3" "$EPOCH" 0 0 0 "$4" "$5" "$((${#name} + 1))" 0
    printf '%s\0' "$name"
    # header (110 bytes) + name + NUL, padded to a multiple of 4
    local pad=$(( (4 - (110 + ${#name} + 1) % 4) % 4 ))
    [ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}
{
    newc dev 040755 2 0 0
    newc dev/console 020600 1 5 1
    newc 'TRAILER!!!' 0 1 0 0
    (cd "$initrd" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio -o -H newc --reproducible -R 0:0 --quiet)
} > "$img/initramfs.cpio"

# --- GUEST-INFO ------------------------------------------------------------------
sha() { sha256sum < "$1" | cut -d' ' -f1; }
cmdline=$("$here/qemu-args.sh" --cmdline)
{
    echo "# qns default guest — generated by build-guest.sh; GKeyFile (INI) format."
    echo "[guest]"
    echo "key=$key"
    echo "kernel=$kernel_file"
    echo "kernel_release=$kernel_release"
    echo "kernel_boot=$( [ "$kernel_file" = vmlinux ] && echo pvh || echo bzimage )"
    echo "kernel_sha256=$(sha "$img/$kernel_file")"
    echo "kernel_size=$(stat -c %s "$img/$kernel_file")"
    echo "initrd=initramfs.cpio"
    echo "initrd_sha256=$(sha "$img/initramfs.cpio")"
    echo "initrd_size=$(stat -c %s "$img/initramfs.cpio")"
    echo "initrd_unpacked_size=$(du -sb --apparent-size "$initrd" | cut -f1)"
    echo "modules=$(tr '\n' ' ' < "$initrd/etc/qns/modules" | sed 's/ $//')"
    echo "# Kernel command line: append the qns.* parameters (see README.md)."
    echo "cmdline=$cmdline"
    echo "# Booted with qns.boot=snapshot, its init waits for its configuration disk"
    echo "# (serial qns-config): qns restores it from a snapshot (boot = snapshot)."
    echo "snapshot=yes"
    echo "# QEMU arguments, kernel and initrd relative to this folder; add -icount/-rtc"
    echo "# (or -qqq) and one -netdev/-device pair per NIC (nic_e1000, nic_virtio)."
    echo "qemu_args=$("$here/qemu-args.sh" --base "$kernel_file" initramfs.cpio | tr '\n' ' ' | sed 's/ $//')"
    echo "nic_e1000=$("$here/qemu-args.sh" --nic e1000 ID MAC)"
    echo "nic_virtio=$("$here/qemu-args.sh" --nic virtio ID MAC)"
    echo
    echo "[packages]"
    printf '%s\n' "$manifest"
} > "$img/GUEST-INFO"
(cd "$img" && sha256sum "$kernel_file" initramfs.cpio > SHA256SUMS)

chmod 0755 "$img"
image_cache_publish "$cache" "$key" "$img" || die "cannot move the image to $out"
make_link
echo "build-guest: $out" >&2
