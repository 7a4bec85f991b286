"""Ctrl-C during sampling stops the run, whatever the sampler: KeyboardInterrupt in Python,
exit status 130 from the CLI, no output written, earlier state intact.

Only the outcome is asserted, never how fast it came (machine load must not fail a test): the
SIGINT is sent once the run has visibly started, and the wait for its end is long. The time from
SIGINT to exit is measured by benchmarks/bench_interrupts.py.
"""
import os
import signal
import subprocess
import sys
import threading

import dimod
import numpy as np
import pytest

from qubo_bnn import BNNClassifier, Network, TrainingQUBO
from qubo_bnn.collapsed import CollapsedSampler
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.samplers import make_sampler, sample_bqm

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")

PATIENCE = 600
"""Seconds to wait for a started run or an exit: only a hang should ever reach it."""


def _ring(n=3000):
    return dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)},
                                      {(i, (i + 1) % n): (-1.0) ** i for i in range(n)}, 0.0, "SPIN")


def _interrupt_once(started, call):
    """Run ``call()`` with SIGINT sent to this process as soon as ``started`` is set; the call
    must end in KeyboardInterrupt.

    Python's own SIGINT handler is installed for the call: a process started in the background
    (as CI may be) can inherit SIGINT ignored or at its default, terminating action.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=lambda: started.wait(PATIENCE) and os.kill(os.getpid(), signal.SIGINT))
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)


def _watch_sweeps(monkeypatch):
    """The bundled samplers report each finished chunk of sweeps to their progress bar (even a
    disabled one): record the sweeps done, and set the returned event at the first chunk."""
    import tqdm.auto

    started, done = threading.Event(), []

    class Watched(tqdm.auto.tqdm):
        def update(self, n=1):
            done.append(n)
            started.set()
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Watched)
    return started, done


def test_native_sampler_is_interruptible_through_sample_bqm():
    # neal answers Ctrl-C only at its end; sample_bqm runs it in a worker thread and answers at once
    sampler = make_sampler("neal")
    started, finished = threading.Event(), threading.Event()
    original = sampler.sample

    def announcing_sample(*args, **kwargs):
        started.set()
        try:
            return original(*args, **kwargs)
        finally:
            finished.set()

    sampler.sample = announcing_sample
    _interrupt_once(started, lambda: sample_bqm(sampler, _ring(), num_reads=8, num_sweeps=4000, seed=0))
    assert not finished.is_set()          # the interrupt did not wait for neal to finish
    finished.wait(PATIENCE)               # (neal goes on in the background; let it end here)


@pytest.mark.parametrize("name", ["cpu-annealer", "collapsed"])
def test_bundled_samplers_stop_between_chunks(name, monkeypatch):
    if name == "collapsed":
        X, _, y, _ = load_digits_task(classes=(3, 8), pool=False, n_train=200)
        bqm = TrainingQUBO(Network(64).dense(4).dense(1), X, (y == 8).astype(int)).to_bqm()
        sampler, params = CollapsedSampler(), {"num_reads": 4, "num_sweeps": 100_000}
    else:
        bqm, sampler, params = _ring(), make_sampler(name), {"num_reads": 8, "num_sweeps": 200_000}
    sampler.sample(bqm, **{**params, "num_sweeps": 1}, seed=0)       # compile first
    started, done = _watch_sweeps(monkeypatch)
    _interrupt_once(started, lambda: sample_bqm(sampler, bqm, **params, seed=0))
    assert 0 < sum(done) < params["num_sweeps"]       # stopped between chunks, not at the end


def test_interrupted_refit_keeps_the_fitted_model(monkeypatch):
    X, y = np.array([[0, 1], [1, 0], [1, 1], [0, 0]]), np.array([1, 0, 1, 0])
    clf = BNNClassifier(Network(2).dense(1), sampler="collapsed",
                        sampler_params={"num_reads": 2, "num_sweeps": 50}, random_state=0).fit(X, y)
    fitted = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    weights, predictions = clf.weights_.copy(), clf.predict(X)
    started, _ = _watch_sweeps(monkeypatch)
    clf.set_params(sampler_params={"num_reads": 2, "num_sweeps": 10**7})
    _interrupt_once(started, lambda: clf.fit(X, y))
    assert {k: v for k, v in vars(clf).items() if k.endswith("_")}.keys() == fitted.keys()
    assert all(getattr(clf, k) is v for k, v in fitted.items())        # no fitted attribute replaced
    assert (clf.weights_ == weights).all() and (clf.predict(X) == predictions).all()


def test_cli_exits_130_and_writes_nothing(tmp_path):
    model, results = tmp_path / "model.json", tmp_path / "results.json"
    model.write_text("the model of an earlier run")
    cmd = [sys.executable, "-m", "qubo_bnn.cli", "train", "--sampler", "collapsed", "--num-reads", "2",
           "--num-sweeps", "2000000", "--model-out", str(model), "--results-out", str(results)]
    # a handled (not ignored) SIGINT here is reset to its default action in the child, so its
    # Python installs the KeyboardInterrupt handler, as at a terminal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        seen = []
        for line in child.stderr:                         # blocks until the run reports progress
            seen.append(line)
            if "sampling with CollapsedSampler" in line:
                break
        assert "sampling with CollapsedSampler" in seen[-1], "".join(seen)
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=PATIENCE)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, "".join(seen) + rest
    assert rest.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in rest
    assert sorted(os.listdir(tmp_path)) == ["model.json"]                 # no results, no temp file
    assert model.read_text() == "the model of an earlier run"


def test_chunked_ising_schedule_gives_the_same_samples(monkeypatch):
    import qubo_bnn_solvers.sampler as ising

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
