"""The sample corpus: direct notices, the three forwarding styles, and the spoofed ones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mailgate.authn import embedded_messages, find_originals, proof
from tests.authn.helpers import TRUSTED, txt_records
from tests.conftest import CORPUS

JST = timezone(timedelta(hours=9))
DIRECT = {
    "stores/booked-01.eml": "coubic.com",
    "stores/cancelled-01.eml": "coubic.com",
    "stores/changed-01.eml": "coubic.com",
    "stores/inquiry-01.eml": "coubic.com",
    "salonboard/booked-01.eml": "salonboard.com",
    "salonboard/cancelled-01.eml": "salonboard.com",
    "airreserve/booked-01.eml": "airreserve.net",
}


def read(name: str, linesep: bytes = b"\r\n") -> bytes:
    # The corpus is stored with CRLF; mail spooled on a Unix box often has bare LF instead.
    return (CORPUS / name).read_bytes().replace(b"\r\n", linesep)


@pytest.fixture(params=[b"\r\n", b"\n"], ids=["crlf", "lf"])
def linesep(request: pytest.FixtureRequest) -> bytes:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_direct_vendor_notices_are_proven_for_their_domain_only(name: str, linesep: bytes) -> None:
    found = find_originals(read(name, linesep), txt_records())
    assert [o.style for o in found] == ["direct"]
    direct = found[0]
    assert direct.signed_by == {DIRECT[name]}
    assert direct.forwarder == "" and direct.forwarder_signed_by == frozenset()
    ok, why = proof(direct, [DIRECT[name]], TRUSTED)
    assert ok, why
    assert why == f"DKIM signature of {DIRECT[name]} verified"
    other = "stores.jp" if DIRECT[name] != "stores.jp" else "coubic.com"
    ok, why = proof(direct, [other], TRUSTED)
    assert not ok
    assert why == f"not signed by {other}: only by {DIRECT[name]}"


def test_redirect_keeps_the_original_signature_under_the_added_headers(linesep: bytes) -> None:
    found = find_originals(read("forwarded/stores-booked-redirect.eml", linesep), txt_records())
    assert [o.style for o in found] == ["direct"]
    assert found[0].mail.from_addr == "noreply@coubic.com"
    assert proof(found[0], ["coubic.com"], []) == (True, "DKIM signature of coubic.com verified")


def test_attached_forward_verifies_the_inner_message(linesep: bytes) -> None:
    raw = read("forwarded/stores-booked-attached.eml", linesep)
    found = find_originals(raw, txt_records())
    assert [o.style for o in found] == ["direct", "attached"]
    outer, attached = found
    assert outer.signed_by == {"salon-mail.example"}
    assert not proof(outer, ["coubic.com"], TRUSTED)[0]
    assert attached.signed_by == {"coubic.com"}
    assert attached.forwarder == "uketsuke@salon-mail.example"
    assert attached.forwarder_signed_by == {"salon-mail.example"}
    assert attached.mail.from_addr == "noreply@coubic.com"
    assert attached.mail.subject == "[STORES 予約] 予約が入りました"
    assert "87246923" in attached.mail.text
    assert proof(attached, ["coubic.com"], TRUSTED) == (
        True,
        "DKIM signature of coubic.com verified (forwarded as an attachment by uketsuke@salon-mail.example)",
    )
    # Attached notices count only from trusted forwarders.
    assert proof(attached, ["coubic.com"], []) == (
        False,
        "forwarded as an attachment by uketsuke@salon-mail.example, who is not in [authn] trusted_forwarders",
    )


def test_attached_message_is_taken_from_the_raw_bytes(linesep: bytes) -> None:
    raw = read("forwarded/stores-booked-attached.eml", linesep)
    [embedded] = embedded_messages(raw)
    assert embedded.how == "rfc822"
    assert embedded.data in raw
    assert embedded.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=coubic.com;")


def test_inline_forward_from_a_trusted_forwarder(linesep: bytes) -> None:
    found = find_originals(read("forwarded/stores-booked-inline.eml", linesep), txt_records())
    assert [o.style for o in found] == ["direct", "inline"]
    inline = found[1]
    assert inline.signed_by == frozenset()
    assert inline.forwarder == "uketsuke@salon-mail.example"
    assert inline.forwarder_signed_by == {"salon-mail.example"}
    mail = inline.mail
    assert mail.from_addr == "noreply@coubic.com"
    assert mail.from_name == "STORES 予約"
    assert mail.subject == "[STORES 予約] 予約が入りました"
    assert mail.to_addrs == ("owner@salon-mail.example",)
    assert mail.date == datetime(2026, 11, 26, 21, 14, tzinfo=JST)
    assert mail.date is not None and mail.date.utcoffset() == timedelta(hours=9)
    assert mail.text.startswith("JITANBODY整体院 様\n")
    assert "◆予約番号:\n  87246923\n" in mail.text
    assert "転送します" not in mail.text
    assert proof(inline, ["coubic.com"], TRUSTED) == (
        True,
        "pasted inline by trusted forwarder uketsuke@salon-mail.example, "
        "whose mail is DKIM-signed by salon-mail.example",
    )
    assert proof(inline, ["coubic.com"], []) == (
        False,
        "pasted inline by uketsuke@salon-mail.example, who is not in [authn] trusted_forwarders",
    )


def test_unsigned_spoof_is_not_proven(linesep: bytes) -> None:
    found = find_originals(read("spoofed/stores-booked-unsigned.eml", linesep), txt_records())
    assert [o.style for o in found] == ["direct"]
    assert found[0].mail.from_addr == "noreply@coubic.com"
    assert proof(found[0], ["coubic.com"], TRUSTED) == (False, "not signed by coubic.com: no DKIM signature")
    assert found[0].notes == ("no DKIM signature",)


def test_tampered_notice_is_not_proven(linesep: bytes) -> None:
    found = find_originals(read("spoofed/stores-cancel-tampered.eml", linesep), txt_records())
    assert [o.style for o in found] == ["direct"]
    assert found[0].signed_by == frozenset()
    assert found[0].notes == ("DKIM d=coubic.com s=s1: body hash mismatch",)
    assert proof(found[0], ["coubic.com"], TRUSTED) == (
        False,
        "DKIM d=coubic.com did not verify: body hash mismatch",
    )


def test_missing_dns_record_is_named() -> None:
    records = {k: v for k, v in txt_records().items() if "coubic" not in k}
    found = find_originals(read("stores/booked-01.eml"), records)
    assert proof(found[0], ["coubic.com"], []) == (
        False,
        "DKIM d=coubic.com did not verify: no DKIM key published at s1._domainkey.coubic.com",
    )


@pytest.mark.parametrize("name", sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.eml")))
def test_every_corpus_mail_is_read_without_error(name: str) -> None:
    found = find_originals(read(name), txt_records())
    assert found and found[0].style == "direct"
    for original in found:
        ok, why = proof(original, ["coubic.com"], TRUSTED)
        assert isinstance(ok, bool) and why and "\n" not in why
