"""The training CQM against brute force: same optimum as an independent oracle and as the BQM."""
import itertools
import logging

import dimod
import dimod.lp
import numpy as np
import pytest

from conftest import SECRET
from oracles import forward_numpy
from qubo_bnn import samplers as S
from networks import even_hidden_net as _even_hidden_net
from networks import skip_net as _skip_net
from networks import two_output_net as _two_output_net
from qubo_bnn.cqm import CQMTrainingSampler, training_cqm
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network


def oracle(net, X, targets, w, B=1.0, mu=0.0, cap=None, h=None, hard_fit=False, min_output_margin=0,
           margin_ids=None):
    """``B·errors - mu·Σ min(|z|, cap) + h·w`` from a plain forward pass; ``inf`` if a hard
    constraint (hard fit, hard output margin) is broken."""
    spec = [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]
    Z = forward_numpy(net.n_inputs, spec, X, w)
    out = [o - net.n_inputs for o in net.outputs]
    wrong = ((Z[:, out] >= 0) != np.asarray(targets).reshape(len(X), -1).astype(bool)).sum()
    if (hard_fit and wrong) or (np.abs(Z[:, out]) < min_output_margin).any():
        return np.inf
    az = np.abs(Z)
    if cap is not None:   # |z| has F's parity: the cap rounds down to it, at least the smallest |z| > 0
        F = np.array([net.fan_in(j) for j in net.neurons])
        az = np.minimum(az, np.where(F % 2 == 1, cap - (cap - 1) % 2, np.maximum(cap - cap % 2, 2)))
    cols = [j - net.n_inputs for j in (net.neurons if margin_ids is None else margin_ids)]
    return B * wrong - mu * az[:, cols].sum() + (0.0 if h is None else float(np.dot(h, w)))


def brute_min(net, X, t, **kw):
    return min(oracle(net, X, t, np.array(w), **kw) for w in itertools.product([-1, 1], repeat=net.n_weights))


def best_feasible(cqm):
    ss = dimod.ExactCQMSolver().sample_cqm(cqm).filter(lambda d: d.is_feasible)
    return float(ss.first.energy) if len(ss) else np.inf


