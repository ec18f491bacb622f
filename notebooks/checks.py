"""Exercise checks for the course notebooks: real requests, plain-words verdicts.

Also the notebooks' HTTP client, `loopback_client()`: an httpx.AsyncClient that goes
straight to the kernel's own servers on 127.0.0.1, whatever proxy settings say.

A check never raises a bare AssertionError at a learner. It prints one line:

    ✔ passed: <what was checked>
    … not yet: <what to do>        (the exercise is still the stub of the learner edition)
    ✘ failed: <what is wrong, in plain words>

tests/test_notebooks.py counts these lines: in the full edition every check must pass,
in the learner edition every check must say "not yet".
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

PASSED, NOT_YET, FAILED = "✔ passed:", "… not yet:", "✘ failed:"

__all__ = ["check", "PASSED", "NOT_YET", "FAILED", "Problem", "loopback_client"]


def loopback_client(base_url: object = "", **kwargs: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient for the notebook's own servers, never through a proxy.

    Managed laptops often set HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (or a system proxy,
    which httpx reads on Windows and macOS) without NO_PROXY; httpx would then send the
    requests for 127.0.0.1 to the proxy, which cannot reach this kernel. The course
    only talks to servers on this machine, so the client ignores those settings
    (`trust_env=False`). `base_url` may be a yarl URL such as `server.url`.
    """
    kwargs.setdefault("trust_env", False)
    return httpx.AsyncClient(base_url=str(base_url), **kwargs)


class Problem(Exception):
    """Raised inside a check to fail it with a sentence for the learner."""


def _is_stub(value: Any) -> bool:
    return value is None or value is ...


async def check(
    title: str, test: Callable[..., Awaitable[None] | None], *needs: Any, hint: str = ""
) -> None:
    """Run `test(*needs)` and print the verdict. `needs` are the learner's objects.

    If any of them is still the stub (None), the verdict is "not yet" and the test is
    not run. A Problem raised by the test is the learner's mistake, said in plain words;
    any other exception is reported with its type, never as a traceback.
    """
    if any(_is_stub(value) for value in needs):
        hint = hint or "write your solution in the cell above, then run this one again"
        print(f"{NOT_YET} {title}: {hint}")
        return
    try:
        result = test(*needs)
        if inspect.isawaitable(result):
            await result
    except Problem as problem:
        print(f"{FAILED} {title}: {problem}")
        return
    except Exception as exc:  # the learner's code raised: say so, without a traceback wall
        print(f"{FAILED} {title}: your code raised {type(exc).__name__}: {exc}")
        return
    print(f"{PASSED} {title}")
