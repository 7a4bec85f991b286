"""Tests for qubo_bnn.config: TOML run files, validation before any work, sampler switching."""
from __future__ import annotations

import copy
import pathlib

import numpy as np
import pytest

from qubo_bnn import config as C
from qubo_bnn import jobs as J
from qubo_bnn.classifier import DEFAULT_SAMPLE_PARAMS, BNNClassifier
from qubo_bnn.network import Network

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "configs").glob("*.toml"))
from conftest import SECRET

TINY = {
    "seed": 0,
    "data": {"task": "bars_and_stripes", "size": 2},
    "network": {"hidden_layers": [1]},
    "sampler": {"name": "neal", "num_reads": 4},
}


@pytest.fixture
def no_work(monkeypatch):
    """Loading data or building a QUBO fails the test: errors must come before any work."""
    from qubo_bnn import datasets, formulation

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the configuration was validated")

    for mod, name in ((datasets, "load_digits_task"), (datasets, "bars_and_stripes"),
                      (datasets, "load_dataset"), (formulation.TrainingQUBO, "__init__"),
                      (BNNClassifier, "build_qubo")):
        monkeypatch.setattr(mod, name, forbidden)


def write(tmp_path, text: str, name: str = "run.toml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ defaults and examples


def test_packaged_default_is_the_empty_config(tmp_path):
    packaged = C.load_config()
    empty = C.load_config(write(tmp_path, ""))
    assert packaged.to_dict() == empty.to_dict() == C.DEFAULT_CONFIG.to_dict()
    d = packaged.data
    assert (d.task, d.classes, d.pool, d.n_train) == ("digits", (3, 8), True, 100)
    assert packaged.network.hidden_layers == (4,) and packaged.seed == 0
    assert packaged.sampler == {"name": "collapsed"}       # the estimator's default budget
    assert (packaged.decoding.committee_size, packaged.decoding.bootstrap) == (None, "auto")


def test_all_examples_present():
    names = {p.stem for p in EXAMPLES}
    assert names >= {"neal", "tabu", "gpu", "cpsat", "qpu", "hybrid", "cqm_hybrid", "regularised", "custom_topology"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_validates(path, no_work):
    cfg = C.load_config(path)
    assert cfg.source == str(path)
    text = path.read_text()
    assert text.count("#") >= 3, "examples are commented"
    assert "token =" not in text.replace("# ", "")


@pytest.mark.parametrize("name", ["neal", "tabu", "gpu", "regularised", "bagged"])
def test_offline_example_samplers_resolve_with_their_parameters(name, no_work):
    cfg = C.load_config(ROOT / "examples" / "configs" / f"{name}.toml")
    sampler, params = J.resolve_sampler(cfg)
    expected = {k: v for k, v in cfg.sampler.items() if k not in ("name", "init")}
    assert params == expected


def test_qpu_example_resolves_through_embedding_composite(mock_qpu, fake_token, no_work):
    from dwave.system import EmbeddingComposite

    cfg = C.load_config(ROOT / "examples" / "configs" / "qpu.toml")
    sampler, params = J.resolve_sampler(cfg)
    assert isinstance(sampler, EmbeddingComposite)
    assert mock_qpu == [{}]            # the environment's token alone is enough
    assert params["embedding_parameters"] == {"timeout": 60, "random_seed": 0}
    assert params["chain_strength"] == "uniform_torque_compensation"


def test_custom_topology_example_builds_its_network():
    cfg = C.load_config(ROOT / "examples" / "configs" / "custom_topology.toml")
    net = cfg.network.build()
    assert net.n_inputs == 9 and net.outputs == [11] and 4 in net.sources(11)  # the skip connection
    clf = J.estimator_from_config(cfg, sampler=J.resolve_sampler(cfg)[0], sample_params={"num_reads": 2})
    X, _, y, _ = J.load_data(cfg)
    clf.fit(X, y)
    assert clf.network_.to_dict() == net.to_dict()
    assert set(clf.predict(X)) <= {0, 1}


# ------------------------------------------------------------------ the same run on every sampler


@pytest.mark.filterwarnings("ignore:.*not mocked in MockDWaveSampler:UserWarning")
def test_switching_only_the_sampler_name_trains_the_same_topology(mock_qpu, fake_token):
    from dwave.system import EmbeddingComposite

    shapes, networks, kinds = {}, {}, {}
    for name in ("neal", "tabu", "gpu", "qpu"):
        raw = copy.deepcopy(TINY)
        raw["sampler"]["name"] = name          # the only change
        cfg = C.config_from_dict(raw)
        X_train, X_test, y_train, y_test = J.load_data(cfg)
        clf = J.estimator_from_config(cfg).fit(X_train, y_train)
        shapes[name] = clf.weights_.shape
        networks[name] = clf.network_.to_dict()
        kinds[name] = type(clf.sampler)
        assert set(np.unique(clf.weights_)) <= {-1, 1}
        pred = clf.predict(X_test)
        assert pred.shape == y_test.shape and set(pred) <= set(y_train)
    assert len(set(shapes.values())) == 1
    assert all(n == networks["neal"] for n in networks.values())
    assert kinds["qpu"] is EmbeddingComposite and len(set(kinds.values())) == 4
    assert len(mock_qpu) == 1


def test_sampler_table_with_only_a_name_gets_the_estimators_default_budget():
    cfg = C.config_from_dict({"sampler": {"name": "tabu"}})
    sampler, params = J.resolve_sampler(cfg)
    assert params is None and J.estimator_from_config(cfg).sampler_params is None
    clf = BNNClassifier(sampler=sampler, sampler_params=params)
    assert clf._sample_params(sampler, DEFAULT_SAMPLE_PARAMS) == {"num_reads": 16}   # tabu takes no num_sweeps
    # a table without a name adjusts one call of the default sampler
    assert C.config_from_dict({"sampler": {"num_reads": 2}}).sampler == {"name": "collapsed", "num_reads": 2,
                                                                          "num_sweeps": 500}


def test_estimator_carries_every_setting():
    raw = {"seed": 5, "formulation": {"penalty": 7.5, "loss_weight": 2.0, "hard_fit": True, "builder": "pyqubo"},
           "regularisers": {"margin": 0.5, "margin_neurons": "output", "margin_cap": 2, "min_output_margin": 1},
           "network": {"hidden_layers": [3, 2]}, "decoding": {"refine_sweeps": 7}}
    clf = J.estimator_from_config(C.config_from_dict(raw))
    p = clf.get_params()
    assert (p["penalty"], p["loss_weight"], p["hard_fit"], p["builder"]) == (7.5, 2.0, True, "pyqubo")
    assert (p["margin"], p["margin_neurons"], p["margin_cap"], p["min_output_margin"]) == (0.5, "output", 2, 1)
    assert p["refine_sweeps"] == 7 and p["random_state"] == 5 and tuple(p["hidden_layer_sizes"]) == (3, 2)
    assert p["sampler_params"] is None and (p["committee_size"], p["bootstrap"]) == (None, "auto")
    assert J.estimator_from_config(C.config_from_dict({})).penalty is None  # "auto"
    cfg = C.config_from_dict({"decoding": {"committee_size": "auto", "bootstrap": False}})
    assert (cfg.decoding.committee_size, cfg.decoding.bootstrap) == (None, False)
    assert cfg.to_dict()["decoding"]["committee_size"] == "auto"          # TOML has no null
    with pytest.raises(C.ConfigError, match=r'decoding.committee_size.*or "auto"'):
        C.config_from_dict({"decoding": {"committee_size": 0}})


# ------------------------------------------------------------------ data


@pytest.mark.parametrize("value,expect", [("none", None), ("sqrt", "sqrt"), (4, 4)])
def test_margin_cap_spellings_round_trip(value, expect):
    cfg = C.config_from_dict({"regularisers": {"margin_cap": value}})
    assert J.estimator_from_config(cfg).margin_cap == expect
    again = C.config_from_dict(cfg.to_dict())          # what a results file records reads back the same
    assert J.estimator_from_config(again).margin_cap == expect
    assert C.config_from_dict({}).regularisers.margin_cap == "sqrt"      # the estimator's default


def test_margin_cap_bad_value_names_the_choices():
    with pytest.raises(C.ConfigError, match='margin_cap.*"none"'):
        C.config_from_dict({"regularisers": {"margin_cap": "cube"}})


def test_load_data_digits_and_bars():
    Xtr, Xte, ytr, yte = J.load_data(C.config_from_dict({"data": {"n_train": 20, "n_test": 10}}))
    assert Xtr.shape == (20, 16) and Xte.shape == (10, 16) and set(ytr) == {3, 8}
    X, X2, y, y2 = J.load_data(C.config_from_dict({"data": {"task": "bars_and_stripes", "size": 3}}))
    assert X.shape == (12, 9) and X is X2 and y is y2  # test_fraction 0: the usual benchmark
    Xtr, Xte, ytr, yte = J.load_data(C.config_from_dict(
        {"data": {"task": "bars_and_stripes", "size": 3, "test_fraction": 0.5}}))
    assert len(ytr) == len(yte) == 6


def test_load_data_file_with_classes_and_split(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, 5))
    y = np.repeat([0, 1, 2, 3], 10)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    cfg = C.config_from_dict({"data": {"task": "file", "path": str(path), "classes": [1, 2],
                                       "test_fraction": 0.25, "split_seed": 3}})
    Xtr, Xte, ytr, yte = J.load_data(cfg)
    assert len(ytr) == 15 and len(yte) == 5 and set(ytr) | set(yte) == {1, 2}
    bad = C.config_from_dict({"data": {"task": "file", "path": str(path), "classes": [1, 7]}})
    with pytest.raises(ValueError, match="7"):
        J.load_data(bad)


def test_training_bqm_matches_a_direct_build():
    cfg = C.config_from_dict({**TINY, "formulation": {"penalty": 3.0}, "regularisers": {"margin": 0.5}})
    X, _, y, _ = J.load_data(cfg)
    bqm = J.training_bqm(cfg, X, y)
    net = Network(4).dense(1).dense(1)
    direct = BNNClassifier(margin=0.5).build_qubo(net, X, (y == 1).astype(int)[:, None])
    assert bqm == direct.to_bqm(A=3.0, B=1.0, mu=0.5)


# ------------------------------------------------------------------ overrides


def test_overrides_apply_before_validation(tmp_path):
    path = write(tmp_path, '[data]\nn_train = 30\n[sampler]\nname = "tabu"\n')
    cfg = C.load_config(path, [("data.n_train", 20), ("sampler.init.x", 1), ("seed", 4)])
    assert cfg.data.n_train == 20 and cfg.seed == 4 and cfg.sampler["init"] == {"x": 1}
    with pytest.raises(C.ConfigError) as err:
        C.load_config(path, [("data.n_train", "many")])
    assert "data.n_train (set on the command line)" in str(err.value) and str(path) in str(err.value)


def test_parse_override():
    assert C.parse_override("a.b=1.5") == ("a.b", 1.5)
    assert C.parse_override("data.classes='all'") == ("data.classes", "all")
    assert C.parse_override("x=true") == ("x", True)
    for bad in ("noequals", "=3", "a..b=1"):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            C.parse_override(bad)


# ------------------------------------------------------------------ bad configs fail before work


BAD = [
    # (TOML text, dotted key expected in the message, reason substring)
    ('[sampler]\nname = "nonesuch"\n', "sampler.name", "unknown sampler 'nonesuch'"),
    ('[sampler]\nname = 3\n', "sampler.name", "needs a string 'name'"),
    ('[sampler]\nname = "neal"\nnum_reds = 4\n', "sampler.num_reds", "does not accept"),
    ('[sampler]\nname = "tabu"\nnum_sweeps = 4\n', "sampler.num_sweeps", "does not accept"),
    ('[sampler]\nname = "neal"\n[sampler.init]\nfoo = 1\n', "sampler.init", "takes no constructor parameters"),
    ('[data]\nn_train = "ten"\n', "data.n_train", "expected an integer"),
    ('[data]\nn_train = 1\n', "data.n_train", ">= 2"),
    ('[data]\npool = 1\n', "data.pool", "true or false"),
    ('[data]\ntask = "mnist"\n', "data.task", "'digits', 'bars_and_stripes', 'file'"),
    ('[data]\ntask = "file"\n', "data.path", "missing"),
    ('[data]\ntask = "file"\npath = "x.txt"\n', "data.path", "unsupported data format"),
    ('[data]\ntask = "bars_and_stripes"\nn_train = 5\n', "data.n_train", "not used with task = 'bars_and_stripes'"),
    ('[data]\nclasses = [3]\n', "data.classes", "at least two"),
    ('[data]\nclasses = [3, 18]\n', "data.classes", "0-9"),
    ('[data]\ncolour = true\n', "data.colour", "unknown key"),
    ('[dat]\nn_train = 5\n', "dat", "unknown section"),
    ('sede = 1\n', "sede", "unknown key"),
    ('seed = -1\n', "seed", ">= 0"),
    ('data = 3\n', "data", "expected a table"),
    ('[network]\nhidden_layers = [4, 0]\n', "network.hidden_layers", "integers >= 1"),
    ('[network]\nhidden_layers = 4\n', "network.hidden_layers", "list"),
    ('[network]\nhidden_layers = [4]\nn_inputs = 16\n', "network.hidden_layers", "not both"),
    ('[network]\nn_inputs = 16\n', "network.neurons", "missing"),
    ('[network]\nn_inputs = 16\n[[network.neurons]]\nsources = [0, 99]\n', "network", "unknown source 99"),
    ('[network]\nn_inputs = 9\n[[network.neurons]]\nsources = [0]\n', "network.n_inputs", "16 features"),
    ('[formulation]\npenalty = "big"\n', "formulation.penalty", 'in the range (0.0, inf) or "auto"'),
    ('[formulation]\npenalty = -1.0\n', "formulation.penalty", "(0.0, inf)"),
    ('[formulation]\nbuilder = "sympy"\n', "formulation.builder", "'pyqubo'"),
    ('[regularisers]\ndropout_rate = 1.0\n', "regularisers.dropout_rate", "[0.0, 1.0)"),
    ('[regularisers]\nmargin_neurons = "some"\n', "regularisers.margin_neurons", "'hidden'"),
    ('[output]\nmodel = 3\n', "output.model", "string"),
    ('[decoding]\nrefine_sweeps = -1\n', "decoding.refine_sweeps", "[0, inf)"),
    ('[output]\npath = "m.json"\n', "output.path", "unknown key; allowed: model, results"),
    ('[formulation]\nA = 2.0\n', "formulation.A", "unknown key"),
    ('[formulation]\nloss_weight = 0\n', "formulation.loss_weight", "(0.0, inf)"),
    ('[regularisers]\nmargin = inf\n', "regularisers.margin", "finite"),
    ('[formulation]\nhard_fit = "yes"\n', "formulation.hard_fit", "'bool'"),
    ('[regularisers]\nl2 = 0.1\n', "regularisers.l2", "unknown key"),
]


@pytest.mark.parametrize("text,key,reason", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_bad_config_fails_before_any_work(tmp_path, no_work, text, key, reason):
    path = write(tmp_path, text)
    with pytest.raises(C.ConfigError) as err:
        cfg = C.load_config(path)
        J.resolve_sampler(cfg)  # constructing the sampler is the last step before data/QUBO work
    msg = str(err.value)
    assert msg.startswith(f"{path}: {key}: "), msg
    assert reason in msg, msg
    assert (err.value.source, err.value.key) == (str(path), key)


@pytest.mark.parametrize("text", [
    f'[sampler]\nname = "qpu"\ntoken = "{SECRET}"\n',
    f'[sampler]\nname = "qpu"\n[sampler.init]\napi_token = "{SECRET}"\n',
    f'token = "{SECRET}"\n',
    f'[output]\ntoken = "{SECRET}"\n',
])
def test_token_keys_are_refused_without_echoing_them(tmp_path, no_work, text):
    path = write(tmp_path, text)
    with pytest.raises(C.ConfigError) as err:
        C.load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "token" in msg and SECRET not in msg


def test_invalid_toml_and_missing_file(tmp_path, no_work):
    path = write(tmp_path, "[data\n")
    with pytest.raises(C.ConfigError, match="not valid TOML") as err:
        C.load_config(path)
    assert str(path) in str(err.value)
    with pytest.raises(C.ConfigError, match="does not exist"):
        C.load_config(tmp_path / "nope.toml")


def test_missing_leap_credentials_is_a_config_error(tmp_path, no_work, no_credentials, monkeypatch):
    import dwave.system

    def must_not_be_called(**kwargs):
        raise AssertionError("DWaveSampler constructed without credentials")

    monkeypatch.setattr(dwave.system, "DWaveSampler", must_not_be_called)
    path = write(tmp_path, '[sampler]\nname = "qpu"\n[sampler.init]\nprofile = "prod"\n')
    cfg = C.load_config(path)  # static validation passes...
    with pytest.raises(C.ConfigError) as err:
        J.resolve_sampler(cfg)  # ...the credential check fails before any data work
    assert str(err.value).startswith(f"{path}: sampler.init: ") and "DWAVE_API_TOKEN" in str(err.value)


def test_config_error_is_a_value_error():
    assert issubclass(C.ConfigError, ValueError)
