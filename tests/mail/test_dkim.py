from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization

from mailgate.mail.compose import Outgoing, compose
from mailgate.mail.dkim import (
    DkimKey,
    dns_record,
    generate_private_key,
    load_key,
    load_txt_records,
    public_key_b64,
    sign,
)
from mailgate.outbound.maildir import deliver
from tests.conftest import CORPUS
from tests.dkim_check import verify

KEYS = CORPUS / "keys"
JST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def shop_key() -> DkimKey:
    return load_key(KEYS / "shop.example.mg.pem", "shop.example", "mg")


@pytest.fixture(scope="module")
def txt() -> dict[str, str]:
    return load_txt_records(KEYS / "dns.json")


@pytest.fixture(scope="module")
def fresh_key() -> DkimKey:
    return DkimKey(domain="fresh.example", selector="t1", private_pem=generate_private_key())


def _message(to: str = "taro..yamada.@docomo.ne.jp", **kw: object) -> bytes:
    fields: dict[str, object] = {
        "to": to,
        "subject": "【予約確定】12月3日 13:00 カット①",
        "body": "山田様\n\nご予約を承りました。\n.\n㈱サロン\n",
        "from_addr": "yoyaku@shop.example",
        "from_name": "サロン",
        "in_reply_to": "orig@mail.example",
        "references": ("orig@mail.example",),
    }
    fields.update(kw)
    return compose(
        Outgoing(**fields),  # type: ignore[arg-type]
        carrier_domains=["docomo.ne.jp"],
        now=datetime(2026, 12, 1, 9, 0, tzinfo=JST),
    )


def test_generated_key_signs_mail_that_verifies_with_its_own_dns_record(fresh_key: DkimKey) -> None:
    name, text = dns_record(fresh_key)
    assert name == "t1._domainkey.fresh.example"
    assert text.startswith("v=DKIM1; k=rsa; p=")
    assert verify(sign(_message(), fresh_key), {name: text})


def test_generated_key_is_rsa_2048(fresh_key: DkimKey) -> None:
    key = serialization.load_pem_private_key(fresh_key.private_pem, password=None)
    assert key.key_size == 2048  # type: ignore[union-attr]


def test_public_key_of_corpus_key_matches_its_published_record(
    shop_key: DkimKey, txt: dict[str, str]
) -> None:
    name, text = dns_record(shop_key)
    assert txt[name] == text
    assert text.endswith(public_key_b64(shop_key.private_pem))


def test_signed_message_verifies_with_crlf_bytes(shop_key: DkimKey, txt: dict[str, str]) -> None:
    signed = sign(_message(), shop_key)
    assert signed.startswith(b"DKIM-Signature: ")
    assert b"\n" not in signed.replace(b"\r\n", b"")  # the header follows the message's CRLF
    assert verify(signed, txt)


def test_signed_utf8_message_verifies(shop_key: DkimKey, txt: dict[str, str]) -> None:
    assert verify(sign(_message(to="taro@example.com"), shop_key), txt)


def test_signed_message_verifies_as_stored_in_maildir(
    tmp_path: Path, shop_key: DkimKey, txt: dict[str, str]
) -> None:
    signed = sign(_message(), shop_key)
    stored = deliver(tmp_path / "Maildir", signed).read_bytes()
    assert stored == signed  # CRLF kept as given
    assert verify(stored, txt)


def test_signed_message_also_verifies_after_conversion_to_lf(shop_key: DkimKey, txt: dict[str, str]) -> None:
    # An MDA that rewrites line endings to LF does not break the relaxed signature.
    assert verify(sign(_message(), shop_key).replace(b"\r\n", b"\n"), txt)


def test_signature_covers_the_required_headers(shop_key: DkimKey) -> None:
    signed = sign(_message(), shop_key)
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    match = re.search(r"h=([^;]+);", header.replace("\r\n", ""))
    assert match is not None
    signed_headers = {h.strip().lower() for h in match.group(1).split(":")}
    assert signed_headers >= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "in-reply-to",
        "references",
        "auto-submitted",
    }
    assert "c=relaxed/relaxed" in header and "a=rsa-sha256" in header


def test_changed_body_fails_verification(shop_key: DkimKey, txt: dict[str, str]) -> None:
    signed = sign(_message(to="taro@example.com"), shop_key)
    head, body = signed.split(b"\r\n\r\n", 1)
    tampered = head + b"\r\n\r\n" + b"X" + body[1:]
    assert verify(signed, txt)
    assert not verify(tampered, txt)


def test_changed_subject_fails_verification(shop_key: DkimKey, txt: dict[str, str]) -> None:
    signed = sign(_message(subject="Booking confirmed"), shop_key)
    assert not verify(signed.replace(b"Subject: Booking confirmed", b"Subject: Booking cancelled"), txt)


