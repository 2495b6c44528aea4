"""parse(): real corpus mail and hand-built variations, including garbage."""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailgate.mail.parse import ParsedMail, body_text, html_to_text, parse
from tests.conftest import CORPUS

JST = timezone(timedelta(hours=9))
ESC_KANJI = b"\x1b$B"
ESC_ASCII = b"\x1b(B"


def mail(body: bytes = b"hello\r\n", **headers: str) -> bytes:
    """Raw mail bytes; keyword names use _ for - (content_type -> Content-Type)."""
    defaults = {"From": "taro@example.jp", "To": "signup@shop.example", "Message-ID": "<m1@example.jp>"}
    fields = {**defaults, **{k.replace("_", "-").title().replace("Id", "ID"): v for k, v in headers.items()}}
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
    return head.encode("ascii") + b"\r\n" + body


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


# --- corpus --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/*.eml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_mail_parses_with_id_sender_and_date(path: Path) -> None:
    parsed = parse(path.read_bytes())
    assert parsed.message_id and "<" not in parsed.message_id
    assert "@" in parsed.from_addr
    assert parsed.date is not None and parsed.date.utcoffset() == timedelta(hours=9)
    assert "\r" not in parsed.text


def test_docomo_blank_mail_keeps_invalid_address_and_return_path() -> None:
    parsed = parse(corpus("phone/blank-docomo.eml"))
    assert parsed.from_addr == "taro..yamada.@docomo.ne.jp"
    assert parsed.return_path == "taro..yamada.@docomo.ne.jp"
    assert parsed.message_id == "20261128100000.abc@docomo.ne.jp"
    assert parsed.to_addrs == ("signup@shop.example",)
    assert parsed.subject == ""
    assert parsed.text.strip() == ""
    assert parsed.date == datetime(2026, 11, 28, 10, 0, tzinfo=JST)


def test_docomo_emoji_mail_decodes_emoji_to_private_use_area() -> None:
    parsed = parse(corpus("phone/blank-docomo-emoji.eml"))
    assert parsed.from_addr == "hanako-.@docomo.ne.jp"
    assert parsed.text.startswith("よろしく\ue63e")
    assert parsed.return_path is None


def test_au_mail_decodes_iso2022jp_name_subject_and_shift_jis_body() -> None:
    parsed = parse(corpus("phone/blank-au-sjis.eml"))
    assert (parsed.from_name, parsed.from_addr) == ("山田", "k.yamamoto@ezweb.ne.jp")
    assert parsed.subject == "登録"
    assert parsed.text == "登録\n\n--\nau携帯より送信\n"


def test_bounce_has_null_return_path_and_first_text_part() -> None:
    parsed = parse(corpus("noise/bounce-dsn.eml"))
    assert parsed.return_path == ""
    assert parsed.from_addr == "MAILER-DAEMON@mx.shop.example"
    assert parsed.text.startswith("This is the mail system.")
    assert parsed.headers.get_content_type() == "multipart/report"


def test_vacation_reply_subject_joins_folded_utf8_words() -> None:
    parsed = parse(corpus("noise/vacation-autoreply.eml"))
    assert parsed.subject == "不在通知: ご登録ありがとうございます"
    assert parsed.text.startswith("ただいま不在にしております。")


def test_forwarded_attachment_is_exposed_and_not_used_as_body() -> None:
    parsed = parse(corpus("forwarded/stores-booked-attached.eml"))
    assert parsed.text.strip() == "転送します。"
    assert len(parsed.attachments) == 1
    inner = parsed.attachments[0]
    assert inner["From"].endswith("<noreply@coubic.com>")
    text, html_only = body_text(inner)
    assert "87246923" in text and not html_only


def test_inline_forward_keeps_whole_text() -> None:
    parsed = parse(corpus("forwarded/stores-booked-inline.eml"))
    assert parsed.attachments == ()
    assert "Forwarded message" in parsed.text and "87246923" in parsed.text


def test_utf8_bom_in_vendor_body_is_dropped() -> None:
    parsed = parse(corpus("salonboard/booked-01.eml"))
    assert parsed.text.startswith("coco整骨院様")
    assert parsed.from_name == "SALON BOARD"


