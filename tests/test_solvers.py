"""Tests of qubo_bnn_solvers.IsingSampler on the CPU, plus the CUDA tests under the simulator."""

import itertools
import json
import os
import re
import subprocess
import sys
import unittest
import warnings
from pathlib import Path

import dimod
import networkx as nx
import numpy as np
import pytest
from dimod.testing import assert_sampler_api, load_sampler_bqm_tests

import qubo_bnn_solvers
from qubo_bnn_solvers import IsingSampler
from qubo_bnn_solvers import sampler as sampler_module
from qubo_bnn_solvers._ising import (beta_schedule, default_beta_range, greedy_colouring,
                                     ising_csr_from_bqm, ising_energies)

ROOT = Path(__file__).resolve().parents[1]


def complete(labels: list) -> tuple[list, list]:
    return labels, list(itertools.combinations(labels, 2))


def planted_loop(side: int, seed: int) -> tuple[dimod.BQM, float]:
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(side, side, periodic=True))
    bqm = dimod.generators.frustrated_loop(graph, num_cycles=len(graph) // 4,
                                           plant_solution=True, seed=seed)
    return bqm, bqm.energy(dict.fromkeys(bqm.variables, 1))


@load_sampler_bqm_tests(IsingSampler(device="cpu"))
class TestConformanceCPU(unittest.TestCase):
    def test_api(self):
        sampler = IsingSampler(device="cpu")
        assert_sampler_api(sampler)
        self.assertIn("qubo_bnn_solvers", sys.modules)
        self.assertIn("IsingSampler", qubo_bnn_solvers.__all__)
        self.assertEqual(sampler.properties["device"], "cpu")
        self.assertEqual(set(sampler.parameters),
                         {"num_reads", "num_sweeps", "beta_range", "beta_schedule_type",
                          "seed", "initial_states", "initial_states_generator", "progress"})


# ---------------------------------------------------------------- preprocessing

def test_csr_matches_bqm_energy():
    bqm = dimod.generators.uniform(complete(["x", 3, ("t",), 0]), "BINARY", low=-2, high=2, seed=4)
    model = ising_csr_from_bqm(bqm)
    spin = bqm.spin
    rng = np.random.default_rng(0)
    for _ in range(5):
        s = rng.choice([-1, 1], size=len(bqm)).astype(float)
        quad = sum(model.data[k] * s[i] * s[model.indices[k]]
                   for i in range(len(bqm))
                   for k in range(model.indptr[i], model.indptr[i + 1])) / 2
        e = model.offset + model.h @ s + quad
        assert e == pytest.approx(spin.energy(dict(zip(bqm.variables, s))))


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_csr_and_energies_match_dimod(vartype):
    from scipy.sparse import coo_matrix
    bqm = dimod.generators.gnp_random_bqm(40, 0.3, vartype, random_state=4)  # non-dyadic
    bqm.offset = 0.3
    model = ising_csr_from_bqm(bqm)
    spin = bqm.spin
    order = list(bqm.variables)
    rows, cols, vals = zip(*[(order.index(u), order.index(v), b)
                             for (u, v), b in spin.quadratic.items()])
    dense = coo_matrix((vals, (rows, cols)), shape=(40, 40)).toarray()
    ours = np.zeros((40, 40))
    for i in range(40):
        ours[i, model.indices[model.indptr[i]:model.indptr[i + 1]]] = \
            model.data[model.indptr[i]:model.indptr[i + 1]]
    np.testing.assert_allclose(ours, dense + dense.T)
    states = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), (6, 40))
    samples = states if vartype == "SPIN" else (states + 1) // 2
    np.testing.assert_allclose(ising_energies(model, states), bqm.energies((samples, order)),
                               rtol=1e-12, atol=1e-12)


def test_default_beta_range_matches_neal():
    from dwave.samplers.sa.sampler import default_beta_range as neal_range
    for bqm in (dimod.generators.ran_r(3, 30, seed=2),
                dimod.generators.uniform(20, "BINARY", seed=5),
                planted_loop(6, 1)[0]):
        assert default_beta_range(ising_csr_from_bqm(bqm)) == pytest.approx(neal_range(bqm))


