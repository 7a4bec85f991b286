"""Numba-CUDA kernel of the collapsed annealer: the algorithm of :mod:`qubo_bnn._collapsed_cpu`.

Same state, proposals and acceptance rule as :func:`qubo_bnn._collapsed_cpu.anneal`: per read,
the weights ``w`` and per (row, neuron) the agreement count ``u`` and activation ``a``; every
sweep proposes the weights in edge order; a flip's energy change is propagated through the
flipped edge's neuron and its descendants row by row; Metropolis with ``dE <= 0`` accepted, a
``beta·dE >= MAX_BETA_DE`` proposal rejected without a draw, and otherwise the counter-based
uniform ``uniform(key, read, sweep0 + sweep, edge)`` of the CPU kernel (compiled here from the same
Python source, see :data:`uniform_device`).

Work split: one thread block per read. The block's threads split the rows (thread ``t`` owns
rows ``t, t + T, t + 2T, ...``). For each proposal every thread propagates the flip through its
rows, keeping each row's tentative count changes in a scratch array ``D`` in global memory (the
changes of neuron ``k`` are complete when ``k`` is reached, as neurons are in topological order)
and a running sum of its rows' energy change; a shared-memory tree in a fixed order sums the
threads' parts; thread 0 adds the ``h`` term, applies the Metropolis test and broadcasts the
decision through shared memory; each thread then commits (or drops) its rows' changes. The final
energy of a read is summed the same way (per-thread running sums over rows, the fixed tree, then
``h·w`` in edge order by thread 0). Per-read state lives in global memory as ``(num_reads, J, R)``
arrays so that the threads of a warp touch consecutive rows; ``X``, ``Wt`` and ``fixed_act`` are
transposed on the host for the same reason.

Bit-exactness with the CPU kernel. The acceptance decisions, hence the weights, follow the CPU
exactly as long as every ``dE`` (and final energy) comes out the same. The CPU sums a flip's
row terms ``Wt·(G[un] − G[uo])`` sequentially over rows; here each thread sums its rows in the
same order and the tree adds the threads' parts, so the order of the floating-point additions
differs (with ``threads=1`` it is the CPU's order). The results are therefore identical whenever
all those sums are exact, which holds when the cost tables ``G``, the row counts ``Wt`` and ``h``
are dyadic rationals of modest size: e.g. ``B`` an integer, ``mu`` and ``h`` multiples of 1/4 (or
of any power of two), ``A=None`` (then ``A = B·n_out + mu·ΣF + 1`` is dyadic too), and magnitudes
far below ``2**53`` times the finest power of two. Two further caveats apply on a real GPU only
(not in the simulator, which runs the host's arithmetic): NVVM contracts ``x*y + z`` into fused
multiply-adds (exact too for dyadic inputs, as the products are exact), and the device ``exp``
(libdevice) differs from the host's (libm, which the CPU kernel calls) by 1 ulp for about 6% of
arguments (measured on an H200 over ``[-44.4, 0]``); that changes a decision only when the
Metropolis uniform (on a grid of step ``2**-32``) falls between the two values, a chance below
``2**-21`` where they differ, so about ``3e-8`` per drawn proposal. With non-dyadic coefficients
the samples are the same in distribution but may part ways after a rounding difference (on an
H200, 291 and 1,609 rows, 64/128 reads, 200-300 sweeps: every read still had the CPU's weights,
energies differed in the last bits).

Performance notes (the kernel is written for clarity first): the block synchronises
``log2(T) + 2`` times per proposal, so small data sets (few rows) leave most of a block idle; a
warp per read (several reads per block, warp-shuffle reductions in a fixed order) would suit
``R <= 32``. ``u`` fits int16 and ``D`` int8/int16 for typical fan-ins, halving the memory
traffic; the weights of a read could sit in shared memory; the rows' scratch could be avoided by
recomputing the propagation on acceptance only (rare at low temperature).
"""
from __future__ import annotations

import math
import types
import warnings

import numpy as np
from numba import config, cuda, float64, int32
from numba.core.errors import NumbaPerformanceWarning

from . import _collapsed_cpu
from ._collapsed_cpu import MAX_BETA_DE

MAX_THREADS = 8 if config.ENABLE_CUDASIM else 128  # threads per block, a power of two


def _device_copy(function, **bindings):
    """``function``'s Python source compiled as a CUDA device function, globals rebound."""
    py = function.py_func
    namespace = dict(py.__globals__, **bindings)
    clone = types.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__, py.__closure__)
    return cuda.jit(device=True, inline=True)(clone)


