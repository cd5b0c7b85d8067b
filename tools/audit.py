"""Audit requirements.lock for known vulnerabilities with pip-audit; accepted ones, each with its
reason, in audit-exceptions.txt.

    .venv/bin/python tools/audit.py                      # what `make audit` runs
    .venv/bin/python tools/audit.py --unreachable skip   # what CI runs (README, "Supply chain")

Exit 0: no known vulnerability but the accepted ones. 1: a finding, one line each. 2: not audited,
because no advisory source answered (or the lock or the exceptions file is wrong): one line says
why. `--unreachable skip` makes "not audited" exit 0, still saying, in one line, that nothing was
audited. Advisory sources: the OSV API at $REPORTQA_OSV_URL when it is set (a mirror a team runs:
then it alone); otherwise PyPI's per-release JSON (pip-audit's default), then osv.dev.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lock import LOCK, ROOT, read_lock  # noqa: E402

EXCEPTIONS = ROOT / "audit-exceptions.txt"
TIMEOUT = 10  # seconds for each request to an advisory source


@dataclass(frozen=True)
class Source:
    """Where pip-audit reads advisories: its service name and, for an OSV mirror, the query URL."""

    name: str  # as said to the user
    service: str  # pip-audit's -s
    url: str = ""  # an OSV query URL in place of osv.dev's


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()

    def names(self) -> str:
        return self.id + (f" ({', '.join(self.aliases)})" if self.aliases else "")


@dataclass
class Audit:
    """What one run of pip-audit over the lock found, the accepted findings set apart."""

    source: str
    packages: int
    findings: list[Finding] = field(default_factory=list)
    accepted: list[tuple[Finding, str]] = field(default_factory=list)  # with the reason
    unused: list[str] = field(default_factory=list)  # exception ids that matched nothing


def read_exceptions(path: Path) -> dict[str, str]:
    """`ID reason` per line (`#` starts a comment); every accepted vulnerability needs a reason."""
    accepted = {}
    if not path.exists():
        return accepted
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{path.name}:{number}: {vuln_id} has no reason; say why it is accepted after the id")
        accepted[vuln_id] = reason.strip()
    return accepted


def judge(report: dict, exceptions: dict[str, str], source: str) -> Audit:
    """Sort pip-audit's JSON report into findings and accepted findings (by id or any alias)."""
    audit = Audit(source, len(report["dependencies"]))
    used = set()
    for dependency in report["dependencies"]:
        for vuln in dependency.get("vulns", []):
            finding = Finding(dependency["name"], dependency["version"], vuln["id"],
                              tuple(vuln.get("aliases", [])), tuple(vuln.get("fix_versions", [])))
            matched = [i for i in (finding.id, *finding.aliases) if i in exceptions]
            if matched:
                used.update(matched)
                audit.accepted.append((finding, exceptions[matched[0]]))
            else:
                audit.findings.append(finding)
    audit.unused = sorted(set(exceptions) - used)
    return audit


def run_pip_audit(lock: Path, source: Source) -> dict:
    """pip-audit over the hashed lock, nothing installed (--disable-pip), every package answered or
    a failure (--strict). Returns its JSON report; raises RuntimeError saying why there is none."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--require-hashes", "--disable-pip",
                   "--strict", "-s", source.service, "--aliases", "on", "--desc", "off",
                   "--progress-spinner", "off", "--timeout", str(TIMEOUT), "-f", "json", "-o", str(out)]
        if source.url:
            command += ["--osv-url", source.url]
        done = subprocess.run(command, capture_output=True, text=True)
        if not out.exists():
            raise RuntimeError(_why(done.stderr) or f"pip-audit stopped (exit {done.returncode})")
        return json.loads(out.read_text())


def _why(stderr: str) -> str:
    """pip-audit's reason for giving no report, in a few words."""
    last = (stderr.strip().splitlines() or [""])[-1]
    not_found = re.search(r"([\w.-]+) \(([^)]+)\)$", last) if "Dependency not found on PyPI" in last else None
    if not_found:
        # subtle: without --strict pip-audit counts this package "skipped" and reports the lock clean.
        name, version = not_found.groups()
        return f"no advisories: the per-release JSON of {name} {version}, a release it serves, is not found"
    for needle, words in (("Failed to resolve", "its host name does not resolve"),
                          ("Connection refused", "connection refused"), ("timed out", "timed out")):
        if needle in last:
            return words
    return last[:200]


def sources() -> list[Source]:
    mirror = os.environ.get("REPORTQA_OSV_URL")
    if mirror:
        return [Source(f"the OSV mirror at {mirror}", "osv", mirror)]
    return [Source("PyPI", "pypi"), Source("osv.dev", "osv")]


def report_lines(audit: Audit, lock_name: str, exceptions_name: str) -> list[str]:
    lines = [f"audit: {f.package} {f.version}: {f.names()}, fixed in {', '.join(f.fixed_in) or 'no release yet'}: "
             f"upgrade it in {lock_name} or accept it with its reason in {exceptions_name}" for f in audit.findings]
    lines += [f"audit: {f.package} {f.version}: {f.names()} accepted: {reason}" for f, reason in audit.accepted]
    lines += [f"audit: {exceptions_name}: {i} matches no package in {lock_name} any more; remove it" for i in audit.unused]
    found = f"{len(audit.findings)} known vulnerabilit{'y' if len(audit.findings) == 1 else 'ies'}"
    lines.append(f"audit: {audit.packages} packages of {lock_name} checked against {audit.source}: {found}, "
                 f"{len(audit.accepted)} accepted in {exceptions_name}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS)
    parser.add_argument("--unreachable", choices=["fail", "skip"], default="fail",
                        help="when no advisory source answers: exit 2 (fail) or 0 (skip); both say so")
    args = parser.parse_args(argv)
    not_audited = 0 if args.unreachable == "skip" else 2
    try:
        exceptions = read_exceptions(args.exceptions)
        read_lock(args.lock)  # refuses a line that is not name==version, before pip-audit sees it
    except (ValueError, OSError) as e:
        print(f"audit: {e}", file=sys.stderr)
        return 2
    why_not = []
    for source in sources():
        try:
            audit = judge(run_pip_audit(args.lock, source), exceptions, source.name)
        except RuntimeError as e:
            why_not.append(f"{source.name}: {e}")
            continue
        for line in report_lines(audit, args.lock.name, args.exceptions.name):
            print(line)
        return 1 if audit.findings else 0
    skipped = "; skipped, as CI does when no source answers (README, \"Supply chain\")" if not not_audited else ""
    print(f"audit: NOT AUDITED, not known clean: no advisory source answered: {'; '.join(why_not)}{skipped}",
          file=sys.stderr)
    return not_audited


if __name__ == "__main__":
    sys.exit(main())
