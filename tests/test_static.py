"""Static files' options: show_index, append_version, follow_symlinks, side by side with aiohttp.

The same directory is served by aiohttp.web and by sketch.web with the same
`add_static` calls; every request goes to both over real sockets, hostile ones too.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web as aiohttp_web

from sketch import web as sketch_web

from .conftest import exchange, parse_responses
from .test_aiohttp_parity import start

FRAMEWORKS = (("aiohttp", aiohttp_web), ("sketch", sketch_web))
HOSTILE_NAME = '<b title="x">hi<b>.txt'  # markup in a file name (a name holds no slash)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """public/ with a sub-directory, hostile and spaced names, and symlinks in and out."""
    public = tmp_path / "public"
    (public / "sub").mkdir(parents=True)
    (public / "hello.txt").write_text("static hello\n", encoding="utf-8")
    (public / "sub" / "a b.txt").write_text("spaced", encoding="utf-8")
    (public / "sub" / HOSTILE_NAME).write_text("hostile", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("never served", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.txt").write_text("from elsewhere", encoding="utf-8")
    (public / "inside-link").symlink_to(public / "hello.txt")
    (public / "outside-link").symlink_to(tmp_path / "secret.txt")
    (public / "outside-dir").symlink_to(tmp_path / "elsewhere")
    return public


def build_static_app(web: ModuleType, public: Path) -> object:
    app = web.Application()
    app.router.add_static("/plain", public, name="plain")
    app.router.add_static("/index", public, name="index", show_index=True)
    app.router.add_static(
        "/follow/", public, name="follow", show_index=True, follow_symlinks=True,
        append_version=True,
    )  # fmt: skip
    return app


REQUESTS = [
    ("GET", path)
    for prefix in ("/plain", "/index", "/follow")
    for path in (
        prefix,
        prefix + "/",
        prefix + "/sub",
        prefix + "/sub/",
        prefix + "/hello.txt",
        prefix + "/sub/a%20b.txt",
        prefix + "/inside-link",
        prefix + "/outside-link",
        prefix + "/outside-dir",
        prefix + "/outside-dir/other.txt",
        prefix + "/nope",
    )
] + [("HEAD", "/index/sub"), ("POST", "/index/sub")]


async def test_static_options_answer_alike_on_aiohttp_and_on_sketch(tree):
    seen: dict[str, list] = {}
    for name, web in FRAMEWORKS:
        runner, port = await start(web, build_static_app(web, tree))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for method, path in REQUESTS:
                    response = await client.request(method, path)
                    kept = {h: response.headers.get(h) for h in ("Content-Type", "Allow")}
                    seen[name].append((response.status_code, response.content, kept))
        finally:
            await runner.cleanup()
    for ours, theirs, request in zip(seen["sketch"], seen["aiohttp"], REQUESTS, strict=True):
        if request[1].endswith("/nope"):
            # A missing file: aiohttp's FileResponse sends an empty application/octet-stream
            # 404; sketch sends its usual "404: Not Found" page (docs/compatibility.md).
            assert ours[0] == theirs[0] == 404 and ours[1] == b"404: Not Found"
            continue
        assert ours == theirs, request
    answers = dict(zip(REQUESTS, seen["sketch"], strict=True))
    assert [answers["GET", p][0] for p in ("/plain", "/plain/sub", "/index/sub")] == [403, 403, 200]
    assert answers["GET", "/plain/outside-link"][0] == 404  # a symlink out: refused
    assert answers["GET", "/follow/outside-link"][:2] == (200, b"never served")  # unless allowed
    assert answers["GET", "/follow/outside-dir/other.txt"][:2] == (200, b"from elsewhere")
    assert answers["GET", "/plain/inside-link"][:2] == (200, b"static hello\n")
    status, page, headers = answers["GET", "/index/sub"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.decode() == (
        "<html>\n<head>\n<title>Index of /sub</title>\n</head>\n<body>\n"
        "<h1>Index of /sub</h1>\n<ul>\n"
        '<li><a href="/index/sub/%3Cb%20title=%22x%22%3Ehi%3Cb%3E.txt">'
        "&lt;b title=&quot;x&quot;&gt;hi&lt;b&gt;.txt</a></li>\n"
        '<li><a href="/index/sub/a%20b.txt">a b.txt</a></li>\n'
        "</ul>\n</body>\n</html>"
    )
    root_page = answers["GET", "/index"][1].decode()
    assert "<title>Index of /.</title>" in root_page  # aiohttp's title for the root
    assert '<a href="/index/sub">sub/</a>' in root_page
    assert '<a href="/index/outside-dir">outside-dir/</a>' in root_page


def test_append_version_adds_the_files_sha256_as_aiohttp_does(tree):
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"static hello\n").digest()).decode()
    urls: dict[str, list[str]] = {}
    for name, web in FRAMEWORKS:
        router = build_static_app(web, tree).router
        urls[name] = [
            str(router["plain"].url_for(filename="hello.txt")),
            str(router["plain"].url_for(filename="hello.txt", append_version=True)),
            str(router["plain"].url_for(filename="/sub/a b.txt", append_version=True)),
            str(router["plain"].url_for(filename="missing.txt", append_version=True)),
            str(router["plain"].url_for(filename="sub", append_version=True)),
            str(router["plain"].url_for(filename="outside-link", append_version=True)),
            str(router["plain"].url_for(filename="../secret.txt", append_version=True)),
            str(router["follow"].url_for(filename="hello.txt")),
            str(router["follow"].url_for(filename="hello.txt", append_version=False)),
            str(router["follow"].url_for(filename="outside-link")),
            str(router["follow"].url_for(filename="../secret.txt")),
        ]
    assert urls["sketch"] == urls["aiohttp"]
    versioned = urls["sketch"][1]
    assert versioned.startswith("/plain/hello.txt?v=")
    assert httpx.URL(versioned).params["v"] == expected
    assert urls["sketch"][3:7] == [  # nothing inside to hash: no version
        "/plain/missing.txt",
        "/plain/sub",
        "/plain/outside-link",
        "/plain/../secret.txt",
    ]
    assert urls["sketch"][8] == "/follow/hello.txt"
    assert "?v=" in urls["sketch"][9]  # the link is followed when symlinks are


def test_a_changed_file_gets_a_new_version(tree):
    resource = sketch_web.UrlDispatcher().add_static("/s", tree, append_version=True)
    before = resource.url_for(filename="hello.txt")
    (tree / "hello.txt").write_text("changed\n", encoding="utf-8")
    assert resource.url_for(filename="hello.txt") != before


HOSTILE_TARGETS = [
    b"/follow/../secret.txt",
    b"/follow/%2e%2e/secret.txt",
    b"/follow/%2E%2E/%2E%2E/secret.txt",
    b"/follow/..%2fsecret.txt",
    b"/follow/sub/..%2F..%2Fsecret.txt",
    b"/follow/sub/../../secret.txt",
    b"/follow/..\\secret.txt",
    b"/follow/..%5csecret.txt",
    b"/follow/sub/..%5c..%5csecret.txt",
    b"/follow//etc/passwd",
    b"/follow/%2fetc/passwd",
    b"/follow/%00",
    b"/follow/hello.txt%00.html",
    b"/follow/outside-dir/..%2f..%2fsecret.txt",
    b"/index/..%2f",
    b"/index/%2e%2e%2f",
    b"/index/outside-dir",
    b"/index/outside-dir/",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
async def test_traversal_stays_refused_with_show_index_and_symlinks_on(tree, target):
    statuses = {}
    for name, web in FRAMEWORKS:
        runner, port = await start(web, build_static_app(web, tree))
        try:
            raw = await exchange(
                port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
            )
        finally:
            await runner.cleanup()
        [response] = parse_responses(raw)
        statuses[name] = response.status
        assert b"never served" not in raw and b"root:" not in raw, name
        assert b"secret.txt" not in response.body and b"other.txt" not in response.body, name
    assert statuses["sketch"] in (400, 403, 404)
    assert statuses["sketch"] == statuses["aiohttp"]


async def test_an_index_escapes_what_a_file_name_could_smuggle_into_the_page(tree):
    (tree / "sub" / "a&lt;b.txt").write_text("amp", encoding="utf-8")
    app = sketch_web.Application()
    app.router.add_static("/s", tree, show_index=True)
    async with await sketch_web.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            page = (await client.get("/s/sub/")).text
    assert "<b " not in page
    # aiohttp leaves the `&` bare in the href, where a browser reads `&lt;` as `<`.
    assert '<a href="/s/sub/a&amp;lt;b.txt">a&amp;lt;b.txt</a>' in page


def test_add_static_names_an_unknown_keyword_and_keeps_its_options(tree):
    router = sketch_web.UrlDispatcher()
    with pytest.raises(TypeError, match="show_indexes"):
        router.add_static("/s", tree, show_indexes=True)
    resource = router.add_static(
        "/s", tree, show_index=True, follow_symlinks=True, append_version=True
    )
    assert (resource.show_index, resource.follow_symlinks, resource.append_version) == (
        True,
        True,
        True,
    )
