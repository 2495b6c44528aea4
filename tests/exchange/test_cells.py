"""A cell a spreadsheet would run as a formula is written behind an apostrophe (OWASP CSV injection),
and mailgate's import takes exactly that apostrophe back."""

from __future__ import annotations

import pytest

from mailgate.exchange.cells import neutral, restored

FORMULAS = ['=HYPERLINK("http://x")', "+81 90", "-1 割引", "@SUM(A1)", "\tx", "\rx", "'=1+1", "''-2"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_is_written_as_text_and_read_back_as_it_was(value: str) -> None:
    assert neutral(value).startswith("'")
    assert restored(neutral(value)) == value


@pytest.mark.parametrize("value", ["山田花子", "'quoted", "090-1234-5678", "", "a=b"])
def test_other_cells_are_left_alone_both_ways(value: str) -> None:
    assert neutral(value) == value
    assert restored(value) == value
