"""The size of a training QUBO, estimated before anything is built, and the memory limit it is
checked against (``TrainingQUBO(..., max_bytes=...)``).

Example:
    >>> from qubo_bnn.network import Network
    >>> estimate_size(Network(16).dense(4).dense(1), 42)[:2]
    (1627, 27812)
"""
from __future__ import annotations

from .network import Network

__all__ = ["BYTES_PER_COUPLING", "QUBOTooLargeError", "memory_limit", "estimate_size"]


BYTES_PER_COUPLING = 500
"""Peak build memory per coupling of the numpy builder: 160-460 bytes measured (tracemalloc) on
digits tasks, with a margin."""


class QUBOTooLargeError(ValueError):
    """The training QUBO would not fit the memory limit; raised before anything large is built."""


def memory_limit() -> int:
    """Default build-memory limit: half of the memory available now (``/proc/meminfo``), or 8 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return int(info["MemAvailable"].split()[0]) * 1024 // 2
    except (OSError, KeyError, ValueError):
        return 8 << 30


def estimate_size(network: Network, n_rows: int, hard_fit: bool = False) -> tuple[int, int, int]:
    """``(variables, couplings, bytes)``: an upper estimate of the training QUBO of ``network``
    on ``n_rows`` distinct rows and of its peak build memory, computed without building it.

    Per row and neuron: ``x``, at most ``⌊log2(F/2)⌋ + 3`` slack and tie bits, one ``y`` per edge
    from a neuron. The squared residual couples each of those to the neuron's ``F`` weights and
    to each other; weight-weight pairs are shared by all rows (docs/FORMULATION.md, "Sign
    consistency").

    Example:
        >>> estimate_size(Network(16).dense(4).dense(1), 42)[:2]
        (1627, 27812)
    """
    outs = set(network.outputs)
    per_row_vars, per_row_pairs, shared_pairs = 0, 0, 0
    for j in network.neurons:
        F = network.fan_in(j)
        ny = sum(1 for s in network.sources(j) if s >= network.n_inputs)
        aux = (0 if (hard_fit and j in outs) else 1) + (F // 2).bit_length() + 2 + ny
        per_row_vars += aux
        per_row_pairs += aux * F + aux * (aux - 1) // 2 + 2 * ny   # with weights, among themselves, AND
        shared_pairs += F * (F - 1) // 2
    variables = network.n_weights + n_rows * per_row_vars
    couplings = shared_pairs + n_rows * per_row_pairs
    return variables, couplings, couplings * BYTES_PER_COUPLING + variables * 64
