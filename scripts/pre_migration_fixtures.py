"""Write tests/db/fixtures/: an SQLite and a PostgreSQL database as mailgate made them before it had
migrations (commit 8356a80 created its tables with `SQLModel.metadata.create_all`), with rows in every
table. tests/db/test_pre_migration.py loads them and upgrades them; they were made once, by

    .venv/bin/python scripts/pre_migration_fixtures.py postgresql+psycopg://postgres@127.0.0.1:15432/postgres

which runs the code of 8356a80 (`git archive` into a temporary directory), not the working tree's, so
running it again writes the same files (pg_dump's version comment aside). It needs git, pg_dump and
a PostgreSQL server it may create and drop a database on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PRE_MIGRATION = "8356a80"
REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "db" / "fixtures"
SCRATCH = "mailgate_pre_migration_fixture"


def main(pg_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", PRE_MIGRATION, "mailgate"], cwd=REPO, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        subprocess.run([sys.executable, __file__, "--as-old-code", pg_url, tmp], env=env, check=True)


def as_old_code(pg_url: str, tmp: str) -> None:
    import sqlite3

    import sqlalchemy as sa

    import mailgate
    from mailgate import db

    assert mailgate.__file__.startswith(tmp), f"not the code of {PRE_MIGRATION}: {mailgate.__file__}"
    FIXTURES.mkdir(parents=True, exist_ok=True)

    path = Path(tmp) / "old.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.create_schema(engine)
    add_rows(engine)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump()) + "\n"
    (FIXTURES / "pre_migration_sqlite.sql").write_text(HEADER.format(how="sqlite3 .iterdump()") + dump)

    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{SCRATCH}"'))
        c.execute(sa.text(f'CREATE DATABASE "{SCRATCH}"'))
    url = pg_url.rsplit("/", 1)[0] + "/" + SCRATCH
    engine = db.make_engine(url)
    db.create_schema(engine)
    add_rows(engine)
    engine.dispose()
    pg_dump = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run(
        [str(pg_dump), "--no-owner", "--no-privileges", "--column-inserts", "--dbname", plain_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # psql meta-commands (\restrict since 15.14) and comments: the test runs the SQL through psycopg.
    dump = "\n".join(line for line in dump.splitlines() if not re.match(r"\\|--", line))
    dump = re.sub(r"\n{3,}", "\n\n", dump).strip() + "\n"
    (FIXTURES / "pre_migration_postgresql.sql").write_text(
        HEADER.format(how="pg_dump --no-owner --no-privileges --column-inserts") + dump
    )
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE "{SCRATCH}" WITH (FORCE)'))
    admin.dispose()


HEADER = (
    f"-- A mailgate database made by commit {PRE_MIGRATION} (create_all, before migrations), dumped with\n"
    "-- {how}. Written by scripts/pre_migration_fixtures.py: do not edit.\n"
)


def add_rows(engine: object) -> None:
    """One or two rows in every table, with the values that are easy to lose: JSON, non-ASCII text,
    aware times, a date, NULLs, unsigned 32-bit IMAP UIDs."""
    from datetime import UTC, date, datetime, timedelta

    from mailgate import models as m
    from mailgate.db import transaction

    t = datetime(2026, 11, 26, 12, 14, 3, tzinfo=UTC)
    with transaction(engine) as s:  # type: ignore[arg-type]
        blank = m.Message(
            dedupe_key="a" * 64,
            rcpt="signup@shop.example",
            mail_from="taro..yamada.@docomo.ne.jp",
            via="smtp",
            spool_path="aa/" + "a" * 64 + ".eml",
            size=412,
            header_message_id="<blank-1@docomo.ne.jp>",
            from_addr="taro..yamada.@docomo.ne.jp",
            subject="",
            received_at=t,
            state="applied",
            reason="registration link sent",
            attempts=1,
            processed_at=t + timedelta(seconds=1),
            decision={"action": "register", "rule": "signup", "fields": {"email": "taro@docomo.ne.jp"}},
        )
        notice = m.Message(
            dedupe_key="b" * 64,
            rcpt="notices@shop.example",
            mail_from=None,
            via="imap",
            spool_path="bb/" + "b" * 64 + ".eml",
            size=5120,
            header_message_id="<test-1@coubic.com>",
            from_addr="noreply@coubic.com",
            subject="[STORES 予約] 予約がキャンセルされました",
            received_at=t + timedelta(minutes=5),
            state="deferred",
            reason="予約番号 87246923 の予約がまだありません",
            attempts=2,
            decision={"action": "cancel", "source": "stores", "external_id": "87246923", "customer": None},
            traceback="Traceback (most recent call last):\n  ...\nValueError: 一度目の失敗\n",
            waiting_for="stores:87246923",
        )
        s.add_all([blank, notice])
        s.flush()
        taro = m.Customer(
            email="taro..yamada.@docomo.ne.jp",
            email_key="taro..yamada.@docomo.ne.jp",
            status="active",
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            phone="09012345678",
            pin_hash="scrypt$16384$8$1$c2FsdA$aGFzaA",
            pin_failures=1,
            locked_until=t + timedelta(minutes=15),
            memo="",
            created_at=t,
            registered_at=t + timedelta(minutes=2),
        )
        hanako = m.Customer(
            email="",
            email_key=None,
            status="ledger",
            name="佐々木 花子",
            phone="0312345678",
            memo="別のアドレス: hanako@example.jp",
            created_at=t + timedelta(minutes=5),
        )
        s.add_all([taro, hanako])
        s.flush()
        register = m.Token(
            purpose="register",
            customer_id=taro.id,
            created_at=t,
            expires_at=t + timedelta(hours=72),
            used_at=t + timedelta(minutes=2),
            message_id=blank.id,
        )
        login = m.Token(purpose="login", customer_id=taro.id, created_at=t + timedelta(minutes=2))
        s.add_all([register, login])
        s.flush()
        s.add(
            m.Event(
                at=t + timedelta(minutes=2),
                kind="customer.registered",
                actor=f"link:register:{register.id}",
                customer_id=taro.id,
                message_id=blank.id,
                token_id=register.id,
                detail={"fields": ["name", "name_kana", "phone"], "note": "登録"},
            )
        )
        s.add(
            m.Outbox(
                created_at=t + timedelta(seconds=1),
                to_addr="taro..yamada.@docomo.ne.jp",
                to_key="taro..yamada.@docomo.ne.jp",
                template="signup_register",
                subject="【テスト整体院】ご登録のご案内",
                body="下のリンクからご登録ください。\nhttp://127.0.0.1:8025/r/1.abc.def\n",
                header_message_id="<mg-1@shop.example>",
                in_reply_to="<blank-1@docomo.ne.jp>",
                references="blank-1@docomo.ne.jp",
                cause_message_id=blank.id,
                customer_id=taro.id,
                state="sent",
                attempts=1,
                next_attempt_at=t + timedelta(seconds=1),
                sent_at=t + timedelta(seconds=2),
            )
        )
        booked = m.Booking(
            source="stores",
            external_id="87246923",
            customer_id=hanako.id,
            start=datetime(2026, 12, 3, 4, 0, tzinfo=UTC),
            end=datetime(2026, 12, 3, 5, 0, tzinfo=UTC),
            staff="佐藤",
            menu="整体 60分コース",
            status="booked",
            note="",
            created_at=t,
            updated_at=t,
            message_id=notice.id,
        )
        phoned = m.Booking(
            source="phone",
            external_id=None,
            customer_id=None,
            start=datetime(2026, 12, 3, 4, 30, tzinfo=UTC),
            end=datetime(2026, 12, 3, 5, 15, tzinfo=UTC),
            staff=None,
            menu="骨盤矯正",
            status="cancelled",
            note="電話で受付",
            created_at=t,
            updated_at=t + timedelta(hours=1),
        )
        s.add_all([booked, phoned])
        s.flush()
        s.add(
            m.Conflict(
                booking_id=booked.id,
                reasons=["佐藤 は 13:00-14:00 に別の予約があります", "closed"],
                created_at=t,
                message_id=notice.id,
            )
        )
        s.add(
            m.Conflict(
                booking_id=phoned.id,
                reasons=[],
                created_at=t,
                resolved_at=t + timedelta(hours=2),
                resolved_by="operator:owner",
                resolution="電話で調整済み",
            )
        )
        s.add(
            m.Inquiry(
                source="airreserve",
                message_id=notice.id,
                customer_id=hanako.id,
                name="佐々木 花子",
                email="hanako@example.jp",
                body="駐車場はありますか？",
                kind="question",
                status="waiting",
                assignee="田中",
                next_action_on=date(2026, 12, 1),
                booking_id=booked.id,
                received_at=t,
                updated_at=t + timedelta(hours=1),
            )
        )
        s.add(
            m.ImapState(
                mailbox="booker@127.0.0.1/INBOX",
                uidvalidity=3_000_000_001,
                last_uid=4_294_967_295,
                updated_at=t,
            )
        )


if __name__ == "__main__":
    if sys.argv[1] == "--as-old-code":
        as_old_code(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1])
