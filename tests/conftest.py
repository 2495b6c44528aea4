"""Shared fixtures: configs in temp dirs, a real `mailgate serve`, a throwaway PostgreSQL."""

from __future__ import annotations

import atexit
import compileall
import contextlib
import functools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from mailgate import config, schema
from mailgate.context import Context
from mailgate.db import make_engine
from tests.ports import free_port
from tests.postgres import pg_bin, running_postgres

# Hypothesis's default 200 ms deadline per example is a timing assertion: on this shared 2-core
# machine a linear parse of a large example took 333 ms and failed the suite. Hangs are bounded by
# tests/hang_guard.py instead.
settings.register_profile("mailgate", deadline=None)
settings.load_profile("mailgate")

pytest_plugins = ["tests.cli.month"]  # the generated month of a 5-staff shop: the `month` fixture

REPO = Path(__file__).resolve().parent.parent
# A copy of ../shared/corpus kept with the tests, so a fresh clone has everything it needs.
CORPUS = REPO / "tests" / "corpus"
SECRET = "test-secret-" + "x" * 24


# A load run's [mail] limits: a burst of new customers from one test client does not reach them.
RAISED_MAIL_LIMITS = "\n".join(
    f"{name} = 1000000"
    for name in (
        "replies_per_client_hour",
        "replies_total_hour",
        "new_customers_per_client_hour",
        "new_customers_total_hour",
    )
)


def write_config(
    directory: Path,
    extra: str = "",
    *,
    db_url: str | None = None,
    shop: str = "",
    mail: str = "",
    database: bool = True,
) -> Path:
    """A mailgate.toml for the test shop; extra TOML is appended (later sections win by not repeating),
    `shop` is added to the [shop] section, `mail` to [mail]. Without db_url the database is
    var/mailgate.db, a copy of the migrated template (database=False: none, mailgate creates it)."""
    directory.mkdir(parents=True, exist_ok=True)
    if database and not db_url:
        seed_database(directory / "var" / "mailgate.db")
    path = directory / "mailgate.toml"
    db = f'[db]\nurl = "{db_url}"\n' if db_url else ""
    path.write_text(
        f"""
[mail]
domains = ["shop.example"]
signup = "signup@shop.example"
notices = "notices@shop.example"
{mail}

[shop]
name = "テスト整体院"
{shop}

[links]
secrets = ["{SECRET}"]

[paths]
var = "var"
{db}{extra}
""",
        encoding="utf-8",
    )
    return path


def pytest_configure(config: pytest.Config) -> None:
    """The checkout's bytecode, written once before the workers start. Where PYTHONDONTWRITEBYTECODE
    is set (as on these machines) nothing writes it, and every `mailgate serve`, reader and command a test
    starts compiled mailgate from source again: some 0.3 s of CPU each, hundreds of times."""
    if not hasattr(config, "workerinput"):  # the controller (or the only process)
        for directory in ("mailgate", "tests", "scripts"):
            compileall.compile_dir(REPO / directory, quiet=1)


# --- The e2e marker: every test that starts a server or a browser carries it -------------------------
# `pytest -m "not e2e"` is the quick inner loop; scripts/test runs everything.

_RUNNING: list[pytest.Item] = []


@pytest.fixture(autouse=True)
def _running_test(request: pytest.FixtureRequest) -> Iterator[None]:
    _RUNNING.append(request.node)
    yield
    _RUNNING.pop()


