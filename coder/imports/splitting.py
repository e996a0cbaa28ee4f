"""Splitting a numbered list written in one diagnosis field into separate diagnoses.

Clinicians often type several diagnoses into one box: "1.冠心病2.高血压病（3级很高危）3.2型糖尿病".
Markers are searched for in sequence (1, then 2, then 3, ...), so digits inside a diagnosis
("3级", the "2" of "3.2型糖尿病") are not mistaken for the next item.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import count

_MARK_END = "[.．、)）:：]"
_TRIM = " \t\r\n;；,，。、"


@cache
def _marker(k: int) -> re.Pattern[str]:
    # Not preceded by a digit or a decimal point, so "12." is not "2." and "3.2" is not "2".
    return re.compile(
        rf"(?<![0-9０-９.．]){k}{_MARK_END}|(?<![0-9０-９.．]){chr(0xFF10 + k) if k < 10 else k}{_MARK_END}"
    )


def split_numbered(text: str | None) -> list[str]:
    """The diagnoses in `text`: one item, or the items of a list numbered from 1."""
    if text is None:
        return [""]
    stripped = text.strip()
    first = _marker(1).match(stripped)
    if not first:
        return [text]
    starts = [(0, first.end())]
    pos = first.end()
    for k in count(2):  # as long as the list goes: a list of 60 items is 60 diagnoses
        m = _marker(k).search(stripped, pos)
        if not m:
            break
        starts.append((m.start(), m.end()))
        pos = m.end()
    if len(starts) == 1:
        # "1.冠心病" is a one-item list; "1.5cm肿物" is a measurement, not a list.
        rest = stripped[first.end() :].strip(_TRIM)
        return [rest] if rest and not rest[0].isdigit() else [text]
    items = []
    for i, (_, body_start) in enumerate(starts):
        body_end = starts[i + 1][0] if i + 1 < len(starts) else len(stripped)
        item = stripped[body_start:body_end].strip(_TRIM)
        if item:
            items.append(item)
    return items
