"""The live view in a real Jupyter kernel, executed by nbclient as CI does."""

from __future__ import annotations

import base64
import re
from html import unescape
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).parent.parent.parent

CELLS = [
    f"import sys; sys.path.insert(0, {str(ROOT)!r})",
    "import asyncio, httpx, sketch, inspector\n"
    "from sketch import web\n"
    "async def hello(request):\n"
    "    return web.Response(text='hi ' + request.match_info['name'])\n"
    "app = web.Application()\n"
    "app.router.add_get('/hello/{name}', hello)\n"
    "live = inspector.watch(app)",
    "server = await sketch.serve(app)\n"
    "async with httpx.AsyncClient(base_url=str(server.url)) as client:\n"
    "    for name in ('ada', 'alan', 'grace'):\n"
    "        assert (await client.get(f'/hello/{name}')).text == f'hi {name}'\n"
    "    assert (await client.get('/nope')).status_code == 404\n"
    "await asyncio.sleep(0.5)  # let the view redraw",
    "live.show('GET', '/hello/ada', 'ruler')",
    "live.journey('GET', '/hello/ada')",
    "live.connections()",
    "live.close()\nawait server.close()",
]


def test_the_live_view_ends_as_plain_html_holding_the_trace(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources=resources).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert errors == [], errors
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    [live] = notebook.cells[1].outputs  # the display, updated in place to its last state
    text = text_of(live["data"]["text/html"])
    assert "requests 4" in text and "GET /hello/grace" in text and "404" in text
    [ruler] = notebook.cells[3].outputs
    assert "GET /hello/ada HTTP/1.1\\r\\n" in text_of(ruler["data"]["text/html"])
    # The pictures are image/svg+xml outputs: kept by nbclient, and by nbconvert's HTML.
    for index, cls in ((4, 'class="lane"'), (5, 'class="connection"')):
        [picture] = notebook.cells[index].outputs
        assert cls in picture["data"]["image/svg+xml"]
    html, _ = HTMLExporter().from_notebook_node(notebook)
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    svgs = [base64.b64decode(image).decode("utf-8") for image in images]
    assert any('class="lane"' in svg for svg in svgs)
    assert any('class="connection"' in svg for svg in svgs)


def text_of(html: str) -> str:
    """What a reader sees of an HTML output: the text without the tags."""
    return unescape(re.sub(r"<[^>]+>", "", html))


REATTACH_CELLS = [
    CELLS[0],
    CELLS[1],
    "server = await sketch.serve(app)\n"
    "client = httpx.AsyncClient(base_url=str(server.url))\n"
    "assert (await client.get('/hello/ada')).status_code == 200\n"
    "await asyncio.sleep(0.5)",
    "live  # as after a page reload: the view again, in this cell",
    # Redrawn from this cell: nbclient drops the messages a redraw timer sends, as
    # they name the cell that started the server, which is no longer running.
    "assert (await client.get('/hello/grace')).status_code == 200\nlive.refresh()",
    "await client.aclose()\nlive.close()\nawait server.close()",
]


def test_a_live_view_says_how_to_reattach_and_shown_again_keeps_updating(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in REATTACH_CELLS]
    client = NotebookClient(notebook, timeout=60, kernel_name="python3")
    client.resources = {"metadata": {"path": str(tmp_path)}}
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells[:5]):
            client.execute_cell(cell, index)
        [first] = notebook.cells[1].outputs
        [again] = notebook.cells[3].outputs
        for output in (first, again):  # both outputs follow the one display id
            text = text_of(output["data"]["text/html"])
            assert "GET /hello/grace" in text, text
            assert "page reload stopped its updates, run `live` in a cell" in text, text
        client.execute_cell(notebook.cells[5], 5)
    [again] = notebook.cells[3].outputs
    closed = text_of(again["data"]["text/html"])
    assert "requests 2" in closed and "page reload" not in closed, closed  # final: no note


def test_box_and_tree_lines_join_in_notebook_html():
    from inspector.notebook import to_html

    style = re.search(r'<pre[^>]*style="([^"]*)"', to_html("x")).group(1)
    rules = dict(rule.split(":", 1) for rule in style.split(";") if rule)
    # Box-drawing glyphs span about 1.17 em in DejaVu Sans Mono, Menlo and Consolas:
    # a taller line leaves a gap between one line's │ and the next's.
    assert float(rules["line-height"]) <= 1.17 and rules["margin"] == "0"
