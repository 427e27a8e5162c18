"""The Content-Security-Policy holds in a real browser: pages run without inline script or style, and
an inline script that an attacker slipped into a page would not run."""

import pytest

from tests.browser.conftest import _open, login
from tests.factories import make_campaign, make_user


@pytest.fixture
def viewer(transactional_db):
    make_campaign()
    make_user("shi", role="city_viewer", password="pw-123456")


def test_an_injected_inline_script_is_refused_by_the_policy(browser, live_server, viewer):
    context, page = _open(browser, live_server, {"width": 1366, "height": 900})
    try:
        login(page, "shi", "pw-123456")
        page.goto("/?campaign=c2018&as_of=2018-06-15")
        page.wait_for_load_state("networkidle")
        # What an XSS would do: put an inline <script> (and an inline style) into the page.
        page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.__injected = true';
                document.body.appendChild(s);
                const d = document.createElement('div');
                d.id = 'injected-style';
                d.setAttribute('style', 'display: none');
                document.body.appendChild(d);
            }"""
        )
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.__injected === undefined")
        # The inline style attribute was refused too: the element keeps its default display.
        assert page.evaluate("() => getComputedStyle(document.getElementById('injected-style')).display") == "block"
        violations = " ".join(page.watch.csp_violations)
        assert "script-src" in violations and "style-src" in violations, page.watch.csp_violations
    finally:
        context.close()
