"""``IsingSampler``: Metropolis simulated annealing on CPU (Numba) or GPU (Numba-CUDA)."""

from __future__ import annotations

import functools
import logging
import sys
import time
import warnings
from numbers import Integral
from typing import Any, Optional, Sequence

import dimod
import numba
import numpy as np

from ._cpu import anneal_cpu, read_seeds
from ._ising import (SCHEDULE_TYPES, beta_schedule, check_beta_range, check_int, check_states_size,
                     default_beta_range, greedy_colouring, ising_csr_from_bqm, ising_energies)

__all__ = ["IsingSampler"]

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
CHUNK_FLIPS = 20_000_000
"""Flip attempts per CPU kernel call (~0.2-0.5 s); the sampler answers Ctrl-C between calls."""
ALGORITHM = "metropolis-simulated-annealing"


@functools.lru_cache(maxsize=None)
def _cuda_unusable() -> Optional[str]:
    """Why the CUDA path cannot run here, or None when it can (checked once per process).

    Seeing a GPU is not enough: a trivial kernel must also compile and run
    (a missing toolkit, or numba-cuda <= 0.30.4 with numpy >= 2.5, fail there).
    """
    try:
        from numba import cuda
        if not cuda.is_available():
            return "no CUDA GPU is visible to Numba"
        from ._cuda import probe
        probe()
    except ImportError as exc:
        return f"numba-cuda is not installed (pip install 'qubo-bnn[cuda]'): {exc}"
    except Exception as exc:  # broken driver, toolkit or package versions
        return f"Numba-CUDA cannot run kernels here ({type(exc).__name__}: {exc})"
    return None


def _resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    if device == "cpu":
        return "cpu"
    problem = _cuda_unusable()
    if problem is None:
        return "cuda"
    if device == "cuda":
        warnings.warn(f"device='cuda' requested but {problem}; falling back to the CPU sampler",
                      RuntimeWarning, stacklevel=3)
    else:
        logger.info("IsingSampler runs on the CPU: %s", problem)
    return "cpu"


