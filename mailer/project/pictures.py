"""Pictures in newsletter drafts: found, checked, and scaled for e-mail once per mailing.

A draft names pictures relative to `drafts/` (`![Fylkestinget](bilder/fylkesting.jpg)`).
`mailer check` refuses what would reach members broken: a missing file, a path outside
`drafts/`, something that is not a JPEG, PNG or GIF, a huge file, a picture without alt
text. Scaling re-encodes every photo, which also drops its EXIF data (camera position and
owner are personal data). A scaled picture is named by the hash of its bytes, so a changed
picture gets a new address and a hosted file can be cached for ever.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mailer.project import picture_cache

CACHE = "scaled"
"""The state folder's folder of checked and scaled pictures (`picture_cache`)."""
MAX_BYTES = 20 * 1024 * 1024
MAX_WIDTH = 1200
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}
FORMATS = {fmt: (picture_cache.TYPES[ext], ext) for fmt, ext in _EXTENSIONS.items()}
"""Pillow's format: the content type and file ending of a picture every mail program shows."""
NAME = re.compile(r"[0-9a-f]{20}\.(?:jpg|png|gif)")
_REMOTE = re.compile(r"https://\S+")


@dataclass(frozen=True)
class PictureRef:
    """A picture as a draft names it, with where it was named (for error messages)."""

    src: str
    path: Path
    alt: str
    where: str
    cache: Path | None = None
    """Where checked and scaled copies are kept (`picture_cache`), or None to do both each time."""


@dataclass(frozen=True)
class Picture:
    """A picture scaled for e-mail; `name` is content-hashed."""

    src: str
    name: str
    content_type: str
    data: bytes
    width: int
    height: int

    @property
    def cid(self) -> str:
        return f"{self.name}@bilder"


def references(
    body: str, drafts_dir: Path, label: str, first_line: int, cache: Path | None = None
) -> list[PictureRef]:
    """The local pictures a draft's Markdown shows; raises UserError naming the line of a bad one."""
    from markdown_it import MarkdownIt

    from mailer.errors import UserError

    lines = body.splitlines()
    refs: list[PictureRef] = []
    for token in MarkdownIt("commonmark").enable("table").parse(body):
        if token.type != "inline" or not token.children:
            continue
        start, end = token.map or (0, len(lines))
        for child in token.children:
            if child.type != "image":
                continue
            src = str(child.attrs.get("src", ""))
            offset = next((i for i in range(start, end) if src in lines[i]), start)
            where = f"{label}:{first_line + offset}"
            if not child.content.strip():
                raise UserError(
                    f"{where}: the picture {src} has no alt text; write what it shows: ![Fylkestinget]({src})"
                )
            if _REMOTE.fullmatch(src):
                continue
            refs.append(PictureRef(src, _inside(drafts_dir, src, where), child.content, where, cache))
    for ref in refs:
        check(ref)
    return refs


def _inside(drafts_dir: Path, src: str, where: str) -> Path:
    from urllib.parse import unquote

    from mailer.errors import UserError

    if ":" in src or src.startswith(("/", "\\")):
        raise UserError(
            f"{where}: {src} is not a file in drafts/; give a path relative to drafts/ "
            "(bilder/foto.jpg) or an https:// address"
        )
    root = drafts_dir.resolve()
    path = (root / unquote(src)).resolve()
    if not path.is_relative_to(root):
        raise UserError(f"{where}: {src} is outside drafts/; put the picture in the drafts/ folder")
    return path


def check(ref: PictureRef) -> None:
    """The file exists, is not huge and is a picture every mail program shows."""
    from mailer.errors import UserError

    if not ref.path.is_file():
        raise UserError(f"{ref.where}: the picture {ref.src} does not exist in drafts/")
    size = ref.path.stat().st_size
    if size > MAX_BYTES:
        raise UserError(
            f"{ref.where}: the picture {ref.src} is {size // (1024 * 1024)} MB; "
            f"use one under {MAX_BYTES // (1024 * 1024)} MB"
        )
    cache = ref.cache
    if cache is None or not picture_cache.was_checked(cache, picture_cache.digest(ref.path.read_bytes())):
        _open(ref)


