"""Everything a running mailgate needs, built once from the configuration."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jinja2
from sqlalchemy.engine import Engine

from mailgate import db, schema
from mailgate.config import Config, ConfigError
from mailgate.ledger.env import LedgerEnv
from mailgate.links import Signer
from mailgate.mail.dkim import load_txt_records
from mailgate.outbound.queue import Mailer
from mailgate.rules import engine as rules_engine
from mailgate.shop.calendar import Calendar
from mailgate.shop.live import LiveCalendar
from mailgate.templating import mail_env, web_env


@dataclass(frozen=True)
class Context:
    cfg: Config
    engine: Engine
    rules: rules_engine.RuleSet
    signer: Signer
    mail_env: jinja2.Environment
    web_env: jinja2.Environment
    calendars: LiveCalendar
    dns: dict[str, str] | None  # DKIM TXT records from [authn] dns_overrides; None = real DNS

    @property
    def calendar(self) -> Calendar:
        return self.calendars.current()

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.cfg, self.mail_env)

    @property
    def ledger(self) -> LedgerEnv:
        """What the ledger commands get: never this whole context."""
        return LedgerEnv(
            cfg=self.cfg, mailer=self.mailer, signer=self.signer, calendars=self.calendars.current
        )

    @classmethod
    def build(cls, cfg: Config, *, check_schema: bool = True) -> Context:
        """Raises schema.SchemaOutdated for a database `mailgate db upgrade` must upgrade first.
        check_schema=False: the caller checks (serve starts before the database answers)."""
        cfg.var_dir.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(cfg.db_url)
        if check_schema:
            schema.ensure_current(engine)
        return cls(
            cfg=cfg,
            engine=engine,
            rules=rules_engine.load(cfg),
            signer=Signer(link_secrets(cfg), cfg.base_url),
            mail_env=mail_env(cfg.templates_dir),
            web_env=web_env(cfg.templates_dir),
            calendars=LiveCalendar(cfg),
            dns=load_txt_records(cfg.dns_overrides_path) if cfg.dns_overrides_path else None,
        )


def link_secrets(cfg: Config) -> list[str]:
    """Configured secrets, else (SQLite: one machine) one generated on first start and kept in
    var/secret (mode 0600). With PostgreSQL several nodes share the links, so they must share the
    secret: a node's own var/secret would make the links it mails fail on every other node."""
    if cfg.links.secrets:
        return list(cfg.links.secrets)
    if os.environ.get("MAILGATE_SECRET"):
        return [os.environ["MAILGATE_SECRET"]]
    if not cfg.db_url.startswith("sqlite"):
        raise ConfigError(
            f"{cfg.source or 'defaults'}: [links] secrets: with a shared database "
            f"({cfg.db_url.split(':')[0]}) "
            'every node must sign links with the same secret: set [links] secrets = ["..."] '
            "(at least 16 characters; `mailgate init` writes one) or MAILGATE_SECRET"
        )
    path: Path = cfg.var_dir / "secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return [path.read_text().strip()]
