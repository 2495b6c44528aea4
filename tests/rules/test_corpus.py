"""`mailgate rules test --json` against the shared corpus, run as operators' scripts run it."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


def run_rules_test(eml: Path, rcpt: str | None) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "mailgate",
        "--config",
        str(CORPUS / "mailgate.toml"),
        "rules",
        "test",
        str(eml),
        "--json",
    ]
    if rcpt:
        args += ["--rcpt", rcpt]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
