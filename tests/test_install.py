"""Reproducible installs: the virtual environment holds exactly what ``requirements.lock`` pins.

``make install`` installs the lock with ``pip install --require-hashes`` and then the project with
``--no-deps``; these tests check the result, and that the lock still covers what pyproject.toml asks for
(a dependency added without ``make lock`` fails here, not on an office's server).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .helpers import ROOT

LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked() -> dict[str, str]:
    """{canonical name: version} of every pin in the lock."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            assert name not in pins, f"{name} pinned twice"
            pins[name] = match[2]
    return pins


def installed() -> dict[str, str]:
    """{canonical name: version} from ``pip freeze`` of the running interpreter, without the project."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        if not line or line.startswith("#"):
            continue
        assert "==" in line, f"not installed from the lock (a URL or path install): {line}"
        name, version = line.split("==", 1)
        found[canonicalize_name(name)] = version
    return found


def test_every_pin_in_the_lock_has_hashes() -> None:
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])  # after the two header lines
    pins = [b for b in blocks if PIN.match(b)]
    assert len(pins) == len(locked()) > 20
    without = [b.split()[0] for b in pins if "--hash=sha256:" not in b]
    assert without == [], f"pins without a hash: {without}"


def test_the_environment_holds_exactly_the_locked_versions() -> None:
    lock, venv = locked(), installed()
    missing = {n: v for n, v in lock.items() if n not in venv}
    other = {n: f"{venv[n]} (locked {v})" for n, v in lock.items() if n in venv and venv[n] != v}
    extra = {n: v for n, v in venv.items() if n not in lock}
    assert (missing, other, extra) == ({}, {}, {}), (
        "the virtual environment differs from requirements.lock (missing, other version, not locked); "
        "run `make install` (or `make clean install`)"
    )


def test_the_lock_covers_every_dependency_pyproject_names() -> None:
    """Every requirement (dependencies and the test extra) is pinned within its range: edit pyproject.toml
    without `make lock` and this fails."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = locked()
    problems = []
    for spec in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name not in lock:
            problems.append(f"{spec}: not in the lock")
        elif not requirement.specifier.contains(lock[name], prereleases=True):
            problems.append(f"{spec}: the lock has {lock[name]}")
    assert problems == [], "pyproject.toml and requirements.lock disagree; run `make lock`: " + "; ".join(problems)
