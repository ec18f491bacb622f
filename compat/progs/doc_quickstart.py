"""aiohttp's docs/web_quickstart.rst snippets in one program (no WebSockets, sessions, jinja)."""

import os
import tempfile

from aiohttp import web
from multidict import MultiDict
from yarl import URL

SPOOL = tempfile.mkdtemp()
routes = web.RouteTableDef()


async def hello(request):
    return web.Response(text="Hello, world")


async def handler(request):
    return web.Response()


async def post_handler(request):
    return web.Response(text="posted")


async def put_handler(request):
    return web.Response(text="put")


async def all_handler(request):
    return web.Response(text=request.method)


async def get_1(request):
    return web.Response(text="get_1")


async def post_1(request):
    return web.Response(text="post_1")


@routes.get("/v/{name}")
async def variable_handler(request):
    return web.Response(text="Hello, {}".format(request.match_info["name"]))


async def digits(request):
    return web.Response(text="digits " + request.match_info["name"])


@routes.get("/root", name="root")
async def root(request):
    url = request.app.router["root"].url_for().with_query({"a": "b", "c": "d"})
    assert url == URL("/root?a=b&c=d")
    url = request.app.router["user-info"].url_for(user="john_doe")
    url_with_qs = url.with_query("a=b")
    assert url_with_qs == URL("/john_doe/info?a=b")
    return web.Response(text=f"{url} {url_with_qs}")


class Handler:
    def __init__(self):
        pass

    async def handle_intro(self, request):
        return web.Response(text="Hello, world")

    async def handle_greeting(self, request):
        name = request.match_info.get("name", "Anonymous")
        txt = f"Hello, {name}"
        return web.Response(text=txt)


async def get_resp(request):
    return web.Response(text="view get")


async def post_resp(request):
    return web.Response(text="view post")


class MyView(web.View):
    async def get(self):
        return await get_resp(self.request)

    async def post(self):
        return await post_resp(self.request)


@routes.view("/view")
class MyView2(web.View):
    async def get(self):
        return web.Response(text="view2 " + self.request.method)

    async def post(self):
        return web.Response(text="view2 " + self.request.method)


async def json_handler(request):
    data = {"some": "data"}
    return web.json_response(data)


async def do_login(request):
    data = await request.post()
    login = data["login"]
    password = data["password"]
    return web.Response(text=f"{login}:{password}")


async def store_mp3_post(request):
    # WARNING: don't do that if you plan to receive large files!
    data = await request.post()
    mp3 = data["mp3"]
    filename = mp3.filename
    mp3_file = data["mp3"].file
    content = mp3_file.read()
    return web.Response(body=content, headers=MultiDict({"CONTENT-DISPOSITION": filename}))


async def store_mp3_bad_header(request):
    data = await request.post()
    mp3_file = data["mp3"].file
    content = mp3_file.read()
    # as in the docs: a file object as a header value
    return web.Response(body=content, headers=MultiDict({"CONTENT-DISPOSITION": mp3_file}))


async def store_mp3_handler(request):
    reader = await request.multipart()
    field = await reader.next()
    assert field.name == "name"
    name = await field.read(decode=True)
    field = await reader.next()
    assert field.name == "mp3"
    filename = field.filename
    size = 0
    with open(os.path.join(SPOOL, filename), "wb") as f:
        while True:
            chunk = await field.read_chunk()  # 8192 bytes by default.
            if not chunk:
                break
            size += len(chunk)
            f.write(chunk)
    return web.Response(text=f"{filename} sized of {size} successfully stored {name}")


async def redirect(request):
    raise web.HTTPFound("/redirect")


async def redirect_named(request):
    location = request.app.router["login"].url_for()
    raise web.HTTPFound(location=location)


async def login(request):
    if request.method == "POST":
        form = await request.post()
        if form.get("user") != "ok":
            return web.Response(text="error", status=400)
        location = request.app.router["index"].url_for()
        raise web.HTTPFound(location=location)
    return web.Response(text="login form")


def init():
    app = web.Application()
    app.add_routes([web.get("/", hello)])
    app.add_routes(
        [web.get("/empty", handler), web.post("/post", post_handler), web.put("/put", put_handler)]
    )
    app.add_routes([web.route("*", "/path", all_handler)])
    app.add_routes([web.get("/nohead", handler, allow_head=False)])
    app.add_routes(
        [
            web.get("/path1", get_1),
            web.get("/path2", get_1),
            web.post("/path2", post_1),
            web.post("/path1", post_1),
        ]
    )
    app.add_routes([web.get(r"/d/{name:\d+}", digits)])
    app.router.add_resource(r"/{user}/info", name="user-info")
    h = Handler()
    app.add_routes([web.get("/intro", h.handle_intro), web.get("/greet/{name}", h.handle_greeting)])
    app.add_routes([web.view("/path/to", MyView)])
    app.router.add_route("*", "/path/to2", MyView)
    app.add_routes([web.get("/json", json_handler), web.post("/do_login", do_login)])
    app.add_routes(
        [web.post("/store/mp3", store_mp3_post), web.post("/store/mp3bad", store_mp3_bad_header)]
    )
    app.add_routes([web.post("/store/mp3stream", store_mp3_handler)])
    app.add_routes([web.get("/redir", redirect), web.get("/handler", redirect_named)])
    app.router.add_get("/index", hello, name="index")
    app.router.add_get("/login", login, name="login")
    app.router.add_post("/login", login, name="login")
    app.router.add_routes(routes)
    lines = [str(r) for r in app.router.resources()] + [n for n in app.router.named_resources()]

    async def listing(request):
        return web.Response(text="\n".join(lines))

    app.router.add_get("/listing", listing)
    return app
