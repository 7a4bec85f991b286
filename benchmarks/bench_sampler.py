"""Benchmark ``solvers.IsingSampler`` against dwave-samplers' SimulatedAnnealingSampler.

Both samplers get the same BQM, ``num_reads``, ``num_sweeps`` and
``beta_range`` (neal's default for that BQM). Flip rate is
``num_reads * num_sweeps * num_variables / wall seconds`` of the whole
``sample`` call.

Example::

    python benchmarks/bench_sampler.py --reads 8 --sweeps 500 --threads 1,2
    python benchmarks/bench_sampler.py --device cuda --size 100000 --reads 64 --threads 1
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import dimod
import networkx as nx
import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dwave.samplers import SimulatedAnnealingSampler  # noqa: E402
from dwave.samplers.sa.sampler import default_beta_range as neal_default_beta_range  # noqa: E402

from solvers import IsingSampler  # noqa: E402


def planted_loop_instance(size: int, seed: int = 1) -> tuple[dimod.BQM, float, str]:
    """Frustrated-loop BQM on a periodic 2D lattice of >= ``size`` spins.

    The planted all-+1 state is a ground state, so its energy is known.
    """
    side = math.ceil(math.sqrt(size))
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(side, side, periodic=True))
    bqm = dimod.generators.frustrated_loop(graph, num_cycles=len(graph) // 4,
                                           plant_solution=True, seed=seed)
    ground = bqm.energy(dict.fromkeys(bqm.variables, 1))
    return bqm, ground, f"planted frustrated loop, {side}x{side} periodic lattice"


def training_instances(size: int) -> list[tuple[dimod.BQM, None, str]]:
    """Training BQMs of Network(16).dense(4).dense(1) on the digits task.

    First the default task (digits 3 vs 8, 100 training samples, target bit
    ``label == 8``), then, because that BQM has only a few thousand variables,
    the same network on all ten digits (target bit ``label >= 5``) with enough
    training samples for >= ``size`` variables. Empty if qubo_bnn is missing.
    """
    try:
        from qubo_bnn.datasets import load_digits_task
        from qubo_bnn.formulation import TrainingQUBO
        from qubo_bnn.network import Network
    except ImportError as exc:
        print(f"SKIP training instances: qubo_bnn API not available ({exc})\n")
        return []

    def build(X, bits):
        return TrainingQUBO(Network(16).dense(4).dense(1), X, bits.astype(np.int8)).to_bqm()

    X, _, y, _ = load_digits_task()
    default = build(X, y == 8)
    out = [(default, None, "qubo_bnn training BQM, default digits task (3 vs 8, 100 samples)")]
    n_train, large = len(y), default
    while len(large) < size and n_train < 1780:  # leave >= 10 test samples
        n_train = min(1780, math.ceil(1.05 * n_train * size / len(large)))
        X, _, y, _ = load_digits_task(classes=None, n_train=n_train, n_test=None)
        large = build(X, y >= 5)
    out.append((large, None,
                f"qubo_bnn training BQM, ten digits (label >= 5), {n_train} samples"))
    return out


def run_one(name: str, threads: str, sample, bqm: dimod.BQM, ground: float | None,
            reads: int, sweeps: int) -> dict:
    t0 = time.perf_counter()
    ss = sample()
    wall = time.perf_counter() - t0
    energies = ss.record.energy
    return {
        "sampler": name,
        "threads": threads,
        "wall_s": wall,
        "flips_per_s": reads * sweeps * len(bqm) / wall,
        "best": float(energies.min()),
        "median": float(np.median(energies)),
        "ground_frac": (float(np.mean(energies <= ground + 1e-6 * max(1.0, abs(ground))))
                        if ground is not None else None),
    }


def print_table(rows: list[dict]) -> None:
    ref = rows[0]["flips_per_s"]
    head = f"{'sampler':<14}{'threads':>8}{'wall_s':>10}{'flips/s':>12}{'best':>14}{'median':>14}{'ground_frac':>12}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        gf = "n/a" if r["ground_frac"] is None else f"{r['ground_frac']:.3f}"
        print(f"{r['sampler']:<14}{r['threads']:>8}{r['wall_s']:>10.3f}{r['flips_per_s']:>12.3e}"
              f"{r['best']:>14.6g}{r['median']:>14.6g}{gf:>12}{r['flips_per_s'] / ref:>8.2f}")
    print()


def bench(bqm: dimod.BQM, ground: float | None, label: str, args: argparse.Namespace) -> None:
    beta_range = [float(b) for b in neal_default_beta_range(bqm)]
    print(f"== {label}: {len(bqm)} variables, {bqm.num_interactions} interactions, "
          f"reads={args.reads}, sweeps={args.sweeps}, beta_range=({beta_range[0]:.4g}, {beta_range[1]:.4g})")
    if ground is not None:
        print(f"   planted ground energy {ground:g}")
    kw = dict(num_reads=args.reads, num_sweeps=args.sweeps, beta_range=beta_range, seed=args.seed)
    neal = SimulatedAnnealingSampler()
    rows = [run_one("neal", "1", lambda: neal.sample(bqm, **kw), bqm, ground, args.reads, args.sweeps)]
    ours = IsingSampler(device=args.device)
    name = f"ours[{ours.device}]"
    if ours.device == "cuda":
        rows.append(run_one(name, "gpu", lambda: ours.sample(bqm, **kw), bqm, ground,
                            args.reads, args.sweeps))
    else:
        for t in args.threads:
            numba.set_num_threads(t)
            rows.append(run_one(name, str(t), lambda: ours.sample(bqm, **kw), bqm, ground,
                                args.reads, args.sweeps))
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    ours.close()
    print_table(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reads", type=int, default=8)
    p.add_argument("--sweeps", type=int, default=500)
    p.add_argument("--threads", type=lambda s: [int(t) for t in s.split(",")], default=[1, 2],
                   help="comma-separated CPU thread counts for ours (default 1,2)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    p.add_argument("--size", type=int, default=20000,
                   help="minimum variables of the lattice and the large training instance")
    p.add_argument("--instances", default="loop,training", help="comma-separated: loop,training")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    if max(args.threads) > numba.config.NUMBA_NUM_THREADS:
        p.error(f"--threads exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")

    # compile (or load cached) kernels outside the timings
    warm = dimod.BQM({0: 1.0}, {(0, 1): -1.0}, 0.0, "SPIN")
    with IsingSampler(device=args.device) as s:
        s.sample(warm, num_reads=2, num_sweeps=2, seed=0)
    print(f"numba {numba.__version__}, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, "
          f"dimod {dimod.__version__}\n")

    names = args.instances.split(",")
    if "loop" in names:
        bench(*planted_loop_instance(args.size), args)
    if "training" in names:
        for inst in training_instances(args.size):
            bench(*inst, args)


if __name__ == "__main__":
    main()
