"""sketch's source as a lesson shows it: without the branches that only trace or only speed up.

sketch's code carries the inspector's hooks (`if self.tracer.on: ...`, an `observe`
argument) and a few fast paths beside the general one. They are real and tested, but
they are not what a chapter teaches. `lesson_source(obj)` is `inspect.getsource(obj)`
with them taken out, by these rules, applied to the syntax tree, never to a copy:

1. An `if` whose test names a tracing hook (TRACING) is a tracing branch. `if hook:`
   goes, and its `else`, if any, stays in its place; `if not hook:` stays, without its
   `else` (and, when it ends in `return`, without the traced way that follows it).
2. An `if` whose test calls a fast path (FAST_PATHS) goes, and its `else`, the general
   way to do the same, stays in its place.
3. A parameter named after a tracing hook leaves the signature, and a docstring
   paragraph that names it (in backticks) leaves the docstring.
4. A variable that only the removed code read goes too (`depth`, counted for `observe`).

Everything else, comments included, is shown as it is.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

__all__ = ["lesson_source", "TRACING", "FAST_PATHS"]

# The inspector's hooks in sketch: the tracer, wrap_handler's `observe`, resolve's `on_try`.
TRACING = frozenset({"tracer", "observe", "on_try"})
# Fast paths whose `else` is the general way: a Response sent whole, without prepare().
FAST_PATHS = frozenset({"_send_at_once"})


def lesson_source(obj: Any) -> str:
    """The source of `obj` (a function, method or class), tracing and fast paths removed."""
    source = textwrap.dedent(inspect.getsource(obj))
    read_before = _read_names(source)
    source = _drop_branches(source)
    source = _drop_parameters(source)
    source = _drop_unread_variables(source, read_before)
    return _squeeze_blank_lines(source)


def _names_in(node: ast.AST) -> set[str]:
    """Every name and attribute name that `node` mentions."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _branch_kept(node: ast.If) -> list[ast.stmt] | None:
    """The statements that stand for `node` in the lesson, or None to keep it whole."""
    names = _names_in(node.test)
    if names & FAST_PATHS:
        return node.orelse  # rule 2: the general way
    if not names & TRACING:
        return None
    if isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not):
        return node.body  # rule 1, `if not hook:`: what runs without the tracer
    return node.orelse  # rule 1, `if hook:`


def _outermost_branches(tree: ast.AST) -> list[tuple[ast.If, list[ast.stmt], int]]:
    """(branch, the statements that stand for it, the last line it covers), outermost."""
    found: list[tuple[ast.If, list[ast.stmt], int]] = []

    def visit(node: ast.AST) -> None:
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for child in block:
                kept = _branch_kept(child) if isinstance(child, ast.If) else None
                if kept is None:
                    visit(child)
                    continue
                last = child.end_lineno
                if kept is child.body and isinstance(kept[-1], ast.Return):
                    last = block[-1].end_lineno  # what follows `if not hook: ... return`
                found.append((child, kept, last))
                if last != child.end_lineno:
                    break

    visit(tree)
    return found


def _drop_branches(source: str) -> str:
    lines = source.splitlines()
    branches = _outermost_branches(ast.parse(source))
    for node, kept, last_line in sorted(branches, key=lambda found: -found[0].lineno):
        replacement: list[str] = []
        if kept:
            first, last = kept[0].lineno - 1, kept[-1].end_lineno
            body = textwrap.dedent("\n".join(lines[first:last])).splitlines()
            indent = " " * node.col_offset
            replacement = [indent + line if line else line for line in body]
        lines[node.lineno - 1 : last_line] = replacement
    return "\n".join(lines) + "\n"


def _drop_parameters(source: str) -> str:
    tree = ast.parse(source)
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return source
    lines = source.splitlines()
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    defaults = dict(zip(reversed(positional), reversed(arguments.defaults), strict=False))
    defaults.update(
        (arg, default)
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is not None
    )
    dropped = []
    for arg in reversed(positional + arguments.kwonlyargs):
        if arg.arg not in TRACING:
            continue
        end = defaults.get(arg, arg)
        if arg.lineno != end.end_lineno:
            continue  # not on one line: leave it rather than guess
        line = lines[arg.lineno - 1]
        before = line[: arg.col_offset].rstrip()
        before = before[:-1] if before.endswith(",") else before
        lines[arg.lineno - 1] = before + line[end.end_col_offset :]
        dropped.append(arg.arg)
    header = lines[function.lineno - 1 : function.body[0].lineno - 1]
    if dropped and len(header) > 1:  # the signature may fit on one line now
        pieces = [line.strip() for line in header]
        one_line = " " * function.col_offset + "".join(pieces).replace(",)", ")")
        if len(one_line) <= 88:
            lines[function.lineno - 1 : function.body[0].lineno - 1] = [one_line]
    return _drop_parameters_docstring("\n".join(lines) + "\n", dropped)


def _drop_parameters_docstring(source: str, dropped: list[str]) -> str:
    """Rule 3, the docstring: paragraphs that name a dropped parameter go."""
    lines = source.splitlines()
    function = ast.parse(source).body[0]
    docstring = ast.get_docstring(function, clean=False)
    if dropped and docstring:
        kept = [
            paragraph
            for paragraph in docstring.split("\n\n")
            if not any(re.search(rf"`{name}\b", paragraph) for name in dropped)
        ]
        node = function.body[0]
        first, last = node.lineno - 1, node.end_lineno
        quote = lines[first].strip()[:3]
        indent = " " * node.col_offset
        text = "\n\n".join(kept).strip()
        closing = f"\n{indent}{quote}" if "\n" in text else quote
        lines[first:last] = (indent + quote + text + closing).splitlines() if text else []
    return "\n".join(lines) + "\n"


def _read_names(source: str) -> set[str]:
    return {
        node.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _drop_unread_variables(source: str, read_before: set[str]) -> str:
    """Rule 4: assignments to a name that only the removed code read."""
    orphans = read_before - _read_names(source)
    doomed = []
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        if targets and all(isinstance(t, ast.Name) and t.id in orphans for t in targets):
            doomed.append(node)
    lines = source.splitlines()
    for node in sorted(doomed, key=lambda n: -n.lineno):
        del lines[node.lineno - 1 : node.end_lineno]
    return "\n".join(lines) + "\n"


def _squeeze_blank_lines(source: str) -> str:
    out: list[str] = []
    for line in source.splitlines():
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return "\n".join(out).rstrip() + "\n"
