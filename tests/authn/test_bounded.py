"""The work one mail can cause is bounded: signatures are verified only when a rule needs their domain,
a body hash that cannot match never reaches dkimpy, and one mail has a fixed number of verifications
however many signatures and attachments it carries (a 9 MB mail with ten forged signatures took 20 s).
Counted with dkimpy's own verify calls and the DNS names asked, never with a clock."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import dkim
import dkim.dnsplug
import pytest

from mailgate import config
from mailgate.authn import find_originals, signatures
from mailgate.authn.signatures import MAX_VERIFICATIONS
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.authn.helpers import outer, rfc822_part, signed, text_part, txt_records
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)


class Spy:
    """What dkimpy was asked to do: verify calls and DNS names (it still does the work)."""

    def __init__(self) -> None:
        self.verifies = 0
        self.asked: list[str] = []


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    seen = Spy()
    records = txt_records()
    real_verify = dkim.DKIM.verify

    def verify(self: dkim.DKIM, *args: object, **kwargs: object) -> bool:
        seen.verifies += 1
        return real_verify(self, *args, **kwargs)  # type: ignore[arg-type]

    def get_txt(name: bytes, timeout: float = 5) -> bytes | None:
        seen.asked.append(name.decode().rstrip("."))
        text = records.get(name.decode().rstrip("."))
        return text.encode() if text else None

    monkeypatch.setattr(dkim.DKIM, "verify", verify)
    monkeypatch.setattr(dkim.dnsplug, "get_txt", get_txt)
    monkeypatch.setattr(signatures, "_known", {})  # nothing another test's lookups left
    yield seen


def decide(raw: bytes, rcpt: str = "notices@shop.example") -> Intent:
    # No DNS overrides: the names asked go through dkimpy's DNS function, which the spy records.
    return engine.decide(RULES, parse(raw), rcpt, None, CFG, lambda: find_originals(raw, None))


def forged(domain: str, bh: bytes = b"AAAA", selector: str = "s1") -> bytes:
    return (
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain.encode() + b"; s="
        + selector.encode() + b"; h=from:to:subject:date:message-id; bh=" + bh + b"; b=AAAA\r\n"
    )  # fmt: skip


def test_a_large_blank_mail_with_ten_forged_signatures_verifies_none(spy: Spy) -> None:
    body = ("x" * 76 + "\r\n").encode() * 12_000  # about 1 MB of text
    head = b"".join(forged(f"x{i}.example") for i in range(10))
    raw = head + (
        b"From: taro@example.jp\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <big@example.jp>\r\n"
        b"Content-Type: text/plain\r\n\r\n" + body
    )
    intent = decide(raw, rcpt="signup@shop.example")
    assert intent.action == "register", intent.reason
    assert (spy.verifies, spy.asked) == (0, [])  # no rule needed a signature


def test_signatures_of_domains_the_source_does_not_need_are_not_verified(spy: Spy) -> None:
    raw = b"".join(forged(f"x{i}.example") for i in range(5)) + notices.stores_booked("87246923")
    intent = decide(raw)
    assert intent.action == "book", intent.reason
    assert spy.asked == ["s1._domainkey.coubic.com"]
    assert spy.verifies == 1


def test_forged_signatures_whose_body_hash_cannot_match_never_reach_dkimpy(spy: Spy) -> None:
    other = base64.b64encode(b"\x00" * 32)
    raw = b"".join(forged("coubic.com", other) for _ in range(8)) + notices.stores_booked("87246923")
    intent = decide(raw)
    assert intent.action == "book", intent.reason
    assert spy.verifies == 1  # only the genuine one: the others failed on the body hash, found once


def test_forged_signatures_with_a_copied_body_hash_are_verified_within_the_budget(spy: Spy) -> None:
    genuine = notices.stores_booked("87246923")
    bh = genuine.split(b"bh=", 1)[1].split(b";", 1)[0]
    raw = b"".join(forged("coubic.com", bh) for _ in range(9)) + genuine
    intent = decide(raw)
    assert intent.action == "hold", intent.reason
    assert spy.verifies == MAX_VERIFICATIONS
    assert any(f"{MAX_VERIFICATIONS} signatures of this mail were checked already" in t for t in intent.trace)


def test_twenty_attached_notices_with_forged_signatures_cost_one_budget(spy: Spy) -> None:
    other = base64.b64encode(b"\x01" * 32)
    genuine = notices.stores_booked("87246923")
    bh = genuine.split(b"bh=", 1)[1].split(b";", 1)[0]
    parts = [text_part("転送します")]
    for i in range(20):
        inner = forged("coubic.com", bh if i % 2 else other) * 3 + notices.stores_booked(f"{9000 + i}")
        parts.append(rfc822_part(inner))
    raw = signed(outer(parts), "salon-mail.example", "m1")
    decide(raw)
    assert spy.verifies <= MAX_VERIFICATIONS
