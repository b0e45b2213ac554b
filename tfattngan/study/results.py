"""A study's results from its rows' records: `results.json`, `results.md` and `results.png`."""

import json
import math
import pathlib

from tfattngan.atomic_files import atomic_file
from tfattngan.atomic_files import write_text_atomically
from tfattngan.study.row import read_result

STUDY_FILE = "study.json"
_METRIC_KEYS = {"FID": "fid", "IS": "inception_score"}


def collect_results(study, out, plans):
    """The study's results as one JSON-ready dict: the paper's protocol and budget, and one entry per row.

    Each row holds the paper's values and, from its run's record, this
    run's values, status (`finished`, `failed`, `interrupted` or `not run`),
    message, samples used, steps trained of the recipe's and wall time.

    Example:

    >>> from tfattngan.study.catalog import get_study
    >>> from tfattngan.study.runner import plan_rows
    >>> study = get_study("sagan-celeba")
    >>> results = collect_results(study, "/no/such/study", plan_rows(study, "/no/such/study", steps=10))
    >>> results["rows"][0]["paper"], results["rows"][0]["status"]
    ({'FID': 21.88}, 'not run')
    """
    by_recipe = {plan.recipe: plan for plan in plans}
    rows = []
    for row in study.rows:
        if row.recipe not in by_recipe:
            continue
        record = read_result(by_recipe[row.recipe].run_dir) or {"status": "not run"}
        finished = record["status"] == "finished"
        rows.append({
            "recipe": row.recipe, "variant": row.variant, "dataset": row.dataset, "paper": row.paper,
            "paper_source": f"{study.source_file}, {row.where}",
            "this_run": {metric: _finite(record.get(key)) if finished else None for metric, key in _METRIC_KEYS.items()
                         if metric in row.paper or record.get(key) is not None},
            **{key: record[key] for key in ("status", "message", "checkpoint", "evaluated_step", "steps",
                                            "paper_steps", "num_generated", "num_reference", "train_seconds",
                                            "eval_seconds", "warnings", "samples")
               if key in record},
            "trained_on": record.get("dataset"),
        })
    return {
        "study": study.name, "paper": study.paper, "table": study.table, "description": study.description,
        "protocol": {"fid_implementation": study.protocol.fid_implementation,
                     "real_samples": study.protocol.real_samples,
                     "generated_samples": study.protocol.generated_samples,
                     "reported": "best over training" if study.protocol.best else "final",
                     "quote": study.protocol.quote},
        "budget": study.budget,
        "context": [{"variant": name, "dataset": dataset, "paper": values} for name, dataset, values in study.context],
        "rows": rows,
    }


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def budget_text(row):
    """ "N steps of the paper's M" for a row's result (`None` for a row that has not trained).

    Example:

    >>> budget_text({"steps": 300, "paper_steps": 1875000})
    "300 steps of the paper's 1,875,000"
    """
    if row.get("steps") is None:
        return None
    return f"{row['steps']:,} steps of the paper's {row['paper_steps']:,}"


def results_markdown(results):
    """The results as a Markdown table, one row per variant, with the paper's protocol and budget above it.

    Example:

    >>> from tfattngan.study.catalog import get_study
    >>> from tfattngan.study.runner import plan_rows
    >>> study = get_study("sagan-celeba")
    >>> text = results_markdown(collect_results(study, "s", plan_rows(study, "s", steps=10)))
    >>> "| SAGAN (proposed) | CelebA 64 | 21.88 |" in text
    True
    """
    metrics = [metric for metric in ("FID", "IS") if any(metric in row["paper"] for row in results["rows"])]
    lines = [
        f"# {results['study']}: {results['paper']}, {results['table']}",
        "",
        f"{results['description']}.",
        "",
        f"- Paper's protocol: FID by {results['protocol']['fid_implementation']}; real images: "
        f"{results['protocol']['real_samples']}; generated images: {results['protocol']['generated_samples']}; "
        f"reported: {results['protocol']['reported']} ({results['protocol']['quote']}).",
        f"- Paper's budget: {results['budget']}.",
        "- This run: the same FID definition (the FID Inception network, float64 statistics), real and "
        "generated images as in the samples column, at the checkpoint the paper's protocol names.",
        "",
    ]
    header = ["variant", "data"] + [f"{m} paper" for m in metrics] + [f"{m} this run" for m in metrics] + [
        "samples (real/generated)", "steps", "wall time", "status"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in results["rows"]:
        paper = [_paper_number(row["paper"].get(metric)) for metric in metrics]
        ours = [_number(row["this_run"].get(metric)) for metric in metrics]
        samples = f"{row['num_reference']:,}/{row['num_generated']:,}" if row.get("num_generated") else ""
        seconds = (row.get("train_seconds") or 0) + (row.get("eval_seconds") or 0)
        wall = f"{seconds / 60:.1f} min" if row.get("train_seconds") is not None else ""
        status = row["status"] + (f": {row['message']}" if row.get("message") else "")
        checkpoint = f" ({row['checkpoint']} at step {row['evaluated_step']:,})" if row.get("checkpoint") else ""
        cells = [row["variant"], row["dataset"]] + paper + ours + [
            samples, (budget_text(row) or "") + checkpoint, wall, status.replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    for entry in results["context"]:
        lines.append(f"\nAlso in the paper's table (not trained here): {entry['variant']} on {entry['dataset']}: "
                     + ", ".join(f"{m} {_paper_number(v)}" for m, v in entry["paper"].items()) + ".")
    return "\n".join(lines) + "\n"


def _number(value):
    return "" if value is None else f"{value:.2f}"


def _paper_number(value):
    return "" if value is None else str(value)  # as the paper prints it (but for trailing zeros)


def write_results(study, out, plans):
    """Writes `results.json`, `results.md` and `results.png` in `out`; returns the results.

    Example: see `tfattngan.study.runner.run_study`.
    """
    from tfattngan.study.figure import save_results_figure

    out = pathlib.Path(out)
    results = collect_results(study, out, plans)
    write_text_atomically(out / "results.json", json.dumps(results, indent=2) + "\n")
    write_text_atomically(out / "results.md", results_markdown(results))
    with atomic_file(out / "results.png") as scratch:
        save_results_figure(results, out, scratch)
    return results
