"""CollapsedSampler(device='cuda') and its kernel, ``qubo_bnn._collapsed_cuda``.

The kernel tests need Numba-CUDA to run kernels: a GPU, or the simulator. Run without either
(the normal test run), this file runs itself in a subprocess with ``NUMBA_ENABLE_CUDASIM=1``
(:func:`test_cuda_tests_pass_under_simulator`; tiny instances, the simulator does ~10^4 simple
operations per second and thread) and checks the CPU fallback. On a real GPU the kernel tests run
directly (``python3 -m pytest tests/test_collapsed_cuda.py``).

Coefficients are dyadic (``B = 1``, ``mu`` a multiple of 1/4, ``h`` multiples of 1/4, ``A``
default), so every energy sum is exact and the GPU must reproduce the CPU kernel bit for bit.
"""
import dataclasses
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numba import config, cuda

from qubo_bnn import Network, TrainingQUBO
from qubo_bnn.collapsed import CollapsedModel, CollapsedSampler, beta_schedule

ROOT = Path(__file__).resolve().parents[1]
SIM = bool(config.ENABLE_CUDASIM)
needs_cuda = pytest.mark.skipif(not cuda.is_available(),
                                reason="no CUDA GPU (the simulator run covers these tests)")
sim_only = pytest.mark.skipif(not SIM, reason="exact summation order holds in the simulator only")


def skip_net() -> Network:
    """Two outputs, a skip connection from an input, a neuron without bias."""
    net = Network(3)
    h1 = net.add_neuron([0, 1, 2])
    h2 = net.add_neuron([0, 1], bias=False)
    net.add_neuron([h1, h2, 2])      # output 1, reads input 2 directly
    net.add_neuron([h1, 0])          # output 2
    return net


X5 = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=np.int8)  # row 0 twice


