#!/bin/bash
# extract-vmlinux.sh VMLINUZ OUTDIR — the kernel qns boots, from a Debian
# vmlinuz: the uncompressed ELF inside it (as the kernel's extract-vmlinux
# does) when it has a Xen PVH entry note, written as OUTDIR/vmlinux; QEMU
# boots that through the note (-kernel vmlinux), which saves the kernel's own
# decompression (~9 s of virtual time under icount). Otherwise the bzImage
# itself, copied as OUTDIR/vmlinuz, with a warning. Prints the file's name.
set -euo pipefail
[ "$#" -eq 2 ] || { echo "usage: $0 VMLINUZ OUTDIR" >&2; exit 2; }
vmlinuz=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kernel_file=""
while IFS=: read -r off _; do
    # (not a pipe: xz stops reading at the stream's end, which would fail tail)
    tail -c "+$((off + 1))" "$vmlinuz" > "$work/payload.xz"
    if xz -dc --single-stream < "$work/payload.xz" > "$work/vmlinux.raw" 2>/dev/null &&
        [ "$(head -c 4 "$work/vmlinux.raw" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        kernel_file=vmlinux
        break
    fi
done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" || true)

pvh=no
if [ -n "$kernel_file" ]; then
    notes=$(readelf -nW "$work/vmlinux.raw")
    # XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point
    if grep -E '^ *Xen ' <<< "$notes" | grep -E '0x00000012|PHYS32_ENTRY' > /dev/null; then
        pvh=yes
    fi
fi
if [ "$pvh" = yes ]; then
    # The decompressed payload is the ELF followed by the relocation table
    # the decompressor uses for KASLR: keep only the ELF (it ends with its
    # section header table), which is all a PVH boot loads.
    read -r shoff shnum shentsize < <(readelf -hW "$work/vmlinux.raw" | awk '
        /Start of section headers/ { o = $5 }
        /Number of section headers/ { n = $5 }
        /Size of section headers/ { s = $5 }
        END { print o, n, s }')
    head -c "$((shoff + shnum * shentsize))" "$work/vmlinux.raw" > "$out/vmlinux"
    echo vmlinux
else
    echo "extract-vmlinux: warning: no XZ-compressed ELF with a PVH entry note in $vmlinuz;" \
        "shipping the bzImage (slower: it decompresses itself under icount)" >&2
    cp "$vmlinuz" "$out/vmlinuz"
    echo vmlinuz
fi
