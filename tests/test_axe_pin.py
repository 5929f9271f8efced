"""axe-core, the browser journeys' accessibility checker, is pinned: one exact version, the same in
package.json, in package-lock.json (what `npm ci` installs) and in node_modules once installed.

A range in package.json, or a lock that says another version, would let two runs check pages with
two different sets of rules.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXACT = re.compile(r"\d+\.\d+\.\d+")


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def declared() -> str:
    package = read(ROOT / "package.json")
    assert package.get("private") is True, "package.json is a test tool list, never published"
    assert not package.get("dependencies"), "the portal runs no Node.js: devDependencies only"
    version = package["devDependencies"]["axe-core"]
    assert EXACT.fullmatch(version), f"axe-core must be pinned to one version, not {version!r}"
    return version


def test_the_lock_installs_the_version_package_json_declares(declared):
    lock = read(ROOT / "package-lock.json")
    packages = lock["packages"]
    assert packages[""]["devDependencies"]["axe-core"] == declared, "run `npm install`"
    axe = packages["node_modules/axe-core"]
    assert axe["version"] == declared
    assert axe["integrity"].startswith("sha512-")
    assert axe["resolved"].startswith("https://registry.npmjs.org/axe-core/")
    assert axe.get("dev") is True


def test_the_installed_axe_core_is_the_locked_one(declared):
    installed = ROOT / "node_modules" / "axe-core" / "package.json"
    if not installed.exists():
        pytest.skip("axe-core is not installed here (`make test` runs `npm ci`)")
    version = read(installed)["version"]
    assert version == declared, f"node_modules has axe-core {version}: run `npm ci`"
