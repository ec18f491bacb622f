"""Mutation testing: change sketch's core one point at a time and see whether a fast test fails.

How this works:

- Rule 1: the working tree is never touched. The repository is copied to a temporary
  directory per worker; a mutant is written into the copy, the fast tests run there
  (PYTHONPATH points at the copy, bytecode is not cached), and the file is restored.
- Rule 2: a mutant is one small change that still compiles: a comparison flipped, an
  integer off by one, True/False swapped, `is`/`is not` and `in`/`not in` swapped, `and`
  and `or` swapped, a `not` dropped, a statement replaced by `pass`, a call like
  `.upper()` dropped, a string constant changed, a returned value replaced by None.
- Rule 3: a test that fails, errors or times out *kills* the mutant. One that survives
  is either a missing test or an *equivalent* mutant (no test could tell it apart).
  Equivalent mutants are listed in tests/equivalent_mutants.txt, each with its reason;
  they are left out of the score. An entry is keyed by the file, the function or class
  the mutant is in, and the line before and after (so it survives line shifts), plus
  `#n` when the same line and change occur more than once in that function: an entry
  marks the one mutant it was written for, never an identical line elsewhere.
- Rule 4: the score of a module is killed / (mutants - equivalent). The report, with
  every survivor as a diff, goes to build/mutation.txt.

Run it with `make mutate`, or `python tests/mutate.py sketch/routing.py` for one module.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODULES = [
    "sketch/framing.py",
    "sketch/routing.py",
    "sketch/resources.py",
    "sketch/static.py",
    "sketch/middleware.py",
    "sketch/http.py",
    "sketch/response.py",
    "sketch/stream_response.py",
    "sketch/reader.py",
    "sketch/protocol.py",
    "sketch/answer.py",
    "sketch/phase.py",
    "sketch/writer.py",
]
# The slow tests stay out: notebooks, benchmarks, hypothesis runs, the inspector and the
# examples (subprocesses), and the project checks (ruff would "kill" a mutant that only
# leaves an unused name behind).
SLOW_TESTS = [
    "tests/test_notebooks.py",
    "tests/test_bench.py",
    "tests/test_protocol_properties.py",
    "tests/test_project.py",
    "tests/test_examples.py",
    "tests/inspector/",
]
# Test files that exercise a module most, tried right after its own tests/test_<module>.py
# (or first, for a module split out of another whose tests it shares: resources, static,
# stream_response).
_FIRST = {
    "sketch/framing.py": ["tests/test_limits.py", "tests/test_hostile.py"],
    "sketch/reader.py": ["tests/test_protocol.py", "tests/test_limits.py", "tests/test_hostile.py"],
    "sketch/middleware.py": ["tests/test_app.py"],
    "sketch/response.py": ["tests/test_protocol.py"],
    "sketch/answer.py": ["tests/test_protocol.py", "tests/test_answering.py"],
    "sketch/phase.py": ["tests/test_protocol.py"],
    "sketch/stream_response.py": ["tests/test_response.py", "tests/test_protocol.py"],
    "sketch/http.py": ["tests/test_response.py", "tests/test_protocol.py"],
    "sketch/routing.py": ["tests/test_app.py"],
    "sketch/resources.py": ["tests/test_routing.py", "tests/test_app.py"],
    "sketch/static.py": ["tests/test_routing.py", "tests/test_file_response.py"],
}
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "*.pyc"
)
_COMPARISONS = {  # operator: (how it is spelled, its mutant)
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
}
_SPELLED = {
    "<": r"<(?!=)",
    "<=": r"<=",
    ">": r">(?!=)",
    ">=": r">=",
    "==": r"==",
    "!=": r"!=",
    "is": r"\bis\b(?!\s+not\b)",
    "is not": r"\bis\s+not\b",
    "in": r"(?<!not )\bin\b",
    "not in": r"\bnot\s+in\b",
    "and": r"\band\b",
    "or": r"\bor\b",
}


@dataclass
class Mutant:
    path: str  # relative to the repository, e.g. sketch/routing.py
    line: int
    scope: str  # the function or class it is in, e.g. Writer.lost; <module> at the top
    operator: str
    before: str  # the original source lines of the change, stripped
    after: str  # the same lines mutated, stripped
    source: str  # the whole mutated module
    status: str = ""  # killed, timeout, survived, equivalent
    reason: str = ""  # why it is equivalent
    seconds: float = 0.0
    diff: str = field(default="", repr=False)
    nth: int = 1  # 2 for the second mutant with the same scope, before and after, ...

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.path, self.scope, self.before, self.after, self.nth)

    @property
    def where(self) -> str:
        """The first line of its entry in the equivalents file."""
        return f"{self.path}: {self.scope}" + (f" #{self.nth}" if self.nth > 1 else "")


# --- finding mutants ----------------------------------------------------------------


def _offsets(source: str) -> list[int]:
    """The offset in `source` at which each line (1-based) starts."""
    starts = [0, 0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _skipped_lines(tree: ast.Module) -> set[int]:
    """Lines no mutant should touch: docstrings, annotations, __all__, TYPE_CHECKING blocks."""
    skipped: set[int] = set()

    def span(node: ast.AST) -> None:
        skipped.update(range(node.lineno, node.end_lineno + 1))  # type: ignore[attr-defined]

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                span(body[0])  # a docstring
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            span(node)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            span(node)
        if isinstance(node, (ast.ImportFrom, ast.Import)):
            span(node)
    return skipped


def _annotation_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes inside annotations and type aliases, where strings are not values."""
    inside: set[int] = set()
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
            "Callable",
            "TypeVar",
        ):
            roots.append(node)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("TypeVar", "cast"):
            roots.append(node)
    for root in roots:
        inside.update(id(n) for n in ast.walk(root))
    return inside


