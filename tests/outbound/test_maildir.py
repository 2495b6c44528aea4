from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

from mailgate.outbound.maildir import TMP_MAX_AGE, clean_tmp, deliver, delivered
from tests.conftest import private

MESSAGE = b"From: a@shop.example\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n"


def test_deliver_creates_the_maildir_and_puts_the_message_in_new(tmp_path: Path) -> None:
    maildir = tmp_path / "deep" / "Maildir"
    path = deliver(maildir, MESSAGE)
    assert all((maildir / sub).is_dir() for sub in ("cur", "new", "tmp"))
    assert path.parent == maildir / "new"
    assert path.is_file()


def test_the_maildir_and_its_mail_are_owner_only_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    maildir = tmp_path / "var" / "outbox"
    path = deliver(maildir, MESSAGE)
    made = [tmp_path / "var", maildir, *(maildir / sub for sub in ("cur", "new", "tmp")), path]
    assert [str(p) for p in made if not private(p)] == []


def test_stored_bytes_are_exactly_the_given_bytes_with_crlf(tmp_path: Path) -> None:
    path = deliver(tmp_path, MESSAGE)
    assert path.read_bytes() == MESSAGE
    assert b"\r\n" in path.read_bytes()


def test_nothing_is_left_in_tmp(tmp_path: Path) -> None:
    deliver(tmp_path, MESSAGE)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_each_delivery_gets_its_own_file(tmp_path: Path) -> None:
    paths = {deliver(tmp_path, MESSAGE + str(i).encode()) for i in range(200)}
    assert len(paths) == 200
    assert len(list((tmp_path / "new").iterdir())) == 200


def test_file_name_has_no_maildir_info_separator(tmp_path: Path) -> None:
    # ":" starts the flags part of a Maildir name; the name must not contain one.
    assert ":" not in deliver(tmp_path, MESSAGE).name


def test_existing_maildir_is_reused(tmp_path: Path) -> None:
    first = deliver(tmp_path, MESSAGE)
    second = deliver(tmp_path, MESSAGE)
    assert first.read_bytes() == second.read_bytes() == MESSAGE
    assert first != second


def test_concurrent_reader_never_sees_a_partial_message(tmp_path: Path) -> None:
    big = b"X-Pad: " + b"a" * 900 + b"\r\n"
    message = MESSAGE.replace(b"\r\n\r\n", b"\r\n" + big * 4000 + b"\r\n")  # ~3.6 MB
    (tmp_path / "new").mkdir()
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            for entry in (tmp_path / "new").iterdir():
                seen.append(len(entry.read_bytes()))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(15):
            deliver(tmp_path, message)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert seen, "reader never ran"
    assert set(seen) == {len(message)}


def test_a_file_left_in_tmp_by_a_killed_delivery_does_not_block_the_next(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "mailgate-outbox-7-abc").write_bytes(MESSAGE[:10])  # cut off mid-write
    path = deliver(tmp_path, MESSAGE, name="mailgate-outbox-7-abc")
    assert path == tmp_path / "new" / "mailgate-outbox-7-abc"
    assert path.read_bytes() == MESSAGE


def test_delivering_one_name_twice_leaves_one_complete_file(tmp_path: Path) -> None:
    deliver(tmp_path, MESSAGE, name="mailgate-outbox-1-x")
    deliver(tmp_path, MESSAGE, name="mailgate-outbox-1-x")
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["mailgate-outbox-1-x"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_delivered_finds_a_name_in_new_or_moved_to_cur_with_flags(tmp_path: Path) -> None:
    assert delivered(tmp_path, "mailgate-outbox-1-x") is None  # no Maildir yet
    path = deliver(tmp_path, MESSAGE, name="mailgate-outbox-1-x")
    assert delivered(tmp_path, "mailgate-outbox-1-x") == path
    read = tmp_path / "cur" / "mailgate-outbox-1-x:2,S"
    path.rename(read)  # what a mail reader does once it has seen the message
    assert delivered(tmp_path, "mailgate-outbox-1-x") == read
    assert delivered(tmp_path, "mailgate-outbox-1-") is None  # a prefix is another name
    assert delivered(tmp_path, "mailgate-outbox-1-x[") is None  # glob characters are literal


def test_looking_for_thousands_of_names_keeps_nothing_of_them(tmp_path: Path) -> None:
    """The sender looks for each row's name before delivering it: a glob kept a compiled pattern
    per name (fnmatch's cache, 32,768 deep), about 1 kB of serve's memory per mail sent."""
    deliver(tmp_path, MESSAGE, name="mailgate-outbox-0-x")
    (tmp_path / "new" / "mailgate-outbox-0-x").rename(tmp_path / "cur" / "mailgate-outbox-0-x:2,S")
    assert delivered(tmp_path, "mailgate-outbox-0-x") is not None  # imports and first calls done
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1, 2001):
            assert delivered(tmp_path, f"mailgate-outbox-{n}-x") is None
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 200_000  # with a pattern kept per name: 1.9 MB


def test_clean_tmp_removes_files_older_than_36_hours_and_keeps_younger(tmp_path: Path) -> None:
    assert clean_tmp(tmp_path) == []  # no Maildir yet
    (tmp_path / "tmp").mkdir()
    old, young = tmp_path / "tmp" / "old", tmp_path / "tmp" / "young"
    old.write_bytes(b"x")
    young.write_bytes(b"x")
    stamp = time.time() - TMP_MAX_AGE.total_seconds() - 3600
    os.utime(old, (stamp, stamp))
    assert clean_tmp(tmp_path) == [old]
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["young"]
