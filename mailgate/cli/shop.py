"""Setting a shop up: `mailgate init` and the flyer QR code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    app,
    build_context,
    fail,
    load_config,
)


@app.command(rich_help_panel=output.SETUP)
def qr(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(help="signup.png, signup.svg or signup.jpg (default: print to the terminal)"),
    ] = None,
    subject: Annotated[str | None, typer.Option(help="subject to prefill, e.g. 登録")] = None,
) -> None:
    """The QR code of mailto: the signup address, for flyers."""
    from mailgate import qr as qr_mod

    cfg = load_config(ctx)
    data = qr_mod.mailto(cfg.mail.signup, subject)
    if out is None:
        typer.echo(qr_mod.terminal(data))
    else:
        try:
            qr_mod.write(data, out)
        except ValueError as e:
            raise fail(str(e)) from None
        typer.echo(f"wrote {out}: {data}")


@app.command(rich_help_panel=output.SETUP)
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
    from mailgate.new_shop import init as do_init

    try:
        result = do_init(directory, domain=domain, name=name, selector=selector, force=force)
    except FileExistsError as e:
        raise fail(str(e), 1) from None
    typer.echo(f"wrote {result.config}\nwrote {result.key} (private; keep it out of version control)\n")
    typer.echo("Publish these DNS records so carriers accept the shop's replies:")
    for rname, rtype, value in result.records:
        typer.echo(f"  {rname}.  {rtype}  {value}")
    where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "
    typer.echo(
        f"\nStart it: {where}mailgate serve   (elsewhere: --config {result.config} or MAILGATE_CONFIG)"
    )


shop_app = typer.Typer(help="The shop's calendar in the database: import it from mailgate.toml.")
app.add_typer(shop_app, name="shop", rich_help_panel=output.SETUP)


@shop_app.command("import")
def shop_import(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
) -> None:
    """Make the database's staff, menus, hours, holidays and shifts those of the config's [shop]."""
    from mailgate import db
    from mailgate.config import ConfigError
    from mailgate.shop import importing

    cfg = load_config(ctx)
    c = build_context(cfg)
    try:
        rows = importing.shift_rows(cfg)
    except ConfigError as e:
        raise fail(f"shift table error:\n{e}", 1) from None
    with db.transaction(c.engine) as session:
        report = importing.import_shop(session, cfg.shop, rows)
        if dry_run:
            session.rollback()
    for line in report.lines:
        typer.echo(line)
    typer.echo("(dry run: nothing changed)" if dry_run else "imported: the database's calendar is this now")
