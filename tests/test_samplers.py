"""Tests for qubo_bnn.samplers (registry, config splitting, validation, Leap paths offline)."""

from __future__ import annotations

import logging
import sys
import types

import dimod
import numpy as np
import pytest

from qubo_bnn import samplers as S


from conftest import SECRET


def random_bqm(n: int = 6, seed: int = 3) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    bqm = dimod.BinaryQuadraticModel("BINARY")
    for i in range(n):
        bqm.add_variable(i, float(rng.normal()))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < 0.7:
                bqm.add_interaction(i, j, float(rng.normal()))
    return bqm


def ground_energy(bqm: dimod.BinaryQuadraticModel) -> float:
    return float(dimod.ExactSolver().sample(bqm).first.energy)


# ------------------------------------------------------------------ offline samplers


OFFLINE = [
    ("neal", {"num_reads": 50, "num_sweeps": 500, "seed": 1}),
    ("sa", {"num_reads": 50, "seed": 2}),
    ("tabu", {"num_reads": 4, "timeout": 20, "seed": 3}),
    ("steepest-descent", {"num_reads": 200, "seed": 4}),
    ("STEEPEST_DESCENT", {"num_reads": 200, "seed": 4}),
    ("exact", {}),
    pytest.param("gpu", {"num_reads": 64, "num_sweeps": 500, "seed": 5}),
    pytest.param("cpu-annealer", {"num_reads": 64, "num_sweeps": 500, "seed": 6}),
]


@pytest.mark.parametrize("name,params", OFFLINE)
def test_offline_sampler_finds_ground_state(name, params):
    bqm = random_bqm()
    sampler, sample_params = S.sampler_from_config({"name": name, **params})
    assert isinstance(sampler, dimod.Sampler)
    sampleset = S.sample_bqm(sampler, bqm, **sample_params)
    assert isinstance(sampleset, dimod.SampleSet)
    assert sampleset.vartype is dimod.BINARY
    assert set(sampleset.variables) == set(bqm.variables)
    best = sampleset.first
    assert best.energy == pytest.approx(ground_energy(bqm))
    assert bqm.energy(best.sample) == pytest.approx(best.energy)
    assert "chain_break_summary" not in sampleset.info


def test_registry_has_required_names():
    for name in ("neal", "sa", "tabu", "steepest-descent", "exact", "gpu", "cpu-annealer", "qpu", "hybrid"):
        assert name in S.SAMPLERS


def test_neal_and_sa_are_simulated_annealing():
    from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver, TabuSampler

    assert isinstance(S.make_sampler("neal"), SimulatedAnnealingSampler)
    assert isinstance(S.make_sampler("sa"), SimulatedAnnealingSampler)
    assert isinstance(S.make_sampler("tabu"), TabuSampler)
    assert isinstance(S.make_sampler("steepest_descent"), SteepestDescentSolver)


def test_exact_refuses_large_problems():
    sampler = S.make_sampler("exact")
    with pytest.raises(ValueError, match=r"at most 20 variables.*has 21.*'neal'"):
        S.sample_bqm(sampler, random_bqm(21))
    small = S.make_sampler("exact", max_variables=3)
    with pytest.raises(ValueError, match="has 4"):
        small.sample(random_bqm(4))


def test_no_init_params_for_plain_samplers():
    with pytest.raises(S.SamplerInitError, match=r"takes no constructor parameters.*num_reads"):
        S.make_sampler("neal", num_reads=10)


def test_gpu_entries_pass_device():
    from qubo_bnn_solvers import IsingSampler

    gpu = S.make_sampler("gpu")
    cpu = S.make_sampler("cpu-annealer")
    assert isinstance(gpu, IsingSampler) and isinstance(cpu, IsingSampler)
    with pytest.raises(ValueError, match="cpu-annealer"):
        S.make_sampler("cpu-annealer", device="cuda")


# ------------------------------------------------------------------ errors


