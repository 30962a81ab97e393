"""What a tasks file is before it is parsed: text or binary, its encoding, its separator, and
the duplicate names in its header."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections import Counter
from collections.abc import Callable

from ..errors import TasksError
from .columns import header_row

Warn = Callable[[str], None]
SUPPORTED = (".csv", ".tsv", ".txt", ".jsonl", ".xlsx")
# What to do with a file people often have instead.
_INSTEAD = {
    ".xls": "an old Excel workbook: save it as .xlsx or .csv",
    ".xlsm": "save the workbook as .xlsx or .csv",
    ".xlsb": "save the workbook as .xlsx or .csv",
    ".ods": "save the spreadsheet as .xlsx or .csv",
    ".numbers": "export the spreadsheet as .xlsx or .csv",
    ".json": "write one task (or one object) a line as .jsonl (jq -c '.[]' in.json > in.jsonl)",
    ".docx": "copy the list into a .txt file, or the app's paste box",
    ".pdf": "copy the list into a .txt file, or the app's paste box",
    ".md": "rename it .txt: one task a line, or a Markdown table read as a table",
}
SEPARATORS = (",", ";", "\t", "|")
TOP_ROWS = 20  # where a header is looked for below a title
# Non-letters that cp1252 text has inside words; others there (Polish "³" for "ł") betray a
# different code page.
_WORD_PUNCTUATION = "\u2019\u2018\u00b7\u2026\u00ad"


def ignore(_: str) -> None:
    """A warning sink that drops warnings."""
    return None


def detect_encoding(sample: bytes, label: str, warn: Warn = ignore) -> str:
    """The encoding of a text sample: UTF-8 (BOM or not), cp1252 where it reads as such, else
    what charset_normalizer finds; refuses bytes that are no text at all."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        warn(f"{label}: read as UTF-16 (byte-order mark found)")
        return "utf-16"
    order = utf16_order(sample)
    if order is not None:
        warn(f"{label}: read as UTF-16 ({'little' if order.endswith('le') else 'big'}-endian), "
             f"with no byte-order mark")
        return order
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        # A sample cut mid-character is still UTF-8.
        if error.start >= len(sample) - 3 and error.reason == "unexpected end of data":
            return "utf-8"
    if _looks_western(sample):
        # Charset detection misreads short Western files (café -> cp1250 or cp775).
        encoding = "cp1252"
    else:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is None:
            raise TasksError(f"{label}: not a text table (binary content); "
                             f"expected {', '.join(SUPPORTED)}")
        encoding = best.encoding
        if encoding in ("ascii", "utf_8"):
            encoding = "cp1252"
    warn(f"{label}: not UTF-8; read as {encoding}")
    return encoding


def _looks_western(sample: bytes) -> bool:
    """True if the bytes read as plausible cp1252 text (accents inside mostly-ASCII words)."""
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 1:
            return False
        text = sample[:error.start].decode("cp1252")
    letters = [c for c in text if c.isalpha()]
    foreign = sum(1 for c in letters if not c.isascii())
    # Cyrillic or Greek read as cp1252 turn into words made only of accented letters.
    if not letters or foreign > 0.3 * len(letters):
        return False
    for before, char, after in zip(text, text[1:], text[2:], strict=False):
        if (not char.isascii() and not char.isalpha() and char not in _WORD_PUNCTUATION
                and before.isalpha() and after.isalpha()):
            return False
    return True


