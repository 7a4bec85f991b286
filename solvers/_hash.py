"""The 32-bit avalanche hash behind the counter-based random numbers of the Numba kernels.

Plain Python over ``numba.uint64``, so one statement serves every kernel: wrap it with
``numba.njit`` for the CPU or ``numba.cuda.jit(device=True)`` for the GPU. The argument must be
below ``2**32``; every product stays below ``2**64``, so the CUDA simulator's numpy scalars never
overflow.

Example:
    >>> from numba import uint64
    >>> int(mix32(uint64(1))) == int(mix32(uint64(1))) != int(mix32(uint64(2)))
    True
"""
from numba import uint64

MASK32 = 0xFFFFFFFF


def mix32(x):
    """32-bit avalanche hash (a murmur-style finaliser) of ``x < 2**32``, in uint64."""
    x ^= x >> uint64(16)
    x = (x * uint64(0x7FEB352D)) & uint64(MASK32)
    x ^= x >> uint64(15)
    x = (x * uint64(0x846CA68B)) & uint64(MASK32)
    x ^= x >> uint64(16)
    return x
