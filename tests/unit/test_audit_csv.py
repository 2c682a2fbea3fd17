"""The audit export's CSV cells: what a spreadsheet would evaluate is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from api.audit.export import _csv, neutralised


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_with_a_formula_character_is_prefixed_with_a_quote(start: str) -> None:
    cell = f"{start}HYPERLINK(\"http://evil.example\")"
    assert neutralised(cell) == "'" + cell
    (row,) = csv.reader(io.StringIO(_csv(("id", cell, 7)).decode(), newline=""))
    assert row == ["id", "'" + cell, "7"]


@pytest.mark.parametrize("cell", ["plain", "", "a=b", " =x", '{"name":"x"}', 12, None])
def test_other_cells_are_written_as_they_are(cell: object) -> None:
    assert neutralised(cell) == cell
