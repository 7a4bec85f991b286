"""Topology of a binary neural network: a DAG of sign neurons over binary inputs.

Nodes are numbered: inputs are ``0 .. n_inputs-1`` and every neuron added gets the next
integer. A neuron sums ``w_e * a_src`` over its incoming edges (a bias is an edge from a constant
+1 node) and fires ``+1`` when that sum is ``>= 0`` (``sign(0) = +1``, docs/FORMULATION.md "The
network"). Weights are ``±1``; edges are numbered in neuron order, sources in the order given,
bias last.

Inputs are read as spins ``±1`` (``inputs="spin"``, the default) or as 0/1 gates
(``inputs="binary"``): an input that is off contributes 0 to every sum it enters, whatever its
weight, as in the exact-training papers' raw-intensity models. A neuron reading 0/1 inputs has a
pre-activation of the parity of its *active* edges, which varies by sample; its count is kept in
half steps (:meth:`Network.count_unit`, docs/FORMULATION.md "Agreement count").

A *ternary* neuron (``ternary=True``) reads each source through two ``±1`` edges, so each of its
source weights is ``t = (w_2i + w_2i+1) / 2`` in ``{-1, 0, +1}`` (two bits per weight, ``0``
spelt two ways) and its edge sum is ``2·Σ t·a + b``: it fires when ``Σ t·a > 0``, and at
``Σ t·a = 0`` when its bias (one ``±1`` edge, if any) is ``+1`` (without one: fires). Every
sampler, kernel and file format sees ordinary ``±1`` edges; :meth:`Network.ternary_values`
reads the ``t``.

Example:
    >>> net = Network(4).dense(3).dense(1)
    >>> net.n_neurons, net.n_weights, net.outputs
    (4, 19, [7])
    >>> import numpy as np
    >>> w = np.ones(net.n_weights, dtype=np.int8)
    >>> net.predict_outputs(np.array([[1, 0, 1, 1]]), w)
    array([[1]], dtype=int8)
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .predictor import INPUT_KINDS  # noqa: F401  (stated once, in the numpy-only predictor)

BIAS = -1
"""Source id of the constant +1 bias node in :attr:`Network.edges`."""

FORMAT = "qubo-bnn/network"
FORMAT_VERSION = 1

MAX_INPUTS = 1 << 20
"""Largest ``n_inputs`` accepted (checked before anything is allocated)."""
MAX_NEURONS = 1 << 16
"""Most neurons a network (or a spec read from a file) may have."""
MAX_EDGES = 1 << 24
"""Most edges (weights) a spec read from a file may have."""


class Network:
    """A binary neural network of arbitrary (acyclic) topology.

    Args:
        n_inputs: number of binary input features.
        inputs: ``"spin"`` (an input bit ``c`` enters as ``2c - 1``) or ``"binary"`` (as ``c``:
            an off input contributes 0; module docstring).

    Build it with :meth:`dense` (fully connected layers) and :meth:`add_neuron` (any fan-in,
    skip connections); outputs default to the neurons nothing else reads from, in the order they
    were added, and can be set with :meth:`set_outputs`.
    """

    def __init__(self, n_inputs: int, inputs: str = "spin"):
        if inputs not in INPUT_KINDS:
            raise ValueError(f"inputs must be one of {INPUT_KINDS}, got {inputs!r}")
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive integer, got {n_inputs!r}")
        if n_inputs > MAX_INPUTS:
            raise ValueError(f"n_inputs = {n_inputs} exceeds the limit of {MAX_INPUTS} inputs")
        self.n_inputs = int(n_inputs)
        self.inputs = inputs
        self._sources: list[list[int]] = []
        self._bias: list[bool] = []
        self._ternary: list[bool] = []
        self._outputs: list[int] | None = None
        self._last_layer: list[int] | None = None   # None: the inputs
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ building
    def add_neuron(self, sources: Iterable[int], bias: bool = True, ternary: bool = False) -> int:
        """Add a sign neuron reading from existing nodes; returns its node id. ``ternary``: two
        ``±1`` edges per source, a weight in ``{-1, 0, +1}`` (module docstring).

        Example:
            >>> net = Network(3)
            >>> h = net.add_neuron([0, 1])           # sparse fan-in
            >>> o = net.add_neuron([h, 2], bias=False)  # skip connection from input 2
            >>> (h, o)
            (3, 4)
        """
        node = self.n_inputs + len(self._sources)
        if len(self._sources) >= MAX_NEURONS:
            raise ValueError(f"a network may have at most {MAX_NEURONS} neurons")
        srcs = self._check_sources(sources, node, allow_forward=False)
        self._sources.append(srcs)
        self._bias.append(bool(bias))
        self._ternary.append(bool(ternary))
        self._last_layer = [node]
        self._cache.clear()
        return node

    def dense(self, width: int, bias: bool = True, sources: Sequence[int] | None = None,
              ternary: bool = False) -> "Network":
        """Add a fully connected layer of ``width`` neurons (``ternary``: see :meth:`add_neuron`);
        returns ``self`` for chaining.

        The layer reads from ``sources`` or, by default, from the previous :meth:`dense` layer
        (the inputs for the first one).
        """
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"layer width must be a positive integer, got {width!r}")
        if sources is None:
            sources = range(self.n_inputs) if self._last_layer is None else self._last_layer
        srcs = list(sources)
        layer = [self.add_neuron(srcs, bias=bias, ternary=ternary) for _ in range(int(width))]
        self._last_layer = layer
        return self

    def set_outputs(self, outputs: Sequence[int]) -> "Network":
        """Choose the output neurons (in class order); returns ``self``."""
        outs = [int(o) for o in outputs]
        if not outs:
            raise ValueError("a network needs at least one output neuron")
        for o in outs:
            if not self.n_inputs <= o < self.n_inputs + self.n_neurons:
                raise ValueError(f"output {o} is not a neuron of this network "
                                 f"(neurons are {self.n_inputs}..{self.n_inputs + self.n_neurons - 1})")
        if len(set(outs)) != len(outs):
            raise ValueError(f"outputs must be distinct, got {outs}")
        self._outputs = outs
        self._cache.clear()
        return self

    def _check_sources(self, sources: Iterable[int], node: int, allow_forward: bool) -> list[int]:
        srcs = []
        for s in sources:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"neuron {node}: sources must be node ids (int), got {s!r}")
            s = int(s)
            if s < 0 or (not allow_forward and s >= node):
                raise ValueError(f"neuron {node}: unknown source {s} (inputs are 0..{self.n_inputs - 1}, "
                                 f"earlier neurons {self.n_inputs}..{node - 1})")
            srcs.append(s)
        if len(set(srcs)) != len(srcs):
            raise ValueError(f"neuron {node}: repeated source in {srcs}")
        return srcs

    # ------------------------------------------------------------------ structure
    @property
    def n_neurons(self) -> int:
        return len(self._sources)

    @property
    def neurons(self) -> list[int]:
        """Node ids of all neurons, in the order they were added."""
        return list(range(self.n_inputs, self.n_inputs + self.n_neurons))

    def sources(self, neuron: int) -> list[int]:
        """Source node ids of ``neuron`` (bias not included)."""
        return list(self._sources[neuron - self.n_inputs])

    def has_bias(self, neuron: int) -> bool:
        return self._bias[neuron - self.n_inputs]

    def is_ternary(self, neuron: int) -> bool:
        """Whether ``neuron`` reads each source through two edges (module docstring)."""
        return self._ternary[neuron - self.n_inputs]

    def edge_sources(self, neuron: int) -> list[int]:
        """The source of each incoming edge but the bias, in edge order (each source twice,
        consecutively, for a ternary neuron)."""
        srcs = self._sources[neuron - self.n_inputs]
        return [s for s in srcs for _ in range(2)] if self.is_ternary(neuron) else list(srcs)

    def fan_in(self, neuron: int) -> int:
        """Number of incoming edges, bias included (F_j in docs/FORMULATION.md)."""
        k = neuron - self.n_inputs
        return len(self._sources[k]) * (2 if self._ternary[k] else 1) + self._bias[k]

    def count_unit(self, neuron: int) -> int:
        """How many count steps one agreeing edge of ``neuron`` is worth: 2 when it reads 0/1
        inputs (an off input then counts 1 whatever its weight, so the count ``F + z`` stays an
        integer whatever the parity of the active edges), else 1 (the count ``(F + z) / 2``).

        Example:
            >>> net = Network(2, inputs="binary").dense(1).dense(1)
            >>> net.count_unit(2), net.count_unit(3)
            (2, 1)
        """
        k = neuron - self.n_inputs
        return 2 if self.inputs == "binary" and any(s < self.n_inputs for s in self._sources[k]) else 1

    def input_values(self, X) -> np.ndarray:
        """``X`` (bits {0, 1} or spins {-1, +1}) as the values the neurons read: int8 spins, or
        0/1 for ``inputs="binary"``."""
        from .validation import as_bits, as_spins

        if self.inputs == "binary":
            return as_bits(X, n_features=self.n_inputs).astype(np.int8)
        return as_spins(X, n_features=self.n_inputs)

    @property
    def outputs(self) -> list[int]:
        if self._outputs is not None:
            return list(self._outputs)
        read = {s for srcs in self._sources for s in srcs}
        return [j for j in self.neurons if j not in read]

    @property
    def hidden(self) -> list[int]:
        """Neurons that are not outputs."""
        outs = set(self.outputs)
        return [j for j in self.neurons if j not in outs]

    @property
    def edges(self) -> np.ndarray:
        """``(n_weights, 2)`` int array of ``(source, neuron)``; source ``BIAS`` (-1) for a bias."""
        if "edges" not in self._cache:
            rows = []
            for j in self.neurons:
                rows.extend((s, j) for s in self.edge_sources(j))
                if self.has_bias(j):
                    rows.append((BIAS, j))
            self._cache["edges"] = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return self._cache["edges"]

    @property
    def n_weights(self) -> int:
        return len(self.edges)

    def edge_slices(self) -> dict[int, slice]:
        """For each neuron, the slice of :attr:`edges` holding its incoming edges."""
        out, start = {}, 0
        for j in self.neurons:
            f = self.fan_in(j)
            out[j] = slice(start, start + f)
            start += f
        return out

    def validate(self) -> None:
        """Raise ``ValueError`` unless the network is usable for training."""
        if self.n_neurons == 0:
            raise ValueError("the network has no neurons: add layers with dense() or add_neuron()")
        for j in self.neurons:
            if self.fan_in(j) == 0:
                raise ValueError(f"neuron {j} has no incoming edges and no bias")
        if not self.outputs:
            raise ValueError("the network has no output neuron")

    # ------------------------------------------------------------------ forward pass
    def forward(self, X: np.ndarray, weights: np.ndarray,
                clamp: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pre-activations and activations of every neuron for a batch.

        Args:
            X: ``(n_samples, n_inputs)`` binary inputs, {0, 1} or {-1, +1} (read as
                :attr:`inputs` says).
            weights: ``(n_weights,)`` weights in {-1, +1} (or bits {0, 1}, read as ``2b - 1``),
                or ``(k, n_weights)``: ``k`` weight vectors at once.
            clamp: optional ``{neuron: (n_samples,) bits}``: activations held at these values
                whatever their pre-activation (the outputs of a hard-fit QUBO).

        Returns:
            ``(Z, A)``: both ``(n_samples, n_neurons)`` (``(k, n_samples, n_neurons)`` for ``k``
            weight vectors), columns in neuron order; ``Z`` integer pre-activations, ``A``
            activations in {-1, +1} with ``sign(0) = +1``.
        """
        from .validation import check_weights

        S = self.input_values(X).astype(np.float64)     # shared by every weight vector: not copied k times
        single = np.ndim(weights) == 1
        W = check_weights(np.atleast_2d(weights), self.n_weights, batch=True)
        k, n, n_in = W.shape[0], S.shape[0], self.n_inputs
        act = np.empty((k, n, self.n_neurons), dtype=np.int64)          # the neurons' activations
        Z = np.empty((k, n, self.n_neurons), dtype=np.int64)
        for j, sl in self.edge_slices().items():
            srcs = np.asarray(self.edge_sources(j), dtype=np.int64)
            wj = W[:, sl].astype(np.int64)
            w_src, from_input = wj[:, : len(srcs)], srcs < n_in
            # inputs: one matrix product for all k (float64 sums of at most n_in terms of size 1: exact)
            z = np.rint(w_src[:, from_input] @ S[:, srcs[from_input]].T).astype(np.int64) \
                if from_input.any() else np.zeros((k, n), dtype=np.int64)
            if not from_input.all():
                z += np.einsum("kns,ks->kn", act[:, :, srcs[~from_input] - n_in], w_src[:, ~from_input])
            if self.has_bias(j):
                z += wj[:, -1:]
            Z[:, :, j - n_in] = z
            act[:, :, j - n_in] = (np.where(z >= 0, 1, -1) if not clamp or j not in clamp
                                   else 2 * clamp[j].astype(np.int64) - 1)
        A = act.astype(np.int8)
        return (Z[0], A[0]) if single else (Z, A)

    def ternary_values(self, weights) -> dict[int, tuple[np.ndarray, int | None]]:
        """Per neuron, its source weights as the neuron uses them and its bias: ``(t, b)``, ``t``
        in ``{-1, 0, +1}`` (pair half-sums) for a ternary neuron, the ``±1`` edge weights
        otherwise; ``b`` the bias edge's weight or None.

        Example:
            >>> net = Network(2).dense(1, ternary=True)
            >>> t, b = net.ternary_values([1, -1, 1, 1, -1])[2]
            >>> t.tolist(), b
            ([0, 1], -1)
        """
        from .validation import check_weights

        w = check_weights(weights, self.n_weights)
        out = {}
        for j, sl in self.edge_slices().items():
            wj = w[sl]
            b = int(wj[-1]) if self.has_bias(j) else None
            ws = wj[:-1] if self.has_bias(j) else wj
            out[j] = ((ws[0::2] + ws[1::2]) // 2 if self.is_ternary(j) else ws.copy(), b)
        return out

    def predict_outputs(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Activations (±1) of the output neurons, ``(n_samples, n_outputs)``."""
        _, A = self.forward(X, weights)
        return A[:, [o - self.n_inputs for o in self.outputs]]

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (inverse of :meth:`from_dict`)."""
        return {
            "n_inputs": self.n_inputs,
            "neurons": [{"sources": self.sources(j), "bias": self.has_bias(j), **({"ternary": True} if self.is_ternary(j) else {})}
                        for j in self.neurons],
            "outputs": self.outputs,
            **({"inputs": self.inputs} if self.inputs != "spin" else {}),
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> "Network":
        """Build a network from :meth:`to_dict` output (or a hand-written spec).

        Neuron ``k`` of ``spec["neurons"]`` gets node id ``n_inputs + k``; its sources are inputs
        or neurons listed before it. A cycle is refused, and so is a spec that lists a neuron
        before one of its sources (the error names a valid order).

        Example:
            >>> spec = {"n_inputs": 2, "neurons": [{"sources": [1]}, {"sources": [0, 2]}]}
            >>> Network.from_dict(spec).outputs
            [3]
        """
        if not isinstance(spec, dict):
            raise TypeError(f"network spec must be a dict, got {type(spec).__name__}")
        unknown = set(spec) - {"n_inputs", "neurons", "outputs", "inputs"}
        if unknown:
            raise ValueError(f"network spec: unknown keys {sorted(unknown)} (allowed: n_inputs, neurons, outputs, inputs)")
        if "n_inputs" not in spec or "neurons" not in spec:
            raise ValueError("network spec needs 'n_inputs' and 'neurons'")
        if spec.get("inputs", "spin") not in INPUT_KINDS:
            raise ValueError(f"network spec: inputs must be one of {INPUT_KINDS}, got {spec['inputs']!r}")
        net = cls(spec["n_inputs"], inputs=spec.get("inputs", "spin"))
        neurons = spec["neurons"]
        if not isinstance(neurons, list) or not neurons:
            raise ValueError("network spec: 'neurons' must be a non-empty list")
        if len(neurons) > MAX_NEURONS:
            raise ValueError(f"network spec: {len(neurons)} neurons exceed the limit of {MAX_NEURONS}")
        n_edges = sum(len(nd["sources"]) if isinstance(nd, dict) and isinstance(nd.get("sources"), list) else 0
                      for nd in neurons)
        if n_edges > MAX_EDGES:
            raise ValueError(f"network spec: {n_edges} edges exceed the limit of {MAX_EDGES}")
        n_nodes = net.n_inputs + len(neurons)
        raw = []
        for k, nd in enumerate(neurons):
            node = net.n_inputs + k
            if not isinstance(nd, dict) or "sources" not in nd:
                raise ValueError(f"network spec: neuron {node} must be a table with 'sources'")
            extra = set(nd) - {"sources", "bias", "ternary"}
            if extra:
                raise ValueError(f"network spec: neuron {node} has unknown keys {sorted(extra)}")
            srcs = net._check_sources(nd["sources"], node, allow_forward=True)
            for s in srcs:
                if s >= n_nodes:
                    raise ValueError(f"neuron {node}: unknown source {s} (the network has nodes 0..{n_nodes - 1})")
            raw.append((srcs, bool(nd.get("bias", True)), bool(nd.get("ternary", False))))
        order = _topological_order(net.n_inputs, [r[0] for r in raw])   # refuses a cycle
        # Node ids are positions in the list, so every neuron must come after its sources
        # (to_dict guarantees it); the error names a valid order.
        if any(s >= net.n_inputs + k for k, (srcs, _, _) in enumerate(raw) for s in srcs):
            raise ValueError("network spec: neurons must be listed after their sources "
                             f"(a valid order is {_id_list(net.n_inputs + k for k in order)})")
        for srcs, bias, ternary in raw:
            net._sources.append(srcs)
            net._bias.append(bias)
            net._ternary.append(ternary)
        if spec.get("outputs") is not None:
            net.set_outputs(spec["outputs"])
        net.validate()
        return net

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **self.to_dict()})

    def __repr__(self) -> str:
        kind = f", inputs={self.inputs!r}" if self.inputs != "spin" else ""
        return (f"Network(n_inputs={self.n_inputs}{kind}, n_neurons={self.n_neurons}, "
                f"n_weights={self.n_weights}, outputs={self.outputs})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and self.to_dict() == other.to_dict()


def _topological_order(n_inputs: int, sources: list[list[int]]) -> list[int]:
    """Neuron indices (``node - n_inputs``) in an order where each comes after its sources.

    Kahn's algorithm with indegree counts and a FIFO queue: O(neurons + edges). Raises
    ``ValueError`` naming the neurons on or behind a cycle.

    Example:
        >>> _topological_order(1, [[2], [0]])    # neuron 1 (node 1) reads neuron 2 (node 2)
        [1, 0]
    """
    n = len(sources)
    users: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for k, srcs in enumerate(sources):
        for s in srcs:
            if s >= n_inputs:
                users[s - n_inputs].append(k)
                indeg[k] += 1
    ready = deque(k for k in range(n) if indeg[k] == 0)
    order = []
    while ready:
        k = ready.popleft()
        order.append(k)
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(order) < n:
        stuck = (n_inputs + k for k in range(n) if indeg[k] > 0)
        raise ValueError(f"network topology has a cycle among neurons {_id_list(stuck)}: a BNN must be a DAG")
    return order


def _id_list(ids: Iterable[int], limit: int = 20) -> str:
    """``[a, b, ...]`` for an error message: at most ``limit`` ids, then how many in all.

    Example:
        >>> _id_list(range(3)), _id_list(range(100), limit=2)
        ('[0, 1, 2]', '[0, 1, ... (100 in all)]')
    """
    ids = list(ids)
    if len(ids) <= limit:
        return str(ids)
    return "[" + ", ".join(map(str, ids[:limit])) + f", ... ({len(ids)} in all)]"
