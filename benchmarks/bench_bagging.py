"""Wall time of the default (bagged) fit against one call, and of its members on threads against in turn.

    python benchmarks/bench_bagging.py [--repeats 3] [--tasks digits4-3v8,mnist7-3v5,mnist14-3v5] [--n 200]

One process, one input per task (a stratified split of ``--n`` training rows, seed 0; the default
task ``digits4-3v8`` always uses its own 100). Times, after an untimed warm-up fit of each setting
(Numba compiles or loads its kernels once), the median of ``--repeats`` fits of:

* ``unbagged``   -- ``BNNClassifier(hidden_layer_sizes=(4,), random_state=0, bootstrap=False)``
  (binary_tasks' hidden width and settings, ``METHODS``): one call of 16 reads x 500 sweeps, the
  reads in parallel over the CPU's cores (the reference: the default until the bag);
* ``default``    -- ``bootstrap="auto"``: on these tasks 64 one-read calls of 125 sweeps on
  bootstrap resamples (the same read-sweeps), run on one thread per core (``n_jobs=None``,
  :func:`qubo_bnn.classifier.member_threads`);
* ``in turn``    -- the same with ``n_jobs=1``: the members one after another.

Prints each time, the ratios default / unbagged and in turn / default, and the test accuracies
(the same for both bagged runs: the members do not depend on how they are run).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from binary_tasks import HIDDEN, METHODS, load_task, split  # noqa: E402

SETTINGS = {"unbagged": METHODS["unbagged"], "default": METHODS["default"],
            "in turn": {**METHODS["default"], "n_jobs": 1}}
"""binary_tasks' settings, so both benchmarks time and score the same estimators."""


def timed(params: dict, data, hidden: int) -> tuple[float, float]:
    from qubo_bnn import BNNClassifier

    Xtr, Xte, ytr, yte = data
    clf = BNNClassifier(hidden_layer_sizes=(hidden,), random_state=0, **params)
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr)
    return time.perf_counter() - t0, float((clf.predict(Xte) == yte).mean())


class Parser(argparse.ArgumentParser):
    def error(self, message: str):          # one line, exit status 2
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None) -> int:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="digits4-3v8,mnist7-3v5,mnist14-3v5")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.n < 4:
        p.error("--repeats must be >= 1 and --n >= 4")
    print(f"{os.cpu_count()} CPU cores; median of {args.repeats} fits after a warm-up fit of each setting")
    for task in args.tasks.split(","):
        try:
            X, y, binarise = load_task(task)
        except (ImportError, ValueError, KeyError) as exc:
            print(f"{task}: skipped ({exc})")
            continue
        n = 100 if task.startswith("digits4") else args.n
        data, hidden = split(X, y, binarise, n, 0, 2000), HIDDEN[task.split("-")[0]]
        warm = (data[0][: max(4, n // 5)], data[1], data[2][: max(4, n // 5)], data[3])
        times, acc = {}, {}
        for name, params in SETTINGS.items():
            timed(params, warm, hidden)
            runs = [timed(params, data, hidden) for _ in range(args.repeats)]
            times[name], acc[name] = statistics.median(t for t, _ in runs), runs[0][1]
        print(f"{task}, n = {n}: unbagged {times['unbagged']:.2f} s (test {acc['unbagged']:.3f}); "
              f"default (bagged) {times['default']:.2f} s (test {acc['default']:.3f}), "
              f"{times['default'] / times['unbagged']:.2f}x the unbagged fit; members in turn "
              f"{times['in turn']:.2f} s, {times['in turn'] / times['default']:.2f}x the threaded run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