def starts_a_server(what: str) -> None:
    """Called where a test starts a server or a browser: the test must be marked e2e."""
    if _RUNNING and _RUNNING[-1].get_closest_marker("e2e") is None:
        pytest.fail(f"{_RUNNING[-1].nodeid} starts {what}: mark it @pytest.mark.e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on PostgreSQL starts (or shares) a PostgreSQL server: it is e2e.

    The directories of the longest tests (10-30 s each: servers killed and restarted, a wheel
    installed, load scripts) run first: xdist hands out tests in this order, and collected last they
    left one worker finishing them while the other had nothing to do. Each module stays whole."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("dialect") == "postgresql"
        if on_pg or {"pg_url", "pg_db_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.path.parent.name not in LONGEST_FIRST)


LONGEST_FIRST = ("e2e", "scripts")


# --- Databases: built by the migrations once per session into a template, copied for each test ---------


@functools.cache
def sqlite_template() -> Path:
    """Migrated once, on first use; checkpointed, so that the file alone is the whole database."""
    directory = Path(tempfile.mkdtemp(prefix="mailgate-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "mailgate.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as c:  # outside any transaction, as a checkpoint must be
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not path.with_name("mailgate.db-wal").exists(), "a copy must have everything in one file"
    return path


def seed_database(path: Path) -> None:
    """An SQLite database at head at path, unless there is one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template(), path)


@pytest.fixture
def cfg_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def ctx(cfg_path: Path) -> Context:
    return Context.build(config.load(cfg_path))


@dataclass
class Served:
    proc: subprocess.Popen[str]
    config: Path
    var: Path
    smtp_port: int
    http_port: int
    banner: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def outbox(self) -> Path:
        return self.var / "outbox"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)


def start_serve(
    config_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    mailgate: tuple[str, ...] = (sys.executable, "-m", "mailgate"),
    **popen: object,
) -> Served:
    """`mailgate serve` on free loopback ports; `mailgate` is the command (default: the one under test).
    Its log is a pipe the test reads, unless `stderr=` names a file (a test that makes much log:
    nobody reading a full pipe would stop the server)."""
    starts_a_server("mailgate serve")
    for _ in range(PORT_TRIES - 1):
        try:
            return _start_serve(config_path, args, env, mailgate, popen)
        except PortTaken:
            continue  # a free port was taken between our probe and serve's bind (other tests' clients)
    return _start_serve(config_path, args, env, mailgate, popen)


PORT_TRIES = 4


class PortTaken(AssertionError):
    pass


def _start_serve(
    config_path: Path,
    args: tuple[str, ...],
    env: dict[str, str] | None,
    mailgate: tuple[str, ...],
    popen: dict[str, object],
) -> Served:
    smtp_port, http_port = free_port(), free_port()
    var = config_path.parent / "var"
    log = popen.get("stderr")
    proc = subprocess.Popen(
        [
            *mailgate,
            "--config",
            str(config_path),
            "serve",
            "--smtp",
            f"127.0.0.1:{smtp_port}",
            "--http",
            f"127.0.0.1:{http_port}",
            *args,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **{"stderr": subprocess.PIPE, **popen},  # type: ignore[arg-type]
    )
    banner = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            code = proc.wait()
            err = proc.stderr.read() if proc.stderr else Path(getattr(log, "name", "/dev/null")).read_text()
            why = PortTaken if "address already in use" in err else AssertionError
            raise why(f"mailgate serve exited early ({code}):\n{''.join(banner)}\n{err}")
        banner.append(line)
        if line.strip() == "ready":
            return Served(proc, config_path, var, smtp_port, http_port, "".join(banner))
    proc.kill()
    raise AssertionError("mailgate serve did not become ready in 30 s")


@pytest.fixture
def served(cfg_path: Path) -> Iterator[Served]:
    s = start_serve(cfg_path)
    yield s
    s.stop()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# --- PostgreSQL: a throwaway server on a loopback port, started once per test session ---------------


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("MAILGATE_TEST_PG_URL"):
        yield os.environ["MAILGATE_TEST_PG_URL"]
        return
    if pg_bin() is None:
        pytest.fail(
            "PostgreSQL is not installed: run scripts/test as root to install it, or set MAILGATE_TEST_PG_URL"
        )
    with running_postgres(tmp_path_factory.mktemp("pg"), *THROWAWAY) as server:
        yield server.url


# Nothing a test server holds must outlive a crash; with a minimal WAL, CREATE DATABASE ... STRATEGY
# FILE_COPY (a copy per test) takes a quarter of the default's time (it writes the template to the WAL).
THROWAWAY = (
    "fsync=off",
    "full_page_writes=off",
    "synchronous_commit=off",
    "wal_level=minimal",
    "max_wal_senders=0",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, dialect: str) -> Iterator[str]:
    """A fresh database at head per test."""
    if dialect == "sqlite":
        seed_database(tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _pg_at_head(request)


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path, dialect: str) -> Iterator[str]:
    """A database with no tables, on the same engine as db_url."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield from _fresh_pg_database(request, None)


@pytest.fixture
def pg_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL has (several nodes writing at once)."""
    yield from _pg_at_head(request)


class PgReused:
    """Databases at head, each emptied for the next test instead of copied anew: a copy (CREATE
    DATABASE ... TEMPLATE) took 0.3-0.4 s under the suite's load (its checkpoint writes every
    database's dirty buffers), emptying all tables 0.05 s. A database whose schema a test changed
    (its tables, columns, indexes or constraints differ from the template's) is dropped instead."""

    _SHAPE = """
        SELECT 'c', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'i', tablename, indexname, indexdef, '', ''
          FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT 'k', conrelid::regclass::text, conname, pg_get_constraintdef(oid), '', ''
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT 'v', version_num, '', '', '', '' FROM alembic_version
        ORDER BY 1, 2, 3"""

    def __init__(self, base: str, template: str) -> None:
        import sqlalchemy as sa

        self.base, self.template = base, template
        self.admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        self.free: list[str] = []
        self.made = 0
        self.shape, self.tables = self._shape_of(template)

    def url(self, name: str) -> str:
        return self.base.rsplit("/", 1)[0] + "/" + name

    def _shape_of(self, name: str) -> tuple[list[tuple[str, ...]], list[str]]:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        engine = sa.create_engine(self.url(name), poolclass=NullPool)
        try:
            with engine.connect() as c:
                shape = [tuple(r) for r in c.execute(sa.text(self._SHAPE))]
        finally:
            engine.dispose()
        return shape, sorted({t for kind, t, *_ in shape if kind == "c" and t != "alembic_version"})

    def take(self) -> str:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        while self.free:
            name = self.free.pop()
            with self.admin.connect() as c:  # a test's connections left behind would hold locks
                c.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
            try:
                if self._shape_of(name)[0] == self.shape:
                    engine = sa.create_engine(self.url(name), poolclass=NullPool)
                    try:
                        with engine.begin() as c:
                            tables = ", ".join(f'"{t}"' for t in self.tables)
                            c.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                    finally:
                        engine.dispose()
                    return name
            except sa.exc.DBAPIError:
                pass  # not fit to reuse: dropped below
            self._drop(name)
        self.made += 1
        name = f"t_{os.getpid()}_{self.made}"
        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY'))
        return name

    def _drop(self, name: str) -> None:
        import sqlalchemy as sa

        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self.free:
            self._drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_reused(pg_url: str, pg_template: str) -> Iterator[PgReused]:
    reused = PgReused(pg_url, pg_template)
    yield reused
    reused.close()  # before the template goes


def _pg_at_head(request: pytest.FixtureRequest) -> Iterator[str]:
    reused: PgReused = request.getfixturevalue("pg_reused")
    name = reused.take()
    try:
        yield reused.url(name)
    finally:
        reused.free.append(name)  # emptied when the next test takes it


@pytest.fixture(scope="session")
def pg_template(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session: tests get copies (CREATE DATABASE
    ... TEMPLATE)."""
    import sqlalchemy as sa

    name = f"mailgate_template_{os.getpid()}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(pg_url.rsplit("/", 1)[0] + "/" + name)
    schema.upgrade(engine)
    engine.dispose()  # a template must have no connections
    yield name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg_database(request: pytest.FixtureRequest, template: str | None) -> Iterator[str]:
    """A new database: a copy of template, or empty (None)."""
    import sqlalchemy as sa

    base = request.getfixturevalue("pg_url")
    name = f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}" + ("" if template else "_empty")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        c.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_ctx(tmp_path: Path, db_url: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", db_url=db_url)))


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that keeps nothing private (0): whatever mailgate makes private, it makes so itself."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def private(path: Path) -> bool:
    """Readable, writable and searchable by its owner alone."""
    return path.stat().st_mode & 0o077 == 0
