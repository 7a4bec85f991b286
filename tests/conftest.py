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
