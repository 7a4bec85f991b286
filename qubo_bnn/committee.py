"""A committee of trained networks: the best distinct reads of one sampler call.

A sampler returns many networks that fit the training set; instead of keeping one, the
estimator can keep the ``size`` best *distinct* reads (fewest training errors, then lowest
energy) and let them vote (:func:`qubo_bnn.predictor.vote_scores` states the vote rule). The
first member is the single best network, so ``size = 1`` is plain training.

Or bag them (as in Breiman's bagging; the estimator's default on its own budget,
``bootstrap="auto"``, or ``bootstrap=True``): each member is trained by its own
sampler call on a bootstrap resample of the training rows (:func:`stratified_bootstrap`), the
fit's read budget shared among the calls (:func:`shared_reads`). Networks fitted to slightly
different data disagree where the data are thin, and their vote is steadier there than any
one of them.

Example:
    >>> import numpy as np
    >>> W = np.array([[1, 1], [1, -1], [1, 1], [-1, -1]], dtype=np.int8)
    >>> best_distinct(W, errors=np.array([0, 1, 0, 2]), energies=np.array([0., 1., 0., 2.]), size=3).tolist()
    [[1, 1], [1, -1], [-1, -1]]
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

__all__ = ["best_distinct", "read_weights", "shared_reads", "stratified_bootstrap"]


def best_distinct(W: np.ndarray, errors: np.ndarray, energies: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` best distinct rows of ``W`` (``(reads, n_weights)``, ±1), ordered by
    ``(errors, energy)``, ties by read order; fewer when fewer are distinct."""
    order = np.lexsort((np.arange(len(W)), energies, errors))
    _, first = np.unique(W[order], axis=0, return_index=True)
    keep = order[np.sort(first)][: int(size)]
    return np.ascontiguousarray(W[keep], dtype=np.int8)


def read_weights(sampleset: dimod.SampleSet, n_weights: int) -> np.ndarray:
    """``(reads, n_weights)`` ±1 weights read from the ``w{e}`` variables of any training sample
    set (full QUBO states or weight-only sets alike; docs/FORMULATION.md, "Decoding")."""
    index = {v: k for k, v in enumerate(sampleset.variables)}
    try:
        cols = [index[f"w{e}"] for e in range(n_weights)]
    except KeyError as exc:
        raise ValueError(f"the sample set has no weight variable {exc.args[0]!r}") from None
    bits = sampleset.record.sample[:, cols]
    if sampleset.vartype is dimod.SPIN:
        return bits.astype(np.int8)
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


def stratified_bootstrap(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices of one bootstrap resample that keeps every stratum's count: the rows of each
    stratum (e.g. each target pattern) are drawn from that stratum with replacement, so a class
    is never lost from a member's training set, and a stratum of one row is always kept.

    Example:
        >>> rows = stratified_bootstrap(np.array([0, 0, 0, 1]), np.random.default_rng(0))
        >>> len(rows), int(rows[-1]), bool(np.all(rows[:3] < 3))
        (4, 3, True)
    """
    strata = np.asarray(strata)
    out = np.empty(len(strata), dtype=np.intp)
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        out[rows] = rows[rng.integers(0, len(rows), len(rows))]
    return out


def shared_reads(params: Mapping[str, Any], calls: int) -> dict[str, Any]:
    """``params`` for one of ``calls`` sampler calls that share the fit's read budget:
    ``num_reads`` (when the sampler takes it) becomes ``⌈num_reads / calls⌉``, so bagging costs
    about what one call with every read costs.

    Example:
        >>> shared_reads({"num_reads": 16, "num_sweeps": 500}, 16), shared_reads({"time_limit": 5}, 8)
        ({'num_reads': 1, 'num_sweeps': 500}, {'time_limit': 5})
    """
    if "num_reads" not in params:
        return dict(params)
    return {**params, "num_reads": -(-int(params["num_reads"]) // int(calls))}