def teacher_data(net: Network, n_rows: int, seed: int):
    """``(net, X, targets)``: random rows labelled by a random network of the same shape, so
    that a fit with a positive min-margin level exists."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n_rows, net.n_inputs)).astype(np.int8)
    _, act = net.forward(X, rng.choice([-1, 1], net.n_weights))
    return net, X, (act[:, [o - net.n_inputs for o in net.outputs]] > 0).astype(np.int64)


def problem(name):
    """``(TrainingQUBO, coefficients)`` with dyadic coefficients; 3-4 distinct rows."""
    rng = np.random.default_rng(len(name))
    if name == "dense":
        q = TrainingQUBO(Network(3).dense(2).dense(1), X5, np.array([1, 0, 1, 0, 1]))
        coef = dict(B=1.0, mu=0.5)
    elif name == "skip":
        q = TrainingQUBO(skip_net(), X5[:4], np.array([[1, 0], [0, 1], [0, 0], [1, 1]]), margin_cap=1)
        coef = dict(B=2.0, mu=0.25)
    elif name == "hard_fit":  # duplicate row with conflicting targets: two rows, one infeasible
        q = TrainingQUBO(Network(3).dense(2).dense(1), X5, np.array([1, 0, 0, 1, 1]), hard_fit=True)
        coef = dict(B=1.0, mu=0.25)
    elif name == "ternary":  # two edges from each hidden neuron to the output: steps of 0 or ±2
        q = TrainingQUBO(Network(3).dense(2, ternary=True).dense(1, ternary=True), X5, np.array([1, 0, 1, 1, 0]))
        coef = dict(B=1.0, mu=0.25)
    elif name == "gated":  # 0/1 inputs: count steps of 0 or ±2, a row with every input off
        net = Network(3, inputs="binary")
        h1 = net.add_neuron([0, 1, 2])
        h2 = net.add_neuron([0, 1], bias=False, ternary=True)
        net.add_neuron([h1, h2, 2])
        q = TrainingQUBO(net, X5, np.array([1, 0, 1, 0, 1]), margin_cap=2)
        coef = dict(B=1.0, mu=0.25)
    elif name == "min":  # Toro Icarte's min margin: a level histogram per read and neuron
        q = TrainingQUBO(*teacher_data(Network(5).dense(3).dense(1), 6, seed=1), margin_kind="min")
        coef = dict(B=1.0, mu=0.25)
    elif name == "min_gated":  # min margin on 0/1 inputs (steps of 0 or ±2) and a ternary neuron, capped
        net = Network(3, inputs="binary")
        h1 = net.add_neuron([0, 1, 2])
        h2 = net.add_neuron([0, 1], bias=False, ternary=True)
        net.add_neuron([h1, h2, 2])
        net.add_neuron([h1, 0])
        q = TrainingQUBO(net, X5[:4], np.array([[1, 0], [0, 1], [0, 0], [1, 1]]), margin_cap=2, margin_kind="min")
        coef = dict(B=1.0, mu=0.5)
    elif name == "min_hard_fit":  # fixed outputs: a broken row clips its neuron's level at 0
        q = TrainingQUBO(*teacher_data(Network(5).dense(2).dense(1), 4, seed=1), hard_fit=True, margin_kind="min")
        coef = dict(B=1.0, mu=0.5)
    else:
        raise ValueError(name)
    coef["h"] = 0.25 * rng.integers(-2, 3, q.n_weights)
    return q, coef


PROBLEMS = ["dense", "skip", "hard_fit", "ternary", "gated", "min", "min_gated", "min_hard_fit"]
MIN_PROBLEMS = [p for p in PROBLEMS if p.startswith("min")]
BETAS = beta_schedule((0.3, 3.0), 3, "geometric")  # warm: the uniforms decide many proposals


def initial_weights(q, reads, seed=0):
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), (reads, q.n_weights))


def cpu_anneal(model, W, betas, key, sweep0=0):
    from qubo_bnn._collapsed_cpu import anneal

    energies = np.empty(len(W))
    anneal(W, *model.kernel_args, betas, key, sweep0, energies, levels=model.levels)
    return energies


# ---------------------------------------------------------------- kernel (GPU or simulator)

@needs_cuda
@pytest.mark.parametrize("name", PROBLEMS)
def test_kernel_bit_exact_with_cpu_kernel(name):
    from qubo_bnn._collapsed_cuda import anneal_cuda

    q, coef = problem(name)
    model = CollapsedModel.from_problem(q, **coef)
    W0 = initial_weights(q, 3)
    W_cpu, W_gpu = W0.copy(), W0.copy()
    e_cpu = cpu_anneal(model, W_cpu, BETAS, 2024)
    e_gpu = anneal_cuda(model, W_gpu, BETAS, 2024)
    np.testing.assert_array_equal(W_gpu, W_cpu)
    np.testing.assert_array_equal(e_gpu, e_cpu)
    assert e_gpu.dtype == np.float64 and e_gpu.shape == (3,)
    assert not np.array_equal(W_cpu, W0)  # something happened
    # the energies are those of the consistent QUBO states of the final weights
    bqm = q.to_bqm(**coef)
    states = np.stack([q.consistent_state(w) for w in W_gpu])
    np.testing.assert_allclose(bqm.energies((states, q.labels)), e_gpu, rtol=0, atol=1e-9)


def assert_gpu_equals_cpu(q, model, betas, key, seed, **cuda_kw):
    """The CUDA kernel ends at the CPU kernel's weights and energies, bit for bit, having walked
    as many rows (the CPU row index's count); returns that count per read."""
    from qubo_bnn._collapsed_cpu import anneal_visits
    from qubo_bnn._collapsed_cuda import anneal_cuda

    W_cpu, W_gpu = initial_weights(q, 2, seed=seed), initial_weights(q, 2, seed=seed)
    e_cpu, v_cpu = np.empty(2), np.zeros(2, dtype=np.int64)
    anneal_visits(W_cpu, *model.kernel_args, betas, key, 0, e_cpu, v_cpu, classes=False, levels=model.levels)
    v_gpu = np.full(2, -1, dtype=np.int64)
    e_gpu = anneal_cuda(model, W_gpu, betas, key, visits=v_gpu, **cuda_kw)
    np.testing.assert_array_equal(W_gpu, W_cpu)
    np.testing.assert_array_equal(e_gpu, e_cpu)
    np.testing.assert_array_equal(v_gpu, v_cpu)
    return v_gpu


@needs_cuda
@pytest.mark.parametrize("threads", [1, 2, 8])  # 4 (the default here) is tested above
def test_thread_count_changes_nothing(threads):
    """Threads owning several rows, one row, or none (8 threads > 4 rows)."""
    from qubo_bnn._collapsed_cuda import MAX_THREADS

    if threads > MAX_THREADS:
        pytest.skip(f"more than MAX_THREADS={MAX_THREADS}")
    q, coef = problem("skip")
    assert_gpu_equals_cpu(q, CollapsedModel.from_problem(q, **coef), BETAS, 7, seed=1, threads=threads)


@needs_cuda
@sim_only
def test_one_thread_follows_cpu_order_for_any_coefficients():
    """With one thread per block the additions happen in the CPU's order: exact for any floats."""
    q = TrainingQUBO(Network(3).dense(2).dense(1), X5, np.array([1, 0, 1, 0, 1]))
    coef = dict(B=1.1, mu=0.3, h=np.random.default_rng(3).normal(0, 0.3, q.n_weights))
    assert_gpu_equals_cpu(q, CollapsedModel.from_problem(q, **coef), BETAS, 11, seed=2, threads=1)


@needs_cuda
@pytest.mark.parametrize("name, threads", zip(MIN_PROBLEMS, [1, 2, 8]))  # the default threads: above
def test_min_margin_with_any_thread_count(name, threads):
    """The level histogram, shared by a block's threads, moves each walked row once whatever the
    threads own (several rows, one, none), and the chain walks the CPU's rows."""
    from qubo_bnn._collapsed_cuda import MAX_THREADS

    if threads > MAX_THREADS:
        pytest.skip(f"more than MAX_THREADS={MAX_THREADS}")
    q, coef = problem(name)
    model = CollapsedModel.from_problem(q, **coef)
    W, W_without = initial_weights(q, 2, seed=5), initial_weights(q, 2, seed=5)
    cpu_anneal(model, W, BETAS, 17)
    cpu_anneal(dataclasses.replace(model, levels=None), W_without, BETAS, 17)
    assert not np.array_equal(W, W_without)      # the level term steers this chain
    assert_gpu_equals_cpu(q, model, BETAS, 17, seed=5, threads=threads)
    assert_gpu_equals_cpu(q, model, np.array([50.0, 100.0]), 3, seed=2, threads=threads)  # cold: rejections


@needs_cuda
@sim_only
def test_min_margin_one_thread_follows_cpu_order_for_any_coefficients():
    """The level terms of one proposal are summed in neuron order on both kernels: with one
    thread the chain is the CPU's for non-dyadic coefficients too (the lexicographic margin
    weight is one)."""
    q, _ = problem("min_hard_fit")
    coef = dict(B=1.1, mu=1 / 3, h=np.random.default_rng(4).normal(0, 0.3, q.n_weights))
    assert_gpu_equals_cpu(q, CollapsedModel.from_problem(q, **coef), BETAS, 19, seed=3, threads=1)


@needs_cuda
def test_cold_schedule_and_rejections():
    """A cold schedule (most proposals cut by MAX_BETA_DE or rejected) and a single sweep."""
    q, coef = problem("dense")
    model = CollapsedModel.from_problem(q, **coef)
    for betas in (np.array([50.0, 100.0]), np.array([0.0])):
        assert_gpu_equals_cpu(q, model, betas, 5, seed=4)


@needs_cuda
def test_schedule_in_chunks_equals_one_call():
    """``sweep0`` keys the uniforms by the absolute sweep, as in the CPU kernel."""
    from qubo_bnn._collapsed_cuda import anneal_cuda

    q, coef = problem("skip")
    model = CollapsedModel.from_problem(q, **coef)
    W_cpu, W_gpu = initial_weights(q, 2, seed=3), initial_weights(q, 2, seed=3)
    e_cpu = cpu_anneal(model, W_cpu, BETAS, 8)
    anneal_cuda(model, W_gpu, BETAS[:1], 8)
    e_gpu = anneal_cuda(model, W_gpu, BETAS[1:], 8, 1)
    np.testing.assert_array_equal(W_gpu, W_cpu)
    np.testing.assert_array_equal(e_gpu, e_cpu)
    W_cpu, W_gpu = initial_weights(q, 2, seed=3), initial_weights(q, 2, seed=3)
    cpu_anneal(model, W_cpu, BETAS[2:], 8, 5)
    anneal_cuda(model, W_gpu, BETAS[2:], 8, sweep0=5)
    np.testing.assert_array_equal(W_gpu, W_cpu)


@needs_cuda
def test_bad_arguments():
    from qubo_bnn._collapsed_cuda import anneal_cuda

    q, coef = problem("dense")
    model = CollapsedModel.from_problem(q, **coef)
    with pytest.raises(ValueError, match="power of two"):
        anneal_cuda(model, initial_weights(q, 1), BETAS, 0, threads=3)
    with pytest.raises(ValueError, match="int8"):
        anneal_cuda(model, initial_weights(q, 1).astype(np.int32), BETAS, 0)
    with pytest.raises(ValueError, match="visits"):
        anneal_cuda(model, initial_weights(q, 2), BETAS, 0, visits=np.zeros(2, dtype=np.int32))
    assert anneal_cuda(model, initial_weights(q, 0), BETAS, 0).shape == (0,)


def chain_net() -> Network:
    """A hidden -> hidden edge (a count can step by 2 when both parents flip), an even fan-in,
    a neuron without bias, two outputs."""
    net = Network(4)
    h1 = net.add_neuron([0, 1, 2, 3])            # F = 5
    h2 = net.add_neuron([0, 1, h1], bias=False)  # F = 3
    net.add_neuron([h1, h2, 3])                  # F = 4 (even)
    net.add_neuron([h1, h2])                     # F = 3
    return net


X_CHAIN = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1],
                    [1, 1, 1, 0], [0, 0, 1, 0]], dtype=np.int8)    # row 0 twice: 7 distinct rows
