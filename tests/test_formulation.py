"""The training QUBO against independent oracles: brute force over weights and auxiliaries."""
import itertools

import dimod
import numpy as np
import pytest

from networks import NETWORKS as ALL_NETWORKS
from networks import skip_net as _skip_net
from oracles import forward_numpy, min_over_free_variables
from qubo_bnn.encoding import encode_slack, slack_coefficients
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network


def _spec(net):
    return [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]


# brute force over every weight assignment: networks with at most 9 weights
NETWORKS = {k: f for k, f in ALL_NETWORKS.items() if k != "dense-3-2-1"}


def _expected(net, X, targets, w, B, mu, cap, margin_ids):
    Z = forward_numpy(net.n_inputs, _spec(net), X, w)
    out_cols = [o - net.n_inputs for o in net.outputs]
    fired = Z[:, out_cols] >= 0
    wrong = (fired != targets.astype(bool)).sum()
    az = np.abs(Z)
    if cap is not None:
        F = np.array([net.fan_in(j) for j in net.neurons])
        c = np.ceil(np.sqrt(F)).astype(int) if cap == "sqrt" else np.full(len(F), cap)
        # |z| has F's parity: the cap rounds down to it, and is at least the smallest nonzero |z|
        m = np.where(F % 2 == 1, c - (c - 1) % 2, np.maximum(c - c % 2, 2))
        az = np.minimum(az, m)
    cols = [j - net.n_inputs for j in margin_ids]
    return B * wrong - mu * az[:, cols].sum()


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("mu,cap,h", [(0.0, None, False), (0.5, None, False), (0.3, 2, True), (0.25, 3, False),
                                      (0.5, "sqrt", False)])
def test_min_over_auxiliaries_equals_loss_minus_margin(name, mu, cap, h):
    """docs/FORMULATION.md's exactness property, for every weight assignment."""
    net = NETWORKS[name]()
    rng = np.random.default_rng(len(name) + int(10 * mu))
    X = rng.integers(0, 2, (3, net.n_inputs))
    targets = rng.integers(0, 2, (3, len(net.outputs)))
    hv = rng.normal(size=net.n_weights) if h else None
    q = TrainingQUBO(net, X, targets, margin_cap=cap)
    B = 1.5
    bqm = q.to_bqm(B=B, mu=mu, h=hv)
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        expect = _expected(net, X, targets, w, B, mu, cap, net.neurons)
        if hv is not None:
            expect += hv @ w
        got = min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)})
        assert got == pytest.approx(expect), (w, got, expect)


def test_hidden_only_margin_and_explicit_penalty():
    net = _skip_net()
    rng = np.random.default_rng(3)
    X, t = rng.integers(0, 2, (2, 3)), rng.integers(0, 2, (2, 1))
    q = TrainingQUBO(net, X, t, margin_neurons="hidden")
    bqm = q.to_bqm(A=q.default_penalty(1.0, 0.7), B=1.0, mu=0.7)
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        w = np.array(w)
        got = min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)})
        assert got == pytest.approx(_expected(net, X, t, w, 1.0, 0.7, None, net.hidden))


@pytest.mark.parametrize("seed", range(6))
def test_forward_pass_state_energy_on_larger_networks(seed):
    rng = np.random.default_rng(seed)
    net = Network(12).dense(5).dense(4, bias=False)
    net.add_neuron(net.neurons[:3] + [0, 7], bias=True)  # skip connections into an extra output
    X = rng.integers(0, 2, (40, 12))
    targets = rng.integers(0, 2, (40, len(net.outputs)))
    cap = [None, 3, "sqrt"][seed % 3]       # fan-ins 5, 13, 9: sqrt caps 3, 4, 3
    q = TrainingQUBO(net, X, targets, margin_cap=cap)
    bqm = q.to_bqm(B=2.0, mu=0.1)
    for _ in range(5):
        w = rng.choice([-1, 1], net.n_weights)
        state = q.consistent_state(w)
        energy = bqm.energy(dict(zip(q.labels, state)))
        assert energy == pytest.approx(_expected(net, X, targets, w, 2.0, 0.1, cap, net.neurons))
        assert q.broken_constraints(state) == []
        split = q.energy_split(state)
        assert split["penalty"][0] == 0


