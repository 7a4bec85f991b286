"""An exact reference backend: the training problem solved over the weights with OR-Tools CP-SAT.

The energy of the consistent QUBO state of weights ``w`` is a sum of per-neuron tables
(:meth:`~qubo_bnn.formulation.TrainingQUBO.settled_costs`, docs/FORMULATION.md "Collapsed
energy")::

    E(w) = Σ_r Σ_k Σ_τ Wt[r,k,τ]·G[k,τ,u_k^r] + h·w

with ``u_k^r`` the agreement count of neuron ``k`` on row ``r``. :class:`CPSATSampler` states
exactly this as a CP-SAT model over boolean weights ``ω_e``:

* agreement literals ``g_e``: ``ω_e`` for a bias, ``ω_e`` / ``¬ω_e`` for an input (or a hard-fit
  output, a constant) that is on / off in the row, ``XNOR(ω_e, a_s)`` for a neuron source ``s``
  (four clauses);
* ``u_k^r = Σ_e g_e`` and the activation ``a_k^r ⇔ u_k^r ≥ ⌈F_k/2⌉`` (``sign(0) = +1``), except
  hard-fit outputs, clamped to the row's target;
* the cost of ``(k, r)``: a constant; ``lo + (hi - lo)·a`` when the table only depends on the
  side of the threshold (the 0-1 loss); a cost variable tied to ``u`` by one linear equality per
  side, enforced by ``a`` / ``¬a``, when the table is affine on each side (the untruncated margin
  reward ``|z| = |2u - F|``); otherwise an ``AddElement`` on the integer table (truncated
  margins, the penalties of hard fit and hard margins);
* a min margin (``margin_kind="min"``): one integer level ``m_k ∈ [0, L_k]`` per neuron, at most
  every row's distance from the threshold (``u - threshold`` where ``a``, ``R - u`` where not;
  or 0 where a hard constraint makes it negative), rewarded ``2·m_k/unit`` once.

Identical neuron instances (the same literals, e.g. a sparse neuron on rows that agree on its
inputs) share their variables and their tables are summed. CP-SAT needs integers: the
coefficients ``A, B, mu, h`` are scaled to integers, exactly by a power of two when they are
dyadic (e.g. 1.0, 0.25), else by a small rational (0.1 -> 10), else rounded; ``info``
reports the scale and the resulting ``tolerance``.

CP-SAT runs in a worker thread while the caller's thread waits in short slices: Ctrl-C stops the
search through CP-SAT's own API (``CpSolver.stop_search``), waits for the solver to return and
re-raises :class:`KeyboardInterrupt`. CP-SAT's own SIGINT handler is switched off
(``catch_sigint_signal``): called in the worker thread it aborts the process
(``std::bad_function_call``, exit status 134).

Example:
    >>> import numpy as np
    >>> from qubo_bnn.network import Network
    >>> from qubo_bnn.formulation import TrainingQUBO
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([0, 1, 1, 1])  # OR
    >>> bqm = TrainingQUBO(Network(2).dense(1), X, y).to_bqm()
    >>> ss = CPSATSampler().sample(bqm, seed=0)
    >>> float(ss.first.energy), ss.info["status"], ss.info["optimal"]
    (0.0, 'OPTIMAL', True)
"""
from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any

import dimod
import numpy as np

from .formulation import BIAS, COMPONENTS, TrainingQUBO
from .objective import Coefficients
from .problem_sampler import ProblemSamples, TrainingProblemSampler, initial_weights

__all__ = ["CPSATSampler"]

_EXACT_EXTRA = "pip install 'qubo-bnn[exact]'"
# Largest |scaled objective| we let CP-SAT see: exact in float64 (bound, objective values),
# and far from CP-SAT's int64 overflow checks.
_MAX_SCALED = 2.0 ** 50


def _cp_model():
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:
        raise ImportError(f"the 'cpsat' sampler needs OR-Tools CP-SAT: {_EXACT_EXTRA}") from exc
    return cp_model


