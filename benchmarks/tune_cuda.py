"""Time the CUDA annealer's work-split settings on one training BQM (GPU only).

The settings (launch mode, threads per block, heavy-degree threshold, chunk
size) change how the work is spread, never the samples: the script checks
that every setting returns the same spins and prints the sampling time of
each, so one run on a GPU tells which defaults to keep.

Example::

    python benchmarks/tune_cuda.py --size 100000 --reads 32 --sweeps 200
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from numba import cuda

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sampler import training_instances  # noqa: E402
from qubo_bnn_solvers._cuda import THREADS_PER_BLOCK, anneal_cuda  # noqa: E402
from qubo_bnn_solvers._ising import (beta_schedule, default_beta_range, greedy_colouring,  # noqa: E402
                            ising_csr_from_bqm)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=100000, help="minimum variables of the BQM")
    p.add_argument("--reads", type=int, default=32)
    p.add_argument("--sweeps", type=int, default=200)
    p.add_argument("--threads", default="128,256", help="comma-separated threads per block")
    p.add_argument("--heavy", default="64,256,1024", help="comma-separated heavy-degree thresholds")
    p.add_argument("--chunks", default="64,256", help="comma-separated chunk sizes")
    args = p.parse_args(argv)
    if not cuda.is_available():
        sys.exit("tune_cuda.py needs a CUDA GPU (or NUMBA_ENABLE_CUDASIM=1 with tiny sizes)")

    instances = training_instances(args.size)
    bqm, _, label = next((i for i in instances if len(i[0]) >= args.size), instances[-1])
    model = ising_csr_from_bqm(bqm)
    vertices, colour_ptr = greedy_colouring(model)
    betas = beta_schedule(default_beta_range(model), args.sweeps, "geometric")
    init = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8),
                                           (args.reads, model.num_variables))
    flips = args.reads * args.sweeps * model.num_variables
    print(f"{label}: {model.num_variables} variables, {colour_ptr.size - 1} colours, "
          f"reads={args.reads}, sweeps={args.sweeps}")
    anneal_cuda(model, vertices, colour_ptr, betas[:1], init, seed=1)  # compile
    anneal_cuda(model, vertices, colour_ptr, betas[:1], init, seed=1, cooperative=False)

    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731
    settings = [(True, t, hd, c) for t, hd, c in
                itertools.product(ints(args.threads), ints(args.heavy), ints(args.chunks))
                if t <= THREADS_PER_BLOCK]
    settings.append((False, THREADS_PER_BLOCK, 256, 256))
    head = f"{'launch':<12}{'threads':>8}{'heavy':>7}{'chunk':>7}{'blocks':>8}{'seconds':>11}{'us/sweep':>12}{'flips/s':>12}"
    print(head + "\n" + "-" * len(head))
    reference = None
    for cooperative, threads, heavy, chunk in settings:
        t0 = time.perf_counter()
        out, info = anneal_cuda(model, vertices, colour_ptr, betas, init, seed=1,
                                threads=threads, heavy_degree=heavy, chunk=chunk,
                                cooperative=cooperative)
        wall = time.perf_counter() - t0
        same = "" if reference is None or np.array_equal(out, reference) else "  SAMPLES DIFFER"
        reference = out if reference is None else reference
        print(f"{info['launch']:<12}{threads:>8}{heavy:>7}{chunk:>7}{info['blocks']:>8}"
              f"{wall:>11.4f}{1e6 * wall / args.sweeps:>12.1f}{flips / wall:>12.3e}{same}")


if __name__ == "__main__":
    main()
