"""docs/DATA_MODEL.md and agentflow/aws/items.py name the same stored shapes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import is_typeddict

from agentflow.aws import items

DATA_MODEL = Path(__file__).parents[2] / "docs" / "DATA_MODEL.md"


def _documented_shapes() -> dict[str, str]:
    """entity → the shape named first in its row's last column."""
    shapes = {}
    for line in DATA_MODEL.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] not in ("entity", "---"):
            shapes[cells[0]] = re.findall(r"[A-Z]\w+", cells[5])[0]
    return shapes


def test_every_table_row_names_an_item_typeddict_and_every_item_kind_has_a_row() -> None:
    # GIVEN the data model's table and the TypedDicts of stored kinds (those with the audit fields)
    documented = _documented_shapes()
    kinds = {
        name
        for name, value in vars(items).items()
        if is_typeddict(value)
        and value is not items.Audited
        and items.Audited.__required_keys__ <= value.__required_keys__
    }

    # THEN each row names one of them, and each of them has a row
    assert documented, "the table was not found"
    assert set(documented.values()) == kinds
