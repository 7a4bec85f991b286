"""The training objective's coefficients, stated once, and where a training BQM came from.

    H = A·P + B·L + mu·M + Σ_e h_e·w_e          (docs/FORMULATION.md, "Objective")

:class:`Coefficients` is the one object that carries ``(A, B, mu, h)`` between the formulation,
the samplers that know it (collapsed, CP-SAT, CQM) and the training step; it is built, with the
default ``A`` resolved and ``h`` checked against the problem, by
:meth:`~qubo_bnn.formulation.TrainingQUBO.coefficients`. :func:`origin_of` finds the training
problem and the coefficients behind a BQM that :meth:`~qubo_bnn.formulation.TrainingQUBO.to_bqm`
emitted.

Example:
    >>> c = Coefficients(A=3.0, B=1.0, mu=0.5, h=np.array([0.25, -0.25]))
    >>> c.combine({"penalty": 0.0, "loss": 2.0, "margin": -4.0, "h_term": 0.5})
    0.5
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:   # pragma: no cover - annotations only
    import dimod

    from .formulation import TrainingQUBO

__all__ = ["COMPONENTS", "WEIGHT_SPIN", "Coefficients", "Origin", "origin_of", "attach_origin"]

COMPONENTS = {"penalty": "A", "loss": "B", "margin": "mu"}
"""H = A·P + B·L + mu·M + Σ_e h_e·w_e: each polynomial component and its coefficient's name."""
WEIGHT_SPIN = (2.0, -1.0)
"""The h term's one statement: ``w_e = 2·ω_e - 1``, so ``h_e·w_e = 2·h_e·ω_e - h_e``."""

_ORIGIN_ATTR = "_qubo_bnn_origin"


@dataclass(frozen=True, eq=False)
class Coefficients:
    """``A, B, mu`` (finite floats) and ``h`` (one finite float per weight, read-only).

    Build it for a problem with :meth:`TrainingQUBO.coefficients
    <qubo_bnn.formulation.TrainingQUBO.coefficients>`, which resolves ``A = None`` to the
    problem's default penalty and checks ``h``'s length.
    """

    A: float
    B: float = 1.0
    mu: float = 0.0
    h: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def __post_init__(self) -> None:
        for name in ("A", "B", "mu"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        h = np.array(self.h, dtype=np.float64)        # a copy: callers keep their array
        if h.ndim != 1 or not np.isfinite(h).all():
            raise ValueError(f"h must be a 1-D array of finite numbers (one per weight), got shape {h.shape}")
        h.setflags(write=False)
        object.__setattr__(self, "h", h)

    def value(self, component: str) -> float:
        """The coefficient of a component of :data:`COMPONENTS` (``"penalty"`` -> ``A``, ...)."""
        return getattr(self, COMPONENTS[component])

    def combine(self, split: dict[str, Any]) -> Any:
        """``A·penalty + B·loss + mu·margin + h_term`` of an energy split (numbers or arrays)."""
        return sum(self.value(name) * split[name] for name in COMPONENTS) + split["h_term"]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"A", "B", "mu", "h"}``."""
        return {"A": self.A, "B": self.B, "mu": self.mu, "h": self.h.tolist()}


@dataclass(frozen=True, eq=False)
class Origin:
    """Where a training BQM came from: the problem and the coefficients it was emitted with."""

    problem: "TrainingQUBO"
    coefficients: Coefficients

    # the coefficients one by one, as before they became one object
    A = property(lambda self: self.coefficients.A)
    B = property(lambda self: self.coefficients.B)
    mu = property(lambda self: self.coefficients.mu)
    h = property(lambda self: self.coefficients.h)


def attach_origin(bqm: "dimod.BinaryQuadraticModel", problem: "TrainingQUBO",
                  coefficients: Coefficients) -> "dimod.BinaryQuadraticModel":
    """Mark ``bqm`` as emitted for ``problem`` with ``coefficients`` (read by :func:`origin_of`)."""
    setattr(bqm, _ORIGIN_ATTR, Origin(problem, coefficients))
    return bqm


def origin_of(bqm: "dimod.BinaryQuadraticModel") -> Origin:
    """The :class:`Origin` of a BQM emitted by :meth:`TrainingQUBO.to_bqm`.

    Samplers that know the formulation (``collapsed``, ``cpsat``, ``cqm-hybrid``) use it to
    work on the training problem behind the BQM while returning ordinary QUBO samples.

    Raises:
        ValueError: the BQM was not emitted by ``TrainingQUBO.to_bqm`` (copies and derived
            models carry no origin), or its variables no longer match the problem's.
    """
    import dimod

    origin = getattr(bqm, _ORIGIN_ATTR, None)
    if origin is None:
        raise ValueError("this BQM was not emitted by qubo_bnn's TrainingQUBO.to_bqm (copies and derived "
                         "models do not count): samplers that work on the training problem need the BQM "
                         "to_bqm returned; use a generic sampler such as 'neal' for other BQMs")
    q = origin.problem
    if bqm.num_variables != q.n_variables or bqm.vartype is not dimod.BINARY:
        raise ValueError("this training BQM was modified after TrainingQUBO.to_bqm emitted it "
                         f"({bqm.num_variables} {bqm.vartype.name} variables, expected {q.n_variables} BINARY); "
                         "sample the BQM as emitted")
    return origin
