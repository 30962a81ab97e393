"""Ticket keys: a task pasted from a tracker is matched on its work, not on its key."""

from __future__ import annotations

import pytest

from classifier.model.ticket_keys import without_ticket_keys

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
    # keys that are the work's meaning, and texts with no key, stay as they are
    ("COVID-19 booster clinic", "COVID-19 booster clinic"),
    ("ISO-9001 audit prep (SOC-2 too)", "ISO-9001 audit prep (SOC-2 too)"),
    ("Buy 3-4 chairs for room B-2", "Buy 3-4 chairs for room B-2"),
    ("OPS-12", "OPS-12"),
])
def test_a_tasks_ticket_key_is_not_read_as_its_work(text, expected):
    assert without_ticket_keys(text) == expected


@pytest.mark.parametrize("keyed", [f"OPS-4411: {TASK}", f"[WID-1554] {TASK}", f"{TASK} (JIRA-7)"])
def test_a_keyed_task_gets_the_answer_of_its_text_and_keeps_its_text(classifier, keyed):
    plain, with_key = classifier.classify([TASK, keyed])
    assert with_key.text == keyed
    assert (with_key.strategy_id, with_key.score, with_key.status) == (
        plain.strategy_id, plain.score, plain.status)
