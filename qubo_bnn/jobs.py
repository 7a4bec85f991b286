"""The jobs a run file describes: resolve its sampler, load its data, build its estimator or
training BQM, train and report, export the BQM; and reading the data a saved model predicts
(:func:`read_prediction_data`). :mod:`qubo_bnn.config` is the schema (what a run file may say),
:mod:`qubo_bnn.cli` the command line; this module does the work.

Example:
    >>> from qubo_bnn.config import config_from_dict
    >>> cfg = config_from_dict({"data": {"task": "bars_and_stripes", "size": 2},
    ...                         "network": {"hidden_layers": [1]},
    ...                         "sampler": {"name": "neal", "num_reads": 4, "num_sweeps": 200}})
    >>> X_train, X_test, y_train, y_test = load_data(cfg)
    >>> clf = estimator_from_config(cfg).fit(X_train, y_train)
    >>> clf.predict(X_test).shape
    (4,)
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import dimod
import numpy as np

from . import datasets
from . import samplers as _samplers
from .classifier import BNNClassifier
from .config import RunConfig
from .io import atomic_write_bytes, atomic_write_text, check_output_path, to_jsonable

__all__ = ["resolve_sampler", "load_data", "estimator_from_config", "training_bqm", "train", "export_bqm",
           "read_prediction_data", "predict", "RESULTS_FORMAT", "PREDICTIONS_FORMAT", "MAX_PREDICTION_BYTES"]

RESULTS_FORMAT = "qubo-bnn/results"
PREDICTIONS_FORMAT = "qubo-bnn/predictions"

MAX_PREDICTION_BYTES = 64 << 20
"""Largest data file (or standard input; for ``.npz``, its arrays unpacked) that
:func:`read_prediction_data` reads: 64 MiB, checked before anything is parsed."""


def resolve_sampler(cfg: RunConfig) -> tuple[dimod.Sampler, dict[str, Any] | None]:
    """Construct the configured sampler and check its ``sample()`` parameters, before any data work.

    A ``[sampler]`` table with only a name (and ``init``) gives ``None`` for the parameters: the
    classifier's default budget (``DEFAULT_SAMPLE_PARAMS``, or ``DEFAULT_BAG_PARAMS`` when it
    bags; :class:`~qubo_bnn.classifier.BNNClassifier`, ``sampler_params``).

    Raises:
        ConfigError: unknown sampler, missing package, Leap credential problems
            (:class:`~qubo_bnn.samplers.LeapCredentialsError`, no token is ever shown),
            or a parameter the sampler does not accept.
    """
    spec = _samplers.split_sampler_config(cfg.sampler)
    try:
        sampler = _samplers.make_sampler(spec.name, **spec.init_params)
    except (_samplers.LeapCredentialsError, _samplers.SamplerInitError) as exc:
        raise cfg.error("sampler.init", str(exc)) from None
    except TypeError as exc:   # a constructor refusing a keyword: the init table, if any
        raise cfg.error("sampler.init" if spec.init_params else "sampler.name", str(exc)) from None
    except (ValueError, ImportError) as exc:
        raise cfg.error("sampler.name", str(exc)) from None
    if not spec.sample_params:
        return sampler, None
    accepted = _samplers.accepted_parameters(sampler)
    params = dict(spec.sample_params)
    for key in params:
        if key not in accepted:
            raise cfg.error(f"sampler.{key}",
                            f"{type(sampler).__name__} ({spec.name!r}) does not accept this parameter; "
                            f"accepted: {', '.join(sorted(accepted)) or '(none)'}")
    return sampler, params


def load_data(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, X_test, y_train, y_test)`` of the configured task.

    ``digits``: :func:`~qubo_bnn.datasets.load_digits_task`. ``bars_and_stripes``: all patterns;
    with ``test_fraction = 0`` (default) the test set is the training set (the usual benchmark),
    else a stratified split. ``file``: :func:`~qubo_bnn.datasets.load_dataset`, optionally
    filtered to ``classes``, split by ``test_fraction`` (default 0.25) and ``split_seed``.

    Raises:
        FileNotFoundError, ValueError: a missing or malformed data file, impossible split sizes.
    """
    d = cfg.data
    if d.task == "digits":
        return datasets.load_digits_task(classes=d.classes, pool=d.pool, threshold=d.threshold,
                                         n_train=d.n_train, n_test=d.n_test, seed=d.split_seed)
    if d.task == "bars_and_stripes":
        X, y = datasets.bars_and_stripes(d.size)
    else:
        X, y = datasets.load_dataset(d.path, binary=cfg.formulation.binarize is None)
        if d.classes is not None:
            missing = [c for c in d.classes if not np.any(y == c)]
            if missing:
                raise ValueError(f"{d.path}: data.classes {list(d.classes)}: no samples with label(s) {missing}")
            keep = np.isin(y, d.classes)
            X, y = X[keep], y[keep]
    if d.test_fraction == 0:
        return X, X, y, y
    from sklearn.model_selection import train_test_split

    try:
        return tuple(train_test_split(X, y, test_size=d.test_fraction, random_state=d.split_seed,
                                      stratify=y))  # type: ignore[return-value]
    except ValueError as exc:
        raise ValueError(f"cannot split {len(y)} samples with test_fraction={d.test_fraction} ({exc})") from None