mix32_device = _device_copy(_collapsed_cpu.mix32)
#: The CPU kernel's ``uniform(key, read, sweep, edge)``, from the same source, for the device.
uniform_device = _device_copy(_collapsed_cpu.uniform, mix32=mix32_device)


@cuda.jit(device=True)
def _source_act(s, r, n_in, XT, a):
    if s == -1:
        return 1
    if s < n_in:
        return XT[s, r]
    return a[s - n_in, r]


@cuda.jit(device=True)
def _forward_row(r, w, XT, src, dst, thr, fixed, fixed_actT, u, a):
    """Counts and activations of row ``r`` (as ``_collapsed_cpu._forward``)."""
    J = thr.shape[0]
    E = w.shape[0]
    n_in = XT.shape[0]
    for k in range(J):
        u[k, r] = 0
    for e in range(E):
        k = dst[e]
        if w[e] * _source_act(src[e], r, n_in, XT, a) > 0:
            u[k, r] += 1
        if e + 1 == E or dst[e + 1] != k:  # last edge of neuron k
            if fixed[k]:
                a[k, r] = fixed_actT[k, r]
            elif u[k, r] >= thr[k]:
                a[k, r] = 1
            else:
                a[k, r] = -1


@cuda.jit(device=True)
def _propose_row(e, r, de, w, XT, src, dst, thr, fixed, out_ptr, out_edge, G, WtT, u, a, d):
    """Add row ``r``'s energy change of flipping ``e`` to ``de`` (as ``_propose``).

    The count changes stay in ``d[k, r]`` (zero elsewhere); returns ``(de, kmax)``, the last
    neuron that may have changed.
    """
    k0 = dst[e]
    d[k0, r] = -w[e] * _source_act(src[e], r, XT.shape[0], XT, a)
    kmax = k0
    k = k0
    while k <= kmax:
        dk = d[k, r]
        if dk != 0:
            uo = u[k, r]
            un = uo + dk
            de += WtT[k, 0, r] * (G[k, 0, un] - G[k, 0, uo]) + WtT[k, 1, r] * (G[k, 1, un] - G[k, 1, uo])
            if not fixed[k]:
                an = 1 if un >= thr[k] else -1
                if an != a[k, r]:
                    for p in range(out_ptr[k], out_ptr[k + 1]):
                        e2 = out_edge[p]
                        t = dst[e2]
                        d[t, r] += w[e2] * an
                        if t > kmax:
                            kmax = t
        k += 1
    return de, kmax


@cuda.jit(device=True)
def _block_sum(partial, value):
    """Sum of every thread's ``value`` in a fixed tree order; valid in thread 0 only.

    ``blockDim.x`` must be a power of two. Ends with a barrier, so ``partial`` may be written
    again after the caller's next barrier.
    """
    t = cuda.threadIdx.x
    partial[t] = value
    cuda.syncthreads()
    stride = cuda.blockDim.x // 2
    while stride > 0:
        if t < stride:
            partial[t] += partial[t + stride]
        cuda.syncthreads()
        stride //= 2
    return partial[0]


