"""Outbox: links signed at send time

A queued mail kept its links as live URLs, and kept them after it was sent: whoever read the table
(a copy, a backup) could open the customer's settings. The body now holds a placeholder per link
and `links` maps it to the link's purpose and token; the sender signs the URL into the mail as it
sends it. The URLs already stored become placeholders too: the token id is the signed payload
(itsdangerous: base64 JSON before the first dot), readable without the secret.

Revision 0007, after 0006.
"""

import base64
import binascii
import json
import re
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

PURPOSES = {"r": "register", "s": "settings", "m": "login"}
URL = re.compile(r"https?://[^\s/]+(?:/[^\s]*?)?/([rsm])/([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _token_id(payload: str) -> int | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, int) else None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("links", sa.JSON(), nullable=True))
    bind = op.get_bind()
    outbox = sa.table(
        "outbox", sa.column("id", sa.Integer), sa.column("body", sa.Text), sa.column("links", sa.JSON)
    )
    for row_id, body in bind.execute(
        sa.select(outbox.c.id, outbox.c.body).where(outbox.c.body.like("%http%"))
    ):
        links = {}

        def placeholder(m: re.Match[str], links: dict[str, list[object]] = links) -> str:
            token_id = _token_id(m.group(2))
            if token_id is None:
                return m.group(0)
            name = f"[[link-{secrets.token_hex(8)}]]"
            links[name] = [PURPOSES[m.group(1)], token_id]
            return name

        new_body = URL.sub(placeholder, body)
        if links:
            bind.execute(outbox.update().where(outbox.c.id == row_id).values(body=new_body, links=links))
