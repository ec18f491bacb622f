"""The frame of every chapter: written into the notebooks by this script, idempotent.

    python docs/course_frame.py

- the title cell: a line under the heading with the learner's time (an estimate) and
  links to the previous and next chapters (an earlier such line is replaced);
- the install cell, the first code cell: a no-op except on Google Colab;
- in 00, the picture of a request's path, notebooks/img/request_path.svg, attached to
  its cell (the learner edition, Colab and the handouts copy the notebook, not img/);
- the last cell, "What you built".

The cells it adds carry {"sketch": {"course": "install" | "picture" | "built"}} in their
metadata; running it again replaces them with the text below. Use it after a merge that
dropped them, or after changing a summary here; tests/test_course.py checks the result.
"""

# ruff: noqa: E501  (the picture's alt text is one markdown line)

import base64
from pathlib import Path

import nbformat

NB = Path(__file__).resolve().parent.parent / "notebooks"
MINUTES = {
    "00": 20,
    "01": 40,
    "02": 50,
    "03": 60,
    "04": 75,
    "05": 45,
    "06": 50,
    "07": 45,
    "08": 50,
    "09": 50,
    "10": 45,
    "11": 45,
    "12": 50,
}

INSTALL = """\
# Google Colab only: install the course (sketch, the inspector, the chapters' helpers)
# from its repository. Anywhere else (make lab, make learn, Binder) this cell does nothing.
import sys

REPO = "https://github.com/OWNER/sketch"  # the published repository (README, "Colab")
CHAPTER = "{chapter}"

if "google.colab" in sys.modules:
    import subprocess
    from pathlib import Path

    clone = Path("/content/sketch")
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth=1", REPO, str(clone)], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "-e", str(clone), "httpx", "aiohttp"]
    subprocess.run(pip, check=True)
    sys.path[:0] = [str(clone), str(clone / "notebooks")]  # importable without a restart
    from editions import assemble, copy_support, notebooks

    copy_support(Path.cwd())  # the modules the checks need (editions.SUPPORT), beside it
    if not Path("diy").exists():  # a fresh Colab machine: the chapters before, solved
        assemble(Path.cwd(), [path for path in notebooks() if path.name < CHAPTER])"""