def test_unknown_name_lists_known():
    with pytest.raises(ValueError) as info:
        S.make_sampler("quantum-magic")
    msg = str(info.value)
    assert "quantum-magic" in msg
    for name in ("neal", "tabu", "exact", "qpu", "hybrid", "gpu"):
        assert name in msg


def test_bad_module_path():
    with pytest.raises(ImportError, match="no_such_module_xyz"):
        S.make_sampler("no_such_module_xyz:Sampler")
    with pytest.raises(ImportError, match="NoSuchClass"):
        S.make_sampler("dimod:NoSuchClass")
    with pytest.raises(ValueError, match="module:ClassName"):
        S.make_sampler("dimod:")


def test_module_path_must_be_a_sampler():
    with pytest.raises(TypeError, match=r"collections:OrderedDict.*not a dimod.Sampler"):
        S.make_sampler("collections:OrderedDict")
    with pytest.raises(TypeError, match="not a dimod.Sampler"):
        S.make_sampler("dimod:BinaryQuadraticModel")


def test_module_path_third_party_sampler():
    sampler = S.make_sampler("dimod:ExactSolver")
    assert isinstance(sampler, dimod.ExactSolver)
    bqm = random_bqm(4)
    assert S.sample_bqm(sampler, bqm).first.energy == pytest.approx(ground_energy(bqm))
    nested = S.make_sampler("dwave.samplers:SimulatedAnnealingSampler")
    assert type(nested).__name__ == "SimulatedAnnealingSampler"


def test_module_path_instance(monkeypatch):
    mod = types.ModuleType("fake_sampler_mod")
    mod.SAMPLER = dimod.RandomSampler()
    monkeypatch.setitem(sys.modules, "fake_sampler_mod", mod)
    assert S.make_sampler("fake_sampler_mod:SAMPLER") is mod.SAMPLER
    with pytest.raises(ValueError, match="instance"):
        S.make_sampler("fake_sampler_mod:SAMPLER", seed=1)


def test_unknown_sample_parameter_lists_accepted():
    sampler = S.make_sampler("neal")
    with pytest.raises(ValueError) as info:
        S.sample_bqm(sampler, random_bqm(), num_reeds=3)
    msg = str(info.value)
    assert "num_reeds" in msg and "num_reads" in msg and "num_sweeps" in msg
    with pytest.raises(ValueError, match=r"\(none\)"):
        S.sample_bqm(S.make_sampler("exact"), random_bqm(), num_reads=3)


class _PassThroughComposite(dimod.ComposedSampler):
    """A composite that (unlike EmbeddingComposite) does not list its child's parameters."""

    def __init__(self, child):
        self._children = [child]

    @property
    def children(self):
        return self._children

    @property
    def parameters(self):
        return {"extra": []}

    @property
    def properties(self):
        return {}

    def sample(self, bqm, extra=None, **kwargs):
        return self.child.sample(bqm, **kwargs)


def test_composite_accepts_child_parameters():
    sampler = _PassThroughComposite(S.make_sampler("neal"))
    bqm = random_bqm()
    sampleset = S.sample_bqm(sampler, bqm, extra=1, num_reads=30, seed=3)
    assert len(sampleset) == 30
    with pytest.raises(ValueError, match=r"num_reeds.*extra.*num_reads"):
        S.sample_bqm(sampler, bqm, num_reeds=3)


def test_token_key_rejected_without_echo():
    for table in (
        {"name": "qpu", "token": SECRET},
        {"name": "qpu", "init": {"token": SECRET}},
        {"name": "hybrid", "init": {"defaults": {"token": SECRET}}},
        {"name": "neal", "api_token": SECRET},
    ):
        with pytest.raises(ValueError) as info:
            S.split_sampler_config(table)
        assert SECRET not in str(info.value)
        assert "dwave setup" in str(info.value) and "DWAVE_API_TOKEN" in str(info.value)
    with pytest.raises(ValueError) as info:
        S.make_sampler("hybrid", token=SECRET)
    assert SECRET not in str(info.value)
    with pytest.raises(ValueError) as info:
        S.sample_bqm(S.make_sampler("neal"), random_bqm(), token=SECRET)
    assert SECRET not in str(info.value)


