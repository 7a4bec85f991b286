"""Compile the collapsed annealer's CUDA kernel for a GPU architecture without a GPU.

    python benchmarks/cuda_compile_check.py [--cc 9.0]

The simulator runs the kernel's Python source, so it cannot tell whether the kernel still
compiles for a device (types Numba-CUDA cannot lower, a device function it cannot inline) or
how many registers a thread needs. This script types the kernel with the arguments that
:func:`qubo_bnn._collapsed_cuda.anneal_cuda` passes (built by the same helpers, for a min-margin
problem: the kernel is one function whatever the problem, ``levels`` is a run-time flag) and compiles it to PTX with
NVVM, then to SASS with ``ptxas -v`` where ``ptxas`` is on the PATH or in the
``nvidia-cuda-nvcc-cu12`` wheel. It needs NVVM and NVRTC (``pip install nvidia-cuda-nvcc-cu12
nvidia-cuda-nvrtc-cu12``), not a GPU or its driver. Numba-CUDA asks the driver for the current
device's compute capability when it compiles a device function; the script answers ``--cc``
instead (a private hook, so a later Numba-CUDA may need another).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def kernel_signature(num_reads: int = 2):
    """The kernel's Numba signature: the arguments :func:`anneal_cuda` passes
    (:func:`~qubo_bnn._collapsed_cuda.kernel_inputs`, :func:`~qubo_bnn._collapsed_cuda.state_layout`)
    for a small min-margin problem."""
    import numba
    from numba import types as nbtypes

    from qubo_bnn import Network, TrainingQUBO
    from qubo_bnn._collapsed_cuda import kernel_inputs, state_layout
    from qubo_bnn.collapsed import CollapsedModel

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (6, 4))
    q = TrainingQUBO(Network(4, inputs="binary").dense(2, ternary=True).dense(1), X, X[:, 0] ^ X[:, 1],
                     margin_kind="min")
    m = CollapsedModel.from_problem(q, B=1.0, mu=0.25)
    head, tail = kernel_inputs(m, np.zeros(3))
    state = [nbtypes.Array(numba.from_dtype(np.dtype(dtype)), len(shape), "C")
             for shape, dtype, _ in state_layout(m, num_reads)]
    args = [numba.typeof(np.zeros((num_reads, q.n_weights), np.int8)), *map(numba.typeof, head),
            numba.typeof(np.uint64(1)), numba.typeof(np.int64(0)), *map(numba.typeof, tail), *state,
            numba.typeof(np.zeros(num_reads)), numba.typeof(np.zeros(num_reads, np.int64))]
    return nbtypes.void(*args)


def find_ptxas() -> str | None:
    found = shutil.which("ptxas")
    if found:
        return found
    try:
        import nvidia.cuda_nvcc as nvcc
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(nvcc.__file__), "bin", "ptxas")
    return path if os.path.exists(path) else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cc", default="9.0", help="compute capability MAJOR.MINOR (default 9.0, an H100/H200)")
    args = p.parse_args(argv)
    try:
        cc = tuple(int(x) for x in args.cc.split("."))
        if len(cc) != 2:
            raise ValueError
    except ValueError:
        p.error(f"--cc must be MAJOR.MINOR, e.g. 9.0; got {args.cc!r}")
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda

    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc)
    from qubo_bnn._collapsed_cuda import _anneal_kernel

    try:
        ptx, _ = cuda.compile_ptx(_anneal_kernel.py_func, kernel_signature(), cc=cc)
    except Exception as exc:  # noqa: BLE001 - a missing toolkit library is the usual cause: say it in one line
        print(f"cuda_compile_check: cannot compile ({type(exc).__name__}: {str(exc).splitlines()[0]})",
              file=sys.stderr)
        return 1
    print(f"PTX for sm_{cc[0]}{cc[1]}: {len(ptx.splitlines())} lines, {ptx.count('atom.global.add')} atomic adds")
    ptxas = find_ptxas()
    if ptxas is None:
        print("ptxas not found: no register count (pip install nvidia-cuda-nvcc-cu12)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "kernel.ptx")
        with open(src, "w") as fh:
            fh.write(ptx)
        out = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", src, "-o", os.path.join(tmp, "k.cubin")],
                             capture_output=True, text=True)
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if "registers" in ln or "spill" in ln]
    print("\n".join(lines) if out.returncode == 0 else f"ptxas failed: {out.stderr.strip()[-500:]}")
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
