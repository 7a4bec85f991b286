"""The training problem as a constrained quadratic model (CQM), and a sampler that solves it.

The QUBO of :mod:`qubo_bnn.formulation` enforces sign consistency with penalties
``A·P``. A CQM solver can take those constraints natively, so :func:`training_cqm` states
the same problem over the same binary variables (same labels) without ``A``:

    minimise    B·L + mu·M + Σ_e h_e·w_e               (w_e = 2ω_e - 1)
    subject to  u_j - T_j·x_j - Σ c·t_j - e_j = 0       per neuron j and row r  ("sign_j_r")
                y ≤ ω,  y ≤ x,  y ≥ ω + x - 1           per AND auxiliary y = ω∧x ("and_e_r_*")
                e_j ≤ x_j                               per tie bit              ("tie_j_r")

``L`` and ``M`` are the loss and margin polynomials of the QUBO (docs/FORMULATION.md,
"Objective"), ``u_j`` is the agreement count written in the same variables (its neuron→neuron
terms use ``XNOR(ω, x) = 1 - ω - x + 2y``). The feasible states are exactly the states where
the QUBO's penalty ``P`` is 0, so for every weight assignment the CQM minimum over the
auxiliaries equals the QUBO's, ``B·errors - mu·Σ reward + h·w``.

:class:`CQMTrainingSampler` samples a training BQM through any CQM sampler (the registry's
``cqm-hybrid`` entry wraps ``dwave.system.LeapHybridCQMSampler``) and returns ordinary QUBO
states.

Example:
    >>> import numpy as np, dimod
    >>> from qubo_bnn.network import Network
    >>> from qubo_bnn.formulation import TrainingQUBO
    >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
    >>> cqm = training_cqm(q)
    >>> sorted(cqm.constraints)
    ['sign_2_0', 'sign_2_1']
    >>> best = dimod.ExactCQMSolver().sample_cqm(cqm).filter(lambda d: d.is_feasible).first
    >>> float(best.energy)
    0.0
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import dimod
import numpy as np

from .objective import Coefficients
from .problem_sampler import ProblemSamples, TrainingProblemSampler

if TYPE_CHECKING:   # pragma: no cover - annotations only (formulation imports this module)
    from .formulation import TrainingQUBO

__all__ = ["training_cqm", "CQMTrainingSampler"]

logger = logging.getLogger(__name__)


def _objective(q: "TrainingQUBO", B: float, mu: float, h: np.ndarray) -> dimod.BinaryQuadraticModel:
    """``B·L + mu·M + h·(2ω - 1)`` as a BQM over all of ``q.labels`` (the QUBO minus ``A·P``)."""
    nv = q.n_variables
    lin = np.zeros(nv)
    qi, qj, qv = [], [], []
    off = 0.0
    for name, c in (("loss", B), ("margin", mu)):
        if c == 0.0:
            continue
        l_, (i_, j_, v_), o_ = q.polynomials[name].expand(nv)
        lin += c * l_
        qi.append(i_); qj.append(j_); qv.append(c * v_)
        off += c * o_
    lin[: q.n_weights] += 2.0 * h          # h·w = h·(2ω - 1)
    off -= float(h.sum())
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    qi_, qj_, qv_ = cat(qi, np.int64), cat(qj, np.int64), cat(qv, np.float64)
    if len(qi_):                           # loss and margin share no pairs today; sum them anyway
        key = qi_ * nv + qj_
        uniq, inv = np.unique(key, return_inverse=True)
        qi_, qj_, qv_ = uniq // nv, uniq % nv, np.bincount(inv, weights=qv_, minlength=len(uniq))
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        lin, (qi_, qj_, qv_), off, dimod.BINARY, variable_order=q.labels)


def training_cqm(q: "TrainingQUBO", B: float = 1.0, mu: float = 0.0, h=None) -> dimod.ConstrainedQuadraticModel:
    """The training problem ``q`` as a CQM over the QUBO's binary variables and labels.

    Args:
        q: the :class:`~qubo_bnn.formulation.TrainingQUBO`.
        B: weight of the 0-1 loss; mu: weight of the margin term; h: ``(n_weights,)`` linear
            penalties on the ±1 weights (as in :meth:`TrainingQUBO.to_bqm`; no ``A``: the
            sign, AND and tie constraints are hard).

    Returns:
        A :class:`dimod.ConstrainedQuadraticModel` with the objective ``B·L + mu·M + h·w``
        and one equality ``sign_{j}_{r}`` per neuron ``j`` and row ``r``, three inequalities
        ``and_{e}_{r}_{w|x|lb}`` per AND auxiliary (``and_m{j}_{r}_{k}_…`` for the min margin's
        ``q = g ∧ x``) and one ``tie_{j}_{r}`` per tie bit.
        Under hard fit the outputs are constants: a tie bit of a row whose output is fixed to 0
        gets ``e <= 0``, one fixed to 1 no constraint. :func:`dimod.lp.dump` writes it as is
        (any MIP solver reads the LP file).

    Example:
        >>> import numpy as np
        >>> from qubo_bnn.network import Network
        >>> from qubo_bnn.formulation import TrainingQUBO
        >>> net = Network(2).dense(2, bias=False).dense(1)      # F = 2 (tie bits), then 3
        >>> q = TrainingQUBO(net, np.array([[0, 1], [1, 1]]), np.array([1, 0]))
        >>> cqm = training_cqm(q, mu=0.5)
        >>> len(cqm.variables) == q.n_variables, len(cqm.constraints)
        (True, 22)
    """
    B, mu = float(B), float(mu)
    for name, val in (("B", B), ("mu", mu)):
        if not np.isfinite(val):
            raise ValueError(f"{name} must be finite, got {val}")
    h = q._check_h(h)
    labels = q.labels
    label_arr = np.asarray(labels, dtype=object)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(_objective(q, B, mu, h))   # declares every variable, in label order
    # sign consistency: Σ_k coef[r,k]·v[idx[r,k]] + const[r] = 0  (docs/FORMULATION.md, Sign consistency)
    for j, (idx, coef, const) in q._residual_forms.items():
        lab = label_arr[idx]                                  # (n_rows, K) labels
        for r in range(idx.shape[0]):
            cqm.add_constraint_from_iterable(zip(lab[r].tolist(), coef[r].tolist()), "==",
                                             rhs=-float(const[r]), label=f"sign_{j}_{r}")
    # AND auxiliaries y = ω ∧ x as linear inequalities (exact on binaries)
    for e, ys in q.y_ids.items():
        xs = q.x_ids[int(q.network.edges[e, 0])]
        for r, (y, x) in enumerate(zip(ys.tolist(), xs.tolist())):
            _add_and(cqm, labels[y], labels[e], labels[x], f"and_{e}_{r}")
    # the min margin's q = g ∧ x, the same way
    for j, qs in q.q_ids.items():
        xs, gs = q.x_ids[j], q.level_ids[j]
        for r, k in np.ndindex(*qs.shape):
            _add_and(cqm, labels[qs[r, k]], labels[gs[k]], labels[xs[r]], f"and_m{j}_{r}_{k}")
    # tie bit only where the neuron fires: e <= x
    for j, es in q.e_ids.items():
        if es is None:
            continue
        xs = q.x_ids[j]
        for r, ev in enumerate(es.tolist()):
            if xs is not None:
                cqm.add_constraint_from_iterable([(labels[ev], 1.0), (labels[int(xs[r])], -1.0)], "<=",
                                                 rhs=0.0, label=f"tie_{j}_{r}")
            elif q.x_fixed[j][r] == 0:                       # hard fit, output fixed to 0
                cqm.add_constraint_from_iterable([(labels[ev], 1.0)], "<=", rhs=0.0, label=f"tie_{j}_{r}")
    return cqm


def _add_and(cqm: dimod.ConstrainedQuadraticModel, y: str, w: str, x: str, label: str) -> None:
    """``y = w ∧ x`` as three linear inequalities (exact on binaries): ``label_w``, ``_x``, ``_lb``."""
    cqm.add_constraint_from_iterable([(y, 1.0), (w, -1.0)], "<=", rhs=0.0, label=f"{label}_w")
    cqm.add_constraint_from_iterable([(y, 1.0), (x, -1.0)], "<=", rhs=0.0, label=f"{label}_x")
    cqm.add_constraint_from_iterable([(w, 1.0), (x, 1.0), (y, -1.0)], "<=", rhs=1.0, label=f"{label}_lb")


class CQMTrainingSampler(TrainingProblemSampler):
    """Sample a training BQM by solving its CQM (:func:`training_cqm`) with a CQM sampler.

    Args:
        child: anything with ``sample_cqm(cqm, **kwargs) -> SampleSet``, e.g.
            ``dwave.system.LeapHybridCQMSampler()`` (registry name ``cqm-hybrid``) or
            :class:`dimod.ExactCQMSolver` for tiny problems.

    A :class:`~qubo_bnn.problem_sampler.TrainingProblemSampler`: :meth:`sample_problem` builds
    the CQM with the coefficients' ``B``, ``mu`` and ``h``, samples it and decodes the distinct
    weights of its feasible samples (of all, if none is feasible; ``info["num_feasible"]`` says),
    with their collapsed energies; ``sample(bqm)`` returns their consistent QUBO states with the
    BQM's energies. ``info`` keeps the CQM sample set's info.

    Example:
        >>> import numpy as np, dimod
        >>> from qubo_bnn.network import Network
        >>> from qubo_bnn.formulation import TrainingQUBO
        >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
        >>> ss = CQMTrainingSampler(dimod.ExactCQMSolver()).sample(q.to_bqm())
        >>> float(ss.first.energy), ss.info["num_feasible"] > 0
        (0.0, True)
    """

    def __init__(self, child: Any) -> None:
        if not callable(getattr(child, "sample_cqm", None)):
            raise TypeError(f"child must have a sample_cqm method (a CQM sampler), got {type(child).__name__}")
        self.child = child

    @property
    def parameters(self) -> dict[str, list]:
        params = {"time_limit": []}
        params.update(getattr(self.child, "parameters", None) or {})
        return params

    @property
    def properties(self) -> dict[str, Any]:
        return {"child_properties": dict(getattr(self.child, "properties", None) or {})}

    def sample_problem(self, problem: "TrainingQUBO", coefficients: Coefficients, *,
                       time_limit: float | None = None, **kwargs: Any) -> ProblemSamples:
        """Solve ``problem``'s CQM with the child sampler (class docstring); no BQM is built."""
        q, c = problem, coefficients
        cqm = training_cqm(q, c.B, c.mu, c.h)
        if time_limit is not None:
            kwargs["time_limit"] = time_limit
        logger.debug("sampling a CQM of %d variables and %d constraints with %s",
                     len(cqm.variables), len(cqm.constraints), type(self.child).__name__)
        result = self.child.sample_cqm(cqm, **kwargs)
        result.resolve()
        feasible = result.filter(lambda d: d.is_feasible) if "is_feasible" in result.record.dtype.names else result
        n_feasible = len(feasible)
        if n_feasible == 0:
            logger.warning("the CQM sampler returned no feasible sample; decoding the weights of all %d",
                           len(result))
            feasible = result
        # weights ω_e (labels "w{e}"): 1 -> +1, 0 -> -1
        pos = {v: i for i, v in enumerate(feasible.variables)}
        cols = [pos[f"w{e}"] for e in range(q.n_weights)]
        W = np.unique(2 * np.asarray(feasible.record.sample)[:, cols].astype(np.int8) - 1, axis=0)
        info = dict(result.info)
        info["num_feasible"] = n_feasible
        info["num_cqm_samples"] = len(result)
        return ProblemSamples(W, c.combine(q.collapsed_split(W, c.h)), info)
