"""Static files: a resource that serves the files under a directory, below a URL prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yarl import URL

from .exceptions import HTTPForbidden, HTTPNotFound
from .file_response import FileResponse
from .resources import Resource, Route, _quote, _unquote_safe
from .stream_response import StreamResponse

__all__ = ["StaticResource"]


class StaticResource(Resource):
    """Files under a directory, served below a URL prefix, never from outside it."""

    def __init__(
        self,
        prefix: str,
        directory: str | Path,
        name: str | None = None,
        *,
        chunk_size: int = 256 * 1024,
    ) -> None:
        super().__init__(name)
        self.canonical = prefix.rstrip("/") or "/"
        self.chunk_size = chunk_size  # bytes read from the file per write
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise ValueError(f"static directory {str(directory)!r} does not exist")
        self.directory = directory.resolve()
        for method in ("GET", "HEAD"):
            self.routes[method] = Route(method, self._send_file, self)

    def match(self, path: str) -> dict[str, str] | None:
        prefix = self.canonical.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        return {"filename": _unquote_safe(path[len(prefix) :])}

    def url_for(self, *, filename: str) -> URL:  # type: ignore[override]
        return URL.build(path=self.canonical.rstrip("/") + "/" + _quote(filename), encoded=True)

    async def _send_file(self, request: Any) -> StreamResponse:
        filename = request.match_info["filename"]
        if "\0" in filename:  # no file name holds a NUL; the OS would refuse it anyway
            raise HTTPNotFound()
        # Resolving follows `..` and symlinks; what comes out must still be inside.
        target = (self.directory / filename).resolve()
        if not target.is_relative_to(self.directory):
            raise HTTPNotFound()
        if target.is_dir():
            raise HTTPForbidden()
        if not target.is_file():
            raise HTTPNotFound()
        return FileResponse(target, chunk_size=self.chunk_size)
