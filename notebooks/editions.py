"""The course's two editions, the handouts made from them, and the assembled solutions.

    python -m notebooks.editions student OUTDIR     # the learner edition
    python -m notebooks.editions lab OUTDIR         # the full edition, a working copy
    python -m notebooks.editions handouts OUTDIR    # both editions, executed, as HTML
    python -m notebooks.editions solutions OUTDIR   # the full edition, executed in order,
                                                    # leaving OUTDIR/diy/ (the framework)

A solution cell carries the tag `solution` and, in its metadata, the task in words and
the names it defines: `{"sketch": {"task": "...", "defines": ["timing"]}}`. In the
learner edition its code becomes the task as comments and each name set to None; the
checks below it then say "not yet", and the notebook still runs to the end.

A build cell is a cell whose first line is `%%diy <module>.py` (notebooks/diy_magic.py):
it writes the learner's framework, `diy/<module>.py`, in the folder the notebook runs
in. Its metadata has the same form as a solution's. In the learner edition it keeps its
`%%diy` line, so running the stub still writes the module, and the rest becomes the
task as comments, the module's imports (`"imports": "import asyncio"`) and each name
set to None: the module exists, its names are stubs, and the checks say "not yet".

Notebooks run in a working folder that is not the tracked notebooks/: the support
modules (SUPPORT) are copied there, and `diy/` is written there. `student` and `lab`
make such working copies (make learn and make lab open JupyterLab on them): a notebook
is written there only if it is missing or unchanged since it was last written (its hash
is kept in .written.json); one the learner has edited or run is kept, and said so.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
from pathlib import Path

import nbformat

try:  # imported as notebooks.editions (make) or as editions (tests, from notebooks/)
    from .diy_magic import module_of, write_module
except ImportError:
    from diy_magic import module_of, write_module

HERE = Path(__file__).parent
# What a notebook imports from its own folder: copied next to every edition.
SUPPORT = (
    "checks.py",
    "exercise_checks.py",
    "websocket_checks.py",
    "diy_checks",
    "diy_magic.py",
)  # diy_checks/: a package

__all__ = [
    "notebooks",
    "learner_edition",
    "execute",
    "build_cells",
    "assemble",
    "working_copy",
    "SUPPORT",
]


def notebooks() -> list[Path]:
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def build_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """Each build cell as (module, code): `("protocol.py", "import asyncio...")`."""
    found = []
    for cell in notebook.cells:
        module = module_of(cell.source) if cell.cell_type == "code" else None
        if module is not None:
            found.append((module, cell.source.lstrip().split("\n", 1)[1]))
    return found


def assemble(folder: Path, paths: list[Path]) -> None:
    """Write the full edition's build cells of `paths` into `folder/diy/`, unexecuted.

    What a learner who finished those chapters has: a test runs the next chapter on it.
    """
    for path in paths:
        for module, code in build_cells(nbformat.read(path, as_version=4)):
            write_module(module, code, folder)


def _build_stub(cell: nbformat.NotebookNode) -> str:
    spec = cell.metadata.get("sketch", {})
    task = spec.get("task", "write this module of your framework here")
    lines = [cell.source.lstrip().split("\n", 1)[0]]
    lines += [
        f"# Build: {line}" if i == 0 else f"# {line}" for i, line in enumerate(task.splitlines())
    ]
    if spec.get("imports"):
        lines += ["", spec["imports"]]
    lines += [""] + [f"{name} = None  # replace with your own" for name in spec.get("defines", [])]
    return "\n".join(lines)


def learner_edition(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Solutions and build cells out, stubs in, everything else as it is."""
    learner = copy.deepcopy(notebook)
    for cell in learner.cells:
        if cell.cell_type == "code" and module_of(cell.source) is not None:
            cell.source = _build_stub(cell)
            cell.outputs = []
            cell.execution_count = None
            continue
        if "solution" not in cell.get("metadata", {}).get("tags", []):
            continue
        spec = cell.metadata.get("sketch", {})
        task = spec.get("task", "write your solution here")
        lines = [
            f"# Exercise: {line}" if i == 0 else f"# {line}"
            for i, line in enumerate(task.splitlines())
        ]
        lines += [f"{name} = None  # replace with your own" for name in spec.get("defines", [])]
        cell.source = "\n".join(lines)
        cell.outputs = []
        cell.execution_count = None
    return learner


