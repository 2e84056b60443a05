"""`tinyc ci`: the workflow it writes validates against GitHub's workflow schema (SchemaStore's, as vendored
by check-jsonschema: offline), has one matrix job per shard covering every board once, and `tinyc ci
check` merges shard matrices and compares them with a baseline as `tinyc bench --baseline` does."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.conftest import REPO
from tinyc.cli import main

BASELINE = REPO / "benchmarks" / "baseline.json"
BOARDS = ["rpi-pico", "nucleo-l4r5zi", "nucleo-h743zi", "corstone-300", "esp32-c3"]


def tinyc(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_workflow_validates_against_githubs_schema(tmp_path: Path) -> None:
    out = tmp_path / "tinyc.yml"
    code, text = tinyc("ci", "workflow", "-m", "models/kws model.tflite,models/ad.tflite", "-b", ",".join(BOARDS),
                       "--shards", "2", "-o", str(out))
    assert code == 0, text
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                            str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    doc = yaml.safe_load(out.read_text())
    include = doc["jobs"]["bench"]["strategy"]["matrix"]["include"]
    assert len(include) == 2
    assert sorted(b for shard in include for b in shard["boards"].split(",")) == sorted(BOARDS)
    steps = "\n".join(s.get("run", "") for s in doc["jobs"]["bench"]["steps"])
    assert "'models/kws model.tflite'" in steps and "$GITHUB_STEP_SUMMARY" in steps
    assert doc["jobs"]["check"]["needs"] == "bench"


def test_a_broken_workflow_fails_the_schema(tmp_path: Path) -> None:
    """The schema check can fail: a job without runs-on is refused."""
    code, text = tinyc("ci", "workflow", "-m", "m.tflite", "-b", "esp32-c3")
    doc = yaml.safe_load(text)
    del doc["jobs"]["check"]["runs-on"]
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(doc))
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                            str(bad)], capture_output=True, text=True)
    assert code == 0 and check.returncode == 1


def test_check_merges_shards_and_compares_with_the_baseline(tmp_path: Path) -> None:
    doc = json.loads(BASELINE.read_text())
    rows = doc["rows"]
    paths = []
    for k, part in enumerate((rows[::2], rows[1::2])):
        paths.append(tmp_path / f"shard-{k}.json")
        paths[-1].write_text(json.dumps({**doc, "rows": part}))
    md = tmp_path / "merged.md"
    code, text = tinyc("ci", "check", "--baseline", str(BASELINE), "--markdown", str(md), *map(str, paths))
    assert code == 0, text
    assert f"{len(rows)} pairs from 2 shard(s), 0 failure(s)" in text
    assert all(f"`{r['board']}`" in md.read_text() for r in rows)
    code, text = tinyc("ci", "check", "--baseline", str(BASELINE), str(paths[0]))  # a shard missing
    assert code == 1 and "missing pair" in text
    worse = copy.deepcopy(doc)
    ok = next(r for r in worse["rows"] if r["status"] == "ok")
    ok["instructions"] = int(ok["instructions"] * 1.05)
    paths[0].write_text(json.dumps(worse))
    code, text = tinyc("ci", "check", "--baseline", str(BASELINE), str(paths[0]))
    assert code == 1 and "instructions per inference" in text
