"""Whatever arrives, reading and judging it never raises: a broken mail is held, not lost."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailgate.authn import STYLES, find_originals, proof
from tests.authn.helpers import GMAIL_PASTE, TRUSTED, inline_forward, outer, rfc822_part, txt_records
from tests.conftest import CORPUS

RECORDS = txt_records()  # never real DNS from these tests
SEEDS = [
    (CORPUS / "forwarded" / "stores-booked-attached.eml").read_bytes(),
    (CORPUS / "forwarded" / "stores-booked-inline.eml").read_bytes(),
    (CORPUS / "spoofed" / "stores-cancel-tampered.eml").read_bytes(),
    outer([rfc822_part(inline_forward(GMAIL_PASTE), cte="base64")]),
]


def _check(raw: bytes) -> None:
    found = find_originals(raw, RECORDS)
    assert found and found[0].style == "direct"
    for original in found:
        assert original.style in STYLES
        for required in (["coubic.com"], []):
            ok, why = proof(original, required, TRUSTED)
            assert isinstance(ok, bool) and isinstance(why, str) and why


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), st.binary(max_size=8)), max_size=6),
    cut=st.floats(0.05, 1),
)
def test_damaged_real_mail(seed: bytes, edits: list[tuple[float, int, bytes]], cut: float) -> None:
    raw = bytearray(seed[: max(1, int(len(seed) * cut))])
    for where, drop, insert in edits:
        at = int(where * len(raw))
        raw[at : at + drop] = insert
    _check(bytes(raw))


@settings(max_examples=40, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("-=_>:： \n\tFromDateSubjectTo差出人件名転送メッセージ@a.b<>年月日")),
        max_size=300,
    )
)
def test_arbitrary_pasted_text(text: str) -> None:
    _check(inline_forward("---------- Forwarded message ---------\n" + text))
