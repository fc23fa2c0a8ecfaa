"""Reading YAML the way a person wrote it: no surprise conversions, and line numbers for errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mailer.errors import UserError

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(Exception):
    """A key written twice in one mapping; the lines count from 0 in the text parsed."""

    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader without YAML 1.1's traps: `10:00` stays a string (not 600), dates stay text.

    Dates and times are parsed by the pydantic models, which name the key path when they fail.
    A key written twice in one mapping is refused: YAML would keep the later one silently, and
    a second `mailings:` would drop every mailing above it.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line
            if key in first:
                raise _DuplicateKey(key_node.value, line, first[key])
            first[key] = line
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in list(_Loader.yaml_implicit_resolvers):
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, rx) for tag, rx in _Loader.yaml_implicit_resolvers[_first] if tag != "tag:yaml.org,2002:int"
    ]
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def load_yaml(
    path: Path, text: str | bytes | None = None, first_line: int = 1
) -> tuple[Any, Callable[[], yaml.Node | None]]:
    """Parse a YAML file into plain data, and a way to get its node tree (for line numbers).

    `text` is the file's content when the caller read it already; bytes are decoded here, so
    that a file saved in another encoding gets the same message wherever it is read.
    `first_line`: the file's line `text` starts on (a draft's front matter starts on line 2)."""
    try:
        if text is None:
            text = path.read_bytes()
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    source: str = text
    try:
        data = yaml.load(source, Loader=_Loader)
    except _DuplicateKey as exc:
        raise UserError(
            f"{path}:{exc.line + first_line}: '{exc.key}' is defined twice "
            f"(first on line {exc.first + first_line}); keep one"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + first_line}" if mark else ""
        raise UserError(f"{path}{line}: not valid YAML: {exc.problem or exc}") from None
    return data, lambda: yaml.compose(source, Loader=_Loader)


def line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of the value at `path` in a composed YAML tree, as deep as it exists."""
    line = None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