# (network, X, targets, TrainingQUBO kwargs, B, mu, h): every CQM here has <= 16 variables
X3 = np.array([[0, 1], [1, 1], [1, 1], [1, 0]])               # a duplicate row with both labels
T3 = np.array([1, 0, 1, 1])
X4 = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 0], [0, 1, 1]])
T4 = np.array([1, 0, 0, 1])
CASES = {
    "odd-plain": (lambda: Network(2).dense(1), X3, T3, {}, 1.0, 0.0, None),
    "odd-margin-h": (lambda: Network(2).dense(1), X3, T3, {}, 1.5, 0.3, [0.2, -0.1, 0.05]),
    "odd-cap": (lambda: Network(2).dense(1), X3, T3, {"margin_cap": 1}, 1.0, 0.5, None),
    "even-margin": (lambda: Network(3).dense(1), X4, T4, {}, 1.0, 0.25, None),
    "even-cap-h": (lambda: Network(3).dense(1), X4, T4, {"margin_cap": 2}, 2.0, 0.3, [0.1, 0, -0.2, 0.3]),
    "hidden-even": (_even_hidden_net, X3[:3], T3[:3], {}, 1.0, 0.2, None),
    "hard-fit": (lambda: Network(3).dense(1), X4, np.array([1, 0, 0, 0]), {"hard_fit": True}, 1.0, 0.25, None),
    "hard-margin": (lambda: Network(4).dense(1), np.array([[0, 1, 1, 0], [1, 1, 0, 1], [0, 0, 0, 1]]),
                    np.array([1, 0, 0]), {"min_output_margin": 3}, 1.0, 0.0, [0.1, 0.2, 0.0, -0.1, 0.0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cqm_optimum_equals_oracle_and_bqm(name):
    make, X, t, kw, B, mu, h = CASES[name]
    net = make()
    q = TrainingQUBO(net, X, t, **kw)
    cqm = q.to_cqm(B=B, mu=mu, h=h)
    assert list(cqm.variables) == q.labels and len(cqm.variables) <= 16
    expect = brute_min(net, X, t, B=B, mu=mu, cap=kw.get("margin_cap"), h=h,
                       hard_fit=kw.get("hard_fit", False), min_output_margin=kw.get("min_output_margin", 0))
    assert np.isfinite(expect)
    assert best_feasible(cqm) == pytest.approx(expect)
    bqm = q.to_bqm(B=B, mu=mu, h=h)
    assert float(dimod.ExactSolver().sample(bqm).first.energy) == pytest.approx(expect)


def test_two_outputs_full_enumeration():
    net = _two_output_net()
    X, t = np.array([[1, 0]]), np.array([[1, 0]])
    q = TrainingQUBO(net, X, t, margin_cap=2)
    cqm = q.to_cqm(B=1.0, mu=0.4, h=np.linspace(-0.3, 0.3, net.n_weights))
    assert len(cqm.variables) == 15
    kw = dict(mu=0.4, cap=2, h=np.linspace(-0.3, 0.3, net.n_weights))
    assert best_feasible(cqm) == pytest.approx(brute_min(net, X, t, **kw))


def test_per_weight_minimum_with_skip_and_hidden_hidden_edges():
    """Weights fixed, the CQM's minimum over the auxiliaries is the oracle's value."""
    net = _skip_net()
    X, t = np.array([[1, 0, 1]]), np.array([1])
    h = np.random.default_rng(0).normal(scale=0.2, size=net.n_weights)
    q = TrainingQUBO(net, X, t)
    cqm = q.to_cqm(B=1.0, mu=0.3, h=h)
    rng = np.random.default_rng(1)
    for w in rng.choice([-1, 1], (12, net.n_weights)):
        fixed = cqm.fix_variables({f"w{e}": int(w[e] > 0) for e in range(net.n_weights)}, inplace=False)
        expect = oracle(net, X, t, w, mu=0.3, h=h)
        assert best_feasible(fixed) == pytest.approx(expect)


def test_consistent_states_are_feasible_with_the_bqm_energy():
    """On a larger net: the forward pass of any weights is feasible and its objective is the
    BQM's energy (penalty 0) and the oracle's value."""
    net = Network(6).dense(3).dense(2, bias=False)
    net.add_neuron(net.neurons[:2] + [0, 5])           # skip connections into a third output
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, (12, 6))
    X[11] = X[3]
    t = rng.integers(0, 2, (12, len(net.outputs)))
    q = TrainingQUBO(net, X, t, margin_cap=3)
    h = rng.normal(size=net.n_weights)
    cqm, bqm = q.to_cqm(B=2.0, mu=0.1, h=h), q.to_bqm(B=2.0, mu=0.1, h=h)
    for w in rng.choice([-1, 1], (5, net.n_weights)):
        sample = dict(zip(q.labels, q.consistent_state(w).tolist()))
        assert cqm.check_feasible(sample)
        assert cqm.objective.energy(sample) == pytest.approx(bqm.energy(sample))
        assert cqm.objective.energy(sample) == pytest.approx(oracle(net, X, t, w, B=2.0, mu=0.1, cap=3, h=h))
    # a broken sign constraint is infeasible
    sample = dict(zip(q.labels, q.consistent_state(np.ones(net.n_weights, dtype=int)).tolist()))
    sample[q.labels[q.x_ids[net.neurons[0]][0]]] ^= 1
    assert not cqm.check_feasible(sample)


def test_hard_fit_fixes_tie_bits_of_negative_rows():
    net = Network(3).dense(1)                          # F = 4: tie bits
    q = TrainingQUBO(net, X4, np.array([1, 0, 0, 1]), hard_fit=True)
    cqm = q.to_cqm()
    ties = sorted(c for c in cqm.constraints if c.startswith("tie_"))
    assert ties == ["tie_3_1"]                         # rows 1, 2 merged; row 1 fixed to 0
    assert cqm.constraints["tie_3_1"].rhs == 0


def test_default_task_cqm_and_lp_dump(tmp_path):
    from qubo_bnn.datasets import load_digits_task

    X_train, _, y_train, _ = load_digits_task(classes=(3, 8), n_train=100)
    net = Network(16).dense(4).dense(1)
    q = TrainingQUBO(net, X_train, (y_train == 8).astype(int))
    cqm = q.to_cqm(B=1.0, mu=0.1)
    assert list(cqm.variables) == q.labels
    n_and = sum(len(v) for v in q.y_ids.values())
    assert len(cqm.constraints) == q.n_rows * len(net.neurons) + 3 * n_and
    path = tmp_path / "train.lp"
    with open(path, "w") as f:
        dimod.lp.dump(cqm, f)
    with open(path, "rb") as f:
        back = dimod.lp.load(f)
    assert set(back.variables) == set(cqm.variables) and len(back.constraints) == len(cqm.constraints)
    bqm = q.to_bqm(mu=0.1)
    w = np.random.default_rng(0).choice([-1, 1], net.n_weights)
    sample = dict(zip(q.labels, q.consistent_state(w).tolist()))
    assert back.check_feasible(sample)
    assert back.objective.energy(sample) == pytest.approx(bqm.energy(sample))


def test_lp_dump_round_trip_with_tie_bits():
    """Even fan-in (tie bits tie{j}_{r}): dimod.lp writes and reads the CQM as it is."""
    net = _even_hidden_net()
    q = TrainingQUBO(net, X3, T3, hard_fit=False)
    cqm = q.to_cqm(mu=0.2, h=[0.1, -0.2, 0.3, 0.0])
    assert any(str(v).startswith("tie") for v in cqm.variables)
    back = dimod.lp.loads(dimod.lp.dumps(cqm))
    assert len(back.constraints) == len(cqm.constraints)
    sample = dict(zip(q.labels, q.consistent_state(np.array([1, -1, 1, 1])).tolist()))
    assert back.check_feasible(sample)
    assert back.objective.energy(sample) == pytest.approx(cqm.objective.energy(sample))


def test_training_cqm_rejects_bad_coefficients():
    q = TrainingQUBO(Network(2).dense(1), X3, T3)
    with pytest.raises(ValueError, match="h must be"):
        training_cqm(q, h=[1.0])
    with pytest.raises(ValueError, match="mu must be finite"):
        training_cqm(q, mu=np.nan)


# ------------------------------------------------------------------ the sampler


def test_cqm_training_sampler_with_exact_cqm_solver():
    make, X, t, kw, B, mu, h = CASES["even-cap-h"]
    q = TrainingQUBO(make(), X, t, **kw)
    bqm = q.to_bqm(B=B, mu=mu, h=h)
    ss = CQMTrainingSampler(dimod.ExactCQMSolver()).sample(bqm)
    assert list(ss.variables) == list(bqm.variables)
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert ss.info["num_feasible"] > 0
    for sample in ss.samples():
        assert q.broken_constraints(dict(sample)) == []
    with pytest.raises(ValueError, match="TrainingQUBO.to_bqm"):
        CQMTrainingSampler(dimod.ExactCQMSolver()).sample(bqm.copy())
    with pytest.raises(TypeError, match="sample_cqm"):
        CQMTrainingSampler(dimod.ExactSolver())


def test_cqm_hybrid_with_fake_client(profile_config, fake_leap, caplog, capsys):
    from dwave.system import LeapHybridCQMSampler

    calls = fake_leap
    caplog.set_level(logging.DEBUG)

    make, X, t, kw, B, mu, h = CASES["odd-margin-h"]
    q = TrainingQUBO(make(), X, t, **kw)
    bqm = q.to_bqm(B=B, mu=mu, h=h)
    sampler, params = S.sampler_from_config({"name": "cqm-hybrid", "time_limit": 6, "init": {"profile": "prod"}})
    assert isinstance(sampler, CQMTrainingSampler) and isinstance(sampler.child, LeapHybridCQMSampler)
    kind, kwargs = calls[0]
    assert kind == "from_config" and kwargs["profile"] == "prod" and "token" not in kwargs
    assert {"time_limit", "label"} <= set(sampler.parameters)

    ss = S.sample_bqm(sampler, bqm, **params)
    kind, problem_id, sample_kwargs = calls[-1]
    assert kind == "sample_cqm" and problem_id == "problem-7" and sample_kwargs["time_limit"] == 6
    assert ss.info["problem_id"] == "problem-7" and ss.info["num_feasible"] > 0
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert ss.first.energy == pytest.approx(brute_min(make(), X, t, B=B, mu=mu, h=h))
    assert bqm.energy(ss.first.sample) == pytest.approx(ss.first.energy)
    with pytest.raises(ValueError, match="num_reads"):
        S.sample_bqm(sampler, bqm, num_reads=3)
    out = capsys.readouterr()
    assert SECRET not in caplog.text + out.out + out.err + repr(sampler)


def test_cqm_hybrid_needs_credentials_before_network(no_credentials, monkeypatch):
    import dwave.system

    def must_not_be_called(**kwargs):
        raise AssertionError("Leap sampler constructed without credentials")

    monkeypatch.setattr(dwave.system, "LeapHybridCQMSampler", must_not_be_called)
    with pytest.raises(S.LeapCredentialsError, match="dwave setup") as info:
        S.make_sampler("cqm-hybrid")
    assert "DWAVE_API_TOKEN" in str(info.value)
    with pytest.raises(ValueError, match=r"\['profile'\].*\[sampler.init\]"):
        S.split_sampler_config({"name": "cqm-hybrid", "profile": "prod"})
