"""Splitting a text into the phrases that can stand on their own: the things a strategy's
description names (plan.Strategy.phrases) and the pieces of work a long task names
(model/pieces.py). Both read line breaks and list markers as a writer means them: a
description written as a bulleted list names one thing per bullet.
"""

from __future__ import annotations

import re

# Where a description goes from one thing it names to the next: a comma, a semicolon, a line
# break, a spaced bar, slash or dot ("shops | dealers", "Basic / Pro"), the end of a sentence,
# or an "and" that joins two phrases (two words or more follow it). One vector per phrase beside
# the whole statement lets a task about one of them (a single target of a broad goal) meet the
# strategy without being outvoted by the rest of its description. Measured without examples
# (benchmarks/accuracy.py): SDG top-1 0.534 -> 0.565, the sample plan without examples 0.610 ->
# 0.662; as separate texts only (outside the prototype) they changed nothing.
# A task's pieces split at the same places but not at "and", which in a task mostly joins the
# things one piece of work is about ("Order logo stickers and pens for event giveaways").
PIECE_BREAK = re.compile(r"[,;\n\r]|\s[|/·•]\s|(?<=[.!?])\s+")
PHRASE_BREAK = re.compile(PIECE_BREAK.pattern + r"| and (?=[a-z]+ )")
# "- ", "* ", "• ", "1. ", "2) ", "a) " at the start of a line of a list.
LIST_MARKER = re.compile(r"^(?:[-*•·–—]+|\(?(?:\d{1,2}|[a-zA-Z])[.)])\s+")
# In front of a task: "- ", "* ", "• ", "1. ", "2) ", "[ ] ", "- [x] " (a list or a checklist
# pasted, or kept one a line in a .txt file); a number of at most three digits, so a year
# ("2026. Plan the budget") stays. No letters ("A. Smith to call the bank").
TASK_MARKER = re.compile(r"^\s*(?:(?:[-*+\u2022\u25e6\u25aa\u2023\u2013\u2014]|\d{1,3}[.)])\s+)?"
                         r"(?:\[[ xX]\](?:\s+|$))?")
MIN_WORDS = 3  # "achieve food security" stands alone; "Promote peaceful" or "Rooms" does not
# A description that lists things ("freeze account, routing, pin change, balance") names one
# thing per item however short it is; in a sentence a short piece is a fragment instead
# ("Design, test and launch ...", "affordable, reliable, sustainable and modern energy"). A list:
# three items or more, most of them under MIN_WORDS. Set from reading plans, not from a measure;
# measured after (benchmarks/accuracy.py, "CLINC domains", whose descriptions are such lists):
# top-1 0.615 -> 0.863, SDG and the sample plan unchanged.
MIN_ITEMS = 3


def _parts(text: str, breaks: re.Pattern[str]) -> list[str]:
    parts = (LIST_MARKER.sub("", part.strip()).strip() for part in breaks.split(text))
    return [part for part in parts if part]


def phrases_of(text: str, breaks: re.Pattern[str], skip: str = "",
               min_words: int = MIN_WORDS) -> list[str]:
    """The phrases of `text` between `breaks`, list markers off, of `min_words` words or more
    and not equal to `skip`, when there are two or more (one alone says nothing new)."""
    found = [part for part in _parts(text, breaks) if len(part.split()) >= min_words
             and part != skip]
    return found if len(found) > 1 else []


def description_phrases(text: str, skip: str = "") -> list[str]:
    """What a strategy's description names: each item when it is a list of short items, else
    its phrases of MIN_WORDS words or more (`phrases_of`)."""
    items = _parts(text, PIECE_BREAK)
    short = sum(len(item.split()) < MIN_WORDS for item in items)
    if len(items) >= MIN_ITEMS and 2 * short > len(items):
        found = phrases_of(text, PIECE_BREAK, skip, min_words=1)
    else:
        found = phrases_of(text, PHRASE_BREAK, skip)
    # A phrase said twice is one thing named (a pasted paragraph repeated 40 times was listed,
    # and weighed in the strategy's prototype, 40 times).
    unique = list(dict.fromkeys(found))
    return unique if len(unique) > 1 else []


def without_marker(line: str) -> str:
    """A line without the list marker or check box in front of its task (the line when that
    is all)."""
    task = TASK_MARKER.sub("", line, count=1)
    return task if task.strip() else line
