"""Numpy-only predictor for bit-packed qubo-bnn models, and the committee vote rule.

This module imports nothing but numpy and the standard library: copy it alone next to a model
written by ``qubo-bnn export`` (:func:`qubo_bnn.deploy.export_model`, format ``"npz"``) and::

    import predictor
    model = predictor.load("model.npz")
    labels = model.predict(X)

The file (``np.savez_compressed``, read with ``allow_pickle=False``) holds ``format``,
``version``, ``n_inputs``, ``n_features``, ``edges`` (``(E, 2)`` rows ``(source, neuron)``,
grouped by neuron in topological order, source ``-1`` the constant +1 bias), ``outputs``,
``packed_weights`` (``(M, ceil(E / 8))`` uint8: ``np.packbits`` of the weight bits ``w > 0`` of
each of the ``M`` committee members, first edge in the most significant bit), ``classes``
(numbers or strings, never objects) and, for a model trained on thresholded real features,
``binarizer_features`` and ``binarizer_thresholds``: input bit ``i`` is
``x[binarizer_features[i]] > binarizer_thresholds[i]``. Without them the inputs are bits
{0, 1} or spins {-1, +1}. A one-vs-one model also holds ``ovo_pairs``: the class-index pair
``(i, j)`` of each output (:func:`ovo_scores`). A model whose network reads its inputs as 0/1
gates (``Network(n, inputs="binary")``) holds ``inputs``, the string ``"binary"``; without it
(every file written before it existed) the inputs are spins, ``"spin"``. The key does not change
``version``: a predictor that predates it refuses the file (unknown array ``inputs``) rather
than reading it as a spin model.

A neuron's pre-activation is ``z = F - 2 * popcount(a XOR w)`` over its ``F`` incoming edges
(activation bits ``a``, the bias bit always 1): the number of agreeing minus disagreeing edges,
i.e. ``sum(w * s)`` over spins. It fires (bit 1, spin +1) when ``z >= 0``. With binary inputs an
input edge whose bit is 0 contributes 0 whatever its weight, so only the *active* edges count:
with ``m`` the mask of every edge from a neuron or the bias and of the input edges whose bit is 1,
``z = popcount(m) - 2 * popcount((a XOR w) AND m)``, i.e. ``sum(w * v)`` over the values ``v``
(input bits 0/1, neuron spins ±1, bias 1). The C header computes the popcounts; this module the
sums, by matrix products (the same integers).

Example:
    >>> import numpy as np
    >>> edges = np.array([[0, 2], [1, 2], [-1, 2]])        # one neuron: x0 + x1 - 1 >= 0 (AND)
    >>> model = PackedModel(2, edges, [2], pack_weights([[1, 1, -1]]), classes=[0, 1])
    >>> model.predict([[0, 0], [0, 1], [1, 1]]).tolist()
    [0, 0, 1]
    >>> gates = PackedModel(2, edges, [2], pack_weights([[1, 1, -1]]), classes=[0, 1], inputs="binary")
    >>> gates.predict([[0, 0], [0, 1], [1, 1]]).tolist()     # x0 + x1 - 1 >= 0 over bits: OR
    [0, 1, 1]
"""
from __future__ import annotations

import io
import os
import zipfile

import numpy as np

__all__ = ["FORMAT", "VERSION", "INPUT_KINDS", "PackedModel", "load", "pack_weights", "unpack_weights",
           "vote_scores", "labels_from_scores", "ovo_scores", "one_vs_one_pairs", "class_scores"]

FORMAT = "qubo-bnn/packed"
VERSION = 1
INPUT_KINDS = ("spin", "binary")
"""How input bits enter a neuron's sum: as spins ``2c - 1``, or as 0/1 gates ``c`` (an off input
contributes 0), as ``qubo_bnn.network.Network(n, inputs=...)``."""

MAX_FILE_BYTES = 256 << 20
"""Largest packed model file :func:`load` reads (checked before reading)."""
MAX_ARRAY_BYTES = 1 << 30
"""Largest total size of the arrays inside a packed model (checked before decompressing)."""
MAX_INPUTS = 1 << 20
MAX_NEURONS = 1 << 16
MAX_EDGES = 1 << 24
MAX_MEMBERS = 1 << 16
MAX_CLASSES = 1 << 16
MAX_MODEL_CELLS = 1 << 30
"""Bound on ``members * max(n_weights, n_nodes + 1)``: the unpacked weights and one sample's
activations of every member (checked before anything is unpacked)."""
MAX_ROWS_PER_BLOCK = 1 << 22
"""Bound on ``members * rows * (nodes + 1)``, the float64 values (32 MiB) a forward pass holds at
once: the rows go through in blocks."""
_CLASS_KINDS = "biufU"


