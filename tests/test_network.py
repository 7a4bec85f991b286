import json

import numpy as np
import pytest

from oracles import forward_numpy
from qubo_bnn.network import BIAS, Network


def test_dense_layers_edges_and_outputs():
    net = Network(4).dense(3).dense(2, bias=False)
    assert net.neurons == [4, 5, 6, 7, 8]
    assert net.outputs == [7, 8] and net.hidden == [4, 5, 6]
    assert [net.fan_in(j) for j in net.neurons] == [5, 5, 5, 3, 3]
    assert net.n_weights == 21
    assert net.edges[4].tolist() == [BIAS, 4]
    assert net.edges[15].tolist() == [4, 7]


@pytest.mark.parametrize("seed", range(5))
def test_forward_matches_independent_per_sample_loop(seed):
    rng = np.random.default_rng(seed)
    net = Network(6).dense(4)
    skip = net.add_neuron([0, 5, 6, 8], bias=False)  # skip from inputs, even fan-in
    net.add_neuron([skip, 7, 2])
    X = rng.integers(0, 2, (50, 6))
    w = rng.choice([-1, 1], net.n_weights)
    Z, A = net.forward(X, w)
    spec = [(net.sources(j), net.has_bias(j)) for j in net.neurons]
    assert (Z == forward_numpy(6, spec, X, w)).all()
    assert ((A > 0) == (Z >= 0)).all()  # sign(0) = +1
    Z2, _ = net.forward(2 * X - 1, (w > 0).astype(int))  # ±1 inputs and weight bits
    assert (Z2 == Z).all()


def test_sign_of_zero_is_plus_one():
    net = Network(1).dense(1)  # z = w0·x + w_bias, zero when they disagree
    _, A = net.forward(np.array([[1]]), np.array([1, -1]))
    assert A[0, 0] == 1


def test_json_round_trip():
    net = Network(5).dense(2)
    net.add_neuron([0, 5, 6], bias=False)
    net.set_outputs([7, 6])
    again = Network.from_dict(json.loads(json.dumps(net.to_dict())))
    assert again == net and again.outputs == [7, 6]
    assert (again.edges == net.edges).all()


def test_errors():
    with pytest.raises(ValueError, match="positive integer"):
        Network(0)
    net = Network(2)
    with pytest.raises(ValueError, match="unknown source 5"):
        net.add_neuron([0, 5])
    with pytest.raises(ValueError, match="repeated source"):
        net.add_neuron([0, 0])
    with pytest.raises(TypeError, match="node ids"):
        net.add_neuron(["a"])
    with pytest.raises(ValueError, match="no neurons"):
        Network(3).validate()
    with pytest.raises(ValueError, match="cycle among neurons \\[2, 3\\]"):
        Network.from_dict({"n_inputs": 2, "neurons": [{"sources": [0, 3]}, {"sources": [2]}]})
    with pytest.raises(ValueError, match="unknown source 9"):
        Network.from_dict({"n_inputs": 2, "neurons": [{"sources": [9]}]})
    with pytest.raises(ValueError, match="unknown keys"):
        Network.from_dict({"n_inputs": 2, "neurons": [{"sources": [0], "wat": 1}]})
    with pytest.raises(ValueError, match="not a neuron"):
        Network(2).dense(1).set_outputs([0])
    net = Network(2).dense(1)
    with pytest.raises(ValueError, match="features but the network expects 2"):
        net.forward(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="weights must have shape"):
        net.forward(np.zeros((3, 2)), np.ones(4))


def test_sizes_are_bounded_before_allocation():
    from qubo_bnn.network import MAX_INPUTS, MAX_NEURONS

    with pytest.raises(ValueError, match="exceeds the limit"):
        Network(10**9)                       # would allocate gigabytes if not refused first
    with pytest.raises(ValueError, match="exceeds the limit"):
        Network.from_dict({"n_inputs": MAX_INPUTS + 1, "neurons": [{"sources": [0]}]})
    with pytest.raises(ValueError, match="neurons exceed"):
        Network.from_dict({"n_inputs": 1, "neurons": [{"sources": [0]}] * (MAX_NEURONS + 1)})
    assert Network(3).dense(2).n_weights == 8   # the first dense layer still reads the inputs


def _is_topological(n_inputs, sources, order):
    """Independent check: ``order`` is a permutation with every neuron after its neuron sources."""
    position = {n_inputs + k: i for i, k in enumerate(order)}
    return (sorted(order) == list(range(len(sources)))
            and all(position[s] < position[n_inputs + k]
                    for k, srcs in enumerate(sources) for s in srcs if s >= n_inputs))


