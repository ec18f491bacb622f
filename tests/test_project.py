"""The project around the code: one set of dependencies, one direction of imports."""

from __future__ import annotations

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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        dep for extra in ("test", "lab") for dep in project["optional-dependencies"][extra]
    ]
    text = (ROOT / "environment.yml").read_text()
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_inspector_does_not_pull_in_ipython():
    code = "import sys, inspector, inspector.cli; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sketch_web_and_sketch_expose_the_same_public_names():
    import sketch
    from sketch import web

    assert set(web.__all__) <= set(sketch.__all__)
    for name in web.__all__:
        assert getattr(sketch, name) is getattr(web, name)


def test_the_readme_quick_start_is_the_makefile_commands():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for command in ("make test", "make lab"):
        assert command in readme
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_sources_pass_ruff():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "sketch",
            "inspector",
            "tests",
            "examples",
            "bench",
        ],
        capture_output=True,
        text=True,
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
