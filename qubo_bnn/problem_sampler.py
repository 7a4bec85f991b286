"""The contract of samplers that know the training problem, written once.

A :class:`TrainingProblemSampler` works on the training problem itself (a
:class:`~qubo_bnn.formulation.TrainingQUBO` and its :class:`~qubo_bnn.objective.Coefficients`),
not on a BQM: subclasses implement

    sample_problem(problem, coefficients, **params) -> ProblemSamples

returning the reads' weights (±1, ``(reads, n_weights)``), their energies (the energy of each
read's consistent QUBO state: the collapsed energy, docs/FORMULATION.md "Collapsed energy") and
an ``info`` dict (``optimal: True`` where the result is proved optimal). This module gives them,
once, dimod's ``sample(bqm, **params)``: the problem is found behind the BQM with
:func:`~qubo_bnn.objective.origin_of`, every read becomes its full consistent QUBO state
(:meth:`~qubo_bnn.formulation.TrainingQUBO.consistent_state`), and the reported energies are
checked against ``bqm.energies``. The collapsed annealer, CP-SAT and the CQM sampler share it;
:func:`~qubo_bnn.training.train_problem` calls ``sample_problem`` directly, so no BQM is built.

Example:
    >>> import numpy as np
    >>> from qubo_bnn import Network, TrainingQUBO
    >>> class AllPlus(TrainingProblemSampler):         # every weight +1, one read
    ...     parameters, properties = {}, {}
    ...     def sample_problem(self, problem, coefficients):
    ...         W = np.ones((1, problem.n_weights), dtype=np.int8)
    ...         return ProblemSamples(W, coefficients.combine(problem.collapsed_split(W, coefficients.h)), {})
    >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
    >>> bqm = q.to_bqm()
    >>> ss = AllPlus().sample(bqm)                      # full QUBO states, BQM energies
    >>> len(ss.variables) == bqm.num_variables, float(ss.first.energy)
    (True, 1.0)
    >>> AllPlus().sample_problem(q, q.coefficients()).to_sampleset().variables   # weights only
    Variables(['w0', 'w1', 'w2'])
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dimod
import numpy as np

from .objective import Coefficients, origin_of

if TYPE_CHECKING:   # pragma: no cover - annotations only
    from .formulation import TrainingQUBO

__all__ = ["ProblemSamples", "TrainingProblemSampler", "initial_weights", "INITIAL_STATES_GENERATORS"]

INITIAL_STATES_GENERATORS = ("random", "tile", "none")
"""How :func:`initial_weights` fills reads beyond the given initial states (as dimod's)."""


@dataclass(frozen=True)
class ProblemSamples:
    """What :meth:`TrainingProblemSampler.sample_problem` returns.

    ``weights``: ``(reads, n_weights)`` int8 in {-1, +1}; ``energies``: ``(reads,)`` the energy of
    each read's consistent QUBO state; ``info``: the sampler's info (``optimal`` where proved).
    """

    weights: np.ndarray
    energies: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        W = np.atleast_2d(np.asarray(self.weights))
        if W.ndim != 2 or not np.isin(W, (-1, 1)).all():
            raise ValueError("weights must be a (reads, n_weights) array of -1/+1")
        E = np.asarray(self.energies, dtype=np.float64).reshape(-1)
        if len(E) != len(W):
            raise ValueError(f"{len(E)} energies for {len(W)} reads")
        object.__setattr__(self, "weights", W.astype(np.int8))
        object.__setattr__(self, "energies", E)

    def to_sampleset(self) -> dimod.SampleSet:
        """A :class:`dimod.SampleSet` over the weight variables only (labels ``"w0"``, ``"w1"``, ...,
        BINARY, ``ω = (w + 1) / 2``) with these energies and info: a run without a BQM."""
        labels = [f"w{e}" for e in range(self.weights.shape[1])]
        return dimod.SampleSet.from_samples(((self.weights > 0).astype(np.int8), labels), dimod.BINARY,
                                            energy=self.energies, info=dict(self.info), sort_labels=False)


def initial_weights(problem: "TrainingQUBO", initial_states, num_reads: int | None, generator: str,
                    rng: np.random.Generator) -> np.ndarray:
    """``(reads, n_weights)`` ±1 start weights read from ``initial_states`` (any samples-like that
    holds the weight variables ``"w{e}"``, BINARY or SPIN; other variables are ignored), extended
    to ``num_reads`` by ``generator`` (``"random"``, ``"tile"`` or ``"none"``, as dimod's)."""
    if generator not in INITIAL_STATES_GENERATORS:
        raise ValueError(f"initial_states_generator must be one of {INITIAL_STATES_GENERATORS}, got {generator!r}")
    n = problem.n_weights
    if initial_states is None:
        W = np.zeros((0, n), dtype=np.int8)
    else:
        arr, labels = dimod.as_samples(initial_states)
        pos = {lb: i for i, lb in enumerate(labels)}
        missing = [f"w{e}" for e in range(n) if f"w{e}" not in pos]
        if missing and len(arr):
            raise ValueError(f"initial_states lack weight variables of this problem, e.g. {missing[:3]}")
        W = np.where(np.asarray(arr)[:, [pos[f"w{e}"] for e in range(n)]] > 0, 1, -1).astype(np.int8) \
            if len(arr) else np.zeros((0, n), dtype=np.int8)
    if num_reads is None:
        num_reads = max(len(W), 1)
    if len(W) >= num_reads:
        return W[:num_reads].copy()
    if generator == "none":
        raise ValueError(f"num_reads = {num_reads} but only {len(W)} initial states, and "
                         "initial_states_generator = 'none'")
    if generator == "tile" and len(W):
        return np.tile(W, (-(-num_reads // len(W)), 1))[:num_reads]
    extra = rng.choice(np.array([-1, 1], dtype=np.int8), (num_reads - len(W), n))
    return np.concatenate([W, extra])


class TrainingProblemSampler(dimod.Sampler):
    """A dimod sampler for training BQMs that works on the training problem (module docstring).

    Subclasses implement :meth:`sample_problem`, ``parameters`` and ``properties``.
    """

    @abc.abstractmethod
    def sample_problem(self, problem: "TrainingQUBO", coefficients: Coefficients, **params: Any) -> ProblemSamples:
        """Sample the training problem ``problem`` with ``coefficients``; no BQM is needed."""

    def sample(self, bqm: dimod.BinaryQuadraticModel, **params: Any) -> dimod.SampleSet:
        """Sample a BQM that :meth:`TrainingQUBO.to_bqm` emitted: full, consistent QUBO states
        with the BQM's energies (checked against :meth:`sample_problem`'s).

        Raises:
            ValueError: ``bqm`` was not emitted by ``TrainingQUBO.to_bqm`` (or was modified since).
        """
        try:
            origin = origin_of(bqm)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__} samples training BQMs only: {exc}") from None
        q = origin.problem
        result = self.sample_problem(q, origin.coefficients, **params)
        states = q.consistent_state(result.weights)
        sampleset = dimod.SampleSet.from_samples_bqm((states, q.labels), bqm, info=dict(result.info),
                                                     sort_labels=False)
        # the sampler's energies and the BQM's must agree: the BQM is the one to_bqm emitted.
        # The BQM's own rounding grows with the size of its biases, so the tolerance does too.
        lin, (_, _, quad), offset = bqm.to_numpy_vectors()
        scale = 1.0 + abs(offset) + np.abs(lin).sum() + np.abs(quad).sum()
        if not np.allclose(sampleset.record.energy, result.energies, rtol=0, atol=1e-9 * scale):
            raise ValueError("this training BQM's biases no longer match its TrainingQUBO (was it modified "
                             "after to_bqm?); sample the BQM as emitted")
        return sampleset
