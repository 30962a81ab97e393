"""A task pasted from a tracker or a chat is matched on its work, not on its key, link, mention,
list marker, closing full stop or the HTML of a rich-text field."""

from __future__ import annotations

import pytest

from classifier.model.work_text import readable, work_text

TASK = "Call the 12 customers whose service plans expire this month"


@pytest.mark.parametrize(("text", "expected"), [
    ("OPS-123: Fix the printer", "Fix the printer"),
    ("OPS-123 Fix the printer", "Fix the printer"),
    ("[WID-1554] Call Lakeview Farms", "Call Lakeview Farms"),
    ("Send the reminder (WMS-1554) for week 5", "Send the reminder for week 5"),
    ("Fix the printer (JIRA-42)", "Fix the printer"),
    ("Fix the printer - OPS-9", "Fix the printer"),
    ("#42 Fix the roof", "Fix the roof"),
    ("OPS-1: map the process,\nfind the delays", "map the process,\nfind the delays"),
    ("Fix the login page https://intranet.example.com/login?x=1", "Fix the login page"),
    ("Send the price list to buyer@northgate.example.com today", "Send the price list to today"),
    ("@maria please renew the service plans", "please renew the service plans"),
    ("Check www.example.com/pricing, update our prices", "Check , update our prices"),
    # keys that are the work's meaning, and texts with no key, stay as they are
    ("COVID-19 booster clinic", "COVID-19 booster clinic"),
    ("ISO-9001 audit prep (SOC-2 too)", "ISO-9001 audit prep (SOC-2 too)"),
    ("AS-9100 audit of the machining line", "AS-9100 audit of the machining line"),
    ("FY-2026 budget: first draft", "FY-2026 budget: first draft"),
    ("Q3-2026 review with the dealers", "Q3-2026 review with the dealers"),
    ("Buy 3-4 chairs for room B-2", "Buy 3-4 chairs for room B-2"),
    ("OPS-12", "OPS-12"),
    # rich text as trackers export it: its text, a line per paragraph (pieces split there)
    ("<div>Fix the printer</div><div><br></div>", "Fix the printer"),
    ("<p>Order <b>stick</b>ers.<br>Brief the volunteers.</p>",
     "Order stickers\nBrief the volunteers"),
    ('<div><span style="font-size:11pt">OPS-12: Fix&nbsp;the printer</span></div>',
     "Fix the printer"),
    ("<style>p {color: red}</style><ul><li>Map the process</li><li>Find the delays</li></ul>",
     "Map the process\nFind the delays"),
    ('<a href="https://wiki.example.com/x">Design doc</a> for the widget',
     "Design doc for the widget"),
    ("R&amp;D budget &#8211; first draft", "R&D budget \u2013 first draft"),
    # a list's marker or check box, on each line, kept in a .txt file or a cell as in the box
    ("- [ ] OPS-12: Fix the printer", "Fix the printer"),
    ("2. Fix the printer", "Fix the printer"),
    ("\u2022 Map the process\n\u2022 Find the delays", "Map the process\nFind the delays"),
    ("<ul><li>- Map the process</li></ul>", "Map the process"),
    ("2026. Plan the budget", "2026. Plan the budget"),
    ("-5% cost on freight", "-5% cost on freight"),
    ("A. Smith to call the bank", "A. Smith to call the bank"),
    ("- [ ]", "- [ ]"),
    # a line's closing full stop, not one inside it
    ("Fix the printer.", "Fix the printer"),
    ("Fix the printer. - OPS-12", "Fix the printer"),
    ("Pay Acme Inc. on time.  ", "Pay Acme Inc. on time"),
    ("Map the process...\nFind the delays .", "Map the process\nFind the delays"),
    ("Raise prices by 2.5", "Raise prices by 2.5"),
    ("...", "..."),
    # a text that only mentions a tag, or compares, is not HTML
    ("Fix the <title> tag on the home page", "Fix the <title> tag on the home page"),
    ("Keep stock < 40 units and lead time > 3 days", "Keep stock < 40 units and lead time > 3 days"),
    ("<div></div>", "<div></div>"),
    # Markdown and Jira markup, as a tracker keeps a field: the words as it shows them
    ("**Call the customers**", "Call the customers"),
    ("### Call the customers\n*Renewals* first", "Call the customers\nRenewals first"),
    ("h3. Call the customers", "Call the customers"),
    ("{color:#172B4D}Call the customers{color}", "Call the customers"),
    ("[Renewal list|https://acme.atlassian.net/wiki/x] call-through",
     "Renewal list call-through"),
    ("Read [the renewal memo](https://x.example/memo) first", "Read the renewal memo first"),
    ("Upgrade {{kubectl}} and `helm`", "Upgrade kubectl and helm"),
    ("- [ ] **_Call_** the customers.", "Call the customers"),
    ("{code:sql}select 1{code}", "select 1"),
    # ... and what only looks like it: the task's own words
    ("Pay 5 * 3 * 2 invoices", "Pay 5 * 3 * 2 invoices"),
    ("Rename snake_case_vars in the export", "Rename snake_case_vars in the export"),
    ("# of users per week on the dashboard", "# of users per week on the dashboard"),
    ("Update the h1. tag", "Update the h1. tag"),
    ("Call C*O*O and a **b", "Call C*O*O and a **b"),
    ("**", "**"),
])
def test_a_tasks_key_link_or_mention_is_not_read_as_its_work(text, expected):
    assert work_text(text) == expected


@pytest.mark.parametrize("keyed", [f"OPS-4411: {TASK}", f"[WID-1554] {TASK}", f"{TASK} (JIRA-7)",
                                   f"{TASK} https://tracker.example.com/browse/OPS-4411 @tom",
                                   f'<div><span style="font-size:11pt">{TASK}</span></div>',
                                   f"<p>{TASK}<br></p>", f"- [ ] {TASK}", f"3) {TASK}",
                                   f"\u2022 {TASK}", f"{TASK}.", f"- {TASK}. ",
                                   f"**{TASK}**", f"## {TASK}", f"h2. {TASK}",
                                   f"{{color:#172B4D}}{TASK}{{color}}"])
def test_a_keyed_task_gets_the_answer_of_its_text_and_keeps_its_text(classifier, keyed):
    plain, with_key = classifier.classify([TASK, keyed])
    assert with_key.text == keyed
    assert (with_key.strategy_id, with_key.score, with_key.status) == (
        plain.strategy_id, plain.score, plain.status)


@pytest.mark.parametrize(("text", "shown"), [
    ('<div><span style="font-size:11pt">OPS-12: Fix&nbsp;the printer</span></div>',
     "OPS-12: Fix the printer"),
    ("<p>Order stickers.</p><p>Brief the volunteers.</p>", "Order stickers.\nBrief the volunteers."),
    ("OPS-12: Fix the printer  https://x.example.com", "OPS-12: Fix the printer  https://x.example.com"),
    ("Fix the <title> tag", "Fix the <title> tag"),
])
def test_a_person_reads_a_rich_text_task_as_its_text_with_its_key(text, shown):
    assert readable(text) == shown
