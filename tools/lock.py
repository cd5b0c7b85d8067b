"""Pin every file `make setup` installs by its sha256, in requirements.lock.

requirements.lock names `name==version` for every package of .venv. This rewrites it with the
sha256 of the one file pip takes for each on this kind of machine (Linux x86_64, CPython 3.11: the
wheel it picks, or the sdist where there is no wheel; for torch the local CPU wheel that pip's
`find-links` points at), so that `pip install --require-hashes -r requirements.lock` installs
exactly those files and nothing else.

    .venv/bin/python tools/lock.py            # resolve the pins again, rewrite the hashes
    .venv/bin/python tools/lock.py --check    # exit 1 if the lock is not what that would write

To add or move a package, edit its `name==version` line (a stale hash may stay) and run this: pip
resolves the pins as `make setup` would (`--ignore-installed`, nothing is installed), and a
dependency that no line names is added at the version pip picks, and printed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
HEADER = """\
# Exact versions installed by `make setup`, each with the sha256 of the file pip takes for it on
# Linux x86_64 with CPython 3.11 (torch: the local CPU wheel); installed with --require-hashes.
# Written by tools/lock.py: edit a `name==version` line, then run `.venv/bin/python tools/lock.py`.
"""


@dataclass(frozen=True)
class Pin:
    """One line of the lock: a package at one version and the hashes pip may accept for it."""

    name: str  # as the lock spells it
    version: str
    hashes: tuple[str, ...] = ()  # "sha256:<hex>"

    @property
    def key(self) -> str:
        return canonical(self.name)

    def line(self) -> str:
        return " \\\n    ".join([f"{self.name}=={self.version}", *(f"--hash={h}" for h in self.hashes)])


def canonical(name: str) -> str:
    """A package name as pip compares them (PEP 503): `PyYAML`, `pyyaml` and `py_yaml` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> list[Pin]:
    """The pins of a requirements file in which every line is `name==version [--hash=...]`."""
    pins = []
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = re.split(r"(^|\s)#", line, maxsplit=1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, pinned, version = requirement.partition("==")
        if not pinned or not version or not name:
            raise ValueError(f"{path.name}: {requirement!r} is not name==version; pin it to one version")
        hashes = tuple(o.removeprefix("--hash=") for o in options if o.startswith("--hash="))
        pin = Pin(name, version, hashes)
        twice = [p for p in pins if p.key == pin.key]
        if twice:
            raise ValueError(f"{path.name}: {pin.key} is pinned twice ({twice[0].version}, {version}); keep one line")
        pins.append(pin)
    return pins


def _sha256_of(download_info: dict) -> str:
    """The sha256 of the file pip chose: hashed here when it is a local file, else the index's."""
    url = download_info["url"]
    archive = download_info.get("archive_info", {})
    known = archive.get("hashes", {}).get("sha256")
    if not known and archive.get("hash", "").startswith("sha256="):
        known = archive["hash"].removeprefix("sha256=")
    if url.startswith("file://"):
        digest = hashlib.sha256()
        with open(unquote(urlparse(url).path), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if known and known != digest.hexdigest():
            raise ValueError(f"{url}: sha256 {digest.hexdigest()} is not the index's {known}; the mirror is corrupt")
        known = digest.hexdigest()
    if not known:
        raise ValueError(f"{url}: the index gives no sha256 for it; hash the file with `pip hash` and pin it by hand")
    return f"sha256:{known}"


def resolve(pins: list[Pin]) -> list[Pin]:
    """Every package `make setup` installs for these pins, each with its file's sha256.

    Runs pip's resolver with this interpreter and pip's own configuration (indexes, find-links,
    constraints), as `make setup` does, but installs nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "pins.txt"
        requirements.write_text("".join(f"{p.name}=={p.version}\n" for p in pins))
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--report", str(report), "-r", str(requirements)],
            check=True,
        )
        chosen = json.loads(report.read_text())["install"]
    spelled = {p.key: p for p in pins}
    resolved = []
    for item in chosen:
        meta = item["metadata"]
        pinned = spelled.get(canonical(meta["name"]))
        # subtle: keep the pin as written: pip reports torch as 2.13.0+cpu, which ==2.13.0 admits.
        name, version = (pinned.name, pinned.version) if pinned else (meta["name"], meta["version"])
        resolved.append(Pin(name, version, (_sha256_of(item["download_info"]),)))
    return sorted(resolved, key=lambda p: p.key)


def render(pins: list[Pin]) -> str:
    return HEADER + "".join(p.line() + "\n" for p in pins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the lock is out of date")
    parser.add_argument("--lock", type=Path, default=LOCK)
    args = parser.parse_args(argv)
    try:
        pins = read_lock(args.lock)
        resolved = resolve(pins)
    except (ValueError, OSError) as e:
        print(f"lock: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError:
        print(f"lock: pip cannot resolve the pins of {args.lock.name} (its error above); mend the line it names",
              file=sys.stderr)
        return 2
    before = {p.key: p for p in pins}
    after = {p.key: p for p in resolved}
    changes = [f"lock: {p.name}=={p.version} added (a dependency no line named)" for k, p in after.items() if k not in before]
    changes += [f"lock: {p.name}=={p.version} is not installed by these pins; removed" for k, p in before.items() if k not in after]
    changes += [f"lock: {p.name}=={p.version} now {p.hashes[0]}" for k, p in after.items() if k in before and before[k].hashes != p.hashes]
    for line in changes:
        print(line)
    if args.check:
        if changes:
            print(f"lock: {args.lock.name} is out of date; run `.venv/bin/python tools/lock.py`", file=sys.stderr)
        return 1 if changes else 0
    args.lock.write_text(render(resolved))
    print(f"lock: {args.lock.name}: {len(resolved)} packages, each with the sha256 of its file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
