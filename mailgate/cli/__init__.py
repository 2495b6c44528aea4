"""The operator's command line (typer). Each module adds its commands to the shared app."""

from mailgate.cli import (  # noqa: F401  (register commands)
    customers,
    day,
    db,
    desk,
    history,
    inspect,
    ledger,
    notes,
    poll,
    privacy,
    rules,
    run,
    shifts,
    shop,
    tasks,
)
from mailgate.cli.common import app
from mailgate.cli.examples import attach

attach(app)


def main() -> None:
    app()
