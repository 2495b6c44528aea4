"""How an SMTP client is named: the IP as Python writes it, and the ADDR a front MTA's XCLIENT or
XFORWARD gives (xtext, IPV6: prefix, "[UNAVAILABLE]"); the shortcuts a connection takes past aiosmtpd's
per-connection and per-path work give aiosmtpd's own results."""

from __future__ import annotations

import gc
import weakref

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from mailgate.config.sections import SmtpSection
from mailgate.context import Context
from mailgate.inbound.smtp import Handler
from mailgate.inbound.smtp_connection import (
    _PLAIN_PATH,
    Connection,
    SmtpLimits,
    _attributes,
    _named_client,
    client_address,
)


def test_a_client_is_its_address_as_python_writes_it() -> None:
    assert client_address("192.0.2.1") == "192.0.2.1"
    assert client_address("IPV6:2001:DB8::7") == "2001:db8::7"
    assert client_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_address("mx.example") is None


def test_xclient_attributes_are_read_with_xtext_undone() -> None:
    attributes = _attributes("ADDR=192.0.2.1 NAME=mx+2Eexample HELO=[UNAVAILABLE]")
    assert attributes == {"ADDR": "192.0.2.1", "NAME": "mx.example", "HELO": "[UNAVAILABLE]"}
    assert _attributes("ADDR") is None and _attributes("") is None and _attributes("A-B=1") is None


def test_the_client_a_front_mta_names_may_be_unknown_or_malformed() -> None:
    assert _named_client({"ADDR": "IPV6:2001:db8::1"}) == "2001:db8::1"
    assert _named_client({"ADDR": "[TEMPUNAVAIL]"}) is None
    assert _named_client({"NAME": "mx.example"}) is None
    assert _named_client({"ADDR": "not-an-ip"}) is False


def _connection(handler: object | None = None) -> Connection:
    return Connection(handler or object(), SmtpLimits.of(SmtpSection()), hostname="shop.example")


def test_a_connection_finds_every_command_and_auth_method_a_plain_smtp_finds() -> None:
    plain, ours = SMTP(object(), hostname="shop.example"), _connection()
    assert set(plain._smtp_methods) | {"XCLIENT", "XFORWARD"} == set(ours._smtp_methods)
    assert set(plain._auth_methods) == set(ours._auth_methods)
    assert ours._smtp_methods["DATA"] == ours.smtp_DATA  # our own DATA, not aiosmtpd's


def test_a_connection_finds_every_hook_of_mailgates_handler(ctx: Context) -> None:
    handler = Handler(ctx.cfg, ctx.engine, on_stored=lambda: None)
    hooks = {name.removeprefix("handle_") for name in vars(Handler) if name.startswith("handle_")}
    assert hooks >= {"EHLO", "MAIL", "RCPT", "DATA"}
    assert set(_connection(handler)._handle_hooks) == hooks


