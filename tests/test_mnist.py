"""qubo_bnn.mnist: idx files written here byte by byte (the independent oracle is the idx format
itself: a big-endian header packed with ``struct``), k-shot splits, pixel binarisation, and the
few-shot benchmark's command-line errors."""
from __future__ import annotations

import gzip
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

from qubo_bnn.mnist import (MAX_IDX_BYTES, TEST_FILES, binarise_pixels, fewshot_indices, fewshot_split,
                            load_mnist_test, read_idx, write_idx)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    """An idx file packed by hand: ``>I`` magic, one ``>I`` per dimension, the bytes."""
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload


def put(path, data: bytes, gz: bool = False) -> str:
    with open(path, "wb") as fh:
        fh.write(gzip.compress(data) if gz else data)
    return str(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_reads_hand_packed_files(tmp_path, gz):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    p_img = put(tmp_path / "img", idx_bytes(2051, (5, 3, 4), images.tobytes()), gz)
    p_lab = put(tmp_path / "lab", idx_bytes(2049, (5,), labels.tobytes()), gz)
    got = read_idx(p_img)
    assert got.dtype == np.uint8 and got.shape == (5, 3, 4) and np.array_equal(got, images)
    assert read_idx(p_lab).tolist() == [3, 1, 4, 1, 5]
    got[0, 0, 0] ^= 1                                   # the result owns writable memory


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_idx_round_trip_and_format(tmp_path, suffix):
    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)
    path = tmp_path / ("images" + suffix)
    write_idx(path, images)
    raw = path.read_bytes()
    if suffix:
        raw = gzip.decompress(raw)
    assert raw == idx_bytes(2051, (2, 28, 28), images.tobytes())
    assert np.array_equal(read_idx(path), images)
    with pytest.raises(ValueError, match="uint8 arrays of 1 or 3"):
        write_idx(tmp_path / "bad", np.zeros((2, 2), dtype=np.uint8))


def test_load_mnist_test_plain_and_gz(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    put(tmp_path / (TEST_FILES[0] + ".gz"), idx_bytes(2051, (7, 28, 28), images.tobytes()), gz=True)
    put(tmp_path / TEST_FILES[1], idx_bytes(2049, (7,), labels.tobytes()))
    X, y = load_mnist_test(tmp_path)
    assert X.shape == (7, 784) and X.dtype == np.uint8
    assert np.array_equal(X, images.reshape(7, -1)) and y.tolist() == labels.tolist()


def one_line_error(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg
    return msg


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data, pattern", [
    (idx_bytes(2050, (2,), b"ab"), "magic number 2050"),
    (idx_bytes(2051, (2, 2, 2), b"\0" * 8)[:4] + b"\0\0", "header ends"),
    (idx_bytes(2051, (2, 2, 2), b"\0" * 5), "truncated"),
    (idx_bytes(2049, (2,), b"\0" * 3), "extra data|after the 2 bytes"),
    (idx_bytes(2049, (0,), b""), "empty dimension"),
    (b"\0\0", "only 2 bytes"),
])
def test_read_idx_bad_files_give_one_line_errors(tmp_path, gz, data, pattern):
    path = put(tmp_path / "f", data, gz)
    with pytest.raises(ValueError, match=pattern) as exc_info:
        read_idx(path)
    one_line_error(exc_info)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_refuses_oversized_headers_before_allocating(tmp_path, gz):
    # 60000 x 28 x 28 claimed, 10 bytes present: refused from the header alone
    path = put(tmp_path / "f", idx_bytes(2051, (60000, 28, 28), b"\0" * 10), gz)
    with pytest.raises(ValueError, match="truncated|can hold") as exc_info:
        read_idx(path)
    one_line_error(exc_info)
    huge = put(tmp_path / "g", idx_bytes(2051, (65535, 65535, 65535), b""), gz)   # 2.8e14 bytes
    with pytest.raises(ValueError, match=f"limit of {MAX_IDX_BYTES}") as exc_info:
        read_idx(huge)
    one_line_error(exc_info)


