"""Regularisers on a digits task: none, margin, dropout-inspired penalties, both; STE-BNN and logistic regression.

For every seed (which fixes the train/test split, the sampler seed, the dropout masks and the
STE initialisation) the script trains, on the same binarised digits (classes 3 vs 8):

* ``none``     -- BNNClassifier with the collapsed annealer (the library's default sampler), no regulariser;
* ``margin``   -- the same with the margin reward ``mu`` on all neurons;
* ``dropout``  -- the same with the dropout-inspired penalties (K rounds, rate p, strength rho);
* ``both``     -- margin and dropout together;
* ``ste-bnn``  -- the same BNN (same task, same net size) trained by straight-through-estimator gradients;
* ``logreg``   -- scikit-learn logistic regression on the same bits (C = 1).

Tasks (``--task``):

* ``default``  -- 8x8 digits pooled 2x2 to 4x4, thresholded: 16 bits; a 16-4-1 net; 60 training images;
* ``pixels64`` -- the unpooled 8x8 digits thresholded: 64 bits; a 64-8-1 net; 300 training images
  (the 357 images of classes 3 and 8 leave 57 for the test set).

Every QUBO fit is checked against the others of its seed: the collapsed energy of each of the four
QUBO-trained networks is evaluated under every QUBO objective; when another method's network scores
lower under a method's own objective, the network that method kept is demonstrably not its optimum. The
unregularised fit is also compared with the fewest training errors any classifier can make (identical
inputs with both labels): reaching that bound certifies its optimum. With
``--reference-sweeps N`` the final regularised objectives (margin, dropout, both; dropout's ``h`` as
computed by its rounds) are annealed again with ``N`` sweeps per read: a reference closer to each
objective's optimum, which shows what the regulariser does once the optimum is (nearly) reached.

Hyperparameters are fixed a priori (never tuned on test data); the defaults and the reasons are in
``--help``. It writes ``<out>.md`` (tables, command, settings, wall time), ``<out>.png`` (bar
chart) and ``<out>.json`` (every run).

Quick run::

    python examples/regularisers.py --seeds 2 --n-train 30 --num-reads 4 --num-sweeps 100 --out /tmp/reg

Full runs (the committed results)::

    python examples/regularisers.py --reference-sweeps 5000
    python examples/regularisers.py --task pixels64 --reference-sweeps 750
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

METHODS = ["none", "margin", "dropout", "both", "ste-bnn", "logreg"]
QUBO_METHODS = METHODS[:4]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# Task-dependent defaults. Reads x sweeps: the library default (16 x 500) on the small task, where
# the collapsed annealer reaches 0 training errors; 8 x 250 on the 64-8-1 net (about 20x more work
# per sweep: 529 weights instead of 73, 300 images instead of 60), chosen from single-seed timing
# runs of the unregularised fit (0 training errors on the seeds tried), before any full run.
TASKS = {
    "default": {"pool": True, "n_train": 60, "hidden": 4, "num_reads": 16, "num_sweeps": 500,
                "out": os.path.join(RESULTS, "regularisers"),
                "title": "3 vs 8, 4x4 pooled bits (16 inputs)"},
    "pixels64": {"pool": False, "n_train": 300, "hidden": 8, "num_reads": 8, "num_sweeps": 250,
                 "out": os.path.join(RESULTS, "regularisers_64"),
                 "title": "3 vs 8, 8x8 unpooled bits (64 inputs)"},
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", choices=sorted(TASKS), default="default",
                   help="default: 4x4 pooled bits, 16-h-1, 60 training images; pixels64: 8x8 unpooled bits, "
                        "64-h-1, 300 training images")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (0 .. seeds-1)")
    p.add_argument("--n-train", type=int, default=None,
                   help="training samples; the rest of classes 3/8 is the test set (task default: 60 / 300)")
    p.add_argument("--hidden", type=int, default=None, help="hidden width of the n-h-1 network (task default: 4 / 8)")
    p.add_argument("--num-reads", type=int, default=None,
                   help="collapsed-annealing reads per QUBO (task default: 16 / 8)")
    p.add_argument("--num-sweeps", type=int, default=None,
                   help="collapsed-annealing sweeps per read (one sweep proposes every weight once; "
                        "task default: 500 / 250)")
    p.add_argument("--mu", type=float, default=0.01,
                   help="margin weight; 0.01 keeps mu * sum(fan-in) = 0.73 < B = 1 on the 16-4-1 net, so on any "
                        "one sample the margin reward is worth less than that sample's error (on the 64-8-1 net "
                        "it is 5.29; summed over the training set the reward can outweigh a few errors on both "
                        "tasks, see the results)")
    p.add_argument("--rounds", type=int, default=3, help="dropout rounds K")
    p.add_argument("--rate", type=float, default=0.5, help="dropout rate p (hidden neurons)")
    p.add_argument("--strength", type=float, default=0.5,
                   help="dropout strength rho; 0.5: full consensus on one weight is worth half a training error")
    p.add_argument("--ste-epochs", type=int, default=200, help="epochs of the STE baseline")
    p.add_argument("--reference-sweeps", type=int, default=0,
                   help="if > 0, also anneal the final margin, dropout and both objectives with this many sweeps "
                        "(same reads; a reference closer to their optimum, not a method)")
    p.add_argument("--workers", type=int, default=2,
                   help="seeds run in parallel processes (each uses one Numba thread when > 1)")
    p.add_argument("--render", metavar="JSON",
                   help="only re-write the .md and .png from a .json this script wrote (no training); they go "
                        "next to the .json unless --out is given")
    p.add_argument("--out", default=None,
                   help="output path without extension (.md, .png, .json); task default: "
                        "examples/results/regularisers / regularisers_64")
    args = p.parse_args(argv)
    for key in ("n_train", "hidden", "num_reads", "num_sweeps", "out"):
        if getattr(args, key) is None:
            setattr(args, key, TASKS[args.task][key])
    return args


def load_task(args: argparse.Namespace, seed: int):
    from qubo_bnn.datasets import load_digits_task

    return load_digits_task(classes=(3, 8), pool=TASKS[args.task]["pool"], n_train=args.n_train, n_test=None,
                            seed=seed)


def min_possible_errors(X: np.ndarray, y: np.ndarray) -> int:
    """Training errors no classifier can avoid: identical input rows with different labels (for each
    distinct row, the samples not of its most frequent label). Reaching it certifies the optimum."""
    _, inv = np.unique(np.asarray(X), axis=0, return_inverse=True)
    inv = np.ravel(inv)
    return int(sum(np.sum(inv == k) - np.unique(y[inv == k], return_counts=True)[1].max()
                   for k in range(inv.max() + 1)))


def qubo_settings(args: argparse.Namespace) -> dict[str, dict]:
    dropout = {"dropout_rounds": args.rounds, "dropout_rate": args.rate, "dropout_strength": args.strength}
    # the seed paper's regularisers on a single network, every input connected, margin on all
    # neurons (the estimator's defaults choose among fits differently: benchmarks/binary_tasks.py)
    base = {"margin": 0.0, "margin_neurons": "all", "committee_size": 1, "drop_constant_inputs": False}
    return {"none": base, "margin": {**base, "margin": args.mu}, "dropout": {**base, **dropout},
            "both": {**base, "margin": args.mu, **dropout}}


def run_seed(seed: int, args: argparse.Namespace) -> list[dict]:
    """All methods on one split; returns one record per method."""
    from sklearn.linear_model import LogisticRegression

    from qubo_bnn.baselines import STEClassifier
    from qubo_bnn.classifier import BNNClassifier
    from qubo_bnn.collapsed import CollapsedModel

    if args.workers > 1:   # the seeds already fill the cores
        import numba

        numba.set_num_threads(1)
    Xtr, Xte, ytr, yte = load_task(args, seed)
    sp = {"num_reads": args.num_reads, "num_sweeps": args.num_sweeps}
    settings = qubo_settings(args)
    records, fitted = [], {}
    for name in QUBO_METHODS:
        t0 = time.perf_counter()
        clf = BNNClassifier(hidden_layer_sizes=(args.hidden,), sampler="collapsed", sampler_params=sp,
                            random_state=seed, **settings[name]).fit(Xtr, ytr)
        info = clf.fit_info_
        h = np.asarray(info["dropout"]["h"]) if "dropout" in info else None
        fitted[name] = (clf, h)
        rec = {"method": name, "seed": seed, "train_acc": clf.score(Xtr, ytr), "test_acc": clf.score(Xte, yte),
               "seconds": time.perf_counter() - t0, "train_errors": info["train_output_errors"],
               "raw_train_errors": info["raw_train_output_errors"], "energy": info["energy"],
               "energy_split": info["energy_split"], "broken_constraints": info["broken_constraints"],
               "num_variables": info["num_variables"], "num_rows": info["num_rows"],
               "sampler": info["sampler"]}
        if "dropout" in info:
            d = info["dropout"]
            rec["dropout"] = {"rounds_completed": d["rounds_completed"], "h_stats": d["h_stats"],
                              "round_train_errors": [r["train_output_errors"] for r in d["rounds"]],
                              "kept_hidden": [r["kept_hidden"] for r in d["rounds"]]}
        records.append(rec)
    # Optimality check: every QUBO network's collapsed energy under every QUBO objective of this seed.
    W = np.stack([fitted[m][0].weights_ for m in QUBO_METHODS])
    for rec in records:
        clf, h = fitted[rec["method"]]
        net, Xb, _, T = clf.training_problem(Xtr, ytr)
        model = CollapsedModel.from_problem(clf.build_qubo(net, Xb, T), None, clf.loss_weight, clf.margin, h)
        E = model.energies(W)
        rec["energy_of_networks"] = dict(zip(QUBO_METHODS, map(float, E)))
        rec["missed_optimum"] = bool(E.min() < rec["energy"] - 1e-6 * (1 + abs(rec["energy"])))
        if args.reference_sweeps > 0 and rec["method"] != "none":
            rec["reference"] = long_anneal(args, seed, clf, h, Xtr, ytr, Xte, yte)
    t0 = time.perf_counter()
    ste = STEClassifier(hidden_layer_sizes=(args.hidden,), epochs=args.ste_epochs, random_state=seed).fit(Xtr, ytr)
    records.append({"method": "ste-bnn", "seed": seed, "train_acc": ste.score(Xtr, ytr),
                    "test_acc": ste.score(Xte, yte), "seconds": time.perf_counter() - t0,
                    "train_errors": int(round((1 - ste.score(Xtr, ytr)) * len(ytr)))})
    t0 = time.perf_counter()
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(Xtr, ytr)
    records.append({"method": "logreg", "seed": seed, "train_acc": lr.score(Xtr, ytr),
                    "test_acc": lr.score(Xte, yte), "seconds": time.perf_counter() - t0,
                    "train_errors": int(round((1 - lr.score(Xtr, ytr)) * len(ytr)))})
    classes, counts = np.unique(ytr, return_counts=True)
    majority = float(np.mean(yte == classes[np.argmax(counts)]))
    bound = min_possible_errors(Xtr, ytr)
    for r in records:
        r["n_train"], r["n_test"], r["majority_test_acc"] = len(ytr), len(yte), majority
        r["min_possible_errors"] = bound
    return records


def long_anneal(args, seed, clf, h, Xtr, ytr, Xte, yte) -> dict:
    """The same final objective (dropout's h fixed) annealed with ``--reference-sweeps`` sweeps; the read
    of lowest energy is kept (the classifier would keep the one with the fewest training errors)."""
    import copy

    from qubo_bnn.collapsed import CollapsedSampler

    t0 = time.perf_counter()
    net, Xb, _, T = clf.training_problem(Xtr, ytr)
    q = clf.build_qubo(net, Xb, T)
    bqm = q.to_bqm(A=clf.penalty, B=clf.loss_weight, mu=clf.margin, h=h)
    ss = CollapsedSampler().sample(bqm, num_reads=args.num_reads, num_sweeps=args.reference_sweeps, seed=seed)
    best = int(np.argmin(ss.record.energy))
    ref = copy.deepcopy(clf)
    ref.weights_ = q.weights_from(ss)[best].astype(np.int8)
    ref.members_ = ref.weights_[None]
    return {"energy": float(ss.record.energy[best]), "train_errors": int(round((1 - ref.score(Xtr, ytr)) * len(ytr))),
            "train_acc": ref.score(Xtr, ytr), "test_acc": ref.score(Xte, yte), "seconds": time.perf_counter() - t0}


def summarise(records: list[dict]) -> dict[str, dict[str, float]]:
    out = {}
    for m in METHODS:
        rs = [r for r in records if r["method"] == m]
        tr = np.array([r["train_acc"] for r in rs])
        te = np.array([r["test_acc"] for r in rs])
        n = len(rs)
        row = {"n": n, "train_mean": tr.mean(), "train_std": tr.std(ddof=1) if n > 1 else 0.0,
               "test_mean": te.mean(), "test_std": te.std(ddof=1) if n > 1 else 0.0,
               "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
               "train_errors_mean": float(np.mean([r["train_errors"] for r in rs]))}
        if m in QUBO_METHODS:
            row["broken_mean"] = float(np.mean([r["broken_constraints"] for r in rs]))
            row["optimal_error_fits"] = int(sum(r["train_errors"] == r["min_possible_errors"] for r in rs))
            row["missed_optimum"] = int(sum(r["missed_optimum"] for r in rs))
        out[m] = row
    return out


def paired(records: list[dict], method: str, base: str = "none") -> dict[str, float]:
    """Test-accuracy differences ``method - base`` paired by seed."""
    from scipy.stats import ttest_rel

    a = {r["seed"]: r["test_acc"] for r in records if r["method"] == method}
    b = {r["seed"]: r["test_acc"] for r in records if r["method"] == base}
    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds])
    p = float(ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue) if len(seeds) > 1 and d.std() > 0 \
        else float("nan")
    return {"n": len(seeds), "mean": float(d.mean()), "std": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
            "better": int((d > 1e-12).sum()), "equal": int((np.abs(d) <= 1e-12).sum()),
            "worse": int((d < -1e-12).sum()), "p_ttest_rel": p}


def n_weights(args) -> int:
    n_in = 16 if TASKS[args.task]["pool"] else 64
    return (n_in + 1) * args.hidden + args.hidden + 1


def markdown(summary, comparisons, records, args, command: str, wall: float, note: str = "") -> str:
    n_test = records[0]["n_test"]
    n_in = 16 if TASKS[args.task]["pool"] else 64
    arch = f"{n_in}-{args.hidden}-1"
    by = {(r["method"], r["seed"]): r for r in records}
    seeds = sorted({r["seed"] for r in records})
    S = len(seeds)
    lines = [
        f"# Regularisers on the digits task ({TASKS[args.task]['title']}, {arch} BNN)", "",
        f"Command: `{command}`", "",
        f"Wall time: {wall:.0f} s on {os.cpu_count()} CPU cores ({args.workers} worker processes)."
        + (f" {note}" if note else ""), "",
        f"Seeds 0..{args.seeds - 1}; each seed fixes the stratified split ({args.n_train} train, {n_test} test), "
        "the sampler seed, the dropout masks and the STE initialisation. Mean ± sample std over seeds "
        f"(one test image is {1 / n_test:.3f} of test accuracy). "
        "QUBO methods: the collapsed annealer (`sampler=\"collapsed\"`), "
        f"{args.num_reads} reads × {args.num_sweeps} sweeps.", "",
        "| method | train acc | test acc | mean train errors | fits at the minimum possible train errors | "
        "mean s / fit |",
        "|---|---|---|---|---|---|",
    ]
    for m in METHODS:
        s = summary[m]
        zero = f"{s['optimal_error_fits']}/{s['n']}" if "optimal_error_fits" in s else "-"
        lines.append(f"| {m} | {s['train_mean']:.3f} ± {s['train_std']:.3f} | {s['test_mean']:.3f} ± "
                     f"{s['test_std']:.3f} | {s['train_errors_mean']:.1f} | {zero} | {s['seconds_mean']:.1f} |")
    majority = float(np.mean([r["majority_test_acc"] for r in records if r["method"] == "none"]))
    lines += ["", f"Majority-class test accuracy (predicting the more frequent training class): {majority:.3f}.",
              "", "## Paired by seed against `none` (test accuracy)", "",
              "| method | Δ test acc (mean ± std) | better / equal / worse seeds | paired t-test p |",
              "|---|---|---|---|"]
    for m, c in comparisons.items():
        lines.append(f"| {m} | {c['mean']:+.3f} ± {c['std']:.3f} | {c['better']} / {c['equal']} / {c['worse']} "
                     f"| {c['p_ttest_rel']:.2g} |")
    sig = [m for m in QUBO_METHODS[1:] if comparisons[m]["p_ttest_rel"] < 0.05]
    reading = (f"Reading: the unregularised fit reaches the certified minimum of the training errors on "
               f"{summary['none']['optimal_error_fits']}/{S} seeds. Paired with it, "
               + ", ".join(f"{m} changes test accuracy by {comparisons[m]['mean']:+.3f} "
                           f"(better on {comparisons[m]['better']}/{S} seeds)" for m in QUBO_METHODS[1:])
               + (". None of these differences is significant (paired t-test p ≥ 0.05)" if not sig else
                  ". Significant at p < 0.05: " + ", ".join(sig)) + ".")
    if args.reference_sweeps > 0:
        parts = []
        for m in QUBO_METHODS[1:]:
            ref = [by[(m, s)]["reference"] for s in seeds]
            d = np.array([f["test_acc"] - by[("none", s)]["test_acc"] for f, s in zip(ref, seeds)])
            parts.append(f"{m} {summary[m]['train_errors_mean']:.1f} → {np.mean([f['train_errors'] for f in ref]):.1f} "
                         f"training errors, test accuracy {summary[m]['test_mean']:.3f} → "
                         f"{np.mean([f['test_acc'] for f in ref]):.3f} ({d.mean():+.3f} vs `none`, better on "
                         f"{int((d > 1e-12).sum())}/{S})")
        reading += (f" Annealed {args.reference_sweeps / args.num_sweeps:g}× longer and judged by energy (closer to "
                    "each objective's optimum; see the reference table below): " + "; ".join(parts) + ".")
    lines += ["", reading]
    # ---- did the annealer reach the optimum of each objective?
    lines += ["", "## Is the kept network the optimum of its objective?", ""]
    none_opt = summary["none"]["optimal_error_fits"]
    bound = float(np.mean([by[("none", s)]["min_possible_errors"] for s in seeds]))
    lines.append(f"- `none` minimises the training errors alone. A lower bound for any classifier is the number of "
                 f"training images whose identical input appears with the other label more often (mean {bound:.1f} "
                 f"per seed); `none` reached exactly that bound, a certified optimum, on {none_opt}/{S} seeds (mean "
                 f"{summary['none']['train_errors_mean']:.1f} errors).")
    lines.append("- Cross-check: each QUBO network of a seed was scored under every QUBO objective of that seed. "
                 "Seeds where another method's network has a lower energy under a method's own objective than the "
                 "network that method kept (a proof that the kept network is not that objective's optimum; 0 "
                 "proves nothing): " + ", ".join(f"`{m}` {summary[m]['missed_optimum']}/{S}" for m in QUBO_METHODS)
                 + ".")
    more = [s for s in seeds if by[("margin", s)]["train_errors"] > by[("none", s)]["train_errors"]]
    bought = [s for s in more if by[("margin", s)]["energy"] < by[("margin", s)]["energy_of_networks"]["none"] - 1e-9]
    mu_sf = args.mu * (n_weights(args))
    lines.append(f"- The margin is not a tie-breaker among equally accurate networks: μ·ΣF = {mu_sf:.2f} bounds the "
                 "reward of *one* sample" + (" (here already more than B = 1)" if mu_sf >= 1 else "") + ", but the reward is summed over the training set, so a network can buy "
                 f"margin with errors. `margin` has more training errors than `none` on {len(more)}/{S} seeds; on "
                 f"{len(bought)} of them its network has a lower margin objective than `none`'s network (a "
                 "genuine trade, not a sampler failure).")
    if args.reference_sweeps > 0:
        lines += ["", f"Reference: the final regularised objectives annealed again with {args.reference_sweeps} sweeps "
                  f"({args.reference_sweeps / args.num_sweeps:g}× the run's; same reads and seed; dropout's h fixed "
                  "to the values its rounds produced), keeping the read of *lowest energy* (the best available "
                  "approximation of the objective's optimum; the classifier itself keeps the read with the fewest "
                  "training errors). Paired by seed with the run's own fit of the same objective:", "",
                  "| objective | reference energy lower / equal / higher | train errors (run → reference) | "
                  "test acc (run → reference) | reference Δ test acc vs `none` | better / equal / worse than `none` |",
                  "|---|---|---|---|---|---|"]
        for m in QUBO_METHODS[1:]:
            rs = [by[(m, s)] for s in seeds]
            ref = [r["reference"] for r in rs]
            tol = [1e-6 * (1 + abs(r["energy"])) for r in rs]
            lower = sum(f["energy"] < r["energy"] - t for f, r, t in zip(ref, rs, tol))
            higher = sum(f["energy"] > r["energy"] + t for f, r, t in zip(ref, rs, tol))
            d = np.array([f["test_acc"] - by[("none", s)]["test_acc"] for f, s in zip(ref, seeds)])
            lines.append(
                f"| {m} | {lower} / {S - lower - higher} / {higher} | "
                f"{np.mean([r['train_errors'] for r in rs]):.1f} → {np.mean([f['train_errors'] for f in ref]):.1f} | "
                f"{np.mean([r['test_acc'] for r in rs]):.3f} → {np.mean([f['test_acc'] for f in ref]):.3f} ± "
                f"{np.std([f['test_acc'] for f in ref], ddof=1):.3f} | {d.mean():+.3f} ± {d.std(ddof=1):.3f} | "
                f"{int((d > 1e-12).sum())} / {int((np.abs(d) <= 1e-12).sum())} / {int((d < -1e-12).sum())} |")
    lines += [
        "", "## Settings (fixed a priori, nothing tuned on test data)", "",
        f"- QUBO sampler: `CollapsedSampler` (`sampler=\"collapsed\"`, the library default): simulated annealing "
        "over the weights with every QUBO auxiliary at its conditional optimum, so every read is a consistent "
        f"network state; num_reads={args.num_reads}, num_sweeps={args.num_sweeps}, default beta range, "
        "seed = split seed; penalty A = exact-safe default; B = 1. The classifier keeps the read with the "
        "fewest forward-pass training errors (ties: lowest energy); `refine_sweeps` does nothing with this "
        "sampler.",
        f"- margin: mu = {args.mu} on all neurons (μ·ΣF = {mu_sf:.2f} per sample; the margin objective is "
        "B·errors − μ·Σ_samples Σ_neurons |z|).",
        f"- dropout: K = {args.rounds} rounds, p = {args.rate}, rho = {args.strength}; rule h_e = -rho·mean_k(w_e^(k)) "
        "over the rounds in which edge e was kept (qubo_bnn/dropout.py); each round is a collapsed-annealing fit "
        "of the subnetwork with the same reads and sweeps.",
        f"- STE-BNN: same {arch} ±1 network, hinge loss, Adam lr 0.01, batch 32, {args.ste_epochs} epochs, best "
        "training-error epoch kept.",
        "- logreg: sklearn LogisticRegression(C=1) on the same bits.",
        "- broken constraints of the chosen QUBO sample: "
        f"{max(summary[m]['broken_mean'] for m in QUBO_METHODS):.0f} on average at most (the collapsed annealer "
        "returns consistent states).",
        "", f"Per-seed records: `{os.path.basename(args.out)}.json`.",
    ]
    return "\n".join(lines) + "\n"


def plot(summary, majority: float, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(METHODS))
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, part in enumerate(("train", "test")):
        ax.bar(x + (k - 0.5) * 0.38, [summary[m][f"{part}_mean"] for m in METHODS], 0.38,
               yerr=[summary[m][f"{part}_std"] for m in METHODS], capsize=3, label=part)
    ax.axhline(majority, color="grey", lw=0.8, ls="--", label="majority class (test)")
    ax.set_xticks(x, METHODS)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (mean ± std over seeds)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python examples/regularisers.py" + ("" if not argv and len(sys.argv) == 1 else
                                                  " " + shlex.join(sys.argv[1:] if argv is None else argv))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.render:
        with open(args.render) as fh:
            doc = json.load(fh)
        given = argv if argv is not None else sys.argv[1:]
        out = args.out if any(a == "--out" or a.startswith("--out=") for a in given) else \
            os.path.splitext(args.render)[0]   # next to the .json unless --out says otherwise
        saved = argparse.Namespace(**{**doc["settings"], "out": out, "render": None})
        write_outputs(doc["records"], saved, doc["command"], doc["wall_seconds"],
                      note=f"Tables re-rendered from `{os.path.basename(args.render)}` by `{command}` (no retraining).")
        return 0
    t0 = time.perf_counter()
    records: list[dict] = []
    seeds = list(range(args.seeds))
    print(f"task {args.task}: {len(seeds)} seeds, n_train={args.n_train}, hidden={args.hidden}, "
          f"reads={args.num_reads}, sweeps={args.num_sweeps}, workers={args.workers}", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(run_seed, s, args): s for s in seeds}
        for done, fut in enumerate(as_completed(futures), 1):
            recs = fut.result()
            records.extend(recs)
            accs = ", ".join(f"{r['method']} {r['train_errors']}e/{r['test_acc']:.2f}" for r in recs)
            print(f"[{done}/{len(seeds)}] seed {futures[fut]} ({time.perf_counter() - t0:.0f} s) "
                  f"train errors/test acc: {accs}", flush=True)
    wall = time.perf_counter() - t0
    write_outputs(records, args, command, wall)
    return 0


def write_outputs(records: list[dict], args: argparse.Namespace, command: str, wall: float, note: str = "") -> None:
    """Write ``<out>.md``, ``<out>.json`` and ``<out>.png`` and print the tables."""
    records.sort(key=lambda r: (r["seed"], METHODS.index(r["method"])))
    for seed in sorted({r["seed"] for r in records if "min_possible_errors" not in r}):  # older .json files
        Xtr, _, ytr, _ = load_task(args, seed)
        for r in records:
            if r["seed"] == seed:
                r["min_possible_errors"] = min_possible_errors(Xtr, ytr)
    summary = summarise(records)
    comparisons = {m: paired(records, m) for m in METHODS[1:]}
    md = markdown(summary, comparisons, records, args, command, wall, note)
    with open(args.out + ".md", "w") as fh:
        fh.write(md)
    with open(args.out + ".json", "w") as fh:
        json.dump({"command": command, "settings": vars(args), "wall_seconds": wall, "summary": summary,
                   "paired_vs_none": comparisons, "records": records}, fh, indent=1, default=float)
    majority = float(np.mean([r["majority_test_acc"] for r in records if r["method"] == "none"]))
    n_in = 16 if TASKS[args.task]["pool"] else 64
    plot(summary, majority, args.out + ".png",
         f"digits 3 vs 8, {n_in}-{args.hidden}-1, n_train={args.n_train}, {args.seeds} seeds, collapsed annealer "
         f"{args.num_reads}x{args.num_sweeps}")
    print(md)
    print(f"wrote {args.out}.md, .png, .json")


if __name__ == "__main__":
    sys.exit(main())