def copy_support(folder: Path) -> None:
    """Put the modules a notebook imports from its own folder into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SUPPORT:
        source, target = HERE / name, folder / name
        if source.resolve() == target.resolve():
            continue
        if source.is_dir():  # a package: its modules, never a stale __pycache__
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)


def execute(
    notebook: nbformat.NotebookNode, folder: Path, timeout: int = 60
) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel in `folder`, as a learner would in theirs.

    The support modules are copied there first; build cells write `folder/diy/`.
    """
    from nbclient import NotebookClient

    copy_support(folder)
    executed = copy.deepcopy(notebook)
    client = NotebookClient(
        executed,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return executed


WRITTEN = ".written.json"  # in a working copy: each notebook's hash when it was written


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def working_copy(outdir: Path, edition: str) -> list[Path]:
    """Write the `edition` ("learner" or "full") of every notebook into `outdir`, except
    over one the learner has changed since it was written there: that one is kept (and
    its path printed), so rebuilding never loses their work. The support modules are
    always refreshed: they are the course's, not the learner's. Returns the kept ones."""
    outdir.mkdir(parents=True, exist_ok=True)
    stamps_path = outdir / WRITTEN
    stamps = json.loads(stamps_path.read_text(encoding="utf-8")) if stamps_path.exists() else {}
    kept = []
    for path in notebooks():
        target = outdir / path.name
        if target.exists() and stamps.get(path.name) != _digest(target):
            kept.append(target)
            continue
        notebook = nbformat.read(path, as_version=4)
        if edition == "learner":
            notebook = learner_edition(notebook)
        nbformat.write(notebook, target)
        stamps[path.name] = _digest(target)
    stamps_path.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    copy_support(outdir)
    print(f"the {edition} edition: {outdir}/")
    for target in kept:
        print(f"  kept your copy of {target.name} (edited or run there); delete it for a fresh one")
    return kept


def _student(outdir: Path) -> None:
    working_copy(outdir, "learner")


def _lab(outdir: Path) -> None:
    working_copy(outdir, "full")


def _solutions(outdir: Path, paths: list[Path] | None = None) -> None:
    """The full edition, executed in the chapters' order in one folder: each chapter
    imports what the ones before it built, and outdir/diy/ is the whole framework."""
    if (outdir / "diy").exists():
        shutil.rmtree(outdir / "diy")  # built afresh, never on top of an older build
    for path in paths or notebooks():
        executed = execute(nbformat.read(path, as_version=4), outdir)
        nbformat.write(executed, outdir / path.name)
        print(f"executed: {outdir / path.name}")
    print(f"the framework: {outdir / 'diy'}")


def _handouts(outdir: Path, paths: list[Path] | None = None) -> None:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    for edition in ("full", "learner"):
        target = outdir / edition
        target.mkdir(parents=True, exist_ok=True)
        for path in paths or notebooks():
            notebook = nbformat.read(path, as_version=4)
            if edition == "learner":
                notebook = learner_edition(notebook)
            html, _ = exporter.from_notebook_node(execute(notebook, target))
            out = target / path.with_suffix(".html").name
            out.write_text(html, encoding="utf-8")
            print(f"handout: {out}")


def main(argv: list[str]) -> int:
    commands = {
        "student": _student,
        "lab": _lab,
        "handouts": _handouts,
        "solutions": _solutions,
    }
    if len(argv) != 2 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    commands[argv[0]](Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
