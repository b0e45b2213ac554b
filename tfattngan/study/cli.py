"""`python -m tfattngan.study`: list the studies, run one into a folder, rebuild its report.

Example:

    python -m tfattngan.study list
    python -m tfattngan.study run sagan-div-table3 --out studies/table3 \\
        --dataset fashion-mnist=idx:data/fashion-mnist --only '*fashion-mnist' --steps 300 --eval-samples 2000 \\
        --weights fid_inception_v3_weights.npz
    python -m tfattngan.study report studies/table3
"""

import argparse
import dataclasses
import json
import pathlib
import sys

from tfattngan.atomic_files import write_text_atomically
from tfattngan.cli import ArgumentParser
from tfattngan.cli import positive_int
from tfattngan.cli import progress_stream
from tfattngan.cli import run_tool
from tfattngan.errors import UserInputError
from tfattngan.study.catalog import STUDIES
from tfattngan.study.catalog import get_study
from tfattngan.study.results import STUDY_FILE
from tfattngan.study.row import RowPlan

PROG = "python -m tfattngan.study"


def build_parser():
    """The argument parser of `python -m tfattngan.study` (`list`, `run`, `report`).

    Example:

    >>> build_parser().parse_args(["run", "sagan-celeba", "--out", "s", "--steps", "5"]).steps
    5
    """
    parser = ArgumentParser(prog=PROG, description="Re-run a paper's table: train every row's recipe, evaluate "
                            "it as the paper did, and set this run's numbers beside the paper's.")
    commands = parser.add_subparsers(dest="command", metavar="{list,run,report}")
    commands.required = True
    commands.add_parser("list", help="list the studies and their source tables")
    run = commands.add_parser("run", help="train and evaluate every row of a study into --out (resumable)",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="Each row trains into OUT/RECIPE (a normal run directory). Running the same "
                              "command again skips finished rows and resumes unfinished ones.")
    run.add_argument("study", help="study name (python -m tfattngan.study list)")
    run.add_argument("--out", required=True, help="the study folder")
    run.add_argument("--dataset", action="append", default=[], metavar="[NAME=]SPEC",
                     help="data for every row (SPEC) or for the rows of one paper data set (e.g. "
                     "fashion-mnist=idx:DIR); default: each recipe's own")
    run.add_argument("--data-dir", help="tensorflow-datasets data directory")
    run.add_argument("--steps", type=positive_int, help="generator steps per row (default: the paper's budget)")
    run.add_argument("--eval-samples", type=positive_int,
                     help="generated and real images per evaluation (default: the paper's where stated, else 10000)")
    run.add_argument("--evaluations", type=positive_int, default=4,
                     help="FID evaluations over training where the paper reports the best (default: 4)")
    run.add_argument("--weights", help="Inception weights for FID: .npz, .pb or TF-Hub handle "
                     "(default: $TFATTNGAN_INCEPTION_WEIGHTS; see python -m tfattngan.evaluate --help)")
    run.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                     help="override a config field of every row")
    run.add_argument("--only", nargs="+", default=[], metavar="PATTERN",
                     help="train only the rows whose recipe or data set matches a pattern (fnmatch)")
    report = commands.add_parser("report", help="rebuild results.json, results.md and results.png of a study folder")
    report.add_argument("out", help="the study folder")
    return parser


def list_studies(stream=None):
    """Prints every study: its source table, rows, protocol and budget; returns how many.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> list_studies(out)
    5
    >>> "sagan-div-table3" in out.getvalue()
    True
    """
    stream = stream or sys.stdout
    for study in STUDIES.values():
        recipes = ", ".join(row.recipe for row in study.rows)
        stream.write(f"{study.name}: {study.table} of {study.paper}\n"
                     f"    {study.description}\n"
                     f"    rows ({len(study.rows)}): {recipes}\n"
                     f"    reported: {'best over training' if study.protocol.best else 'final'}; FID by "
                     f"{study.protocol.fid_implementation}; generated images {study.protocol.generated_samples}\n"
                     f"    budget: {study.budget}\n")
    return len(STUDIES)


def _list(args):
    list_studies(progress_stream(args))
    return {name: {"table": s.table, "paper": s.paper, "rows": [row.recipe for row in s.rows]}
            for name, s in STUDIES.items()}, None


def _run(args):
    from tfattngan.metrics.extractor_loading import weights_spec
    from tfattngan.study.runner import plan_rows
    from tfattngan.study.runner import run_study

    study = get_study(args.study)
    weights = weights_spec(args.weights, argument="--weights")
    out = pathlib.Path(args.out)
    _check_study_folder(out, study.name)
    eval_samples = args.eval_samples or study.protocol.eval_samples
    plans = plan_rows(study, out, steps=args.steps, eval_samples=eval_samples, evaluations=args.evaluations,
                      datasets=args.dataset, settings=args.set, only=args.only, data_dir=args.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / STUDY_FILE, json.dumps(
        {"study": study.name, "plans": [dataclasses.asdict(plan) for plan in plans]}, indent=2) + "\n")
    results = run_study(study, out, plans, weights=weights, log_stream=progress_stream(args))
    failed = [row for row in results["rows"] if row["status"] != "finished"]
    if failed:
        raise UserInputError(
            f"{len(failed)} of {len(results['rows'])} rows failed ("
            + "; ".join(f"{row['recipe']}: {row.get('message')}" for row in failed)
            + f"); the others are in {out / 'results.md'}; run the same command again to retry the failed rows."
        )
    return results, _summary(results, out)


def _check_study_folder(out, name):
    path = out / STUDY_FILE
    if path.is_file():
        found = json.loads(path.read_text()).get("study")
        if found != name:
            raise UserInputError(f"{out} holds the study {found!r}, not {name!r}; give another --out.")


def _report(args):
    from tfattngan.study.results import write_results

    out = pathlib.Path(args.out)
    path = out / STUDY_FILE
    if not path.is_file():
        raise UserInputError(f"{out} is not a study folder (no {STUDY_FILE}); "
                             f"{PROG} run STUDY --out {out} makes one.")
    saved = json.loads(path.read_text())
    plans = [RowPlan.from_dict(plan) for plan in saved["plans"]]
    results = write_results(get_study(saved["study"]), out, plans)
    return results, _summary(results, out)


def _summary(results, out):
    finished = sum(row["status"] == "finished" for row in results["rows"])
    lines = [f"{results['study']}: {finished} of {len(results['rows'])} rows finished"]
    for row in results["rows"]:
        values = ", ".join(f"{m} {v:.2f} (paper {row['paper'][m]:.2f})" for m, v in row["this_run"].items()
                           if v is not None and m in row["paper"])
        lines.append(f"  {row['recipe']}: {values or row['status']}")
    lines += [f"  table:   {out / 'results.md'}", f"  picture: {out / 'results.png'}"]
    return "\n".join(lines)


def main(argv=None):
    """Runs the command line; returns the exit status (2 for a user error).

    Example:

    >>> main(["run", "no-such-study", "--out", "x"])
    2
    """
    commands = {"list": _list, "run": _run, "report": _report}
    return run_tool(build_parser(), lambda args: commands[args.command](args), argv)
