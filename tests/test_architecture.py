"""The floors of docs/architecture.md hold: no app imports an app above it.

`make test` runs `lint-imports` on the tree; these tests show that the contract is real: it passes
on the code as it is and fails on a copy of the code with one planted upward import, whether the
import sits at the top of a module or inside a function.
"""

import shutil
import subprocess  # nosec B404  # runs lint-imports with fixed arguments
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("siwu", "demo", "reports", "inspections", "enterprises", "campaign", "core", "notify", "fieldsync")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree):
    return subprocess.run(  # nosec B603  # fixed arguments, no shell
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the packages and of pyproject.toml (the contract), without caches or media."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_the_floors(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "message"),
    [
        # The ground floor reaching into the campaign, at module level.
        ("core/numbers.py", "from campaign.models import Campaign  # noqa\n", "core is not allowed to import campaign"),
        # The units reaching into the inspections inside a function (the shape the unit page once had).
        (
            "enterprises/services.py",
            "def planted():\n    from inspections.models import Finding  # noqa\n",
            "enterprises is not allowed to import inspections",
        ),
        # A domain app reaching the demo on the top floor.
        ("reports/rules.py", "import demo.city  # noqa\n", "reports is not allowed to import demo"),
    ],
)
def test_a_planted_upward_import_breaks_the_contract(tree, module, planted, message):
    path = tree / module
    path.write_text(path.read_text() + "\n\n" + planted)
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "0 kept, 1 broken" in result.stdout
    assert message in result.stdout
