"""Numba CPU kernel of the collapsed annealer (see :mod:`qubo_bnn.collapsed`).

State of one read: the weights ``w`` (±1), and per row ``r`` and neuron ``k`` the agreement
count ``u[r, k]`` and activation ``a[r, k]`` (±1). A count is ``unit[k]·Σ_e (1 + w_e·a_e)/2``
(``unit`` 2 for a neuron reading 0/1 inputs, whose input values are 0 or 1; else 1:
docs/FORMULATION.md, "Agreement count"). Flipping weight ``e`` (source ``s``, neuron ``k0``)
changes ``u[r, k0]`` by ``unit[k0]·w_new·a_s`` in every row (0 where ``a_s`` is an off input);
where an activation changes sign, each outgoing edge ``e2`` of that neuron changes its target's
count by ``unit[t]·w[e2]·a_new`` (the agreement ``(1 + w·a)/2`` moves by ``w·a_new``).
Neurons are in topological order, so one pass from ``k0`` upwards settles every descendant. The energy change is read off the cost
tables ``G[k, τ, u]`` weighted by the row's sample counts ``Wt[r, k, τ]``
(docs/FORMULATION.md, "Collapsed energy"). Proposals are visited edge by edge; the Metropolis
uniform of (read, sweep, edge) is a counter-based hash of the seed, so a read's trajectory does
not depend on the thread count (nor on the device: the CUDA kernel draws the same numbers).

Row index (the chain is bit for bit that of walking every row in increasing order, checked
against a frozen copy of that walk in tests/test_collapsed_rowindex.py): a term whose value is
exactly 0.0 changes no float sum, so a proposal adds only the terms that can be nonzero, in the
same order. Row ``r`` is *live* for a +1 (-1) step of neuron ``k``'s count when that step can
change the energy or the activation: the count is one below (at) the threshold (unless ``k`` is
a hard-fit output), or the cost table ``G[k, τ, ·]`` differs between ``u`` and ``u ± 1`` for a
target ``τ`` the row has samples of (``Wt[r, k, τ] != 0``). A proposal walks the rows live for
their step of ``k0`` (none when ``k0``'s cost tables are flat, e.g. hidden neurons without
margin), and the rows where ``k0``'s activation flips and a neuron it feeds is live for its step;
other rows only shift counts, which :func:`_accept` applies. Per read and neuron the live rows,
and the rows one below and at the threshold, are bitsets over rows (64 per word), kept up to date
as counts change. (With non-finite ``G`` or ``Wt`` every row is live.)

Class counting (``classes=True``, the default; :func:`_delta_classes`): a row holding ``m``
samples of a neuron, all of one target (a *pure* row; a *unit* row when ``m = 1``), adds exactly
``m`` times the cost table's step, so a proposal does not walk it for that: per read, neuron,
target and direction, bitsets of the pure rows by the class of their step (the distinct nonzero
steps of the table, equal up to :data:`STEP_RTOL`) give the neuron's own terms as
``Σ step × Σ_b 2^b popcount(class & rows stepping that way & plane b)``, the planes holding the
bits of each row's ``m`` (:data:`MULT_BITS`; one plane when every row is a unit row). The same
holds for an output fed by the flipped neuron through one edge and by nothing the flipped neuron
reaches (a ``counted`` edge): among the rows where the flipped neuron's activation changes, the
output's pure rows are counted by class. What is walked is the rest: rows with samples of both
targets or more than ``2**MULT_BITS - 1`` samples (*heavy* rows) live for their step, and the rows
where a hidden neuron's activation changes and a neuron it feeds is live. The sum is the full walk's terms in another order: bit for bit when the sums are exact
(dyadic cost tables and h), equal to rounding otherwise; ``classes=False`` keeps the walk's order.

Min margin (``TrainingQUBO(margin_kind="min")``, docs/FORMULATION.md, "Min margin"): a neuron
``k`` with ``lev_max[k] > 0`` earns ``lev_w[k]`` (≤ 0) per level of its smallest distance from
the threshold over the rows, ``min(lev_max[k], min_r lev_at[k, mask, u])`` (the level of a row
at count ``u`` whose targets with samples are the bits ``mask``, :func:`level_args`).
That term is not a sum over rows, so such a neuron has no pure rows, its rows are live wherever a
step changes their level, and per read each keeps a histogram of its rows' levels and its
current minimum (:func:`_read_state`'s ``lv``): after a proposal, :func:`_level_proposal` moves the
rows it walked between levels (from what :func:`_propose` leaves for :func:`_accept`, so the hot
walk is unchanged), reads off the new minima, and :func:`_settle_levels` keeps or reverts the moves.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange, types, uint64
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from qubo_bnn_solvers import _hash

# A proposal with beta * dE above this (acceptance < 6e-20) is rejected without a draw, as in
# dwave-samplers.
MAX_BETA_DE = 44.36142


mix32 = njit(cache=True, inline="always")(_hash.mix32)


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a uint64 (LLVM's ctpop: one instruction where the CPU has it)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True, inline="always")
def uniform(key, read, sweep, edge):
    """Uniform in (0, 1) from ``(key, read, sweep, edge)``; each index must be < 2**32."""
    x = mix32(uint64(key) ^ uint64(read))
    x = mix32(x ^ uint64(sweep))
    x = mix32(x ^ uint64(edge))
    return (float(x) + 0.5) * 2.3283064365386963e-10  # 2**-32


@njit(cache=True)
def _forward(w, X, src, dst, thr, unit, fixed, fixed_act, u, a):
    """Counts and activations of every row for weights ``w`` (in place)."""
    R, J = u.shape
    E = w.shape[0]
    for r in range(R):
        for k in range(J):
            u[r, k] = 0
        # edges are grouped by target neuron in topological order
        for e in range(E):
            k = dst[e]
            s = src[e]
            if s == -1:
                av = 1
            elif s < X.shape[1]:
                av = X[r, s]
            else:
                av = a[r, s - X.shape[1]]
            u[r, k] += (unit[k] * (1 + w[e] * av)) >> 1     # unit·(1 + w·a)/2
            if e + 1 == E or dst[e + 1] != k:  # last edge of neuron k: its activation is known
                if fixed[k]:
                    a[r, k] = fixed_act[r, k]
                else:
                    a[r, k] = 1 if u[r, k] >= thr[k] else -1


@njit(cache=True)
def _energy(w, u, G, Wt, h):
    R, J = u.shape
    total = 0.0
    for r in range(R):
        for k in range(J):
            total += Wt[r, k, 0] * G[k, 0, u[r, k]] + Wt[r, k, 1] * G[k, 1, u[r, k]]
    for e in range(w.shape[0]):
        total += h[e] * w[e]
    return total


@njit(cache=True)
def _scratch(R, J):
    """One read's state ``u``, ``a`` and the scratch of :func:`_propose`."""
    return (np.zeros((R, J), dtype=np.int32), np.zeros((R, J), dtype=np.int8), np.zeros(J, dtype=np.int32),
            np.empty(R * J, dtype=np.int32), np.empty(R * J, dtype=np.int32), np.empty(R * J, dtype=np.int32))


