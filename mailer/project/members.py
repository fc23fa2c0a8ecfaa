"""Member exports (recipients/*.csv): read as the member register and Excel write them."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from mailer.errors import UserError
from mailer.project.addresses import check_email
from mailer.project.config import Config
from mailer.project.config_base import normalise_name
from mailer.project.textclean import without_controls

COLUMNS = {
    "id": ("id", "medlemsnummer", "medlemsnr", "member_id"),
    "first_name": ("first_name", "fornavn"),
    "last_name": ("last_name", "etternavn"),
    "email": ("email", "e-post", "epost", "e-mail"),
    "municipality": ("municipality", "kommune"),
    "chapter": ("chapter", "lokallag"),
    "roles": ("roles", "verv"),
    "joined": ("joined", "innmeldt"),
    "language": ("language", "målform", "malform"),
}
_ALIASES = {alias: key for key, aliases in COLUMNS.items() for alias in aliases}
HEADER = [
    "medlemsnummer",
    "fornavn",
    "etternavn",
    "e-post",
    "kommune",
    "lokallag",
    "verv",
    "innmeldt",
    "målform",
]
_LANGUAGES = {"nb": "nb", "bokmål": "nb", "bokmal": "nb", "nn": "nn", "nynorsk": "nn", "": "nb"}
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Member:
    """One person in the member register."""

    id: str
    first_name: str
    last_name: str
    email: str
    municipality: str
    region: str
    chapter: str
    roles: frozenset[str]
    joined: dt.date | None
    language: str
    extra: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    source: str = ""
    joined_unreadable: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def address_key(self) -> str:
        """Two rows with this key share a mailbox (a household) and get one message."""
        return self.email.casefold()

    def to_record(self) -> dict[str, object]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "municipality": self.municipality,
            "region": self.region,
            "chapter": self.chapter,
            "roles": sorted(self.roles),
            "joined": self.joined.isoformat() if self.joined else None,
            "language": self.language,
            "extra": dict(self.extra),
            "joined_unreadable": self.joined_unreadable,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> Member:
        joined = rec.get("joined")
        return cls(
            id=str(rec["id"]),
            first_name=str(rec["first_name"]),
            last_name=str(rec["last_name"]),
            email=str(rec["email"]),
            municipality=str(rec["municipality"]),
            region=str(rec["region"]),
            chapter=str(rec["chapter"]),
            roles=frozenset(rec["roles"]),  # type: ignore[arg-type]
            joined=dt.date.fromisoformat(joined) if isinstance(joined, str) else None,
            language=str(rec["language"]),
            extra=dict(rec.get("extra") or {}),  # type: ignore[arg-type]
            source=str(rec.get("source") or ""),
            joined_unreadable=bool(rec.get("joined_unreadable")),
        )


@dataclass(frozen=True)
class RowProblem:
    """A row that is skipped (`skipped`) or kept with a caveat, with where it stands."""

    where: str
    message: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def parse_joined(text: str) -> dt.date:
    """ISO (2026-03-14) or Norwegian (14.03.2026) dates, as the register and Excel write them."""
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        return dt.date.fromisoformat(text[:10] if re.match(r"\d{4}-\d\d-\d\d[ T]", text) else text)
    except ValueError:
        raise ValueError(f"joined date '{text}' is not a date; write 2026-03-14 or 14.03.2026") from None


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or, as Excel saves it, Windows-1252."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their ends, as a file opened with newline="" gives them.

    (io.StringIO would hold a second, four-bytes-a-character copy of a large export.)
    """
    for match in _LINE.finditer(text):
        yield match.group()


def _split_roles(cell: str) -> list[str]:
    return [r for r in (normalise_name(p) for p in re.split(r"[,;|]", cell)) if r]


def _clean(text: str) -> str:
    return text.strip()


