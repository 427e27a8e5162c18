"""The vendored plotly.js loads nothing from outside: government intranets have no internet."""

import re
from pathlib import Path

import plotly.offline

VENDORED = Path(__file__).resolve().parents[2] / "static" / "vendor" / "plotly.min.js"
# Addresses the bundle only names: XML namespaces, and licence and help links shown as text.
NAMED_ONLY = {"www.w3.org", "github.com", "plotly.com", "getify.mit-license.org", "syntheti.cc"}


def test_the_vendored_bundle_names_no_server_it_could_load_from():
    text = VENDORED.read_text(encoding="utf-8")
    hosts = set(re.findall(r"https?://([A-Za-z0-9.-]+)", text))
    assert hosts <= NAMED_ONLY, hosts - NAMED_ONLY
    assert 'dflt:"/static/vendor/topojson/"' in text and 'plotlyServerURL:{valType:"string",dflt:""}' in text


def test_the_vendored_bundle_is_the_plotly_js_the_python_package_pins():
    """reports/charts.py reads the plotly package's templates: the drawing code must be the same version."""
    pinned = re.search(r"v(\d+\.\d+\.\d+)", plotly.offline.get_plotlyjs()[:200]).group(1)
    assert (
        re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", VENDORED.read_text(encoding="utf-8")[:200])[1]
        == pinned
    )
