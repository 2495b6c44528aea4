"""The operator's command line (typer). Each module adds its commands to the shared app."""

from mailgate.cli import inspect, rules, run, shop  # noqa: F401  (register commands)
from mailgate.cli.common import app


def main() -> None:
    app()