def _scopes(tree: ast.Module) -> dict[int, str]:
    """The qualified name of the innermost function or class on each line."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                for line in range(child.lineno, child.end_lineno + 1):  # type: ignore[operator]
                    names[line] = name
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return names


def _in_fstring(tree: ast.Module) -> set[int]:
    return {
        id(n) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for n in ast.walk(node)
    }


def find_mutants(path: str, source: str) -> list[Mutant]:
    """Every mutant of one module, in source order."""
    tree = ast.parse(source)
    starts = _offsets(source)
    skipped = _skipped_lines(tree)
    annotations = _annotation_nodes(tree)
    fstrings = _in_fstring(tree)
    scopes = _scopes(tree)
    top_level = {id(node) for node in tree.body}
    # The words of an exception message are not behaviour; its type and status are.
    messages = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise) and node.exc is not None
        for n in ast.walk(node.exc)
    }
    edits: list[tuple[int, int, str, str]] = []  # (start, end, replacement, operator)

    def pos(line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets; convert to a str offset on that line.
        text = source[starts[line] : starts[line + 1]]
        return starts[line] + len(text.encode()[:col].decode())

    def node_span(node: ast.AST) -> tuple[int, int]:
        return (
            pos(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            pos(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def add(node_or_span, replacement: str, operator: str) -> None:
        start, end = node_or_span if isinstance(node_or_span, tuple) else node_span(node_or_span)
        edits.append((start, end, replacement, operator))

    def _between(left: ast.AST, right: ast.AST, spelled: str) -> tuple[int, int]:
        gap_start, gap_end = node_span(left)[1], node_span(right)[0]
        found = re.search(_SPELLED[spelled], source[gap_start:gap_end])
        assert found is not None, (path, spelled, source[gap_start:gap_end])
        return gap_start + found.start(), gap_start + found.end()

    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        # An operator sits between two operands; find its text there.
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                spelled, replacement = _COMPARISONS[type(op)]
                add(_between(operands[i], operands[i + 1], spelled), replacement, "comparison")
        elif isinstance(node, ast.BoolOp):
            spelled = "and" if isinstance(node.op, ast.And) else "or"
            for i in range(len(node.values) - 1):
                gap = _between(node.values[i], node.values[i + 1], spelled)
                add(gap, "or" if spelled == "and" else "and", spelled)

    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is None or line in skipped or id(node) in annotations:
            continue
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                add(node, str(not value), "boolean")
            elif isinstance(value, int):
                add(node, str(value + 1), "number")
                add(node, str(value - 1), "number")
            elif isinstance(value, float):
                add(node, repr(value + 1), "number")
            elif isinstance(value, str) and id(node) not in fstrings | messages:
                add(node, repr("XX" + value + "XX"), "string")
            elif isinstance(value, bytes) and id(node) not in fstrings | messages:
                add(node, repr(b"XX" + value + b"XX"), "string")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, ast.get_source_segment(source, node.operand, padded=False), "not")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and not node.args
            and not node.keywords
        ):
            add(node, ast.get_source_segment(source, node.func.value), "call dropped")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                add(node, "return None", "return value")
        if id(node) in top_level:
            continue  # deleting a module-level name fails every import: a kill that says nothing
        if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.Raise, ast.Delete)):
            add(node, "pass", "statement deleted")
        elif isinstance(node, ast.AnnAssign) and node.value is not None and node.simple:
            add(node, "pass", "statement deleted")

    mutants = []
    for start, end, replacement, operator in sorted(edits):
        mutated = source[:start] + replacement + source[end:]
        if mutated == source:
            continue
        try:
            compile(mutated, path, "exec")
        except SyntaxError:
            continue
        first = source.count("\n", 0, start) + 1
        last = source.count("\n", 0, end) + 1
        before = source[starts[first] : starts[last + 1]]
        after_end = starts[last + 1] + len(mutated) - len(source)
        after = mutated[starts[first] : after_end]
        mutants.append(
            Mutant(
                path=path,
                line=first,
                scope=scopes.get(first, "<module>"),
                operator=operator,
                before=" ".join(before.split()),
                after=" ".join(after.split()),
                source=mutated,
                diff="".join(
                    difflib.unified_diff(
                        source.splitlines(keepends=True),
                        mutated.splitlines(keepends=True),
                        f"a/{path}",
                        f"b/{path}",
                        n=1,
                    )
                ),
            )
        )
    seen: dict[tuple[str, str, str, str, int], int] = {}
    for m in mutants:  # number identical mutants in one scope in source order: #1, #2, ...
        m.nth = seen[m.key] = seen.get(m.key, 0) + 1
    return mutants


# --- equivalent mutants -------------------------------------------------------------


def read_equivalents(path: Path) -> dict[tuple[str, str, str, str, int], str]:
    """Blocks of `file: scope [#n]`, `- before`, `+ after`, `why: reason`, blank-separated."""
    known: dict[tuple[str, str, str, str, int], str] = {}
    if not path.exists():
        return known
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#")]
        if not lines:
            continue
        fields_ = {"-": "", "+": "", "why:": ""}
        for line in lines[1:]:
            mark, _, rest = line.partition(" ")
            if mark in fields_:
                fields_[mark] = " ".join(rest.split())
        if not fields_["why:"]:
            raise SystemExit(f"{path}: an equivalent mutant needs a `why:` line:\n{block}")
        where = re.fullmatch(r"(?:key:\s*)?(\S+):\s*(\S+)(?:\s+#(\d+))?", lines[0].strip())
        if where is None:
            raise SystemExit(
                f"{path}: an entry starts with `file: scope` (and `#n` for the n-th identical "
                f"mutant in that scope), as build/mutation.txt prints it after `key:`:\n{block}"
            )
        module, scope, nth = where[1], where[2], int(where[3] or 1)
        known[(module, scope, fields_["-"], fields_["+"], nth)] = fields_["why:"]
    return known


# --- running ------------------------------------------------------------------------


def _copy(destination: Path) -> Path:
    shutil.copytree(ROOT, destination, ignore=COPY_IGNORE, symlinks=True)
    return destination


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=copy,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started
    seconds = time.monotonic() - started
    # pytest exits 1 when a test failed, 2 when collecting failed (an import broke).
    if done.returncode in (0, 1, 2):
        return ("survived", "killed", "killed")[done.returncode], seconds
    raise RuntimeError(f"pytest could not run in {copy} (exit {done.returncode}): {tests}")


def fast_tests(copy: Path, module: str) -> list[str]:
    """The fast test files, the module's own first: a kill then comes sooner."""
    files = sorted(str(p.relative_to(copy)) for p in (copy / "tests").rglob("test_*.py"))
    files = [f for f in files if not any(f.startswith(slow) for slow in SLOW_TESTS)]
    first = [f"tests/test_{Path(module).stem}.py", *_FIRST.get(module, [])]
    return sorted(files, key=lambda f: first.index(f) if f in first else len(first))