# ---------------------------------------------------------------------- the vote rule
def vote_scores(Z, f_max: int) -> np.ndarray:
    """Committee scores from the output pre-activations of ``M`` members.

    ``score = sum_m sign(z_m) + sum_m z_m / (2 * M * (f_max + 1))`` with ``sign(0) = +1`` and
    ``f_max`` the largest fan-in (bias included) among the output neurons. The second term is
    below 1/2 in size, so it only breaks ties of the vote: comparing scores is comparing
    ``(sum of signs, sum of z)`` lexicographically. With one member, ``score >= 0`` exactly
    when ``z >= 0`` and the argmax of the scores is the argmax of ``z``.

    Args:
        Z: ``(M, n_samples, n_outputs)`` integer pre-activations.
        f_max: the largest fan-in among the output neurons (``|z| <= f_max``).

    Returns:
        ``(n_samples, n_outputs)`` float64 scores (read them with :func:`labels_from_scores`).

    Example:
        >>> vote_scores(np.array([[[3]], [[-1]], [[-1]]]), f_max=3).tolist()   # 2 against 1
        [[-0.9583333333333334]]
    """
    Z = np.asarray(Z)
    if Z.ndim != 3 or Z.shape[0] < 1:
        raise ValueError(f"Z must have shape (n_members, n_samples, n_outputs), got {Z.shape}")
    if not np.issubdtype(Z.dtype, np.integer):
        raise ValueError(f"Z must hold integer pre-activations, got dtype {Z.dtype}")
    f_max = int(f_max)
    if f_max < 1 or np.abs(Z).max(initial=0) > f_max:
        raise ValueError(f"f_max must be a fan-in >= 1 bounding |Z|, got {f_max}")
    Z = Z.astype(np.int64)
    signs = np.where(Z >= 0, 1, -1).sum(axis=0)
    return signs + Z.sum(axis=0) / (2.0 * Z.shape[0] * (f_max + 1))


def labels_from_scores(scores, classes) -> np.ndarray:
    """Class labels from :func:`vote_scores`: two classes (one output) give ``classes[1]`` where
    ``score >= 0``; more (one output per class) give the argmax, ties to the lowest index.

    Example:
        >>> labels_from_scores([[0.0], [-0.5]], ["no", "yes"]).tolist()
        ['yes', 'no']
        >>> labels_from_scores([[1.0, 1.0, -1.0]], [7, 8, 9]).tolist()
        [7]
    """
    scores = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(classes)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (n_samples, n_outputs), got {scores.shape}")
    n_outputs = 1 if len(classes) == 2 else len(classes)
    if len(classes) < 2 or scores.shape[1] != n_outputs:
        raise ValueError(f"{len(classes)} classes need {n_outputs} output score(s) per sample, "
                         f"got {scores.shape[1]}")
    if n_outputs == 1:
        return classes[(scores[:, 0] >= 0).astype(np.intp)]
    return classes[np.argmax(scores, axis=1)]


def ovo_scores(pair_scores, pairs, n_classes: int, bound: float) -> np.ndarray:
    """Class scores ``(n, n_classes)`` from one score per one-vs-one pair ``(n, n_pairs)``
    (``>= 0``: a vote for the pair's second class; ``|score| <= bound``): each class's votes,
    plus its summed pair scores (for the class) scaled below half a vote, so ties between votes
    go to the more confident class, then to the lowest class index (read them with
    :func:`labels_from_scores`).

    Example:
        >>> ovo_scores(np.array([[1.0, 2.0, -1.0]]), [(0, 1), (0, 2), (1, 2)], 3, bound=2.0).tolist()
        [[-0.3, 2.2, 1.1]]
    """
    S = np.asarray(pair_scores, dtype=np.float64)
    votes = np.zeros((len(S), n_classes))
    conf = np.zeros((len(S), n_classes))
    for p, (i, j) in enumerate(pairs):
        fired = S[:, p] >= 0
        votes[:, j] += fired
        votes[:, i] += ~fired
        conf[:, j] += S[:, p]
        conf[:, i] -= S[:, p]
    scale = 2.0 * (n_classes - 1) * float(bound) + 2.0     # |conf| <= (n_classes - 1)·bound
    return votes + conf / scale


