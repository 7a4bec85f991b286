"""How one neuron's sign is encoded in the QUBO: bounded-coefficient slack, the tie bit and the
margin split (docs/FORMULATION.md, "Sign consistency" and "Margin").

Example:
    >>> enc = neuron_encoding(5, fan_in=3, hard_margin=0, cap=None, reward=True)
    >>> (enc.threshold, enc.R, enc.tie), slack_coefficients(enc.R).tolist()
    ((2, 1, False), [1])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MARGIN_KINDS", "NeuronEncoding", "neuron_encoding", "slack_coefficients", "encode_slack", "settle_auxiliaries",
           "SQRT_CAP", "margin_cap_for"]

MARGIN_KINDS = ("sum", "min")
"""How a margin neuron's reward counts: ``"sum"`` of ``min(|z|, cap)`` over the samples (the seed
paper's margin), or ``"min"``, its smallest margin over the rows (Toro Icarte et al.)."""

SQRT_CAP = "sqrt"
"""The ``margin_cap`` that caps each neuron's reward at ``⌈√F⌉`` of its own fan-in ``F``."""


def margin_cap_for(fan_in: int, margin_cap) -> int | None:
    """The margin cap of a neuron with ``fan_in`` edges: ``margin_cap`` itself (an int, or None
    for no cap), or ``⌈√F⌉`` for :data:`SQRT_CAP` -- the one statement of that rule.

    ``⌈√F⌉`` is the scale of a sum of ``F`` random ±1 terms: the reward stops growing once a
    sample is that far from the threshold, so among the networks that fit, the chosen one
    pushes the samples near its boundary out rather than the easy ones further away (a hinge,
    as the straight-through estimator's loss at scale ``√F``; docs/FORMULATION.md, "Margin").

    Example:
        >>> margin_cap_for(17, "sqrt"), margin_cap_for(16, "sqrt"), margin_cap_for(16, 3), margin_cap_for(5, None)
        (5, 4, 3, None)
    """
    if margin_cap == SQRT_CAP:
        root = math.isqrt(int(fan_in))
        return root + (root * root < fan_in)
    return None if margin_cap is None else int(margin_cap)


def slack_coefficients(R: int) -> np.ndarray:
    """Bounded-coefficient encoding of an integer in ``[0, R]`` (docs/FORMULATION.md, Sign consistency).

    Coefficients ``1, 2, ..., 2^(K-2)`` and a last one ``R - (2^(K-1) - 1)``, ``K = ⌊log2 R⌋ + 1``;
    every value in ``[0, R]`` is reachable and none above. ``R = 0`` needs no bit.

    Example:
        >>> slack_coefficients(5).tolist(), slack_coefficients(0).tolist()
        ([1, 2, 2], [])
    """
    if R < 0:
        raise ValueError(f"slack range must be >= 0, got {R}")
    if R == 0:
        return np.zeros(0, dtype=np.int64)
    K = int(R).bit_length()  # floor(log2 R) + 1
    return np.array([1 << k for k in range(K - 1)] + [R - ((1 << (K - 1)) - 1)], dtype=np.int64)