ATOM = st.text("abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
DOT_ATOM = st.lists(ATOM, min_size=1, max_size=3).map(".".join)
LABEL = st.text("abz09-", min_size=1, max_size=6)
REST = st.sampled_from(["", " SIZE=2048", " BODY=8BITMIME SMTPUTF8"]) | st.text(
    " \t\x0b\u3000()=AB", max_size=6
)


@given(local=DOT_ATOM, domain=st.lists(LABEL, min_size=1, max_size=3).map(".".join), rest=REST)
def test_a_plain_path_reads_as_aiosmtpd_reads_it(local: str, domain: str, rest: str) -> None:
    ours, arg = _connection(), f"<{local}@{domain}>{rest}"
    assert _PLAIN_PATH.fullmatch(arg) is not None  # the fast path is tried
    assert ours._getaddr(arg) == SMTP._getaddr(ours, arg)


@pytest.mark.parametrize(
    "arg",
    [
        "",
        "<>",
        "<> SIZE=10",
        '<"john doe"@example.jp>',
        "<@relay.example:user@example.jp>",
        "user@example.jp",
        "<user@[192.0.2.1]>",
        "<user@example.jp",
        "<ユーザー@例え.jp> SMTPUTF8",
        " <user@example.jp>",
        "\x0b<user@example.jp>",
        "<user@example.jp> (a comment) SIZE=1",
        "<a..b@example.jp>",
        f"<{'x' * 65}@example.jp>",
    ],
)
def test_any_other_path_reads_as_aiosmtpd_reads_it(arg: str) -> None:
    ours = _connection()
    assert ours._getaddr(arg) == SMTP._getaddr(ours, arg)


def _made_by_aiosmtpd(monkeypatch: pytest.MonkeyPatch) -> list[SMTP]:
    """The connections whose setup ran aiosmtpd's own SMTP.__init__ from now on."""
    made: list[SMTP] = []
    own = SMTP.__init__

    def counted(self: SMTP, *args: object, **kwargs: object) -> None:
        made.append(self)
        own(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SMTP, "__init__", counted)
    return made


def test_a_connection_after_the_first_copies_what_aiosmtpd_found_for_the_first(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Handler(ctx.cfg, ctx.engine, on_stored=lambda: None)
    made = _made_by_aiosmtpd(monkeypatch)
    first, second = _connection(handler), _connection(handler)
    assert made == [first]
    monkeypatch.undo()
    plain = Connection.__new__(Connection)
    SMTP.__init__(plain, handler, hostname="shop.example")
    assert set(vars(plain)) <= set(vars(second)) and set(vars(first)) == set(vars(second))
    for name, value in vars(plain).items():
        copied = getattr(second, name)
        if name in ("_smtp_methods", "_auth_methods"):
            assert copied.keys() == value.keys()
            bound = [m.method if name == "_auth_methods" else m for m in copied.values()]
            assert all(getattr(m, "__self__", second) is second for m in bound)  # not the first's
        elif name == "_client_connected_cb":
            assert copied.__self__ is second and copied.__func__ is value.__func__
        elif name in ("_closed", "_strong_reader", "_stream_reader_wr", "_drain_waiters"):
            assert copied is not getattr(first, name)  # its own reader and futures
        else:
            assert copied == value, name
    assert second._smtp_methods["DATA"] == second.smtp_DATA
    assert second._handle_hooks == plain._handle_hooks  # the handler's own, shared


def test_a_connection_runs_aiosmtpds_setup_again_when_it_holds_what_cannot_be_copied(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _made_by_aiosmtpd(monkeypatch)
    own = SMTP.__init__

    def with_a_list(self: SMTP, *args: object, **kwargs: object) -> None:
        own(self, *args, **kwargs)  # type: ignore[arg-type]
        self.pending = []  # type: ignore[attr-defined]  # a later aiosmtpd's per-connection state

    monkeypatch.setattr(SMTP, "__init__", with_a_list)
    handler = Handler(ctx.cfg, ctx.engine, on_stored=lambda: None)
    connections = [_connection(handler) for _ in range(3)]
    assert made == connections
    assert len({id(c.pending) for c in connections}) == 3  # type: ignore[attr-defined]


def test_each_handler_has_its_connections_find_its_own_hooks(ctx: Context) -> None:
    one, other = (Handler(ctx.cfg, ctx.engine, on_stored=lambda: None) for _ in range(2))
    for handler in (one, other, one, other):
        assert _connection(handler)._handle_hooks["DATA"].__self__ is handler


def test_a_handler_and_its_connections_templates_go_when_nothing_else_holds_it(ctx: Context) -> None:
    handler = Handler(ctx.cfg, ctx.engine, on_stored=lambda: None)
    for _ in range(2):
        _connection(handler)
    gone = weakref.ref(handler)
    del handler
    gc.collect()
    assert gone() is None  # serve has one handler, but the test suite makes hundreds
