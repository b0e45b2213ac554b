"""One row of a study: train its recipe into a run directory, evaluate it as the paper did, record it.

A row runs in its own process (`python -m tfattngan.study.row ROW.json`),
so that memory stays flat over a study's rows and a crash ends only its
row. `ROW.json` is the `RowPlan` the study wrote; the outcome goes to
`study-result.json` beside it, also when the row fails.
"""

import dataclasses
import json
import pathlib
import sys
import time

from tfattngan.atomic_files import write_text_atomically
from tfattngan.cli import ArgumentParser
from tfattngan.cli import run_tool
from tfattngan.errors import UserInputError

PLAN_FILE = "study-row.json"
RESULT_FILE = "study-result.json"
SAMPLES_FILE = "study-samples.png"
SAMPLE_COUNT = 8  # images in each row's strip of results.png
SAMPLE_SEED = 0


class RowInterrupted(UserInputError):
    """Training of a row was stopped by Ctrl-C or SIGTERM after saving a checkpoint."""


@dataclasses.dataclass(frozen=True)
class RowPlan:
    """What one row trains and how it is evaluated; a `ROW.json` file holds one.

    Attributes:
        recipe: the recipe name.
        run_dir: the run directory (`DIR/RECIPE`).
        overrides: `FIELD=VALUE` assignments applied to the recipe (the
            study's steps, evaluation and `--set` values).
        best: evaluate the checkpoint with the best FID (the paper reports
            the best over training) rather than the final one.
        eval_samples: generated and real images of the evaluation.
        data_dir: tensorflow-datasets folder, or `None`.

    Example:

    >>> plan = RowPlan("quickstart", "study/quickstart", ("steps=10",), False, 64)
    >>> RowPlan.from_json(plan.to_json()) == plan
    True
    """

    recipe: str
    run_dir: str
    overrides: tuple
    best: bool
    eval_samples: int
    data_dir: str = None

    def to_json(self):
        """The plan as JSON text."""
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, values):
        """The plan of a `dataclasses.asdict` dict (as read back from JSON)."""
        return cls(**{**values, "overrides": tuple(values["overrides"])})

    @classmethod
    def from_json(cls, text):
        """The plan of `to_json` text."""
        return cls.from_dict(json.loads(text))

    def config(self):
        """The row's `GANConfig`: the recipe with the overrides applied."""
        from tfattngan.recipes import apply_overrides
        from tfattngan.recipes import get_recipe

        return apply_overrides(get_recipe(self.recipe), list(self.overrides))


def read_result(run_dir):
    """The `study-result.json` record of a row's run directory, or `None` when it has none.

    Example:

    >>> import tempfile
    >>> read_result(tempfile.mkdtemp()) is None
    True
    """
    path = pathlib.Path(run_dir) / RESULT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def run_row(plan, log_stream=None):
    """Trains (or resumes) `plan`'s run, evaluates its best or final checkpoint, writes its record.

    The record (also returned) holds the metrics (`fid`, `kid`,
    `inception_score` where the Inception weights have logits), the step
    evaluated, the steps trained and the recipe's own, the evaluation's
    image counts, its warnings and the wall time of training and of
    evaluation. A row that fails writes a record with `status: "failed"`
    and the message, then raises.

    A row stopped by Ctrl-C keeps its checkpoint and records
    `status: "interrupted"`; running the study again continues it.

    Example:

    >>> import tempfile
    >>> run_dir = tempfile.mkdtemp()
    >>> run_row(RowPlan("no-such-recipe", run_dir, (), False, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: unknown recipe 'no-such-recipe'...
    >>> read_result(run_dir)["status"]
    'failed'
    """
    try:
        record = {**_plan_fields(plan), **_train_and_evaluate(plan, log_stream), "status": "finished"}
    except (UserInputError, OSError) as error:
        status = "interrupted" if isinstance(error, RowInterrupted) else "failed"
        if pathlib.Path(plan.run_dir).is_dir():
            write_result(failure_record(plan, str(error), status))
        raise
    write_result(record)
    return record