T_CHAIN = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [0, 0], [1, 0], [0, 1], [1, 1]])

ROW_INDEX_SETTINGS = {   # name: (TrainingQUBO keywords, coefficients, whether every row is live)
    "no-margin": (dict(), dict(B=1.0), False),   # hidden neurons flat, outputs live at the threshold
    "margin-output": (dict(margin_neurons="output"), dict(B=1.0, mu=0.25), False),
    "margin-hidden-cap": (dict(margin_neurons="hidden", margin_cap=3), dict(B=2.0, mu=0.5), False),
    "hard-fit": (dict(hard_fit=True), dict(B=1.0), False),   # fixed outputs never flip
    "hard-fit-margin": (dict(hard_fit=True), dict(B=1.0, mu=0.25), True),
}


def row_index_problem(setting):
    """The chain network on 7 distinct rows, dyadic ``h`` (multiples of 1/4)."""
    kw, coef, every_row_live = ROW_INDEX_SETTINGS[setting]
    q = TrainingQUBO(chain_net(), X_CHAIN, T_CHAIN, **kw)
    coef = dict(coef, h=0.25 * np.random.default_rng(5).integers(-2, 3, q.n_weights))
    return q, CollapsedModel.from_problem(q, **coef), every_row_live


@needs_cuda
@pytest.mark.parametrize("setting", sorted(ROW_INDEX_SETTINGS))
def test_skipped_rows_keep_the_cpu_chain(setting):
    """Rows that cannot change the energy or an activation are skipped as the CPU row index skips
    them (the same number of rows walked), and the chain stays the CPU's bit for bit."""
    q, model, every_row_live = row_index_problem(setting)
    visits = assert_gpu_equals_cpu(q, model, BETAS, 13, seed=6)
    every_row = len(BETAS) * q.n_weights * model.X.shape[0]
    if every_row_live:
        assert (visits == every_row).all()
    else:
        assert (visits > 0).all() and (visits < every_row).all()


