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
