"""One training step: sample the training problem, judge every read by its weights, refine, choose.

The estimator, the dropout-inspired rounds and the benchmarks all train through
:func:`train_problem` (or :func:`train_step`, the same on a BQM already emitted):

1. **sample**: a training-aware sampler
   (:class:`~qubo_bnn.problem_sampler.TrainingProblemSampler`: collapsed, cpsat, cqm-hybrid) gets
   the problem itself, and **no BQM is built**; any other dimod sampler gets the BQM
   (``TrainingQUBO.to_bqm``, behind its size guard; parameters checked by
   :func:`~qubo_bnn.samplers.sample_bqm`);
2. **judge** every read by the forward pass of its decoded weights: the trained network is its
   weights (docs/FORMULATION.md, "Decoding"); the best read has the fewest training errors,
   ties broken by energy. Without a BQM, the energy, its split and the broken constraints are
   those of the read's consistent state, from the cost tables
   (:meth:`~qubo_bnn.formulation.TrainingQUBO.collapsed_split`,
   :meth:`~qubo_bnn.formulation.TrainingQUBO.consistent_broken_constraints`);
3. **refine**: unless the sampler is the collapsed annealer itself or says it proved its result
   optimal, anneal the weights of the 16 best reads on the collapsed energy
   (:meth:`CollapsedSampler.sample_problem <qubo_bnn.collapsed.CollapsedSampler.sample_problem>`
   started from them, no BQM) and keep the better network. The raw figures stay in the info
   beside the refined ones, so samplers remain comparable.

:class:`TrainingRun` keeps the sampler's own sample set (``sampleset``: full QUBO states when the
sampler read a BQM, e.g. for dwave-inspector after a QPU run) and the refinement's
(``refined_sampleset``). A sample set of a run without a BQM holds the weight variables only
(labels ``"w0"``, ``"w1"``, ..., BINARY, ``ω = (w + 1) / 2``) with the collapsed energies,
which are the energies of the reads' consistent QUBO states.

Example:
    >>> from qubo_bnn import Network, TrainingQUBO
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> from qubo_bnn.samplers import make_sampler
    >>> X, y = bars_and_stripes(3)
    >>> q = TrainingQUBO(Network(9).dense(2).dense(1), X, y)
    >>> run = train_problem(q, q.coefficients(), make_sampler("neal"), {"num_reads": 4, "num_sweeps": 100,
    ...                     "seed": 1}, refine_sweeps=100, seed=1)
    >>> run.info["train_output_errors"] <= run.info["raw_train_output_errors"], len(run.weights)
    (True, 23)
    >>> run = train_problem(q, q.coefficients(), make_sampler("collapsed"), {"num_reads": 4, "num_sweeps": 100,
    ...                     "seed": 1})
    >>> run.info["bqm_built"], len(run.sampleset.variables), run.refined_sampleset is None
    (False, 23, True)
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from .formulation import TrainingQUBO, origin_of
from .io import to_jsonable
from .objective import Coefficients
from .problem_sampler import ProblemSamples, TrainingProblemSampler
from .samplers import check_sample_params, run_interruptibly, sample_bqm

__all__ = ["TrainingRun", "judge_reads", "judge_weights", "train_problem", "train_step", "REFINE_STARTS"]

REFINE_STARTS = 16
"""How many of a sampler's best reads the refinement starts from."""


@dataclass(frozen=True)
class TrainingRun:
    """The chosen network (``weights``, ±1 int8), a JSON-ready ``info``, the sampler's own
    ``sampleset`` and the refinement's ``refined_sampleset`` (``None`` unless refinement ran)."""

    weights: np.ndarray
    info: dict[str, Any]
    sampleset: dimod.SampleSet
    refined_sampleset: dimod.SampleSet | None = None


