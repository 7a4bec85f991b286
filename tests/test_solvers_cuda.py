"""IsingSampler(device='cuda') tests.

Skipped without a CUDA GPU. ``tests/test_solvers.py`` runs this file in a
subprocess with ``NUMBA_ENABLE_CUDASIM=1`` (tiny inputs: the simulator does
~10^4 flips/s); ``benchmarks/gpu_check.sh`` runs it on a real GPU, where the
larger instances are enabled too.
"""

import json
import unittest

import dimod
import networkx as nx
import numpy as np
import pytest
from numba import config, cuda

if not cuda.is_available():
    pytest.skip("no CUDA GPU (run with NUMBA_ENABLE_CUDASIM=1 for the simulator)",
                allow_module_level=True)

from dimod.testing import assert_sampler_api, load_sampler_bqm_tests  # noqa: E402

from oracles import colour_sweep_anneal, counter_uniform  # noqa: E402
from qubo_bnn_solvers import IsingSampler  # noqa: E402
from qubo_bnn_solvers._cuda import anneal_cuda, seed_keys  # noqa: E402
from qubo_bnn_solvers._ising import beta_schedule, greedy_colouring, ising_csr_from_bqm  # noqa: E402
from test_solvers import assert_seed_decides, boltzmann_gap, uphill_acceptance  # noqa: E402

SIM = bool(config.ENABLE_CUDASIM)
SWEEPS = 8 if SIM else 1000
real_gpu_only = pytest.mark.skipif(SIM, reason="too large for the CUDA simulator")


class SmallCudaSampler(IsingSampler):
    """Default num_sweeps small enough for the simulator."""

    def __init__(self):
        super().__init__(device="cuda")

    def sample(self, bqm, **kwargs):
        kwargs.setdefault("num_sweeps", SWEEPS)
        return super().sample(bqm, **kwargs)


@load_sampler_bqm_tests(SmallCudaSampler)
class TestConformanceCUDA(unittest.TestCase):
    def test_api(self):
        sampler = IsingSampler(device="cuda")
        assert_sampler_api(sampler)
        self.assertEqual(sampler.properties["device"], "cuda")


