"""Every course notebook, executed by nbclient in a fresh kernel, in both editions.

- no cell may produce an error, and the committed notebooks carry no outputs;
- each notebook draws at least one inspector view;
- full edition: every exercise check passes;
- learner edition (solutions replaced by stubs): every check says "not yet", so no
  check can pass without the learner's work, and the notebook still runs to the end;
- each runs in a folder of its own, as a learner's working copy: the full edition on the
  framework (diy/) the chapters before it built, the learner edition on an empty one;
- the full edition runs with HTTP_PROXY, HTTPS_PROXY and ALL_PROXY naming a closed port
  (as on a managed laptop), the learner edition without: the notebooks' clients reach
  the kernel's own servers directly either way.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from checks import FAILED, NOT_YET, PASSED  # noqa: E402
from diy_magic import module_of  # noqa: E402
from editions import assemble, execute, notebooks  # noqa: E402

PATHS = notebooks()


def test_the_course_has_every_chapter_in_the_guides_order():
    names = [p.stem for p in PATHS]
    assert names == [
        "00_start_here",
        "01_transports_and_protocols",
        "02_server_protocol_and_parser",
        "03_request_and_response",
        "04_application_and_dispatcher",
        "05_route_params",
        "06_middlewares",
        "07_lifecycle_hooks",
        "08_exceptions",
        "09_graceful_shutdown",
        "10_sample_application",
        "11_beyond_the_guide",
        "12_websockets",
    ]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_notebooks_carry_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebooks_make_their_clients_with_loopback_client(path):
    """A bare httpx.AsyncClient obeys proxy settings and never reaches the kernel's server."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert "AsyncClient(" not in cell.source, (
                f"{path.name}: make clients with checks.loopback_client, not httpx.AsyncClient: "
                + cell.source[:60]
            )


