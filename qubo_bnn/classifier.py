"""``BNNClassifier``: a scikit-learn style estimator trained by sampling the training QUBO.

Example:
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> X, y = bars_and_stripes(3)
    >>> clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params={"num_reads": 4, "num_sweeps": 200},
    ...                     random_state=0).fit(X, y)
    >>> clf.predict(X).shape
    (12,)
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import dimod
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from .formulation import TrainingQUBO
from .io import atomic_write_text, to_jsonable
from .network import Network
from .samplers import accepted_parameters, make_sampler
from .training import TrainingRun, train_step
from .validation import check_labels, check_prediction_data, check_training_data

MODEL_FORMAT = "qubo-bnn/classifier"
MODEL_VERSION = 1
MAX_MODEL_BYTES = 256 << 20
"""Largest model file :meth:`BNNClassifier.load` reads."""

DEFAULT_SAMPLE_PARAMS = {"num_reads": 16, "num_sweeps": 500}
"""``sample()`` parameters used with a registry sampler name when ``sampler_params`` is None."""


PARAMETER_CONSTRAINTS: dict[str, list] = {
    "network": [Network, None],
    "hidden_layer_sizes": ["array-like"],
    "sampler": [str, dimod.Sampler],
    "sampler_params": [dict, None],
    "penalty": [Interval(Real, 0, None, closed="neither"), None],
    "loss_weight": [Interval(Real, 0, None, closed="neither")],
    "margin": [Interval(Real, 0, None, closed="left")],
    "margin_neurons": [StrOptions({"all", "hidden", "output", "none"}), "array-like"],
    "margin_cap": [Interval(Integral, 1, None, closed="left"), None],
    "min_output_margin": [Interval(Integral, 0, None, closed="left")],
    "hard_fit": ["boolean"],
    "weight_bias": ["array-like", None],
    "dropout_rounds": [Interval(Integral, 0, None, closed="left")],
    "dropout_rate": [Interval(Real, 0, 1, closed="left")],
    "dropout_strength": [Interval(Real, 0, None, closed="left")],
    "refine_sweeps": [Interval(Integral, 0, None, closed="left")],
    "builder": [StrOptions({"numpy", "pyqubo"})],
    "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    "verbose": ["verbose"],
}
"""The one statement of what each :class:`BNNClassifier` parameter accepts; the run-file
sections ``[formulation]``, ``[regularisers]`` and ``[decoding]`` are checked against it too."""


def check_parameters(values: Mapping[str, Any]) -> None:
    """Check some :class:`BNNClassifier` parameters against :data:`PARAMETER_CONSTRAINTS`.

    Raises ``sklearn``'s ``InvalidParameterError`` (a ``ValueError`` and ``TypeError``).

    Example:
        >>> check_parameters({"loss_weight": 2.0, "refine_sweeps": 0})
        >>> check_parameters({"penalty": -5})
        Traceback (most recent call last):
        ...
        sklearn.utils._param_validation.InvalidParameterError: The 'penalty' parameter of BNNClassifier must be a float in the range (0.0, inf) or None. Got -5 instead.
    """
    validate_parameter_constraints({k: PARAMETER_CONSTRAINTS[k] for k in values}, dict(values),
                                   caller_name="BNNClassifier")


def encode_targets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, target bits)``: one output firing for ``classes[1]`` for two classes, else one
    output per class (one-vs-rest).

    Example:
        >>> classes, t = encode_targets(np.array(["b", "a", "b"]))
        >>> classes.tolist(), t.ravel().tolist()
        (['a', 'b'], [1, 0, 1])
    """
    y = check_labels(y, len(y))
    classes = np.unique(y)
    targets = (y[:, None] == classes[None, :]).astype(np.int8)
    return classes, (targets[:, 1:] if len(classes) == 2 else targets)


def network_for(network: Network | None, hidden_layer_sizes: Sequence[int], n_features: int,
                n_outputs: int) -> Network:
    """``network`` checked against the data, or a dense net sized from it (as MLPClassifier does)."""
    if network is None:
        net = Network(n_features)
        for width in hidden_layer_sizes:
            net.dense(width)
        return net.dense(n_outputs)
    if not isinstance(network, Network):
        raise TypeError(f"network must be a qubo_bnn.Network or None, got {type(network).__name__}")
    if network.n_inputs != n_features:
        raise ValueError(f"X has {n_features} features but the network has {network.n_inputs} inputs")
    if len(network.outputs) != n_outputs:
        raise ValueError(f"the data needs {n_outputs} output neuron(s) (one for two classes, one per class "
                         f"otherwise) but the network has {len(network.outputs)}")
    return network


