"""The package shows the pipeline: imports run one way, down it, and nothing imports in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mailer"
# Each folder and what it must never import (directly or inside a function).
# `events` (who gets a place, the waiting list) sits beside `answers`: above `state` and
# `delivery`, below `web` and `cli`, so a route or a command never holds the rules.
FORBIDDEN = {
    "project": {"render", "delivery", "state", "answers", "bounces", "events", "web", "cli", "reports"},
    "render": {"delivery", "state", "answers", "bounces", "events", "web", "cli", "reports"},
    "state": {"render", "delivery", "answers", "bounces", "events", "web", "cli", "reports"},
    "delivery": {"answers", "bounces", "events", "web", "cli", "reports"},
    "answers": {"events", "web", "cli", "reports"},
    "bounces": {"events", "web", "cli", "reports"},
    "events": {"answers", "bounces", "web", "cli", "reports"},
    "reports": {"web", "cli"},
    "web": {"cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules of the package that `path` imports anywhere: at the top, inside a function, or
    only for type hints (`if TYPE_CHECKING:`). A lazy or type-only import still ties two modules
    together, so every kind counts."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mailer"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (REPO / Path(*candidate.split("."))).with_suffix(".py").exists()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mailer")}
    return found


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "skeleton" not in p.parts}


def test_every_folder_imports_only_what_lies_below_it_in_the_pipeline():
    wrong = []
    for name, path in modules().items():
        parts = name.split(".")
        if len(parts) < 3:
            continue
        for target in imports(path):
            if target.count(".") and target.split(".")[1] in FORBIDDEN.get(parts[1], set()):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other through their imports, of any length (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_that_imports_it_back():
    graph = {name: imports(path) & modules().keys() for name, path in modules().items()}
    assert circles(graph) == []


def test_lazy_and_type_only_imports_count_as_imports(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from mailer.delivery.runner import Runner\n"
        "def later():\n"
        "    from mailer.bounces import parse\n"
        "    import mailer.web.app\n",
        "utf-8",
    )
    assert imports(source) == {"mailer.delivery.runner", "mailer.bounces.parse", "mailer.web.app"}


def test_a_circle_through_several_modules_is_found_whatever_its_length():
    ring = {f"m{i}": {f"m{(i + 1) % 12}"} for i in range(12)}
    assert circles({**ring, "x": {"m0"}}) == [sorted(ring)]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_is_longer_than_about_400_lines():
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text("utf-8").splitlines())) > 420
    }
    assert long == {}


def test_the_pipeline_never_imports_the_command_line_for_its_progress_bar():
    for name, path in modules().items():
        if name.startswith(("mailer.delivery", "mailer.render", "mailer.project", "mailer.state")):
            assert not {t for t in imports(path) if t.startswith("mailer.cli")}, name


STATE = PACKAGE / "state"
# Engine-specific spellings that the two engines do not share (see README: PostgreSQL).
NOT_PORTABLE = ("INSERT OR", "json_extract", "rowid", "randomblob", "total_changes", "instr(", "?1")


def test_no_module_outside_the_state_layer_runs_sql():
    """Everything reads and writes state through a record module in mailer/state/."""
    wrong = []
    for name, path in modules().items():
        if name.startswith("mailer.state"):
            continue
        text = path.read_text("utf-8")
        if re.search(r"\bdb\.execute(many)?\(|^\s*import (sqlite3|psycopg)", text, re.MULTILINE):
            wrong.append(name)
    assert wrong == []


def test_record_modules_write_sql_both_engines_read():
    engines = {
        "sqlitedb.py",
        "postgres.py",
        "postgres_dialect.py",
        "database.py",
        "migrations.py",
        "migrations_early.py",
        "copying.py",
    }
    wrong = [
        f"{path.name}: {word}"
        for path in STATE.glob("*.py")
        if path.name not in engines
        for word in (*NOT_PORTABLE, "PRAGMA", "sqlite_master", "AUTOINCREMENT")
        if word in path.read_text("utf-8")
    ]
    assert wrong == []
