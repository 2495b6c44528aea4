"""The IMAP session: credentials, connecting with TLS or STARTTLS, logging in, and the one-line
problem reports an operator reads (never containing the password or token)."""

from __future__ import annotations

import contextlib
import os
import ssl

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from mailgate.config import Config, ImapSection

TIMEOUT = 30.0  # seconds for the connection and for any one reply


class ImapError(Exception):
    """A problem worded for the operator (never containing the password or token)."""


def section(cfg: Config) -> ImapSection:
    if cfg.imap is None:
        raise ImapError("no [imap] section in the configuration")
    return cfg.imap


def mailbox_key(im: ImapSection) -> str:
    """The ImapState row's name: UIDs belong to one folder of one account on one server."""
    return f"{im.username}@{im.host}/{im.folder}"


def describe(cfg: Config) -> str:
    """One line for the serve banner."""
    im = section(cfg)
    auth = "XOAUTH2" if im.oauth2_token_file or im.oauth2_token_env else "password"
    then = f"flag {im.flag}" if im.after == "flag" else f"move to {im.move_to}"
    return f"{mailbox_key(im)} on port {im.server_port} ({im.security}, {auth}; then {then})"


def credentials(cfg: Config) -> tuple[str, str]:
    """("XOAUTH2" or "password", the secret). Raises ImapError naming what is missing."""
    im = section(cfg)
    if im.oauth2_token_file:
        path = cfg.resolve(im.oauth2_token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ImapError(f"[imap] oauth2_token_file {path}: {e.strerror}") from None
        if not token:
            raise ImapError(f"[imap] oauth2_token_file {path} is empty")
        return "XOAUTH2", token
    if im.oauth2_token_env:
        token = os.environ.get(im.oauth2_token_env, "").strip()
        if not token:
            raise ImapError(f"{im.oauth2_token_env} is not set: the XOAUTH2 access token for {im.username}")
        return "XOAUTH2", token
    password = os.environ.get(im.password_env, "")
    if not password:
        raise ImapError(
            f"{im.password_env} is not set: the password of {im.username} (for Gmail an app password)"
        )
    return "password", password


def connect(cfg: Config) -> IMAPClient:
    """Connect, secure the connection as configured and log in."""
    im = section(cfg)
    kind, secret = credentials(cfg)
    try:
        context = ssl.create_default_context(cafile=str(cfg.resolve(im.ca_file)) if im.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise ImapError(f"[imap] ca_file {cfg.resolve(im.ca_file or '')}: {e}") from None
    where = f"{im.host}:{im.server_port}"
    try:
        client = IMAPClient(
            im.host,
            im.server_port,
            ssl=im.security == "tls",
            ssl_context=context if im.security == "tls" else None,
            timeout=TIMEOUT,
        )
    except OSError as e:
        raise ImapError(f"cannot connect to {where}: {e}") from None
    try:
        if im.security == "starttls":
            try:
                client.starttls(context)
            except CapabilityError:
                raise ImapError(f'{where} does not offer STARTTLS (try security = "tls")') from None
        if kind == "XOAUTH2":
            client.oauth2_login(im.username, secret)
        else:
            client.login(im.username, secret)
    except LoginError as e:
        shutdown(client)
        raise ImapError(f"{kind} login to {where} as {im.username} refused: {_text(e)}") from None
    except BaseException:
        shutdown(client)
        raise
    return client


def _text(e: BaseException) -> str:
    # imapclient puts the server's bytes repr in its messages: b'[AUTHENTICATIONFAILED] ...'
    text = str(e)
    for prefix in ("b'", 'b"'):
        if text.startswith(prefix) and text.endswith(prefix[1]):
            text = text[2:-1]
    return text


def problem(e: BaseException) -> str:
    """One line for the operator: what went wrong talking to the server."""
    return str(e) if isinstance(e, ImapError) else f"{type(e).__name__}: {_text(e)}"


def shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):  # already closed
        client.shutdown()
