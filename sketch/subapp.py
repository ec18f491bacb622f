"""Sub-applications: an Application mounted below a path prefix of another one.

How this works (aiohttp's rules, `app.add_subapp(prefix, subapp)`):

- Rule 1: the sub-app's resources take the prefix into their own paths, so its router
  resolves the full request path and `subapp.router["name"].url_for()` already says
  `/prefix/...`. The parent's router holds one `SubAppResource`, indexed under the
  prefix like any resource: a more specific route of the parent is tried first.
- Rule 2: once the path is under the prefix, the sub-app answers, its 404 and 405
  included: the parent does not look further.
- Rule 3: a match found in a sub-app remembers it (`MatchInfo._subapp`, innermost
  wins). Only then does `Application._handle` look up the chain of apps: `request.app`
  becomes the sub-app, and the middlewares are the root's, then each sub-app's in
  turn, outermost first. A match in an app without sub-apps never takes that path.
- Rule 4: the sub-app's on_startup, on_shutdown and on_cleanup run as one callback of
  the parent's, in the place the parent had when `add_subapp` was called; its
  on_response_prepare runs after its parents' (they are put in front of its list when
  the parent freezes, so a response still asks one list).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from yarl import URL

from .resources import MatchInfo, Resource

__all__ = ["SubAppResource", "check_prefix"]


class _Target(NamedTuple):
    """What a router reads from a request to resolve it: passed on to the sub-app's."""

    method: str
    match_path: str


def check_prefix(prefix: Any) -> str:
    """The prefix without its trailing slash; aiohttp's rules and errors, clearer."""
    if not isinstance(prefix, str):
        raise TypeError(f"sub-application prefix must be a str, got {prefix!r}")
    if not prefix.startswith("/"):
        raise ValueError(f"sub-application prefix must start with '/', got {prefix!r}")
    stripped = prefix.rstrip("/")
    if not stripped:
        raise ValueError(
            f"sub-application prefix cannot be empty or '/', got {prefix!r}: "
            "add the sub-app's routes to this app instead"
        )
    return stripped


class SubAppResource(Resource):
    """A sub-application below a prefix: resolving it is asking the sub-app's router."""

    def __init__(self, prefix: str, app: Any) -> None:
        super().__init__(None)
        self.canonical = prefix
        self.app = app
        for resource in app.router.resources():  # Rule 1
            resource.add_prefix(prefix)
        app.router.reindex()

    def add_prefix(self, prefix: str) -> None:
        """Mounted again, one level up: the sub-app's resources take the prefix too."""
        self.canonical = prefix + self.canonical
        for resource in self.app.router.resources():
            resource.add_prefix(prefix)
        self.app.router.reindex()

    def match(self, path: str) -> dict[str, str] | None:
        prefix = self.canonical
        return {} if path == prefix or path.startswith(prefix + "/") else None

    def resolve(self, method: str, path: str) -> tuple[MatchInfo | None, set[str]]:
        if self.match(path) is None:
            return None, set()
        found = self.app.router.resolve(_Target(method, path))  # a miss too (Rule 2)
        if found._subapp is None:  # a deeper sub-app already named itself (Rule 3)
            found._subapp = self.app
        allowed = getattr(found.http_exception, "allowed_methods", set())
        return found, set(allowed)

    def url_for(self, **parts: str) -> URL:
        raise RuntimeError(
            "a sub-application's root has no url_for(): name a route of the sub-app "
            "and use subapp.router[name].url_for()"
        )

    def __repr__(self) -> str:
        return f"<SubAppResource {self.canonical} -> {self.app!r}>"
