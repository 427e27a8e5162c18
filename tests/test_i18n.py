"""The translation catalogs are complete and their compiled .mo files match the .po sources."""

import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[1] / "locale"
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
_ENTRY = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text):
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def parse_po(path):
    """[(msgctxt, msgid, [msgstr…], fuzzy)] of the active (not obsolete) entries."""
    entries, current, key, fuzzy = [], {}, None, False

    def flush():
        nonlocal current, fuzzy
        if "msgid" in current:
            strs = [v for k, v in sorted(current.items()) if k.startswith("msgstr")]
            entries.append((current.get("msgctxt"), current["msgid"], strs, fuzzy))
        current, fuzzy = {}, False

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if line.startswith("#"):
            continue
        match = _ENTRY.match(line)
        if match:
            key = match.group(1)
            if key in current and key == "msgid":
                flush()
            current[key] = _unquote(match.group(2))
        elif line.startswith('"') and key:
            current[key] += _unquote(line[1:-1])
    flush()
    return [e for e in entries if e[1]]


def test_there_is_an_english_and_a_simplified_chinese_catalog():
    languages = {path.parts[-3] for path in CATALOGS}
    assert {"en", "zh_Hans"} <= languages


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_every_entry_is_translated_and_not_fuzzy(po):
    missing = [msgid for _ctx, msgid, strs, fuzzy in parse_po(po) if fuzzy or not all(strs)]
    assert missing == []


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_compiled_catalog_matches_its_source(po):
    with open(po.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for ctx, msgid, strs, _fuzzy in parse_po(po):
        if ctx is not None:
            assert compiled.pgettext(ctx, msgid) == strs[0], (ctx, msgid)
        elif len(strs) == 1:
            assert compiled.gettext(msgid) == strs[0], msgid
