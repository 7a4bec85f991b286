"""FROZEN copy of ``qubo_bnn/_collapsed_cpu.py`` before row-indexed flips (issue 15): the test
oracle of :mod:`qubo_bnn._collapsed_cpu` (tests/test_collapsed_rowindex.py) and the baseline of
benchmarks/bench_fit.py. Do not edit; it visits every distinct row on every proposal.

Numba CPU kernel of the collapsed annealer (see :mod:`qubo_bnn.collapsed`).

State of one read: the weights ``w`` (±1), and per row ``r`` and neuron ``k`` the agreement
count ``u[r, k]`` and activation ``a[r, k]`` (±1). Flipping weight ``e`` (source ``s``,
neuron ``k0``) changes ``u[r, k0]`` by ``w_new·a_s`` in every row; where an activation changes
sign, each outgoing edge ``e2`` of that neuron changes its target's count by ``w[e2]·a_new``
(the agreement ``(1 + w·a)/2`` moves by ``w·a_new``). Neurons are in topological order, so one
pass from ``k0`` upwards settles every descendant. The energy change is read off the cost
tables ``G[k, τ, u]`` weighted by the row's sample counts ``Wt[r, k, τ]``
(docs/FORMULATION.md, "Collapsed energy"). Proposals are visited edge by edge; the Metropolis
uniform of (read, sweep, edge) is a counter-based hash of the seed, so a read's trajectory does
not depend on the thread count (nor on the device: the CUDA kernel draws the same numbers).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from qubo_bnn_solvers import _hash

# A proposal with beta * dE above this (acceptance < 6e-20) is rejected without a draw, as in
# dwave-samplers.
MAX_BETA_DE = 44.36142


mix32 = njit(cache=True, inline="always")(_hash.mix32)


@njit(cache=True, inline="always")
def uniform(key, read, sweep, edge):
    """Uniform in (0, 1) from ``(key, read, sweep, edge)``; each index must be < 2**32."""
    x = mix32(uint64(key) ^ uint64(read))
    x = mix32(x ^ uint64(sweep))
    x = mix32(x ^ uint64(edge))
    return (float(x) + 0.5) * 2.3283064365386963e-10  # 2**-32


@njit(cache=True)
def _forward(w, X, src, dst, thr, fixed, fixed_act, u, a):
    """Agreement counts and activations of every row for weights ``w`` (in place)."""
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
            if w[e] * av > 0:
                u[r, k] += 1
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
def _push(k, an, kmax, w, dst, out_ptr, out_edge, du):
    """Neuron ``k``'s activation became ``an``: each edge ``e2`` leaving it changes its target's
    count by ``w[e2]·an``. Returns the largest neuron index touched so far."""
    for p in range(out_ptr[k], out_ptr[k + 1]):
        e2 = out_edge[p]
        t = dst[e2]
        du[t] += w[e2] * an
        if t > kmax:
            kmax = t
    return kmax


@njit(cache=True)
def _propose(e, w, X, src, dst, thr, fixed, out_ptr, out_edge, G, Wt, u, a,
             du, chg_r, chg_k, chg_u):
    """Energy change of flipping weight ``e``; the changed counts go to ``chg_*``."""
    R, J = u.shape
    n_in = X.shape[1]
    w_new = -w[e]
    k0 = dst[e]
    s = src[e]
    thr0 = thr[k0]
    fixed0 = fixed[k0]
    n_chg = 0
    de = 0.0
    for r in range(R):
        if s == -1:
            av = 1
        elif s < n_in:
            av = X[r, s]
        else:
            av = a[r, s - n_in]
        # the flipped edge's own neuron: every row changes its count by one
        uo = u[r, k0]
        un = uo + w_new * av
        de += Wt[r, k0, 0] * (G[k0, 0, un] - G[k0, 0, uo]) + Wt[r, k0, 1] * (G[k0, 1, un] - G[k0, 1, uo])
        chg_r[n_chg] = r
        chg_k[n_chg] = k0
        chg_u[n_chg] = un
        n_chg += 1
        if fixed0:
            continue
        an = 1 if un >= thr0 else -1
        if an == a[r, k0]:
            continue
        # its activation changed sign: settle the descendants in topological order
        kmax = _push(k0, an, k0, w, dst, out_ptr, out_edge, du)
        k = k0 + 1
        while k <= kmax:
            d = du[k]
            if d != 0:
                du[k] = 0
                uo = u[r, k]
                un = uo + d
                de += Wt[r, k, 0] * (G[k, 0, un] - G[k, 0, uo]) + Wt[r, k, 1] * (G[k, 1, un] - G[k, 1, uo])
                chg_r[n_chg] = r
                chg_k[n_chg] = k
                chg_u[n_chg] = un
                n_chg += 1
                if not fixed[k]:
                    an = 1 if un >= thr[k] else -1
                    if an != a[r, k]:
                        kmax = _push(k, an, kmax, w, dst, out_ptr, out_edge, du)
            k += 1
    return de, n_chg


@njit(cache=True, parallel=True)
def anneal(W, X, src, dst, thr, fixed, fixed_act, out_ptr, out_edge, G, Wt, h, betas, key,
           sweep0, energies):
    """Anneal the weights ``W`` (int8 ``(num_reads, n_weights)``, ±1) in place.

    ``betas`` are the sweeps ``sweep0, sweep0 + 1, ...`` of the schedule (the random numbers
    are keyed by the absolute sweep, so a schedule run in chunks gives the same result).
    ``energies[r]`` receives read ``r``'s final collapsed energy.
    """
    num_reads, E = W.shape
    R = X.shape[0]
    J = thr.shape[0]
    for rd in prange(num_reads):
        w = W[rd]
        u, a, du, chg_r, chg_k, chg_u = _scratch(R, J)
        _forward(w, X, src, dst, thr, fixed, fixed_act, u, a)
        for b in range(betas.shape[0]):
            beta = betas[b]
            for e in range(E):
                de, n_chg = _propose(e, w, X, src, dst, thr, fixed, out_ptr, out_edge, G, Wt,
                                     u, a, du, chg_r, chg_k, chg_u)
                de += -2.0 * h[e] * w[e]          # h·w with w -> -w
                accept = de <= 0.0
                if not accept and beta * de < MAX_BETA_DE:
                    accept = uniform(key, rd, sweep0 + b, e) < np.exp(-beta * de)
                if accept:
                    w[e] = -w[e]
                    for c in range(n_chg):
                        r = chg_r[c]
                        k = chg_k[c]
                        u[r, k] = chg_u[c]
                        if not fixed[k]:
                            a[r, k] = 1 if chg_u[c] >= thr[k] else -1
        energies[rd] = _energy(w, u, G, Wt, h)


@njit(cache=True)
def flip_deltas(w, X, src, dst, thr, fixed, fixed_act, out_ptr, out_edge, G, Wt, h):
    """Energy change of each single weight flip from ``w`` (used to size the beta range)."""
    R = X.shape[0]
    J = thr.shape[0]
    E = w.shape[0]
    u, a, du, chg_r, chg_k, chg_u = _scratch(R, J)
    _forward(w, X, src, dst, thr, fixed, fixed_act, u, a)
    out = np.empty(E)
    for e in range(E):
        de, _ = _propose(e, w, X, src, dst, thr, fixed, out_ptr, out_edge, G, Wt, u, a,
                         du, chg_r, chg_k, chg_u)
        out[e] = de - 2.0 * h[e] * w[e]
    return out


@njit(cache=True)
def energies(W, X, src, dst, thr, fixed, fixed_act, out_ptr, out_edge, G, Wt, h):
    """Collapsed energy of each row of ``W`` (±1 weights) by a full forward pass."""
    R = X.shape[0]
    J = thr.shape[0]
    out = np.empty(W.shape[0])
    u = np.zeros((R, J), dtype=np.int32)
    a = np.zeros((R, J), dtype=np.int8)
    for i in range(W.shape[0]):
        _forward(W[i], X, src, dst, thr, fixed, fixed_act, u, a)
        out[i] = _energy(W[i], u, G, Wt, h)
    return out


# ---------------------------------------------------------------------------------------------
# Adapter, not part of the frozen copy: the kernel's arguments gained ``unit`` after ``thr``
# (0/1 input gates); the frozen full walk knows spin inputs only, where every unit is 1.
_frozen_anneal, _frozen_flip_deltas = anneal, flip_deltas


def _spin_only(unit):
    if not (np.asarray(unit) == 1).all():
        raise ValueError("the frozen full walk knows spin inputs only (every count unit 1)")


def anneal(W, X, src, dst, thr, unit, *rest, **kw):  # noqa: F811
    _spin_only(unit)
    return _frozen_anneal(W, X, src, dst, thr, *rest, **kw)


def flip_deltas(w, X, src, dst, thr, unit, *rest):  # noqa: F811
    _spin_only(unit)
    return _frozen_flip_deltas(w, X, src, dst, thr, *rest)