def test_vendor_subject_mixing_text_and_encoded_word() -> None:
    parsed = parse(corpus("forwarded/stores-booked-inline.eml"))
    assert parsed.subject == "Fwd: [STORES 予約] 予約が入りました"


# --- charsets in bodies ------------------------------------------------------------------------


def test_iso2022jp_body_with_nec_and_ibm_characters() -> None:
    body = ESC_KANJI + b"\x4d\x3d\x4c\x73\x2d\x21\x2d\x6a\x7c\x62" + ESC_ASCII + b"\r\n"
    parsed = parse(
        mail(body, content_type="text/plain; charset=ISO-2022-JP", content_transfer_encoding="7bit")
    )
    assert parsed.text == "予約①㈱髙\n"


def test_shift_jis_body_with_docomo_emoji() -> None:
    body = "予約".encode("cp932") + b"\xf8\x9f\r\n"
    parsed = parse(
        mail(body, content_type='text/plain; charset="Shift_JIS"', content_transfer_encoding="8bit")
    )
    assert parsed.text == "予約\ue63e\n"


def test_euc_jp_body() -> None:
    body = "予約をお願いします".encode("euc_jp") + b"\xad\xa1"
    parsed = parse(mail(body, content_type="text/plain; charset=euc-jp"))
    assert parsed.text == "予約をお願いします①"


def test_utf8_base64_body() -> None:
    body = base64.encodebytes("予約①\r\n二行目".encode())
    parsed = parse(mail(body, content_type="text/plain; charset=utf-8", content_transfer_encoding="base64"))
    assert parsed.text == "予約①\n二行目"


def test_utf8_quoted_printable_body() -> None:
    body = quopri.encodestring("予約 ①\r\n次の行".encode())
    parsed = parse(
        mail(body, content_type="text/plain; charset=UTF-8", content_transfer_encoding="quoted-printable")
    )
    assert parsed.text == "予約 ①\n次の行"


def test_shift_jis_mislabelled_iso2022jp_is_recovered() -> None:
    body = "予約の変更".encode("cp932")
    parsed = parse(mail(body, content_type="text/plain; charset=iso-2022-jp"))
    assert parsed.text == "予約の変更"


def test_body_without_charset_is_guessed() -> None:
    parsed = parse(mail("予約の変更".encode("cp932")))
    assert parsed.text == "予約の変更"


# --- headers -------------------------------------------------------------------------------------


def test_subject_split_over_iso2022jp_words_and_whitespace_collapsed() -> None:
    subject = "=?ISO-2022-JP?B?GyRCTT1McxsoQg==?=\r\n =?ISO-2022-JP?B?GyRCLSF8YhsoQg==?=  \t x "
    assert parse(mail(subject=subject)).subject == "予約①髙 x"


def test_subject_in_shift_jis_encoded_words() -> None:
    word = base64.b64encode("予約".encode("cp932")).decode()
    word2 = base64.b64encode("①".encode("cp932")).decode()
    assert parse(mail(subject=f"=?Shift_JIS?B?{word}?= =?shift_jis?B?{word2}?=")).subject == "予約①"


def test_raw_shift_jis_subject_is_decoded() -> None:
    raw = mail().replace(b"Message-ID", b"Subject: " + "予約変更".encode("cp932") + b"\r\nMessage-ID")
    assert parse(raw).subject == "予約変更"


def test_missing_message_id_is_empty() -> None:
    assert parse(mail(message_id=None)).message_id == ""


def test_message_id_whitespace_and_brackets_removed() -> None:
    assert parse(mail(message_id="  <abc\r\n .def@example.jp>")).message_id == "abc.def@example.jp"


def test_missing_return_path_is_none_and_null_is_empty() -> None:
    assert parse(mail()).return_path is None
    assert parse(mail(return_path="<>")).return_path == ""


def test_several_to_addresses_kept_in_order() -> None:
    parsed = parse(mail(to='"Shop, Signup" <signup@shop.example>, taro..x@docomo.ne.jp'))
    assert parsed.to_addrs == ("signup@shop.example", "taro..x@docomo.ne.jp")


