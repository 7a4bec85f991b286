"""Run configuration: one TOML file describes a whole training run (data, network, QUBO, sampler).

Every section and key is optional; an empty file is the packaged default run
(``qubo_bnn/configs/default.toml``: digits 3 vs 8 pooled to 4x4, 100 training images, one
hidden layer of 4, the collapsed annealer on the estimator's default budget, seed 0)::

    seed = 0

    [data]                  # task = "digits" | "bars_and_stripes" | "file"
    task = "digits"
    classes = [3, 8]        # or "all"
    n_train = 100

    [network]
    hidden_layers = [4]     # or explicit n_inputs / [[network.neurons]] / outputs

    [formulation]
    penalty = "auto"        # A; "auto" = the exact-safe value

    [regularisers]
    margin = 0.0

    [decoding]
    refine_sweeps = 1000    # other samplers: collapsed annealing from their reads

    [sampler]               # passed as-is to qubo_bnn.samplers.split_sampler_config
    name = "collapsed"      # no sample() parameters: the estimator's default budget

    [output]
    model = "model.json"    # optional

(Over 350 lines: the schema is the file format's single statement -- the sections as
dataclasses, the key-by-key checks, the override syntax -- so a reader finds every rule of a run
file here; estimator parameters are checked by the estimator's own declarations.)

Validation happens in :func:`load_config` / :func:`config_from_dict` and raises one
:class:`ConfigError` whose message holds the file, the dotted key and the reason, before any
data is loaded or any QUBO is built: every key of every section, the common ``sample()``
parameters by name whatever the sampler (``num_reads``, ``num_sweeps``, ``seed``,
``beta_range``, ``timeout``, ``time_limit``, ...: ``_SAMPLER_PARAM_KEYS``), and the file's
size and nesting (:data:`MAX_CONFIG_BYTES`, :data:`MAX_NESTING`). This module is the schema
only: constructing the sampler (which may contact Leap), loading data and training are
:mod:`qubo_bnn.jobs`. Relative paths
(``data.path``, ``output.*``) are relative to the current working directory.

Example:
    >>> cfg = config_from_dict({"data": {"task": "bars_and_stripes", "size": 2},
    ...                         "sampler": {"name": "neal", "num_reads": 4}})
    >>> cfg.data.size, cfg.sampler_name, cfg.formulation.penalty is None
    (2, 'neal', True)
"""
from __future__ import annotations

import functools
import importlib.resources
import inspect
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import samplers as _samplers
from .classifier import DEFAULT_SAMPLE_PARAMS, BNNClassifier, check_parameters
from .network import Network

__all__ = [
    "ConfigError",
    "RunConfig",
    "DataConfig",
    "NetworkConfig",
    "FormulationConfig",
    "RegularisersConfig",
    "DecodingConfig",
    "OutputConfig",
    "DEFAULT_CONFIG",
    "default_config_path",
    "load_config",
    "config_from_dict",
    "parse_override",
    "apply_overrides",
]


class ConfigError(ValueError):
    """An invalid run configuration: ``"<file>: <dotted.key>: <reason>"``, raised before any work.

    Attributes:
        source: the config file (or ``"<dict>"``), ``key``: the dotted key, ``reason``: why.
    """

    def __init__(self, source: str, key: str, reason: str):
        self.source, self.key, self.reason = source, key, reason
        super().__init__(f"{source}: {key}: {reason}")


# --------------------------------------------------------------------------- the config tree