@njit(cache=True, inline="always")
def _push(k, an, kmax, w, dst, unit, out_ptr, out_edge, du):
    """Neuron ``k``'s activation became ``an``: each edge ``e2`` leaving it changes its target's
    count by ``unit[t]·w[e2]·an``. Returns the largest neuron index touched so far."""
    for p in range(out_ptr[k], out_ptr[k + 1]):
        e2 = out_edge[p]
        t = dst[e2]
        du[t] += unit[t] * w[e2] * an
        if t > kmax:
            kmax = t
    return kmax


UP = 1
"""Bit of :func:`_row_index`'s ``step_at``: a +1 step of the count can change the energy or
the activation (the row is live for it)."""
DOWN = 2
"""The same for a -1 step."""
FIRES = 4
"""Bit of ``step_at``: the neuron fires at this count (``u >= thr``)."""
BELOW = 8
"""Bit of ``step_at``: one below the threshold (``u == thr - 1``, not a hard-fit output)."""
AT = 16
"""Bit of ``step_at``: at the threshold (``u == thr``, not a hard-fit output)."""
# planes of a read's bitsets ``live[plane, k, r // 64]``, one per bit of step_at above
P_UP, P_DOWN, P_BELOW, P_AT = 0, 1, 2, 3
# planes of the scratch ``flips[plane, r // 64]`` a proposal leaves for _accept
F_RISE, F_FALL, F_SEEN = 0, 1, 2


@njit(cache=True)
def _fan_in(dst, J):
    fan_in = np.zeros(J, dtype=np.int64)
    for e in range(dst.shape[0]):
        fan_in[dst[e]] += 1
    return fan_in


@njit(cache=True)
def _all_finite(G, Wt):
    finite = True
    for x in G.flat:
        finite &= np.isfinite(x)
    for x in Wt.flat:
        finite &= np.isfinite(x)
    return finite


def level_args(J, U, levels=None):
    """The kernel's min-margin arrays ``(lev_at, lev_max, lev_w)`` for ``J`` neurons and counts
    ``0 .. U-1``: ``levels`` as :class:`~qubo_bnn.collapsed.CollapsedModel` holds them
    (``lev_at[k, m, u]`` int32, ``lev_max[k]`` int32, ``lev_w[k]`` float64), or none
    (``levels=None``: every neuron without a min margin)."""
    if levels is None:
        return np.zeros((J, 4, U), dtype=np.int32), np.zeros(J, dtype=np.int32), np.zeros(J)
    lev_at, lev_max, lev_w = levels
    return (np.ascontiguousarray(lev_at, dtype=np.int32), np.ascontiguousarray(lev_max, dtype=np.int32),
            np.ascontiguousarray(lev_w, dtype=np.float64))


@njit(cache=True, inline="always")
def _target_bits(Wt, r, k):
    """The targets row ``r`` has samples of for neuron ``k``: bit ``τ`` set iff ``Wt[r, k, τ] != 0``."""
    return (1 if Wt[r, k, 0] != 0.0 else 0) + (2 if Wt[r, k, 1] != 0.0 else 0)


@njit(cache=True, inline="always")
def _lowest_level(hist, k, top):
    """The smallest level with a row in ``hist[k]``, at most ``top``: neuron ``k``'s minimum
    (compiled for the CUDA kernel too)."""
    m = 0
    while hist[k, m] == 0 and m < top:
        m += 1
    return m


@njit(cache=True)
def _level_sum(lev_w, mins):
    total = 0.0
    for k in range(lev_w.shape[0]):
        if lev_w[k] != 0.0:
            total += lev_w[k] * mins[k]
    return total


@njit(cache=True)
def _level_mins(u, Wt, lev_at, lev_max):
    """Per neuron, the smallest level of its rows (``u[r, k]`` counts)."""
    R, J = u.shape
    mins = np.zeros(J, dtype=np.int32)
    for k in range(J):
        if lev_max[k] <= 0:
            continue
        mn = lev_max[k]
        for r in range(R):
            mn = min(mn, lev_at[k, _target_bits(Wt, r, k), u[r, k]])
        mins[k] = mn
    return mins


