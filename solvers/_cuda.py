"""Numba-CUDA kernels: colour-parallel Metropolis simulated annealing.

Spins are split into the classes of a greedy graph colouring; same-colour
spins share no coupling, so updating a whole class at once is exactly a
sequential Metropolis sweep over that class. One sweep visits the classes in
order.

Layout and work split, chosen for training BQMs (a few weights coupled to
tens of thousands of per-sample auxiliaries, and many low-degree
auxiliaries):

* spins live on the device as ``int8 (n, num_reads)``: the reads of one
  variable are adjacent, so the threads that update one variable in
  consecutive reads read its CSR row once and gather each neighbour's spins
  from one contiguous segment;
* a *light* variable (degree <= ``heavy_degree``) is updated by one thread
  per read; a *heavy* one (a weight) has its CSR row cut into chunks, one
  block per (chunk, tile of reads) sums a chunk in shared memory (a fixed
  tree), and after a grid barrier one thread per read adds the chunks in
  order and applies the Metropolis test;
* the whole anneal is one cooperative launch that loops over sweeps and
  colours with grid-wide barriers (no per-colour launch overhead); where
  cooperative launch is unavailable, two launches per colour and sweep do
  the same work.

Random numbers are counter based: the uniform for the Metropolis test of
variable ``i`` in read ``r`` at sweep ``b`` is a hash of ``(seed, b, i, r)``.
Samples therefore depend on the seed only, not on the grid size, block size,
launch mode or the heavy/light split and chunk size (up to floating-point
rounding of the local field). Importing this module needs numba-cuda but no GPU; the kernels
also run under ``NUMBA_ENABLE_CUDASIM=1``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, cuda, float64, uint64

from ._hash import mix32
from ._ising import IsingCSR

THREADS_PER_BLOCK = 16 if config.ENABLE_CUDASIM else 256  # a power of two
HEAVY_DEGREE = 256
# A proposal with beta * dE above this (acceptance < 6e-20) is rejected
# without a random number, as on the CPU and in dwave-samplers.
_MAX_BETA_DE = 44.36142
_MASK32 = 0xFFFFFFFF


_mix32 = cuda.jit(device=True, inline=True)(mix32)


@cuda.jit(device=True, inline=True)
def _uniform(key0, key1, counter):
    """Uniform in (0, 1), a function of the key and the 64-bit ``counter`` only."""
    c = uint64(counter)
    x = _mix32((c & uint64(_MASK32)) ^ key0)
    x = _mix32(x ^ (c >> uint64(32)) ^ key1)
    return (float64(x) + 0.5) * 2.3283064365386963e-10  # 2**-32


@cuda.jit(device=True, inline=True)
def _metropolis(spins, i, r, field, beta, key0, key1, counter):
    s = spins[i, r]
    de = -2.0 * s * field
    if de <= 0.0:
        spins[i, r] = -s
    elif beta * de < _MAX_BETA_DE:
        if _uniform(key0, key1, counter) < math.exp(-beta * de):
            spins[i, r] = -s


@cuda.jit(device=True)
def _colour_gather(spins, h, indptr, indices, data, vertices, chunk_ptr, chunk_owner,
                   scratch, start, split, end, beta, sweep, key0, key1, tile, chunk,
                   partial):
    """First half of a colour class update; every thread of the grid calls it.

    Light variables ``vertices[start:split]``: one thread per read sums the
    local field and applies the Metropolis test. Heavy ones
    ``vertices[split:end]``: their CSR rows are cut into chunks of ``chunk``
    couplings, and one block per (chunk, tile of ``tile`` reads) writes the
    chunk's partial field to ``scratch[chunk id, read]``. ``partial`` is the
    block's shared scratch of ``blockDim.x`` floats.
    """
    n = spins.shape[0]
    num_reads = spins.shape[1]
    rank = cuda.grid(1)
    num_threads = cuda.gridsize(1)
    num_light = (split - start) * num_reads
    for item in range(rank, num_light, num_threads):
        k = item // num_reads
        r = item - k * num_reads
        i = vertices[start + k]
        field = h[i]
        for p in range(indptr[i], indptr[i + 1]):
            field += data[p] * spins[indices[p], r]
        _metropolis(spins, i, r, field, beta, key0, key1, (sweep * n + i) * num_reads + r)

    t = cuda.threadIdx.x
    block_size = cuda.blockDim.x
    groups = block_size // tile
    lane = t % tile
    group = t // tile
    num_tiles = (num_reads + tile - 1) // tile
    first = chunk_ptr[split]
    num_items = (chunk_ptr[end] - first) * num_tiles
    for item in range(cuda.blockIdx.x, num_items, cuda.gridDim.x):
        j = first + item // num_tiles
        r = (item % num_tiles) * tile + lane
        q = chunk_owner[j]
        i = vertices[q]
        p0 = indptr[i] + (j - chunk_ptr[q]) * chunk
        p1 = min(p0 + chunk, indptr[i + 1])
        acc = 0.0
        if r < num_reads:
            for p in range(p0 + group, p1, groups):
                acc += data[p] * spins[indices[p], r]
        partial[t] = acc
        cuda.syncthreads()
        stride = block_size // 2
        while stride >= tile:  # threads t and t + stride hold the same read
            if t < stride:
                partial[t] += partial[t + stride]
            cuda.syncthreads()
            stride //= 2
        if t < tile and r < num_reads:
            scratch[j, r] = partial[t]
        cuda.syncthreads()  # partial is reused by the next item


@cuda.jit(device=True)
def _colour_finish(spins, h, vertices, chunk_ptr, scratch, split, end, beta, sweep,
                   key0, key1):
    """Second half: Metropolis test of each heavy variable, chunks summed in order."""
    n = spins.shape[0]
    num_reads = spins.shape[1]
    for item in range(cuda.grid(1), (end - split) * num_reads, cuda.gridsize(1)):
        k = item // num_reads
        r = item - k * num_reads
        q = split + k
        i = vertices[q]
        field = h[i]
        for j in range(chunk_ptr[q], chunk_ptr[q + 1]):
            field += scratch[j, r]
        _metropolis(spins, i, r, field, beta, key0, key1, (sweep * n + i) * num_reads + r)


@cuda.jit
def _anneal_cooperative(spins, h, indptr, indices, data, vertices, chunk_ptr, chunk_owner,
                        scratch, bounds, betas, key0, key1, tile, chunk):
    """All sweeps in one launch; grid barriers separate colours and their halves."""
    partial = cuda.shared.array(THREADS_PER_BLOCK, float64)
    grid = cuda.cg.this_grid()
    for b in range(betas.shape[0]):
        for c in range(bounds.shape[0]):
            start = bounds[c, 0]
            split = bounds[c, 1]
            end = bounds[c, 2]
            _colour_gather(spins, h, indptr, indices, data, vertices, chunk_ptr,
                           chunk_owner, scratch, start, split, end, betas[b], b,
                           key0, key1, tile, chunk, partial)
            grid.sync()
            if end > split:
                _colour_finish(spins, h, vertices, chunk_ptr, scratch, split, end,
                               betas[b], b, key0, key1)
                grid.sync()


@cuda.jit
def _anneal_colour_gather(spins, h, indptr, indices, data, vertices, chunk_ptr,
                          chunk_owner, scratch, start, split, end, beta, sweep,
                          key0, key1, tile, chunk):
    """Fallback without cooperative launch: first half of one colour class."""
    partial = cuda.shared.array(THREADS_PER_BLOCK, float64)
    _colour_gather(spins, h, indptr, indices, data, vertices, chunk_ptr, chunk_owner,
                   scratch, start, split, end, beta, sweep, key0, key1, tile, chunk,
                   partial)


@cuda.jit
def _anneal_colour_finish(spins, h, vertices, chunk_ptr, scratch, split, end, beta,
                          sweep, key0, key1):
    """Fallback without cooperative launch: second half of one colour class."""
    _colour_finish(spins, h, vertices, chunk_ptr, scratch, split, end, beta, sweep,
                   key0, key1)


@cuda.jit
def _probe_kernel(out):
    out[0] += 1.0


def probe() -> None:
    """Compile and run a trivial kernel; raises where Numba-CUDA cannot run kernels."""
    out = cuda.to_device(np.zeros(1))
    _probe_kernel[1, 1](out)
    if out.copy_to_host()[0] != 1.0:
        raise RuntimeError("the CUDA probe kernel returned a wrong value")


def seed_keys(seed: int) -> tuple[int, int]:
    """The two 32-bit hash keys derived from a seed in ``[0, 2**32)``."""
    seed = int(seed) & _MASK32
    return seed, (seed * 0x9E3779B9 + 0x7F4A7C15) & _MASK32


def colour_bounds(model: IsingCSR, vertices: np.ndarray, colour_ptr: np.ndarray,
                  heavy_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Order each colour class light-first; ``bounds[c] = (start, split, end)``.

    Variables with more than ``heavy_degree`` couplings are heavy. Empty
    classes are dropped.
    """
    degree = np.diff(model.indptr)[vertices]
    colour = np.repeat(np.arange(colour_ptr.size - 1), np.diff(colour_ptr))
    heavy = degree > heavy_degree
    order = np.lexsort((heavy, colour))  # by colour, light before heavy, stable
    vertices = np.ascontiguousarray(vertices[order], dtype=np.int32)
    starts = colour_ptr[:-1]
    num_light = np.bincount(colour, weights=~heavy, minlength=starts.size).astype(np.int64)
    bounds = np.stack([starts, starts + num_light, colour_ptr[1:]], axis=1)
    bounds = np.ascontiguousarray(bounds[np.diff(colour_ptr) > 0], dtype=np.int64)
    return vertices, bounds


