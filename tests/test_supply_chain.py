"""The supply chain: requirements.lock pins, with a sha256, every package that .venv holds and
everything they need."""
from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from conftest import ROOT
from tools.lock import canonical, read_lock

PINS = read_lock(ROOT / "requirements.lock")
PINNED = {p.key: p for p in PINS}


def _admits(requirement: Requirement, version: str) -> bool:
    return requirement.specifier.contains(Version(version), prereleases=True)


def test_every_pin_has_the_sha256_of_a_file():
    assert len(PINS) > 50
    unhashed = [f"requirements.lock: {p.name}=={p.version} has no --hash=sha256:<64 hex>; run tools/lock.py"
                for p in PINS if not p.hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in p.hashes)]
    assert not unhashed, "\n".join(unhashed)
    assert "torch" in PINNED and "pip-audit" in PINNED and PINNED["hypothesis"].version == "6.170.17"


def test_the_venv_holds_what_the_lock_pins():
    problems = []
    for pin in PINS:
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            problems.append(f"requirements.lock: {pin.name}=={pin.version} is not installed; run `make setup`")
            continue
        # ==2.13.0 admits torch's 2.13.0+cpu, as pip does
        if not _admits(Requirement(f"{pin.name}=={pin.version}"), installed):
            problems.append(f"requirements.lock: {pin.name}=={pin.version} but {installed} is installed; "
                            "run `make setup` (or pin what is installed and run tools/lock.py)")
    assert not problems, "\n".join(problems)


def test_the_lock_pins_everything_the_project_and_its_pins_need():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [("pyproject.toml", r) for r in project["dependencies"]]
    wanted += [(f"pyproject.toml [{extra}]", r) for extra, rs in project["optional-dependencies"].items() for r in rs]
    for pin in PINS:
        try:
            wanted += [(f"{pin.name}=={pin.version}", r) for r in metadata.requires(pin.name) or []]
        except metadata.PackageNotFoundError:
            pass  # the test above names it
    problems = []
    for needed_by, text in wanted:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        pin = PINNED.get(canonical(requirement.name))
        if pin is None:
            problems.append(f"requirements.lock: {needed_by} needs {requirement}, which no line pins; "
                            "add it and run tools/lock.py")
        elif not _admits(requirement, pin.version):
            problems.append(f"requirements.lock: {needed_by} needs {requirement}, but it pins {pin.name}=={pin.version}")
    assert not problems, "\n".join(problems)