def _open(ref: PictureRef, data: bytes | None = None):  # type: ignore[no-untyped-def]
    from PIL import Image, UnidentifiedImageError

    from mailer.errors import UserError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(ref.path if data is None else io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UserError(
            f"{ref.where}: {ref.src} is not a picture (or is damaged); save it as JPEG or PNG"
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UserError(f"{ref.where}: {ref.src} has too many pixels; scale it down first") from None
    if image.format not in FORMATS:
        raise UserError(
            f"{ref.where}: {ref.src} is {image.format}, which many mail programs cannot show; "
            "save it as JPEG or PNG"
        )
    return image


def scale(ref: PictureRef, max_width: int = MAX_WIDTH) -> Picture:
    """At most `max_width` wide, turned upright, re-encoded without metadata (or as kept)."""
    data = ref.path.read_bytes()
    if ref.cache is None:
        return _scale(ref, data, max_width)
    key = picture_cache.digest(data)
    kept = picture_cache.read(ref.cache, key, max_width)
    if kept is not None:
        content_type = picture_cache.TYPES[kept.ext]
        return Picture(ref.src, _name(kept.data, kept.ext), content_type, kept.data, kept.width, kept.height)
    picture = _scale(ref, data, max_width)
    made = picture_cache.Scaled(picture.name.rsplit(".", 1)[1], picture.data, picture.width, picture.height)
    picture_cache.keep(ref.cache, key, max_width, made)
    return picture


def _scale(ref: PictureRef, data: bytes, max_width: int) -> Picture:
    from PIL import ImageOps

    image = _open(ref, data)
    fmt = image.format
    content_type, ext = FORMATS[fmt]
    if fmt == "GIF" and image.width <= max_width:
        return Picture(ref.src, _name(data, ext), content_type, data, image.width, image.height)
    image = ImageOps.exif_transpose(image)
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height))
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(out, fmt, optimize=True)
    data = out.getvalue()
    return Picture(ref.src, _name(data, ext), content_type, data, image.width, image.height)


def scale_all(refs: Iterable[PictureRef], max_width: Mapping[str, int] | None = None) -> tuple[Picture, ...]:
    """Each picture once, however often the draft shows it."""
    done: dict[str, Picture] = {}
    for ref in refs:
        if ref.src not in done:
            done[ref.src] = scale(ref, (max_width or {}).get(ref.src, MAX_WIDTH))
    return tuple(done.values())


@dataclass(frozen=True)
class Shown:
    """Where a picture is fetched from in the message, and its size."""

    url: str
    width: int
    height: int


def shown(pictures: Iterable[Picture], inline: bool, base_url: str) -> dict[str, Shown]:
    """Where the message fetches each picture: its part (`cid:`) or the web server."""
    return {
        p.src: Shown(f"cid:{p.cid}" if inline else f"{base_url}/bilder/{p.name}", p.width, p.height)
        for p in pictures
    }


def _name(data: bytes, ext: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:20]}.{ext}"


def for_preview(html: str, pictures: Iterable[Picture], folder: Path) -> str:
    """The HTML with each picture read from a copy in `folder/bilder/`, for a preview opened from disk.

    In a message a picture is a hosted address (answered once `mailer serve` is published at
    the base URL) or a `cid:` part (shown only inside a message); a preview file has neither.
    """
    for picture in pictures:
        (folder / "bilder").mkdir(exist_ok=True)
        (folder / "bilder" / picture.name).write_bytes(picture.data)
        address = rf"cid:{re.escape(picture.cid)}|https?://[^\s\"'<>]*/bilder/{re.escape(picture.name)}"
        html = re.sub(address, f"bilder/{picture.name}", html)
    return html


def publish(folder: Path, pictures: Iterable[Picture]) -> None:
    """Write hosted pictures where `mailer serve` finds them (a name never changes content)."""
    folder.mkdir(parents=True, exist_ok=True)
    for picture in pictures:
        target = folder / picture.name
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(picture.data)
            tmp.replace(target)
