"""What a class needs around the notebooks: the frame of each chapter, the opening picture,
the install cell for Colab, Binder's build files, the glossary and the notes."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from notebooks.editions import SUPPORT

from .test_project import _requirement

ROOT = Path(__file__).parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
PICTURE = NOTEBOOKS / "img" / "request_path.svg"


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _install_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    [cell] = [c for c in notebook.cells if c.metadata.get("sketch", {}).get("course") == "install"]
    return cell


def _build_modules(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        c.source.lstrip().split("\n", 1)[0].split()[1]
        for c in notebook.cells
        if c.cell_type == "code" and c.source.lstrip().startswith("%%diy ")
    ]


@pytest.mark.parametrize("index", range(len(PATHS)), ids=[p.stem for p in PATHS])
def test_each_chapter_opens_with_its_time_and_links_to_its_neighbours(index):
    title = _read(PATHS[index]).cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {PATHS[index].stem[:2]} ")
    assert re.search(r"\*\*About \d+ minutes\*\*", title.source), "no time estimate"
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", title.source)
    neighbours = [PATHS[i].name for i in (index - 1, index + 1) if 0 <= i < len(PATHS)]
    assert links == neighbours


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_each_chapter_closes_with_what_it_built(path):
    notebook = _read(path)
    last = notebook.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## What you built\n")
    for module in _build_modules(notebook):
        assert f"`diy/{module}`" in last.source, f"{path.name}: the summary omits diy/{module}"


def test_chapter_00_opens_with_a_picture_of_a_requests_path():
    cells = _read(PATHS[0]).cells
    picture = cells[1]
    # The notebook carries the file itself, as a data: URL, so the learner edition,
    # Colab and the handouts, which copy the notebook and not img/, still show it; and
    # JupyterLab 4 draws it (an SVG attachment it would not: a learner saw alt text).
    found = re.search(r"\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", picture.source)
    assert picture.cell_type == "markdown" and found, "00's picture is not a data: URL"
    assert not picture.get("attachments"), "JupyterLab 4 does not draw SVG attachments"
    stored = base64.b64decode(found.group(1))
    assert stored == PICTURE.read_bytes(), "run docs/course_frame.py: 00's picture is stale"
    svg = ET.fromstring(PICTURE.read_bytes())
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for stage in (
        "client", "socket", "transport", "protocol", "parser", "Request", "task", "router",
        "middlewares", "handler", "Response", "bytes out",
    ):  # fmt: skip
        assert stage in text, stage
    # its own opaque background, the whole size of the picture: readable on dark themes
    card = svg.find("{http://www.w3.org/2000/svg}rect")
    assert card.get("fill") == "#ffffff"
    assert float(card.get("width")) >= float(svg.get("width")) - 1


def test_the_install_cell_follows_the_title_and_is_the_same_in_every_chapter():
    sources = {}
    for path in PATHS:
        notebook = _read(path)
        cell = _install_cell(notebook)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert code[0] is cell, f"{path.name}: the install cell is the first code cell"
        assert notebook.cells.index(cell) == (2 if path.stem.startswith("00") else 1)
        assert f'CHAPTER = "{path.stem[:2]}"' in cell.source
        assert cell.source.count("REPO = ") == 1
        assert "pip install sketch" not in cell.source  # PyPI's sketch is another project
        sources[path.name] = cell.source.replace(f'CHAPTER = "{path.stem[:2]}"', "")
    assert len(set(sources.values())) == 1, "one install cell, the same in every chapter"


def test_the_install_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    source = _install_cell(_read(PATHS[3])).source
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.chdir(tmp_path)
    path = list(sys.path)

    def refuse(*args, **kwargs):
        raise AssertionError(f"ran {args} outside Colab")

    monkeypatch.setattr(subprocess, "run", refuse)
    exec(source, {})
    assert sys.path == path and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the repository's git history")
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_on_colab_the_install_cell_clones_installs_and_writes_the_chapters_before(
    monkeypatch, tmp_path
):
    """Run on a stand-in for Colab: the repository cloned for real (from this one), pip
    recorded rather than run, the working folder a fresh one."""
    clone = tmp_path / "content" / "sketch"
    source = _install_cell(_read(PATHS[3])).source
    source = source.replace('"/content/sketch"', repr(str(clone)))
    source = re.sub(r'REPO = "[^"]+"', f"REPO = {ROOT.as_uri()!r}", source)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("editions", "diy_magic"):  # imported from the clone, then forgotten
        monkeypatch.delitem(sys.modules, name, raising=False)
    ran = []
    real_run = subprocess.run

    def run(command, **kwargs):
        ran.append(command)
        if command[0] == "git":
            return real_run(command, **kwargs, capture_output=True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)
    exec(source, {})
    assert ran[0][:2] == ["git", "clone"] and (clone / "sketch" / "__init__.py").exists()
    assert ran[1][1:] == ["-m", "pip", "install", "-q", "-e", str(clone), "httpx", "aiohttp"]
    assert sys.path[:2] == [str(clone), str(clone / "notebooks")]
    assert set(SUPPORT) <= {p.name for p in work.iterdir()}  # checks.py, diy_checks/, ...
    # chapter 03 starts on what 01 and 02 build, and not on its own modules
    written = sorted(p.name for p in (work / "diy").iterdir())
    assert written == ["__init__.py", "protocol.py", "server.py"]


def test_binder_installs_the_project_once_the_repository_is_copied():
    binder = ROOT / "binder"
    text = (binder / "environment.yml").read_text(encoding="utf-8")
    entries = [line.split("#")[0] for line in text.splitlines()]
    assert not any("-e ." in line for line in entries)  # installed before the repository is
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + [
        dep for extra in ("test", "lab") for dep in project["optional-dependencies"][extra]
    ]
    listed = re.findall(r"^  - ([A-Za-z0-9_.\-]+.*)$", text.split("\ndependencies:\n", 1)[1], re.M)
    listed = [item for item in listed if not re.match(r"(python|pip)\b", item)]
    assert sorted(map(_requirement, listed)) == sorted(map(_requirement, wanted))
    post = binder / "postBuild"
    assert os.access(post, os.X_OK) or sys.platform == "win32"
    steps = [line for line in post.read_text(encoding="utf-8").splitlines() if line[:1].isalpha()]
    assert "python -m pip install --no-deps -e ." in steps
    assert "python -m notebooks.editions student build/student" in steps


def test_the_notebooks_readme_describes_every_chapter_and_links_the_glossary_and_notes():
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    assert "not written" not in readme and "not yet written" not in readme
    for path in PATHS:
        assert f"]({path.name})" in readme, path.name
    for doc in ("glossary.md", "instructor.md"):
        assert f"](../docs/{doc})" in readme and (ROOT / "docs" / doc).exists()
    assert "learner edition" in readme and "full edition" in readme.lower()


def test_the_glossary_defines_the_words_the_course_uses():
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for word in (
        "transport", "protocol factory", "keep-alive", "pipelining", "back-pressure",
        "onion", "cleanup_ctx", "AppKey", "event loop", "middleware", "chunked",
        "graceful shutdown", "build cell", "learner edition",
    ):  # fmt: skip
        assert re.search(rf"^\*\*[^*]*{re.escape(word)}[^*]*\*\*", glossary, re.M), word


def test_the_instructor_notes_cover_every_chapter_with_measured_and_estimated_times():
    notes = (ROOT / "docs" / "instructor.md").read_text(encoding="utf-8")
    for path in PATHS:
        number, title = path.stem[:2], _read(path).cells[0].source.splitlines()[0]
        assert f"\n## {title[2:]}\n" in notes, f"no notes for {title}"
        assert re.search(rf"^\| {number} .*\| \d+ min \|$", notes, re.M), f"no timing for {number}"
        section = notes.split(f"\n## {title[2:]}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("*Misconceptions.*", "*Discussion.*", "*Where they get stuck.*"):
            assert part in section, f"{title}: {part}"
    assert "**Measured**" in notes and "**Estimated**" in notes


def test_the_readme_says_how_to_open_the_course_each_way_and_run_the_sample():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # the system's python has no sketch: the virtual environment's does
    assert ".venv/bin/python examples/sample_app.py" in readme
    assert not re.search(r"`python examples/sample_app\.py`", readme)
    section = readme.split("\n## The course, three ways\n", 1)[1].split("\n## ", 1)[0]
    for words in ("full edition", "learner edition", "make learn", "make lab", "Binder", "Colab"):
        assert words in section, words
    repo = re.search(r'REPO = "https://github\.com/([^"]+)"', _install_cell(_read(PATHS[0])).source)
    slug = repo.group(1)
    assert f"mybinder.org/v2/gh/{slug}/" in section
    assert f"colab.research.google.com/github/{slug}/" in section


def test_a_chapters_time_is_the_same_wherever_it_is_given():
    tables = {
        name: (ROOT / name).read_text(encoding="utf-8")
        for name in ("notebooks/README.md", "docs/instructor.md", "docs/workshop.md")
    }
    for path in PATHS:
        title = _read(path).cells[0].source
        minutes = re.search(r"\*\*About (\d+) minutes\*\*", title).group(1)
        number = path.stem[:2]
        for name, text in tables.items():
            rows = [line for line in text.splitlines() if re.match(rf"\| \[?{number}[ _]", line)]
            assert rows and f"| {minutes} min |" in rows[0], f"{name}, chapter {number}"


def test_the_frame_script_writes_the_frame_the_notebooks_have(monkeypatch, tmp_path):
    """docs/course_frame.py, run again, changes nothing: notebooks and script agree."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_frame", ROOT / "docs" / "course_frame.py")
    course_frame = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course_frame)
    shutil.copytree(NOTEBOOKS / "img", tmp_path / "img")
    copies = [Path(shutil.copy(path, tmp_path / path.name)) for path in PATHS]
    monkeypatch.setattr(course_frame, "NB", tmp_path)
    for index in range(len(copies)):
        course_frame.frame(copies, index)
    for path, copy in zip(PATHS, copies, strict=True):
        assert copy.read_bytes() == path.read_bytes(), f"python docs/course_frame.py: {path.name}"
