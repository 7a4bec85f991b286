"""CP-SAT exact backend against brute force over every weight assignment (independent oracle)."""
import itertools
import sys

import dimod
import numpy as np
import pytest

pytest.importorskip("ortools")

from oracles import forward_numpy
from qubo_bnn import samplers as S
from qubo_bnn.cpsat import CPSATSampler, _integer_scale
from qubo_bnn.formulation import TrainingQUBO
from networks import NETWORKS
from networks import skip_net as _skip_net
from qubo_bnn.network import Network


def oracle_energies(net, X, targets, B=1.0, mu=0.0, cap=None, h=None, hard_fit=False, min_output_margin=0):
    """``B·errors - mu·Σ min(|z|, cap) + h·w`` for every weight vector, ``inf`` where a hard
    constraint (hard fit, hard output margin) is broken; written from the network's definition."""
    spec = [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]
    F = np.array([net.fan_in(j) for j in net.neurons])
    out = [o - net.n_inputs for o in net.outputs]
    W = np.array(list(itertools.product([-1, 1], repeat=net.n_weights)))
    E = np.empty(len(W))
    for i, w in enumerate(W):
        Z = forward_numpy(net.n_inputs, spec, X, w)
        fired = Z[:, out] >= 0
        wrong = (fired != targets.astype(bool)).sum()
        az = np.abs(Z)
        if cap is not None:   # |z| has F's parity: the cap rounds down to it, at least the smallest |z| > 0
            az = np.minimum(az, np.where(F % 2 == 1, cap - (cap - 1) % 2, np.maximum(cap - cap % 2, 2)))
        E[i] = B * wrong - mu * az.sum() + (0.0 if h is None else h @ w)
        if (hard_fit and wrong) or (np.abs(Z[:, out]) < min_output_margin).any():
            E[i] = np.inf
    return W, E


def _data(net, seed, n=6):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, net.n_inputs))
    X[-1] = X[0]                                   # a duplicate row...
    t = rng.integers(0, 2, (n, len(net.outputs)))
    t[-1] = 1 - t[0]                               # ...with the other label
    return X, t


CASES = [  # (B, mu, cap, with h)
    (1.0, 0.0, None, False),
    (1.5, 0.3, 2, True),
    (1.0, 0.25, None, False),
]


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("B,mu,cap,with_h", CASES)
def test_optimum_equals_brute_force(name, B, mu, cap, with_h):
    net = NETWORKS[name]()
    X, t = _data(net, seed=len(name) + int(10 * mu))
    h = np.random.default_rng(1).normal(scale=0.3, size=net.n_weights) if with_h else None
    q = TrainingQUBO(net, X, t, margin_cap=cap)
    bqm = q.to_bqm(B=B, mu=mu, h=h)
    ss = CPSATSampler().sample(bqm, time_limit=10, seed=0)
    W, E = oracle_energies(net, X, t, B, mu, cap, h)
    info = ss.info
    assert info["optimal"] and info["status"] == "OPTIMAL"
    assert ss.first.energy == pytest.approx(E.min(), abs=1e-9)
    assert info["objective"] == pytest.approx(ss.first.energy, abs=1e-12)
    assert info["bound"] <= E.min() + 1e-9 and info["gap"] == pytest.approx(0.0, abs=1e-9)
    # the state is the consistent state of weights that are optimal for the oracle
    w = q.weights_from(ss)[0]
    assert E[np.flatnonzero((W == w).all(axis=1))[0]] == pytest.approx(E.min())
    assert q.broken_constraints(ss.first.sample) == []
    assert list(ss.variables) == list(bqm.variables)


def test_matches_exact_solver_on_a_tiny_bqm():
    net = Network(2).dense(1)
    X = np.array([[0, 1], [1, 1], [1, 1]])
    t = np.array([1, 0, 1])
    bqm = TrainingQUBO(net, X, t).to_bqm(mu=0.5, h=[0.1, -0.2, 0.05])
    assert bqm.num_variables <= 20
    ss = CPSATSampler().sample(bqm, seed=1)
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)


@pytest.mark.parametrize("kw", [{"hard_fit": True}, {"hard_fit": True, "margin_cap": 3},
                                {"min_output_margin": 2, "margin_neurons": "hidden"}])
