"""The checks of the learner's framework, diy, against right and plausible wrong solutions.

The right solution is the full edition's build cell, read from the notebook (never a
copy kept here); each wrong one is that solution with one plausible mistake made in it.
Each check must pass the right one, and fail each wrong one saying why in plain words.
A chapter's check on a folder where an earlier chapter is missing names that chapter.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from checks import FAILED, NOT_YET, PASSED  # noqa: E402
from diy_checks import (  # noqa: E402
    check_application,
    check_exceptions,
    check_graceful,
    check_hooks,
    check_middlewares,
    check_protocol,
    check_request,
    check_response,
    check_routes,
    check_sample_app,
    check_server,
)
from diy_checks.client import ask  # noqa: E402
from diy_magic import forget, module_of, write_module  # noqa: E402
from editions import _build_stub, _solutions, assemble, execute, learner_edition  # noqa: E402

CHAPTER = {
    "01": NOTEBOOKS / "01_transports_and_protocols.ipynb",
    "02": NOTEBOOKS / "02_server_protocol_and_parser.ipynb",
    "03": NOTEBOOKS / "03_request_and_response.ipynb",
    "04": NOTEBOOKS / "04_application_and_dispatcher.ipynb",
    "05": NOTEBOOKS / "05_route_params.ipynb",
    "06": NOTEBOOKS / "06_middlewares.ipynb",
    "07": NOTEBOOKS / "07_lifecycle_hooks.ipynb",
    "08": NOTEBOOKS / "08_exceptions.ipynb",
    "09": NOTEBOOKS / "09_graceful_shutdown.ipynb",
    "10": NOTEBOOKS / "10_sample_application.ipynb",
}
# check: (its chapter, the check, the module it checks)
CHECKS = {
    "protocol": ("01", check_protocol, "protocol.py"),
    "server": ("02", check_server, "server.py"),
    "request": ("03", check_request, "request.py"),
    "response": ("03", check_response, "response.py"),
    "application": ("04", check_application, "application.py"),
    "routes": ("05", check_routes, "router.py"),
    "middlewares": ("06", check_middlewares, "middleware.py"),
    "hooks": ("07", check_hooks, "application.py"),
    "exceptions": ("08", check_exceptions, "application.py"),
    "graceful": ("09", check_graceful, "application.py"),
    "sample_app": ("10", check_sample_app, "__init__.py"),
}


@pytest.fixture
def folder(tmp_path):
    """A learner's working folder; diy is imported from it, and forgotten afterwards."""
    yield tmp_path
    forget()
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def _built(folder: Path, upto: str) -> None:
    assemble(folder, [path for chapter, path in CHAPTER.items() if chapter <= upto])
    if upto >= "10":  # the guide's sample application, as chapter 10 writes it
        (folder / "app.py").write_text(_sample_app_source(), encoding="utf-8")


def _sample_app_source() -> str:
    notebook = nbformat.read(CHAPTER["10"], as_version=4)
    [cell] = [c for c in notebook.cells if c.source.startswith("%%writefile app.py")]
    return cell.source.split("\n", 1)[1] + "\n"


def _break(folder: Path, module: str, old: str, new: str) -> None:
    path = folder / "diy" / module
    code = path.read_text(encoding="utf-8")
    assert old in code, f"the reference {module} no longer holds {old!r}: update this test"
    path.write_text(code.replace(old, new), encoding="utf-8")


async def _verdict(name: str, folder: Path, capsys) -> str:
    capsys.readouterr()
    await CHECKS[name][1](folder)
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith((PASSED, NOT_YET, FAILED))]
    assert len(lines) == 1, out
    return lines[0]


INIT = "        self.transport = None\n\n    # asyncio"


def _made_once(attribute: str) -> list[tuple[str, str]]:
    """The guide's way: made once per connection, in __init__, never emptied again."""
    line = f"        self.{attribute}\n"
    return [(line, ""), (INIT, INIT.replace("None\n", "None\n" + line, 1))]


