"""Apps as a directed graph: `core` at the bottom imports no app, and no app imports
another that (directly or through others) imports it back.

Every module of every project app is read with `ast` (imports inside functions count too:
they are the same dependency, only later), and the imports between apps make the graph.
"""

import ast
from collections import defaultdict
from pathlib import Path

from django.apps import apps
from django.conf import settings


def project_apps() -> dict[str, Path]:
    """Top-level package -> folder, for the installed apps that live in this project
    (not the project package itself, which sits above them all)."""
    root = Path(settings.BASE_DIR).resolve()
    project = settings.ROOT_URLCONF.split(".")[0]
    found = {}
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        package = config.name.split(".")[0]
        if path.parent == root and package != project:  # not the venv's packages
            found[package] = root / package
    return found


def imports_between(packages: dict[str, Path]) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) app pairs -> the places (module:line) that import."""
    edges = defaultdict(list)
    for app, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            module = ".".join(path.relative_to(folder.parent).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".")[0]
                    if target in packages and target != app:
                        edges[(app, target)].append(f"{module}:{node.lineno} imports {name}")
    return dict(edges)


def cycle_edges(edges) -> set[tuple[str, str]]:
    """The edges that lie on a cycle: those whose target reaches their source again."""
    successors = defaultdict(set)
    for source, target in edges:
        successors[source].add(target)

    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in successors[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    return {(source, target) for source, target in edges if source in reachable(target)}


def _where(edges, pairs) -> str:
    return "\n".join(f"{a} -> {b}: " + "; ".join(edges[(a, b)]) for a, b in sorted(pairs))


def test_the_graph_checker_finds_a_cycle_and_only_its_edges():
    edges = {("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): [], ("d", "e"): []}

    assert cycle_edges(edges) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert cycle_edges({("a", "b"): [], ("b", "c"): []}) == set()


def test_the_graph_sees_imports_inside_functions_and_only_between_apps(tmp_path):
    for module, source in {
        "a/__init__.py": "",
        "a/late.py": "def handle():\n    from b.models import Thing\n",
        "a/own.py": "import a.late\nfrom . import late\n",
        "b/__init__.py": "",
        "b/models.py": "import json\nimport c\n",
    }.items():
        (tmp_path / module).parent.mkdir(exist_ok=True)
        (tmp_path / module).write_text(source)

    edges = imports_between({"a": tmp_path / "a", "b": tmp_path / "b"})

    assert edges == {("a", "b"): ["a.late:2 imports b.models"]}


def test_the_graph_covers_every_project_app():
    assert {
        "core", "organizations", "accounts", "rides", "payments", "payment_lists", "events",
        "demo",
    } <= set(project_apps())  # fmt: skip


def test_core_imports_no_app():
    edges = imports_between(project_apps())

    upward = {pair for pair in edges if pair[0] == "core"}

    assert not upward, "core is the bottom layer; it imports:\n" + _where(edges, upward)


def test_no_import_cycle_between_apps():
    edges = imports_between(project_apps())

    cyclic = cycle_edges(edges)

    assert not cyclic, "imports that close a cycle between apps:\n" + _where(edges, cyclic)