def member_files(folder: Path, label_root: Path) -> list[Path]:
    """The export's files (recipients/*.csv); a missing folder or no file at all is an error."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if _is_csv(e.name) and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        names = None
    if not names:
        label = folder.relative_to(label_root) if folder.is_relative_to(label_root) else folder
        if names is None:
            raise UserError(f"{label}: folder not found; put the member export there")
        raise UserError(f"{label}: no member files (*.csv) found")
    return [folder / name for name in names]


SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def export_warnings(folder: Path, label_root: Path, members: list[Member], problems: list[str]) -> list[str]:
    """What would otherwise pass without a word: a member list saved as a spreadsheet beside the CSV
    files (only CSV is read), and a file that gave no member and no row problem (a header alone)."""
    label = folder.relative_to(label_root) if folder.is_relative_to(label_root) else folder
    files = [str(label / path.name) for path in member_files(folder, label_root)]
    read = {m.source.rpartition(":")[0] for m in members}
    with os.scandir(folder) as entries:
        sheets = sorted(e.name for e in entries if e.name.casefold().endswith(SPREADSHEETS))
    return [
        f"{label / name}: not read (only .csv files are); save it as CSV UTF-8 if it holds members"
        for name in sheets
    ] + [
        f"{file}: no members in it, only the header row; export the member list again or remove the file"
        for file in files
        if file not in read and not any(p.startswith(f"{file}:") for p in problems)
    ]


def _unreadable(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {csv.field_size_limit()} characters; fix the row in the export"
    return f"the row cannot be read ({exc}); fix the row in the export"


def _columns(header: list[str], label: str) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Known and extra columns. One written twice is refused: either could be the one meant."""
    seen: dict[str, int] = {}
    for i, name in enumerate(h.strip() for h in header):
        same = _ALIASES.get(name.casefold(), name.casefold())
        if name and same in seen:
            raise UserError(
                f"{label}:1: the header has the same column twice, '{header[seen[same]].strip()}' (column "
                f"{seen[same] + 1}) and '{name}' (column {i + 1}); remove or rename one of them"
            )
        seen[same] = i
    extras = [
        (re.sub(r"\W+", "_", name).strip("_"), i) for name, i in seen.items() if name and name not in COLUMNS
    ]
    return {key: i for key, i in seen.items() if key in COLUMNS}, extras