def _integer_scale(coefs: np.ndarray, magnitude: np.ndarray) -> tuple[int | Fraction, np.ndarray, str]:
    """A scale ``S`` and integers ``round(S·coefs)``, ``Σ |S·coefs|·magnitude <= 2^50``.

    Tried in order: the smallest power of two making every coefficient an exact integer
    (``"exact"``); the least common denominator of close rationals (``limit_denominator(10^6)``,
    within 1e-12 relatively: ``"rational"``); the largest power of two that fits (``"rounded"``).
    """
    coefs = np.asarray(coefs, dtype=np.float64)
    size = float(np.abs(coefs) @ magnitude)
    if size == 0.0:
        return 1, np.zeros(len(coefs), dtype=np.int64), "exact"

    def fits(S) -> bool:
        return size * float(S) <= _MAX_SCALED

    for p in range(0, 64):
        S = 2 ** p
        if not fits(S):
            break
        scaled = coefs * S                           # exact: a power-of-two product
        if np.all(scaled == np.round(scaled)):
            return S, scaled.astype(np.int64), "exact"
    fracs = [Fraction(float(c)).limit_denominator(10 ** 6) for c in coefs]
    if all(abs(float(f) - c) <= 1e-12 * max(1.0, abs(c)) for f, c in zip(fracs, coefs)):
        S = 1
        for f in fracs:
            S = S * f.denominator // math.gcd(S, f.denominator)
        if fits(S):
            return S, np.array([int(f * S) for f in fracs], dtype=np.int64), "rational"
    p = int(math.floor(math.log2(_MAX_SCALED / size)))
    S = Fraction(2) ** p                             # p may be negative for huge coefficients
    return S, np.array([round(Fraction(float(c)) * S) for c in coefs], dtype=np.int64), "rounded"


class CPSATSampler(TrainingProblemSampler):
    """Exact training with CP-SAT: the optimal weights of a training BQM, with a proof or a gap.

    A :class:`~qubo_bnn.problem_sampler.TrainingProblemSampler`: ``sample(bqm)`` samples BQMs
    emitted by :meth:`~qubo_bnn.formulation.TrainingQUBO.to_bqm` and returns one sample, the
    consistent QUBO state of the best weights found with its BQM energy;
    ``sample_problem(problem, coefficients)`` returns those weights without any BQM. Registry
    name ``cpsat``; needs ``pip install 'qubo-bnn[exact]'``.

    ``info``:
        ``status`` (``"OPTIMAL"``, ``"FEASIBLE"``, or ``"UNKNOWN"`` when no solution was found in
        time, the hint or all-``+1`` weights are then returned), ``optimal`` (CP-SAT proved the
        integer model optimal), ``objective`` (the returned state's BQM energy, the collapsed
        energy of its weights), ``bound`` (a
        lower bound on the BQM energy of every consistent state, in BQM units; the BQM's ground
        state is consistent whenever ``A`` is at least the default and some weights meet the hard
        constraints, always without hard fit or hard margins), ``gap`` (``objective - bound``),
        ``wall_time_s``, ``scale`` / ``scaling`` / ``tolerance`` (the integer model is the BQM
        energy times ``scale`` within ``tolerance`` BQM units for every weight assignment; 0 when
        ``scaling == "exact"``; an optimum of the integer model is within ``2·tolerance`` of the
        true one), ``num_conflicts``, ``num_branches``.

    Example:
        >>> import numpy as np
        >>> from qubo_bnn.network import Network
        >>> from qubo_bnn.formulation import TrainingQUBO
        >>> X = np.array([[0, 1], [1, 0], [1, 1], [1, 1]]); y = np.array([1, 1, 0, 1])
        >>> bqm = TrainingQUBO(Network(2).dense(1), X, y).to_bqm(mu=0.1)
        >>> info = CPSATSampler().sample(bqm, seed=0).info
        >>> info["optimal"], info["scaling"], round(info["objective"], 6), round(info["bound"], 6)
        (True, 'rational', 0.2, 0.2)
    """

    answers_interrupts = True
    """Ctrl-C stops CP-SAT's search (``stop_search``) and is re-raised once the solver returned."""

    def __init__(self) -> None:
        _cp_model()   # fail early, naming the extra

    @property
    def parameters(self) -> dict[str, list]:
        return {"time_limit": [], "num_workers": [], "seed": [], "initial_states": [], "log_progress": [],
                "progress": []}

    @property
    def properties(self) -> dict[str, Any]:
        return {"exact": True, "backend": "ortools.sat CP-SAT"}

    # ------------------------------------------------------------------ sampling
    def sample_problem(self, problem: TrainingQUBO, coefficients: Coefficients, *, time_limit: float = 10.0,
                       num_workers: int = 2, seed: int | None = None, initial_states=None,
                       log_progress: bool = False, progress: bool = False) -> ProblemSamples:
        """Solve the training problem; one read (see the class docstring).

        Args:
            problem, coefficients: the training problem and the coefficients of its objective.
            time_limit: seconds CP-SAT may run (it stops earlier once optimality is proved).
            num_workers: CP-SAT's parallel workers.
            seed: CP-SAT's random seed.
            initial_states: optional samples-like holding the weight variables ``"w{e}"``; the
                weights of the one with the lowest collapsed energy are a solution hint (with
                their forward pass).
            log_progress: print CP-SAT's search log.
            progress: elapsed time on stderr while CP-SAT runs (when it is a terminal).

        Raises:
            ValueError: a bad parameter.
            KeyboardInterrupt: Ctrl-C, after CP-SAT stopped.
        """
        from .samplers import run_interruptibly

        if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
            raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 1:
            raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
        q = problem
        c = q.coefficients(coefficients)
        hint = self._hint_weights(q, c, initial_states)
        cp_model = _cp_model()
        model, w_vars, offset, floor, S, tol, scaling = _build(cp_model, q, c, hint)

        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = float(time_limit)
        solver.parameters.num_workers = int(num_workers)
        if seed is not None:
            solver.parameters.random_seed = int(seed) % (2 ** 31)
        solver.parameters.log_search_progress = bool(log_progress)
        # CP-SAT's own SIGINT handler aborts the process when the solve runs outside the main
        # thread (std::bad_function_call); Python's handler stops it instead (module docstring).
        solver.parameters.catch_sigint_signal = False
        t0 = time.perf_counter()
        status = run_interruptibly(lambda: solver.solve(model), "solving with CP-SAT" if progress else None,
                                   stop=solver.stop_search)
        wall = time.perf_counter() - t0
        name = solver.status_name(status)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            w = np.array([1 if solver.boolean_value(v) else -1 for v in w_vars], dtype=np.int8)
            bound_scaled = max(float(solver.best_objective_bound), float(floor))
        else:
            if status != cp_model.UNKNOWN:   # the model is always feasible: a bug if not
                raise RuntimeError(f"CP-SAT returned {name} on the training model")
            # stopped before any solution (e.g. in presolve): its bound is not meaningful
            w = hint if hint is not None else np.ones(q.n_weights, dtype=np.int8)
            bound_scaled = float(floor)
        energy = float(c.combine(q.collapsed_split(w[None, :], c.h))[0])
        bound = (bound_scaled + offset) / float(S) - tol
        info = {
            "status": name,
            "optimal": status == cp_model.OPTIMAL,
            "objective": energy,
            "bound": bound,
            "gap": max(0.0, energy - bound),
            "wall_time_s": wall,
            "scale": float(S),
            "scaling": scaling,
            "tolerance": tol,
            "num_conflicts": int(solver.num_conflicts),
            "num_branches": int(solver.num_branches),
            "hinted": hint is not None,
        }
        return ProblemSamples(w[None, :], [energy], info)

    @staticmethod
    def _hint_weights(q: TrainingQUBO, c: Coefficients, initial_states) -> np.ndarray | None:
        if initial_states is None:
            return None
        n_states = len(dimod.as_samples(initial_states)[0])
        if n_states == 0:
            return None
        W = initial_weights(q, initial_states, n_states, "none", np.random.default_rng(0))
        best = int(np.argmin(c.combine(q.collapsed_split(W, c.h)))) if len(W) > 1 else 0
        return W[best]