def estimator_from_config(cfg: RunConfig, sampler: dimod.Sampler | None = None,
                          sample_params: Mapping[str, Any] | None = None, *,
                          verbose: bool = False) -> BNNClassifier:
    """The unfitted :class:`BNNClassifier` the config describes.

    Args:
        cfg: a validated config.
        sampler, sample_params: an already resolved sampler and its parameters (from
            :func:`resolve_sampler`; None: the estimator's default budget); resolved here when
            ``sampler`` is None.
        verbose: the classifier prints its progress.
    """
    if sampler is None:
        sampler, sample_params = resolve_sampler(cfg)
    return BNNClassifier(sampler=sampler, verbose=verbose,
                         sampler_params=None if sample_params is None else dict(sample_params),
                         **_estimator_settings(cfg))


def _estimator_settings(cfg: RunConfig) -> dict[str, Any]:
    """The estimator parameters a config sets, the sampler's aside."""
    return dict(network=cfg.network.build(), hidden_layer_sizes=cfg.network.hidden_layers,
                random_state=cfg.seed, **cfg.estimator_params())


def training_bqm(cfg: RunConfig, X, y) -> dimod.BinaryQuadraticModel:
    """The training BQM that fitting ``cfg``'s estimator on ``(X, y)`` samples (no sampler needed).

    Built with :meth:`BNNClassifier.build_qubo` and ``to_bqm(A, B, mu)`` (``mu`` from
    :meth:`BNNClassifier.margin_weight`: the margin or its lexicographic weight); the dropout penalties,
    which need sampling rounds, are not included.

    Example:
        >>> from qubo_bnn.config import config_from_dict
        >>> cfg = config_from_dict({"data": {"task": "bars_and_stripes", "size": 2}})
        >>> X, _, y, _ = load_data(cfg)
        >>> training_bqm(cfg, X, y).num_variables > 0
        True
    """
    clf = BNNClassifier(**_estimator_settings(cfg))       # no sampler: nothing is sampled
    network, Xb, _, targets = clf.training_problem(X, y)
    f = cfg.formulation
    qubo = clf.build_qubo(network, Xb, targets)
    return qubo.to_bqm(A=f.penalty, B=f.loss_weight, mu=clf.margin_weight(qubo))


