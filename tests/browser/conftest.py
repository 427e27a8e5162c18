"""Real headless Chromium (Debian's package) driven by Playwright, against pytest-django's live server.

No browser is ever downloaded: Playwright launches /usr/bin/chromium. Without it the browser tests
skip with a message, except under CI (CI=true), where a missing browser fails the run.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests make
# there are still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts"))
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"chromium not found at {CHROMIUM}: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageWatch:
    """What a page did that a test must not allow: console errors, requests leaving the server, and
    anything the Content-Security-Policy refused (every browser test fails on a violation)."""

    def __init__(self, origin):
        self.origin = origin
        self.console_errors = []
        self.outside_requests = []
        self.csp_violations = []

    def on_console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def on_request(self, request):
        url = request.url
        if not (url.startswith(self.origin) or url.startswith("data:") or url.startswith("blob:")):
            self.outside_requests.append(url)


def _open(browser, live_server, viewport, language="zh-CN"):
    context = browser.new_context(viewport=viewport, locale=language, base_url=live_server.url)
    page = context.new_page()
    watch = PageWatch(live_server.url)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.console_errors.append(str(exc)))
    page.on("request", watch.on_request)
    page.watch = watch
    return context, page


@pytest.fixture
def page(browser, live_server):
    """A desktop page; fails the test if it requested anything outside the test server."""
    context, page = _open(browser, live_server, DESKTOP)
    yield page
    context.close()
    assert page.watch.outside_requests == [], page.watch.outside_requests
    assert page.watch.csp_violations == [], page.watch.csp_violations


@pytest.fixture
def phone_page(browser, live_server):
    """A 360×740 phone viewport, as township staff use the product in the field."""
    context, page = _open(browser, live_server, PHONE)
    yield page
    context.close()
    assert page.watch.outside_requests == [], page.watch.outside_requests
    assert page.watch.csp_violations == [], page.watch.csp_violations


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under test-artifacts/ (CI lists the folder in its log)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username, password):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action$='/login/'] button[type=submit], main form button[type=submit]")
    page.wait_for_load_state("networkidle")
