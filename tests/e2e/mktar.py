#!/usr/bin/env python3
"""mktar.py — hostile and large tar images for reuse.sh, written header by
header (tarfile would refuse to write most of them).

  mktar.py pax-wrap OUT      a pax header whose second record's length
                             wraps the offset around 2^64 back to 0
  mktar.py reverse N OUT     N empty files in one folder, names in
                             reverse order
  mktar.py sorted N OUT      the same names in order
  mktar.py dotdot OUT        members named ../escape.txt, a/../b.txt and
                             ./ok.txt
"""
import sys


def header(name, size=0, typeflag=b"0"):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b"        "
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def member(name, data=b"", typeflag=b"0"):
    pad = (512 - len(data) % 512) % 512
    return header(name, len(data), typeflag) + data + b"\0" * pad


def end():
    return b"\0" * 1024


def main():
    kind, out = sys.argv[1], sys.argv[-1]
    if kind == "pax-wrap":
        records = b"20 path=aaaaaaaaaaa\n" + b"18446744073709551596 path=x\n"
        body = member(b"pax", records, b"x") + member(b"file.txt", b"hello\n") + end()
    elif kind in ("reverse", "sorted"):
        n = int(sys.argv[2])
        order = range(n - 1, -1, -1) if kind == "reverse" else range(n)
        body = b"".join(header(b"d/f%07d" % i) for i in order) + end()
    elif kind == "dotdot":
        body = (member(b"../escape.txt", b"escaped\n") + member(b"a/../b.txt", b"b\n") +
                member(b"./ok.txt", b"ok\n") + end())
    else:
        sys.exit("mktar.py: unknown kind " + kind)
    with open(out, "wb") as f:
        f.write(body)


main()