class IsingSampler(dimod.Sampler, dimod.Initialized):
    """Metropolis simulated annealing of a BQM on a CUDA GPU or on CPU threads.

    Parameters mean the same as in dwave-samplers' ``SimulatedAnnealingSampler``
    (one Metropolis sweep per beta value, sequential variable order on CPU).
    On the GPU the variables of each colour of a greedy graph colouring are
    updated in parallel, which is exact for non-adjacent spins.

    Args:
        device: ``"cuda"``, ``"cpu"`` or ``"auto"`` (GPU if Numba-CUDA sees
            one, else CPU). Asking for ``"cuda"`` without a GPU warns and uses
            the CPU. CPU reads run in parallel on ``numba.get_num_threads()``
            threads.

    Example:
        >>> import dimod
        >>> from qubo_bnn_solvers import IsingSampler
        >>> bqm = dimod.BQM({'a': -1.0}, {('a', 'b'): -1.0}, 0.0, 'SPIN')
        >>> with IsingSampler(device='cpu') as sampler:
        ...     ss = sampler.sample(bqm, num_reads=4, num_sweeps=100, seed=1)
        >>> dict(ss.first.sample) == {'a': 1, 'b': 1}, float(ss.first.energy)
        (True, -2.0)
    """

    answers_interrupts = True
    """The CPU schedule runs in chunks, so Ctrl-C is answered between them (callers need no worker)."""

    def __init__(self, device: str = "auto") -> None:
        self.device = _resolve_device(device)
        self._cooperative = True  # until a cooperative CUDA launch fails
        self._parameters = {
            "num_reads": [],
            "num_sweeps": [],
            "beta_range": [],
            "beta_schedule_type": ["beta_schedule_options"],
            "seed": [],
            "initial_states": [],
            "initial_states_generator": [],
            "progress": [],
        }
        self._properties = {
            "device": self.device,
            "devices": DEVICES,
            "beta_schedule_options": SCHEDULE_TYPES,
            "algorithm": ALGORITHM,
        }

    @property
    def parameters(self) -> dict[str, list]:
        """Keyword arguments of :meth:`sample` (dimod sampler API)."""
        return self._parameters

    @property
    def properties(self) -> dict[str, Any]:
        """Sampler properties: resolved ``device``, ``devices``, schedule options."""
        return self._properties

    def sample(self, bqm: dimod.BinaryQuadraticModel, *,
               num_reads: Optional[int] = None,
               num_sweeps: int = 1000,
               beta_range: Optional[Sequence[float]] = None,
               beta_schedule_type: str = "geometric",
               seed: Optional[int] = None,
               initial_states: Optional[dimod.typing.SamplesLike] = None,
               initial_states_generator: str = "random",
               progress: bool = False,
               **kwargs) -> dimod.SampleSet:
        """Anneal ``num_reads`` independent replicas of ``bqm``.

        Args:
            bqm: Binary quadratic model (SPIN or BINARY; returned samples use
                its vartype and energies are computed from it).
            num_reads: Number of reads; default: the number of
                ``initial_states``, or 1.
            num_sweeps: Sweeps (one beta value each). ``0`` returns the
                initial states.
            beta_range: ``(hot, cold)`` inverse temperatures. Default as in
                dwave-samplers: hot so the largest effective field flips with
                50% probability, cold so the smallest non-zero bias flips with
                1% total probability (see ``qubo_bnn_solvers._ising.default_beta_range``).
            beta_schedule_type: ``"geometric"`` or ``"linear"`` interpolation.
            seed: Integer in ``[0, 2**32)``; equal seeds give equal samples on
                the same device.
            initial_states: Starting states (dimod samples-like).
            initial_states_generator: ``"random"``, ``"none"`` or ``"tile"``,
                as :meth:`dimod.Initialized.parse_initial_states`.
            progress: a progress bar on stderr (when it is a terminal), CPU path.

        Returns:
            A :class:`dimod.SampleSet`; ``info`` holds ``timing`` (integer nanoseconds, as dwave-samplers),
            ``device``, ``beta_range``, ``beta_schedule_type``, ``algorithm``,
            ``num_sweeps``; on CPU ``num_threads``; on CUDA ``num_colours``,
            ``heavy_variables`` (updated by a block each), ``threads_per_block``,
            ``blocks`` and ``launch`` (``"cooperative"`` or ``"per-colour"``).
        """
        t0 = time.perf_counter_ns()
        if kwargs:
            self.remove_unknown_kwargs(**kwargs)  # warns about each unknown one
        if num_reads is not None:
            num_reads = check_int("num_reads", num_reads, 1)
            check_states_size(num_reads, bqm.num_variables)   # the sample record, before allocating
        num_sweeps = check_int("num_sweeps", num_sweeps, 0)
        if beta_schedule_type not in SCHEDULE_TYPES:
            raise ValueError(f"unknown beta_schedule_type {beta_schedule_type!r}; "
                             f"expected one of {SCHEDULE_TYPES}")
        if beta_range is not None:
            beta_range = check_beta_range(beta_range, beta_schedule_type)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**32))
        elif isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**32:
            raise ValueError(f"'seed' must be an integer in [0, 2**32), got {seed!r}")
        seed = int(seed)

        if initial_states is None and initial_states_generator == "random":
            # what dimod's parse_initial_states would draw, without building a
            # SampleSet (and computing its energies) first: 0.35 s at 10^5 variables
            states = np.random.default_rng(seed).integers(
                0, 2, (num_reads or 1, bqm.num_variables), dtype=np.int8)
            states = 2 * states - 1
        else:
            parsed = self.parse_initial_states(
                bqm, initial_states=initial_states,
                initial_states_generator=initial_states_generator,
                num_reads=num_reads, seed=seed)
            init = parsed.initial_states
            states = init.record.sample
            if init.variables != bqm.variables:
                states = states[:, [init.variables.index(v) for v in bqm.variables]]
            states = np.ascontiguousarray(states, dtype=np.int8)
            if bqm.vartype is dimod.BINARY:
                states = 2 * states - 1

        model = ising_csr_from_bqm(bqm)
        if beta_range is None:
            beta_range = default_beta_range(model)
        betas = beta_schedule(beta_range, num_sweeps, beta_schedule_type)

        info: dict[str, Any] = {
            "device": self.device,
            "algorithm": ALGORITHM,
            "num_sweeps": num_sweeps,
            "beta_range": [float(beta_range[0]), float(beta_range[1])],
            "beta_schedule_type": beta_schedule_type,
        }
        t1 = time.perf_counter_ns()
        if model.num_variables == 0 or num_sweeps == 0:
            pass
        elif self.device == "cuda":
            states, launch = self._anneal_on_gpu(model, betas, states, seed)
            info.update(launch)
        else:
            info["num_threads"] = int(numba.get_num_threads())
            rng = read_seeds(seed, states.shape[0])
            # chunks of about CHUNK_FLIPS flip attempts (a size fixed by the problem, so the
            # samples do not depend on timing): Ctrl-C is answered between chunks
            step = max(1, CHUNK_FLIPS // max(1, states.shape[0] * model.num_variables))
            from tqdm.auto import tqdm

            # a bar on stderr when asked for and stderr is a terminal
            with tqdm(total=len(betas), desc="annealing", unit="sweep", leave=False,
                      disable=None if progress else True, file=sys.stderr) as bar:
                for start in range(0, len(betas), step):
                    anneal_cpu(model.h, model.indptr, model.indices, model.data, betas[start: start + step],
                               states, rng)
                    bar.update(len(betas[start: start + step]))
        t2 = time.perf_counter_ns()

        energies = ising_energies(model, states)
        if bqm.vartype is dimod.BINARY:
            states = (states + 1) // 2
        # the record directly: from_samples_bqm spends ~0.3 s on 10^5 labels
        record = np.rec.array(np.empty(states.shape[0], dtype=[
            ("sample", np.int8, (states.shape[1],)), ("energy", np.float64),
            ("num_occurrences", np.int64)]))
        record["sample"] = states
        record["energy"] = energies
        record["num_occurrences"] = 1
        sampleset = dimod.SampleSet(record, bqm.variables, info, bqm.vartype)
        sampleset.info["timing"] = {
            "preprocessing_ns": t1 - t0,
            "sampling_ns": t2 - t1,
            "postprocessing_ns": time.perf_counter_ns() - t2,
        }
        return sampleset

    def _anneal_on_gpu(self, model, betas: np.ndarray, states: np.ndarray,
                       seed: int) -> tuple[np.ndarray, dict]:
        """One cooperative launch; per-colour launches once that has failed."""
        from ._cuda import anneal_cuda
        vertices, colour_ptr = greedy_colouring(model)
        if self._cooperative:
            try:
                return anneal_cuda(model, vertices, colour_ptr, betas, states, seed)
            except Exception as exc:  # e.g. a driver or toolkit without cooperative launch
                logger.warning("cooperative CUDA launch failed (%s: %s); this sampler uses "
                               "one launch per colour class from now on",
                               type(exc).__name__, exc)
                self._cooperative = False
        return anneal_cuda(model, vertices, colour_ptr, betas, states, seed,
                           cooperative=False)

    def close(self) -> None:
        """Release GPU memory held by Numba for this process (no-op on CPU)."""
        if self.device == "cuda":
            from ._cuda import release_memory
            release_memory()

    def __enter__(self) -> "IsingSampler":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
