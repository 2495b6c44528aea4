"""`mailgate rules check|test`: validate rules files and dry-run a mail through them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    JsonOpt,
    app,
    emit_json,
    fail,
    load_config,
)

rules_app = typer.Typer(no_args_is_help=True, help="Check and try the rules in rules/*.toml.")
app.add_typer(rules_app, name="rules", rich_help_panel=output.SETUP)


@rules_app.command("test")
def rules_test(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a .eml file")],
    rcpt: Annotated[str | None, typer.Option(help="envelope recipient")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show which rule takes a mail, what it read and what it would do. Changes nothing."""
    from mailgate.authn import find_originals
    from mailgate.inbound.files import local_recipients
    from mailgate.mail.dkim import load_txt_records
    from mailgate.mail.parse import parse
    from mailgate.rules import engine

    cfg = load_config(ctx)
    try:
        ruleset = engine.load(cfg)
    except engine.RulesError as e:
        raise fail(f"rules error:\n{e}", 1) from None
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise fail(f"{file}: {e.strerror}") from None
    rcpt = rcpt or next(iter(local_recipients(raw, cfg.is_local)), "")
    mail = parse(raw)
    dns = load_txt_records(cfg.dns_overrides_path) if cfg.dns_overrides_path else None
    intent = engine.decide(ruleset, mail, rcpt, None, cfg, lambda: find_originals(raw, dns, mail))
    out = intent.as_json()
    out["rules_version"] = ruleset.version
    if as_json:
        emit_json(out)
        return
    head = {
        "file": str(file),
        "rcpt": rcpt or "-",
        "from": mail.from_addr or "-",
        "subject": mail.subject,
        "rule": intent.rule or "(none)",
        "action": intent.action,
        "reason": intent.reason,
    }
    for key, value in head.items():
        typer.echo(f"{key + ':':13}{value}")
    for key, value in out.items():
        if key == "trace":
            typer.echo("why:\n" + "\n".join(f"  - {line}" for line in value))
        elif key not in ("action", "rule", "reason", "rules_version"):
            typer.echo(f"{key + ':':13}{json.dumps(value, ensure_ascii=False)}")


@rules_app.command("check")
def rules_check(ctx: typer.Context) -> None:
    """Validate every rules file; name the file and line of each mistake; warn of unbound sources."""
    from mailgate.rules import binding, engine

    cfg = load_config(ctx)
    try:
        ruleset = engine.load(cfg)
    except engine.RulesError as e:
        raise fail(str(e), 1) from None
    typer.echo(f"ok: {len(ruleset.rules)} rules in {', '.join(ruleset.files)} (version {ruleset.version})")
    for line in binding.warnings(ruleset, cfg):
        typer.echo(line)
