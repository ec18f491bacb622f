"""Run each program on aiohttp and on sketch (only the import changed), same requests, compare.

python compat/compare.py [name...]
"""

import asyncio
import re
import sys
import traceback
from pathlib import Path

import httpx

HERE = Path(__file__).parent
KEPT = (
    "content-type",
    "content-length",
    "location",
    "allow",
    "set-cookie",
    "transfer-encoding",
    "server",
)


# A program run twice, the second time with a switch turned on: (its file, the edit).
VARIANTS = {"doc_adv_expect": ("doc_adv_routing", ("EXPECT = False", "EXPECT = True"))}


def load(path: Path, framework: str) -> dict:
    name, edit = VARIANTS.get(path.stem, (path.stem, ("", "")))
    path = path.with_name(f"{name}.py")
    src = path.read_text(encoding="utf-8").replace(*edit)  # ("", "") changes nothing
    if framework == "sketch":
        src = src.replace("from aiohttp import web", "from sketch import web").replace(
            "from aiohttp.web import", "from sketch.web import"
        )
    src = re.sub(r"^web\.run_app\(.*$", "", src, flags=re.M)
    ns = {"__name__": "prog_" + path.stem, "__file__": str(path)}
    exec(compile(src, str(path), "exec"), ns)
    return ns


async def serve(ns: dict, framework: str):
    if framework == "sketch":
        from sketch import web
    else:
        from aiohttp import web
    if "handler" in ns and "init" not in ns and "app" not in ns:  # low-level server
        runner = web.ServerRunner(web.Server(ns["handler"]))
    else:
        app = ns["init"]() if "init" in ns else ns["app"]
        if asyncio.iscoroutine(app):
            app = await app
        runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


def norm(response: httpx.Response) -> tuple:
    port = str(response.request.url.port).encode()
    headers = {h: response.headers.get_list(h) for h in KEPT if h in response.headers}
    if headers.get("server", [""])[0].startswith(("Python/", "sketch/")):
        headers["server"] = ["<default>"]
    return (response.status_code, response.content.replace(port, b"PORT"), headers)


async def run_one(path: Path, requests: list) -> dict:
    out = {}
    for fw in ("aiohttp", "sketch"):
        try:
            ns = load(path, fw)
            runner, port = await serve(ns, fw)
        except Exception:
            out[fw] = "ERROR " + traceback.format_exc(limit=3)
            continue
        answers = []
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                for method, url, kw in requests:
                    try:
                        answers.append(norm(await client.request(method, url, **kw)))
                    except Exception as exc:
                        answers.append(("CLIENT ERROR", repr(exc)))
        finally:
            await runner.cleanup()
        out[fw] = answers
    return out


def report(name, requests, out) -> str:
    if isinstance(out.get("aiohttp"), str) or isinstance(out.get("sketch"), str):
        a, s = str(out["aiohttp"])[-600:], str(out["sketch"])[-900:]
        return f"{name}: BREAKS\n  aiohttp: {a}\n  sketch: {s}"
    lines = []
    for (method, url, _), a, s in zip(requests, out["aiohttp"], out["sketch"], strict=True):
        if a != s:
            lines.append(f"  {method} {url}\n    aiohttp: {a!r:.700}\n    sketch:  {s!r:.700}")
    return f"{name}: {'SAME' if not lines else 'DIFFERS'} ({len(requests)} requests)\n" + "\n".join(
        lines
    )


async def main(names):
    from requests_table import REQUESTS

    for name, requests in REQUESTS.items():
        if names and name not in names:
            continue
        out = await run_one(HERE / "progs" / f"{name}.py", requests)
        print(report(name, requests, out), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    asyncio.run(main(sys.argv[1:]))
