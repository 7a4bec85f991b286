"""Shared fixtures: Leap credentials isolated from the machine, a mocked QPU."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/oracles.py

DWAVE_ENV = ("DWAVE_API_TOKEN", "DWAVE_PROFILE", "DWAVE_API_SOLVER", "DWAVE_API_REGION")
SECRET = "DEV-0123456789abcdef-SECRET-TOKEN"
"""A fake Leap token: tests assert it never appears in output, logs or errors."""


@pytest.fixture
def profile_config(tmp_path, monkeypatch):
    """A dwave.conf with a 'prod' profile holding the fake token; no DWAVE_* variables."""
    conf = tmp_path / "dwave.conf"
    conf.write_text(f"[prod]\ntoken = {SECRET}\n")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(conf))
    for var in DWAVE_ENV:
        monkeypatch.delenv(var, raising=False)
    return conf


@pytest.fixture
def fake_token(profile_config, monkeypatch):
    """``profile_config`` selected as the default profile (DWAVE_PROFILE=prod)."""
    monkeypatch.setenv("DWAVE_PROFILE", "prod")
    return profile_config


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """An empty dwave.conf and no DWAVE_* variables: no Leap token anywhere."""
    empty = tmp_path / "dwave.conf"
    empty.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty))
    for var in DWAVE_ENV:
        monkeypatch.delenv(var, raising=False)
    return empty


@pytest.fixture
def mock_qpu(monkeypatch):
    """``dwave.system.DWaveSampler`` replaced by an offline MockDWaveSampler; records its kwargs."""
    import dwave.system
    from dwave.system.testing import MockDWaveSampler

    calls: list[dict] = []

    def fake_dwave_sampler(**kwargs):
        calls.append(kwargs)
        return MockDWaveSampler(topology_type="chimera", topology_shape=[4, 4, 4])

    monkeypatch.setattr(dwave.system, "DWaveSampler", fake_dwave_sampler)
    return calls


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class FakeHybridSolver:
    """The SAPI side of a Leap hybrid solver (BQM and CQM), offline: dimod's exact solvers on
    the uploaded problem. Records ``(method, problem_id, kwargs)`` in ``calls``."""

    def __init__(self, calls):
        self.calls = calls
        self.properties = {
            "category": "hybrid",
            "parameters": {"time_limit": "", "label": ""},
            "minimum_time_limit": [[1, 3.0], [1024, 3.0], [4096, 10.0]],   # BQM solver
            "minimum_time_limit_s": 5.0,                                    # CQM solver
            "maximum_number_of_constraints": 100_000,
            "maximum_number_of_variables": 500_000,
            "maximum_number_of_biases": 2_000_000_000,
            "maximum_number_of_quadratic_variables": 200_000,
        }
        self.supported_problem_types = ["bqm", "cqm"]
        self._problem = None

    def _upload(self, fv, model, problem_id):
        import concurrent.futures

        fv.seek(0)
        self._problem = model.from_file(fv)
        fut = concurrent.futures.Future()
        fut.set_result(problem_id)
        return fut

    def upload_bqm(self, fv):
        import dimod

        return self._upload(fv, dimod.BinaryQuadraticModel, "problem-1")

    def upload_problem(self, fv):
        import dimod

        return self._upload(fv, dimod.ConstrainedQuadraticModel, "problem-7")

    def sample_bqm(self, problem_id, **kwargs):
        import types

        import dimod

        self.calls.append(("sample_bqm", problem_id, kwargs))
        return types.SimpleNamespace(sampleset=dimod.ExactSolver().sample(self._problem))

    def sample_cqm(self, problem_id, **kwargs):
        import types

        import dimod

        self.calls.append(("sample_cqm", problem_id, kwargs))
        ss = dimod.ExactCQMSolver().sample_cqm(self._problem)
        ss.info["problem_id"] = problem_id
        return types.SimpleNamespace(sampleset=ss)


@pytest.fixture
def fake_leap(monkeypatch, no_network):
    """Leap's ``Client.from_config`` replaced by an offline client whose solver is a
    :class:`FakeHybridSolver`; returns the call log (``("from_config", kwargs)`` first)."""
    import types

    from dwave.cloud.client import Client

    calls: list = []

    def fake_from_config(cls, **kwargs):
        calls.append(("from_config", kwargs))
        return types.SimpleNamespace(get_solver=lambda: FakeHybridSolver(calls), close=lambda: None)

    monkeypatch.setattr(Client, "from_config", classmethod(fake_from_config))
    return calls