def test_hard_constraints_feasible_case(kw):
    net = Network(3).dense(2).dense(1)             # F = 4 hidden, F = 3 output
    rng = np.random.default_rng(7)
    X = rng.integers(0, 2, (6, 3))
    X[5] = X[1]
    w_true = rng.choice([-1, 1], net.n_weights)
    t = (net.predict_outputs(X, w_true) > 0).astype(int)
    if "min_output_margin" in kw:                  # some weights meet |z_o| >= 2, not all
        t = rng.integers(0, 2, (6, 1))
    q = TrainingQUBO(net, X, t, **kw)
    mu = 0.2
    bqm = q.to_bqm(mu=mu)
    ss = CPSATSampler().sample(bqm, seed=0)
    W, E = oracle_energies(net, X, t, 1.0, mu, kw.get("margin_cap"), hard_fit=kw.get("hard_fit", False),
                           min_output_margin=kw.get("min_output_margin", 0))
    if kw.get("margin_neurons") == "hidden":       # the oracle rewards every neuron: recompute
        spec = [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]
        for i, w in enumerate(W):
            if np.isfinite(E[i]):
                Z = forward_numpy(3, spec, X, w)
                E[i] = ((Z[:, 2] >= 0) != t[:, 0].astype(bool)).sum() - mu * np.abs(Z[:, :2]).sum()
    assert np.isfinite(E.min())
    assert ss.info["optimal"]
    assert ss.first.energy == pytest.approx(E.min())
    assert q.broken_constraints(ss.first.sample) == []


def test_default_task_is_proved_optimal():
    from qubo_bnn.datasets import load_digits_task

    X_train, X_test, y_train, y_test = load_digits_task(classes=(3, 8), n_train=100)
    net = Network(16).dense(4).dense(1)
    targets = (y_train == 8).astype(int)
    q = TrainingQUBO(net, X_train, targets)
    bqm = q.to_bqm()
    sampler = S.make_sampler("cpsat")
    ss = S.sample_bqm(sampler, bqm, time_limit=20, num_workers=2, seed=0)
    info = ss.info
    assert info["status"] == "OPTIMAL" and info["optimal"] and info["scaling"] == "exact"
    assert float(bqm.energy(ss.first.sample)) == pytest.approx(info["objective"], abs=1e-9)
    assert info["bound"] == pytest.approx(info["objective"]) and info["gap"] == 0
    w = q.weights_from(ss)[0]
    errors = int(((net.predict_outputs(X_train, w)[:, 0] > 0) != targets.astype(bool)).sum())
    assert info["objective"] == pytest.approx(errors)        # B = 1, mu = 0: energy = errors
    assert errors == 0                                        # measured: the 100 images are separable


def test_hint_from_initial_states():
    net = _skip_net()
    X, t = _data(net, seed=3)
    q = TrainingQUBO(net, X, t)
    bqm = q.to_bqm(mu=0.1)
    W, E = oracle_energies(net, X, t, 1.0, 0.1)
    good = W[np.argmin(E)]
    init = dimod.SampleSet.from_samples_bqm((np.stack([q.consistent_state(-good), q.consistent_state(good)]),
                                              q.labels), bqm)
    ss = CPSATSampler().sample(bqm, initial_states=init, seed=0)
    assert ss.info["hinted"] and ss.info["optimal"]
    assert ss.first.energy == pytest.approx(E.min())
    with pytest.raises(ValueError, match="weight variables"):
        CPSATSampler().sample(bqm, initial_states={"x3_0": 1})


def test_stopped_before_any_solution_returns_the_hint_with_a_valid_bound():
    from qubo_bnn.datasets import load_digits_task

    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=100)
    net = Network(16).dense(4).dense(1)
    q = TrainingQUBO(net, X, (y == 8).astype(int))
    bqm = q.to_bqm(mu=0.05, h=np.full(net.n_weights, 0.01))
    w0 = np.random.default_rng(0).choice([-1, 1], net.n_weights)
    ss = CPSATSampler().sample(bqm, time_limit=1e-4, seed=0,
                               initial_states=dict(zip(q.labels, q.consistent_state(w0).tolist())))
    info = ss.info
    assert info["status"] in ("UNKNOWN", "FEASIBLE") and not info["optimal"]
    if info["status"] == "UNKNOWN":                # stopped in presolve: the hint comes back
        assert (q.weights_from(ss)[0] == w0).all()
    assert info["objective"] == pytest.approx(float(bqm.energy(ss.first.sample)))
    # the bound is still valid: every term at its smallest
    assert np.isfinite(info["bound"]) and info["bound"] <= info["objective"]
    W = np.random.default_rng(1).choice([-1, 1], (20, net.n_weights))
    assert info["bound"] <= q.weight_energies(W, mu=0.05, h=np.full(net.n_weights, 0.01)).min()


