"""The command line's contract: stdout carries one thing (a `-` output is exactly one document),
bad input is one ``error:`` line with exit status 2 before any work, and ``--help`` /
``--version`` start without the heavy libraries."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import dimod
import pytest

from qubo_bnn import cli
from qubo_bnn import jobs as J
from qubo_bnn.classifier import BNNClassifier

TINY = """\
[data]
task = "bars_and_stripes"
size = 2
[network]
hidden_layers = [1]
[sampler]
name = "neal"
num_reads = 2
num_sweeps = 50
"""
HEAVY = ("numpy", "dimod", "sklearn", "numba", "pyqubo")


@pytest.fixture
def tiny(tmp_path) -> pathlib.Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Loading data or building a QUBO fails the test."""
    def forbidden(*a, **k):
        raise AssertionError("work started")

    for name in ("load_digits_task", "bars_and_stripes", "load_dataset"):
        monkeypatch.setattr(J.datasets, name, forbidden)
    monkeypatch.setattr(BNNClassifier, "build_qubo", forbidden)


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------ a `-` output is one document


def test_export_bqm_to_stdout_is_only_the_bqm(tiny, capsys):
    assert cli.main(["export-bqm", "--config", str(tiny), "--out", "-"]) == 0
    captured = capsys.readouterr()
    bqm = dimod.BinaryQuadraticModel.from_serializable(json.loads(captured.out))
    assert bqm.num_variables > 0 and captured.err.startswith("wrote -: ")


