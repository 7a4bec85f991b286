"""Ctrl-C during sampling is answered within about a second, whatever the sampler."""
import os
import signal
import threading
import time

import dimod
import numpy as np
import pytest

from qubo_bnn import Network, TrainingQUBO
from qubo_bnn.collapsed import CollapsedSampler
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.samplers import make_sampler, sample_bqm

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")


def _ring(n=3000):
    return dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)},
                                      {(i, (i + 1) % n): (-1.0) ** i for i in range(n)}, 0.0, "SPIN")


def _interrupted_after(seconds, call):
    """Seconds until ``call()`` raised KeyboardInterrupt, SIGINT being sent after ``seconds``.

    Python's own SIGINT handler is installed for the call: a process started in the background
    (as CI may be) can inherit SIGINT ignored or at its default, terminating action.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        return time.perf_counter() - t0
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_native_sampler_is_interruptible_through_sample_bqm():
    # neal alone would run ~3 s here and answer Ctrl-C only at its end
    elapsed = _interrupted_after(0.3, lambda: sample_bqm(make_sampler("neal"), _ring(), num_reads=8,
                                                         num_sweeps=4000, seed=0))
    assert elapsed < 1.5     # the whole call takes ~2 s


@pytest.mark.parametrize("name", ["cpu-annealer", "collapsed"])
def test_bundled_samplers_answer_between_chunks(name):
    if name == "collapsed":
        X, _, y, _ = load_digits_task(classes=(3, 8), pool=False, n_train=200)
        bqm = TrainingQUBO(Network(64).dense(4).dense(1), X, (y == 8).astype(int)).to_bqm()
        sampler, params = CollapsedSampler(), {"num_reads": 4, "num_sweeps": 3000}
    else:
        bqm, sampler, params = _ring(), make_sampler(name), {"num_reads": 8, "num_sweeps": 20000}
    sampler.sample(bqm, **{**params, "num_sweeps": 1}, seed=0)       # compile outside the timing
    elapsed = _interrupted_after(0.5, lambda: sample_bqm(sampler, bqm, **params, seed=0))
    assert elapsed < 2.0     # the whole calls take ~5 s


def test_chunked_ising_schedule_gives_the_same_samples(monkeypatch):
    import solvers.sampler as ising

    bqm = _ring(200)
    runs = []
    for flips in (1, 10**12):                     # one sweep per call / one call
        monkeypatch.setattr(ising, "CHUNK_FLIPS", flips)
        runs.append(make_sampler("cpu-annealer").sample(bqm, num_reads=3, num_sweeps=50, seed=4))
    assert np.array_equal(runs[0].record.sample, runs[1].record.sample)


class _Terminal:
    """A stderr stand-in that says it is a terminal (progress bars show only on terminals)."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_shown_on_a_terminal_for_every_kind_of_sampler(monkeypatch):
    bqm = _ring(300)
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    sample_bqm(make_sampler("neal"), bqm, show_progress=True, num_reads=2, num_sweeps=2000, seed=0)
    assert "sampling with SimulatedAnnealingSampler" in term.text          # elapsed time, worker
    make_sampler("cpu-annealer").sample(bqm, num_reads=2, num_sweeps=50, seed=0, progress=True)
    assert "annealing" in term.text.replace("sampling with", "")
    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    sample_bqm(make_sampler("neal"), bqm, num_reads=2, num_sweeps=50, seed=0)
    make_sampler("cpu-annealer").sample(bqm, num_reads=2, num_sweeps=50, seed=0)
    assert quiet.text == ""
