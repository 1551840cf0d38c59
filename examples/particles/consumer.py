"""The Python side of examples/particles: receives messages of particle
records as numpy structured arrays and reduces them with numpy. The dtype
comes from the segment; nothing here declares the record."""

import sys

import numpy as np

import shmkit


def main(segname):
    with shmkit.attach(segname) as seg:
        ch = seg.channel("particles")
        count, energy, charge = 0, 0.0, 0
        for msg in ch:  # each a numpy structured array, until the producer ends the stream
            v2 = (msg["Vel"].astype(np.float64) ** 2).sum(axis=1)
            count += len(msg)
            energy += float((msg["Mass"] * v2 / 2).sum())
            charge += int(msg["Charge"].sum())
        print("consumer (numpy): %d particles, kinetic energy %.6g, net charge %d" % (count, energy, charge))
        print("record %s from the segment: %s" % (ch.layout.type_name, ", ".join(f.name for f in ch.layout.fields)))


if __name__ == "__main__":
    main(sys.argv[1])
