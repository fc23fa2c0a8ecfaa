"""The plain-text part, derived from the rendered MJML (cleaner than the compiled HTML's tables).

A table row becomes one line, its cells apart (` · `): run together, a name, an address and a
phone number read as one word, and a mail program may link the wrong address. Rows are indented
two spaces, which keeps Outlook from joining them ("remove extra line breaks").
"""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser

_BLOCKS = {
    "p",
    "div",
    "tr",
    "table",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
    "mj-section",
    "mj-column",
    "mj-text",
    "mj-button",
    "mj-divider",
    "mj-hero",
    "mj-wrapper",
    "mj-table",
    "mj-image",
    "mj-spacer",
}
_SKIP = {
    "mj-head",
    "head",
    "style",
    "script",
    "title",
    "mj-preview",
    "mj-style",
    "mj-attributes",
    "mj-raw",
    "mj-font",
    "mj-breakpoint",
    "mj-title",
}
_WIDTH = 76
_CELL = "\x01"  # where a cell starts, within a row being collected
_CELL_GAP = " · "
_ROW_INDENT = "  "


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.skip = 0
        self.links: list[tuple[str, int]] = []
        self.list_depth = 0
        self.heading: str | None = None
        self.rows = 0  # depth of open table rows: inside one, blocks do not break the line
        self.tables: list[int] = []  # for each open table, the rows open around it

    def flush(self, blank: bool = True) -> None:
        text = re.sub(r"[ \t\r\n]+", " ", "".join(self.line)).strip()
        self.line = []
        if not text:
            return
        if self.heading in ("h1", "h2"):
            self.blocks.append(text)
            self.blocks.append(("=" if self.heading == "h1" else "-") * min(len(text), _WIDTH))
            self.blocks.append("")
            return
        indent = "  " * max(self.list_depth - 1, 0)
        bullet = text.startswith("\x00")
        text = text.lstrip("\x00 ")
        first = indent + ("- " if bullet else "")
        wrapped = textwrap.wrap(
            text,
            _WIDTH,
            initial_indent=first,
            subsequent_indent=" " * len(first),
            break_long_words=False,
            break_on_hyphens=False,
        )
        self.blocks.extend(wrapped)
        if blank and not bullet:
            self.blocks.append("")

    def flush_row(self) -> None:
        """One table row on one line, its cells apart; empty cells (a picture's) left out, and a
        row of one cell (a button's) is a paragraph like any other."""
        cells = [re.sub(r"[ \t\r\n\x00]+", " ", c).strip() for c in "".join(self.line).split(_CELL)]
        cells = [c for c in cells if c]
        self.line = []
        if len(cells) == 1:
            self.line = cells
            self.flush()
        elif cells:
            text = _CELL_GAP.join(cells)
            self.blocks.extend(
                textwrap.wrap(
                    text,
                    _WIDTH,
                    initial_indent=_ROW_INDENT,
                    subsequent_indent=_ROW_INDENT * 2,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _SKIP or "display:none" in (a.get("style") or "").replace(" ", ""):
            self.skip += 1
            return
        if self.skip:
            return
        if tag in ("table", "mj-table"):
            self.tables.append(self.rows)
        if tag == "tr":
            if self.rows:  # a table in a cell: its rows are more cells of this one
                self.line.append(_CELL)
            else:
                self.flush()
            self.rows += 1
            return
        if self.rows:
            if tag in ("td", "th"):
                self.line.append(_CELL)
            elif tag == "br" or tag in _BLOCKS:
                self.line.append(" ")
        elif tag == "br":
            self.flush(blank=False)
        elif tag in _BLOCKS:
            self.flush()
        if tag in ("ul", "ol"):
            self.list_depth += 1
        elif tag == "li":
            self.line.append("\x00")
        elif tag in ("h1", "h2", "h3"):
            self.heading = tag
        elif tag in ("a", "mj-button"):
            self.links.append((a.get("href") or "", len("".join(self.line))))
        elif (tag == "hr" or tag == "mj-divider") and not self.rows:
            self.blocks.extend(["-" * 20, ""])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "mj-divider", "img", "mj-image", "mj-spacer"):
            self.handle_endtag(tag)
        elif tag in _SKIP or tag in ("img", "mj-image", "mj-spacer"):
            self.skip = max(self.skip - (tag in _SKIP), 0)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip:
            return
        if tag in ("a", "mj-button") and self.links:
            href, start = self.links.pop()
            label = "".join(self.line)[start:].strip()
            if href and not href.startswith("mailto:") and href != label and not href.startswith("#"):
                self.line.append(f" ({href})" if label else href)
            elif href.startswith("mailto:") and not label:
                self.line.append(href.removeprefix("mailto:"))
        if tag == "tr":
            self.rows = max(self.rows - 1, 0)
            if not self.rows:
                self.flush_row()
        elif tag in ("table", "mj-table"):
            outer_rows = self.tables.pop() if self.tables else 0
            if self.rows > outer_rows:  # a row this table left open
                self.rows = outer_rows
                if not self.rows:
                    self.flush_row()
            if not self.rows:
                self.flush()
                if self.blocks and self.blocks[-1]:
                    self.blocks.append("")
        elif tag in _BLOCKS and not self.rows:
            self.flush()
        if tag in ("ul", "ol"):
            self.list_depth = max(self.list_depth - 1, 0)
            if self.blocks and self.blocks[-1] and not self.rows:
                self.blocks.append("")
        if tag in ("h1", "h2", "h3"):
            self.heading = None

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.line.append(data)


def to_text(markup: str) -> str:
    """Readable text of HTML or MJML: paragraphs wrapped, headings underlined, links spelled out."""
    writer = _TextWriter()
    writer.feed(markup)
    writer.close()
    if writer.rows:
        writer.flush_row()
    writer.flush()
    text = "\n".join(writer.blocks)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
