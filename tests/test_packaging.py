"""Packaging: a non-editable ``pip install .`` ships every subpackage and data file of tltf, and pyproject.toml
declares every third-party module tltf imports. Cheap: reads pyproject.toml and the sources; builds nothing."""

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from setuptools import find_namespace_packages, find_packages

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tltf"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: Imported inside a function and not declared anywhere, each for a reason.
UNDECLARED = {"psutil": "tltf.record.peak_rss_mb: the Windows fallback, skipped when it is not installed"}


def normalize(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(specs) -> set[str]:
    return {normalize(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec).group(1)) for spec in specs}


def packaged() -> set[str]:
    """The packages the wheel holds, as setuptools reads [tool.setuptools] packages (a list or packages.find)."""
    packages = SETUPTOOLS.get("packages")
    assert packages is not None, "pyproject.toml: name the packages (setuptools' automatic discovery guesses)"
    assert "package-dir" not in SETUPTOOLS, "update this test for [tool.setuptools.package-dir]"
    if isinstance(packages, list):
        return set(packages)
    find = packages["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    return {
        name
        for where in find.get("where", ["."])
        for name in finder(where=str(REPO / where), include=find.get("include", ["*"]), exclude=find.get("exclude", ()))
    }


def on_disk() -> set[str]:
    """tltf and every folder below it with an __init__.py, as dotted names."""
    return {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")}


def sources() -> dict[str, ast.Module]:
    return {str(p.relative_to(REPO)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}


def imported(tree: ast.Module, *, module_level: bool) -> set[str]:
    """Top-level names of the absolute imports in ``tree``: those run on import (module_level), or all of them."""
    names = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.partition(".")[0])
        elif module_level and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # runs when called, not on import
        else:
            stack.extend(ast.iter_child_nodes(node))
    return names - set(sys.stdlib_module_names) - {"__future__", "tltf"}


@functools.cache
def distributions() -> dict[str, list[str]]:
    """Import name -> the installed distributions that provide it (scanning them all takes 0.1 s)."""
    return packages_distributions()


def declared(module: str, names: set[str]) -> bool:
    dists = distributions().get(module)
    assert dists, f"{module} is not installed here, so its distribution is unknown: run `make install`"
    return any(normalize(d) in names for d in dists)


def nodeps() -> set[str]:
    """What requirements-nodeps.txt installs with --no-deps: distributions whose own metadata pip must not follow."""
    lines = (REPO / "requirements-nodeps.txt").read_text(encoding="utf-8").splitlines()
    return requirement_names(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def test_every_subpackage_is_packaged():
    disk, wheel = on_disk(), packaged()
    assert not disk - wheel, f"pyproject.toml [tool.setuptools] leaves out of the wheel: {sorted(disk - wheel)}"
    assert not wheel - disk, f"the wheel would hold folders without an __init__.py: {sorted(wheel - disk)}"


def test_every_data_file_is_packaged():
    """Any non-.py file inside a package (JSON read at run time, ...) matches [tool.setuptools.package-data]."""
    patterns = SETUPTOOLS.get("package-data", {})
    shipped = set()
    for name in packaged():
        folder = REPO.joinpath(*name.split("."))
        for pattern in patterns.get(name, []) + patterns.get("*", []):
            shipped |= {p for p in folder.glob(pattern) if p.is_file()}
    data = {
        p
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix not in {".py", ".pyc"}
        and not any(part == "__pycache__" or part.startswith(".") for part in p.relative_to(REPO).parts)
    }
    missing = sorted(str(p.relative_to(REPO)) for p in data - shipped)
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def test_module_level_imports_are_dependencies():
    """What runs on ``import tltf.X`` must be in [project] dependencies (or installed --no-deps on purpose)."""
    names = requirement_names(PYPROJECT["project"]["dependencies"]) | nodeps()
    missing = {
        (path, module)
        for path, tree in sources().items()
        for module in imported(tree, module_level=True)
        if not declared(module, names)
    }
    assert not missing, f"declare in [project] dependencies (file, module): {sorted(missing)}"


def test_every_import_is_declared():
    """Imports inside functions may be in an extra ([project.optional-dependencies]) instead."""
    extras = PYPROJECT["project"].get("optional-dependencies", {}).values()
    names = requirement_names(PYPROJECT["project"]["dependencies"]) | nodeps()
    names |= {name for specs in extras for name in requirement_names(specs)}
    missing = {
        (path, module)
        for path, tree in sources().items()
        for module in imported(tree, module_level=False) - set(UNDECLARED)
        if not declared(module, names)
    }
    assert not missing, f"declare in [project] dependencies or an extra (file, module): {sorted(missing)}"
