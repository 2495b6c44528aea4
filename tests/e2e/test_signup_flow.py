"""The seed flow with real parts: SMTP over a socket → reply in the Maildir → link → form → confirmation
mail, DKIM-verified against the configured key."""

from __future__ import annotations

import smtplib
from pathlib import Path

import httpx
import pytest

from mailgate.mail.dkim import load_txt_records
from tests.conftest import CORPUS, Served, start_serve, wait_for, write_config
from tests.dkim_check import verify
from tests.e2e.helpers import cli, first_url, forms, outbox_files, read_mail

pytestmark = pytest.mark.e2e  # starts real servers

DKIM = f"""
[outbound]
dkim_key = "{CORPUS / "keys" / "shop.example.mg.pem"}"
dkim_selector = "mg"
dkim_domain = "shop.example"
"""
TXT = load_txt_records(CORPUS / "keys" / "dns.json")
SENDER = "taro..yamada.@docomo.ne.jp"


def send_blank(served: Served, sender: str = SENDER, msgid: str = "blank-1@docomo.ne.jp") -> None:
    body = "登録\r\n\r\n-- \r\ndocomo携帯から送信".encode("cp932")
    raw = (
        f"From: {sender}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <{msgid}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
        s.sendmail(sender, ["signup@shop.example"], raw)


def test_blank_mail_to_registration_to_personal_link(tmp_path: Path) -> None:
    # No database yet, as for the README's first command: serve creates it.
    served = start_serve(write_config(tmp_path, DKIM, database=False))
    try:
        assert f"127.0.0.1:{served.smtp_port}" in served.banner and str(served.outbox) in served.banner
        send_blank(served)

        [reply] = wait_for(lambda: outbox_files(served.outbox))
        assert verify(reply.read_bytes(), TXT), "the reply's DKIM signature verifies with the published key"
        msg, subject, body = read_mail(reply)
        assert msg["To"] == '"taro..yamada."@docomo.ne.jp'
        assert msg.get_content_charset() == "iso-2022-jp"  # a carrier address gets JIS
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["In-Reply-To"] == "<blank-1@docomo.ne.jp>"
        assert "会員登録" in subject
        url = first_url(body)
        assert url.startswith(served.base_url + "/r/") and len(url) < 120

        with httpx.Client(timeout=10) as http:
            page = http.get(url)
            assert page.status_code == 200 and "フリガナ" in page.text
            [form] = [f for f in forms(page.text) if "csrf" in f["fields"]]
            fields = {
                **form["fields"],
                "name": "山田 太郎",
                "name_kana": "やまだ たろう",
                "phone": "０９０－１２３４－５６７８",
                "pin": "2580",
                "pin2": "2580",
            }
            done = http.post(url, data=fields)
            assert done.status_code == 200, done.text
            assert http.post(url, data=fields).status_code == 410  # one-time: the link is used

        confirm = wait_for(lambda: outbox_files(served.outbox)[1:])[0]
        assert verify(confirm.read_bytes(), TXT)
        _, subject, body = read_mail(confirm)
        assert "登録が完了" in subject
        assert "山田太郎" in body and "ヤマダタロウ" in body and "09012345678" in body
        assert "2580" not in body  # never the PIN
        personal = first_url(body)

        with httpx.Client(timeout=10) as http:
            page = http.get(personal)
            assert page.status_code == 200 and "暗証番号" in page.text and "フリガナ" not in page.text
            [form] = [f for f in forms(page.text) if "csrf" in f["fields"]]
            mypage = http.post(personal, data={**form["fields"], "pin": "2580"})
            assert mypage.status_code == 200 and "山田太郎" in mypage.text

        [message] = cli(served.config, "messages")
        assert (message["state"], message["reason"]) == ("applied", "registration link sent")
        kinds = [e["kind"] for e in cli(served.config, "audit", "--customer", SENDER)]
        for kind in ("customer_pending", "link_issued", "customer_registered", "pin_ok"):
            assert kind in kinds
        sent = cli(served.config, "outbox")
        assert {m["state"] for m in sent} == {"sent"} and len(sent) == 2
    finally:
        assert served.stop() == 0, "SIGTERM stops mailgate cleanly"


def test_the_log_names_each_message_without_phone_numbers(tmp_path: Path) -> None:
    served = start_serve(write_config(tmp_path))
    send_blank(served, "hanako@example.jp", "log-1@example.jp")
    # A phone number is a common carrier address: every line that names it (intake's line per stored
    # message, the outbox's) masks it.
    send_blank(served, "09012345678@docomo.ne.jp", "log-2@docomo.ne.jp")
    wait_for(lambda: len(outbox_files(served.outbox)) == 2)
    served.stop()
    assert served.proc.stderr is not None
    log = served.proc.stderr.read()
    line = next(x for x in log.splitlines() if "msg=1 " in x)
    for part in ("from=hanako@example.jp", "rule=signup/blank-mail", "action=register", "outcome=applied"):
        assert part in line
    assert "09012345678" not in log
    masked = [x for x in log.splitlines() if "090******78@docomo.ne.jp" in x]
    assert any("mailgate.smtp" in x for x in masked) and any("mailgate.outbox" in x for x in masked), masked