def failure_record(plan, message, status="failed"):
    """The record of a row that did not finish: its plan, `status` and `message`.

    Example:

    >>> failure_record(RowPlan("quickstart", "s/quickstart", (), False, 64), "no data")["status"]
    'failed'
    """
    return {**_plan_fields(plan), "status": status, "message": message}


def _plan_fields(plan):
    return {"recipe": plan.recipe, "run_dir": plan.run_dir, "overrides": list(plan.overrides),
            "eval_samples": plan.eval_samples}


def write_result(record):
    """Writes a row's record to `study-result.json` in its run directory (atomically).

    Example:

    >>> import tempfile
    >>> plan = RowPlan("quickstart", tempfile.mkdtemp(), (), False, 64)
    >>> write_result(failure_record(plan, "no data"))
    >>> read_result(plan.run_dir)["message"]
    'no data'
    """
    write_text_atomically(pathlib.Path(record["run_dir"]) / RESULT_FILE, json.dumps(record, indent=2) + "\n")


def _train_and_evaluate(plan, log_stream):
    from tfattngan.data import load_source
    from tfattngan.metrics import FIDEvaluator
    from tfattngan.pixels import to_uint8
    from tfattngan.recipes import get_recipe
    from tfattngan.runs import load_generator
    from tfattngan.training import train
    from tfattngan.training.pictures import image_grid
    from tfattngan.training.pictures import save_png

    config = plan.config()
    source = load_source(config.dataset, data_dir=plan.data_dir)
    start = time.monotonic()
    summary = train(config, plan.run_dir, source=source, log_stream=log_stream)
    train_seconds = time.monotonic() - start
    if summary.interrupted:
        raise RowInterrupted(f"{plan.recipe} was interrupted at step {summary.step} (its checkpoint is kept); "
                             "run the same command again to continue.")
    use_best = plan.best and summary.best_checkpoint is not None
    generator = load_generator(plan.run_dir, checkpoint="best" if use_best else None)
    start = time.monotonic()
    evaluator = FIDEvaluator(source, plan.eval_samples, image_size=config.image_size, channels=config.channels,
                             center_crop=config.center_crop, seed=config.seed, progress=False)
    result = evaluator.evaluate(generator)
    samples = to_uint8(generator.generate(SAMPLE_COUNT, seed=SAMPLE_SEED)).numpy()
    save_png(image_grid(samples, columns=SAMPLE_COUNT), pathlib.Path(plan.run_dir) / SAMPLES_FILE)
    return {
        "checkpoint": "best" if use_best else "final",
        "evaluated_step": generator.step,
        "steps": summary.step,
        "paper_steps": get_recipe(plan.recipe).steps,
        "dataset": config.dataset,
        "image_size": config.image_size,
        "fid": result.fid,
        "kid": result.as_dict()["kid"],
        "inception_score": result.inception_score,
        "inception_score_std": result.inception_score_std,
        "num_reference": result.num_reference,
        "num_generated": result.num_generated,
        "weights": result.weights,
        "warnings": result.warnings,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(time.monotonic() - start, 1),
        "samples": SAMPLES_FILE,
    }


def _row(args):
    if not pathlib.Path(args.plan).is_file():
        raise UserInputError(f"no such plan file {args.plan!r}; python -m tfattngan.study run writes one per row.")
    plan = RowPlan.from_json(pathlib.Path(args.plan).read_text())
    record = run_row(plan, log_stream=sys.stdout)
    return record, f"{plan.recipe}: FID {record['fid']:.2f} at step {record['evaluated_step']} ({record['checkpoint']})"


def main(argv=None):
    """Runs one row from its plan file; returns the exit status (2 when the row failed).

    Example:

    >>> main(["no-such-plan.json"])
    2
    """
    parser = ArgumentParser(prog="python -m tfattngan.study.row", description="Train and evaluate one study row.")
    parser.add_argument("plan", help=f"the row's plan ({PLAN_FILE}, written by python -m tfattngan.study run)")
    return run_tool(parser, _row, argv)


if __name__ == "__main__":
    sys.exit(main())