class NetworkPredictionMixin:
    """``decision_function``/``predict`` of a fitted BNN (``network_``, ``weights_``, ``classes_``)."""

    def decision_function(self, X) -> np.ndarray:
        """Output pre-activations: ``(n_samples,)`` for two classes, else ``(n_samples, n_classes)``."""
        check_is_fitted(self, "weights_")
        Xb = check_prediction_data(X, self.n_features_in_, type(self).__name__)
        Z, _ = self.network_.forward(Xb, self.weights_)
        Zo = Z[:, [o - self.network_.n_inputs for o in self.network_.outputs]]
        return Zo[:, 0] if len(self.classes_) == 2 else Zo

    def predict(self, X) -> np.ndarray:
        """Two classes: ``classes_[1]`` where the output fires (``z >= 0``); else argmax of ``z``."""
        z = self.decision_function(X)
        if len(self.classes_) == 2:
            return self.classes_[(z >= 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]


class BNNClassifier(NetworkPredictionMixin, ClassifierMixin, BaseEstimator):
    """Binary neural network classifier whose weights are the ground state of one QUBO.

    Args:
        network: a :class:`~qubo_bnn.network.Network` with one output (two classes) or one per
            class (one-vs-rest). ``None``: a dense net ``n_features -> hidden_layer_sizes ->
            outputs`` sized at fit time.
        hidden_layer_sizes: hidden widths used when ``network`` is None.
        sampler: a ``dimod.Sampler`` instance or a registry name (:mod:`qubo_bnn.samplers`).
        sampler_params: keyword arguments of ``sampler.sample`` (default
            :data:`DEFAULT_SAMPLE_PARAMS` for a registry name, none for an instance).
        penalty: ``A``; ``None`` computes the exact-safe value (docs/FORMULATION.md, Exactness).
        loss_weight: ``B``, weight of the 0-1 training loss.
        margin: ``mu``, weight of the margin reward (0 disables it).
        margin_neurons: where the margin is rewarded: ``"all"``, ``"hidden"``, ``"output"``.
        margin_cap: reward ``min(|z|, margin_cap)`` instead of ``|z|``.
        min_output_margin: hard constraint ``|z_o| >= min_output_margin``.
        hard_fit: fix outputs to their targets instead of paying a loss.
        weight_bias: fixed linear penalties ``h`` on the weights (one per edge).
        dropout_rounds, dropout_rate, dropout_strength: the dropout-inspired scheme
            (:mod:`qubo_bnn.dropout`); ``dropout_rounds=0`` disables it.
        refine_sweeps: with any sampler but the collapsed annealer (and unless the sample set
            says ``info["optimal"]``, as CP-SAT's does once proven), anneal the weights of
            its reads on the collapsed energy (:class:`~qubo_bnn.collapsed.CollapsedSampler`
            started from them) for this many sweeps, and keep the better network; 0 keeps the
            sampler's raw result. ``fit_info_`` reports the raw and refined figures apart, so
            samplers stay comparable on their own.
        builder: ``"numpy"`` or ``"pyqubo"`` (identical BQMs; numpy is much faster).
        random_state: seed for the sampler (when it takes ``seed``) and the dropout masks.
        verbose: print progress.

    Attributes:
        classes_, network_, weights_ (``±1`` int8, one per edge), n_features_in_,
        fit_info_ (sizes, timings, energy split and broken constraints of the chosen sample),
        sampleset_ (the ``dimod.SampleSet`` the chosen network came from: the sampler's own, or
        the refinement's when that won; for dwave-inspector or any post-analysis).
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(self, network: Network | None = None, hidden_layer_sizes: Sequence[int] = (4,), *,
                 sampler: Any = "collapsed", sampler_params: Mapping[str, Any] | None = None,
                 penalty: float | None = None, loss_weight: float = 1.0, margin: float = 0.0,
                 margin_neurons: str | Iterable[int] = "all", margin_cap: int | None = None,
                 min_output_margin: int = 0, hard_fit: bool = False, weight_bias=None,
                 dropout_rounds: int = 0, dropout_rate: float = 0.5, dropout_strength: float = 1.0,
                 refine_sweeps: int = 1000, builder: str = "numpy", random_state: int | None = None, verbose: bool = False):
        self.network = network
        self.hidden_layer_sizes = hidden_layer_sizes
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.penalty = penalty
        self.loss_weight = loss_weight
        self.margin = margin
        self.margin_neurons = margin_neurons
        self.margin_cap = margin_cap
        self.min_output_margin = min_output_margin
        self.hard_fit = hard_fit
        self.weight_bias = weight_bias
        self.dropout_rounds = dropout_rounds
        self.dropout_rate = dropout_rate
        self.dropout_strength = dropout_strength
        self.refine_sweeps = refine_sweeps
        self.builder = builder
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y) -> "BNNClassifier":
        """Compile the training QUBO for ``(X, y)``, sample it, keep the best network."""
        self._validate_params()
        network, Xb, classes, targets = self.training_problem(X, y)
        sampler, params = self._sampler_and_params()
        h = self._weight_bias(network)
        info: dict[str, Any] = {}
        if self.dropout_rounds:
            from .dropout import dropout_penalties

            def train_subnetwork(sub, round_params, h_sub):
                run = self._train(sub.network, Xb, targets, sampler, round_params, h_sub,
                                  margin_neurons=sub.map_neurons(self.margin_neurons))
                return run.weights, run.info

            h, info["dropout"] = dropout_penalties(
                train_subnetwork, network, sampler, params, h,
                rounds=self.dropout_rounds, rate=self.dropout_rate, strength=self.dropout_strength,
                seed=self.random_state, verbose=self.verbose)
        run = self._train(network, Xb, targets, sampler, params, h)
        # fitted state only after success: a failed refit leaves the previous fit intact
        self.classes_, self.n_features_in_, self.network_ = classes, Xb.shape[1], network
        self.weights_, self.fit_info_, self.sampleset_ = run.weights, {**run.info, **info}, run.sampleset
        return self

    def training_problem(self, X, y) -> tuple[Network, np.ndarray, np.ndarray, np.ndarray]:
        """Validated ``(network, X bits, classes, targets)`` that :meth:`fit` trains on."""
        Xb, y = check_training_data(X, y)
        classes, targets = encode_targets(y)
        return network_for(self.network, self.hidden_layer_sizes, Xb.shape[1], targets.shape[1]), Xb, classes, targets

    def _sampler_and_params(self) -> tuple[dimod.Sampler, dict[str, Any]]:
        if isinstance(self.sampler, str):
            sampler = make_sampler(self.sampler)
            params = dict(DEFAULT_SAMPLE_PARAMS if self.sampler_params is None else self.sampler_params)
        elif isinstance(self.sampler, dimod.Sampler):
            sampler, params = self.sampler, dict(self.sampler_params or {})
        else:
            raise TypeError("sampler must be a dimod.Sampler instance or a registry name such as 'neal', "
                            f"got {type(self.sampler).__name__}")
        accepted = accepted_parameters(sampler)
        if self.sampler_params is None:  # defaults only where this sampler takes them
            params = {k: v for k, v in params.items() if k in accepted}
        if self.random_state is not None and "seed" in accepted and "seed" not in params:
            params["seed"] = int(self.random_state)
        return sampler, params

    def _weight_bias(self, network: Network) -> np.ndarray | None:
        if self.weight_bias is None:
            return None
        h = np.asarray(self.weight_bias, dtype=np.float64)
        if h.shape != (network.n_weights,):
            raise ValueError(f"weight_bias must have one value per weight ({network.n_weights}), got shape {h.shape}")
        return h

    def build_qubo(self, network: Network, Xb: np.ndarray, targets: np.ndarray,
                   margin_neurons=None) -> TrainingQUBO:
        """The :class:`TrainingQUBO` this estimator's settings describe (``margin_neurons``
        overrides the estimator's, e.g. renumbered for a dropout subnetwork)."""
        which = self.margin_neurons if margin_neurons is None else margin_neurons
        return TrainingQUBO(network, Xb, targets, hard_fit=self.hard_fit,
                            margin_neurons=which if self.margin else "none",
                            margin_cap=self.margin_cap, min_output_margin=self.min_output_margin,
                            builder=self.builder)

    def _train(self, network: Network, Xb: np.ndarray, targets: np.ndarray, sampler: dimod.Sampler,
               params: Mapping[str, Any], h: np.ndarray | None, margin_neurons=None) -> TrainingRun:
        """Build this estimator's QUBO for ``network`` and run :func:`~qubo_bnn.training.train_step`."""
        t0 = time.perf_counter()
        if self.verbose and len(Xb) > 2000:                  # a build that can take seconds
            from .sizing import estimate_size

            n_vars, n_couplings, _ = estimate_size(network, len(np.unique(Xb, axis=0)), self.hard_fit)
            self._say(f"building the QUBO: at most ~{n_vars:,} variables, ~{n_couplings:,} couplings")
        qubo = self.build_qubo(network, Xb, targets, margin_neurons)
        bqm = qubo.to_bqm(A=self.penalty, B=self.loss_weight, mu=self.margin, h=h)
        t1 = time.perf_counter()
        self._say(f"QUBO: {bqm.num_variables} variables, {bqm.num_interactions} couplings "
                  f"({qubo.n_samples} samples in {qubo.n_rows} distinct rows; built in {t1 - t0:.2f} s); "
                  f"sampling with {type(sampler).__name__} {dict(params)}")
        if self.verbose and getattr(sampler, "parameters", {}).get("progress") is not None \
                and "progress" not in params:
            params = {**params, "progress": True}       # e.g. the collapsed annealer's bar
        run = train_step(qubo, bqm, sampler, params, refine_sweeps=self.refine_sweeps,
                         seed=self.random_state, say=self._say, progress=bool(self.verbose))
        run.info["build_seconds"] = t1 - t0
        return run

    def _say(self, msg: str) -> None:
        if self.verbose:
            print(f"[qubo-bnn] {msg}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ persistence (JSON, no pickle)
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model as JSON (atomically: no partial file on failure)."""
        check_is_fitted(self, "weights_")
        doc = {
            "format": MODEL_FORMAT, "version": MODEL_VERSION,
            "network": self.network_.to_dict(),
            "weights": [int(v) for v in self.weights_],
            "classes": self.classes_.tolist(),
            "params": to_jsonable({k: v for k, v in self.get_params().items()
                                   if k not in ("network", "weight_bias")
                                   and not (k == "sampler" and not isinstance(v, str))}),
        }
        atomic_write_text(os.fspath(path), json.dumps(doc, indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BNNClassifier":
        """Read a model written by :meth:`save`; clear errors for missing or corrupt files."""
        path = os.fspath(path)
        try:
            size = os.path.getsize(path)
            if size > MAX_MODEL_BYTES:   # bounded before anything is read
                raise ValueError(f"{path}: {size} bytes is larger than any qubo-bnn model "
                                 f"(limit {MAX_MODEL_BYTES}); not a model file?")
            with open(path) as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            raise FileNotFoundError(f"model file {path!r} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"{path}: not a qubo-bnn model (corrupt JSON: {type(exc).__name__})") from None
        if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not a qubo-bnn model file (format should be {MODEL_FORMAT!r})")
        if doc.get("version") != MODEL_VERSION:
            raise ValueError(f"{path}: unsupported model version {doc.get('version')!r} (this qubo-bnn reads {MODEL_VERSION})")
        try:
            net = Network.from_dict(doc["network"])
            w = np.asarray(doc["weights"])
            if w.shape != (net.n_weights,) or not np.isin(w, (-1, 1)).all():
                raise ValueError(f"weights must be {net.n_weights} values in {{-1, +1}}")
            classes = np.asarray(doc["classes"])
            if len(classes) < 2 or len(net.outputs) != (1 if len(classes) == 2 else len(classes)):
                raise ValueError("classes do not match the network's outputs")
            params = doc.get("params", {})
            if not isinstance(params, dict) or set(params) - set(PARAMETER_CONSTRAINTS):
                raise ValueError(f"unknown parameters {sorted(set(params) - set(PARAMETER_CONSTRAINTS))}")
            if "hidden_layer_sizes" in params:
                params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            check_parameters(params)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: corrupt qubo-bnn model ({exc})") from None
        clf = cls(**{**params, "network": net})   # the saved settings, so a refit trains the same way
        clf.network_, clf.weights_, clf.classes_ = net, w.astype(np.int8), classes
        clf.n_features_in_ = net.n_inputs
        return clf