def planted_loop(side, seed):
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(side, side, periodic=True))
    bqm = dimod.generators.frustrated_loop(graph, num_cycles=max(1, len(graph) // 4),
                                           plant_solution=True, seed=seed)
    return bqm, bqm.energy(dict.fromkeys(bqm.variables, 1))


def test_info_and_vartype():
    bqm = dimod.generators.ran_r(1, (["a", 2, "c"], [("a", 2), (2, "c"), ("a", "c")]), seed=1).change_vartype("BINARY", inplace=False)
    ss = IsingSampler(device="cuda").sample(bqm, num_reads=2, num_sweeps=4, seed=0)
    assert ss.vartype is dimod.BINARY
    assert ss.info["device"] == "cuda"
    assert ss.info["num_colours"] >= 2
    assert ss.info["launch"] == "cooperative" and ss.info["blocks"] >= 1
    json.dumps(ss.info)
    dimod.testing.assert_sampleset_energies(ss, bqm)


def test_falls_back_to_per_colour_launches(monkeypatch, caplog):
    import qubo_bnn_solvers._cuda as cuda_module
    bqm = hub_bqm()
    kw = dict(num_reads=3, num_sweeps=4, beta_range=(0.1, 0.5), seed=9)
    want = IsingSampler(device="cuda").sample(bqm, **kw)
    monkeypatch.setattr(cuda_module, "_max_cooperative_blocks", lambda args, threads: 0)
    sampler = IsingSampler(device="cuda")
    with caplog.at_level("WARNING", logger="qubo_bnn_solvers.sampler"):
        got = sampler.sample(bqm, **kw)
    assert got.info["launch"] == "per-colour"
    assert "cooperative CUDA launch failed" in caplog.text
    np.testing.assert_array_equal(got.record.sample, want.record.sample)
    caplog.clear()
    with caplog.at_level("WARNING", logger="qubo_bnn_solvers.sampler"):
        again = sampler.sample(bqm, **kw)  # no second try, no second warning
    assert again.info["launch"] == "per-colour" and caplog.text == ""


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_small_bqm_matches_exact_solver(vartype):
    bqm = dimod.generators.ran_r(1, 6, seed=3).change_vartype(vartype, inplace=False)
    bqm.offset = 0.25
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = IsingSampler(device="cuda").sample(bqm, num_reads=3, num_sweeps=25, seed=2)
    assert ss.first.energy == pytest.approx(exact)


def test_planted_loop_tiny():
    bqm, ground = planted_loop(4, 1)  # 16 spins
    ss = IsingSampler(device="cuda").sample(bqm, num_reads=2, num_sweeps=30, seed=4)
    assert ss.first.energy == pytest.approx(ground)


def test_seed_reproducible_and_matters():
    # ferromagnetic ring started in its ground state: every first flip costs
    # dE = 4 and is accepted with probability exp(-0.17 * 4) ~ 0.5, so the
    # outcome depends on the kernel's random numbers only
    bqm = dimod.BQM({}, {(i, (i + 1) % 6): -1.0 for i in range(6)}, 0, "SPIN")
    init = np.ones((2, 6), dtype=np.int8)
    assert_seed_decides(IsingSampler(device="cuda"), bqm, seed=5, initial_states=init,
                        num_sweeps=3, beta_range=(0.17, 0.17))


def test_initial_states_zero_sweeps_and_close():
    bqm = dimod.BQM({"x": 1.0}, {("x", "y"): -1.0}, 0, "SPIN")
    with IsingSampler(device="cuda") as sampler:
        ss = sampler.sample(bqm, initial_states=([[1, -1]], ["y", "x"]), num_sweeps=0)
        assert dict(ss.first.sample) == {"y": 1, "x": -1}
        ss = sampler.sample(bqm, num_reads=2, num_sweeps=10, seed=0)
        assert ss.first.energy == -2.0 and ss.info["device"] == "cuda"
    sampler.close()  # idempotent


def hub_bqm(n=12, seed=0):
    """Integer SPIN couplings (exact float sums) around hub 0, which meets everyone."""
    rng = np.random.default_rng(seed)
    edges = {(0, j): float(rng.integers(-3, 4) or 1) for j in range(1, n)}
    for _ in range(2 * n):
        i, j = sorted(rng.choice(np.arange(1, n), 2, replace=False).tolist())
        edges[(i, j)] = float(rng.integers(-3, 4) or 1)
    h = {i: float(rng.integers(-2, 3)) for i in range(n)}
    return dimod.BQM(h, edges, 0.0, "SPIN")


@pytest.mark.parametrize("threads, heavy_degree, chunk, cooperative, max_blocks, reads", [
    (16, 10**9, 1, True, None, 5),  # all light, one cooperative launch
    (16, 3, 2, True, None, 5),      # hub and busy variables in chunks of 2 couplings
    (16, 0, 4, True, None, 2),      # all heavy: 8 groups of 2 reads, 3-level tree
    (8, 3, 3, False, 3, 5),         # per-colour launches, grid-stride over 3 blocks
    (4, 0, 100, False, None, 5),    # all heavy, one chunk each, tile of 4 reads < 5
])
def test_kernel_equals_numpy_reference(threads, heavy_degree, chunk, cooperative,
                                       max_blocks, reads):
    bqm = hub_bqm()
    model = ising_csr_from_bqm(bqm)
    vertices, ptr = greedy_colouring(model)
    classes = [vertices[ptr[c]:ptr[c + 1]] for c in range(ptr.size - 1)]
    betas = beta_schedule((0.05, 0.6), 6, "geometric")  # warm: the uniforms decide
    init = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), (reads, len(bqm)))
    got, info = anneal_cuda(model, vertices, ptr, betas, init, seed=123, threads=threads,
                            heavy_degree=heavy_degree, chunk=chunk, cooperative=cooperative,
                            max_blocks=max_blocks)
    want = colour_sweep_anneal(bqm, classes, betas, init, *seed_keys(123))
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(want, init)
    assert info["heavy_variables"] == int(np.sum(np.diff(model.indptr) > heavy_degree))
    assert info["launch"] == ("cooperative" if cooperative else "per-colour")


def test_counter_uniforms_are_uniform_and_uncorrelated():
    key0, key1 = seed_keys(2024)
    u = counter_uniform(key0, key1, np.arange(2**20) + 3 * 2**32)  # high word in use
    assert 0.0 < u.min() and u.max() < 1.0
    counts = np.bincount((u * 64).astype(int), minlength=64)
    expected = u.size / 64
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 120  # 63 degrees of freedom: p < 1e-5 above this
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01  # neighbouring counters
    other = counter_uniform(*seed_keys(2025), np.arange(2**20) + 3 * 2**32)
    assert abs(np.corrcoef(u, other)[0, 1]) < 0.01  # neighbouring seeds


def test_uphill_acceptance_probability():
    reads = 1000 if SIM else 100000  # standard error 0.016 / 0.0016
    tol = 0.06 if SIM else 0.01
    assert uphill_acceptance(IsingSampler(device="cuda"), reads) == pytest.approx(0.5, abs=tol)


@real_gpu_only
def test_samples_boltzmann_distribution_at_fixed_beta():
    assert boltzmann_gap(IsingSampler(device="cuda"), 20000) < 0.02


@real_gpu_only
def test_planted_loop_ground_state_gpu():
    bqm, ground = planted_loop(16, 2)
    ss = IsingSampler(device="cuda").sample(bqm, num_reads=64, num_sweeps=3000, seed=1)
    assert ss.first.energy == pytest.approx(ground)


@real_gpu_only
def test_gpu_quality_matches_cpu_on_large_instance():
    bqm, _ = planted_loop(100, 3)
    kw = dict(num_reads=32, num_sweeps=500, seed=1)
    gpu = IsingSampler(device="cuda").sample(bqm, **kw).record.energy
    cpu = IsingSampler(device="cpu").sample(bqm, **kw).record.energy
    # same algorithm, different update order: GPU median at most 0.5% worse
    assert np.median(gpu) <= np.median(cpu) + 0.005 * abs(np.median(cpu))
