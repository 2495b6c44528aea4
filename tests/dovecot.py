"""A real Dovecot for IMAP tests: `dovecot -F -c CONFIG` on a loopback port, one passwd-file user.

No system service: the config, runtime files and Maildirs all live in the test's tmp directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tests.conftest import free_port

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
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{dir}/mail/%n
namespace inbox {{
  inbox = yes
  separator = /
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

    @property
    def config(self) -> Path:
        return self.dir / "dovecot.conf"

    def start(self) -> None:
        """Start (or restart, on the same Maildirs and port) and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(f"dovecot exited ({self.proc.returncode}): {err}{self.log()}")
            try:
                # Ready means a login works: right after a restart auth can say "temporary failure".
                with self.client():
                    return
            except (OSError, IMAPClientError):
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"dovecot did not listen on {self.port} within 15 s\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def crash(self) -> None:
        """Kill the server and every session process at once (SIGTERM lets sessions finish)."""
        assert self.proc is not None
        master = self.proc.pid
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent(entry) == master:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ssl_context(self) -> ssl.SSLContext:
        assert self.cert is not None
        return ssl.create_default_context(cafile=str(self.cert))

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """The test's own connection (the shop's mail client, so to speak)."""
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


def _parent(proc_dir: Path) -> int | None:
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state, after "(comm)"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def make_dovecot(directory: Path, *, starttls: bool = False, extra: str = "") -> Dovecot:
    """Write the config (plus extra lines) and the passwd file; the caller starts and stops it."""
    if shutil.which("dovecot") is None:
        pytest.fail("Dovecot is not installed: run scripts/test as root (apt-get install dovecot-imapd)")
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # The imap process runs as nobody: it must reach DIR/mail through every parent directory.
        for parent in [directory, *directory.parents]:
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o001)
    mail = directory / "mail"
    mail.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(mail, "nobody", "nogroup")
    (directory / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    cert = None
    ssl_lines = "ssl = no"
    if starttls:
        cert, key = _self_signed(directory)
        ssl_lines = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
    text = _CONFIG.format(dir=directory, port=port, ssl=ssl_lines)
    (directory / "dovecot.conf").write_text(text + extra)
    return Dovecot(dir=directory, port=port, cert=cert)


@contextmanager
def running_dovecot(directory: Path, *, starttls: bool = False, extra: str = "") -> Iterator[Dovecot]:
    server = make_dovecot(directory, starttls=starttls, extra=extra)
    server.start()
    try:
        yield server
    finally:
        server.stop()
