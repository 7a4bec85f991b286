"""One training step: sample a training BQM, judge every read by its weights, refine, choose.

The estimator, the dropout-inspired rounds and the benchmarks all train through
:func:`train_step`:

1. **sample** the BQM with any dimod sampler (parameters checked by
   :func:`~qubo_bnn.samplers.sample_bqm`);
2. **judge** every read by the forward pass of its decoded weights: the trained network is its
   weights (docs/FORMULATION.md, "Decoding"); the best read has the fewest training errors,
   ties broken by energy;
3. **refine**: unless the sampler is the collapsed annealer itself or says it proved its result
   optimal, anneal the weights of the 16 best reads on the collapsed energy
   (:class:`~qubo_bnn.collapsed.CollapsedSampler` started from them) and keep the better network.
   The raw figures stay in the info beside the refined ones, so samplers remain comparable.

Example:
    >>> from qubo_bnn import Network, TrainingQUBO
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> from qubo_bnn.samplers import make_sampler
    >>> X, y = bars_and_stripes(3)
    >>> q = TrainingQUBO(Network(9).dense(2).dense(1), X, y)
    >>> run = train_step(q, q.to_bqm(), make_sampler("neal"), {"num_reads": 4, "num_sweeps": 100, "seed": 1},
    ...                  refine_sweeps=100, seed=1)
    >>> run.info["train_output_errors"] <= run.info["raw_train_output_errors"], len(run.weights)
    (True, 23)
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
from .samplers import sample_bqm

__all__ = ["TrainingRun", "judge_reads", "train_step", "REFINE_STARTS"]

REFINE_STARTS = 16
"""How many of a sampler's best reads the refinement starts from."""


@dataclass(frozen=True)
class TrainingRun:
    """The chosen network (``weights``, ±1 int8), a JSON-ready ``info`` and the ``sampleset`` it
    came from (the sampler's own, or the refinement's when that won)."""

    weights: np.ndarray
    info: dict[str, Any]
    sampleset: dimod.SampleSet


def judge_reads(qubo: TrainingQUBO, sampleset: dimod.SampleSet, h=None) -> dict[str, Any]:
    """The best read of ``sampleset``: fewest forward-pass training errors, ties by energy.

    Returns its index, weights, errors, energy, energy split and broken constraints, and
    ``order`` (every read, best first).
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


def train_step(qubo: TrainingQUBO, bqm: dimod.BinaryQuadraticModel, sampler: dimod.Sampler,
               params: Mapping[str, Any], *, refine_sweeps: int = 1000, seed: int | None = None,
               say: Callable[[str], None] | None = None, progress: bool = False) -> TrainingRun:
    """Sample ``bqm`` (emitted by ``qubo.to_bqm``), judge, refine and choose (module docstring).

    Args:
        qubo, bqm: the training problem and the BQM it emitted.
        sampler, params: any dimod sampler and its ``sample()`` keyword arguments.
        refine_sweeps: collapsed-annealing sweeps of the refinement; 0 keeps the raw reads.
        seed: seed of the refinement.
        say: progress printer (none by default).
        progress: progress on stderr when it is a terminal: elapsed time while a foreign sampler
            runs, a bar for the refinement.
    """
    from .collapsed import CollapsedSampler

    say = say or (lambda msg: None)
    origin = origin_of(bqm)
    h = origin.h
    t0 = time.perf_counter()
    sampleset = sample_bqm(sampler, bqm, show_progress=progress, **params)
    t1 = time.perf_counter()
    raw = judge_reads(qubo, sampleset, h)
    say(f"sampled in {t1 - t0:.2f} s; best read {raw['read']}: energy {raw['energy']:.3f}, "
        f"{raw['broken']} broken constraints, {raw['errors']} output errors on the training set")
    chosen, refined, refined_set = raw, None, None
    if (refine_sweeps and not isinstance(sampler, CollapsedSampler)
            and sampleset.info.get("optimal") is not True):
        starts = (sampleset.record.sample[raw["order"][:REFINE_STARTS]], sampleset.variables)
        refined_set = CollapsedSampler().sample(bqm, initial_states=starts, num_sweeps=int(refine_sweeps),
                                                seed=None if seed is None else int(seed), progress=progress)
        refined = judge_reads(qubo, refined_set, h)
        say(f"refined {len(starts[0])} reads with {refine_sweeps} collapsed-annealing sweeps in "
            f"{time.perf_counter() - t1:.2f} s: {raw['errors']} -> {refined['errors']} output errors")
        if (refined["errors"], refined["energy"]) <= (raw["errors"], raw["energy"]):
            chosen = refined
    t2 = time.perf_counter()
    info = {
        "num_variables": bqm.num_variables, "num_interactions": bqm.num_interactions,
        "num_samples": qubo.n_samples, "num_rows": qubo.n_rows, "penalty_A": origin.A,
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
    return TrainingRun(chosen["weights"], info, refined_set if chosen is refined else sampleset)
