"""The link pages through Starlette's TestClient, against a real SQLite database and our real modules."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from mailgate import config, db, tokens
from mailgate.context import Context
from mailgate.ledger import customers, erasure
from mailgate.ledger.pins import check_pin, pin_keys
from mailgate.links import LinkError, Signer
from mailgate.models import Customer, CustomerStatus, Event, Outbox, Token
from mailgate.web import csrf
from mailgate.web.app import create_app
from mailgate.web.forms import decode_form
from mailgate.web.headers import HEADERS

SECRET = "x" * 32
EXPIRED_MESSAGE = "ページの有効期限が切れました。もう一度リンクを開いてください"
GOOD = {
    "name": "山田　太郎",
    "name_kana": "やまだ たろう",
    "phone": "０９０－１２３４－５６７８",
    "pin": "2580",
    "pin2": "2580",
}


# --- helpers (also used by test_browser.py) ---------------------------------------------------------


def make_context(directory: Path, db_url: str, base_url: str = "http://testserver") -> Context:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mailgate.toml"
    path.write_text(
        f'[paths]\nvar = "var"\n\n[links]\nsecrets = ["{SECRET}"]\n\n[web]\nbase_url = "{base_url}"\n'
        f'\n[db]\nurl = "{db_url}"\n',
        encoding="utf-8",
    )
    return Context.build(config.load(path))


def pending_customer(
    ctx: Context, email: str = "taro@docomo.ne.jp", *, hours: float = 72
) -> tuple[int, int, str]:
    """A customer who sent a blank mail: (customer id, register token id, signed link part)."""
    now = datetime.now(UTC)
    with db.transaction(ctx.engine) as s:
        customer = customers.by_email(s, email)
        if customer is None:
            customer = Customer(email=email, email_key=email.lower(), created_at=now)
            s.add(customer)
            s.flush()
        assert customer.id is not None
        token = tokens.issue(s, "register", customer.id, now, hours=hours)
        assert token.id is not None
        return customer.id, token.id, ctx.signer.sign("register", token.id)


def active_customer(ctx: Context, email: str = "hanako@ezweb.ne.jp", pin: str = "1234") -> tuple[int, str]:
    """A registered customer: (customer id, path of the personal login link)."""
    customer_id, token_id, _ = pending_customer(ctx, email)
    now = datetime.now(UTC)
    with db.transaction(ctx.engine) as s:
        token = s.get(Token, token_id)
        assert token is not None
        details = customers.Details(name="佐藤花子", name_kana="サトウハナコ", phone="09087654321")
        customers.register(s, ctx, token, details, pin, now)
        login = s.exec(select(Token).where(Token.customer_id == customer_id, Token.purpose == "login")).one()
        assert login.id is not None
        return customer_id, urlsplit(ctx.signer.url("login", login.id)).path


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def snapshot(ctx: Context) -> dict[str, object]:
    """Everything a POST could change: customers, tokens, events, outbox."""
    with db.transaction(ctx.engine) as s:
        return {
            "customers": [c.model_dump() for c in s.exec(select(Customer).order_by(Customer.id))],
            "tokens": [t.model_dump() for t in s.exec(select(Token).order_by(Token.id))],
            "events": s.exec(select(func.count()).select_from(Event)).one(),
            "outbox": s.exec(select(func.count()).select_from(Outbox)).one(),
        }


def get_customer(ctx: Context, customer_id: int) -> Customer:
    with db.transaction(ctx.engine) as s:
        c = s.get(Customer, customer_id)
        assert c is not None
        return c


def get_token(ctx: Context, token_id: int) -> Token:
    with db.transaction(ctx.engine) as s:
        t = s.get(Token, token_id)
        assert t is not None
        return t


def events(ctx: Context, kind: str) -> list[Event]:
    with db.transaction(ctx.engine) as s:
        return list(s.exec(select(Event).where(Event.kind == kind)))


def post_form(client: TestClient, path: str, fields: dict[str, str], *, with_csrf: bool = True) -> object:
    data = dict(fields)
    if with_csrf:
        data["csrf"] = csrf_of(client.get(path).text)
    return client.post(path, data=data)


# --- simple pages ------------------------------------------------------------------------------------


def test_index_links_to_the_signup_address(client: TestClient, web_ctx: Context) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert f'href="mailto:{web_ctx.cfg.mail.signup}"' in r.text
    assert "空メールを送って会員登録" in r.text
    assert web_ctx.cfg.shop.name in r.text


def test_healthz_and_stylesheet(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok"
    css = client.get("/style.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".err" in css.text


def test_unknown_path_is_a_japanese_404(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "ページが見つかりません" in r.text


# --- registration ------------------------------------------------------------------------------------


def test_register_get_shows_the_form_and_does_not_use_the_token(client: TestClient, web_ctx: Context) -> None:
    customer_id, token_id, signed = pending_customer(web_ctx)
    before = snapshot(web_ctx)
    r = client.get(f"/r/{signed}")
    assert r.status_code == 200
    for label in ("お名前", "フリガナ", "電話番号", "暗証番号", "暗証番号(確認)"):
        assert label in r.text
    assert 'accept-charset="UTF-8"' in r.text and 'name="_charset_"' in r.text
    pin_input = re.search(r'<input type="password" id="pin"[^>]*>', r.text)
    assert pin_input
    for attr in (
        'inputmode="numeric"',
        'pattern="[0-9]*"',
        'maxlength="4"',
        'istyle="4"',
        'format="4N"',
        'mode="numeric"',
    ):
        assert attr in pin_input.group(0)
    assert "<script" not in r.text
    assert snapshot(web_ctx) == before
    assert get_token(web_ctx, token_id).used_at is None
    assert get_customer(web_ctx, customer_id).status == CustomerStatus.PENDING


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "お名前を入力してください。"),
        ({"name": "山田\u202e郎太"}, "name", "お名前に使えない文字が含まれています。"),
        ({"name": "山田\x00太郎"}, "name", "お名前に使えない文字が含まれています。"),
        ({"name_kana": "Yamada Taro"}, "name_kana", "フリガナはカタカナ(またはひらがな)で入力してください。"),
        ({"pin": "12345", "pin2": "12345"}, "pin", "暗証番号は4桁の数字で入力してください。"),
        ({"pin2": "4321"}, "pin2", "確認用の暗証番号が一致しません。"),
        ({"phone": "12345"}, "phone", "電話番号の桁数が正しくありません(例: 090-1234-5678)。"),
    ],
)
def test_register_with_bad_input_shows_the_message_and_writes_nothing(
    client: TestClient, web_ctx: Context, change: dict[str, str], field: str, message: str
) -> None:
    _, token_id, signed = pending_customer(web_ctx)
    before = snapshot(web_ctx)
    r = post_form(client, f"/r/{signed}", {**GOOD, **change})
    assert r.status_code == 400
    assert message in r.text
    assert f'id="{field}-err"' in r.text  # next to the field, as well as in the summary on top
    assert "入力内容にまちがいがあります" in r.text
    assert snapshot(web_ctx) == before
    assert get_token(web_ctx, token_id).used_at is None


def test_register_error_page_keeps_typed_values_but_never_the_pin(
    client: TestClient, web_ctx: Context
) -> None:
    _, _, signed = pending_customer(web_ctx)
    r = post_form(client, f"/r/{signed}", {**GOOD, "name": "", "pin": "9876", "pin2": "9876"})
    assert r.status_code == 400
    assert f'value="{GOOD["name_kana"]}"' in r.text
    assert f'value="{GOOD["phone"]}"' in r.text
    assert "9876" not in r.text


def test_register_stores_normalized_details_and_a_hashed_pin(client: TestClient, web_ctx: Context) -> None:
    customer_id, token_id, signed = pending_customer(web_ctx)
    r = post_form(client, f"/r/{signed}", GOOD)
    assert r.status_code == 200, r.text
    assert "確認メールを送りました" in r.text
    c = get_customer(web_ctx, customer_id)
    assert c.status == CustomerStatus.ACTIVE
    assert (c.name, c.name_kana, c.phone) == ("山田太郎", "ヤマダタロウ", "09012345678")
    assert c.pin_hash.startswith("keyed$") and "2580" not in c.pin_hash
    assert check_pin("2580", c.pin_hash, pin_keys(web_ctx.signer.secrets))
    assert get_token(web_ctx, token_id).used_at is not None


def test_register_done_page_shows_a_working_personal_link(client: TestClient, web_ctx: Context) -> None:
    _, _, signed = pending_customer(web_ctx)
    r = post_form(client, f"/r/{signed}", GOOD)
    m = re.search(r'href="(http://testserver/m/[^"]+)"', r.text)
    assert m, r.text
    page = client.get(m.group(1))
    assert page.status_code == 200
    assert 'name="pin"' in page.text


def test_confirmation_mail_is_queued_with_the_personal_link(client: TestClient, web_ctx: Context) -> None:
    customer_id, _, signed = pending_customer(web_ctx)
    r = post_form(client, f"/r/{signed}", GOOD)
    shown = re.search(r'href="http://testserver/m/([^"]+)"', r.text)
    assert shown
    with db.transaction(web_ctx.engine) as s:
        mails = list(s.exec(select(Outbox).where(Outbox.customer_id == customer_id)))
    assert [m.template for m in mails] == ["registered"]
    assert mails[0].to_addr == "taro@docomo.ne.jp"
    # Same bookmark (token) in the mail (signed when it is sent) and on the page.
    assert list((mails[0].links or {}).values()) == [
        ["login", web_ctx.signer.verify("login", shown.group(1), None)]
    ]
    assert "2580" not in mails[0].body


def test_register_link_used_once_then_410(client: TestClient, web_ctx: Context) -> None:
    _, _, signed = pending_customer(web_ctx)
    form = client.get(f"/r/{signed}").text
    assert client.post(f"/r/{signed}", data={**GOOD, "csrf": csrf_of(form)}).status_code == 200
    before = snapshot(web_ctx)
    again = client.post(f"/r/{signed}", data={**GOOD, "name": "別人", "csrf": csrf_of(form)})
    assert again.status_code == 410
    assert "すでに使われています" in again.text
    assert client.get(f"/r/{signed}").status_code == 410
    assert snapshot(web_ctx) == before
    assert get_customer(web_ctx, 1).name == "山田太郎"


def test_already_registered_customer_with_an_older_register_link_gets_409(
    client: TestClient, web_ctx: Context
) -> None:
    _, _, first = pending_customer(web_ctx)
    _, _, second = pending_customer(web_ctx)
    assert post_form(client, f"/r/{second}", GOOD).status_code == 200
    r = client.get(f"/r/{first}")
    assert r.status_code == 409
    assert "すでに登録済みです" in r.text
    assert "ブックマーク" in r.text


def test_double_submitted_link_acts_once(web_ctx: Context) -> None:
    """Two requests that both looked the link up before either used it: only one may use it."""
    _, _, signed = pending_customer(web_ctx)
    now = datetime.now(UTC)
    with db.transaction(db.reading(web_ctx.engine)) as looked:
        token = tokens.lookup(looked, web_ctx.signer, "register", signed, now)
    with db.transaction(db.reading(web_ctx.engine)) as looked_too:
        stale = tokens.lookup(looked_too, web_ctx.signer, "register", signed, now)
    with db.transaction(web_ctx.engine) as second:
        tokens.use(second, token, now)
    with pytest.raises(LinkError) as e, db.transaction(web_ctx.engine) as first:
        tokens.use(first, stale, now)
    assert e.value.kind == "used"


# --- link errors -------------------------------------------------------------------------------------


def _assert_resend_page(r: object, web_ctx: Context) -> None:
    text_ = r.text  # type: ignore[attr-defined]
    assert "もう一度、空メールを" in text_
    assert f'href="mailto:{web_ctx.cfg.mail.signup}"' in text_
    assert "Traceback" not in text_


def test_tampered_signature_is_404(client: TestClient, web_ctx: Context) -> None:
    _, _, signed = pending_customer(web_ctx)
    rest, sig = signed.rsplit(".", 1)
    tampered = f"{rest}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"
    r = client.get(f"/r/{tampered}")
    assert r.status_code == 404
    _assert_resend_page(r, web_ctx)
    assert client.post(f"/r/{tampered}", data=GOOD).status_code == 404


def test_expired_register_link_is_410(client: TestClient, web_ctx: Context) -> None:
    customer_id, token_id, signed = pending_customer(web_ctx)
    with db.transaction(web_ctx.engine) as s:
        t = s.get(Token, token_id)
        assert t is not None
        t.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        s.add(t)
    r = client.get(f"/r/{signed}")
    assert r.status_code == 410
    assert "有効期限が切れています" in r.text
    _assert_resend_page(r, web_ctx)
    assert client.post(f"/r/{signed}", data=GOOD).status_code == 410
    assert get_customer(web_ctx, customer_id).status == CustomerStatus.PENDING


def test_login_link_replayed_as_register_link_is_404(client: TestClient, web_ctx: Context) -> None:
    _, login_path = active_customer(web_ctx)
    signed = login_path.rsplit("/", 1)[1]
    assert client.get(login_path).status_code == 200
    assert client.get(f"/r/{signed}").status_code == 404
    assert client.get(f"/s/{signed}").status_code == 404


def test_forged_link_for_another_customers_token_is_404(client: TestClient, web_ctx: Context) -> None:
    _, _, mine = pending_customer(web_ctx, "me@docomo.ne.jp")
    _, their_token, _ = pending_customer(web_ctx, "them@docomo.ne.jp")
    # Someone else's token id in my link's payload: the signature no longer matches.
    payload = base64.urlsafe_b64encode(json.dumps(their_token).encode()).rstrip(b"=").decode()
    swapped = ".".join([payload, *mine.split(".")[1:]])
    assert client.get(f"/r/{swapped}").status_code == 404
    # A correctly formed link signed with a secret that is not ours.
    forged = Signer(["y" * 32], "http://testserver").sign("register", their_token)
    assert client.get(f"/r/{forged}").status_code == 404
    assert client.post(f"/r/{forged}", data=GOOD).status_code == 404


# --- CSRF --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "garbage", "123.abc", "stale", "other-link"])
def test_post_without_a_valid_csrf_token_is_403(
    client: TestClient, web_ctx: Context, token: str | None
) -> None:
    _, _, signed = pending_customer(web_ctx, "me@docomo.ne.jp")
    _, _, other = pending_customer(web_ctx, "them@docomo.ne.jp")
    secrets = web_ctx.signer.secrets
    if token == "stale":
        token = csrf.make(secrets, "register", signed, now=time.time() - 2 * 3600 - 5)
    elif token == "other-link":
        token = csrf.make(secrets, "register", other)
    before = snapshot(web_ctx)
    data = dict(GOOD) if token is None else {**GOOD, "csrf": token}
    r = client.post(f"/r/{signed}", data=data)
    assert r.status_code == 403
    assert EXPIRED_MESSAGE in r.text
    assert snapshot(web_ctx) == before


def test_csrf_tokens_verify_across_secret_rotation() -> None:
    signed = "1.abc.def"
    old = csrf.make(["old-secret-0123456789"], "register", signed)
    assert csrf.verify(["old-secret-0123456789", "new-secret-0123456789"], "register", signed, old)
    new = csrf.make(["old-secret-0123456789", "new-secret-0123456789"], "register", signed)
    assert csrf.verify(["new-secret-0123456789"], "register", signed, new)
    assert not csrf.verify(["old-secret-0123456789"], "register", signed, new)
    assert not csrf.verify(["new-secret-0123456789"], "login", signed, new)  # bound to the purpose


def test_csrf_token_lasts_two_hours() -> None:
    now = time.time()
    token = csrf.make(["s" * 32], "login", "x", now=now)
    assert csrf.verify(["s" * 32], "login", "x", token, now=now + 2 * 3600 - 1)
    assert not csrf.verify(["s" * 32], "login", "x", token, now=now + 2 * 3600 + 1)


# --- the personal page -------------------------------------------------------------------------------


def login(client: TestClient, path: str, pin: str) -> object:
    return post_form(client, path, {"pin": pin})


def test_correct_pin_shows_mypage_with_a_masked_phone_and_a_settings_link(
    client: TestClient, web_ctx: Context
) -> None:
    customer_id, path = active_customer(web_ctx)
    r = login(client, path, "1234")
    assert r.status_code == 200
    assert "マイページ" in r.text
    assert "佐藤花子" in r.text and "サトウハナコ" in r.text
    assert "090******21" in r.text and "09087654321" not in r.text
    m = re.search(r'href="(http://testserver/s/[^"]+)"', r.text)
    assert m
    assert client.get(m.group(1)).status_code == 200
    assert [e.customer_id for e in events(web_ctx, "pin_ok")] == [customer_id]


def test_login_get_asks_only_for_the_pin_and_changes_nothing(client: TestClient, web_ctx: Context) -> None:
    _, path = active_customer(web_ctx)
    before = snapshot(web_ctx)
    r = client.get(path)
    assert r.status_code == 200
    assert re.findall(r'<input type="(?:text|password|tel)"[^>]*name="(\w+)"', r.text) == ["pin"]
    assert snapshot(web_ctx) == before


def test_wrong_pin_is_401_with_remaining_tries(client: TestClient, web_ctx: Context) -> None:
    _, path = active_customer(web_ctx)
    r = login(client, path, "9999")
    assert r.status_code == 401
    assert "暗証番号が違います" in r.text
    assert "あと4回" in r.text


def test_malformed_pin_is_400_and_not_counted(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    r = login(client, path, "12")
    assert r.status_code == 400
    assert "4桁の数字" in r.text
    assert get_customer(web_ctx, customer_id).pin_failures == 0


def test_five_wrong_pins_lock_the_account_even_against_the_right_pin(
    client: TestClient, web_ctx: Context
) -> None:
    customer_id, path = active_customer(web_ctx)
    token = csrf_of(client.get(path).text)  # the form stays open on the phone while the user retries
    for tries_left in (4, 3, 2, 1):
        r = client.post(path, data={"pin": "0000", "csrf": token})
        assert r.status_code == 401
        assert f"あと{tries_left}回" in r.text
    r = client.post(path, data={"pin": "0000", "csrf": token})
    assert r.status_code == 423
    assert "30分間ロック" in r.text
    locked = events(web_ctx, "account_locked")
    assert [e.customer_id for e in locked] == [customer_id]
    right = client.post(path, data={"pin": "1234", "csrf": token})
    assert right.status_code == 423
    assert "マイページ" not in right.text
    assert client.get(path).status_code == 423
    assert events(web_ctx, "pin_ok") == []


def test_lock_page_says_when_to_retry_in_shop_time(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    for _ in range(5):
        r = login(client, path, "0000")
    c = get_customer(web_ctx, customer_id)
    until = tokens.aware(c.locked_until)
    assert until is not None
    assert until.astimezone(web_ctx.cfg.tz).strftime("%H:%M") in r.text


def test_personal_link_of_a_deleted_customer_is_410(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    with db.transaction(web_ctx.engine) as s:
        c = s.get(Customer, customer_id)
        assert c is not None
        erasure.erase(s, c, datetime.now(UTC), "operator:test", None)
    assert client.get(path).status_code == 410
    assert client.post(path, data={"pin": "1234"}).status_code == 410


def test_replaced_personal_link_is_410(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    with db.transaction(web_ctx.engine) as s:
        c = s.get(Customer, customer_id)
        assert c is not None
        customers.personal_link(s, c, datetime.now(UTC))
    r = client.get(path)
    assert r.status_code == 410
    assert "無効になりました" in r.text


# --- settings ----------------------------------------------------------------------------------------


def new_bookmark(html: str) -> str:
    """The path of the new personal link a settings page shows after a new PIN."""
    m = re.search(r'href="http://testserver(/m/[^"]+)"', html)
    assert m, html
    return m.group(1)


def settings_path(client: TestClient, login_path: str, pin: str = "1234") -> str:
    r = login(client, login_path, pin)
    m = re.search(r'href="http://testserver(/s/[^"]+)"', r.text)  # type: ignore[attr-defined]
    assert m, r.text  # type: ignore[attr-defined]
    return m.group(1)


def test_settings_page_is_prefilled_and_get_uses_nothing(client: TestClient, web_ctx: Context) -> None:
    _, path = active_customer(web_ctx)
    spath = settings_path(client, path)
    before = snapshot(web_ctx)
    r = client.get(spath)
    assert r.status_code == 200
    assert 'value="佐藤花子"' in r.text and 'value="09087654321"' in r.text
    assert r.text.count('name="op"') == 4
    assert snapshot(web_ctx) == before


def test_settings_change_details(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    spath = settings_path(client, path)
    r = post_form(
        client,
        spath,
        {"op": "details", "name": "佐藤 花", "name_kana": "さとう はな", "phone": "03-1234-5678"},
    )
    assert r.status_code == 200
    assert "登録内容を変更しました" in r.text
    c = get_customer(web_ctx, customer_id)
    assert (c.name, c.name_kana, c.phone) == ("佐藤花", "サトウハナ", "0312345678")
    assert client.get(spath).status_code == 410  # one time only
    updated = events(web_ctx, "customer_updated")
    assert [e.detail["fields"] for e in updated] == [["name", "name_kana", "phone"]]


def test_settings_validation_error_is_400_and_keeps_the_link(client: TestClient, web_ctx: Context) -> None:
    _, path = active_customer(web_ctx)
    spath = settings_path(client, path)
    before = snapshot(web_ctx)
    bad = {"op": "details", "name": "佐藤花子", "name_kana": "sato", "phone": "09087654321"}
    r = post_form(client, spath, bad)
    assert r.status_code == 400
    assert "フリガナはカタカナ" in r.text
    assert 'value="sato"' in r.text
    r = post_form(client, spath, {"op": "pin", "pin": "1111", "pin2": "2222"})
    assert r.status_code == 400
    r = post_form(client, spath, {"op": "delete"})
    assert r.status_code == 400
    assert "確認のチェック" in r.text
    assert snapshot(web_ctx) == before
    assert client.get(spath).status_code == 200


def test_settings_change_pin(client: TestClient, web_ctx: Context) -> None:
    _, path = active_customer(web_ctx)
    spath = settings_path(client, path)
    r = post_form(client, spath, {"op": "pin", "pin": "５６７８", "pin2": "5678"})
    assert r.status_code == 200
    assert "暗証番号を変更しました" in r.text
    bookmark = new_bookmark(r.text)  # the old one is revoked (tests/web/test_settings_links.py)
    assert login(client, bookmark, "1234").status_code == 401
    assert "マイページ" in login(client, bookmark, "5678").text
    with Session(web_ctx.engine) as s:
        [notice] = s.exec(select(Outbox).where(Outbox.template == "pin_changed")).all()
    assert "暗証番号を変更しました" in notice.subject and "5678" not in notice.body


def test_a_new_pin_from_the_settings_link_lifts_a_lock(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    for _ in range(5):
        login(client, path, "0000")
    assert "csrf" not in client.get(path).text  # locked: no PIN form at all
    # The way out: a blank mail from the customer's own address brings a settings link.
    with db.transaction(web_ctx.engine) as s:
        token = tokens.issue(s, "settings", customer_id, datetime.now(UTC), hours=24)
        spath = urlsplit(web_ctx.signer.url("settings", token.id or 0)).path
    done = post_form(client, spath, {"op": "pin", "pin": "5678", "pin2": "5678"})
    assert done.status_code == 200
    assert get_customer(web_ctx, customer_id).locked_until is None
    assert "マイページ" in login(client, new_bookmark(done.text), "5678").text  # type: ignore[attr-defined]


def test_settings_delete_erases_personal_data(client: TestClient, web_ctx: Context) -> None:
    customer_id, path = active_customer(web_ctx)
    spath = settings_path(client, path)
    r = post_form(client, spath, {"op": "delete", "confirm": "yes"})
    assert r.status_code == 200
    assert "退会しました" in r.text
    c = get_customer(web_ctx, customer_id)
    assert c.status == CustomerStatus.DELETED
    assert (c.name, c.name_kana, c.phone, c.pin_hash) == ("", "", "", "")
    assert client.get(path).status_code == 410
    assert client.get(spath).status_code == 410


# --- charsets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("say_charset", [True, False])
def test_shift_jis_posted_form_is_decoded(client: TestClient, web_ctx: Context, say_charset: bool) -> None:
    customer_id, _, signed = pending_customer(web_ctx)
    token = csrf_of(client.get(f"/r/{signed}").text)
    fields = {
        "name": "髙橋　ﾀﾛｳ",
        "name_kana": "ﾀｶﾊｼ ﾀﾛｳ",
        "phone": "０９０‐１２３４‐５６７８",
        "pin": "2468",
        "pin2": "2468",
        "csrf": token,
    }
    if say_charset:
        fields["_charset_"] = "Shift_JIS"
    body = urlencode(fields, encoding="cp932")
    r = client.post(
        f"/r/{signed}",
        content=body.encode("ascii"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    c = get_customer(web_ctx, customer_id)
    assert (c.name, c.name_kana, c.phone) == ("髙橋タロウ", "タカハシタロウ", "09012345678")


def test_decode_form_handles_utf8_cp932_and_raw_bytes() -> None:
    assert decode_form(b"name=%E5%B1%B1%E7%94%B0&x=a+b") == {"name": "山田", "x": "a b"}
    assert decode_form(b"name=%8ER%93c") == {"name": "山田"}
    assert decode_form("name=山田".encode("cp932")) == {"name": "山田"}
    sjis = "application/x-www-form-urlencoded; charset=Shift_JIS"
    assert decode_form(b"name=%8ER%93c", sjis) == {"name": "山田"}


# --- headers and failures ----------------------------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient, web_ctx: Context) -> None:
    _, _, signed = pending_customer(web_ctx)
    responses = [
        client.get("/"),
        client.get("/style.css"),
        client.get("/healthz"),
        client.get("/nowhere"),
        client.get(f"/r/{signed}"),
        client.get("/r/broken"),
        client.post(f"/r/{signed}", data=GOOD),  # 403
        client.put("/"),  # 405
    ]
    assert {r.status_code for r in responses} >= {200, 403, 404, 405}
    for r in responses:
        for name, value in HEADERS:
            assert r.headers.get(name) == value, (r.request.url, name)
    assert sorted(responses[-1].headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert "'none'" in responses[0].headers["content-security-policy"]
    assert responses[0].headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_405_on_a_link_names_every_method_the_link_takes(
    client: TestClient, web_ctx: Context, method: str
) -> None:
    _, token_id, signed = pending_customer(web_ctx)
    before = snapshot(web_ctx)
    for path in (f"/r/{signed}", f"/s/{signed}", f"/m/{signed}"):
        r = client.request(method, path)
        assert r.status_code == 405, path
        assert sorted(r.headers["allow"].split(", ")) == ["GET", "HEAD", "POST"], path
        assert "この操作はできません" in r.text
    assert snapshot(web_ctx) == before
    assert get_token(web_ctx, token_id).used_at is None


def test_database_failure_is_a_japanese_500_page_without_traceback(web_ctx: Context) -> None:
    _, _, signed = pending_customer(web_ctx)
    with web_ctx.engine.begin() as conn:
        conn.execute(text("DROP TABLE event"))
        conn.execute(text("DROP TABLE reminder"))  # it refers to outbox
        conn.execute(text("DROP TABLE outbox"))
        conn.execute(text("DROP TABLE token"))
    client = TestClient(create_app(web_ctx), raise_server_exceptions=True)
    r = client.get(f"/r/{signed}")
    assert r.status_code == 500
    assert "エラーが発生しました" in r.text
    assert "Traceback" not in r.text and "sqlite" not in r.text.lower()
    for name, value in HEADERS:
        assert r.headers.get(name) == value
