"""Static files: a resource that serves the files under a directory, below a URL prefix.

How this works (aiohttp's `add_static` and its options):

- Rule 1: the path after the prefix names a file under the directory. It is resolved
  (`..` and symlinks followed) and must still be inside the directory, or the answer
  is 404, as from aiohttp. With `follow_symlinks=True` only the URL's own `..` are
  checked (lexically): a symlink inside may point anywhere, as its owner chose.
- Rule 2: a directory is 403, or with `show_index=True` an HTML page listing it (the
  names escaped: a file name is data from the disk, not markup).
- Rule 3: `append_version=True` makes `url_for(filename=...)` add `?v=` and the
  urlsafe base64 of the file's SHA-256, so a changed file gets a new URL and a
  browser may cache each version for ever (aiohttp's scheme, byte for byte).
"""

from __future__ import annotations

import base64
import hashlib
import os
from html import escape
from pathlib import Path
from typing import Any

from yarl import URL

from .exceptions import HTTPForbidden, HTTPNotFound
from .file_response import FileResponse
from .resources import Resource, Route, _quote, _unquote_safe
from .response import Response
from .stream_response import StreamResponse

__all__ = ["StaticResource"]

VERSION_KEY = "v"  # the query parameter url_for(append_version=True) adds (Rule 3)


def file_version(path: Path) -> str:
    """The `?v=` value for a file: urlsafe base64 of the SHA-256 of its bytes."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


class StaticResource(Resource):
    """Files under a directory, served below a URL prefix, never from outside it."""

    def __init__(
        self,
        prefix: str,
        directory: str | Path,
        name: str | None = None,
        *,
        chunk_size: int = 256 * 1024,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
    ) -> None:
        super().__init__(name)
        self.canonical = prefix.rstrip("/") or "/"
        self.chunk_size = chunk_size  # bytes read from the file per write
        self.show_index = show_index
        self.follow_symlinks = follow_symlinks
        self.append_version = append_version
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise ValueError(f"static directory {str(directory)!r} does not exist")
        self.directory = directory.resolve()
        for method in ("GET", "HEAD"):
            self.routes[method] = Route(method, self._send_file, self)

    def add_prefix(self, prefix: str) -> None:
        self.canonical = (prefix + self.canonical).rstrip("/")

    def match(self, path: str) -> dict[str, str] | None:
        prefix = self.canonical.rstrip("/")
        if path != prefix and not path.startswith(prefix + "/"):
            return None
        # The prefix itself names the directory (its index, or 403), as on aiohttp.
        return {"filename": _unquote_safe(path[len(prefix) + 1 :])}

    def url_for(  # type: ignore[override]
        self, *, filename: str | os.PathLike[str], append_version: bool | None = None
    ) -> URL:
        """`/prefix/filename`, with `?v=<hash>` when asked here or by the resource (Rule 3)."""
        filename = str(filename).lstrip("/")
        url = URL.build(path=self.canonical.rstrip("/") + "/" + _quote(filename), encoded=True)
        if append_version is None:
            append_version = self.append_version
        if not append_version:
            return url
        target = self._inside(self.directory / filename)
        if target is None or not target.is_file():
            return url  # nothing to hash: the URL as it is, as aiohttp gives it
        return url.with_query({VERSION_KEY: file_version(target)})

    def _inside(self, unresolved: Path) -> Path | None:
        """The file `unresolved` names, if it is inside the directory (Rule 1); else None."""
        try:
            if self.follow_symlinks:  # only the URL's own `..` may not climb out
                lexical = Path(os.path.normpath(unresolved))
                if not lexical.is_relative_to(self.directory):
                    return None
                return lexical.resolve()
            resolved = unresolved.resolve()
        except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
            return None
        return resolved if resolved.is_relative_to(self.directory) else None

    async def _send_file(self, request: Any) -> StreamResponse:
        filename = request.match_info["filename"]
        if "\0" in filename:  # no file name holds a NUL; the OS would refuse it anyway
            raise HTTPNotFound()
        if Path(filename).is_absolute():  # `//etc/passwd` after the prefix
            raise HTTPNotFound()
        target = self._inside(self.directory / filename)
        if target is None:
            raise HTTPNotFound()
        try:
            if target.is_dir():
                if not self.show_index:
                    raise HTTPForbidden()
                return Response(text=self._index_page(target), content_type="text/html")
        except PermissionError:  # a directory we may not list
            raise HTTPForbidden() from None
        if not target.is_file():
            raise HTTPNotFound()
        return FileResponse(target, chunk_size=self.chunk_size)

    def _index_page(self, directory: Path) -> str:
        """The listing of `directory`, in aiohttp's layout (Rule 2).

        The title names the directory from the static root (`Index of /css`; the root
        itself is `Index of /.`, as on aiohttp). Each entry links to its URL.
        """
        index_of = f"Index of /{escape(directory.relative_to(self.directory).as_posix())}"
        items = []
        for entry in sorted(directory.iterdir()):
            relative = entry.relative_to(self.directory).as_posix()
            href = _quote(f"{self.canonical.rstrip('/')}/{relative}")
            label = entry.name + "/" if entry.is_dir() else entry.name
            # The href is percent-encoded already; escaping it too keeps a name with
            # `&` in it a link to itself (aiohttp leaves the `&` bare).
            items.append(f'<li><a href="{escape(href)}">{escape(label)}</a></li>')
        ul = "<ul>\n" + "\n".join(items) + "\n</ul>"
        body = f"<body>\n<h1>{index_of}</h1>\n{ul}\n</body>"
        head = f"<head>\n<title>{index_of}</title>\n</head>"
        return f"<html>\n{head}\n{body}\n</html>"
