"""The `%%diy` cell magic: a build cell becomes a module of your own framework, `diy`.

Load it once per notebook (the first code cell of each chapter does):

    %load_ext diy_magic

Then a cell that starts with

    %%diy protocol.py

is a *build cell*. Running it

1. writes the cell's code, as it is, to `diy/protocol.py` in the folder the notebook
   runs in (the kernel's working directory), creating `diy/` and `diy/__init__.py`
   the first time, so the framework you build is a plain package you can open,
   import and run as a script;
2. imports it as `diy.protocol`, afresh: running the cell again after an edit gives
   you the new code, and later chapters import what this one wrote
   (`from diy.protocol import start_server`);
3. puts the names it defines into the notebook, so the next cells can use them.

The code runs as the module `diy.protocol`, not as loose notebook code: the class you
use in the notebook is then the very object that `diy.server` imports, and a
traceback points at a line of `diy/protocol.py`. A build cell is therefore module
code: imports at its top, no top-level `await`.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

__all__ = ["PACKAGE", "MAGIC", "module_of", "write_module", "forget", "load_ipython_extension"]

PACKAGE = "diy"
MAGIC = "%%diy"
_MODULE = re.compile(r"^[a-z_][a-z0-9_]*\.py$")
_INIT = '"""diy: the web framework I built, chapter by chapter."""\n'


def module_of(source: str) -> str | None:
    """The module a build cell writes (`protocol.py`), or None if it is no build cell."""
    first = source.lstrip().split("\n", 1)[0].split()
    if len(first) == 2 and first[0] == MAGIC:
        return first[1]
    return None


def write_module(name: str, code: str, folder: Path | None = None) -> Path:
    """Write `code` to `<folder>/diy/<name>`; folder defaults to the working directory."""
    if not _MODULE.match(name):
        raise ValueError(
            f"a build cell names a module file such as 'protocol.py', got {name!r}: "
            "write `%%diy protocol.py` on the cell's first line"
        )
    package = (folder or Path.cwd()) / PACKAGE
    package.mkdir(exist_ok=True)
    init = package / "__init__.py"
    if not init.exists():
        init.write_text(_INIT, encoding="utf-8")
    path = package / name
    path.write_text(code.rstrip() + "\n", encoding="utf-8")
    return path


def forget() -> None:
    """Drop every imported diy module, so the next import reads the files again."""
    for loaded in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[loaded]
    importlib.invalidate_caches()


def _diy(line: str, cell: str, namespace: dict) -> None:
    path = write_module(line.strip(), cell)
    folder = str(path.parent.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    forget()
    # diy/__init__.py is the package itself: `import diy`, not `import diy.__init__`
    dotted = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
    module = importlib.import_module(dotted)
    namespace.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    print(f"wrote {PACKAGE}/{path.name}")


def load_ipython_extension(ipython) -> None:
    """Called by `%load_ext diy_magic`: registers `%%diy`."""

    def diy(line: str, cell: str) -> None:
        _diy(line, cell, ipython.user_ns)

    ipython.register_magic_function(diy, magic_kind="cell", magic_name="diy")
