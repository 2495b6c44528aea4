"""How an SMTP client is named: the IP as Python writes it, and the ADDR a front MTA's XCLIENT or
XFORWARD gives (xtext, IPV6: prefix, "[UNAVAILABLE]")."""

from __future__ import annotations

from mailgate.inbound.smtp_connection import _attributes, _named_client, client_address


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
