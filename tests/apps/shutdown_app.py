"""An app for the run_app tests: slow requests, and hooks that say when they run."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sketch import web


def say(text: str) -> None:
    print(text, flush=True)


async def slow(request):
    say("slow started")
    await asyncio.sleep(float(request.query.get("s", "0.5")))
    return web.Response(text="slow done")


async def fast(request):
    return web.Response(text="fast")


async def startup(app):
    say("hook on_startup")


async def shutdown(app):
    say("hook on_shutdown")


async def cleanup(app):
    say("hook on_cleanup")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--shutdown-timeout", type=float, default=5.0)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fast", fast)
    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    web.run_app(app, host="127.0.0.1", port=0, shutdown_timeout=args.shutdown_timeout, print=say)
    say("run_app returned")
    sys.exit(0)