def judge_reads(qubo: TrainingQUBO, sampleset: dimod.SampleSet, h=None) -> dict[str, Any]:
    """The best read of ``sampleset`` (full QUBO states): fewest forward-pass training errors,
    ties by energy.

    Returns its index, weights, errors, energy, energy split and broken constraints (of the
    read's own state, which any sampler may leave inconsistent), and ``order`` (every read,
    best first).
    """
    W = qubo.weights_from(sampleset)
    errors = qubo.output_errors(W)
    order = np.lexsort((sampleset.record.energy, errors))
    best = int(order[0])
    chosen = sampleset.slice(best, best + 1, sorted_by=None)
    broken = qubo.broken_constraints(chosen)
    return {"read": best, "order": order, "weights": W[best].astype(np.int8).copy(),
            "errors": int(errors[best]), "energy": float(sampleset.record.energy[best]),
            "split": {k: float(v[0]) for k, v in qubo.energy_split(chosen, h=h).items()},
            "broken": len(broken), "broken_examples": [list(b) for b in broken[:10]]}


def judge_weights(qubo: TrainingQUBO, samples: ProblemSamples, h=None) -> dict[str, Any]:
    """:func:`judge_reads` for reads given as weights with the energies of their consistent states:
    the split and broken constraints come from the cost tables and the forward pass (no BQM)."""
    W = samples.weights
    errors = qubo.output_errors(W)
    order = np.lexsort((samples.energies, errors))
    best = int(order[0])
    broken = qubo.consistent_broken_constraints(W[best])
    return {"read": best, "order": order, "weights": W[best].astype(np.int8).copy(),
            "errors": int(errors[best]), "energy": float(samples.energies[best]),
            "split": {k: float(v[0]) for k, v in qubo.collapsed_split(W[best: best + 1], h=h).items()},
            "broken": len(broken), "broken_examples": [list(b) for b in broken[:10]]}


