"""Tables for people: the zone beside the times, one row per line when piped (grep finds a row
whole), Japanese text kept, empty cells shown as -."""

from __future__ import annotations

import pytest

from mailgate.cli.output import show_table


def test_a_piped_table_keeps_each_row_on_one_line_with_the_zone_below(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long = "STORES予約 予約番号 " + "あ" * 60
    show_table(
        ["#", "time", "note"], [[1, "10:00", long], [2, "11:00", None]], title="day", zone="Asia/Tokyo"
    )
    lines = capsys.readouterr().out.splitlines()
    [row] = [line for line in lines if "10:00" in line]
    assert long in row
    [empty] = [line for line in lines if "11:00" in line]
    assert empty.split()[-2:] == ["-", "│"]
    assert lines[-1].strip() == "times in Asia/Tokyo"
