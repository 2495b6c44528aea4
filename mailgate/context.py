"""Everything a running mailgate needs, built once from the configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass

import jinja2
from sqlalchemy.engine import Engine

from mailgate import db, schema
from mailgate.config import Config, ConfigError
from mailgate.files import private_dir
from mailgate.ledger.env import LedgerEnv
from mailgate.links import Signer, link_secrets
from mailgate.mail.dkim import load_txt_records
from mailgate.outbound import relay
from mailgate.outbound.queue import Mailer
from mailgate.rules import engine as rules_engine
from mailgate.shop import importing
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
    def build(cls, cfg: Config, *, read_only: bool = False, check_schema: bool = True) -> Context:
        """Raises schema.SchemaOutdated for a database `mailgate db upgrade` must upgrade first.

        read_only: for commands that only look; nothing is created on disk (no var/, no database, no
        link secret), and a database that is not there is schema.NoDatabase.
        check_schema=False: the caller checks and imports the shop (serve starts before the database
        answers: a full disk or PostgreSQL away is waited out)."""
        check_relay(cfg)
        if read_only:
            engine = schema.open_existing(cfg.db_url)
        else:
            private_dir(cfg.var_dir)
            engine = db.make_engine(cfg.db_url)
            if check_schema:
                schema.ensure_current(engine)
                importing.ensure_imported(engine, cfg)
        return cls(
            cfg=cfg,
            engine=engine,
            rules=rules_engine.load(cfg),
            signer=Signer(link_secrets(cfg, create=not read_only), cfg.base_url),
            mail_env=mail_env(cfg.templates_dir),
            web_env=web_env(cfg.templates_dir),
            calendars=LiveCalendar(engine, cfg.tz),
            dns=load_txt_records(cfg.dns_overrides_path) if cfg.dns_overrides_path else None,
        )


def check_relay(cfg: Config) -> None:
    """A relay URL that cannot be read is a mistake in the file, reported before anything starts
    (the sender would otherwise find it only once it runs)."""
    if not cfg.outbound.relay:
        return
    try:
        relay.parse_relay_url(cfg.outbound.relay, os.environ)
    except ValueError as e:
        raise ConfigError(f"{cfg.source or 'defaults'}: [outbound] relay: {e}") from None
