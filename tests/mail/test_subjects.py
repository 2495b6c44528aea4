"""Forward and reply prefixes that mail clients put on a subject, stacked and in several languages."""

from __future__ import annotations

import pytest

from mailgate.mail.subjects import strip_forward_prefixes

SUBJECT = "[STORES 予約] 予約が入りました"


@pytest.mark.parametrize(
    "prefix",
    [
        "Fwd: ", "FWD: ", "Fw: ", "FW: ", "Re: ", "RE: ", "転送: ", "転送：", "返信: ", "[転送] ",
        "【転送】", "(転送) ", "[Fwd] ", "Ｆｗｄ：", "ＦＷ： ", "TR: ", "WG: ", "AW: ", "RV: ", "VS: ",
        "SV: ", "Doorst: ", "Fw[2]: ", "Re^3: ", "FW(2): ", "Fwd : ", "Fwd: Fwd: ", "FW: RE: 転送: ",
        "Re: Fwd: [転送] ",
    ],
)  # fmt: skip
def test_every_clients_prefix_comes_off_however_many_were_stacked(prefix: str) -> None:
    assert strip_forward_prefixes(prefix + SUBJECT) == SUBJECT


@pytest.mark.parametrize(
    "subject",
    [SUBJECT, "Reservation: 12/3", "Free trial", "転送サービスのご案内", "【Airリザーブ】予約受付", ""],
)
def test_a_subject_without_a_prefix_is_left_as_it_is(subject: str) -> None:
    assert strip_forward_prefixes(subject) == subject
