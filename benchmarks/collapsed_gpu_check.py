"""Collapsed annealer, CUDA against CPU: bit-exactness and timing on a larger instance.

    python benchmarks/collapsed_gpu_check.py ROWS READS SWEEPS   (on a machine with a GPU)
"""
import math
import sys
import time

import numpy as np
from numba import cuda

from qubo_bnn import Network, TrainingQUBO
from qubo_bnn._collapsed_cpu import anneal
from qubo_bnn._collapsed_cuda import anneal_cuda, threads_per_block
from qubo_bnn.collapsed import CollapsedModel, CollapsedSampler, beta_schedule

n_rows, reads, sweeps = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(0)
X = rng.integers(0, 2, (n_rows, 12))
y = (X[:, :6].sum(1) > X[:, 6:].sum(1)).astype(int)
net = Network(12).dense(6).dense(3).dense(1)
q = TrainingQUBO(net, X, y)
print(f"rows {q.n_rows}, weights {q.n_weights}, neurons {net.n_neurons}, threads {threads_per_block(q.n_rows)}")


def run(coef, label, problem=q):
    model = CollapsedModel.from_problem(problem, **coef)
    hot, cold = model.default_beta_range(np.random.default_rng(1))
    betas = beta_schedule((hot, cold), sweeps, "geometric")
    W0 = rng.choice(np.array([-1, 1], dtype=np.int8), (reads, problem.n_weights))
    Wc, Wg = W0.copy(), W0.copy()
    ec = np.empty(reads)
    anneal(Wc[:1].copy(), *model.kernel_args, betas[:1], 3, 0, ec[:1], levels=model.levels)  # compile
    anneal_cuda(model, Wg[:1].copy(), betas[:1], 3)  # compile
    t0 = time.perf_counter(); anneal(Wc, *model.kernel_args, betas, 3, 0, ec, levels=model.levels)
    t1 = time.perf_counter()
    eg = anneal_cuda(model, Wg, betas, 3); cuda.synchronize(); t2 = time.perf_counter()
    same_w = (Wc == Wg).all(axis=1)
    print(f"[{label}] cpu {t1 - t0:.3f}s gpu {t2 - t1:.3f}s; reads with identical weights "
          f"{same_w.sum()}/{reads}, identical energies {(ec == eg).sum()}/{reads}; "
          f"max |dE| {np.abs(ec - eg).max():.3g}; median energy cpu {np.median(ec)} gpu {np.median(eg)}")
    return same_w.all() and (ec == eg).all()


h = 0.25 * rng.integers(-2, 3, q.n_weights)
ok = run(dict(B=1.0, mu=0.5, h=h), "dyadic")
run(dict(B=1.0, mu=0.3, h=rng.normal(0, 0.1, q.n_weights)), "non-dyadic")
run(dict(B=1.0, mu=0.5, h=h), "min margin, dyadic", TrainingQUBO(net, X, y, margin_kind="min"))

# exp: libdevice vs host
@cuda.jit
def _exp(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = math.exp(x[i])

from numba import config, njit


@njit
def _host_exp(x):  # the CPU kernel's exp (Numba lowers np.exp to libm's exp)
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.exp(x[i])
    return out


x = -rng.uniform(0, 44.4, 1000 if config.ENABLE_CUDASIM else 10_000_000)
d_out = cuda.device_array_like(x)
_exp[(x.size + 255) // 256, 256](cuda.to_device(x), d_out)
g, want = d_out.copy_to_host(), _host_exp(x)
print(f"exp: device differs from the CPU kernel's in {(g != want).sum()} of {x.size} arguments, "
      f"max ulp {np.max(np.abs(g.view(np.int64) - want.view(np.int64)))}; numpy's own differs in "
      f"{(np.exp(x) != want).sum()}")

# end to end through the sampler
bqm = q.to_bqm(B=1.0, mu=0.5, h=h)
kw = dict(num_reads=reads, num_sweeps=sweeps, seed=5)
t0 = time.perf_counter(); g = CollapsedSampler(device="cuda").sample(bqm, **kw); t1 = time.perf_counter()
c = CollapsedSampler(device="cpu").sample(bqm, **kw); t2 = time.perf_counter()
same = np.array_equal(g.record.sample, c.record.sample) and np.array_equal(g.record.energy, c.record.energy)
print(f"sampler: device {g.info['device']}, identical samplesets {same}; cuda {t1 - t0:.2f}s cpu {t2 - t1:.2f}s")
sys.exit(0 if ok and same else 1)
