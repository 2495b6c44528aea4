"""Rules decisions for signup mail and its variations: what real feature-phone mail looks like."""

from pathlib import Path

import pytest

from mailgate import config
from mailgate.mail.parse import parse
from mailgate.rules import engine
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)


def mail(headers: str, body: bytes = b"", charset: str = "utf-8") -> bytes:
    head = headers.strip().replace("\n", "\r\n").encode()
    ctype = f"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n\r\n".encode()
    return head + ctype + body


def decide(raw: bytes, rcpt: str = "signup@shop.example", envelope_from: str | None = None) -> engine.Intent:
    return engine.decide(RULES, parse(raw), rcpt, envelope_from, CFG)


def test_blank_mail_with_a_signature_registers_the_exact_sender() -> None:
    raw = mail(
        "From: ..x@softbank.ne.jp\nTo: signup@shop.example\nSubject: \nMessage-ID: <a@b>",
        "登録\r\n\r\n-- \r\nSoftBank携帯から送信".encode("cp932"),
        "Shift_JIS",
    )
    intent = decide(raw)
    assert (intent.action, intent.customer) == ("register", {"email": "..x@softbank.ne.jp"})
    assert intent.notes == ()


def test_iso_2022_jp_blank_mail_with_display_name_registers() -> None:
    raw = mail(
        "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <Yamada.Taro@EZweb.ne.jp>\nTo: signup@shop.example",
        "\x1b$B$h$m$7$/\x1b(B\r\n".encode("ascii"),
        "ISO-2022-JP",
    )
    intent = decide(raw)
    assert intent.action == "register"
    assert intent.customer["email"] == "Yamada.Taro@EZweb.ne.jp"  # exactly as received


def test_a_long_letter_to_signup_still_registers_but_keeps_what_was_written() -> None:
    text = (
        "明日の午後3時に予約したいのですが空いていますか。"
        "肩こりがひどくて困っています。よろしくお願いします。"
    )
    intent = decide(mail("From: a@example.jp\nTo: signup@shop.example", text.encode()))
    assert intent.action == "register"
    assert intent.notes and "明日の午後3時" in intent.notes[0]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("Auto-Submitted: auto-generated", "auto"),
        ("Precedence: bulk", "recedence"),
        ("List-Id: <news.example.jp>", "ist"),
        ("Return-Path: <>", "return path"),
    ],
)
def test_mail_that_must_not_be_answered_is_ignored_with_its_reason(extra: str, reason: str) -> None:
    intent = decide(mail(f"From: a@example.jp\nTo: signup@shop.example\n{extra}"))
    assert intent.action == "ignore"
    assert reason in intent.reason


OUR_ID = "<0123456789abcdef0123456789abcdef@shop.example>"


def test_a_reply_to_our_mail_is_answered_unless_it_also_says_it_is_away() -> None:
    head = f"From: a@example.jp\nTo: signup@shop.example\nIn-Reply-To: {OUR_ID}\nSubject: "
    answered = decide(mail(head + "Re: 【JITANBODY整体院】会員登録のご案内", "登録".encode()))
    assert answered.action == "register"
    away = decide(mail(head + "留守にしています", "ただいま留守にしております。".encode()))
    assert away.action == "ignore"
    assert "in reply to our own mail" in away.reason


def test_mailer_daemon_and_an_empty_envelope_sender_are_not_answered() -> None:
    assert decide(mail("From: MAILER-DAEMON@mx.example.jp\nTo: signup@shop.example")).action == "ignore"
    assert decide(mail("From: a@example.jp\nTo: signup@shop.example"), envelope_from="").action == "ignore"


def test_mail_from_our_own_domain_is_a_loop_and_ignored() -> None:
    intent = decide(mail("From: signup@shop.example\nTo: signup@shop.example"))
    assert intent.action == "ignore" and "loop" in intent.reason


def test_mail_no_rule_takes_is_held_for_an_operator() -> None:
    intent = decide(mail("From: a@example.jp\nTo: postmaster@shop.example"), rcpt="postmaster@shop.example")
    assert intent.action == "hold"
    assert "postmaster@shop.example" in intent.reason


def test_a_sender_without_an_address_is_held_not_answered() -> None:
    intent = decide(mail("To: signup@shop.example\nSubject: x"))
    assert intent.action == "hold"


def test_rules_check_names_file_and_line_of_each_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'source = "x"\n\n[[rule]]\nname = "a"\naction = "book"\n\n[[rule]]\nname = "b"\n'
        'action = "explode"\nsubjet = "typo"\n'
    )
    with pytest.raises(engine.RulesError) as e:
        engine.load(CFG, tmp_path)
    lines = str(e.value).splitlines()
    assert f"{bad}:9: rule 2: action must be one of" in lines[0] or any(f"{bad}:9:" in x for x in lines)
    assert any(f"{bad}:10:" in x and "subjet" in x for x in lines)


def test_rules_version_changes_when_a_rules_file_changes(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[[rule]]\nname = "a"\nrcpt = "{mail.signup}"\naction = "register"\n')
    v1 = engine.load(CFG, tmp_path).version
    (tmp_path / "a.toml").write_text('[[rule]]\nname = "a"\nrcpt = "{mail.signup}"\naction = "hold"\n')
    assert engine.load(CFG, tmp_path).version != v1


def test_a_blank_mail_nested_a_thousand_mime_levels_deep_is_answered_not_held() -> None:
    from tests.mail.test_parse import nested_mime

    intent = decide(nested_mime(3000, "multipart"))
    assert (intent.action, intent.customer) == ("register", {"email": "taro@example.jp"}), intent.reason
