"""Templates → compiled parts, once per language; each member's copy is then a string join.

Jinja renders the MJML with the mailing's context and, for every per-member value
(`member.first_name`, `unsubscribe_url`, …), a placeholder token. MRML compiles that once,
and the plain text is derived once. Filling in a member is replacing the tokens, so MJML
is compiled a handful of times per mailing, never once per member.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.meta
import jinja2.sandbox

from mailer.errors import UserError
from mailer.render import elements, environment
from mailer.render.plaintext import to_text

if TYPE_CHECKING:
    from mailer.render.blocks import Blocks

LANGUAGES = ("nb", "nn")
_TOKEN = re.compile(r"@@s(\d+)@@")
_ANY_TOKEN = re.compile(r"@@[sS][0-9]+@@", re.IGNORECASE)


class SlotMisuse(jinja2.TemplateRuntimeError):
    """A per-member value was tested or transformed, which a shared render cannot do."""


class Slot:
    """Stands in for a value that differs per member; it may only be printed."""

    __slots__ = ("index", "key")

    def __init__(self, index: int, key: str):
        self.index, self.key = index, key

    def __str__(self) -> str:
        return f"@@s{self.index}@@"

    def __html__(self) -> str:
        return str(self)

    def _misuse(self, *_: Any) -> Any:
        raise SlotMisuse(
            f"{self.key} is different for each member: it can be printed, "
            "but not tested, compared or filtered in a template"
        )

    __bool__ = __eq__ = __ne__ = __lt__ = __gt__ = __len__ = __iter__ = _misuse  # type: ignore[assignment]
    __contains__ = __getitem__ = __add__ = __radd__ = __mul__ = __mod__ = _misuse  # type: ignore[assignment]
    __hash__ = object.__hash__


class _Slots:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self._by_key: dict[str, Slot] = {}

    def get(self, key: str) -> Slot:
        slot = self._by_key.get(key)
        if slot is None:
            slot = self._by_key[key] = Slot(len(self.keys), key)
            self.keys.append(key)
        return slot


class _MemberProxy:
    """`member` in a template: every attribute is a per-member slot, except the language."""

    def __init__(self, slots: _Slots, language: str, prefix: str = "member"):
        self._slots, self._language, self._prefix = slots, language, prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "language" and self._prefix == "member":
            return self._language
        return self._slots.get(f"{self._prefix}.{name}")

    __getitem__ = __getattr__


@dataclass(frozen=True)
class Pattern:
    """Text with per-member holes: static strings and slot indexes, in order."""

    parts: tuple[str | int, ...]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        parts: list[str | int] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            if m.start() > pos:
                parts.append(text[pos : m.start()])
            parts.append(int(m[1]))
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return cls(tuple(parts))

    @property
    def slots(self) -> set[int]:
        return {p for p in self.parts if isinstance(p, int)}

    def fill(self, values: Sequence[str]) -> str:
        return "".join(p if isinstance(p, str) else values[p] for p in self.parts)

    def source(self) -> str:
        return "".join(p if isinstance(p, str) else f"@@s{p}@@" for p in self.parts)


@dataclass(frozen=True)
class Variant:
    """One language's compiled copy of a mailing, with holes for each member's values."""

    language: str
    template_file: str
    subject: Pattern
    html: Pattern
    text: Pattern
    slot_keys: tuple[str, ...]
    fallback: bool = False
    draft_file: str | None = None
    draft_slots: range = range(0)
    """The slots the draft's subject and Markdown body opened (the draft prints those values)."""
    sources: str = ""
    """A digest of the template files as written (with those they extend and include): a part
    this copy did not render (the reader's calendar, for one) is approved as well."""

    def file_of(self, key: str) -> str:
        """The file that prints `key`: the draft when its subject or body does, else the template."""
        if self.draft_file and key in self.slot_keys and self.slot_keys.index(key) in self.draft_slots:
            return self.draft_file
        return self.template_file

    def kind_of(self, key: str) -> str:
        """'draft' or 'template': the kind of file that prints `key`."""
        return "draft" if self.file_of(key) == self.draft_file else "template"

    def missing(self, key: str, member_id: str) -> str:
        """The line a send stops on when a member lacks a value: the draft or template printing it."""
        return (
            f"{self.file_of(key)}: '{key}' has no value for member {member_id}; "
            f"add the column to the member file or remove it from the {self.kind_of(key)}"
        )

    @property
    def used_keys(self) -> list[str]:
        used = self.subject.slots | self.html.slots | self.text.slots
        return [k for i, k in enumerate(self.slot_keys) if i in used]

    def digest(self) -> str:
        h = hashlib.sha256()
        pieces = (
            self.template_file,
            self.sources,
            self.subject.source(),
            self.html.source(),
            self.text.source(),
        )
        for piece in pieces:
            h.update(piece.encode())
            h.update(b"\x00")
        h.update(self.text.source().encode() + b"\x00")
        return h.hexdigest()


