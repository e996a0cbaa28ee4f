"""Reading and writing the tables people exchange with icdcoder: .xlsx workbooks and .csv files.

Every cell is text to us. A row comes back as a dict keyed by the lower-cased header, with the
1-based row number a person sees in Excel, so every problem can name file, sheet, row, column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
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
    numeric: frozenset[str] = frozenset()  # headers whose cell the workbook holds as a number

    def get(self, key: str) -> str:
        return self.values.get(key, "")


@dataclass(frozen=True)
class Sheet:
    file: str
    name: str | None  # None for CSV
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...] = ()  # cells that cannot be read as what a person typed

    def problem(self, row: int | None, column: str | None, message: str) -> Problem:
        return Problem(self.file, self.name, row, column, message)


EXACT_INTEGERS = 2**53  # a number cell beyond this is not the digits typed: Excel keeps 15-17 significant ones


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


def _cell_problem(value, formula) -> str | None:
    """Why a cell cannot be read as what a person typed, or None."""
    if value is None and isinstance(formula, str) and formula.startswith("="):
        return (
            "a formula without a saved value (the file was not saved by Excel): open and save it in Excel, "
            "or paste the values"
        )
    if isinstance(value, float) and abs(value) >= EXACT_INTEGERS:
        return (
            f"the number {value:.15g} has more digits than Excel keeps exactly (it is not the number typed): "
            "format the column as text and type it again"
        )
    if isinstance(value, str) and any(c < " " and c not in "\t\n\r" for c in value):
        c = next(c for c in value if c < " " and c not in "\t\n\r")
        return f"the cell holds the control character U+{ord(c):04X}, which is not text: remove it"
    return None


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise IcdCoderError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .xlsx or .csv")
    if not path.exists():
        raise IcdCoderError(f"{path}: no such file")


def _sheet(file: str, name: str | None, records: Iterable[tuple[Sequence, Sequence]]) -> Sheet:
    """A sheet from (values, formulas) per record, the first being the header."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        return Sheet(file, name, (), ())
    headers = [cell_text(h).lower().replace(" ", "_") for h in first[0]]
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        if h and h in seen:
            problems.append(
                Problem(
                    file,
                    name,
                    1,
                    h,
                    f"column {h!r} appears twice in the header (columns {seen[h] + 1} and {i + 1}); keep one",
                )
            )
        seen.setdefault(h, i)
    rows = []
    for number, (raw, formulas) in enumerate(records, start=2):
        texts = [cell_text(v) for v in raw]
        for i, (value, formula) in enumerate(zip(raw, formulas, strict=False)):
            message = _cell_problem(value, formula)
            if message:
                column = headers[i] if i < len(headers) and headers[i] else f"column {i + 1}"
                problems.append(Problem(file, name, number, column, message))
        if not any(texts):
            continue  # blank lines are not rows
        numeric = frozenset(
            headers[i]
            for i, v in enumerate(raw)
            if i < len(headers) and headers[i] and isinstance(v, int | float) and not isinstance(v, bool)
        )
        rows.append(Row(number, {h: (texts[i] if i < len(texts) else "") for i, h in enumerate(headers) if h}, numeric))
    return Sheet(file, name, tuple(headers), tuple(rows), tuple(problems))


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
    # The csv module on the text as a stream (newline=""): a line break inside quotes stays in its
    # cell, and only CR/LF end a row (U+2028 and the like are characters of a cell).
    # strict: an unclosed quote is an error, not the rest of the file glued into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    try:
        for record in reader:
            records.append((record, record))
    except csv.Error as exc:
        raise ImportRejected(
            [
                Problem(
                    str(path),
                    None,
                    reader.line_num,
                    None,
                    f"the file cannot be read as CSV here ({exc}): check the quotes on this "
                    "line (a cell with a quote must be quoted, its quotes doubled)",
                )
            ]
        ) from None
    return _sheet(str(path), None, records)


def read_sheet(path: str | Path, sheet: str | None = None, required: bool = True) -> Sheet | None:
    """One sheet of a workbook (by name, else the first visible one) or the CSV file itself."""
    path = Path(path)
    _check_suffix(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    from openpyxl import load_workbook  # imported here: reading CSV needs none of it

    try:
        # Values as Excel last saved them, and (to find formulas without a saved value) the formulas.
        wb = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise IcdCoderError(
            f"{path}: cannot be opened as an .xlsx workbook ({exc.__class__.__name__}: {exc})"
        ) from None
    try:
        visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
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
            title = matches[0]
            if title not in visible:
                raise ImportRejected(
                    [
                        Problem(
                            str(path), title, None, None, f"sheet {title!r} is hidden: unhide it in Excel to import it"
                        )
                    ]
                )
        else:
            if not visible:
                raise ImportRejected([Problem(str(path), None, None, None, "the workbook has no visible sheet")])
            title = visible[0]  # a hidden sheet is never read in place of the one a person sees
        values, formula_rows = wb[title].iter_rows(values_only=True), formulas[title].iter_rows(values_only=True)
        return _sheet(str(path), title, zip(values, formula_rows, strict=False))
    finally:
        wb.close()
        formulas.close()


def write_workbook(
    path: str | Path,
    sheets: list[tuple[str, Sequence[str], Iterable[Sequence]]],
    widths: dict[str, int] | None = None,
    choices: dict[str, Sequence[str]] | None = None,
    row_choices: dict[str, Sequence[Sequence[str]]] | None = None,
) -> None:
    """Write sheets of text with a bold, frozen header; formula-like text is quote-prefixed.

    `choices` maps a column name to the values its drop-down offers (an Excel data validation);
    a "sheet:column" key is for that sheet's column only, and wins over the column name.
    `row_choices` maps a column name to the values offered on each data row (in row order; empty:
    none): a drop-down that still lets any other value be typed.
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
            offered = (choices or {}).get(f"{title}:{h}", (choices or {}).get(h))  # "sheet:column" first
            if offered:
                from openpyxl.worksheet.datavalidation import DataValidation

                dv = DataValidation(
                    type="list",
                    formula1='"' + ",".join(offered) + '"',
                    allow_blank=True,
                    showErrorMessage=True,
                    error=f"{h}: choose one of {', '.join(offered)}",
                )
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}1048576")
            if row_choices and h in row_choices:
                _add_row_choices(ws, letter, row_choices[h])
    try:
        wb.save(path)
    except OSError as exc:
        raise IcdCoderError(
            f"{path}: cannot be written ({exc.strerror or exc}); check the folder and that the "
            "file is not open in Excel"
        ) from None


def _add_row_choices(ws, letter: str, per_row: Sequence[Sequence[str]]) -> None:
    """One list validation per distinct set of values, on the rows offering it; no error stop, so
    a value not offered can still be typed (the import checks it)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    rows_of: dict[tuple[str, ...], list[int]] = {}
    for r, values in enumerate(per_row, start=2):
        if values:
            rows_of.setdefault(tuple(values), []).append(r)
    for values, rows in rows_of.items():
        listed = ",".join(values)
        if len(listed) > 255 or any("," in v or '"' in v for v in values):  # Excel's limit for a listed formula
            continue
        dv = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True, showErrorMessage=False)
        ws.add_data_validation(dv)
        for r in rows:
            dv.add(f"{letter}{r}")
