"""Leap access for the registry: credentials the Ocean way, the ``qpu``, ``hybrid`` and
``cqm-hybrid`` factories, chain strength by name, chain-break statistics.

Credentials are resolved as Ocean does -- a ``dwave.conf`` profile (``dwave setup``) or the
``DWAVE_API_TOKEN`` environment variable -- and checked before any network call; a token is never
accepted as a parameter, logged or shown in an error. Errors speak of parameters, not of config
files: the CLI adds the file and key.

Example:
    >>> chain_break_summary  # doctest: +ELLIPSIS
    <function chain_break_summary at ...>
"""
from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import dimod
import numpy as np

__all__ = ["LeapCredentialsError", "CLIENT_KEYS", "CREDENTIALS_HELP", "qpu", "hybrid", "cqm_hybrid", "resolve_chain_strength",
           "chain_break_summary"]

_LEAP_EXTRA = "pip install 'qubo-bnn[leap]'"
CREDENTIALS_HELP = (
    "Set up Leap access the Ocean way: run `dwave setup` (or `dwave config create`) "
    "to write a dwave.conf profile, or set the DWAVE_API_TOKEN environment variable; "
    "select a profile with `profile = \"...\"` under [sampler.init]. "
    "Never put the token in the qubo-bnn config."
)
# Keys that configure the Leap client: they belong under [sampler.init].
CLIENT_KEYS = frozenset(
    {
        "profile",
        "config_file",
        "solver",
        "region",
        "endpoint",
        "client",
        "proxy",
        "headers",
        "request_timeout",
        "polling_timeout",
        "permissive_ssl",
        "connection_close",
        "defaults",
        "failover",
        "retry_interval",
    }
)
# Named chain-strength functions accepted for ``chain_strength = "<name>"``.
_CHAIN_STRENGTH_NAMES = ("uniform_torque_compensation", "scaled")


class LeapCredentialsError(ValueError):
    """No usable Leap API token was found (or Leap rejected it).

    The message explains how to configure one; it never contains a token.
    """


def _dwave_system(name: str):
    try:
        return importlib.import_module("dwave.system")
    except ImportError as exc:
        raise ImportError(f"sampler {name!r} needs dwave-system: {_LEAP_EXTRA}") from exc


def _check_leap_credentials(name: str, client_kwargs: Mapping[str, Any]) -> None:
    """Fail before any network call when no API token can be resolved."""
    try:
        from dwave.cloud.config import load_config
        from dwave.cloud.config.exceptions import ConfigFileError
    except ImportError as exc:
        raise ImportError(f"sampler {name!r} needs dwave-cloud-client: {_LEAP_EXTRA}") from exc

    config_file = client_kwargs.get("config_file")
    profile = client_kwargs.get("profile")
    try:
        config = load_config(config_file=config_file, profile=profile)
    except ConfigFileError as exc:
        raise LeapCredentialsError(
            f"sampler {name!r}: could not read the D-Wave configuration ({exc}). "
            f"{CREDENTIALS_HELP}"
        ) from exc
    except ValueError as exc:  # e.g. "Config profile 'x' not found"
        raise LeapCredentialsError(f"sampler {name!r}: {exc}. {CREDENTIALS_HELP}") from exc
    if not config.get("token"):
        where = f"profile {profile!r}" if profile else "the D-Wave configuration"
        raise LeapCredentialsError(
            f"sampler {name!r}: no Leap API token found in {where} or in DWAVE_API_TOKEN. "
            f"{CREDENTIALS_HELP}"
        )


