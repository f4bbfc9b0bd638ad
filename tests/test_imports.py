"""The package's import graph, read from its source with `ast`: no module imports itself through
others, and `core` imports no paper package.

Every import counts, those inside functions included (a lazy import is a cycle put off, not
undone), and so does `importlib.import_module("...")` with a literal name. Run it without pytest:
`python tests/test_imports.py` prints the cycles it finds.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "hyperscale"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports (a `from X import name` names module X.name where
    X.name is a module, else X)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: imported(p, set(files)) for m, p in files.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_module_imports_itself_through_others():
    assert cycles(graph()) == []


def test_core_imports_no_paper_package():
    """`core` is what the papers build on: the datasets, the paper packages and the cross-paper
    chapter import it, never the other way (the package's own `__init__`, which fixes the thread
    count and imports core.errors alone, sits below every other module)."""
    up = {m: sorted(d for d in deps if not d.startswith("hyperscale.core") and d != "hyperscale")
          for m, deps in graph().items() if m.startswith("hyperscale.core")}
    assert {m: d for m, d in up.items() if d} == {}


def test_the_finder_sees_a_lazy_cycle(tmp_path, monkeypatch):
    """The check can fail: a cycle closed by an import inside a function is found."""
    pkg = tmp_path / "hyperscale"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from . import y\n")
    (pkg / "a" / "y.py").write_text("def f():\n    from ..b import z\n")
    (pkg / "b.py").write_text("import importlib\nimportlib.import_module('hyperscale.a.x')\n")
    (pkg / "z.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert cycles(graph()) == [["hyperscale.a.x", "hyperscale.a.y", "hyperscale.b"]]


if __name__ == "__main__":
    found = cycles(graph())
    print("\n".join(" <-> ".join(c) for c in found) or "no import cycle")
    sys.exit(bool(found))
