"""The two examples run end to end with tiny settings and draw their figures."""
import os
import runpy
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def run_example(name, out):
    pytest.importorskip("matplotlib")
    mod = runpy.run_path(os.path.join(EXAMPLES, name))
    return mod["main"](["--tiny", "--out", str(out)])


def test_rate_example(tmp_path):
    grid, record = run_example("rate_go_nogo.py", tmp_path)
    assert (tmp_path / "go_nogo_lif.png").stat().st_size > 1000
    assert (tmp_path / "go_nogo.h5").exists() and len(grid["perf"]) == 2


def test_barrel_example(tmp_path):
    summary, r = run_example("barrel_raster.py", tmp_path)
    assert (tmp_path / "barrel_raster.png").stat().st_size > 1000
    assert summary["epochs_run"] == 1 and r["raster"].shape[0] == 30
