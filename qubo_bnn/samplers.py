"""Sampler registry: turn a ``[sampler]`` config table into a dimod sampler.

Users pick the sampler in their TOML config, not in code::

    [sampler]
    name = "neal"            # a registry name (see SAMPLERS) or "package.module:Class"
    num_reads = 100          # everything except `name` and `init` goes to sampler.sample()
    num_sweeps = 2000
    seed = 7

    [sampler.init]           # optional: constructor / Leap client keyword arguments
    # profile = "prod"       # dwave.conf profile (qpu, hybrid)
    # solver = "Advantage_system4.1"

Registry names (``SAMPLERS``):

========================  ======================================================
``collapsed``             :class:`qubo_bnn.collapsed.CollapsedSampler` (the default):
                          anneals the weights of a training BQM with every
                          auxiliary at its conditional optimum; ``device`` in
                          ``[sampler.init]`` as for ``gpu``
``neal``, ``sa``          :class:`dwave.samplers.SimulatedAnnealingSampler`
``tabu``                  :class:`dwave.samplers.TabuSampler`
``steepest-descent``      :class:`dwave.samplers.SteepestDescentSolver`
``exact``                 :class:`dimod.ExactSolver`, refused above 20 variables
``gpu``                   bundled ``qubo_bnn_solvers.IsingSampler(device="auto")``
                          (CUDA when available, otherwise CPU)
``cpu-annealer``          bundled ``qubo_bnn_solvers.IsingSampler(device="cpu")``
``qpu``                   ``EmbeddingComposite(DWaveSampler(**init))``
                          (needs ``pip install 'qubo-bnn[leap]'`` and Leap access)
``hybrid``                ``LeapHybridSampler(**init)`` (same requirements)
``cqm-hybrid``            :class:`qubo_bnn.cqm.CQMTrainingSampler` around
                          ``LeapHybridCQMSampler(**init)``: the training problem
                          as a CQM with hard constraints (same requirements;
                          training BQMs only)
``cpsat``                 :class:`qubo_bnn.cpsat.CPSATSampler`: exact optimum
                          (or bound and gap) over the weights with OR-Tools
                          CP-SAT (``pip install 'qubo-bnn[exact]'``; training
                          BQMs only)
========================  ======================================================

Any other name containing ``:`` is imported as ``"module:Attribute"``; it must
name a :class:`dimod.Sampler` subclass (instantiated with ``[sampler.init]``)
or a :class:`dimod.Sampler` instance.

Leap credentials are resolved the Ocean way -- ``dwave.conf`` profiles (created
with ``dwave setup`` / ``dwave config create``) or the ``DWAVE_API_TOKEN``
environment variable, with ``profile`` / ``config_file`` selectable in
``[sampler.init]``. A ``token`` key is never accepted in our configuration.
The Leap side (credentials, the ``qpu``/``hybrid``/``cqm-hybrid`` factories, chain
strength, chain-break statistics) lives in :mod:`qubo_bnn.leap`.

(Over 350 lines: the registry table, its factories and the config-table split
are one idea -- from a name and a table to a ready sampler -- and the docstring
examples double as tests.)

Example:
    >>> import dimod
    >>> from qubo_bnn.samplers import sampler_from_config, sample_bqm
    >>> bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): -2.0}, 0.0, "BINARY")
    >>> sampler, params = sampler_from_config({"name": "neal", "num_reads": 10, "seed": 1})
    >>> float(sample_bqm(sampler, bqm, **params).first.energy)
    -2.0
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dimod
import dwave.samplers
from qubo_bnn_solvers import IsingSampler

from .leap import (CLIENT_KEYS, CREDENTIALS_HELP, LeapCredentialsError, chain_break_summary, cqm_hybrid, hybrid, qpu,
                   resolve_chain_strength)

__all__ = [
    "SAMPLERS",
    "EXACT_MAX_VARIABLES",
    "LeapCredentialsError",
    "SamplerInitError",
    "SamplerSpec",
    "SizeLimitedExactSolver",
    "make_sampler",
    "split_sampler_config",
    "sampler_from_config",
    "sample_bqm",
    "check_sample_params",
    "run_interruptibly",
]

logger = logging.getLogger(__name__)

#: Largest problem the ``exact`` sampler accepts (ExactSolver is O(2**n)).
EXACT_MAX_VARIABLES = 20

SamplerFactory = Callable[..., dimod.Sampler]

class SizeLimitedExactSolver(dimod.Sampler):
    """:class:`dimod.ExactSolver` that refuses problems it cannot enumerate.

    Brute force costs ``2**n`` energy evaluations and memory, so problems with
    more than ``max_variables`` variables raise :class:`ValueError` instead of
    exhausting the machine.

    Example:
        >>> import dimod
        >>> bqm = dimod.BinaryQuadraticModel({"a": -1.0}, {}, 0.0, "BINARY")
        >>> float(SizeLimitedExactSolver().sample(bqm).first.energy)
        -1.0
    """

    def __init__(self, max_variables: int = EXACT_MAX_VARIABLES) -> None:
        if not isinstance(max_variables, int) or max_variables < 0:
            raise ValueError(f"max_variables must be a non-negative int, got {max_variables!r}")
        self.max_variables = max_variables
        self._solver = dimod.ExactSolver()

    @property
    def parameters(self) -> dict[str, list]:
        return {}

    @property
    def properties(self) -> dict[str, Any]:
        return {"max_variables": self.max_variables}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        n = bqm.num_variables
        if n > self.max_variables:
            raise ValueError(
                f"the 'exact' sampler enumerates all 2**n states and accepts at most "
                f"{self.max_variables} variables, but this problem has {n}; "
                f"use another sampler such as 'neal', 'tabu' or 'gpu'"
            )
        return self._solver.sample(bqm, **parameters)


# --------------------------------------------------------------------------- factories


class SamplerInitError(ValueError):
    """A sampler's constructor parameters are wrong (the run file's ``[sampler.init]``)."""


def _no_init_params(name: str, params: Mapping[str, Any]) -> None:
    if params:
        raise SamplerInitError(
            f"sampler {name!r} takes no constructor parameters (got {sorted(params)}); "
            f"sampling parameters such as num_reads go to sample()"
        )


def _simulated_annealing(**init_params: Any) -> dimod.Sampler:
    _no_init_params("neal", init_params)
    return dwave.samplers.SimulatedAnnealingSampler()


def _tabu(**init_params: Any) -> dimod.Sampler:
    _no_init_params("tabu", init_params)
    return dwave.samplers.TabuSampler()


def _steepest_descent(**init_params: Any) -> dimod.Sampler:
    _no_init_params("steepest-descent", init_params)
    return dwave.samplers.SteepestDescentSolver()


def _exact(**init_params: Any) -> dimod.Sampler:
    return SizeLimitedExactSolver(**init_params)


def _ising_gpu(**init_params: Any) -> dimod.Sampler:
    init_params.setdefault("device", "auto")
    return IsingSampler(**init_params)


def _ising_cpu(**init_params: Any) -> dimod.Sampler:
    device = init_params.pop("device", "cpu")
    if device != "cpu":
        raise SamplerInitError(
            f"sampler 'cpu-annealer' always runs on device 'cpu' (got device={device!r}); "
            f"use name = \"gpu\" with device = \"cuda\" or \"auto\" instead"
        )
    return IsingSampler(device="cpu", **init_params)


def _collapsed(**init_params: Any) -> dimod.Sampler:
    from .collapsed import CollapsedSampler

    return CollapsedSampler(**init_params)


def _cpsat(**init_params: Any) -> dimod.Sampler:
    _no_init_params("cpsat", init_params)
    from .cpsat import CPSATSampler   # imports OR-Tools lazily; names the extra if missing

    return CPSATSampler()


#: Registry: sampler name -> factory ``(**init_params) -> dimod.Sampler``.
#: Names are matched case-insensitively with ``_`` and ``-`` interchangeable.
SAMPLERS: dict[str, SamplerFactory] = {
    "collapsed": _collapsed,
    "neal": _simulated_annealing,
    "sa": _simulated_annealing,
    "tabu": _tabu,
    "steepest-descent": _steepest_descent,
    "exact": _exact,
    "gpu": _ising_gpu,
    "cpu-annealer": _ising_cpu,
    "qpu": qpu,
    "hybrid": hybrid,
    "cqm-hybrid": cqm_hybrid,
    "cpsat": _cpsat,
}

_LEAP_SAMPLERS = frozenset({"qpu", "hybrid", "cqm-hybrid"})


# --------------------------------------------------------------------------- helpers


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _reject_tokens(params: Mapping[str, Any], where: str) -> None:
    """Refuse any key that looks like a credential; never echo its value."""
    for key, value in params.items():
        if "token" in str(key).lower():
            raise ValueError(
                f"{where} contains a {key!r} key: API tokens are not accepted in the "
                f"qubo-bnn configuration (the value was not read or logged). "
                f"{CREDENTIALS_HELP}"
            )
        if isinstance(value, Mapping):
            _reject_tokens(value, f"{where}.{key}")


def _import_sampler(path: str, init_params: dict[str, Any]) -> dimod.Sampler:
    module_name, _, attr_path = path.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"sampler path {path!r} must look like 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"cannot import module {module_name!r} for sampler {path!r}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ImportError(
                f"module {module_name!r} has no attribute {attr_path!r} (sampler {path!r})"
            ) from exc
    if isinstance(obj, type) and issubclass(obj, dimod.Sampler):
        return obj(**init_params)
    if isinstance(obj, dimod.Sampler):
        if init_params:
            raise SamplerInitError(
                f"sampler {path!r} is already an instance; it takes no constructor "
                f"parameters (got {sorted(init_params)})"
            )
        return obj
    raise TypeError(
        f"sampler {path!r} resolves to {obj!r}, which is not a dimod.Sampler subclass "
        f"or instance"
    )


# --------------------------------------------------------------------------- public API


def make_sampler(name: str, /, **init_params: Any) -> dimod.Sampler:
    """Build a sampler from a registry name or a ``"module:Class"`` path.

    Args:
        name: a key of :data:`SAMPLERS` (case-insensitive, ``_`` == ``-``) or an
            importable ``"package.module:Class"`` naming a :class:`dimod.Sampler`
            subclass or instance.
        **init_params: constructor keyword arguments (``[sampler.init]``); for
            ``qpu``/``hybrid`` these are Leap client options such as
            ``profile``, ``solver``, ``region``, ``config_file``.

    Raises:
        ValueError: unknown name (the message lists known names), a ``token``
            parameter, or parameters a sampler does not take.
        LeapCredentialsError: (a ValueError) ``qpu``/``hybrid`` without a Leap
            token; raised before any network access.
        ImportError: the sampler's package is missing (the message names the
            extra to install) or a ``module:Class`` path cannot be imported.
        TypeError: a ``module:Class`` path that is not a dimod sampler.

    Example:
        >>> make_sampler("tabu")  # doctest: +ELLIPSIS
        <dwave.samplers.tabu.sampler.TabuSampler object at ...>
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"sampler name must be a non-empty string, got {name!r}")
    _reject_tokens(init_params, "sampler init parameters")
    init_params = dict(init_params)
    if ":" in name:
        logger.debug("importing sampler %s with init keys %s", name, sorted(init_params))
        return _import_sampler(name.strip(), init_params)
    key = _normalize(name)
    try:
        factory = SAMPLERS[key]
    except KeyError:
        raise ValueError(
            f"unknown sampler {name!r}; known samplers: {', '.join(sorted(SAMPLERS))} "
            f"(or an importable 'package.module:Class' dimod sampler)"
        ) from None
    logger.debug("creating sampler %s with init keys %s", key, sorted(init_params))
    return factory(**init_params)