def train_problem(qubo: TrainingQUBO, coefficients: Coefficients, sampler: dimod.Sampler,
                  params: Mapping[str, Any], *, refine_sweeps: int = 1000, seed: int | None = None,
                  say: Callable[[str], None] | None = None, progress: bool = False,
                  bqm: dimod.BinaryQuadraticModel | None = None) -> TrainingRun:
    """Sample the training problem, judge, refine and choose (module docstring).

    Args:
        qubo, coefficients: the training problem and its objective's coefficients
            (:meth:`TrainingQUBO.coefficients <qubo_bnn.formulation.TrainingQUBO.coefficients>`).
        sampler, params: any dimod sampler and its ``sample()`` keyword arguments (checked first).
            A :class:`~qubo_bnn.problem_sampler.TrainingProblemSampler` gets the problem itself
            and no BQM is built; any other sampler gets ``qubo.to_bqm(coefficients)``.
        refine_sweeps: collapsed-annealing sweeps of the refinement; 0 keeps the raw reads.
        seed: seed of the refinement.
        say: progress printer (none by default).
        progress: progress on stderr when it is a terminal: elapsed time while a foreign sampler
            runs, a bar for the refinement.
        bqm: the BQM ``qubo.to_bqm(coefficients)`` already emitted, sampled by every sampler
            (:func:`train_step`); ``None``: built only for samplers that read it.

    Info keys: ``num_variables``, ``num_interactions`` (of the BQM; estimated by
    :meth:`TrainingQUBO.size_estimate <qubo_bnn.formulation.TrainingQUBO.size_estimate>` when none was built, ``bqm_built`` says),
    ``num_samples``, ``num_rows``, ``penalty_A``, ``sample_seconds``, ``refine_seconds``,
    ``num_reads``, ``chosen_read``, ``energy``, ``energy_split``, ``broken_constraints``,
    ``broken_examples``, ``raw_*`` and ``refined_*`` figures, ``train_output_errors``,
    ``sampler`` and ``sampler_info``.
    """
    from .collapsed import CollapsedSampler

    say = say or (lambda msg: None)
    c = qubo.coefficients(coefficients)
    params = check_sample_params(sampler, params)
    t0 = time.perf_counter()
    if bqm is None and isinstance(sampler, TrainingProblemSampler):
        def call() -> ProblemSamples:
            return sampler.sample_problem(qubo, c, **params)

        label = f"sampling with {type(sampler).__name__}" if progress else None
        result = call() if getattr(sampler, "answers_interrupts", False) else run_interruptibly(call, label)
        sampleset = result.to_sampleset()
        t1 = time.perf_counter()
        raw = judge_weights(qubo, result, c.h)
        size = {"num_variables": qubo.n_variables,
                "num_interactions": qubo.size_estimate().couplings,
                "bqm_built": False}
        say(f"QUBO: {size['num_variables']} variables, {size['num_interactions']} couplings (estimated; not "
            f"built: {type(sampler).__name__} trains on the problem itself)")
    else:
        if bqm is None:
            est = qubo.size_estimate()
            say(f"building the BQM for {type(sampler).__name__}: about {est.variables:,} variables, "
                f"{est.couplings:,} couplings, {est.bytes / 2**30:.2f} GiB to build")
            bqm = qubo.to_bqm(c)
            say(f"QUBO: {bqm.num_variables} variables, {bqm.num_interactions} couplings "
                f"(built in {time.perf_counter() - t0:.2f} s)")
        sampleset = sample_bqm(sampler, bqm, show_progress=progress, **params)
        t1 = time.perf_counter()
        raw = judge_reads(qubo, sampleset, c.h)
        size = {"num_variables": bqm.num_variables, "num_interactions": bqm.num_interactions, "bqm_built": True}
    say(f"sampled in {t1 - t0:.2f} s; best read {raw['read']}: energy {raw['energy']:.3f}, "
        f"{raw['broken']} broken constraints, {raw['errors']} output errors on the training set")
    chosen, refined, refined_set = raw, None, None
    if (refine_sweeps and not isinstance(sampler, CollapsedSampler)
            and sampleset.info.get("optimal") is not True):
        starts = raw["order"][:REFINE_STARTS]
        W0 = qubo.weights_from(sampleset)[starts] if size["bqm_built"] else result.weights[starts]
        labels = [f"w{e}" for e in range(qubo.n_weights)]
        refined_result = CollapsedSampler().sample_problem(
            qubo, c, initial_states=((W0 > 0).astype(np.int8), labels), num_sweeps=int(refine_sweeps),
            seed=None if seed is None else int(seed), progress=progress)
        refined_set = refined_result.to_sampleset()
        refined = judge_weights(qubo, refined_result, c.h)
        say(f"refined {len(W0)} reads with {refine_sweeps} collapsed-annealing sweeps in "
            f"{time.perf_counter() - t1:.2f} s: {raw['errors']} -> {refined['errors']} output errors")
        if (refined["errors"], refined["energy"]) <= (raw["errors"], raw["energy"]):
            chosen = refined
    t2 = time.perf_counter()
    info = {
        **size, "num_samples": qubo.n_samples, "num_rows": qubo.n_rows, "penalty_A": c.A,
        "sample_seconds": t1 - t0, "refine_seconds": t2 - t1,
        "num_reads": len(sampleset), "chosen_read": raw["read"] if chosen is raw else None,
        "energy": chosen["energy"], "energy_split": chosen["split"],
        "broken_constraints": chosen["broken"], "broken_examples": chosen["broken_examples"],
        "raw_energy": raw["energy"], "raw_broken_constraints": raw["broken"],
        "raw_train_output_errors": raw["errors"],
        "refined_train_output_errors": None if refined is None else refined["errors"],
        "refined": chosen is refined, "refine_sweeps_run": 0 if refined is None else int(refine_sweeps),
        "train_output_errors": chosen["errors"],
        "sampler": type(sampler).__name__, "sampler_info": to_jsonable(sampleset.info),
    }
    return TrainingRun(chosen["weights"], info, sampleset, refined_set)


def train_step(qubo: TrainingQUBO, bqm: dimod.BinaryQuadraticModel, sampler: dimod.Sampler,
               params: Mapping[str, Any], *, refine_sweeps: int = 1000, seed: int | None = None,
               say: Callable[[str], None] | None = None, progress: bool = False) -> TrainingRun:
    """:func:`train_problem` on a BQM ``qubo.to_bqm`` emitted (every sampler samples it, with its
    coefficients); kept for callers that build the BQM themselves."""
    origin = origin_of(bqm)
    if origin.problem is not qubo:
        raise ValueError("train_step: bqm was emitted by another TrainingQUBO than qubo")
    return train_problem(qubo, origin.coefficients, sampler, params, refine_sweeps=refine_sweeps, seed=seed,
                         say=say, progress=progress, bqm=bqm)
