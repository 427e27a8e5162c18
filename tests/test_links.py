"""core.links.pk_links: one reverse for many links, each the URL reverse() gives."""

import pytest
from django.urls import reverse, set_script_prefix
from django.utils import translation

from core.links import pk_links


@pytest.mark.parametrize("viewname", ["enterprises:detail", "inspections:finding", "reports:township"])
@pytest.mark.parametrize("prefix", ["/", "/siwu/"])
def test_each_link_is_what_reverse_gives(viewname, prefix):
    set_script_prefix(prefix)
    try:
        with translation.override("en"):
            link = pk_links(viewname)
            for pk in (1, 7, 42, 918273645, 10**12):
                assert link(pk) == reverse(viewname, args=[pk])
            assert link(3).startswith(prefix)
    finally:
        set_script_prefix("/")


def test_a_key_that_is_not_an_integer_is_refused():
    link = pk_links("enterprises:detail")
    with pytest.raises(ValueError):
        link("1/../../admin")
