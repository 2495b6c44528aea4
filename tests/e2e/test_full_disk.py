"""A full disk is an error to retry, never a lost mail or a strike: serve starts on one and says why it
refuses mail (452), mail caught by a disk filling up under the worker is tried again without a strike,
nothing dies, and when there is room again everything goes on. The disks are real: a small tmpfs,
filled to the last byte. Mounting one needs root: run by another user, each test runs itself again
as root of a user and mount namespace of its own (`unshare`), where serve sees the same tmpfs."""

from __future__ import annotations

import functools
import os
import shutil
import smtplib
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.fillpoint import fill
from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e  # starts real servers

FILLPOINT = (sys.executable, "-m", "tests.e2e.fillpoint")


REPO = Path(__file__).resolve().parents[2]


def as_root(test: Callable[[Path], None]) -> Callable[[Path], None]:
    """Run by root: the test. Otherwise the test again, in a pytest of its own started by `unshare
    --user --map-root-user --mount` (its own temp dir under this one's): it fails if that fails."""

    @functools.wraps(test)
    def run(tmp_path: Path) -> None:
        if os.geteuid() == 0:
            test(tmp_path)
            return
        if shutil.which("unshare") is None:
            pytest.fail("a tmpfs needs root, or unshare (util-linux) to run as root of a user namespace")
        node = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        command = ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m", "pytest"]
        options = ["-q", "-n", "0", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "as_root"), node]
        done = subprocess.run([*command, *options], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{node} as root of a user namespace:\n{done.stdout}\n{done.stderr}"

    return run


@contextmanager
def small_disk(path: Path, size: str = "32m") -> Iterator[Path]:
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


class StderrLines:
    """What serve logs, read as it comes: its stderr is a pipe, and a full pipe would stop serve."""

    def __init__(self, served: Served) -> None:
        self.lines: list[str] = []
        assert served.proc.stderr is not None
        stream = served.proc.stderr
        threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True).start()

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))


def blank(served: Served, sender: str) -> bool:
    """A blank mail to the signup address; True when it was taken (250)."""
    try:
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as s:
            s.sendmail(sender, ["signup@shop.example"], f"From: {sender}\r\nSubject: hi\r\n\r\n \r\n")
        return True
    except smtplib.SMTPException:
        return False


def states(served: Served) -> list[tuple[str, int]]:
    return [(m["state"], m["strikes"]) for m in cli(served.config, "messages")]


@as_root
def test_serve_starts_on_a_full_disk_says_why_it_refuses_mail_and_takes_it_when_there_is_room(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "var") as var:
        cfg = write_config(tmp_path)
        fill(str(var / "filler"))
        served = start_serve(cfg)
        StderrLines(served)  # read, or a full pipe would stop serve's logging, and serve
        try:
            assert "mail is refused (452) until there is room" in served.banner
            with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as s:
                s.ehlo()
                assert s.mail("a@example.jp") == (452, b"4.3.1 Insufficient system storage")
            with urllib.request.urlopen(f"{served.base_url}/healthz", timeout=30) as page:
                assert page.status == 200
            (var / "filler").unlink()
            wait_for(lambda: blank(served, "a@example.jp"), timeout=60, interval=1)
            wait_for(lambda: states(served) == [("applied", 0)], timeout=60)
            assert served.proc.poll() is None
        finally:
            served.stop()


@as_root
def test_mail_caught_by_a_disk_filling_up_is_tried_again_without_a_strike(tmp_path: Path) -> None:
    with small_disk(tmp_path / "var") as var:
        filler = var / "filler"
        env = {"MAILGATE_TEST_FILL_AT": "UPDATE message SET claimed_by", "MAILGATE_TEST_FILL": str(filler)}
        served = start_serve(write_config(tmp_path), env=env, mailgate=FILLPOINT)
        log = StderrLines(served)
        try:
            # The disk fills just before the first outcome is recorded: the write of the outcome and the
            # write that would hand the message back both fail.
            assert blank(served, "a@example.jp")
            wait_for(lambda: log.said("worker pass failed"), timeout=60)
            assert served.proc.poll() is None
            filler.unlink()
            assert blank(served, "b@example.jp")
            wait_for(lambda: states(served) == [("applied", 0), ("applied", 0)], timeout=45)
            assert served.proc.poll() is None
        finally:
            served.stop()