@cuda.jit
def _anneal_kernel(W, XT, src, dst, thr, fixed, fixed_actT, out_ptr, out_edge, G, WtT, h,
                   betas, key, sweep0, U, A, D, KM, energies):
    """Block ``rd`` anneals read ``rd``: ``W[rd]`` in place, its energy to ``energies[rd]``.

    ``betas[b]`` is sweep ``sweep0 + b`` of the schedule (the uniforms are keyed by it).
    """
    partial = cuda.shared.array(MAX_THREADS, float64)
    flag = cuda.shared.array(1, int32)
    rd = cuda.blockIdx.x
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    E = W.shape[1]
    R = XT.shape[1]
    w = W[rd]
    u = U[rd]
    a = A[rd]
    d = D[rd]
    km = KM[rd]
    for r in range(t, R, T):
        _forward_row(r, w, XT, src, dst, thr, fixed, fixed_actT, u, a)
    for b in range(betas.shape[0]):
        beta = betas[b]
        for e in range(E):
            de = 0.0
            for r in range(t, R, T):
                de, kmax = _propose_row(e, r, de, w, XT, src, dst, thr, fixed, out_ptr, out_edge,
                                        G, WtT, u, a, d)
                km[r] = kmax
            total = _block_sum(partial, de)
            if t == 0:
                total += -2.0 * h[e] * w[e]  # h·w with w -> -w
                accept = total <= 0.0
                if not accept and beta * total < MAX_BETA_DE:
                    accept = uniform_device(key, rd, sweep0 + b, e) < math.exp(-beta * total)
                flag[0] = 1 if accept else 0
                if accept:
                    w[e] = -w[e]
            cuda.syncthreads()
            accepted = flag[0] != 0
            # no barrier needed after this: a thread only touches its own rows, and flag and
            # partial are rewritten only after the next proposal's barriers
            k0 = dst[e]
            for r in range(t, R, T):
                for k in range(k0, km[r] + 1):
                    dk = d[k, r]
                    if dk != 0:
                        d[k, r] = 0
                        if accepted:
                            un = u[k, r] + dk
                            u[k, r] = un
                            if not fixed[k]:
                                a[k, r] = 1 if un >= thr[k] else -1
    J = thr.shape[0]
    acc = 0.0
    for r in range(t, R, T):
        for k in range(J):
            uk = u[k, r]
            acc += WtT[k, 0, r] * G[k, 0, uk] + WtT[k, 1, r] * G[k, 1, uk]
    total = _block_sum(partial, acc)
    if t == 0:
        for e in range(E):
            total += h[e] * w[e]
        energies[rd] = total


def threads_per_block(n_rows: int) -> int:
    """``min(MAX_THREADS, next power of two >= n_rows)``."""
    return min(MAX_THREADS, 1 << max(0, int(n_rows) - 1).bit_length())


def anneal_cuda(model, W: np.ndarray, betas: np.ndarray, key: int, sweep0: int = 0, *,
                threads: int | None = None) -> np.ndarray:
    """Anneal the int8 ±1 weights ``W`` ``(num_reads, n_weights)`` in place on the GPU.

    ``model`` is a :class:`~qubo_bnn.collapsed.CollapsedModel`; returns the final collapsed
    energy of each read (float64). As in the CPU kernel, ``betas`` are the sweeps ``sweep0,
    sweep0 + 1, ...`` of the schedule, so a schedule run in chunks gives the same result as one
    call (each call recomputes the counts from ``W``). ``threads`` (a power of two <=
    :data:`MAX_THREADS`, default :func:`threads_per_block`) changes only the order of
    floating-point additions (see the module docstring). Device buffers live for the duration of
    the call: about ``9·num_reads·n_rows·n_neurons`` bytes of per-read state besides the model.
    """
    num_reads, E = W.shape
    R, J = model.X.shape[0], model.thr.shape[0]
    if threads is None:
        threads = threads_per_block(R)
    if threads < 1 or threads > MAX_THREADS or threads & (threads - 1):
        raise ValueError(f"threads must be a power of two <= {MAX_THREADS}, got {threads}")
    if W.dtype != np.int8 or E != model.src.shape[0]:
        raise ValueError(f"W must be int8 (num_reads, {model.src.shape[0]}), got {W.dtype} {W.shape}")
    energies = np.empty(num_reads, dtype=np.float64)
    if num_reads == 0:
        return energies
    c = np.ascontiguousarray
    d_W = cuda.to_device(c(W))
    args = (c(model.X.T), c(model.src, np.int32), c(model.dst, np.int32), c(model.thr, np.int32),
            c(model.fixed, np.bool_), c(model.fixed_act.T), c(model.out_ptr, np.int32),
            c(model.out_edge, np.int32), c(model.G, np.float64),
            c(np.transpose(model.Wt, (1, 2, 0)), np.float64), c(model.h, np.float64),
            c(betas, np.float64))
    d_args = tuple(cuda.to_device(x) for x in args)
    d_U = cuda.device_array((num_reads, J, R), dtype=np.int32)
    d_A = cuda.device_array((num_reads, J, R), dtype=np.int8)
    d_D = cuda.to_device(np.zeros((num_reads, J, R), dtype=np.int32))  # zero between proposals
    d_KM = cuda.device_array((num_reads, R), dtype=np.int32)
    d_E = cuda.device_array(num_reads, dtype=np.float64)
    with warnings.catch_warnings():  # one block per read: few reads leave the GPU idle, by design
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        _anneal_kernel[num_reads, threads](d_W, *d_args, np.uint64(key), np.int64(sweep0),
                                           d_U, d_A, d_D, d_KM, d_E)
    W[...] = d_W.copy_to_host()
    d_E.copy_to_host(energies)
    return energies
