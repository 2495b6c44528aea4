"""A real Dovecot for IMAP tests: `dovecot -F -c CONFIG` on a loopback port, one passwd-file user.

No system service: config, runtime files and Maildirs live in a directory of their own under the
system temp directory, not under pytest's tmp_path: the imap process runs as nobody and must reach
its Maildir, and every pytest run (another engineer's too) resets /tmp/pytest-of-USER to mode 0700.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tests.conftest import free_port, starts_a_server
from tests.tls import self_signed

USER = "booker"
PASSWORD = "secret-app-password"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{dir}/mail/%n
namespace inbox {{
  inbox = yes
  separator = /
}}
# Tests fail logins on purpose: no growing delay for the next login from 127.0.0.1.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {dir}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={dir}/mail/%n
}}
"""


@dataclass
class Dovecot:
    dir: Path
    port: int
    cert: Path | None = None  # set when started with STARTTLS
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (or restart, on the same Maildirs and port) and wait until a login works."""
        self.proc = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(f"dovecot exited ({self.proc.returncode}): {err}{self.log()}")
            try:
                # Not just the port: right after a restart, auth can answer "temporary failure".
                with self.client():
                    return
            except (OSError, IMAPClientError):
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"dovecot did not accept a login on {self.port} within 15 s\n{self.log()}")

    def stop(self, wait: bool = True) -> None:
        """SIGTERM; the master takes about a second to exit, so a final stop need not wait for it."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        if wait:
            _reap(proc)
        else:
            _stopping.append(proc)

    def crash(self) -> None:
        """Stop with every IMAP session killed at once (on SIGTERM, sessions finish what they do)."""
        assert self.proc is not None
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent_and_name(entry) == (self.proc.pid, "imap"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        self.stop()

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ssl_context(self) -> ssl.SSLContext:
        assert self.cert is not None
        return ssl.create_default_context(cafile=str(self.cert))

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """The test's own connection (the shop's phone, so to speak)."""
        c = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            if self.cert is not None:
                c.starttls(self.ssl_context())
            c.login(self.user, self.password)
            yield c
        finally:
            try:
                c.logout()
            except Exception:
                c.shutdown()


def make_dovecot(*, starttls: bool = False, extra: str = "") -> Dovecot:
    """Write config (plus extra lines), passwd file and Maildir root; the caller starts and stops it."""
    if shutil.which("dovecot") is None:
        pytest.fail("Dovecot is not installed: run scripts/test as root (apt-get install dovecot-imapd)")
    directory = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-"))
    _dirs.append(directory)
    if os.geteuid() == 0:
        # The imap process runs as nobody: it must reach DIR/mail through every parent directory.
        for parent in [directory, *directory.parents]:
            if parent != Path("/"):
                os.chmod(parent, os.stat(parent).st_mode | 0o001)
    mail = directory / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        shutil.chown(mail, "nobody", "nogroup")
    (directory / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    cert = None
    ssl_lines = "ssl = no"
    if starttls:
        cert, key = self_signed(directory)
        ssl_lines = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
    (directory / "dovecot.conf").write_text(_CONFIG.format(dir=directory, port=port, ssl=ssl_lines) + extra)
    return Dovecot(dir=directory, port=port, cert=cert)


@contextmanager
def running_dovecot(*, starttls: bool = False, extra: str = "") -> Iterator[Dovecot]:
    starts_a_server("Dovecot")
    server = make_dovecot(starttls=starttls, extra=extra)
    server.start()
    try:
        yield server
    finally:
        server.stop(wait=False)


@contextmanager
def oauth2_server(tokens: dict[str, str]) -> Iterator[str]:
    """An OAuth2 token introspection endpoint (token -> user) for Dovecot's oauth2 passdb, as Google or
    Microsoft would answer it; yields the Dovecot config lines that turn on XOAUTH2 against it."""

    class Introspect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            token = parse_qs(body).get("token", [""])[0]
            user = tokens.get(token)
            data = json.dumps({"active": True, "username": user} if user else {"active": False}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Introspect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    directory = Path(tempfile.mkdtemp(prefix="mailgate-oauth2-"))
    _dirs.append(directory)
    os.chmod(directory, 0o755)  # read by Dovecot's auth process
    conf = directory / "oauth2.conf.ext"
    conf.write_text(
        "introspection_mode = post\n"
        f"introspection_url = http://127.0.0.1:{server.server_address[1]}/introspect\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
    )
    os.chmod(conf, 0o644)
    try:
        yield (
            "auth_mechanisms = plain login xoauth2\n"
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {conf}\n}}\n"
        )
    finally:
        server.shutdown()
        server.server_close()


_stopping: list[subprocess.Popen[bytes]] = []
_dirs: list[Path] = []


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@atexit.register
def _cleanup() -> None:
    for proc in _stopping:
        _reap(proc)
    for directory in _dirs:
        shutil.rmtree(directory, ignore_errors=True)


def _parent_and_name(proc_dir: Path) -> tuple[int, str] | None:
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None
    name, rest = stat.split(" (", 1)[1].rsplit(") ", 1)
    return int(rest.split()[1]), name  # ppid is the field after the state