def test_train_results_to_stdout_is_only_the_results(tiny, capsys):
    assert cli.main(["train", "--config", str(tiny), "--results-out", "-"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["format"] == J.RESULTS_FORMAT and "train accuracy:" in captured.err
    assert cli.main(["train", "--config", str(tiny), "--results-out", "-", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == J.RESULTS_FORMAT   # printed once


def test_train_model_to_stdout_is_only_the_model(tiny, tmp_path, capsys):
    assert cli.main(["train", "--config", str(tiny), "--model-out", "-"]) == 0
    captured = capsys.readouterr()
    path = tmp_path / "m.json"
    path.write_text(captured.out)
    clf = BNNClassifier.load(path)                     # the whole of stdout is a readable model
    assert clf.classes_.tolist() == [0, 1] and "test accuracy:" in captured.err


def test_json_and_model_to_stdout_conflict_before_work(tiny, capsys, no_work):
    assert cli.main(["train", "--config", str(tiny), "--model-out", "-", "--json"]) == 2
    assert "--json and --model-out -" in one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------ bad values, one line, before work


@pytest.mark.parametrize("setting,reason", [
    ("sampler.num_reads=abc", "expected an integer >= 1, got 'abc'"),
    ("sampler.num_reads=0", "must be >= 1"),
    ("sampler.num_sweeps=2.5", "expected an integer"),
    ("sampler.seed=-1", "must be >= 0"),
    ("sampler.seed=4294967295", "must be < 2**32 - 1"),
    ("sampler.seed=true", "expected an integer"),
    ("sampler.beta_range=[1]", "two inverse temperatures"),
    ("sampler.beta_range=[0, 1]", "geometric schedule needs betas > 0"),
    ("sampler.beta_range=[1, nan]", "finite"),
    ("sampler.beta_schedule_type=cubic", "'geometric', 'linear', 'custom'"),
    ("sampler.timeout=-1", "must be >= 0"),
    ("sampler.time_limit=0", "must be > 0"),
    ("sampler.num_restarts=many", "expected an integer"),
])
def test_bad_sampler_values_refused_before_work(tiny, capsys, no_work, setting, reason):
    key = setting.partition("=")[0]
    assert cli.main(["train", "--config", str(tiny), "--set", setting]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{key} (set on the command line): " in line and reason in line
    assert cli.main(["export-bqm", "--config", str(tiny), "--set", setting, "--out", "-"]) == 2
    assert reason in one_error_line(capsys.readouterr().err)


def test_good_sampler_values_pass_through_unchanged(tiny):
    from qubo_bnn.config import load_config

    cfg = load_config(tiny, [("sampler.beta_range", [0, 2]), ("sampler.beta_schedule_type", "linear"),
                             ("sampler.seed", 4294967294), ("sampler.timeout", 5)])
    assert cfg.sampler["beta_range"] == [0, 2] and type(cfg.sampler["timeout"]) is int


@pytest.mark.parametrize("text", [
    "a = " + "[" * 3000 + "]" * 3000,                  # tomllib recursion
    "[sampler]\nname = 'neal'\nx = " + "{a = " * 3000 + "1" + "}" * 3000,
    ".".join(["a"] * 3000) + " = 1\n",                  # dotted keys: deep tables, no recursion in tomllib
], ids=["arrays", "inline-tables", "dotted-keys"])
def test_deeply_nested_run_file_is_one_line(tmp_path, capsys, no_work, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    assert cli.main(["train", "--config", str(path)]) == 2
    assert "nested" in one_error_line(capsys.readouterr().err)


def test_deeply_nested_set_value_is_one_line(tiny, capsys, no_work):
    with pytest.raises(SystemExit) as ex:
        cli.main(["train", "--config", str(tiny), "--set", "x=" + "[" * 3000 + "]" * 3000])
    assert ex.value.code == 2 and "nested too deeply" in one_error_line(capsys.readouterr().err)
    assert cli.main(["train", "--config", str(tiny), "--set", "sampler.x=" + "[" * 40 + "]" * 40]) == 2
    assert "nests more than" in one_error_line(capsys.readouterr().err)


def test_oversized_run_file_is_one_line(tmp_path, capsys, no_work):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (1 << 20) + "\n")
    assert cli.main(["train", "--config", str(path)]) == 2
    assert "larger than 1048576 bytes" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("exc,words", [(MemoryError(), "out of memory"),
                                       (OverflowError("int too large"), "a number is too large")])
def test_memory_and_overflow_errors_are_one_line(tiny, capsys, monkeypatch, exc, words):
    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(J, "train", boom)
    assert cli.main(["train", "--config", str(tiny)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert words in line and "reduce the training set (data.n_train)" in line


def test_argument_errors_are_one_line(capsys):
    for argv in (["train", "--num-reads", "abc"], ["train", "--set", "noequals"], [], ["nonesuch"]):
        with pytest.raises(SystemExit) as ex:
            cli.main(argv)
        assert ex.value.code == 2
        one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------ fast start

_PROBE = """
import json, sys
from qubo_bnn.cli import main     # what the console script imports
for argv in ({argvs}):
    try:
        main(argv)
    except SystemExit:
        pass
import qubo_bnn
lazy_ok = "BNNClassifier" in dir(qubo_bnn) and not hasattr(qubo_bnn, "nonesuch")
sys.stderr.write(json.dumps({{"heavy": [m for m in {heavy!r} if m in sys.modules], "lazy_ok": lazy_ok}}))
"""


def test_help_and_version_import_nothing_heavy():
    argvs = [["--help"], ["--version"], ["train", "--help"], ["export-bqm", "--help"],
             ["predict", "--help"], ["export", "--help"]]
    probe = _PROBE.format(argvs=", ".join(map(repr, argvs)), heavy=HEAVY)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stderr) == {"heavy": [], "lazy_ok": True}
    assert "usage: qubo-bnn" in run.stdout and "qubo-bnn 0.1.0" in run.stdout
    assert "one more column is the label" in " ".join(run.stdout.split())   # predict --help: the rule


def test_package_names_are_loaded_on_first_use():
    probe = ("import sys, qubo_bnn; before = 'numpy' in sys.modules; from qubo_bnn import BNNClassifier; "
             "import qubo_bnn.classifier as c; print(before, BNNClassifier is c.BNNClassifier, 'numpy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["False", "True", "True"], run.stderr
