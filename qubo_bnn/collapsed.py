"""``CollapsedSampler``: simulated annealing of the training QUBO over the weights alone.

Single-flip samplers move one QUBO variable at a time; flipping a weight with the per-sample
auxiliaries frozen breaks a constraint in every sample (a barrier of about ``A·N``), so they
stall far from any good network. This sampler anneals the *collapsed* energy instead

    E(w) = min over the auxiliaries of H(w, aux)

evaluated by settling every auxiliary at its conditional optimum: a forward pass gives the
activations, :func:`~qubo_bnn.formulation.settle_auxiliaries` the slack and tie bits, and the
per-neuron cost tables of :meth:`~qubo_bnn.formulation.TrainingQUBO.settled_costs` the energy
(docs/FORMULATION.md, "Collapsed energy"). Without hard fit or hard margins ``E(w)`` is exactly
``B·errors − mu·margin + h·w``; a flip only recomputes the flipped edge's neuron and its
descendants, on the distinct rows of the data. Every read is returned as a full, consistent
QUBO state, so ``bqm.energies(sampleset)`` equals the reported energies and any Ocean tool can
read the result.

It is a :class:`~qubo_bnn.problem_sampler.TrainingProblemSampler`: ``sample(bqm)`` for the BQMs
that :meth:`TrainingQUBO.to_bqm` emits, and ``sample_problem(problem, coefficients)`` without
any BQM (what :func:`~qubo_bnn.training.train_problem` calls), with dwave-samplers' SA parameters.

Example:
    >>> import numpy as np
    >>> from qubo_bnn import Network, TrainingQUBO
    >>> from qubo_bnn.datasets import bars_and_stripes
    >>> X, y = bars_and_stripes(3)
    >>> q = TrainingQUBO(Network(9).dense(2).dense(1), X, y)
    >>> bqm = q.to_bqm()
    >>> ss = CollapsedSampler().sample(bqm, num_reads=4, num_sweeps=100, seed=1)
    >>> bool(np.allclose(bqm.energies(ss), ss.record.energy))
    True
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qubo_bnn_solvers._ising import SCHEDULE_TYPES, beta_schedule, check_beta_range, check_int

from .formulation import TrainingQUBO
from .objective import Coefficients
from .problem_sampler import ProblemSamples, TrainingProblemSampler, initial_weights

__all__ = ["CollapsedSampler", "CollapsedModel"]

DEVICES = ("cpu", "auto", "cuda")
CHUNK_SECONDS = 0.2
"""Target wall time of one kernel call (the sampler answers Ctrl-C between calls)."""
VISIT_SECONDS = 8e-9
"""A generous CPU time of one row visit (a proposal walking one row; benchmarks/bench_fit.py),
which sizes the first kernel call: ``CHUNK_SECONDS`` of sweeps if every proposal walked every
row, so a short schedule runs in a few calls and a long one still answers Ctrl-C at once."""
BOUND_CHECKS = 64
"""How often a schedule checks for a read at the proven lower bound (``stop_at_bound``): at
most ``BOUND_CHECKS`` evenly spaced sweeps, at least :data:`MIN_CHECK_PERIOD` apart
(:func:`check_period`), the same whatever the chunking, so results stay reproducible."""
MIN_CHECK_PERIOD = 16
"""Fewest sweeps between two bound checks: every check ends a kernel call, whose fixed cost
(each read's state rebuilt, the threads woken) short schedules would otherwise pay dozens of times."""


def check_period(num_sweeps: int) -> int:
    """Sweeps between the bound checks of a ``num_sweeps`` schedule (:data:`BOUND_CHECKS`).

    Example:
        >>> check_period(125), check_period(500), check_period(5000)
        (16, 16, 79)
    """
    return max(-(-int(num_sweeps) // BOUND_CHECKS), MIN_CHECK_PERIOD)


@dataclass(frozen=True)
class CollapsedModel:
    """The training problem as plain arrays for the kernels.

    ``src[e]``/``dst[e]``: source node (``-1`` bias, ``< n_inputs`` an input, else
    ``n_inputs + k`` for neuron ``k``) and target neuron index of edge ``e``; ``out_ptr``/
    ``out_edge``: CSR of the edges leaving each neuron; ``thr[k]``: neuron ``k`` fires iff its
    count ``u >= thr[k]`` (``⌈F_k/2⌉``); ``unit[k]``: the count's step
    (:meth:`Network.count_unit <qubo_bnn.network.Network.count_unit>`: 2 for a neuron reading
    0/1 inputs, whose count is ``F_k + z`` and threshold ``F_k``); ``fixed``/``fixed_act``:
    hard-fit outputs held at the row's target (±1); ``X`` rows as the neurons read them (±1, or
    0/1 for ``inputs="binary"``); ``G``, ``Wt``: :meth:`TrainingQUBO.settled_costs`; ``h`` per
    weight; ``levels``: ``None``, or for a problem with a min margin (``margin_kind="min"``)
    ``(lev_at, lev_max, lev_w)``: ``lev_at[k, m, u]`` the level of a row of neuron ``k`` at
    count ``u`` whose targets with samples are the bits ``m``
    (:meth:`NeuronEncoding.distance <qubo_bnn.encoding.NeuronEncoding.distance>` clipped to
    ``[0, L_k]``; a hard-fit output fires where ``m`` is 2), per neuron its largest level
    ``L_k`` and the energy of one level (``-mu·level_step``; 0 for a neuron without one).
    """

    X: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    thr: np.ndarray
    unit: np.ndarray
    fixed: np.ndarray
    fixed_act: np.ndarray
    out_ptr: np.ndarray
    out_edge: np.ndarray
    G: np.ndarray
    Wt: np.ndarray
    h: np.ndarray
    levels: tuple | None = None

    @classmethod
    def from_problem(cls, q: TrainingQUBO, A: float | Coefficients | None = None, B: float = 1.0,
                     mu: float = 0.0, h=None) -> "CollapsedModel":
        """The model of ``q`` with these coefficients (``A`` may be a :class:`Coefficients`)."""
        c = q.coefficients(A, B, mu, h)
        net = q.network
        n_in, J = net.n_inputs, net.n_neurons
        edges = net.edges
        src = np.where(edges[:, 0] == -1, -1, edges[:, 0]).astype(np.int32)
        dst = (edges[:, 1] - n_in).astype(np.int32)
        from_neuron = np.flatnonzero(src >= n_in)
        order = from_neuron[np.argsort(src[from_neuron], kind="stable")]
        out_ptr = np.zeros(J + 1, dtype=np.int32)
        np.add.at(out_ptr, src[order] - n_in + 1, 1)
        fixed = np.array([q.x_ids[j] is None for j in net.neurons])
        fixed_act = np.zeros((q.n_rows, J), dtype=np.int8)
        for j, bits in q.x_fixed.items():
            fixed_act[:, j - n_in] = 2 * bits.astype(np.int8) - 1
        G, Wt = q.settled_costs(c)
        thr = np.array([-(-q.encodings[j].fan_in // 2) for j in net.neurons], dtype=np.int32)
        encs = [q.encodings[j] for j in net.neurons]
        levels = None
        if any(enc.levels for enc in encs):
            u = np.arange(G.shape[2])
            lev_at = np.zeros((J, 4, len(u)), dtype=np.int32)
            for k, enc in enumerate(encs):
                if not enc.levels:
                    continue
                for m in range(4):
                    fires = np.full(len(u), m == 2) if fixed[k] else u >= thr[k]
                    lev_at[k, m] = np.clip(enc.distance(u, fires.astype(np.int64)), 0, enc.levels)
            levels = (lev_at, np.array([enc.levels for enc in encs], dtype=np.int32),
                      np.array([-c.mu * enc.level_step if enc.levels else 0.0 for enc in encs]))
        return cls(
            X=net.input_values(q.X), src=src, dst=dst, thr=thr,
            unit=np.array([net.count_unit(j) for j in net.neurons], dtype=np.int32),
            fixed=fixed, fixed_act=fixed_act, out_ptr=np.cumsum(out_ptr).astype(np.int32),
            out_edge=order.astype(np.int32), G=G, Wt=Wt, h=np.array(c.h, dtype=np.float64), levels=levels)

    @property
    def kernel_args(self) -> tuple:
        """The CPU kernel functions' positional problem arguments ``(X, ..., h)``. The min
        margin is not among them: pass ``levels=self.levels`` too (left out, a kernel call
        anneals the problem without its min margin), as :meth:`energies` does."""
        return (self.X, self.src, self.dst, self.thr, self.unit, self.fixed, self.fixed_act, self.out_ptr,
                self.out_edge, self.G, self.Wt, self.h)

    def rows(self, index: np.ndarray) -> "CollapsedModel":
        """The same problem on a subset of its distinct rows (each with its sample counts): the
        cost tables are per neuron, only ``X``, ``fixed_act`` and ``Wt`` are per row."""
        index = np.asarray(index, dtype=np.intp)
        return replace(self, X=np.ascontiguousarray(self.X[index]),
                       fixed_act=np.ascontiguousarray(self.fixed_act[index]), Wt=np.ascontiguousarray(self.Wt[index]))

    def energies(self, W: np.ndarray) -> np.ndarray:
        """Collapsed energy of each row of ``W`` (±1 weights, ``(n, n_weights)``)."""
        from ._collapsed_cpu import energies

        return energies(np.atleast_2d(np.asarray(W, dtype=np.int8)), *self.kernel_args, levels=self.levels)

    def flip_deltas(self, w: np.ndarray) -> np.ndarray:
        """Energy change of each single weight flip from ``w`` (±1)."""
        from ._collapsed_cpu import flip_deltas

        return flip_deltas(np.asarray(w, dtype=np.int8), *self.kernel_args, levels=self.levels)

    def lower_bound(self) -> tuple[float, float]:
        """``(bound, tolerance)``: no weights have a collapsed energy below ``bound``.

        Every neuron on every row costs at least its table's minimum over the agreement counts
        it can reach, and ``h·w >= -Σ|h|``; e.g. 0 for the plain 0-1 loss (mu = 0, h = 0) when
        no row holds both targets; a min margin adds its largest reward. ``tolerance`` covers
        the rounding of the energies' sums.
        """
        fan_in = np.bincount(self.dst, minlength=self.G.shape[0]) * self.unit
        bound, scale = 0.0, 1.0 + float(np.abs(self.h).sum())
        for k, F in enumerate(fan_in):
            pairs, counts = _distinct_pairs(self.Wt[:, k, :])       # few distinct weights
            cost = pairs[:, 0, None] * self.G[k, 0, : F + 1] + pairs[:, 1, None] * self.G[k, 1, : F + 1]
            bound += float(counts @ cost.min(axis=1))
            scale += float(counts @ np.abs(cost).max(axis=1))
        if self.levels is not None:
            reward = float(self.levels[1] @ self.levels[2])      # every neuron at its largest level (≤ 0)
            bound, scale = bound + reward, scale - reward
        return bound - float(np.abs(self.h).sum()), 1e-9 * scale

    def default_beta_range(self, rng: np.random.Generator, probes: int = 4) -> tuple[float, float]:
        """``(hot, cold)`` inverse temperatures from the collapsed energy's scale.

        Hot: a typical uphill single flip from random weights (the median positive change)
        is accepted with probability 1/2. Cold: the smallest possible change (one sample's
        cost step, or an ``h`` step) is accepted with probability 1/100.
        """
        ups = []
        for _ in range(probes):
            d = self.flip_deltas(rng.choice(np.array([-1, 1], dtype=np.int8), len(self.src)))
            ups.append(d[d > 1e-12])
        ups = np.concatenate(ups)
        steps = np.concatenate([np.abs(self.G[k, :, s:] - self.G[k, :, :-s]).ravel()
                                for k, s in enumerate(self.unit)])
        counts = self.Wt[self.Wt > 0]
        smallest = [steps[steps > 1e-12].min() * counts.min()] if counts.size and (steps > 1e-12).any() else []
        hs = 2 * np.abs(self.h[np.abs(self.h) > 1e-12])
        smallest += [hs.min()] if hs.size else []
        level_w = np.abs(self.levels[2]) if self.levels is not None else np.zeros(0)
        smallest += [level_w[level_w > 1e-12].min()] if (level_w > 1e-12).any() else []   # one level
        cold_step = min(smallest) if smallest else 1.0
        hot_step = float(np.median(ups)) if ups.size else cold_step
        hot = math.log(2.0) / max(hot_step, cold_step)
        cold = math.log(100.0) / cold_step
        return hot, max(cold, hot)


def _distinct_pairs(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(P, axis=0, return_counts=True)`` for rows of two sample counts (whole,
    non-negative floats), sorted the same way, through one 1-D key (no structured sort)."""
    if not (np.isfinite(P).all() and (P >= 0).all() and (P == np.round(P)).all()):
        return np.unique(P, axis=0, return_counts=True)
    m = float(P[:, 1].max(initial=0.0)) + 1.0
    _, first, counts = np.unique(P[:, 0] * m + P[:, 1], return_index=True, return_counts=True)
    return P[first], counts


class CollapsedSampler(TrainingProblemSampler):
    """Anneal a training BQM over its weights with every auxiliary at its conditional optimum.

    Args:
        device: ``"cpu"`` (Numba, parallel over reads), ``"cuda"`` (Numba-CUDA; falls back to
            the CPU with a warning when no usable GPU exists) or ``"auto"`` (CUDA when usable).

    ``sample(bqm, ...)`` and ``sample_problem(problem, coefficients, ...)`` take dwave-samplers'
    SA parameters: ``num_reads``, ``num_sweeps``
    (one sweep proposes every weight once), ``beta_range`` (``None``: from the collapsed
    energy's scale, :meth:`CollapsedModel.default_beta_range`), ``beta_schedule_type``
    (``"geometric"`` or ``"linear"``), ``seed``, ``initial_states`` (any QUBO states: only
    their weights are read, so another sampler's reads can be refined) and
    ``initial_states_generator``, ``progress`` (a progress bar on stderr when it is a
    terminal) and ``stop_at_bound`` (default True: stop the schedule once a read reaches the
    proven lower bound :meth:`CollapsedModel.lower_bound`, e.g. 0 training errors with mu = 0
    and h = 0; checked at evenly spaced sweeps, :func:`check_period`, so results do not depend on
    timing; the other reads stop where they are), ``n_jobs`` (None: the reads run in one call,
    Numba threads over reads; an int: they are split into ``|n_jobs|`` batches (-1: one per CPU)
    run through ``joblib.Parallel`` under the active joblib backend, so
    ``joblib.parallel_config(backend="dask")`` or ``"ray"`` spreads them over a cluster; the
    random numbers are keyed by the absolute read, so the result is the same either way; CPU
    device only). The result holds full QUBO states; ``info``
    has ``beta_range``, ``num_sweeps_run`` (all of ``num_sweeps`` unless stopped at the bound),
    ``lower_bound``, ``optimal`` (True when a read reached it) and ``timing`` (nanoseconds, as
    dwave-samplers).

    Coarse to fine (``coarse_rows=N``, off by default): the schedule runs on N distinct rows
    drawn at random (its beta range and bound from them), then ``polish_sweeps`` sweeps at the
    schedule's cold end run on every row; energies, the bound and ``optimal`` are the full
    problem's. ``info["coarse_rows"]`` says how many rows the schedule saw.
    """

    answers_interrupts = True
    """The schedule runs in ~0.2 s chunks, so Ctrl-C is answered between them."""

    def __init__(self, device: str = "cpu"):
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
        self.device = device

    @property
    def parameters(self) -> dict[str, list]:
        return {"num_reads": [], "num_sweeps": [], "beta_range": [], "beta_schedule_type": ["schedule_types"],
                "seed": [], "initial_states": [], "initial_states_generator": [], "progress": [],
                "stop_at_bound": [], "coarse_rows": [], "polish_sweeps": [], "n_jobs": []}

    @property
    def properties(self) -> dict[str, Any]:
        return {"device": self.device, "schedule_types": SCHEDULE_TYPES,
                "algorithm": "collapsed-weight-annealing"}

    def sample_problem(self, problem: TrainingQUBO, coefficients: Coefficients, num_reads: int | None = None,
                       num_sweeps: int = 1000, beta_range: tuple[float, float] | None = None,
                       beta_schedule_type: str = "geometric", seed: int | None = None, initial_states=None,
                       initial_states_generator: str = "random", progress: bool = False,
                       stop_at_bound: bool = True, coarse_rows: int | None = None, polish_sweeps: int = 100,
                       n_jobs: int | None = None, **kwargs) -> ProblemSamples:
        """Anneal ``problem``'s weights (class docstring); no BQM is built."""
        self.remove_unknown_kwargs(**kwargs)
        t0 = time.perf_counter_ns()
        q = problem
        num_sweeps = check_int("num_sweeps", num_sweeps, 1)
        if num_reads is not None:
            num_reads = check_int("num_reads", num_reads, 1)
        if beta_schedule_type not in SCHEDULE_TYPES:
            raise ValueError(f"beta_schedule_type must be one of {SCHEDULE_TYPES}, got {beta_schedule_type!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or not 0 <= seed < 2**32):
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        if n_jobs is not None:
            if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
                raise ValueError(f"n_jobs must be a nonzero integer (joblib's convention) or None, got {n_jobs!r}")
            if self.device != "cpu":
                raise ValueError("n_jobs splits the reads over CPU workers; it needs device='cpu'")
        key = int(np.random.randint(2**32, dtype=np.uint64)) if seed is None else int(seed)
        rng = np.random.default_rng(key)
        # only the weights matter: start states are weights (dimod would draw every variable)
        W = initial_weights(q, initial_states, num_reads, initial_states_generator, rng)
        model = CollapsedModel.from_problem(q, coefficients)
        schedule_model = model
        if coarse_rows is not None:
            coarse_rows = check_int("coarse_rows", coarse_rows, 1)
            polish_sweeps = check_int("polish_sweeps", polish_sweeps, 1)
            if coarse_rows < q.n_rows:
                schedule_model = model.rows(np.sort(rng.choice(q.n_rows, coarse_rows, replace=False)))
        if beta_range is None:
            beta_range = schedule_model.default_beta_range(rng)
        beta_range = check_beta_range(beta_range, beta_schedule_type)
        if beta_range[0] > beta_range[1]:
            raise ValueError(f"'beta_range' must run from hot to cold (hot <= cold), got {beta_range!r}")
        betas = beta_schedule(beta_range, num_sweeps, beta_schedule_type)
        bound, tol = model.lower_bound()
        t1 = time.perf_counter_ns()
        if schedule_model is model:
            energies, run = self._anneal(model, W, betas, key, progress, bound + tol if stop_at_bound else None,
                                         n_jobs)
        else:   # coarse: the schedule on the subset (stopping at its own bound), then polish on all rows
            sub_bound, sub_tol = schedule_model.lower_bound()
            _, run = self._anneal(schedule_model, W, betas, key, progress,
                                  sub_bound + sub_tol if stop_at_bound else None, n_jobs)
            energies, _ = self._anneal(model, W, np.full(polish_sweeps, betas[-1]), (key + 1) % 2**32, progress,
                                       bound + tol if stop_at_bound else None, n_jobs)
        t2 = time.perf_counter_ns()
        info = {"beta_range": [float(b) for b in beta_range], "beta_schedule_type": beta_schedule_type,
                "device": self._last_device, "num_sweeps_run": run, "lower_bound": bound,
                "optimal": bool(energies.min() <= bound + tol), "coarse_rows": int(schedule_model.X.shape[0]),
                "timing": {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1, "postprocessing_ns": 0}}
        return ProblemSamples(W, energies, info)

    def _anneal(self, model: CollapsedModel, W: np.ndarray, betas: np.ndarray, key: int,
                progress: bool = False, stop_below: float | None = None,
                n_jobs: int | None = None) -> tuple[np.ndarray, int]:
        """Run the schedule on ``W`` in place; ``(energies, sweeps run)``. With ``stop_below``,
        stop at the first of the evenly spaced check sweeps (:func:`check_period`) where a read's energy is
        at most ``stop_below``."""
        from tqdm.auto import tqdm

        if n_jobs is None:
            run = self._kernel(model)
        else:
            self._last_device, run = "cpu", _batched(model, n_jobs)
        # a progress bar on stderr when asked for and stderr is a terminal
        bar = tqdm(total=len(betas), desc="collapsed annealing", unit="sweep", leave=False,
                   disable=None if progress else True, file=sys.stderr)
        # Run the schedule in chunks of about CHUNK_SECONDS, so Ctrl-C is answered between
        # chunks; the result does not depend on the chunking (random numbers are keyed by sweep).
        # With stop_below, chunks end at the check sweeps, so where it stops does not depend on timing.
        period = len(betas) if stop_below is None else check_period(len(betas))
        visits = max(1, W.shape[0] * W.shape[1] * model.X.shape[0])          # per sweep, at most
        done, chunk = 0, max(1, int(CHUNK_SECONDS / (visits * VISIT_SECONDS)))
        try:
            while done < len(betas):
                t = time.perf_counter()
                end = min(done + chunk, (done // period + 1) * period, len(betas))
                energies = run(W, betas[done: end], key, done)
                bar.update(end - done)
                ran, done = end - done, end
                elapsed = time.perf_counter() - t
                chunk = max(1, min(2 * ran, int(ran * CHUNK_SECONDS / max(elapsed, 1e-6))))
                if stop_below is not None and done % period == 0 and energies.min() <= stop_below:
                    break
        finally:
            bar.close()
        return energies, done

    def _kernel(self, model: CollapsedModel):
        """``run(W, betas, key, sweep0) -> energies`` on this sampler's device (CPU fallback)."""
        if self.device != "cpu":
            from qubo_bnn_solvers.sampler import _cuda_unusable

            problem = _cuda_unusable()
            if problem is None:
                from ._collapsed_cuda import anneal_cuda

                self._last_device = "cuda"
                return lambda W, betas, key, sweep0: anneal_cuda(model, W, betas, key, sweep0)
            if self.device == "cuda":
                warnings.warn(f"device='cuda' requested but {problem}; falling back to the CPU "
                              "collapsed annealer", RuntimeWarning, stacklevel=4)
        from ._collapsed_cpu import anneal, row_tables

        self._last_device = "cpu"
        tables = row_tables(*model.kernel_args, levels=model.levels)    # once: every chunk shares them

        def run(W, betas, key, sweep0):
            out = np.empty(len(W))
            anneal(W, *model.kernel_args, betas, key, sweep0, out, tables=tables)
            return out

        return run


def _anneal_batch(kernel_args: tuple, W: np.ndarray, betas: np.ndarray, key: int, sweep0: int,
                  read0: int, levels: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One batch of reads (``read0, read0 + 1, ...``) on the CPU kernel: ``(W, energies)``; a
    module-level function, so that joblib can ship it to a worker process or a cluster."""
    from ._collapsed_cpu import anneal

    energies = np.empty(len(W))
    anneal(W, *kernel_args, betas, key, sweep0, energies, read0, levels=levels)
    return W, energies


def _batched(model: CollapsedModel, n_jobs: int):
    """``run(W, betas, key, sweep0) -> energies`` splitting the reads into batches run through
    ``joblib.Parallel(n_jobs)`` (:class:`CollapsedSampler`'s ``n_jobs``)."""
    from joblib import Parallel, delayed, effective_n_jobs

    def run(W, betas, key, sweep0):
        bounds = np.linspace(0, len(W), min(len(W), effective_n_jobs(n_jobs)) + 1).astype(int)
        spans = list(zip(bounds[:-1], bounds[1:]))
        parts = Parallel(n_jobs=n_jobs)(delayed(_anneal_batch)(model.kernel_args, W[a:b], betas, key, sweep0, a,
                                                                model.levels)
                                        for a, b in spans)
        for (a, b), (Wb, _) in zip(spans, parts):
            W[a:b] = Wb                   # a worker process anneals a copy
        return np.concatenate([e for _, e in parts])

    return run
