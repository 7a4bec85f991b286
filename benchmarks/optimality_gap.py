"""How far from the certified optimum does each sampler end on real training QUBOs?

Every instance is one training problem (a BNN, a digits training set) built once as an
exact training BQM (``TrainingQUBO(...).to_bqm(A=None, B=1.0, mu=0.0)``). With ``B = 1``,
``mu = 0`` and ``h = 0`` the BQM energy of a consistent state equals the number of
**output-bit training errors** of its weights, and OR-Tools CP-SAT (``cpsat``) proves the
optimum, or at least a lower bound, in the same units. Every sampler runs on the same BQM in
the same process, one after the other, and every read is judged by its weights alone: the
weights are decoded (``TrainingQUBO.weights_from``) and counted by a forward pass on the
training set, so a raw read that breaks QUBO constraints is still judged fairly.

Usage::

    python benchmarks/optimality_gap.py                 # full run (tens of minutes on 2 cores)
    python benchmarks/optimality_gap.py --quick         # smoke run, < 60 s
    python benchmarks/optimality_gap.py --only perceptron --cpsat-limit 20
    python benchmarks/optimality_gap.py --out /tmp/gap  # writes /tmp/gap.{json,md,png}
    python benchmarks/optimality_gap.py --report-only   # re-render md/png from the existing json

Instance groups (digits from scikit-learn, binarised; ``s`` is the split seed):

* ``pooled-16-4-1``: digits 3 vs 8, 4x4 pooled bits, net 16-4-1, n = 30/60/100, s = 0..4;
* ``perceptron-16-1``: the same data, a single neuron 16-1, n = 30/60/100, s = 0..4;
* ``unpooled-64-8-1``: digits 3 vs 8, 8x8 bits, net 64-8-1, n = 300, s = 0..2;
* ``ten-class-16-4-10``: all ten digits one-vs-rest, 4x4 pooled, net 16-4-10, n = 500, s = 0, 1.

Samplers (cells), each timed with ``time.perf_counter`` around ``sampler.sample`` (Numba
kernels are compiled by an untimed warm-up call on a tiny BQM first); the sampler seed is the
split seed:

* ``cpsat``: CP-SAT, ``--cpsat-limit`` s, 2 workers, no hint (an independent reference);
* ``collapsed``: ``CollapsedSampler``, 16 reads x 500 sweeps (weights annealed with every
  auxiliary at its conditional optimum);
* ``neal``: dwave-samplers SA on the full QUBO, 16 reads x 1000 sweeps, raw reads;
* ``neal+refine``: neal's 16 reads, each refined by the collapsed annealer started from it
  (500 sweeps); its time is neal's plus the refinement's;
* ``cpu-annealer``: the bundled ``qubo_bnn_solvers.IsingSampler`` (single-flip SA on the full QUBO,
  Numba, 2 threads), 16 reads x 1000 sweeps, raw reads;
* ``tabu``: dwave-samplers tabu, 4 reads x 1000 ms; skipped above ``--tabu-max-vars``
  variables (it builds a dense n x n matrix: 60 s of set-up for 4 reads at 12,000 variables);
* ``collapsed-ladder`` (time to optimum): the collapsed annealer at 25, 50, 100, 200, 500, ...
  sweeps (up to ``--ladder-max``), stopping at the first that reaches the reference value;
  reported: that number of sweeps and the wall time of that one call.

Columns of the outputs:

* ``train err``: output-bit training errors of the best read (fewest errors, ties: lowest
  energy); for one output, the misclassified training images; for ten classes, the sum over
  the ten one-vs-rest outputs (the QUBO's loss);
* ``train acc`` / ``test acc``: accuracy of that read's weights (ten classes: argmax of the
  output pre-activations);
* ``gap``: ``train err`` minus the reference: the **optimum** when it is certified (CP-SAT
  proved it, or some cell found a value equal to CP-SAT's lower bound), else CP-SAT's **bound**
  (rounded up; then the gap is an upper bound of the true gap); ``vs`` says which;
* ``at opt``: (instance, seed) pairs whose cell reached the certified optimum, out of all pairs
  (pairs without a certified optimum never count);
* ``wall s``: seconds of the ``sample`` call(s), on a shared 2-core CPU.

Outputs: ``<out>.json`` (settings, instances and every record, each read's errors included),
``<out>.md`` (command, summary, per-instance detail), ``<out>.png`` (gaps, if matplotlib is
importable). The summary table is also printed; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qubo_bnn import Network, TrainingQUBO  # noqa: E402
from qubo_bnn.classifier import encode_targets  # noqa: E402
from qubo_bnn.collapsed import CollapsedSampler  # noqa: E402
from qubo_bnn.datasets import bars_and_stripes, load_digits_task  # noqa: E402
from qubo_bnn.samplers import make_sampler  # noqa: E402

GROUPS = ("pooled-16-4-1", "perceptron-16-1", "unpooled-64-8-1", "ten-class-16-4-10")
CELL_ORDER = ("cpsat", "collapsed", "neal", "neal+refine", "cpu-annealer", "tabu")
LADDER = "collapsed-ladder"
LADDER_RUNGS = (25, 50, 100, 200, 500, 1000, 2000, 4000, 8000)


def say(msg: str) -> None:
    """A progress line on stderr."""
    print(f"[optimality_gap] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- instances
@dataclass(frozen=True)
class InstanceSpec:
    """One training problem: a group (topology + data), training-set size and split seed."""

    group: str
    layers: tuple[int, ...]          # input width, then the width of each layer
    classes: tuple[int, ...] | None  # digit classes (None: all ten)
    pool: bool
    n_train: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.group}-n{self.n_train}-s{self.seed}"


@dataclass
class Instance:
    """A built instance: the data split, the target bits, the QUBO and its BQM."""

    spec: InstanceSpec
    network: Network
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    T_train: np.ndarray              # (n, n_outputs) target bits
    qubo: TrainingQUBO
    bqm: Any
    build_s: float

    @property
    def multiclass(self) -> bool:
        return len(self.classes) > 2

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts about the instance."""
        return {"instance": self.spec.name, **asdict(self.spec), "n_test": len(self.y_test),
                "n_weights": self.qubo.n_weights, "n_rows": int(self.qubo.n_rows),
                "n_variables": self.bqm.num_variables, "n_interactions": self.bqm.num_interactions,
                "build_s": self.build_s}


