"""Keyed PIN verifiers

A PIN verifier was scrypt(PIN, salt) alone: from a copy of the database the 10,000 4-digit PINs
are tried offline in minutes. Every stored verifier gets an HMAC over its digest, keyed by the key
of the newest link secret (mailgate.ledger.pins), so the copy alone checks nothing. The key is
handed in by `mailgate db upgrade` (config.attributes["pin_key"]: (kid, key)); the PIN itself is
not needed, so customers keep theirs.

Revision 0006, after 0005.
"""

import base64
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op

from mailgate.schema import SchemaError

revision = "0006"
down_revision = "0005"


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _wrap(stored: str, kid: str, key: bytes) -> str | None:
    """scrypt$SALT$DIGEST (N=2**14, r=8, p=1) or scrypt$N$R$P$SALT$DIGEST, keyed; None if neither."""
    fields = stored.split("$")
    if len(fields) == 3:
        n, r, p, salt, digest = 2**14, 8, 1, fields[1], fields[2]
    elif len(fields) == 6 and all(f.isdigit() for f in fields[1:4]):
        n, r, p, salt, digest = int(fields[1]), int(fields[2]), int(fields[3]), fields[4], fields[5]
    else:
        return None
    raw = _unb64(digest)
    mac = hmac.new(key, raw, hashlib.sha256).digest()
    salt_b64 = base64.b64encode(_unb64(salt)).decode()
    return f"keyed${kid}$scrypt:{n}:{r}:{p}:{len(raw)}${salt_b64}${base64.b64encode(mac).decode()}"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, pin_hash FROM customer WHERE pin_hash LIKE 'scrypt$%'")).all()
    if not rows:
        return
    pin_key = op.get_context().config.attributes.get("pin_key")
    if pin_key is None:
        raise SchemaError(
            f"{len(rows)} PIN verifiers must be keyed with the link secrets: "
            "run `mailgate db upgrade` with the shop's configuration ([links] secrets or MAILGATE_SECRET)"
        )
    kid, key = pin_key
    for customer_id, stored in rows:
        wrapped = _wrap(stored, kid, key)
        if wrapped is not None:
            bind.execute(
                sa.text("UPDATE customer SET pin_hash = :h WHERE id = :id"), {"h": wrapped, "id": customer_id}
            )
