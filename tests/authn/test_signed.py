"""Notices signed here with the corpus keys: encodings, forwarding styles, and ways to fake them."""

from __future__ import annotations

import email
import email.policy
import re

import dkim as dkimpy
import pytest

from mailgate.authn import aligned, embedded_messages, find_originals, proof
from mailgate.mail.dkim import sign
from tests.authn.helpers import (
    GMAIL_PASTE,
    NOTICE,
    TRUSTED,
    inline_forward,
    key,
    notice,
    outer,
    pkcs1,
    raw_sign,
    rfc822_part,
    signed,
    text_part,
    txt_records,
)

COUBIC = ["coubic.com"]


def only(raw: bytes, style: str, records: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    found = [o for o in find_originals(raw, records or txt_records()) if o.style == style]
    assert len(found) == 1, [o.style for o in found]
    return found[0]


# --- encodings and line endings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "cte"),
    [
        ("iso-2022-jp", "7bit"),
        ("shift_jis", "8bit"),
        ("utf-8", "quoted-printable"),
        ("utf-8", "base64"),
        ("utf-8", "8bit"),
    ],
)
@pytest.mark.parametrize("linesep", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_signed_notice_in_each_encoding_is_proven(charset: str, cte: str, linesep: str) -> None:
    raw = signed(notice(charset=charset, cte=cte, linesep=linesep))
    direct = only(raw, "direct")
    assert direct.signed_by == {"coubic.com"}
    assert "予約が入りました" in direct.mail.text
    assert "87246923" in direct.mail.text
    assert proof(direct, COUBIC, []) == (True, "DKIM signature of coubic.com verified")


def test_notice_signed_by_mailgate_sign_is_proven() -> None:
    raw = sign(notice(charset="shift_jis", cte="8bit"), key("coubic.com", "s1"))
    assert proof(only(raw, "direct"), COUBIC, [])[0]


def test_line_endings_changed_after_signing_still_verify() -> None:
    # Signed with CRLF on the wire, stored with LF by the mailbox: canonicalization makes them equal.
    raw = signed(notice(charset="iso-2022-jp", cte="7bit")).replace(b"\r\n", b"\n")
    assert only(raw, "direct").signed_by == {"coubic.com"}


def test_simple_canonicalization_is_verified_too() -> None:
    raw = raw_sign(
        notice(),
        key("coubic.com", "s1"),
        canonicalize=(b"simple", b"simple"),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    assert only(raw, "direct").signed_by == {"coubic.com"}


# --- redirects -------------------------------------------------------------------------------------


@pytest.mark.parametrize("linesep", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_redirect_with_many_added_headers_still_verifies(linesep: bytes) -> None:
    added = linesep.join(
        [
            b"Return-Path: <uketsuke@salon-mail.example>",
            b"Delivered-To: notices@shop.example",
            b"Received: from mx.salon-mail.example (mx.salon-mail.example [192.0.2.7])",
            b"\tby mx.shop.example with ESMTPS id 4Xy; Thu, 26 Nov 2026 21:14:09 +0900",
            b"Received: from mail.coubic.com by mx.salon-mail.example; Thu, 26 Nov 2026 21:14:05 +0900",
            b"X-Forwarded-To: notices@shop.example",
            b"X-Forwarded-For: uketsuke@salon-mail.example notices@shop.example",
            b"Resent-From: uketsuke@salon-mail.example",
            b"X-Spam-Status: No, score=-0.1",
            b"Authentication-Results: mx.salon-mail.example; dkim=pass header.d=coubic.com",
        ]
    )
    raw = added + linesep + signed(notice()).replace(b"\r\n", linesep)
    direct = only(raw, "direct")
    assert direct.mail.from_addr == "noreply@coubic.com"
    assert proof(direct, COUBIC, []) == (True, "DKIM signature of coubic.com verified")


def test_redirect_by_a_forwarder_that_also_signs_is_proven_by_the_vendor_signature() -> None:
    raw = signed(signed(notice()), "salon-mail.example", "m1")
    direct = only(raw, "direct")
    assert direct.signed_by == {"coubic.com", "salon-mail.example"}
    assert proof(direct, COUBIC, [])[0]


# --- who signed -------------------------------------------------------------------------------------


def test_signature_of_another_domain_does_not_prove_a_coubic_from() -> None:
    raw = signed(notice(), "othermail.example", "o1")
    direct = only(raw, "direct")
    assert direct.mail.from_addr == "noreply@coubic.com"
    assert direct.signed_by == {"othermail.example"}
    assert proof(direct, COUBIC, TRUSTED) == (False, "not signed by coubic.com: only by othermail.example")
    # Even where othermail.example were the source's domain: it signs for its own From only.
    assert proof(direct, ["othermail.example"], []) == (
        False,
        "DKIM signature of othermail.example verified, but the From address is of coubic.com, "
        "not of othermail.example",
    )


def test_subdomain_signature_counts_for_the_parent_domain_and_back() -> None:
    sub = key("coubic.com", "s1", as_domain="mail.coubic.com")
    raw = signed(notice(), "coubic.com", "s1", as_domain="mail.coubic.com")
    direct = only(raw, "direct", txt_records(sub))
    assert direct.signed_by == {"mail.coubic.com"}
    assert proof(direct, COUBIC, []) == (True, "DKIM signature of mail.coubic.com verified")
    assert proof(direct, ["notices.mail.coubic.com"], [])[0]
    parent = only(signed(notice()), "direct")
    assert proof(parent, ["mail.coubic.com"], []) == (True, "DKIM signature of coubic.com verified")


def test_lookalike_domains_are_not_aligned() -> None:
    assert aligned("coubic.com", "COUBIC.com.")
    assert aligned("mail.coubic.com", "coubic.com")
    assert not aligned("evilcoubic.com", "coubic.com")
    assert not aligned("coubic.com.evil.example", "coubic.com")
    assert not aligned("com", "coubic.com")
    assert not aligned("co.jp", "salon.co.jp")
    assert aligned("salon.co.jp", "mail.salon.co.jp")
    assert not aligned("", "coubic.com")


def test_two_signatures_one_failing_one_verifying_is_proven() -> None:
    base = notice()
    good = signed(base)
    # A coubic.com signature over a different body, placed on top: it fails, the one below verifies.
    other = signed(notice(body=NOTICE.replace("87246923", "99999999")))
    bad_header = other[: other.index(b"Content-Type:")]
    raw = bad_header + good
    direct = only(raw, "direct")
    assert [c.verified for c in direct.signatures] == [False, True]
    assert direct.notes == (
        "DKIM d=coubic.com s=s1: body hash mismatch",
        "DKIM d=coubic.com s=s1: verified",
    )
    assert proof(direct, COUBIC, []) == (True, "DKIM signature of coubic.com verified")


def test_unknown_selector_is_reported() -> None:
    raw = signed(notice(), "coubic.com", "s1", as_domain="coubic.com")
    raw = raw.replace(b"s=s1;", b"s=zz;", 1)
    direct = only(raw, "direct")
    assert proof(direct, COUBIC, []) == (
        False,
        "DKIM d=coubic.com did not verify: no DKIM key published at zz._domainkey.coubic.com",
    )


def test_headers_changed_after_signing_fail() -> None:
    raw = signed(notice()).replace(b"Thu, 26 Nov 2026 21:14:03", b"Fri, 27 Nov 2026 21:14:03")
    assert proof(only(raw, "direct"), COUBIC, []) == (
        False,
        "DKIM d=coubic.com did not verify: signature did not verify",
    )


def test_unsigned_subject_added_above_a_signed_one_is_refused() -> None:
    # Not oversigned (like the corpus): dkimpy verifies the bottom Subject, readers show the top one.
    raw = raw_sign(
        notice(),
        key("coubic.com", "s1"),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    assert dkimpy.verify(raw, dnsfunc=lambda n, timeout=5: txt_records()[n.decode()[:-1]].encode())
    forged = b"Subject: [STORES] cancelled\r\n" + raw
    assert dkimpy.verify(forged, dnsfunc=lambda n, timeout=5: txt_records()[n.decode()[:-1]].encode())
    direct = only(forged, "direct")
    assert direct.mail.subject == "[STORES] cancelled"
    assert proof(direct, COUBIC, []) == (
        False,
        "DKIM d=coubic.com did not verify: an unsigned extra subject header was added",
    )


def test_body_length_limit_with_appended_text_is_refused() -> None:
    raw = raw_sign(notice(cte="8bit"), key("coubic.com", "s1"), length=True)
    assert only(raw, "direct").signed_by == {"coubic.com"}
    appended = raw + "本当はキャンセルです\r\n".encode()
    direct = only(appended, "direct")
    assert direct.signed_by == frozenset()
    ok, why = proof(direct, COUBIC, [])
    assert not ok
    assert re.fullmatch(
        r"DKIM d=coubic.com did not verify: signature covers only the first \d+ of \d+ body bytes", why
    )


@pytest.mark.parametrize(
    "header",
    [
        b"DKIM-Signature: garbage",
        b"DKIM-Signature: ;;;===;",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=coubic.com; s=s1; h=from; bh=!!; b=@@",
        b"DKIM-Signature: v=1; a=rsa-sha999; d=coubic.com; s=s1; c=relaxed/relaxed; h=from; bh=AAAA; b=AAAA",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=coubic.com; s=s1; c=weird/odd; h=from; bh=AAAA; b=AAAA",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=coubic.com; s=s1; h=from; bh=AAAA; b=AAAA; t=99999999999",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=coub\xffic.com; s=s\x001; h=from; bh=AAAA; b=AAAA",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=coubic.com; s=s1; l=abc; h=from; bh=AAAA; b=AAAA",
        b"DKIM-Signature:",
    ],
)
def test_garbage_signature_never_crashes(header: bytes) -> None:
    raw = header + b"\r\n" + signed(notice())
    direct = only(raw, "direct")
    assert len(direct.signatures) == 2
    assert not direct.signatures[0].verified
    assert direct.signatures[0].reason
    assert proof(direct, COUBIC, [])[0]  # the genuine signature below still counts
    garbage_only = only(header + b"\r\n" + notice(), "direct")
    ok, why = proof(garbage_only, COUBIC, [])
    assert not ok and why.startswith(("DKIM d=", "not signed by coubic.com"))


def test_unreadable_header_block_does_not_crash() -> None:
    raw = signed(notice()).replace(b"MIME-Version: 1.0", b"\x00\x01 not a header", 1)
    direct = only(raw, "direct")
    assert not direct.signed_by
    assert not proof(direct, COUBIC, [])[0]


def test_too_many_signatures_are_not_all_checked() -> None:
    junk = b"".join(b"DKIM-Signature: v=1; d=x%d.example; s=a; b=AAAA\r\n" % i for i in range(30))
    direct = only(junk + signed(notice()), "direct")
    assert len(direct.signatures) == 11
    assert direct.signatures[-1].reason == "21 more DKIM signatures not checked"


# --- forwarded as an attachment ---------------------------------------------------------------------


@pytest.mark.parametrize("linesep", [b"\r\n", b"\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("charset,cte", [("iso-2022-jp", "7bit"), ("utf-8", "quoted-printable")])
def test_attached_notice_is_proven(linesep: bytes, charset: str, cte: str) -> None:
    inner = signed(notice(charset=charset, cte=cte)).replace(b"\r\n", linesep)
    raw = signed(
        outer([text_part("転送します", linesep), rfc822_part(inner, linesep=linesep)], linesep=linesep),
        "salon-mail.example",
        "m1",
    )
    attached = only(raw, "attached")
    assert attached.signed_by == {"coubic.com"}
    assert attached.forwarder_signed_by == {"salon-mail.example"}
    assert "予約が入りました" in attached.mail.text
    assert proof(attached, COUBIC, TRUSTED)[0]


@pytest.mark.parametrize("linesep", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_base64_encoded_rfc822_attachment_is_decoded_and_proven(linesep: bytes) -> None:
    inner = signed(notice(charset="iso-2022-jp", cte="7bit"))
    raw = outer(
        [text_part("fw", linesep), rfc822_part(inner, cte="base64", linesep=linesep)], linesep=linesep
    )
    attached = only(raw, "attached")
    assert attached.signed_by == {"coubic.com"}
    assert attached.mail.from_addr == "noreply@coubic.com"
    assert any("base64" in n for n in attached.notes)


def test_rfc822_inside_multipart_alternative_inside_mixed() -> None:
    inner = signed(notice())
    alternative = (
        b'Content-Type: multipart/alternative; boundary="alt-b"\r\n\r\n'
        b"--alt-b\r\n" + text_part("plain") + b"\r\n--alt-b\r\n" + rfc822_part(inner) + b"\r\n--alt-b--\r\n"
    )
    raw = outer([text_part("fw"), alternative])
    attached = only(raw, "attached")
    assert attached.signed_by == {"coubic.com"}


def test_two_attached_notices_in_order() -> None:
    first = signed(notice())
    second = signed(notice(body=NOTICE.replace("87246923", "87246924")), "othermail.example", "o1")
    found = find_originals(outer([rfc822_part(first), rfc822_part(second)]), txt_records())
    assert [o.style for o in found] == ["direct", "attached", "attached"]
    assert [sorted(o.signed_by) for o in found[1:]] == [["coubic.com"], ["othermail.example"]]
    assert "87246924" in found[2].mail.text


def test_attached_notice_with_edited_body_is_not_proven() -> None:
    inner = signed(notice(cte="8bit")).replace(b"87246923", b"87246999")
    raw = signed(outer([rfc822_part(inner)]), "salon-mail.example", "m1")
    attached = only(raw, "attached")
    assert "87246999" in attached.mail.text
    assert proof(attached, COUBIC, TRUSTED) == (
        False,
        "DKIM d=coubic.com did not verify: body hash mismatch "
        "(forwarded as an attachment by uketsuke@salon-mail.example)",
    )


def test_attached_bytes_are_verified_even_where_reserialisation_changes_them() -> None:
    # simple/simple signs header bytes exactly; the email package refolds a long To: line, only the
    # raw-byte slice keeps it.
    to = ",".join(f"customer{i}@salon-mail.example" for i in range(6))
    base = notice(cte="8bit").replace(b"To: owner@salon-mail.example", b"To: " + to.encode())
    inner = raw_sign(
        base,
        key("coubic.com", "s1"),
        canonicalize=(b"simple", b"simple"),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    raw = outer([text_part("fw"), rfc822_part(inner)])
    rfc822 = email.message_from_bytes(raw, policy=email.policy.compat32).get_payload()[1]
    reserialised = rfc822.get_payload()[0].as_bytes()
    assert reserialised.replace(b"\n", b"\r\n") != inner  # the email package does not give the bytes back
    assert not dkimpy.verify(
        reserialised, dnsfunc=lambda n, timeout=5: txt_records()[n.decode()[:-1]].encode()
    )
    [embedded] = embedded_messages(raw)
    assert embedded.data == inner
    assert only(raw, "attached").signed_by == {"coubic.com"}


def test_eml_file_attachment_is_read() -> None:
    inner = signed(notice())
    import base64

    part = (
        b'Content-Type: application/octet-stream; name="notice.eml"\r\n'
        b'Content-Disposition: attachment; filename="notice.eml"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(inner).replace(b"\n", b"\r\n")
    )
    attached = only(outer([text_part("fw"), part]), "attached")
    assert attached.signed_by == {"coubic.com"}


def test_attachment_without_closing_boundary_and_with_padding() -> None:
    inner = signed(notice())
    raw = outer([text_part("fw"), rfc822_part(inner)])
    raw = raw[: raw.rindex(b"--==outer==--")].replace(b"--==outer==\r\n", b"--==outer==  \r\n")
    assert only(raw, "attached").signed_by == {"coubic.com"}


# --- pasted inline -----------------------------------------------------------------------------------


def test_inline_from_trusted_forwarder_is_proven() -> None:
    raw = signed(inline_forward(GMAIL_PASTE), "salon-mail.example", "m1")
    inline = only(raw, "inline")
    assert inline.mail.from_addr == "noreply@coubic.com"
    assert proof(inline, COUBIC, ["Uketsuke@Salon-Mail.Example"])[0]


def test_inline_from_trusted_forwarder_whose_signature_fails_is_not_proven() -> None:
    raw = signed(inline_forward(GMAIL_PASTE), "salon-mail.example", "m1").replace(b"87246923", b"87240000")
    inline = only(raw, "inline")
    assert "87240000" in inline.mail.text
    assert proof(inline, COUBIC, TRUSTED) == (
        False,
        "pasted inline by uketsuke@salon-mail.example, but their own mail's DKIM signature "
        "(d=salon-mail.example) did not verify: body hash mismatch",
    )


def test_inline_from_trusted_forwarder_without_a_signature_is_not_proven() -> None:
    inline = only(inline_forward(GMAIL_PASTE), "inline")
    assert proof(inline, COUBIC, TRUSTED) == (
        False,
        "pasted inline by uketsuke@salon-mail.example, but their own mail is not DKIM-signed by "
        "salon-mail.example",
    )


def test_inline_from_trusted_address_signed_by_another_domain_is_not_proven() -> None:
    raw = signed(inline_forward(GMAIL_PASTE), "othermail.example", "o1")
    inline = only(raw, "inline")
    assert inline.forwarder_signed_by == {"othermail.example"}
    assert not proof(inline, COUBIC, TRUSTED)[0]


def test_inline_from_untrusted_forwarder_is_not_proven() -> None:
    raw = signed(inline_forward(GMAIL_PASTE, from_="someone@othermail.example"), "othermail.example", "o1")
    inline = only(raw, "inline")
    assert inline.forwarder_signed_by == {"othermail.example"}
    assert proof(inline, COUBIC, TRUSTED) == (
        False,
        "pasted inline by someone@othermail.example, who is not in [authn] trusted_forwarders",
    )


def test_pasted_dkim_signature_lines_prove_nothing() -> None:
    # Someone pastes the whole signed original under the headers: inline text is never verified.
    signed_notice = signed(notice(cte="8bit")).decode("utf-8").replace("\r\n", "\n")
    paste = GMAIL_PASTE.split("\n\n", 1)[0] + "\n\n" + signed_notice
    inline = only(inline_forward(paste, from_="someone@othermail.example"), "inline")
    assert "DKIM-Signature" in inline.mail.text
    assert inline.signed_by == frozenset() and inline.signatures == ()
    assert not proof(inline, COUBIC, TRUSTED)[0]


def test_no_inline_block_in_a_plain_notice() -> None:
    assert [o.style for o in find_originals(signed(notice()), txt_records())] == ["direct"]


# --- ARC ---------------------------------------------------------------------------------------------


def _arc_seal(message: bytes, domain: str, selector: str, srv_id: bytes) -> bytes:
    k = key(domain, selector)
    headers = dkimpy.arc_sign(message, selector.encode(), domain.encode(), pkcs1(k), srv_id)
    assert headers, "arc_sign needs an Authentication-Results header of the same authserv-id"
    return b"".join(headers) + message


def _footer_added(srv_id: bytes) -> bytes:
    # The forwarder checked DKIM (pass), then its list software appended a footer, then it sealed.
    ar = b"Authentication-Results: " + srv_id + b"; dkim=pass header.d=coubic.com header.s=s1\r\n"
    return ar + signed(notice(cte="8bit")) + "-- 受付転送\r\n".encode()


def test_arc_sealed_by_a_trusted_forwarder_domain_proves_a_modified_notice() -> None:
    raw = _arc_seal(_footer_added(b"salon-mail.example"), "salon-mail.example", "m1", b"salon-mail.example")
    direct = only(raw, "direct")
    assert direct.signed_by == frozenset()  # the footer broke the vendor's own signature
    assert direct.arc is not None and direct.arc.result == "pass"
    assert proof(direct, COUBIC, TRUSTED) == (
        True,
        "DKIM signature of coubic.com reported verified by salon-mail.example in a verified ARC chain",
    )
    assert proof(direct, COUBIC, []) == (False, "DKIM d=coubic.com did not verify: body hash mismatch")


def test_arc_sealed_by_an_untrusted_domain_proves_nothing() -> None:
    raw = _arc_seal(_footer_added(b"othermail.example"), "othermail.example", "o1", b"othermail.example")
    direct = only(raw, "direct")
    assert direct.arc is not None and direct.arc.vouched == (("othermail.example", "coubic.com"),)
    assert not proof(direct, COUBIC, TRUSTED)[0]


def test_arc_chain_broken_after_sealing_proves_nothing() -> None:
    raw = _arc_seal(_footer_added(b"salon-mail.example"), "salon-mail.example", "m1", b"salon-mail.example")
    raw = raw.replace("受付転送".encode(), "キャンセル".encode())
    direct = only(raw, "direct")
    assert direct.arc is not None and direct.arc.result == "fail"
    assert not proof(direct, COUBIC, TRUSTED)[0]


def test_no_required_domain_proves_nothing() -> None:
    assert proof(only(signed(notice()), "direct"), [], TRUSTED) == (
        False,
        "no DKIM domain is configured for this source, so nothing can prove it",
    )


def dns_asked(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Real DNS as dkimpy asks it, answered from the corpus's records; the names asked, in order."""
    import dkim.dnsplug

    from mailgate.authn import signatures

    records = txt_records()
    asked: list[bytes] = []

    def fake_get_txt(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(name)
        text = records.get(name.decode().rstrip("."))
        return text.encode() if text else None

    monkeypatch.setattr(dkim.dnsplug, "get_txt", fake_get_txt)
    monkeypatch.setattr(signatures, "_known", {})  # nothing another test's lookups left
    return asked


def test_without_overrides_real_dns_is_asked_once_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = dns_asked(monkeypatch)
    inner = signed(notice())
    raw = outer([rfc822_part(inner), rfc822_part(inner)])
    found = find_originals(signed(raw, "salon-mail.example", "m1"), None)
    assert [sorted(o.signed_by) for o in found] == [["salon-mail.example"], ["coubic.com"], ["coubic.com"]]
    assert sorted(asked) == [b"m1._domainkey.salon-mail.example.", b"s1._domainkey.coubic.com."]


def test_a_burst_of_one_vendors_notices_asks_dns_for_its_key_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = dns_asked(monkeypatch)
    mail = signed(notice())
    for _ in range(3):  # each read on its own, as the worker reads them
        [found] = find_originals(mail, None)
        assert found.signed_by == {"coubic.com"}
    assert asked == [b"s1._domainkey.coubic.com."]


def test_attachment_only_the_email_package_can_find_is_still_offered() -> None:
    # Bare CR line endings (old Mac mailers): the raw-byte walk finds no part, the email package does.
    raw = outer([text_part("fw"), rfc822_part(signed(notice()))]).replace(b"\r\n", b"\r")
    assert embedded_messages(raw) == []
    attached = only(raw, "attached")
    assert attached.mail.from_addr == "noreply@coubic.com"
    assert any("re-serialisation" in n for n in attached.notes)
    assert isinstance(proof(attached, COUBIC, [])[0], bool)