def _first_tests(copy: Path, module: str) -> tuple[list[str], list[str]]:
    """The fast tests in two runs: the module's own file, then the rest.

    Most mutants die in their module's own tests; collecting every file first would cost
    a kill seconds it does not need, so the rest runs only for a mutant that survived.
    """
    files = fast_tests(copy, module)
    own = [f"tests/test_{Path(module).stem}.py", *_FIRST.get(module, [])[:1]]
    return (files[:1], files[1:]) if files[:1] and files[0] in own else ([], files)


def run(mutants: list[Mutant], jobs: int, timeout: float, progress) -> None:
    with tempfile.TemporaryDirectory(prefix="sketch-mutate-") as tmp:
        copies: queue.Queue[Path] = queue.Queue()
        for n in range(jobs):
            copies.put(_copy(Path(tmp) / f"copy{n}"))

        def one(mutant: Mutant) -> Mutant:
            copy = copies.get()
            target = copy / mutant.path
            original = target.read_text(encoding="utf-8")
            try:
                target.write_text(mutant.source, encoding="utf-8")
                own, rest = _first_tests(copy, mutant.path)
                mutant.status, mutant.seconds = "survived", 0.0
                for tests in (own, rest):
                    if tests and mutant.status == "survived":
                        mutant.status, seconds = _pytest(copy, tests, timeout)
                        mutant.seconds += seconds
            finally:
                target.write_text(original, encoding="utf-8")
                copies.put(copy)
            return mutant

        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            for done in pool.map(one, mutants):
                progress(done)