def test_read_idx_damaged_gzip_and_missing_file(tmp_path):
    good = gzip.compress(idx_bytes(2049, (100,), bytes(range(100))))
    path = put(tmp_path / "cut.gz", good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated or damaged gzip") as exc_info:
        read_idx(path)
    one_line_error(exc_info)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_idx(tmp_path / "nope")


def test_load_mnist_test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist_test(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist_test(tmp_path)
    put(tmp_path / TEST_FILES[0], idx_bytes(2051, (2, 28, 28), b"\0" * (2 * 784)))
    put(tmp_path / TEST_FILES[1], idx_bytes(2049, (3,), b"\0\1\2"))
    with pytest.raises(ValueError, match="2 images but .* 3 labels"):
        load_mnist_test(tmp_path)
    put(tmp_path / TEST_FILES[1], idx_bytes(2049, (2,), b"\0\x0c"))
    with pytest.raises(ValueError, match="label 12"):
        load_mnist_test(tmp_path)
    put(tmp_path / TEST_FILES[0], idx_bytes(2051, (2, 4, 4), b"\0" * 32))
    with pytest.raises(ValueError, match="28x28"):
        load_mnist_test(tmp_path)


def test_fewshot_instances_are_disjoint_with_k_per_class():
    y = np.repeat(np.arange(4), [7, 9, 8, 10])          # unequal classes, not shuffled
    X = np.arange(len(y))[:, None]                      # row i identifies sample i
    k = 2
    seen: set[int] = set()
    for instance in range(3):                            # the smallest class (7) allows 3 instances of 2
        Xk, yk = fewshot_split(X, y, k, instance, seed=5)
        ids = Xk[:, 0].tolist()
        assert np.array_equal(y[ids], yk)                # rows and labels stay together
        assert np.bincount(yk, minlength=4).tolist() == [k] * 4
        assert len(set(ids)) == len(ids) and not seen & set(ids)
        seen |= set(ids)
    assert np.array_equal(fewshot_indices(y, k, 1, seed=5), fewshot_indices(y, k, 1, seed=5))
    # a fixed per-class shuffle: instance i of k=2 is the union of instances 2i, 2i+1 of k=1
    for i in range(3):
        pair = set(fewshot_indices(y, 1, 2 * i, seed=5)) | set(fewshot_indices(y, 1, 2 * i + 1, seed=5))
        assert pair == set(fewshot_indices(y, 2, i, seed=5).tolist())
    assert not np.array_equal(fewshot_indices(y, k, 0, seed=5), fewshot_indices(y, k, 0, seed=6))


def test_fewshot_errors():
    y = np.repeat([0, 1], [5, 3])
    X = np.zeros((8, 2))
    with pytest.raises(ValueError, match="class 1 has 3 images; instance 1 with k=2 needs 4") as exc_info:
        fewshot_split(X, y, 2, 1)
    one_line_error(exc_info)
    for bad in ({"k": 0, "instance": 0}, {"k": 1, "instance": -1}, {"k": 1.5, "instance": 0}):
        with pytest.raises(ValueError, match="must be an integer"):
            fewshot_split(X, y, **bad)
    with pytest.raises(ValueError, match="one row per label"):
        fewshot_split(X[:3], y, 1, 0)


def test_binarise_pixels():
    X = np.array([[0, 127, 128, 255], [200, 50, 128, 1]], dtype=np.uint8)
    assert binarise_pixels(X).tolist() == [[0, 0, 1, 1], [1, 0, 1, 0]]
    assert binarise_pixels(X, threshold=1).tolist() == [[0, 1, 1, 1], [1, 1, 1, 1]]
    assert binarise_pixels(X).dtype == np.uint8
    with pytest.raises(TypeError, match="numeric"):
        binarise_pixels(np.array([["a"]]))
    with pytest.raises(ValueError, match="finite"):
        binarise_pixels(X, threshold=float("nan"))


SCRIPT = os.path.join(ROOT, "benchmarks", "fewshot_mnist.py")


def test_benchmark_without_mnist_dir_exits_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    proc = subprocess.run([sys.executable, SCRIPT, "--quick", "--out-prefix", str(tmp_path / "fewshot")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and "--mnist-dir" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, pattern", [
    (("--mnist-dir", "{missing}"), "does not exist"),
    (("--mnist-dir", "{tmp}", "--k", "0"), "--k"),
    (("--mnist-dir", "{tmp}", "--k", "1,x"), "--k"),
    (("--mnist-dir", "{tmp}", "--instances", "0"), "--instances"),
    (("--mnist-dir", "{tmp}", "--rungs", "nope"), "unknown rung 'nope'"),
    (("--mnist-dir", "{tmp}", "--param", "no_such_parameter=1"), "no_such_parameter"),
    (("--mnist-dir", "{tmp}", "--param", "margin=-1"), "margin"),
    (("--mnist-dir", "{tmp}", "--nets", "784-3-10"), "unknown net"),
    (("--mnist-dir", "{tmp}", "--no-such-option"), "unrecognized arguments"),
    (("--mnist-dir", "{tmp}", "--out-prefix", "{missing}/x"), "--out-prefix"),
    (("--mnist-dir", "{tmp}", "--quick"), "t10k-images-idx3-ubyte"),       # the folder has no idx files
    (("--heldout", "7", "--quick"), "--heldout must divide 500"),         # no --mnist-dir needed with it
])
def test_benchmark_bad_arguments_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, pattern):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    bench = load_benchmark()
    args = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in args]
    assert bench.main([*args, "--out-prefix", str(tmp_path / "fewshot")] if "--out-prefix" not in args
                      else args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), lines[0]
    assert list(tmp_path.iterdir()) == []


