"""``qubo-bnn predict`` (labelled or unlabelled data, files or stdin) and ``qubo-bnn export``.

The model is set by hand (no sampling), and every prediction is checked against a plain numpy
forward pass (tests/oracles.py), not against the classifier's own ``predict``.
"""
from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest
from oracles import forward_numpy

from qubo_bnn import cli
from qubo_bnn import jobs as J
from qubo_bnn.classifier import BNNClassifier
from qubo_bnn.network import Network

# a 4-2-1 network: two hidden neurons read every input (+ bias), the output reads both (+ bias)
NEURONS = [([0, 1, 2, 3], True), ([0, 1, 2, 3], True), ([4, 5], True)]
WEIGHTS = np.array([1, -1, 1, 1, -1, 1, 1, -1, 1, -1, 1, 1, 1], dtype=np.int8)
CLASSES = [3, 8]
ALL_ROWS = np.array([[(i >> k) & 1 for k in range(4)] for i in range(16)], dtype=np.uint8)


def oracle(X) -> list[int]:
    """Class of each row: classes[1] where the output's pre-activation is >= 0."""
    z = forward_numpy(4, NEURONS, np.asarray(X), WEIGHTS)[:, -1]
    return [CLASSES[int(v >= 0)] for v in z]


@pytest.fixture
def model(tmp_path):
    clf = BNNClassifier(Network(4).dense(2).dense(1))
    clf.network_, clf.classes_, clf.n_features_in_ = clf.network, np.array(CLASSES), 4
    clf.weights_ = WEIGHTS.copy()
    path = tmp_path / "model.json"
    clf.save(path)
    return path


def csv_text(X, y=None, header=True) -> str:
    lines = ["a,b,c,d" + ("" if y is None else ",label")] if header else []
    for i, row in enumerate(np.asarray(X)):
        lines.append(",".join(str(int(v)) for v in row) + ("" if y is None else f",{y[i]}"))
    return "\n".join(lines) + "\n"


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_oracle_separates_both_classes():
    assert set(oracle(ALL_ROWS)) == set(CLASSES)   # so the predictions below can be wrong


# ------------------------------------------------------------------ predict


def test_unlabelled_csv_prints_one_prediction_per_line(model, tmp_path, capsys):
    data = tmp_path / "x.csv"
    data.write_text(csv_text(ALL_ROWS))               # 4 columns = the model's features: unlabelled
    assert cli.main(["predict", "--model", str(model), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert [int(v) for v in out.splitlines()] == oracle(ALL_ROWS)   # no accuracy line


def test_labelled_csv_reports_accuracy(model, tmp_path, capsys):
    truth = oracle(ALL_ROWS)
    labels = [t if i % 3 else CLASSES[t == CLASSES[0]] for i, t in enumerate(truth)]   # every 3rd wrong
    data = tmp_path / "xy.csv"
    data.write_text(csv_text(ALL_ROWS, labels, header=False))
    assert cli.main(["predict", "--model", str(model), "--data", str(data), "--print-predictions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(v) for v in lines[:-1]] == truth
    expected = np.mean(np.array(truth) == np.array(labels))
    assert 0 < expected < 1 and lines[-1] == f"accuracy: {expected:.3f} (16 samples)"


def test_stdin_json_is_one_document(model, capsys, monkeypatch):
    labels = oracle(ALL_ROWS)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(csv_text(ALL_ROWS, labels).encode())))
    assert cli.main(["predict", "--model", str(model), "--data", "-", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)        # the whole of stdout is one document
    assert doc["format"] == J.PREDICTIONS_FORMAT and doc["labelled"] is True
    assert doc["predictions"] == labels and doc["accuracy"] == 1.0 and doc["n_correct"] == 16
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(csv_text(ALL_ROWS[:3]).encode())))
    assert cli.main(["predict", "--model", str(model), "--data", "-", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["labelled"] is False and doc["predictions"] == oracle(ALL_ROWS[:3]) and "accuracy" not in doc


def test_one_row_and_one_class_files_are_accepted(model, tmp_path, capsys):
    row = ALL_ROWS[5:6]
    wrong = CLASSES[oracle(row)[0] == CLASSES[0]]
    (tmp_path / "one.csv").write_text(csv_text(row, [wrong]))
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "one.csv")]) == 0
    assert capsys.readouterr().out == "accuracy: 0.000 (1 samples)\n"
    same = [CLASSES[0]] * 16                           # one class only: nothing is fitted, fine
    (tmp_path / "same.csv").write_text(csv_text(ALL_ROWS, same))
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "same.csv")]) == 0
    expected = np.mean(np.array(oracle(ALL_ROWS)) == CLASSES[0])
    assert capsys.readouterr().out == f"accuracy: {expected:.3f} (16 samples)\n"


