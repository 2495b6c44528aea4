"""A throwaway PostgreSQL on a loopback port, its data in a directory of the caller's: the tests'
session server (conftest `pg_url`) and the benchmarks' (scripts/bench_nodes.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@dataclass(frozen=True)
class Postgres:
    url: str  # the `postgres` database, as the superuser `postgres`
    data: Path

    @property
    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def running_postgres(base: Path, *settings: str) -> Iterator[Postgres]:
    """initdb in base/data, started on 127.0.0.1 with the given `-c name=value` settings, stopped
    (immediate) at the end. Raises FileNotFoundError when PostgreSQL is not installed."""
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    # The socket's path must fit in 107 bytes (sun_path): a short directory of its own, not under base.
    data, sock = base / "data", Path(tempfile.mkdtemp(prefix="pg-"))
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        os.chmod(base, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
        for parent in base.parents:  # postgres must be able to reach its data directory
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = " ".join([f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", *(f"-c {s}" for s in settings)])
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-l", str(base / "log"), "-w", "-o", options, "start"], check=True, capture_output=True
    )
    try:
        yield Postgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(sock, ignore_errors=True)
