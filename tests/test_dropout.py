"""Tests of the dropout-inspired linear penalties (qubo_bnn/dropout.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from qubo_bnn.classifier import BNNClassifier
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.dropout import draw_keep, dropout_penalties, subnetwork, update_penalties
from qubo_bnn.network import BIAS, Network


class RecordingEstimator:
    """Fake training step: returns weights from ``fn(round, subnet)`` and records its calls (with
    the estimator-style ``margin_neurons`` choice mapped onto the subnetwork)."""

    def __init__(self, fn, fail_on: int | None = None, margin_neurons="all"):
        self.fn, self.fail_on, self.calls = fn, fail_on, []
        self.margin_neurons = margin_neurons

    def __call__(self, sub, params, h):
        r = len(self.calls)
        if self.fail_on is not None and r == self.fail_on:
            raise KeyboardInterrupt
        self.calls.append({"net": sub.network, "params": dict(params), "h": None if h is None else np.array(h),
                           "margin_neurons": sub.map_neurons(self.margin_neurons)})
        return np.asarray(self.fn(r, sub.network), dtype=np.int8), {"train_output_errors": r}


def _skip_net() -> Network:
    """Inputs 0..3; hidden 4, 5 (dense, bias); 6 reads 4, 5 without bias; output 7 reads 5, 6, input 0."""
    net = Network(4)
    net.dense(2)
    net.add_neuron([4, 5], bias=False)
    net.add_neuron([5, 6, 0])
    return net


def _independent_kept_edges(net: Network, live: set[int]) -> set[tuple[int, int]]:
    return {(int(s), int(j)) for s, j in net.edges
            if j in live and (s == BIAS or s < net.n_inputs or s in live)}


@pytest.mark.parametrize("builder", [lambda: Network(5).dense(4).dense(3).dense(2), _skip_net])
def test_edge_map_matches_independent_rule(builder):
    net = builder()
    rng = np.random.default_rng(3)
    for _ in range(30):
        keep = rng.random(len(net.hidden)) < 0.5
        sub = subnetwork(net, keep)
        live = set(sub.kept)
        inverse = {v: k for k, v in sub.node_map.items()}
        # every live neuron is an output, a kept hidden neuron or a repaired one
        kept_hidden = {j for j, k in zip(net.hidden, keep) if k}
        assert live <= set(net.outputs) | kept_hidden | set(sub.repaired)
        assert set(net.outputs) <= live
        mapped = {(BIAS if s == BIAS else inverse[int(s)], inverse[int(j)]) for s, j in sub.network.edges}
        assert mapped == _independent_kept_edges(net, live)
        # the index map points at exactly those full edges, in the reduced network's edge order
        full = [tuple(int(v) for v in net.edges[e]) for e in sub.edge_index]
        assert full == [(BIAS if s == BIAS else inverse[int(s)], inverse[int(j)]) for s, j in sub.network.edges]
        assert all(sub.network.fan_in(j) >= 1 for j in sub.network.neurons)


def test_subnetwork_forward_equals_full_net_with_dropped_contributions_removed():
    # Dense 6-5-1 with biases: a dropped hidden neuron contributes nothing to the output; in the full
    # net that is the same as a zero weight, which a ±1 net cannot express, so compare real sums.
    net = Network(6).dense(5).dense(1)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (40, 6))
    w = rng.choice([-1, 1], net.n_weights).astype(np.int8)
    keep = np.array([True, False, True, False, True])
    sub = subnetwork(net, keep)
    Zs, _ = sub.network.forward(X, w[sub.edge_index])
    Zf, Af = net.forward(X, w)
    # hidden pre-activations unchanged for kept neurons
    np.testing.assert_array_equal(Zs[:, :3], Zf[:, [0, 2, 4]])
    # output = bias + sum over kept hidden neurons only
    out_w = w[net.edge_slices()[11]]
    expected = Af[:, [0, 2, 4]] @ out_w[[0, 2, 4]] + out_w[-1]
    np.testing.assert_array_equal(Zs[:, 3], expected)


def test_dead_neurons_are_pruned_and_zero_fan_in_is_repaired():
    deep = Network(3).dense(2).dense(2).dense(1)        # hidden 3, 4 | 5, 6; output 7
    sub = subnetwork(deep, np.array([True, True, False, False]))
    assert sub.kept == (7,)                              # layer 1 cannot reach the output
    assert sub.network.n_weights == 1                    # the output keeps its bias only

    net = _skip_net()                                    # 6 has no bias and reads only 4 and 5
    sub = subnetwork(net, np.array([False, False, True]))  # keep 6, drop 4 and 5
    assert sub.repaired == (4,)
    assert sub.kept == (4, 6, 7)
    sub.network.validate()


def test_masks_reproducible_and_seed_dependent():
    net = Network(4).dense(6).dense(1)
    a = [draw_keep(net, np.random.default_rng(5), 0.5).tolist() for _ in range(2)]
    assert a[0] == a[1]
    est = RecordingEstimator(lambda r, n: np.ones(n.n_weights))
    masks = lambda s: [r["kept_hidden"] for r in dropout_penalties(  # noqa: E731
        est, net, None, {}, None, rounds=6, rate=0.5, strength=1.0, seed=s)[1]["rounds"]]
    assert masks(11) == masks(11)
    assert masks(11) != masks(12)
    with pytest.raises(ValueError):
        draw_keep(net, np.random.default_rng(0), 1.0)


def test_update_rule_by_hand():
    # Net: inputs 0, 1; hidden 2, 3 (bias); output 4 (bias). Edges:
    # 0:(0,2) 1:(1,2) 2:(b,2) 3:(0,3) 4:(1,3) 5:(b,3) 6:(2,4) 7:(3,4) 8:(b,4)
    net = Network(2).dense(2).dense(1)
    rng = np.random.default_rng(0)
    masks = [draw_keep(net, rng, 0.5) for _ in range(3)]
    assert [m.tolist() for m in masks] == [[True, False], [False, False], [True, True]]
    round_w = [np.array([1, -1, 1, 1, 1]),       # round 0: edges 0, 1, 2, 6, 8
               np.array([-1]),                   # round 1: edge 8 only (output keeps its bias)
               np.array([1, 1, -1, -1, 1, 1, -1, 1, -1])]  # round 2: all edges
    est = RecordingEstimator(lambda r, n: round_w[r])
    h0 = np.arange(9) * 0.1
    h, info = dropout_penalties(est, net, None, {}, h0,
                                rounds=3, rate=0.5, strength=2.0, seed=0)
    mean = np.array([(1 + 1) / 2, (-1 + 1) / 2, (1 - 1) / 2, -1, 1, 1, (1 - 1) / 2, 1, (1 - 1 - 1) / 3])
    np.testing.assert_allclose(h, h0 - 2.0 * mean)
    assert info["edges_kept_count"] == [2, 2, 2, 1, 1, 1, 2, 1, 3]
    # rounds are independent: each trains with the user's h0 restricted to its edges
    np.testing.assert_allclose(est.calls[0]["h"], h0[[0, 1, 2, 6, 8]])
    np.testing.assert_allclose(est.calls[1]["h"], h0[[8]])
    json.dumps(info)  # JSON-ready
    assert info["rounds_completed"] == 3


def test_update_penalties_never_kept_edges_keep_h0():
    h = update_penalties(np.array([0.5, -0.5]), np.array([0.0, 3.0]), np.array([0, 3]), 1.0)
    np.testing.assert_allclose(h, [0.5, -1.5])


def test_interrupt_stops_the_rounds():
    """Ctrl-C during a round propagates (the fit stops); no later round is trained."""
    net = Network(3).dense(4).dense(1)
    fn = lambda r, n: np.where(np.arange(n.n_weights) % (r + 2) == 0, 1, -1)  # noqa: E731
    est = RecordingEstimator(fn, fail_on=2)
    with pytest.raises(KeyboardInterrupt):
        dropout_penalties(est, net, None, {}, None, rounds=5, rate=0.3, strength=1.0, seed=4)
    assert len(est.calls) == 2


def test_interrupted_fit_keeps_the_earlier_model(monkeypatch):
    from qubo_bnn import BNNClassifier
    from qubo_bnn.datasets import load_digits_task

    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=16, n_test=10, seed=0)
    clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params={"num_reads": 2, "num_sweeps": 20},
                        random_state=0).fit(X, y)
    before = clf.members_.copy()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(BNNClassifier, "_train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        clf.set_params(dropout_rounds=2).fit(X, y)
    np.testing.assert_array_equal(clf.members_, before)


class _SeededSampler:
    parameters = {"num_reads": [], "seed": []}


def test_round_seeds_derived_and_params_untouched():
    net = Network(3).dense(2).dense(1)
    est = RecordingEstimator(lambda r, n: np.ones(n.n_weights))
    params = {"num_reads": 3, "seed": 100}
    dropout_penalties(est, net, _SeededSampler(), params, None,
                      rounds=3, rate=0.5, strength=1.0, seed=7)
    assert params == {"num_reads": 3, "seed": 100}
    assert [c["params"]["seed"] for c in est.calls] == [101, 102, 103]
    est = RecordingEstimator(lambda r, n: np.ones(n.n_weights))
    dropout_penalties(est, net, _SeededSampler(), {}, None,
                      rounds=2, rate=0.5, strength=1.0, seed=7)
    assert [c["params"]["seed"] for c in est.calls] == [8, 9]
    est = RecordingEstimator(lambda r, n: np.ones(n.n_weights))
    dropout_penalties(est, net, object(), {}, None,
                      rounds=2, rate=0.5, strength=1.0, seed=7)
    assert all("seed" not in c["params"] for c in est.calls)


def test_explicit_margin_neurons_are_renumbered():
    net = Network(3).dense(3).dense(1)                  # hidden 3, 4, 5; output 6
    est = RecordingEstimator(lambda r, n: np.ones(n.n_weights), margin_neurons=[4, 6])
    rng = np.random.default_rng(1)
    dropout_penalties(est, net, None, {}, None,
                      rounds=4, rate=0.5, strength=1.0, seed=1)
    for r in range(4):
        keep = draw_keep(net, rng, 0.5)
        sub = subnetwork(net, keep)
        expected = [sub.node_map[j] for j in (4, 6) if j in sub.node_map]
        assert est.calls[r]["margin_neurons"] == expected
    assert est.margin_neurons == [4, 6]                 # the estimator itself is untouched


def _small_task():
    Xtr, _, ytr, _ = load_digits_task(classes=(3, 8), n_train=16, n_test=10, seed=0)
    return Xtr, ytr


def test_strength_zero_equals_plain_training():
    X, y = _small_task()
    kw = dict(hidden_layer_sizes=(2,), sampler_params={"num_reads": 2, "num_sweeps": 100}, random_state=3)
    plain = BNNClassifier(**kw).fit(X, y)
    drop = BNNClassifier(dropout_rounds=3, dropout_strength=0.0, **kw).fit(X, y)
    np.testing.assert_array_equal(drop.weights_, plain.weights_)
    assert drop.fit_info_["dropout"]["rounds_completed"] == 3
    # and with strength > 0 the scheme really produces penalties (so the equality above is not vacuous)
    strong = BNNClassifier(dropout_rounds=3, dropout_strength=1.0, **kw).fit(X, y)
    h = np.array(strong.fit_info_["dropout"]["h"])
    assert np.count_nonzero(h) > 0 and set(np.abs(h[h != 0]).tolist()) <= {1 / 3, 1.0}
    assert strong.fit_info_["energy_split"]["h_term"] != 0