def test_date_with_zone_is_aware() -> None:
    parsed = parse(mail(date="Sat, 28 Nov 2026 10:00:00 +0900"))
    assert parsed.date == datetime(2026, 11, 28, 10, 0, tzinfo=JST)
    assert parsed.date is not None and parsed.date.tzinfo is not None


def test_date_with_jst_zone_name_is_plus_nine() -> None:
    parsed = parse(mail(date="Sat, 28 Nov 2026 10:00:00 JST"))
    assert parsed.date is not None and parsed.date.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("value", [None, "", "not a date", "Sat, 99 Foo 2026 99:99:99 +0900"])
def test_missing_or_bad_date_is_none(value: str | None) -> None:
    assert parse(mail(date=value)).date is None


def test_in_reply_to_and_references_without_brackets() -> None:
    parsed = parse(mail(in_reply_to="<a@x.jp>", references="<r1@x.jp>\r\n <r2@x.jp> <a@x.jp>"))
    assert parsed.in_reply_to == "a@x.jp"
    assert parsed.references == ("r1@x.jp", "r2@x.jp", "a@x.jp")


def test_no_threading_headers() -> None:
    parsed = parse(mail())
    assert (parsed.in_reply_to, parsed.references) == ("", ())


# --- structure -----------------------------------------------------------------------------------


def multipart(subtype: str, *parts: bytes, boundary: str = "BOUNDARY") -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return mail(body, mime_version="1.0", content_type=f'multipart/{subtype}; boundary="{boundary}"')


def part(content_type: str, body: bytes, *extra: str) -> bytes:
    head = f"Content-Type: {content_type}\r\n" + "".join(f"{h}\r\n" for h in extra)
    return head.encode() + b"\r\n" + body


def test_alternative_prefers_plain_text() -> None:
    raw = multipart(
        "alternative",
        part("text/plain; charset=utf-8", "プレーン".encode()),
        part("text/html; charset=utf-8", b"<p>HTML</p>"),
    )
    assert parse(raw).text == "プレーン"
    assert parse(raw).html_only is False


def test_html_only_mail_is_converted() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body><p>予約&amp;確認</p>明日<br>10時</body>"
    )
    parsed = parse(mail(html.encode("cp932"), content_type="text/html; charset=shift_jis"))
    assert parsed.html_only is True
    assert parsed.text == "予約&確認\n\n明日\n10時"


@pytest.mark.parametrize("charset", ["euc-jp", "shift_jis"])
def test_html_charset_from_meta_tag(charset: str) -> None:
    # Half-width katakana alone is ambiguous between EUC-JP and Shift_JIS: only the meta tag knows.
    html = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}"><div>ｱｲｳｴ</div>'
    parsed = parse(mail(html.encode(charset), content_type="text/html"))
    assert parsed.text == "ｱｲｳｴ"


def test_mixed_skips_attached_text_file() -> None:
    raw = multipart(
        "mixed",
        part("text/plain; charset=utf-8", b"note", 'Content-Disposition: attachment; filename="a.txt"'),
        part("text/plain; charset=utf-8", "本文".encode()),
        part("application/pdf", base64.encodebytes(b"%PDF"), "Content-Transfer-Encoding: base64"),
    )
    assert parse(raw).text == "本文"


def test_nested_alternative_inside_mixed() -> None:
    inner = (
        b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        b"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>x</b>\r\n"
        b"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n--inner--"
    )
    raw = multipart("mixed", inner, part("image/png", b"xx"))
    assert parse(raw).text == "plain"


def test_html_in_related_when_no_plain_part() -> None:
    raw = multipart(
        "related", part("text/html; charset=utf-8", b"<div>A</div><div>B</div>"), part("image/gif", b"x")
    )
    parsed = parse(raw)
    assert (parsed.text, parsed.html_only) == ("A\nB", True)


def test_multipart_without_boundary_still_yields_text() -> None:
    raw = mail(b"just text\r\n", content_type="multipart/mixed")
    assert parse(raw).text.strip() == "just text"