@dataclass
class Copy:
    """One member's filled-in subject, HTML and text."""

    subject: str
    html: str
    text: str


class MissingValue(UserError):
    pass


def fill(variant: Variant, values: Mapping[str, str], member_id: str) -> Copy:
    """A member's copy; values are HTML-escaped for the HTML part only."""
    raw: list[str] = []
    for key in variant.slot_keys:
        value = values.get(key)
        if value is None and key in variant.used_keys:
            raise MissingValue(variant.missing(key, member_id))
        raw.append(value or "")
    escaped = [html.escape(v) for v in raw]
    return Copy(variant.subject.fill(raw), variant.html.fill(escaped), variant.text.fill(raw))


@dataclass
class Renderer:
    """The project's templates folder, ready to compile mailings."""

    templates_dir: Path
    label_root: Path
    compilations: int = 0
    _envs: dict[bool, jinja2.Environment] = field(default_factory=dict)
    _sources: dict[str, str] = field(default_factory=dict)

    def env(self, autoescape: bool = True) -> jinja2.Environment:
        if autoescape not in self._envs:
            self._envs[autoescape] = environment.make(self.templates_dir, autoescape)
        return self._envs[autoescape]

    def _label(self, name: str) -> str:
        path = self.templates_dir / name
        try:
            return str(path.relative_to(self.label_root))
        except ValueError:
            return str(path)

    def template_file(self, template: str, language: str) -> tuple[str, bool]:
        """The file for a language: `name.nn.mjml` when it exists, else `name.mjml` (fallback)."""
        own = f"{template}.{language}.mjml"
        if (self.templates_dir / own).is_file():
            return own, False
        base = f"{template}.mjml"
        if not (self.templates_dir / base).is_file() and environment.built_in(base) is not None:
            return (own, False) if environment.built_in(own) is not None else (base, language != "nb")
        if not (self.templates_dir / base).is_file():
            raise UserError(
                f"template '{template}' not found: {self._label(base)} does not exist; "
                "create it or fix the template name in schedules.yaml"
            )
        return base, language != "nb"

    def _body_start(self, draft_file: str | None, body: str) -> int:
        """Lines of the draft file before `body` (its front matter), so an error's line is the file's."""
        if draft_file is None:
            return 0
        try:
            source = (self.label_root / draft_file).read_text("utf-8-sig")
        except OSError:
            return 0
        return source[: len(source) - len(body)].count("\n") if source.endswith(body) else 0

    def exists(self, template: str) -> bool:
        return (self.templates_dir / f"{template}.mjml").is_file()

    def compile(
        self,
        template: str,
        subject: str,
        context: Mapping[str, Any],
        language: str,
        personal: Sequence[str] = (),
        markdown_body: str | None = None,
        blocks: Blocks | None = None,
        subject_where: Callable[[], str | None] | None = None,
        draft_file: str | None = None,
    ) -> Variant:
        """Render and compile one language of a mailing; `personal` names per-member variables.

        `subject_where` names where `subject` was written (schedules.yaml and its key), asked only
        when it fails; `draft_file`, the draft whose subject and body are rendered here."""
        from mjml import mjml2html

        slots = _Slots()
        ctx = dict(context)
        ctx.update(language=language, member=_MemberProxy(slots, language))
        for name in personal:
            ctx[name] = slots.get(name)
        ctx["member_links"] = {name: ctx[name] for name in personal}
        filename, fallback = self.template_file(template, language)
        where = self._label(filename)
        draft_start = len(slots.keys)
        written = draft_file or where  # a mistake in the draft's text names the draft, not the template
        draft = ctx.get("draft")
        if draft is not None and hasattr(draft, "model_copy"):
            with _errors(where, self._label, lambda: f"{written}: subject"):
                own_subject = self.env(False).from_string(draft.subject).render(ctx).strip()
            ctx["draft"] = draft.model_copy(update={"subject": own_subject})
        if markdown_body is not None:
            front = functools.partial(self._body_start, draft_file, markdown_body)
            with _errors(written, self._label, lines_before=front):
                body = self.env(False).from_string(markdown_body).render(ctx)
            ctx["body"] = environment.markdown_html(body, blocks)
        draft_slots = range(draft_start, len(slots.keys))
        with _errors(where, self._label, lambda: (subject_where and subject_where()) or f"{where} (subject)"):
            subject_text = self.env(False).from_string(subject).render(ctx).strip()
        with _errors(where, self._label):
            mjml_source = self.env(True).get_template(filename).render(ctx)
        if "\n" in subject_text or "\r" in subject_text:
            raise UserError(f"{where}: the subject contains a line break; keep it on one line")
        unknown = elements.unknown(mjml_source)  # mjml would pass it into every member's mail
        if unknown:
            raise UserError(f"{where}: {unknown}; fix the template")
        try:
            compiled = mjml2html(mjml_source, disable_comments=True)
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"{where}: invalid MJML: {exc}") from None
        self.compilations += 1
        text = to_text(mjml_source)
        for name, out in (("subject", subject_text), ("HTML", compiled), ("text", text)):
            if len(_ANY_TOKEN.findall(out)) != len(_TOKEN.findall(out)):
                raise UserError(
                    f"{where}: a per-member value was changed by a filter in the {name}; "
                    "print member values as they are"
                )
        return Variant(
            language=language,
            template_file=where,
            subject=Pattern.parse(subject_text),
            html=Pattern.parse(compiled),
            text=Pattern.parse(text),
            slot_keys=tuple(slots.keys),
            fallback=fallback,
            draft_file=draft_file,
            draft_slots=draft_slots,
            sources=self._sources.get(filename)
            or self._sources.setdefault(filename, environment.sources_digest(self.env(True), filename)),
        )