@needs_cuda
def test_ternary_neuron_reading_a_hidden_neuron_through_two_edges():
    """A hidden neuron's flip steps a ternary output's count by 0 or ±2 (one per edge), about
    which the ±1 live flags say nothing: every row where the hidden neuron flips is walked, as on
    the CPU, and the chain stays the CPU's."""
    rng = np.random.default_rng(8)
    X = rng.integers(0, 2, (24, 6)).astype(np.int8)
    q = TrainingQUBO(Network(6).dense(3, ternary=True).dense(1, ternary=True), X, rng.integers(0, 2, 24))
    model = CollapsedModel.from_problem(q, B=1.0, h=0.25 * rng.integers(-2, 3, q.n_weights))
    assert_gpu_equals_cpu(q, model, BETAS, 5, seed=9)


@needs_cuda
@pytest.mark.parametrize("threads", [1, 2])  # 8 (the default here) is tested above
def test_skipped_rows_with_other_thread_counts(threads):
    """Threads owning several rows, some walked and some skipped in the same proposal."""
    q, model, _ = row_index_problem("margin-output")
    assert_gpu_equals_cpu(q, model, BETAS, 21, seed=7, threads=threads)


@needs_cuda
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the simulator's 0·inf
def test_non_finite_cost_tables_walk_every_row():
    """A non-finite cost makes every row live (the CPU kernel's rule): here at count 0 on the
    unused target of the hidden neurons, where the full walk adds 0·inf = nan."""
    q, model, _ = row_index_problem("no-margin")
    G = model.G.copy()
    G[:2, 1, 0] = np.inf
    model = dataclasses.replace(model, G=G)
    betas = BETAS[:2]
    visits = assert_gpu_equals_cpu(q, model, betas, 3, seed=8)
    assert (visits == len(betas) * q.n_weights * model.X.shape[0]).all()


