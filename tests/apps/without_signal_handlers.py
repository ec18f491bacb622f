"""Run a script or a module as it runs on Windows, as far as signals go.

    python tests/apps/without_signal_handlers.py SCRIPT.py [ARGS...]
    python tests/apps/without_signal_handlers.py -m MODULE [ARGS...]

Windows' event loops have no `add_signal_handler` or `remove_signal_handler`: both
raise NotImplementedError, and Ctrl-C reaches the program only through Python's own
SIGINT handler (asyncio.run cancels the main task, or KeyboardInterrupt). This makes
Linux's loops do the same, then runs the script or module as `__main__`.
"""

from __future__ import annotations

import asyncio
import runpy
import sys


def _not_on_this_platform(self, sig, *args):
    raise NotImplementedError


asyncio.SelectorEventLoop.add_signal_handler = _not_on_this_platform
asyncio.SelectorEventLoop.remove_signal_handler = _not_on_this_platform

if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["-m"]:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
