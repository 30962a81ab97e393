"""Files classified in chunks: same output however chunked, duplicates, blanks, long rows, SIGINT."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import ctrl_c_as_in_a_terminal

from classifier.pipeline import Progress, classify_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def sample_tasks(rows: int) -> list[list[str]]:
    """Rows of the sample task list, repeated with a number so that most texts are distinct."""
    with (DATA / "tasks.csv").open(encoding="utf-8", newline="") as handle:
        base = list(csv.reader(handle))[1:]
    result = []
    for number in range(rows):
        task, owner, effort, due = base[number % len(base)]
        # Every third row repeats an earlier one exactly, as recurring work does.
        text = task if number % 3 == 0 else f"{task} #{number // len(base)}"
        result.append([text, owner, effort, due])
    return result


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "owner", "effort_hours", "due"])
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_every_input_row_comes_out_once_in_order(classifier, tmp_path, suffix):
    rows = sample_tasks(120)
    tasks = write_csv(tmp_path / "tasks.csv", rows)
    out = tmp_path / f"out{suffix}"
    classify_file(classifier, tasks, out, chunk_rows=25)
    if suffix == ".csv":
        texts = [row["task"] for row in read_csv(out)]
    else:
        import json

        texts = [json.loads(line)["task"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert texts == [row[0] for row in rows]


def test_the_progress_total_ends_at_the_rows_read(classifier, tmp_path):
    # A tracker's export: descriptions over several lines, so the line count overshoots.
    rows = [["Pitch a dealer", "Ana", "1", "line one\nline two\nline three"],
            ["Hire a machinist", "Ben", "2", "one\ntwo"]]
    tasks = write_csv(tmp_path / "tasks.csv", rows)
    totals: list[int] = []
    done: list[int] = []
    summary = classify_file(classifier, tasks, tmp_path / "out.csv",
                            progress=Progress(rows=done.append, total=totals.append))
    assert totals[0] > 2 and totals[-1] == sum(done) == summary.rows == 2


def test_duplicate_texts_get_identical_results(classifier, tmp_path):
    text = "Send renewal reminders to customers whose contract ends next month"
    rows = [[text, "Ana", "1", "2026-03-02"], ["Fix the forklift", "Ben", "2", "2026-03-02"],
            [text, "Carlos", "3", "2026-03-09"]]
    out = tmp_path / "out.csv"
    classify_file(classifier, write_csv(tmp_path / "tasks.csv", rows), out, chunk_rows=2)
    first, _, last = read_csv(out)
    result_columns = ["strategy_id", "strategy", "score", "status", "runner_up_id",
                      "runner_up_score", "evidence"]
    assert [first[c] for c in result_columns] == [last[c] for c in result_columns]
    assert (first["owner"], last["owner"]) == ("Ana", "Carlos")


@pytest.mark.parametrize("blank", ["", "   ", "\t", "-", "..."])
def test_a_blank_row_is_empty_with_no_strategy(classifier, tmp_path, blank):
    rows = [["Pitch our widgets to Riverside Hardware", "Ana", "1", ""], [blank, "Ben", "2", ""]]
    out = tmp_path / "out.csv"
    summary = classify_file(classifier, write_csv(tmp_path / "tasks.csv", rows), out)
    filled, empty = read_csv(out)
    assert empty["status"] == "empty"
    assert empty["strategy_id"] == empty["strategy"] == empty["score"] == ""
    assert filled["status"] != "empty"
    assert summary.status_counts["empty"] == 1


def test_a_huge_task_is_truncated_with_one_warning_naming_its_row(classifier, tmp_path):
    huge = ("Renew the maintenance contract for Henderson Plumbing " * 2_000)[:100_000]
    rows = [["Daily standup", "Ana", "1", ""], [huge, "Ben", "2", ""],
            ["Fix label printer jam", "Carlos", "1", ""]]
    warnings: list[str] = []
    out = tmp_path / "out.csv"
    summary = classify_file(classifier, write_csv(tmp_path / "tasks.csv", rows), out,
                                       warn=warnings.append)
    long = [w for w in warnings if "window" in w]
    assert len(long) == 1
    assert "tasks.csv: line 3: task of 100,000 characters" in long[0]
    assert summary.warnings == warnings
    assert read_csv(out)[1]["status"] in ("aligned", "review", "misaligned")


def test_many_long_rows_are_named_a_few_times_then_counted(classifier, tmp_path):
    long_text = "Review the quarterly supplier scorecard with purchasing " * 40
    rows = [[f"{long_text} {number}", "Ana", "1", ""] for number in range(12)]
    warnings: list[str] = []
    classify_file(classifier, write_csv(tmp_path / "tasks.csv", rows), tmp_path / "out.csv",
                             warn=warnings.append)
    assert len(warnings) == 6
    assert "7 more rows" in warnings[-1] and "(lines 7..13)" in warnings[-1]


HUGE = ("Renew the maintenance contract for Henderson Plumbing " * 200)[:5_000]


def test_a_csv_warning_names_the_line_below_a_title_and_a_cell_of_several_lines(classifier,
                                                                                tmp_path):
    # Title on line 1, header on line 3, a two-line cell on lines 4-5: the huge task is on
    # line 6, whatever the chunk size.
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("Weekly tasks - Ops\r\n\r\ntask,notes\r\n"
                     'Order toner,"ask Dev\r\nthen Ana"\r\n'
                     f"{HUGE},\r\nFix the label\x00 printer,\r\n", encoding="utf-8", newline="")
    for chunk_rows in (1, 100):
        warnings: list[str] = []
        classify_file(classifier, tasks, tmp_path / "out.csv", chunk_rows=chunk_rows,
                      warn=warnings.append)
        assert sorted(warnings[1:]) == [
            f"{tasks}: NUL bytes dropped (the first in line 7)",
            f"{tasks}: line 6: task of 5,000 characters is longer than the model's window; "
            f"only its first 256 tokens are read"]


def test_a_workbook_warning_names_the_sheet_row_below_a_title(classifier, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in (["Weekly tasks - Ops"], [], ["task", "owner"], ["Order toner", "Dev"],
                [HUGE, "Ana"]):
        sheet.append(row)
    tasks = tmp_path / "tasks.xlsx"
    book.save(tasks)
    warnings: list[str] = []
    classify_file(classifier, tasks, tmp_path / "out.csv", warn=warnings.append)
    assert warnings[-1].startswith(f"{tasks}: row 5: task of 5,000 characters")


@pytest.mark.parametrize("folder", ["new", "new/deeper/still"])
def test_output_in_a_missing_folder_is_created(classifier, tmp_path, folder):
    tasks = write_csv(tmp_path / "tasks.csv", sample_tasks(5))
    out = tmp_path / folder / "results.csv"
    classify_file(classifier, tasks, out)
    assert len(read_csv(out)) == 5
    assert [p.name for p in out.parent.iterdir()] == ["results.csv"]


def test_a_failed_run_leaves_no_output_and_no_temporary_file(classifier, tmp_path):
    tasks = write_csv(tmp_path / "tasks.csv", sample_tasks(5))
    out = tmp_path / "out" / "results.csv"
    with pytest.raises(Exception, match="column"):
        classify_file(classifier, tasks, out, text_column="no such column")
    assert not out.exists()
    assert not list(tmp_path.rglob("*.partial"))


def _start(tasks: Path, out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "classifier", "classify", str(tasks), "--plan",
             str(DATA / "plan.yaml"), "--out", str(out)],
            stdout=subprocess.DEVNULL, stderr=stderr, text=True, env=env, cwd=ROOT,
            preexec_fn=ctrl_c_as_in_a_terminal)


def _wait_for(process: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + 300
    while not ready():
        assert process.poll() is None, f"classify ended before {what}"
        assert time.monotonic() < deadline, f"classify never got to {what}"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_leaves_no_partial_output_and_no_temporary_file(tmp_path, sent, code):
    tasks = write_csv(tmp_path / "tasks.csv", sample_tasks(30_000))
    out_dir = tmp_path / "out"
    out = out_dir / "results.csv"
    log = tmp_path / "stderr.txt"
    process = _start(tasks, out, log)
    try:
        _wait_for(process, lambda: list(out_dir.glob("*.partial")), "writing")
        _wait_for(process, lambda: "rows/s" in log.read_text(), "drawing its progress bar")
        process.send_signal(sent)
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = log.read_text()
    assert process.returncode == code, stderr
    assert "interrupted; no output was written" in stderr
    assert "rows/s" in stderr  # the progress bar was drawing
    assert not out.exists()
    assert list(out_dir.iterdir()) == []


@pytest.mark.slow
def test_the_next_run_removes_what_a_killed_run_left(tmp_path):
    tasks = write_csv(tmp_path / "tasks.csv", sample_tasks(30_000))
    out = tmp_path / "out" / "results.csv"
    process = _start(tasks, out, tmp_path / "stderr.txt")
    try:
        _wait_for(process, lambda: list(out.parent.glob("*.partial")), "writing")
        process.kill()  # kill -9: no chance to clean up
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    [leftover] = out.parent.glob("*.partial")
    (out.parent / "notes.partial").write_text("not ours")
    again = subprocess.run(
        [sys.executable, "-m", "classifier", "classify", str(DATA / "tasks.txt"), "--plan",
         str(DATA / "plan.yaml"), "--out", str(out), "-q"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert again.returncode == 0, again.stderr
    assert not leftover.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["notes.partial", "results.csv"]


@pytest.mark.parametrize(("separator", "out_name", "written"), [
    (";", "out.csv", ";"),  # Excel in most of Europe: its own separator back
    ("|", "out.csv", "|"),
    (";", "out.tsv", "\t"),  # another kind of file asked for: its own separator
    (",", "out.csv", ","),
])
def test_a_csv_output_keeps_the_separator_of_the_csv_it_classifies(classifier, tmp_path,
                                                                   separator, out_name, written):
    tasks = tmp_path / "export.csv"
    with tasks.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=separator).writerows([
            ["task", "owner", "hours"], ["Call customers, then write notes", "Ana", "2,5"],
            ["Order steel", "Bo", "1"]])
    out = tmp_path / out_name
    classify_file(classifier, tasks, out)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=written))
    assert rows[0][:4] == ["task", "owner", "hours", "strategy_id"]
    assert [row[:3] for row in rows[1:]] == [["Call customers, then write notes", "Ana", "2,5"],
                                             ["Order steel", "Bo", "1"]]


@pytest.mark.parametrize(("encoding", "bom_out"), [
    ("utf-8-sig", True),  # Excel's "CSV UTF-8"
    ("cp1252", True),  # Excel's plain "CSV" on Windows
    ("utf-8", False),  # a script's file: no mark it did not have
])
def test_a_csv_from_excel_goes_back_with_a_byte_order_mark(classifier, tmp_path, encoding,
                                                           bom_out):
    tasks = tmp_path / "export.csv"
    tasks.write_text("task;owner\nCall Müller about the renewal;Zoë\n", encoding=encoding)
    out = tmp_path / "out.csv"
    summary = classify_file(classifier, tasks, out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom_out
    if encoding == "utf-8":
        assert summary.warnings == []
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[1][:2] == ["Call Müller about the renewal", "Zoë"]


def test_a_csv_made_from_a_workbook_has_a_byte_order_mark(classifier, tmp_path):
    # Without one, Excel showed the owner 'Chloé' of an .xlsx input as 'ChloÃ©'.
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["task", "owner"])
    workbook.active.append(["Call Müller about the renewal", "Chloé"])
    tasks = tmp_path / "export.xlsx"
    workbook.save(tasks)
    out = tmp_path / "out.csv"
    classify_file(classifier, tasks, out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows[1][:2] == ["Call Müller about the renewal", "Chloé"]


def test_a_workbook_output_has_a_frozen_filtered_header_and_scores_to_three_decimals(
        classifier, tmp_path):
    rows = sample_tasks(30) + [["", "Ben", "1", ""]]
    out = tmp_path / "out.xlsx"
    classify_file(classifier, write_csv(tmp_path / "tasks.csv", rows), out, chunk_rows=4)
    sheet = openpyxl.load_workbook(out).active
    header = [cell.value for cell in sheet[1]]
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", f"A1:K{len(rows) + 1}")
    assert sheet.column_dimensions["A"].width > 2 * sheet.column_dimensions["B"].width
    for name in ("score", "runner_up_score"):
        column = header.index(name) + 1
        first = sheet.cell(row=2, column=column)
        assert isinstance(first.value, float) and first.number_format == "0.000"
        blank = sheet.cell(row=len(rows) + 1, column=column)  # the blank row's
        assert blank.value is None and blank.number_format == "General"


# A Monday.com board's export: a board title, then each group's title and the header again.
BOARD_HEADER = ["Name", "Person", "Status", "Hours"]
BOARD = [["Widget Launch board"], [], ["This week"], BOARD_HEADER,
         ["Build a prototype of the compact widget", "Aisha", "Working on it", "5"],
         ["Interview customers about features", "Ben", "Stuck", "2"], [],
         ["Next week"], BOARD_HEADER,
         ["Write the launch plan for the heavy-duty widget", "Aisha", "", "3"]]


def _board(path: Path) -> Path:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        for row in BOARD:
            workbook.active.append(row)
        workbook.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(row + [""] * (4 - len(row)) for row in BOARD)
    return path


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
# 4: the group's title ends a chunk; 1 and 5: a title or its blank row begins one
@pytest.mark.parametrize("chunk_rows", [1, 4, 5, 20_000])
def test_a_boards_group_titles_and_repeated_headers_are_no_tasks(classifier, tmp_path, suffix,
                                                                 chunk_rows):
    # They were classified: "Next week" as orphan work, the header again in review.
    out = tmp_path / "out.csv"
    summary = classify_file(classifier, _board(tmp_path / f"board{suffix}"), out,
                            chunk_rows=chunk_rows)
    with out.open(encoding="utf-8-sig", newline="") as handle:  # from a workbook: a BOM
        written = list(csv.DictReader(handle))
    assert [row["Name"] for row in written] == [row[0] if row else "" for row in BOARD[4:]]
    assert [row["Person"] for row in written][4] == "Person"  # kept, as every input cell is
    assert [row["status"] != "empty" for row in written] == [True, True, False, False, False,
                                                             True]
    assert written[4]["strategy_id"] == written[4]["score"] == ""
    assert summary.status_counts["empty"] == 3
    assert [w for w in summary.warnings if "header again" in w] == [
        f"{tmp_path / f'board{suffix}'}: {'rows' if suffix == '.xlsx' else 'lines'} 8, 9 "
        f"are the header again or a group's title "
        f"above it, not tasks: status empty, as a blank row"]


@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_a_task_with_its_other_cells_empty_above_a_repeated_header_is_a_task(
        classifier, tmp_path, chunk_rows):
    # Two weeks' exports joined: the second week's header is no task, but the first week's
    # last task, its owner and hours left empty, is one (it was emptied as a group's title).
    rows = [BOARD_HEADER, ["Call customers whose service plan expires", "Ana", "", "1"],
            ["Order toner for the printer", "", "", ""], BOARD_HEADER,
            ["Write the launch plan for the heavy-duty widget", "Aisha", "", "3"]]
    tasks, out = tmp_path / "weeks.csv", tmp_path / "out.csv"
    with tasks.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    summary = classify_file(classifier, tasks, out, chunk_rows=chunk_rows)
    with out.open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["status"] == "empty" for row in written] == [False, False, True, False]
    assert [w for w in summary.warnings if "header again" in w] == [
        f"{tasks}: line 4 is the header again or a group's title above it, not a task: "
        f"status empty, as a blank row"]


def test_placeholder_rows_left_empty_are_said_naming_them(classifier, tmp_path):
    # A "-" or an emoji alone is no task, and the run leaves it empty: said, not silent.
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("task,owner\nCall the customers,Ana\n-,Ben\n\U0001f680,Cy\n,Di\n",
                     encoding="utf-8")
    summary = classify_file(classifier, tasks, tmp_path / "out.csv")
    assert summary.status_counts["empty"] == 3
    assert [w for w in summary.warnings if "no letter or digit" in w] == [
        f"{tasks}: lines 3, 4 hold no letter or digit (a placeholder such as '-'): status "
        f"empty, as a blank row"]
