"""A served generator under concurrent load, by `benchmarks/serving_load.py` in a fresh TensorFlow-only process."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import ROOT

# One worker runs these tests under pytest-xdist, so their shared fixtures are built once.
pytestmark = pytest.mark.xdist_group("export")

SCRIPT = ROOT / "benchmarks" / "serving_load.py"
# Measured 20-25 MiB on the 2-core CPU. One oversized batch that got through (2,048 rows of the test model)
# costs +558 MiB by itself, so a server whose batch bound failed could not stay under this.
PEAK_INCREASE_MIB = 200


def _load_script():
    spec = importlib.util.spec_from_file_location("serving_load", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_8_threads_of_mixed_requests_get_the_single_threaded_answers_in_bounded_memory(families, tmp_path):
    family = families["dcgan_self_attention"]
    records_path = tmp_path / "records.jsonl"
    result = subprocess.run([sys.executable, str(SCRIPT), str(family.savedmodel), "--threads", "8", "--requests",
                             "50", "--records", str(records_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    assert len(records) == summary["requests"] == 400
    assert sorted({(r["thread"], r["index"]) for r in records}) == [(t, i) for t in range(8) for i in range(50)]
    assert (summary["valid"], summary["invalid"], summary["tfattngan_imported"]) == (240, 160, False)

    # Every valid answer equals this process's single-threaded answer for its seed or latent.
    script, signatures = _load_script(), tf.saved_model.load(str(family.savedmodel)).signatures
    metadata = {"latent_dim": 64, "max_samples": 256, "num_classes": 0}
    references = {}
    valid = [r for r in records if r["kind"] in ("generate", "serve")]
    for record in valid:
        key = (record["signature"], record["count"], record["seed"])
        if key not in references:
            references[key] = script.digest(signatures[record["signature"]](**script.inputs(record, metadata, np, tf)))
        assert record.get("digest") == references[key], record
    assert len(references) == 24 and len({r["digest"] for r in valid}) == 24  # 12 generate and 12 serve answers

    # Every invalid request got its own message, with the value it sent.
    expected = {
        "num_samples_zero": ("num_samples must be between 1 and 256", "got] [0]"),
        "num_samples_over": ("num_samples must be between 1 and 256", "got] [257]"),
        "rows_over": ("latent must have between 1 and 256 rows", "got shape] [2048 64]"),
        "nan_latent": ("latent must hold finite numbers only (no NaN or inf", "values:] [1]"),
        "inf_latent": ("latent must hold finite numbers only (no NaN or inf", "values:] [1]"),
    }
    invalid = [r for r in records if r["kind"] in expected]
    assert len(invalid) == 160 and {r["kind"] for r in invalid} == set(expected)
    for record in invalid:
        assert all(text in record.get("error", "") for text in expected[record["kind"]]), record

    assert (summary["mismatched"], summary["wrong_errors"]) == (0, 0)
    assert summary["peak_rss_increase_mib"] <= PEAK_INCREASE_MIB, summary
    assert summary["requests_per_second"] > 0
