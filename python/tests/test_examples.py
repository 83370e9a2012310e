"""The examples run end to end with tiny settings and draw their figures."""
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


def test_microns_example(tmp_path):
    from conftest import SHARED_DATA
    if not os.path.exists(os.path.join(SHARED_DATA, "microns", "6_6_2", "sttc_matrix.npy")):
        pytest.skip(f"MICrONS field 6_6_2 not found under {SHARED_DATA}/microns")
    table, runs = run_example("microns_variants.py", tmp_path)
    assert (tmp_path / "microns_variants.png").stat().st_size > 1000
    assert table["variant"] == ["W*D*C", "WD"] and len(table["modularity"]) == 2
    assert all(len(r["epochs"]["loss"]) == 2 for r in runs.values())


def test_rstdp_example(tmp_path):
    data = "/usr/share/datasets/fashion-mnist"
    if not os.path.exists(os.path.join(data, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"Fashion-MNIST not found under {data} (Debian's dataset-fashion-mnist)")
    result, state = run_example("rstdp_fashion.py", tmp_path)
    assert (tmp_path / "rstdp_fashion.png").stat().st_size > 1000
    assert result["n"] == 30 and result["correct"] == state.best_test
