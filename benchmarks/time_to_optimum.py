"""Default call vs CP-SAT's proof on the default task, no sweep count chosen after the fact.

For split seeds 0..4 of the default task (digits 3 vs 8, 4x4 pooled bits, 16-4-1, 100 training
images, every input connected), the training problem with the plain 0-1 loss (mu = 0, h = 0,
default A) is given, in one process, to

* the collapsed annealer with the estimator's default call (16 reads x 500 sweeps, default beta
  range, seed = split seed; it stops at the first of 64 checkpoints where a read meets the proven
  lower bound), through :func:`qubo_bnn.training.train_problem` (no BQM built), and
* CP-SAT (2 workers, 60 s limit) until it proves the optimum,

and prints both wall times, the training errors, whether the annealer reached CP-SAT's proven
optimum, the per-split ratio and the median ratio. Warm-up compiles are excluded.

    python benchmarks/time_to_optimum.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from qubo_bnn import Network, TrainingQUBO  # noqa: E402
from qubo_bnn.classifier import DEFAULT_SAMPLE_PARAMS  # noqa: E402
from qubo_bnn.collapsed import CollapsedSampler  # noqa: E402
from qubo_bnn.datasets import load_digits_task  # noqa: E402
from qubo_bnn.samplers import make_sampler  # noqa: E402
from qubo_bnn.training import train_problem  # noqa: E402


def problem(seed: int) -> TrainingQUBO:
    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=100, seed=seed)
    return TrainingQUBO(Network(16).dense(4).dense(1), X, (y == 8).astype(int), margin_neurons="none")


def main() -> int:
    cpsat = make_sampler("cpsat")
    warm = problem(0)
    train_problem(warm, warm.coefficients(), CollapsedSampler(), {"num_reads": 2, "num_sweeps": 10, "seed": 0})
    ratios = []
    print("| split | collapsed default call s | errors | sweeps run | CP-SAT proof s | optimum | reached | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    for seed in range(5):
        q = problem(seed)
        c = q.coefficients()
        t0 = time.perf_counter()
        run = train_problem(q, c, CollapsedSampler(), {**DEFAULT_SAMPLE_PARAMS, "seed": seed})
        t_ann = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact = train_problem(q, c, cpsat, {"time_limit": 60.0, "num_workers": 2, "seed": seed}, refine_sweeps=0)
        t_cp = time.perf_counter() - t0
        proven = exact.info["sampler_info"].get("optimal") is True
        reached = run.info["train_output_errors"] == exact.info["train_output_errors"]
        sweeps = run.info["sampler_info"].get("num_sweeps_run")
        ratios.append(t_cp / t_ann)
        print(f"| {seed} | {t_ann:.3f} | {run.info['train_output_errors']} | {sweeps} | {t_cp:.3f} | "
              f"{exact.info['train_output_errors']}{'' if proven else ' (not proven)'} | {'yes' if reached else 'no'} | "
              f"{t_cp / t_ann:.1f}x |")
    print(f"median ratio (CP-SAT proof time / default call): {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