@njit(cache=True, nogil=True)
def _row_index(X, src, dst, thr, unit, fixed, G, Wt, lev_at):
    """What makes a row live (module docstring), shared by every read.

    Returns ``step_at[k, m, u]`` (bits :data:`UP`, :data:`DOWN`, :data:`FIRES`, :data:`BELOW`,
    :data:`AT`) for neuron ``k`` at count ``u`` in a row whose targets with samples are the bits
    ``m`` (bit ``τ`` set iff ``Wt[r, k, τ] != 0``); each row's ``m`` as ``row_mask[k, r]``; the
    values of the nodes that never change, as templates of a read's state (:func:`_read_state`):
    ``spins[i, r]`` (±1; input ``i``, then one row per neuron left 0, then the bias, all +1)
    and their bitsets ``pos[i, r // 64]`` of the rows where the node is +1 and ``nz[i, r // 64]``
    of the rows where it is not 0 (a 0/1 input that is off; neurons and the bias never are); ``flat[k]``:
    neuron ``k``'s terms never change (its cost table is constant on every target some row has
    samples of); and ``multi[e]``: edge ``e``'s target has another edge from the same neuron (a
    ternary neuron reading it), so a flip of that neuron steps the target's count by 0 or ±2 and
    every row where it flips is walked (liveness is for single steps).

    A step of neuron ``k``'s count is ``±unit[k]`` (:meth:`Network.count_unit
    <qubo_bnn.network.Network.count_unit>`): one below the threshold means within one step of it.
    """
    R, J, _ = Wt.shape
    U = G.shape[2]
    n_in = X.shape[1]
    fan_in = _fan_in(dst, J)
    every = not _all_finite(G, Wt)
    step_at = np.zeros((J, 4, U), dtype=np.int8)
    flat = np.ones(J, dtype=np.bool_)
    for k in range(J):
        s1 = unit[k]
        top = min(s1 * fan_in[k], U - 1)
        for m in range(4):
            for v in range(top + 1):
                below = not fixed[k] and thr[k] - s1 <= v < thr[k]
                at = not fixed[k] and thr[k] <= v < thr[k] + s1
                up = every or below
                down = every or at
                for tau in range(2):
                    if (m >> tau) & 1:
                        if v + s1 <= top and G[k, tau, v + s1] - G[k, tau, v] != 0.0:
                            up = True
                        if v >= s1 and G[k, tau, v] - G[k, tau, v - s1] != 0.0:
                            down = True
                if v + s1 <= top and lev_at[k, m, v + s1] != lev_at[k, m, v]:
                    up = True
                if v >= s1 and lev_at[k, m, v - s1] != lev_at[k, m, v]:
                    down = True
                step_at[k, m, v] = ((UP if up else 0) + (DOWN if down else 0) + (FIRES if v >= thr[k] else 0)
                                    + (BELOW if below else 0) + (AT if at else 0))
        for tau in range(2):
            used = every
            for r in range(R):
                used |= Wt[r, k, tau] != 0.0
            if used:
                for v in range(1, top + 1):
                    if every or G[k, tau, v] - G[k, tau, v - 1] != 0.0:
                        flat[k] = False
        for v in range(1, top + 1):
            if lev_at[k, 1, v] != lev_at[k, 1, v - 1] or lev_at[k, 2, v] != lev_at[k, 2, v - 1]:
                flat[k] = False                 # a min margin: never flat
    row_mask = np.zeros((J, R), dtype=np.int8)
    for r in range(R):
        for k in range(J):
            row_mask[k, r] = _target_bits(Wt, r, k)
    spins = np.zeros((n_in + J + 1, R), dtype=np.int8)
    pos = np.zeros((n_in + J + 1, (R + 63) // 64), dtype=np.uint64)
    nz = np.zeros((n_in + J + 1, (R + 63) // 64), dtype=np.uint64)
    for r in range(R):
        bit = uint64(1) << uint64(r & 63)
        for i in range(n_in + J + 1):
            if i >= n_in or X[r, i] != 0:
                nz[i, r >> 6] |= bit
        for i in range(n_in):
            spins[i, r] = X[r, i]
            if X[r, i] > 0:
                pos[i, r >> 6] |= bit
        spins[n_in + J, r] = 1
        pos[n_in + J, r >> 6] |= bit
    multi = np.zeros(dst.shape[0], dtype=np.bool_)
    from_neuron = np.empty(dst.shape[0], dtype=np.int64)
    first, n = 0, 0
    for e in range(dst.shape[0] + 1):
        if e == dst.shape[0] or dst[e] != dst[first]:   # edges first..e-1 share their target
            for i in range(n):                          # those from neurons: few, even on wide inputs
                for j in range(n):
                    if i != j and src[from_neuron[i]] == src[from_neuron[j]]:
                        multi[from_neuron[i]] = True
            first, n = e, 0
        if e < dst.shape[0] and src[e] >= n_in:
            from_neuron[n] = e
            n += 1
    return step_at, row_mask, spins, pos, nz, flat, multi


STEP_RTOL = 1e-9
"""Steps of one cost table within this relative distance are one class: the same step rounded
differently (``μ·m`` is not exact for most μ); the class sums then differ from the full walk's
by rounding only. Dyadic tables have exact steps, so equal steps are equal floats."""


@njit(cache=True, inline="always")
def _same_step(a, b):
    return abs(a - b) <= STEP_RTOL * max(abs(a), abs(b))


MULT_BITS = 4
"""Bit planes of a pure row's multiplicity: rows of up to ``2**MULT_BITS - 1`` samples, all of one
target, are counted by class (:func:`_delta_classes`); heavier ones are walked."""

MAX_CLASSES = 8
"""Most distinct nonzero steps of one neuron's cost table (per target and direction) for which
its pure rows are counted by class (:func:`_delta_classes`); a neuron with more walks every row."""


@njit(cache=True, nogil=True)
def _delta_classes(src, dst, unit, out_ptr, n_in, G, Wt, flat, enabled, lev_max):
    """Pure rows and their step classes, shared by every read.

    A row is a *pure* row of neuron ``k`` when all its ``m`` samples have one target (``Wt[r, k]``
    is ``(m, 0)`` or ``(0, m)``, ``1 <= m < 2**MULT_BITS``): its own term for a step of ``k``'s count
    is then ``m`` times the cost table's step. The distinct nonzero steps ``G[k, τ, u ± unit[k]] - G[k, τ, u]`` of target ``τ`` and
    direction ``d`` (0 up, 1 down) are ``val[k, τ, d, :ncls[k, τ, d]]`` (each the first of the
    steps equal to it up to :data:`STEP_RTOL`); ``cls[k, τ, d, u]`` is the
    class of count ``u`` (-1: the step is 0). ``pure_tau[k, r]`` is the pure row's target (-1 for
    other rows: their *heavy* bits ``rowsets[k, 0, r // 64]``, walked row by row);
    ``rowsets[k, 1 + b]`` holds the pure rows whose ``m`` has bit ``b`` set. Nothing is a pure
    row when ``enabled`` is False, for a flat neuron, for one with a min margin
    (``lev_max[k] > 0``), for one with more than :data:`MAX_CLASSES` classes, or when a cost
    table or weight is not finite.

    ``counted[e]`` (edge ``e`` from neuron ``k`` to ``t``): a flip of ``k``'s activation changes
    ``t``'s count by exactly one step ``unit[t]·w[e]·a`` in every row, and nothing else follows — ``t`` has
    classes, feeds no neuron, and has no other edge from ``k`` or from a neuron ``k`` reaches —
    so ``t``'s pure rows are counted by class there too.
    """
    R, J, _ = Wt.shape
    U = G.shape[2]
    fan_in = _fan_in(dst, J)
    finite = _all_finite(G, Wt)
    pure_tau = np.full((J, R), -1, dtype=np.int8)
    cls = np.full((J, 2, 2, U), -1, dtype=np.int8)
    val = np.zeros((J, 2, 2, MAX_CLASSES))
    ncls = np.zeros((J, 2, 2), dtype=np.int32)
    for k in range(J):
        if not (enabled and finite) or flat[k] or lev_max[k] > 0:
            continue
        s1 = unit[k]
        top = min(s1 * fan_in[k], U - 1)
        fits = True
        for tau in range(2):
            for d in range(2):
                for v in range(top + 1):
                    if (d == 0 and v + s1 > top) or (d == 1 and v < s1):
                        continue
                    step = G[k, tau, v + s1] - G[k, tau, v] if d == 0 else G[k, tau, v - s1] - G[k, tau, v]
                    if step == 0.0:
                        continue
                    c = 0
                    while c < ncls[k, tau, d] and not _same_step(val[k, tau, d, c], step):
                        c += 1
                    if c == MAX_CLASSES:
                        fits = False
                        break
                    if c == ncls[k, tau, d]:
                        val[k, tau, d, c] = step
                        ncls[k, tau, d] += 1
                    cls[k, tau, d, v] = c
        if not fits:
            cls[k] = -1
            val[k] = 0.0
            ncls[k] = 0
            continue
        for r in range(R):
            for tau in range(2):
                m = Wt[r, k, tau]
                if Wt[r, k, 1 - tau] == 0.0 and m >= 1.0 and m < 2.0 ** MULT_BITS and m == np.floor(m):
                    pure_tau[k, r] = tau
    rowsets = np.zeros((J, 1 + MULT_BITS, (R + 63) // 64), dtype=np.uint64)
    for k in range(J):
        used = np.zeros(2, dtype=np.bool_)
        for r in range(R):
            bit = uint64(1) << uint64(r & 63)
            tau = pure_tau[k, r]
            if tau < 0:
                rowsets[k, 0, r >> 6] |= bit
            else:
                used[tau] = True
                m = np.int64(Wt[r, k, tau])
                for b in range(MULT_BITS):
                    if (m >> b) & 1:
                        rowsets[k, 1 + b, r >> 6] |= bit
        for tau in range(2):
            if not used[tau]:
                ncls[k, tau] = 0          # no pure row of this target: nothing to count
    counted = np.zeros(dst.shape[0], dtype=np.bool_)
    in_ptr = np.zeros(J + 1, dtype=np.int64)        # edges are grouped by target in topological order
    for e in range(dst.shape[0]):
        in_ptr[dst[e] + 1] = e + 1
    for k in range(J):
        in_ptr[k + 1] = max(in_ptr[k + 1], in_ptr[k])
    reach = np.zeros(J, dtype=np.bool_)
    for k in range(J):
        if out_ptr[k + 1] == out_ptr[k]:
            continue
        reach[:] = False
        reach[k] = True
        for e in range(in_ptr[k + 1], dst.shape[0]):
            if src[e] >= n_in and reach[src[e] - n_in]:
                reach[dst[e]] = True
        for t in range(k + 1, J):
            if out_ptr[t + 1] != out_ptr[t] or ncls[t].sum() == 0:
                continue
            mine, others = -1, 0
            for e in range(in_ptr[t], in_ptr[t + 1]):
                if src[e] == n_in + k:
                    others += 1 if mine >= 0 else 0
                    mine = e
                elif src[e] >= n_in and reach[src[e] - n_in]:
                    others += 1
            if mine >= 0 and others == 0:
                counted[mine] = True
    return pure_tau, rowsets, cls, val, ncls, counted


@njit(cache=True, inline="always")
def _pure_count(bits, rowsets, k, wi):
    """Samples in the pure rows of ``bits`` (word ``wi`` of neuron ``k``'s rows): their
    multiplicities summed through the bit planes of :func:`_delta_classes`' ``rowsets``."""
    n = popcount(bits & rowsets[k, 1, wi])
    for b in range(1, MULT_BITS):
        plane = rowsets[k, 1 + b, wi]
        if plane != 0:
            n += popcount(bits & plane) << uint64(b)
    return n


@njit(cache=True, inline="always")
def _move_classes(pure_tau, cls, by_class, k, r, uo, un):
    """Row ``r``'s count of neuron ``k`` went from ``uo`` to ``un``: its class bits follow."""
    tau = pure_tau[k, r]
    if tau < 0:
        return
    i = r >> 6
    bit = uint64(1) << uint64(r & 63)
    for d in range(2):
        c = cls[k, tau, d, uo]
        if c >= 0:
            by_class[k, tau, d, c, i] &= ~bit
        c = cls[k, tau, d, un]
        if c >= 0:
            by_class[k, tau, d, c, i] |= bit


@njit(cache=True, inline="always")
def _set_bit(bits, i, r, on):
    word = bits[i, r >> 6] & ~(uint64(1) << uint64(r & 63))
    bits[i, r >> 6] = word | (uint64(1 if on else 0) << uint64(r & 63))


@njit(cache=True, inline="always")
def _set_live(live, k, r, step):
    """Row ``r``'s bits of neuron ``k`` at a count whose ``step_at`` entry is ``step``."""
    i = r >> 6
    at = uint64(r & 63)
    keep = ~(uint64(1) << at)
    live[P_UP, k, i] = (live[P_UP, k, i] & keep) | (uint64(step & UP) << at)
    live[P_DOWN, k, i] = (live[P_DOWN, k, i] & keep) | (uint64((step & DOWN) >> 1) << at)
    live[P_BELOW, k, i] = (live[P_BELOW, k, i] & keep) | (uint64((step & BELOW) >> 3) << at)
    live[P_AT, k, i] = (live[P_AT, k, i] & keep) | (uint64((step & AT) >> 4) << at)


@njit(cache=True)
def _read_state(w, X, src, dst, thr, unit, fixed, fixed_act, step_at, row_mask, spins, pos, pure_tau, cls, ncls,
                lev_at, lev_max, lev_w):
    """One read's state for weights ``w``: ``count[k, r]`` (``u`` transposed), ``act`` and
    ``pos`` (the templates of :func:`_row_index` with the neurons' activations filled in), the
    bitsets ``live[plane, k, r // 64]`` of the rows live for a +1 / -1 step, one below and at
    the threshold, ``by_class[k, τ, d, c, r // 64]`` of the pure rows whose step of direction
    ``d`` is in class ``c`` (:func:`_delta_classes`), the scratch of :func:`_propose`, and the
    min-margin state ``lv`` (module docstring): ``(lev_at, lev_max, lev_w, hist[k, level],
    cur[k], new[k], touched[k], log[3, ·] of (neuron, level before, level after) moves, n[2]: log length and
    touched count, tlist)``."""
    R, J = X.shape[0], thr.shape[0]
    n_in = X.shape[1]
    u, a, du, chg_r, chg_k, chg_u = _scratch(R, J)
    _forward(w, X, src, dst, thr, unit, fixed, fixed_act, u, a)
    count = np.empty((J, R), dtype=np.int32)
    act = spins.copy()
    pos = pos.copy()
    live = np.zeros((4, J, pos.shape[1]), dtype=np.uint64)
    for r in range(R):
        for k in range(J):
            count[k, r] = u[r, k]
            act[n_in + k, r] = a[r, k]
            _set_live(live, k, r, step_at[k, row_mask[k, r], u[r, k]])
            _set_bit(pos, n_in + k, r, a[r, k] > 0)
    by_class = np.zeros((J, 2, 2, max(1, ncls.max()), pos.shape[1]), dtype=np.uint64)
    for k in range(J):
        for r in range(R):
            tau = pure_tau[k, r]
            if tau >= 0:
                for d in range(2):
                    c = cls[k, tau, d, count[k, r]]
                    if c >= 0:
                        by_class[k, tau, d, c, r >> 6] |= uint64(1) << uint64(r & 63)
    flips = np.zeros((3, pos.shape[1]), dtype=np.uint64)
    mark = np.zeros(J, dtype=np.bool_)
    L = max(1, lev_max.max() + 1)
    hist = np.zeros((J, L), dtype=np.int32)
    n_lev = 0
    for k in range(J):
        if lev_max[k] > 0:
            n_lev += 1
            for r in range(R):
                hist[k, lev_at[k, row_mask[k, r], count[k, r]]] += 1
    cur = np.zeros(J, dtype=np.int32)
    for k in range(J):
        if lev_max[k] > 0:
            cur[k] = _lowest_level(hist, k, lev_max[k])
    log = np.empty((3, 2 * R * n_lev + 1), dtype=np.int32)
    lv = (lev_at, lev_max, lev_w, hist, cur, cur.copy(), np.zeros(J, dtype=np.bool_), log,
          np.zeros(2, dtype=np.int64), np.empty(J, dtype=np.int32))
    return count, act, pos, live, by_class, mark, flips, du, chg_r, chg_k, chg_u, lv


@njit(cache=True, inline="always")
def _level_move(lv, k, lo, ln):
    """A walked row of neuron ``k`` (with a min margin) moves from level ``lo`` to ``ln``."""
    if lo == ln:
        return
    hist, touched, log, n, tlist = lv[3], lv[6], lv[7], lv[8], lv[9]
    hist[k, lo] -= 1
    hist[k, ln] += 1
    i = n[0]
    log[0, i] = k
    log[1, i] = lo
    log[2, i] = ln
    n[0] = i + 1
    if not touched[k]:
        touched[k] = True
        tlist[n[1]] = k
        n[1] += 1


@njit(cache=True)
def _level_proposal(lv, e, w, src, dst, unit, row_mask, count, act, flips, n_chg, chg_r, chg_k, chg_u):
    """The min margin's part of :func:`_propose`'s energy change (module docstring), from what it
    left: the rows it walked (``flips``), where weight ``e``'s neuron's count steps, and the
    descendants' changed counts (``chg_*``). Rows it did not walk change no level (a step that
    changes a level makes the row live). The moves stay in ``lv`` for :func:`_settle_levels`."""
    lev_at, lev_max = lv[0], lv[1]
    k0 = dst[e]
    if lev_max[k0] > 0:
        s = src[e] if src[e] >= 0 else act.shape[0] - 1
        step0 = -unit[k0] * w[e]                      # the flip's step, w[e] not yet flipped
        for wi in range(flips.shape[1]):
            word = flips[F_SEEN, wi]
            while word != 0:
                r = wi * 64 + np.int64(trailing_zeros(word))
                word &= word - uint64(1)
                uo = count[k0, r]
                un = uo + step0 * act[s, r]
                _level_move(lv, k0, lev_at[k0, row_mask[k0, r], uo], lev_at[k0, row_mask[k0, r], un])
    for c in range(n_chg):
        k = chg_k[c]
        if lev_max[k] > 0:
            r = chg_r[c]
            _level_move(lv, k, lev_at[k, row_mask[k, r], count[k, r]], lev_at[k, row_mask[k, r], chg_u[c]])
    return _level_delta(lv) if lv[8][1] != 0 else 0.0


@njit(cache=True, inline="always")
def _level_delta(lv):
    """Energy change of the moves :func:`_level_move` made: each touched neuron's new minimum,
    summed in neuron order (as the CUDA kernel sums them)."""
    lev_max, lev_w, hist, cur, new, n, tlist = lv[1], lv[2], lv[3], lv[4], lv[5], lv[8], lv[9]
    for i in range(1, n[1]):          # insertion sort: a proposal touches a handful of neurons
        k, j = tlist[i], i - 1
        while j >= 0 and tlist[j] > k:
            tlist[j + 1] = tlist[j]
            j -= 1
        tlist[j + 1] = k
    de = 0.0
    for i in range(n[1]):
        k = tlist[i]
        m = _lowest_level(hist, k, lev_max[k])
        new[k] = m
        if m != cur[k]:
            de += lev_w[k] * np.float64(m - cur[k])
    return de


@njit(cache=True, inline="always")
def _settle_levels(lv, accept):
    """Keep (``accept``) or revert the level moves of the last proposal; clear its log."""
    hist, cur, new, touched, log, n, tlist = lv[3], lv[4], lv[5], lv[6], lv[7], lv[8], lv[9]
    if not accept:
        for i in range(n[0]):
            hist[log[0, i], log[1, i]] += 1
            hist[log[0, i], log[2, i]] -= 1
    for i in range(n[1]):
        k = tlist[i]
        if accept:
            cur[k] = new[k]
        touched[k] = False
    n[0] = 0
    n[1] = 0


@njit(cache=True)
def _energy_of(w, count, G, Wt, h):
    """:func:`_energy` of the transposed counts (the same sum in the same order)."""
    return _energy(w, count.T, G, Wt, h)


@njit(cache=True, inline="always")
def _rise_fall(pos, nz, s, wi, w_new):
    """Word ``wi`` of the rows where a flip to ``w_new`` of an edge from node ``s`` steps the
    count up (the source agrees with the new weight) and down (it disagrees); neither where the
    source is 0 (an off 0/1 input)."""
    off = ~pos[s, wi] & nz[s, wi]
    return (pos[s, wi], off) if w_new > 0 else (off, pos[s, wi])


@njit(cache=True, inline="always")
def _propose(e, w, src, dst, thr, unit, fixed, flat, multi, out_ptr, out_edge, G, Wt, pure_tau, rowsets, val,
             ncls, counted, count, act, pos, nz, live, by_class, mark, flips, du, chg_r, chg_k, chg_u):
    """Energy change of flipping weight ``e``: first its neuron ``k0``'s own terms in its pure
    rows, class by class (step × number of samples in the class's rows that take that step: bit
    counts over the multiplicity planes); then, in increasing row order, the rows where a term can still be nonzero: the
    heavy rows live for their step of ``k0`` (unless ``k0``'s terms are flat), and the rows where
    ``k0``'s activation flips and a neuron it feeds is live for the resulting step — but for a
    neuron fed through a ``counted`` edge, only its heavy rows: its pure rows are counted by
    class, word by word. The descendants' changed counts in the rows walked go to ``chg_*``; ``flips`` receives the rows where
    ``k0`` starts / stops firing and the rows walked, for :func:`_accept` (and
    :func:`_level_proposal`). Returns ``(dE, n_chg, rows walked)``."""
    w_new = -w[e]
    k0 = dst[e]
    n_in = act.shape[0] - thr.shape[0] - 1          # not an argument: Numba did not inline 31 of them
    s = src[e] if src[e] >= 0 else act.shape[0] - 1
    thr0 = thr[k0]
    step0 = unit[k0] * w_new
    fixed0 = fixed[k0]
    flat0 = flat[k0]
    p0, p1 = out_ptr[k0], out_ptr[k0 + 1]
    n_chg = 0
    visited = 0
    de = 0.0
    for p in range(p0, p1):
        if counted[out_edge[p]]:
            mark[dst[out_edge[p]]] = True
    if not flat0:
        for tau in range(2):
            for d in range(2):
                for c in range(ncls[k0, tau, d]):
                    n = uint64(0)
                    for wi in range(live.shape[2]):
                        rise, fall = _rise_fall(pos, nz, s, wi, w_new)
                        n += _pure_count(by_class[k0, tau, d, c, wi] & (rise if d == 0 else fall), rowsets, k0, wi)
                    if n != 0:
                        de += val[k0, tau, d, c] * np.float64(n)
    for wi in range(live.shape[2]):
        rise, fall = _rise_fall(pos, nz, s, wi, w_new)
        word = uint64(0) if flat0 else ((live[P_UP, k0, wi] & rise) | (live[P_DOWN, k0, wi] & fall)) & rowsets[k0, 0, wi]
        own = word
        starts = live[P_BELOW, k0, wi] & rise
        stops = live[P_AT, k0, wi] & fall
        flips[F_RISE, wi] = starts
        flips[F_FALL, wi] = stops
        if starts | stops:
            for p in range(p0, p1):
                e2 = out_edge[p]
                t = dst[e2]
                t_up, t_down = (starts, stops) if w[e2] > 0 else (stops, starts)
                live_t = (t_up & live[P_UP, t, wi]) | (t_down & live[P_DOWN, t, wi])
                if multi[e2]:
                    live_t = starts | stops
                elif counted[e2]:
                    for tau in range(2):
                        for c in range(ncls[t, tau, 0]):
                            n = _pure_count(by_class[t, tau, 0, c, wi] & t_up, rowsets, t, wi)
                            if n != 0:
                                de += val[t, tau, 0, c] * np.float64(n)
                        for c in range(ncls[t, tau, 1]):
                            n = _pure_count(by_class[t, tau, 1, c, wi] & t_down, rowsets, t, wi)
                            if n != 0:
                                de += val[t, tau, 1, c] * np.float64(n)
                    live_t &= rowsets[t, 0, wi]
                word |= live_t
        flips[F_SEEN, wi] = word
        while word != 0:
            r = wi * 64 + np.int64(trailing_zeros(word))
            word &= word - uint64(1)
            visited += 1
            # the flipped edge's own neuron: its count changes by one step
            uo = count[k0, r]
            un = uo + step0 * act[s, r]
            if (own >> uint64(r & 63)) & uint64(1):
                de += Wt[r, k0, 0] * (G[k0, 0, un] - G[k0, 0, uo]) + Wt[r, k0, 1] * (G[k0, 1, un] - G[k0, 1, uo])
            if fixed0:
                continue
            an = 1 if un >= thr0 else -1
            if an == act[n_in + k0, r]:
                continue
            # its activation changed sign: settle the descendants in topological order
            kmax = _push(k0, an, k0, w, dst, unit, out_ptr, out_edge, du)
            k = k0 + 1
            while k <= kmax:
                d = du[k]
                if d != 0:
                    du[k] = 0
                    uo = count[k, r]
                    un = uo + d
                    chg_r[n_chg] = r
                    chg_k[n_chg] = k
                    chg_u[n_chg] = un
                    n_chg += 1
                    # one step where row r is not live for it: a 0.0 term, the same activation
                    if d == unit[k]:
                        quiet = (live[P_UP, k, wi] >> uint64(r & 63)) & uint64(1) == 0
                    elif d == -unit[k]:
                        quiet = (live[P_DOWN, k, wi] >> uint64(r & 63)) & uint64(1) == 0
                    else:
                        quiet = False
                    if quiet:
                        k += 1
                        continue
                    if not flat[k] and not (mark[k] and pure_tau[k, r] >= 0):
                        de += Wt[r, k, 0] * (G[k, 0, un] - G[k, 0, uo]) + Wt[r, k, 1] * (G[k, 1, un] - G[k, 1, uo])
                    if not fixed[k]:
                        an = 1 if un >= thr[k] else -1
                        if an != act[n_in + k, r]:
                            kmax = _push(k, an, kmax, w, dst, unit, out_ptr, out_edge, du)
                k += 1
    for p in range(p0, p1):
        mark[dst[out_edge[p]]] = False
    return de, n_chg, visited


@njit(cache=True, inline="always")
def _accept(e, w, n_in, src, dst, unit, fixed, out_ptr, out_edge, step_at, row_mask, pure_tau, cls, ncls, count,
            act, pos, live, by_class, flips, n_chg, chg_r, chg_k, chg_u):
    """Flip weight ``e``: its neuron's counts and bits (live and class) in every row, its
    activation where :func:`_propose` saw it flip; one step of each neuron it feeds in the rows
    where it flips that :func:`_propose` did not walk (quiet steps: counts and bits only); then
    the changes it listed."""
    R = count.shape[1]
    w[e] = -w[e]
    w_new = w[e]
    k0 = dst[e]
    s = src[e] if src[e] >= 0 else act.shape[0] - 1
    counts = count[k0]
    source = act[s]
    masks = row_mask[k0]
    steps = step_at[k0]
    fires = act[n_in + k0]
    units = pure_tau[k0]
    classes = ncls[k0, 0, 0] + ncls[k0, 0, 1] + ncls[k0, 1, 0] + ncls[k0, 1, 1] > 0
    for wi in range(live.shape[2]):
        w_up = uint64(0)
        w_down = uint64(0)
        w_below = uint64(0)
        w_at = uint64(0)
        r0 = wi * 64
        if classes:
            for tau in range(2):
                for d in range(2):
                    for c in range(ncls[k0, tau, d]):
                        by_class[k0, tau, d, c, wi] = uint64(0)
        for r in range(r0, min(R, r0 + 64)):
            un = counts[r] + unit[k0] * w_new * source[r]
            counts[r] = un
            step = steps[masks[r], un]
            at = uint64(r - r0)
            w_up |= uint64(step & UP) << at
            w_down |= uint64((step & DOWN) >> 1) << at
            w_below |= uint64((step & BELOW) >> 3) << at
            w_at |= uint64((step & AT) >> 4) << at
            if classes and units[r] >= 0:
                for d in range(2):
                    c = cls[k0, units[r], d, un]
                    if c >= 0:
                        by_class[k0, units[r], d, c, wi] |= uint64(1) << at
        live[P_UP, k0, wi] = w_up
        live[P_DOWN, k0, wi] = w_down
        live[P_BELOW, k0, wi] = w_below
        live[P_AT, k0, wi] = w_at
        # k0's activation changed exactly in the rows where _propose saw it start / stop firing
        pos[n_in + k0, wi] ^= flips[F_RISE, wi] | flips[F_FALL, wi]
        for sign in (1, -1):
            word = flips[F_RISE if sign > 0 else F_FALL, wi]
            while word != 0:
                fires[r0 + np.int64(trailing_zeros(word))] = sign
                word &= word - uint64(1)
        # quiet steps of the neurons k0 feeds, in the rows where it flipped and _propose did not walk
        for p in range(out_ptr[k0], out_ptr[k0 + 1]):
            e2 = out_edge[p]
            t = dst[e2]
            for sign in (1, -1):
                word = flips[F_RISE if sign > 0 else F_FALL, wi] & ~flips[F_SEEN, wi]
                d = sign * w[e2] * unit[t]
                while word != 0:
                    r = r0 + np.int64(trailing_zeros(word))
                    word &= word - uint64(1)
                    uo = count[t, r]
                    un = uo + d
                    count[t, r] = un
                    step = step_at[t, row_mask[t, r], un]
                    _set_live(live, t, r, step)
                    _move_classes(pure_tau, cls, by_class, t, r, uo, un)
                    if not fixed[t]:     # changes only where t's pure rows were counted by class
                        act[n_in + t, r] = 1 if step & FIRES else -1
                        _set_bit(pos, n_in + t, r, step & FIRES)
    for c in range(n_chg):
        r = chg_r[c]
        k = chg_k[c]
        un = chg_u[c]
        _move_classes(pure_tau, cls, by_class, k, r, count[k, r], un)
        count[k, r] = un
        step = step_at[k, row_mask[k, r], un]
        _set_live(live, k, r, step)
        if not fixed[k]:
            act[n_in + k, r] = 1 if step & FIRES else -1
            _set_bit(pos, n_in + k, r, step & FIRES)


@njit(cache=True)
def _anneal_read(rd, w, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h,
                 step_at, row_mask, spins, pos, nz, flat, multi, pure_tau, rowsets, cls, val, ncls, counted, betas, key,
                 sweep0, lev_at, lev_max, lev_w):
    """Anneal one read's weights ``w`` in place; returns ``(final energy, rows walked)``."""
    n_in = X.shape[1]
    count, act, pos, live, by_class, mark, flips, du, chg_r, chg_k, chg_u, lv = _read_state(
        w, X, src, dst, thr, unit, fixed, fixed_act, step_at, row_mask, spins, pos, pure_tau, cls, ncls,
        lev_at, lev_max, lev_w)
    levels = lev_max.max() > 0
    visited = 0
    for b in range(betas.shape[0]):
        beta = betas[b]
        for e in range(w.shape[0]):
            de, n_chg, seen = _propose(e, w, src, dst, thr, unit, fixed, flat, multi, out_ptr, out_edge, G, Wt,
                                       pure_tau, rowsets, val, ncls, counted, count, act, pos, nz, live, by_class, mark,
                                       flips, du, chg_r, chg_k, chg_u)
            if levels:
                de += _level_proposal(lv, e, w, src, dst, unit, row_mask, count, act, flips, n_chg, chg_r, chg_k, chg_u)
            visited += seen
            de += -2.0 * h[e] * w[e]          # h·w with w -> -w
            accept = de <= 0.0
            if not accept and beta * de < MAX_BETA_DE:
                accept = uniform(key, rd, sweep0 + b, e) < np.exp(-beta * de)
            if accept:
                _accept(e, w, n_in, src, dst, unit, fixed, out_ptr, out_edge, step_at, row_mask, pure_tau, cls, ncls,
                        count, act, pos, live, by_class, flips, n_chg, chg_r, chg_k, chg_u)
            if levels:
                _settle_levels(lv, accept)
    return _energy_of(w, count, G, Wt, h) + _level_sum(lev_w, lv[4]), visited


def _reads_loop(loop):
    """``_anneal_reads`` with the reads in ``loop`` (``prange``: in parallel; ``range``: one
    after another, without the GIL, so that callers' threads run side by side)."""
    def reads(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas, key,
              sweep0, energies, visits, read0, lev_at, lev_max, lev_w, step_at, row_mask, spins, pos, nz, flat, multi,
              pure_tau, rowsets, cls, val, ncls, counted):
        # the row index is an argument: built inside this parallel function it costs seconds of compile
        for rd in loop(W.shape[0]):
            energy, seen = _anneal_read(read0 + rd, W[rd], X, src, dst, thr, unit, fixed, fixed_act, out_ptr,
                                        out_edge, G, Wt, h, step_at, row_mask, spins, pos, nz, flat, multi,
                                        pure_tau, rowsets, cls, val, ncls, counted, betas, key, sweep0,
                                        lev_at, lev_max, lev_w)
            energies[rd] = energy
            visits[rd] = seen
    return reads


_anneal_reads = njit(cache=True, parallel=True)(_reads_loop(prange))
_anneal_reads_serial = njit(cache=True, nogil=True)(_reads_loop(range))


def row_tables(X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, classes=True,
               levels=None) -> tuple:
    """What every read of a problem shares and no read changes: the min-margin arrays
    (:func:`level_args` of ``levels``), the row index (:func:`_row_index`) and the pure rows'
    classes (:func:`_delta_classes`; ``classes=False``: none). Compute it once per problem and
    pass it to :func:`anneal` as ``tables``."""
    lev = level_args(len(thr), G.shape[2], levels)
    index = _row_index(X, src, dst, thr, unit, fixed, G, Wt, lev[0])
    return (*lev, *index, *_delta_classes(src, dst, unit, out_ptr, X.shape[1], G, Wt, index[5], bool(classes), lev[1]))


def anneal(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas, key,
           sweep0, energies, read0=0, classes=True, tables=None, levels=None):
    """Anneal the weights ``W`` (int8 ``(num_reads, n_weights)``, ±1) in place.

    ``betas`` are the sweeps ``sweep0, sweep0 + 1, ...`` of the schedule (the random numbers
    are keyed by the absolute sweep, so a schedule run in chunks gives the same result).
    ``W``'s rows are the reads ``read0, read0 + 1, ...`` (the random numbers are keyed by the
    absolute read too, so reads split into batches give the same result).
    ``energies[r]`` receives read ``r``'s final collapsed energy. ``classes=False`` walks the
    pure rows too (no bit counts): the order of the float sums of the full walk, bit for bit.
    ``tables``: this problem's :func:`row_tables` (then ``classes`` is theirs), so that a
    schedule run in chunks does not rebuild them. One read runs without the GIL. ``levels``:
    the min margin's ``(lev_at, lev_max, lev_w)`` (:func:`level_args`),
    when the problem has one and ``tables`` is not given.
    """
    anneal_visits(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas, key,
                  sweep0, energies, np.empty(len(W), dtype=np.int64), read0, classes, tables, levels)


def anneal_visits(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas,
                  key, sweep0, energies, visits, read0=0, classes=True, tables=None, levels=None):
    """:func:`anneal`, also counting the rows each read's proposals walked (``visits[r]``;
    walking every row would be ``num_sweeps × n_weights × n_rows``)."""
    if not (0 <= read0 and read0 + len(W) <= 2**32):
        raise ValueError(f"reads must be numbered within [0, 2**32), got {read0} + {len(W)}")
    if tables is None:
        tables = row_tables(X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, classes, levels)
    run = _anneal_reads_serial if len(W) == 1 else _anneal_reads
    run(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas, key,
        sweep0, energies, visits, np.int64(read0), *tables)


@njit(cache=True)
def _flip_deltas(w, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, lev_at, lev_max, lev_w):
    step_at, row_mask, spins, pos, nz, flat, multi = _row_index(X, src, dst, thr, unit, fixed, G, Wt, lev_at)
    pure_tau, rowsets, cls, val, ncls, counted = _delta_classes(src, dst, unit, out_ptr, X.shape[1], G, Wt, flat, True,
                                                                lev_max)
    count, act, pos, live, by_class, mark, flips, du, chg_r, chg_k, chg_u, lv = _read_state(
        w, X, src, dst, thr, unit, fixed, fixed_act, step_at, row_mask, spins, pos, pure_tau, cls, ncls,
        lev_at, lev_max, lev_w)
    out = np.empty(w.shape[0])
    levels = lev_max.max() > 0
    for e in range(w.shape[0]):
        de, n_chg, _ = _propose(e, w, src, dst, thr, unit, fixed, flat, multi, out_ptr, out_edge, G, Wt,
                            pure_tau, rowsets, val, ncls, counted, count, act, pos, nz, live, by_class, mark, flips, du,
                            chg_r, chg_k, chg_u)
        if levels:
            de += _level_proposal(lv, e, w, src, dst, unit, row_mask, count, act, flips, n_chg, chg_r, chg_k, chg_u)
            _settle_levels(lv, False)
        out[e] = de - 2.0 * h[e] * w[e]
    return out


def flip_deltas(w, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, levels=None):
    """Energy change of each single weight flip from ``w`` (used to size the beta range)."""
    return _flip_deltas(w, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h,
                        *level_args(len(thr), G.shape[2], levels))


@njit(cache=True)
def _energies(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, lev_at, lev_max, lev_w):
    R = X.shape[0]
    J = thr.shape[0]
    out = np.empty(W.shape[0])
    u = np.zeros((R, J), dtype=np.int32)
    a = np.zeros((R, J), dtype=np.int8)
    for i in range(W.shape[0]):
        _forward(W[i], X, src, dst, thr, unit, fixed, fixed_act, u, a)
        out[i] = _energy(W[i], u, G, Wt, h) + _level_sum(lev_w, _level_mins(u, Wt, lev_at, lev_max))
    return out


def energies(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, levels=None):
    """Collapsed energy of each row of ``W`` (±1 weights) by a full forward pass (``levels``:
    the min margin's, as for :func:`anneal`)."""
    return _energies(W, X, src, dst, thr, unit, fixed, fixed_act, out_ptr, out_edge, G, Wt, h,
                     *level_args(len(thr), G.shape[2], levels))
