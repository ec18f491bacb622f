"""HTTP exceptions: each one an exception and a response, with aiohttp's defaults."""

from __future__ import annotations

import pytest

from sketch import web


def test_an_http_exception_is_a_response_with_the_status_phrase_body():
    exc = web.HTTPNotFound()
    assert isinstance(exc, web.Response) and isinstance(exc, Exception)
    assert (exc.status, exc.reason, exc.text) == (404, "Not Found", "404: Not Found")
    assert exc.content_type == "text/plain"


def test_a_custom_text_replaces_the_default_body():
    assert web.HTTPBadRequest(text="name is required").text == "name is required"


def test_redirects_carry_their_location():
    exc = web.HTTPFound("/users/bob")
    assert (exc.status, exc.headers["Location"]) == (302, "/users/bob")
    with pytest.raises(ValueError, match="needs a location"):
        web.HTTPSeeOther("")


def test_405_sets_allow_from_the_allowed_methods_sorted():
    exc = web.HTTPMethodNotAllowed("post", {"PUT", "GET"})
    assert exc.headers["Allow"] == "GET,PUT"
    assert exc.method == "POST"


def test_empty_statuses_have_no_default_body():
    assert web.HTTPNoContent().body is None
    assert web.HTTPNotModified().body is None


def test_there_is_one_class_per_status_with_the_right_family():
    for name in web.__all__:
        cls = getattr(web, name)
        if isinstance(cls, type) and issubclass(cls, web.HTTPException) and cls.status_code > 0:
            family = {
                2: web.HTTPSuccessful,
                3: web.HTTPRedirection,
                4: web.HTTPClientError,
                5: web.HTTPServerError,
            }[cls.status_code // 100]
            assert issubclass(cls, family), name


def test_the_abstract_base_cannot_be_raised():
    with pytest.raises(TypeError, match="raise a subclass like HTTPNotFound"):
        web.HTTPException()