def one_vs_one_pairs(n_classes: int) -> list[tuple[int, int]]:
    """The one-vs-one class-index pairs ``(i, j)``, ``i < j``, in lexicographic order."""
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def class_scores(Z, f_max: int, n_classes: int, pairs=None) -> np.ndarray:
    """The whole decoding: :func:`vote_scores` of the members' output pre-activations ``Z``
    ``(M, n, n_outputs)``; for a one-vs-one model (``pairs``, one per output) then
    :func:`ovo_scores` with ``bound = M + 1`` (a vote score is below ``M + 1/2`` in size).
    Returns ``(n, 1)`` for two classes without pairs, else ``(n, n_classes)``; read them
    with :func:`labels_from_scores`.

    Example:
        >>> Z = np.array([[[2, -1, 0]]])     # one member; pairs (a, b), (a, c), (b, c): one vote each
        >>> labels_from_scores(class_scores(Z, 3, 3, one_vs_one_pairs(3)), ["a", "b", "c"]).tolist()
        ['b']
    """
    scores = vote_scores(Z, f_max)
    if pairs is not None:
        scores = ovo_scores(scores, [tuple(p) for p in np.asarray(pairs).tolist()], int(n_classes),
                            bound=np.shape(Z)[0] + 1)
    return scores


# ---------------------------------------------------------------------- weight bits
def pack_weights(W) -> np.ndarray:
    """``(M, n_weights)`` ±1 weights as ``(M, ceil(n_weights / 8))`` uint8 (bit 1 = +1).

    Example:
        >>> pack_weights([[1, -1, 1, 1, -1, -1, -1, 1, 1]]).tolist()
        [[177, 128]]
    """
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] < 1 or not np.isin(W, (-1, 1)).all():
        raise ValueError(f"weights must be a (n_members, n_weights) array of -1/+1, got shape {W.shape}")
    return np.packbits(W > 0, axis=1)


def unpack_weights(packed, n_weights: int) -> np.ndarray:
    """Inverse of :func:`pack_weights`: ``(M, n_weights)`` int8 ±1.

    Example:
        >>> unpack_weights(np.array([[177, 128]], dtype=np.uint8), 9).tolist()
        [[1, -1, 1, 1, -1, -1, -1, 1, 1]]
    """
    bits = np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=1, count=int(n_weights))
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


