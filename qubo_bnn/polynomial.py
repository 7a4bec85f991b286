"""Quadratic pseudo-Boolean polynomials over integer-indexed binary variables.

The formulation (``formulation.py``) states every term of the training QUBO once, as data:
squares of linear forms (the sign constraints), products (Rosenberg/AND penalties, margins) and
linear terms. This module turns that one statement into either a PyQUBO expression or the
expanded numpy arrays of a BQM, so both builders emit the identical model from the same math.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Polynomial:
    """``offset + Σ lin + Σ quad + Σ_rows (Σ_k coef[r,k]·v[idx[r,k]] + const[r])²``.

    Example:
        >>> p = Polynomial()
        >>> p.add_square(np.array([[0, 1]]), np.array([[1, 1]]), np.array([-1]))  # (v0 + v1 - 1)^2
        >>> lin, (qi, qj, qv), off = p.expand(2)
        >>> lin.tolist(), qv.tolist(), off
        ([-1.0, -1.0], [2.0], 1.0)
    """

    def __init__(self) -> None:
        self.squares: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._li: list[np.ndarray] = []
        self._lv: list[np.ndarray] = []
        self._qi: list[np.ndarray] = []
        self._qj: list[np.ndarray] = []
        self._qv: list[np.ndarray] = []
        self.offset = 0.0

    def add_square(self, idx: np.ndarray, coef: np.ndarray, const: np.ndarray, weight=1.0) -> None:
        """Add ``Σ_r weight[r]·(Σ_k coef[r,k]·v[idx[r,k]] + const[r])²``."""
        idx = np.asarray(idx, dtype=np.int64)
        coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), idx.shape)
        const = np.broadcast_to(np.asarray(const, dtype=np.float64), idx.shape[:1])
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), idx.shape[:1])
        self.squares.append((idx, coef, const, weight))

    def add_linear(self, i, v) -> None:
        i = np.atleast_1d(np.asarray(i, dtype=np.int64))
        self._li.append(i)
        self._lv.append(np.broadcast_to(np.asarray(v, dtype=np.float64), i.shape).ravel())

    def add_quadratic(self, i, j, v) -> None:
        i = np.atleast_1d(np.asarray(i, dtype=np.int64))
        j = np.atleast_1d(np.asarray(j, dtype=np.int64))
        self._qi.append(i.ravel())
        self._qj.append(j.ravel())
        self._qv.append(np.broadcast_to(np.asarray(v, dtype=np.float64), i.shape).ravel())

    def add_offset(self, c: float) -> None:
        self.offset += float(c)

    # ------------------------------------------------------------------ numpy expansion
    def raw_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Unreduced ``(lin_i, lin_v, q_i, q_j, q_v, offset)`` with squares expanded."""
        li, lv = list(self._li), list(self._lv)
        qi, qj, qv = list(self._qi), list(self._qj), list(self._qv)
        off = self.offset
        for idx, coef, const, weight in self.squares:
            # (Σ a_k v_k + c)^2 = Σ a_k^2 v_k + 2 Σ_{k<l} a_k a_l v_k v_l + 2c Σ a_k v_k + c^2  (v^2 = v)
            wr = weight[:, None]
            li.append(idx.ravel())
            lv.append((wr * (coef * coef + 2.0 * coef * const[:, None])).ravel())
            a, b = np.triu_indices(idx.shape[1], 1)
            qi.append(idx[:, a].ravel())
            qj.append(idx[:, b].ravel())
            qv.append((2.0 * wr * coef[:, a] * coef[:, b]).ravel())
            off += float(np.dot(weight * const, const))
        cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
        return (cat(li, np.int64), cat(lv, np.float64), cat(qi, np.int64), cat(qj, np.int64),
                cat(qv, np.float64), off)

    def expand(self, n_variables: int):
        """``(linear (n,), (qi, qj, qv), offset)`` with duplicate pairs summed, ``qi < qj``."""
        li, lv, qi, qj, qv, off = self.raw_terms()
        lin = np.bincount(li, weights=lv, minlength=n_variables).astype(np.float64)
        same = qi == qj  # v·v = v
        if same.any():
            lin += np.bincount(qi[same], weights=qv[same], minlength=n_variables)
        qi, qj, qv = qi[~same], qj[~same], qv[~same]
        lo, hi = np.minimum(qi, qj), np.maximum(qi, qj)
        key = lo * n_variables + hi
        uniq, inv = np.unique(key, return_inverse=True)
        vals = np.bincount(inv, weights=qv, minlength=len(uniq))
        return lin, (uniq // n_variables, uniq % n_variables, vals), off

    # ------------------------------------------------------------------ PyQUBO emission
    def to_pyqubo(self, variables: Sequence):
        """The same polynomial as a PyQUBO expression over ``variables[i]`` (``pyqubo.Binary``)."""
        terms = []
        for idx, coef, const, weight in self.squares:
            for r in range(idx.shape[0]):
                form = sum(float(a) * variables[int(i)] for i, a in zip(idx[r], coef[r]) if a != 0)
                terms.append(float(weight[r]) * (form + float(const[r])) ** 2)
        for i, v in zip(np.concatenate(self._li) if self._li else [], np.concatenate(self._lv) if self._lv else []):
            terms.append(float(v) * variables[int(i)])
        if self._qi:
            for i, j, v in zip(np.concatenate(self._qi), np.concatenate(self._qj), np.concatenate(self._qv)):
                terms.append(float(v) * variables[int(i)] * variables[int(j)])
        return sum(terms) + self.offset if terms else self.offset