def train(cfg: RunConfig, *, say: Callable[[str], None] | None = None,
          verbose: bool = True) -> tuple[BNNClassifier, dict[str, Any]]:
    """Run the configured job: resolve the sampler, load data, fit, score, write outputs.

    Args:
        cfg: a validated config.
        say: progress printer (default ``print`` with a ``[qubo-bnn]`` prefix when ``verbose``).
        verbose: print progress (the classifier's too).

    Returns:
        The fitted classifier and a JSON-ready results dict (accuracies, sizes, timings, config).

    Example:
        >>> from qubo_bnn.config import config_from_dict
        >>> cfg = config_from_dict({"data": {"task": "bars_and_stripes", "size": 2},
        ...                         "sampler": {"name": "tabu", "num_reads": 2}})
        >>> clf, res = train(cfg, verbose=False)
        >>> sorted(res)[:3], 0 <= res["train_accuracy"] <= 1
        (['classes', 'config', 'fit_info'], True)
    """
    if say is None:
        say = ((lambda msg: print(f"[qubo-bnn] {msg}", file=sys.stderr, flush=True)) if verbose
               else (lambda msg: None))
    outputs = [p for p in (cfg.output.model, cfg.output.results) if p]
    if outputs.count("-") > 1:
        raise ValueError("only one of the outputs can go to standard output ('-')")
    for path in outputs:
        check_output_path(path)                     # before any work
    t0 = time.perf_counter()
    sampler, params = resolve_sampler(cfg)
    t1 = time.perf_counter()
    device = (getattr(sampler, "properties", None) or {}).get("device")
    where = "" if device is None else f" on {device}"   # a GPU sampler's CPU fallback shows here
    budget = "the default budget" if params is None else params
    say(f"config {cfg.source}; sampler {cfg.sampler_name!r} ({type(sampler).__name__}{where}) {budget}")
    X_train, X_test, y_train, y_test = load_data(cfg)
    t2 = time.perf_counter()
    say(f"data loaded: {cfg.data.task}, {len(y_train)} training / {len(y_test)} test samples, "
        f"{X_train.shape[1]} features, classes {np.unique(y_train).tolist()} ({t2 - t1:.2f} s)")
    clf = estimator_from_config(cfg, sampler, params, verbose=verbose)
    clf.fit(X_train, y_train)
    t3 = time.perf_counter()
    train_acc, test_acc = float(clf.score(X_train, y_train)), float(clf.score(X_test, y_test))
    t4 = time.perf_counter()
    info = clf.fit_info_
    say(f"done: fitted in {t3 - t2:.2f} s")
    results = {
        "format": RESULTS_FORMAT, "version": 1,
        "train_accuracy": train_acc, "test_accuracy": test_acc,
        "n_train": int(len(y_train)), "n_test": int(len(y_test)), "n_features": int(X_train.shape[1]),
        "classes": to_jsonable(clf.classes_), "n_weights": int(clf.network_.n_weights),
        "num_variables": info["num_variables"], "num_interactions": info["num_interactions"],
        "timings": {"sampler_setup_seconds": t1 - t0, "data_seconds": t2 - t1, "fit_seconds": t3 - t2,
                    "build_seconds": info["build_seconds"], "sample_seconds": info["sample_seconds"],
                    "total_seconds": t4 - t0},
        "fit_info": to_jsonable(info), "config": cfg.to_dict(),
    }
    if cfg.output.model:
        clf.save(cfg.output.model)
        say(f"model written to {cfg.output.model}")
    if cfg.output.results:
        atomic_write_text(cfg.output.results, json.dumps(results, indent=1))
        say(f"results written to {cfg.output.results}")
    return clf, results


def export_bqm(cfg: RunConfig, out: str | os.PathLike, fmt: str = "json") -> Any:
    """Write the training BQM of ``cfg`` (on its training set) to ``out``; return it.

    ``fmt="json"``: ``json.dumps(bqm.to_serializable())``; ``fmt="bqm"``: dimod's file format
    (``bqm.to_file()``). Written to a temporary file in the same directory and moved into place,
    so a failure leaves no partial file.
    """
    if fmt not in ("json", "bqm"):
        raise ValueError(f"format must be 'json' or 'bqm', got {fmt!r}")
    out = os.fspath(out)
    check_output_path(out)
    X_train, _, y_train, _ = load_data(cfg)
    bqm = training_bqm(cfg, X_train, y_train)
    if fmt == "json":
        atomic_write_text(out, json.dumps(bqm.to_serializable()))
    else:
        with bqm.to_file() as fh:
            atomic_write_bytes(out, fh.read())
    return bqm


def predict(model: str | os.PathLike, data: str | os.PathLike) -> dict[str, Any]:
    """Predict ``data`` (see :func:`read_prediction_data`) with the model saved at ``model``.

    Returns:
        A JSON-ready document: ``format`` (:data:`PREDICTIONS_FORMAT`), ``version``, ``model``,
        ``data``, ``n_samples``, ``labelled``, ``predictions``; when labelled also ``accuracy``,
        ``n_correct`` and ``unknown_labels`` (labels that are none of the model's classes).
    """
    clf = BNNClassifier.load(model)
    X, y = read_prediction_data(data, int(clf.n_features_in_))
    predictions = to_jsonable(clf.predict(X))
    doc: dict[str, Any] = {"format": PREDICTIONS_FORMAT, "version": 1, "model": os.fspath(model),
                           "data": os.fspath(data), "n_samples": len(predictions), "labelled": y is not None,
                           "predictions": predictions}
    if y is not None:
        labels = to_jsonable(y)
        correct = sum(p == t for p, t in zip(predictions, labels))
        known = set(to_jsonable(clf.classes_))
        doc.update(accuracy=correct / len(labels), n_correct=correct,
                   unknown_labels=sorted({t for t in labels if t not in known}, key=str))
    return doc


