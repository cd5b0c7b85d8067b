"""The supply chain: requirements.lock pins, with a sha256, every package that .venv holds and
everything they need; tools/audit.py turns pip-audit's answer into findings, accepted findings
(audit-exceptions.txt) or one "not audited" line. A loopback OSV server stands in for the
advisory database, which tests never reach."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@pytest.mark.parametrize("text, message", [
    ("numpy>=2\n", "lock.txt: 'numpy>=2' is not name==version; pin it to one version"),
    ("PyYAML==6.0.4\npyyaml==6.0.3\n", "lock.txt: pyyaml is pinned twice (6.0.4, 6.0.3); keep one line"),
])
def test_read_lock_refuses_what_require_hashes_cannot_install(tmp_path, text, message):
    (tmp_path / "lock.txt").write_text(text)
    with pytest.raises(ValueError) as refused:
        read_lock(tmp_path / "lock.txt")
    assert str(refused.value) == message


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


# --- tools/audit.py against a stand-in advisory database ---------------------------------------

ADVISORY = {
    "id": "GHSA-test-0001",
    "aliases": ["CVE-2099-0001"],
    "summary": "a made-up advisory for the test",
    "affected": [{"package": {"name": "jinja2", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.7"}]}]}],
}


class _OSV(BaseHTTPRequestHandler):
    """The OSV query API (POST /v1/query) knowing one advisory, for jinja2."""

    asked: list[str] = []

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        type(self).asked.append(name)
        body = json.dumps({"vulns": [ADVISORY]} if name == "jinja2" else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def osv_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OSV)
    _OSV.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def _audit(tmp_path, osv_url, exceptions="", *options):
    lock = tmp_path / "requirements.lock"
    lock.write_text("".join(PINNED[k].line() + "\n" for k in ("jinja2", "markupsafe")))
    accepted = tmp_path / "audit-exceptions.txt"
    accepted.write_text(exceptions)
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "audit.py"), "--lock", str(lock),
                           "--exceptions", str(accepted), *options],
                          capture_output=True, text=True, timeout=120, env={"REPORTQA_OSV_URL": osv_url, "PATH": ""})
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_audit_names_a_finding_and_fails(tmp_path, osv_url):
    code, out = _audit(tmp_path, osv_url)
    assert code == 1, out
    assert "audit: jinja2 3.1.6: CVE-2099-0001 (GHSA-test-0001), fixed in 3.1.7: upgrade it" in out, out
    assert "2 packages of requirements.lock checked against the OSV mirror" in out, out
    assert "1 known vulnerability, 0 accepted" in out, out
    assert sorted(set(_OSV.asked)) == ["jinja2", "markupsafe"]


@pytest.mark.slow
def test_audit_accepts_a_finding_by_alias_with_its_reason(tmp_path, osv_url):
    # pip-audit reports the CVE first and the advisory's own id among its aliases: either matches
    code, out = _audit(tmp_path, osv_url, "# accepted\nGHSA-test-0001 the app renders no untrusted template\n"
                                          "PYSEC-2099-9 gone since\n")
    assert code == 0, out
    assert "jinja2 3.1.6: CVE-2099-0001 (GHSA-test-0001) accepted: the app renders no untrusted template" in out, out
    assert "PYSEC-2099-9 matches no package in requirements.lock any more; remove it" in out, out
    assert "0 known vulnerabilities, 1 accepted" in out, out


@pytest.mark.slow
def test_audit_refuses_an_exception_without_a_reason(tmp_path, osv_url):
    code, out = _audit(tmp_path, osv_url, "GHSA-test-0001\n")
    assert (code, out.strip()) == (2, "audit: audit-exceptions.txt:1: GHSA-test-0001 has no reason; "
                                      "say why it is accepted after the id")


@pytest.mark.slow
def test_audit_says_when_nothing_was_audited(tmp_path):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}/v1/query"  # bound, never answers: closed below
    code, out = _audit(tmp_path, url)
    assert code == 2 and out.count("\n") == 1, out
    assert out.startswith("audit: NOT AUDITED, not known clean: no advisory source answered: the OSV mirror"), out
    code, out = _audit(tmp_path, url, "", "--unreachable", "skip")
    assert code == 0 and "NOT AUDITED" in out and "skipped, as CI does" in out, out