SUMMARY = {
    "00": """\
## What you built

Nothing of your own yet, on purpose. You started a sketch server on the kernel's own
event loop (`await sketch.serve(app)`, never `asyncio.run`), sent it requests with
`loopback_client`, and read one request's trace: the parser's callbacks, the
dispatcher's decision, the middlewares and the handler, the response as written.

From the next chapter on you build each box of the picture at the top of this notebook,
in a package of your own, `diy`, starting with the socket, the transport and the
protocol.""",
    "01": """\
## What you built

- `diy/protocol.py`: `EchoProtocol`, an `asyncio.Protocol` that keeps its own
  transport, and `start_server(protocol_factory, host, port)`, which gives every
  connection a protocol object of its own.
- You saw the callbacks asyncio makes (`connection_made`, `data_received`,
  `connection_lost`), why one protocol object shared by every connection sends Alice's
  answer to Bob, and that sketch's `Server` is itself the factory `create_server` calls.

Your framework so far: `protocol.py`. Next, chapter 02 feeds the bytes to a parser.""",
    "02": """\
## What you built

- `diy/server.py`: `Server(handler)`, an `asyncio.Protocol` that is also httptools'
  callback object. Each request starts empty in `on_message_begin`, its URL and body
  are collected from every piece, and when it is complete `handler(method, url,
  headers, body)` is called and its bytes written back; one connection carries several
  requests. It is served by your chapter 01 `start_server`.
- You saw which callbacks httptools makes and when, a request cut into pieces wherever
  the network likes, and what keeping only the last piece loses.

Your framework so far: `protocol.py`, `server.py`. Next, chapter 03 gives a handler a
Request to read and a Response to return.""",
    "03": """\
## What you built

- `diy/request.py`: `Request`, with the URL as a `yarl.URL`, the decoded `path`, the
  `query` as a MultiDict, case-insensitive `headers`, and `await read()`, `text()` and
  `json()`.
- `diy/response.py`: `Response`, whose `encode()` writes the status line and headers in
  CRLF lines, `Content-Type` with its charset, `Content-Length` counted in bytes, an
  empty line, then the body.
- You saw what a strict client makes of a response whose length does not match its
  bytes, and how sketch's `serialize_head` writes a head.

Your framework so far: `protocol.py`, `server.py`, `request.py`, `response.py`. Next,
chapter 04 routes each request to a handler, in a Task of its own.""",
    "04": """\
## What you built

- `diy/router.py`: `UrlDispatcher` with `add_route` and `add_get`, `add_post`,
  `add_put`, `add_delete`, whose `resolve(request)` tries every route before it
  decides: the route's handler, a 405 with `Allow`, or a 404.
- `diy/application.py`: `Application` (its `router`, and `_handler`), `AppServer`,
  your chapter 02 `Server` whose `hand_off` starts one Task per request and answers a
  handler that raises with a 500 that tells nothing, and `serve(app, host, port)`.
- You saw the difference between a 404 and a 405, why a synchronous callback cannot
  await a handler, and what becomes of an exception nobody retrieves from a Task.

Your framework now answers HTTP requests with async handlers. Next, chapter 05 gives
routes parameters.""",
    "05": """\
## What you built

- `diy/router.py` again: `compile_path` turns `/users/{name}` and `{name:regex}` into a
  regex, literal parts escaped, once, when the route is added; `resolve` matches the
  *whole* decoded path (`fullmatch`) and hands the named groups to the handler as
  `request.match_info`; 404 and 405 as before.
- You saw the regex each route compiles to in the why-not table, what matching only the
  start of a path lets through, and sketch's `url_for` building URLs back.

Next, chapter 06 wraps your handlers in middlewares.""",
    "06": """\
## What you built

- `diy/middleware.py`: the `middleware` decorator and `wrap_handler(handler,
  middlewares)`, the onion built with one loop over the reversed list, so the first
  listed is the outermost.
- `diy/application.py` again: `Application(middlewares=...)`, whose handler, found by
  the router, runs inside them; a 404 or 405 passes through the middlewares like any
  request.
- You saw a short-circuit in the onion view, and in which order a loop that wraps the
  list front to back puts the layers.

Next, chapter 07 gives your Application a life before the first request and after the
last.""",
    "07": """\
## What you built

- `diy/application.py` again: `on_startup`, `on_shutdown` and `on_cleanup`, lists of
  hooks awaited in turn, in the order added; `serve(app, host, port)`, which runs the
  startup hooks before it listens and returns an object with `url`, `port` and
  `close()`; and `run_app(app)` for scripts, which refuses inside a running loop and
  names `serve` instead.
- You read sketch's lifecycle timeline: `cleanup_ctx`, the hooks as bands, the request,
  the shutdown phases.

Next, chapter 08 makes errors answers.""",
    "08": """\
## What you built

- `diy/exceptions.py`: `HTTPException`, both a Response and an Exception, with
  aiohttp's arguments and default body (`404: Not Found`), and `HTTPFound`,
  `HTTPBadRequest`, `HTTPUnauthorized`, `HTTPForbidden`, `HTTPNotFound`,
  `HTTPMethodNotAllowed` and `HTTPInternalServerError`.
- `diy/application.py` again: HTTP exceptions caught around the whole middleware chain
  and sent as the answer; any other exception a 500 that tells the client nothing, its
  traceback in the log.
- `json_errors` (the exercise): a middleware that turns every HTTP error into JSON,
  status and `Allow` kept.

Next, chapter 09 stops the server without breaking the requests it is answering.""",
    "09": """\
## What you built

- `diy/application.py` again: `serve(..., shutdown_timeout=)`, whose `close()` stops
  accepting, closes idle connections, runs `on_shutdown`, waits at most the grace
  period for the requests in flight, cancels the rest, then runs `on_cleanup`; and a
  `run_app` that does the same on SIGTERM, seen on a process of its own.
- `grace` (the exercise): a grace period long enough for a request in flight, short
  enough that a stuck one cannot hold the shutdown.

Your framework is complete. Next, chapter 10 runs the guide's sample application on it.""",
    "10": """\
## What you built

- `diy/__init__.py`: your package's public names, so that an application writes
  `from diy import Application, HTTPNotFound, Response, middleware, run_app`.
- The guide's sample application, `app.py`, on your own framework, one import line
  changed: served on the kernel's loop with your `serve`, and as a script with your
  `run_app`, stopped by SIGTERM.
- `delete_user` (the exercise): `DELETE /users/{id}` added to sketch's larger sample
  application, checked by real requests.

The whole framework is in `diy/` beside this notebook: `protocol.py`, `server.py`,
`request.py`, `response.py`, `router.py`, `middleware.py`, `exceptions.py`,
`application.py` and `__init__.py`. Next, chapter 11: what a real server adds.""",
    "11": """\
## What you built

- `pipelined(port, paths)` (the exercise): a client that sends every request in one
  write and reads the answers back in order.
- You saw two pipelined requests on one connection answered in the order they came, a
  response streamed in chunks, hostile requests refused with the connection closed, and
  one program answering alike on sketch and on aiohttp.

Next, chapter 12: when HTTP becomes a conversation, WebSockets.""",
    "12": """\
## What you built

- `chat(request)` (the exercise): a WebSocket chat room, where every message a client
  sends reaches every client in the room, and a client that leaves, closed or dropped,
  is removed, checked by four clients over real sockets.
- You upgraded a connection by hand, computed `Sec-WebSocket-Accept` with hashlib and
  base64, wrote a masked frame and decoded one on the byte ruler (FIN, opcode, MASK,
  length, masking key, XOR), and closed with a CLOSE frame and its code.

That is the course. To go further: sketch's own source in `sketch/` (docs/architecture.md
follows a request through it, docs/websockets.md the WebSockets), the inspector's views
in a terminal (`make trace`), and the glossary in docs/glossary.md.""",
}