# ---------------------------------------------------------------------- the model
def _int_array(value, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"{name} must be a {ndim}-D integer array, got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.int64)


class PackedModel:
    """A fitted BNN (or committee of BNNs of one topology) with bit-packed weights.

    Args:
        n_inputs: number of input bits of the network.
        edges: ``(E, 2)`` ``(source, neuron)`` rows, grouped by neuron; neurons are numbered
            ``n_inputs, n_inputs + 1, ...`` in topological order; source ``-1`` is the bias.
        outputs: output neuron ids (one for two classes, else one per class, in class order).
        packed_weights: ``(M, ceil(E / 8))`` uint8 (:func:`pack_weights`).
        classes: the class labels (numbers or strings).
        binarizer_features, binarizer_thresholds: optional; input bit ``i`` is
            ``x[binarizer_features[i]] > binarizer_thresholds[i]`` on raw features.
        n_features: raw feature count (default: ``n_inputs``, or ``max(features) + 1``).
        ovo_pairs: one-vs-one models: the class-index pair of each output, in the order of
            :func:`one_vs_one_pairs` (``None``: one output for two classes, else one per class).
        inputs: ``"spin"`` (default: an input bit ``c`` enters every sum as ``2c - 1``) or
            ``"binary"`` (as ``c``: an off input contributes 0 whatever its weight; the forward
            pass then masks the inactive edges, module docstring).

    Every argument is checked (a one-line ``ValueError`` names what is wrong).
    """

    def __init__(self, n_inputs, edges, outputs, packed_weights, classes, *,
                 binarizer_features=None, binarizer_thresholds=None, n_features=None, ovo_pairs=None,
                 inputs="spin"):
        if not isinstance(inputs, str) or inputs not in INPUT_KINDS:
            raise ValueError(f"inputs must be one of {INPUT_KINDS}, got {inputs!r}")
        n_inputs = int(n_inputs)
        if not 1 <= n_inputs <= MAX_INPUTS:
            raise ValueError(f"n_inputs must be in 1..{MAX_INPUTS}, got {n_inputs}")
        edges = _int_array(edges, "edges", 2)
        if edges.shape[1:] != (2,) or not 1 <= len(edges) <= MAX_EDGES:
            raise ValueError(f"edges must have shape (E, 2) with 1 <= E <= {MAX_EDGES}, got {edges.shape}")
        src, dst = edges[:, 0], edges[:, 1]
        if dst[0] != n_inputs or np.any(np.diff(dst) < 0) or np.any(np.diff(dst) > 1):
            raise ValueError("edges must be grouped by neuron, neurons numbered from n_inputs in order")
        n_neurons = int(dst[-1]) - n_inputs + 1
        if n_neurons > MAX_NEURONS:
            raise ValueError(f"{n_neurons} neurons exceed the limit of {MAX_NEURONS}")
        if np.any(src < -1) or np.any(src >= dst):
            raise ValueError("every edge source must be the bias (-1), an input or an earlier neuron")
        # a ternary weight is two consecutive edges from one source; nothing else may repeat
        repeat = np.r_[False, (edges[1:] == edges[:-1]).all(axis=1)]
        if np.any(repeat[1:] & repeat[:-1]) or np.any(src[repeat] < 0) \
                or len(np.unique(edges[~repeat], axis=0)) != int((~repeat).sum()):
            raise ValueError("edges must not repeat a (source, neuron) pair (except as the two "
                             "consecutive edges of a ternary weight)")
        outputs = _int_array(outputs, "outputs", 1)
        n_nodes = n_inputs + n_neurons
        if (len(outputs) < 1 or len(set(outputs.tolist())) != len(outputs)
                or np.any(outputs < n_inputs) or np.any(outputs >= n_nodes)):
            raise ValueError(f"outputs must be distinct neuron ids in {n_inputs}..{n_nodes - 1}")
        packed = np.asarray(packed_weights)
        n_bytes = (len(edges) + 7) // 8
        if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != n_bytes \
                or not 1 <= packed.shape[0] <= MAX_MEMBERS:
            raise ValueError(f"packed_weights must be uint8 of shape (M, {n_bytes}) with 1 <= M <= "
                             f"{MAX_MEMBERS}, got {packed.dtype} {packed.shape}")
        if packed.shape[0] * max(len(edges), n_nodes + 1) > MAX_MODEL_CELLS:
            raise ValueError(f"{packed.shape[0]} members of {len(edges)} weights and {n_nodes} nodes "
                             f"exceed the size limit ({MAX_MODEL_CELLS} cells)")
        if len(edges) % 8 and np.any(packed[:, -1] & ((1 << (8 - len(edges) % 8)) - 1)):
            raise ValueError("packed_weights has bits set beyond the last weight")
        classes = np.asarray(classes)
        if classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes.ravel()):
            classes = classes.astype(str)
        if classes.ndim != 1 or classes.dtype.kind not in _CLASS_KINDS \
                or not 2 <= len(classes) <= MAX_CLASSES or len(np.unique(classes)) != len(classes):
            raise ValueError("classes must be 2 or more distinct numbers or strings")
        pairs = None
        if ovo_pairs is not None:
            pairs = _int_array(ovo_pairs, "ovo_pairs", 2)
            n_pairs = len(classes) * (len(classes) - 1) // 2
            if len(classes) < 3 or pairs.shape != (n_pairs, 2) \
                    or pairs.tolist() != [list(p) for p in one_vs_one_pairs(len(classes))]:
                raise ValueError(f"ovo_pairs must be the class-index pairs (i, j), i < j, of the "
                                 f"{len(classes)} classes in lexicographic order")
        n_expected = len(pairs) if pairs is not None else 1 if len(classes) == 2 else len(classes)
        if len(outputs) != n_expected:
            raise ValueError(f"{len(classes)} classes need {n_expected} output(s), the network has {len(outputs)}")
        if (binarizer_features is None) != (binarizer_thresholds is None):
            raise ValueError("binarizer_features and binarizer_thresholds come together")
        features = thresholds = None
        if binarizer_features is not None:
            features = _int_array(binarizer_features, "binarizer_features", 1)
            thresholds = np.asarray(binarizer_thresholds, dtype=np.float64)
            if features.shape != (n_inputs,) or thresholds.shape != (n_inputs,):
                raise ValueError(f"binarizer features and thresholds need one value per input ({n_inputs})")
            if np.isnan(thresholds).any() or np.any(features < 0):
                raise ValueError("binarizer thresholds must not be NaN and features must be >= 0")
            n_features = int(features.max()) + 1 if n_features is None else int(n_features)
            if not int(features.max()) < n_features <= MAX_INPUTS:
                raise ValueError(f"binarizer features must be < n_features ({n_features} <= {MAX_INPUTS})")
        else:
            n_features = n_inputs if n_features is None else int(n_features)
            if n_features != n_inputs:
                raise ValueError(f"without a binarizer n_features must equal n_inputs ({n_inputs})")
        self.n_inputs, self.n_neurons, self.n_features = n_inputs, n_neurons, n_features
        self.edges, self.outputs, self.packed_weights, self.classes = edges, outputs, packed, classes
        self.binarizer_features, self.binarizer_thresholds, self.ovo_pairs = features, thresholds, pairs
        self.inputs = str(inputs)
        # per neuron: its edge slice and its members' weights as ±1 floats (M, F)
        starts = np.flatnonzero(np.r_[True, np.diff(dst) != 0])
        self.edge_starts = np.r_[starts, len(edges)].astype(np.int64)
        spins = unpack_weights(packed, len(edges)).astype(np.float64)
        self.neuron_spins = [np.ascontiguousarray(spins[:, a:b])
                             for a, b in zip(self.edge_starts[:-1], self.edge_starts[1:])]
        fan_in = np.diff(self.edge_starts)
        self.f_max = int(fan_in[self.outputs - n_inputs].max())

    @property
    def n_members(self) -> int:
        """Committee size ``M``."""
        return self.packed_weights.shape[0]

    @property
    def n_weights(self) -> int:
        return len(self.edges)

    def input_bits(self, X) -> np.ndarray:
        """``X`` as ``(n_samples, n_inputs)`` uint8 bits: thresholded by the binarizer, else read
        as bits {0, 1} or spins {-1, +1} (-1 is bit 0: with ``inputs="binary"``, an off input)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}), got {X.shape}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values")
        if self.binarizer_features is not None:
            return (X[:, self.binarizer_features] > self.binarizer_thresholds).astype(np.uint8)
        values = np.unique(X)
        if np.isin(values, (0, 1)).all():
            return X.astype(np.uint8)
        if np.isin(values, (-1, 1)).all():
            return (X > 0).astype(np.uint8)
        raise ValueError("X must be binary, {0, 1} or {-1, +1} (this model has no binarizer)")

    def output_preactivations(self, X) -> np.ndarray:
        """``(M, n_samples, n_outputs)`` int64 pre-activations of the output neurons.

        ``z = sum(w * v)`` per neuron (module docstring: the same integers as the XNOR-popcount
        the C header computes), the input edges of every member through one matrix product
        with the shared input values, the edges from neurons and the bias member by member."""
        bits = self.input_bits(X)
        n, n_nodes = len(bits), self.n_inputs + self.n_neurons
        M, n_in = self.n_members, self.n_inputs
        out = np.empty((M, n, len(self.outputs)), dtype=np.int64)
        block = max(1, MAX_ROWS_PER_BLOCK // (M * (n_nodes + 1)))
        src = self.edges[:, 0] - n_in
        src[self.edges[:, 0] < 0] = self.n_neurons  # the bias: a value that is always 1
        out_cols = self.outputs - n_in
        for lo in range(0, n, block):
            rows = bits[lo:lo + block].astype(np.float64)
            inputs = rows if self.inputs == "binary" else 2.0 * rows - 1.0     # (rows, n_inputs)
            val = np.ones((M, len(rows), self.n_neurons + 1))                   # neuron spins, bias 1
            Z = np.empty((M, len(rows), self.n_neurons), dtype=np.int64)
            for k, (a, b) in enumerate(zip(self.edge_starts[:-1], self.edge_starts[1:])):
                w, s = self.neuron_spins[k], src[a:b]               # s < 0: an input, s + n_in
                from_input = s < 0
                z = np.einsum("mnf,mf->mn", val[:, :, s[~from_input]], w[:, ~from_input])
                if from_input.any():
                    z += (inputs[:, s[from_input] + n_in] @ w[:, from_input].T).T
                Z[:, :, k] = np.rint(z).astype(np.int64)
                val[:, :, k] = np.where(Z[:, :, k] >= 0, 1.0, -1.0)
            out[:, lo:lo + len(rows)] = Z[:, :, out_cols]
        return out

    def decision_function(self, X) -> np.ndarray:
        """Committee scores (:func:`class_scores`): ``(n_samples,)`` for two classes, else
        ``(n_samples, n_classes)``.
        With one member and no pairs their signs and order are those of ``z``."""
        scores = class_scores(self.output_preactivations(X), self.f_max, len(self.classes), self.ovo_pairs)
        return scores[:, 0] if len(self.classes) == 2 else scores

    def predict(self, X) -> np.ndarray:
        """Class labels by the committee vote (:func:`labels_from_scores`)."""
        return labels_from_scores(self.decision_function(X), self.classes)

    # ------------------------------------------------------------------ file
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the ``.npz`` file (see the module docstring)."""
        arrays = {"format": np.array(FORMAT), "version": np.array(VERSION),
                  "n_inputs": np.array(self.n_inputs), "n_features": np.array(self.n_features),
                  "edges": self.edges.astype(np.int32), "outputs": self.outputs.astype(np.int32),
                  "packed_weights": self.packed_weights, "classes": self.classes}
        if self.binarizer_features is not None:
            arrays["binarizer_features"] = self.binarizer_features.astype(np.int64)
            arrays["binarizer_thresholds"] = self.binarizer_thresholds
        if self.ovo_pairs is not None:
            arrays["ovo_pairs"] = self.ovo_pairs.astype(np.int32)
        if self.inputs != "spin":                   # absent: spins, as in every earlier file
            arrays["inputs"] = np.array(self.inputs)
        return arrays

    def to_bytes(self) -> bytes:
        """The ``.npz`` file's content (:func:`load` reads it back).

        Example:
            >>> m = PackedModel(1, [[0, 1]], [1], pack_weights([[-1]]), classes=["a", "b"])
            >>> load(io.BytesIO(m.to_bytes())).predict([[0], [1]]).tolist()
            ['b', 'a']
        """
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.to_arrays())
        return buf.getvalue()