def test_base64_forwarded_rfc822_is_parsed() -> None:
    inner = mail("中身".encode(), subject="inner", content_type="text/plain; charset=utf-8")
    raw = multipart(
        "mixed",
        part("text/plain", b"fw"),
        part("message/rfc822", base64.encodebytes(inner), "Content-Transfer-Encoding: base64"),
    )
    attachments = parse(raw).attachments
    assert len(attachments) == 1 and attachments[0]["Subject"] == "inner"


def test_two_forwarded_messages_in_order() -> None:
    one = mail(b"1", subject="one")
    two = mail(b"2", subject="two")
    raw = multipart(
        "mixed", part("text/plain", b"fw"), part("message/rfc822", one), part("message/rfc822", two)
    )
    assert [m["Subject"] for m in parse(raw).attachments] == ["one", "two"]


def test_headers_are_a_compat32_message() -> None:
    parsed = parse(mail(x_custom="yes"))
    assert isinstance(parsed.headers, email.message.Message)
    assert parsed.headers["X-Custom"] == "yes"
    assert parsed.headers.policy is email.policy.compat32


def test_crlf_and_cr_newlines_normalised() -> None:
    assert parse(mail(b"a\r\nb\rc\n")).text == "a\nb\nc\n"


def test_body_text_of_message_rfc822_root_reads_inner_mail() -> None:
    inner = mail("中身".encode(), content_type="text/plain; charset=utf-8")
    outer = email.message_from_bytes(
        b"Content-Type: message/rfc822\r\n\r\n" + inner, policy=email.policy.compat32
    )
    assert body_text(outer) == ("中身", False)


# --- garbage -------------------------------------------------------------------------------------


def assert_well_formed(parsed: ParsedMail) -> None:
    """What callers rely on whatever came in."""
    assert isinstance(parsed, ParsedMail)
    assert "\r" not in parsed.text
    assert parsed.subject == parsed.subject.strip() and "\n" not in parsed.subject
    assert not any(c.isspace() or c in "<>" for c in parsed.message_id)
    assert all(addr and "\n" not in addr for addr in parsed.to_addrs)
    assert "\n" not in parsed.from_addr and "\n" not in parsed.from_name
    assert parsed.date is None or isinstance(parsed.date, datetime)
    parsed.text.encode("utf-8")
    parsed.subject.encode("utf-8")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"From: \x80\x81\x82\r\nSubject: =?x?B?!!!?=\r\nDate: \xff\r\n\r\n\xff\xfe",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
        b'Content-Type: text/plain; charset="\xff"\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@',
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Return-Path: <\r\nFrom: <<<>>>\r\nTo: ,,,;;;:::\r\n\r\n",
    ],
)
def test_garbage_gives_well_formed_fields(raw: bytes) -> None:
    assert_well_formed(parse(raw))


@pytest.mark.parametrize("content_type", ["text/plain;charset*", "multipart/mixed;charset*"])
def test_body_behind_broken_rfc2231_charset_is_still_read(content_type: str) -> None:
    # The stdlib's own get_payload() raises TypeError on this one.
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + "予約".encode("cp932")
    assert parse(raw).text == "予約"


def test_pure_garbage_has_no_sender_or_id() -> None:
    parsed = parse(b"\x00\xff\xfe garbage")
    assert (parsed.message_id, parsed.from_addr, parsed.to_addrs, parsed.date) == ("", "", (), None)


@settings(max_examples=150)
@given(st.binary(max_size=600))
def test_parse_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert_well_formed(parse(raw))


_HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Content-Type",
        "Return-Path",
        "Content-Transfer-Encoding",
        "References",
    ]
)


@settings(max_examples=150)
@example([("Message-ID", b"\x00<\x00")], b"")  # a bracket inside a broken id
@given(st.lists(st.tuples(_HEADER_NAMES, st.binary(max_size=60)), max_size=8), st.binary(max_size=200))
def test_parse_never_raises_on_hostile_headers(headers: list[tuple[str, bytes]], body: bytes) -> None:
    raw = b"".join(n.encode() + b": " + v.replace(b"\n", b" ") + b"\r\n" for n, v in headers) + b"\r\n" + body
    assert_well_formed(parse(raw))


# --- html_to_text --------------------------------------------------------------------------------


