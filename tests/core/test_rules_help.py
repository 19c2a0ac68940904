"""Rule numbers on console pages link to their plain-words help (core.rules)."""

import re

import pytest
from django.urls import reverse

from core.middleware import RuleLinkMiddleware
from core.rules import RULES


def test_every_rule_of_the_billing_rules_has_plain_words():
    expected = {f"R{n}" for n in range(1, 36)} | {"R7a", "R11b"}
    assert set(RULES) == expected
    assert all(title and text for title, text in RULES.values())
    assert not any(re.search(r"R\d", title + text) for title, text in RULES.values())


def test_a_rule_number_in_text_becomes_a_link_but_never_inside_a_tag_or_an_option():
    html = (
        '<p title="refused (R17)">refused: duplicate file (R17)</p>'
        "<select><option>duplicate (R17)</option></select>"
        "<script>var x = '(R17)';</script><p>unknown (R99)</p>"
    )
    linked = RuleLinkMiddleware.link_rules(html, "/help/rules/")
    assert linked.count('href="/help/rules/#R17"') == 1
    assert '<p title="refused (R17)">refused: duplicate file <a class="rule-ref"' in linked
    assert "<option>duplicate (R17)</option>" in linked
    assert "var x = '(R17)';" in linked
    assert "unknown (R99)" in linked  # not a rule: left as written


@pytest.mark.django_db
def test_the_help_page_explains_each_rule_and_pages_link_to_it(
    golden_subscribers, auditor, console_client_for
):
    client = console_client_for(auditor)
    help_page = client.get(reverse("help-rules")).content.decode()
    assert 'id="R16"' in help_page and "records read = accepted + rejected" in help_page
    usage_files = client.get(reverse("charging:usagefile-list")).content.decode()
    assert "Balanced (R16)" not in usage_files
    assert 'href="/help/rules/#R16"' in usage_files