def _lines(notebook, prefix: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                found += [line for line in output.text.splitlines() if line.startswith(prefix)]
    return found


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """The learner edition as `make student` builds it, build/student/: its notebooks run
    there as they are, in the chapters' order, as a learner runs them."""
    from editions import _student

    folder = tmp_path_factory.mktemp("build") / "student"
    _student(folder)
    return folder


@pytest.mark.timeout(120)
@pytest.mark.parametrize("edition", ["full", "learner"])
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_the_notebook_runs_top_to_bottom(path, edition, request, tmp_path):
    folder = tmp_path
    if edition == "full":
        request.getfixturevalue("behind_a_closed_proxy")
        assemble(tmp_path, PATHS[: PATHS.index(path)])
        notebook = nbformat.read(path, as_version=4)
    else:
        folder = request.getfixturevalue("student")
        notebook = nbformat.read(folder / path.name, as_version=4)
    started = time.monotonic()
    executed = execute(notebook, folder)
    took = time.monotonic() - started
    outputs = [o for cell in executed.cells for o in cell.get("outputs", [])]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert errors == []
    views = [o for o in outputs if "sketch-inspector" in o.get("data", {}).get("text/html", "")]
    assert views, "the notebook draws no inspector view"
    checks = len([c for c in notebook.cells if "check" in c.metadata.get("tags", [])])
    assert checks >= 1, "the notebook has no exercise check"
    if edition == "full":
        _assert_the_learners_framework_is_drawn(executed)
        assert _lines(executed, FAILED) == [] and _lines(executed, NOT_YET) == []
        assert len(_lines(executed, PASSED)) == checks
    else:
        assert _lines(executed, PASSED) == [] and _lines(executed, FAILED) == []
        assert len(_lines(executed, NOT_YET)) == checks
    assert took < 30, f"{path.name} took {took:.1f} s"


def _assert_the_learners_framework_is_drawn(executed: nbformat.NotebookNode) -> None:
    """A chapter that watches diy (`diy_live = inspector.watch(...)`) draws what diy did."""
    cells = [c for c in executed.cells if c.cell_type == "code" and "diy_live" in c.source]
    if not cells:
        return
    drawn = "".join(
        o.get("data", {}).get("text/html", "") for c in cells for o in c.get("outputs", [])
    )
    for expected in ("on_message_complete", "routes tried", "middleware", "handler"):
        assert expected in drawn, f"the view of diy's request lacks {expected!r}"
    assert "not seen" not in drawn


def test_the_learner_edition_keeps_the_checks_and_drops_the_solutions(tmp_path):
    from editions import _student

    _student(tmp_path)
    for path in PATHS:
        full = nbformat.read(path, as_version=4)
        learner = nbformat.read(tmp_path / path.name, as_version=4)
        for before, after in zip(full.cells, learner.cells, strict=True):
            tags = before.metadata.get("tags", [])
            if module_of(before.source) is not None:
                first, rest = after.source.split("\n", 1)
                assert first == before.source.split("\n", 1)[0]  # it still writes diy/
                assert rest.startswith("# Build: ") and rest not in before.source
                for name in before.metadata["sketch"]["defines"]:
                    assert f"{name} = None" in after.source
            elif "solution" in tags:
                assert after.source != before.source
                assert after.source.startswith("# Exercise: ")
                for name in before.metadata["sketch"]["defines"]:
                    assert f"{name} = None" in after.source
            else:
                assert after.source == before.source
    for support in ("checks.py", "exercise_checks.py", "diy_magic.py", "diy_checks/__init__.py"):
        assert (tmp_path / support).exists(), support


def test_a_working_copy_keeps_what_the_learner_changed(tmp_path, capsys):
    from editions import WRITTEN, working_copy

    assert working_copy(tmp_path, "learner") == []
    edited, untouched = tmp_path / PATHS[1].name, tmp_path / PATHS[2].name
    notebook = nbformat.read(edited, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("my_own_work = 1"))
    nbformat.write(notebook, edited)  # as JupyterLab saves it
    untouched.write_text("{}", encoding="utf-8")  # an older build, as it was written: refreshed
    stamps = json.loads((tmp_path / WRITTEN).read_text(encoding="utf-8"))
    stamps[untouched.name] = hashlib.sha256(b"{}").hexdigest()
    (tmp_path / WRITTEN).write_text(json.dumps(stamps), encoding="utf-8")
    (tmp_path / PATHS[3].name).unlink()  # a deleted one: written again
    capsys.readouterr()
    assert working_copy(tmp_path, "learner") == [edited]
    assert f"kept your copy of {edited.name}" in capsys.readouterr().out
    assert "my_own_work = 1" in edited.read_text(encoding="utf-8")
    assert nbformat.read(untouched, as_version=4).cells  # the edition again
    assert (tmp_path / PATHS[3].name).exists()
    full = working_copy(tmp_path / "lab", "full")  # make lab's: the solutions are in
    assert full == [] and "greeting = (await client.get(" in (
        tmp_path / "lab" / PATHS[0].name
    ).read_text(encoding="utf-8")


@pytest.mark.timeout(120)
def test_handouts_are_executed_html_of_both_editions(tmp_path):
    from editions import _handouts

    _handouts(tmp_path, PATHS[:1])
    full = (tmp_path / "full" / "00_start_here.html").read_text(encoding="utf-8")
    learner = (tmp_path / "learner" / "00_start_here.html").read_text(encoding="utf-8")
    assert "passed: greet yourself with GET /hello/your-name" in full
    assert "not yet: greet yourself with GET /hello/your-name" in learner
    assert "sketch-inspector" in full


WRONG = {
    "11_beyond_the_guide": (
        "import asyncio\n\n\n"
        "async def pipelined(port, paths):\n"
        "    bodies = []\n"
        "    for path in paths:  # a connection per request: nothing is pipelined\n"
        "        reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
        "        head = f'GET {path} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'\n"
        "        writer.write(head.encode())\n"
        "        answer = await reader.read()\n"
        "        bodies.append(answer.split(b'\\r\\n\\r\\n', 1)[1].decode())\n"
        "        writer.close()\n"
        "    return bodies\n",
        "connections: send all three on one",
    ),
    "12_websockets": (
        "async def chat(request):  # an echo, not a room\n"
        "    ws = web.WebSocketResponse()\n"
        "    await ws.prepare(request)\n"
        "    async for msg in ws:\n"
        "        await ws.send_str(msg.data)\n"
        "    return ws\n",
        "not only back to the sender",
    ),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_solution_is_told_what_is_wrong_in_plain_words(name, tmp_path):
    code, reason = WRONG[name]
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in notebook.cells:
        if "solution" in cell.metadata.get("tags", []):
            cell.source = code
    executed = execute(notebook, tmp_path)
    failures = _lines(executed, FAILED)
    assert len(failures) == 1 and reason in failures[0], failures
    tracebacks = [
        o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert tracebacks == []


# "Run All, then solve": the check cell run again after the closing cell has run.
AFTER_CLOSING = {
    "00_start_here": (NOT_YET, "Run again the cells from the one holding"),
    "09_graceful_shutdown": (PASSED, "stuck ones do not hold the shutdown"),
    "11_beyond_the_guide": (PASSED, "three pipelined requests"),
    "12_websockets": (PASSED, "a chat room"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(AFTER_CLOSING))
def test_a_check_run_after_the_closing_cell_works_or_names_the_cell_to_rerun(name, tmp_path):
    prefix, words = AFTER_CLOSING[name]
    path = NOTEBOOKS / f"{name}.ipynb"
    assemble(tmp_path, PATHS[: PATHS.index(path)])
    notebook = nbformat.read(path, as_version=4)
    checks = [c for c in notebook.cells if "check" in c.metadata.get("tags", [])]
    notebook.cells.append(nbformat.v4.new_code_cell(checks[-1].source))  # after the last
    executed = execute(notebook, tmp_path)
    outputs = [o for o in executed.cells[-1].get("outputs", [])]
    assert [o for o in outputs if o.output_type == "error"] == []
    verdicts = [
        line
        for o in outputs
        if o.output_type == "stream"
        for line in o.text.splitlines()
        if line.startswith((PASSED, NOT_YET, FAILED))
    ]
    assert len(verdicts) == 1 and verdicts[0].startswith(prefix), verdicts
    assert words in verdicts[0], verdicts