@dataclass(frozen=True)
class SamplerSpec:
    """A ``[sampler]`` config table split into its three parts."""

    name: str
    init_params: dict[str, Any] = field(default_factory=dict)
    sample_params: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def split_sampler_config(table: Mapping[str, Any]) -> SamplerSpec:
    """Split a ``[sampler]`` table into name, constructor and ``sample()`` parameters.

    ``name`` is required; the optional ``init`` sub-table holds constructor /
    Leap client keyword arguments; every other key is a ``sample()`` parameter
    (sub-tables such as ``embedding_parameters`` are passed as dicts).

    Raises:
        ValueError: missing/invalid ``name``, a non-table ``init``, any ``token``
            key (its value is never echoed), or a Leap client key such as
            ``profile`` outside ``[sampler.init]`` for ``qpu``/``hybrid``.

    Example:
        >>> spec = split_sampler_config(
        ...     {"name": "qpu", "num_reads": 100, "chain_strength": 2.0,
        ...      "init": {"profile": "prod"}})
        >>> spec.name, spec.init_params, spec.sample_params
        ('qpu', {'profile': 'prod'}, {'num_reads': 100, 'chain_strength': 2.0})
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"[sampler] must be a table, got {type(table).__name__}")
    _reject_tokens(table, "[sampler]")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"[sampler] needs a string 'name' key; known samplers: {', '.join(sorted(SAMPLERS))}"
        )
    init = table.get("init", {})
    if not isinstance(init, Mapping):
        raise ValueError("[sampler] 'init' must be a table ([sampler.init]) of constructor parameters")
    sample_params = {k: _plain(v) for k, v in table.items() if k not in ("name", "init")}
    if ":" not in name and _normalize(name) in _LEAP_SAMPLERS:
        misplaced = sorted(CLIENT_KEYS & sample_params.keys())
        if misplaced:
            raise ValueError(
                f"[sampler] keys {misplaced} configure the Leap client; put them under "
                f"[sampler.init] instead"
            )
    return SamplerSpec(name=name.strip(), init_params=_plain(init), sample_params=sample_params)


def sampler_from_config(table: Mapping[str, Any]) -> tuple[dimod.Sampler, dict[str, Any]]:
    """Build the sampler of a ``[sampler]`` table; return it with its ``sample()`` params.

    Example:
        >>> sampler, params = sampler_from_config({"name": "sa", "num_reads": 5})
        >>> params
        {'num_reads': 5}
    """
    spec = split_sampler_config(table)
    return make_sampler(spec.name, **spec.init_params), spec.sample_params


def accepted_parameters(sampler: dimod.Sampler) -> set[str]:
    """Names ``sampler.sample`` accepts, composites' children's included (none for a non-sampler).

    Besides ``sampler.parameters``, the named keyword arguments of its ``sample`` method count:
    some composites (e.g. ``SpinReversalTransformComposite``'s ``num_spin_reversal_transforms``)
    take parameters they do not list.
    """
    accepted = set(getattr(sampler, "parameters", None) or ())
    sample = getattr(type(sampler), "sample", None)
    if isinstance(sampler, dimod.Sampler) and callable(sample):
        try:
            sig = inspect.signature(sample)
        except (TypeError, ValueError):  # builtins without a signature
            sig = None
        if sig is not None:
            accepted |= {n for n, p in list(sig.parameters.items())[2:]
                         if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    # Composites accept their children's parameters (EmbeddingComposite already
    # lists them, but not every composite does).
    for child in getattr(sampler, "children", None) or ():
        if isinstance(child, dimod.Sampler):
            accepted |= accepted_parameters(child)
    return accepted


def sample_bqm(
    sampler: dimod.Sampler, bqm: dimod.BinaryQuadraticModel, /, *, show_progress: bool = False,
    **sample_params: Any
) -> dimod.SampleSet:
    """Sample ``bqm`` with validated parameters; add chain-break stats for QPU samples.

    Parameters are checked against ``sampler.parameters`` (plus children's for
    composites) before sampling. ``chain_strength`` may be a number, a name
    (``"uniform_torque_compensation"`` or ``"scaled"``) or a table
    ``{name = ..., prefactor = ...}``. When the sampler returns a
    ``chain_break_fraction`` field (embedded QPU samples), ``return_embedding``
    defaults to True and ``sampleset.info["chain_break_summary"]`` holds
    ``mean``, ``max``, ``broken_sample_fraction``, ``lowest_energy`` and, when
    known, ``num_chains``, ``max_chain_length``, ``chain_strength``.
    The returned sample set is resolved (sampling is complete).

    Raises:
        ValueError: an unknown parameter (the message lists accepted ones), a
            ``token`` key, or an invalid ``chain_strength``.

    Example:
        >>> import dimod
        >>> bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY")
        >>> int(sample_bqm(make_sampler("exact"), bqm).first.sample["a"])
        0
    """
    params = check_sample_params(sampler, sample_params)
    accepted = accepted_parameters(sampler)
    if "chain_strength" in params:
        params["chain_strength"] = resolve_chain_strength(params["chain_strength"])
    if "chain_break_fraction" in accepted and "return_embedding" in accepted:
        params.setdefault("return_embedding", True)
    logger.debug(
        "sampling %d variables with %s, parameters %s",
        bqm.num_variables, type(sampler).__name__, sorted(params),
    )
    def run() -> dimod.SampleSet:
        sampleset = sampler.sample(bqm, **params)
        sampleset.resolve()
        return sampleset

    if getattr(sampler, "answers_interrupts", False):
        sampleset = run()
    else:
        sampleset = run_interruptibly(run, f"sampling with {type(sampler).__name__}" if show_progress else None)
    if "chain_break_fraction" in (sampleset.record.dtype.names or ()):
        sampleset.info["chain_break_summary"] = chain_break_summary(sampleset)
    return sampleset


def check_sample_params(sampler: Any, sample_params: Mapping[str, Any]) -> dict[str, Any]:
    """``sample_params`` as a new dict, checked against what ``sampler`` accepts
    (:func:`accepted_parameters`) and for credentials.

    Raises:
        ValueError: an unknown parameter (the message lists accepted ones) or a ``token`` key.

    Example:
        >>> check_sample_params(make_sampler("neal"), {"num_reads": 2})
        {'num_reads': 2}
    """
    _reject_tokens(sample_params, "sampler parameters")
    accepted = accepted_parameters(sampler)
    unknown = sorted(set(sample_params) - accepted)
    if unknown:
        raise ValueError(
            f"{type(sampler).__name__} does not accept parameter(s) {unknown}; "
            f"accepted: {', '.join(sorted(accepted)) or '(none)'}"
        )
    return dict(sample_params)


def run_interruptibly(call: Callable[[], Any], progress: str | None = None,
                      stop: Callable[[], None] | None = None) -> Any:
    """``call()`` in a worker thread while this thread waits in short slices, so Ctrl-C is
    answered at once even while a native solver runs (dwave-samplers and CP-SAT release the GIL).

    On Ctrl-C with ``stop`` (e.g. CP-SAT's ``CpSolver.stop_search``), ``stop()`` is called, and
    called again each slice until the worker returns (a stop sent before the solver started is
    lost), then :class:`KeyboardInterrupt` is re-raised: nothing is left running. Without
    ``stop``, an interrupted call finishes in the background and its result is discarded.
    Samplers that answer Ctrl-C themselves (``answers_interrupts = True``: ours) run in the
    caller's thread. ``progress``: a label for an elapsed-time bar on stderr (shown when it is a
    terminal).

    Example:
        >>> run_interruptibly(lambda: 6 * 7)
        42
    """
    from tqdm.auto import tqdm

    box: dict[str, Any] = {}
    # an Event, not Thread.join: a join interrupted by Ctrl-C marks a running thread as stopped
    # (Python 3.11), so is_alive() could no longer be trusted
    done = threading.Event()

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=run, name="qubo-bnn-sample", daemon=True)
    worker.start()
    try:
        with tqdm(desc=progress, unit="s", leave=False, disable=None if progress else True,
                  bar_format="{desc}: {elapsed}", file=sys.stderr) as bar:
            while not done.wait(0.1):
                bar.refresh()
    except KeyboardInterrupt:
        if stop is None:
            raise
        while not done.is_set():      # further Ctrl-Cs while stopping are absorbed: the stop is under way
            try:
                stop()
                done.wait(0.1)
            except KeyboardInterrupt:
                pass
        raise
    if "error" in box:
        raise box["error"]
    return box["result"]


_in_worker = run_interruptibly   # the former private name
