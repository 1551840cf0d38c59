"""A writer of the reader tests (readers_test.go), in Python through
seg.dict: writer.py SEGMENT DICT ID SEED OPS, as writer.c does, with the
keys of every tag prefixed "p"."""

import random
import sys

import shmkit

KEYS = 4000
M = (1 << 64) - 1


def mix(i, s):
    return (((i * 0x9E3779B97F4A7C15) ^ (s * 0xC2B2AE3D27D4EB4F)) & M) >> 32


def main():
    segname, name, wid, seed, ops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    r = random.Random(seed)
    with shmkit.attach(segname) as seg:
        d = seg.dict(name)
        for n in range(ops):
            i, op, s = r.randrange(KEYS), r.randrange(16), wid * 100000000 + n
            k = "k%d" % i
            if op < 5:
                d[k] = s << 32 | mix(i, s)
            elif op < 8:
                t = s & 0xFFFF
                d[k] = "%04x%04x" % (t, mix(i, t) & 0xFFFF)
            elif op < 13:
                pad = 16384 + s % 100 if s % 97 == 0 else s * 7 % 300
                d[k] = "k%d/%d/" % (i, s) + chr(97 + s % 26) * pad
            else:
                d.pop(k, None)
        print("churned", flush=True)
        sys.stdin.readline()
        for n in range(71):
            d["ps" + "z" * n] = n * 1000 + wid
            d[b"pb" + bytes(j * 7 % 256 for j in range(n))] = "b%d" % n
        for n in (1000, 5000, 100000):
            d["plong" + "q" * n] = n
        for j in range(10):
            d[(wid + 1) * 1000000 + j] = j + 0.5
            d[(wid + 1) * 1000.25 + j] = bytes([wid, j])
        d.close()
    print("done", flush=True)


main()
