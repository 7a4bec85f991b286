"""The collapsed annealer against independent oracles: brute force over weights, ExactSolver
over the auxiliaries, a plain numpy forward pass."""
import itertools

import dimod
import numba
import numpy as np
import pytest

from networks import NETWORKS
from oracles import forward_numpy, min_over_free_variables
from qubo_bnn.collapsed import CollapsedModel, CollapsedSampler
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network
from qubo_bnn.samplers import make_sampler


NETS = {k: NETWORKS[k] for k in ("perceptron-even", "skip+hidden-hidden", "two-outputs", "dense-2-2-1",
                                 "ternary-2-1-1")}
SETTINGS = [dict(mu=0.0), dict(mu=0.5), dict(mu=0.25, cap=2, h=True), dict(mu=0.5, cap="sqrt")]


def _problem(name, n_rows=4, seed=0, cap=None, **kw):
    net = NETS[name]()
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n_rows, net.n_inputs))
    X = np.concatenate([X, X[:2]])                      # duplicate rows, merged by the QUBO
    t = rng.integers(0, 2, (len(X), len(net.outputs)))
    return net, X, t, TrainingQUBO(net, X, t, margin_cap=cap, **kw)


def _all_weights(n):
    return np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_collapsed_energy_is_the_minimum_over_the_auxiliaries(name, setting):
    s = SETTINGS[setting]
    net, X, t, q = _problem(name, cap=s.get("cap"))
    h = np.random.default_rng(1).normal(size=net.n_weights).round(2) if s.get("h") else None
    bqm = q.to_bqm(B=1.5, mu=s["mu"], h=h)
    model = CollapsedModel.from_problem(q, B=1.5, mu=s["mu"], h=h)
    W = _all_weights(net.n_weights)
    if len(W) > 160:  # keep ExactSolver's work small: a fixed random subset of the assignments
        W = W[np.random.default_rng(2).choice(len(W), 160, replace=False)]
    got = model.energies(W)
    for w, e in zip(W, got):
        expect = min_over_free_variables(bqm, {f"w{i}": int(v > 0) for i, v in enumerate(w)})
        assert e == pytest.approx(expect), w
    # single-flip energy changes agree with the energies themselves
    for w in W[:: max(1, len(W) // 8)]:
        flipped = np.where(np.eye(len(w), dtype=bool), -w, w)
        assert model.flip_deltas(w) == pytest.approx(model.energies(flipped) - model.energies(w)[0])


def test_plain_loss_is_the_forward_pass_error_count():
    """mu = 0, h = 0: the collapsed energy is B x (misclassified samples), by a numpy forward pass."""
    net = Network(4).dense(2).dense(1)
    rng = np.random.default_rng(5)
    X = rng.integers(0, 2, (12, 4))
    t = rng.integers(0, 2, (12, 1))
    q = TrainingQUBO(net, X, t)
    model = CollapsedModel.from_problem(q, B=2.0)
    spec = [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]
    W = rng.choice(np.array([-1, 1], dtype=np.int8), (20, net.n_weights))
    for w, e in zip(W, model.energies(W)):
        z = forward_numpy(net.n_inputs, spec, X, w)[:, -1]
        assert e == 2.0 * ((z >= 0) != t[:, 0].astype(bool)).sum()


@pytest.mark.parametrize("kw", [dict(hard_fit=True), dict(min_output_margin=2)])
def test_hard_constraints_energy_is_that_of_the_consistent_state(kw):
    net, X, t, q = _problem("skip+hidden-hidden", **kw)
    bqm = q.to_bqm(mu=0.5)
    model = CollapsedModel.from_problem(q, mu=0.5)
    W = _all_weights(net.n_weights)
    states = np.stack([q.consistent_state(w) for w in W])
    assert model.energies(W) == pytest.approx(bqm.energies((states, q.labels)))


@pytest.mark.parametrize("name", sorted(NETS))
def test_sampler_reaches_the_brute_force_optimum_with_consistent_states(name):
    net, X, t, q = _problem(name, n_rows=6, seed=3)
    bqm = q.to_bqm(mu=0.25)
    # brute force over every weight assignment of the collapsed energy (itself checked against
    # ExactSolver over the auxiliaries above)
    optimum = CollapsedModel.from_problem(q, mu=0.25).energies(_all_weights(net.n_weights)).min()
    ss = CollapsedSampler().sample(bqm, num_reads=4, num_sweeps=100, seed=7)
    assert ss.first.energy == pytest.approx(optimum)
    assert np.allclose(bqm.energies(ss), ss.record.energy)
    assert set(ss.variables) == set(bqm.variables)
    for sample in ss.samples():
        assert q.broken_constraints(sample) == []


def test_results_do_not_depend_on_the_thread_count_and_seed_repeats():
    net, X, t, q = _problem("skip+hidden-hidden", n_rows=8)
    bqm = q.to_bqm(mu=0.5)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            runs.append(CollapsedSampler().sample(bqm, num_reads=5, num_sweeps=20, seed=11))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(runs[0].record.sample, runs[1].record.sample)
    other = CollapsedSampler().sample(bqm, num_reads=5, num_sweeps=20, seed=12)
    assert not np.array_equal(runs[0].record.sample, other.record.sample)


def test_initial_states_are_refined_downhill_at_zero_temperature():
    net, X, t, q = _problem("dense-2-2-1", n_rows=6)
    bqm = q.to_bqm()
    start = dimod.SampleSet.from_samples_bqm((np.zeros((3, q.n_variables), dtype=np.int8), q.labels), bqm)
    ss = CollapsedSampler().sample(bqm, initial_states=start, num_sweeps=3, beta_range=(1e9, 1e9), seed=0)
    model = CollapsedModel.from_problem(q)
    w0 = q.weights_from(start)
    assert len(ss) == 3
    assert (ss.record.energy <= model.energies(w0) + 1e-9).all()


def test_registry_parameters_and_clear_errors():
    net, X, t, q = _problem("skip+hidden-hidden")
    sampler = make_sampler("collapsed")
    assert isinstance(sampler, CollapsedSampler)
    assert {"num_reads", "num_sweeps", "beta_range", "seed", "initial_states"} <= set(sampler.parameters)
    bqm = q.to_bqm()
    with pytest.raises(ValueError, match="not emitted by"):
        sampler.sample(bqm.copy())
    with pytest.raises(ValueError, match="not emitted by"):
        sampler.sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY"))
    bqm.offset += 5.0                  # changes every state's energy, whatever the reads
    with pytest.raises(ValueError, match="modified"):
        sampler.sample(bqm, num_reads=2, num_sweeps=2, seed=0)
    with pytest.raises(ValueError, match="num_sweeps"):
        sampler.sample(q.to_bqm(), num_sweeps=0)
    with pytest.raises(ValueError, match="beta_range"):
        sampler.sample(q.to_bqm(), beta_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="device"):
        CollapsedSampler(device="tpu")


def test_chunked_schedule_gives_the_same_samples(monkeypatch):
    """The sampler runs its schedule in chunks (Ctrl-C between them); chunking changes nothing."""
    import qubo_bnn.collapsed as collapsed

    net, X, t, q = _problem("two-outputs", n_rows=6)
    bqm = q.to_bqm(mu=0.5)
    runs = []
    for seconds in (1e-9, 1e9):   # one sweep per call / doubling chunks
        monkeypatch.setattr(collapsed, "CHUNK_SECONDS", seconds)
        runs.append(CollapsedSampler().sample(bqm, num_reads=3, num_sweeps=30, seed=4))
    assert np.array_equal(runs[0].record.sample, runs[1].record.sample)
    assert np.array_equal(runs[0].record.energy, runs[1].record.energy)


def test_progress_bar_on_a_terminal_only(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    net, X, t, q = _problem("two-outputs", n_rows=6)
    bqm = q.to_bqm()
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        CollapsedSampler().sample(bqm, num_reads=2, num_sweeps=20, seed=0, progress=True)
        assert ("collapsed annealing" in stream.getvalue()) is shown
    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    CollapsedSampler().sample(bqm, num_reads=2, num_sweeps=20, seed=0)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("kw", [dict(mu=0.0), dict(mu=0.5, h=True), dict(hard_fit=True)])
def test_lower_bound_is_below_every_weight_assignment(name, kw):
    kw = dict(kw)
    hard = {"hard_fit": kw.pop("hard_fit")} if "hard_fit" in kw else {}
    net, X, t, q = _problem(name, n_rows=5, seed=3, **hard)
    h = np.random.default_rng(1).normal(size=net.n_weights) if kw.pop("h", False) else None
    model = CollapsedModel.from_problem(q, h=h, **kw)
    bound, tol = model.lower_bound()
    assert bound <= model.energies(_all_weights(net.n_weights)).min() + tol
    assert 0 < tol < 1e-6


def _planted(n_rows=40, seed=5):
    """Targets of a planted 8-3-1 network: 0 training errors is reachable."""
    net = Network(8).dense(3).dense(1)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n_rows, 8))
    Z = forward_numpy(8, [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons], X,
                      rng.choice([-1, 1], net.n_weights))
    return net, X, (Z[:, -1:] >= 0).astype(int)


def test_stops_at_the_proven_bound_whatever_the_chunking(monkeypatch):
    import qubo_bnn.collapsed as collapsed

    net, X, t = _planted()
    q = TrainingQUBO(net, X, t)
    runs = []
    for seconds in (1e-9, 1e9):
        monkeypatch.setattr(collapsed, "CHUNK_SECONDS", seconds)
        runs.append(CollapsedSampler().sample_problem(q, q.coefficients(), num_reads=4, num_sweeps=128, seed=1))
    first, second = runs
    assert np.array_equal(first.weights, second.weights) and first.info["num_sweeps_run"] == second.info["num_sweeps_run"]
    assert first.info["optimal"] is True and first.info["lower_bound"] == 0.0
    assert first.info["num_sweeps_run"] < 128 and first.info["num_sweeps_run"] % collapsed.check_period(128) == 0
    best = first.weights[np.argmin(first.energies)]
    oracle = forward_numpy(8, [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons], X, best)
    assert ((oracle[:, -1:] >= 0) == t.astype(bool)).all()                      # 0 errors, by a numpy pass
    full = CollapsedSampler().sample_problem(q, q.coefficients(), num_reads=4, num_sweeps=200, seed=1,
                                             stop_at_bound=False)
    assert full.info["num_sweeps_run"] == 200


def test_coarse_to_fine_reports_the_full_problem():
    """The schedule on a subset of rows, then a polish on all of them: the energies returned are
    the full problem's (an independent full forward pass), and a subset as large as the problem
    changes nothing."""
    from qubo_bnn.datasets import load_digits_task

    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=100, seed=1)
    q = TrainingQUBO(Network(16).dense(3).dense(1), X, (y == 8).astype(int))
    c = q.coefficients()
    sampler = CollapsedSampler()
    full = sampler.sample_problem(q, c, num_reads=4, num_sweeps=60, seed=3)
    same = sampler.sample_problem(q, c, num_reads=4, num_sweeps=60, seed=3, coarse_rows=q.n_rows)
    np.testing.assert_array_equal(full.weights, same.weights)
    coarse = sampler.sample_problem(q, c, num_reads=4, num_sweeps=60, seed=3, coarse_rows=10, polish_sweeps=20)
    assert coarse.info["coarse_rows"] == 10 and full.info["coarse_rows"] == q.n_rows
    np.testing.assert_array_equal(coarse.energies, q.output_errors(coarse.weights))   # mu = 0, h = 0: errors
    with pytest.raises(ValueError, match="coarse_rows"):
        sampler.sample_problem(q, c, num_reads=1, num_sweeps=5, coarse_rows=0)


