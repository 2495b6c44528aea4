"""The operator's command line. Thin: parse arguments, call a service, print (text or --json)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from mailgate import config as config_mod
from mailgate.config import Config, ConfigError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="mailgate: mail in, bookings out.")
rules_app = typer.Typer(no_args_is_help=True, help="Check and try the rules in rules/*.toml.")
messages_app = typer.Typer(invoke_without_command=True, help="Stored messages and their states.")
app.add_typer(rules_app, name="rules")
app.add_typer(messages_app, name="messages")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="MAILGATE_CONFIG", help="mailgate.toml (default: built-in demo shop)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _config(ctx: typer.Context, **overrides: str | None) -> Config:
    try:
        return config_mod.load(ctx.obj, **overrides)
    except ConfigError as e:
        raise _fail(f"configuration error:\n{e}") from None


def _context(cfg: Config) -> Any:
    from mailgate.context import Context
    from mailgate.rules.engine import RulesError

    try:
        return Context.build(cfg)
    except RulesError as e:
        raise _fail(f"rules error:\n{e}") from None


def _logging(verbose: bool = True) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _dt(value: datetime | None, cfg: Config) -> str:
    return value.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


@app.callback()
def main_callback(ctx: typer.Context, config: ConfigOpt = None) -> None:
    ctx.obj = config


@app.command()
def serve(
    ctx: typer.Context,
    smtp: Annotated[str | None, typer.Option(help="HOST:PORT for SMTP (default 127.0.0.1:2525)")] = None,
    http: Annotated[
        str | None, typer.Option(help="HOST:PORT for the link pages (default 127.0.0.1:8025)")
    ] = None,
    var: Annotated[str | None, typer.Option(help="runtime data directory (default var/)")] = None,
    worker: Annotated[bool, typer.Option(help="process stored mail (--no-worker: store only)")] = True,
) -> None:
    """Run SMTP, the link pages, the worker and the outbox sender."""
    from mailgate.server import serve as run

    cfg = _config(ctx, smtp=smtp, http=http, var=var)
    _logging()
    c = _context(cfg)
    try:
        asyncio.run(run(c, process=worker))
    except OSError as e:
        raise _fail(f"cannot start: {e}", 1) from None


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help=".eml files, directories (Maildir or *.eml), mbox files")
    ],
    rcpt: Annotated[
        str | None, typer.Option(help="envelope recipient (default: our addresses in the headers)")
    ] = None,
    process: Annotated[bool, typer.Option(help="process after storing (--no-process: store only)")] = True,
) -> None:
    """Store and process mail from files, exactly as if it came by SMTP."""
    from mailgate.inbound.files import iter_messages, local_recipients
    from mailgate.inbound.store import store
    from mailgate.pipeline import process as process_one

    cfg = _config(ctx)
    _logging()
    c = _context(cfg)
    failed = 0
    for path in paths:
        if not path.exists():
            raise _fail(f"{path}: no such file or directory")
        for label, raw in iter_messages(path):
            rcpts = [rcpt] if rcpt else local_recipients(raw, cfg.is_local)
            stored = store(c.engine, cfg.spool_dir, raw, rcpts, mail_from=None, via="file")
            if not stored.ids:
                typer.echo(f"{label}: already stored as {stored.duplicates}")
                continue
            for mid in stored.ids:
                state = process_one(c, mid) if process else "received"
                failed += state == "failed"
                typer.echo(f"{label}: message {mid} {state}")
    if failed:
        raise typer.Exit(1)


@app.command("process")
def process_cmd(ctx: typer.Context) -> None:
    """Process every stored message still in `received`."""
    from mailgate.pipeline import process_pending

    cfg = _config(ctx)
    _logging()
    typer.echo(f"processed {process_pending(_context(cfg))}")


@rules_app.command("test")
def rules_test(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a .eml file")],
    rcpt: Annotated[str | None, typer.Option(help="envelope recipient")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show which rule takes a mail, what it read and what it would do. Changes nothing."""
    from mailgate.inbound.files import local_recipients
    from mailgate.mail.parse import parse
    from mailgate.rules import engine

    cfg = _config(ctx)
    try:
        ruleset = engine.load(cfg)
    except engine.RulesError as e:
        raise _fail(f"rules error:\n{e}") from None
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise _fail(f"{file}: {e.strerror}") from None
    rcpt = rcpt or next(iter(local_recipients(raw, cfg.is_local)), "")
    mail = parse(raw)
    intent = engine.decide(ruleset, mail, rcpt, None, cfg)
    out = intent.as_json()
    out["rules_version"] = ruleset.version
    if as_json:
        _emit_json(out)
        return
    typer.echo(
        f"file:    {file}\nrcpt:    {rcpt or '-'}\nfrom:    {mail.from_addr or '-'}\nsubject: {mail.subject}"
    )
    typer.echo(f"rule:    {intent.rule or '(none)'}\naction:  {intent.action}\nreason:  {intent.reason}")
    for key, value in out.items():
        if key not in ("action", "rule", "reason", "rules_version"):
            typer.echo(f"{key + ':':9}{json.dumps(value, ensure_ascii=False)}")