def test_npz_with_and_without_y(model, tmp_path, capsys):
    np.savez(tmp_path / "x.npz", X=ALL_ROWS)
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "x.npz")]) == 0
    assert [int(v) for v in capsys.readouterr().out.split()] == oracle(ALL_ROWS)
    np.savez(tmp_path / "xy.npz", X=ALL_ROWS, y=np.array(oracle(ALL_ROWS)))
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "xy.npz")]) == 0
    assert capsys.readouterr().out == "accuracy: 1.000 (16 samples)\n"


def test_labels_outside_the_classes_count_as_errors(model, tmp_path, capsys):
    (tmp_path / "s.csv").write_text(csv_text(ALL_ROWS[:2], ["cat", "dog"]))
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "s.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "accuracy: 0.000 (2 samples)\n"
    assert "['cat', 'dog'] are none of the model's classes" in captured.err


@pytest.mark.parametrize("text,message", [
    ("1,0,1\n0,1,1\n", "3 columns; the model takes 4 features: give 4 columns (unlabelled) or 5"),
    ("1,0,1,1,3,8\n", "6 columns"),
    ("1,0,1,1\n1,0,1\n", "data row 2 has 3 columns, the first has 4"),
    ("1,0,1,1\n1,0,x,1\n", "non-numeric feature value"),
    ("a,b,c,d\n", "no data rows"),
    ("1,0,2,1\n", "binary"),
    ("1,0,1,1,3\n0,0,0,0,nan\n", "the label of data row 2 is nan; labels must be finite"),
])
def test_bad_prediction_data_is_one_line(model, tmp_path, capsys, text, message):
    data = tmp_path / "bad.csv"
    data.write_text(text)
    assert cli.main(["predict", "--model", str(model), "--data", str(data)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in one_error_line(captured.err)


def test_oversized_input_refused_before_parsing(model, tmp_path, capsys, monkeypatch):
    data = tmp_path / "big.csv"
    data.write_text(csv_text(ALL_ROWS))
    monkeypatch.setattr(J, "MAX_PREDICTION_BYTES", 64)
    monkeypatch.setattr(J, "_csv_columns", lambda *a: pytest.fail("parsed anyway"))
    assert cli.main(["predict", "--model", str(model), "--data", str(data)]) == 2
    assert "more than 0 MiB of data" in one_error_line(capsys.readouterr().err)
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "x.txt")]) == 2
    assert "unsupported data format '.txt'" in one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------ export

def test_export_npz_file_and_stdout_predict_like_the_oracle(model, tmp_path, capsysbinary):
    from qubo_bnn import predictor

    out = tmp_path / "m.npz"
    assert cli.main(["export", "--model", str(model), "--format", "npz", "--out", str(out)]) == 0
    assert predictor.load(out).predict(ALL_ROWS).tolist() == oracle(ALL_ROWS)
    assert capsysbinary.readouterr().out == f"wrote {out} (npz)\n".encode()
    assert cli.main(["export", "--model", str(model), "--format", "npz", "--out", "-"]) == 0
    assert capsysbinary.readouterr().out == out.read_bytes()     # the bytes, nothing else


def test_export_npz_refuses_a_terminal(model, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["export", "--model", str(model), "--format", "npz"]) == 2
    assert "--out FILE" in one_error_line(capsys.readouterr().err)


def test_export_c_header_and_summary(model, tmp_path, capsys):
    from qubo_bnn import deploy

    header = tmp_path / "model.h"
    assert cli.main(["export", "--model", str(model), "--format", "c", "--out", str(header)]) == 0
    capsys.readouterr()
    text = header.read_text()
    assert text == deploy.c_header(BNNClassifier.load(model)) and text.startswith("/* qubo-bnn model")
    assert cli.main(["export", "--model", str(model), "--format", "c", "--out", "-"]) == 0
    assert capsys.readouterr().out == text
    assert cli.main(["export", "--model", str(model), "--format", "summary"]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[1:3] == ["3", "13"]         # 3 neurons, 2 x (4 + 1) + (2 + 1) = 13 weights


def test_export_errors_are_one_line(model, tmp_path, capsys):
    assert cli.main(["export", "--model", str(tmp_path / "nope.json"), "--format", "c"]) == 2
    assert "does not exist" in one_error_line(capsys.readouterr().err)
    missing_dir = tmp_path / "no" / "m.h"
    assert cli.main(["export", "--model", str(model), "--format", "c", "--out", str(missing_dir)]) == 2
    assert "does not exist" in one_error_line(capsys.readouterr().err) and not missing_dir.parent.exists()
    with pytest.raises(SystemExit) as ex:
        cli.main(["export", "--model", str(model), "--format", "onnx"])
    assert ex.value.code == 2 and "invalid choice" in one_error_line(capsys.readouterr().err)
