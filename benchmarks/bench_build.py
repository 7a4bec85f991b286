"""Build time of the training BQM: PyQUBO compile + to_bqm vs the vectorised numpy builder.

    python benchmarks/bench_build.py [--sizes 100 300 1000] [--skip-pyqubo-above N]

Same network and data for both builders; checks the two BQMs are identical. Also reports the
size without merging duplicate input rows (``merge_duplicates=False``) beside the merged one.
"""
from __future__ import annotations

import argparse
import time

import dimod

from qubo_bnn.datasets import load_digits_task
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network


def task(n_train: int):
    """The default pair (3, 8) has 357 samples; larger sizes use all ten digits (10 outputs)."""
    if n_train <= 300:
        X, _, y, _ = load_digits_task(classes=(3, 8), n_train=n_train)
        return "digits 3 vs 8, 16-4-1", Network(16).dense(4).dense(1), X, (y == 8).astype(int)
    X, _, y, _ = load_digits_task(classes=None, n_train=n_train)
    return "digits 0-9, 16-4-10", Network(16).dense(4).dense(10), X, (y[:, None] == range(10)).astype(int)


def build(builder, net, X, t, merge=True):
    t0 = time.perf_counter()
    q = TrainingQUBO(net, X, t, builder=builder, merge_duplicates=merge)
    return q.to_bqm(), time.perf_counter() - t0, q.n_rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--skip-pyqubo-above", type=int, default=10**9)
    args = ap.parse_args()
    print(f"{'task':22s} {'n':>5s} {'rows':>5s} {'unmerged vars/couplings':>24s} {'variables':>9s} "
          f"{'couplings':>10s} {'numpy s':>8s} {'pyqubo s':>9s} {'ratio':>6s}")
    for n in args.sizes:
        name, net, X, t = task(n)
        plain, _, _ = build("numpy", net, X, t, merge=False)
        bqm, ns, rows = build("numpy", net, X, t)
        if n <= args.skip_pyqubo_above:
            bqm2, ps, _ = build("pyqubo", net, X, t)
            dimod.testing.assert_bqm_almost_equal(bqm, bqm2, places=6)
            extra = f"{ps:9.2f} {ps / ns:6.1f}"
        else:
            extra = f"{'skipped':>9s}"
        unmerged = f"{plain.num_variables}/{plain.num_interactions}"
        print(f"{name:22s} {n:5d} {rows:5d} {unmerged:>24s} {bqm.num_variables:9d} {bqm.num_interactions:10d} "
              f"{ns:8.2f} {extra}", flush=True)


if __name__ == "__main__":
    main()