@rules_app.command("check")
def rules_check(ctx: typer.Context) -> None:
    """Validate every rules file; name the file and line of each mistake."""
    from mailgate.rules import engine

    cfg = _config(ctx)
    try:
        ruleset = engine.load(cfg)
    except engine.RulesError as e:
        raise _fail(str(e), 1) from None
    typer.echo(f"ok: {len(ruleset.rules)} rules in {', '.join(ruleset.files)} (version {ruleset.version})")


@messages_app.callback()
def messages_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="received|applied|held|ignored|failed")] = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List stored messages with their states and reasons."""
    if ctx.invoked_subcommand:
        return
    from mailgate.models import Message

    cfg = _config(ctx)
    c = _context(cfg)
    with Session(c.engine) as s:
        stmt = select(Message).order_by(col(Message.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(Message.state == state)
        rows = list(s.exec(stmt))
    if as_json:
        _emit_json([r.model_dump(exclude={"decision", "traceback", "dedupe_key"}) for r in rows])
        return
    for m in rows:
        typer.echo(
            f"{m.id:>6}  {_dt(m.received_at, cfg)}  {m.state:<8}  {m.via:<5} "
            f"{m.from_addr or '-'} -> {m.rcpt}  {m.reason}"
        )
    if not rows:
        typer.echo("no messages")


@messages_app.command("show")
def messages_show(ctx: typer.Context, message_id: int, as_json: JsonOpt = False) -> None:
    """One message: envelope, state, reason and the decision record."""
    from mailgate.models import Message

    cfg = _config(ctx)
    c = _context(cfg)
    with Session(c.engine) as s:
        m = s.get(Message, message_id)
    if m is None:
        raise _fail(f"no message {message_id}", 1)
    data = m.model_dump()
    if as_json:
        _emit_json(data)
        return
    for key, value in data.items():
        if key in ("decision",) and value:
            value = json.dumps(value, ensure_ascii=False, indent=1)
        typer.echo(f"{key}: {value}")


@app.command()
def audit(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="customer's mail address")] = None,
    message: Annotated[int | None, typer.Option(help="message id")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The timeline of what happened to a customer or because of a message."""
    from mailgate import audit as audit_mod
    from mailgate.ledger.customers import by_email

    if customer is None and message is None:
        raise _fail("give --customer ADDRESS or --message ID")
    cfg = _config(ctx)
    c = _context(cfg)
    with Session(c.engine) as s:
        customer_id = None
        if customer is not None:
            found = by_email(s, customer)
            if found is None:
                raise _fail(f"no customer with address {customer}", 1)
            customer_id = found.id
        events = audit_mod.timeline(s, customer_id=customer_id, message_id=message)
    if as_json:
        _emit_json([e.model_dump() for e in events])
        return
    for e in events:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        typer.echo(f"{_dt(e.at, cfg)}  {e.kind:<20} {e.actor:<20} {detail}")
    if not events:
        typer.echo("no events")


@app.command()
def outbox(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="queued|sent|failed")] = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Outgoing mail: queued, sent and failed."""
    from mailgate.models import Outbox

    cfg = _config(ctx)
    c = _context(cfg)
    with Session(c.engine) as s:
        stmt = select(Outbox).order_by(col(Outbox.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(Outbox.state == state)
        rows = list(s.exec(stmt))
    if as_json:
        _emit_json([r.model_dump(exclude={"body"}) for r in rows])
        return
    for r in rows:
        typer.echo(
            f"{r.id:>6}  {_dt(r.created_at, cfg)}  {r.state:<6} tries={r.attempts} {r.to_addr}  {r.subject}"
            + (f"  [{r.last_error}]" if r.last_error else "")
        )
    if not rows:
        typer.echo("outbox empty")


@app.command()
def qr(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="signup.png or signup.svg (default: print to the terminal)")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="subject to prefill, e.g. 登録")] = None,
) -> None:
    """The QR code of mailto: the signup address, for flyers."""
    from mailgate import qr as qr_mod

    cfg = _config(ctx)
    data = qr_mod.mailto(cfg.mail.signup, subject)
    if out is None:
        typer.echo(qr_mod.terminal(data))
    else:
        qr_mod.write(data, out)
        typer.echo(f"wrote {out}: {data}")


@app.command()
def init(
    directory: Annotated[Path, typer.Option("--dir", help="where to write mailgate.toml and the key")] = Path(
        "."
    ),
    domain: Annotated[str, typer.Option(help="the shop's mail domain")] = "shop.example",
    name: Annotated[str, typer.Option(help="the shop's name as customers know it")] = "デモ整体院",
    selector: Annotated[str, typer.Option(help="DKIM selector")] = "mg",
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
) -> None:
    """Write a commented mailgate.toml and a DKIM key; print the DNS records to publish."""
    from mailgate.setup import init as do_init

    try:
        result = do_init(directory, domain=domain, name=name, selector=selector, force=force)
    except FileExistsError as e:
        raise _fail(str(e), 1) from None
    typer.echo(f"wrote {result.config}\nwrote {result.key} (private; keep it out of version control)\n")
    typer.echo("Publish these DNS records so carriers accept the shop's replies:")
    for rname, rtype, value in result.records:
        typer.echo(f"  {rname}.  {rtype}  {value}")


def main() -> None:
    app()
