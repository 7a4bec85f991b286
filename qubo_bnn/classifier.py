"""``BNNClassifier``: a scikit-learn style estimator trained by sampling the training QUBO.

Example:
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> X, y = bars_and_stripes(3)
    >>> clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params={"num_reads": 4, "num_sweeps": 200},
    ...                     random_state=0).fit(X, y)
    >>> clf.predict(X).shape, clf.members_.shape[0] <= 8      # a committee of the 8 best distinct reads
    ((12,), True)
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import dimod
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from .committee import best_distinct, read_weights, shared_reads, stratified_bootstrap
from .encoding import MARGIN_KINDS, SQRT_CAP
from .formulation import TrainingQUBO
from .io import atomic_write_text, to_jsonable
from .ladder import LEXICOGRAPHIC, lexicographic_margin_weight, sparsity_weights
from .multiclass import live_inputs, union_network
from .network import INPUT_KINDS, Network
from .objective import Coefficients
from .predictor import class_scores, labels_from_scores, one_vs_one_pairs
from .samplers import accepted_parameters, make_sampler
from .training import TrainingRun, train_problem
from .validation import check_labels, check_prediction_data, check_training_data

MODEL_FORMAT = "qubo-bnn/classifier"
MODEL_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_MODEL_BYTES = 256 << 20
"""Largest model file :meth:`BNNClassifier.load` reads."""

DEFAULT_SAMPLE_PARAMS = {"num_reads": 16, "num_sweeps": 500}
"""``sample()`` parameters of one call, used with a registry sampler name when ``sampler_params``
is None and the fit is not bagged (on large problems fewer reads, then fewer sweeps:
:func:`default_budget`)."""
DEFAULT_BAG_PARAMS = {"num_reads": 64, "num_sweeps": 125}
"""The default budget of a bagged fit, shared among its members (:func:`~qubo_bnn.committee.shared_reads`):
64 one-read calls of 125 sweeps, the read-sweeps of :data:`DEFAULT_SAMPLE_PARAMS` (chosen on
binary tasks kept apart from the evaluation ones; README, "Bagging")."""
DEFAULT_COMMITTEE_SIZE = 8
"""Members kept from one call's reads when ``committee_size`` is None and the fit is not bagged."""
SWEEP_WORK_BUDGET = 5 * 10**10
"""Row visits (reads × sweeps × weights × distinct rows, as if every proposal walked every row)
above which the default ``num_sweeps`` shrinks: about 400 CPU seconds of the collapsed
annealer at the ~8 ns per visit measured on MNIST 7×7 (benchmarks/bench_fit.py)."""
MIN_DEFAULT_SWEEPS = 50
MIN_DEFAULT_READS = 4
"""Reads a call on the default budget keeps when the budget cuts it: above :data:`SWEEP_WORK_BUDGET`
the reads go first (down to this), then the sweeps (down to :data:`MIN_DEFAULT_SWEEPS`) --
a few longer anneals settle a large problem better than many short ones (README, "Default budget";
``benchmarks/reads_vs_sweeps.py``)."""
PREDICT_BLOCK_CELLS = 1 << 22
"""Bound on ``members * rows * (neurons + 1)``, the int64 cells of each array a prediction's
forward pass holds at once (32 MiB): the rows go through in blocks."""


def sweep_work(n_weights: int, n_rows: int, num_reads: int, num_sweeps: int) -> int:
    """Row visits of a fit (reads × sweeps × weights × distinct rows), the measure of
    :data:`SWEEP_WORK_BUDGET`."""
    return max(1, int(num_reads) * int(num_sweeps) * int(n_weights) * int(n_rows))


