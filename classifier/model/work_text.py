"""A task's work, without what a tracker or a chat adds around it: ticket keys ("OPS-123: ",
"[WID-1554]", "(JIRA-42)", "#42 "), links, e-mail addresses and @mentions name an entry, a page or
a person, not the work, yet a small model reads meaning into them ("WID" near widgets, "OPS" near
operations). On the sample plan keys moved 12-22% of tasks to another strategy and cost 3-10
points of top-1; a link at the end moved 14%. Rich-text fields that trackers export as HTML
(Azure Boards, ServiceNow: "<div>Call the customers</div>") are read as their text: the markup
alone moved 14-37% of the sample's and two written plans' tasks, and so is Markdown or Jira
markup ("**Call**", "h3. Call"); a list's marker or check box
("- [ ] ", "2. ", "• ") changed the strategy or status of 9-31% of the tasks of the sample and
three written plans, whether pasted or kept one a line in a file. Tasks are matched on
their work; what is stored and written is the text as given (a person, and the LLM, read a
rich-text task as its text: `readable`). Written here because no library knows tracker keys;
the rules are few on purpose.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from ..phrases import without_marker

# Prefixes that name a thing rather than a tracker project ("COVID-19 booster clinic",
# "ISO-9001 audit", "SOC-2 report", "AS-9100 audit") or a time ("FY-2026 budget", "Q3-2026
# review"): a key with one of them is part of the work's meaning.
MEANINGFUL = frozenset({"COVID", "SARS", "MERS", "ISO", "IEC", "EN", "IEEE", "ASTM", "DIN", "BS",
                        "NIST", "SOC", "PCI", "GPT", "HL", "FHIR", "IPV", "AS", "ANSI", "SAE",
                        "IATF", "UL", "MIL", "FY", "Q1", "Q2", "Q3", "Q4", "H1", "H2"})
_KEY = r"[A-Z][A-Z0-9]{1,9}-\d+"
_PREFIX = re.compile(r"([A-Z][A-Z0-9]{1,9})-\d")
_SEPARATOR = r"[:|\-\u2013\u2014]"
_LEADING = re.compile(rf"^\s*(?:[\[(]\s*{_KEY}\s*[\])]|{_KEY}|#\d+)\s*{_SEPARATOR}?\s+")
_BRACKETED = re.compile(rf"\s*[\[(]\s*{_KEY}\s*[\])]")
# A link ends before a comma, a semicolon or closing punctuation (they still split pieces).
_LINK = re.compile(r"(?:https?://|www\.)[^\s,;]*[^\s,;.!?)\]]|[\w.+-]+@[\w-]+\.[\w.-]+|(?<!\w)@\w[\w.-]*")
_SPACES = re.compile(r"[ \t]{2,}")  # what a removed key leaves; line breaks stay (pieces)
_TRAILING = re.compile(rf"\s*{_SEPARATOR}\s*{_KEY}\s*$")
# A line's closing full stop is a writer's habit, not the work, yet it moved 10-12% of the
# sample's tasks to another strategy or status, and top-1 with it was lower or the same on
# every set (the sample 0.779 against 0.792, parks 0.875 against 0.917).
_FULL_STOP = re.compile(r"(?<=[^\s.])[ \t]*\.+[ \t]*$", re.MULTILINE)


# Tags of rich text as trackers export it; a text holding none of them ("Fix the <title> tag",
# "a < b") is not HTML. Block tags end a line, so a description's paragraphs stay pieces.
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4",
                    "h5", "h6", "blockquote", "pre", "hr"})
_CELLS = frozenset({"td", "th"})
_INLINE = frozenset({"span", "b", "i", "u", "s", "em", "strong", "a", "font", "code", "thead",
                     "tbody", "img", "sub", "sup", "del", "ins", "small", "mark"})
_HIDDEN = frozenset({"style", "script"})  # what a rich-text editor pasted from Word may carry
_TAG = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCK | _CELLS | _INLINE))})(?:\s[^<>]*)?/?>",
                  re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});")

# Markdown and Jira wiki markup, as a tracker keeps a field written in its editor (Jira, GitHub,
# GitLab, Linear): around every task it moved up to a sixth of a plan's tasks to another strategy
# or status. Only forms that cannot be a task's own words: a heading's marks at a line's start
# ("## ", "h3. "; one "#" may mean "number": "# of users"), paired emphasis around words
# ("**Call**", "*Call*", "_draft_"; never "5 * 3" or "snake_case"), a link's text without its
# address, Jira's {color} and {code}.
_HEADING = re.compile(r"^[ \t]*(?:#{2,6}|h[1-6]\.)[ \t]+(?=\S)", re.MULTILINE)
_MACRO = re.compile(r"\{(?:color|code|noformat|quote|panel)(?::[^{}\n]*)?\}", re.IGNORECASE)
_MONOSPACE = re.compile(r"\{\{([^{}\n]+)\}\}")
_MARKED_LINK = re.compile(r"\[([^\[\]\n|]+)\](?:\((?:https?://|www\.|/|#)[^)\s]*\))"
                          r"|\[([^\[\]\n|]+)\|(?:https?://|www\.|mailto:|~)[^\]\s]*\]")
_EMPHASIS = re.compile(r"(?<![\w*_`~])(\*\*|__|\*|_|`|~~)(?=\S)([^\n]+?)(?<=\S)\1(?![\w*_`~])")


class _Text(HTMLParser):
    """The text of an HTML fragment, a line per block (stdlib's parser: forgiving and exact)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        self._apart(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        self._apart(tag)

    def _apart(self, tag: str) -> None:
        # As a browser shows it: "<b>Widget</b>s" is one word, table cells are apart.
        self.parts.append("\n" if tag in _BLOCK else " " if tag in _CELLS else "")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def readable(text: str) -> str:
    """Rich text (HTML) as its text, one line per paragraph, HTML entities as characters; any
    other text, or markup with no text in it, as it is (what the Review page shows a person)."""
    if _TAG.search(text):
        parser = _Text()
        parser.feed(text)
        parser.close()
        plain = "".join(parser.parts)
    elif _ENTITY.search(text):
        plain = html.unescape(text)
    else:
        return text
    lines = (" ".join(line.split()) for line in plain.splitlines())  # &nbsp; is a space too
    return "\n".join(line for line in lines if line) or text


def _unless_meaningful(match: re.Match[str]) -> str:
    meaningful = any(p in MEANINGFUL for p in _PREFIX.findall(match.group(0)))
    return match.group(0) if meaningful else " "


def without_markup(text: str) -> str:
    """The text without Markdown's and Jira's markup: headings, emphasis, links' addresses,
    {color} and {code} (the words as the tracker shows them)."""
    if not any(mark in text for mark in "*_`~[{#h"):
        return text
    plain = _MACRO.sub("", _HEADING.sub("", text))
    plain = _MARKED_LINK.sub(lambda m: m.group(1) or m.group(2), _MONOSPACE.sub(r"\1", plain))
    for _ in range(2):  # "***Call***", "**_Call_**": emphasis inside emphasis
        plain = _EMPHASIS.sub(r"\2", plain)
    return plain


def work_text(text: str) -> str:
    """The task's text without HTML or Markdown/Jira markup, a list's markers, ticket keys,
    links, e-mail addresses, @mentions and closing full stops (the text itself when that is all
    there is)."""
    lines = "\n".join(without_marker(line)
                      for line in without_markup(readable(text)).split("\n"))
    cleaned = _LEADING.sub(_unless_meaningful, _LINK.sub(" ", lines), count=1)
    cleaned = _BRACKETED.sub(_unless_meaningful, cleaned)
    cleaned = _SPACES.sub(" ", _TRAILING.sub(_unless_meaningful, cleaned)).strip()
    cleaned = _FULL_STOP.sub("", cleaned)
    return cleaned or text
