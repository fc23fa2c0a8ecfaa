"""Every CSV file mailer writes for people to open in Excel: one writer, cells that never run.

Text in an export comes from outside (a remote server's diagnostic, a member's name, a leader's
answer, a guest's registration). A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is a formula to Excel and LibreOffice (`=HYPERLINK(…)` leaks the sheet when clicked), so
such a cell is written with a leading apostrophe and shows as the text it is (OWASP's advice;
a NUL joins the list, as OWASP ASVS 5.0 has it). A phone number such as `+47 912 34 567` from
a person gets the apostrophe too: it is text like any other, and unmarked Excel would read it as
a formula (`#NULL!`) or drop the `+`. Every text cell is also in double quotes, so a spreadsheet
told to split at `,` as well as `;` cannot start a new cell inside one (`Ola,=1+1`). Numbers
mailer computes itself (an int or a float, never text from outside) are written as they are, a
negative one too, and stay numbers. Files are UTF-8 with a BOM and `;` between cells, as
Norwegian Excel opens them, and readable by their owner only.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from mailer.errors import UserError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: object) -> str | int | float:
    """The cell as text Excel shows and never evaluates; None is an empty cell. A number mailer
    computed (int or finite float, not bool) stays a number; anything else is text."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]], delimiter: str = ";") -> str:
    """The whole file as text (header first), every cell made safe; text quoted, numbers bare."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buf.getvalue()


def check_target(path: Path, option: str = "--out") -> Path:
    """A file path to write an export to; a folder or a missing parent folder is one clear error."""
    if path.is_dir():
        raise UserError(f"{option} {path} is a folder; give a file name such as liste.csv")
    if not path.parent.is_dir():
        raise UserError(
            f"{option} {path}: the folder {path.parent} does not exist; create it or write elsewhere"
        )
    return path


def write_csv(
    path: Path,
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    option: str = "--out",
    delimiter: str = ";",
) -> int:
    """Write an export (0600, UTF-8 with BOM); returns the number of data rows written."""
    check_target(path, option)
    materialised = [list(r) for r in rows]
    write_private(path, csv_text(header, materialised, delimiter).encode("utf-8-sig"), option)
    return len(materialised)


def write_private(path: Path, data: bytes | str, option: str = "--out") -> None:
    """Write a file that holds member data, readable by its owner only: 0600 also when the file
    was there before with other rights (a new file alone would get them from the umask)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}; choose another {option} path") from None
