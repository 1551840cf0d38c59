"""The Python half of examples/resultstable: attach to the Go service's
segment by name, read its results table, print a report, mark each row
reviewed and leave a summary for the service."""

import sys

import shmkit


def field(row, name):
    """A record's field: numpy structured scalars are indexed, ctypes
    structures have attributes."""
    return row[name] if hasattr(row, "dtype") else getattr(row, name)


def set_field(row, name, value):
    if hasattr(row, "dtype"):
        row[name] = value
    else:
        setattr(row, name, value)


with shmkit.attach(sys.argv[1]) as seg, seg.dict("results") as table, seg.dict("summary") as summary:
    rows = dict(table.items())                # one snapshot of the whole table
    done = sum(field(r, "Status") == b"d" for r in rows.values())
    print("Python reads %d results: %d done" % (len(rows), done))
    for key in sorted(rows):
        r = rows[key]
        print("  %s: primes below %d: %d" % (key, field(r, "Limit"), field(r, "Primes")))
        set_field(r, "Status", b"r")
        table[key] = r                        # each row written back whole, atomically
    summary["reviewed"] = len(rows)
    summary["largest"] = max(rows, key=lambda k: field(rows[k], "Primes"))
    summary["total_primes"] = int(sum(field(r, "Primes") for r in rows.values()))
