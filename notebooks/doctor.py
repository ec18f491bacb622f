"""Is this machine ready for the workshop? One command, in the project folder:

    python -m notebooks.doctor        (or `make doctor`)

It checks what breaks in a room of laptops, in the order it would show up: the Python
version, the packages the course needs, binding a free port on 127.0.0.1, proxy settings,
the notebook front end, a terminal that shows colour, and a real Jupyter kernel that
starts, serves a request through sketch on its own loop and reads the answer. Each line
is either ✔ and what was found, or ✘ and the fix in one line; a line marked • is a note
that does not stop the course. The exit code is 0 when nothing is marked ✘.

This file runs on any Python 3 so that it can say that an old one is too old.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIN_PYTHON = (3, 11)
# Double quotes: the same command works in cmd.exe, PowerShell, bash and zsh.
INSTALL = 'python -m pip install -e ".[test,lab]"'
FIX = f"in the project folder, run `{INSTALL}` (or `conda env create -f environment.yml`)"
# What the notebooks import, beyond the standard library (aiohttp: chapter 11's comparison).
COURSE_PACKAGES = ["httpx", "nbclient", "nbformat", "ipykernel", "aiohttp"]
FRONT_ENDS = {"jupyterlab": "4", "notebook": "7"}  # either will do; VS Code needs neither
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

OK, BAD, NOTE = "✔", "✘", "•"

KERNEL_CELL = """
import sys
print("kernel python:", sys.executable)
import sketch
from sketch import web
from checks import loopback_client

async def ping(request):
    return web.Response(text="pong")

app = web.Application()
app.router.add_get("/ping", ping)
server = await sketch.serve(app)
async with loopback_client(server.url) as client:
    print((await client.get("/ping")).text)
await server.close()
"""


def say(mark: str, text: str) -> None:
    print(f"{mark} {text}", flush=True)


def _version(text: str) -> tuple[int, ...]:
    """(0, 27, 2) from '0.27.2', (4, 0) from '4.0.0rc1': enough to compare with a minimum."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = re.match(r"\d*", piece).group()  # type: ignore[union-attr]
        parts.append(int(digits or 0))
    return tuple(parts)


def required_versions() -> dict[str, str]:
    """{'httptools': '0.6', ...}: sketch's dependencies and what the course uses, with the
    minimum versions of pyproject.toml, so that the doctor and the project agree."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11: check_python has said so already
        return {}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    minimums = {}
    for spec in specs:
        name, _, minimum = spec.partition(">=")
        minimums[name.strip().lower()] = minimum.strip()
    wanted = [spec.split(">=")[0].strip().lower() for spec in project["dependencies"]]
    return {"sketch": "0"} | {name: minimums.get(name, "0") for name in wanted + COURSE_PACKAGES}


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    shown = ".".join(map(str, version))
    if tuple(version[:2]) < MIN_PYTHON:
        say(
            BAD,
            f"Python {shown} is too old: the course needs 3.11 or newer; install it "
            "(python.org, or `conda env create -f environment.yml`) and set up again",
        )
        return False
    say(OK, f"Python {shown} ({sys.executable})")
    return True


def check_packages(
    wanted: Mapping[str, str] | None = None,
    version_of: Callable[[str], str] = metadata.version,
) -> bool:
    good = True
    for name, minimum in (required_versions() if wanted is None else wanted).items():
        try:
            found = version_of(name)
        except metadata.PackageNotFoundError:
            say(BAD, f"{name} is not installed: {FIX}")
            good = False
            continue
        if _version(found) < _version(minimum):
            say(BAD, f"{name} {found} is older than the {minimum} the course needs: {FIX}")
            good = False
        else:
            say(OK, f"{name} {found}")
    return good


def check_port(host: str = "127.0.0.1") -> bool:
    """Listen on a free port and connect to it: what every notebook does."""
    try:
        with socket.socket() as server:
            server.bind((host, 0))
            server.listen()
            port = server.getsockname()[1]
            with socket.create_connection((host, port), timeout=5):
                pass
    except OSError as exc:
        say(
            BAD,
            f"cannot listen on and connect to {host} ({exc}): a firewall or security tool "
            f"blocks local servers; ask for Python to be allowed to listen on {host}",
        )
        return False
    say(OK, f"a free port on {host} ({port}) takes connections")
    return True


def _without_credentials(url: str) -> str:
    """http://proxy.corp:3128 from http://user:secret@proxy.corp:3128: never print secrets."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def check_proxies(
    environ: Mapping[str, str] = os.environ,
    system: Callable[[], Mapping[str, str]] = urllib.request.getproxies,
) -> bool:
    """Proxy settings are common on managed laptops. They never stop the course: its
    clients (checks.loopback_client) go straight to 127.0.0.1. This only says so."""
    found = [
        f"{name}={_without_credentials(value)}"
        for name, value in environ.items()
        if name.upper() in PROXY_VARIABLES and value
    ]
    if not found:  # Windows' and macOS's own settings, which httpx reads too
        found = [
            f"system {kind} proxy {_without_credentials(url)}" for kind, url in system().items()
        ]
    if not found:
        say(OK, "no proxy settings")
        return True
    say(
        NOTE,
        f"proxy settings found ({', '.join(sorted(set(found)))}): the course is unaffected, "
        "its clients go straight to 127.0.0.1; pip and conda use the proxy, as they should",
    )
    return True


