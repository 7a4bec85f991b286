"""Gradient-trained baseline: a binary neural network trained with the straight-through estimator.

:class:`STEClassifier` trains the *same* kind of network as :class:`~qubo_bnn.classifier.BNNClassifier`
(any :class:`~qubo_bnn.network.Network`: ``±1`` weights, sign activations with ``sign(0) = +1``,
inputs read as spins) by plain-numpy gradient descent, so the QUBO results can be compared with the
standard way of training BNNs:

* latent real weights ``W`` in ``[-1, 1]``, binarised ``w = sign(W)`` (``sign(0) = +1``) for the
  forward pass; the gradient with respect to ``w`` is applied to ``W`` (straight-through), and ``W``
  is clipped back to ``[-1, 1]`` after every step;
* forward: ``z_j = Σ w_e a_src``, ``a_j = sign(z_j)``; the sign does not change when ``z_j`` is divided
  by ``s_j = sqrt(F_j)`` (``F_j`` the fan-in), which only sets the scale of the backward pass;
* backward through a hidden sign: the gradient of ``hardtanh(z_j / s_j)``, i.e. ``1/s_j`` where
  ``|z_j| <= s_j`` and 0 elsewhere;
* loss on the output pre-activations: hinge ``mean(max(0, 1 - t·z_o/s_o))`` with ``t = ±1``
  (``loss="hinge"``, default) or logistic ``mean(log(1 + exp(-t·z_o/s_o)))`` (``loss="log"``);
* Adam on mini-batches, seeded by ``random_state`` (initialisation and shuffling);
* the binarised weights with the lowest training error seen (ties: lowest training loss) are kept
  (``keep_best=True``); this looks at training data only.

Targets follow :class:`~qubo_bnn.classifier.BNNClassifier`: one output firing for ``classes_[1]``
with two classes, one output per class (one-vs-rest, prediction by largest ``z``) otherwise. The
fitted ``weights_`` are ``±1`` int8, one per edge of ``network_.edges``, usable with
:meth:`Network.forward <qubo_bnn.network.Network.forward>`.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w_star = rng.choice([-1, 1], 9)                  # planted ±1 perceptron, 8 inputs + bias
    >>> X = rng.integers(0, 2, (100, 8)); y = (2 * X - 1) @ w_star[:8] + w_star[8] >= 0
    >>> clf = STEClassifier(hidden_layer_sizes=(), epochs=50, random_state=0).fit(X, y)
    >>> clf.score(X, y), clf.weights_.tolist() == w_star.tolist()
    (1.0, True)
"""
from __future__ import annotations

from collections.abc import Sequence
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .classifier import NetworkPredictionMixin, encode_targets, network_for
from .network import Network
from .validation import check_training_data

__all__ = ["STEClassifier", "binarise"]


def binarise(W: np.ndarray) -> np.ndarray:
    """``sign(W)`` as int8 with ``sign(0) = +1``.

    Example:
        >>> binarise(np.array([-0.3, 0.0, 0.2])).tolist()
        [-1, 1, 1]
    """
    return np.where(np.asarray(W) >= 0, 1, -1).astype(np.int8)