_REQUIRED = ("format", "version", "n_inputs", "n_features", "edges", "outputs", "packed_weights", "classes")
_OPTIONAL = ("binarizer_features", "binarizer_thresholds", "ovo_pairs", "inputs")


def load(path) -> PackedModel:
    """Read a packed model (a path or a binary file object); one-line ``ValueError`` for a file
    that is not one, ``FileNotFoundError`` for a missing path."""
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "<file>"
    try:
        if isinstance(path, (str, os.PathLike)):
            size = os.path.getsize(path)
        else:
            size = path.seek(0, os.SEEK_END)
            path.seek(0)
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{size} bytes is larger than any packed model (limit {MAX_FILE_BYTES})")
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            keys = set(npz.files)
            missing = [k for k in _REQUIRED if k not in keys]
            unknown = sorted(keys - set(_REQUIRED) - set(_OPTIONAL))
            if missing or unknown:
                raise ValueError(f"missing arrays {missing}" if missing else f"unknown arrays {unknown}")
            total = sum(info.file_size for info in npz.zip.infolist())
            if total > MAX_ARRAY_BYTES:
                raise ValueError(f"its arrays hold {total} bytes (limit {MAX_ARRAY_BYTES})")
            a = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {name!r} does not exist") from None
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{name}: not a qubo-bnn packed model ({reason})") from None
    try:
        if a["format"].shape != () or str(a["format"]) != FORMAT:
            raise ValueError(f"format should be {FORMAT!r}")
        if a["version"].shape != () or a["version"].dtype.kind not in "iu" or int(a["version"]) != VERSION:
            raise ValueError(f"unsupported version {a['version']!r} (this predictor reads {VERSION})")
        for key in ("n_inputs", "n_features"):
            if a[key].shape != () or a[key].dtype.kind not in "iu":
                raise ValueError(f"{key} must be an integer")
        if a["packed_weights"].dtype != np.uint8:
            raise ValueError("packed_weights must be uint8")
        inputs = a.get("inputs")
        if inputs is not None and (inputs.shape != () or inputs.dtype.kind != "U"):
            raise ValueError("inputs must be a string")
        return PackedModel(int(a["n_inputs"]), a["edges"], a["outputs"], a["packed_weights"], a["classes"],
                           binarizer_features=a.get("binarizer_features"),
                           binarizer_thresholds=a.get("binarizer_thresholds"),
                           n_features=int(a["n_features"]), ovo_pairs=a.get("ovo_pairs"),
                           inputs="spin" if inputs is None else str(inputs))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: corrupt qubo-bnn packed model ({exc})") from None
