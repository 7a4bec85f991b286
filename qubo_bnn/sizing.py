"""The size of a training QUBO and of its numpy build, estimated before anything is built, and
the memory limit it is checked against (``TrainingQUBO(..., max_bytes=...)``, checked when a BQM
is built: :meth:`~qubo_bnn.formulation.TrainingQUBO.check_size`).

The build's peak is its *raw terms*: each neuron's squared residual on each row expands into
``K(K+1)/2`` entries over its ``K`` terms (``K`` about the fan-in) before duplicates are summed,
so the memory grows as rows × fan-in², far above the final couplings for wide neurons.
:func:`estimate_dense_size` prices a dense net from its layer widths alone (no edge list), and
:func:`dense_network_bytes` bounds the :class:`~qubo_bnn.network.Network` object itself.

Example:
    >>> from qubo_bnn.network import Network
    >>> estimate_size(Network(16).dense(4).dense(1), 42)[:2]
    (1207, 21134)
    >>> estimate_dense_size(16, [4], 1, 42) == estimate_size(Network(16).dense(4).dense(1), 42)
    True
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .network import Network

__all__ = ["BYTES_PER_RAW_TERM", "BYTES_PER_COUPLING", "BYTES_PER_VARIABLE", "NETWORK_BYTES_PER_EDGE",
           "QUBOTooLargeError", "SizeEstimate", "memory_limit", "estimate_size", "estimate_dense_size",
           "dense_network_bytes"]


BYTES_PER_RAW_TERM = 100
"""Peak memory of the numpy builder per raw term (one entry of the expanded polynomials before
duplicate pairs are summed): about 93 bytes measured (tracemalloc, a 784-10 net on MNIST rows and
digits tasks), rounded up."""
BYTES_PER_COUPLING = 80
"""Memory per coupling kept after the build: the merged arrays the problem caches for retuning
and the BQM's own adjacency."""
BYTES_PER_VARIABLE = 200
"""Memory per variable: its label (a Python string), id arrays and the BQM's vectors."""
NETWORK_BYTES_PER_EDGE = 64
"""Memory per edge of a :class:`~qubo_bnn.network.Network`: its source lists, edge array and
cached views, with a margin."""


class QUBOTooLargeError(ValueError):
    """The training QUBO would not fit the memory limit; raised before anything large is built."""


class SizeEstimate(NamedTuple):
    """An upper estimate of a training QUBO: ``variables``, ``couplings`` and the ``bytes`` of its
    numpy build (peak, :data:`BYTES_PER_RAW_TERM` per raw term, plus what is kept)."""

    variables: int
    couplings: int
    bytes: int


