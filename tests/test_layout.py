"""The package shows the pipeline: imports run one way, down it, and nothing imports in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mailer"
# Each folder and what it must never import (directly or inside a function).
FORBIDDEN = {
    "project": {"render", "delivery", "state", "answers", "bounces", "web", "cli", "reports"},
    "render": {"delivery", "state", "answers", "bounces", "web", "cli", "reports"},
    "state": {"render", "delivery", "answers", "bounces", "web", "cli", "reports"},
    "delivery": {"web", "cli", "reports"},
    "answers": {"web", "cli", "reports"},
    "bounces": {"web", "cli", "reports"},
    "reports": {"web", "cli"},
    "web": {"cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool) -> set[str]:
    """Modules of the package that `path` imports (at the top of the file, or anywhere)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
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
        for target in imports(path, top_level_only=False):
            if target.count(".") and target.split(".")[1] in FORBIDDEN.get(parts[1], set()):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_module_imports_another_that_imports_it_back():
    graph = {name: imports(path, top_level_only=True) & modules().keys() for name, path in modules().items()}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt == trail[0]:
                cycles.append(" -> ".join([*trail, nxt]))
            elif nxt not in trail and len(trail) < 8:
                visit(nxt, [*trail, nxt])

    for start in graph:
        visit(start, [start])
    assert cycles == []


def test_the_pipeline_never_imports_the_command_line_for_its_progress_bar():
    for name, path in modules().items():
        if name.startswith(("mailer.delivery", "mailer.render", "mailer.project", "mailer.state")):
            assert not {t for t in imports(path, False) if t.startswith("mailer.cli")}, name


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
    engines = {"sqlitedb.py", "postgres.py", "database.py", "migrations.py", "copying.py"}
    wrong = [
        f"{path.name}: {word}"
        for path in STATE.glob("*.py")
        if path.name not in engines
        for word in (*NOT_PORTABLE, "PRAGMA", "sqlite_master", "AUTOINCREMENT")
        if word in path.read_text("utf-8")
    ]
    assert wrong == []