def load_benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fewshot_mnist_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_all_good_matches_a_plain_numpy_forward_pass():
    from sklearn.linear_model import LogisticRegression

    from qubo_bnn.baselines import STEClassifier

    bench = load_benchmark()
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (40, 6))
    y = rng.integers(0, 4, 40)
    clf = STEClassifier(hidden_layer_sizes=(), epochs=1, random_state=0).fit(X, y)
    net = clf.network_
    n_out = len(net.outputs)
    for trial in range(5):
        clf.weights_ = rng.choice(np.array([-1, 1], dtype=np.int8), net.n_weights)
        if trial == 4:           # every output fires on every sample: no sample is all-good
            clf.weights_ = np.ones(net.n_weights, dtype=np.int8)
        S = 2 * X - 1
        Z = np.empty((len(X), n_out))
        for c, o in enumerate(net.outputs):            # dense 6 -> 4: inputs in order, bias last
            assert list(net.sources(o)) == list(range(6)) and net.has_bias(o)
            w = clf.weights_[net.edge_slices()[o]].astype(float)
            Z[:, c] = S @ w[:6] + w[6]
        fires = Z >= 0                                   # sign(0) = +1
        expected = np.mean([fires[i, y[i]] and fires[i].sum() == 1 for i in range(len(y))])
        assert bench.all_good_accuracy(clf, X, y) == pytest.approx(expected)
    assert expected == 0.0
    committee = clf.weights_.copy()
    clf.members_ = np.stack([committee, -committee])   # a committee is judged by its best network
    assert bench.all_good_accuracy(clf, X, y) == 0.0
    for trial in range(5):                             # ... or by its members' majority (odd: no ties)
        members = rng.choice(np.array([-1, 1], dtype=np.int8), (3, net.n_weights))
        clf.weights_, clf.members_ = members[0], members
        fires = np.zeros((len(X), n_out), dtype=int)
        for w in members.astype(float):
            fires += np.stack([S @ w[net.edge_slices()[o]][:6] + w[net.edge_slices()[o]][6] >= 0
                               for o in net.outputs], axis=1)
        voted = fires >= 2
        expected = np.mean([voted[i, y[i]] and voted[i].sum() == 1 for i in range(len(y))])
        assert bench.all_good_accuracy(clf, X, y, vote=True) == pytest.approx(expected)
    del clf.members_
    assert bench.all_good_accuracy(LogisticRegression().fit(X, y), X, y) is None   # no per-class outputs


