"""A shop installs the wheel: built from this tree, installed with its declared dependencies into a fresh
virtualenv, run outside any checkout — init, serve, a blank mail, and the registration reply arrives."""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, start_serve, wait_for
from tests.e2e.helpers import first_url, outbox_files, read_mail

# What a build or a run leaves in a checkout; a copy without it is what a fresh clone holds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


# pip installs without compiling every module of every dependency (7 s of CPU); the installed
# mailgate writes the bytecode of what it imports, where PYTHONDONTWRITEBYTECODE would have had it
# compile again on every run ("" is unset to Python).
BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}


def run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **BYTECODE},
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wheelhouse(pyproject: dict[str, Any]) -> Path:
    """The build requirements and the declared dependencies as wheels from the index, fetched once a day
    and kept between runs: each run had spent 20-50 s downloading them (pip keeps no cache here).
    Keyed by what pyproject.toml declares, so a changed dependency is fetched at once. The install
    takes from it only what the wheel itself requires: an undeclared import still fails."""
    wanted = [*pyproject["build-system"]["requires"], *pyproject["project"]["dependencies"]]
    key = "\n".join([sys.version, str(datetime.date.today()), *sorted(wanted)])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mailgate-tests"
    house = cache / f"wheelhouse-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not house.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        fetching = Path(tempfile.mkdtemp(prefix="fetching-", dir=cache))
        run(sys.executable, "-m", "pip", "wheel", "-q", "-w", fetching, *wanted, cwd=cache)
        for old in cache.glob("wheelhouse-*"):  # not today's: no run is still installing from it
            if old.stat().st_mtime < time.time() - 2 * 86400:
                shutil.rmtree(old, ignore_errors=True)
        try:
            fetching.rename(house)  # whole or not at all; a run alongside may have made it first
        except OSError:
            shutil.rmtree(fetching)
    return house


def files_below(directory: Path) -> set[str]:
    return {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.e2e
def test_a_wheel_installed_in_a_fresh_virtualenv_answers_a_blank_mail(tmp_path: Path) -> None:
    assert REPO not in tmp_path.parents
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    version = pyproject["project"]["version"]
    house = ("--no-index", "--find-links", wheelhouse(pyproject))

    # Build from a copy: pip builds in the source tree's ./build. In isolation, as any builder does:
    # only what [build-system] requires is there.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *house, "-w", dist, src, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("mailgate-*.whl")
    shutil.rmtree(src)

    # A virtualenv of its own (no pip inside: this pip installs into it), every dependency as the wheel
    # declares it (from the index, by way of the wheelhouse), so an undeclared import fails here.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    install = ("install", "-q", "--no-compile", *house)
    run(sys.executable, "-m", "pip", "--python", python, *install, wheel, cwd=tmp_path)
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip()
    )
    work = tmp_path / "work"
    work.mkdir()

    installed = Path(run(python, "-c", "import mailgate; print(mailgate.__file__)", cwd=work).strip())
    assert installed.is_relative_to(site), "the fresh virtualenv runs the wheel, not the checkout"
    # Everything in the tree is in the install: every module, every template and rules file.
    assert {p for p in files_below(REPO / "mailgate") if p.endswith(".py")} <= files_below(site / "mailgate")
    assert files_below(REPO / "templates") == files_below(site / "mailgate" / "shipped" / "templates")
    assert files_below(REPO / "rules") == files_below(site / "mailgate" / "shipped" / "rules")

    mailgate = venv / "bin" / "mailgate"
    assert run(mailgate, "--version", cwd=work) == f"mailgate {version}\n"
    shop = ("--dir", "shop", "--domain", "seitai.example.jp", "--name", "テスト整体院")
    run(mailgate, "init", *shop, cwd=work)
    config = work / "shop" / "mailgate.toml"
    run(mailgate, "--config", config, "db", "upgrade", "--yes", cwd=work)
    assert "head" in run(mailgate, "--config", config, "db", "current", cwd=work)

    served = start_serve(config, mailgate=(str(mailgate),), env=BYTECODE, cwd=work)
    try:
        assert f"rules     {site / 'mailgate' / 'shipped' / 'rules'}" in served.banner
        assert f"templates {site / 'mailgate' / 'shipped' / 'templates'}" in served.banner
        raw = (
            b"From: hanako@example.jp\r\nTo: signup@seitai.example.jp\r\nSubject: \r\n"
            b"Message-ID: <blank-wheel@example.jp>\r\n\r\n"
        )
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
            s.sendmail("hanako@example.jp", ["signup@seitai.example.jp"], raw)

        [reply] = wait_for(lambda: outbox_files(served.outbox))
        msg, subject, body = read_mail(reply)
        assert msg["To"] == "hanako@example.jp" and "会員登録" in subject and "テスト整体院" in subject
        url = first_url(body)
        assert url.startswith(served.base_url + "/r/")
        with httpx.Client(timeout=10) as http:
            page = http.get(url)
            assert page.status_code == 200 and "フリガナ" in page.text and "会員登録" in page.text
            style = http.get(served.base_url + "/style.css")
            assert style.text == (REPO / "templates" / "web" / "style.css").read_text(encoding="utf-8")
    finally:
        served.stop()
