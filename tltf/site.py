"""The course as a website: ``python -m tltf.site build`` runs the notebooks and builds ``build/site/``.

1. ``sources`` copies the pages of ``docs/`` (Sphinx's ``conf.py``, the home, set-up, benchmark and licence
   pages, which include the README's sections, and the static files) to ``build/site-src/``, with the
   README, the asset mirror's notes (``data/README.md``) and a table of every asset's licence from
   ``tltf/assets.json``.
2. ``execute`` runs each notebook with nbclient in ``notebooks/``, in the mode ``$TLTF_MODE`` names (lesson by
   default), and writes the executed copy to ``build/site-src/notebooks/``. The kernel does not copy what
   TensorFlow's C++ runtime writes to the process's stderr (absl's start-up lines, oneDNN, CUDA probing,
   graph-rewrite notices) into the cells: it goes to ``build/site-src/logs/NAME.log`` (ipykernel's
   ``capture_fd_output`` off). A cell that raises, or that writes to Python's stderr (a warning), stops the
   build with the notebook and cell named. Progress bars drawn as widgets are dropped: a static page cannot
   run them, and their JavaScript would come from a CDN. Notebooks not executed are copied as committed.
3. Sphinx (myst-nb and sphinx-book-theme: Jupyter Book 1's engine, which builds offline from PyPI packages)
   builds ``build/site/`` with warnings as errors; a page that would fetch a script, stylesheet, font or
   image from another host also fails the build (``external``).

We run the notebooks ourselves instead of through myst-nb, which reports a failed notebook without its cell
and does not check stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

from tltf.registry import registry
from tltf.settings import mode as environment_mode

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "docs"
NOTEBOOKS = REPO / "notebooks"
BUILD = REPO / "build"
#: Output types a static page cannot show: interactive widgets (tqdm's progress bars in Jupyter).
WIDGET = "application/vnd.jupyter.widget-view+json"


class NotebookFailed(RuntimeError):
    """A notebook raised, or wrote to stderr, in one of its cells (the message names both)."""


def notebooks() -> list[Path]:
    """The course's notebooks, ``notebooks/NN_*.ipynb``, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def problems(notebook, name: str) -> list[str]:
    """One line per output of an executed ``notebook`` (nbformat) that a page must not show: an error or a
    stderr stream, each naming the notebook ``name`` and the cell (its number among all cells, and its id)."""
    found = []
    for number, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []):
            where = f"{name}, cell {number} (id {cell.get('id', '?')})"
            if output.output_type == "error":
                found.append(f"{where} raised {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                first = (output.text.strip() or repr(output.text)).splitlines()[0]
                found.append(f"{where} wrote to stderr: {first[:300]}")
    return found


def drop_widgets(notebook) -> None:
    """Remove widget outputs (progress bars) from ``notebook`` (nbformat), in place."""
    for cell in notebook.cells:
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
    notebook.metadata.pop("widgets", None)


def execute(path: Path, out: Path, logs: Path, mode: str) -> float:
    """Run notebook ``path`` in ``mode`` and write the executed copy to ``out``; what the kernel process writes
    to its stderr (TensorFlow's C++ log) goes to ``logs/NAME.log``. Returns the wall time in seconds.
    Raises NotebookFailed naming the notebook and cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    environment = {**os.environ, "TLTF_MODE": mode}
    environment.pop("TLTF_QUICK", None)
    environment.pop("MPLBACKEND", None)  # a page shows figures inline, whatever backend the caller chose
    if environment.get("TLTF_ASSETS"):  # the kernel runs in notebooks/: a relative path would move
        environment["TLTF_ASSETS"] = str(Path(environment["TLTF_ASSETS"]).resolve())
    logs.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
    )
    start = time.perf_counter()
    with open(logs / f"{path.stem}.log", "w", encoding="utf-8") as log:
        try:
            client.execute(env=environment, stderr=log)
        except CellExecutionError:
            pass  # the error output names the cell; problems() reports it below
        except DeadKernelError as err:  # e.g. out of memory
            raise NotebookFailed(f"{path.name}: the kernel died ({err}); its log is {log.name}.") from None
        finally:
            out.parent.mkdir(parents=True, exist_ok=True)
            drop_widgets(notebook)
            nbformat.write(notebook, out)
    found = problems(notebook, path.name)
    if found:
        raise NotebookFailed("\n".join([*found, f"The executed notebook is {out}; the kernel's log is in {logs}."]))
    return time.perf_counter() - start


def licences_table() -> str:
    """A Markdown table of every asset in the registry: name, kind, what it is, licence, citation."""
    rows = ["| asset | kind | what it is | licence | cite |", "| --- | --- | --- | --- | --- |"]
    for name, asset in registry().items():
        cells = [f"`{name}`", asset.kind, asset.description, asset.license, asset.citation]
        rows.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def sources(src: Path, execute_only: set[str] | None, mode: str) -> dict[str, float]:
    """Fill ``src`` (emptied first) with the site's pages and the notebooks, executing those whose number is
    in ``execute_only`` (all when None). Returns each executed notebook's wall time in seconds."""
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(PAGES, src)
    (src / "_includes").mkdir()
    shutil.copy(REPO / "README.md", src / "_includes" / "README.md")  # the pages include its sections
    (src / "_includes" / "assets.md").write_text(licences_table(), encoding="utf-8")
    (src / "data").mkdir()
    shutil.copy(REPO / "data" / "README.md", src / "data" / "README.md")  # the asset mirror's notes, a page
    times = {}
    for path in notebooks():
        target = src / "notebooks" / path.name
        if execute_only is None or path.name[:2] in execute_only:
            print(f"running {path.name} in {mode} mode", flush=True)
            times[path.name] = execute(path, target, src / "logs", mode)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    return times


class _Fetched(HTMLParser):
    """The addresses a browser fetches when it shows a page: ``src``, ``srcset`` and ``poster`` of any tag,
    and the ``href`` of a ``<link>`` that is a stylesheet, icon or preload (a ``canonical`` one is not)."""

    def __init__(self):
        super().__init__()
        self.addresses: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name in ("src", "poster"):
            self.addresses += [values[name]] if values.get(name) else []
        self.addresses += [part.split()[0] for part in (values.get("srcset") or "").split(",") if part.strip()]
        if tag == "link" and re.search(r"stylesheet|icon|preload|modulepreload", values.get("rel") or ""):
            self.addresses += [values["href"]] if values.get("href") else []


def external(site: Path) -> list[str]:
    """``page: address`` for every address in ``site``'s HTML pages (``_Fetched``) and CSS files (``url(...)``,
    ``@import``) that a browser would fetch from another host (``http:``, ``https:`` or ``//``)."""
    remote = re.compile(r"(?:https?:)?//", re.I)
    found = []
    for page in sorted(site.rglob("*.html")):
        parser = _Fetched()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        found += [f"{page.relative_to(site)}: {a}" for a in parser.addresses if remote.match(a.strip())]
    css = re.compile(r"""url\(\s*["']?([^)"'\s]+)|@import\s+["']([^"']+)""", re.I)
    for sheet in sorted(site.rglob("*.css")):
        for match in css.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            address = match.group(1) or match.group(2)
            found += [f"{sheet.relative_to(site)}: {address}"] if remote.match(address) else []
    return found


def build(out: Path = BUILD / "site", execute_only: set[str] | None = None, mode: str | None = None) -> dict:
    """Build the site in ``out`` (its sources in ``out`` + ``-src``); returns what was run and how long it took.
    Raises NotebookFailed (a notebook's error or stderr), RuntimeError (Sphinx's warnings, remote files) or
    ValueError (an unknown notebook number; ``out`` or its sources folder holding something else)."""
    mode = mode or environment_mode(default="lesson")
    src = out.with_name(out.name + "-src")
    known = {path.name[:2] for path in notebooks()}
    if execute_only is not None and not execute_only <= known:
        raise ValueError(f"No notebook numbered {sorted(execute_only - known)}: choose from {sorted(known)}.")
    for folder, mark in ((out, ".buildinfo"), (src, "conf.py")):  # both are emptied: only a site's own
        if folder.exists() and any(folder.iterdir()) and not (folder / mark).exists():
            raise ValueError(f"{folder} is not empty and holds no site: choose another --out, or empty it.")
    start = time.perf_counter()
    times = sources(src, execute_only, mode)
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", str(src), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"Sphinx could not build the site (warnings count as errors):\n{done.stderr[-5000:]}")
    remote = external(out)
    if remote:
        raise RuntimeError("These pages would fetch files from another host:\n" + "\n".join(remote))
    return {"mode": mode, "notebooks_s": times, "total_s": round(time.perf_counter() - start, 1), "site": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tltf.site", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--out", type=Path, default=BUILD / "site", help="the site's folder (default build/site)")
    parser.add_argument(
        "--execute", nargs="*", metavar="NN", help="run only these notebooks (e.g. 09); the others appear unexecuted"
    )
    args = parser.parse_args(argv)
    try:
        result = build(args.out, set(args.execute) if args.execute is not None else None)
    except (NotebookFailed, RuntimeError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    print(json.dumps(result))
    print(f"Open {args.out / 'index.html'} in a browser (search shows no excerpts from a file: see 'Set-up').")
    return 0


if __name__ == "__main__":
    sys.exit(main())