def utf16_order(sample: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" for UTF-16 text with no byte-order mark (Excel's "Unicode
    text" at times): zero bytes in one of every two places, almost none in the other."""
    if len(sample) % 2:  # a whole file (a sample is of an even size) of two-byte characters
        return None
    head = sample[:8192]
    pairs = len(head) // 2
    zeros = {"utf-16-le": head[1::2].count(0), "utf-16-be": head[0::2].count(0)}
    for order, other in (("utf-16-le", "utf-16-be"), ("utf-16-be", "utf-16-le")):
        if not zeros[order] or zeros[other] > 0.05 * pairs:
            continue
        # Spaces, digits and separators leave zeros in text of any script; a character whose
        # other byte is zero is rare. A stray NUL or two is no UTF-16 (`readers` drops it).
        if zeros[order] >= max(4, 0.1 * pairs):
            text = head.decode(order, errors="replace")
            odd = sum(1 for char in text if char == "\ufffd"
                      or (char < " " and char not in "\t\r\n"))
            return order if odd <= max(1, len(text) // 100) else None
        # Chinese or Japanese has few such characters: only its line breaks. Read where it is
        # words of a script, line by line, and the bytes are no UTF-8 text with a stray NUL.
        if _few_ascii_utf16(head, order):
            return order
    return None


def _few_ascii_utf16(head: bytes, order: str) -> bool:
    """Whether `head` is UTF-16 of few ASCII characters: it decodes whole, its zeros are line
    breaks, most characters are letters and none is a control, unassigned or private one."""
    try:
        text = head.decode(order)
    except UnicodeDecodeError as error:
        # A sample may end inside a character of two code units: cut it there.
        if error.start < len(head) - 4:
            return False
        text = head[:error.start].decode(order, errors="replace")
    if "\n" not in text and "\r" not in text:
        return False
    if any(char in text for char in "\x00\ufffd"):
        return False
    try:  # ASCII or UTF-8 text with a NUL or two decodes as CJK too: it is read as that
        codecs.getincrementaldecoder("utf-8")().decode(head.replace(b"\x00", b""))
        return False
    except UnicodeDecodeError:
        pass
    wrong = sum(1 for char in text if char not in "\t\r\n"
                and unicodedata.category(char) in ("Cc", "Cn", "Co", "Cs"))
    letters = sum(1 for char in text if char.isalpha())
    return wrong == 0 and 2 * letters >= len(text)


def looks_binary(sample: bytes) -> bool:
    """True for bytes that are no text table: many NUL or other control bytes (a stray NUL in
    a text file is dropped with a warning instead, see `readers`)."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_order(sample) is not None:
        return False
    head = sample[:8192]
    if head.count(b"\x00") > max(2, len(head) // 100):
        return True
    # Text files hold tabs and line breaks, almost never other control bytes.
    controls = sum(head.count(bytes([b]))
                   for b in (*range(1, 9), 11, *range(14, 27), *range(28, 32)))
    return controls > max(2, len(head) // 200)


def excel_separator(text: str) -> str | None:
    """The separator named by Excel's hint line ("sep=;", a CSV's first line), None without one."""
    first = text.partition("\n")[0].rstrip("\r")
    return first[4] if len(first) == 5 and first[:4].lower() == "sep=" else None


def sniff_separator(text: str, default: str) -> str:
    """The field separator of a delimited text: of those in the header line, the one that splits
    the most following lines into as many fields as the header; `default` if the header has none.

    Excel in most of Europe writes `;`, some trackers a tab, into a file named .csv. The header
    line is looked for below a title, as each separator would read the file: a title's own
    comma ("Q4 task list, Sales team") must not outvote the `;` of every line below it.
    """
    sample = "\n".join(text.replace("\r\n", "\n").split("\n")[:200])
    scores: dict[str, tuple[int, int, bool]] = {}
    for separator in SEPARATORS:
        rows = top_rows(sample, separator, 200)
        at = header_row(rows[:TOP_ROWS])
        if at >= len(rows) or len(rows[at]) < 2:
            continue  # the header line holds no such separator
        width = len(rows[at])
        fitting = sum(1 for row in rows[at + 1:] if len(row) == width)
        below = sum(1 for row in rows[at + 1:] if any(cell.strip() for cell in row))
        if at > 0 and 2 * fitting < below:
            # Not a table under a title: a one-column list ("Action item") whose odd task
            # holds a ";" would have that task read as the header.
            continue
        # On a tie the first line read as the header wins: a title is the exception.
        scores[separator] = (fitting, width, at == 0)
    if not scores:
        return default
    return max(scores, key=lambda sep: (scores[sep], sep == default))


def top_rows(text: str, separator: str, count: int) -> list[list[str]]:
    """The first `count` rows of a table's sample, as cells (fewer where it cannot be read)."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=separator):
            rows.append(row)
            if len(rows) >= count:
                break
    except csv.Error:
        pass
    return rows


def duplicate_names(names: list[str]) -> list[str]:
    """Names that occur more than once, in order of first appearance."""
    counts = Counter(str(name).strip() for name in names)
    return [name for name in dict.fromkeys(str(n).strip() for n in names) if counts[name] > 1]


def refuse_unsupported(name: str, suffix: str) -> None:
    """TasksError naming the file when its type is not one the readers know, and what to do."""
    if suffix in SUPPORTED:
        return
    instead = _INSTEAD.get(suffix, f"use one of {', '.join(SUPPORTED)}")
    raise TasksError(f"{name}: unsupported file type {suffix or '(none)'}; {instead}")
