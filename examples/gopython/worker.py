"""The Python half of examples/gopython: attach to the Go program's segment
by name, send the array's rows on the channel, and rewrite the array in
place with its running sum."""

import sys

import shmkit

with shmkit.attach(sys.argv[1]) as seg:
    data = seg.array("data")              # a memoryview of Go's float64 array
    rows = seg.channel("rows")
    print("Python sees", len(data), "numbers from Go")
    for i in range(0, len(data), 4):
        rows.send(data[i:i + 4])          # a slice of the memoryview: no list needed
    total = 0.0
    for i in range(len(data)):
        total += data[i]
        data[i] = total                   # Go sees this at once
    rows.end()                            # Go's Recv returns io.EOF once it has read all rows
    data.release()