def test_topological_order_of_a_shuffled_random_dag():
    from qubo_bnn.network import _topological_order

    rng = np.random.default_rng(0)
    n_inputs, n = 3, 300
    ordered = [sorted({int(s) for s in rng.integers(0, n_inputs + k, 3)}) for k in range(n)]
    perm = rng.permutation(n)                  # list neuron k of `ordered` at position inv[k]
    inv = np.argsort(perm)
    relabel = lambda s: s if s < n_inputs else n_inputs + int(inv[s - n_inputs])  # noqa: E731
    shuffled = [[relabel(s) for s in ordered[p]] for p in perm]
    assert _is_topological(n_inputs, shuffled, _topological_order(n_inputs, shuffled))
    assert not _is_topological(n_inputs, shuffled, list(range(n)))   # the shuffle did reorder


def test_largest_networks_load_and_cycles_are_refused():
    # 65,536 one-input neurons once took over a minute (quadratic topological sort)
    from qubo_bnn.network import MAX_NEURONS

    n = MAX_NEURONS
    wide = Network.from_dict({"n_inputs": 1, "neurons": [{"sources": [0]}] * n})
    assert wide.n_neurons == n and wide.outputs == wide.neurons and wide.n_weights == 2 * n
    chain = Network.from_dict({"n_inputs": 1, "neurons": [{"sources": [k]} for k in range(n)]})
    assert chain.outputs == [n] and chain.sources(n) == [n - 1]
    assert Network.from_dict(chain.to_dict()) == chain
    reversed_chain = [{"sources": [k + 2]} for k in range(n - 1)] + [{"sources": [0]}]
    with pytest.raises(ValueError, match=r"listed after their sources \(a valid order is "
                                         rf"\[{n}, {n - 1}, .*\({n} in all\)\]\)$"):
        Network.from_dict({"n_inputs": 1, "neurons": reversed_chain})
    ring = [{"sources": [k + 2]} for k in range(n - 1)] + [{"sources": [1]}]   # closes the chain
    with pytest.raises(ValueError, match=rf"cycle among neurons \[1, 2, .*\({n} in all\)\]"):
        Network.from_dict({"n_inputs": 1, "neurons": ring})


def _ternary_oracle(net, X, values):
    """Plain numpy forward pass of ternary weights t in {-1, 0, 1} and a ±1 bias b: a ternary
    neuron fires when Σ t·a > 0, or when Σ t·a = 0 and b = +1 (or it has no bias); a binary one
    when Σ w·a + b >= 0."""
    S = 2 * np.asarray(X, dtype=np.int64) - 1
    act = {i: S[:, i] for i in range(net.n_inputs)}
    for j in net.neurons:
        t, b = values[j]
        z = sum(int(tk) * act[s] for tk, s in zip(t, net.sources(j)))
        z = z + np.zeros(len(S), dtype=np.int64)
        if net.is_ternary(j):
            fires = (z > 0) | ((z == 0) & (b is None or b == 1))
        else:
            fires = z + (b or 0) >= 0
        act[j] = np.where(fires, 1, -1)
    return np.stack([act[o] for o in net.outputs], axis=1)


def test_ternary_neuron_reads_each_source_through_two_edges():
    net = Network(3).dense(2, ternary=True).dense(1)
    j = net.neurons[0]
    assert net.edge_sources(j) == [0, 0, 1, 1, 2, 2] and net.sources(j) == [0, 1, 2]
    assert net.fan_in(j) == 7 and net.fan_in(net.outputs[0]) == 3 and net.n_weights == 2 * 7 + 3
    assert net.edges[:7, 0].tolist() == [0, 0, 1, 1, 2, 2, -1]
    again = Network.from_dict(net.to_dict())
    assert again == net and again.is_ternary(j) and not again.is_ternary(net.outputs[0])
    assert "ternary" not in Network(2).dense(1).to_dict()["neurons"][0]     # binary files unchanged


def test_ternary_forward_matches_a_ternary_oracle():
    rng = np.random.default_rng(7)
    net = Network(4).dense(3, ternary=True).dense(2, ternary=True, bias=False)
    X = rng.integers(0, 2, (50, 4))
    seen_zero = False
    for _ in range(30):
        w = rng.choice([-1, 1], net.n_weights)
        values = net.ternary_values(w)
        seen_zero |= any((t == 0).any() for t, _ in values.values())
        _, A = net.forward(X, w)
        got = A[:, [o - net.n_inputs for o in net.outputs]]
        assert np.array_equal(got, _ternary_oracle(net, X, values))
    assert seen_zero
