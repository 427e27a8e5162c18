"""A pytest plugin (loaded with `-p tests.settings_env`, before pytest-django reads the settings).

The settings default to production (DEBUG off, SECRET_KEY required). The suite imports them as a
developer's machine would: DEBUG on at import (static files from static/, no HTTPS redirect) and a
key of its own. pytest-django still runs every test with DEBUG off. Subprocess tests that check
the production settings (tests/ops/test_deploy.py) drop both variables and give their own.
"""

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "test-suite-only-key-never-used-by-a-server-0123456789abcdef")