# ------------------------------------------------------------------ config splitting


def test_split_sampler_config():
    spec = S.split_sampler_config(
        {
            "name": "qpu",
            "num_reads": 100,
            "chain_strength": "uniform_torque_compensation",
            "embedding_parameters": {"timeout": 10, "random_seed": 1},
            "init": {"profile": "prod", "solver": "Advantage_system4.1", "region": "eu-central-1"},
        }
    )
    assert spec.name == "qpu"
    assert spec.init_params == {"profile": "prod", "solver": "Advantage_system4.1", "region": "eu-central-1"}
    assert spec.sample_params == {
        "num_reads": 100,
        "chain_strength": "uniform_torque_compensation",
        "embedding_parameters": {"timeout": 10, "random_seed": 1},
    }


def test_split_sampler_config_errors():
    with pytest.raises(ValueError, match="'name'"):
        S.split_sampler_config({"num_reads": 3})
    with pytest.raises(ValueError, match=r"\[sampler.init\]"):
        S.split_sampler_config({"name": "neal", "init": 3})
    with pytest.raises(ValueError, match=r"\['profile'\].*\[sampler.init\]"):
        S.split_sampler_config({"name": "qpu", "profile": "prod"})


# ------------------------------------------------------------------ Leap: credentials


@pytest.mark.parametrize("name", ["qpu", "hybrid"])
def test_missing_credentials_before_network(name, no_credentials, no_network, monkeypatch):
    import dwave.system

    def must_not_be_called(**kwargs):
        raise AssertionError("Leap sampler constructed without credentials")

    monkeypatch.setattr(dwave.system, "DWaveSampler", must_not_be_called)
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", must_not_be_called)
    with pytest.raises(S.LeapCredentialsError, match="dwave setup") as info:
        S.make_sampler(name)
    assert "DWAVE_API_TOKEN" in str(info.value)


def test_missing_profile_is_credentials_error(profile_config, no_network):
    with pytest.raises(S.LeapCredentialsError, match=r"'staging'.*dwave setup"):
        S.make_sampler("qpu", profile="staging")


def test_real_dwave_sampler_without_token_is_wrapped(no_credentials, no_network, monkeypatch):
    # Bypass our pre-check: the real DWaveSampler() must fail offline with our message too.
    from qubo_bnn import leap

    monkeypatch.setattr(leap, "_check_leap_credentials", lambda name, kwargs: None)
    with pytest.raises(S.LeapCredentialsError, match="dwave setup"):
        S.make_sampler("qpu")


def test_missing_leap_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dwave.system", None)
    with pytest.raises(ImportError, match=r"qubo-bnn\[leap\]"):
        S.make_sampler("qpu")
    with pytest.raises(ImportError, match=r"qubo-bnn\[leap\]"):
        S.make_sampler("hybrid")


# ------------------------------------------------------------------ Leap: QPU via MockDWaveSampler


def test_qpu_through_embedding_composite(mock_qpu, profile_config, no_network, caplog, capsys):
    from dwave.system import EmbeddingComposite

    caplog.set_level(logging.DEBUG)
    bqm = random_bqm()
    sampler, params = S.sampler_from_config(
        {
            "name": "qpu",
            "num_reads": 20,
            "chain_strength": {"name": "uniform_torque_compensation", "prefactor": 2.0},
            "embedding_parameters": {"timeout": 5, "random_seed": 7},
            "init": {"profile": "prod", "solver": "Advantage_system4.1"},
        }
    )
    assert isinstance(sampler, EmbeddingComposite)
    assert mock_qpu == [{"profile": "prod", "solver": "Advantage_system4.1"}]
    sampleset = S.sample_bqm(sampler, bqm, **params)
    assert sampleset.first.energy == pytest.approx(ground_energy(bqm))
    assert "chain_break_fraction" in sampleset.record.dtype.names
    summary = sampleset.info["chain_break_summary"]
    assert set(summary) >= {"mean", "max", "broken_sample_fraction", "num_chains", "chain_strength"}
    assert 0.0 <= summary["mean"] <= summary["max"] <= 1.0
    assert summary["num_chains"] == bqm.num_variables
    assert summary["chain_strength"] > 0
    embedding = sampleset.info["embedding_context"]["embedding"]
    assert set(embedding) == set(bqm.variables)
    out = capsys.readouterr()
    assert SECRET not in caplog.text + out.out + out.err + repr(sampler)


