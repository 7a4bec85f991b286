"""The objective ladder: training errors ≻ margin ≻ sparsity (docs/FORMULATION.md, "Objective ladder").

A sampler returns one of the many networks that fit the training set equally well; the ladder
chooses among them. With ``margin="lexicographic"`` the margin reward gets the weight

    mu = B / (1 + R_max),   R_max = Σ_samples Σ_{j in margin neurons} min(F_j, cap_j)

where ``R_max`` bounds the total reward any network can collect (``|z_j| <= F_j``, truncated at
``cap_j``, :func:`~qubo_bnn.encoding.margin_cap_for`; with ``margin_kind="min"`` each margin
neuron's smallest margin, ``2·L_j/unit_j`` at most, once per neuron). For two consistent networks with ``e1 < e2`` training errors the energy difference is
``B·(e1 - e2) - mu·(M1 - M2) <= -B + mu·R_max < 0``: no amount of margin buys one training
error, and among networks with the fewest errors the one with the largest total margin has the
lowest energy. The exact-safe penalty ``A`` (``TrainingQUBO.default_penalty(B, mu)``) accounts
for this ``mu`` like any other.

Example:
    >>> import numpy as np
    >>> from qubo_bnn import Network, TrainingQUBO
    >>> q = TrainingQUBO(Network(3).dense(1), np.eye(3, dtype=int), [1, 0, 1], margin_neurons="output")
    >>> lexicographic_margin_weight(q, 1.0)     # 3 samples x fan-in 4 = 12: mu = 1/13
    0.07692307692307693
"""
from __future__ import annotations

__all__ = ["LEXICOGRAPHIC", "lexicographic_margin_weight", "max_total_reward", "sparsity_weights"]

LEXICOGRAPHIC = "lexicographic"
"""The ``margin`` value that asks for the ladder instead of a fixed weight."""


def max_total_reward(problem) -> int:
    """``R_max``: the largest total margin reward any network can collect on ``problem`` (a
    :class:`~qubo_bnn.formulation.TrainingQUBO`): every sample, every margin neuron at
    ``min(F_j, cap_j)``; or, for a min margin, every margin neuron at its largest level."""
    from .encoding import margin_cap_for      # here, so that the CLI's import of this module stays light

    net, cap = problem.network, problem.margin_cap
    if problem.margin_kind == "min":         # every neuron at its largest level: whole numbers
        return int(sum(enc.level_step * enc.levels for enc in problem.encodings.values()))
    per_sample = 0
    for j in problem.margin_neurons:
        F, cap_j = net.fan_in(j), margin_cap_for(net.fan_in(j), cap)
        per_sample += F if cap_j is None else min(F, cap_j)
    return int(problem.n_samples) * int(per_sample)


def lexicographic_margin_weight(problem, B: float = 1.0) -> float:
    """``mu`` such that no amount of margin outweighs one training error of weight ``B``."""
    return float(B) / (1.0 + max_total_reward(problem))


def sparsity_weights(network, unit: float):
    """Linear penalties ``h`` (one per edge) that make the last rung of the ladder: among the
    networks equal on the rungs above, fewest non-zero ternary weights.

    A ternary weight is the half-sum of two ±1 edges, so 0 is spelt ``(+1, -1)`` or ``(-1, +1)``.
    ``h = +c`` on the first edge of every pair and ``-c`` on the second gives ``(-1, +1)`` the
    energy ``-2c`` and the other three spellings ``0`` or ``+2c``: minimised over the spellings,
    every zero earns ``2c`` and nothing else changes. With ``c = unit / (2 (1 + n_pairs))`` the
    whole reward stays below ``unit``, the smallest step of the rung above (``mu``: margins are
    whole numbers; or ``B`` when there is no margin rung), so it never buys a unit of it.
    Binary edges and biases get 0.

    Example:
        >>> from qubo_bnn import Network
        >>> sparsity_weights(Network(2).dense(1, ternary=True), 1.0).tolist()   # 2 pairs, then the bias
        [0.16666666666666666, -0.16666666666666666, 0.16666666666666666, -0.16666666666666666, 0.0]
    """
    import numpy as np

    h = np.zeros(network.n_weights)
    firsts = [sl.start + 2 * k for j, sl in network.edge_slices().items() if network.is_ternary(j)
              for k in range(len(network.sources(j)))]
    c = float(unit) / (2.0 * (1 + len(firsts)))
    h[firsts] = c
    h[np.asarray(firsts, dtype=np.int64) + 1] = -c
    return h
