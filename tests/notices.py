"""Vendor notices written for tests and signed with the corpus test keys, as the vendors would."""

from __future__ import annotations

import itertools
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from mailgate.mail.dkim import DkimKey, load_key, sign
from tests.conftest import CORPUS

KEYS = CORPUS / "keys"
_ids = itertools.count(1)


def key(domain: str, selector: str) -> DkimKey:
    return load_key(KEYS / f"{domain}.{selector}.pem", domain, selector)


def mail(
    subject: str,
    body: str,
    *,
    sender: str = "STORES 予約 <noreply@coubic.com>",
    to: str = "owner@salon-mail.example",
    date: datetime | None = None,
    charset: str = "utf-8",
    cte: str = "base64",
    signer: tuple[str, str] | None = ("coubic.com", "s1"),
) -> bytes:
    """A notice as the vendor sends it: base64 UTF-8 (or ISO-2022-JP), DKIM-signed by `signer`."""
    import base64
    import quopri

    name, _, addr = sender.rpartition(" ")
    when = date or datetime.fromisoformat("2026-11-26T21:14:03+09:00")
    data = body.replace("\n", "\r\n").encode("cp932" if charset.lower() == "shift_jis" else charset)
    if cte == "base64":
        payload = base64.encodebytes(data).replace(b"\n", b"\r\n")
    elif cte == "quoted-printable":
        payload = quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    else:
        payload = data
    head = (
        f"From: {Header(name, 'utf-8').encode()} {addr}\r\n"
        f"To: {to}\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: {format_datetime(when)}\r\n"
        f"Message-ID: <test-{next(_ids)}-{abs(hash(body)) % 10**9}@{addr.strip('<>').rpartition('@')[2]}>\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode("ascii")
    raw = head + payload
    return sign(raw, key(*signer)) if signer else raw


def stores_booked(
    number: str,
    when: str = "2026年12月03日 (木) 13:00 ~ 14:00",
    *,
    staff: str = "佐藤",
    name: str = "山田 太郎",
    kana: str = "ヤマダ タロウ",
    email: str = "yamada.taro@example.jp",
    phone: str = "090-1234-5678",
    menu: str = "整体 60分コース",
    shop: str = "JITANBODY整体院",
    **kw: object,
) -> bytes:
    body = f"""{shop} 様

STORES 予約 で新しい予約が入りました。

◆予約番号:
  {number}

◆予約内容:
  {menu}

◆予約者:
  {name}
  ({kana})
  {email}
  {phone}

◆予約日時:
  {when}

◆担当スタッフ:
  {staff}

予約の詳細は管理画面でご確認ください。

--
STORES 予約
"""
    return mail("[STORES 予約] 予約が入りました", body, **kw)  # type: ignore[arg-type]


def stores_cancelled(
    number: str,
    when: str = "2026年12月03日 (木) 13:00 ~ 14:00",
    *,
    name: str = "山田 太郎",
    shop: str = "JITANBODY整体院",
    **kw: object,
) -> bytes:
    body = f"""{shop} 様

{name} 様の予約がキャンセルされました。

◆予約番号:
  {number}

◆予約者:
  {name}

◆予約日時:
  {when}

--
STORES 予約
"""
    return mail("[STORES 予約] 予約がキャンセルされました", body, **kw)  # type: ignore[arg-type]


def stores_changed(
    number: str,
    when: str,
    before: str,
    *,
    staff: str = "佐藤",
    name: str = "山田 太郎",
    shop: str = "JITANBODY整体院",
    **kw: object,
) -> bytes:
    def block(w: str) -> str:
        return f"""◆予約内容:
  整体 60分コース

◆予約者:
  {name}

◆予約日時:
  {w}

◆担当スタッフ:
  {staff}
"""

    numbered = f"◆予約番号:\n  {number}\n\n" if number else ""  # some notices have none
    body = f"""{shop} 様

{name} 様の予約が変更されました。

{numbered}[ 変更後 ]
{block(when)}
[ 変更前 ]
{block(before)}
--
STORES 予約
"""
    return mail(f"[STORES 予約] {name} 様の予約が変更されました", body, **kw)  # type: ignore[arg-type]


def jp_when(start: datetime, minutes: int = 60) -> str:
    """'2026年12月03日 (木) 13:00 ~ 14:00', with the right weekday (the parser checks it)."""
    from datetime import timedelta

    end = start + timedelta(minutes=minutes)
    return f"{start:%Y年%m月%d日} ({'月火水木金土日'[start.weekday()]}) {start:%H:%M} ~ {end:%H:%M}"
