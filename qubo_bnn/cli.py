"""``qubo-bnn`` command line: train from a TOML run file, export the training BQM, predict.

Examples (shell)::

    qubo-bnn train                                   # the packaged default run
    qubo-bnn train --config examples/configs/tabu.toml --n-train 50 --results-out r.json
    qubo-bnn train --sampler tabu --set sampler.timeout=50
    qubo-bnn export-bqm --config run.toml --out bqm.json
    qubo-bnn predict --model model.json --data test.csv
    qubo-bnn export --model model.json --format c --out model.h

``export-bqm`` writes ``bqm.to_serializable()`` as JSON (atomically); read it back with::

    import json, dimod
    with open("bqm.json") as fh:
        bqm = dimod.BinaryQuadraticModel.from_serializable(json.load(fh))

Standard output carries exactly one thing: the result lines, or the one document an option
sends to ``-`` (``--json``, ``--out -``, ``--results-out -``, ``--model-out -``); progress and
status lines go to standard error. ``--help`` and ``--version`` import nothing heavy (numpy,
dimod, scikit-learn, Numba are imported by the command handlers).

Exit status: 0 on success, 2 with a one-line ``error: ...`` on stderr for a bad config, data
file, sampler or missing Leap credentials (never showing a token), or a problem too large for
memory, 130 when interrupted.

Example:
    >>> main(["train", "--n-train", "12", "--set", "data.n_test=12", "--hidden", "1",
    ...       "--num-reads", "2", "--num-sweeps", "100", "--quiet"])  # doctest: +ELLIPSIS
    train accuracy: ...  test accuracy: ...
    ...
    0
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .ladder import LEXICOGRAPHIC   # a constant; qubo_bnn.ladder imports nothing heavy

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error style: one line ``error: ...`` on stderr, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {_one_line(message)} (see {self.prog} --help)\n")


def _int_list(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _classes(text: str) -> list[int] | str:
    return "all" if text.strip().lower() == "all" else _int_list(text)


def _penalty(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number or "auto", got {text!r}') from None


def _margin(text: str) -> float | str:
    if text.strip().lower() == LEXICOGRAPHIC:
        return LEXICOGRAPHIC
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number or "{LEXICOGRAPHIC}", got {text!r}') from None


def _set(text: str) -> tuple[str, Any]:
    from .config import parse_override

    try:
        return parse_override(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# option dest -> dotted config key
_PROBLEM_OPTIONS = {"n_train": "data.n_train", "classes": "data.classes",
                    "hidden": "network.hidden_layers", "margin": "regularisers.margin",
                    "penalty": "formulation.penalty", "dropout_rounds": "regularisers.dropout_rounds",
                    "binarize": "formulation.binarize", "multi_class": "formulation.multi_class",
                    "committee_size": "decoding.committee_size", "bootstrap": "decoding.bootstrap",
                    "seed": "seed"}
_TRAIN_OPTIONS = {"refine_sweeps": "decoding.refine_sweeps", "num_reads": "sampler.num_reads", "num_sweeps": "sampler.num_sweeps",
                  "model_out": "output.model", "results_out": "output.results"}


def build_parser() -> argparse.ArgumentParser:
    """The ``qubo-bnn`` argument parser (subcommands ``train``, ``export-bqm``, ``predict``, ``export``)."""
    parser = _Parser(
        prog="qubo-bnn",
        description="Train binary neural networks as one QUBO, sampled by any dimod sampler.",
        epilog="Run files are TOML; see qubo_bnn/configs/default.toml and examples/configs/.")
    parser.add_argument("--version", action="version", version=f"qubo-bnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    problem = _Parser(add_help=False)
    g = problem.add_argument_group("run file and overrides (command-line values win over the file)")
    g.add_argument("--config", metavar="FILE",
                   help="TOML run file (default: the packaged default.toml: digits 3 vs 8, "
                        "100 training images, hidden layer of 4, collapsed annealer on the default budget: "
                        "a bag of 64 one-read members x 125 sweeps)")
    g.add_argument("--n-train", type=int, metavar="N", help="training set size ([data] n_train)")
    g.add_argument("--classes", type=_classes, metavar="C1,C2,...|all",
                   help="classes to keep, e.g. 3,8 ([data] classes)")
    g.add_argument("--hidden", type=_int_list, metavar="W1,W2,...",
                   help="dense hidden layer widths, e.g. 4,4; 'none' for no hidden layer "
                        "([network] hidden_layers)")
    g.add_argument("--margin", type=_margin, metavar=f"MU|{LEXICOGRAPHIC}",
                   help=f"margin reward mu, or {LEXICOGRAPHIC}: the largest that never trades a training "
                        "error for margin ([regularisers] margin)")
    g.add_argument("--penalty", type=_penalty, metavar="A|auto",
                   help="constraint penalty A ([formulation] penalty)")
    g.add_argument("--binarize", metavar="SPEC",
                   help="real-valued features to bits: median, mean, quantile:K or uniform:K, thresholds "
                        "learnt on the training data ([formulation] binarize)")
    g.add_argument("--multi-class", choices=("ovr", "ovo"),
                   help="several classes: one output per class, or one network per pair ([formulation] multi_class)")
    g.add_argument("--committee-size", type=int, metavar="K",
                   help="predict by the vote of K members ([decoding] committee_size)")
    g.add_argument("--bootstrap", action="store_const", const=True, default=None,
                   help="bag the committee: each of its K members fitted to a bootstrap resample of the "
                        "training set, the reads shared among them ([decoding] bootstrap; default "
                        "\"auto\": bagged on the default budget with the collapsed annealer on the CPU)")
    g.add_argument("--no-bootstrap", dest="bootstrap", action="store_const", const=False,
                   help="one sampler call, its best distinct reads as the committee ([decoding] bootstrap = false)")
    g.add_argument("--dropout-rounds", type=int, metavar="N",
                   help="dropout-inspired rounds, 0 disables ([regularisers] dropout_rounds)")
    g.add_argument("--seed", type=int, metavar="N", help="run seed (top-level seed)")
    g.add_argument("--set", dest="sets", type=_set, action="append", default=[], metavar="KEY=VALUE",
                   help="set any dotted key, VALUE read as TOML (a bare word is a string), e.g. "
                        "--set sampler.init.profile=prod --set data.n_test=50; repeatable, applied last")

    t = sub.add_parser("train", parents=[problem], help="train a BNN and report train/test accuracy",
                       description="Train a BNN from a run file; print progress, accuracies, QUBO size "
                                   "and timings.")
    s = t.add_argument_group("sampler and output")
    s.add_argument("--sampler", metavar="NAME",
                   help="sampler registry name (collapsed, neal, tabu, gpu, cpsat, qpu, hybrid, ...) or module:Class; "
                        "a different name than the file's drops the file's [sampler] parameters "
                        "and [sampler.init] (they belong to the other sampler)")
    s.add_argument("--num-reads", type=int, metavar="N", help="[sampler] num_reads")
    s.add_argument("--refine-sweeps", type=int, metavar="N",
                   help="samplers other than collapsed: collapsed-annealing sweeps from their reads, "
                        "0 keeps the raw reads ([decoding] refine_sweeps)")
    s.add_argument("--num-sweeps", type=int, metavar="N", help="[sampler] num_sweeps")
    s.add_argument("--model-out", metavar="PATH",
                   help="write the fitted model as JSON ([output] model); - for stdout")
    s.add_argument("--results-out", metavar="PATH",
                   help="write accuracies, QUBO size, timings and the effective config as JSON "
                        "([output] results); - for stdout")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    s.add_argument("--json", action="store_true",
                   help="print the results document (JSON) on stdout instead of the two summary lines")
    t.set_defaults(handler=_cmd_train)

    e = sub.add_parser("export-bqm", parents=[problem], help="write the training BQM (dimod JSON or file format)",
                       description="Build the training BQM of the configured data, network and "
                                   "formulation (dropout penalties excluded) and write it atomically: "
                                   "--format json writes bqm.to_serializable() (load with "
                                   "dimod.BinaryQuadraticModel.from_serializable(json.load(f))); "
                                   "--format bqm writes dimod's binary file format, bqm.to_file() "
                                   "(load with dimod.BinaryQuadraticModel.from_file(f); what "
                                   "`dwave upload` takes).")
    e.add_argument("--out", required=True, metavar="PATH",
                   help="output file; - for standard output (then the status line goes to stderr)")
    e.add_argument("--format", choices=("json", "bqm"), default="json",
                   help="json (dimod serializable) or bqm (dimod file format)")
    e.set_defaults(handler=_cmd_export_bqm)

    p = sub.add_parser("predict", help="predict with a saved model (labelled or unlabelled data)",
                       description="Load a model saved by `train --model-out` and predict a .csv or "
                                   ".npz file, or CSV on standard input (--data -). Labelled or not is "
                                   "told by the shape: a CSV with as many columns as the model has "
                                   "features is unlabelled, one more column is the label (last); an "
                                   ".npz holds X and, when labelled, y. A first CSV row whose features "
                                   "are not numbers is a header. Unlabelled: prints one prediction per "
                                   "line. Labelled: prints the accuracy (and, with --print-predictions, "
                                   "the predictions first).")
    p.add_argument("--model", required=True, metavar="PATH", help="model JSON file")
    p.add_argument("--data", required=True, metavar="FILE|-",
                   help=".csv or .npz data file; - reads CSV (or .npz bytes) from standard input")
    p.add_argument("--print-predictions", action="store_true",
                   help="labelled data: also print one prediction per line")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document instead: predictions, and accuracy when labelled")
    p.set_defaults(handler=_cmd_predict)

    x = sub.add_parser("export", help="export a saved model: packed .npz, C header or a summary",
                       description="Load a model saved by `train --model-out` and write it for "
                                   "deployment (qubo_bnn.deploy): npz, the bit-packed weights read by "
                                   "qubo_bnn.predictor; c, a C99 header with an XNOR-popcount forward "
                                   "pass; summary, a per-layer table of its size. Written atomically.")
    x.add_argument("--model", required=True, metavar="PATH", help="model JSON file")
    x.add_argument("--format", required=True, choices=("npz", "c", "summary"), help="what to write")
    x.add_argument("--out", default="-", metavar="PATH",
                   help="output file; - (the default) for standard output, which refuses npz "
                        "when it is a terminal")
    x.set_defaults(handler=_cmd_export)
    return parser


def _overrides(args: argparse.Namespace, options: dict[str, str]) -> list[tuple[str, Any]]:
    out = [(key, getattr(args, dest)) for dest, key in options.items()
           if getattr(args, dest, None) is not None]
    return out + list(args.sets)


def _config_from_args(args: argparse.Namespace, options: dict[str, str]) -> RunConfig:
    from .config import load_config

    overrides = _overrides(args, options)
    name = getattr(args, "sampler", None)
    if name is not None:
        base = load_config(args.config)
        # a new sampler starts from a fresh table: the file's parameters belong to the old one
        first = ("sampler.name", name) if name.strip() == base.sampler_name else ("sampler", {"name": name})
        overrides.insert(0, first)
    return load_config(args.config, overrides)


# --------------------------------------------------------------------------- commands


def _cmd_train(args: argparse.Namespace) -> int:
    from .jobs import train

    cfg = _config_from_args(args, {**_PROBLEM_OPTIONS, **_TRAIN_OPTIONS})
    to_stdout = [p for p in (cfg.output.model, cfg.output.results) if p == "-"]
    if args.json and cfg.output.model == "-":
        raise ValueError("--json and --model-out - would both write to standard output; "
                         "write the model to a file")
    _, res = train(cfg, verbose=not args.quiet)
    if args.json and cfg.output.results == "-":
        return 0                                  # the results document is already on stdout
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    t = res["timings"]
    out = sys.stderr if to_stdout else sys.stdout   # stdout holds the one document
    print(f"train accuracy: {res['train_accuracy']:.3f}  test accuracy: {res['test_accuracy']:.3f}", file=out)
    members = res["fit_info"].get("committee_size") if res["fit_info"].get("bootstrap") else None
    each = "" if members is None else f"bagged, {members} members; first member's "
    summed = "" if members is None else " summed over the members"
    print(f"{each}QUBO: {res['num_variables']} variables, {res['num_interactions']} couplings; "
          f"build {t['build_seconds']:.2f} s, sampling {t['sample_seconds']:.2f} s{summed}, "
          f"total {t['total_seconds']:.2f} s", file=out)
    return 0


def _cmd_export_bqm(args: argparse.Namespace) -> int:
    from .jobs import export_bqm

    cfg = _config_from_args(args, _PROBLEM_OPTIONS)
    bqm = export_bqm(cfg, args.out, args.format)
    kind = "dimod serializable JSON" if args.format == "json" else "dimod BQM file format"
    print(f"wrote {args.out}: {bqm.num_variables} variables, {bqm.num_interactions} couplings ({kind})",
          file=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .jobs import predict

    doc = predict(args.model, args.data)
    if doc.get("unknown_labels"):
        print(f"[qubo-bnn] note: labels {doc['unknown_labels'][:5]} are none of the model's classes; "
              "they count as errors", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    if not doc["labelled"] or args.print_predictions:
        sys.stdout.write("".join(f"{p}\n" for p in doc["predictions"]))
    if doc["labelled"]:
        print(f"accuracy: {doc['accuracy']:.3f} ({doc['n_samples']} samples)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .classifier import BNNClassifier
    from .io import atomic_write_text, check_output_path

    if args.format == "npz" and args.out == "-" and getattr(sys.stdout, "isatty", lambda: False)():
        raise ValueError("--format npz writes binary data: give --out FILE or redirect standard output")
    check_output_path(args.out)
    clf = BNNClassifier.load(args.model)
    if args.format == "summary":
        atomic_write_text(args.out, _summary_text(clf))
    else:
        from .deploy import export_model

        export_model(clf, args.out, args.format)
    if args.out != "-":
        print(f"wrote {args.out} ({args.format})")
    return 0


def _summary_text(clf: Any) -> str:
    """:func:`qubo_bnn.deploy.summary` of a fitted classifier, ending in a newline."""
    from .deploy import summary

    return summary(clf).rstrip("\n") + "\n"


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_TOO_LARGE = ("reduce the training set (data.n_train), the network (network.hidden_layers) "
              "or the sampler's reads (sampler.num_reads)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qubo-bnn`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:  # config, data, credentials, output
        print(f"error: {_one_line(exc)}", file=sys.stderr)
    except RecursionError:
        print("error: input nested too deeply (a run file, model or data file); simplify it", file=sys.stderr)
    except MemoryError:
        print(f"error: out of memory; {_TOO_LARGE}", file=sys.stderr)
    except OverflowError as exc:
        print(f"error: a number is too large ({_one_line(exc)}); {_TOO_LARGE}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