def test_benchmark_param_values_and_published_lookup():
    bench = load_benchmark()
    assert bench.parse_value('sampler_params={"num_reads": 2, "num_sweeps": 20}') == \
        ("sampler_params", {"num_reads": 2, "num_sweeps": 20})
    assert bench.parse_value("margin=0.1") == ("margin", 0.1)
    assert bench.parse_value("margin_neurons=output") == ("margin_neurons", "output")
    assert bench.parse_value("hidden_layer_sizes=[4, 2]") == ("hidden_layer_sizes", [4, 2])
    with pytest.raises(bench.UsageError, match="KEY=VALUE"):
        bench.parse_value("margin")
    assert "61.7" in bench.published_for("784-10", 10) and bench.published_for("784-10", 3) == ""


def _raises(message):
    raise ValueError(message)


def _sleeps(seconds):
    import time

    time.sleep(seconds)
    return {"slept": seconds}


def test_benchmark_child_process_reports_results_errors_and_kills():
    import argparse

    bench = load_benchmark()
    args = argparse.Namespace(max_rss_gb=None, fit_timeout=None)
    ok = bench.in_child(_sleeps, (0,), args)
    assert ok["slept"] == 0 and ok["peak_rss_mib"] >= ok["base_rss_mib"] > 0
    assert bench.in_child(_raises, ("bad\nvalue",), args) == {"error": "ValueError: bad value"}
    args.fit_timeout = 0.2
    assert "--fit-timeout" in bench.in_child(_sleeps, (30,), args)["error"]
    args.fit_timeout, args.max_rss_gb = None, 1e-6
    assert "--max-rss-gb" in bench.in_child(_sleeps, (30,), args)["error"]


def test_benchmark_summary_and_tables_from_records(tmp_path):
    import argparse

    bench = load_benchmark()
    base = {"net": "784-10", "k": 10, "all_good": None, "train_acc": 1.0, "seconds": 2.0, "peak_rss_mib": 100.0}
    records = [
        {**base, "instance": 0, "method": "default", "test_acc": 0.5, "all_good": 0.2},
        {**base, "instance": 1, "method": "default", "test_acc": 0.7, "all_good": 0.4},
        {**base, "instance": 2, "method": "default", "error": "killed: still running after --fit-timeout 1 s"},
        {**base, "instance": 0, "method": "logreg", "test_acc": 0.8},
        {"net": "784-10", "k": 1, "instance": 0, "method": "cv-selected", "skipped": "no CV at k=1"},
    ]
    rows = bench.summarise(records)
    assert [(r["k"], r["method"]) for r in rows] == [(10, "default"), (10, "logreg")]
    default, logreg = rows
    assert default["n"] == 2 and default["failed"] == 1 and default["errors"] == [records[2]["error"]]
    assert default["test_acc"] == pytest.approx((0.6, np.std([0.5, 0.7], ddof=1)))
    assert logreg["test_acc"] == (0.8, None) and logreg["all_good"] is None
    args = argparse.Namespace(out_prefix=str(tmp_path / "fs"), cv=False, heldout=None, k=[10], instances=3, nets=["784-10"],
                              rungs=["default"], extra_params={}, baselines=["logreg"], ste_params={},
                              cv_folds=5, quick=False, max_rss_gb=None, fit_timeout=None)
    doc = {"command": "python benchmarks/fewshot_mnist.py ...", "versions": {"python": "3"},
           "settings": bench.settings(args), "records": records}
    md, _ = bench.write_outputs(doc, args, 12.0)
    assert "| 10 | default | 60.0 ± 14.1 | 30.0 ± 14.1 | n/a | 100.0 ± 0.0 |" in md and "(+1 failed)" in md
    assert "| 10 | logreg | 80.0 | n/a | n/a |" in md and "61.7 %" in md
    saved = __import__("json").loads((tmp_path / "fs.json").read_text())
    assert saved["records"][2]["error"].startswith("killed") and (tmp_path / "fs.md").read_text() == md
