"""Per-response exceptions to the site's Content-Security-Policy (settings.CONTENT_SECURITY_POLICY).

The site's pages carry no inline script or style. Two kinds of page keep an inline <style> on
purpose, and each is allowed exactly that and nothing more:

- the error pages (500/503), which must render without any other request succeeding: their style
  blocks are allowed by hash, so only that exact CSS runs;
- self-contained documents (the notice's printable page, archived byte for byte as issued): they
  may style themselves inline but run no script and load nothing but their own data: images.
"""

import base64
import hashlib
import re

from csp.constants import NONE, SELF

_STYLE = re.compile(rb"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def allow_own_styles(response):
    """Allow the inline <style> blocks of this (non-streaming) HTML response, by their sha256."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode("ascii") + "'"
        for block in _STYLE.findall(response.content)
    ]
    if hashes:
        response._csp_update = {"style-src": hashes}
    return response


DOCUMENT_POLICY = {
    "default-src": [NONE],
    "script-src": [NONE],
    "style-src": ["'unsafe-inline'"],
    "img-src": [SELF, "data:"],
    "font-src": [SELF, "data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
}


def as_document(response):
    """A self-contained document: inline styles allowed, no script of any kind, nothing fetched."""
    response._csp_replace = DOCUMENT_POLICY
    return response
