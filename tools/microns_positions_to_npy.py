#!/usr/bin/env python3
"""Convert a MICrONS positions file (a pickled NumPy object array of N int64[3] triples, as
published in positions_<sess>_<scan>_<field>.npy) to a plain (N, 3) int64 NPY that the C++
loader reads without pickle.

Usage: microns_positions_to_npy.py IN.npy [OUT.npy]
OUT defaults to positions_<name>_plain.npy beside IN (the name models/microns/field.cpp
looks for first). Needs only numpy. Loading a pickle runs code from the file: convert only
files you trust (the published data set).
"""
import os
import sys

import numpy as np


def fail(msg):
    sys.stderr.write("microns_positions_to_npy: " + msg + "\n")
    sys.exit(1)


def alias_numpy_core():
    """Pickles written by numpy >= 2 name the module numpy._core; older numpy has numpy.core."""
    try:
        import numpy._core  # noqa: F401
    except ImportError:
        import numpy.core
        import numpy.core.multiarray
        sys.modules["numpy._core"] = numpy.core
        sys.modules["numpy._core.multiarray"] = numpy.core.multiarray


def convert(src, dst):
    alias_numpy_core()
    try:
        arr = np.load(src, allow_pickle=True)
    except Exception as e:  # unreadable, not an NPY, truncated
        fail(f"{src}: cannot read as NPY ({e})")
    try:
        rows = arr.tolist() if arr.dtype == object else arr
        pos = np.array(rows)
    except Exception as e:
        fail(f"{src}: cannot turn the array into rows ({e})")
    if pos.ndim != 2 or pos.shape[1] != 3:
        fail(f"{src}: expected N triples, got shape {pos.shape}")
    if not np.issubdtype(pos.dtype, np.integer):
        if not np.all(np.isfinite(pos)) or np.any(pos != np.round(pos)):
            fail(f"{src}: positions are not integers (dtype {pos.dtype})")
    pos = pos.astype(np.int64)
    tmp = dst + ".tmp-%d" % os.getpid()
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(pos), allow_pickle=False)
    os.replace(tmp, dst)  # atomic: no half-written OUT
    print(f"{dst}: {pos.shape[0]} x 3 int64")


def main(argv):
    if len(argv) not in (2, 3):
        fail("usage: microns_positions_to_npy.py IN.npy [OUT.npy]")
    src = argv[1]
    if not os.path.isfile(src):
        fail(f"{src}: no such file")
    if len(argv) == 3:
        dst = argv[2]
    else:
        base = os.path.basename(src)
        if not base.endswith(".npy"):
            fail(f"{src}: expected a .npy file name (or give OUT)")
        dst = os.path.join(os.path.dirname(src), base[:-4] + "_plain.npy")
    convert(src, dst)


if __name__ == "__main__":
    main(sys.argv)