def test_beta_schedule():
    assert beta_schedule((1.0, 4.0), 3, "geometric") == pytest.approx([1, 2, 4])
    assert beta_schedule((1.0, 4.0), 3, "linear") == pytest.approx([1, 2.5, 4])
    assert beta_schedule((1.0, 4.0), 1, "geometric") == pytest.approx([4])
    assert beta_schedule((1.0, 4.0), 0, "linear").size == 0


def test_colouring_is_proper():
    bqm, _ = planted_loop(7, 3)  # odd periodic lattice: not bipartite
    model = ising_csr_from_bqm(bqm)
    vertices, ptr = greedy_colouring(model)
    assert sorted(vertices.tolist()) == list(range(len(bqm)))
    colour = np.empty(len(bqm), dtype=int)
    for c in range(ptr.size - 1):
        colour[vertices[ptr[c]:ptr[c + 1]]] = c
    rows = np.repeat(np.arange(len(bqm)), np.diff(model.indptr))
    assert not np.any(colour[rows] == colour[model.indices])
    assert ptr.size - 1 >= 3


# ---------------------------------------------------------------- quality

@pytest.mark.parametrize("seed", [1, 2])
def test_planted_frustrated_loop_ground_state(seed):
    bqm, ground = planted_loop(12, seed)  # 144 spins
    ss = IsingSampler(device="cpu").sample(bqm, num_reads=16, num_sweeps=2000, seed=seed)
    assert ss.first.energy == pytest.approx(ground)
    dimod.testing.assert_sampleset_energies(ss, bqm)


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_random_bqm_matches_exact_solver(vartype):
    sampler = IsingSampler(device="cpu")
    for seed in range(4):
        bqm = dimod.generators.uniform(complete(["a", 1, ("b",), 3, 4, 5, 6, 7, 8, 9]), vartype,
                                       low=-1, high=1, seed=seed)
        bqm.offset = 0.5
        exact = dimod.ExactSolver().sample(bqm).first.energy
        ss = sampler.sample(bqm, num_reads=20, num_sweeps=500, seed=seed)
        assert ss.vartype is bqm.vartype
        assert ss.first.energy == pytest.approx(exact)


def boltzmann_gap(sampler: IsingSampler, num_reads: int) -> float:
    """Max |empirical - exact| state probability at a fixed beta on a 3-spin model."""
    bqm = dimod.BQM({"a": 0.3, "b": -0.2}, {("a", "b"): -0.5, ("b", "c"): 0.4,
                                           ("a", "c"): 0.25}, 0, "SPIN")
    beta = 1.3
    ss = sampler.sample(bqm, num_reads=num_reads, num_sweeps=20, beta_range=(beta, beta),
                        seed=9)
    exact = dimod.ExactSolver().sample(bqm)
    p = np.exp(-beta * exact.record.energy)
    p /= p.sum()
    index = {tuple(row): k for k, row in enumerate(exact.record.sample)}
    counts = np.zeros(len(p))
    cols = [ss.variables.index(v) for v in exact.variables]
    for row in ss.record.sample[:, cols]:
        counts[index[tuple(row)]] += 1
    return float(np.abs(counts / num_reads - p).max())


def test_samples_boltzmann_distribution_at_fixed_beta():
    """Metropolis at constant beta must sample exp(-beta E) / Z (exactness check).

    With 20000 reads the standard error per state is <= 0.0036; 0.02 is > 5 sigma.
    """
    assert boltzmann_gap(IsingSampler(device="cpu"), 20000) < 0.02


