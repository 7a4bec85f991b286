"""Numba-CUDA kernel: colour-parallel Metropolis simulated annealing.

Spins are split into classes of a greedy graph colouring. One launch updates
one colour class for every read: thread ``(r, k)`` owns spin
``vertices[start + k]`` of read ``r``, recomputes its local field from the CSR
row and applies a Metropolis test. Same-colour spins share no coupling, so the
parallel update equals a sequential sweep over that class. Each thread slot
``(r, k)`` keeps its own xoroshiro128+ state across launches, so a fixed seed
gives fixed samples. Importing this module needs numba-cuda but no GPU; the
kernels also run under ``NUMBA_ENABLE_CUDASIM=1``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda
from numba.cuda.random import (create_xoroshiro128p_states,
                               xoroshiro128p_uniform_float64)

from ._ising import IsingCSR

THREADS_PER_BLOCK = 256


@cuda.jit
def _colour_sweep(spins, h, indptr, indices, data, vertices, start, count,
                  stride, beta, rng_states):
    tid = cuda.grid(1)
    num_reads = spins.shape[0]
    if tid >= num_reads * count:
        return
    r = tid // count
    k = tid - r * count
    i = vertices[start + k]
    field = h[i]
    for p in range(indptr[i], indptr[i + 1]):
        field += data[p] * spins[r, indices[p]]
    de = -2.0 * spins[r, i] * field
    if de <= 0.0:
        spins[r, i] = -spins[r, i]
    elif beta * de < 44.36142:
        u = xoroshiro128p_uniform_float64(rng_states, r * stride + k)
        if u < math.exp(-beta * de):
            spins[r, i] = -spins[r, i]


def anneal_cuda(model: IsingCSR, vertices: np.ndarray, colour_ptr: np.ndarray,
                betas: np.ndarray, states: np.ndarray, seed: int) -> np.ndarray:
    """Anneal int8 ``states`` ``(num_reads, n)`` on the GPU; returns the result.

    Device buffers live only for the duration of the call.
    """
    num_reads = states.shape[0]
    sizes = np.diff(colour_ptr)
    stride = int(sizes.max()) if sizes.size else 0
    if stride == 0 or betas.size == 0:
        return states.copy()

    d_spins = cuda.to_device(np.ascontiguousarray(states))
    d_h = cuda.to_device(model.h)
    d_indptr = cuda.to_device(model.indptr)
    d_indices = cuda.to_device(model.indices)
    d_data = cuda.to_device(model.data)
    d_vertices = cuda.to_device(vertices)
    d_rng = create_xoroshiro128p_states(num_reads * stride, seed=seed)

    launches = []
    for c in np.flatnonzero(sizes):
        total = num_reads * int(sizes[c])
        tpb = min(THREADS_PER_BLOCK, total)  # tiny classes: small blocks
        launches.append((int(colour_ptr[c]), int(sizes[c]), -(-total // tpb), tpb))
    for beta in betas.tolist():
        for start, count, blocks, tpb in launches:
            _colour_sweep[blocks, tpb](
                d_spins, d_h, d_indptr, d_indices, d_data, d_vertices,
                start, count, stride, beta, d_rng)
    out = d_spins.copy_to_host()
    cuda.synchronize()
    return out


def release_memory() -> None:
    """Free device memory whose Python references are gone (deferred frees)."""
    if cuda.is_available():
        try:
            cuda.current_context().deallocations.clear()
        except Exception:  # pragma: no cover - simulator / driver variations
            pass