def default_budget(n_weights: int, n_rows: int, num_reads: int = DEFAULT_SAMPLE_PARAMS["num_reads"],
                   base: int = DEFAULT_SAMPLE_PARAMS["num_sweeps"]) -> tuple[int, int]:
    """``(num_reads, num_sweeps)`` of a call on the default budget for a problem of ``n_weights``
    weights and ``n_rows`` distinct rows: ``(num_reads, base)`` while the work stays within
    :data:`SWEEP_WORK_BUDGET`; above it, first fewer reads (as many as fit at ``base`` sweeps,
    at least :data:`MIN_DEFAULT_READS`), then fewer sweeps (as many as fit, at least
    :data:`MIN_DEFAULT_SWEEPS`).

    Example:
        >>> default_budget(45, 42), default_budget(12_970, 400)      # default task; 784-16-16-10, k = 40
        ((16, 500), (16, 500))
        >>> default_budget(12_970, 2_000), default_budget(10_538, 5_000)      # ... on 5,000 MNIST images
        ((4, 481), (4, 237))
    """
    per_read_sweep = max(1, int(n_weights) * int(n_rows))
    if sweep_work(n_weights, n_rows, num_reads, base) <= SWEEP_WORK_BUDGET:
        return int(num_reads), int(base)
    reads = min(int(num_reads), max(MIN_DEFAULT_READS, SWEEP_WORK_BUDGET // (int(base) * per_read_sweep)))
    sweeps = min(int(base), max(MIN_DEFAULT_SWEEPS, SWEEP_WORK_BUDGET // (reads * per_read_sweep)))
    return reads, sweeps


def bags_by_default(sampler: dimod.Sampler, n_weights: int, n_rows: int) -> bool:
    """Whether ``bootstrap="auto"`` bags a fit that runs on the estimator's default budget: when
    the sampler is the collapsed annealer on the CPU, whose one-read calls are cheap and run
    side by side (:func:`member_threads`), and the bag's work (:data:`DEFAULT_BAG_PARAMS`) fits
    :data:`SWEEP_WORK_BUDGET` at its full sweep count. Otherwise one call of
    :data:`DEFAULT_SAMPLE_PARAMS`: another sampler would pay a job (a QPU call) per member, a GPU
    anneals many reads at once, and where the budget would cut the sweeps, too few of them
    settle no member.

    Example:
        >>> from qubo_bnn.collapsed import CollapsedSampler
        >>> bags_by_default(CollapsedSampler(), 45, 42), bags_by_default(CollapsedSampler(), 12_970, 2_000)
        (True, False)
    """
    from .collapsed import CollapsedSampler

    return isinstance(sampler, CollapsedSampler) and sampler.device == "cpu" \
        and sweep_work(n_weights, n_rows, **DEFAULT_BAG_PARAMS) <= SWEEP_WORK_BUDGET


PARAMETER_CONSTRAINTS: dict[str, list] = {
    "network": [Network, None],
    "hidden_layer_sizes": ["array-like"],
    "sampler": [str, dimod.Sampler],
    "sampler_params": [dict, None],
    "penalty": [Interval(Real, 0, None, closed="neither"), None],
    "loss_weight": [Interval(Real, 0, None, closed="neither")],
    "margin": [Interval(Real, 0, None, closed="left"), StrOptions({LEXICOGRAPHIC})],
    "margin_neurons": [StrOptions({"all", "hidden", "output", "none"}), "array-like"],
    "margin_cap": [Interval(Integral, 1, None, closed="left"), StrOptions({SQRT_CAP}), None],
    "margin_kind": [StrOptions(set(MARGIN_KINDS))],
    "min_output_margin": [Interval(Integral, 0, None, closed="left")],
    "hard_fit": ["boolean"],
    "weight_bias": ["array-like", None],
    "dropout_rounds": [Interval(Integral, 0, None, closed="left")],
    "dropout_rate": [Interval(Real, 0, 1, closed="left")],
    "dropout_strength": [Interval(Real, 0, None, closed="left")],
    "committee_size": [Interval(Integral, 1, None, closed="left"), None],
    "bootstrap": ["boolean", StrOptions({"auto"})],
    "multi_class": [StrOptions({"ovr", "ovo"})],
    "weights": [StrOptions({"binary", "ternary"})],
    "inputs": [StrOptions(set(INPUT_KINDS))],
    "sparsity": ["boolean"],
    "drop_constant_inputs": ["boolean"],
    "binarize": [str, None],
    "n_jobs": [Integral, None],
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
                n_outputs: int, inputs: Sequence[int] | None = None, ternary: bool = False,
                input_kind: str = "spin") -> Network:
    """``network`` checked against the data, or a dense net sized from it (as MLPClassifier does)
    whose first layer reads ``inputs`` (default: every input) as ``input_kind`` (spins or 0/1
    gates), ternary neurons if asked."""
    if network is None:
        net = Network(n_features, inputs=input_kind)      # refuses an unknown kind
        first = None if inputs is None else list(inputs)
        for width in hidden_layer_sizes:
            net.dense(width, sources=first, ternary=ternary)
            first = None
        return net.dense(n_outputs, sources=first, ternary=ternary)
    if not isinstance(network, Network):
        raise TypeError(f"network must be a qubo_bnn.Network or None, got {type(network).__name__}")
    if input_kind != "spin" and network.inputs != input_kind:
        raise ValueError(f"inputs={input_kind!r} shapes the dense net the estimator builds; with a network "
                         f"of your own, build it as Network(n, inputs={input_kind!r})")
    if network.n_inputs != n_features:
        raise ValueError(f"X has {n_features} features but the network has {network.n_inputs} inputs")
    if len(network.outputs) != n_outputs:
        raise ValueError(f"the data needs {n_outputs} output neuron(s) (one for two classes, one per class "
                         f"otherwise) but the network has {len(network.outputs)}")
    return network


class NetworkPredictionMixin:
    """``decision_function``/``predict`` of a fitted BNN (``network_``, ``weights_``, ``classes_``;
    optionally a committee ``members_``, a one-vs-one decoding ``pairs_`` and an input
    ``binarizer_``)."""

    def _input_bits(self, X) -> np.ndarray:
        binarizer = getattr(self, "binarizer_", None)
        if binarizer is not None:
            return binarizer.transform(X)          # checks the feature names it was fitted with
        if getattr(self, "feature_names_in_", None) is not None:
            return check_prediction_data(X, estimator=self)   # renamed or reordered columns: an error
        return check_prediction_data(X, self.n_features_in_, type(self).__name__)

    def _scores(self, X) -> np.ndarray:
        """Class scores ``(n, 1 or n_classes)`` read by :func:`~qubo_bnn.predictor.labels_from_scores`:
        one network's output pre-activations ``z``, or :func:`~qubo_bnn.predictor.class_scores`."""
        check_is_fitted(self, "weights_")
        Xb = self._input_bits(X)
        net = self.network_
        members = getattr(self, "members_", None)
        members = self.weights_[None] if members is None else members
        outputs = [o - net.n_inputs for o in net.outputs]
        # in blocks of rows, so the members' activations held at once stay bounded
        block = max(1, PREDICT_BLOCK_CELLS // (len(members) * (net.n_neurons + 1)))
        Zo = np.concatenate([net.forward(Xb[lo:lo + block], members)[0][:, :, outputs]
                             for lo in range(0, max(len(Xb), 1), block)], axis=1)   # (M, n, outputs)
        pairs = getattr(self, "pairs_", None)
        if len(members) == 1 and pairs is None:
            return Zo[0].astype(np.float64), 1.0
        f_max = max(net.fan_in(o) for o in net.outputs)
        # vote scores lie on a lattice of step 1 / (2 M (f_max + 1)) (docs of vote_scores)
        return class_scores(Zo, f_max, len(self.classes_), pairs), 1.0 / (2 * len(members) * (f_max + 1))

    def decision_function(self, X) -> np.ndarray:
        """Scores, ``(n_samples,)`` for two classes, else ``(n_samples, n_classes)`` (floats).

        One network (one-vs-rest): its output pre-activations ``z``. A committee or a
        one-vs-one ensemble: the vote scores of :func:`qubo_bnn.predictor.class_scores` (votes,
        ties broken by the summed ``z``), which order the classes as :meth:`predict` does. Two
        classes: the score plus half its resolution, so that, as scikit-learn expects, the
        decision is ``> 0`` exactly where :meth:`predict` gives ``classes_[1]`` (``z >= 0``).
        """
        scores, step = self._scores(X)
        return scores[:, 0] + step / 2 if len(self.classes_) == 2 else scores

    def predict(self, X) -> np.ndarray:
        """Two classes: ``classes_[1]`` where the score is ``>= 0``; else the class of the largest
        score, ties to the lowest class index."""
        return labels_from_scores(self._scores(X)[0], self.classes_)


CALL_SECONDS = 5e-3
"""About the Python time of one bagged member's sampler call around its kernel (its resample's
problem, beta range, judging; 5-10 ms on the 2-core CPU here), which threads cannot overlap."""


def member_threads(sampler: dimod.Sampler, params: Mapping[str, Any], visits: int | None = None) -> int:
    """Threads that run the bootstrap members when ``n_jobs`` is None: one per Numba thread (a
    CPU core) when every call is a single read of the collapsed annealer on the CPU, whose
    one-read kernel runs without the GIL, and its kernel work (``visits``, row visits of one
    call, at :data:`~qubo_bnn.collapsed.VISIT_SECONDS` each) outweighs the Python around it
    (:data:`CALL_SECONDS`); else 1 (one call after another: on a tiny problem threads only
    contend for the GIL).

    Example:
        >>> from qubo_bnn.collapsed import CollapsedSampler
        >>> member_threads(CollapsedSampler(), {"num_reads": 4}), member_threads(dimod.ExactSolver(), {})
        (1, 1)
        >>> member_threads(CollapsedSampler(), {"num_reads": 1}, visits=10_000)     # tiny: in turn
        1
    """
    from .collapsed import VISIT_SECONDS, CollapsedSampler

    if isinstance(sampler, CollapsedSampler) and sampler.device == "cpu" and params.get("num_reads") == 1 \
            and (visits is None or visits * VISIT_SECONDS >= CALL_SECONDS):
        import numba

        return int(numba.get_num_threads())
    return 1


def _summed(infos: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, float]:
    """Each of ``keys`` summed over the run infos of several sampler calls (missing or None: 0)."""
    return {k: sum(info.get(k) or 0 for info in infos) for k in keys}


@dataclass(frozen=True)
class _Fitted:
    """One trained network: its committee (best first), the run and the dropout info."""

    network: Network
    members: np.ndarray
    run: TrainingRun
    info: dict[str, Any]


class BNNClassifier(NetworkPredictionMixin, ClassifierMixin, BaseEstimator):
    """Binary neural network classifier whose weights are the ground state of one QUBO.

    Args:
        network: a :class:`~qubo_bnn.network.Network` with one output (two classes, or each
            pair under ``multi_class="ovo"``) or one per class (one-vs-rest). ``None``: a dense
            net ``inputs -> hidden_layer_sizes -> outputs`` sized at fit time.
        hidden_layer_sizes: hidden widths used when ``network`` is None.
        sampler: a ``dimod.Sampler`` instance or a registry name (:mod:`qubo_bnn.samplers`).
        sampler_params: keyword arguments of ``sampler.sample`` (default for a registry name:
            :data:`DEFAULT_SAMPLE_PARAMS`, or :data:`DEFAULT_BAG_PARAMS` shared among the
            members of a bagged fit; on problems above :data:`SWEEP_WORK_BUDGET` one call of
            fewer reads, then fewer sweeps (:func:`default_budget`); each where the sampler
            takes it, for a registry name or an instance alike).
        penalty: ``A``; ``None`` computes the exact-safe value (docs/FORMULATION.md, Exactness).
        loss_weight: ``B``, weight of the 0-1 training loss.
        margin: ``mu``, weight of the margin reward (0 disables it), or ``"lexicographic"``
            (the default): the objective ladder, training errors first and, among the networks
            with the fewest, the largest total margin (:mod:`qubo_bnn.ladder`).
        margin_neurons: where the margin is rewarded: ``"all"`` (the default), ``"hidden"``,
            ``"output"``, ``"none"`` or a list of neuron ids.
        margin_cap: reward ``min(|z|, margin_cap)`` instead of ``|z|``; ``"sqrt"`` (the
            default): each margin neuron's own ``⌈√F⌉`` (:func:`qubo_bnn.encoding.margin_cap_for`),
            so the chosen network pushes the samples near its boundary out rather than the easy
            ones further; ``None``: uncapped.
        margin_kind: ``"sum"`` (the default): the reward is summed over the samples; ``"min"``:
            each margin neuron's smallest margin over the training rows (Toro Icarte et al.'s
            max-min margin; docs/FORMULATION.md, "Min margin"), capped by ``margin_cap``.
        min_output_margin: hard constraint ``|z_o| >= min_output_margin``.
        hard_fit: fix outputs to their targets instead of paying a loss.
        weight_bias: fixed linear penalties ``h`` on the weights (one per edge).
        dropout_rounds, dropout_rate, dropout_strength: the dropout-inspired scheme
            (:mod:`qubo_bnn.dropout`); ``dropout_rounds=0`` disables it.
        committee_size: the members that vote (:func:`qubo_bnn.predictor.vote_scores`;
            prediction costs one forward pass per member). Unbagged, the best
            ``committee_size`` distinct reads of the sampler (fewest training errors, then lowest
            energy); 1 keeps the single best network. ``None`` (the default): one member per
            read when bagged (64 on the default budget), else :data:`DEFAULT_COMMITTEE_SIZE` (8;
            fewer when the call has fewer distinct reads, e.g. 4 on a problem above the budget).
        bootstrap: bag the committee (:mod:`qubo_bnn.committee`): each of the
            ``committee_size`` members is the network chosen by its own sampler call on a
            bootstrap resample of the training rows (each target pattern keeps its count),
            the calls sharing the read budget (``num_reads`` split among them, on the default
            budget :data:`DEFAULT_BAG_PARAMS`, 64 one-read calls of 125 sweeps; a time limit
            applies to each call); the members may repeat and are ordered as the ladder orders
            networks on the whole training set (fewest errors, then lowest energy: largest
            margin, ...), so ``members_[0]`` (``weights_``) is the ladder's choice among them.
            ``"auto"`` (the default): bagged when the estimator chooses the budget
            (``sampler_params=None``), ``committee_size`` is not 1 and :func:`bags_by_default`
            says so (the collapsed annealer on the CPU, a problem within
            :data:`SWEEP_WORK_BUDGET`); with ``sampler_params`` of your own, one call unless
            ``bootstrap=True``.
        inputs: how input bits enter the sums of the dense net the estimator builds: ``"spin"``
            (bit ``c`` as ``2c - 1``) or ``"binary"`` (as ``c``: an input that is off contributes
            0 whatever its weight, as in the exact-training papers' raw-intensity models;
            :class:`~qubo_bnn.network.Network`). A network of your own reads its inputs as it
            was built (``Network(n, inputs=...)``).
        weights: ``"binary"`` (±1) or ``"ternary"``: with ``network=None``, every weight in
            {-1, 0, +1}, two ±1 edges per source (:class:`~qubo_bnn.network.Network`,
            ``ternary=True``; read them with :meth:`Network.ternary_values
            <qubo_bnn.network.Network.ternary_values>`); for a network of your own, build its
            ternary neurons with ``Network.dense(..., ternary=True)``.
        sparsity: for ternary neurons, the ladder's last rung: among the networks equal on
            errors and margin, the fewest non-zero weights (:func:`qubo_bnn.ladder.sparsity_weights`,
            added to ``h``).
        multi_class: ``"ovr"`` (one output per class, argmax) or ``"ovo"`` (one binary network
            per pair of classes, trained on that pair's samples, majority vote; BeMi-style).
        drop_constant_inputs: with ``network=None``, inputs constant over the training samples
            (of each pair, under ``"ovo"``) are not connected: with ±1 weights they would only
            add an arbitrary bias.
        binarize: ``None`` (X must be bits) or a :func:`qubo_bnn.binarize.make_binarizer` spec
            (``"median"``, ``"mean"``, ``"quantile:K"``, ``"uniform:K"``): thresholds learned on
            the training data turn real-valued features into bits, inside fit and predict.
        n_jobs: work run through joblib (``None``: none; any joblib backend, e.g. Dask or Ray,
            scales it out): the one-vs-one pairs in parallel, the bootstrap members (``None``:
            on threads, :func:`member_threads`), or,
            one-vs-rest, the sampler's reads in batches when the sampler takes ``n_jobs``
            (the collapsed annealer on the CPU; same result as one batch) and
            ``sampler_params`` does not set it.
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
        classes_, network_, n_features_in_, feature_names_in_ (DataFrame input),
        weights_ (``±1`` int8, one per edge: the best network), members_ (``(M, n_weights)``:
        the committee, best first; ``members_[0]`` is ``weights_``), pairs_ (one-vs-one: the
        class-index pair of each output, else None), binarizer_ (fitted, or None),
        fit_info_ (sizes, timings, energy split and broken constraints of the chosen sample),
        sampleset_ (the sampler's own ``dimod.SampleSet``, for dwave-inspector or any
        post-analysis), refined_sampleset_ (the refinement's, or None when it did not run;
        ``fit_info_["refined"]`` says which set the chosen network came from).
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(self, network: Network | None = None, hidden_layer_sizes: Sequence[int] = (4,), *,
                 sampler: Any = "collapsed", sampler_params: Mapping[str, Any] | None = None,
                 penalty: float | None = None, loss_weight: float = 1.0, margin: float | str = LEXICOGRAPHIC,
                 margin_neurons: str | Iterable[int] = "all", margin_cap: int | str | None = SQRT_CAP,
                 margin_kind: str = "sum", min_output_margin: int = 0, hard_fit: bool = False, weight_bias=None,
                 dropout_rounds: int = 0, dropout_rate: float = 0.5, dropout_strength: float = 1.0,
                 committee_size: int | None = None, bootstrap: bool | str = "auto", weights: str = "binary",
                 inputs: str = "spin", sparsity: bool = True,
                 multi_class: str = "ovr",
                 drop_constant_inputs: bool = True,
                 binarize: str | None = None, n_jobs: int | None = None,
                 refine_sweeps: int = 1000, builder: str = "numpy", random_state: int | None = None,
                 verbose: bool = False):
        self.network = network
        self.hidden_layer_sizes = hidden_layer_sizes
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.penalty = penalty
        self.loss_weight = loss_weight
        self.margin = margin
        self.margin_neurons = margin_neurons
        self.margin_cap = margin_cap
        self.margin_kind = margin_kind
        self.min_output_margin = min_output_margin
        self.hard_fit = hard_fit
        self.weight_bias = weight_bias
        self.dropout_rounds = dropout_rounds
        self.dropout_rate = dropout_rate
        self.dropout_strength = dropout_strength
        self.committee_size = committee_size
        self.bootstrap = bootstrap
        self.weights = weights
        self.inputs = inputs
        self.sparsity = sparsity
        self.multi_class = multi_class
        self.drop_constant_inputs = drop_constant_inputs
        self.binarize = binarize
        self.n_jobs = n_jobs
        self.refine_sweeps = refine_sweeps
        self.builder = builder
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y) -> "BNNClassifier":
        """Build the training problem for ``(X, y)``, sample it, keep the best network(s)."""
        self._validate_params()
        binarizer, Xb, y = self._training_bits(X, y)
        classes = np.unique(y)
        sampler, params = self._sampler_and_params()
        if self.multi_class == "ovo" and len(classes) > 2:
            fitted, pairs = self._fit_one_vs_one(Xb, y, classes, sampler, params), one_vs_one_pairs(len(classes))
        else:
            classes, targets = encode_targets(y)
            network = self._network(Xb, targets.shape[1])
            fitted, pairs = self._fit_network(network, Xb, targets, sampler, params, self._weight_bias(network)), None
        # fitted state only after success: a failed refit leaves the previous fit intact
        n_features = Xb.shape[1] if binarizer is None else binarizer.n_features_in_
        self.classes_, self.n_features_in_, self.binarizer_ = classes, n_features, binarizer
        self._set_feature_names(X)
        self.network_, self.members_, self.pairs_ = fitted.network, fitted.members, pairs
        self.weights_ = fitted.members[0]
        self.fit_info_ = {**fitted.run.info, **fitted.info, "committee_size": int(len(fitted.members))}
        self.sampleset_, self.refined_sampleset_ = fitted.run.sampleset, fitted.run.refined_sampleset
        return self

    def _training_bits(self, X, y):
        """``(binarizer or None, X bits, y)`` of the training data."""
        if self.binarize is None:
            Xb, y = check_training_data(X, y)
            return None, Xb, y
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import check_X_y

        from .binarize import make_binarizer

        Xr, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        y = check_labels(y, len(Xr))
        binarizer = make_binarizer(self.binarize).fit(X)
        return binarizer, binarizer.transform(X), y

    def _set_feature_names(self, X) -> None:
        from sklearn.utils.validation import _get_feature_names

        names = _get_feature_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _network(self, Xb: np.ndarray, n_outputs: int) -> Network:
        if self.network is None:          # bounded from the layer widths, before any edge exists
            from .sizing import dense_network_bytes, memory_limit

            need, limit = dense_network_bytes(Xb.shape[1], self.hidden_layer_sizes, n_outputs), memory_limit()
            need *= 2 if self.weights == "ternary" else 1          # two edges per source
            if need > limit:
                widths = "-".join(map(str, [Xb.shape[1], *self.hidden_layer_sizes, n_outputs]))
                raise ValueError(f"a dense net {widths} would take about "
                                 f"{need / 2**30:.1f} GiB before training starts (limit {limit / 2**30:.1f} GiB, half "
                                 "the available memory): use smaller hidden_layer_sizes")
        elif self.weights != "binary":
            raise ValueError(f"weights={self.weights!r} shapes the dense net the estimator builds; with a network "
                             "of your own, build ternary neurons with Network.dense(..., ternary=True)")
        inputs = live_inputs(Xb) if (self.drop_constant_inputs and self.network is None) else None
        return network_for(self.network, self.hidden_layer_sizes, Xb.shape[1], n_outputs, inputs,
                           ternary=self.weights == "ternary", input_kind=self.inputs)

    def training_problem(self, X, y) -> tuple[Network, np.ndarray, np.ndarray, np.ndarray]:
        """Validated ``(network, X bits, classes, targets)`` that :meth:`fit` trains on (one
        output per class, or one for two classes; ``multi_class="ovo"`` trains one such problem
        per pair of classes)."""
        _, Xb, y = self._training_bits(X, y)
        classes, targets = encode_targets(y)
        return self._network(Xb, targets.shape[1]), Xb, classes, targets

    def _sampler_and_params(self) -> tuple[dimod.Sampler, dict[str, Any]]:
        """The sampler and the ``sample()`` parameters of one unbagged call (a bagged fit on the
        default budget takes :meth:`_sample_params` of :data:`DEFAULT_BAG_PARAMS` instead)."""
        if isinstance(self.sampler, str):
            sampler = make_sampler(self.sampler)
        elif isinstance(self.sampler, dimod.Sampler):
            sampler = self.sampler
        else:
            raise TypeError("sampler must be a dimod.Sampler instance or a registry name such as 'neal', "
                            f"got {type(self.sampler).__name__}")
        params = self._sample_params(sampler, DEFAULT_SAMPLE_PARAMS)
        asked_to_bag = isinstance(self.bootstrap, (bool, np.bool_)) and bool(self.bootstrap)
        if self.n_jobs is not None and self.multi_class == "ovr" and not asked_to_bag \
                and "n_jobs" in accepted_parameters(sampler) and "n_jobs" not in params \
                and getattr(sampler, "device", "cpu") == "cpu":
            params["n_jobs"] = int(self.n_jobs)      # one-vs-one: the pairs take the workers; bagging: the members
        return sampler, params

    def _default_budget(self) -> bool:
        """Whether the estimator chooses the sampling budget (``sampler_params=None``)."""
        return self.sampler_params is None

    def _sample_params(self, sampler: dimod.Sampler, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """``sampler_params``, or ``defaults`` where the sampler takes them, plus ``seed`` from
        ``random_state`` when the sampler takes one."""
        accepted = accepted_parameters(sampler)
        if self.sampler_params is not None:
            params = dict(self.sampler_params)
        else:
            params = {k: v for k, v in defaults.items() if k in accepted}
        if self.random_state is not None and "seed" in accepted and "seed" not in params:
            params["seed"] = int(self.random_state)
        return params

    def _bagged(self, whole: TrainingQUBO, sampler: dimod.Sampler) -> bool:
        """Whether the fit of ``whole`` (the training problem of every row) is bagged:
        ``bootstrap`` itself, or for ``"auto"`` :func:`bags_by_default` when the estimator chooses
        the budget (:meth:`_default_budget`) and ``committee_size`` is not 1."""
        if isinstance(self.bootstrap, str):            # "auto"; a committee of one is the single best network
            return self._default_budget() and self.committee_size != 1 and bags_by_default(
                sampler, whole.network.n_weights, whole.n_rows)
        return bool(self.bootstrap)

    def _committee_size(self, bagged: bool, params: Mapping[str, Any]) -> int:
        """``committee_size``, or for None: one member per read when bagged (64 on the default
        budget), else :data:`DEFAULT_COMMITTEE_SIZE`."""
        if self.committee_size is not None:
            return int(self.committee_size)
        reads = params.get("num_reads")
        return int(reads) if bagged and isinstance(reads, Integral) else DEFAULT_COMMITTEE_SIZE

    def _weight_bias(self, network: Network) -> np.ndarray | None:
        if self.weight_bias is None:
            return None
        h = np.asarray(self.weight_bias, dtype=np.float64)
        if h.shape != (network.n_weights,):
            raise ValueError(f"weight_bias must have one value per weight ({network.n_weights}), got shape {h.shape}")
        return h

    def _fit_network(self, network: Network, Xb: np.ndarray, targets: np.ndarray, sampler: dimod.Sampler,
                     params: Mapping[str, Any], h: np.ndarray | None) -> _Fitted:
        """Dropout rounds (if any), then training, then the committee of the best distinct reads."""
        info: dict[str, Any] = {}
        if self.dropout_rounds:
            from .dropout import dropout_penalties

            def train_subnetwork(sub, round_params, h_sub):
                run, _ = self._train(sub.network, Xb, targets, sampler, round_params, h_sub,
                                     margin_neurons=sub.map_neurons(self.margin_neurons))
                return run.weights, run.info

            h, info["dropout"] = dropout_penalties(
                train_subnetwork, network, sampler, params, h,
                rounds=self.dropout_rounds, rate=self.dropout_rate, strength=self.dropout_strength,
                seed=self.random_state, verbose=self.verbose)
        t0 = time.perf_counter()
        whole = self.build_qubo(network, Xb, targets)      # once: the bagging rule, then the fit, read it
        built = time.perf_counter() - t0
        if self._bagged(whole, sampler):
            if self._default_budget():
                params = self._sample_params(sampler, DEFAULT_BAG_PARAMS)
            return self._fit_bagged(network, Xb, targets, whole, sampler, params, h, info)
        run, qubo = self._train(network, Xb, targets, sampler, params, h, qubo=whole)
        run.info["build_seconds"] += built
        reads = run.refined_sampleset if run.info.get("refined") else run.sampleset
        W = read_weights(reads, network.n_weights)
        # the chosen network first, then the other reads of the set it came from, best first
        members = best_distinct(np.vstack([run.weights[None], W]),
                                np.concatenate([[-1], qubo.output_errors(W)]),
                                np.concatenate([[-np.inf], reads.record.energy]), self._committee_size(False, params))
        return _Fitted(network, members, run, info)

    def _fit_bagged(self, network: Network, Xb: np.ndarray, targets: np.ndarray, whole: TrainingQUBO,
                    sampler: dimod.Sampler, params: Mapping[str, Any], h: np.ndarray | None,
                    info: dict[str, Any]) -> _Fitted:
        """``committee_size`` members, each the chosen network of one sampler call on a
        stratified bootstrap resample of the rows (:mod:`qubo_bnn.committee`), ordered as the
        ladder orders networks on the whole training set (``whole``, the problem of every row):
        fewest errors, then lowest energy (largest margin, ...; ties: resample order)."""
        from joblib import Parallel, delayed

        size = self._committee_size(True, params)
        strata = np.unique(targets, axis=0, return_inverse=True)[1].ravel()
        call_params = shared_reads(params, size)

        t0 = time.perf_counter()
        self._say(f"bagging: {size} members, each one sampler call on a bootstrap resample "
                  f"{ {k: v for k, v in call_params.items() if k != 'seed'} }")

        def member(b: int, child: np.random.SeedSequence) -> TrainingRun:
            rng = np.random.default_rng(child)
            rows = stratified_bootstrap(strata, rng)
            seed = int(rng.integers(2**32 - 1))
            run, _ = self._train(network, Xb[rows], targets[rows], sampler,
                                 {**call_params, "seed": seed} if "seed" in call_params else call_params, h,
                                 seed=seed, calls=size, quiet=True, qubo=whole.resample(rows))
            return run

        children = np.random.SeedSequence(self.random_state).spawn(size)
        visits = sweep_work(network.n_weights, whole.n_rows, call_params.get("num_reads", 1),
                            call_params.get("num_sweeps", DEFAULT_BAG_PARAMS["num_sweeps"]))
        jobs = (self.n_jobs, None) if self.n_jobs is not None else \
            (member_threads(sampler, call_params, visits), "threads")
        runs = []
        for run in Parallel(n_jobs=jobs[0], prefer=jobs[1], return_as="generator")(
                delayed(member)(b, c) for b, c in enumerate(children)):
            runs.append(run)                # about eight progress lines, whatever the size
            if len(runs) == size or len(runs) % max(1, size // 8) == 0:
                self._say(f"bagging: {len(runs)}/{size} members fitted ({time.perf_counter() - t0:.1f} s)")
        members = np.stack([r.weights for r in runs]).astype(np.int8)
        c = self.training_coefficients(whole, h)
        split = whole.collapsed_split(members, c.h)
        errors, energies = whole.output_errors(members), c.combine(split)
        order = np.lexsort((energies, errors))      # the ladder's choice on the whole training set first (weights_)
        members, errors, runs = members[order], errors[order], [runs[b] for b in order]
        first = {k: runs[0].info[k] for k in ("sampler", "bqm_built", "num_variables", "num_interactions",
                                              "num_reads", "num_sweeps") if k in runs[0].info}
        totals = _summed([r.info for r in runs], ("sample_seconds", "refine_seconds", "build_seconds"))
        # train_output_errors: each member on the whole training set; "members": each call's own info (on its
        # resample), with the index of that resample
        info = {**info, "bootstrap": True, "member_train_output_errors": [int(e) for e in errors],
                "members": [{**r.info, "resample": int(b)} for r, b in zip(runs, order)]}
        broken = whole.consistent_broken_constraints(members[0])
        chosen = {"num_samples": whole.n_samples, "num_rows": whole.n_rows, "penalty_A": c.A,
                  "energy": float(energies[order[0]]),
                  "energy_split": {k: float(v[order[0]]) for k, v in split.items()},
                  "broken_constraints": len(broken), "broken_examples": [list(b) for b in broken[:10]],
                  "train_output_errors": int(errors[0])}     # the chosen member on the whole training set
        self._say(f"bagging: {len(np.unique(members, axis=0))} distinct members; the best on the whole training "
                  f"set: {chosen['train_output_errors']} output errors, energy {chosen['energy']:.3f}, "
                  f"{chosen['broken_constraints']} broken constraints")
        run = TrainingRun(members[0], {**first, **totals, **chosen}, runs[0].sampleset, runs[0].refined_sampleset)
        return _Fitted(network, members, run, info)

    def _fit_one_vs_one(self, Xb: np.ndarray, y: np.ndarray, classes: np.ndarray, sampler: dimod.Sampler,
                        params: Mapping[str, Any]) -> _Fitted:
        """One binary network per pair of classes (on that pair's samples), joined into one
        network with one output per pair (:func:`qubo_bnn.multiclass.union_network`)."""
        from joblib import Parallel, delayed

        if self.weight_bias is not None:
            raise ValueError("weight_bias is not supported with multi_class='ovo' (one network per pair); "
                             "use multi_class='ovr'")
        pairs = one_vs_one_pairs(len(classes))

        def pair_problem(i, j):
            rows = np.flatnonzero((y == classes[i]) | (y == classes[j]))
            Xp, tp = Xb[rows], (y[rows] == classes[j]).astype(np.int8)[:, None]
            return self._network(Xp, 1), Xp, tp

        problems = [pair_problem(i, j) for i, j in pairs]
        parts = Parallel(n_jobs=self.n_jobs)(delayed(self._fit_network)(net, Xp, tp, sampler, params, None)
                                             for net, Xp, tp in problems)
        size = max(len(p.members) for p in parts)
        members = np.concatenate([np.resize(p.members, (size, p.members.shape[1])) for p in parts], axis=1)
        keys = ("train_output_errors", "raw_train_output_errors", "num_variables", "num_interactions",
                "sample_seconds", "refine_seconds", "build_seconds")
        totals = _summed([p.run.info for p in parts], keys)
        info = {"multi_class": "ovo", "pairs": [p.run.info for p in parts]}
        run = TrainingRun(members[0], {**totals, "num_pairs": len(parts)}, parts[0].run.sampleset)
        return _Fitted(union_network(Xb.shape[1], [p.network for p in parts]), members, run, info)

    def build_qubo(self, network: Network, Xb: np.ndarray, targets: np.ndarray,
                   margin_neurons=None) -> TrainingQUBO:
        """The :class:`TrainingQUBO` this estimator's settings describe (``margin_neurons``
        overrides the estimator's, e.g. renumbered for a dropout subnetwork)."""
        which = self.margin_neurons if margin_neurons is None else margin_neurons
        return TrainingQUBO(network, Xb, targets, hard_fit=self.hard_fit,
                            margin_neurons=which if self.margin else "none",
                            margin_cap=self.margin_cap, min_output_margin=self.min_output_margin,
                            builder=self.builder, margin_kind=self.margin_kind)

    def margin_weight(self, qubo: TrainingQUBO) -> float:
        """``mu`` of ``qubo``: the ``margin`` parameter, or the ladder's weight
        (:func:`~qubo_bnn.ladder.lexicographic_margin_weight`) for ``"lexicographic"``."""
        if self.margin == LEXICOGRAPHIC:
            return lexicographic_margin_weight(qubo, self.loss_weight)
        return float(self.margin)

    def training_coefficients(self, qubo: TrainingQUBO, h: np.ndarray | None = None) -> Coefficients:
        """The coefficients this estimator trains ``qubo`` with: ``penalty``, ``loss_weight``,
        :meth:`margin_weight` and ``h`` (``weight_bias`` or the dropout penalties) plus, for
        ternary neurons, the sparsity rung (:func:`~qubo_bnn.ladder.sparsity_weights`)."""
        network = qubo.network
        mu = self.margin_weight(qubo)
        if self.sparsity and any(network.is_ternary(j) for j in network.neurons):
            h = sparsity_weights(network, mu if mu > 0 else self.loss_weight) + (0.0 if h is None else h)
        return qubo.coefficients(A=self.penalty, B=self.loss_weight, mu=mu, h=h)

    def _train(self, network: Network, Xb: np.ndarray, targets: np.ndarray, sampler: dimod.Sampler,
               params: Mapping[str, Any], h: np.ndarray | None, margin_neurons=None, *,
               seed: int | None = None, calls: int = 1, quiet: bool = False,
               qubo: TrainingQUBO | None = None) -> tuple[TrainingRun, TrainingQUBO]:
        """Build this estimator's training problem for ``network`` and run
        :func:`~qubo_bnn.training.train_problem` (a BQM only for samplers that read one);
        ``seed`` (default ``random_state``) seeds the refinement, and the default sweep budget
        counts the reads of all ``calls`` calls that share it; ``quiet``: no progress of its own
        (a bagged member's); ``qubo``: the problem, when already built."""
        say = (lambda msg: None) if quiet else self._say
        t0 = time.perf_counter()
        if qubo is None:
            qubo = self.build_qubo(network, Xb, targets, margin_neurons)
        coefficients = self.training_coefficients(qubo, h)
        if self.sampler_params is None and "num_sweeps" in params:      # the default budget follows the size
            reads, sweeps = default_budget(network.n_weights, qubo.n_rows, params.get("num_reads", 1) * calls,
                                           base=params["num_sweeps"])
            params = {**params, "num_sweeps": sweeps}
            if "num_reads" in params and calls == 1:     # a bag's calls share the reads: only sweeps shrink
                params["num_reads"] = reads
        t1 = time.perf_counter()
        say(f"training problem: {network.n_weights} weights, {qubo.n_samples} samples in {qubo.n_rows} "
            f"distinct rows ({t1 - t0:.2f} s); sampling with {type(sampler).__name__} {dict(params)}")
        if self.verbose and not quiet and getattr(sampler, "parameters", {}).get("progress") is not None \
                and "progress" not in params:
            params = {**params, "progress": True}       # e.g. the collapsed annealer's bar
        run = train_problem(qubo, coefficients, sampler, params, refine_sweeps=self.refine_sweeps,
                            seed=self.random_state if seed is None else seed, say=say,
                            progress=bool(self.verbose) and not quiet)
        run.info["build_seconds"] = t1 - t0 + run.info.get("build_seconds", 0.0)
        if "num_sweeps" in params:
            run.info["num_sweeps"] = int(params["num_sweeps"])
        return run, qubo

    def _say(self, msg: str) -> None:
        if self.verbose:
            print(f"[qubo-bnn] {msg}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ persistence (JSON, no pickle)
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model as JSON (atomically: no partial file on failure)."""
        check_is_fitted(self, "weights_")
        members = getattr(self, "members_", self.weights_[None])
        binarizer = getattr(self, "binarizer_", None)
        pairs = getattr(self, "pairs_", None)
        names = getattr(self, "feature_names_in_", None)
        doc = {
            "format": MODEL_FORMAT, "version": MODEL_VERSION,
            "network": self.network_.to_dict(),
            "weights": [int(v) for v in self.weights_],
            "members": members.astype(int).tolist(),
            "classes": self.classes_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "feature_names": None if names is None else [str(n) for n in names],
            "pairs": None if pairs is None else [list(map(int, p)) for p in pairs],
            "binarizer": None if binarizer is None else {
                "features": [int(f) for f in binarizer.features_],
                "thresholds": [float(t) for t in binarizer.thresholds_]},
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
        if doc.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"{path}: unsupported model version {doc.get('version')!r} "
                             f"(this qubo-bnn reads {', '.join(map(str, READABLE_VERSIONS))})")
        try:
            clf = cls._from_document(doc)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: corrupt qubo-bnn model ({exc})") from None
        return clf

    @classmethod
    def _from_document(cls, doc: dict[str, Any]) -> "BNNClassifier":
        net = Network.from_dict(doc["network"])
        w = np.asarray(doc["weights"])
        if w.shape != (net.n_weights,) or not np.isin(w, (-1, 1)).all():
            raise ValueError(f"weights must be {net.n_weights} values in {{-1, +1}}")
        members = np.asarray(doc.get("members", [w.tolist()]))
        if members.ndim != 2 or members.shape[1] != net.n_weights or not np.isin(members, (-1, 1)).all() \
                or not (members[0] == w).all():
            raise ValueError("members must be rows of ±1 weights, the first equal to weights")
        classes = np.asarray(doc["classes"])
        pairs = doc.get("pairs")
        if pairs is not None:
            pairs = [tuple(int(c) for c in p) for p in pairs]
            if pairs != one_vs_one_pairs(len(classes)) or len(net.outputs) != len(pairs):
                raise ValueError("pairs do not match the classes and the network's outputs")
        elif len(classes) < 2 or len(net.outputs) != (1 if len(classes) == 2 else len(classes)):
            raise ValueError("classes do not match the network's outputs")
        binarizer = None
        if doc.get("binarizer") is not None:
            from .binarize import ThresholdBinarizer

            b = doc["binarizer"]
            binarizer = ThresholdBinarizer.from_thresholds(b["features"], b["thresholds"], doc["n_features_in"])
            if len(binarizer.thresholds_) != net.n_inputs:
                raise ValueError("the binarizer's bits do not match the network's inputs")
        n_features = int(doc.get("n_features_in", net.n_inputs))
        if binarizer is None and n_features != net.n_inputs:
            raise ValueError("n_features_in does not match the network's inputs")
        params = doc.get("params", {})
        if not isinstance(params, dict) or set(params) - set(PARAMETER_CONSTRAINTS):
            raise ValueError(f"unknown parameters {sorted(set(params) - set(PARAMETER_CONSTRAINTS))}")
        if "hidden_layer_sizes" in params:
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        check_parameters(params)
        # the saved settings, so a refit trains the same way (one-vs-one builds its pair networks anew)
        clf = cls(**{**params, "network": None if pairs is not None else net})
        clf.network_, clf.weights_, clf.classes_ = net, w.astype(np.int8), classes
        clf.members_, clf.pairs_, clf.binarizer_ = members.astype(np.int8), pairs, binarizer
        clf.n_features_in_ = n_features
        if doc.get("feature_names") is not None:
            names = np.asarray(doc["feature_names"], dtype=object)
            if len(names) != n_features:
                raise ValueError("feature_names do not match n_features_in")
            clf.feature_names_in_ = names
        return clf
