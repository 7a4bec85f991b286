"""Small networks shared by the brute-force tests: odd and even fan-in, skip connections,
hidden->hidden edges, several outputs, ternary weights."""
from qubo_bnn.network import Network


def skip_net() -> Network:
    net = Network(3)                              # odd and even fan-in, skip and hidden->hidden edges
    h1 = net.add_neuron([0, 1])                   # F = 3
    h2 = net.add_neuron([1, 2, h1], bias=False)   # F = 3, hidden -> hidden
    net.add_neuron([h1, h2, 0])                   # F = 4 (even), skip from input 0
    return net


def two_output_net() -> Network:
    net = Network(2)
    h = net.add_neuron([0, 1], bias=False)        # F = 2 (even)
    net.add_neuron([h, 0])                        # F = 3
    net.add_neuron([h], bias=True)                # F = 2 (even)
    return net


def even_hidden_net() -> Network:
    return Network(2).dense(1, bias=False).dense(1)   # hidden F = 2 (tie bit), output F = 2 (AND aux)


NETWORKS = {
    "perceptron-odd": lambda: Network(2).dense(1),                     # F = 3
    "perceptron-even": lambda: Network(3).dense(1),                    # F = 4
    "skip+hidden-hidden": skip_net,
    "two-outputs": two_output_net,
    "dense-2-2-1": lambda: Network(2).dense(2, bias=False).dense(1),   # F = 2 then 3
    "dense-3-2-1": lambda: Network(3).dense(2).dense(1),               # F = 4 (ties), then 3
    # ternary weights: two ±1 edges per source (F = 5), then a binary output reading it (F = 2)
    "ternary-2-1-1": lambda: Network(2).dense(1, ternary=True).dense(1, bias=False),
}