@needs_cuda
@pytest.mark.parametrize("name", ["dense", "hard_fit", "min"])
def test_sampler_cuda_equals_cpu(name):
    q, coef = problem(name)
    bqm = q.to_bqm(**coef)
    kw = dict(num_reads=2, num_sweeps=3, seed=99)
    gpu = CollapsedSampler(device="cuda").sample(bqm, **kw)
    cpu = CollapsedSampler(device="cpu").sample(bqm, **kw)
    assert gpu.info["device"] == "cuda" and cpu.info["device"] == "cpu"
    assert gpu.info["beta_range"] == cpu.info["beta_range"]
    np.testing.assert_array_equal(gpu.record.sample, cpu.record.sample)
    np.testing.assert_array_equal(gpu.record.energy, cpu.record.energy)
    if name == "dense":
        auto = CollapsedSampler(device="auto").sample(bqm, num_reads=1, num_sweeps=1, seed=1)
        assert auto.info["device"] == "cuda"


# ---------------------------------------------------------------- without CUDA

def test_cuda_unusable_falls_back_with_warning(monkeypatch):
    import qubo_bnn_solvers.sampler as sampler_module

    monkeypatch.setattr(sampler_module, "_cuda_unusable", lambda: "no CUDA GPU is visible to Numba")
    q, coef = problem("dense")
    bqm = q.to_bqm(**coef)
    kw = dict(num_reads=2, num_sweeps=3, seed=1)
    with pytest.warns(RuntimeWarning, match="no CUDA GPU is visible to Numba; falling back to the CPU"):
        ss = CollapsedSampler(device="cuda").sample(bqm, **kw)
    assert ss.info["device"] == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = CollapsedSampler(device="auto").sample(bqm, **kw)  # no warning
    assert auto.info["device"] == "cpu"
    np.testing.assert_array_equal(auto.record.sample, ss.record.sample)


@pytest.mark.skipif(cuda.is_available(), reason="CUDA (or its simulator) is usable here")
def test_no_cuda_falls_back_with_warning():
    q, coef = problem("dense")
    bqm = q.to_bqm(**coef)
    with pytest.warns(RuntimeWarning, match="falling back to the CPU collapsed annealer"):
        ss = CollapsedSampler(device="cuda").sample(bqm, num_reads=2, num_sweeps=3, seed=1)
    assert ss.info["device"] == "cpu"
    want = CollapsedSampler(device="cpu").sample(bqm, num_reads=2, num_sweeps=3, seed=1)
    np.testing.assert_array_equal(ss.record.sample, want.record.sample)


# ---------------------------------------------------------------- the simulator run

SIM_CHILD = "QUBO_BNN_COLLAPSED_CUDASIM_CHILD"


@pytest.mark.skipif(SIM or bool(os.environ.get(SIM_CHILD)), reason="already in the simulator run")
def test_cuda_tests_pass_under_simulator():
    """Run this file with NUMBA_ENABLE_CUDASIM=1 in a fresh process."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=path, **{SIM_CHILD: "1"})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 30, proc.stdout[-2000:]  # kernel tests not skipped
