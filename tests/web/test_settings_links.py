"""A customer's links do not outlive what they were for: using a settings link revokes the others, a
new PIN rotates the bookmark (mailed and shown), and a customer can ask for a new bookmark."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from mailgate.context import Context
from mailgate.models import Outbox
from tests.web.test_app import active_customer, login, post_form, settings_path

NEW_PIN = {"op": "pin", "pin": "5678", "pin2": "5678"}


def mails(ctx: Context, template: str) -> list[Outbox]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Outbox).where(Outbox.template == template).order_by(col(Outbox.id))))


def test_using_a_settings_link_revokes_the_customers_other_settings_links(
    client: TestClient, web_ctx: Context
) -> None:
    _, path = active_customer(web_ctx)
    first, second = settings_path(client, path), settings_path(client, path)
    details = {"op": "details", "name": "佐藤花", "name_kana": "サトウハナ", "phone": "09087654321"}
    assert post_form(client, second, details).status_code == 200
    assert client.get(first).status_code == 410


def test_a_new_pin_revokes_the_settings_links_and_rotates_the_bookmark(
    client: TestClient, web_ctx: Context
) -> None:
    _, old_bookmark = active_customer(web_ctx)
    other, spath = settings_path(client, old_bookmark), settings_path(client, old_bookmark)
    done = post_form(client, spath, NEW_PIN)
    assert done.status_code == 200
    assert client.get(other).status_code == 410
    assert client.get(old_bookmark).status_code == 410
    shown = re.search(r'href="(http://testserver/m/[^"]+)"', done.text)  # type: ignore[attr-defined]
    assert shown, done.text  # type: ignore[attr-defined]
    assert "マイページ" in login(client, shown.group(1), "5678").text  # type: ignore[attr-defined]
    [mail] = mails(web_ctx, "pin_changed")
    new_id = web_ctx.signer.verify("login", shown.group(1).rsplit("/", 1)[1], None)
    assert list((mail.links or {}).values()) == [["login", new_id]]


def test_a_customer_can_ask_for_a_new_bookmark(client: TestClient, web_ctx: Context) -> None:
    _, old_bookmark = active_customer(web_ctx)
    spath = settings_path(client, old_bookmark)
    assert 'value="bookmark"' in client.get(spath).text
    done = post_form(client, spath, {"op": "bookmark"})
    assert done.status_code == 200
    assert client.get(old_bookmark).status_code == 410
    shown = re.search(r'href="(http://testserver/m/[^"]+)"', done.text)  # type: ignore[attr-defined]
    assert shown, done.text  # type: ignore[attr-defined]
    assert "マイページ" in login(client, shown.group(1), "1234").text  # type: ignore[attr-defined]
    [mail] = mails(web_ctx, "bookmark")
    assert [v[0] for v in (mail.links or {}).values()] == ["login"]
