"""Numba CPU kernel: Metropolis simulated annealing, one read per ``prange`` step.

Each read keeps its spins and local fields ``f_i = h_i + sum_j J_ij s_j``;
flipping ``s_i`` costs ``dE = -2 s_i f_i`` and an accepted flip updates the
fields of the CSR neighbours only. Every read owns a xorshift128+ generator
seeded by splitmix64 from ``(seed, read index)``, so results do not depend on
the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

# A proposal with beta * dE > 44.36 (acceptance probability < 6e-20) is
# treated as rejected without drawing a random number; dwave-samplers uses the
# same cut-off.
_MAX_BETA_DE = 44.36142

_GOLDEN = uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _splitmix64(x):
    x = x + _GOLDEN
    z = x
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return x, z ^ (z >> uint64(31))


@njit(cache=True)
def read_seeds(seed, num_reads):
    """xorshift128+ states ``(num_reads, 2)`` derived from one 64-bit seed."""
    out = np.empty((num_reads, 2), dtype=np.uint64)
    for r in range(num_reads):
        x = uint64(seed) ^ (uint64(r) * _GOLDEN)
        x, a = _splitmix64(x)
        x, b = _splitmix64(x)
        if a == 0 and b == 0:
            b = uint64(1)
        out[r, 0] = a
        out[r, 1] = b
    return out


@njit(cache=True, parallel=True)
def anneal_cpu(h, indptr, indices, data, betas, states, rng):
    """Anneal ``states`` (int8 ``(num_reads, n)`` of +-1) in place; ``rng`` is advanced in place,
    so a schedule run in consecutive chunks draws the same numbers as one call."""
    num_reads, n = states.shape
    num_betas = betas.shape[0]
    for r in prange(num_reads):
        s = states[r]
        field = h.copy()
        for i in range(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * s[indices[k]]
            field[i] += acc
        s0 = rng[r, 0]
        s1 = rng[r, 1]
        for b in range(num_betas):
            beta = betas[b]
            # dE above which acceptance is impossible (or never, at beta 0)
            threshold = _MAX_BETA_DE / beta if beta > 0 else np.inf
            for i in range(n):
                de = -2.0 * s[i] * field[i]
                if de >= threshold:
                    continue
                flip = de <= 0.0
                if not flip:
                    # xorshift128+
                    x = s0
                    y = s1
                    s0 = y
                    x ^= x << uint64(23)
                    s1 = x ^ y ^ (x >> uint64(17)) ^ (y >> uint64(26))
                    u = ((s1 + y) >> uint64(11)) * (1.0 / 9007199254740992.0)
                    flip = u < np.exp(-beta * de)
                if flip:
                    si = -s[i]
                    s[i] = si
                    two_si = 2.0 * si
                    for k in range(indptr[i], indptr[i + 1]):
                        field[indices[k]] += two_si * data[k]
        rng[r, 0] = s0   # the generator's state carries over to the next call (a chunked schedule)
        rng[r, 1] = s1