def test_threading_header_added_after_signing_fails_verification(
    shop_key: DkimKey, txt: dict[str, str]
) -> None:
    # In-Reply-To is signed even when absent, so nobody can graft the mail into a thread.
    signed = sign(_message(in_reply_to="", references=()), shop_key)
    head, body = signed.split(b"\r\n\r\n", 1)
    assert not verify(head + b"\r\nIn-Reply-To: <other@evil.example>\r\n\r\n" + body, txt)


def plain_verify(message: bytes, txt: dict[str, str]) -> bool:
    """What any RFC 6376 verifier says (dkimpy alone): h= names the headers the signature covers,
    each matched from the bottom up, with no extra checks for duplicates."""

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return txt.get(name.decode().rstrip("."), "").encode()

    return bool(dkimpy.verify(message, dnsfunc=dns))


@pytest.mark.parametrize(
    "added",
    [
        b"From: =?UTF-8?B?5bqX6ZW3?= <owner@evil.example>",
        b"To: victim@example.jp",
        b"Subject: =?UTF-8?B?44GU5LqI57SE44Gv44Kt44Oj44Oz44K744Or44GV44KM44G+44GX44Gf?=",
        b"Date: Mon, 1 Jan 2024 00:00:00 +0900",
        b"Reply-To: phish@evil.example",
    ],
)
def test_a_second_copy_of_a_shown_header_added_anywhere_breaks_the_signature(
    shop_key: DkimKey, txt: dict[str, str], added: bytes
) -> None:
    # A verifier covers the bottom copy of a header, a mail client may show the top one: each of these
    # is signed once more than it appears, so no copy can be added above or below ours.
    signed = sign(_message(to="taro@example.com"), shop_key)
    assert plain_verify(signed, txt)
    assert not plain_verify(added + b"\r\n" + signed, txt)
    head, body = signed.split(b"\r\n\r\n", 1)
    assert not plain_verify(head + b"\r\n" + added + b"\r\n\r\n" + body, txt)


def test_h_names_each_shown_header_once_more_than_the_message_has_it(shop_key: DkimKey) -> None:
    signed = sign(_message(), shop_key)
    header = signed.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "")
    match = re.search(r"h=([^;]+);", header)
    assert match is not None
    names = [h.strip().lower() for h in match.group(1).split(":")]
    for name in ("from", "to", "subject", "date", "message-id", "in-reply-to", "references"):
        assert names.count(name) == 2, (name, names)
    assert names.count("reply-to") == 1  # absent: signed as absent


def test_unknown_selector_fails_verification(shop_key: DkimKey) -> None:
    assert not verify(sign(_message(), shop_key), {})


def test_record_of_another_key_fails_verification(shop_key: DkimKey, fresh_key: DkimKey) -> None:
    other = dns_record(fresh_key)[1]
    assert not verify(sign(_message(), shop_key), {"mg._domainkey.shop.example": other})


def test_pkcs8_key_is_accepted(fresh_key: DkimKey) -> None:
    key = serialization.load_pem_private_key(fresh_key.private_pem, password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert pkcs8.startswith(b"-----BEGIN PRIVATE KEY-----")
    k8 = DkimKey(domain="fresh.example", selector="t1", private_pem=pkcs8)
    assert verify(sign(_message(), k8), dict([dns_record(fresh_key)]))


def test_corpus_vendor_mail_verifies_with_dns_json(txt: dict[str, str]) -> None:
    raw = (CORPUS / "stores" / "booked-01.eml").read_bytes()
    assert verify(raw, txt)


def test_tampered_corpus_vendor_mail_fails(txt: dict[str, str]) -> None:
    raw = (CORPUS / "stores" / "booked-01.eml").read_bytes()
    tampered = raw.replace(b"To: owner@salon-mail.example", b"To: other@salon-mail.example")
    assert tampered != raw
    assert not verify(tampered, txt)


def test_load_key_rejects_a_file_that_is_not_a_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"not a key")
    with pytest.raises(ValueError):
        load_key(bad, "x.example", "s")


def test_load_txt_records_reads_json_and_rejects_other_shapes(tmp_path: Path) -> None:
    good = tmp_path / "dns.json"
    good.write_text('{"s1._domainkey.coubic.com": "v=DKIM1; k=rsa; p=AAAA"}', encoding="utf-8")
    assert load_txt_records(good) == {"s1._domainkey.coubic.com": "v=DKIM1; k=rsa; p=AAAA"}
    bad = tmp_path / "bad.json"
    bad.write_text('["v=DKIM1"]', encoding="utf-8")
    with pytest.raises(ValueError):
        load_txt_records(bad)
