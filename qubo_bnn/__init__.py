"""qubo-bnn: train binary neural networks of any topology as one QUBO, on any dimod sampler."""

__version__ = "0.1.0"
