"""Newsletter Markdown, with the blocks a newsletter needs besides text.

Written so a secretary needs nothing beyond ordinary Markdown:
- a picture alone in its paragraph, `![Alt](bilder/a.jpg "Bildetekst")`: the picture full
  width, the title as its caption;
- a bold link alone in its paragraph, `**[Meld deg på](https://…)**`: a button;
- `---` between paragraphs: a divider;
- a paragraph that starts with a picture and ends with a link, `![Alt](bilder/b.jpg)
  **Tittel.** Kort tekst. [Les mer](https://…)`: an article teaser, picture beside the
  text on a wide screen and above it on a phone.
E-mail programs ignore style sheets, so every block carries inline styles.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from mailer.project.pictures import Shown

DEFAULT_ACCENT = "#00843d"


def _img(src: str, alt: str, shown: Mapping[str, Shown], max_width: int, radius: int = 0) -> str:
    pic = shown.get(src)
    url = pic.url if pic else src
    width = min(pic.width, max_width) if pic else max_width
    size = f' width="{width}"' if pic else ""
    style = f"display:block;width:100%;max-width:{width}px;height:auto;border:0;border-radius:{radius}px"
    return f'<img src="{html.escape(url)}" alt="{html.escape(alt)}"{size} style="{style}">'


def _only(children: list[Token], kinds: list[str]) -> bool:
    meaningful = [c for c in children if not (c.type == "text" and not c.content.strip())]
    return [c.type for c in meaningful] == kinds


class Blocks:
    """One Markdown renderer for one mailing: its pictures' addresses and the accent colour."""

    def __init__(self, shown: Mapping[str, Shown] | None = None, accent: str = DEFAULT_ACCENT):
        self.shown = dict(shown or {})
        self.accent = accent
        self.md = MarkdownIt("commonmark", {"html": False}).enable("table")
        self.md.add_render_rule("image", self._image)
        self.md.add_render_rule("hr", self._hr)

    def render(self, text: str) -> str:
        tokens = self.md.parse(text)
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t.type == "paragraph_open" and i + 2 < len(tokens) and tokens[i + 1].type == "inline":
                block = self._block(tokens[i + 1].children or [])
                if block is not None:
                    made = Token("html_block", "", 0)
                    made.content = block + "\n"
                    out.append(made)
                    i += 3
                    continue
            out.append(t)
            i += 1
        return self.md.renderer.render(out, self.md.options, {})

    def _block(self, children: list[Token]) -> str | None:
        if _only(children, ["image"]):
            img = next(c for c in children if c.type == "image")
            return self._figure(img)
        if _only(children, ["strong_open", "link_open", "text", "link_close", "strong_close"]):
            link = next(c for c in children if c.type == "link_open")
            label = "".join(c.content for c in children if c.type == "text").strip()
            return self._button(str(link.attrs.get("href", "")), label)
        if (
            children
            and children[0].type == "image"
            and children[-1].type == "link_close"
            and len(children) > 4
        ):
            return self._teaser(children)
        return None

    def _figure(self, img: Token) -> str:
        src, alt = str(img.attrs.get("src", "")), img.content
        caption = str(img.attrs.get("title") or "")
        out = f'<div style="margin:16px 0">{_img(src, alt, self.shown, 552)}'
        if caption:
            out += (
                '<p class="caption" style="margin:6px 0 0;font-size:14px;line-height:1.4;color:#4a4a4a">'
                f"{html.escape(caption)}</p>"
            )
        return out + "</div>"

    def _button(self, href: str, label: str) -> str:
        href = self.md.normalizeLink(href)
        if not self.md.validateLink(href):
            return f"<p><strong>{html.escape(label)}</strong></p>"
        return (
            '<table role="presentation" border="0" cellpadding="0" cellspacing="0" style="margin:16px 0">'
            f'<tr><td style="background:{self.accent};border-radius:6px">'
            f'<a class="button" href="{html.escape(href)}" style="display:inline-block;padding:12px 24px;'
            f'color:#ffffff;text-decoration:none;font-weight:bold;font-size:16px">{html.escape(label)}</a>'
            "</td></tr></table>"
        )

    def _teaser(self, children: list[Token]) -> str:
        img = children[0]
        text = self.md.renderer.renderInline(children[1:], self.md.options, {})
        picture = _img(str(img.attrs.get("src", "")), img.content, self.shown, 180, radius=4)
        return (
            '<div class="teaser" style="margin:16px 0;font-size:0">'
            '<div style="display:inline-block;width:100%;max-width:180px;vertical-align:top;'
            f'margin:0 16px 8px 0">{picture}</div>'
            '<div style="display:inline-block;width:100%;max-width:340px;vertical-align:top;'
            f'font-size:16px;line-height:1.5">{text}</div></div>'
        )

    def _image(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        img = tokens[idx]
        return _img(str(img.attrs.get("src", "")), img.content, self.shown, 552)

    def _hr(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        return '<hr style="border:0;border-top:1px solid #d5dbd2;margin:24px 0">\n'