class _errors:
    """Turns Jinja's exceptions into one line naming the template file, line and variable."""

    def __init__(
        self,
        where: str,
        label: Callable[[str], str],
        subject: Callable[[], str] | None = None,
        lines_before: Callable[[], int] = lambda: 0,
    ):
        self.where, self.label, self.subject, self.lines_before = where, label, subject, lines_before

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        before = self.lines_before()  # the draft is read again only to name an error's line
        if self.subject is not None and isinstance(exc, jinja2.TemplateError):
            what = "template syntax error: " if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            msg = str(exc.message if hasattr(exc, "message") else exc)
            if isinstance(exc, jinja2.UndefinedError):
                msg = f"{msg}; the subject uses a variable that this mailing does not provide"
            raise UserError(f"{self.subject()}: {what}{msg}") from None
        if isinstance(exc, jinja2.TemplateNotFound):
            raise UserError(f"{self.where}: includes '{exc.name}', which does not exist") from None
        if isinstance(exc, jinja2.TemplateSyntaxError):
            name, line = (self.label(exc.name), exc.lineno) if exc.name else (self.where, exc.lineno + before)
            raise UserError(f"{name}:{line}: template syntax error: {exc.message}") from None
        if isinstance(exc, jinja2.TemplateError):
            where = self.where
            for frame in reversed(traceback.extract_tb(tb)):
                if frame.filename and frame.filename.endswith(".mjml"):
                    where = f"{self.label(Path(frame.filename).name)}:{frame.lineno}"
                    break
                if frame.filename == "<template>":  # a draft's body: its line in the file
                    lined = before and frame.lineno
                    where = f"{self.where}:{frame.lineno + before}" if lined else f"{self.where} (draft)"
                    break
            msg = str(exc.message if hasattr(exc, "message") else exc)
            if isinstance(exc, jinja2.UndefinedError):
                msg = f"{msg}; the template uses a variable that this mailing does not provide"
            raise UserError(f"{where}: {msg}") from None
        return False
