"""Is this machine ready for the workshop? One command: `make doctor`.

Checks, in the order a problem would show up: the Python version, the packages the
course needs, a free port on loopback, and a real Jupyter kernel that starts, serves a
request through sketch on its own loop and reads the answer. Each line says what is
wrong and what to do about it.
"""

from __future__ import annotations

import socket
import sys
import time
from importlib import metadata

OK, BAD = "✔", "✘"
PACKAGES = ["sketch", "httptools", "yarl", "multidict", "rich", "httpx", "nbclient", "ipykernel"]
FIX = "run `make lab` (or `pip install -e '.[test,lab]'`) in the project folder"

KERNEL_CELL = """
import httpx, sketch
from sketch import web

async def ping(request):
    return web.Response(text="pong")

app = web.Application()
app.router.add_get("/ping", ping)
server = await sketch.serve(app)
async with httpx.AsyncClient() as client:
    print((await client.get(f"{server.url}/ping")).text)
await server.close()
"""


def check_python() -> bool:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):  # noqa: UP036 - an attendee may run an older Python
        print(
            f"{BAD} Python {version}: the course needs 3.11 or newer; install it and run make again"
        )
        return False
    print(f"{OK} Python {version}")
    return True


def check_packages() -> bool:
    good = True
    for name in PACKAGES:
        try:
            print(f"{OK} {name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            print(f"{BAD} {name} is not installed: {FIX}")
            good = False
    return good


def check_port() -> bool:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    except OSError as exc:
        print(
            f"{BAD} cannot listen on 127.0.0.1 ({exc}): ask for loopback networking to be allowed"
        )
        return False
    print(f"{OK} a free loopback port ({port})")
    return True


def check_kernel() -> bool:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        print(f"{BAD} nbclient or nbformat is missing: {FIX}")
        return False
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_CELL)])
    started = time.monotonic()
    try:
        NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    except Exception as exc:  # any failure here is the attendee's to fix: say which
        print(f"{BAD} a Jupyter kernel could not serve a request: {type(exc).__name__}: {exc}")
        print(f"  {FIX}; then `jupyter kernelspec list` should show python3")
        return False
    text = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    if text.strip() != "pong":
        print(f"{BAD} the kernel ran, but the request through sketch answered {text!r}")
        return False
    took = time.monotonic() - started
    print(f"{OK} a kernel started and served a request through sketch ({took:.1f} s)")
    return True


def main() -> int:
    results = [check_python(), check_packages(), check_port(), check_kernel()]
    if all(results):
        print("ready: `make lab` opens the course")
        return 0
    print("not ready yet: fix the lines marked ✘ above, then run `make doctor` again")
    return 1


if __name__ == "__main__":
    sys.exit(main())