def test_html_to_text_drops_script_style_and_head() -> None:
    html = "<head><title>T</title></head><script>alert(1)</script><style>.a{}</style>本文"
    assert html_to_text(html) == "本文"


def test_html_to_text_breaks_lines_at_block_elements() -> None:
    html = "<div>a</div><div>b</div><ul><li>c</li><li>d</li></ul><table><tr><td>e</td><td>f</td></tr></table>"
    assert html_to_text(html) == "a\nb\nc\nd\ne f"


def test_html_to_text_keeps_gmail_blank_line() -> None:
    assert html_to_text("<div>a</div><div><br></div><div>b</div>") == "a\n\nb"


def test_html_to_text_unescapes_entities_and_nbsp() -> None:
    assert html_to_text("&lt;予約&gt;&nbsp;&#9312;&amp;&quot;") == '<予約> ①&"'


def test_html_to_text_collapses_blank_lines_and_source_whitespace() -> None:
    assert html_to_text("a<br><br><br><br>b\n\n   c") == "a\n\nb c"


def test_html_to_text_keeps_pre_formatting() -> None:
    assert html_to_text("<pre>a  b\nc</pre>") == "a  b\nc"


def test_html_to_text_unclosed_head_does_not_swallow_body() -> None:
    assert html_to_text("<html><head><meta charset=utf-8><body>本文</body>") == "本文"


def test_html_to_text_survives_broken_markup() -> None:
    assert "text" in html_to_text("<div <<>> </p></div>text<!-- unclosed")


def nested_mime(levels: int, kind: str) -> bytes:
    """A mail whose body is `levels` MIME containers deep, the text at the bottom."""
    inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
    for i in range(levels):
        if kind == "multipart":
            inner = (
                b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                + inner
                + b"\r\n--b%d--\r\n" % i
            )
        else:
            inner = b"Content-Type: message/rfc822\r\n\r\nSubject: level %d\r\n" % i + inner
    head = (
        b"From: Taro <taro@example.jp>\r\nTo: signup@shop.example\r\nSubject: hi\r\n"
        b"Message-ID: <deep@example.jp>\r\nDate: Thu, 26 Nov 2026 21:14:03 +0900\r\nMIME-Version: 1.0\r\n"
    )
    return head + inner


@pytest.mark.parametrize("levels", [980, 3000])
@pytest.mark.parametrize("kind", ["multipart", "rfc822"])
def test_mime_nested_deeper_than_the_parser_can_go_keeps_its_headers(kind: str, levels: int) -> None:
    mail = parse(nested_mime(levels, kind))
    assert (mail.from_addr, mail.from_name, mail.subject) == ("taro@example.jp", "Taro", "hi")
    assert mail.message_id == "deep@example.jp" and mail.to_addrs == ("signup@shop.example",)
    assert mail.date == datetime(2026, 11, 26, 21, 14, 3, tzinfo=timezone(timedelta(hours=9)))


def test_multipart_depth_counts_open_parts_not_siblings() -> None:
    from mailgate.mail.depth import multipart_depth

    assert multipart_depth(nested_mime(7, "multipart"), 100) == 7
    assert multipart_depth(nested_mime(50, "multipart"), 20) == 21  # stops counting past the limit
    siblings = b"".join(
        b'--top\r\nContent-Type: multipart/alternative; boundary="s%d"\r\n\r\n--s%d\r\n\r\nx\r\n--s%d--\r\n'
        % (i, i, i)
        for i in range(40)
    )
    digest = b'Content-Type: multipart/digest; boundary="top"\r\n\r\n' + siblings + b"--top--\r\n"
    assert multipart_depth(digest, 20) == 2
    assert multipart_depth(b"From: a@b\r\n\r\n--not-a-boundary\r\n", 20) == 0


def test_a_mail_nested_deeper_than_real_mail_is_read_for_its_headers_only() -> None:
    from mailgate.mail.parse import MAX_MULTIPART_DEPTH

    assert parse(nested_mime(MAX_MULTIPART_DEPTH, "multipart")).text == "hello\n"
    too_deep = parse(nested_mime(MAX_MULTIPART_DEPTH + 1, "multipart"))
    assert (too_deep.from_addr, too_deep.text) == ("taro@example.jp", "")
