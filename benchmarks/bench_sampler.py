"""Benchmark ``qubo_bnn_solvers.IsingSampler`` against dwave-samplers' SimulatedAnnealingSampler.

Both samplers get the same BQM, ``num_reads`` and ``beta_range`` (neal's
default for that BQM). Two modes:

* ``--mode rate`` (default): equal ``num_sweeps``; flip rate is
  ``num_reads * num_sweeps * num_variables / wall seconds`` of the whole
  ``sample`` call, plus best and median energy.
* ``--mode ttt``: time to equal median energy. neal runs ``--sweeps`` sweeps
  on one thread; ours runs ``--sweeps`` times 1/64, 1/32, ..., 1, 2, 4 sweeps
  and stops at the first run whose median energy is <= neal's. The ratio is
  neal's time over ours, for the whole ``sample`` call and for the sampling
  step alone (each sampler's ``info["timing"]``).

Example::

    python benchmarks/bench_sampler.py --reads 8 --sweeps 500 --threads 1,2
    python benchmarks/bench_sampler.py --mode ttt --instances training --threads 2
    python benchmarks/bench_sampler.py --device cuda --mode ttt --size 100000 --reads 32 --sweeps 1000
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

from qubo_bnn_solvers import IsingSampler  # noqa: E402


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
    """Training BQMs of the digits tasks.

    First the default task (Network(16).dense(4).dense(1), digits 3 vs 8, 100
    training samples), then, because that BQM has only a few thousand
    variables, the ten-class network Network(16).dense(4).dense(10) (one
    output per digit, one-vs-rest targets) on all ten digits with enough
    training samples for >= ``size`` variables. Empty if qubo_bnn is missing.
    """
    try:
        from qubo_bnn.datasets import load_digits_task
        from qubo_bnn.formulation import TrainingQUBO
        from qubo_bnn.network import Network
    except ImportError as exc:
        print(f"SKIP training instances: qubo_bnn API not available ({exc})\n")
        return []

    X, _, y, _ = load_digits_task()
    default = TrainingQUBO(Network(16).dense(4).dense(1), X, (y == 8).astype(np.int8)).to_bqm()
    out = [(default, None, "qubo_bnn training BQM, default digits task (3 vs 8, 100 samples)")]

    def ten_class(n_train):
        X, _, y, _ = load_digits_task(classes=None, n_train=n_train, n_test=None)
        targets = (y[:, None] == np.arange(10)).astype(np.int8)
        return TrainingQUBO(Network(16).dense(4).dense(10), X, targets).to_bqm()

    n_train = 100
    large = ten_class(n_train)
    while len(large) < size and n_train < 1780:  # leave >= 10 test samples
        n_train = min(1780, math.ceil(1.02 * n_train * size / len(large)))
        large = ten_class(n_train)
    out.append((large, None, f"qubo_bnn training BQM, ten digits, 16-4-10 one-vs-rest, "
                             f"{n_train} samples"))
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


def _sampling_seconds(ss: dimod.SampleSet) -> float:
    return ss.info["timing"]["sampling_ns"] * 1e-9  # ours and dwave-samplers alike


def time_to_target(bqm: dimod.BQM, ground: float | None, label: str,
                   args: argparse.Namespace) -> None:
    """neal at ``args.sweeps`` sweeps, then ours on a sweep ladder up to its median."""
    beta_range = [float(b) for b in neal_default_beta_range(bqm)]
    print(f"== time to neal's median energy: {label}: {len(bqm)} variables, "
          f"{bqm.num_interactions} interactions, reads={args.reads}")
    kw = dict(num_reads=args.reads, beta_range=beta_range, seed=args.seed)
    t0 = time.perf_counter()
    ss = SimulatedAnnealingSampler().sample(bqm, num_sweeps=args.sweeps, **kw)
    ref_wall, ref_sampling = time.perf_counter() - t0, _sampling_seconds(ss)
    target = float(np.median(ss.record.energy))
    head = f"{'sampler':<16}{'threads':>8}{'sweeps':>8}{'wall_s':>10}{'sampling_s':>12}{'median':>14}{'best':>14}"
    print(head + "\n" + "-" * len(head))
    print(f"{'neal':<16}{'1':>8}{args.sweeps:>8}{ref_wall:>10.3f}{ref_sampling:>12.3f}"
          f"{target:>14.6g}{float(ss.record.energy.min()):>14.6g}")

    ours = IsingSampler(device=args.device)
    threads = "gpu" if ours.device == "cuda" else str(max(args.threads))
    if ours.device == "cpu":
        numba.set_num_threads(max(args.threads))
    hit = None
    for factor in (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4):
        sweeps = max(1, round(args.sweeps * factor))
        t0 = time.perf_counter()
        ss = ours.sample(bqm, num_sweeps=sweeps, **kw)
        wall, sampling = time.perf_counter() - t0, _sampling_seconds(ss)
        median = float(np.median(ss.record.energy))
        print(f"{'ours[' + ours.device + ']':<16}{threads:>8}{sweeps:>8}{wall:>10.3f}"
              f"{sampling:>12.3f}{median:>14.6g}{float(ss.record.energy.min()):>14.6g}")
        if median <= target:
            hit = (sweeps, wall, sampling)
            break
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    ours.close()
    if hit is None:
        print(f"ours did not reach neal's median {target:g} within {4 * args.sweeps} sweeps\n")
        return
    sweeps, wall, sampling = hit
    print(f"time-to-equal-median ratio neal/ours: whole call {ref_wall / wall:.1f}x, "
          f"sampling only {ref_sampling / sampling:.1f}x "
          f"(ours {sweeps} sweeps vs neal {args.sweeps})\n")


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
    p.add_argument("--mode", default="rate", choices=["rate", "ttt"],
                   help="rate: equal sweeps, flip rates; ttt: time to neal's median energy")
    args = p.parse_args(argv)
    if max(args.threads) > numba.config.NUMBA_NUM_THREADS:
        p.error(f"--threads exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")

    # compile (or load cached) kernels outside the timings
    warm = dimod.BQM({0: 1.0}, {(0, 1): -1.0}, 0.0, "SPIN")
    with IsingSampler(device=args.device) as s:
        s.sample(warm, num_reads=2, num_sweeps=2, seed=0)
    print(f"numba {numba.__version__}, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, "
          f"dimod {dimod.__version__}\n")

    run = bench if args.mode == "rate" else time_to_target
    names = args.instances.split(",")
    if "loop" in names:
        run(*planted_loop_instance(args.size), args)
    if "training" in names:
        for inst in training_instances(args.size):
            run(*inst, args)


if __name__ == "__main__":
    main()
