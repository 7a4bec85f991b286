"""Shared fixtures: Leap credentials isolated from the machine, a mocked QPU."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/oracles.py

DWAVE_ENV = ("DWAVE_API_TOKEN", "DWAVE_PROFILE", "DWAVE_API_SOLVER", "DWAVE_API_REGION")


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