def _estimator_default(name: str) -> Any:
    """The default of :class:`BNNClassifier`'s parameter ``name`` (its signature is the one statement)."""
    return inspect.signature(BNNClassifier).parameters[name].default


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which data set and how it is split (see :func:`load_data`)."""

    task: str = "digits"
    classes: tuple[int, ...] | None = (3, 8)   # None: all classes
    pool: bool = True
    threshold: float = 8.0
    n_train: int = 100
    n_test: int | None = None                  # None: every remaining sample
    split_seed: int = 0
    path: str | None = None
    test_fraction: float = 0.0
    size: int = 3


@dataclass(frozen=True)
class NetworkConfig:
    """``[network]``: dense ``hidden_layers`` or an explicit :meth:`Network.from_dict` ``spec``."""

    hidden_layers: tuple[int, ...] = (4,)
    spec: dict[str, Any] | None = None

    def build(self) -> Network | None:
        """The explicit network (a fresh object each call), or None for a dense one sized at fit."""
        return None if self.spec is None else Network.from_dict(self.spec)


@dataclass(frozen=True)
class FormulationConfig:
    """``[formulation]``: ``penalty`` (A; None = exact-safe "auto"), ``loss_weight`` (B).

    The defaults of this and the next two sections are the estimator's own
    (:class:`~qubo_bnn.classifier.BNNClassifier`'s signature), stated there once.
    """

    penalty: float | None = _estimator_default("penalty")
    loss_weight: float = _estimator_default("loss_weight")
    hard_fit: bool = _estimator_default("hard_fit")
    builder: str = _estimator_default("builder")
    binarize: str | None = _estimator_default("binarize")
    drop_constant_inputs: bool = _estimator_default("drop_constant_inputs")
    multi_class: str = _estimator_default("multi_class")
    weights: str = _estimator_default("weights")
    inputs: str = _estimator_default("inputs")
    sparsity: bool = _estimator_default("sparsity")


@dataclass(frozen=True)
class RegularisersConfig:
    """``[regularisers]``: margin reward and the dropout-inspired scheme."""

    margin: float = _estimator_default("margin")
    margin_neurons: str | tuple[int, ...] = _estimator_default("margin_neurons")
    margin_cap: int | str | None = _estimator_default("margin_cap")
    margin_kind: str = _estimator_default("margin_kind")
    min_output_margin: int = _estimator_default("min_output_margin")
    dropout_rounds: int = _estimator_default("dropout_rounds")
    dropout_rate: float = _estimator_default("dropout_rate")
    dropout_strength: float = _estimator_default("dropout_strength")


@dataclass(frozen=True)
class DecodingConfig:
    """``[decoding]``: ``refine_sweeps``, collapsed annealing from another sampler's reads (0: raw);
    ``committee_size`` and ``bootstrap``, the committee that votes (:mod:`qubo_bnn.committee`)."""

    refine_sweeps: int = _estimator_default("refine_sweeps")
    committee_size: int | None = _estimator_default("committee_size")
    bootstrap: bool | str = _estimator_default("bootstrap")


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: optional paths of the JSON model and the JSON results file."""

    model: str | None = None
    results: str | None = None


DEFAULT_SAMPLER: dict[str, Any] = {"name": "collapsed"}
"""The ``[sampler]`` table used when a config has none: the collapsed annealer on the estimator's
default budget (no ``sample()`` parameters: ``DEFAULT_SAMPLE_PARAMS``, or ``DEFAULT_BAG_PARAMS``
shared by the members of a bagged fit). A given table with a ``name`` replaces it whole; one
without adjusts one call of ``DEFAULT_SAMPLE_PARAMS`` (``--num-reads 2`` on an empty file: the
collapsed annealer, 2 reads of 500 sweeps)."""


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration (see the module docstring for the file format).

    ``sampler`` is the ``[sampler]`` table exactly as written (already checked by
    :func:`qubo_bnn.samplers.split_sampler_config`); ``source`` names the file it came from.
    """

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    formulation: FormulationConfig = field(default_factory=FormulationConfig)
    regularisers: RegularisersConfig = field(default_factory=RegularisersConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    sampler: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SAMPLER))
    output: OutputConfig = field(default_factory=OutputConfig)
    source: str = "<defaults>"
    overridden: tuple[str, ...] = ()  # dotted keys set on the command line

    def error(self, key: str, reason: str) -> ConfigError:
        """A :class:`ConfigError` about ``key`` of this config (noting command-line values)."""
        return _error(self.source, self.overridden, key, reason)

    @property
    def sampler_name(self) -> str:
        return str(self.sampler["name"])

    def estimator_params(self) -> dict[str, Any]:
        """The :class:`BNNClassifier` parameters set by ``[formulation]``, ``[regularisers]`` and
        ``[decoding]`` (their keys are the parameters' names)."""
        params = {k: v for sec in (self.formulation, self.regularisers, self.decoding) for k, v in asdict(sec).items()}
        if not isinstance(params["margin_neurons"], str):
            params["margin_neurons"] = list(params["margin_neurons"])
        return params

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration as TOML-like plain data (for results files)."""
        d = self.data
        data: dict[str, Any] = {"task": d.task}
        if d.task == "digits":
            data.update(classes=list(d.classes) if d.classes else "all", pool=d.pool,
                        threshold=d.threshold, n_train=d.n_train, split_seed=d.split_seed)
            if d.n_test is not None:
                data["n_test"] = d.n_test
        elif d.task == "file":
            data.update(path=d.path, classes=list(d.classes) if d.classes else "all",
                        test_fraction=d.test_fraction, split_seed=d.split_seed)
        else:
            data.update(size=d.size, test_fraction=d.test_fraction, split_seed=d.split_seed)
        n = self.network
        network: dict[str, Any] = dict(n.spec) if n.spec is not None else {"hidden_layers": list(n.hidden_layers)}
        output = {k: v for k, v in (("model", self.output.model), ("results", self.output.results)) if v}
        estimator = self.estimator_params()
        sections = {name: {k: estimator[k] for k in (f.name for f in fields(cls))}
                    for name, cls in (("formulation", FormulationConfig), ("regularisers", RegularisersConfig),
                                      ("decoding", DecodingConfig))}
        sections["formulation"]["penalty"] = "auto" if self.formulation.penalty is None else self.formulation.penalty
        if self.regularisers.margin_cap is None:
            sections["regularisers"]["margin_cap"] = "none"  # TOML has no null
        if self.decoding.committee_size is None:
            sections["decoding"]["committee_size"] = "auto"
        return {"seed": self.seed, "data": data, "network": network, **sections,
                "sampler": _copy_tables(self.sampler), "output": output}


# --------------------------------------------------------------------------- value checkers


class _Bad(Exception):
    """A checker's reason for refusing a value (becomes a ConfigError with the key)."""


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _int(minimum: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"expected an integer{'' if minimum is None else f' >= {minimum}'}, got {_show(v)}")
        if minimum is not None and v < minimum:
            raise _Bad(f"must be >= {minimum}, got {v}")
        return v
    return check


def _float(minimum: float | None = None, *, above: bool = False,
           maximum: float | None = None, below: bool = False) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _Bad(f"expected a finite number, got {_show(v)}")
        v = float(v)
        if minimum is not None and (v <= minimum if above else v < minimum):
            raise _Bad(f"must be {'>' if above else '>='} {minimum:g}, got {v:g}")
        if maximum is not None and (v >= maximum if below else v > maximum):
            raise _Bad(f"must be {'<' if below else '<='} {maximum:g}, got {v:g}")
        return v
    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad(f"expected true or false, got {_show(v)}")
    return v


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in allowed:
            raise _Bad(f"must be one of {', '.join(repr(a) for a in allowed)}; got {v!r}")
        return v
    return check


def _string(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Bad(f"expected a non-empty string, got {_show(v)}")
    return v


def _int_list(minimum: int, what: str, allow_empty: bool = True) -> Callable[[Any], tuple[int, ...]]:
    def check(v: Any) -> tuple[int, ...]:
        if not isinstance(v, list) or any(isinstance(x, bool) or not isinstance(x, int) or x < minimum
                                          for x in v):
            raise _Bad(f"expected a list of {what} (integers >= {minimum}), got {_show(v)}")
        if not v and not allow_empty:
            raise _Bad(f"expected a non-empty list of {what}")
        return tuple(v)
    return check


def _classes(v: Any) -> tuple[int, ...] | None:
    if v == "all":
        return None
    out = _int_list(0, "class labels", allow_empty=False)(v) if isinstance(v, list) else None
    if out is None:
        raise _Bad(f'expected a list of at least two class labels or "all", got {_show(v)}')
    if len(set(out)) != len(out) or len(out) < 2:
        raise _Bad(f"expected at least two distinct class labels, got {list(out)}")
    return out


def _estimator(name: str, convert: Callable[[Any], Any] = lambda v: v, none: str = "None") -> Callable[[Any], Any]:
    """A run-file key that sets the estimator parameter ``name``: TOML spelling converted (``none``
    is how the file writes Python's None), then checked by the estimator's own rules
    (:data:`qubo_bnn.classifier.PARAMETER_CONSTRAINTS`)."""
    def check(v: Any) -> Any:
        v = convert(v)
        if isinstance(v, float) and not math.isfinite(v):
            raise _Bad(f"expected a finite number, got {v!r}")
        try:
            check_parameters({name: v})
        except ValueError as exc:
            raise _Bad(str(exc).replace(" or None.", f" or {none}.")) from None
        return v
    return check


def _auto_none(v: Any) -> Any:
    return None if v == "auto" else v


def _binarizer_spec(v: Any) -> Any:
    """``"none"`` -> None; any other string must be a :func:`~qubo_bnn.binarize.make_binarizer` spec."""
    if v == "none" or not isinstance(v, str):
        return None if v == "none" else v
    from .binarize import make_binarizer

    try:
        make_binarizer(v)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return v


def _neuron_ids(v: Any) -> Any:
    return _int_list(0, "neuron ids", allow_empty=False)(v) if isinstance(v, list) else v


_TASKS = ("digits", "bars_and_stripes", "file")
# key -> (checker, tasks the key applies to)
_DATA_KEYS: dict[str, tuple[Callable[[Any], Any], tuple[str, ...]]] = {
    "task": (_choice(*_TASKS), _TASKS),
    "classes": (_classes, ("digits", "file")),
    "pool": (_bool, ("digits",)),
    "threshold": (_float(0.0, maximum=16.0), ("digits",)),
    "n_train": (_int(2), ("digits",)),
    "n_test": (_int(1), ("digits",)),
    "split_seed": (_int(0), _TASKS),
    "path": (_string, ("file",)),
    "test_fraction": (_float(0.0, maximum=1.0, below=True), ("file", "bars_and_stripes")),
    "size": (_int(2), ("bars_and_stripes",)),
}
# these sections set estimator parameters of the same names: one statement of their rules
_FORMULATION_KEYS = {"penalty": _estimator("penalty", _auto_none, none='"auto"'), "loss_weight": _estimator("loss_weight"),
                     "hard_fit": _estimator("hard_fit"), "builder": _estimator("builder"),
                     "binarize": _estimator("binarize", _binarizer_spec, none='"none"'),
                     "drop_constant_inputs": _estimator("drop_constant_inputs"),
                     "multi_class": _estimator("multi_class"), "weights": _estimator("weights"),
                     "inputs": _estimator("inputs"), "sparsity": _estimator("sparsity")}
_REGULARISER_KEYS = {k: _estimator(k) for k in ("margin", "margin_kind", "min_output_margin", "dropout_rounds",
                                                "dropout_rate", "dropout_strength")}
_REGULARISER_KEYS["margin_cap"] = _estimator("margin_cap", lambda v: None if v == "none" else v, none='"none"')
_REGULARISER_KEYS["margin_neurons"] = _estimator("margin_neurons", _neuron_ids)
_DECODING_KEYS = {"refine_sweeps": _estimator("refine_sweeps"),
                  "committee_size": _estimator("committee_size", _auto_none, none='"auto"'),
                  "bootstrap": _estimator("bootstrap")}
_OUTPUT_KEYS = {"model": _string, "results": _string}


def _seed(v: Any) -> int:
    v = _int(0)(v)
    if v >= 2**32 - 1:
        raise _Bad(f"must be < 2**32 - 1 = {2**32 - 1} (dwave-samplers' limit), got {v}")
    return v


def _beta_range(v: Any, *, linear: bool = False) -> list[float]:
    if not isinstance(v, list) or len(v) != 2:
        raise _Bad(f"expected two inverse temperatures [hot, cold], got {_show(v)}")
    betas = [_float(0.0)(b) for b in v]
    if not linear and 0.0 in betas:
        raise _Bad(f"a geometric schedule needs betas > 0, got {v}")
    return betas


# Common sample() parameters, checked by name whatever the sampler, before any work; each
# sampler's own rules (and whether it takes the parameter at all) are checked when it is built.
_SAMPLER_PARAM_KEYS: dict[str, Callable[[Any], Any]] = {
    "num_reads": _int(1), "num_sweeps": _int(1), "num_sweeps_per_beta": _int(1), "seed": _seed,
    "beta_range": _beta_range, "beta_schedule_type": _choice("geometric", "linear", "custom"),
    "initial_states_generator": _choice("random", "tile", "none"),
    "timeout": _float(0.0), "time_limit": _float(0.0, above=True), "annealing_time": _float(0.0, above=True),
    "num_restarts": _int(0), "tenure": _int(0), "num_workers": _int(1),
    "progress": _bool, "log_progress": _bool,
}
_NETWORK_SPEC_KEYS = ("n_inputs", "neurons", "outputs")
_SECTIONS = ("data", "network", "formulation", "regularisers", "decoding", "sampler", "output")
_TOP_KEYS = ("seed",)


# --------------------------------------------------------------------------- validation


def _error(source: str, overridden: Iterable[str], key: str, reason: str) -> ConfigError:
    noted = key in overridden or any(key.startswith(o + ".") for o in overridden)
    return ConfigError(source, f"{key} (set on the command line)" if noted else key, reason)


class _Validator:
    def __init__(self, source: str, overridden: Iterable[str] = ()):
        self.source = source
        self.overridden = set(overridden)

    def error(self, key: str, reason: str) -> ConfigError:
        return _error(self.source, self.overridden, key, reason)

    def check(self, key: str, checker: Callable[[Any], Any], value: Any) -> Any:
        try:
            return checker(value)
        except _Bad as exc:
            raise self.error(key, str(exc)) from None

    def table(self, raw: Mapping[str, Any], name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            raise self.error(name, f"expected a table [{name}], got {type(value).__name__}")
        return dict(value)

    def unknown(self, table: Mapping[str, Any], allowed: Iterable[str], section: str) -> None:
        allowed = sorted(allowed)
        for key in table:
            if key not in allowed:
                dotted = f"{section}.{key}" if section else key
                hint = ("API tokens are never read from the qubo-bnn config; use a dwave.conf "
                         "profile or DWAVE_API_TOKEN. " if "token" in key.lower() else "")
                # never echo the value: it could be a secret
                what = "section" if isinstance(table[key], Mapping) and not section else "key"
                raise self.error(dotted, f"unknown {what}; {hint}allowed: {', '.join(allowed)}")

    def section(self, raw: Mapping[str, Any], name: str,
                checkers: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
        table = self.table(raw, name)
        self.unknown(table, checkers, name)
        return {k: self.check(f"{name}.{k}", checkers[k], v) for k, v in table.items()}

    # ----------------------------------------------------------------- sections
    def data(self, raw: Mapping[str, Any]) -> DataConfig:
        table = self.table(raw, "data")
        self.unknown(table, _DATA_KEYS, "data")
        task = self.check("data.task", _DATA_KEYS["task"][0], table.get("task", "digits"))
        values = {}
        for key, value in table.items():
            checker, tasks = _DATA_KEYS[key]
            if task not in tasks:
                raise self.error(f"data.{key}", f"not used with task = {task!r} "
                                 f"(only with {' or '.join(repr(t) for t in tasks)})")
            values[key] = self.check(f"data.{key}", checker, value)
        if task == "file" and "path" not in values:
            raise self.error("data.path", 'missing: task = "file" needs the path of a .npz or .csv file')
        if task == "file":
            values.setdefault("test_fraction", 0.25)
            values.setdefault("classes", None)
        if "path" in values:
            ext = os.path.splitext(values["path"])[1].lower()
            if ext not in (".npz", ".csv"):
                raise self.error("data.path", f"unsupported data format {ext!r} (use .npz or .csv)")
        if task == "digits":
            classes = values.get("classes", DataConfig.classes)
            if classes is not None and any(c > 9 for c in classes):
                raise self.error("data.classes", f"digits are 0-9, got {list(classes)}")
        return DataConfig(**values)

    def network(self, raw: Mapping[str, Any]) -> NetworkConfig:
        table = self.table(raw, "network")
        self.unknown(table, ("hidden_layers", *_NETWORK_SPEC_KEYS), "network")
        explicit = [k for k in _NETWORK_SPEC_KEYS if k in table]
        if explicit and "hidden_layers" in table:
            raise self.error("network.hidden_layers", "give either hidden_layers (a dense network) or "
                             "an explicit n_inputs/neurons/outputs network, not both")
        if not explicit:
            hidden = self.check("network.hidden_layers", _int_list(1, "layer widths"),
                                table.get("hidden_layers", list(NetworkConfig.hidden_layers)))
            return NetworkConfig(hidden_layers=hidden)
        for key in ("n_inputs", "neurons"):
            if key not in table:
                raise self.error(f"network.{key}", "missing: an explicit network needs n_inputs and "
                                 "[[network.neurons]] (each with sources and optional bias)")
        spec = _copy_tables(table)
        try:
            Network.from_dict(spec).validate()
        except (TypeError, ValueError) as exc:
            raise self.error("network", str(exc)) from None
        return NetworkConfig(hidden_layers=(), spec=spec)

    def regularisers(self, raw: Mapping[str, Any]) -> RegularisersConfig:
        return RegularisersConfig(**self.section(raw, "regularisers", _REGULARISER_KEYS))

    def sampler(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        if "sampler" not in raw:
            return dict(DEFAULT_SAMPLER)
        table = self.table(raw, "sampler")
        if "name" not in table and table:   # no name: adjusts the default sampler's parameters
            table = {**DEFAULT_SAMPLER, **DEFAULT_SAMPLE_PARAMS, **table}
        try:
            _samplers.split_sampler_config(table)  # the registry's own checks (name, init, tokens)
        except ValueError as exc:
            name = table.get("name")
            bad_name = not isinstance(name, str) or not name.strip()
            raise self.error("sampler.name" if bad_name else "sampler", str(exc)) from None
        for key, checker in _SAMPLER_PARAM_KEYS.items():
            if key in table:   # checked, passed on as written (a sampler may want 200, not 200.0)
                if key == "beta_range" and table.get("beta_schedule_type") == "linear":
                    checker = functools.partial(_beta_range, linear=True)
                self.check(f"sampler.{key}", checker, table[key])
        return _copy_tables(table)

    def run(self, raw: Mapping[str, Any]) -> RunConfig:
        if not isinstance(raw, Mapping):
            raise ConfigError(self.source, "(top level)", f"expected a table, got {type(raw).__name__}")
        self.unknown(raw, (*_TOP_KEYS, *_SECTIONS), "")
        seed = self.check("seed", _int(0), raw.get("seed", 0))
        cfg = RunConfig(
            seed=seed, data=self.data(raw), network=self.network(raw),
            formulation=FormulationConfig(**self.section(raw, "formulation", _FORMULATION_KEYS)),
            regularisers=self.regularisers(raw),
            decoding=DecodingConfig(**self.section(raw, "decoding", _DECODING_KEYS)), sampler=self.sampler(raw),
            output=OutputConfig(**self.section(raw, "output", _OUTPUT_KEYS)), source=self.source,
            overridden=tuple(sorted(self.overridden)))
        self.cross_checks(cfg)
        return cfg

    def cross_checks(self, cfg: RunConfig) -> None:
        spec = cfg.network.spec
        n_features = _expected_features(cfg.data)
        if spec is not None and n_features is not None and spec["n_inputs"] != n_features:
            raise self.error("network.n_inputs", f"the data has {n_features} features but the "
                             f"network has {spec['n_inputs']} inputs")
        if spec is not None and cfg.data.task != "file":
            n_classes = 2 if cfg.data.task == "bars_and_stripes" else len(cfg.data.classes or range(10))
            n_out = len(Network.from_dict(spec).outputs)
            needed = 1 if n_classes == 2 else n_classes
            if n_out != needed:
                raise self.error("network.outputs", f"{n_classes} classes need {needed} output neuron(s) "
                                 f"(one for two classes, one per class otherwise), the network has {n_out}")


def _expected_features(data: DataConfig) -> int | None:
    if data.task == "digits":
        return 16 if data.pool else 64
    if data.task == "bars_and_stripes":
        return data.size ** 2
    return None


def _copy_tables(table: Mapping[str, Any]) -> dict[str, Any]:
    def copy(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: copy(x) for k, x in v.items()}
        if isinstance(v, list):
            return [copy(x) for x in v]
        return v
    return copy(table)


# --------------------------------------------------------------------------- loading


MAX_NESTING = 32
"""Deepest nesting of tables and arrays a run file (or a ``--set`` key) may have."""

MAX_CONFIG_BYTES = 1 << 20
"""Largest run file read (1 MiB; the packaged default is under 3 KiB)."""


def _depth(value: Any) -> int:
    """Nesting depth of TOML data, counted without recursion (tomllib's own nesting is bounded by
    the interpreter's stack; dotted keys such as ``a.b.c.d`` are not)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_NESTING:
            children = node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else ()
            stack.extend((child, depth + 1) for child in children)
    return deepest


def default_config_path() -> str:
    """Path of the packaged default run, ``qubo_bnn/configs/default.toml``."""
    return str(importlib.resources.files("qubo_bnn") / "configs" / "default.toml")


DEFAULT_CONFIG = RunConfig()
"""The default run (what an empty file, or the packaged ``default.toml``, describes)."""


def parse_override(text: str) -> tuple[str, Any]:
    """``"KEY=VALUE"`` -> ``(dotted key, value)``; VALUE is read as a TOML value, else a string.

    Example:
        >>> parse_override("sampler.num_reads=8"), parse_override("sampler.name=tabu")
        (('sampler.num_reads', 8), ('sampler.name', 'tabu'))
        >>> parse_override("network.hidden_layers=[4, 2]")
        ('network.hidden_layers', [4, 2])
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.strip() for part in key.split(".")):
        raise ValueError(f"--set expects KEY=VALUE with a dotted KEY such as sampler.num_reads=8, "
                         f"got key {key!r}")
    if len(key.split(".")) > MAX_NESTING:
        raise ValueError(f"--set {key[:40]}...: more than {MAX_NESTING} nested keys")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    except RecursionError:
        raise ValueError(f"--set {key}: the value is nested too deeply") from None
    return key, parsed


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A copy of the TOML data ``raw`` with each ``(dotted.key, value)`` set (tables created as needed).

    Example:
        >>> apply_overrides({"sampler": {"name": "neal"}}, [("sampler.num_reads", 4), ("seed", 3)])
        {'sampler': {'name': 'neal', 'num_reads': 4}, 'seed': 3}
    """
    out = _copy_tables(raw)
    for key, value in overrides:
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"cannot set {key}: {'.'.join(parts[:i + 1])} is not a table")
            node = child
        node[parts[-1]] = value
    return out


def config_from_dict(raw: Mapping[str, Any], source: str = "<dict>",
                     overridden: Iterable[str] = ()) -> RunConfig:
    """Validate TOML-like data into a :class:`RunConfig`.

    Args:
        raw: the parsed TOML document.
        source: what error messages name as the file.
        overridden: dotted keys set on the command line (their errors say so).

    Raises:
        ConfigError: an unknown section or key, a wrong type or value, a missing required key,
            a refused ``[sampler]`` table (unknown layout, ``token`` keys).
    """
    return _Validator(source, overridden).run(raw)


def load_config(path: str | os.PathLike | None = None,
                overrides: Iterable[tuple[str, Any]] = ()) -> RunConfig:
    """Read and validate a run file (default: the packaged ``default.toml``), then ``overrides``.

    Example:
        >>> cfg = load_config(overrides=[("data.n_train", 20), ("sampler.num_reads", 2)])
        >>> cfg.data.n_train, cfg.sampler
        (20, {'name': 'collapsed', 'num_reads': 2, 'num_sweeps': 500})
    """
    path = default_config_path() if path is None else os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)     # bounded: /dev/zero is not a run file
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(path, "(file)", f"larger than {MAX_CONFIG_BYTES} bytes; not a run file?")
        raw = tomllib.loads(data.decode())
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "config file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(file)", f"cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(file)", f"not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(path, "(file)", "arrays or inline tables nested too deeply") from None
    if _depth(raw) > MAX_NESTING:
        raise ConfigError(path, "(file)", f"tables or arrays nested more than {MAX_NESTING} deep; "
                          "no run file needs that")
    overrides = list(overrides)
    try:
        raw = apply_overrides(raw, overrides)
    except ValueError as exc:
        raise ConfigError(path, "(command line)", str(exc)) from None
    if _depth(raw) > MAX_NESTING:
        raise ConfigError(path, "(command line)", f"a --set value nests more than {MAX_NESTING} deep")
    return config_from_dict(raw, source=path, overridden=[k for k, _ in overrides])