def read_prediction_data(source: str | os.PathLike, n_features: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y or None)``: the data a model with ``n_features`` input features is to predict.

    ``source`` is a ``.csv`` or ``.npz`` file, ``"-"`` for standard input, or a binary stream
    (CSV text, or the bytes of an ``.npz``). Whether the data is labelled is told by its shape:

    * CSV: ``n_features`` columns are unlabelled features; ``n_features + 1`` columns are the
      features and the label, last. A first row whose feature cells are not numbers is a header.
    * ``.npz``: array ``X`` (``n_features`` columns) and, when labelled, array ``y``.

    One row, or labels of a single class, are fine (nothing is fitted). Labels that are all
    numbers are read as numbers (integers when whole). The feature values are the model's to
    check (bits, or real values for a model with a binarizer).

    Raises:
        FileNotFoundError: a missing file.
        ValueError: larger than :data:`MAX_PREDICTION_BYTES`, no rows, ragged rows, a column
            count that is neither ``n_features`` nor ``n_features + 1``, non-numeric features.

    Example:
        >>> X, y = read_prediction_data(io.BytesIO(b"a,b,label\\n1,0,yes\\n0,0,no\\n"), 2)
        >>> X.tolist(), y.tolist()
        ([[1.0, 0.0], [0.0, 0.0]], ['yes', 'no'])
    """
    name, data = _read_bounded(source)
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".npz"):
        X, y = _npz_arrays(name, data)
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"{name}: array X has shape {X.shape}; the model takes {n_features} features "
                             f"(X of shape (n_samples, {n_features}))")
    else:
        X, y = _csv_columns(name, data, n_features)
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"{name}: y has shape {y.shape}; expected one label per row ({len(X)},)")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            row = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(f"{name}: the label of data row {row + 1} is {y[row]}; labels must be finite")
    return X, y


def _read_bounded(source) -> tuple[str, bytes]:
    """The name and bytes of a file, ``"-"`` (standard input) or a binary stream, at most
    :data:`MAX_PREDICTION_BYTES` of them."""
    if hasattr(source, "read"):
        name, data = "<stream>", source.read(MAX_PREDICTION_BYTES + 1)
    elif os.fspath(source) == "-":
        name, data = "standard input", sys.stdin.buffer.read(MAX_PREDICTION_BYTES + 1)
    else:
        name = os.fspath(source)
        ext = os.path.splitext(name)[1].lower()
        if ext not in (".csv", ".npz"):
            raise ValueError(f"{name}: unsupported data format {ext!r} (use .csv or .npz, or - for CSV on stdin)")
        try:
            with open(name, "rb") as fh:
                data = fh.read(MAX_PREDICTION_BYTES + 1)
        except FileNotFoundError:
            raise FileNotFoundError(f"data file {name!r} does not exist") from None
    if len(data) > MAX_PREDICTION_BYTES:
        raise ValueError(f"{name}: more than {MAX_PREDICTION_BYTES >> 20} MiB of data; predict it in parts")
    return name, data


def _npz_arrays(name: str, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
        if unpacked > MAX_PREDICTION_BYTES:
            raise ValueError(f"{name}: its arrays hold more than {MAX_PREDICTION_BYTES >> 20} MiB; "
                             "predict it in parts")
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            if "X" not in f.files:
                raise ValueError(f"{name}: an .npz to predict needs an array 'X' (and 'y' when labelled); "
                                 f"it has {sorted(f.files)}")
            return f["X"], (f["y"] if "y" in f.files else None)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{name}: not a readable .npz file ({exc})") from None


def _csv_columns(name: str, data: bytes, n_features: int) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 CSV text") from None
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if rows and not _all_numbers(rows[0][:n_features]):
        rows = rows[1:]                           # a header
    if not rows:
        raise ValueError(f"{name}: no data rows")
    width = len(rows[0])
    if width not in (n_features, n_features + 1):
        raise ValueError(f"{name}: {width} columns; the model takes {n_features} features: give "
                         f"{n_features} columns (unlabelled) or {n_features + 1} (the label last)")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{name}: data row {i + 1} has {len(row)} columns, the first has {width}")
    try:
        X = np.array([[float(v) for v in row[:n_features]] for row in rows])
    except ValueError as exc:
        raise ValueError(f"{name}: non-numeric feature value ({exc})") from None
    if width == n_features:
        return X, None
    labels = [row[-1] for row in rows]
    if not _all_numbers(labels):
        return X, np.array(labels)
    y = np.array([float(v) for v in labels])
    whole = np.all(np.isfinite(y) & (y == np.round(y)) & (np.abs(y) < 2**53))
    return X, (y.astype(np.int64) if whole else y)


def _all_numbers(cells) -> bool:
    try:
        [float(v) for v in cells]
        return True
    except ValueError:
        return False
