"""Does updating one colour class at a time (the CUDA path) anneal as well as a sequential sweep?

Runs, on the same BQMs with the same beta schedule and number of reads, the
CPU path of ``qubo_bnn_solvers.IsingSampler`` (sequential sweeps, as neal) and a plain
scipy/numpy annealer (tests/oracles.py) that visits the colour classes in
order and uses the CUDA kernels' counter-based random numbers (the reference
the CUDA tests compare the kernels against). Prints median and best energy
of each, for several sweep counts. No GPU needed.

Example::

    python benchmarks/colour_order_quality.py --reads 16 --sweeps 100,500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dimod
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_sampler import planted_loop_instance, training_instances  # noqa: E402
from oracles import colour_sweep_anneal  # noqa: E402
from qubo_bnn_solvers import IsingSampler  # noqa: E402
from qubo_bnn_solvers._cuda import seed_keys  # noqa: E402
from qubo_bnn_solvers._ising import (beta_schedule, default_beta_range, greedy_colouring,  # noqa: E402
                            ising_csr_from_bqm)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reads", type=int, default=16)
    p.add_argument("--sweeps", default="100,500", help="comma-separated sweep counts")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    instances = [planted_loop_instance(2500), training_instances(0)[0]]
    sampler = IsingSampler(device="cpu")
    head = f"{'instance':<44}{'sweeps':>7}{'sequential median':>19}{'colour-order median':>21}{'seq best':>10}{'col best':>10}"
    print(head + "\n" + "-" * len(head))
    for bqm, _, label in instances:
        model = ising_csr_from_bqm(bqm)
        vertices, ptr = greedy_colouring(model)
        classes = [vertices[ptr[c]:ptr[c + 1]] for c in range(ptr.size - 1)]
        init = np.random.default_rng(args.seed).choice(np.array([-1, 1], dtype=np.int8),
                                                       (args.reads, len(bqm)))
        spins = list(bqm.variables)
        for sweeps in (int(v) for v in args.sweeps.split(",")):
            betas = beta_schedule(default_beta_range(model), sweeps, "geometric")
            seq = sampler.sample(bqm, num_reads=args.reads, num_sweeps=sweeps,
                                 beta_range=(betas[0], betas[-1]), seed=args.seed).record.energy
            final = colour_sweep_anneal(bqm, classes, betas, init, *seed_keys(args.seed))
            if bqm.vartype is dimod.BINARY:
                final = (final + 1) // 2
            col = bqm.energies((final, spins))
            print(f"{label[:43]:<44}{sweeps:>7}{np.median(seq):>19.6g}{np.median(col):>21.6g}"
                  f"{seq.min():>10.6g}{col.min():>10.6g}")


if __name__ == "__main__":
    main()