class _Plan:
    """Per-neuron index arrays of a network, precomputed once for forward/backward passes."""

    def __init__(self, net: Network):
        self.n_inputs = net.n_inputs
        self.neurons = net.neurons
        slices = net.edge_slices()
        self.items = []
        for j in self.neurons:
            srcs = np.asarray(net.edge_sources(j), dtype=np.int64)   # a ternary neuron: each twice
            sl = slices[j]
            w_src = np.arange(sl.start, sl.start + len(srcs))
            bias = sl.stop - 1 if net.has_bias(j) else None
            self.items.append((j, srcs, w_src, bias, float(np.sqrt(net.fan_in(j))), not net.is_ternary(j)))
        self.out_cols = [o - net.n_inputs for o in net.outputs]
        self.scale = np.array([it[4] for it in self.items])
        self.n_nodes = net.n_inputs + net.n_neurons

    def forward(self, S: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(Z, act)``: pre-activations ``(n, n_neurons)`` and all node values ``(n, n_nodes)``."""
        n = S.shape[0]
        act = np.empty((n, self.n_nodes), dtype=np.float64)
        act[:, : self.n_inputs] = S
        Z = np.empty((n, len(self.items)), dtype=np.float64)
        for k, (j, srcs, w_src, bias, _, _) in enumerate(self.items):
            z = act[:, srcs] @ w[w_src] if len(srcs) else np.zeros(n)
            if bias is not None:
                z = z + w[bias]
            Z[:, k] = z
            act[:, j] = np.where(z >= 0, 1.0, -1.0)
        return Z, act

    def backward(self, Z: np.ndarray, act: np.ndarray, w: np.ndarray, dZ_out: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the weights given ``dL/dz`` of the outputs (STE through hidden signs)."""
        n = Z.shape[0]
        g_act = np.zeros((n, self.n_nodes))
        g_w = np.zeros_like(w, dtype=np.float64)
        out_pos = {c: i for i, c in enumerate(self.out_cols)}
        for k in range(len(self.items) - 1, -1, -1):
            j, srcs, w_src, bias, s, unique = self.items[k]
            # hardtanh'(z/s) / s, the straight-through gradient of a_j = sign(z_j)
            dz = g_act[:, j] * ((np.abs(Z[:, k]) <= s) / s)
            if k in out_pos:
                dz = dz + dZ_out[:, out_pos[k]]
            if len(srcs):
                g_w[w_src] += act[:, srcs].T @ dz
                if unique:
                    g_act[:, srcs] += dz[:, None] * w[w_src][None, :]
                else:             # a ternary neuron reads each source twice: accumulate both
                    np.add.at(g_act.T, srcs, (dz[:, None] * w[w_src][None, :]).T)
            if bias is not None:
                g_w[bias] += dz.sum()
        return g_w


class STEClassifier(NetworkPredictionMixin, ClassifierMixin, BaseEstimator):
    """Binary neural network trained by straight-through-estimator gradients (module docstring).

    Args:
        network: a :class:`Network` with one output (two classes) or one per class; ``None`` builds
            a dense ``n_features -> hidden_layer_sizes -> outputs`` net at fit time.
        hidden_layer_sizes: hidden widths when ``network`` is None (``()``: a single perceptron).
        epochs: passes over the training set.
        lr: Adam step size on the latent weights.
        batch_size: mini-batch size (``None``: full batch).
        loss: ``"hinge"`` or ``"log"`` on scaled output pre-activations.
        keep_best: keep the binarised weights with the lowest training error seen.
        inputs: ``"spin"`` or ``"binary"`` (0/1 gates) for the dense net built when ``network`` is
            None (:class:`~qubo_bnn.classifier.BNNClassifier`'s parameter of the same name); a
            network of your own reads its inputs as it was built.
        random_state: seed of the initialisation and of the mini-batch order.

    Attributes:
        classes_, network_, weights_ (``±1`` int8, one per edge), latent_weights_, n_features_in_,
        history_ (per-epoch training loss and error of the binarised net), best_epoch_.

    Example:
        >>> from qubo_bnn.datasets import load_digits_task
        >>> Xtr, Xte, ytr, yte = load_digits_task(classes=(3, 8), n_train=60, seed=0)
        >>> clf = STEClassifier(hidden_layer_sizes=(4,), epochs=100, random_state=0).fit(Xtr, ytr)
        >>> clf.weights_.shape, clf.score(Xtr, ytr) > 0.9
        ((73,), True)
    """

    def __init__(self, network: Network | None = None, hidden_layer_sizes: Sequence[int] = (4,), *,
                 epochs: int = 200, lr: float = 0.01, batch_size: int | None = 32, loss: str = "hinge",
                 keep_best: bool = True, inputs: str = "spin", random_state: int | None = None):
        self.network = network
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.loss = loss
        self.keep_best = keep_best
        self.inputs = inputs
        self.random_state = random_state

    def _loss_grad(self, z: np.ndarray, T: np.ndarray, scale: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean loss over samples (summed over outputs) and ``dL/dz`` for output pre-activations."""
        m = T * z / scale
        n = z.shape[0]
        if self.loss == "hinge":
            active = m < 1
            return float(np.maximum(0.0, 1 - m).sum() / n), -(active * T / scale) / n
        if self.loss == "log":
            loss = np.logaddexp(0.0, -m).sum() / n
            return float(loss), -(T / scale) * (0.5 * (1 - np.tanh(m / 2))) / n   # sigmoid(-m)
        raise ValueError(f"loss must be 'hinge' or 'log', got {self.loss!r}")

    def fit(self, X, y) -> "STEClassifier":
        """Train by Adam on the latent weights; keeps ``±1`` weights in ``weights_``."""
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        Xb, y = check_training_data(X, y)
        classes, bits = encode_targets(y)
        T = 2.0 * bits - 1.0
        net = network_for(self.network, self.hidden_layer_sizes, Xb.shape[1], T.shape[1], input_kind=self.inputs)
        net.validate()
        S = net.input_values(Xb).astype(np.float64)
        plan = _Plan(net)
        out_scale = plan.scale[plan.out_cols][None, :]
        rng = np.random.default_rng(self.random_state)
        W = rng.uniform(-1.0, 1.0, net.n_weights)
        m1, m2 = np.zeros_like(W), np.zeros_like(W)
        b1, b2, eps = 0.9, 0.999, 1e-8
        n = S.shape[0]
        bs = n if self.batch_size is None else min(int(self.batch_size), n)

        def evaluate(w: np.ndarray) -> tuple[int, float]:
            Z, _ = plan.forward(S, w)
            z = Z[:, plan.out_cols]
            pred_err = self._errors(z, T)
            return pred_err, self._loss_grad(z, T, out_scale)[0]

        best_w, best_key, best_epoch = binarise(W), evaluate(binarise(W).astype(np.float64)), 0
        history, step = [], 0
        for epoch in range(1, int(self.epochs) + 1):
            order = rng.permutation(n)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                w = binarise(W).astype(np.float64)
                Z, act = plan.forward(S[idx], w)
                _, dz = self._loss_grad(Z[:, plan.out_cols], T[idx], out_scale)
                g = plan.backward(Z, act, w, dz)
                step += 1
                m1 = b1 * m1 + (1 - b1) * g
                m2 = b2 * m2 + (1 - b2) * g * g
                W = W - self.lr * (m1 / (1 - b1**step)) / (np.sqrt(m2 / (1 - b2**step)) + eps)
                np.clip(W, -1.0, 1.0, out=W)
            wb = binarise(W)
            err, loss = evaluate(wb.astype(np.float64))
            history.append({"epoch": epoch, "train_errors": err, "train_loss": loss})
            if (err, loss) < best_key:
                best_w, best_key, best_epoch = wb, (err, loss), epoch
        final = binarise(W)
        self.weights_ = best_w if self.keep_best else final
        self.best_epoch_ = best_epoch if self.keep_best else int(self.epochs)
        self.latent_weights_ = W
        self.history_ = history
        self.classes_ = classes
        self.network_ = net
        self.n_features_in_ = Xb.shape[1]
        return self

    def _errors(self, z: np.ndarray, T: np.ndarray) -> int:
        """Misclassified samples (same decision rule as :meth:`predict`)."""
        if T.shape[1] == 1:
            return int(((z[:, 0] >= 0) != (T[:, 0] > 0)).sum())
        return int((np.argmax(z, axis=1) != np.argmax(T, axis=1)).sum())