def test_pyqubo_and_numpy_builders_emit_the_same_bqm():
    net = _skip_net()
    rng = np.random.default_rng(0)
    X, t = rng.integers(0, 2, (4, 3)), rng.integers(0, 2, (4, 1))
    h = rng.normal(size=net.n_weights)
    for kw in ({}, {"margin_cap": 2}, {"hard_fit": True}, {"min_output_margin": 1, "margin_neurons": "output"}):
        a = TrainingQUBO(net, X, t, builder="numpy", **kw).to_bqm(A=3.0, B=1.0, mu=0.4, h=h)
        b = TrainingQUBO(net, X, t, builder="pyqubo", **kw).to_bqm(A=3.0, B=1.0, mu=0.4, h=h)
        dimod.testing.assert_bqm_almost_equal(a, b, places=9)


def test_hard_fit_ground_state_is_a_perfect_fit():
    net = Network(3).dense(1)
    X = np.array([[0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]])
    w_true = np.array([1, 1, -1, 1])
    t = (net.predict_outputs(X, w_true) > 0).astype(int)
    q = TrainingQUBO(net, X, t, hard_fit=True)
    best = dimod.ExactSolver().sample(q.to_bqm()).first
    assert best.energy == 0
    w = q.weights_from(dimod.SampleSet.from_samples(best.sample, dimod.BINARY, best.energy))[0]
    assert ((net.predict_outputs(X, w) > 0) == t).all()


def test_hard_output_margin_is_enforced():
    net = Network(4).dense(1)  # F = 5
    X = np.random.default_rng(1).integers(0, 2, (3, 4))
    t = np.array([1, 0, 1])
    q = TrainingQUBO(net, X, t, min_output_margin=3)
    bqm = q.to_bqm()
    for w in itertools.product([-1, 1], repeat=5):
        w = np.array(w)
        z = forward_numpy(4, [(list(range(4)), True)], X, w)[:, 0]
        got = min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(5)})
        feasible = (np.abs(z) >= 3).all()
        wrong = ((z >= 0) != t.astype(bool)).sum()
        if feasible:
            assert got == pytest.approx(wrong)
        else:
            assert got >= q.default_penalty() - 1e-9 + 0  # at least one violation, worth >= A


@pytest.mark.parametrize("R", range(0, 40))
def test_slack_encoding_reaches_exactly_0_to_R(R):
    c = slack_coefficients(R)
    reachable = {int(np.dot(bits, c)) for bits in itertools.product([0, 1], repeat=len(c))}
    assert reachable == set(range(R + 1))
    assert len(c) == (R.bit_length())
    values = np.arange(R + 1)
    assert (encode_slack(values, c) @ c == values).all()


def test_bad_inputs_are_rejected():
    net = Network(2).dense(1)
    X = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="targets must have shape"):
        TrainingQUBO(net, X, [1, 0, 1])
    with pytest.raises(ValueError, match="bits"):
        TrainingQUBO(net, X, [2, 0])
    with pytest.raises(ValueError, match="binary"):
        TrainingQUBO(net, [[0, 2], [1, 0]], [1, 0])
    with pytest.raises(ValueError, match="margin_neurons"):
        TrainingQUBO(net, X, [1, 0], margin_neurons="some")
    with pytest.raises(ValueError, match="hard margin"):
        TrainingQUBO(net, X, [1, 0], min_output_margin=5)
    with pytest.raises(ValueError, match="h must be"):
        TrainingQUBO(net, X, [1, 0]).to_bqm(h=[1.0])
    with pytest.raises(TypeError, match="Network"):
        TrainingQUBO("net", X, [1, 0])


def test_weight_energies_are_the_minimum_over_the_auxiliaries():
    net = _skip_net()
    rng = np.random.default_rng(5)
    X, t = rng.integers(0, 2, (4, 3)), rng.integers(0, 2, (4, 1))
    q = TrainingQUBO(net, X, t)
    bqm = q.to_bqm(B=1.0, mu=0.3)
    W = rng.choice([-1, 1], (6, net.n_weights))
    expect = [min_over_free_variables(bqm, {f"w{e}": int(w[e] > 0) for e in range(net.n_weights)}) for w in W]
    assert q.weight_energies(W, B=1.0, mu=0.3) == pytest.approx(expect)