def _leap_construct(name: str, ctor: Callable[..., Any], client_kwargs: dict[str, Any]) -> Any:
    """Call a Leap sampler constructor, turning credential failures into clear errors."""
    try:
        from dwave.cloud.exceptions import SolverAuthenticationError
    except ImportError:  # pragma: no cover - dwave-system depends on it
        SolverAuthenticationError = ()  # type: ignore[assignment]
    try:
        return ctor(**client_kwargs)
    except SolverAuthenticationError as exc:
        raise LeapCredentialsError(
            f"sampler {name!r}: Leap rejected the API token (check it with `dwave ping`). "
            f"{CREDENTIALS_HELP}"
        ) from exc
    except ValueError as exc:
        if "token" in str(exc).lower():
            raise LeapCredentialsError(
                f"sampler {name!r}: no Leap API token configured. {CREDENTIALS_HELP}"
            ) from exc
        raise


def qpu(**client_kwargs: Any) -> dimod.Sampler:
    system = _dwave_system("qpu")
    _check_leap_credentials("qpu", client_kwargs)
    child = _leap_construct("qpu", system.DWaveSampler, client_kwargs)
    return system.EmbeddingComposite(child)


def hybrid(**client_kwargs: Any) -> dimod.Sampler:
    system = _dwave_system("hybrid")
    _check_leap_credentials("hybrid", client_kwargs)
    return _leap_construct("hybrid", system.LeapHybridSampler, client_kwargs)


def cqm_hybrid(**client_kwargs: Any) -> dimod.Sampler:
    system = _dwave_system("cqm-hybrid")
    _check_leap_credentials("cqm-hybrid", client_kwargs)
    child = _leap_construct("cqm-hybrid", system.LeapHybridCQMSampler, client_kwargs)
    from .cqm import CQMTrainingSampler

    return CQMTrainingSampler(child)


def resolve_chain_strength(value: Any) -> Any:
    if value is None or callable(value):
        return value
    if isinstance(value, bool):
        raise ValueError(f"chain_strength must be a number or a name, got {value!r}")
    if isinstance(value, numbers.Real):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"chain_strength must be a positive finite number, got {value!r}")
        return float(value)
    if isinstance(value, str) or isinstance(value, Mapping):
        if isinstance(value, str):
            fname, kwargs = value, {}
        else:
            kwargs = dict(value)
            fname = kwargs.pop("name", None)
        if fname not in _CHAIN_STRENGTH_NAMES:
            raise ValueError(
                f"unknown chain_strength {fname!r}; use a positive number or one of "
                f"{list(_CHAIN_STRENGTH_NAMES)} (optionally as a table with 'name' and 'prefactor')"
            )
        from dwave.embedding import chain_strength as cs

        func = getattr(cs, fname)
        if not kwargs:
            return func
        unknown = sorted(set(kwargs) - {"prefactor"})
        if unknown:
            raise ValueError(f"chain_strength {fname!r} accepts only 'prefactor', got {unknown}")

        def chain_strength(bqm, embedding=None, _f=func, _kw=kwargs):
            return _f(bqm, embedding, **_kw)

        return chain_strength
    raise ValueError(f"chain_strength must be a number or a name, got {type(value).__name__}")


def chain_break_summary(sampleset: dimod.SampleSet) -> dict[str, Any]:
    record = sampleset.record
    fractions = np.asarray(record.chain_break_fraction, dtype=float)
    weights = np.asarray(record.num_occurrences, dtype=float)
    total = float(weights.sum())
    summary: dict[str, Any] = {
        "mean": float(np.average(fractions, weights=weights)) if total else 0.0,
        "max": float(fractions.max()) if fractions.size else 0.0,
        "broken_sample_fraction": float(weights[fractions > 0].sum() / total) if total else 0.0,
        "lowest_energy": float(fractions[np.argmin(record.energy)]) if fractions.size else 0.0,
    }
    context = sampleset.info.get("embedding_context") or {}
    embedding = context.get("embedding")
    if embedding:
        lengths = [len(chain) for chain in embedding.values()]
        summary["num_chains"] = len(lengths)
        summary["max_chain_length"] = max(lengths)
    strength = context.get("chain_strength")
    if isinstance(strength, (int, float, np.number)):
        summary["chain_strength"] = float(strength)
    return summary
