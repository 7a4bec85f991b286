"""qubo-bnn: train binary neural networks of any topology as one QUBO, on any dimod sampler.

Example:
    >>> from qubo_bnn import BNNClassifier, Network, TrainingQUBO
    >>> Network(16).dense(4).dense(1).n_weights
    73
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BNNClassifier", "Network", "TrainingQUBO", "__version__"]

# Public names -> the module defining them, imported on first use (PEP 562), so that
# `qubo-bnn --help` / `--version` start without numpy, dimod, scikit-learn or Numba.
_LAZY = {"BNNClassifier": ".classifier", "TrainingQUBO": ".formulation", "Network": ".network"}

if TYPE_CHECKING:  # pragma: no cover
    from .classifier import BNNClassifier
    from .formulation import TrainingQUBO
    from .network import Network


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value          # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