def uphill_acceptance(sampler: IsingSampler, num_reads: int) -> float:
    """Fraction of reads accepting one flip with beta * dE = ln 2 (exact: 0.5)."""
    bqm = dimod.BQM({0: -0.5}, {}, 0, "SPIN")  # leaving s = +1 costs dE = 1
    beta = float(np.log(2))
    ss = sampler.sample(bqm, initial_states=np.ones((num_reads, 1), dtype=np.int8),
                        num_sweeps=1, beta_range=(beta, beta), seed=3)
    return float(np.mean(ss.record.sample[:, 0] == -1))


def test_uphill_acceptance_probability():
    assert uphill_acceptance(IsingSampler(device="cpu"), 20000) == pytest.approx(0.5, abs=0.02)


def test_info_is_json_serialisable():
    bqm = dimod.generators.ran_r(1, 10, seed=1)
    ss = IsingSampler(device="cpu").sample(bqm, num_reads=3, num_sweeps=10, seed=0,
                                           beta_schedule_type="linear", beta_range=(0.1, 2))
    info = json.loads(json.dumps(ss.info))
    assert info["device"] == "cpu"
    assert info["num_sweeps"] == 10
    assert info["beta_range"] == [0.1, 2.0]
    assert info["beta_schedule_type"] == "linear"
    assert info["algorithm"]
    assert set(info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}
    assert all(isinstance(v, int) and v >= 0 for v in info["timing"].values())


# ---------------------------------------------------------------- reproducibility

def assert_seed_decides(sampler: IsingSampler, bqm, seed: int, **kw) -> None:
    """Equal seeds give equal samples; seed + 1 gives different ones."""
    a = sampler.sample(bqm, seed=seed, **kw).record.sample
    b = sampler.sample(bqm, seed=seed, **kw).record.sample
    c = sampler.sample(bqm, seed=seed + 1, **kw).record.sample
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_seed_same_samples_different_seed_differs():
    bqm, _ = planted_loop(10, 5)
    sampler = IsingSampler(device="cpu")
    # same initial states for every call, so only the kernel RNG seed differs;
    # a short anneal keeps the reads diverse
    kw = dict(initial_states=np.ones((6, len(bqm)), dtype=np.int8), num_sweeps=20)
    assert_seed_decides(sampler, bqm, seed=11, **kw)


def test_same_seed_independent_of_thread_count():
    import numba
    bqm, _ = planted_loop(8, 2)
    sampler = IsingSampler(device="cpu")
    numba.set_num_threads(1)
    try:
        a = sampler.sample(bqm, num_reads=4, num_sweeps=30, seed=3).record.sample
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    b = sampler.sample(bqm, num_reads=4, num_sweeps=30, seed=3).record.sample
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_initial_states_returned_with_zero_sweeps(vartype):
    bqm = dimod.generators.ran_r(1, complete(["p", "q", 7, "r"]), seed=0)
    bqm.change_vartype(vartype, inplace=True)
    lo = -1 if vartype == "SPIN" else 0
    # columns deliberately in a different order from bqm.variables
    init = ([[1, lo, 1, lo], [lo, lo, 1, 1]], ["r", 7, "q", "p"])
    ss = IsingSampler(device="cpu").sample(bqm, initial_states=init, num_sweeps=0)
    assert len(ss) == 2
    got = [dict(s) for s in ss.samples(sorted_by=None)]
    assert got == [{"r": 1, 7: lo, "q": 1, "p": lo}, {"r": lo, 7: lo, "q": 1, "p": 1}]


def test_initial_states_tiled_and_annealed():
    bqm = dimod.BQM({}, {(0, 1): -1.0}, 0, "SPIN")  # ferromagnet
    ss = IsingSampler(device="cpu").sample(
        bqm, initial_states=[[1, -1]], initial_states_generator="tile", num_reads=3,
        num_sweeps=50, seed=0)
    assert len(ss) == 3
    assert np.all(ss.record.energy == -1.0)


# ---------------------------------------------------------------- device choice

