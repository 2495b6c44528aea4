"""Relays for the outbound tests: real aiosmtpd servers on loopback (see servers.py)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.outbound.servers import (
    HOST,
    SEEN_PASSWORDS,
    Recorder,
    RefuseRcpt,
    authenticator,
    serving,
)
from tests.tls import self_signed


@pytest.fixture
def plain_server() -> Iterator[tuple[Recorder, int]]:
    yield from serving(Recorder())


@pytest.fixture
def server_451() -> Iterator[tuple[Recorder, int]]:
    yield from serving(RefuseRcpt(reply="451 4.3.0 try again later"))


@pytest.fixture
def server_550() -> Iterator[tuple[Recorder, int]]:
    yield from serving(RefuseRcpt(reply="550 5.1.1 no such user"))


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _server_tls(cert_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert_files)
    return context


@pytest.fixture
def starttls_auth_server(cert_files: tuple[Path, Path]) -> Iterator[tuple[Recorder, int]]:
    yield from serving(
        Recorder(),
        tls_context=_server_tls(cert_files),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )


@pytest.fixture
def plaintext_auth_server() -> Iterator[tuple[Recorder, int]]:
    """Offers AUTH and no STARTTLS: a misconfigured relay, or a man in the middle who removed STARTTLS."""
    SEEN_PASSWORDS.clear()
    yield from serving(Recorder(), authenticator=authenticator, auth_require_tls=False)


@pytest.fixture
def implicit_tls_server(cert_files: tuple[Path, Path]) -> Iterator[tuple[Recorder, int]]:
    yield from serving(Recorder(), ssl_context=_server_tls(cert_files))


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never says a word."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(8)
        yield int(s.getsockname()[1])