@pytest.mark.parametrize("backend,n_jobs", [("loky", 2), ("sequential", -1), ("loky", 3), ("threading", 5)])
def test_reads_split_through_joblib_give_the_same_result(backend, n_jobs):
    """Random numbers are keyed by the absolute read, so batches run through joblib (any
    backend: Dask or Ray plug in the same way) return exactly the one-call result. Batches of
    one read run the serial kernel (without the GIL: five threads side by side here), the
    others the parallel one."""
    from joblib import parallel_config

    net, X, t, q = _problem("dense-2-2-1", n_rows=6, seed=4)
    c = q.coefficients(B=1.0, mu=0.25)
    s = CollapsedSampler()
    for extra in ({}, {"coarse_rows": 3, "polish_sweeps": 5}, {"stop_at_bound": False}):
        one = s.sample_problem(q, c, num_reads=5, num_sweeps=40, seed=11, **extra)
        with parallel_config(backend=backend):
            split = s.sample_problem(q, c, num_reads=5, num_sweeps=40, seed=11, n_jobs=n_jobs, **extra)
        assert np.array_equal(one.weights, split.weights)
        assert np.array_equal(one.energies, split.energies)
        assert one.info["num_sweeps_run"] == split.info["num_sweeps_run"]


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
def test_n_jobs_is_checked(bad):
    net, X, t, q = _problem("dense-2-2-1")
    with pytest.raises(ValueError, match="n_jobs"):
        CollapsedSampler().sample_problem(q, q.coefficients(), num_reads=2, num_sweeps=2, n_jobs=bad)
    with pytest.raises(ValueError, match="device='cpu'"):
        CollapsedSampler(device="cuda").sample_problem(q, q.coefficients(), num_reads=2, num_sweeps=2, n_jobs=2)
