"""IMAP intake against a real Dovecot: stored once, flagged or moved (never deleted, never \\Seen by
our fetch), UIDVALIDITY changes and crashes between store and flag store nothing twice, IDLE is prompt."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from imapclient.exceptions import IMAPClientError
from sqlalchemy import event
from sqlmodel import Session, select

from mailgate import config
from mailgate.context import Context
from mailgate.inbound import imap, imap_session, spool
from mailgate.models import ImapState, Message, MessageState
from tests.conftest import REPO, start_serve, wait_for, write_config
from tests.dovecot import PASSWORD, Dovecot, oauth2_server, running_dovecot

pytestmark = pytest.mark.e2e  # starts real servers

STORED = b"$MailgateStored"


def mail(n: int, size: int = 0) -> bytes:
    filler = ("x" * 76 + "\r\n") * (size // 78)
    return (
        f"From: Vendor <notice@vendor.example>\r\nTo: shop@vendor-mail.example\r\n"
        f"Subject: =?UTF-8?B?5LqI57SE?= {n}\r\nMessage-ID: <notice-{n}@vendor.example>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0900\r\n\r\nnotice {n}\r\n{filler}"
    ).encode()


def imap_toml(dc: Dovecot, extra: str = "") -> str:
    return (
        f'[imap]\nhost = "{dc.host}"\nport = {dc.port}\nsecurity = "none"\nusername = "{dc.user}"\n'
        f'password_env = "MAILGATE_TEST_IMAP_PW"\n{extra}'
    )


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILGATE_TEST_IMAP_PW", PASSWORD)  # every test Dovecot has the same user


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as dc:
        yield dc


@pytest.fixture
def shop(tmp_path: Path, dovecot: Dovecot) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", imap_toml(dovecot))))


def with_imap(ctx: Context, dc: Dovecot, extra: str) -> Context:
    """The same shop (database, spool) with other [imap] settings."""
    path = write_config(ctx.cfg.var_dir.parent, imap_toml(dc, extra))
    return Context.build(config.load(path))


def append(dc: Dovecot, *messages: bytes, folder: str = "INBOX") -> None:
    with dc.client() as c:
        if not c.folder_exists(folder):
            c.create_folder(folder)
        for raw in messages:
            c.append(folder, raw)


def flags(dc: Dovecot, folder: str = "INBOX") -> list[set[bytes]]:
    with dc.client() as c:
        c.select_folder(folder, readonly=True)
        found = c.get_flags(c.search("ALL"))
        return [set(found[uid]) for uid in sorted(found)]


def messages(ctx: Context) -> list[Message]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Message).order_by(Message.id)))


def state(ctx: Context) -> ImapState:
    with Session(ctx.engine) as s:
        return s.exec(select(ImapState)).one()


def test_appended_mail_is_stored_once_flagged_and_not_marked_seen(shop: Context, dovecot: Dovecot) -> None:
    append(dovecot, mail(1), mail(2), mail(3))
    assert imap.poll_once(shop.cfg, shop.engine) == imap.PassResult(stored=3)
    rows = messages(shop)
    assert [(m.via, m.rcpt, m.header_message_id) for m in rows] == [
        ("imap", "notices@shop.example", f"notice-{n}@vendor.example") for n in (1, 2, 3)
    ]
    assert spool.read(shop.engine, shop.cfg.spool_dir, rows[0].spool_path) == mail(1)
    for f in flags(dovecot):
        assert STORED in f and b"\\Seen" not in f and b"\\Deleted" not in f
    assert (state(shop).mailbox, state(shop).last_uid) == ("booker@127.0.0.1/INBOX", 3)

    assert imap.poll_once(shop.cfg, shop.engine) == imap.PassResult()
    append(dovecot, mail(4))
    assert imap.poll_once(shop.cfg, shop.engine) == imap.PassResult(stored=1)
    assert len(messages(shop)) == 4


def test_after_move_moves_stored_mail_to_the_folder(shop: Context, dovecot: Dovecot) -> None:
    moving = with_imap(shop, dovecot, 'after = "move"\nmove_to = "Stored/mailgate"\n')
    append(dovecot, mail(1), mail(2))
    assert imap.poll_once(moving.cfg, moving.engine) == imap.PassResult(stored=2)
    assert flags(dovecot) == []
    moved = flags(dovecot, "Stored/mailgate")
    assert len(moved) == 2
    assert all(STORED in f and b"\\Seen" not in f for f in moved)
    assert imap.poll_once(moving.cfg, moving.engine) == imap.PassResult()
    assert len(messages(moving)) == 2


def test_without_move_support_the_mail_is_copied_and_flagged_never_deleted(tmp_path: Path) -> None:
    no_move = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS\n"
    with running_dovecot(extra=no_move) as dc:
        cfg = config.load(
            write_config(tmp_path / "shop", imap_toml(dc, 'after = "move"\nmove_to = "Done"\n'))
        )
        ctx = Context.build(cfg)
        append(dc, mail(1), mail(2))
        assert imap.poll_once(cfg, ctx.engine) == imap.PassResult(stored=2)
        assert imap.poll_once(cfg, ctx.engine) == imap.PassResult()
        kept = flags(dc)
        assert len(kept) == 2 and all(STORED in f and b"\\Deleted" not in f for f in kept)
        assert len(flags(dc, "Done")) == 2
        assert len(messages(ctx)) == 2


def test_a_system_flag_marks_mail_where_a_server_keeps_no_keywords(shop: Context, dovecot: Dovecot) -> None:
    flagged = with_imap(shop, dovecot, 'flag = "\\\\Flagged"\n')
    with dovecot.client() as c:  # the shop flagged (and read) this one on the phone before we looked
        c.append("INBOX", mail(1), flags=[b"\\Flagged", b"\\Seen"])
    append(dovecot, mail(2))
    assert imap.poll_once(flagged.cfg, flagged.engine) == imap.PassResult(stored=2)
    assert flags(dovecot) == [{b"\\Flagged", b"\\Seen"}, {b"\\Flagged"}]
    assert imap.poll_once(flagged.cfg, flagged.engine) == imap.PassResult()


def test_a_new_uidvalidity_reads_the_folder_again_without_storing_twice(
    shop: Context, dovecot: Dovecot
) -> None:
    notices = with_imap(shop, dovecot, 'folder = "Notices"\n')
    append(dovecot, mail(1), mail(2), folder="Notices")
    assert imap.poll_once(notices.cfg, notices.engine) == imap.PassResult(stored=2)
    before = state(notices)
    # The folder is recreated (restored from a backup, say): same mail, new UIDs, new UIDVALIDITY.
    with dovecot.client() as c:
        c.delete_folder("Notices")
    append(dovecot, mail(1), mail(2), mail(3), folder="Notices")
    assert imap.poll_once(notices.cfg, notices.engine) == imap.PassResult(stored=1, duplicates=2)
    after = state(notices)
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 3
    assert [m.header_message_id for m in messages(notices)] == [
        f"notice-{n}@vendor.example" for n in (1, 2, 3)
    ]
    assert all(STORED in f for f in flags(dovecot, "Notices"))


def test_a_crash_between_store_and_flag_does_not_store_twice(shop: Context, dovecot: Dovecot) -> None:
    append(dovecot, mail(1))
    inserted: list[bool] = []

    @event.listens_for(shop.engine, "before_cursor_execute")
    def _saw_insert(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGE"):
            inserted.append(True)

    @event.listens_for(shop.engine, "commit")
    def _server_dies(conn) -> None:  # type: ignore[no-untyped-def]
        if inserted and dovecot.proc is not None:
            dovecot.crash()  # the message row commits; the flag that follows finds no server

    with pytest.raises((IMAPClientError, OSError)):
        imap.poll_once(shop.cfg, shop.engine)
    event.remove(shop.engine, "commit", _server_dies)
    assert len(messages(shop)) == 1

    dovecot.start()
    assert flags(dovecot) == [set()]  # neither flagged nor \Seen: it will be read again
    assert imap.poll_once(shop.cfg, shop.engine) == imap.PassResult(duplicates=1)
    assert len(messages(shop)) == 1
    assert flags(dovecot) == [{STORED}]


def test_mail_over_max_size_is_left_in_the_mailbox(tmp_path: Path, dovecot: Dovecot) -> None:
    path = write_config(tmp_path / "shop", imap_toml(dovecot))
    path.write_text(path.read_text().replace("[mail]\n", "[mail]\nmax_size = 4000\n", 1))
    ctx = Context.build(config.load(path))
    append(dovecot, mail(1, size=8000), mail(2))
    assert imap.poll_once(ctx.cfg, ctx.engine) == imap.PassResult(stored=1, too_big=1)
    assert imap.poll_once(ctx.cfg, ctx.engine) == imap.PassResult()
    assert flags(dovecot) == [set(), {STORED}]
    assert [m.header_message_id for m in messages(ctx)] == ["notice-2@vendor.example"]


@contextmanager
def running_loop(ctx: Context, passes: list[imap.PassResult]) -> Iterator[None]:
    """imap.run on an event loop of its own, as `serve` runs it; stopped through its asyncio.Event."""
    started = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        started.set()
        await imap.run(ctx.cfg, ctx.engine, box["stop"], on_stored=passes.append)  # type: ignore[arg-type]

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
        thread.join(15)
        assert not thread.is_alive(), "the IMAP loop did not stop"


def test_mail_arriving_during_idle_is_stored_promptly(shop: Context, dovecot: Dovecot) -> None:
    # idle_seconds is 300: only IDLE can explain a store well before that (the bound is a hang
    # guard far below 300 s, generous for a loaded machine).
    append(dovecot, mail(1))
    passes: list[imap.PassResult] = []
    with running_loop(shop, passes):
        wait_for(lambda: len(messages(shop)) == 1, timeout=120)
        append(dovecot, mail(2))
        wait_for(lambda: len(messages(shop)) == 2, timeout=120)
        wait_for(lambda: flags(dovecot) == [{STORED}, {STORED}])
    assert sum(p.stored for p in passes) == 2


def test_the_loop_reconnects_after_the_server_restarts(
    shop: Context, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    passes: list[imap.PassResult] = []
    with running_loop(shop, passes):
        wait_for(lambda: _has_state(shop))  # first pass done: IDLE
        dovecot.crash()
        dovecot.start()
        append(dovecot, mail(1))
        wait_for(lambda: len(messages(shop)) == 1, timeout=90)  # the reconnect backs off: 1, 2, 4 ... s
    assert flags(dovecot) == [{STORED}]
    problems = [
        r.getMessage() for r in caplog.records if r.name == "mailgate.imap" and r.levelname == "WARNING"
    ]
    assert problems and all("retrying in" in p and "\n" not in p for p in problems)


def _has_state(ctx: Context) -> bool:
    with Session(ctx.engine) as s:
        return s.exec(select(ImapState)).first() is not None


def test_starttls_with_the_servers_ca(tmp_path: Path) -> None:
    with running_dovecot(starttls=True) as dc:
        toml = imap_toml(dc).replace('security = "none"', 'security = "starttls"')
        trusting = config.load(write_config(tmp_path / "a", toml + f'ca_file = "{dc.cert}"\n'))
        append(dc, mail(1))
        assert imap.poll_once(trusting, Context.build(trusting).engine) == imap.PassResult(stored=1)
        # Without the CA the certificate is refused before the password is sent.
        strict = config.load(write_config(tmp_path / "b", toml))
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            imap.poll_once(strict, Context.build(strict).engine)
        log = dc.log()
    assert log.count("user=<booker>, method=PLAIN") == 3  # start-up check, APPEND, poll: none refused


def test_an_oauth2_token_means_an_xoauth2_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with oauth2_server({"ya29.fresh": "booker"}) as xoauth2, running_dovecot(extra=xoauth2) as dc:
        monkeypatch.setenv("MAILGATE_TEST_IMAP_TOKEN", "ya29.fresh")
        by_env = config.load(
            write_config(tmp_path / "a", imap_toml(dc, 'oauth2_token_env = "MAILGATE_TEST_IMAP_TOKEN"\n'))
        )
        append(dc, mail(1))
        assert imap.poll_once(by_env, Context.build(by_env).engine) == imap.PassResult(stored=1)
        assert "user=<booker>, method=XOAUTH2" in dc.log()
        monkeypatch.setenv("MAILGATE_TEST_IMAP_TOKEN", "")
        with pytest.raises(imap_session.ImapError, match="MAILGATE_TEST_IMAP_TOKEN is not set"):
            imap_session.credentials(by_env)

        # A token file is read at every login: a refresher can replace an expired token.
        token = tmp_path / "token"
        token.write_text("ya29.expired\n")
        by_file = config.load(write_config(tmp_path / "b", imap_toml(dc, f'oauth2_token_file = "{token}"\n')))
        engine = Context.build(by_file).engine
        refused = r"XOAUTH2 login to 127\.0\.0\.1:\d+ as booker refused: \[AUTHENTICATIONFAILED\]"
        with pytest.raises(imap_session.ImapError, match=refused) as e:
            imap.poll_once(by_file, engine)
        assert "ya29" not in str(e.value)
        token.write_text("ya29.fresh\n")
        append(dc, mail(2))
        assert imap.poll_once(by_file, engine) == imap.PassResult(stored=1)


def run_cli(cfg_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailgate", "--config", str(cfg_path), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_mailgate_poll_once_stores_and_processes(tmp_path: Path, dovecot: Dovecot) -> None:
    cfg_path = write_config(tmp_path / "shop", imap_toml(dovecot))
    append(dovecot, mail(1), mail(2))
    done = run_cli(cfg_path, "poll", "--once")
    assert done.returncode == 0, done.stderr
    assert "stored 2, already stored 0" in done.stdout and "processed 2" in done.stdout
    ctx = Context.build(config.load(cfg_path))
    assert [m.state in MessageState.FINAL for m in messages(ctx)] == [True, True]


def test_a_refused_or_missing_password_is_reported_without_the_password(
    tmp_path: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config.load(write_config(tmp_path / "shop", imap_toml(dovecot)))
    engine = Context.build(cfg).engine
    monkeypatch.setenv("MAILGATE_TEST_IMAP_PW", "not-the-password")
    with pytest.raises(
        imap_session.ImapError, match=r"password login to 127\.0\.0\.1:\d+ as booker refused"
    ) as e:
        imap.poll_once(cfg, engine)
    assert "not-the-password" not in str(e.value)
    monkeypatch.delenv("MAILGATE_TEST_IMAP_PW")
    with pytest.raises(
        imap_session.ImapError, match="MAILGATE_TEST_IMAP_PW is not set: the password of booker"
    ):
        imap.poll_once(cfg, engine)


def test_serve_reads_the_mailbox_and_stops_on_sigterm(tmp_path: Path, dovecot: Dovecot) -> None:
    cfg_path = write_config(tmp_path / "shop", imap_toml(dovecot))
    served = start_serve(cfg_path)
    try:
        assert "imap      booker@127.0.0.1/INBOX" in served.banner
        append(dovecot, mail(1))
        ctx = Context.build(config.load(cfg_path))
        wait_for(lambda: [m.state in MessageState.FINAL for m in messages(ctx)] == [True], timeout=90)
    finally:
        assert served.stop() == 0
    assert flags(dovecot) == [{STORED}]


# --- one poller per mailbox, however many nodes ------------------------------------------------------


@contextmanager
def polling(ctx: Context, stored: list[int]) -> Iterator[threading.Event]:
    """A node polling in the background; `stored` collects what each of its passes stored."""
    stop = threading.Event()
    thread = threading.Thread(
        target=imap.poll_forever, args=(ctx.cfg, ctx.engine, stop, lambda r: stored.append(r.stored))
    )
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=30)


def node(tmp_path: Path, name: str, dovecot: Dovecot, db_url: str) -> Context:
    """Another node of the same shop: same database; on SQLite the same machine and var/."""
    directory = tmp_path / ("shop" if db_url.startswith("sqlite") else name)
    return Context.build(config.load(write_config(directory, imap_toml(dovecot), db_url=db_url)))


def stored_count(ctx: Context) -> int:
    with Session(ctx.engine) as s:
        return len(list(s.exec(select(Message))))


def test_one_node_polls_a_mailbox_the_others_stand_by_and_take_over(
    tmp_path: Path, dovecot: Dovecot, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "STANDBY_SECONDS", 0.2)
    a, b = node(tmp_path, "a", dovecot, db_url), node(tmp_path, "b", dovecot, db_url)
    append(dovecot, mail(1))
    by_a: list[int] = []
    by_b: list[int] = []
    with polling(a, by_a) as stop_a:
        wait_for(lambda: stored_count(a) == 1)  # node a holds the mailbox before b starts
        with polling(b, by_b):
            _hand_over(a, b, stop_a, dovecot)
    assert (sum(by_a), sum(by_b)) == (2, 1)
    assert flags(dovecot) == [{STORED}] * 3


def _hand_over(a: Context, b: Context, stop_a: threading.Event, dovecot: Dovecot) -> None:
    with pytest.raises(imap_session.ImapError, match="another mailgate is polling"):
        imap.poll_once(b.cfg, b.engine)
    append(dovecot, mail(2))
    wait_for(lambda: stored_count(a) == 2)
    stop_a.set()  # node a goes away: b takes the mailbox
    append(dovecot, mail(3))
    wait_for(lambda: stored_count(a) == 3)


def test_a_node_whose_database_connection_died_stops_polling_and_another_takes_over(
    tmp_path: Path, dovecot: Dovecot, pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import create_engine, text

    monkeypatch.setattr(imap, "STANDBY_SECONDS", 0.2)
    a, b = node(tmp_path, "a", dovecot, pg_db_url), node(tmp_path, "b", dovecot, pg_db_url)
    append(dovecot, mail(1))
    by_a: list[int] = []
    by_b: list[int] = []
    admin = create_engine(pg_db_url)
    with polling(a, by_a):
        wait_for(lambda: stored_count(a) == 1)
        with polling(b, by_b):
            with admin.connect() as c:  # the lock's connection is cut, as when node a's network fails
                c.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                    )
                )
            append(dovecot, mail(2))
            wait_for(lambda: stored_count(a) == 2)
            append(dovecot, mail(3))
            wait_for(lambda: stored_count(a) == 3)
    admin.dispose()
    assert sum(by_a) + sum(by_b) == 3 and sum(by_b) >= 1
    assert flags(dovecot) == [{STORED}] * 3
