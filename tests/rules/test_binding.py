"""A genuine vendor signature proves the vendor sent a mail, not that the mail is this shop's: notices
are bound per source to the shop's vendor-facing addresses and the name or account id the vendor
writes, signing domains and From domains are pinned together, and attached notices count only from
trusted forwarders."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailgate import config
from mailgate.authn import find_originals
from mailgate.cli import app
from mailgate.config import Config
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.authn.helpers import outer, raw_sign, rfc822_part, signed, text_part, txt_records
from tests.conftest import CORPUS, write_config

CORPUS_CFG = config.load(CORPUS / "mailgate.toml")
AUTHN = f"""
[authn]
dns_overrides = "{CORPUS / "keys" / "dns.json"}"
trusted_forwarders = ["uketsuke@salon-mail.example"]
"""
BOUND = """
[notices.bind.stores]
recipients = ["owner@salon-mail.example"]
names = ["JITANBODY整体院", "shop-4711"]
"""


@pytest.fixture
def bound(tmp_path: Path) -> Config:
    return config.load(write_config(tmp_path / "bound", AUTHN + BOUND, database=False))


def decide(raw: bytes, cfg: Config = CORPUS_CFG) -> Intent:
    rules = engine.load(cfg)
    return engine.decide(
        rules, parse(raw), "notices@shop.example", None, cfg, lambda: find_originals(raw, txt_records())
    )


# --- bound to the shop ------------------------------------------------------------------------------


def test_a_notice_naming_this_shop_and_addressed_to_it_applies(bound: Config) -> None:
    intent = decide(notices.stores_booked("87246923"), bound)
    assert intent.action == "book", intent.reason


def test_a_genuine_notice_for_another_shop_is_held(bound: Config) -> None:
    raw = notices.stores_booked("87246923", shop="ほかの整体院", to="info@other-seitai.example")
    assert decide(raw).action == "book"  # unbound, as the sample corpus runs: applied as before
    intent = decide(raw, bound)
    assert intent.action == "hold", intent.reason
    assert "owner@salon-mail.example" in intent.reason


def test_the_right_address_with_another_shops_name_is_held(bound: Config) -> None:
    raw = notices.stores_booked("87246923", shop="ほかの整体院")
    intent = decide(raw, bound)
    assert intent.action == "hold", intent.reason
    assert "JITANBODY整体院" in intent.reason


def test_another_address_with_this_shops_name_is_held(bound: Config) -> None:
    intent = decide(notices.stores_booked("87246923", to="info@other-seitai.example"), bound)
    assert intent.action == "hold", intent.reason


def test_the_account_id_binds_as_well_as_the_name(bound: Config) -> None:
    raw = notices.stores_booked("87246923", shop="店舗ID shop-4711")
    assert decide(raw, bound).action == "book"


def test_a_bound_source_needs_the_vendor_to_have_signed_the_to_header(bound: Config) -> None:
    unsigned = notices.stores_booked("87246923", signer=None)
    raw = raw_sign(
        unsigned,
        notices.key("coubic.com", "s1"),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"from", b"subject", b"date", b"message-id"],
    )
    assert decide(raw).action == "book"
    intent = decide(raw, bound)
    assert intent.action == "hold", intent.reason
    assert "To" in intent.reason


def test_sender_addresses_are_pinned_only_where_the_shop_configures_them(tmp_path: Path) -> None:
    raw = notices.stores_booked("87246923", sender="STORES <reserve@stores.jp>", signer=("stores.jp", "s1"))
    assert decide(raw).action == "book"
    pinned = BOUND + 'senders = ["noreply@coubic.com"]\n'
    cfg = config.load(write_config(tmp_path / "pinned", AUTHN + pinned, database=False))
    intent = decide(raw, cfg)
    assert intent.action == "hold", intent.reason
    assert "reserve@stores.jp" in intent.reason
    assert decide(notices.stores_booked("87246923"), cfg).action == "book"


def test_unbound_sources_are_named_by_rules_check(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["--config", str(CORPUS / "mailgate.toml"), "rules", "check"])
    assert done.exit_code == 0, done.output
    for source in ("stores", "salonboard", "airreserve"):
        assert f"warning: {source} is unbound" in done.output
    path = write_config(tmp_path / "bound", AUTHN + BOUND, database=False)
    done = runner.invoke(app, ["--config", str(path), "rules", "check"])
    assert "warning: stores is unbound" not in done.output
    assert "warning: salonboard is unbound" in done.output


def test_a_binding_for_a_source_no_rules_file_has_is_a_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path / "typo", AUTHN + BOUND.replace("stores]", "storse]"), database=False)
    done = CliRunner().invoke(app, ["--config", str(path), "rules", "check"])
    assert "[notices.bind.storse] names no source of the rules files" in done.output


# --- pinned domains ---------------------------------------------------------------------------------


def test_a_coubic_from_signed_only_by_stores_jp_is_held() -> None:
    # Both domains are STORES's, but a signature vouches for its own domain's From only.
    intent = decide(notices.stores_booked("87246923", signer=("stores.jp", "s1")))
    assert intent.action == "hold", intent.reason
    assert "coubic.com" in intent.reason and "stores.jp" in intent.reason


def test_a_stores_jp_announcement_naming_a_reservation_does_not_cancel_it() -> None:
    body = (
        "いつもSTORES 予約をご利用いただきありがとうございます。\n\n"
        "キャンセルポリシー機能を更新しました。例:\n◆予約番号:\n  87246923\n\n--\nSTORES\n"
    )
    raw = notices.mail(
        "【STORES】予約キャンセル機能アップデートのお知らせ",
        body,
        sender="STORES <info@stores.jp>",
        signer=("stores.jp", "s1"),
    )
    intent = decide(raw)
    assert intent.action == "ignore", intent.reason
    assert intent.source == "stores"


# --- attached only by trusted forwarders ------------------------------------------------------------


def test_a_notice_attached_by_an_outsider_is_held() -> None:
    raw = signed(
        outer(
            [text_part("fyi"), rfc822_part(notices.stores_booked("87246923"))], from_="x@othermail.example"
        ),
        "othermail.example",
        "o1",
    )
    intent = decide(raw)
    assert intent.action == "hold", intent.reason
    assert "x@othermail.example, who is not in [authn] trusted_forwarders" in intent.reason


def test_a_notice_attached_by_a_trusted_forwarder_whose_mail_is_not_signed_is_held() -> None:
    raw = outer([text_part("fyi"), rfc822_part(notices.stores_booked("87246923"))])
    intent = decide(raw)
    assert intent.action == "hold", intent.reason
    assert "not DKIM-signed by salon-mail.example" in intent.reason


def test_a_notice_attached_by_a_trusted_forwarder_applies() -> None:
    raw = signed(
        outer([text_part("fyi"), rfc822_part(notices.stores_booked("87246923"))]), "salon-mail.example", "m1"
    )
    intent = decide(raw)
    assert intent.action == "book", intent.reason
    assert intent.reason == "rule stores/booked (forwarded as an attachment by uketsuke@salon-mail.example)"


def test_a_mistyped_binding_is_a_configuration_error(tmp_path: Path) -> None:
    bad = BOUND.replace('recipients = ["owner@salon-mail.example"]', 'recipients = ["owner"]')
    with pytest.raises(config.ConfigError, match=r"notices.*bind.*stores.*recipients"):
        config.load(write_config(tmp_path / "bad", AUTHN + bad, database=False))


def test_serve_names_the_unbound_sources_when_it_starts(tmp_path: Path) -> None:
    from mailgate.context import Context
    from mailgate.server import _banner

    ctx = Context.build(config.load(write_config(tmp_path / "shop", AUTHN + BOUND)))
    banner = _banner(ctx, process=True, warnings=[])
    assert "warning: salonboard is unbound" in banner and "warning: stores is unbound" not in banner
