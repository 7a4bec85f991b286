"""A committee of trained networks: the best distinct reads of one sampler call.

A sampler returns many networks that fit the training set; instead of keeping one, the
estimator can keep the ``size`` best *distinct* reads (fewest training errors, then lowest
energy) and let them vote (:func:`qubo_bnn.predictor.vote_scores` states the vote rule). The
first member is the single best network, so ``size = 1`` is plain training.

Example:
    >>> import numpy as np
    >>> W = np.array([[1, 1], [1, -1], [1, 1], [-1, -1]], dtype=np.int8)
    >>> best_distinct(W, errors=np.array([0, 1, 0, 2]), energies=np.array([0., 1., 0., 2.]), size=3).tolist()
    [[1, 1], [1, -1], [-1, -1]]
"""
from __future__ import annotations

import dimod
import numpy as np

__all__ = ["best_distinct", "read_weights"]


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
