"""Loaded by the interpreters a `tests.e2e.killpoint` or `tests.e2e.fillpoint` serve starts (its
worker process above all, where outcomes are recorded): the same point is armed there too."""

import os

if os.environ.get("MAILGATE_TEST_KILL_AT"):
    import tests.e2e.killpoint  # noqa: F401  (its listeners)
if os.environ.get("MAILGATE_TEST_FILL_AT"):
    from tests.e2e.fillpoint import fill_at

    fill_at(os.environ["MAILGATE_TEST_FILL_AT"], os.environ["MAILGATE_TEST_FILL"])
