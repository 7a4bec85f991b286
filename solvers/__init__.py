"""Bundled Ising samplers (Numba CPU and Numba-CUDA GPU)."""

__all__: list[str] = []
