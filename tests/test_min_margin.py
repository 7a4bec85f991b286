"""The min margin (``margin_kind="min"``, docs/FORMULATION.md "Min margin") against independent
oracles: a plain numpy forward pass and brute force over the weights and the auxiliaries."""
import itertools

import dimod
import numpy as np
import pytest

from networks import NETWORKS
from oracles import forward_numpy, min_over_free_variables
from qubo_bnn.collapsed import CollapsedModel, CollapsedSampler
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.ladder import lexicographic_margin_weight

SMALL = ["perceptron-odd", "perceptron-even", "dense-2-2-1"]


def _spec(net):
    return [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]


def _errors_and_rewards(net, X, targets, w, cap):
    """Training errors, and per neuron the min-margin reward by TI's definition: the smallest
    distance of z from the other side of the threshold over the rows (|z| less the smallest
    |z| a row on that side can have: F mod 2 firing, 2 - F mod 2 not), at most the largest such
    distance on both sides and 2·(cap // 2)."""
    Z = forward_numpy(net.n_inputs, _spec(net), X, w)
    out = [o - net.n_inputs for o in net.outputs]
    errors = int(((Z[:, out] >= 0) != targets.astype(bool)).sum())
    rewards = []
    for j in net.neurons:
        F, z = net.fan_in(j), Z[:, j - net.n_inputs]
        smallest = np.where(z >= 0, F % 2, 2 - F % 2)
        top = min(F - F % 2, F - 2 + F % 2)
        if cap is not None:
            c = int(np.ceil(np.sqrt(F))) if cap == "sqrt" else cap
            top = min(top, 2 * (c // 2))
        rewards.append(max(0, min(top, int((np.abs(z) - smallest).min()))))
    return errors, np.array(rewards)


def _data(net, n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (n, net.n_inputs)), rng.integers(0, 2, (n, len(net.outputs)))


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("cap", [None, 2, "sqrt"])
def test_min_over_auxiliaries_is_loss_minus_the_min_margin(name, cap):
    """For every weight assignment the BQM's minimum over every auxiliary (the level bits
    enumerated, the rest by ExactSolver) is B·errors - mu·Σ min-margin reward; so are the
    collapsed split and the BQM energy of the consistent state."""
    net = NETWORKS[name]()
    X, t = _data(net, 2, len(name))
    q = TrainingQUBO(net, X, t, margin_cap=cap, margin_kind="min")
    B, mu = 1.5, 0.5
    c = q.coefficients(B=B, mu=mu)
    bqm = q.to_bqm(c)
    levels = [v for v in bqm.variables if str(v).startswith("m")]
    assert levels, "the problem must have level bits"
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        errors, rewards = _errors_and_rewards(net, X, t, w, cap)
        expect = B * errors - mu * rewards.sum()
        fixed = {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)}
        got = min(min_over_free_variables(bqm, {**fixed, **dict(zip(levels, bits))})
                  for bits in itertools.product([0, 1], repeat=len(levels)))
        assert got == pytest.approx(expect), (w, got, expect)
        assert c.combine(q.collapsed_split(w[None]))[0] == pytest.approx(expect)
        state = q.consistent_state(w)
        assert bqm.energy(dict(zip(q.labels, state.tolist()))) == pytest.approx(expect)
        assert q.broken_constraints(state) == []


def test_pyqubo_and_numpy_builders_emit_the_same_min_margin_bqm():
    net = NETWORKS["dense-2-2-1"]()
    X, t = _data(net, 3, 5)
    a = TrainingQUBO(net, X, t, margin_kind="min", builder="numpy").to_bqm(mu=0.25)
    b = TrainingQUBO(net, X, t, margin_kind="min", builder="pyqubo").to_bqm(mu=0.25)
    assert a.num_variables == b.num_variables and any(str(v).startswith("q") for v in a.variables)
    for v in a.variables:
        assert a.get_linear(v) == pytest.approx(b.get_linear(v))
    assert a.num_interactions == b.num_interactions
    for (u, v), bias in a.quadratic.items():
        assert b.get_quadratic(u, v) == pytest.approx(bias)
    assert a.offset == pytest.approx(b.offset)


@pytest.mark.parametrize("layers", [(1,), (2, 1), (2,)])
def test_ladder_ground_state_is_fewest_errors_then_largest_min_margins(layers):
    """With the ladder's mu, the lowest collapsed energy over every weight assignment is the
    lexicographic optimum: fewest errors, then the largest sum of min-margin rewards."""
    from qubo_bnn.network import Network

    net = Network(5 if layers == (1,) else 4)
    for width in layers:
        net = net.dense(width)
    X, t = _data(net, 4, 3)
    q = TrainingQUBO(net, X, t, margin_kind="min")
    c = q.coefficients(B=1.0, mu=lexicographic_margin_weight(q, 1.0))
    W = np.array(list(itertools.product([-1, 1], repeat=net.n_weights)), dtype=np.int8)
    energies = CollapsedModel.from_problem(q, c).energies(W)
    keys = [_errors_and_rewards(net, X, t, w, None) for w in W]
    best = min((e, -r.sum()) for e, r in keys)
    chosen = keys[int(np.argmin(energies))]
    assert (chosen[0], -chosen[1].sum()) == best
    assert max(r.sum() for _, r in keys) > 0, "some network must earn a min margin"


def _gated(n_inputs, *layers):
    from qubo_bnn.network import Network

    net = Network(n_inputs, inputs="binary")
    for width in layers:
        net = net.dense(width)
    return net


KERNEL_NETS = {**NETWORKS, "gated-4-1": lambda: _gated(4, 1), "gated-3-2-1": lambda: _gated(3, 2, 1)}


@pytest.mark.parametrize("name", sorted(KERNEL_NETS))
@pytest.mark.parametrize("kw", [{}, {"margin_cap": "sqrt"}, {"hard_fit": True}, {"min_output_margin": 1}])
def test_kernel_energies_deltas_and_reads_match_the_forward_pass(name, kw):
    """The CPU kernel's energies equal the collapsed split (a numpy forward pass), each flip's
    change equals the difference of two energies, and an anneal reports its reads' energies."""
    net = KERNEL_NETS[name]()
    X, t = _data(net, 9, 7)
    q = TrainingQUBO(net, X, t, margin_kind="min", **kw)
    c = q.coefficients(B=1.5, mu=0.3)
    model = CollapsedModel.from_problem(q, c)
    assert model.levels is not None
    rng = np.random.default_rng(0)
    W = rng.choice(np.array([-1, 1], dtype=np.int8), (12, net.n_weights))
    np.testing.assert_allclose(model.energies(W), c.combine(q.collapsed_split(W)), rtol=0, atol=1e-9)
    for w in W[:4]:
        d = model.flip_deltas(w)
        for e in range(len(w)):
            w2 = w.copy()
            w2[e] = -w2[e]
            assert d[e] == pytest.approx(model.energies(w2[None])[0] - model.energies(w[None])[0], abs=1e-9)
    run = CollapsedSampler().sample_problem(q, c, num_reads=6, num_sweeps=150, seed=4, stop_at_bound=False)
    np.testing.assert_allclose(run.energies, model.energies(run.weights), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["perceptron-odd", "dense-2-2-1", "skip+hidden-hidden", "ternary-2-1-1"])
@pytest.mark.parametrize("kw", [{}, {"hard_fit": True}, {"min_output_margin": 1}])
def test_samplers_that_know_the_problem_reach_the_brute_force_optimum(name, kw):
    from qubo_bnn.cpsat import CPSATSampler

    net = NETWORKS[name]()
    X, t = _data(net, 5, 11)
    q = TrainingQUBO(net, X, t, margin_kind="min", **kw)
    c = q.coefficients(B=1.0, mu=0.25)
    W = np.array(list(itertools.product([-1, 1], repeat=net.n_weights)), dtype=np.int8)
    best = c.combine(q.collapsed_split(W)).min()
    cp = CPSATSampler().sample_problem(q, c, time_limit=20, seed=0)
    assert cp.info["optimal"] and cp.energies[0] == pytest.approx(best)
    assert cp.info["bound"] <= best + 1e-9
    ann = CollapsedSampler().sample_problem(q, c, num_reads=16, num_sweeps=300, seed=2)
    assert ann.energies.min() == pytest.approx(best)
    assert ann.info["lower_bound"] <= best + 1e-9


def test_cqm_optimum_is_the_brute_force_optimum():
    from qubo_bnn.cqm import CQMTrainingSampler

    net = NETWORKS["perceptron-even"]()
    X, t = _data(net, 2, 3)
    q = TrainingQUBO(net, X, t, margin_kind="min")
    c = q.coefficients(B=1.0, mu=0.25)
    cqm = q.to_cqm(c.B, c.mu)
    assert any(str(lb).startswith("and_m") for lb in cqm.constraints)
    W = np.array(list(itertools.product([-1, 1], repeat=net.n_weights)), dtype=np.int8)
    run = CQMTrainingSampler(dimod.ExactCQMSolver()).sample_problem(q, c)
    assert run.energies.min() == pytest.approx(c.combine(q.collapsed_split(W)).min())


def test_estimator_and_run_file_take_margin_kind(tmp_path):
    from qubo_bnn import BNNClassifier
    from qubo_bnn.config import load_config

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (40, 6))
    y = X[:, 0] ^ (X[:, 1] & X[:, 2])
    clf = BNNClassifier(hidden_layer_sizes=(3,), margin_kind="min", random_state=0,
                        sampler_params={"num_reads": 4, "num_sweeps": 100}).fit(X, y)
    assert clf.score(X, y) >= 0.75
    assert clf.fit_info_["energy_split"]["margin"] <= 0
    with pytest.raises(ValueError, match="margin_kind"):
        BNNClassifier(margin_kind="max").fit(X, y)
    path = tmp_path / "run.toml"
    path.write_text('[regularisers]\nmargin_kind = "min"\n')
    assert load_config(path).regularisers.margin_kind == "min"
    path.write_text('[regularisers]\nmargin_kind = "most"\n')
    with pytest.raises(ValueError, match="margin_kind"):
        load_config(path)
    with pytest.raises(ValueError, match="margin_kind"):
        TrainingQUBO(net := NETWORKS["perceptron-odd"](), np.zeros((1, net.n_inputs)), [1], margin_kind="mean")