def memory_limit() -> int:
    """Default build-memory limit: half of the memory available now (``/proc/meminfo``), or 8 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return int(info["MemAvailable"].split()[0]) * 1024 // 2
    except (OSError, KeyError, ValueError):
        return 8 << 30


def _estimate(groups: Iterable[tuple[int, int, int, bool, int]], n_weights: int, n_rows: int,
              margin_cap: int | None, margin_kind: str = "sum") -> SizeEstimate:
    """The estimate from neuron groups ``(count, fan_in, edges from neurons with a variable,
    has an activation variable, count unit)``; one rule for :func:`estimate_size` and
    :func:`estimate_dense_size`.

    Per row and neuron: ``x``, the slack and tie bits (``⌊log2 R⌋ + 1`` slack bits for the range
    ``R = ⌊(U-1)/2⌋`` of the count's fan-in ``U = unit·F``, twice that when ``margin_cap`` splits
    the slack, and a tie bit; three times the slack bits for ``margin_kind="min"``: the level's
    bits and their ``q = g ∧ x``, each at most the slack's, join every row's residual), one ``y``
    per edge from a neuron. The squared residual has ``K = F + 2·ny + x + slack + tie`` terms,
    ``K(K+1)/2`` raw entries; the AND penalty 4 per ``y``, margin, tie and loss at most
    ``2·slack + 6``. Couplings: every pair of the residual's per-row terms (the AND, tie and
    margin products are among them), weight-weight pairs shared by all rows
    (docs/FORMULATION.md, "Sign consistency").
    """
    per_row_vars = per_row_pairs = per_row_raw = shared_pairs = 0
    for count, F, ny, has_x, unit in groups:
        U = unit * F
        split = 3 if margin_kind == "min" else (2 if margin_cap is not None else 1)
        slack = ((U - 1) // 2).bit_length() * split + (1 - U % 2)
        aux = int(has_x) + slack + ny
        K = F + 2 * ny + int(has_x) + slack
        per_row_vars += count * aux
        per_row_pairs += count * (K * (K - 1) // 2 - F * (F - 1) // 2)   # the residual's pairs but weight-weight
        per_row_raw += count * (K * (K + 1) // 2 + 4 * ny + 2 * slack + 6)
        shared_pairs += count * (F * (F - 1) // 2)
    variables = n_weights + n_rows * per_row_vars
    couplings = shared_pairs + n_rows * per_row_pairs
    need = (n_rows * per_row_raw * BYTES_PER_RAW_TERM + couplings * BYTES_PER_COUPLING
            + variables * BYTES_PER_VARIABLE)
    return SizeEstimate(variables, couplings, need)


def estimate_size(network: Network, n_rows: int, hard_fit: bool = False,
                  margin_cap: int | None = None, margin_kind: str = "sum") -> SizeEstimate:
    """``(variables, couplings, bytes)``: an upper estimate of the training QUBO of ``network``
    on ``n_rows`` distinct rows and of its numpy build's peak memory, computed without building
    it (the rule: :func:`_estimate`). ``margin_cap``: the problem's, if any (it splits the slack);
    ``margin_kind``: the problem's (``"min"`` adds level bits).

    Example:
        >>> estimate_size(Network(16).dense(4).dense(1), 42)[:2]
        (1207, 21134)
    """
    outs = set(network.outputs)
    free = {j for j in network.neurons if not (hard_fit and j in outs)}
    groups = ((1, network.fan_in(j), sum(1 for s in network.edge_sources(j) if s in free), j in free,
               network.count_unit(j)) for j in network.neurons)
    return _estimate(groups, network.n_weights, n_rows, margin_cap, margin_kind)


def _check_widths(n_inputs: int, hidden_widths: Sequence[int], n_outputs: int) -> list[int]:
    widths = [n_inputs, *hidden_widths, n_outputs]
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, int) and not hasattr(w, "__index__") or int(w) < 1:
            raise ValueError(f"layer widths must be positive integers, got {widths}")
    return [int(w) for w in widths]


def estimate_dense_size(n_inputs: int, hidden_widths: Sequence[int], n_outputs: int, n_rows: int,
                        hard_fit: bool = False, margin_cap: int | None = None,
                        margin_kind: str = "sum") -> SizeEstimate:
    """:func:`estimate_size` of the dense net ``Network(n_inputs).dense(w)... .dense(n_outputs)``
    (biases on every neuron) from its layer widths alone: O(layers), no edge list.

    Example:
        >>> estimate_dense_size(784, [20000, 20000], 10, 100).bytes > 10**15   # refused at once
        True
    """
    widths = _check_widths(n_inputs, hidden_widths, n_outputs)
    n_weights = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    groups = []
    for layer, (prev, width) in enumerate(zip(widths[:-1], widths[1:])):
        is_out = layer == len(widths) - 2
        from_neurons = 0 if layer == 0 else (0 if (hard_fit and layer == len(widths) - 1) else prev)
        groups.append((width, prev + 1, from_neurons, not (hard_fit and is_out), 1))
    return _estimate(groups, n_weights, n_rows, margin_cap, margin_kind)


def dense_network_bytes(n_inputs: int, hidden_widths: Sequence[int], n_outputs: int) -> int:
    """An upper bound on the memory of the dense :class:`~qubo_bnn.network.Network` itself
    (:data:`NETWORK_BYTES_PER_EDGE` per edge), from its layer widths alone.

    Example:
        >>> dense_network_bytes(784, [20000, 20000], 10) > 2**34           # 400 million edges
        True
    """
    widths = _check_widths(n_inputs, hidden_widths, n_outputs)
    edges = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    return edges * NETWORK_BYTES_PER_EDGE
