#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_unpack (corpus/fuzz_unpack/): a small
package as qns pack lays it out, and archives with each kind of member
qns refuses (a symbolic link, a hard link, a device, a FIFO, '..', an
absolute name, control bytes, a member twice, set-id modes), compressed with
zstd as packages are, and a few plain tar ones. Run it from anywhere; it
needs the zstd program."""
import io
import os
import subprocess
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_unpack")

MANIFEST = b"""{
  "qns_version" : "0.1.0",
  "scenario" : {
    "name" : "tiny",
    "file" : "scenario.ini",
    "base_dir" : ".",
    "sha256" : "eb27322a69d4dfa730f9bdc52e840b4910dc5c5be005379d34219021f0e012b0"
  },
  "seed" : 1,
  "status" : "completed",
  "error" : null,
  "inputs" : {  },
  "guests" : [ { "name" : "a", "console" : "a.console" } ],
  "outputs" : {
    "a.console" : "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
  }
}
"""
SCENARIO = b"[scenario]\nduration = 1ms\n[guest a]\nprogram = qns-fake-guest print:1000:hello\n"


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = info.gid = 1234
    info.linkname = link
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def tar(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def zstd(data):
    return subprocess.run(["zstd", "-q", "-19", "-c"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def package(*extra):
    return [
        entry("tiny/", tarfile.DIRTYPE, mode=0o755),
        entry("tiny/README.txt", data=b"A qns package: qns verify tiny.tar.zst\n"),
        entry("tiny/a.console", data=b"hello\n"),
        entry("tiny/manifest.json", data=MANIFEST),
        entry("tiny/scenario.ini", data=SCENARIO),
        *extra,
    ]


def trimmed(data):
    """The archive without tarfile's padding: its end is two zero blocks."""
    end = len(data.rstrip(b"\0"))
    return data[:(end + 511) // 512 * 512] + bytes(1024)


ARCHIVES = {
    "package": package(),
    "guest": package(
        entry("tiny/guest/", tarfile.DIRTYPE, mode=0o755),
        entry("tiny/guest/GUEST-INFO", data=b"[guest]\nkernel=vmlinux\n"),
        entry("tiny/guest/vmlinux", data=b"\x7fELF", mode=0o755),
        entry("tiny/inputs/disk.img", data=bytes(600))),
    "symlink": package(entry("tiny/passwd", tarfile.SYMTYPE, link="/etc/passwd")),
    "link-then-file": package(
        entry("tiny/up", tarfile.SYMTYPE, link=".."),
        entry("tiny/up/x", data=b"out\n")),
    "hardlink": package(entry("tiny/again", tarfile.LNKTYPE, link="tiny/a.console")),
    "device": package(entry("tiny/null", tarfile.CHRTYPE, mode=0o666)),
    "fifo": package(entry("tiny/pipe", tarfile.FIFOTYPE)),
    "dotdot": package(entry("../x", data=b"out\n")),
    "absolute": package(entry("/tmp/x", data=b"out\n")),
    "control": package(entry("tiny/x\rverify: OK\x1b[K", data=b"x\n")),
    "twice": package(entry("tiny/./a.console", data=b"again\n")),
    "setuid": package(
        entry("tiny/su", data=b"#!/bin/sh\n", mode=0o4755),
        entry("tiny/open/", tarfile.DIRTYPE, mode=0o1777)),
}

SEEDS = {}
for name, members in ARCHIVES.items():
    plain = trimmed(tar(members))
    SEEDS[name + ".tar.zst"] = zstd(plain)
    SEEDS[name + ".tar"] = plain
SEEDS["gnu-long.tar"] = trimmed(tar(package(entry("tiny/" + "d/" * 60 + "f", data=b"deep\n")),
                                    fmt=tarfile.GNU_FORMAT))
SEEDS["ustar.tar"] = trimmed(tar(package(), fmt=tarfile.USTAR_FORMAT))

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
