"""Device-independent preprocessing shared by the CPU and CUDA annealers.

Everything here runs once per ``sample`` call (not on the hot path): BQM to
Ising CSR conversion, the default beta range, the beta schedule, the greedy
graph colouring used by the GPU kernels and per-read seed derivation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import dimod
import numpy as np
from numba import njit, prange

__all__ = [
    "IsingCSR",
    "ising_csr_from_bqm",
    "ising_energies",
    "default_beta_range",
    "beta_schedule",
    "greedy_colouring",
    "SCHEDULE_TYPES",
    "check_int",
    "check_beta_range",
    "check_array_size",
    "check_states_size",
    "MAX_ARRAY_BYTES",
]

SCHEDULE_TYPES = ("geometric", "linear")

MAX_ARRAY_BYTES = 1 << 30
"""Largest array (1 GiB) a sampler allocates from its parameters: the beta schedule
(``num_sweeps``), the states and the sample record (``num_reads`` × variables). Checked before
allocating, so a mistyped ``num_sweeps = 10**9`` is a one-line error, not 7.45 GiB requested."""


@dataclass(frozen=True)
class IsingCSR:
    """Ising model ``E(s) = offset + sum_i h_i s_i + sum_{i<j} J_ij s_i s_j``.

    The couplings are stored as a symmetric CSR matrix (each ``J_ij`` appears
    in row ``i`` and in row ``j``), variables indexed in ``bqm.variables``
    order.
    """

    h: np.ndarray  # float64[n]
    indptr: np.ndarray  # int64[n + 1]
    indices: np.ndarray  # int32[2m]
    data: np.ndarray  # float64[2m]
    offset: float

    @property
    def num_variables(self) -> int:
        return int(self.h.shape[0])


def ising_csr_from_bqm(bqm: dimod.BinaryQuadraticModel) -> IsingCSR:
    """Convert any BQM to the Ising CSR form, variables in ``bqm.variables`` order.

    >>> import dimod
    >>> m = ising_csr_from_bqm(dimod.BQM({'a': 1.0}, {('a', 'b'): -1.0}, 0.0, 'SPIN'))
    >>> m.indptr.tolist(), m.indices.tolist(), m.data.tolist()
    ([0, 1, 2], [1, 0], [-1.0, -1.0])
    """
    # explicit order: by default dimod sorts integer labels. The BQM's own
    # vectors are converted here: ``bqm.spin`` of a BINARY BQM is a view whose
    # to_numpy_vectors falls back to a slow Python loop.
    vectors = bqm.to_numpy_vectors(variable_order=list(bqm.variables))
    n = len(bqm.variables)
    h = np.array(vectors.linear_biases, dtype=np.float64)
    irow = np.asarray(vectors.quadratic.row_indices, dtype=np.int64)
    icol = np.asarray(vectors.quadratic.col_indices, dtype=np.int64)
    q = np.array(vectors.quadratic.biases, dtype=np.float64)
    offset = float(vectors.offset)
    if bqm.vartype is dimod.BINARY:
        # x = (s + 1) / 2:  a x_i -> a/2 s_i + a/2;  b x_i x_j -> b/4 (s_i s_j + s_i + s_j + 1)
        offset += h.sum() / 2 + q.sum() / 4
        h /= 2
        h += (np.bincount(irow, weights=q, minlength=n)
              + np.bincount(icol, weights=q, minlength=n)) / 4
        q /= 4

    indptr, indices, data = _symmetric_csr(n, irow, icol, q)
    return IsingCSR(h=h, indptr=indptr, indices=indices, data=data, offset=offset)


@njit(cache=True)
def _symmetric_csr(n, irow, icol, q):
    """CSR of the symmetric matrix with ``q[k]`` at ``(irow[k], icol[k])`` and its mirror.

    A counting sort, O(n + m). Within a row, the entries where it is
    ``irow`` come first, then those where it is ``icol``, each in input order.
    """
    indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(irow.shape[0]):
        indptr[irow[k] + 1] += 1
        indptr[icol[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    indices = np.empty(2 * irow.shape[0], dtype=np.int32)
    data = np.empty(2 * irow.shape[0], dtype=np.float64)
    for k in range(irow.shape[0]):
        p = fill[irow[k]]
        indices[p] = icol[k]
        data[p] = q[k]
        fill[irow[k]] = p + 1
    for k in range(icol.shape[0]):
        p = fill[icol[k]]
        indices[p] = irow[k]
        data[p] = q[k]
        fill[icol[k]] = p + 1
    return indptr, indices, data


@njit(cache=True, parallel=True)
def _energies(h, indptr, indices, data, offset, states):
    num_reads, n = states.shape
    out = np.empty(num_reads, dtype=np.float64)
    for r in prange(num_reads):
        s = states[r]
        linear = 0.0
        quadratic = 0.0
        for i in range(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * s[indices[k]]
            quadratic += s[i] * acc
            linear += s[i] * h[i]
        out[r] = offset + linear + 0.5 * quadratic  # each coupling is stored twice
    return out


def ising_energies(model: IsingCSR, states: np.ndarray) -> np.ndarray:
    """Energy of each row of int8 ``states`` (+-1, ``(num_reads, n)``) under ``model``.

    >>> import dimod, numpy as np
    >>> m = ising_csr_from_bqm(dimod.BQM({'a': 1.0}, {('a', 'b'): -1.0}, 0.5, 'SPIN'))
    >>> ising_energies(m, np.array([[1, 1], [-1, 1]], dtype=np.int8)).tolist()
    [0.5, 0.5]
    """
    return _energies(model.h, model.indptr, model.indices, model.data, model.offset, states)


@njit(cache=True)
def _field_bounds(h, indptr, data):
    """Per variable: ``|h_i| + sum_j |J_ij|`` and the smallest non-zero ``|h_i|``, ``|J_ij|``."""
    n = h.shape[0]
    sum_abs = np.empty(n)
    min_abs = np.empty(n)
    for i in range(n):
        total = abs(h[i])
        smallest = total if total != 0.0 else np.inf
        for k in range(indptr[i], indptr[i + 1]):
            a = abs(data[k])
            total += a
            if a != 0.0 and a < smallest:
                smallest = a
        sum_abs[i] = total
        min_abs[i] = smallest
    return sum_abs, min_abs


def default_beta_range(model: IsingCSR) -> tuple[float, float]:
    """Default ``(hot, cold)`` inverse temperatures, as dwave-samplers computes them.

    * hot: the largest possible effective field ``max_i |h_i| + sum_j |J_ij|``
      can still be flipped with probability 50%:
      ``beta_hot = ln 2 / (2 * max_field)``.
    * cold: the smallest non-zero bias per spin (``min(|h_i|, |J_ij|)``) is
      flipped with total probability 1% over the ``k`` spins that share the
      minimum: ``beta_cold = ln(k / 0.01) / (2 * min_field)``.

    All-zero problems warn and get ``(0.1, 1.0)`` like neal.

    >>> import dimod
    >>> m = ising_csr_from_bqm(dimod.BQM({'a': 1.0}, {}, 0.0, 'SPIN'))
    >>> [round(b, 4) for b in default_beta_range(m)]
    [0.3466, 2.3026]
    """
    n = model.num_variables
    sum_abs, min_abs = _field_bounds(model.h, model.indptr, model.data)
    finite = min_abs[np.isfinite(min_abs)]
    if finite.size == 0:
        if n:
            warnings.warn(
                "All bqm biases are zero (all energies are zero); beta_range is "
                "set arbitrarily to (0.1, 1.0).",
                stacklevel=3,
            )
        return (0.1, 1.0)

    max_field = float(sum_abs.max())
    hot = math.log(2.0) / (2.0 * max_field)
    min_field = float(finite.min())
    num_min = int(np.count_nonzero(finite == min_field))
    cold = math.log(num_min / 0.01) / (2.0 * min_field)
    return (hot, cold)


def beta_schedule(beta_range: tuple[float, float], num_sweeps: int,
                  schedule_type: str) -> np.ndarray:
    """One inverse temperature per sweep, from ``beta_range[0]`` to ``beta_range[1]``.

    A single sweep runs at the final (cold) beta, as in dwave-samplers.

    >>> beta_schedule((0.1, 10.0), 3, 'geometric').tolist()
    [0.1, 1.0, 10.0]
    >>> beta_schedule((0.1, 10.0), 10**9, 'geometric')
    Traceback (most recent call last):
    ...
    ValueError: the beta schedule (num_sweeps = 1000000000 float64 values) would take 7.45 GiB, over the 1 GiB limit (MAX_ARRAY_BYTES): reduce 'num_sweeps'
    """
    check_array_size(f"the beta schedule (num_sweeps = {num_sweeps} float64 values)", (num_sweeps,),
                     np.float64, "'num_sweeps'")
    if num_sweeps == 0:
        return np.empty(0, dtype=np.float64)
    if num_sweeps == 1:
        return np.array([beta_range[1]], dtype=np.float64)
    if schedule_type == "geometric":
        return np.geomspace(beta_range[0], beta_range[1], num_sweeps)
    if schedule_type == "linear":
        return np.linspace(beta_range[0], beta_range[1], num_sweeps)
    raise ValueError(f"unknown beta_schedule_type {schedule_type!r}; "
                     f"expected one of {SCHEDULE_TYPES}")


def check_array_size(what: str, shape: Sequence[int], dtype: Any, reduce: str) -> None:
    """A one-line ValueError unless an array of ``shape`` and ``dtype`` fits in
    :data:`MAX_ARRAY_BYTES`; computed in Python integers, before anything is allocated.

    >>> check_array_size("the states", (16, 1000), np.int8, "'num_reads'")   # 16 kB: fine
    >>> check_array_size("the states", (2**20, 2**20), np.int8, "'num_reads'")
    Traceback (most recent call last):
    ...
    ValueError: the states would take 1024.00 GiB, over the 1 GiB limit (MAX_ARRAY_BYTES): reduce 'num_reads'
    """
    size = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
    if size > MAX_ARRAY_BYTES:
        raise ValueError(f"{what} would take {size / 2**30:.2f} GiB, over the {MAX_ARRAY_BYTES / 2**30:g} GiB "
                         f"limit (MAX_ARRAY_BYTES): reduce {reduce}")


def check_states_size(num_reads: int, num_variables: int) -> None:
    """Refuse ``num_reads`` reads of ``num_variables`` variables whose arrays would not fit in
    :data:`MAX_ARRAY_BYTES`: the largest is the sample record, an int8 state plus a float64
    energy and an int64 occurrence count (16 bytes) per read; the int8 states, the per-read seeds
    (two uint64) and energies (float64) are no larger.

    >>> check_states_size(16, 10**6)
    >>> check_states_size(10**9, 10)
    Traceback (most recent call last):
    ...
    ValueError: the samples (num_reads = 1000000000 reads of 10 variables + 16 bytes) would take 24.21 GiB, over the 1 GiB limit (MAX_ARRAY_BYTES): reduce 'num_reads' (or the problem size)
    """
    check_array_size(f"the samples (num_reads = {num_reads} reads of {num_variables} variables + 16 bytes)",
                     (num_reads, int(num_variables) + 16), np.uint8, "'num_reads' (or the problem size)")


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_beta_range(beta_range: Sequence[float], schedule_type: str) -> tuple[float, float]:
    """``(hot, cold)`` as floats: finite, >= 0, and > 0 for a geometric schedule."""
    try:
        hot, cold = (float(b) for b in beta_range)
    except (TypeError, ValueError):
        raise ValueError("'beta_range' must be a pair of numbers (hot, cold), "
                         f"got {beta_range!r}") from None
    if not (math.isfinite(hot) and math.isfinite(cold)) or min(hot, cold) < 0:
        raise ValueError(f"'beta_range' values must be finite and >= 0, got {beta_range!r}")
    if schedule_type == "geometric" and min(hot, cold) == 0:
        raise ValueError("'beta_range' values must be > 0 for a geometric schedule, "
                         f"got {beta_range!r}")
    return hot, cold


@njit(cache=True)
def _greedy_colour_kernel(indptr, indices):
    n = indptr.shape[0] - 1
    colour = np.full(n, -1, dtype=np.int32)
    # stamp[c] == v + 1 means colour c is used by a neighbour of v
    max_deg = 0
    for v in range(n):
        max_deg = max(max_deg, indptr[v + 1] - indptr[v])
    stamp = np.zeros(max_deg + 2, dtype=np.int64)
    for v in range(n):
        for k in range(indptr[v], indptr[v + 1]):
            c = colour[indices[k]]
            if c >= 0:
                stamp[c] = v + 1
        c = 0
        while stamp[c] == v + 1:
            c += 1
        colour[v] = c
    return colour


def greedy_colouring(model: IsingCSR) -> tuple[np.ndarray, np.ndarray]:
    """Greedy proper colouring of the coupling graph.

    Returns ``(vertices, colour_ptr)``: the vertices of colour ``c`` are
    ``vertices[colour_ptr[c]:colour_ptr[c + 1]]``. Same-colour spins share no
    coupling, so they can be updated simultaneously with exact Metropolis.

    >>> import dimod
    >>> m = ising_csr_from_bqm(dimod.BQM({}, {(0, 1): 1, (1, 2): 1}, 0, 'SPIN'))
    >>> verts, ptr = greedy_colouring(m)
    >>> verts.tolist(), ptr.tolist()
    ([0, 2, 1], [0, 2, 3])
    """
    colour = _greedy_colour_kernel(model.indptr, model.indices)
    num_colours = int(colour.max()) + 1 if colour.size else 0
    vertices = np.argsort(colour, kind="stable").astype(np.int32)
    colour_ptr = np.zeros(num_colours + 1, dtype=np.int64)
    np.cumsum(np.bincount(colour, minlength=num_colours), out=colour_ptr[1:])
    return vertices, colour_ptr