def encode_slack(values: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Bits ``(n, K)`` with ``bits @ coefs == values`` for the encoding of :func:`slack_coefficients`."""
    values = np.asarray(values, dtype=np.int64)
    K = len(coefs)
    if K == 0:
        return np.zeros((len(values), 0), dtype=np.int8)
    full = (1 << (K - 1)) - 1  # largest value reachable without the last coefficient
    use_last = values > full
    rest = values - use_last * coefs[-1]
    bits = (rest[:, None] >> np.arange(K - 1)) & 1
    return np.concatenate([bits, use_last[:, None]], axis=1).astype(np.int8)


@dataclass(frozen=True)
class NeuronEncoding:
    """How neuron ``j``'s sign is encoded (docs/FORMULATION.md, Sign consistency; margin variants).

    Residual ``u - threshold·x - Σ ca·ta - Σ cb·tb - e = 0``, ``u`` the agreement count, so
    ``x = 1`` covers ``u ∈ [threshold, F]`` and ``x = 0`` covers ``u ∈ [0, R]``. The slack
    ``t = ta + tb`` ranges over ``[0, R]``; ``ta ∈ [0, a]`` carries the (possibly truncated) margin
    reward, ``tb`` the rest. Without a hard margin this is the reference encoding: threshold
    ``T = ⌈F/2⌉``, ``R = T - 1``, a tie bit for even ``F``.

    ``unit`` is the neuron's count unit (:meth:`Network.count_unit
    <qubo_bnn.network.Network.count_unit>`): 2 for a neuron reading 0/1 inputs, whose count is
    ``F + z`` over its ``F`` edges. Then ``fan_in`` and every field above are in those half
    steps (``fan_in = 2F``, the count of an edge sum ``z`` is ``F + z``), and the margin reward,
    ``|2z|`` in them, counts ``1 / unit`` per step (:attr:`reward_scale`).

    ``levels`` ``L > 0``: the neuron has a **min margin** (docs/FORMULATION.md, "Min margin"): a
    level ``m ∈ [0, L]`` shared by every row, spelt with the bits of coefficients ``lc``, enters
    every row's residual as ``+ m·(1 - 2x)``, so ``x = 1`` needs ``u >= threshold + m`` and
    ``x = 0`` needs ``u <= R - m``; the reward is ``level_step·m`` (what |z| gains over ``m`` levels) once per
    neuron. Such a neuron's slack is not split (``a = R``, no summed reward).
    """

    neuron: int
    fan_in: int
    threshold: int
    R: int
    a: int
    tie: bool
    reward: bool
    ca: np.ndarray = field(repr=False)
    cb: np.ndarray = field(repr=False)
    unit: int = 1
    levels: int = 0
    lc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def count(self, z):
        """The count ``u`` of edge sum(s) ``z``: ``(unit·z + fan_in) / 2`` (``z = 2u - F`` for
        unit 1, ``u = F + z`` for unit 2)."""
        return (self.unit * np.asarray(z, dtype=np.int64) + self.fan_in) // 2

    @property
    def reward_scale(self) -> float:
        """Weight of one step of the reward in the margin term: the reward is ``|z|`` (capped)."""
        return 1.0 / self.unit

    def distance(self, u, x):
        """Count steps of count(s) ``u`` from the other side of the threshold at activation bit(s)
        ``x``: ``u - threshold`` where the neuron fires, ``R - u`` where not (negative where a
        hard constraint breaks)."""
        u = np.asarray(u, dtype=np.int64)
        return np.where(np.asarray(x) == 1, u - self.threshold, self.R - u)

    def level(self, u, x, axis=-1):
        """The min-margin level of consistent counts ``u`` / bits ``x`` over ``axis`` (the rows):
        ``min(L, smallest distance)``, at least 0 (docs/FORMULATION.md, "Min margin")."""
        return np.clip(self.distance(u, x).min(axis=axis), 0, self.levels)

    @property
    def level_step(self) -> int:
        """The min margin's reward for one level: ``2/unit`` (|z| grows by 2 per count step for
        unit 1, by 1 for unit 2), a whole number."""
        return 2 // self.unit

    @property
    def base1(self) -> int:
        """|z| at the firing threshold (x = 1, t = e = 0)."""
        return 2 * self.threshold - self.fan_in

    @property
    def base0(self) -> int:
        """|z| at the top of the x = 0 range (t = R)."""
        return self.fan_in - 2 * self.R


def settle_auxiliaries(enc: NeuronEncoding, u: np.ndarray, x: np.ndarray, m=0):
    """Tie bit ``e``, slack ``t`` and its margin part ``ta`` of neuron ``enc`` at agreement count(s)
    ``u`` and activation bit(s) ``x`` (and min-margin level ``m``, broadcast against them): the
    auxiliaries of a consistent state.

    ``t + e`` takes up ``u - threshold·x`` (clipped to the slack's range when the weights break a
    hard constraint), the tie bit is used only where the neuron fires, and the slack is split to
    maximise the margin reward (docs/FORMULATION.md, "Margin").

    Example:
        >>> enc = neuron_encoding(5, 4, 0, None, True)          # even fan-in: a tie bit
        >>> [v.tolist() for v in settle_auxiliaries(enc, np.array([1, 3]), np.array([0, 1]))]
        [[0, 1], [1, 0], [1, 0]]
    """
    u = np.asarray(u, dtype=np.int64)
    x = np.asarray(x, dtype=np.int64)
    s = u - enc.threshold * x + np.asarray(m, dtype=np.int64) * (1 - 2 * x)
    e = ((x == 1) & (s >= 1)).astype(np.int64) if enc.tie else np.zeros_like(s)
    t = np.clip(s - e, 0, enc.R)
    ta = np.where(x == 1, np.minimum(t, enc.a), np.maximum(0, t - (enc.R - enc.a)))
    return e, t, ta


def neuron_encoding(neuron: int, fan_in: int, hard_margin: int, cap: int | None, reward: bool,
                    unit: int = 1, min_margin: bool = False) -> NeuronEncoding:
    """The encoding of a neuron with ``fan_in`` edges, a hard margin ``|z| >= hard_margin`` (0:
    none), a margin cap (``None``: reward |z| untruncated), whether its margin is rewarded, and
    its count unit (:class:`NeuronEncoding`: 2 scales the fan-in, hard margin and cap by 2).
    ``min_margin``: the reward is the neuron's smallest margin over the rows (``levels``, its
    largest level ``min(R, F - threshold)``, and with a cap at most ``|z| <= cap``), not ``|z|``
    summed over them.

    Example:
        >>> enc = neuron_encoding(5, fan_in=3, hard_margin=0, cap=2, reward=True, unit=2)
        >>> (enc.fan_in, enc.threshold, enc.R, enc.tie, enc.a), enc.count([-3, 0, 1]).tolist()
        ((6, 3, 2, True, 1), [0, 3, 4])
    """
    if hard_margin > fan_in:
        raise ValueError(f"neuron {neuron}: a hard margin |z| >= {hard_margin} is impossible with fan-in {fan_in}; "
                         "lower min_output_margin")
    if unit not in (1, 2):
        raise ValueError(f"count unit must be 1 or 2, got {unit!r}")
    F, hard_margin = unit * fan_in, unit * hard_margin
    cap = None if cap is None else unit * cap
    # x = 1 iff z = 2u - F >= m, x = 0 iff z <= -max(m, 1)  (m = 0: sign(0) = +1)
    threshold = -(-(F + hard_margin) // 2)
    R = (F - max(hard_margin, 1)) // 2
    tie = threshold + R + 1 == F   # only even F without hard margin: the tie bit reaches u = F
    a = R
    if min_margin and reward:
        levels = min(R, F - threshold) if cap is None else min(R, F - threshold, cap // 2)
        return NeuronEncoding(neuron, F, threshold, R, R, tie, False, ca=slack_coefficients(R),
                              cb=slack_coefficients(0), unit=unit, levels=levels, lc=slack_coefficients(levels))
    if cap is not None:
        # reward min(|z|, m): the capped reward is base + 2a on either side (see _state_margin),
        # so |z|'s parity rounds the cap down; at least the smallest nonzero |z|.
        base = max(F - 2 * R, 2 * threshold - F + 2 * tie)
        a = int(np.clip((cap - base) // 2, 0, R))
    return NeuronEncoding(neuron, F, threshold, R, a, tie, reward,
                          ca=slack_coefficients(a), cb=slack_coefficients(R - a), unit=unit)
