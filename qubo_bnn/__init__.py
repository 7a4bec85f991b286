"""qubo-bnn: train binary neural networks of any topology as one QUBO, on any dimod sampler.

Example:
    >>> from qubo_bnn import BNNClassifier, Network, TrainingQUBO
    >>> Network(16).dense(4).dense(1).n_weights
    73
"""

from .classifier import BNNClassifier
from .formulation import TrainingQUBO
from .network import Network

__version__ = "0.1.0"
__all__ = ["BNNClassifier", "Network", "TrainingQUBO", "__version__"]