def check_front_end(version_of: Callable[[str], str] = metadata.version) -> bool:
    installed = {}
    for name, minimum in FRONT_ENDS.items():
        try:
            installed[name] = version_of(name)
        except metadata.PackageNotFoundError:
            continue
        if _version(installed[name]) >= _version(minimum):
            say(OK, f"{name} {installed[name]}")
            return True
    fix = 'run `python -m pip install "jupyterlab>=4"` (in VS Code, its Jupyter extension will do)'
    if installed:
        found = ", ".join(f"{name} {version}" for name, version in installed.items())
        say(BAD, f"{found} is too old for the course (JupyterLab 4 or Notebook 7): {fix}")
    else:
        say(BAD, f"no notebook front end (JupyterLab 4 or Notebook 7): {fix}")
    return False


def check_colour(console: Any = None) -> bool:
    """The inspector draws in colour on a terminal (`make trace`, `inspector serve`)."""
    try:
        from rich.console import Console
    except ImportError:
        say(BAD, f"rich is missing, so nothing can be drawn in a terminal: {FIX}")
        return False
    console = Console() if console is None else console
    if not console.is_terminal:
        say(
            NOTE,
            "not run on a terminal (the output goes to a file or a pipe), so colour was not "
            "checked: run the doctor in the terminal you will use",
        )
        return True
    if console.color_system is None or console.no_color:
        why = "NO_COLOR is set" if os.environ.get("NO_COLOR") else f"TERM={os.environ.get('TERM')}"
        say(
            BAD,
            f"this terminal shows no colour ({why}): unset NO_COLOR and TERM=dumb, or use "
            "another terminal (on Windows: Windows Terminal)",
        )
        return False
    console.print(
        f"{OK} this terminal shows colour ({console.color_system}): "
        "[green]green[/green], [red]red[/red] and [bold blue]blue[/bold blue] here?",
        highlight=False,
    )
    return True


def check_kernel(kernel_name: str = "python3", timeout: int = 60) -> bool:
    """A real kernel, in the notebooks folder, serving a request as a notebook does."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        say(BAD, f"nbclient or nbformat is missing, so no kernel can be started: {FIX}")
        return False
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_CELL)])
    started = time.monotonic()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(HERE)}},
    )
    try:
        client.execute()
    except Exception as exc:  # any failure here is the attendee's to fix: say which
        ran = "".join(o.get("text", "") for o in notebook.cells[0].get("outputs", []))
        where = re.search(r"kernel python: (.*)", ran)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # tracebacks come coloured
        error = plain.splitlines()[-1] if plain else ""
        problem = f"{type(exc).__name__}: {error}"
        say(BAD, f"the Jupyter kernel {kernel_name!r} could not serve a request: {problem}")
        other = where.group(1).strip() if where else sys.executable
        if "ModuleNotFoundError" in plain and other != sys.executable:
            print(
                f"  that kernel runs {other}, not this environment's Python "
                f"({sys.executable}): run `python -m ipykernel install --user` here, "
                "then run the doctor again"
            )
        else:
            print(f"  {FIX}; `jupyter kernelspec list` should show {kernel_name}")
        return False
    text = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    if text.strip().splitlines()[-1:] != ["pong"]:
        say(BAD, f"the kernel ran, but the request through sketch answered {text!r}")
        return False
    took = time.monotonic() - started
    say(OK, f"a kernel started and served a request through sketch ({took:.1f} s)")
    return True


def _marks_for(encoding: str | None) -> tuple[str, str, str]:
    """✔ ✘ • where the output can show them; plain ASCII where it cannot (a Windows pipe)."""
    try:
        "✔✘•".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "ok", "XX", "--"
    return "✔", "✘", "•"


def main() -> int:
    global OK, BAD, NOTE
    OK, BAD, NOTE = _marks_for(getattr(sys.stdout, "encoding", None))
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a path or a message in another script
    if not check_python():
        print("not ready yet: install Python 3.11 or newer, then run the doctor again")
        return 1
    checks = [check_packages, check_port, check_proxies, check_front_end, check_colour]
    results = [check() for check in checks]
    if results[0]:
        results.append(check_kernel())
    else:
        say(NOTE, "the Jupyter kernel was not tried: install the packages first")
        results.append(False)
    if all(results):
        print("ready: `make lab` (or `jupyter lab notebooks`) opens the course")
        return 0
    print(f"not ready yet: fix the lines marked {BAD} above, then run the doctor again")
    return 1


if __name__ == "__main__":
    sys.exit(main())