@pytest.mark.filterwarnings("ignore:.*not mocked in MockDWaveSampler:UserWarning")
def test_qpu_numeric_chain_strength(mock_qpu, profile_config, monkeypatch):
    monkeypatch.setenv("DWAVE_PROFILE", "prod")
    sampler = S.make_sampler("qpu")
    sampleset = S.sample_bqm(sampler, random_bqm(4), num_reads=5, chain_strength=3)
    assert sampleset.info["chain_break_summary"]["chain_strength"] == pytest.approx(3.0)
    assert sampleset.info["embedding_context"]["chain_strength"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="uniform_torque_compensation"):
        S.sample_bqm(sampler, random_bqm(4), chain_strength="strongest")
    with pytest.raises(ValueError, match="positive"):
        S.sample_bqm(sampler, random_bqm(4), chain_strength=-1.0)
    # composites accept child (QPU) parameters, and reject unknown ones
    S.sample_bqm(sampler, random_bqm(4), num_reads=3, annealing_time=20)
    with pytest.raises(ValueError, match="annealing_time"):
        S.sample_bqm(sampler, random_bqm(4), aneal_time=20)


# ------------------------------------------------------------------ Leap: hybrid with a fake client


def test_hybrid_with_fake_client(profile_config, fake_leap, caplog, capsys):
    from dwave.system import LeapHybridSampler

    calls = fake_leap
    caplog.set_level(logging.DEBUG)

    bqm = random_bqm()
    sampler, params = S.sampler_from_config(
        {"name": "hybrid", "time_limit": 5, "init": {"profile": "prod", "solver": "hybrid_binary_quadratic_model_version2"}}
    )
    assert isinstance(sampler, LeapHybridSampler)
    kind, kwargs = calls[0]
    assert kind == "from_config"
    assert kwargs["profile"] == "prod"
    assert kwargs["solver"] == "hybrid_binary_quadratic_model_version2"
    assert "token" not in kwargs

    sampleset = S.sample_bqm(sampler, bqm, **params)
    assert sampleset.first.energy == pytest.approx(ground_energy(bqm))
    kind, problem_id, sample_kwargs = calls[-1]
    assert kind == "sample_bqm" and sample_kwargs["time_limit"] == 5
    assert "chain_break_summary" not in sampleset.info

    with pytest.raises(ValueError, match="time_limit") as info:
        S.sample_bqm(sampler, bqm, num_reads=10)
    out = capsys.readouterr()
    assert SECRET not in caplog.text + out.out + out.err + repr(sampler) + str(info.value)


def test_leap_rejected_token_is_wrapped(profile_config, monkeypatch):
    import dwave.system
    from dwave.cloud.exceptions import SolverAuthenticationError

    def rejecting(**kwargs):
        raise SolverAuthenticationError("Invalid token or access denied")

    monkeypatch.setattr(dwave.system, "LeapHybridSampler", rejecting)
    with pytest.raises(S.LeapCredentialsError, match="rejected.*dwave setup") as info:
        S.make_sampler("hybrid", profile="prod")
    assert SECRET not in str(info.value)


def test_composites_own_unlisted_parameters_are_accepted():
    from dwave.preprocessing import SpinReversalTransformComposite

    sampler = SpinReversalTransformComposite(S.make_sampler("neal"))
    accepted = S.accepted_parameters(sampler)
    assert {"num_spin_reversal_transforms", "num_reads", "num_sweeps"} <= accepted
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): -2.0}, 0.0, "BINARY")
    ss = S.sample_bqm(sampler, bqm, num_spin_reversal_transforms=2, num_reads=2, num_sweeps=10, seed=1)
    assert len(ss) == 4 and ss.first.energy == -2.0
