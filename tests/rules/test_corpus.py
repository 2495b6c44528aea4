"""`mailgate rules test --json` against the shared corpus, run as operators' scripts run it."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailgate.cli import app
from tests.conftest import CORPUS

SAMPLES = sorted(CORPUS.glob("*/*.eml"))


def subset_mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Keys of expected that actual lacks or has with another value (other keys are free)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected an object, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key.startswith("_"):
                continue
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out.extend(subset_mismatches(value, actual[key], f"{path}.{key}"))
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def rules_test_args(eml: Path, rcpt: str | None) -> list[str]:
    args = ["--config", str(CORPUS / "mailgate.toml"), "rules", "test", str(eml), "--json"]
    return [*args, "--rcpt", rcpt] if rcpt else args


def run_rules_test(eml: Path, rcpt: str | None) -> dict[str, Any]:
    """In-process (Typer's runner): the same command, without a Python start per sample."""
    done = CliRunner().invoke(app, rules_test_args(eml, rcpt))
    assert done.exit_code == 0, (done.stderr, done.exception)
    return json.loads(done.stdout)


def test_an_operators_script_gets_json_alone_on_stdout_and_exit_0() -> None:
    """As scripts run it: a process whose stdout is the JSON and nothing else."""
    eml = CORPUS / "stores" / "booked-01.eml"
    done = subprocess.run(
        [sys.executable, "-m", "mailgate", *rules_test_args(eml, None)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == run_rules_test(eml, None)


def test_the_corpus_has_samples_to_check() -> None:
    dirs = {p.parent.name for p in SAMPLES}
    assert dirs >= {"phone", "noise", "stores", "salonboard", "airreserve", "forwarded", "spoofed"}


@pytest.mark.parametrize("eml", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_dry_run_reports_what_the_corpus_expects(eml: Path) -> None:
    expected = json.loads(eml.with_suffix(".expected.json").read_text())
    actual = run_rules_test(eml, expected.get("_rcpt"))
    assert subset_mismatches(expected, actual) == []
    assert actual["reason"], "every decision says why"


def test_subset_comparison_catches_a_wrong_value() -> None:
    assert subset_mismatches({"a": {"b": 1}}, {"a": {"b": 2}}) == [".a.b: expected 1, got 2"]
    assert subset_mismatches({"a": 1, "_rcpt": "x"}, {"a": 1, "extra": 2}) == []