@pytest.mark.parametrize("kw", [{}, {"margin_cap": 2}, {"hard_fit": True}])
def test_merged_rows_keep_every_minimum_over_the_auxiliaries(kw):
    """Duplicate rows merged into one weighted block: same min over auxiliaries for all weights."""
    net = Network(2).dense(2).dense(1)
    rng = np.random.default_rng(8)
    X = rng.integers(0, 2, (9, 2))                       # 9 samples over at most 4 distinct rows
    t = (X[:, :1] ^ X[:, 1:]) if kw.get("hard_fit") else rng.integers(0, 2, (9, 1))
    merged = TrainingQUBO(net, X, t, **kw)
    plain = TrainingQUBO(net, X, t, merge_duplicates=False, **kw)
    assert merged.n_rows == len(np.unique(X, axis=0)) < plain.n_rows == 9
    assert merged.row_counts.sum() == 9 and merged.positive_counts.sum() == t.sum()
    assert merged.n_variables < plain.n_variables
    bm, bp = merged.to_bqm(mu=0.5), plain.to_bqm(mu=0.5)
    for w in rng.choice([-1, 1], (24, net.n_weights)):
        fixed = {f"w{e}": int(v > 0) for e, v in enumerate(w)}
        got = min_over_free_variables(bm, fixed)
        assert got == pytest.approx(min_over_free_variables(bp, fixed))
        if not kw.get("hard_fit"):   # hard fit: infeasible weights pay penalties instead
            assert got == pytest.approx(_expected(net, X, t, w, 1.0, 0.5, kw.get("margin_cap"), net.neurons))


