"""Independent oracles for the tests: brute force over auxiliaries, numpy forward pass."""
from __future__ import annotations

import dimod
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def min_over_free_variables(bqm: dimod.BinaryQuadraticModel, fixed: dict) -> float:
    """Exact minimum of ``bqm`` with ``fixed`` variables clamped, over all the others.

    Splits the clamped model into connected components (the auxiliaries of one sample touch
    only that sample's terms) and brute-forces each with ``dimod.ExactSolver``.
    """
    b = bqm.copy()
    b.fix_variables(fixed)
    labels = list(b.variables)
    pos = {v: i for i, v in enumerate(labels)}
    if not labels:
        return b.offset
    rows = [pos[u] for u, v in b.quadratic] or [0]
    cols = [pos[v] for u, v in b.quadratic] or [0]
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(labels), len(labels)))
    n_comp, comp = connected_components(adj, directed=False)
    total = b.offset
    for c in range(n_comp):
        vs = [labels[i] for i in np.flatnonzero(comp == c)]
        assert len(vs) <= 22, f"component of {len(vs)} variables is too large to enumerate"
        keep = set(vs)
        sub = dimod.BinaryQuadraticModel({v: b.get_linear(v) for v in vs},
                                         {(u, v): q for (u, v), q in b.quadratic.items() if u in keep},
                                         0.0, dimod.BINARY)
        total += dimod.ExactSolver().sample(sub).first.energy
    return total


def forward_numpy(n_inputs: int, neurons: list[tuple[list[int], bool]], X01: np.ndarray, w: np.ndarray):
    """Plain per-sample forward pass, written independently of qubo_bnn.Network.forward.

    ``neurons`` lists (sources, bias) in node order; weights in edge order (sources, then bias).
    Returns pre-activations ``(n_samples, n_neurons)``.
    """
    Z = np.zeros((len(X01), len(neurons)), dtype=int)
    for n, x in enumerate(X01):
        act = [1 if v else -1 for v in x]
        e = 0
        for k, (srcs, bias) in enumerate(neurons):
            z = 0
            for s in srcs:
                z += int(w[e]) * act[s]
                e += 1
            if bias:
                z += int(w[e])
                e += 1
            Z[n, k] = z
            act.append(1 if z >= 0 else -1)
    return Z


# ------------------------------------------------- colour-parallel Metropolis reference

_M32 = np.uint64(0xFFFFFFFF)


def _mix32(x: np.ndarray) -> np.ndarray:
    """lowbias32-style avalanche hash of 32-bit values held in uint64 arrays."""
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(0x846CA68B)) & _M32
    return x ^ (x >> np.uint64(16))


def counter_uniform(key0: int, key1: int, counter: np.ndarray) -> np.ndarray:
    """The CUDA kernel's uniform in (0, 1) for each 64-bit ``counter``, in numpy."""
    c = np.asarray(counter, dtype=np.uint64)
    x = _mix32((c & _M32) ^ np.uint64(key0))
    x = _mix32(x ^ (c >> np.uint64(32)) ^ np.uint64(key1))
    return (x.astype(np.float64) + 0.5) * 2.0**-32


def colour_sweep_anneal(bqm: dimod.BinaryQuadraticModel, classes: list[np.ndarray],
                        betas: np.ndarray, states: np.ndarray, key0: int, key1: int) -> np.ndarray:
    """Metropolis annealing of ``bqm`` (as Ising), one colour class at a time, in scipy/numpy.

    ``states`` is ``(num_reads, n)`` of +-1 in ``bqm.variables`` order; the
    test of variable ``i`` in read ``r`` at sweep ``b`` uses
    ``counter_uniform(key0, key1, (b * n + i) * num_reads + r)``.
    """
    n = len(bqm.variables)
    h, (row, col, q), _ = bqm.spin.to_numpy_vectors(variable_order=list(bqm.variables))
    J = coo_matrix((q, (row, col)), shape=(n, n)).tocsr()
    J = (J + J.T).tocsr()
    # per class, the rows of J for its variables (J is symmetric)
    class_rows = [J[cls] for cls in classes]
    for cls, rows in zip(classes, class_rows):
        assert rows[:, cls].nnz == 0, "a colour class must be an independent set"
    s = np.array(states, dtype=np.float64)
    num_reads = s.shape[0]
    reads = np.arange(num_reads)[:, None]
    for b, beta in enumerate(betas):
        for cls, rows in zip(classes, class_rows):
            field = h[cls] + (rows @ s.T).T
            de = -2.0 * s[:, cls] * field
            u = counter_uniform(key0, key1, (b * n + cls[None, :]) * num_reads + reads)
            with np.errstate(over="ignore"):
                accept = (de <= 0) | ((beta * de < 44.36142) & (u < np.exp(-beta * de)))
            s[:, cls] = np.where(accept, -s[:, cls], s[:, cls])
    return s.astype(np.int8)
