"""lesson_source: sketch's source as the notebooks show it, without tracing or fast paths."""

from __future__ import annotations

from inspector.lesson import lesson_source
from sketch.answer import answer as answer_request
from sketch.middleware import wrap_handler
from sketch.signals import Signal


class _Traced:
    tracer = None

    def emit(self, *event):
        pass

    def send(self, item):
        if self.tracer.on:
            self.emit("sent", item)  # a tracing branch
        return item

    def send_either(self, item):
        if self.tracer.on:
            self.emit("sent", item)
        else:
            item = item.strip()  # the untraced way
        return item

    def handle(self, item):
        if not self.tracer.on:
            return item.upper()
        self.emit("handled", item)  # the traced way, after the fast return
        return item.upper()

    def answer(self, response):
        if response._send_at_once():  # a fast path
            response.flush()
        else:
            response.prepare()
            response.write()


def _layers(handler, middlewares, observe=None):
    """Wrap each middleware around the handler.

    `observe`, when given, sees each layer.
    """
    depth = len(middlewares)
    for middleware in middlewares:
        depth -= 1
        handler = middleware(handler)
        if observe is not None:
            handler = observe(handler, depth)
    return handler


def test_an_if_on_the_tracer_goes():
    assert lesson_source(_Traced.send) == "def send(self, item):\n    return item\n"


def test_an_if_on_the_tracer_leaves_its_else_in_its_place():
    shown = lesson_source(_Traced.send_either)
    assert shown == (
        "def send_either(self, item):\n"
        "    item = item.strip()  # the untraced way\n"
        "    return item\n"
    )


def test_if_not_tracer_keeps_its_body_and_drops_the_traced_way_after_it():
    shown = lesson_source(_Traced.handle)
    assert shown == "def handle(self, item):\n    return item.upper()\n"


def test_a_fast_path_leaves_the_general_way():
    shown = lesson_source(_Traced.answer)
    assert "flush" not in shown and "_send_at_once" not in shown
    assert "    response.prepare()\n    response.write()\n" in shown


def test_a_tracing_parameter_its_docstring_paragraph_and_its_counter_go():
    shown = lesson_source(_layers)
    assert shown == (
        "def _layers(handler, middlewares):\n"
        '    """Wrap each middleware around the handler."""\n'
        "    for middleware in middlewares:\n"
        "        handler = middleware(handler)\n"
        "    return handler\n"
    )


def test_sketchs_own_sources_keep_their_lesson():
    onion = lesson_source(wrap_handler)
    assert "observe" not in onion and "for mw in reversed(middlewares):" in onion
    hooks = lesson_source(Signal.send)
    assert "tracer" not in hooks and "await callback(*args)" in hooks
    answer = lesson_source(answer_request)
    assert "tracer" not in answer and "_send_at_once" not in answer
    assert "await response.prepare(request)" in answer and "error_page(" in answer
