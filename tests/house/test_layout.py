"""The package's layout holds: wings stacked in one order, data flowing down them, no import
circle, and no module reaching into another's private names.

The walk reads every import in every module (at module level, inside functions and under
``TYPE_CHECKING``): a lazy import is an arrow like any other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ganstudy"

#: The wings, top (0) to bottom. A module may import its own wing's modules and any wing below.
FLOORS = [
    ["cli", "__main__"],
    ["api", "__init__"],  # the package itself exports the API, lazily
    ["execution", "report"],
    ["storage"],
    ["training", "verdicts"],
    ["spec"],
    ["metrics"],
    ["data", "models", "stats", "tracking"],
    ["machine"],
    ["base", "_version"],
]
RANK = {wing: len(FLOORS) - i for i, floor in enumerate(FLOORS) for wing in floor}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken, line) for every import of ``module``."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "ganstudy"]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level:
                base = module.split(".")[: None if is_package else -1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "ganstudy":
                continue
            plain = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    found.append((sub, [], node.lineno))  # a module taken from its package
                else:
                    plain.append(alias.name)
            if plain:
                found.append((target, plain, node.lineno))
    return [(t, names, line) for t, names, line in found if t != module]


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_is_in_a_wing_and_every_wing_has_a_floor():
    assert {wing(m) for m in MODULES} <= set(RANK), {wing(m) for m in MODULES} - set(RANK)


def test_no_import_runs_up_the_wings():
    """Data flows one way: a lower wing never imports a higher one (not even in a function)."""
    up = [f"{m}:{line} imports {t}" for m, deps in GRAPH.items() for t, _, line in deps
          if t in MODULES and RANK[wing(t)] > RANK[wing(m)]]
    assert not up, "\n".join(up)


def test_no_import_circle():
    """Tarjan's strongly connected components over module -> module arrows."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w, _, _ in GRAPH[v]:
            if w not in MODULES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for m in MODULES:
        if m not in index:
            visit(m)
    assert not circles, circles


def test_the_check_sees_a_circle_and_an_arrow_up(tmp_path):
    """The walk itself: a relative import inside a function is resolved like a top-level one."""
    saved = dict(GRAPH)
    try:
        GRAPH["ganstudy.base.errors"] = [("ganstudy.cli.main", [], 1)]
        GRAPH["ganstudy.cli.main"] = saved["ganstudy.cli.main"] + [("ganstudy.base.errors", [], 1)]
        for test in (test_no_import_runs_up_the_wings, test_no_import_circle):
            try:
                test()
            except AssertionError:
                continue
            raise AssertionError(f"{test.__name__} missed it")
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
    lazy = [t for t, _, _ in imports("ganstudy.execution.executors")]
    assert "ganstudy.execution.ray" in lazy  # imported inside a function, relative


def test_no_module_takes_another_modules_private_names():
    taken = [f"{m}:{line} takes {n} from {t}" for m, deps in GRAPH.items() for t, names, line in deps
             for n in names if n.startswith("_") and not n.startswith("__")]
    assert not taken, "\n".join(taken)


def test_rooms_are_at_most_400_lines_and_every_wing_says_what_it_holds():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        first = doc.split("\n\n")[0] if doc else ""
        assert first and len(first.splitlines()) <= 4 and "TODO" not in doc, init  # a few lines say what it holds


def test_the_cli_is_a_layer_over_the_api():
    """The command calls the API and nothing else of the package (besides errors, run states and
    the version): what a user can do from a terminal, a notebook can do too."""
    allowed = ("ganstudy.api", "ganstudy.base.errors", "ganstudy.base.status", "ganstudy._version", "ganstudy.cli")
    reach = [f"{m}:{line} imports {t}" for m, deps in GRAPH.items() if wing(m) in ("cli", "__main__")
             for t, _, line in deps if not t.startswith(allowed)]
    assert not reach, "\n".join(reach)
