"""Studies: the paper's numbers against the paper's text, and a study run, resumed and reported end to end."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.assets import FASHION
from tests.assets import INCEPTION_WEIGHTS as WEIGHTS
from tests.assets import PAPERS
from tests.assets import needs
from tfattngan.recipes import RECIPES
from tfattngan.study import STUDIES
from tfattngan.study.cli import main as study_main


@needs(PAPERS)
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_paper_number_of_a_study_is_on_the_line_of_the_paper_it_cites(name):
    study = STUDIES[name]
    lines = (PAPERS / study.source_file).read_text().splitlines()
    assert study.table in "\n".join(lines)
    for row in study.rows:
        assert row.recipe in RECIPES, row.recipe
        numbers = re.findall(r"\d+", row.where)
        text = " ".join(lines[int(n) - 1] for n in range(int(numbers[0]), int(numbers[-1]) + 1))
        found = {float(x) for x in re.findall(r"\d+\.\d+", text)}
        for metric, value in row.paper.items():
            assert value in found, (row.recipe, metric, value, row.where)


STUDY = [sys.executable, "-m", "tfattngan.study"]
TINY = ["--steps", "2", "--eval-samples", "8", "--set", "generator_filters=2", "--set", "discriminator_filters=2",
        "--set", "batch_size=4", "--set", "image_size=32", "--set", "generator_attention_sizes=4,8,16"]


def _study(*arguments, env):
    return subprocess.run(STUDY + list(arguments), capture_output=True, text=True, env=env, timeout=900)


@needs(FASHION, WEIGHTS)
def test_a_study_trains_evaluates_resumes_and_reports_with_a_failed_row_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TFATTNGAN_INCEPTION_WEIGHTS", raising=False)
    env = {**os.environ, "TFATTNGAN_FID_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "table3"
    command = ["run", "sagan-div-table3", "--out", str(out), "--only", "sagan-div-c-*",
               "--evaluations", "1",
               "--dataset", f"fashion-mnist=idx:{FASHION}", "--dataset", "mnist=idx:/no/such/mnist", *TINY]
    # Without weights the study refuses to start: one line saying how to give them, nothing written.
    assert study_main(command) == 2
    assert "pass --weights" in capsys.readouterr().err.strip().splitlines()[-1] and not out.exists()

    command += ["--weights", str(WEIGHTS)]  # the rows' processes get the weights from the flag alone
    first = _study(*command, env=env)
    assert first.returncode == 2, first.stderr[-3000:]
    assert first.stderr.strip().splitlines()[-1].startswith("error: 1 of 2 rows failed"), first.stderr[-2000:]
    assert "Row 1 of 2" in first.stdout and "Row 2 of 2" in first.stdout

    results = json.loads((out / "results.json").read_text())
    rows = {row["recipe"]: row for row in results["rows"]}
    assert list(rows) == ["sagan-div-c-mnist", "sagan-div-c-fashion-mnist"]
    assert rows["sagan-div-c-mnist"]["status"] == "failed" and "/no/such/mnist" in rows["sagan-div-c-mnist"]["message"]
    row = rows["sagan-div-c-fashion-mnist"]
    assert row["status"] == "finished" and np.isfinite(row["this_run"]["FID"]) and row["this_run"]["FID"] > 0
    recipe = row["recipe"]
    assert row["steps"] == 2 and row["paper_steps"] == RECIPES[recipe].steps
    assert row["num_generated"] == row["num_reference"] == 8
    # The paper reports the best over training: the study evaluated the checkpoint that training kept as
    # best, whose FID (computed during training, from the same images) it reproduces.
    best = json.loads((out / recipe / "checkpoints" / "best" / "best.json").read_text())
    assert row["checkpoint"] == "best" and row["evaluated_step"] == best["step"]
    assert row["this_run"]["FID"] == pytest.approx(best["fid"], rel=1e-5)
    table = (out / "results.md").read_text()
    for paper_value in ("| 101.1107 |", "| 153.7099 |"):  # Table 3, row c
        assert paper_value in table
    assert table.count("2 steps of the paper's 1,875,000") == 1
    picture = Image.open(out / "results.png")
    assert picture.format == "PNG" and picture.size[0] > 500 and picture.size[1] > 300

    # Rerun: finished rows are skipped and left as they were; failed ones are tried again.
    kept = {path: path.read_bytes() for path in (out / "sagan-div-c-fashion-mnist" / "checkpoints").rglob("*")
            if path.is_file()}
    second = _study(*command, env=env)
    assert second.returncode == 2
    assert second.stdout.count("finished earlier") == 1 and second.stdout.count("training into") == 1
    assert {path: path.read_bytes() for path in kept} == kept
    assert json.loads((out / "results.json").read_text()) == results

    # The report rebuilds the same results from the finished runs alone.
    (out / "results.json").unlink()
    (out / "results.png").unlink()
    report = _study("report", str(out), env=env)
    assert report.returncode == 0, report.stderr[-2000:]
    assert json.loads((out / "results.json").read_text()) == results and (out / "results.png").is_file()
    assert "1 of 2 rows finished" in report.stdout
