"""Relay tests against real aiosmtpd servers on loopback (tests/outbound/conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailgate.mail.dkim import DkimKey, dns_record, generate_private_key, sign
from mailgate.outbound.relay import PermanentError, Relay, TransientError, parse_relay_url, send
from tests.conftest import free_port
from tests.dkim_check import verify
from tests.outbound.servers import ENV, HOST, SEEN_PASSWORDS, Recorder

pytestmark = pytest.mark.e2e  # starts real servers

MESSAGE = b"From: yoyaku@shop.example\r\nTo: a@example.com\r\nSubject: test\r\n\r\nbody\r\n.leading dot\r\n"


def _relay(port: int, tls: str = "none", **kw: Any) -> Relay:
    fields: dict[str, Any] = {"username": None, "password": None}
    fields.update(kw)
    return Relay(host=HOST, port=port, tls=tls, **fields)  # type: ignore[arg-type]


def _send(relay: Relay, rcpt: str = "a@example.com", message: bytes = MESSAGE, timeout: float = 10) -> str:
    return asyncio.run(send(relay, message, "bounce@shop.example", rcpt, timeout=timeout))


# --- send ------------------------------------------------------------------------------


def test_message_is_delivered_with_its_envelope(plain_server: tuple[Recorder, int]) -> None:
    handler, port = plain_server
    reply = _send(_relay(port))
    assert "queued as TEST123" in reply
    (envelope,) = handler.envelopes
    assert envelope.mail_from == "bounce@shop.example"
    assert envelope.rcpt_tos == ["a@example.com"]
    assert envelope.content == MESSAGE  # dot-stuffing undone, CRLF intact


def test_quoted_local_part_arrives_intact_in_rcpt_to(plain_server: tuple[Recorder, int]) -> None:
    handler, port = plain_server
    _send(_relay(port), rcpt="taro..yamada.@docomo.ne.jp")
    assert handler.raw_rcpt == ['TO:<"taro..yamada."@docomo.ne.jp>']
    # aiosmtpd itself hands handlers the unquoted form.
    assert handler.envelopes[0].rcpt_tos == ["taro..yamada.@docomo.ne.jp"]


def test_signed_message_still_verifies_after_the_relay(plain_server: tuple[Recorder, int]) -> None:
    handler, port = plain_server
    key = DkimKey(domain="shop.example", selector="t1", private_pem=generate_private_key())
    signed = sign(MESSAGE, key)
    _send(_relay(port), message=signed)
    received = handler.envelopes[0].content
    assert isinstance(received, bytes)
    assert verify(received, dict([dns_record(key)]))


def test_4xx_on_rcpt_is_transient(server_451: tuple[Recorder, int]) -> None:
    handler, port = server_451
    with pytest.raises(TransientError, match="451"):
        _send(_relay(port))
    assert handler.envelopes == []


def test_5xx_on_rcpt_is_permanent(server_550: tuple[Recorder, int]) -> None:
    _, port = server_550
    with pytest.raises(PermanentError, match="550"):
        _send(_relay(port))


def test_closed_port_is_transient() -> None:
    with pytest.raises(TransientError):
        _send(_relay(free_port()))


def test_server_that_never_answers_times_out_as_transient(silent_server: int) -> None:
    with pytest.raises(TransientError):
        _send(_relay(silent_server), timeout=0.5)


def test_starttls_with_auth_delivers_when_credentials_match(
    starttls_auth_server: tuple[Recorder, int],
) -> None:
    handler, port = starttls_auth_server
    relay = parse_relay_url(f"smtp+starttls://{HOST}:{port}?verify_tls=false", ENV)
    assert relay.tls == "starttls" and not relay.verify_tls
    assert "queued" in _send(relay)
    assert handler.authenticated == [True]


def test_plain_smtp_url_upgrades_to_starttls_when_offered(
    starttls_auth_server: tuple[Recorder, int],
) -> None:
    # The server refuses MAIL before STARTTLS and offers AUTH only over TLS.
    handler, port = starttls_auth_server
    _send(_relay(port, "none", username="mailgate", password="s3cret pass", verify_tls=False))
    assert handler.authenticated == [True]


def test_wrong_password_is_permanent(starttls_auth_server: tuple[Recorder, int]) -> None:
    handler, port = starttls_auth_server
    relay = _relay(port, "starttls", username="mailgate", password="wrong", verify_tls=False)
    with pytest.raises(PermanentError, match="535"):
        _send(relay)
    assert handler.envelopes == []


def test_missing_credentials_against_auth_server_is_refused(
    starttls_auth_server: tuple[Recorder, int],
) -> None:
    _, port = starttls_auth_server
    with pytest.raises(PermanentError, match="530"):
        _send(_relay(port, "starttls", verify_tls=False))


def test_self_signed_certificate_is_rejected_when_verification_is_on(
    starttls_auth_server: tuple[Recorder, int],
) -> None:
    handler, port = starttls_auth_server
    with pytest.raises(TransientError):
        _send(_relay(port, "starttls", username="mailgate", password="s3cret pass", verify_tls=True))
    assert handler.envelopes == []


def test_required_starttls_fails_when_the_server_does_not_offer_it(
    plain_server: tuple[Recorder, int],
) -> None:
    handler, port = plain_server
    with pytest.raises(TransientError):
        _send(_relay(port, "starttls"))
    assert handler.envelopes == []


def test_credentials_are_not_used_when_the_server_offers_no_auth(plain_server: tuple[Recorder, int]) -> None:
    handler, port = plain_server
    _send(_relay(port, username="mailgate", password="s3cret pass"))
    assert handler.authenticated == [False]
    assert len(handler.envelopes) == 1


def test_the_password_is_never_sent_when_the_relay_offers_auth_without_starttls(
    plaintext_auth_server: tuple[Recorder, int],
) -> None:
    # A man in the middle who strips STARTTLS looks exactly like this relay to us.
    handler, port = plaintext_auth_server
    relay = parse_relay_url(f"smtp://{HOST}:{port}", ENV)
    with pytest.raises(TransientError, match="AUTH without TLS"):
        _send(relay)
    assert SEEN_PASSWORDS == [] and handler.envelopes == []


def test_the_password_goes_over_starttls_when_the_relay_offers_it(
    starttls_auth_server: tuple[Recorder, int],
) -> None:
    SEEN_PASSWORDS.clear()
    _, port = starttls_auth_server
    _send(parse_relay_url(f"smtp://{HOST}:{port}?verify_tls=false", ENV))
    assert SEEN_PASSWORDS == [("s3cret pass", True)]


def test_a_loopback_relay_marked_plaintext_auth_gets_the_password_without_tls(
    plaintext_auth_server: tuple[Recorder, int],
) -> None:
    handler, port = plaintext_auth_server
    relay = parse_relay_url(f"smtp://{HOST}:{port}?plaintext_auth=loopback", ENV)
    assert "queued" in _send(relay)
    assert SEEN_PASSWORDS == [("s3cret pass", False)] and handler.authenticated == [True]


@pytest.mark.parametrize("host", ["mail.example.com", "192.0.2.1", "[2001:db8::1]"])
def test_plaintext_auth_is_refused_for_a_relay_off_this_host(host: str) -> None:
    with pytest.raises(ValueError, match="plaintext_auth=loopback is only for a relay on this host"):
        parse_relay_url(f"smtp://{host}:25?plaintext_auth=loopback", ENV)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plaintext_auth_is_accepted_for_a_loopback_relay(host: str) -> None:
    assert parse_relay_url(f"smtp://{host}:25?plaintext_auth=loopback", ENV).plaintext_auth


def test_implicit_tls_delivers(implicit_tls_server: tuple[Recorder, int]) -> None:
    handler, port = implicit_tls_server
    relay = parse_relay_url(f"smtps://{HOST}:{port}?verify_tls=false", {})
    assert relay.tls == "implicit"
    _send(relay)
    assert len(handler.envelopes) == 1


def test_address_with_line_break_is_permanent_without_connecting() -> None:
    # Nothing listens on this port: a connection attempt would be a TransientError.
    with pytest.raises(PermanentError):
        _send(_relay(free_port()), rcpt="a@example.com\r\nDATA")


# --- parse_relay_url -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "tls", "port"),
    [
        ("smtp://mail.example.com", "none", 25),
        ("smtp://mail.example.com:587", "none", 587),
        ("smtp+starttls://mail.example.com:587", "starttls", 587),
        ("smtp+starttls://mail.example.com", "starttls", 25),
        ("smtps://mail.example.com", "implicit", 465),
        ("SMTPS://mail.example.com:2465", "implicit", 2465),
    ],
)
def test_scheme_sets_tls_mode_and_default_port(url: str, tls: str, port: int) -> None:
    relay = parse_relay_url(url, {})
    assert (relay.host, relay.port, relay.tls) == ("mail.example.com", port, tls)
    assert relay.username is None and relay.password is None and relay.verify_tls


def test_credentials_come_from_the_environment() -> None:
    relay = parse_relay_url("smtp://mail.example.com:587", ENV)
    assert (relay.username, relay.password) == ("mailgate", "s3cret pass")


def test_credentials_in_the_url_are_accepted_and_the_environment_wins() -> None:
    relay = parse_relay_url("smtp://u%40x:p%3Aw@mail.example.com", {})
    assert (relay.username, relay.password) == ("u@x", "p:w")
    relay = parse_relay_url("smtp://u:p@mail.example.com", ENV)
    assert (relay.username, relay.password) == ("mailgate", "s3cret pass")


def test_ipv6_host_is_parsed() -> None:
    relay = parse_relay_url("smtp://[::1]:2525", {})
    assert (relay.host, relay.port) == ("::1", 2525)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://mail.example.com", "scheme"),
        ("mail.example.com:25", "scheme"),
        ("smtp://", "no host"),
        ("smtp://mail.example.com:abc", "bad relay URL"),
        ("smtp://mail.example.com:99999", "bad relay URL"),
        ("smtp://mail.example.com/path", "path"),
        ("smtp://mail.example.com?tls=1", "unknown parameter"),
    ],
)
def test_bad_url_raises_a_clear_value_error(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_relay_url(url, {})


def test_repr_does_not_show_the_password() -> None:
    relay = parse_relay_url("smtp://mail.example.com", ENV)
    assert "s3cret" not in repr(relay)
