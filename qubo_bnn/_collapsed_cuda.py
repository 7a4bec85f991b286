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

Skipped rows: the row index of the CPU kernel, in a form without bitsets. Besides ``u`` and ``a``,
a read keeps per (neuron, row) the flags ``S[k, r] = step_at[k, row_mask[k, r], u[k, r]]`` (one
byte; ``step_at``, ``row_mask`` and ``flat`` are :func:`qubo_bnn._collapsed_cpu._row_index`'s,
built on the host): whether the row is live for a +1 / -1 step of ``k``'s count (the step can
change the energy or ``k``'s activation), and whether the count is one below / at the threshold.
They are set after the forward pass and rewritten wherever a commit changes a count. A proposal
of edge ``e`` (neuron ``k0``, step ``±1`` of ``k0``'s count in row ``r``) *walks* row ``r`` when
the CPU kernel walks it: the row is live for its step of ``k0`` and ``k0``'s terms are not flat,
or ``k0``'s activation flips (the below / at flag for that step) and a neuron ``k0`` feeds is live
for its own step or reads ``k0`` through two edges (``multi``, a ternary neuron: its count steps
by 0 or ±2, for which the single-step flags say nothing). A step is ``±unit[k]`` counts (2 for
a neuron reading 0/1 inputs), in direction 0 where the flipped edge's input is an off 0/1 input:
such a row is never walked and its counts do not change. For a row not walked the thread only
records ``KM[r] = -1``, reading nothing but the
source's activation and ``S[k0, r]``; if the flip is accepted it applies the row's changes at
commit time (``k0``'s count, and where ``k0``'s activation flips, its activation and its
children's counts, which do not flip). Within a walked row, a descendant's ±1 step where the row
is not live for it is quiet, as on the CPU (count change kept, no term, no activation check), and
flat neurons add no term. Every term skipped this way is exactly ``0.0`` in the full walk (a ``G``
difference of 0, or ``Wt = 0`` times a finite difference; with non-finite ``G`` or ``Wt`` every
row is live and nothing is flat), and adding ``±0.0`` to a sum that starts at ``+0.0`` (so is
never ``-0.0``) leaves it bit for bit unchanged, so each thread's part, the tree sum and every
decision are those of walking every row. ``visits`` (optional, see :func:`anneal_cuda`) counts the rows walked, which
equals the CPU kernel's count without class counting (:func:`qubo_bnn._collapsed_cpu.anneal_visits` with
``classes=False``; the CPU kernel's default sums a neuron's single-sample rows by bit counts instead, which
this kernel does not do). On a GPU the
saving is per warp and in memory traffic: a skipped lane issues almost no loads, but a warp
still waits for its slowest walked row (compacting the live rows of a warp would go further).

Min margin (``margin_kind="min"``, docs/FORMULATION.md): as on the CPU, a read keeps per neuron
a histogram ``H[k, level]`` of its rows' levels and the current minimum ``CUR[k]``. Each thread
moves its walked rows between levels (``d``'s count changes, :func:`_move_levels`) with atomic
adds, marking the neurons it moved; the barrier of the energy sum completes the moves, thread 0
reads off each marked neuron's new minimum (in neuron order, as the CPU kernel sums them), adds
their energy change before the ``h`` term and keeps the new minima if the flip is accepted;
after a rejection each thread moves its rows back. A row not walked changes no level (a step
that changes one makes the row live, :func:`qubo_bnn._collapsed_cpu._row_index`). The integer
histogram is the same whatever order the atomics land in, so the decisions are the CPU's.

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
recomputing the propagation on acceptance only (rare at low temperature). The skipped-row logic
raised the kernel from 62 to 88 registers per thread (ptxas, sm_90).
"""
from __future__ import annotations

import math
import types
import warnings

import numpy as np
from numba import config, cuda, float64, int32
from numba.core.errors import NumbaPerformanceWarning

from . import _collapsed_cpu
from ._collapsed_cpu import AT, BELOW, DOWN, FIRES, MAX_BETA_DE, UP

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
#: The min margin's rules, from the CPU kernel's source: a neuron's minimum level and the levels' energy.
lowest_level_device = _device_copy(_collapsed_cpu._lowest_level)
level_sum_device = _device_copy(_collapsed_cpu._level_sum)


@cuda.jit(device=True)
def _source_act(s, r, n_in, XT, a):
    if s == -1:
        return 1
    if s < n_in:
        return XT[s, r]
    return a[s - n_in, r]


@cuda.jit(device=True)
def _forward_row(r, w, XT, src, dst, thr, unit, fixed, fixed_actT, u, a):
    """Counts and activations of row ``r`` (as ``_collapsed_cpu._forward``)."""
    J = thr.shape[0]
    E = w.shape[0]
    n_in = XT.shape[0]
    for k in range(J):
        u[k, r] = 0
    for e in range(E):
        k = dst[e]
        u[k, r] += (unit[k] * (1 + w[e] * _source_act(src[e], r, n_in, XT, a))) >> 1
        if e + 1 == E or dst[e + 1] != k:  # last edge of neuron k
            if fixed[k]:
                a[k, r] = fixed_actT[k, r]
            elif u[k, r] >= thr[k]:
                a[k, r] = 1
            else:
                a[k, r] = -1


@cuda.jit(device=True)
def _set_count(k, r, un, step_at, row_mask, u, S):
    """Neuron ``k``'s count in row ``r`` becomes ``un``; its row flags follow. Returns them."""
    u[k, r] = un
    flags = step_at[k, row_mask[k, r], un]
    S[k, r] = flags
    return flags


@cuda.jit(device=True)
def _live_for(flags, dk):
    """Whether a row with these flags is live for a count step ``dk`` (±1) of its neuron."""
    return (flags & (UP if dk > 0 else DOWN)) != 0


@cuda.jit(device=True)
def _walks(k0, r, step, w, dst, flat, multi, out_ptr, out_edge, S):
    """Whether a flip stepping ``k0``'s count in direction ``step`` (±1; 0 where the source is an
    off 0/1 input: nothing changes) in row ``r`` can change the row's energy or an activation (the
    CPU kernel's rule): the row is live for the step of ``k0`` (unless ``k0``'s terms are flat),
    or ``k0``'s activation flips (to ``step``) and a neuron it feeds is live for its own step, or
    reads it through two edges (``multi``: a step of 0 or ±2)."""
    if step == 0:
        return False
    flags = S[k0, r]
    if not flat[k0] and _live_for(flags, step):
        return True
    if flags & (BELOW if step > 0 else AT) == 0:
        return False
    for p in range(out_ptr[k0], out_ptr[k0 + 1]):
        e2 = out_edge[p]
        if multi[e2] or _live_for(S[dst[e2], r], w[e2] * step):
            return True
    return False


@cuda.jit(device=True)
def _propose_row(k0, r, step, de, w, dst, thr, unit, fixed, flat, out_ptr, out_edge, G, WtT, u, a, d, S):
    """Add row ``r``'s energy change of stepping ``k0``'s count in direction ``step`` to ``de`` (as
    ``_propose``; a step is ``±unit[k]``): a neuron's single step where the row is not live for it
    is quiet (a 0.0 term, the same activation) and is skipped, as is the term of a neuron whose
    terms are flat.

    The count changes stay in ``d[k, r]`` (zero elsewhere); returns ``(de, kmax)``, the last
    neuron that may have changed.
    """
    d[k0, r] = unit[k0] * step
    kmax = k0
    k = k0
    while k <= kmax:
        dk = d[k, r]
        if dk != 0 and ((dk != unit[k] and dk != -unit[k]) or _live_for(S[k, r], dk)):
            uo = u[k, r]
            un = uo + dk
            if not flat[k]:
                de += WtT[k, 0, r] * (G[k, 0, un] - G[k, 0, uo]) + WtT[k, 1, r] * (G[k, 1, un] - G[k, 1, uo])
            if not fixed[k]:
                an = 1 if un >= thr[k] else -1
                if an != a[k, r]:
                    for p in range(out_ptr[k], out_ptr[k + 1]):
                        e2 = out_edge[p]
                        t = dst[e2]
                        d[t, r] += unit[t] * w[e2] * an
                        if t > kmax:
                            kmax = t
        k += 1
    return de, kmax


@cuda.jit(device=True)
def _commit_walked_row(k0, kmax, r, accepted, fixed, step_at, row_mask, u, a, d, S):
    """Clear row ``r``'s scratch ``d[k0..kmax, r]``, applying it first if ``accepted``."""
    for k in range(k0, kmax + 1):
        dk = d[k, r]
        if dk != 0:
            d[k, r] = 0
            if accepted:
                flags = _set_count(k, r, u[k, r] + dk, step_at, row_mask, u, S)
                if not fixed[k]:
                    a[k, r] = 1 if flags & FIRES else -1


@cuda.jit(device=True)
def _commit_quiet_row(k0, r, step, w, dst, unit, out_ptr, out_edge, step_at, row_mask, u, a, S):
    """Accepted flip in a row the proposal did not walk: ``k0``'s count steps in direction
    ``step`` (0: an off 0/1 input, nothing changes); where its activation flips (to ``step``), the
    neurons it feeds are quiet for their steps, so only their counts (and flags) change."""
    if step == 0:
        return
    flips = S[k0, r] & (BELOW if step > 0 else AT) != 0
    _set_count(k0, r, u[k0, r] + unit[k0] * step, step_at, row_mask, u, S)
    if flips:
        a[k0, r] = step
        for p in range(out_ptr[k0], out_ptr[k0 + 1]):
            e2 = out_edge[p]
            t = dst[e2]
            _set_count(t, r, u[t, r] + unit[t] * w[e2] * step, step_at, row_mask, u, S)


@cuda.jit(device=True)
def _move_levels(k0, kmax, r, sign, lev_at, lev_max, row_mask, u, d, H, TCH):
    """Row ``r``'s min-margin levels of the walked proposal in ``d[k0..kmax, r]``: ``sign = 1``
    moves the row from each changed neuron's old level to its new one in the read's histogram
    ``H[k, level]`` (atomically: the block's threads share it) and marks the neuron in ``TCH``;
    ``sign = -1`` moves it back (a rejected proposal)."""
    for k in range(k0, kmax + 1):
        dk = d[k, r]
        if dk != 0 and lev_max[k] > 0:
            uo = u[k, r]
            lo = lev_at[k, row_mask[k, r], uo]
            ln = lev_at[k, row_mask[k, r], uo + dk]
            if lo != ln:
                cuda.atomic.add(H, (k, lo), int32(-sign))   # the histogram's own dtype
                cuda.atomic.add(H, (k, ln), int32(sign))
                if sign > 0:
                    TCH[k] = 1


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
def _anneal_kernel(W, XT, src, dst, thr, unit, fixed, fixed_actT, out_ptr, out_edge, G, WtT, h,
                   betas, key, sweep0, step_at, row_mask, flat, multi, lev_at, lev_max, lev_w, levels,
                   U, A, S, D, KM, H, CUR, NEW, TCH, energies, visits):
    """Block ``rd`` anneals read ``rd``: ``W[rd]`` in place, its energy to ``energies[rd]``, the
    number of rows its proposals walked added to ``visits[rd]``.

    ``betas[b]`` is sweep ``sweep0 + b`` of the schedule (the uniforms are keyed by it).
    ``levels`` (0 or 1): whether the problem has a min margin (``lev_*``, module docstring).
    """
    partial = cuda.shared.array(MAX_THREADS, float64)
    flag = cuda.shared.array(1, int32)
    rd = cuda.blockIdx.x
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    E = W.shape[1]
    R = XT.shape[1]
    J = thr.shape[0]
    n_in = XT.shape[0]
    w = W[rd]
    u = U[rd]
    a = A[rd]
    s_flags = S[rd]
    d = D[rd]
    km = KM[rd]
    hist = H[rd]
    cur = CUR[rd]
    new = NEW[rd]
    touched = TCH[rd]
    walked = 0
    for r in range(t, R, T):
        _forward_row(r, w, XT, src, dst, thr, unit, fixed, fixed_actT, u, a)
        for k in range(J):  # the row's flags for these counts
            _set_count(k, r, u[k, r], step_at, row_mask, u, s_flags)
            if levels and lev_max[k] > 0:
                cuda.atomic.add(hist, (k, lev_at[k, row_mask[k, r], u[k, r]]), int32(1))
    if levels:
        cuda.syncthreads()
        if t == 0:
            for k in range(J):
                cur[k] = lowest_level_device(hist, k, lev_max[k]) if lev_max[k] > 0 else 0
    for b in range(betas.shape[0]):
        beta = betas[b]
        for e in range(E):
            k0 = dst[e]
            w_new = -w[e]
            de = 0.0
            for r in range(t, R, T):
                step = w_new * _source_act(src[e], r, n_in, XT, a)
                if _walks(k0, r, step, w, dst, flat, multi, out_ptr, out_edge, s_flags):
                    de, kmax = _propose_row(k0, r, step, de, w, dst, thr, unit, fixed, flat, out_ptr,
                                            out_edge, G, WtT, u, a, d, s_flags)
                    km[r] = kmax
                    if levels:
                        _move_levels(k0, kmax, r, 1, lev_at, lev_max, row_mask, u, d, hist, touched)
                    walked += 1
                else:
                    km[r] = -1  # not walked: every term 0.0, d untouched
            total = _block_sum(partial, de)   # its barrier also completes the level moves
            if t == 0:
                if levels:
                    any_touched = False
                    lev_de = 0.0
                    for k in range(k0, J):   # the moved neurons' new minima, as the CPU kernel
                        if touched[k]:
                            any_touched = True
                            m = lowest_level_device(hist, k, lev_max[k])
                            new[k] = m
                            if m != cur[k]:
                                lev_de += lev_w[k] * float64(m - cur[k])
                    if any_touched:
                        total += lev_de
                total += -2.0 * h[e] * w[e]  # h·w with w -> -w
                accept = total <= 0.0
                if not accept and beta * total < MAX_BETA_DE:
                    accept = uniform_device(key, rd, sweep0 + b, e) < math.exp(-beta * total)
                flag[0] = 1 if accept else 0
                if accept:
                    w[e] = w_new
                if levels:
                    for k in range(k0, J):
                        if touched[k]:
                            if accept:
                                cur[k] = new[k]
                            touched[k] = 0
            cuda.syncthreads()
            accepted = flag[0] != 0
            # no barrier needed after this: a thread only touches its own rows (and, undoing a
            # rejected proposal's level moves, the histogram, read again only after the next
            # proposal's barrier), and flag and partial are rewritten only after that barrier
            for r in range(t, R, T):
                kmax = km[r]
                if kmax >= 0:
                    if levels and not accepted:
                        _move_levels(k0, kmax, r, -1, lev_at, lev_max, row_mask, u, d, hist, touched)
                    _commit_walked_row(k0, kmax, r, accepted, fixed, step_at, row_mask, u, a, d, s_flags)
                elif accepted:
                    step = w_new * _source_act(src[e], r, n_in, XT, a)
                    _commit_quiet_row(k0, r, step, w, dst, unit, out_ptr, out_edge, step_at, row_mask, u, a,
                                      s_flags)
    cuda.atomic.add(visits, rd, walked)
    acc = 0.0
    for r in range(t, R, T):
        for k in range(J):
            uk = u[k, r]
            acc += WtT[k, 0, r] * G[k, 0, uk] + WtT[k, 1, r] * G[k, 1, uk]
    total = _block_sum(partial, acc)
    if t == 0:
        for e in range(E):
            total += h[e] * w[e]
        if levels:
            total += level_sum_device(lev_w, cur)
        energies[rd] = total


def threads_per_block(n_rows: int) -> int:
    """``min(MAX_THREADS, next power of two >= n_rows)``."""
    return min(MAX_THREADS, 1 << max(0, int(n_rows) - 1).bit_length())


def kernel_inputs(model, betas: np.ndarray) -> tuple[tuple, tuple]:
    """The kernel's read-only arguments on the host, in its order: ``head`` between ``W`` and
    ``key`` (the problem, ``betas``) and ``tail`` after ``sweep0`` (the CPU kernel's row index,
    the min margin's tables and its int32 flag)."""
    J = model.thr.shape[0]
    c = np.ascontiguousarray
    lev_at, lev_max, lev_w = _collapsed_cpu.level_args(J, model.G.shape[2], model.levels)
    step_at, row_mask, _, _, _, flat, multi = _collapsed_cpu._row_index(
        model.X, model.src, model.dst, model.thr, model.unit, model.fixed, model.G, model.Wt, lev_at)
    head = (c(model.X.T), c(model.src, np.int32), c(model.dst, np.int32), c(model.thr, np.int32),
            c(model.unit, np.int32), c(model.fixed, np.bool_), c(model.fixed_act.T), c(model.out_ptr, np.int32),
            c(model.out_edge, np.int32), c(model.G, np.float64),
            c(np.transpose(model.Wt, (1, 2, 0)), np.float64), c(model.h, np.float64), c(betas, np.float64))
    tail = (c(step_at), c(row_mask), c(flat), c(multi), lev_at, lev_max, lev_w, np.int32(lev_max.max() > 0))
    return head, tail


def state_layout(model, num_reads: int) -> tuple:
    """``(shape, dtype, zeroed)`` of each per-read state buffer, in the kernel's order: ``U, A,
    S, D, KM`` and the min margin's ``H, CUR, NEW, TCH``. ``D`` and ``TCH`` start at zero (they
    are zero between proposals), ``H`` too (its counts are added atomically)."""
    R, J = model.X.shape[0], model.thr.shape[0]
    n_levels = int(model.levels[1].max()) + 1 if model.levels is not None else 1
    per_row, per_neuron = (num_reads, J, R), (num_reads, J)
    return ((per_row, np.int32, False), (per_row, np.int8, False), (per_row, np.int8, False),
            (per_row, np.int32, True), ((num_reads, R), np.int32, False),
            ((num_reads, J, n_levels), np.int32, True), (per_neuron, np.int32, False),
            (per_neuron, np.int32, False), (per_neuron, np.int8, True))


def anneal_cuda(model, W: np.ndarray, betas: np.ndarray, key: int, sweep0: int = 0, *,
                threads: int | None = None, visits: np.ndarray | None = None) -> np.ndarray:
    """Anneal the int8 ±1 weights ``W`` ``(num_reads, n_weights)`` in place on the GPU.

    ``model`` is a :class:`~qubo_bnn.collapsed.CollapsedModel`; returns the final collapsed
    energy of each read (float64). As in the CPU kernel, ``betas`` are the sweeps ``sweep0,
    sweep0 + 1, ...`` of the schedule, so a schedule run in chunks gives the same result as one
    call (each call recomputes the counts from ``W``). ``threads`` (a power of two <=
    :data:`MAX_THREADS`, default :func:`threads_per_block`) changes only the order of
    floating-point additions (see the module docstring). ``visits`` (int64, ``(num_reads,)``),
    if given, receives the rows each read's proposals walked, as
    :func:`qubo_bnn._collapsed_cpu.anneal_visits` counts them (walking every row would be
    ``len(betas) × n_weights × n_rows``). Device buffers live for the duration of the call:
    about ``10·num_reads·n_rows·n_neurons`` bytes of per-read state besides the model (with a
    min margin, ``4·num_reads·n_neurons·(L + 1)`` more for the level histograms, ``L`` the largest
    level).
    """
    num_reads, E = W.shape
    R = model.X.shape[0]
    if threads is None:
        threads = threads_per_block(R)
    if threads < 1 or threads > MAX_THREADS or threads & (threads - 1):
        raise ValueError(f"threads must be a power of two <= {MAX_THREADS}, got {threads}")
    if W.dtype != np.int8 or E != model.src.shape[0]:
        raise ValueError(f"W must be int8 (num_reads, {model.src.shape[0]}), got {W.dtype} {W.shape}")
    if visits is not None and (visits.dtype != np.int64 or visits.shape != (num_reads,)):
        raise ValueError(f"visits must be int64 ({num_reads},), got {visits.dtype} {visits.shape}")
    energies = np.empty(num_reads, dtype=np.float64)
    if num_reads == 0:
        return energies
    head, tail = kernel_inputs(model, betas)
    d_head = tuple(cuda.to_device(x) for x in head)
    d_tail = tuple(cuda.to_device(x) if isinstance(x, np.ndarray) else x for x in tail)
    d_state = tuple(cuda.to_device(np.zeros(shape, dtype)) if zeroed else cuda.device_array(shape, dtype=dtype)
                    for shape, dtype, zeroed in state_layout(model, num_reads))
    d_W = cuda.to_device(np.ascontiguousarray(W))
    d_E = cuda.device_array(num_reads, dtype=np.float64)
    d_V = cuda.to_device(np.zeros(num_reads, dtype=np.int64))
    with warnings.catch_warnings():  # one block per read: few reads leave the GPU idle, by design
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        _anneal_kernel[num_reads, threads](d_W, *d_head, np.uint64(key), np.int64(sweep0), *d_tail, *d_state,
                                           d_E, d_V)
    W[...] = d_W.copy_to_host()
    d_E.copy_to_host(energies)
    if visits is not None:
        d_V.copy_to_host(visits)
    return energies
