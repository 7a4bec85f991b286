"""Dropout-inspired linear weight penalties (docs/FORMULATION.md, "Dropout-inspired regulariser").

This is *our reading* of arXiv 2601.00449, not a reproduction of its code. Before the full
network is trained, ``K = rounds`` reduced networks are trained, independently of each other:

1. **Mask.** Each hidden neuron is kept independently with probability ``1 - p`` (``p = rate``);
   output neurons are always kept, inputs are never dropped. A dropped neuron loses all its
   incoming and outgoing edges, so the fan-in of the neurons it fed shrinks (the QUBO encoding
   handles any fan-in).
2. **Clean-up** (our choice, deterministic, documented):

   * a kept hidden neuron that no longer reaches any output (every consumer dropped) is dropped
     as well -- its weights would not influence the loss, so they would only add noise to the
     consensus;
   * a kept neuron left with fan-in 0 (no bias, every source a dropped neuron) gets back its
     *first* dropped source neuron (lowest node id), which is then itself treated as kept (and
     repaired the same way if needed). Neurons are visited from the last to the first, so one
     pass suffices. Inputs and the bias are never dropped, so only bias-free neurons that read
     only from neurons can need this.

   The random draw is always ``rng.random(len(network.hidden))`` per round, so masks depend on
   the seed alone, never on earlier rounds' results.
3. **Train** the reduced network with the caller's training step (the estimator's QUBO settings) and
   the user's initial penalties ``h0`` restricted to the kept edges; record its ``±1`` weights.
   Rounds are independent: an earlier reading trained each round under the penalties of the
   rounds before it, and the rounds then copied round 1 (90-99 % sign agreement), so the
   "consensus" only repeated one network.
4. **Update** after every completed round ``k`` (``rho = strength``, ``h0`` the user's initial
   penalties, zeros if none)::

       h_e = h0_e - rho * mean(w_e^(r) for r <= k if e was kept in round r)   (e kept at least once)
       h_e = h0_e                                                            (e never kept)

   A negative ``h_e`` lowers the energy of ``w_e = +1`` (the term is ``h_e * w_e``), so the full
   network is pulled towards the sign the subnetworks agreed on, with strength proportional to
   their agreement. ``rho = 0`` returns ``h0`` unchanged, so the final training is then exactly
   plain training with the same seed.

Seeds: masks come from ``numpy.random.default_rng(seed)``. When the sampler accepts ``seed``,
round ``r`` (0-based) is sampled with ``seed = (base + r + 1) mod 2**32``, where ``base`` is
``params["seed"]`` if given (the classifier puts ``random_state`` there), else ``seed``; with
neither, the sampler uses its own randomness. The caller's ``params`` are never modified, so the
final training uses the caller's seed exactly.

Progress: a ``tqdm`` bar, shown only when ``verbose`` is true and stderr is a terminal
(``disable=None``). Interrupting (Ctrl-C, ``KeyboardInterrupt``) stops the whole fit: the
exception propagates, nothing is returned and the estimator keeps its earlier state.

Parallelism: the rounds are run one after the other (each round's sampler already uses the
machine); they do not depend on each other.

Example:
    >>> from qubo_bnn.classifier import BNNClassifier
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> X, y = bars_and_stripes(3)
    >>> clf = BNNClassifier(hidden_layer_sizes=(3,), dropout_rounds=2, dropout_rate=0.5,
    ...                     sampler_params={"num_reads": 2, "num_sweeps": 100}, random_state=0)
    >>> clf.fit(X, y).fit_info_["dropout"]["rounds_completed"]
    2
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import Network
from .samplers import accepted_parameters

__all__ = ["SubNetwork", "draw_keep", "subnetwork", "dropout_penalties", "update_penalties"]


@dataclass(frozen=True)
class SubNetwork:
    """A reduced network and how it maps onto the full one.

    Attributes:
        network: the reduced :class:`Network` (same inputs; kept neurons renumbered in order).
        kept: node ids (full network) of the kept neurons, ascending.
        edge_index: for each edge of ``network``, the index of the same edge in the full
            network's :attr:`~Network.edges`.
        node_map: full node id -> reduced node id, for inputs and kept neurons.
        repaired: neurons (full ids) restored only to give a consumer fan-in >= 1.
    """

    network: Network
    kept: tuple[int, ...]
    edge_index: np.ndarray
    node_map: Mapping[int, int]
    repaired: tuple[int, ...] = ()

    def map_neurons(self, which):
        """A ``margin_neurons`` choice for the reduced network: names (``"all"``...) as they are,
        explicit neuron ids renumbered (dropped ones left out; ``"none"`` if none is left)."""
        if isinstance(which, str) or which is None:
            return which
        n_in = self.network.n_inputs
        mapped = [self.node_map[int(j)] for j in which if int(j) in self.node_map and int(j) >= n_in]
        return mapped if mapped else "none"


def draw_keep(network: Network, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Bernoulli keep-mask over ``network.hidden`` (True = kept with probability ``1 - rate``).

    Example:
        >>> net = Network(2).dense(4).dense(1)
        >>> draw_keep(net, np.random.default_rng(0), 0.5).tolist()
        [True, False, False, False]
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    return rng.random(len(network.hidden)) >= rate


def subnetwork(network: Network, keep_hidden: np.ndarray) -> SubNetwork:
    """The reduced network keeping the outputs and the hidden neurons where ``keep_hidden``.

    Applies the clean-up rules of the module docstring (neurons that reach no output are
    dropped; a neuron left with fan-in 0 gets back its first dropped source).

    Example:
        >>> net = Network(2).dense(2).dense(1)          # hidden 2, 3; output 4
        >>> sub = subnetwork(net, np.array([False, True]))
        >>> sub.kept, sub.edge_index.tolist()
        ((3, 4), [3, 4, 5, 7, 8])
    """
    hidden = network.hidden
    keep_hidden = np.asarray(keep_hidden, dtype=bool)
    if keep_hidden.shape != (len(hidden),):
        raise ValueError(f"keep mask must have one entry per hidden neuron ({len(hidden)}), got shape {keep_hidden.shape}")
    n_in = network.n_inputs
    outputs = set(network.outputs)
    kept = {j: True for j in outputs}
    kept.update({j: bool(k) for j, k in zip(hidden, keep_hidden)})
    consumers: dict[int, list[int]] = {j: [] for j in network.neurons}
    for j in network.neurons:
        for s in network.sources(j):
            if s >= n_in:
                consumers[s].append(j)
    live: dict[int, bool] = {}
    repaired = []
    for j in reversed(network.neurons):   # consumers have larger ids than their sources
        live[j] = j in outputs or (kept[j] and any(live[c] for c in consumers[j]))
        if not live[j]:
            continue
        srcs = network.sources(j)
        if not network.has_bias(j) and not any(s < n_in or kept[s] for s in srcs):
            first = min(srcs)                 # all sources are dropped neurons here
            kept[first] = True
            repaired.append(first)
    live_ids = [j for j in network.neurons if live[j]]
    node_map = {i: i for i in range(n_in)}
    node_map.update({j: n_in + k for k, j in enumerate(live_ids)})
    sub = Network(n_in, inputs=network.inputs)
    slices = network.edge_slices()
    edge_index = []
    for j in live_ids:
        srcs = network.sources(j)
        pos = [p for p, s in enumerate(srcs) if s < n_in or live[s]]
        ternary = network.is_ternary(j)
        sub.add_neuron([node_map[srcs[p]] for p in pos], bias=network.has_bias(j), ternary=ternary)
        start = slices[j].start
        edge_index.extend(start + q for p in pos for q in ((2 * p, 2 * p + 1) if ternary else (p,)))
        if network.has_bias(j):
            edge_index.append(slices[j].stop - 1)
    sub.set_outputs([node_map[o] for o in network.outputs])
    sub.validate()
    return SubNetwork(sub, tuple(live_ids), np.asarray(edge_index, dtype=np.int64), node_map, tuple(repaired))


def update_penalties(h0: np.ndarray, weight_sum: np.ndarray, kept_count: np.ndarray, strength: float) -> np.ndarray:
    """``h0 - strength * weight_sum / kept_count`` where ``kept_count > 0``, else ``h0``.

    Example:
        >>> update_penalties(np.zeros(3), np.array([2., -1., 0.]), np.array([2, 3, 0]), 0.5).tolist()
        [-0.5, 0.16666666666666666, 0.0]
    """
    h = np.array(h0, dtype=np.float64, copy=True)
    seen = kept_count > 0
    h[seen] -= strength * weight_sum[seen] / kept_count[seen]
    return h


def _round_seed(sampler: Any, params: Mapping[str, Any], seed: int | None, r: int) -> int | None:
    if "seed" not in params and "seed" not in accepted_parameters(sampler):
        return None
    base = params.get("seed", seed)
    if base is None:
        return None
    return int((int(base) + r + 1) % 2**32)


def dropout_penalties(train: Callable[[SubNetwork, dict[str, Any], np.ndarray], tuple[np.ndarray, Mapping]],
                      network: Network, sampler: Any, params: Mapping[str, Any], h: np.ndarray | None, *,
                      rounds: int, rate: float, strength: float, seed: int | None = None,
                      verbose: bool = False) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Run the dropout rounds and return the penalties for the full network (module docstring).

    Args:
        train: ``train(subnetwork, params, h) -> (weights, info)`` trains one reduced network
            (:class:`SubNetwork`) with these ``sample()`` parameters and linear penalties; the
            estimator passes its own training step (:func:`~qubo_bnn.training.train_step`).
        network: the full network.
        sampler, params: the sampler (its accepted parameters decide whether rounds get their
            own seeds) and its ``sample()`` parameters for the full network.
        h: the user's initial penalties (one per edge of ``network``) or ``None`` (zeros).
        rounds: ``K``, number of subnetworks (>= 0).
        rate: ``p``, probability of dropping each hidden neuron, in ``[0, 1)``.
        strength: ``rho``, weight of the consensus penalty (0 leaves ``h`` unchanged).
        seed: seed of the masks (and of the round samplers when ``params`` holds none).
        verbose: show a progress bar (on a terminal).

    Returns:
        ``(h_new, info)``. ``h_new`` is ``h`` itself (possibly ``None``) when no round completed
        or ``strength == 0``; otherwise a new float array. ``info`` is JSON-ready: settings,
        ``rounds_completed``, per round the kept hidden neurons, repaired
        neurons, number of kept edges, sampler seed and training output errors, and the final
        ``h`` with summary statistics.

    Example:
        >>> def train(sub, params, h):                   # returns all +1 weights
        ...     return np.ones(sub.network.n_weights, dtype=np.int8), {"train_output_errors": 0}
        >>> net = Network(2).dense(2).dense(1)
        >>> h, info = dropout_penalties(train, net, None, {}, None, rounds=2, rate=0.5, strength=0.25, seed=0)
        >>> h.tolist()                                   # neuron 3 never kept: its edges keep h = 0
        [-0.25, -0.25, -0.25, 0.0, 0.0, 0.0, -0.25, 0.0, -0.25]
        >>> [r["kept_hidden"] for r in info["rounds"]]
        [[2], []]
    """
    from tqdm.auto import tqdm

    rounds = int(rounds)
    if rounds < 0:
        raise ValueError(f"dropout rounds must be >= 0, got {rounds}")
    if not np.isfinite(strength):
        raise ValueError(f"dropout strength must be finite, got {strength!r}")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    n_w = network.n_weights
    h0 = np.zeros(n_w) if h is None else np.asarray(h, dtype=np.float64)
    if h0.shape != (n_w,):
        raise ValueError(f"h must have one value per weight ({n_w}), got shape {h0.shape}")
    rng = np.random.default_rng(seed)
    weight_sum = np.zeros(n_w)
    kept_count = np.zeros(n_w, dtype=np.int64)
    current = h0.copy()
    per_round: list[dict[str, Any]] = []
    bar = tqdm(range(rounds), desc="dropout rounds", unit="round", disable=None if verbose else True, leave=False)
    try:
        for r in bar:
            sub = subnetwork(network, draw_keep(network, rng, rate))
            round_params = dict(params)
            rseed = _round_seed(sampler, params, seed, r)
            if rseed is not None:
                round_params["seed"] = rseed
            w, tinfo = train(sub, round_params, h0[sub.edge_index])
            w = np.asarray(w, dtype=np.float64)
            weight_sum[sub.edge_index] += w
            kept_count[sub.edge_index] += 1
            current = update_penalties(h0, weight_sum, kept_count, strength)
            per_round.append({
                "kept_hidden": [int(j) for j in network.hidden if j in sub.kept],
                "repaired": [int(j) for j in sub.repaired],
                "n_edges": int(len(sub.edge_index)), "sampler_seed": rseed,
                "train_output_errors": _int_or_none(tinfo.get("train_output_errors")),
            })
            bar.set_postfix(errors=per_round[-1]["train_output_errors"], edges=len(sub.edge_index))
    finally:
        bar.close()
    done = len(per_round)
    h_new = h if (done == 0 or strength == 0) else current
    h_out = h0 if h_new is None else np.asarray(h_new, dtype=np.float64)
    info = {
        "scheme": "h_e = h0_e - rho * mean_k(w_e^(k)) over the independent rounds in which e was kept",
        "rounds_requested": rounds, "rounds_completed": done,
        "rate": float(rate), "strength": float(strength), "seed": None if seed is None else int(seed),
        "rounds": per_round,
        "edges_kept_count": kept_count.tolist(),
        "h": h_out.tolist(),
        "h_stats": {"min": float(h_out.min()), "max": float(h_out.max()), "mean": float(h_out.mean()),
                    "mean_abs": float(np.abs(h_out).mean()), "n_nonzero": int(np.count_nonzero(h_out)),
                    "fraction_edges_seen": float((kept_count > 0).mean())},
    }
    return h_new, info


def _int_or_none(v: Any) -> int | None:
    return None if v is None else int(v)
