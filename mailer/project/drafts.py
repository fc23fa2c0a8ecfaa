"""Drafts (drafts/*.md): Markdown with front matter, one file a newsletter issue or consultation."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mailer.errors import UserError
from mailer.project import dates
from mailer.project.config_base import one_line, parse_local_datetime
from mailer.project.yamlfile import line_of, load_yaml

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.DOTALL)
ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,199}")
"""A draft's id (its file name without .md), a question's id: at most 200 characters, so that
an id from a URL or a command line is refused before it reaches the file system (which refuses
names over 255 bytes with an OSError, not with a word a person understands)."""
NYNORSK_SUFFIX = ".nn.md"


class Question(BaseModel):
    """One question of a consultation; `id` names its column in the export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    text: str
    kind: Literal["text", "choice", "scale"] = "text"
    options: list[str] = Field(default_factory=list)
    required: bool = False
    max_length: int = Field(2000, ge=1, le=10_000)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID.fullmatch(v):
            raise ValueError(f"'{v}' may only use a-z, 0-9, '.', '-' and '_' (at most 200 characters)")
        return v

    @model_validator(mode="after")
    def _options(self) -> Question:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.kind != "choice" and self.options:
            raise ValueError(f"options belong to choice questions, not {self.kind}")
        if len(set(self.options)) != len(self.options):
            raise ValueError("the same option is listed twice")
        return self


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    send_at: dt.datetime | None = None
    audience: str | None = None
    mailing: str | None = None
    preheader: str = ""
    title: str | None = None
    questions: list[Question] = Field(default_factory=list)
    calendar: bool | None = None
    archive: bool | None = None

    @field_validator("questions")
    @classmethod
    def _unique(cls, v: list[Question]) -> list[Question]:
        ids = [q.id for q in v]
        if len(set(ids)) != len(ids):
            raise ValueError("two questions have the same id")
        return v

    @field_validator("send_at", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Any:
        return None if v is None else parse_local_datetime(v)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return one_line(v, "the subject").strip()


class NynorskFront(BaseModel):
    """A nynorsk body's own words; when and to whom stay in the bokmål draft."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    preheader: str = ""
    title: str | None = None

    @field_validator("subject")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return one_line(v, "the subject").strip()


@dataclass(frozen=True)
class Nynorsk:
    """`drafts/NAME.nn.md`: the same issue in nynorsk, for members who prefer it."""

    path: Path
    front: NynorskFront
    body: str
    source: str

    @property
    def body_line(self) -> int:
        return self.source[: len(self.source) - len(self.body)].count("\n") + 1


@dataclass(frozen=True)
class Draft:
    """One newsletter issue; its id is the file name without `.md`."""

    id: str
    path: Path
    front: FrontMatter
    body: str
    source: str
    locate: Callable[[tuple[Any, ...]], str] = field(compare=False, repr=False)
    """Where a front-matter key is written (`drafts/x.md:3`), for what is said about it."""
    nynorsk: Nynorsk | None = None

    @property
    def body_line(self) -> int:
        """The file's line number of the body's first line."""
        return self.source[: len(self.source) - len(self.body)].count("\n") + 1

    def send_at(self, tz: dt.tzinfo) -> dt.datetime | None:
        """`send_at` in the organisation's time zone. A time the clocks skip is refused, as in
        schedules.yaml: any moment chosen for it would be one nobody wrote."""
        when = self.front.send_at
        if when is None:
            return None
        if when.tzinfo is not None:
            return when.astimezone(tz)
        why = dates.refused(when, tz)
        if why:
            raise UserError(f"{self.locate(('send_at',))}: send_at: {why}")
        return dates.real(when, tz)

    def clock_change(self, tz: dt.tzinfo, now: dt.datetime) -> str | None:
        """`mailer check`'s warning when `send_at`, still ahead, happens twice (the earlier is used)."""
        when = self.front.send_at
        twice = dates.doubled_ahead(when, tz, now) if when and when.tzinfo is None else None
        return twice and f"{self.locate(('send_at',))}: send_at: {twice}"


def read_draft(path: Path, label: str) -> Draft:
    if path.name.endswith(NYNORSK_SUFFIX):
        main = path.name.removesuffix(NYNORSK_SUFFIX)
        raise UserError(f"{label} is the nynorsk body of {main}; use the mailing {main}")
    front, body, source, nodes = _read(path, label, FrontMatter)
    assert isinstance(front, FrontMatter)
    draft_id = path.stem
    if not ID.fullmatch(draft_id):
        raise UserError(
            f"{label}: the file name may only use a-z, 0-9, '.', '-' and '_' (at most 200 characters)"
        )
    nn_path = path.with_name(draft_id + NYNORSK_SUFFIX)
    nynorsk = None
    if nn_path.is_file():
        nn_label = str(Path(label).with_name(nn_path.name))
        nn_front, nn_body, nn_source, _ = _read(nn_path, nn_label, NynorskFront)
        assert isinstance(nn_front, NynorskFront)
        nynorsk = Nynorsk(nn_path, nn_front, nn_body, nn_source)
    return Draft(draft_id, path, front, body, source, lambda loc: f"{label}:{_line(nodes, loc)}", nynorsk)


def _line(nodes: Callable[[], yaml.Node | None], loc: tuple[Any, ...]) -> int:
    """The file's line of a front-matter key (the front matter starts on the file's line 2)."""
    return (line_of(nodes(), loc) or 0) + 1


def _read(
    path: Path, label: str, model: type[FrontMatter] | type[NynorskFront]
) -> tuple[FrontMatter | NynorskFront, str, str, Callable[[], yaml.Node | None]]:
    """(front matter, body, whole file, its node tree) of one Markdown file with front matter."""
    try:
        source = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{label}: not UTF-8 text; save the draft as UTF-8") from None
    m = _FRONT.match(source)
    if not m and re.match(r"---[ \t]*\r?\n", source):
        raise UserError(f"{label}:1: the front matter is never closed; end it with a line of ---")
    if not m:
        raise UserError(f"{label}:1: no front matter; start the file with --- , subject: … and ---")
    data, nodes = load_yaml(Path(label), m[1], first_line=2)
    if not isinstance(data, dict):
        raise UserError(f"{label}:2: the front matter must be keys such as subject and send_at")
    try:
        front = model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line(nodes, loc)
        key = ".".join(str(p) for p in loc)
        msg = (
            "required key is missing"
            if err["type"] == "missing"
            else err["msg"].removeprefix("Value error, ")
        )
        if err["type"] == "extra_forbidden":
            keys = ", ".join(model.model_fields)
            msg = f"unknown key (use {keys})"
            if model is NynorskFront:
                msg += "; when and to whom it goes is set in the bokmål draft"
        raise UserError(f"{label}:{line}: {key}: {msg}") from None
    return front, m[2], source, nodes


def draft_files(drafts_dir: Path) -> list[Path]:
    if not drafts_dir.is_dir():
        return []
    return sorted(
        p
        for p in drafts_dir.glob("*.md")
        if not p.name.startswith((".", "_")) and not p.name.endswith(NYNORSK_SUFFIX)
    )
