"""PIN verifiers: a copy of the database alone must not let anyone try the 10,000 PINs offline; the
key comes from the configuration (the link secrets every node shares)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import itertools
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from mailgate import config, db, schema
from mailgate.cli import app
from mailgate.context import Context
from mailgate.ledger import customers, logins
from mailgate.ledger.pins import check_pin, hash_pin, kid_of, pin_keys
from mailgate.links import Signer
from mailgate.models import Customer
from tests.conftest import SECRET, write_config

PIN = "2580"


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def confirms_offline(pin: str, stored: str) -> bool:
    """What an attacker with the row does: read the salt and parameters off the verifier and
    recompute it for a PIN. True when that reproduces any part of what is stored."""
    fields = stored.split("$")
    n, r, p = 2**14, 8, 1
    for field in fields:  # parameters written into the verifier, in either spelling
        numbers = [int(x) for x in field.replace("scrypt:", "").split(":") if x.isdigit()]
        if field.startswith("scrypt:") and len(numbers) >= 3:
            n, r, p = numbers[:3]
    if len(fields) == 6 and all(f.isdigit() for f in fields[1:4]):
        n, r, p = (int(f) for f in fields[1:4])
    decoded = [b for f in fields if (b := _b64(f))]
    for salt, digest in itertools.permutations(decoded, 2):
        if hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest)) == digest:
            return True
    return False


def test_the_stored_verifier_cannot_confirm_even_the_right_pin_without_the_key() -> None:
    keys = pin_keys([SECRET])
    stored = hash_pin(PIN, keys)
    assert check_pin(PIN, stored, keys)
    assert not confirms_offline(PIN, stored)


def test_the_attacker_model_confirms_the_old_unkeyed_verifier() -> None:
    """The check above can fail: the verifier mailgate stored before is confirmed offline."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PIN.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert confirms_offline(PIN, old)


def test_another_secret_cannot_check_a_pin() -> None:
    stored = hash_pin(PIN, pin_keys([SECRET]))
    assert not check_pin(PIN, stored, pin_keys(["another-secret-" + "y" * 20]))
    assert not check_pin("0000", stored, pin_keys([SECRET]))


def test_a_pin_made_under_a_rotated_out_secret_still_checks_while_the_secret_is_listed() -> None:
    old = hash_pin(PIN, pin_keys([SECRET]))
    rotated = pin_keys([SECRET, "the-new-secret-" + "z" * 20])
    assert check_pin(PIN, old, rotated)


def test_a_registered_customers_row_cannot_confirm_their_pin_offline(shop: Context) -> None:
    now = datetime.now(UTC)
    with db.transaction(shop.engine) as s:
        customer = Customer(email="a@example.jp", email_key="a@example.jp", created_at=now)
        s.add(customer)
        s.flush()
        assert customer.id is not None
        token = customers.tokens.issue(s, "register", customer.id, now, hours=1)
        details = customers.Details(name="山田太郎", name_kana="ヤマダタロウ", phone="09012345678")
        customers.register(s, shop.ledger, token, details, PIN, now)
        stored = customer.pin_hash
    assert not confirms_offline(PIN, stored)
    assert check_pin(PIN, stored, pin_keys(shop.signer.secrets))


def test_the_right_pin_remakes_a_verifier_of_an_older_secret_with_the_newest(shop: Context) -> None:
    now = datetime.now(UTC)
    rotated = dataclasses.replace(
        shop.ledger, signer=Signer([SECRET, "the-new-secret-" + "z" * 20], shop.cfg.base_url)
    )
    with db.transaction(shop.engine) as s:
        customer = Customer(email="a@example.jp", email_key="a@example.jp", status="active", created_at=now)
        customer.pin_hash = hash_pin(PIN, pin_keys([SECRET]))
        s.add(customer)
        s.flush()
        assert customer.id is not None
        token = customers.tokens.issue(s, "login", customer.id, now, hours=None)
        assert logins.try_pin(s, rotated, customer, token, PIN, now)
        assert kid_of(customer.pin_hash) == pin_keys(rotated.signer.secrets)[-1].kid
        assert check_pin(PIN, customer.pin_hash, pin_keys(rotated.signer.secrets))


def legacy(pin: str) -> str:
    salt = b"legacy-salt-0001"
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_db_upgrade_wraps_the_pin_verifiers_already_stored(tmp_path: Path, empty_db_url: str) -> None:
    """Not left until the customer's next login: a copy taken after the upgrade is safe."""
    engine = db.make_engine(empty_db_url)
    schema.upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customer (email, email_key, status, name, name_kana, phone, pin_hash,"
                " pin_failures, memo, created_at) VALUES ('a@example.jp', 'a@example.jp', 'active',"
                " '山田太郎', 'ヤマダタロウ', '09012345678', :h, 0, '', :t)"
            ),
            {"h": legacy(PIN), "t": datetime.now(UTC)},
        )
    cfg = write_config(tmp_path / "shop", db_url=empty_db_url)

    done = CliRunner().invoke(app, ["--config", str(cfg), "db", "upgrade", "--yes"])

    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT pin_hash FROM customer")).scalar_one()
    assert not confirms_offline(PIN, stored)
    ctx = Context.build(config.load(cfg))
    assert check_pin(PIN, stored, pin_keys(ctx.signer.secrets))
    assert not check_pin("1111", stored, pin_keys(ctx.signer.secrets))