# --- reporting ----------------------------------------------------------------------


def report(mutants: list[Mutant], modules: list[str], stale: list, command: str) -> str:
    out = [f"mutation testing of sketch, {time.strftime('%Y-%m-%d')}: {command}", ""]
    out.append(f"{'module':<24}{'mutants':>8}{'equiv.':>8}{'killed':>8}{'survived':>9}{'score':>8}")
    for module in modules:
        mine = [m for m in mutants if m.path == module]
        equivalent = sum(m.status == "equivalent" for m in mine)
        killed = sum(m.status in ("killed", "timeout") for m in mine)
        survived = sum(m.status == "survived" for m in mine)
        counted = len(mine) - equivalent
        score = f"{100 * killed / counted:.1f}%" if counted else "-"
        out.append(f"{module:<24}{len(mine):>8}{equivalent:>8}{killed:>8}{survived:>9}{score:>8}")
    total = [m for m in mutants if m.status != "equivalent"]
    killed = sum(m.status in ("killed", "timeout") for m in total)
    if total:
        out.append(f"{'all':<24}{len(mutants):>8}{len(mutants) - len(total):>8}{killed:>8}"
                   f"{len(total) - killed:>9}{100 * killed / len(total):>7.1f}%")  # fmt: skip
    survivors = [m for m in mutants if m.status == "survived"]
    out += ["", f"surviving mutants: {len(survivors)}", ""]
    for m in survivors:
        out += [f"{m.path}:{m.line}: {m.operator}", m.diff.rstrip("\n")]
        # Ready to paste into the equivalents file, with a `why:` line, if no test can tell.
        out += [f"key: {m.where}", f"- {m.before}", f"+ {m.after}", ""]
    if stale:
        out += ["entries in the equivalents file that match no mutant any more:", ""]
        out += [f"  {path}: {scope} #{nth}: - {before}  + {after}"
                for path, scope, before, after, nth in stale]  # fmt: skip
        out.append("")
    equivalent = [m for m in mutants if m.status == "equivalent"]
    out += [f"equivalent mutants (not counted): {len(equivalent)}", ""]
    for m in equivalent:
        out += [f"{m.path}:{m.line}: {m.after}", f"    why: {m.reason}"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=None, help="default: the core modules")
    # Many tests wait on sockets and timers, so twice as many workers as cores pays.
    parser.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    parser.add_argument("--out", default="build/mutation.txt")
    parser.add_argument("--equivalents", default="tests/equivalent_mutants.txt")
    parser.add_argument("--line", type=int, default=None, help="only mutants on this line")
    parser.add_argument(
        "--again",
        action="store_true",
        help="run only the mutants that survived the last run (its .json); keep the other results",
    )
    args = parser.parse_args(argv)
    modules = args.modules or [m for m in DEFAULT_MODULES if (ROOT / m).exists()]
    missing = [m for m in modules if not (ROOT / m).is_file()]
    if missing:
        parser.error(f"no such module: {', '.join(missing)}")

    known = read_equivalents(ROOT / args.equivalents)
    mutants = [
        m
        for module in modules
        for m in find_mutants(module, (ROOT / module).read_text(encoding="utf-8"))
        if args.line is None or m.line == args.line
    ]
    seen = set()
    for m in mutants:
        if m.key in known:
            m.status, m.reason = "equivalent", known[m.key]
            seen.add(m.key)
    stale = [k for k in known if k[0] in modules and k not in seen and args.line is None]
    out = ROOT / args.out
    results = out.with_suffix(".json")
    if args.again and results.exists():
        # Tests were added, the code is unchanged: a kill stays a kill.
        previous = {
            tuple(r["key"]): r["status"] for r in json.loads(results.read_text(encoding="utf-8"))
        }
        for m in mutants:
            if m.status != "equivalent" and previous.get(m.key) in ("killed", "timeout"):
                m.status = previous[m.key]

    # The unmutated code must pass, and its time sets the per-mutant timeout.
    with tempfile.TemporaryDirectory(prefix="sketch-mutate-") as tmp:
        copy = _copy(Path(tmp) / "copy")
        status, seconds = _pytest(copy, fast_tests(copy, modules[0]), 600)
    if status != "survived":
        print("the fast tests fail on the unmutated code: fix that first", file=sys.stderr)
        return 2
    timeout = args.timeout or max(30.0, 3 * seconds)
    todo = [m for m in mutants if not m.status]
    print(f"{len(mutants)} mutants in {len(modules)} modules, {len(todo)} to run on "
          f"{args.jobs} workers; fast tests {seconds:.0f} s, timeout {timeout:.0f} s")  # fmt: skip

    count = 0

    def progress(m: Mutant) -> None:
        nonlocal count
        count += 1
        mark = {"killed": ".", "timeout": "T", "survived": "S"}[m.status]
        print(
            f"[{count}/{len(todo)}] {mark} {m.path}:{m.line} {m.operator}: {m.after}"[:120],
            flush=True,
        )

    run(todo, args.jobs, timeout, progress)
    command = "python tests/mutate.py " + " ".join(modules)
    text = report(mutants, modules, stale, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    results.write_text(
        json.dumps([{"key": m.key, "status": m.status} for m in mutants], indent=0),
        encoding="utf-8",
    )
    print()
    print(text.split("\nsurviving mutants")[0])
    survivors = [m for m in mutants if m.status == "survived"]
    print(f"{len(survivors)} surviving mutants, with diffs, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
