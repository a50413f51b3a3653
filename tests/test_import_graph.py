"""No import cycles inside ``wetindex/``, and no hidden ones behind function-level imports.

Every module is parsed with :mod:`ast`; an edge A → B is an import of B that runs when
A is imported (module level, including ``try``/``if`` blocks, but not under
``if TYPE_CHECKING``). A cycle in that graph fails the test, named module by module.
The function-level imports of our own modules are counted too: they are how cycles used
to be hidden, and each one left must say why (``# noqa: PLC0415 - why``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wetindex"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    out = []
    if isinstance(node, ast.Import):
        out = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = _resolve(node, module, is_package)
        for alias in node.names:  # ``from pkg import submodule`` imports the submodule
            sub = f"{base}.{alias.name}"
            out.append(sub if sub in known else base)
    return [t for t in out if t == "wetindex" or t.startswith("wetindex.")]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level(body: list[ast.stmt]):
    """The statements that run on import: the body, into if/try/with blocks."""
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *[h.body for h in node.handlers]):
                yield from _module_level(block)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)
        else:
            yield node


def import_graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Module-level edges, and each module's function-level imports of ``wetindex``."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    deferred: dict[str, list[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        top = list(_module_level(tree.body))
        edges = set()
        for node in top:
            for target in _targets(node, name, is_package, known):
                if target not in known:
                    continue
                edges.add(target)
                # importing wetindex.x.y first runs wetindex/x/__init__.py, unless the
                # importer is inside wetindex.x (then that package is already loading)
                parts = target.split(".")
                for i in range(2, len(parts)):
                    package = ".".join(parts[:i])
                    if package in known and not name.startswith(package + "."):
                        edges.add(package)
        graph[name] = edges - {name}
        top_ids = {id(n) for n in top}
        inner = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                 and id(n) not in top_ids]
        found = [f"{name}:{n.lineno} -> {t}" for n in inner
                 for t in _targets(n, name, is_package, known)]
        if found:
            deferred[name] = found
    return graph, deferred


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a
    path that closes on itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_closed_path(graph, set(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _closed_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One cycle through the component, by breadth-first search back to its first module."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(component)


def test_the_graph_finds_a_cycle_when_there_is_one():
    # the checker itself: a wrong checker that never reports would pass the real test
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_stage_modules_and_their_imports():
    graph, _ = import_graph()
    assert "wetindex.stages.run" in graph
    assert "wetindex.stages.forecast" in graph["wetindex.stages.run"]
    assert "wetindex.physics.stage" in graph["wetindex.stages.forecast"]


def test_no_import_cycle_inside_wetindex():
    graph, _ = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_function_level_imports_of_our_own_modules_say_why():
    modules = _modules()
    _, deferred = import_graph()
    unexplained = []
    for name, found in deferred.items():
        lines = modules[name].read_text().splitlines()
        for entry in found:
            lineno = int(entry.split(":")[1].split(" ")[0])
            if "noqa: PLC0415" not in lines[lineno - 1]:
                unexplained.append(entry)
    # commands/* and cli.py import lazily to keep `--help` fast: the cli engineer's
    for entry in list(unexplained):
        if entry.startswith(("wetindex.cli:", "wetindex.commands.")):
            unexplained.remove(entry)
    assert not unexplained, "function-level imports without a reason:\n" + "\n".join(
        unexplained)
