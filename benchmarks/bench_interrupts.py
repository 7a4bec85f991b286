"""Time from Ctrl-C (SIGINT) to the end of the run, for each bundled way of sampling.

tests/test_interrupts.py checks that SIGINT stops every run (and writes nothing); this measures
how fast. Each run is started, SIGINT is sent ``--after`` seconds after the sampler has visibly
started (its first chunk of sweeps is done, or the native sampler has been called), and the time
from the signal to the KeyboardInterrupt (to the exit, for the CLI) is printed, per repeat.

* ``neal``: dwave-samplers' SimulatedAnnealingSampler through ``sample_bqm`` (run in a worker
  thread; the caller answers at once while neal finishes in the background);
* ``cpu-annealer``: the bundled IsingSampler (checks between chunks of ~CHUNK_FLIPS flips);
* ``collapsed``: the collapsed annealer (chunks of ~CHUNK_SECONDS);
* ``cli``: ``qubo-bnn train --sampler collapsed`` in a subprocess, to its exit status 130.

Example::

    python benchmarks/bench_interrupts.py --repeats 3
    python benchmarks/bench_interrupts.py --only collapsed,cli --after 1.0
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import dimod

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qubo_bnn import Network, TrainingQUBO  # noqa: E402
from qubo_bnn.collapsed import CollapsedSampler  # noqa: E402
from qubo_bnn.datasets import load_digits_task  # noqa: E402
from qubo_bnn.samplers import make_sampler, sample_bqm  # noqa: E402

KINDS = ("neal", "cpu-annealer", "collapsed", "cli")


def ring(n: int = 3000) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)},
                                      {(i, (i + 1) % n): (-1.0) ** i for i in range(n)}, 0.0, "SPIN")


def interrupt_latency(started: threading.Event, call, after: float) -> float:
    """Seconds from SIGINT (sent ``after`` s past ``started``) to ``call()``'s KeyboardInterrupt."""
    sent: list[float] = []

    def send() -> None:
        started.wait()
        time.sleep(after)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        call()
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)
    raise RuntimeError("the run ended before the interrupt: make it longer")


def watch_first_chunk() -> threading.Event:
    """An event set when a bundled sampler reports its first chunk to its progress bar."""
    import tqdm.auto

    started = threading.Event()
    base = tqdm.auto.tqdm

    class Watched(base):
        def update(self, n=1):
            started.set()
            return super().update(n)

    tqdm.auto.tqdm = Watched
    return started


def in_process(kind: str, after: float) -> float:
    import tqdm.auto

    original_tqdm = tqdm.auto.tqdm
    try:
        if kind == "neal":
            sampler, started, finished = make_sampler("neal"), threading.Event(), threading.Event()
            sample = sampler.sample

            def announcing(*args, **kwargs):
                started.set()
                try:
                    return sample(*args, **kwargs)
                finally:
                    finished.set()

            sampler.sample = announcing
            bqm, params = ring(), {"num_reads": 8, "num_sweeps": 4000}
            try:
                return interrupt_latency(started, lambda: sample_bqm(sampler, bqm, **params, seed=0), after)
            finally:
                finished.wait()           # neal goes on in the background: not during the next run
        elif kind == "cpu-annealer":
            sampler, bqm, params = make_sampler(kind), ring(), {"num_reads": 8, "num_sweeps": 200_000}
        else:
            X, _, y, _ = load_digits_task(classes=(3, 8), pool=False, n_train=200)
            bqm = TrainingQUBO(Network(64).dense(4).dense(1), X, (y == 8).astype(int)).to_bqm()
            sampler, params = CollapsedSampler(), {"num_reads": 4, "num_sweeps": 100_000}
        sampler.sample(bqm, **{**params, "num_sweeps": 1}, seed=0)     # compile first
        started = watch_first_chunk()
        return interrupt_latency(started, lambda: sample_bqm(sampler, bqm, **params, seed=0), after)
    finally:
        tqdm.auto.tqdm = original_tqdm


def cli(after: float) -> float:
    cmd = [sys.executable, "-m", "qubo_bnn.cli", "train", "--sampler", "collapsed", "--num-reads", "2",
           "--num-sweeps", "2000000"]
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # the child gets SIG_DFL
    try:
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    for line in child.stderr:
        if "sampling with CollapsedSampler" in line:
            break
    time.sleep(after)
    t0 = time.perf_counter()
    child.send_signal(signal.SIGINT)
    child.communicate()
    elapsed = time.perf_counter() - t0
    if child.returncode != 130:
        raise RuntimeError(f"the CLI exited with {child.returncode}, not 130")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--after", type=float, default=0.5,
                        help="seconds between the visible start and SIGINT (default 0.5)")
    parser.add_argument("--only", default=",".join(KINDS), help=f"comma-separated subset of {KINDS}")
    args = parser.parse_args()
    kinds = [k for k in args.only.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs; SIGINT {args.after} s after the start")
    print(f"{'run':<14} {'median ms':>9} {'max ms':>7}  each (ms)")
    for kind in kinds:
        times = [cli(args.after) if kind == "cli" else in_process(kind, args.after) for _ in range(args.repeats)]
        ms = [1000 * t for t in times]
        print(f"{kind:<14} {statistics.median(ms):9.1f} {max(ms):7.1f}  " + " ".join(f"{t:.1f}" for t in ms),
              flush=True)


if __name__ == "__main__":
    main()
