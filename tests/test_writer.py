"""The one safe writer: every output path with hostile text, atomic files, the umask's mode,
inputs never overwritten, leftovers of killed runs removed, a full disk in one line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from classifier.errors import OutputError
from classifier.files.atomic import partial_name, remove_leftovers, write_text
from classifier.files.writer import (
    XLSX_CELL_LIMIT,
    TableWriter,
    csv_bytes,
    cut_warning,
    prepare_output,
)

HOSTILE = ['=HYPERLINK("http://x","y")', "+1 555 0100", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd",
           "#N/A", "=1+1"]
SAFE = ["Call customers", "-3.5", "+12", "a=b"]
FRAME = pd.DataFrame({"task": HOSTILE + SAFE, "hours": list(range(len(HOSTILE + SAFE))),
                      "score": [-1.5] * len(HOSTILE + SAFE)})


def _write(path: Path, frame: pd.DataFrame = FRAME) -> Path:
    with TableWriter(path) as writer:
        writer.write(frame)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_delimited_text_cells_are_neutralised_and_numbers_stay(tmp_path, suffix):
    path = _write(tmp_path / f"out{suffix}")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    tasks = [row[0] for row in rows[1:]]
    assert tasks[:len(HOSTILE)] == ["'" + text for text in HOSTILE[:6]] + ["#N/A", "'=1+1"]
    assert tasks[len(HOSTILE):] == SAFE
    assert {row[2] for row in rows[1:]} == {"-1.5"}  # a number is never quoted


def test_a_workbooks_date_cell_is_written_to_csv_as_the_day_it_shows(tmp_path):
    import datetime as dt

    frame = pd.DataFrame({"task": ["a", "b"], "due": [dt.datetime(2026, 3, 2),
                                                      dt.datetime(2026, 3, 2, 14, 30)]},
                         dtype=object)
    path = _write(tmp_path / "out.csv", frame)
    assert path.read_text(encoding="utf-8").splitlines()[1:] == ["a,2026-03-02",
                                                                 "b,2026-03-02 14:30:00"]


def test_a_workbooks_dates_durations_and_blanks_stay_so_in_an_xlsx(tmp_path):
    """xlsx to xlsx: a date showed "2026-03-02 00:00:00", a duration became the text "5:00:00"
    (SUM skips it), and a blank cell an empty string cell (not blank to ISBLANK or COUNTA)."""
    import datetime as dt

    frame = pd.DataFrame({"task": ["a", "b"],
                          "due": [dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2, 14, 30)],
                          "took": [dt.timedelta(hours=5), pd.Timedelta(minutes=90)],
                          "note": ["", "x"]}, dtype=object)
    sheet = openpyxl.load_workbook(_write(tmp_path / "out.xlsx", frame)).active
    due, took, note = ([sheet.cell(row=r, column=c) for r in (2, 3)] for c in (2, 3, 4))
    assert [c.value for c in due] == [dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2, 14, 30)]
    assert due[0].is_date and "h" not in due[0].number_format.lower()  # shown as the day
    assert [c.value for c in took] == [dt.timedelta(hours=5), dt.timedelta(minutes=90)]
    assert [c.value for c in note] == [None, "x"]


def test_xlsx_text_cells_are_strings_with_their_text_intact(tmp_path):
    sheet = openpyxl.load_workbook(_write(tmp_path / "out.xlsx")).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # XML turns a bare carriage return into a line feed when read back; the rest is intact.
    texts = [t.replace("\r", "\n") for t in HOSTILE + SAFE]
    assert [cell.value for cell in cells] == [-3.5 if t == "-3.5" else t for t in texts]
    assert {cell.data_type for cell in cells if cell.value != -3.5} == {"s"}
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    assert sheet.cell(row=2, column=3).value == -1.5


def test_the_same_workbook_written_a_day_later_is_the_same_bytes(tmp_path, monkeypatch):
    # The save time went into docProps/core.xml and every zip entry: a weekly file that did
    # not change looked changed to a checksum or to git.
    import time
    import zipfile

    first = _write(tmp_path / "monday.xlsx").read_bytes()
    later = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    second = _write(tmp_path / "tuesday.xlsx").read_bytes()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(second)) as archive:
        assert b"1980-01-01T00:00:00Z" in archive.read("docProps/core.xml")
    assert openpyxl.load_workbook(io.BytesIO(second)).active["A2"].value == HOSTILE[0]


def test_a_jsonl_output_holds_no_infinity_which_is_not_json(tmp_path):
    # Python reads `Infinity` in a .jsonl input; written back as is, jq refused the output.
    from classifier.files.readers import read_tasks

    tasks = tmp_path / "in.jsonl"
    tasks.write_text('{"task": "Call the customers", "v": Infinity, "w": [-Infinity, 2], '
                     '"x": NaN}\n', encoding="utf-8")
    frame, _ = read_tasks(tasks)
    out = _write(tmp_path / "out.jsonl", frame)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    [record] = [json.loads(line, parse_constant=refuse) for line in out.open(encoding="utf-8")]
    assert record == {"task": "Call the customers", "v": None, "w": [None, 2], "x": None}


def test_jsonl_keeps_text_as_it_is(tmp_path):
    lines = _write(tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["task"] for line in lines] == HOSTILE + SAFE


def test_csv_download_is_neutralised_too():
    back = pd.read_csv(io.BytesIO(csv_bytes(FRAME)), encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)
    assert back["task"].iloc[0] == "'" + HOSTILE[0]
    assert back["score"].iloc[0] == "-1.5"


def test_outputs_get_the_mode_the_umask_gives(tmp_path):
    previous = os.umask(0o027)
    try:
        path = _write(tmp_path / "out.csv")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_the_input_is_never_the_output(tmp_path, link):
    source = tmp_path / "tasks.csv"
    source.write_text("task\nCall customers\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    if link == "same":
        out = source
    elif link == "symlink":
        out.symlink_to(source)
    else:
        os.link(source, out)
    with pytest.raises(OutputError, match="is the tasks file"):
        prepare_output(out, {source: "the tasks file"})
    assert source.read_text(encoding="utf-8") == "task\nCall customers\n"


def test_only_leftovers_of_dead_runs_are_removed(tmp_path):
    out = tmp_path / "out.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = tmp_path / f".out.csv.tactics-{dead}.partial"
    alive = tmp_path / f".out.csv.tactics-{os.getppid()}.partial"  # a live process's file
    other = tmp_path / ".other.csv.tactics-1.partial"
    mine = tmp_path / "notes.partial"
    for path in (leftover, alive, other, mine):
        path.write_text("x")
    assert remove_leftovers(out) == [leftover]
    assert not leftover.exists() and alive.exists() and other.exists() and mine.exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("the previous run's output\n")
    with pytest.raises(RuntimeError), TableWriter(out) as writer:
        writer.write(FRAME)
        assert (tmp_path / partial_name(out)).exists()
        raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert out.read_text() == "the previous run's output\n"


FULL_DISK = """
import resource, signal, sys
import pandas as pd
from classifier.files.writer import TableWriter
from classifier.errors import ClassifierError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit stands in for a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    with TableWriter(sys.argv[1]) as writer:
        for _ in range(50):
            writer.write(pd.DataFrame({"task": ["Call the customers about renewals"] * 500}))