# check: [(module, [(old, new), ...], what the check must say)]
WRONG = {
    "protocol": [
        (  # a str written: the transport raises inside the learner's data_received
            "protocol.py",
            [("self.transport.write(data)", "self.transport.write(data.decode())")],
            "your code raised TypeError: data argument must be a bytes-like object, not "
            "'str', at diy/protocol.py line 13 (the build cell's line 14, in data_received)",
        ),
        (  # the guide's runner: one protocol made once, handed to every connection (said
            # from the trace: which object each connection was given, where Alice's bytes went)
            "protocol.py",
            [
                (
                    "    return await loop.create_server(protocol_factory, host, port)",
                    "    protocol = protocol_factory()\n"
                    "    return await loop.create_server(lambda: protocol, host, port)",
                )
            ],
            "two clients connected and the trace shows one protocol object got both "
            "connection_made calls (connections 1 and 2); Alice then sent b'Alice says 1' on "
            "connection 1, and your data_received got it as connection 2's, Bob's",
        ),
        (  # a transport kept on the class: the last connection's wins (said from the trace)
            "protocol.py",
            [("self.transport = transport  # this", "EchoProtocol.transport = transport  #")],
            "was echoed to the other client, though the trace shows it reached data_received "
            "on its own connection (1), in a protocol object of its own: so the protocols "
            "share one transport",
        ),
        (  # the guide's echo: answer once, then hang up
            "protocol.py",
            [
                (
                    "        self.transport.write(data)  #",
                    "        self.transport.write(data)\n        self.transport.close()  #",
                )
            ],
            "closed after the first answer: do not close the transport",
        ),
        (  # received, never answered
            "protocol.py",
            [("        self.transport.write(data)  #", "        print(data)  #")],
            "got no answer within 1 s: data_received must write the data back",
        ),
        (  # a str where the transport takes bytes
            "protocol.py",
            [("self.transport.write(data)", "self.transport.write(data.decode())")],
            "closed with no answer: data_received must write the data back before anything",
        ),
    ],
    "server": [
        (  # the guide's on_url: each piece replaces the one before (said from the trace)
            "server.py",
            [("self.url += url", "self.url = url")],
            "came in 2 pieces (the trace shows on_url given b'/users/al', b'ice?tab=posts') "
            "and the handler got 'ice?tab=posts', the last alone: keep every piece",
        ),
        (  # the guide's on_body (said from the trace)
            "server.py",
            [("self.body.append(body)", "self.body = [body]")],
            "came in 2 pieces (the trace shows on_body given b'hello', b' world') and the "
            "handler got b' world', the last alone: keep every piece, add each one in on_body",
        ),
        (  # only the first piece kept: the answers alone could not say which piece it was
            "server.py",
            [("self.body.append(body)", "self.body = self.body or [body]")],
            "on_body given b'hello', b' world') and the handler got b'hello', the first alone",
        ),
        (  # no on_body at all: httptools calls only what exists, the pieces fall on the floor
            "server.py",
            [("    def on_body(self, body):\n", "    def on_bodies(self, body):\n")],
            "on_body given b'hello', b' world') and the handler got b'': none of them reached "
            "it. Collect every piece in on_body",
        ),
        (  # the guide's headers
            "server.py",
            _made_once("headers = {}"),
            "still carried the header 'x-first' of the one before: start the headers empty",
        ),
        (
            "server.py",
            _made_once("body = []"),
            "the one before's included: start the body empty for each request",
        ),
        (  # the guide's server: answer, then close
            "server.py",
            [
                (
                    "        self.transport.write(answer)",
                    "        self.transport.write(answer)\n        self.transport.close()",
                )
            ],
            "the connection closed after the first answer: keep it open",
        ),
        (  # names and values left as bytes
            "server.py",
            [
                (
                    'self.headers[name.decode("latin-1")] = value.decode("latin-1")',
                    "self.headers[name] = value",
                )
            ],
            "decode names and values to str",
        ),
    ],
    "request": [
        (  # the guide's url kept as it came
            "request.py",
            [("self.url = URL(url)  #", "self.url = url  #")],
            "request.url is a str: make it a yarl.URL",
        ),
        (  # the guide's headers: a plain dict (said from the trace: the name as it came)
            "request.py",
            [("CIMultiDictProxy(CIMultiDict(headers))", "dict(headers)")],
            "the trace shows your Server was given the header 'Content-Type' and "
            "request.headers['content-type'] is missing: header names are case-insensitive "
            "(RFC 9110 5.1)",
        ),
        (  # a query that keeps one value per key
            "request.py",
            [("return self.url.query  #", "return dict(self.url.query)  #")],
            "keep repeated keys",
        ),
        (  # the path as it was on the wire
            "request.py",
            [("return self.url.path  #", "return self.url.raw_path  #")],
            "request.path is '/caf%C3%A9/menu': give the decoded path",
        ),
        (  # a version it cannot do without, which the Server does not pass: Request() raises
            # inside on_message_complete (said from the trace: what the Server did then)
            "request.py",
            [("version=None, body", "version, body")],
            "the handler's Request(method, url, headers, body=body) raised TypeError: "
            "Request.__init__() missing 1 required positional argument: 'version': the trace "
            "shows your Server's on_message_complete ran and called the handler, then the "
            "client got a 400 (httptools reports an exception raised in a callback as a "
            "parse error",
        ),
        (  # a body decoded with the wrong charset (said from the trace: the bytes that came)
            "request.py",
            [(".decode(self.charset)", '.decode("latin-1")')],
            'the trace shows on_body given b\'{"name": "zo\\xc3\\xab"}\', the UTF-8 of '
            '\'{"name": "zoë"}\' (ë is the 2 bytes c3 ab), and request.text() gave '
            '\'{"name": "zoÃ«"}\': decode it with the charset of Content-Type',
        ),
    ],
    "response": [
        (  # the guide's line ends
            "response.py",
            [
                (
                    'head = "\\r\\n".join(lines) + "\\r\\n\\r\\n"',
                    'head = "\\n".join(lines) + "\\n\\n"',
                )
            ],
            "a line of the head ends in \\n alone: every line ends in \\r\\n",
        ),
        (  # the guide's length: the body kept a str, its characters counted (said from
            # the trace: the Content-Length and the body bytes your server wrote)
            "response.py",
            [
                ("body = body.encode(charset)  #", "pass  #"),
                ("+ self.body\n", "+ self.body.encode(self.charset)\n"),
            ],
            "the trace shows your server wrote Content-Length: 13 and then 17 bytes of body "
            "for 'héllo wörld ✓' (é and ö are 2 bytes each, ✓ is 3 bytes in UTF-8): a client "
            "reads 13 bytes, 'héllo wörld', and takes the other 4 for the start of the next "
            "response. Count the bytes",
        ),
        (  # every status is OK
            "response.py",
            [("reason or HTTPStatus(status).phrase", 'reason or "OK"')],
            "the reason phrase of 201 is 'Created'",
        ),
        (  # the headers given, dropped
            "response.py",
            [
                (
                    '        lines += [f"{name}: {value}" for name, value in self.headers'
                    ".items()]\n",
                    "",
                )
            ],
            "did not send X-Served-By: diy",
        ),
        (  # no charset: the client guesses
            "response.py",
            [("{self.content_type}; charset={self.charset}", "{self.content_type}")],
            "Content-Type is 'text/plain': a str body is sent as 'text/plain; charset=utf-8'",
        ),
        (  # a serializer that ignores the status it was given
            "response.py",
            [('f"HTTP/1.1 {self.status} {self.reason}"', '"HTTP/1.1 200 OK"')],
            "a 201 response starts b'HTTP/1.1 200 OK",
        ),
        (  # a serializer that ignores the reason it was given: the standard phrase always
            "response.py",
            [("reason or HTTPStatus(status).phrase", "HTTPStatus(status).phrase")],
            "charset='latin-1') sent the status line 'HTTP/1.1 202 Accepted': a reason given "
            "is the one sent",
        ),
        (  # a serializer that ignores the Content-Type it was given
            "response.py",
            [("{self.content_type}; charset={self.charset}", "text/plain; charset=utf-8")],
            "charset='latin-1') sent Content-Type: 'text/plain; charset=utf-8': send the "
            "content_type and charset given",
        ),
        (  # a body always encoded in UTF-8, whatever its charset says
            "response.py",
            [("body = body.encode(charset)", 'body = body.encode("utf-8")')],
            "encode the str body with the charset given",
        ),
    ],
    "application": [
        (  # a route found by its path alone: the first with that path answers any method
            "router.py",
            [("if method == request.method:", "if True:  # any method")],
            "POST /users was answered 'the users', the POST handler's is 'created': the "
            "trace shows your router chose list_users, the handler of the route GET /users, "
            "for POST /users: its path matched and you took it. A route is a method and a "
            "path, compare both",
        ),
        (  # the guide's resolve: 404 at the first route that does not match
            "router.py",
            [("continue  # not this one", "return {}, not_found  #")],
            "GET /users got a 404, and /users is the second route added: try every route",
        ),
        (  # a dict keyed by (method, path): a wrong method is a 404
            "router.py",
            [("allowed.add(method)  #", "pass  #")],
            "DELETE /users got 404: the path exists, only the method is wrong",
        ),
        (  # a 405 that does not say what would work
            "router.py",
            [(', headers={"Allow": ", ".join(sorted(allowed))}', "")],
            "has no Allow header: a 405 must say which methods would work",
        ),
        (  # an Allow that lists every method of every route, not those of this path
            "router.py",
            [
                (
                    "            allowed.add(method)  # the path matched, the method did not",
                    "            allowed.add(method)  # the path matched, the method did not\n"
                    "        allowed.update(m for m, _, _ in self.routes if allowed)",
                )
            ],
            "the 405 for DELETE /users says Allow: GET, POST, PUT: only the methods of the "
            "routes whose path is /users",
        ),
        (  # the handler run to its end inside data_received
            "application.py",
            [
                (
                    "task = asyncio.get_running_loop().create_task(self.answer(request))",
                    "task = asyncio.run(self.answer(request))",
                )
            ],
            "so hand_off raised. The Server calls it synchronously",
        ),
        (  # the Task's exception left in it
            "application.py",
            [("except Exception:", "except ZeroDivisionError:")],
            "GET /broken raised RuntimeError in its handler and the client got no answer within "
            "1 s: the handler's Task ended with RuntimeError: a bug in a handler, and nobody "
            "retrieved that exception",
        ),
        (  # the exception's text sent to the client
            "application.py",
            [
                ("except Exception:", "except Exception as exc:"),
                (
                    'Response("500: Internal Server Error", status=500)',
                    'Response(f"500: {exc}", status=500)',
                ),
            ],
            "the 500 tells the client the exception's text",
        ),
    ],
    "routes": [
        (  # the guide's re.match: anchored at the start only
            "router.py",
            [("pattern.fullmatch(request.path)", "pattern.match(request.path)")],
            "matched /users/{name} as name='ada': re.match anchors only at the start",
        ),
        (  # {name:regex} read as {name}
            "router.py",
            [("{variable['regex'] or SEGMENT}", "{SEGMENT}")],
            "GET /orders/abc matched /orders/{id:\\d+}: in {name:regex} the regex says",
        ),
        (  # the guide's raw_path: values still %-encoded
            "router.py",
            [("pattern.fullmatch(request.path)", "pattern.fullmatch(request.url.raw_path)")],
            "gave the handler 'b%C3%B6b' as name: match against the decoded path",
        ),
        (  # literal parts put in the regex as they are
            "router.py",
            [
                ("re.escape(path[last : variable.start()])", "path[last : variable.start()]"),
                ("re.escape(path[last:])", "path[last:]"),
            ],
            "the '.' went into the regex as 'any character'",
        ),
        (  # the guide's \w+ for a segment
            "router.py",
            [('SEGMENT = r"[^{}/]+"', 'SEGMENT = r"\\w+"')],
            "GET /users/jean-luc got 404: {name} matches any one path segment",
        ),
        (  # a 405 at the first route whose path matches: a later route never tried
            "router.py",
            [
                (
                    "            allowed.add(method)\n",
                    "            return {}, method_not_allowed({method})\n",
                )
            ],
            "Your router tried /users/{name} (GET): path miss, /orders/{id:\\d+} (GET): path miss, "
            "/files/{path:.+} (GET): path miss, /v1.0/status (GET): path miss, /items (GET): "
            "method miss, and stopped there",
        ),
    ],
    "middlewares": [
        (  # the learner's own code raises inside the server
            "middleware.py",
            [
                (
                    "    for mw in reversed(middlewares):",
                    "    1 / 0\n    for mw in reversed(middlewares):",
                )
            ],
            "your code raised ZeroDivisionError: division by zero, at diy/middleware.py line "
            "22 (the build cell's line 23, in wrap_handler)",
        ),
        (  # the guide's loop: the last listed ends up outermost
            "middleware.py",
            [("for mw in reversed(middlewares):", "for mw in middlewares:")],
            "your middlewares ran inner first: the trace shows them entered in the order "
            "inner, outer. With middlewares=[outer, inner] the first listed, outer, is the "
            "outermost",
        ),
        (  # the chain run for its effects, then the handler again, its result sent
            "application.py",
            [
                (
                    "        handler = wrap_handler(handler, self.middlewares)\n"
                    "        return await handler(request)",
                    "        await wrap_handler(handler, self.middlewares)(request)\n"
                    "        return await handler(request)",
                )
            ],
            "the handler ran 2 times for one request",
        ),
        (  # every layer handed the bare handler: only the outermost runs
            "middleware.py",
            [
                (
                    "    for mw in reversed(middlewares):",
                    "    wrapped = handler\n    for mw in reversed(middlewares):",
                ),
                (
                    "        handler = partial(mw, handler=handler)",
                    "        wrapped = partial(mw, handler=handler)",
                ),
                ("    return handler", "    return wrapped"),
            ],
            "inner never ran. Each layer's handler is the next layer",
        ),
        (  # a decorator that forgets to give the function back
            "middleware.py",
            [("    return func", "")],
            "middleware(outer) returned None: the decorator must return the function",
        ),
    ],
    "hooks": [
        (  # the guide's startup: every hook at once
            "application.py",
            [
                (
                    "        for hook in self.on_startup:  # in order, each done before the next "
                    "starts\n            await hook(self)",
                    "        await asyncio.gather(*(hook(self) for hook in self.on_startup))",
                )
            ],
            "the on_startup hooks ran at the same time: the trace shows connect started while "
            "warm was still running",
        ),
        (  # serving without starting up
            "application.py",
            [("    await app.startup()\n", "")],
            "serve() returned and no on_startup hook had run",
        ),
        (  # closing that only stops listening
            "application.py",
            [("        await self.app.shutdown()\n        await self.app.cleanup()\n", "")],
            "await server.close() ran no hook",
        ),
        (  # cleanup before shutdown
            "application.py",
            [
                (
                    "        await self.app.shutdown()\n        await self.app.cleanup()\n",
                    "        await self.app.cleanup()\n        await self.app.shutdown()\n",
                )
            ],
            "closing ran on_cleanup before on_shutdown: the trace shows on_cleanup "
            "disconnect, then on_shutdown goodbye. on_shutdown first",
        ),
        (  # a run_app that tries to own the notebook's loop
            "application.py",
            [
                (
                    "    try:\n        asyncio.get_running_loop()\n    except RuntimeError:\n"
                    "        pass  # no loop running: as it should be in a script\n"
                    "    else:\n",
                    "    if False:\n",
                )
            ],
            "raised RuntimeError: asyncio.run() cannot be called from a running event loop. "
            "Check for a running loop first",
        ),
    ],
    "exceptions": [
        (  # the guide's 500 page: the exception's text, for whoever asks
            "application.py",
            [
                ("        except Exception:\n", "        except Exception as exc:\n"),
                (
                    "HTTPInternalServerError().encode()",
                    'HTTPInternalServerError(text=f"500: {exc!r}").encode()',
                ),
            ],
            "the trace shows the handler broken() raised KeyError: 'password=hunter2 <script>"
            "alert(1)</script>', and the 500 tells the client \"500: KeyError(",
        ),
        (  # HTTPException never caught: it falls to the 500 of any bug (said from the trace)
            "application.py",
            [
                (
                    "        except HTTPException as exc:  # raised by the handler or any "
                    "middleware: the answer\n"
                    "            return exc\n",
                    "        finally:\n            pass\n",
                )
            ],
            "the handler raised HTTPNotFound() and the client got a 500: the trace shows the "
            "handler user() raised HTTPNotFound: Not Found, and nothing caught it as the answer",
        ),
        (  # a status never passed on: every exception answers 200
            "exceptions.py",
            [("            status=self.status_code,\n", "")],
            "the handler raised HTTPNotFound() and the client got 200",
        ),
        (  # caught at the handler only: what a middleware raises is a bug, a 500
            "application.py",
            [
                (
                    "        handler = wrap_handler(handler, self.middlewares)\n"
                    "        try:\n"
                    "            return await handler(request)\n"
                    "        except HTTPException as exc:  # raised by the handler or any "
                    "middleware: the answer\n"
                    "            return exc\n",
                    "        async def answering(request, handler=handler):\n"
                    "            try:\n"
                    "                return await handler(request)\n"
                    "            except HTTPException as exc:\n"
                    "                return exc\n\n"
                    "        return await wrap_handler(answering, self.middlewares)(request)\n",
                )
            ],
            "a middleware raised HTTPForbidden() and the client got a 500: the trace shows "
            "the middleware guard() raised HTTPForbidden: Forbidden, outside the try",
        ),
        (  # no default body
            "exceptions.py",
            [("        if text is None:\n", "        if False:\n")],
            "with no text given, the body is the status and its phrase, '404: Not Found'",
        ),
    ],
    "graceful": [
        (  # close() that cancels what is in flight at once
            "application.py",
            [
                (
                    "_, late = await asyncio.wait(in_flight, timeout=self.shutdown_timeout)",
                    "late = in_flight",
                )
            ],
            "close() dropped the request in flight: GET /slow, 0.3 s long, got no answer, and "
            "the trace shows its handler slow was cancelled after ",
        ),
        (  # every hook at once, before the requests in flight are done
            "application.py",
            [
                (
                    "        await self.app.shutdown()  # 3. on_shutdown\n",
                    "        await self.app.shutdown()  # 3. on_shutdown\n"
                    "        await self.app.cleanup()\n",
                ),
                (
                    "        await self.app.cleanup()  # 6. on_cleanup, when no handler runs "
                    "any more\n",
                    "",
                ),
            ],
            "; the trace shows on_cleanup's disconnect began ",
        ),
        (  # a grace period with no end
            "application.py",
            [("timeout=self.shutdown_timeout)", "timeout=None)")],
            "a stuck request must not hold the shutdown forever",
        ),
    ],
    "sample_app": [
        (  # a package that forgets a name the sample imports
            "__init__.py",
            [("    HTTPNotFound,\n", "")],
            "diy has no HTTPNotFound: the sample app's line `from diy import",
        ),
        (  # HTTP exceptions never caught: the unknown user is a bug
            "application.py",
            [
                (
                    "        try:\n            return await handler(request)\n"
                    "        except HTTPException as exc:  # raised by the handler or any "
                    "middleware: the answer\n            return exc\n",
                    "        return await handler(request)\n",
                )
            ],
            "GET /bob, an unknown user, got a 500: the trace shows the handler handler() "
            "raised 'HTTPNotFound: No such user",
        ),
        (  # a router that forgets the methods the path allows
            "router.py",
            [("            allowed.add(method)", "            pass")],
            "POST /john_doe got 404: /{username} has a route, for GET only",
        ),
        (  # the guide's server: one answer per connection
            "application.py",
            [
                (
                    "        self.transport.write(raw)\n",
                    "        self.transport.write(raw)\n        self.transport.close()\n",
                )
            ],
            "the second request on one connection got no answer, and the trace shows your "
            "server closed the connection after 1 answer: keep the connection open",
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_the_reference_solution_passes(name, folder, capsys):
    _built(folder, CHECKS[name][0])
    assert (await _verdict(name, folder, capsys)).startswith(PASSED)


@pytest.mark.parametrize(
    "name,case",
    [(name, i) for name, cases in WRONG.items() for i in range(len(cases))],
    ids=[f"{name}-{i}" for name, cases in WRONG.items() for i in range(len(cases))],
)
async def test_a_plausible_wrong_solution_is_told_why(name, case, folder, capsys):
    module, edits, reason = WRONG[name][case]
    _built(folder, CHECKS[name][0])
    for old, new in edits:
        _break(folder, module, old, new)
    with warnings.catch_warnings():  # a wrong solution may leave a coroutine never awaited
        warnings.simplefilter("ignore", RuntimeWarning)
        verdict = await _verdict(name, folder, capsys)
        gc.collect()
    assert verdict.startswith(FAILED) and reason in verdict, verdict


# (check, the case of WRONG whose reason comes from the trace, what is said without it)
UNTRACED = [
    ("protocol", 1, "two clients connected and your start_server made 1 protocol object: all "
     "connections share it"),
    ("protocol", 2, "'s message b'Alice says 1' was echoed to the other client: the "
     "protocols share one transport"),
    ("request", 1, "request.headers['content-type'] is missing, the client sent Content-Type: "
     "header names are case-insensitive"),
    ("request", 4, "the handler's Request(method, url, headers, body=body) raised TypeError: "
     "Request.__init__() missing 1 required positional argument: 'version'. Handlers "),
    ("request", 5, "the body was the UTF-8 of '{\"name\": \"zoë\"}', request.text() gave "
     "'{\"name\": \"zoÃ«\"}': decode it with the charset of Content-Type"),
    ("response", 1, "the body 'héllo wörld ✓' is 17 bytes in UTF-8 and Content-Length says "
     "13: count the bytes"),
    ("server", 0, "the URL '/users/alice?tab=posts' came in two pieces and you kept only the "
     "last, 'ice?tab=posts': add each piece in on_url"),
    ("application", 0, "POST /users was answered 'the users', the POST handler's is "
     "'created': a route is a method and a path, compare both"),
    ("middlewares", 1, "the onion is inside out (the guide's loop wraps the last listed "
     "outermost)"),
    ("hooks", 0, "the on_startup hooks ran at the same time (['warm: start', 'connect: start'"),
    ("exceptions", 3, "a middleware raised HTTPForbidden() and the client got a 500: Catch "
     "HTTPException around the whole chain"),
    ("graceful", 0, "GET /slow, 0.3 s long, got no answer. Wait for the requests' Tasks"),
    ("sample_app", 1, "GET /bob, an unknown user, got a 500: the handler raises HTTPNotFound, "
     "and the Application must send it"),
]  # fmt: skip


@pytest.mark.parametrize(
    "name,case,said", UNTRACED, ids=[f"{name}-{case}" for name, case, _ in UNTRACED]
)
async def test_a_check_the_inspector_cannot_watch_says_why_from_the_answers(
    name, case, said, folder, capsys, monkeypatch
):
    """The trace helps, never judges: with no trace (the inspector cannot watch this
    framework), each check still rejects the wrong solution, in its earlier words."""
    import diy_checks.traced

    def refused(app):
        raise LookupError("the inspector cannot watch this framework")

    monkeypatch.setattr(diy_checks.traced, "tracer_of", refused)
    monkeypatch.setattr(diy_checks.traced, "tracer_of_protocol", refused)
    module, edits, traced = WRONG[name][case]
    assert "trace" in traced  # the case whose reason, with a trace, comes from it
    _built(folder, CHECKS[name][0])
    for old, new in edits:
        _break(folder, module, old, new)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        verdict = await _verdict(name, folder, capsys)
        gc.collect()
    assert verdict.startswith(FAILED) and said in verdict and "trace" not in verdict, verdict


def test_there_are_at_least_three_wrong_solutions_per_check():
    assert set(WRONG) == set(CHECKS)
    assert all(len(cases) >= 3 for cases in WRONG.values())


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_the_learner_editions_stub_is_not_yet(name, folder, capsys):
    chapter, _, module = CHECKS[name]
    _built(folder, chapter)  # this chapter's and the earlier ones' reference...
    notebook = nbformat.read(CHAPTER[chapter], as_version=4)
    [cell] = [c for c in notebook.cells if module_of(c.source) == module]
    stub = _build_stub(cell)  # ...but this module as the learner edition has it
    write_module(module, stub.split("\n", 1)[1], folder)
    verdict = await _verdict(name, folder, capsys)
    assert verdict.startswith(NOT_YET) and "in the build cell above" in verdict, verdict


async def test_a_check_with_an_earlier_chapter_missing_names_it(folder, capsys):
    assemble(folder, [CHAPTER["02"]])  # chapter 02 done, chapter 01 never run here
    verdict = await _verdict("server", folder, capsys)
    assert verdict.startswith(NOT_YET) and "finish chapter 01 first" in verdict, verdict


async def test_chapter_03_with_chapter_02_missing_names_it(folder, capsys):
    assemble(folder, [CHAPTER["01"], CHAPTER["03"]])
    verdict = await _verdict("response", folder, capsys)
    assert verdict.startswith(NOT_YET) and "finish chapter 02 first" in verdict, verdict


async def test_a_module_that_does_not_import_is_said_so(folder, capsys):
    write_module("protocol.py", "class EchoProtocol(:\n", folder)
    verdict = await _verdict("protocol", folder, capsys)
    assert verdict.startswith(FAILED) and "diy/protocol.py does not import: SyntaxError" in verdict


def test_a_build_cell_names_a_module_file():
    assert module_of("%%diy protocol.py\nimport asyncio") == "protocol.py"
    assert module_of("import asyncio") is None
    with pytest.raises(ValueError, match="write `%%diy protocol.py`"):
        write_module("Protocol", "", Path("."))


# chapter -> what its learner edition's check says, run on the chapters before it done
NEXT = {
    "02": "write Server in the build cell",
    "04": "write UrlDispatcher in the build cell",
    "05": "write UrlDispatcher in the build cell",
    "06": "write Application in the build cell",
    "07": "write Application in the build cell",
    "08": "write Application in the build cell",
    "09": "write Application in the build cell",
    "10": "write Application in the build cell",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("chapter", sorted(NEXT))
def test_a_learner_who_did_the_chapters_before_runs_the_next(chapter, tmp_path):
    """The learner edition of a chapter, on the diy/ the chapters before it wrote:
    every check says not yet and names the build cell, and nothing raises."""
    _built(tmp_path, f"{int(chapter) - 1:02d}")
    done = {p.name for p in (tmp_path / "diy").glob("*.py")}
    notebook = learner_edition(nbformat.read(CHAPTER[chapter], as_version=4))
    executed = execute(notebook, tmp_path)
    outputs = [o for cell in executed.cells for o in cell.get("outputs", [])]
    assert [o for o in outputs if o.output_type == "error"] == []
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    verdicts = [line for line in text.splitlines() if line.startswith((PASSED, NOT_YET, FAILED))]
    assert verdicts and all(line.startswith(NOT_YET) for line in verdicts), verdicts
    assert NEXT[chapter] in verdicts[0], verdicts
    assert {p.name for p in (tmp_path / "diy").glob("*.py")} >= done  # nothing lost


# app.py run as the script it is (as __main__), its run_app(app) moved to port 0, so that
# it never collides with another server: everything else as `python app.py` runs it.
AS_A_SCRIPT = (
    "import functools, runpy, diy; diy.run_app = functools.partial(diy.run_app, port=0); "
    "runpy.run_path('app.py', run_name='__main__')"
)


async def _run_the_sample_app_as_a_script(folder: Path) -> None:
    """The guide's sample application, on folder/diy/, under run_app until SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        "-c",
        AS_A_SCRIPT,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    writers: list[asyncio.StreamWriter] = []
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        assert line.startswith(b"serving on http://127.0.0.1:"), line
        port = int(line.decode().rsplit(":", 1)[1])
        connection = await asyncio.open_connection("127.0.0.1", port)
        writers.append(connection[1])
        for _ in range(2):  # two requests on one connection
            got = await ask(port, "GET", "/john_doe", writers, connection)
            assert (got.status, got.text) == (200, "Welcome, john_doe!"), got
        got = await ask(port, "GET", "/alice", writers)
        assert got.status == 404, got
        got = await ask(port, "POST", "/john_doe", writers)
        assert (got.status, got.headers.get("allow")) == (405, "GET"), got
        for writer in writers:
            writer.close()
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines()[-1] == "stopped", out  # closed gracefully on SIGTERM
    assert b"Received request to /john_doe" in out  # through the app's log_middleware


@pytest.mark.timeout(60)
async def test_the_guides_sample_app_runs_as_a_script_with_run_app(folder):
    _built(folder, "10")
    await _run_the_sample_app_as_a_script(folder)


@pytest.mark.timeout(300)
def test_solutions_leave_the_assembled_framework(tmp_path):
    _solutions(tmp_path, list(CHAPTER.values()))
    package = tmp_path / "diy"
    assert sorted(p.name for p in package.glob("*.py")) == [
        "__init__.py",
        "application.py",
        "exceptions.py",
        "middleware.py",
        "protocol.py",
        "request.py",
        "response.py",
        "router.py",
        "server.py",
    ]
    for path in CHAPTER.values():
        executed = nbformat.read(tmp_path / path.name, as_version=4)
        text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
        assert PASSED in text and FAILED not in text and NOT_YET not in text
    # the framework the full edition leaves, and the app.py chapter 10 wrote, as a script
    asyncio.run(_run_the_sample_app_as_a_script(tmp_path))


async def test_an_exception_in_the_learners_server_is_named_without_a_traceback(folder, capsys):
    """06: `1 / 0` in the learner's middleware code, caught and logged by their server."""
    _built(folder, "06")
    _break(folder, "middleware.py", "    for mw in", "    1 / 0\n    for mw in")
    capsys.readouterr()
    await check_middlewares(folder)
    out, err = capsys.readouterr()
    assert "your code raised ZeroDivisionError: division by zero, at diy/middleware.py" in out
    assert "Traceback" not in out + err and "File " not in out + err, out + err
