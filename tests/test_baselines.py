"""Tests of the straight-through-estimator BNN baseline (qubo_bnn/baselines.py)."""
from __future__ import annotations

import numpy as np
import pytest

from qubo_bnn.baselines import STEClassifier, _Plan, binarise
from qubo_bnn.network import Network


def _planted(n: int = 200, d: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    w_star = rng.choice([-1, 1], d + 1)
    X = rng.integers(0, 2, (n, d))
    y = ((2 * X - 1) @ w_star[:d] + w_star[d] >= 0).astype(int)   # 17 terms: never a tie
    return X, y, w_star


@pytest.mark.parametrize("hidden", [(), (4,)])
def test_planted_perceptron_fitted_exactly(hidden):
    X, y, _ = _planted()
    assert 0.2 < y.mean() < 0.8
    clf = STEClassifier(hidden_layer_sizes=hidden, epochs=100, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert set(np.unique(clf.weights_).tolist()) <= {-1, 1}


def test_forward_agrees_with_network_forward():
    net = Network(5)
    net.dense(3)
    a = net.add_neuron([5, 7, 1], bias=False)   # skip connection from input 1, no bias
    net.add_neuron([a, 6, 0])
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (50, 5))
    plan = _Plan(net)
    for _ in range(5):
        w = rng.choice([-1, 1], net.n_weights)
        Z, act = plan.forward(2.0 * X - 1, w.astype(float))
        Zn, An = net.forward(X, w)
        np.testing.assert_array_equal(Z, Zn)
        np.testing.assert_array_equal(act[:, 5:], An)
    y = rng.integers(0, 2, 50)
    clf = STEClassifier(network=net, epochs=5, random_state=0).fit(X, y)
    Zn, _ = net.forward(X, clf.weights_)
    np.testing.assert_array_equal(clf.decision_function(X), Zn[:, -1] + 0.5)   # > 0 exactly where z >= 0
    np.testing.assert_array_equal(clf.predict(X), np.where(Zn[:, -1] >= 0, 1, 0))


@pytest.mark.parametrize("loss", ["hinge", "log"])
def test_gradient_of_a_perceptron_is_exact(loss):
    # no hidden sign: the loss is a function of w (real) and the backward pass is its exact gradient
    net = Network(6).dense(2)
    rng = np.random.default_rng(2)
    X = 2.0 * rng.integers(0, 2, (30, 6)) - 1
    T = rng.choice([-1.0, 1.0], (30, 2))
    plan = _Plan(net)
    clf = STEClassifier(loss=loss)
    scale = plan.scale[plan.out_cols][None, :]
    w = rng.normal(size=net.n_weights) * 0.3

    def f(v):
        Z, _ = plan.forward(X, v)
        return clf._loss_grad(Z[:, plan.out_cols], T, scale)[0]

    Z, act = plan.forward(X, w)
    g = plan.backward(Z, act, w, clf._loss_grad(Z[:, plan.out_cols], T, scale)[1])
    eps = 1e-6
    num = np.array([(f(w + eps * e) - f(w - eps * e)) / (2 * eps) for e in np.eye(len(w))])
    np.testing.assert_allclose(g, num, atol=1e-5)


def test_ste_mask_blocks_saturated_hidden_units():
    net = Network(4).dense(1).dense(1)          # hidden 4 (fan-in 5), output 5 (fan-in 2)
    plan = _Plan(net)
    X = np.array([[1.0, 1, 1, 1], [1, -1, 1, -1]])
    w = np.ones(net.n_weights)                  # hidden z = 5 (saturated: |z| > sqrt 5), z = 1
    Z, act = plan.forward(X, w)
    g = plan.backward(Z, act, w, np.array([[1.0], [1.0]]))
    s = np.sqrt(5)
    expected_hidden = X[1] / s                  # only the unsaturated sample passes gradient
    np.testing.assert_allclose(g[:4], expected_hidden)
    np.testing.assert_allclose(g[4], 1 / s)
    np.testing.assert_allclose(g[5:], [act[:, 4].sum(), 2.0])


def test_reproducible_and_multiclass():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (60, 8))
    y = rng.integers(0, 3, 60)
    a = STEClassifier(epochs=10, random_state=5).fit(X, y)
    b = STEClassifier(epochs=10, random_state=5).fit(X, y)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert a.network_.outputs and len(a.network_.outputs) == 3
    assert a.decision_function(X).shape == (60, 3)
    assert set(a.predict(X).tolist()) <= {0, 1, 2}
    assert np.abs(a.latent_weights_).max() <= 1.0


def test_binarise_and_bad_arguments():
    assert binarise(np.array([0.0, -0.0, -1e-9])).tolist() == [1, 1, -1]
    X, y, _ = _planted(20)
    with pytest.raises(ValueError, match="loss"):
        STEClassifier(loss="mse", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="epochs"):
        STEClassifier(epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        STEClassifier(epochs=1).fit(X, np.zeros(20))
