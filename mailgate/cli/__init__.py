"""The operator's command line (typer). Each module adds its commands to the shared app."""

from mailgate.cli import (  # noqa: F401  (register commands)
    booking_search,
    customers,
    day,
    db,
    desk,
    exchange,
    history,
    inspect,
    ledger,
    notes,
    poll,
    privacy,
    replay,
    report,
    rules,
    run,
    shifts,
    shop,
    stats,
    tasks,
    visits,
)
from mailgate.cli.common import app
from mailgate.cli.examples import attach

attach(app)


def main() -> None:
    app()
