"""The course's two editions, and the handouts made from them.

    python -m notebooks.editions student OUTDIR     # the learner edition
    python -m notebooks.editions handouts OUTDIR    # both editions, executed, as HTML

A solution cell carries the tag `solution` and, in its metadata, the task in words and
the names it defines: `{"sketch": {"task": "...", "defines": ["timing"]}}`. In the
learner edition its code becomes the task as comments and each name set to None; the
checks below it then say "not yet", and the notebook still runs to the end.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).parent

__all__ = ["notebooks", "learner_edition", "execute"]


def notebooks() -> list[Path]:
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def learner_edition(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Solutions out, stubs in, everything else as it is."""
    learner = copy.deepcopy(notebook)
    for cell in learner.cells:
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


def execute(notebook: nbformat.NotebookNode, timeout: int = 60) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel, in the notebooks folder, as a learner would."""
    from nbclient import NotebookClient

    executed = copy.deepcopy(notebook)
    client = NotebookClient(
        executed,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    return executed


def _student(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for path in notebooks():
        nbformat.write(learner_edition(nbformat.read(path, as_version=4)), outdir / path.name)
        print(f"learner edition: {outdir / path.name}")
    (outdir / "checks.py").write_text(
        (HERE / "checks.py").read_text(encoding="utf-8"), encoding="utf-8"
    )


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
            html, _ = exporter.from_notebook_node(execute(notebook))
            out = target / path.with_suffix(".html").name
            out.write_text(html, encoding="utf-8")
            print(f"handout: {out}")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("student", "handouts"):
        print(__doc__, file=sys.stderr)
        return 2
    {"student": _student, "handouts": _handouts}[argv[0]](Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