def test_cuda_requested_without_gpu_falls_back_with_warning(monkeypatch):
    monkeypatch.setattr(sampler_module, "_cuda_unusable", lambda: "no CUDA GPU is visible")
    with pytest.warns(RuntimeWarning, match="no CUDA GPU is visible; falling back to the CPU"):
        sampler = IsingSampler(device="cuda")
    assert sampler.device == "cpu"
    ss = sampler.sample(dimod.BQM({"a": 1.0}, {}, 0, "SPIN"), num_reads=2, seed=0)
    assert ss.info["device"] == "cpu"
    assert list(ss.record.energy) == [-1.0, -1.0]


def test_auto_without_gpu_is_cpu_and_silent(monkeypatch):
    monkeypatch.setattr(sampler_module, "_cuda_unusable", lambda: "no CUDA GPU is visible")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert IsingSampler().device == "cpu"


def test_auto_with_gpu_is_cuda(monkeypatch):
    monkeypatch.setattr(sampler_module, "_cuda_unusable", lambda: None)
    assert IsingSampler(device="auto").device == "cuda"


def test_gpu_that_cannot_compile_kernels_falls_back(monkeypatch):
    # e.g. numba-cuda <= 0.30.4 with numpy >= 2.5: the GPU is visible, compiling fails
    from numba import cuda
    import qubo_bnn_solvers._cuda as cuda_module

    def broken_probe():
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda_module, "probe", broken_probe)
    sampler_module._cuda_unusable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="cannot run kernels here.*row_stack"):
            assert IsingSampler(device="cuda").device == "cpu"
    finally:
        sampler_module._cuda_unusable.cache_clear()


def test_no_gpu_reason_is_cached_and_named():
    sampler_module._cuda_unusable.cache_clear()
    reason = sampler_module._cuda_unusable()
    assert reason is None or "GPU" in reason or "numba-cuda" in reason
    assert sampler_module._cuda_unusable() is reason


def test_context_manager_cpu():
    with IsingSampler(device="cpu") as sampler:
        assert sampler.sample(dimod.BQM({"a": -1.0}, {}, 0, "SPIN"), seed=0).first.energy == -1


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs, message", [
    (dict(num_reads=0), "num_reads"),
    (dict(num_reads=2.5), "num_reads"),
    (dict(num_sweeps=-1), "num_sweeps"),
    (dict(beta_range=(1.0,)), "beta_range"),
    (dict(beta_range=(1.0, -2.0)), "beta_range"),
    (dict(beta_range=(0.0, 2.0)), "geometric"),
    (dict(beta_range=(float("nan"), 2.0)), "beta_range"),
    (dict(beta_range="ab"), "beta_range"),
    (dict(beta_schedule_type="cubic"), "beta_schedule_type"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**32), "seed"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    bqm = dimod.BQM({"a": 1.0}, {("a", "b"): 1.0}, 0, "SPIN")
    with pytest.raises(ValueError, match=message):
        IsingSampler(device="cpu").sample(bqm, **kwargs)


def test_linear_schedule_accepts_zero_beta():
    bqm = dimod.BQM({"a": 1.0}, {("a", "b"): 1.0}, 0, "SPIN")
    ss = IsingSampler(device="cpu").sample(bqm, beta_range=(0.0, 5.0), num_reads=4,
                                           beta_schedule_type="linear", num_sweeps=100, seed=1)
    assert ss.first.energy == -2.0


def test_unknown_device_raises():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        IsingSampler(device="tpu")


def test_unknown_kwarg_warns():
    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning):
        IsingSampler(device="cpu").sample(dimod.BQM({"a": 1.0}, {}, 0, "SPIN"), bogus=1)


# ---------------------------------------------------------------- CUDA simulator

def test_cuda_tests_pass_under_simulator():
    """Run tests/test_solvers_cuda.py with NUMBA_ENABLE_CUDASIM=1 in a fresh process."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "test_solvers_cuda.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 30, proc.stdout[-2000:]  # module not skipped


# ---------------------------------------------------------------- docs

@pytest.mark.parametrize("module", ["qubo_bnn_solvers", "qubo_bnn_solvers._ising", "qubo_bnn_solvers.sampler"])
def test_docstring_examples(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