def _build(cp_model, q: TrainingQUBO, c: Coefficients, hint: np.ndarray | None):
    """The CP-SAT model of ``E(w)`` (module docstring); returns what :meth:`sample` needs."""
    net = q.network
    ni, edges, slices = net.n_inputs, net.edges, net.edge_slices()
    # Unit tables: E is linear in (A, B, mu), and each table is an integer (docs/FORMULATION.md,
    # "Collapsed energy": squared residuals, error counts, |z| rewards).
    units = []
    tables, Wt = q.cost_tables()
    for name in COMPONENTS:                 # penalty, loss, margin: the order of A, B, mu below
        G = tables[name]
        Gi = np.rint(G).astype(np.int64)
        assert np.array_equal(Gi, G), "settled cost tables must be integers per unit coefficient"
        units.append(Gi)
    Wi = np.rint(Wt).astype(np.int64)
    # size of each coefficient's contribution: Σ_{r,k} max_u |Σ_τ Wt·table|, and 1 per h_e
    mags = [float(np.abs(np.einsum("rkt,ktu->rku", Wi, U)).max(axis=2).sum()) for U in units]
    # the min margin (docs/FORMULATION.md, "Min margin"): -2m/unit per neuron, m <= levels
    lev_encs = [q.encodings[j] for j in net.neurons if q.encodings[j].levels]
    mags[2] += float(sum(enc.level_step * enc.levels for enc in lev_encs))
    h = c.h
    coefs = np.concatenate([[c.A, c.B, c.mu], h])
    S, ints, scaling = _integer_scale(coefs, np.concatenate([mags, np.ones(len(h))]))
    # |scaled model - S·E(w)| <= Σ_i |S·c_i - round(S·c_i)|·magnitude_i, for every w
    err = [abs(Fraction(float(v)) * S - int(i)) for v, i in zip(coefs, ints)]
    tol = float(sum(e * Fraction(m) for e, m in zip(err, mags + [1.0] * len(h))) / S)
    Ai, Bi, mi = (int(v) for v in ints[:3])
    hi = [int(v) for v in ints[3:]]
    Gint = Ai * units[0] + Bi * units[1] + mi * units[2]            # (n_neurons, 2, Fmax + 1)

    model = cp_model.CpModel()
    xnor_at: list[tuple[Any, int, int, int]] = []     # (g, edge, source, row) for the hint
    w = [model.new_bool_var(f"w{e}") for e in range(q.n_weights)]
    xnor: dict[tuple[int, int], Any] = {}
    groups: dict[tuple, dict] = {}          # (neuron, literal indices) -> shared instance
    act: dict[tuple[int, int], Any] = {}    # (neuron, row) -> activation literal
    level: dict[int, Any] = {}              # neuron -> its min-margin level m
    leveled: set = set()                    # (group, fires) whose distance already bounds m
    n_rows = q.n_rows
    for j in net.neurons:
        enc = q.encodings[j]
        k, F, unit = j - ni, enc.fan_in, enc.unit   # F, u in count steps (docs/FORMULATION.md)
        T = (F + 1) // 2                    # a = 1 iff z >= 0 iff u >= ceil(F/2)
        clamped = q.x_ids[j] is None
        if enc.levels:
            level[j] = model.new_int_var(0, enc.levels, f"m{j}")
        row_cost = Wi[:, k, 0, None] * Gint[k, 0, : F + 1] + Wi[:, k, 1, None] * Gint[k, 1, : F + 1]
        for r in range(n_rows):
            lits, n_off = [], 0             # n_off: 0/1 inputs that are off, 1 count step each
            for e in range(slices[j].start, slices[j].stop):
                s = int(edges[e, 0])
                if s == BIAS:
                    lits.append(w[e])
                elif s < ni or q.x_ids[s] is None:          # input, or a clamped output: a constant
                    on = q.X[r, s] if s < ni else q.x_fixed[s][r]
                    if net.inputs == "binary" and s < ni and not on:
                        n_off += 1
                    else:
                        lits.append(w[e] if on else w[e].negated())
                else:                                       # g = XNOR(ω, a_s)
                    a = act[(s, r)]
                    key = (e, a.index)
                    g = xnor.get(key)
                    if g is None:
                        g = model.new_bool_var(f"g{e}_{r}")
                        model.add_bool_or([g.negated(), w[e].negated(), a])
                        model.add_bool_or([g.negated(), w[e], a.negated()])
                        model.add_bool_or([g, w[e], a])
                        model.add_bool_or([g, w[e].negated(), a.negated()])
                        xnor[key] = g
                        xnor_at.append((g, e, s, r))
                    lits.append(g)
            key = (j, tuple(lit.index for lit in lits), n_off)
            grp = groups.get(key)
            if grp is None:
                expr = unit * sum(lits) + n_off if lits else model.new_constant(n_off)   # every input off
                a = None
                if not clamped:
                    a = model.new_bool_var(f"a{j}_{r}")
                    model.add(expr >= T).only_enforce_if(a)
                    model.add(expr <= T - 1).only_enforce_if(a.negated())
                grp = groups[key] = {"j": j, "r": r, "F": F, "T": T, "expr": expr, "a": a,
                                     "table": np.zeros(F + 1, dtype=np.int64)}
            grp["table"] += row_cost[r]
            if not clamped:
                act[(j, r)] = grp["a"]
            if enc.levels:
                _bound_level(model, level[j], enc, grp, T, None if not clamped else bool(q.x_fixed[j][r]), leveled)

    # objective: Σ group costs + h·w, integers; the constant part stays in `offset`, and
    # `floor` (a valid lower bound of the rest: every term at its smallest) backs up CP-SAT's bound
    terms_v, terms_c, offset, floor = [], [], 0, 0
    for grp in groups.values():
        t, F, T, a = grp["table"], grp["F"], grp["T"], grp["a"]
        lo = int(t.min())
        if (t == t[0]).all():
            offset += int(t[0])
            continue
        g = int(np.gcd.reduce(t - lo))
        red = (t - lo) // g                              # cost = lo + g·red[u], red >= 0
        offset += lo
        if a is not None and (red[:T] == red[0]).all() and (red[T:] == red[T]).all():
            # cost depends on the side only (e.g. the 0-1 loss): lo + g·(red_0 + (red_T - red_0)·a)
            offset += g * int(red[0])
            terms_v.append(a); terms_c.append(g * int(red[T] - red[0]))
            floor += min(0, g * int(red[T] - red[0]))
            continue
        c = model.new_int_var(0, int(red.max()), f"c{grp['j']}_{grp['r']}")
        terms_v.append(c); terms_c.append(g)
        grp["c"], grp["red"] = c, red.tolist()
        s0, s1 = np.diff(red[:T]), np.diff(red[T:])
        if a is not None and (s0 == (s0[0] if len(s0) else 0)).all() and (s1 == (s1[0] if len(s1) else 0)).all():
            # affine on each side of the threshold (e.g. the margin reward |z| = |2u - F|):
            # two enforced linear equalities instead of an element (no encoding of u)
            b0, b1 = (int(s0[0]) if len(s0) else 0), (int(s1[0]) if len(s1) else 0)
            model.add(c == int(red[0]) + b0 * grp["expr"]).only_enforce_if(a.negated())
            model.add(c == int(red[T]) + b1 * (grp["expr"] - T)).only_enforce_if(a)
        else:                                            # general table: c = red[u]
            u = model.new_int_var(0, F, f"u{grp['j']}_{grp['r']}")
            model.add(u == grp["expr"])
            model.add_element(u, grp["red"], c)
            grp["u"] = u
    for j, m in level.items():                           # the min margin's reward, once per neuron
        c_m = -mi * q.encodings[j].level_step
        terms_v.append(m); terms_c.append(c_m)
        floor += min(0, c_m * q.encodings[j].levels)
    for e, he in enumerate(hi):                          # h·w = h·(2ω - 1)
        if he:
            terms_v.append(w[e]); terms_c.append(2 * he)
            offset -= he
            floor += min(0, 2 * he)
    model.minimize(cp_model.LinearExpr.weighted_sum(terms_v, terms_c))

    if hint is not None:
        Z, Aact = net.forward(q.X, hint, clamp=q.x_fixed)
        for e in range(q.n_weights):
            model.add_hint(w[e], bool(hint[e] > 0))
        for grp in groups.values():
            kk, r = grp["j"] - ni, grp["r"]
            if grp["a"] is not None:
                model.add_hint(grp["a"], bool(Aact[r, kk] > 0))
            u = int(q.encodings[grp["j"]].count(Z[r, kk]))
            if "u" in grp:
                model.add_hint(grp["u"], u)
            if "c" in grp:
                model.add_hint(grp["c"], grp["red"][u])
        for g, e, s, r in xnor_at:
            model.add_hint(g, bool((hint[e] > 0) == (Aact[r, s - ni] > 0)))
        for j, m in level.items():
            enc, kk = q.encodings[j], j - ni
            model.add_hint(m, int(enc.level(enc.count(Z[:, kk]), (Aact[:, kk] > 0).astype(np.int64))))
    return model, w, offset, floor, S, tol, scaling


def _bound_level(model, m, enc, grp, T: int, fires: bool | None, done: set) -> None:
    """``m <= max(0, distance)`` for one group's rows (the level is at most every row's distance,
    ``u - threshold`` where the neuron fires, ``R - u`` where not); ``fires``: a clamped output's
    target (``None``: the group's activation literal decides)."""
    key = (id(grp), fires)
    if key in done:
        return
    done.add(key)
    expr, a = grp["expr"], grp["a"]
    up, down = expr - enc.threshold, enc.R - expr
    if fires is None and enc.threshold == T and enc.R == T - 1:     # the distance is never negative
        model.add(up >= m).only_enforce_if(a)
        model.add(down >= m).only_enforce_if(a.negated())
        return
    zero = model.new_bool_var("")                                   # m = 0, or m <= the distance
    model.add(m == 0).only_enforce_if(zero)
    if fires is None:
        model.add(up >= m).only_enforce_if([zero.negated(), a])
        model.add(down >= m).only_enforce_if([zero.negated(), a.negated()])
    else:
        model.add((up if fires else down) >= m).only_enforce_if(zero.negated())
