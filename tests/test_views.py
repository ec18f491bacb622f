"""Class-based views: a method per verb, self.request, 405 with Allow for the rest."""

from __future__ import annotations

import httpx
import pytest

import sketch
from sketch import web


class UserView(web.View):
    async def get(self):
        return web.Response(text=f"get {self.request.match_info['name']}")

    async def post(self):
        data = await self.request.post()
        return web.Response(text=f"post {data['x']}", status=201)


async def answers(app, *requests):
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            return [
                await client.request(method, path, data=data) for method, path, data in requests
            ]


async def test_a_view_runs_the_method_named_after_the_verb():
    app = web.Application()
    app.router.add_view("/users/{name}", UserView)
    got, posted = await answers(
        app, ("GET", "/users/bob", None), ("POST", "/users/bob", {"x": "1"})
    )
    assert (got.status_code, got.text) == (200, "get bob")
    assert (posted.status_code, posted.text) == (201, "post 1")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "PROPFIND"])
async def test_a_verb_the_view_lacks_is_405_with_allow(method):
    routes = web.RouteTableDef()
    routes.view("/users/{name}")(UserView)
    app = web.Application()
    app.add_routes(routes)
    [response] = await answers(app, (method, "/users/bob", None))
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET,POST"


def test_a_view_is_accepted_as_a_handler_and_a_plain_class_is_not():
    router = web.UrlDispatcher()
    router.add_view("/v", UserView)
    router.add_route("GET", "/get-only", UserView)

    class NotAView:
        pass

    with pytest.raises(TypeError, match="or a web.View subclass"):
        router.add_view("/nope", NotAView)
