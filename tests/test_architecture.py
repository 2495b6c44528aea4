"""The shape of the package: imports point one way, nothing imports in a circle, modules stay small."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

PACKAGE = Path(__file__).resolve().parent.parent / "mailgate"
MAX_LINES = 400


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def import_edges(graph: grimp.ImportGraph, depth: int | None) -> dict[str, set[str]]:
    """Who imports whom, lazy and TYPE_CHECKING imports included; `depth` collapses modules into
    their package at that depth (mailgate.ledger.bookings -> mailgate.ledger at depth 2)."""

    def name(module: str) -> str:
        return ".".join(module.split(".")[:depth]) if depth else module

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if name(module) != name(imported):
                edges.setdefault(name(module), set()).add(name(imported))
    return edges


def test_the_import_contracts_hold() -> None:
    """pyproject.toml [tool.importlinter]: the ledger's independence and the layers."""
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_no_module_or_package_imports_itself_in_a_circle() -> None:
    graph = grimp.build_graph("mailgate")
    assert cycles(import_edges(graph, None)) == []
    assert cycles(import_edges(graph, 2)) == []
    assert cycles(import_edges(graph, 3)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