def instance_specs(quick: bool) -> list[InstanceSpec]:
    """The instance list: the full design, or one small instance per group for ``--quick``."""
    if quick:
        return [InstanceSpec("pooled-16-4-1", (16, 4, 1), (3, 8), True, 30, 0),
                InstanceSpec("perceptron-16-1", (16, 1), (3, 8), True, 30, 0),
                InstanceSpec("unpooled-64-8-1", (64, 8, 1), (3, 8), False, 40, 0),
                InstanceSpec("ten-class-16-4-10", (16, 4, 10), None, True, 60, 0)]
    specs = []
    for group, layers in (("pooled-16-4-1", (16, 4, 1)), ("perceptron-16-1", (16, 1))):
        specs += [InstanceSpec(group, layers, (3, 8), True, n, s) for n in (30, 60, 100) for s in range(5)]
    specs += [InstanceSpec("unpooled-64-8-1", (64, 8, 1), (3, 8), False, 300, s) for s in range(3)]
    specs += [InstanceSpec("ten-class-16-4-10", (16, 4, 10), None, True, 500, s) for s in range(2)]
    return specs


def build_instance(spec: InstanceSpec) -> Instance:
    """Load the split, encode the targets (one-vs-rest for more than two classes), build the BQM."""
    t0 = time.perf_counter()
    X_tr, X_te, y_tr, y_te = load_digits_task(classes=spec.classes, pool=spec.pool,
                                              n_train=spec.n_train, seed=spec.seed)
    net = Network(spec.layers[0])
    for width in spec.layers[1:]:
        net.dense(width)
    classes, T = encode_targets(y_tr)
    q = TrainingQUBO(net, X_tr, T)
    bqm = q.to_bqm(A=None, B=1.0, mu=0.0)
    return Instance(spec, net, X_tr, X_te, y_tr, y_te, classes, np.asarray(T).reshape(len(y_tr), -1),
                    q, bqm, time.perf_counter() - t0)


