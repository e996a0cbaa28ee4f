"""Reading and writing the tables people exchange with icdcoder: .xlsx workbooks and .csv files.

Every cell is text to us. A row comes back as a dict keyed by the lower-cased header, with the
1-based row number a person sees in Excel, so every problem can name file, sheet, row, column.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coder.errors import IcdCoderError, ImportRejected, Problem

SUFFIXES = (".xlsx", ".csv")
# Characters that make Excel treat a typed cell as a formula (or DDE). A text cell starting with
# one is written with Excel's quote prefix, so it is shown and read back as the same text.
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Row:
    number: int  # as Excel shows it: the header is row 1
    values: dict[str, str]

    def get(self, key: str) -> str:
        return self.values.get(key, "")


@dataclass(frozen=True)
class Sheet:
    file: str
    name: str | None  # None for CSV
    headers: tuple[str, ...]
    rows: tuple[Row, ...]

    def problem(self, row: int | None, column: str | None, message: str) -> Problem:
        return Problem(self.file, self.name, row, column, message)

    def require(self, *columns: str) -> None:
        missing = [c for c in columns if c not in self.headers]
        if missing:
            raise ImportRejected(
                [
                    self.problem(
                        1, c, f"missing column {c!r} (the header row has: {', '.join(self.headers) or 'nothing'})"
                    )
                    for c in missing
                ]
            )


def cell_text(value) -> str:
    """A cell's value as the text a person typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise IcdCoderError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .xlsx or .csv")
    if not path.exists():
        raise IcdCoderError(f"{path}: no such file")


def _rows(headers: list[str], body: Iterable[tuple[int, Sequence]]) -> tuple[Row, ...]:
    out = []
    for number, raw in body:
        texts = [cell_text(v) for v in raw]
        if not any(texts):
            continue  # blank lines are not rows
        out.append(Row(number, {h: (texts[i] if i < len(texts) else "") for i, h in enumerate(headers) if h}))
    return tuple(out)


def _headers(raw: Sequence) -> list[str]:
    return [cell_text(h).lower().replace(" ", "_") for h in raw]


def _read_csv(path: Path) -> Sheet:
    data = path.read_bytes()
    # Excel on Chinese Windows saves CSV as GB18030 (GBK); everything else writes UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise IcdCoderError(f"{path}: cannot decode as UTF-8 or GB18030")
    records = list(csv.reader(text.splitlines()))
    if not records:
        return Sheet(str(path), None, (), ())
    headers = _headers(records[0])
    return Sheet(str(path), None, tuple(headers), _rows(headers, enumerate(records[1:], start=2)))


def read_sheet(path: str | Path, sheet: str | None = None, required: bool = True) -> Sheet | None:
    """One sheet of a workbook (by name, else the first) or the CSV file itself."""
    path = Path(path)
    _check_suffix(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    from openpyxl import load_workbook  # imported here: reading CSV needs none of it

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise IcdCoderError(
            f"{path}: cannot be opened as an .xlsx workbook ({exc.__class__.__name__}: {exc})"
        ) from None
    try:
        if sheet is not None:
            matches = [n for n in wb.sheetnames if n.lower() == sheet.lower()]
            if not matches:
                if not required:
                    return None
                raise ImportRejected(
                    [
                        Problem(
                            str(path),
                            sheet,
                            None,
                            None,
                            f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})",
                        )
                    ]
                )
            ws = wb[matches[0]]
        else:
            ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            return Sheet(str(path), ws.title, (), ())
        headers = _headers(first)
        return Sheet(str(path), ws.title, tuple(headers), _rows(headers, enumerate(rows, start=2)))
    finally:
        wb.close()


def write_workbook(
    path: str | Path,
    sheets: list[tuple[str, Sequence[str], Iterable[Sequence]]],
    widths: dict[str, int] | None = None,
    choices: dict[str, Sequence[str]] | None = None,
) -> None:
    """Write sheets of text with a bold, frozen header; formula-like text is quote-prefixed.

    `choices` maps a column name to the values its drop-down offers (an Excel data validation).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                if isinstance(value, str) and value.startswith(FORMULA_START):
                    # data_type "s" stores a string, never a formula; the quote prefix stops
                    # Excel from re-reading it as one when the user edits the cell.
                    cell.value = value
                    cell.data_type = "s"
                    cell.quotePrefix = True
                else:
                    cell.value = value
        for c, h in enumerate(headers, start=1):
            letter = get_column_letter(c)
            ws.column_dimensions[letter].width = (widths or {}).get(h, max(10, len(h) + 2))
            if choices and h in choices:
                from openpyxl.worksheet.datavalidation import DataValidation

                dv = DataValidation(
                    type="list",
                    formula1='"' + ",".join(choices[h]) + '"',
                    allow_blank=True,
                    showErrorMessage=True,
                    error=f"{h}: choose one of {', '.join(choices[h])}",
                )
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}1048576")
    wb.save(path)
