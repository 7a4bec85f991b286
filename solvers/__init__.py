"""Bundled Ising samplers (Numba CPU and Numba-CUDA GPU).

>>> from qubo_bnn_solvers import IsingSampler
>>> IsingSampler(device='cpu').properties['device']
'cpu'
"""

from .sampler import IsingSampler

__all__: list[str] = ["IsingSampler"]