# --------------------------------------------------------------------------- judging reads
def accuracy(inst: Instance, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Classification accuracy of weights ``w`` (binary: the output's sign; else argmax of z)."""
    Z, _ = inst.network.forward(X, w)
    Zo = Z[:, [o - inst.network.n_inputs for o in inst.network.outputs]]
    pred = inst.classes[np.argmax(Zo, axis=1)] if inst.multiclass else inst.classes[(Zo[:, 0] >= 0).astype(int)]
    return float(np.mean(pred == y))


def judge(inst: Instance, sampleset) -> dict[str, Any]:
    """Best read of a sample set (fewest errors, ties: lowest energy) and its figures."""
    W = inst.qubo.weights_from(sampleset)
    errors = inst.qubo.output_errors(W)   # output-bit errors over the training samples
    energy = np.asarray(sampleset.record.energy, dtype=float)
    best = int(np.lexsort((energy, errors))[0])
    return {"train_errors": int(errors[best]), "best_energy": float(energy[best]),
            "consistent": bool(abs(energy[best] - errors[best]) < 1e-6),
            "train_acc": accuracy(inst, W[best], inst.X_train, inst.y_train),
            "test_acc": accuracy(inst, W[best], inst.X_test, inst.y_test),
            "read_errors": errors.tolist(), "min_energy": float(energy.min())}


# --------------------------------------------------------------------------- samplers
@dataclass(frozen=True)
class SamplerSpec:
    """A cell: a registry sampler, its ``sample`` parameters, optional collapsed refinement."""

    label: str
    registry: str
    params: dict[str, Any] = field(default_factory=dict)
    refine_sweeps: int | None = None      # also report reads refined by the collapsed annealer
    max_variables: int | None = None      # skip larger BQMs (recorded with the reason)
    skip_reason: str = ""


def sampler_specs(args: argparse.Namespace) -> list[SamplerSpec]:
    """The cells, sized by ``--quick`` (CP-SAT first: the others are judged against it)."""
    reads, q = (4, True) if args.quick else (16, False)
    sweeps = (lambda full, quick: quick if q else full)
    return [
        SamplerSpec("cpsat", "cpsat", {"time_limit": args.cpsat_limit, "num_workers": 2}),
        SamplerSpec("collapsed", "collapsed", {"num_reads": reads, "num_sweeps": sweeps(500, 100)}),
        SamplerSpec("neal", "neal", {"num_reads": reads, "num_sweeps": sweeps(1000, 200)},
                    refine_sweeps=sweeps(500, 100)),
        SamplerSpec("cpu-annealer", "cpu-annealer", {"num_reads": reads, "num_sweeps": sweeps(1000, 200)}),
        SamplerSpec("tabu", "tabu", {"num_reads": 1 if q else 4, "timeout": 100 if q else 1000},
                    max_variables=args.tabu_max_vars,
                    skip_reason=(f"more than {args.tabu_max_vars} variables: tabu builds a dense n x n matrix "
                                 "(about 60 s of set-up for 4 reads at 12,000 variables here)")),
    ]


def timed_sample(sampler, bqm, **params):
    """``(sampleset, wall seconds)`` of one ``sampler.sample`` call."""
    t0 = time.perf_counter()
    ss = sampler.sample(bqm, **params)
    return ss, time.perf_counter() - t0


def run_sampler(inst: Instance, spec: SamplerSpec, seed: int) -> list[dict[str, Any]]:
    """Run one sampler on one instance: its record, and with ``refine_sweeps`` the refined one."""
    base = {"instance": inst.spec.name, "group": inst.spec.group, "seed": seed}
    if spec.max_variables is not None and inst.bqm.num_variables > spec.max_variables:
        return [{**base, "sampler": spec.label, "skipped": spec.skip_reason, "params": spec.params}]
    sampler = make_sampler(spec.registry)
    ss, wall = timed_sample(sampler, inst.bqm, seed=seed, **spec.params)
    rec = {**base, "sampler": spec.label, "params": spec.params, "wall_s": wall, **judge(inst, ss)}
    if spec.registry == "cpsat":
        rec.update({k: ss.info[k] for k in ("status", "optimal", "objective", "bound", "gap", "wall_time_s",
                                             "scaling", "num_conflicts", "num_branches")})
    records = [rec]
    if spec.refine_sweeps:
        initial = (ss.record.sample, list(ss.variables))
        ref, ref_wall = timed_sample(CollapsedSampler(), inst.bqm, initial_states=initial,
                                     num_sweeps=spec.refine_sweeps, seed=seed)
        records.append({**base, "sampler": f"{spec.label}+refine", "refine_sweeps": spec.refine_sweeps,
                        "params": spec.params, "wall_s": wall + ref_wall, "raw_wall_s": wall,
                        "refine_wall_s": ref_wall, **judge(inst, ref)})
    return records


def run_ladder(inst: Instance, seed: int, reads: int, target: int, max_sweeps: int,
               known: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Collapsed annealer at increasing sweeps until its best read has ``<= target`` errors.

    ``known`` maps sweeps to an already-run collapsed record with the same reads and seed (the
    sampler is deterministic given the seed, so it is reused instead of run again).
    """
    rungs = []
    for sweeps in (s for s in LADDER_RUNGS if s <= max_sweeps):
        if sweeps in known:
            rung = {"sweeps": sweeps, "train_errors": known[sweeps]["train_errors"],
                    "wall_s": known[sweeps]["wall_s"], "reused": True}
        else:
            ss, wall = timed_sample(CollapsedSampler(), inst.bqm, num_reads=reads, num_sweeps=sweeps, seed=seed)
            rung = {"sweeps": sweeps, "train_errors": judge(inst, ss)["train_errors"], "wall_s": wall}
        rungs.append(rung)
        if rung["train_errors"] <= target:
            break
    return {"instance": inst.spec.name, "group": inst.spec.group, "seed": seed, "sampler": LADDER,
            "num_reads": reads, "pre_target": target, "rungs": rungs,
            "train_errors": min(r["train_errors"] for r in rungs)}


# --------------------------------------------------------------------------- reference and gaps
def annotate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Reference value of one instance, and ``gap``/``gap_vs``/``at_opt`` on its cells.

    The optimum is certified when CP-SAT proved it, or when some cell (or ladder rung) found a
    value equal to CP-SAT's lower bound (rounded up: errors are integers). Otherwise gaps are
    taken to that bound and are upper bounds of the true gaps.
    """
    cp = next(r for r in records if r["sampler"] == "cpsat")
    lb = math.ceil(cp["bound"] - 1e-6)
    values = [r["train_errors"] for r in records if "train_errors" in r]
    values += [g["train_errors"] for r in records if r["sampler"] == LADDER for g in r["rungs"]]
    best = min(values)
    if cp["optimal"]:
        ref = {"certified": True, "value": cp["train_errors"], "how": "CP-SAT proof"}
    elif best <= lb:
        ref = {"certified": True, "value": best, "how": "matches CP-SAT bound"}
    else:
        ref = {"certified": False, "value": lb, "how": "CP-SAT bound"}
    ref.update(bound=lb, best_known=best, cpsat_status=cp["status"])
    if best < ref["value"]:
        ref["warning"] = f"a cell found {best} errors, below the certified value {ref['value']}"
    target = ref["value"] if ref["certified"] else best
    for r in records:
        if r["sampler"] == LADDER:
            hit = next((g for g in r["rungs"] if g["train_errors"] <= target), None)
            r.update(target=target,
                     target_vs="optimum" if ref["certified"] else "best known",
                     reached_sweeps=hit and hit["sweeps"], reached_wall_s=hit and hit["wall_s"])
        elif "train_errors" in r:
            r.update(gap=r["train_errors"] - ref["value"], gap_vs="optimum" if ref["certified"] else "bound",
                     gap_to_best_known=r["train_errors"] - best,
                     at_opt=bool(ref["certified"] and r["train_errors"] == ref["value"]))
    return ref


def run_instance(inst: Instance, args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every cell on one instance, then the ladder, then the gaps."""
    seed = inst.spec.seed
    records: list[dict[str, Any]] = []
    for spec in sampler_specs(args):
        for rec in run_sampler(inst, spec, seed):
            records.append(rec)
            say(f"  {rec['sampler']:<13} " + (f"skipped: {rec['skipped']}" if "skipped" in rec else
                f"{rec['train_errors']:>4} errors  {rec['wall_s']:7.2f} s"
                + (f"  [{rec['status']}, bound {rec['bound']:.1f}]" if rec["sampler"] == "cpsat" else "")))
    pre = annotate(records)
    collapsed = next(r for r in records if r["sampler"] == "collapsed")
    target = pre["value"] if pre["certified"] else pre["best_known"]
    ladder = run_ladder(inst, seed, collapsed["params"]["num_reads"], target, args.ladder_max,
                        {collapsed["params"]["num_sweeps"]: collapsed})
    records.append(ladder)
    ref = annotate(records)
    say(f"  {LADDER:<13} " + (f"reached {ladder['target']} at {ladder['reached_sweeps']} sweeps "
                               f"({ladder['reached_wall_s']:.2f} s)" if ladder["reached_sweeps"] else
                               f"not within {args.ladder_max} sweeps (best {ladder['train_errors']})"))
    return records, ref


def warm_up() -> None:
    """Untimed calls on a tiny training BQM: Numba compilation and imports stay out of the timings."""
    X, y = bars_and_stripes(3)
    q = TrainingQUBO(Network(9).dense(2).dense(1), X, y)
    bqm = q.to_bqm()
    ss = make_sampler("neal").sample(bqm, num_reads=2, num_sweeps=10, seed=0)
    CollapsedSampler().sample(bqm, num_reads=2, num_sweeps=10, seed=0)
    CollapsedSampler().sample(bqm, initial_states=(ss.record.sample, list(ss.variables)), num_sweeps=10, seed=0)
    make_sampler("cpu-annealer").sample(bqm, num_reads=2, num_sweeps=10, seed=0)
    make_sampler("tabu").sample(bqm, num_reads=1, timeout=10, seed=0)
    make_sampler("cpsat").sample(bqm, time_limit=5, seed=0)


# --------------------------------------------------------------------------- reporting
def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summary_rows(records: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group x sampler: pairs, certified pairs, pairs at the optimum, mean gap, median time."""
    rows = []
    for group in GROUPS:
        names = [n for n, r in refs.items() if r["group"] == group]
        if not names:
            continue
        certified = sum(refs[n]["certified"] for n in names)
        for sampler in CELL_ORDER:
            cells = [r for r in records if r["group"] == group and r["sampler"] == sampler]
            done = [r for r in cells if "train_errors" in r]
            if not cells:
                continue
            n_opt = sum(r["gap_vs"] == "optimum" for r in done)
            rows.append({
                "group": group, "sampler": sampler, "pairs": len(names), "certified": certified,
                "run": len(done), "at_opt": sum(r["at_opt"] for r in done),
                "mean_gap": statistics.mean(r["gap"] for r in done) if done else None,
                "max_gap": max((r["gap"] for r in done), default=None),
                "mean_gap_best_known": statistics.mean(r["gap_to_best_known"] for r in done) if done else None,
                "gap_vs": ("optimum" if n_opt == len(done) else "bound" if n_opt == 0
                           else f"optimum x{n_opt}, bound x{len(done) - n_opt}"),
                "median_wall_s": _median([r["wall_s"] for r in done]),
                "mean_test_acc": statistics.mean(r["test_acc"] for r in done) if done else None,
            })
    return rows


def ladder_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group: how often the ladder reached its target, median sweeps and wall time then."""
    rows = []
    for group in GROUPS:
        lad = [r for r in records if r["group"] == group and r["sampler"] == LADDER]
        if not lad:
            continue
        hit = [r for r in lad if r["reached_sweeps"]]
        rows.append({"group": group, "pairs": len(lad), "reached": len(hit),
                     "target_optimum": sum(r["target_vs"] == "optimum" for r in lad),
                     "median_sweeps": _median([r["reached_sweeps"] for r in hit]),
                     "max_sweeps": max((r["reached_sweeps"] for r in hit), default=None),
                     "median_wall_s": _median([r["reached_wall_s"] for r in hit])})
    return rows


def _fmt(x, spec: str = ".2f", none: str = "-") -> str:
    return none if x is None else format(x, spec)


def summary_markdown(rows: list[dict[str, Any]]) -> str:
    """The summary table (group x sampler) as markdown."""
    lines = ["| group | sampler | at opt | certified | mean gap | max gap | gap vs | mean above best known "
             "| median wall s | mean test acc |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        if r["run"] == 0:
            lines.append(f"| {r['group']} | {r['sampler']} | skipped | {r['certified']}/{r['pairs']} | | | | | | |")
            continue
        lines.append(f"| {r['group']} | {r['sampler']} | {r['at_opt']}/{r['pairs']} | {r['certified']}/{r['pairs']} "
                     f"| {r['mean_gap']:.2f} | {r['max_gap']} | {r['gap_vs']} | {r['mean_gap_best_known']:.2f} "
                     f"| {_fmt(r['median_wall_s'])} "
                     f"| {_fmt(r['mean_test_acc'], '.3f')} |")
    return "\n".join(lines)


def ladder_markdown(rows: list[dict[str, Any]]) -> str:
    """The time-to-optimum table as markdown."""
    lines = ["| group | reached | target is the optimum | median sweeps | max sweeps | median wall s (that call) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['group']} | {r['reached']}/{r['pairs']} | {r['target_optimum']}/{r['pairs']} "
                     f"| {_fmt(r['median_sweeps'], 'g')} | {_fmt(r['max_sweeps'], 'g')} | {_fmt(r['median_wall_s'])} |")
    return "\n".join(lines)


def misses_markdown(records: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> str:
    """Pairs where the collapsed annealer (main cell) ends above the optimum or the best known value."""
    lines = []
    for name, ref in refs.items():
        cell = next((r for r in records if r["instance"] == name and r["sampler"] == "collapsed"), None)
        if cell is None or cell["gap_to_best_known"] <= 0 and cell["at_opt"] == ref["certified"]:
            continue
        finders = [r["sampler"] for r in records if r["instance"] == name and r.get("train_errors") == ref["best_known"]
                   and r["sampler"] != LADDER]
        lad = next(r for r in records if r["instance"] == name and r["sampler"] == LADDER)
        if any(g["train_errors"] == ref["best_known"] for g in lad["rungs"]):
            finders.append(LADDER)
        what = f"optimum {ref['value']}" if ref["certified"] else f"bound {ref['bound']}"
        ladder = (f"{lad['target']} at {lad['reached_sweeps']} sweeps" if lad["reached_sweeps"]
                  else f"best {lad['train_errors']} by {lad['rungs'][-1]['sweeps']} sweeps")
        lines.append(f"- {name}: collapsed {cell['train_errors']} errors ({what}, best known {ref['best_known']} "
                     f"from {', '.join(finders)}); ladder: {ladder}")
    return "\n".join(lines) if lines else "- none: it reached the optimum (or the best value known) on every pair."


def detail_markdown(records: list[dict[str, Any]], refs: dict[str, dict[str, Any]],
                    instances: list[dict[str, Any]]) -> str:
    """Per instance: a header line (size, reference) and one row per cell."""
    lines = ["| instance | vars | reference | sampler | train err | gap | train acc | test acc | wall s | note |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for info in instances:
        name, ref = info["instance"], refs[info["instance"]]
        refs_txt = (f"opt {ref['value']} ({ref['how']})" if ref["certified"]
                    else f"bound {ref['value']}, best {ref['best_known']}")
        for r in (r for r in records if r["instance"] == name):
            head = f"| {name} | {info['n_variables']} | {refs_txt} " if r["sampler"] == "cpsat" else "| | | "
            if r["sampler"] == LADDER:
                note = (f"reached {r['target']} ({r['target_vs']}) at {r['reached_sweeps']} sweeps"
                        if r["reached_sweeps"] else f"{r['target_vs']} {r['target']} not reached "
                        f"by {r['rungs'][-1]['sweeps']} sweeps")
                lines.append(head + f"| {LADDER} | {r['train_errors']} | | | | "
                             f"{_fmt(r['reached_wall_s'])} | {note} |")
            elif "skipped" in r:
                lines.append(head + f"| {r['sampler']} | | | | | | skipped: {r['skipped']} |")
            else:
                note = f"{r['status']}, bound {r['bound']:.1f}" if r["sampler"] == "cpsat" else (
                    "" if r["consistent"] else "inconsistent state (energy != errors)")
                lines.append(head + f"| {r['sampler']} | {r['train_errors']} | {r['gap']} ({r['gap_vs']}) "
                             f"| {r['train_acc']:.3f} | {r['test_acc']:.3f} | {r['wall_s']:.2f} | {note} |")
    return "\n".join(lines)


def write_markdown(path: Path, meta: dict[str, Any], rows, lrows, records, refs, instances) -> None:
    """``<out>.md``: command, machine, settings, summary, time to optimum, detail."""
    cells = "\n".join(f"- `{s['label']}`: `{s['registry']}` {json.dumps(s['params'])}"
                      + (f", refined by the collapsed annealer ({s['refine_sweeps']} sweeps)"
                         if s["refine_sweeps"] else "")
                      + (f"; skipped with {s['skip_reason']}" if s["max_variables"] else "")
                      for s in meta["samplers"])
    col = next(s for s in meta["samplers"] if s["label"] == "collapsed")
    text = f"""# Optimality gap of the samplers on training QUBOs

Command: `{meta['command']}`

Machine: 2-core CPU, shared with other jobs while this ran (timings are indicative, not
clean; the load average at the start was {meta['load_average'][0]:.2f}). Wall time {meta['wall_s']:.0f} s.
Collapsed annealer and cpu-annealer: Numba on 2 threads; neal and tabu: 1 thread; CP-SAT: 2 workers.
Timings exclude Numba compilation (an untimed warm-up call first).

Every BQM is `TrainingQUBO(net, X, targets).to_bqm(A=None, B=1.0, mu=0.0)` (exact penalty,
duplicate rows merged), so energies of consistent states and CP-SAT's objective and bound count
output-bit training errors. Every read is judged by its decoded weights (forward pass), the
best read of a cell being the one with the fewest training errors. Sampler seed = split seed.
{meta['note']}
Cells:

{cells}
- `{LADDER}`: collapsed annealer, same reads and seed, at {', '.join(map(str, meta['ladder_rungs']))} sweeps,
  stopping at the first that reaches the instance's optimum (or the best value known when none is certified).

## Summary

`at opt`: (instance, seed) pairs where the cell reached the certified optimum, out of all pairs;
`certified`: pairs whose optimum is certified (CP-SAT proof, or a cell matching CP-SAT's bound);
`gap`: training errors above the optimum when certified, else above CP-SAT's bound (an upper
bound of the true gap) -- `gap vs` says which; `mean above best known`: training errors above
the best value any cell (or ladder rung) found on the pair; `median wall s`: of the `sample` call(s);
`mean test acc`: of each pair's best read.

{summary_markdown(rows)}

## Time to the optimum (collapsed annealer, sweep ladder)

Smallest number of sweeps (of the ladder) at which the collapsed annealer's best read reaches
the target, and the wall time of that single call. The ladder starts at {meta['ladder_rungs'][0]} sweeps, so
that figure means "at most {meta['ladder_rungs'][0]}". Where no optimum is certified the target is the best
value any cell found, a weaker yardstick.

{ladder_markdown(lrows)}

## Where the collapsed annealer ({col['params']['num_reads']} reads x {col['params']['num_sweeps']} sweeps) misses

Pairs where it ends above the certified optimum, or above the best value any cell found.

{misses_markdown(records, refs)}

## Per instance

`reference`: the certified optimum and how it is certified, or CP-SAT's bound and the best
value any cell found.

{detail_markdown(records, refs, instances)}
"""
    path.write_text(text)


def write_plot(path: Path, records: list[dict[str, Any]]) -> str:
    """``<out>.png``: per group, each pair's gap per sampler (filled: vs the optimum; hollow: vs
    CP-SAT's bound) and the mean (bar). Returns a message."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not importable: no plot (pip install 'qubo-bnn[plot]')"
    groups = [g for g in GROUPS if any(r["group"] == g for r in records)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 4.2), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, group in zip(axes[0], groups):
        for k, sampler in enumerate(CELL_ORDER):
            done = [r for r in records if r["group"] == group and r["sampler"] == sampler and "gap" in r]
            if not done:
                ax.text(k, 0.2, "skipped", rotation=90, ha="center", va="bottom", fontsize=9, color="grey")
                continue
            gaps = np.array([r["gap"] for r in done], dtype=float)
            ax.bar(k, gaps.mean(), color=f"C{k}", alpha=0.35, width=0.7)
            x = k + rng.uniform(-0.2, 0.2, len(gaps))
            opt = np.array([r["gap_vs"] == "optimum" for r in done])
            ax.scatter(x[opt], gaps[opt], color=f"C{k}", s=14, zorder=3)
            ax.scatter(x[~opt], gaps[~opt], facecolors="none", edgecolors=f"C{k}", s=14, zorder=3)
        ax.set_xticks(range(len(CELL_ORDER)), CELL_ORDER, rotation=40, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(CELL_ORDER) - 0.4)
        ax.set_title(group, fontsize=10)
        ax.set_yscale("symlog", linthresh=1)
        top = max((r["gap"] for r in records if r["group"] == group and "gap" in r), default=1)
        ax.set_ylim(0, 2 * max(top, 1))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("training errors above optimum\n(hollow: above CP-SAT bound)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"wrote {path}"


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one small instance per group, few reads/sweeps (< 60 s)")
    p.add_argument("--out", default="examples/results/optimality_gap",
                   help="output prefix: writes <out>.json, <out>.md, <out>.png")
    p.add_argument("--only", action="append", default=[], metavar="INSTANCE",
                   help="run only instances whose name contains this text (repeatable), e.g. "
                        "'perceptron' or 'pooled-16-4-1-n60-s2'")
    p.add_argument("--cpsat-limit", type=float, default=None, help="CP-SAT time limit, s (default 60; 5 with --quick)")
    p.add_argument("--ladder-max", type=int, default=None,
                   help="largest sweep count of the ladder (default 2000; 500 with --quick)")
    p.add_argument("--tabu-max-vars", type=int, default=5000, help="skip tabu above this many BQM variables")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rewrite the summaries, <out>.md and <out>.png from an existing <out>.json")
    args = p.parse_args(argv)
    if args.cpsat_limit is None:
        args.cpsat_limit = 5.0 if args.quick else 60.0
    if args.ladder_max is None:
        args.ladder_max = 500 if args.quick else 2000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_only:
        out = Path(args.out)
        data = json.loads(Path(f"{out}.json").read_text())
        data["summary"] = summary_rows(data["records"], data["references"])
        data["ladder"] = ladder_rows(data["records"])
        Path(f"{out}.json").write_text(json.dumps(data, indent=1))   # the derived tables, refreshed
        write_reports(out, data)
        return 0
    t_start = time.perf_counter()
    load = list(os.getloadavg())
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    specs = [s for s in instance_specs(args.quick) if not args.only or any(o in s.name for o in args.only)]
    if not specs:
        say(f"no instance matches --only {args.only}")
        return 2
    say(f"{len(specs)} instances; warming up (untimed)")
    warm_up()
    records: list[dict[str, Any]] = []
    refs: dict[str, dict[str, Any]] = {}
    instances: list[dict[str, Any]] = []
    for i, spec in enumerate(specs, 1):
        inst = build_instance(spec)
        info = inst.describe()
        instances.append(info)
        say(f"[{i}/{len(specs)}] {spec.name}: {info['n_variables']} variables, {info['n_interactions']} couplings, "
            f"{info['n_rows']} distinct rows ({time.perf_counter() - t_start:.0f} s elapsed)")
        recs, ref = run_instance(inst, args)
        records += recs
        refs[spec.name] = {**ref, "group": spec.group}
    wall = time.perf_counter() - t_start
    command = "python benchmarks/optimality_gap.py" + ("" if not sys.argv[1:] else " " + shlex.join(sys.argv[1:]))
    note = ("" if not args.quick else "\n**Quick smoke run** (`--quick`): one small instance per group, "
            "few reads and sweeps; not a result.\n")
    meta = {"command": command, "machine": "2-core CPU (shared)", "platform": platform.platform(),
            "python": platform.python_version(), "load_average": load, "wall_s": wall, "quick": args.quick,
            "cpsat_limit_s": args.cpsat_limit, "ladder_rungs": [s for s in LADDER_RUNGS if s <= args.ladder_max],
            "samplers": [asdict(s) for s in sampler_specs(args)], "note": note,
            "started": started}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "instances": instances, "references": refs, "records": records}
    data["summary"], data["ladder"] = summary_rows(records, refs), ladder_rows(records)
    Path(f"{out}.json").write_text(json.dumps(data, indent=1))
    say(f"wrote {out}.json ({wall:.0f} s)")
    write_reports(out, data)
    return 0


def write_reports(out: Path, data: dict[str, Any]) -> None:
    """``<out>.md`` and ``<out>.png`` from the JSON data, and the summary tables on stdout."""
    rows, lrows = summary_rows(data["records"], data["references"]), ladder_rows(data["records"])
    write_markdown(Path(f"{out}.md"), data["meta"], rows, lrows, data["records"], data["references"],
                   data["instances"])
    say(f"wrote {out}.md")
    say(write_plot(Path(f"{out}.png"), data["records"]))
    print(summary_markdown(rows))
    print()
    print(ladder_markdown(lrows))

if __name__ == "__main__":
    sys.exit(main())
