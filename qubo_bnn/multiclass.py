"""Several classes: one-vs-one pairs joined into one network, and the inputs worth connecting.

``multi_class="ovo"`` trains one binary network per pair of classes ``(i, j)`` (``i < j``), on
that pair's samples only, its output firing for ``j``. :func:`union_network` joins the pair
networks into one :class:`~qubo_bnn.network.Network` with one output per pair (in the order
of :func:`qubo_bnn.predictor.one_vs_one_pairs`), whose weights are the pairs' weights
concatenated, so a model is saved, exported and predicted like any other network; the vote is
:func:`qubo_bnn.predictor.ovo_scores`.

Example:
    >>> one_vs_one_pairs(3)
    [(0, 1), (0, 2), (1, 2)]
    >>> net = union_network(2, [Network(2).dense(1), Network(2).dense(1)])
    >>> net.outputs, net.n_weights
    ([2, 3], 6)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .network import Network
from .predictor import one_vs_one_pairs

__all__ = ["live_inputs", "one_vs_one_pairs", "union_network"]


def live_inputs(Xb: np.ndarray) -> list[int]:
    """The inputs that are not constant over the rows of ``Xb`` (a constant ±1 input times a ±1
    weight only adds an arbitrary bias).

    Example:
        >>> live_inputs(np.array([[0, 1, 1], [0, 0, 1]]))
        [1]
    """
    Xb = np.asarray(Xb)
    return np.flatnonzero((Xb != Xb[:1]).any(axis=0)).tolist()


def union_network(n_inputs: int, parts: Sequence[Network]) -> Network:
    """The networks ``parts`` side by side over the same inputs: each part's neurons renumbered
    after the previous parts', outputs in part order. Edges (and so weights) are the parts'
    edges concatenated in part order. The parts must read their inputs alike (``inputs``)."""
    kinds = {part.inputs for part in parts}
    if len(kinds) > 1:
        raise ValueError(f"every part must read its inputs alike, got inputs {sorted(kinds)}")
    net = Network(n_inputs, inputs=kinds.pop() if kinds else "spin")
    outputs: list[int] = []
    for part in parts:
        if part.n_inputs != n_inputs:
            raise ValueError(f"every part must read the same {n_inputs} inputs, got {part.n_inputs}")
        offset = net.n_inputs + net.n_neurons - part.n_inputs      # part neuron id -> union id
        for j in part.neurons:
            net.add_neuron([s if s < n_inputs else s + offset for s in part.sources(j)], bias=part.has_bias(j),
                           ternary=part.is_ternary(j))
        outputs += [o + offset for o in part.outputs]
    return net.set_outputs(outputs)
