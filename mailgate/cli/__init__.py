"""The operator's command line (typer). Each module adds its commands to the shared app."""

from mailgate.cli import (  # noqa: F401  (register commands)
    booking_search,
    day,
    db,
    desk,
    inspect,
    ledger,
    poll,
    privacy,
    rules,
    run,
    shifts,
    shop,
    visits,
)
from mailgate.cli.common import app


def main() -> None:
    app()