def _misread(row: list[str], delimiter: str, width: int, last_line: int) -> str | None:
    """Why a row would be read wrong: a quote left open (`"Ola`) read the next rows into a cell, or a
    delimiter in a cell without quotes moved every later value. (Empty cells past the header, as
    Excel leaves them, are harmless; cells missing at the end are read as empty.)"""
    need = max(2, width // 2)
    if swallowed := sum(
        1 for cell in row if "\n" in cell for ln in cell.split("\n")[1:] if ln.count(delimiter) >= need
    ):
        rows = "row was" if swallowed == 1 else f"{swallowed} rows were"
        return (
            f'a quote (") in this row is not closed where the cell ends, so the next {rows} read into '
            f"it (up to line {last_line}); remove the stray quote in the export"
        )
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        used = max(i for i, cell in enumerate(row) if cell.strip()) + 1
        return (
            f"the row has {used} cells but the header has {width} (a '{delimiter}' inside a cell "
            "that is not in quotes?); fix the row in the export"
        )
    return None


def future_joined(joined: object) -> str:
    """What a joined date after today means: a membership from a later day, or a typing error."""
    return f"joined date {joined} is in the future; the welcome waits for that day (correct it if wrong)"


def _is_csv(name: str) -> bool:
    return os.path.splitext(name)[1].lower() == ".csv"  # as Path.suffix: not a file named ".csv"


class MemberReader:
    """Reads every member file of a project into `Member`s, collecting row problems on the way.

    File-level problems (missing, empty, no email column) raise `UserError`: nothing may be sent
    from a list that cannot be read. Row problems are collected in `problems`.
    """

    def __init__(self, recipients_dir: Path, config: Config, today: dt.date, label_root: Path):
        self.dir = recipients_dir
        self.config = config
        self.today = today
        self.root = label_root
        self.problems: list[RowProblem] = []
        self._regions = config.municipality_regions
        self._municipality_names = {normalise_name(m): m for ms in config.regions.values() for m in ms}
        self._roles = config.role_names
        self._role_sets: dict[str, frozenset[str]] = {}

    def files(self) -> list[Path]:
        return member_files(self.dir, self.root)

    def _label(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def __iter__(self) -> Iterator[Member]:
        self.problems.clear()
        seen_ids: dict[str, str] = {}
        for path in self.files():
            yield from self._read_file(path, seen_ids)

    def _read_file(self, path: Path, seen_ids: dict[str, str]) -> Iterator[Member]:
        label = self._label(path)
        text = _decode(path.read_bytes())
        if not text.strip(" \t\r\n,;"):  # Excel saves an empty sheet as lines of delimiters
            raise UserError(f"{label}: the file is empty; export the member list again")
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(_lines(text), delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise UserError(
                f"{label}:1: the header row cannot be read ({exc}); export the list again"
            ) from None
        columns, extras = _columns(header, label)
        if "email" not in columns:
            raise UserError(f"{label}:1: no email column; name one of the columns email, e-post or epost")
        line = reader.line_num + 1
        while True:
            start = line
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = reader.line_num + 1
                self.problems.append(RowProblem(f"{label}:{start}", _unreadable(exc)))
                continue
            line = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            misread = _misread(row, delimiter, len(header), line - 1)
            if misread:
                self.problems.append(RowProblem(f"{label}:{start}", misread))
                continue
            member = self._member(row, columns, extras, f"{label}:{start}", seen_ids)
            if member is not None:
                yield member

    def _member(
        self,
        row: list[str],
        columns: dict[str, int],
        extras: list[tuple[str, int]],
        where: str,
        seen_ids: dict[str, str],
    ) -> Member | None:
        def cell(key: str) -> str:
            i = columns.get(key)
            return _clean(row[i]) if i is not None and i < len(row) else ""

        def skip(message: str) -> None:
            self.problems.append(RowProblem(where, message))

        raw_email = cell("email")
        if not raw_email:
            return skip("no email address")
        try:
            email = check_email(raw_email)
        except ValueError as exc:
            return skip(f"invalid email address '{raw_email}': {exc}")
        member_id = cell("id") or email.casefold()
        if member_id in seen_ids:
            return skip(f"duplicate member id {member_id} (first on {seen_ids[member_id]})")
        first, last = cell("first_name"), cell("last_name")
        if any(c in s for s in (first, last) for c in "\r\n\t\x00"):
            return skip("the name contains a line break; fix the cell in the export")
        first, last = without_controls(first).strip(), without_controls(last).strip()
        municipality_raw = cell("municipality")
        key = normalise_name(municipality_raw)
        if "municipality" in columns and key not in self._regions:
            what = f"unknown municipality '{municipality_raw}'" if municipality_raw else "no municipality"
            return skip(f"{what}; add it under regions in schedules.yaml or fix the row")
        roles_cell = cell("roles")
        roles = self._role_sets.get(roles_cell)
        if roles is None:
            parsed = _split_roles(roles_cell)
            unknown = [r for r in parsed if r not in self._roles]
            if unknown:
                return skip(f"unknown role '{unknown[0]}'; declare it under roles in schedules.yaml")
            roles = self._role_sets.setdefault(roles_cell, frozenset(parsed))
        language = _LANGUAGES.get(cell("language").casefold())
        if language is None:
            self.problems.append(
                RowProblem(where, f"language '{cell('language')}' is not nb or nn; using nb", skipped=False)
            )
            language = "nb"
        joined, unreadable = None, False
        if cell("joined"):
            try:
                joined = parse_joined(cell("joined"))
                if joined > self.today:
                    self.problems.append(
                        RowProblem(
                            where,
                            future_joined(joined),
                            skipped=False,
                        )
                    )
                    joined, unreadable = None, True
            except ValueError as exc:
                self.problems.append(RowProblem(where, f"{exc}; no welcome is sent", skipped=False))
                unreadable = True
        seen_ids[member_id] = where
        municipality = self._municipality_names.get(key, municipality_raw)
        extra = {name: _clean(row[i]) for name, i in extras if i < len(row)} if extras else _EMPTY
        return Member(
            id=member_id,
            first_name=first,
            last_name=last,
            email=email,
            municipality=municipality,
            region=self._regions.get(key, ""),
            chapter=cell("chapter") or municipality,
            roles=roles,
            joined=joined,
            language=language,
            extra=extra,
            source=where,
            joined_unreadable=unreadable,
        )
