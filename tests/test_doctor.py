"""The doctor's checks that can fail, each with its fix in one line; and the doctor run whole."""

from __future__ import annotations

import io
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from rich.console import Console

from notebooks import doctor

ROOT = Path(__file__).parent.parent


def versions(**found: str):
    """A stand-in for importlib.metadata.version that knows only `found`."""

    def version_of(name: str) -> str:
        try:
            return found[name]
        except KeyError:
            raise metadata.PackageNotFoundError(name) from None

    return version_of


def test_an_old_python_is_named_with_the_version_needed(capsys):
    assert doctor.check_python((3, 10, 12)) is False
    out = capsys.readouterr().out
    assert "✘ Python 3.10.12 is too old: the course needs 3.11 or newer" in out
    assert doctor.check_python((3, 13, 0)) is True


def test_missing_and_old_packages_are_named_with_the_install_command(capsys):
    wanted = {"httpx": "0.27", "rich": "13", "nbclient": "0.10"}
    assert doctor.check_packages(wanted, versions(httpx="0.28.1", rich="12.6.0")) is False
    out = capsys.readouterr().out
    assert "✔ httpx 0.28.1" in out
    assert "✘ rich 12.6.0 is older than the 13 the course needs" in out
    assert "✘ nbclient is not installed" in out
    assert 'python -m pip install -e ".[test,lab]"' in out


def test_the_packages_checked_are_pyprojects_with_its_minimum_versions():
    wanted = doctor.required_versions()
    assert wanted["httpx"] == "0.27" and wanted["httptools"] == "0.6"
    assert {"sketch", "yarl", "multidict", "rich", "nbclient", "ipykernel", "aiohttp"} <= set(
        wanted
    )


def test_a_loopback_port_that_cannot_be_bound_is_a_problem_with_its_fix(capsys):
    assert doctor.check_port("192.0.2.1") is False  # TEST-NET-1: not this machine's address
    assert "ask for Python to be allowed to listen" in capsys.readouterr().out
    assert doctor.check_port() is True


def test_proxy_variables_are_named_without_their_secrets_and_the_course_is_unaffected(capsys):
    environ = {"HTTP_PROXY": "http://bob:hunter2@proxy.corp:3128", "https_proxy": "http://p:8080"}
    assert doctor.check_proxies(environ, system=lambda: {}) is True  # a note, not a failure
    out = capsys.readouterr().out
    assert "HTTP_PROXY=http://***@proxy.corp:3128" in out and "https_proxy=" in out
    assert "the course is unaffected" in out
    assert "hunter2" not in out
    assert doctor.check_proxies({}, system=lambda: {"http": "http://sys:80"}) is True
    assert "system http proxy http://sys:80" in capsys.readouterr().out
    assert doctor.check_proxies({}, system=lambda: {}) is True
    assert "✔ no proxy settings" in capsys.readouterr().out


def test_an_old_or_missing_notebook_front_end_is_a_problem_with_its_fix(capsys):
    assert doctor.check_front_end(versions()) is False
    assert "✘ no notebook front end" in capsys.readouterr().out
    assert doctor.check_front_end(versions(jupyterlab="3.6.7")) is False
    assert "✘ jupyterlab 3.6.7 is too old" in capsys.readouterr().out
    assert doctor.check_front_end(versions(jupyterlab="3.6.7", notebook="7.2.0")) is True
    assert doctor.check_front_end(versions(jupyterlab="4.2.5")) is True
    assert 'pip install "jupyterlab>=4"' not in capsys.readouterr().out


def test_a_terminal_without_colour_is_a_problem_and_a_pipe_only_a_note(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    grey = Console(file=io.StringIO(), force_terminal=True)
    assert doctor.check_colour(grey) is False
    assert "✘ this terminal shows no colour (NO_COLOR is set): unset NO_COLOR" in (
        capsys.readouterr().out
    )
    assert doctor.check_colour(Console(file=io.StringIO())) is True
    assert "colour was not checked" in capsys.readouterr().out
    monkeypatch.delenv("NO_COLOR")
    screen = io.StringIO()
    assert doctor.check_colour(Console(file=screen, force_terminal=True)) is True
    assert "\x1b[32mgreen" in screen.getvalue()


@pytest.mark.timeout(60)
def test_a_kernel_that_does_not_exist_is_a_problem_with_its_fix(capsys):
    assert doctor.check_kernel("no-such-kernel-here") is False
    out = capsys.readouterr().out
    assert "✘ the Jupyter kernel 'no-such-kernel-here' could not serve a request" in out
    assert "jupyter kernelspec list" in out


def test_marks_fall_back_to_ascii_where_the_output_cannot_show_them():
    assert doctor._marks_for("utf-8") == ("✔", "✘", "•")
    assert doctor._marks_for("cp1252") == ("ok", "XX", "--")


@pytest.mark.timeout(120)
def test_the_doctor_runs_as_a_module_and_says_the_course_is_unaffected_by_a_proxy(
    behind_a_closed_proxy,
):
    result = subprocess.run(
        [sys.executable, "-m", "notebooks.doctor"],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        timeout=100,
    )
    out = result.stdout
    assert "a kernel started and served a request through sketch" in out, out + result.stderr
    assert f"HTTP_PROXY={behind_a_closed_proxy}" in out and "the course is unaffected" in out
    problems = [line for line in out.splitlines() if line.startswith("✘")]
    try:
        metadata.version("jupyterlab")
    except metadata.PackageNotFoundError:  # the test environment has no front end
        assert [p.split(":")[0] for p in problems] == [
            "✘ no notebook front end (JupyterLab 4 or Notebook 7)"
        ]
        assert result.returncode == 1
    else:
        assert problems == [] and result.returncode == 0, out
