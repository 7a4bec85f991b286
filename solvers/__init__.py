"""Bundled Ising samplers (Numba CPU and Numba-CUDA GPU).

>>> from solvers import IsingSampler
>>> IsingSampler(device='cpu').properties['device']
'cpu'
"""

from .sampler import IsingSampler

__all__: list[str] = ["IsingSampler"]