def heavy_chunks(model: IsingCSR, vertices: np.ndarray, bounds: np.ndarray,
                 chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunks of ``chunk`` couplings of each heavy row, for a block each.

    ``chunk_ptr[q]:chunk_ptr[q + 1]`` are the chunk ids of ``vertices[q]``
    (none for light variables); ``chunk_owner[j]`` is the position ``q`` that
    owns chunk ``j``.
    """
    is_heavy = np.zeros(vertices.size, dtype=bool)
    for _, split, end in bounds:
        is_heavy[split:end] = True
    degree = np.diff(model.indptr)[vertices]
    count = np.where(is_heavy, -(-degree // chunk), 0)
    chunk_ptr = np.zeros(vertices.size + 1, dtype=np.int64)
    np.cumsum(count, out=chunk_ptr[1:])
    chunk_owner = np.repeat(np.arange(vertices.size, dtype=np.int64), count)
    return chunk_ptr, chunk_owner


def _read_tile(num_reads: int, threads: int) -> int:
    """Reads per heavy-chunk block: a power of two <= 32 and <= threads."""
    return min(threads, 32, 1 << max(0, (num_reads - 1).bit_length()))


def _max_cooperative_blocks(args: tuple, threads: int) -> int:
    if config.ENABLE_CUDASIM:
        return 1  # the simulator synchronises a grid of one block only
    argtypes = tuple(_anneal_cooperative.typeof_pyval(a) for a in args)
    return int(_anneal_cooperative.compile(argtypes).max_cooperative_grid_blocks(threads))


def anneal_cuda(model: IsingCSR, vertices: np.ndarray, colour_ptr: np.ndarray,
                betas: np.ndarray, states: np.ndarray, seed: int, *,
                threads: int = THREADS_PER_BLOCK, heavy_degree: int = HEAVY_DEGREE,
                chunk: int = HEAVY_DEGREE, cooperative: bool = True,
                max_blocks: int | None = None) -> tuple[np.ndarray, dict]:
    """Anneal int8 ``states`` ``(num_reads, n)``; returns ``(states, launch info)``.

    ``threads`` (a power of two up to ``THREADS_PER_BLOCK``), ``heavy_degree``,
    ``chunk``, ``cooperative`` and ``max_blocks`` change how the work is
    spread, not the samples. Device buffers live only for the duration of the
    call.
    """
    if threads < 1 or threads > THREADS_PER_BLOCK or threads & (threads - 1):
        raise ValueError(f"threads must be a power of two <= {THREADS_PER_BLOCK}, got {threads}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    num_reads = states.shape[0]
    vertices, bounds = colour_bounds(model, vertices, colour_ptr, heavy_degree)
    chunk_ptr, chunk_owner = heavy_chunks(model, vertices, bounds, chunk)
    info = {"num_colours": int(bounds.shape[0]), "threads_per_block": threads,
            "heavy_variables": int(np.sum(bounds[:, 2] - bounds[:, 1]))}
    if bounds.shape[0] == 0 or betas.size == 0:
        return states.copy(), info

    tile = _read_tile(num_reads, threads)
    key0, key1 = (np.uint64(k) for k in seed_keys(seed))
    # enough blocks for the largest phase: a thread per light (variable, read),
    # a block per (heavy chunk, read tile)
    light = (bounds[:, 1] - bounds[:, 0]) * num_reads
    chunk_items = (chunk_ptr[bounds[:, 2]] - chunk_ptr[bounds[:, 1]]) * -(-num_reads // tile)
    wanted = int(max(1, np.max(-(-light // threads)), np.max(chunk_items)))
    if max_blocks is not None:
        wanted = min(wanted, max_blocks)

    d_spins = cuda.to_device(np.ascontiguousarray(states.T))
    d_model = tuple(cuda.to_device(a) for a in (model.h, model.indptr, model.indices,
                                                model.data, vertices, chunk_ptr,
                                                chunk_owner))
    d_scratch = cuda.device_array((max(1, int(chunk_ptr[-1])), num_reads), dtype=np.float64)
    if cooperative:
        d_bounds = cuda.to_device(bounds)
        d_betas = cuda.to_device(np.ascontiguousarray(betas, dtype=np.float64))
        args = (d_spins, *d_model, d_scratch, d_bounds, d_betas, key0, key1, tile, chunk)
        fit = _max_cooperative_blocks(args, threads)
        if fit < 1:
            raise RuntimeError(f"a block of {threads} threads does not fit a cooperative grid")
        blocks = min(wanted, fit)
        _anneal_cooperative[blocks, threads](*args)
    else:
        blocks = wanted
        d_h, _, _, _, d_vertices, d_chunk_ptr, _ = d_model
        for sweep, beta in enumerate(betas.tolist()):
            for start, split, end in bounds.tolist():
                _anneal_colour_gather[blocks, threads](
                    d_spins, *d_model, d_scratch, start, split, end, beta, sweep,
                    key0, key1, tile, chunk)
                if end > split:
                    _anneal_colour_finish[blocks, threads](
                        d_spins, d_h, d_vertices, d_chunk_ptr, d_scratch, split, end,
                        beta, sweep, key0, key1)
    out = np.ascontiguousarray(d_spins.copy_to_host().T)
    cuda.synchronize()
    info.update(blocks=int(blocks), launch="cooperative" if cooperative else "per-colour")
    return out, info


def release_memory() -> None:
    """Free device memory whose Python references are gone (deferred frees)."""
    if cuda.is_available():
        try:
            cuda.current_context().deallocations.clear()
        except Exception:  # pragma: no cover - simulator / driver variations
            pass
