"""0/1 input gates (``Network(..., inputs="binary")``): an input that is off contributes 0.

Every claim is checked against a plain per-sample forward pass written here (inputs enter as
0/1), by brute force over every weight assignment: the BQM's minimum over the auxiliaries, the
collapsed annealer's energies and flip deltas, CP-SAT's optimum and the CUDA kernel (simulator).
"""
import itertools

import numpy as np
import pytest

from oracles import min_over_free_variables
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network


def gated_forward(net, X01, w):
    """Pre-activations ``(n_samples, n_neurons)``: inputs read as 0/1, neurons as ±1, weights in
    edge order (each source once, twice for a ternary neuron; bias last)."""
    Z = np.zeros((len(X01), net.n_neurons), dtype=int)
    for n, x in enumerate(X01):
        act = [int(v) for v in x]
        e = 0
        for k, j in enumerate(net.neurons):
            z = 0
            for s in net.sources(j):
                for _ in range(2 if net.is_ternary(j) else 1):
                    z += int(w[e]) * act[s]
                    e += 1
            if net.has_bias(j):
                z += int(w[e])
                e += 1
            Z[n, k] = z
            act.append(1 if z >= 0 else -1)
    return Z


def _cap(net, j, cap):
    """The reward cap of neuron j; a neuron reading 0/1 inputs has no parity rounding."""
    F = net.fan_in(j)
    c = None if cap is None else (int(np.ceil(np.sqrt(F))) if cap == "sqrt" else cap)
    if c is None or any(s < net.n_inputs for s in net.sources(j)):
        return c
    return c - (c - 1) % 2 if F % 2 == 1 else max(c - c % 2, 2)


def expected_energy(net, X, targets, w, B, mu, cap):
    Z = gated_forward(net, X, w)
    fired = Z[:, [o - net.n_inputs for o in net.outputs]] >= 0
    wrong = int((fired != targets.astype(bool)).sum())
    reward = 0
    for k, j in enumerate(net.neurons):
        c = _cap(net, j, cap)
        reward += int(np.abs(Z[:, k]).sum() if c is None else np.minimum(np.abs(Z[:, k]), c).sum())
    return B * wrong - mu * reward, wrong


NETS = {
    "perceptron-3": lambda: Network(3, inputs="binary").dense(1),
    "2-2-1": lambda: Network(2, inputs="binary").dense(2).dense(1, bias=False),
    "skip": lambda: _skip(),
    "ternary-2-1": lambda: Network(2, inputs="binary").dense(1, ternary=True),
    "no-bias-2-1-1": lambda: Network(2, inputs="binary").dense(1, bias=False).dense(1),
}


def _skip():
    net = Network(2, inputs="binary")
    h = net.add_neuron([0, 1])
    net.add_neuron([h, 1], bias=False)
    return net


def _problem(name, seed=0, n=3):
    net = NETS[name]()
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, net.n_inputs))
    X[0] = 0                                        # a row with every input off
    targets = rng.integers(0, 2, (n, len(net.outputs)))
    return net, X, targets


def test_network_reads_off_inputs_as_zero():
    net = Network(3, inputs="binary").dense(1)
    Z, A = net.forward(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]]), np.array([-1, 1, 1, -1]))
    assert Z[:, 0].tolist() == [-1, -2, -1] and A[:, 0].tolist() == [-1, -1, -1]
    assert Network.from_dict(net.to_dict()) == net and net.to_dict()["inputs"] == "binary"
    assert "inputs" not in Network(3).dense(1).to_dict()          # spin specs are unchanged
    with pytest.raises(ValueError, match="inputs must be one of"):
        Network(3, inputs="gates")


@pytest.mark.parametrize("name,mu,cap", [(name, mu, cap) for name in sorted(NETS)
                                         for mu, cap in [(0.0, None), (0.3, None), (0.25, 2), (0.5, "sqrt")]
                                         if NETS[name]().n_weights <= 5 or mu != 0.3])
def test_min_over_auxiliaries_is_the_gated_networks_loss_minus_margin(name, mu, cap):
    net, X, targets = _problem(name, seed=len(name))
    q = TrainingQUBO(net, X, targets, margin_cap=cap)
    B = 1.5
    bqm = q.to_bqm(B=B, mu=mu)
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        expect, wrong = expected_energy(net, X, targets, w, B, mu, cap)
        got = min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)})
        assert got == pytest.approx(expect), (w, got, expect)
        assert q.output_errors(w) == wrong
        assert q.weight_energies(w[None], B=B, mu=mu)[0] == pytest.approx(expect)