def test_non_dyadic_and_rounded_scales():
    net = Network(3).dense(1)
    X, t = _data(net, seed=4)
    q = TrainingQUBO(net, X, t, margin_cap=3)
    for mu, scaling in ((0.1, "rational"), (np.pi / 10, "rounded")):
        h = np.array([0.1, -0.3, 0.2, 1 / 3])
        ss = CPSATSampler().sample(q.to_bqm(mu=mu, h=h), seed=0)
        W, E = oracle_energies(net, X, t, 1.0, mu, 3, h)
        info = ss.info
        assert info["scaling"] == scaling and info["optimal"]
        assert 0 <= info["tolerance"] < 1e-9
        assert ss.first.energy == pytest.approx(E.min(), abs=2 * info["tolerance"] + 1e-12)
        assert info["bound"] <= E.min() + 1e-12


def test_integer_scale():
    S_, ints, how = _integer_scale(np.array([1.0, 0.25, 3.0]), np.array([10.0, 10.0, 1.0]))
    assert (S_, ints.tolist(), how) == (4, [4, 1, 12], "exact")
    S_, ints, how = _integer_scale(np.array([1.0, 0.1]), np.array([1.0, 1.0]))
    assert (S_, ints.tolist(), how) == (10, [10, 1], "rational")
    S_, ints, how = _integer_scale(np.array([np.sqrt(2)]), np.array([1e3]))
    assert how == "rounded" and abs(ints[0] / float(S_) - np.sqrt(2)) < 1e-9
    S_, ints, how = _integer_scale(np.array([0.0, 0.0]), np.array([1.0, 1.0]))
    assert how == "exact" and ints.tolist() == [0, 0]


def test_registry_and_bad_inputs():
    sampler = S.make_sampler("cpsat")
    assert isinstance(sampler, CPSATSampler) and isinstance(sampler, dimod.Sampler)
    assert set(sampler.parameters) == {"time_limit", "num_workers", "seed", "initial_states", "log_progress",
                                       "progress"}
    with pytest.raises(ValueError, match="takes no"):
        S.make_sampler("cpsat", workers=3)
    plain = dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY")
    with pytest.raises(ValueError, match="TrainingQUBO.to_bqm"):
        sampler.sample(plain)
    q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 0]]), np.array([1, 0]))
    bqm = q.to_bqm()
    with pytest.raises(ValueError, match="TrainingQUBO.to_bqm"):
        sampler.sample(bqm.copy())                 # copies carry no origin
    with pytest.raises(ValueError, match="time_limit"):
        sampler.sample(bqm, time_limit=0)
    with pytest.raises(ValueError, match="num_workers"):
        sampler.sample(bqm, num_workers=0)
    with pytest.raises(ValueError, match="num_reads"):
        S.sample_bqm(sampler, bqm, num_reads=3)


def test_missing_ortools_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)
    monkeypatch.setitem(sys.modules, "ortools.sat.python.cp_model", None)
    with pytest.raises(ImportError, match=r"qubo-bnn\[exact\]"):
        S.make_sampler("cpsat")


_INTERRUPTED_SOLVE = r"""
import signal, sys
from ortools.sat.python import cp_model
from qubo_bnn import Network, TrainingQUBO
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.samplers import make_sampler
from qubo_bnn.training import train_problem

signal.signal(signal.SIGINT, signal.default_int_handler)   # CI may start us with SIGINT ignored
X, _, y, _ = load_digits_task(classes=(3, 8), pool=False, n_train=150)
q = TrainingQUBO(Network(64).dense(4).dense(1), X, (y == 8).astype(int))
solve = cp_model.CpSolver.solve

def announced(self, *args, **kwargs):
    print("solving", flush=True)
    status = solve(self, *args, **kwargs)
    print("solver returned", flush=True)
    return status

cp_model.CpSolver.solve = announced
try:
    train_problem(q, q.coefficients(mu=0.01), make_sampler("cpsat"), {"time_limit": 600.0, "num_workers": 2})
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(0)
print("finished without an interrupt", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_stops_the_solver_and_raises_keyboard_interrupt():
    """Ctrl-C during a long CP-SAT solve (10 minutes allowed): the solver stops and returns,
    then KeyboardInterrupt reaches the caller, and the process exits normally (CP-SAT's own
    SIGINT handler in a worker thread aborted it: bad_function_call, rc 134)."""
    import os
    import signal
    import subprocess
    import time

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_SOLVE], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "solving"
        time.sleep(1.0)                       # let the search start (not a timing assertion)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert out.split("\n") == ["solver returned", "KeyboardInterrupt", ""], (out, err[-2000:])
    assert child.returncode == 0, (child.returncode, err[-2000:])
    assert "bad_function_call" not in err and "terminate called" not in err
