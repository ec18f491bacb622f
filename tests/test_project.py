"""The project around the code: one set of dependencies, one direction of imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _requirement(spec: str) -> tuple[str, str]:
    """('pytest-asyncio', '>=0.24') from 'pytest_asyncio >= 0.24; python_version < "3.11"'."""
    spec = spec.split(";")[0]  # environment markers have no conda equivalent
    name, version = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), version.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + [
        dep for extra in ("test", "lab") for dep in project["optional-dependencies"][extra]
    ]
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    dependencies = text.split("\ndependencies:\n", 1)[1]
    conda = []
    for line in dependencies.splitlines():
        item = re.match(r"^  - ([A-Za-z0-9_.\-]+.*)$", line)  # conda entries, not pip's
        if item and not re.match(r"(python|pip)\b", item.group(1)):
            conda.append(item.group(1))
    assert sorted(map(_requirement, conda)) == sorted(map(_requirement, wanted))


def test_importing_sketch_pulls_in_neither_rich_nor_ipython_nor_the_inspector():
    code = (
        "import sys, sketch, sketch.web; "
        "print(sorted(m for m in ('rich', 'IPython', 'inspector') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", check=True
    )
    assert out.stdout.strip() == "[]"


def test_importing_the_inspector_does_not_pull_in_ipython():
    code = "import sys, inspector, inspector.cli; print('IPython' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", check=True
    )
    assert out.stdout.strip() == "False"


def test_sketch_web_and_sketch_expose_the_same_public_names():
    import sketch
    from sketch import web

    assert set(web.__all__) <= set(sketch.__all__)
    for name in web.__all__:
        assert getattr(sketch, name) is getattr(web, name)


def test_the_readme_quick_start_is_the_makefile_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in ("make test", "make lab"):
        assert command in readme
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_sources_pass_ruff():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "sketch",
            "inspector",
            "guide",
            "notebooks",
            "tests",
            "examples",
            "bench",
        ],
        capture_output=True,
        encoding="utf-8",
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_step_in_the_architecture_diagram_names_code_that_exists():
    import importlib

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    steps = re.findall(r"(\w+)\.py: ([\w.]+)", diagram)
    assert len(steps) >= 12, steps
    for module_name, dotted in steps:
        target = importlib.import_module(f"sketch.{module_name}")
        for part in dotted.split("."):
            assert hasattr(target, part), f"docs/architecture.md: {module_name}.py has no {dotted}"
            target = getattr(target, part)


# Known exceptions, each with its reason. bench/ is changed on another branch for now.
POSIX_PATHS_ALLOWED = {
    "bench/load.py": "reads /proc for the memory figures: Linux-only by nature",
    "bench/run.py": "reads a server's CPU time from /proc while it runs; wrk is Linux-only too",
    "tests/test_streams.py": "the upload's memory test reads /proc; it is skipped elsewhere",
}


def _python_sources() -> list[Path]:
    folders = ("sketch", "inspector", "guide", "notebooks", "tests", "examples", "bench")
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _opens_text_without_encoding(call: ast.Call) -> bool:
    """open(...), x.open(...), x.read_text(...), x.write_text(...) or subprocess's text=True,
    in text mode and with no encoding= (ruff's PLW1514 sees only open() and Path(...))."""
    keywords = {k.arg: k.value for k in call.keywords}
    if "encoding" in keywords:
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in ("read_text", "write_text"):
        return True
    if name == "open":  # open(path, mode) or path.open(mode)
        position = 0 if isinstance(func, ast.Attribute) else 1
        mode = keywords.get("mode") or (call.args[position] if len(call.args) > position else None)
        return not (isinstance(mode, ast.Constant) and "b" in str(mode.value))
    flag = keywords.get("text") or keywords.get("universal_newlines")
    return isinstance(flag, ast.Constant) and flag.value is True


def test_text_files_and_pipes_are_read_and_written_as_utf8():
    """Windows' default encoding is not UTF-8: every text open names its encoding."""
    found = []
    for path in _python_sources():
        name = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _opens_text_without_encoding(node):
                found.append(f"{name}:{node.lineno}")
    assert found == [], "add encoding='utf-8' at " + ", ".join(found)


def test_no_posix_only_paths_outside_code_that_is_linux_only():
    found = []
    for path in _python_sources():
        name = path.relative_to(ROOT).as_posix()
        if name in POSIX_PATHS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.match(r"/(tmp|proc|dev|var|etc)(/|$)", node.value):
                    found.append(f"{name}:{node.lineno} {node.value!r}")
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and re.match(r"/(tmp|proc)/", first.value):
                    found.append(f"{name}:{node.lineno}")
    assert found == [], "use tempfile / pathlib, or say why it is Linux-only: " + ", ".join(found)


def _without_make_rows() -> dict[str, str]:
    """{'test': 'python -m pytest', ...} from the README's "Without make" table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Without make\n" in readme, "README.md has no 'Without make' section"
    section = readme.split("\n## Without make\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `make ([\w-]+)` \| (.+) \|$", section, re.M))


def test_every_make_target_has_its_plain_command_in_the_readme():
    """Windows and conda have no make: the README's table keeps pace with the Makefile."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][\w-]*):", makefile, re.M)
    phony = makefile.split(".PHONY:", 1)[1].split("\n", 1)[0].split()
    assert sorted(targets) == sorted(phony)
    rows = _without_make_rows()
    assert sorted(rows) == sorted(targets), "README.md, Without make: one row per make target"
    assert all(command.strip() for command in rows.values())


def test_the_plain_commands_name_modules_and_files_that_exist():
    import importlib.util

    for target, cell in _without_make_rows().items():
        for command in re.findall(r"`([^`]+)`", cell):
            module = re.match(r"python -m ([\w.]+)", command)
            script = re.match(r"python ([\w/]+\.py)", command)
            if module and module.group(1) != "pip":
                assert importlib.util.find_spec(module.group(1)), f"make {target}: {command}"
            elif script:
                assert (ROOT / script.group(1)).is_file(), f"make {target}: {command}"


def test_compatibility_table_covers_aiohttp_web_and_is_true():
    import aiohttp.web

    import sketch.web

    table = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
    said: dict[str, str] = {}
    for row in re.findall(r"^\| (`.+?) \| (same|differs|not implemented) \|", table, re.M):
        for name in re.findall(r"`(\w+)`", row[0]):
            assert name not in said, f"{name} is in docs/compatibility.md twice"
            said[name] = row[1]
    assert sorted(set(aiohttp.web.__all__) - set(said)) == [], "missing from the table"
    assert sorted(set(said) - set(aiohttp.web.__all__)) == [], "not aiohttp.web names"
    ours = set(sketch.web.__all__)
    wrong = [f"{name}: {status}" for name, status in said.items()
             if (status == "not implemented") == (name in ours)]  # fmt: skip
    assert wrong == [], "the table says otherwise than sketch.web.__all__"
