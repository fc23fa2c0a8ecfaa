"""The sandboxed Jinja environment of templates, drafts and subjects: the date filters,
Markdown, mailer's own packaged templates, and what a template is made of (for the approval)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.meta
import jinja2.sandbox
from markupsafe import Markup

from mailer.project import dates

if TYPE_CHECKING:
    from mailer.render.blocks import Blocks


def _lang(ctx: Any) -> str:
    return ctx.get("language", "nb")


@jinja2.pass_context
def _f_date(ctx: Any, value: Any) -> str:
    return dates.long_date(value, _lang(ctx))


@jinja2.pass_context
def _f_datetime(ctx: Any, value: Any) -> str:
    return dates.date_and_time(value, _lang(ctx))


@jinja2.pass_context
def _f_date_year(ctx: Any, value: Any) -> str:
    return dates.long_date_year(value, _lang(ctx))


def _f_clock(value: Any) -> str:
    return dates.clock(value)


def markdown_html(text: str, blocks: Blocks | None = None) -> Markup:
    from mailer.render.blocks import Blocks

    return Markup((blocks or Blocks()).render(text))


BUILT_IN = Path(__file__).resolve().parent.parent / "skeleton" / "templates"
BUILT_IN_TEMPLATES = frozenset(
    {
        "consultation-receipt",
        "preferences-confirm",
        "my-data",
        "register-error",
        "event-changed",
        "event-called-off",
    }
)
"""Templates of mailer's own messages to one person, which a project folder made before they
existed may lack: the packaged copy is used (it extends the project's own base.mjml)."""


def built_in(name: str) -> str | None:
    if name.split(".")[0] not in BUILT_IN_TEMPLATES or not (BUILT_IN / name).is_file():
        return None
    return (BUILT_IN / name).read_text("utf-8")


def make(templates_dir: Path, autoescape: bool) -> jinja2.Environment:
    """Sandboxed: drafts, subjects and templates are written by people, not by us."""
    loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(str(templates_dir)), jinja2.FunctionLoader(built_in)]
    )
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=_f_date, datetime=_f_datetime, date_year=_f_date_year, clock=_f_clock, markdown=markdown_html
    )
    return env


def sources_digest(env: jinja2.Environment, filename: str) -> str:
    """The digest of a template's text and of every template it extends or includes: what the
    board approves of a part that a preview may not render (a reader's calendar, for one)."""
    h, seen, todo = hashlib.sha256(), set(), [filename]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = env.loader.get_source(env, name)[0] if env.loader else ""
        h.update(name.encode() + b"\x00" + source.encode() + b"\x00")
        todo += sorted(r for r in jinja2.meta.find_referenced_templates(env.parse(source)) if r)
    return h.hexdigest()
