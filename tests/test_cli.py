"""Tests for the ``qubo-bnn`` command line (qubo_bnn.cli)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import stat
import threading

import dimod
import numpy as np
import pytest

from qubo_bnn import cli
from qubo_bnn import config as C
from qubo_bnn import jobs as J
from qubo_bnn.classifier import BNNClassifier

SMALL = """\
seed = 0
[data]
task = "digits"
classes = [3, 8]
n_train = 16
n_test = 20
[network]
hidden_layers = [2]
[sampler]
name = "neal"
num_reads = 2
num_sweeps = 200
"""
ACC = re.compile(r"^train accuracy: (\d\.\d{3})  test accuracy: (\d\.\d{3})$", re.M)


@pytest.fixture
def small(tmp_path) -> pathlib.Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_train_prints_stages_on_stderr_and_results_on_stdout(small, capsys):
    assert cli.main(["train", "--config", str(small)]) == 0
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    m = ACC.search(out)
    assert m and all(0.0 <= float(v) <= 1.0 for v in m.groups())
    assert re.search(r"build [\d.]+ s, sampling [\d.]+ s, total [\d.]+ s", out)
    assert "[qubo-bnn]" not in out                      # progress goes to stderr
    assert "data loaded: digits, 16 training / 20 test samples, 16 features" in err
    assert re.search(r"QUBO: \d+ variables, \d+ couplings", err)
    assert "sampling with SimulatedAnnealingSampler" in err and "done: fitted in" in err


def test_json_and_dash_outputs(small, tmp_path, capsys):
    assert cli.main(["train", "--config", str(small), "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "qubo-bnn/results" and 0 <= doc["test_accuracy"] <= 1
    assert cli.main(["train", "--config", str(small), "--results-out", "-", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[: out.rindex("}") + 1])["format"] == "qubo-bnn/results"
    assert not (tmp_path / "-").exists() and not pathlib.Path("-").exists()
    assert cli.main(["train", "--config", str(small), "--results-out", "-", "--model-out", "-"]) == 2


def test_outputs_checked_before_work_and_follow_the_umask(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(J, "load_data", lambda cfg: (_ for _ in ()).throw(AssertionError("work started")))
    assert cli.main(["train", "--config", str(small), "--results-out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    monkeypatch.undo()
    old = os.umask(0o022)
    try:
        assert cli.main(["train", "--config", str(small), "--quiet", "--results-out", str(tmp_path / "r.json")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_non_regular_output_is_written_in_place(tmp_path):
    from qubo_bnn.io import atomic_write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    atomic_write_text(fifo, "hello")
    reader.join(5)
    assert got == ["hello"] and stat.S_ISFIFO(os.stat(fifo).st_mode)   # still a pipe, not replaced


def test_train_overrides_and_outputs(small, tmp_path, capsys):
    model, results = tmp_path / "m.json", tmp_path / "r.json"
    rc = cli.main(["train", "--config", str(small), "--sampler", "tabu", "--num-reads", "3",
                   "--n-train", "12", "--classes", "0,1,2", "--hidden", "3", "--margin", "0.5",
                   "--penalty", "9", "--seed", "4", "--refine-sweeps", "5", "--set", "sampler.timeout=5",
                   "--model-out", str(model), "--results-out", str(results), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and ACC.search(out) and "[qubo-bnn]" not in out  # --quiet: no progress lines
    res = json.loads(results.read_text())
    assert res["n_train"] == 12 and res["classes"] == [0, 1, 2]
    assert res["config"]["sampler"] == {"name": "tabu", "num_reads": 3, "timeout": 5}  # file's num_sweeps dropped
    assert res["config"]["network"] == {"hidden_layers": [3]} and res["config"]["seed"] == 4
    assert res["config"]["formulation"]["penalty"] == 9.0 and res["config"]["regularisers"]["margin"] == 0.5
    assert res["config"]["decoding"] == {"refine_sweeps": 5, "committee_size": "auto", "bootstrap": "auto"} and res["fit_info"]["refine_sweeps_run"] <= 5
    assert res["fit_info"]["sampler"] == "TabuSampler" and res["fit_info"]["penalty_A"] == 9.0
    assert res["num_variables"] == res["fit_info"]["num_variables"] > 0
    clf = BNNClassifier.load(model)
    assert clf.classes_.tolist() == [0, 1, 2] and len(clf.network_.outputs) == 3
    assert clf.weights_.shape == (res["n_weights"],)


def test_same_sampler_name_keeps_the_file_parameters(small, tmp_path):
    cfg = cli._config_from_args(cli.build_parser().parse_args(
        ["train", "--config", str(small), "--sampler", "neal", "--num-reads", "5"]),
        {**cli._PROBLEM_OPTIONS, **cli._TRAIN_OPTIONS})
    assert cfg.sampler == {"name": "neal", "num_reads": 5, "num_sweeps": 200}


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as ex:
        cli.main(["train", "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--config", "--sampler", "--num-reads", "--num-sweeps", "--n-train", "--classes",
                "--hidden", "--margin", "--penalty", "--dropout-rounds", "--seed", "--model-out",
                "--results-out", "--set", "--quiet", "--refine-sweeps"):
        assert opt in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    assert "train" in top and "export-bqm" in top and "predict" in top


@pytest.mark.parametrize("args,expected", [
    (["--set", "sampler.name=nonesuch"], "sampler.name (set on the command line): unknown sampler 'nonesuch'"),
    (["--sampler", "nonesuch"], "unknown sampler 'nonesuch'"),
    (["--set", "data.n_train=ten"], "data.n_train (set on the command line): expected an integer"),
    (["--set", "data.bogus=1"], "data.bogus (set on the command line): unknown key"),
    (["--num-sweeps", "10", "--sampler", "tabu"], "sampler.num_sweeps (set on the command line): TabuSampler"),
])
def test_bad_config_exits_2_with_one_line(small, capsys, monkeypatch, args, expected):
    def forbidden(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(J.datasets, "load_digits_task", forbidden)
    monkeypatch.setattr(BNNClassifier, "build_qubo", forbidden)
    assert cli.main(["train", "--config", str(small), *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {small}: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_bad_file_and_bad_data_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\ntask = 'file'\npath = 'missing.csv'\n")
    assert cli.main(["train", "--config", str(bad)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[qubo-bnn]")]
    assert len(err) == 1 and "missing.csv" in err[0] and "does not exist" in err[0]
    assert cli.main(["train", "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
    (tmp_path / "text.csv").write_text("a,b,label\n1,x,0\n0,1,1\n")
    bad.write_text(f"[data]\ntask = 'file'\npath = '{tmp_path / 'text.csv'}'\ntest_fraction = 0.5\n")
    assert cli.main(["train", "--config", str(bad)]) == 2
    assert "non-numeric" in capsys.readouterr().err


def test_missing_credentials_exit_2_without_token(small, tmp_path, monkeypatch, capsys):
    conf = tmp_path / "dwave.conf"
    conf.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(conf))
    for var in ("DWAVE_API_TOKEN", "DWAVE_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["train", "--config", str(small), "--sampler", "qpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {small}: sampler.init") and "no Leap API token" in err
    secret = "DEV-SECRET-abcdef0123"
    assert cli.main(["train", "--config", str(small), "--set", f"sampler.init.token={secret}"]) == 2
    captured = capsys.readouterr()
    assert "token" in captured.err and secret not in captured.err + captured.out


def test_missing_output_directory_fails_before_training(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(BNNClassifier, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    rc = cli.main(["train", "--config", str(small), "--model-out", str(tmp_path / "no" / "m.json")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------ export-bqm


def test_export_bqm_round_trips(small, tmp_path, capsys):
    out = tmp_path / "bqm.json"
    assert cli.main(["export-bqm", "--config", str(small), "--n-train", "10", "--penalty", "4",
                     "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with open(out) as fh:
        loaded = dimod.BinaryQuadraticModel.from_serializable(json.load(fh))
    cfg = C.load_config(small, [("data.n_train", 10), ("formulation.penalty", 4.0)])
    X, _, y, _ = J.load_data(cfg)
    fresh = J.training_bqm(cfg, X, y)
    assert loaded == fresh and loaded.num_variables > 100
    # and independently of training_bqm: the classifier's own build for the same settings
    # (its network for this data; the default margin is "lexicographic": mu from the ladder)
    from qubo_bnn.ladder import lexicographic_margin_weight
    clf = BNNClassifier(hidden_layer_sizes=(2,))
    net, Xb, _, targets = clf.training_problem(X, y)
    assert net.n_inputs == 16 and len(net.outputs) == 1 and np.array_equal(targets[:, 0], y == 8)
    q = clf.build_qubo(net, Xb, targets)
    direct = q.to_bqm(A=4.0, mu=lexicographic_margin_weight(q, 1.0))
    assert loaded == direct


def test_export_bqm_file_format_round_trips(small, tmp_path, capsys):
    out = tmp_path / "train.bqm"
    assert cli.main(["export-bqm", "--config", str(small), "--n-train", "10", "--format", "bqm",
                     "--out", str(out)]) == 0
    assert "dimod BQM file format" in capsys.readouterr().out
    with open(out, "rb") as fh:
        loaded = dimod.BinaryQuadraticModel.from_file(fh)
    cfg = C.load_config(small, [("data.n_train", 10)])
    X, _, y, _ = J.load_data(cfg)
    assert loaded == J.training_bqm(cfg, X, y)


def test_export_leaves_no_partial_file(small, tmp_path, capsys, monkeypatch):
    missing = tmp_path / "nodir" / "bqm.json"
    assert cli.main(["export-bqm", "--config", str(small), "--out", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.parent.exists()

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "bqm.json"

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert cli.main(["export-bqm", "--config", str(small), "--out", str(target)]) == 2
    assert "disk full" in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []  # neither the target nor a temporary file


def test_export_requires_out(capsys):
    with pytest.raises(SystemExit) as ex:
        cli.main(["export-bqm"])
    assert ex.value.code == 2 and "--out" in capsys.readouterr().err


# ------------------------------------------------------------------ predict


def test_predict_with_saved_model(small, tmp_path, capsys):
    model = tmp_path / "m.json"
    assert cli.main(["train", "--config", str(small), "--model-out", str(model), "--quiet"]) == 0
    capsys.readouterr()
    cfg = C.load_config(small)
    _, X_test, _, y_test = J.load_data(cfg)
    data = tmp_path / "test.npz"
    np.savez(data, X=X_test, y=y_test)
    assert cli.main(["predict", "--model", str(model), "--data", str(data), "--print-predictions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = BNNClassifier.load(model).predict(X_test)
    assert [int(v) for v in lines[:-1]] == expected.tolist()
    assert lines[-1] == f"accuracy: {np.mean(expected == y_test):.3f} ({len(y_test)} samples)"
    assert cli.main(["predict", "--model", str(tmp_path / "nope.json"), "--data", str(data)]) == 2
    assert "does not exist" in capsys.readouterr().err