@pytest.mark.parametrize("kw", [{}, {"hard_fit": True}, {"merge_duplicates": False}, {"margin_cap": "sqrt"}])
def test_resample_is_the_problem_of_the_resampled_samples(kw):
    """A bootstrap resample built from the problem's rows equals the problem built from scratch on
    the resampled samples: rows, order, counts, cost tables, BQM."""
    net = Network(3).dense(2).dense(2)
    rng = np.random.default_rng(4)
    X = rng.integers(0, 2, (14, 3))                      # at most 8 distinct rows
    t = np.stack([X[:, 0] ^ X[:, 1], X[:, 2]], axis=1) if kw.get("hard_fit") else rng.integers(0, 2, (14, 2))
    whole = TrainingQUBO(net, X, t, **kw)
    for _ in range(4):
        samples = rng.integers(0, 14, 14)
        got, want = whole.resample(samples), TrainingQUBO(net, X[samples], t[samples], **kw)
        for name in ("X", "row_counts", "positive_counts", "targets", "row_of_sample"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
        assert (got.n_samples, got.n_rows, got.n_variables) == (want.n_samples, want.n_rows, want.n_variables)
        (gt, gw), (wt, ww) = got.cost_tables(), want.cost_tables()
        np.testing.assert_array_equal(gw, ww)
        assert all(np.array_equal(gt[k], wt[k]) for k in wt)
        assert got.to_bqm(mu=0.25) == want.to_bqm(mu=0.25)
    with pytest.raises(ValueError, match="sample indices"):
        whole.resample([0, 14])


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("kw", [{}, {"margin_cap": 2}, {"hard_fit": True}, {"min_output_margin": 1},
                                {"margin_kind": "min"}, {"margin_kind": "min", "hard_fit": True}])
def test_size_estimate_bounds_the_built_qubo(name, kw):
    from qubo_bnn.sizing import estimate_size

    net = NETWORKS[name]()
    rng = np.random.default_rng(1)
    X, t = rng.integers(0, 2, (12, net.n_inputs)), rng.integers(0, 2, (12, len(net.outputs)))
    q = TrainingQUBO(net, X, t, **kw)
    bqm = q.to_bqm(mu=0.5)
    variables, couplings, _ = estimate_size(net, q.n_rows, q.hard_fit, q.margin_cap, q.margin_kind)
    assert (variables, couplings) == q.size_estimate()[:2]
    assert bqm.num_variables <= variables <= 3 * bqm.num_variables   # tiny nets: loose but safe
    assert bqm.num_interactions <= couplings


def test_oversized_bqm_is_refused_before_building_and_the_estimate_bounds_the_build():
    import tracemalloc

    from qubo_bnn.sizing import QUBOTooLargeError, estimate_size

    net = Network(16).dense(4).dense(1)
    rng = np.random.default_rng(0)
    X, t = rng.integers(0, 2, (300, 16)), rng.integers(0, 2, 300)
    need = estimate_size(net, len(np.unique(X, axis=0)))[2]
    small = TrainingQUBO(net, X, t, max_bytes=need - 1)            # constructing builds nothing
    tracemalloc.start()
    with pytest.raises(QUBOTooLargeError, match=r"would have about .* variables .* fewer training samples"):
        small.to_bqm()
    with pytest.raises(QUBOTooLargeError):
        small.energy_split(np.zeros((1, small.n_variables), dtype=np.int8))
    refused_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused_peak < need / 20                               # refused before anything large
    q = TrainingQUBO(net, X, t, max_bytes=need)
    q.polynomials                                                  # the terms (small) before measuring
    tracemalloc.start()
    q.to_bqm()                                                     # just fits: builds
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= need


def test_size_estimate_prices_the_raw_terms_of_the_build():
    """The numpy build's peak grows with the squared residuals' raw terms, rows x fan-in^2."""
    from qubo_bnn.sizing import BYTES_PER_RAW_TERM, estimate_size

    net = Network(40).dense(2).dense(1)
    rng = np.random.default_rng(3)
    q = TrainingQUBO(net, rng.integers(0, 2, (30, 40)), rng.integers(0, 2, 30))
    raw = sum(len(p.raw_terms()[0]) + len(p.raw_terms()[2]) for p in q.polynomials.values())
    est = estimate_size(net, q.n_rows)
    assert raw * BYTES_PER_RAW_TERM <= est.bytes <= 3 * raw * BYTES_PER_RAW_TERM
    bqm = q.to_bqm()
    assert est.couplings == bqm.num_interactions and est.variables == bqm.num_variables   # dense, no caps


@pytest.mark.parametrize("hidden,kw", [((), {}), ((3,), {}), ((3, 4), {"hard_fit": True}), ((2,), {"margin_cap": 2})])
def test_dense_estimate_from_widths_equals_the_network_estimate(hidden, kw):
    from qubo_bnn.sizing import dense_network_bytes, estimate_dense_size, estimate_size

    net = Network(5)
    for w in (*hidden, 2):
        net.dense(w)
    assert estimate_dense_size(5, hidden, 2, 9, **kw) == estimate_size(net, 9, **kw)
    assert dense_network_bytes(5, hidden, 2) >= net.n_weights * 16
    with pytest.raises(ValueError, match="positive integers"):
        estimate_dense_size(5, (0,), 2, 9)


def test_problem_is_lazy_until_a_bqm_is_asked_for():
    net = Network(3).dense(2).dense(1)
    q = TrainingQUBO(net, np.array([[0, 1, 1], [1, 0, 1]]), np.array([1, 0]), builder="pyqubo")
    assert "_terms" not in vars(q) and "labels" not in vars(q) and q._model is None
    q.output_errors(np.ones(net.n_weights, dtype=np.int8))
    q.settled_costs()
    assert "_terms" not in vars(q) and "labels" not in vars(q) and q._model is None
    q.to_bqm()
    assert "_terms" in vars(q) and q._model is not None
    with pytest.raises(ValueError, match="max_bytes"):
        TrainingQUBO(net, np.array([[0, 1, 1]]), np.array([1]), max_bytes=-1)


@pytest.mark.parametrize("kw", [{}, {"hard_fit": True}, {"min_output_margin": 1, "margin_cap": 2},
                                {"margin_kind": "min"}, {"margin_kind": "min", "hard_fit": True},
                                {"margin_kind": "min", "min_output_margin": 1}])
def test_collapsed_split_and_broken_constraints_match_the_bqm_of_the_consistent_state(kw):
    net = _skip_net()
    rng = np.random.default_rng(11)
    X = rng.integers(0, 2, (7, 3))
    t = (X[:, :1] ^ X[:, 1:2]) if kw.get("hard_fit") else rng.integers(0, 2, (7, 1))
    q = TrainingQUBO(net, X, t, **kw)
    h = rng.normal(size=net.n_weights)
    c = q.coefficients(B=1.5, mu=0.25, h=h)
    bqm = q.to_bqm(c)
    W = rng.choice([-1, 1], (16, net.n_weights))
    states = q.consistent_state(W)
    split, oracle = q.collapsed_split(W, h), q.energy_split(states, h)
    for name in oracle:
        assert split[name] == pytest.approx(oracle[name])
    assert c.combine(split) == pytest.approx(bqm.energies((states, q.labels)))
    for w, s in zip(W, states):
        assert q.consistent_broken_constraints(w) == q.broken_constraints(s)
    if kw.get("hard_fit") or kw.get("min_output_margin"):      # hard constraints: some weights break them
        assert any(q.consistent_broken_constraints(w) for w in W)


def test_coefficients_resolve_the_default_penalty_once_and_check_h():
    from qubo_bnn.objective import Coefficients

    q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
    c = q.coefficients(B=2.0, mu=0.5)
    assert c.A == q.default_penalty(2.0, 0.5) and c.h.tolist() == [0.0, 0.0, 0.0]
    assert q.coefficients(c) is c
    assert q.to_bqm(c) == q.to_bqm(B=2.0, mu=0.5)
    with pytest.raises(ValueError, match="h must be"):
        q.coefficients(Coefficients(1.0, h=np.zeros(2)))
    with pytest.raises(ValueError, match="A must be a finite number"):
        q.coefficients(A=float("nan"))
    with pytest.raises(ValueError, match="read-only"):
        c.h[0] = 1.0


def test_wide_neurons_consistent_figures_match_the_bqm():
    """Fan-in 301 (thresholds above int8): the forward-pass figures against the BQM's."""
    net = Network(300).dense(1)
    rng = np.random.default_rng(4)
    X, t = rng.integers(0, 2, (3, 300)), np.array([1, 0, 1])
    q = TrainingQUBO(net, X, t, hard_fit=True)
    W = rng.choice([-1, 1], (2, net.n_weights))
    states = q.consistent_state(W)
    for w, s in zip(W, states):
        assert q.consistent_broken_constraints(w) == q.broken_constraints(s)
    assert q.collapsed_split(W)["penalty"] == pytest.approx(q.energy_split(states)["penalty"])


@pytest.mark.parametrize("build", [lambda: Network(2).dense(1, ternary=True),
                                   lambda: Network(2).dense(1, ternary=True).dense(1)])
def test_ternary_weights_ground_state_is_the_best_ternary_network(build):
    """Two ±1 edges per source: for every assignment, the BQM's minimum over the auxiliaries is
    B·(errors) − mu·Σ|2·Σt·a + b| of the ternary network the pairs spell (t = pair half-sum),
    computed by a plain numpy ternary forward pass; so the ground state is the best ternary net."""
    from test_network import _ternary_oracle

    net = build()
    rng = np.random.default_rng(11)
    X = rng.integers(0, 2, (4, 2))
    t = rng.integers(0, 2, (4, 1))
    q = TrainingQUBO(net, X, t)
    bqm = q.to_bqm(B=1.0, mu=0.25)
    S = 2 * X - 1
    for w in itertools.product([-1, 1], repeat=net.n_weights):
        values = net.ternary_values(np.array(w))
        fired = _ternary_oracle(net, X, values) > 0
        errors = int((fired != t.astype(bool)).sum())
        act, margin = {i: S[:, i] for i in range(net.n_inputs)}, 0
        for j in net.neurons:                                   # |edge sum| = |2 Σ t·a + b|
            tj, b = values[j]
            k = 2 if net.is_ternary(j) else 1
            z = k * sum(int(tv) * act[s] for tv, s in zip(tj, net.sources(j))) + (b or 0)
            act[j] = np.where(z >= 0, 1, -1)
            margin += int(np.abs(z).sum())
        expect = errors - 0.25 * margin
        got = min_over_free_variables(bqm, {f"w{e}": int(v > 0) for e, v in enumerate(w)})
        assert got == pytest.approx(expect), (w, got, expect)
    # every ternary network is spelt by some pair assignment
    first = net.neurons[0]
    spelt = {(tuple(net.ternary_values(np.array(w))[first][0]), net.ternary_values(np.array(w))[first][1])
             for w in itertools.product([-1, 1], repeat=net.n_weights)}
    assert len(spelt) == 3 ** 2 * 2
