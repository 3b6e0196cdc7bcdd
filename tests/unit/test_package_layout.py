"""The package's shape: no import cycles, export never imports bench, every bundle file name typed once,
verify without PyTorch, and README's Layout and route table true to the code."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgematte.bundle import LAYOUT, MANIFEST
from edgematte.export.routes import routes_table

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "edgematte"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Every edgematte module ``name`` imports, at the top or inside a function (both run, sooner or later)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # "pkg.mod.Class" -> "pkg.mod"
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("edgematte"):
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_no_module_imports_itself_through_others():
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(GRAPH[node]):
            if nxt == "edgematte":  # the package root holds only __version__
                continue
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in GRAPH:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_export_and_quantize_never_import_the_bench_package():
    for name, deps in GRAPH.items():
        if name.startswith(("edgematte.export", "edgematte.quantize")):
            assert not {d for d in deps if d.startswith("edgematte.bench")}, name


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("name", sorted({*LAYOUT.values(), MANIFEST}))
def test_each_bundle_file_name_is_written_in_bundle_py_only(name):
    holders = {module for module, path in MODULES.items() if any(name in s for s in string_constants(path))}
    assert holders <= {"edgematte.bundle"}, f"{name} is typed in {sorted(holders - {'edgematte.bundle'})}"


def test_api_imports_and_verify_runs_with_torch_blocked(om_bundle):
    """The device side has no PyTorch: `edgematte verify` (and `import edgematte.api`) must not need it."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import edgematte.api\n"
            "from edgematte.cli import main\n"
            f"main(['verify', {str(om_bundle.out)!r}])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "PASSED | opencv-dnn" in r.stdout and r.stdout.rstrip().endswith(f"PASSED | {om_bundle.out}")


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_layout_names_every_package_and_module():
    layout = readme_section("Layout")
    missing = []
    for path in MODULES.values():
        rel = path.relative_to(PACKAGE)
        if path.name == "__init__.py":
            if rel.parent != Path(".") and f"{rel.parent.name}/" not in layout:
                missing.append(f"{rel.parent}/")
        elif path.name != "__main__.py" and not re.search(rf"\b{re.escape(path.name)}\b", layout):
            missing.append(str(rel))
    assert missing == []


def test_readme_route_table_is_the_route_table():
    assert routes_table() in readme_section("Export routes")
