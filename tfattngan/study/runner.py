"""Runs a study: each row's recipe trained and evaluated in its own process, then the results written."""

import os
import pathlib
import subprocess
import sys

from tfattngan.atomic_files import write_text_atomically
from tfattngan.errors import UserInputError
from tfattngan.metrics.inception.weights import WEIGHTS_ENV
from tfattngan.study.row import PLAN_FILE
from tfattngan.study.row import RESULT_FILE
from tfattngan.study.row import RowPlan
from tfattngan.study.row import failure_record
from tfattngan.study.row import read_result
from tfattngan.study.row import write_result

DEFAULT_EVALUATIONS = 4  # FID evaluations over training when the paper reports the best


def dataset_for(row, datasets):
    """The data set spec a row trains on: from `datasets`, else the recipe's own (`None`).

    `datasets` is a list of `SPEC` (every row) or `NAME=SPEC` (the rows
    whose paper data set is NAME, compared without case, spaces as `-`).

    Example:

    >>> from tfattngan.study.catalog import get_study
    >>> rows = get_study("sagan-div-table3").rows
    >>> dataset_for(rows[0], ["fashion-mnist=idx:/data/fashion"]), dataset_for(rows[-1], ["fashion-mnist=idx:/d"])
    (None, 'idx:/d')
    >>> dataset_for(rows[0], ["builtin:64"])
    'builtin:64'
    """
    chosen = None
    for text in datasets or ():
        name, separator, spec = text.partition("=")
        if not separator or ":" in name:
            chosen = text
        elif _dataset_key(name) == _dataset_key(row.dataset):
            return spec
    return chosen


def _dataset_key(name):
    return name.strip().lower().replace(" ", "-")


def plan_rows(study, out, *, steps=None, eval_samples=2048, evaluations=DEFAULT_EVALUATIONS, datasets=None,
              settings=(), only=(), data_dir=None):
    """The `RowPlan` of each chosen row of `study`, training into `out/RECIPE`.

    Example:

    >>> from tfattngan.study.catalog import get_study
    >>> plans = plan_rows(get_study("sagan-div-table3"), "study", steps=100, eval_samples=64, only=["*-d-*"])
    >>> [plan.run_dir for plan in plans]
    ['study/sagan-div-d-mnist', 'study/sagan-div-d-fashion-mnist']
    >>> plans[0].overrides
    ('steps=100', 'eval_samples=64', 'eval_every=25')
    """
    plans = []
    for row in study.select(only):
        overrides = []
        if steps is not None:
            overrides.append(f"steps={steps}")
        overrides.append(f"eval_samples={eval_samples}")
        if study.protocol.best:
            total = steps if steps is not None else _recipe_steps(row.recipe)
            overrides.append(f"eval_every={max(1, total // evaluations)}")
        else:
            overrides.append("eval_every=0")
        dataset = dataset_for(row, datasets)
        if dataset is not None:
            overrides.append(f"dataset={dataset}")
        overrides.extend(settings)
        plan = RowPlan(row.recipe, str(pathlib.Path(out) / row.recipe), tuple(overrides), study.protocol.best,
                       eval_samples, data_dir)
        plan.config()  # a bad --set value fails here, before any row trains
        plans.append(plan)
    return plans


def _recipe_steps(recipe):
    from tfattngan.recipes import get_recipe

    return get_recipe(recipe).steps


def is_finished(plan):
    """Whether `plan`'s run directory already holds a finished evaluation of this very plan.

    Example:

    >>> is_finished(RowPlan("quickstart", "/no/such/run", (), False, 64))
    False
    """
    record = read_result(plan.run_dir)
    return bool(record and record.get("status") == "finished" and record.get("overrides") == list(plan.overrides)
                and record.get("eval_samples") == plan.eval_samples)


def run_study(study, out, plans, weights=None, log_stream=None):
    """Trains and evaluates every row of `plans` not finished yet, one child process each; writes the results.

    Rows run one after another in child processes (`python -m
    tfattngan.study.row`), so memory stays flat; each prints its own
    progress line under a "Row k of n" header. A row that fails is recorded
    as failed with its message and the study goes on; a finished row is
    skipped, and an unfinished one resumes from its checkpoint. Ctrl-C
    stops the row (which saves a checkpoint) and the study. `weights` are
    the Inception weights the rows evaluate with (a path or TF-Hub handle;
    `None`: `$TFATTNGAN_INCEPTION_WEIGHTS`).

    Returns:
        The study's results (`collect_results`), also written to
        `out/results.json`, `out/results.md` and `out/results.png`.

    Example: see `tfattngan.study.cli`.
    """
    from tfattngan.study.results import write_results

    log_stream = log_stream or sys.stdout
    for index, plan in enumerate(plans, 1):
        header = f"Row {index} of {len(plans)}: {plan.recipe}"
        if is_finished(plan):
            print(f"{header}: finished earlier (FID {read_result(plan.run_dir)['fid']:.2f}), skipped", file=log_stream,
                  flush=True)
            continue
        print(f"{header}: training into {plan.run_dir}", file=log_stream, flush=True)
        _run_child(plan, weights, log_stream)
        record = read_result(plan.run_dir) or {}
        if record.get("status") == "interrupted":
            raise UserInputError(f"{record['message']} Finished rows are kept in {out}.")
        if record.get("status") == "finished":
            print(f"{header}: FID {record['fid']:.2f} at step {record['evaluated_step']} ({record['checkpoint']} "
                  "checkpoint)", file=log_stream, flush=True)
        else:
            print(f"{header}: failed: {record.get('message')}", file=log_stream, flush=True)
    return write_results(study, out, plans)


def _run_child(plan, weights, log_stream):
    """Runs `plan` in a child process; a child that ends without a record gets a failed one."""
    run_dir = pathlib.Path(plan.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run_dir / PLAN_FILE, plan.to_json())
    (run_dir / RESULT_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", "tfattngan.study.row", str(run_dir / PLAN_FILE)]
    live = log_stream in (sys.stdout, sys.stderr)  # the row's progress line goes straight to the terminal
    log_stream.flush()
    env = {**os.environ, WEIGHTS_ENV: os.fspath(weights)} if weights is not None else None
    with subprocess.Popen(command, stdout=log_stream if live else subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env) as child:
        try:
            output, errors = child.communicate()
        except KeyboardInterrupt:  # the row saves a checkpoint on the same Ctrl-C; let it finish
            output, errors = child.communicate()
    if output:
        log_stream.write(output)
    if read_result(run_dir) is None:  # killed, out of memory, or a crash: its last words are the message
        lines = [line for line in (errors or "").splitlines() if line.strip()]
        message = lines[-1] if lines else f"the row's process ended with status {child.returncode}"
        write_result(failure_record(plan, message))