PICTURE = """\
## A request's path

![The path of one request: client, socket, transport, protocol, parser, Request, then a Task, the router, the middlewares around the handler, the Response, and bytes out back to the client]({src})

Every request takes this path, in sketch and in the framework you build. The top row
runs in callbacks the event loop makes, one after another; from `create_task` on, the
request has a Task of its own, where a handler may `await`. Each box names the chapter
that builds it: the socket, transport and protocol in 01, the parser in 02, Request and
Response in 03, the Task and the router in 04 and 05, the middlewares in 06, and in 08
the exceptions that become Responses. Around it all is the server's life: the hooks
before the first request and after the last (07), and a graceful stop (09)."""

FRAME = ("install", "picture", "built")  # metadata["sketch"]["course"] of the cells added


def _title(path: Path) -> str:
    first = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


def _link(word: str, path: Path) -> str:
    return f"{word}: [{_title(path)}]({path.name})"


def _nav(paths: list[Path], i: int) -> str:
    before = _link("previous", paths[i - 1]) if i else "this is the first chapter"
    after = _link("next", paths[i + 1]) if i + 1 < len(paths) else "this is the last chapter"
    minutes = MINUTES[paths[i].stem[:2]]
    return (
        f"**About {minutes} minutes** for a learner (an estimate; the notebook itself runs "
        f"in seconds) · {before} · {after}"
    )


def _cell(kind: str, source: str, course: str) -> nbformat.NotebookNode:
    cell = getattr(nbformat.v4, f"new_{kind}_cell")(source)
    cell.metadata["sketch"] = {"course": course}
    cell.id = f"course-{course}"
    return cell


def frame(paths: list[Path], i: int) -> None:
    path, chapter = paths[i], paths[i].stem[:2]
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    # The title cell: its heading, a blank line, the nav line, then what it said before.
    lines = [line for line in cells[0].source.split("\n") if not line.startswith("**About ")]
    while lines[1:3] == ["", ""]:  # the blank line an earlier nav line left
        del lines[1]
    lines[1:1] = ["", _nav(paths, i)]
    cells[0].source = "\n".join(lines)
    cells[:] = [c for c in cells if c.metadata.get("sketch", {}).get("course") not in FRAME]
    added = []
    if chapter == "00":
        # The picture goes in the cell itself, as a data: URL: the learner edition,
        # Colab and the handouts copy the notebook, not img/; and JupyterLab 4 draws
        # no SVG attachment (it renders png, jpeg, gif, bmp and webp attachments only).
        svg = (NB / "img" / "request_path.svg").read_bytes()
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        added.append(_cell("markdown", PICTURE.replace("{src}", src), "picture"))
    added.append(_cell("code", INSTALL.format(chapter=chapter), "install"))
    cells[1:1] = added
    cells.append(_cell("markdown", SUMMARY[chapter], "built"))
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


if __name__ == "__main__":
    chapters = sorted(NB.glob("[0-9][0-9]_*.ipynb"))
    for index in range(len(chapters)):
        frame(chapters, index)
        print(f"framed {chapters[index].name}")
