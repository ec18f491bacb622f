"""`python -m sketch.web [-H HOST] [-P PORT] [-U PATH] module:factory [args]`.

The same command line as `python -m aiohttp.web`: import `module`, call
`factory(args)` with the arguments left over (a list of str), and run the Application
it returns with run_app until Ctrl-C or SIGTERM. What cannot be found is said in one
line, naming what was looked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from .runner import run_app

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sketch.web",
        description="Serve the Application that module:factory(args) returns.",
    )
    parser.add_argument(
        "entry_func",
        metavar="module:factory",
        help="a function returning the Application, e.g. myapp.main:init_app",
    )
    parser.add_argument("-H", "--hostname", default="localhost", help="default: localhost")
    parser.add_argument("-P", "--port", type=int, default=8080, help="default: 8080")
    parser.add_argument("-U", "--path", help="serve on this UNIX socket instead (POSIX)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    module_name, colon, func_name = args.entry_func.partition(":")
    if not colon or not module_name or not func_name:
        parser.error(f"{args.entry_func!r} is not in the module:factory form (myapp:make_app)")
    if module_name.startswith("."):
        parser.error("a relative module name cannot be imported here: give its full name")
    sys.path.insert(0, ".")  # the module is looked for where the command runs, as with -m
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        parser.error(f"cannot import {module_name!r}: {exc}")
    factory: Any = getattr(module, func_name, None)
    if factory is None:
        parser.error(f"the module {module_name!r} has no {func_name!r}")
    app = factory(extra)
    run_app(app, host=args.hostname, port=args.port, path=args.path)


if __name__ == "__main__":
    main()