def test_hard_output_margin_on_gated_outputs():
    net, X, targets = _problem("perceptron-3", seed=3, n=5)
    q = TrainingQUBO(net, X, targets, min_output_margin=1)
    bqm = q.to_bqm(B=1.0)
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        z = gated_forward(net, X, w)[:, 0]
        got = min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)})
        if (z == 0).any():          # |z| >= 1 cannot hold: a broken constraint costs at least A
            assert got >= q.default_penalty() - 1e-9
        else:
            expect, _ = expected_energy(net, X, targets, w, 1.0, 0.0, None)
            assert got == pytest.approx(expect)


# ------------------------------------------------------------------ the collapsed annealer
def _wide_problem(seed=0, n=150):
    """6 gated inputs, a hidden layer (one ternary neuron), a skip edge: > 64 distinct rows."""
    net = Network(7, inputs="binary")
    h = [net.add_neuron(range(7)), net.add_neuron([0, 2, 4, 6], ternary=True), net.add_neuron([1, 3, 5], bias=False)]
    net.add_neuron(h + [6])
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 7)) < 0.35).astype(np.int8)
    y = ((X[:, :3].sum(1) + X[:, 5]) >= 2).astype(np.int8)
    return net, X, y


@pytest.mark.parametrize("mu,cap", [(0.0, None), (0.25, 2), (0.5, None)])
def test_collapsed_energies_and_flip_deltas_match_the_gated_forward_pass(mu, cap):
    from qubo_bnn.collapsed import CollapsedModel

    net, X, y = _wide_problem(seed=int(4 * mu))
    q = TrainingQUBO(net, X, y, margin_cap=cap)
    model = CollapsedModel.from_problem(q, None, 1.0, mu)
    assert q.n_rows > 64 and set(np.unique(model.X)) == {0, 1} and model.unit.tolist() == [2, 2, 2, 2]
    rng = np.random.default_rng(1)
    W = rng.choice(np.array([-1, 1], dtype=np.int8), (6, net.n_weights))
    expect = [expected_energy(net, X, y[:, None], w, 1.0, mu, cap)[0] for w in W]
    np.testing.assert_allclose(model.energies(W), expect, rtol=0, atol=1e-9)
    for w in W[:3]:
        flipped = np.repeat(w[None], net.n_weights, axis=0)
        flipped[np.arange(net.n_weights), np.arange(net.n_weights)] *= -1
        want = model.energies(flipped) - model.energies(w[None])[0]
        np.testing.assert_allclose(model.flip_deltas(w), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("classes", [True, False])
def test_collapsed_annealing_keeps_its_state_consistent_on_gated_inputs(classes):
    """After a warm chain (many accepted flips), every read's reported energy is the energy of
    its weights by a fresh forward pass; both walk modes give the same chain (dyadic costs)."""
    from qubo_bnn import _collapsed_cpu as kernel
    from qubo_bnn.collapsed import CollapsedModel
    from qubo_bnn_solvers._ising import beta_schedule

    net, X, y = _wide_problem(seed=3)
    q = TrainingQUBO(net, X, y, margin_cap=2)
    model = CollapsedModel.from_problem(q, None, 1.0, 0.25)
    W0 = np.random.default_rng(2).choice(np.array([-1, 1], dtype=np.int8), (4, net.n_weights))
    betas = beta_schedule((0.2, 4.0), 40, "geometric")
    out = {}
    for mode in (True, False):
        W, e = W0.copy(), np.empty(4)
        kernel.anneal(W, *model.kernel_args, betas, 11, 0, e, classes=mode)
        np.testing.assert_allclose(e, model.energies(W), rtol=0, atol=1e-9)
        out[mode] = (W, e)
    np.testing.assert_array_equal(out[True][0], out[False][0])
    np.testing.assert_array_equal(out[True][1], out[False][1])


def test_collapsed_sampler_reaches_the_brute_force_optimum_on_gated_inputs():
    from qubo_bnn.collapsed import CollapsedSampler

    net, X, targets = _problem("2-2-1", seed=5, n=6)
    q = TrainingQUBO(net, X, targets, margin_cap=2)
    best = min(expected_energy(net, X, targets, np.array(w), 1.0, 0.25, 2)[0]
               for w in itertools.product([-1, 1], repeat=net.n_weights))
    ss = CollapsedSampler().sample_problem(q, q.coefficients(B=1.0, mu=0.25), num_reads=8, num_sweeps=300, seed=0)
    assert ss.energies.min() == pytest.approx(best)


# ------------------------------------------------------------------ exact solvers
@pytest.mark.parametrize("name,mu,cap", [("2-2-1", 0.25, 2), ("skip", 0.0, None), ("ternary-2-1", 0.5, "sqrt")])
def test_cpsat_optimum_is_the_brute_force_optimum_on_gated_inputs(name, mu, cap):
    pytest.importorskip("ortools")
    from qubo_bnn.cpsat import CPSATSampler

    net, X, targets = _problem(name, seed=7, n=5)
    q = TrainingQUBO(net, X, targets, margin_cap=cap)
    best = min(expected_energy(net, X, targets, np.array(w), 1.0, mu, cap)[0]
               for w in itertools.product([-1, 1], repeat=net.n_weights))
    ss = CPSATSampler().sample_problem(q, q.coefficients(B=1.0, mu=mu), time_limit=20, seed=0)
    assert ss.info["optimal"] and ss.energies.min() == pytest.approx(best)
    ss = CPSATSampler().sample(q.to_bqm(B=1.0, mu=mu), time_limit=20, seed=0)
    assert ss.first.energy == pytest.approx(best)


def test_cqm_of_gated_inputs_is_feasible_exactly_at_consistent_states():
    dimod = pytest.importorskip("dimod")
    from qubo_bnn.cqm import training_cqm

    net, X, targets = _problem("2-2-1", seed=2, n=3)
    q = TrainingQUBO(net, X, targets, margin_cap=2)
    cqm = training_cqm(q, B=1.0, mu=0.25)
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        state = dict(zip(q.labels, q.consistent_state(w).tolist()))
        assert cqm.check_feasible(state)
        expect, _ = expected_energy(net, X, targets, w, 1.0, 0.25, 2)
        assert cqm.objective.energy(state) == pytest.approx(expect)
    assert isinstance(cqm, dimod.ConstrainedQuadraticModel)


@pytest.mark.parametrize("cap", [None, "sqrt"])
def test_size_estimate_bounds_the_gated_qubo(cap):
    from qubo_bnn.sizing import estimate_size

    net, X, y = _wide_problem(seed=1, n=40)
    q = TrainingQUBO(net, X, y, margin_cap=cap)
    bqm = q.to_bqm(mu=0.5)
    variables, couplings, _ = estimate_size(net, q.n_rows, q.hard_fit, q.margin_cap)
    assert bqm.num_variables <= variables and bqm.num_interactions <= couplings


def test_estimator_trains_and_predicts_with_gated_inputs(tmp_path):
    """The public estimator: inputs='binary' builds a gated net; predictions are its forward
    pass's, and survive save/load."""
    from qubo_bnn import BNNClassifier
    from qubo_bnn.baselines import STEClassifier

    net, X, y = _wide_problem(seed=4, n=120)
    clf = BNNClassifier(hidden_layer_sizes=(3,), inputs="binary", random_state=0,
                        sampler_params={"num_reads": 4, "num_sweeps": 100}).fit(X, y)
    assert clf.network_.inputs == "binary"
    Z = gated_forward(clf.network_, X, clf.members_[0])[:, -1]   # the oracle, member by member
    signs = sum(np.where(gated_forward(clf.network_, X, m)[:, -1] >= 0, 1, -1) for m in clf.members_)
    sums = sum(gated_forward(clf.network_, X, m)[:, -1] for m in clf.members_)
    fires = (signs > 0) | ((signs == 0) & (sums >= 0))            # the vote, ties by the summed z
    np.testing.assert_array_equal(clf.predict(X) == 1, fires)
    assert len(Z) == len(X)
    clf.save(tmp_path / "m.json")
    again = BNNClassifier.load(tmp_path / "m.json")
    assert again.network_.inputs == "binary"
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    ste = STEClassifier(hidden_layer_sizes=(3,), inputs="binary", epochs=20, random_state=0).fit(X, y)
    assert ste.network_.inputs == "binary"
    with pytest.raises(ValueError, match="inputs="):
        BNNClassifier(network=Network(7).dense(1), inputs="binary").fit(X, y)


@pytest.mark.parametrize("cap", [None, "sqrt"])
@pytest.mark.parametrize("name", ["2-2-1", "perceptron-3"])
def test_ladder_orders_gated_networks_by_errors_then_margin(name, cap):
    """The lexicographic margin weight on a gated net: the energy orders every pair of weight
    assignments as (training errors, -Σ capped |z| of every neuron) by the 0/1 forward pass."""
    from qubo_bnn.ladder import lexicographic_margin_weight

    net = NETS[name]()
    rng = np.random.default_rng(8)
    X = rng.integers(0, 2, (6, net.n_inputs))
    t = rng.integers(0, 2, (6, 1))
    q = TrainingQUBO(net, X, t, margin_cap=cap)
    mu = lexicographic_margin_weight(q, 1.0)
    W = np.array(list(itertools.product((-1, 1), repeat=net.n_weights)))
    energy = q.weight_energies(W, B=1.0, mu=mu)
    # expected_energy with B = mu = 1 is errors - reward: the key is (errors, -reward)
    key = [(wrong, round(e - wrong)) for e, wrong in (expected_energy(net, X, t, w, 1.0, 1.0, cap) for w in W)]
    order = sorted(range(len(W)), key=lambda i: key[i])
    for a, b in zip(order[:-1], order[1:]):
        assert energy[a] < energy[b] if key[a] < key[b] else energy[a] == pytest.approx(energy[b])