except ClassifierError as error:
    print(error)
    sys.exit(2)
"""


def test_a_full_disk_is_one_line_and_nothing_is_left(tmp_path):
    out = tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(out)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip().endswith("no space left on the disk (File too large); nothing "
                                        "was written")
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_linked_file_is_written_through_its_link_and_keeps_its_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "plan.yaml"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o664)  # a team's file: group-writable
    link = tmp_path / "plan.yaml"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    assert real.stat().st_mode & 0o777 == 0o664


def test_a_read_only_file_is_not_replaced(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o444)
    with pytest.raises(OutputError, match="plan.yaml: is read-only; nothing was written"):
        write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.yaml"]


def test_an_xlsx_cell_is_cut_to_excels_limit_and_named(tmp_path):
    long = "Write the handbook " * 2_000  # 38,000 characters: more than an Excel cell holds
    frame = pd.DataFrame({"task": ["Call customers", long], "notes": [long, "short"]})
    with TableWriter(tmp_path / "out.xlsx") as writer:
        writer.write(frame)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    cut = sheet["A3"].value
    assert len(cut) == XLSX_CELL_LIMIT and cut.endswith("…") and long.startswith(cut[:-1])
    assert sheet["B3"].value == "short"
    assert writer.cut_cells == ["results!B2", "results!A3"]
    message = cut_warning("out.xlsx", writer.cut_cells)
    assert message is not None and "2 cells" in message and "results!B2, results!A3" in message
    assert cut_warning("out.xlsx", []) is None


def test_delimited_text_is_never_cut(tmp_path):
    long = "Write the handbook " * 2_000
    with TableWriter(tmp_path / "out.csv") as writer:
        writer.write(pd.DataFrame({"task": [long]}))
    assert writer.cut_cells == []
    assert pd.read_csv(tmp_path / "out.csv")["task"][0] == long


@pytest.mark.parametrize(("text", "cell"), [
    ("42", 42), ("-3.5", -3.5), ("0.25", 0.25), ("0", 0), ("123456789012345", 123456789012345),
    ("007", "007"), ("+12", "+12"), ("1e5", "1e5"), ("2.50", "2.50"), ("-0", "-0"), ("12.", "12."),
    ("1,5", "1,5"), ("1234567890123456", "1234567890123456"), ("2026-03-02", "2026-03-02"),
])
def test_text_that_excel_would_write_as_a_number_is_a_number_cell(tmp_path, text, cell):
    # A CSV's hours must add up in Excel; text Excel would show otherwise stays text.
    with TableWriter(tmp_path / "out.xlsx") as writer:
        writer.write(pd.DataFrame({"hours": [text]}))
    value = openpyxl.load_workbook(tmp_path / "out.xlsx").active["A2"].value
    assert value == cell and type(value) is type(cell)


def test_a_workbook_table_has_a_frozen_filtered_header_and_fitted_columns(tmp_path):
    # Opened at default widths with no filter, a 27-column export read as a wall of cells.
    rows = 2_500  # more than the rows the widths are judged on
    frame = pd.DataFrame({"task": ["Call the customers whose service contract ends " * 3] * rows,
                          "owner": ["Ana"] * rows, "score": [0.1234] * (rows - 1) + [None]})
    whole = tmp_path / "whole.xlsx"
    with TableWriter(whole, number_formats={"score": "0.000"}) as writer:
        writer.write(frame)
    sheet = openpyxl.load_workbook(whole).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:C{rows + 1}"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths == {"A": 60, "B": 8, "C": 8}
    assert (sheet["C2"].value, sheet["C2"].number_format) == (0.1234, "0.000")
    assert (sheet[f"C{rows + 1}"].value, sheet[f"C{rows + 1}"].number_format) == (None, "General")
    assert sheet["B2"].number_format == "General"
    # Written in chunks of any size, the same bytes (a run on Ray, a run with another chunk size).
    chunked = tmp_path / "chunked.xlsx"
    with TableWriter(chunked, number_formats={"score": "0.000"}) as writer:
        for start in range(0, rows, 7):
            writer.write(frame.iloc[start:start + 7])
    assert chunked.read_bytes() == whole.read_bytes()


def test_a_workbook_table_of_no_rows_filters_its_header(tmp_path):
    with TableWriter(tmp_path / "out.xlsx") as writer:
        writer.write(pd.DataFrame({"task": [], "owner": []}))
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [cell.value for cell in sheet[1]] == ["task", "owner"]
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:B1")
