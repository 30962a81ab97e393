"""Reading task files: every format, odd encodings, odd cells, and the files refused."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from classifier.errors import OutputError, TasksError
from classifier.files.readers import iter_chunks, open_tasks, paste_frame, paste_label, read_tasks
from classifier.files.sniffing import detect_encoding
from classifier.files.writer import TableWriter, prepare_output

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4


def _random_bytes(seed: int, size: int = 4000, low: int = 0) -> bytes:
    generator = random.Random(seed)
    return bytes(generator.randrange(low, 256) for _ in range(size))


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("image.csv", PNG, "not a text table (binary content)"),
    ("noise.csv", _random_bytes(1), "not a text table"),
    ("noise-no-nul.csv", _random_bytes(2, low=1), "not a text table"),
    ("noise.txt", _random_bytes(3, low=1), "not a text table"),
    ("noise.jsonl", _random_bytes(4), "not a text table"),
    ("empty.csv", b"", "the file is empty"),
    ("empty.txt", b"", "the file is empty"),
    ("blank.txt", b"\n  \n\t\n", "the file is empty (only blank lines)"),
    ("blank.jsonl", b"\n\n", "the file is empty"),
    ("header.csv", b"task,owner\n", "no task rows, only a header"),
    ("two.csv", b"alpha,beta\nCall the customers now,Send the quotes today\n",
     ("cannot tell which column holds the task text; columns are: alpha, beta; "
      "pass --text-column NAME")),
    ("notes.docx", b"hello", "unsupported file type .docx; copy the list into a .txt file"),
    ("old.xls", b"\xd0\xcf\x11\xe0", "unsupported file type .xls; an old Excel workbook: "
                                     "save it as .xlsx or .csv"),
    ("board.json", b'[{"title": "a"}]', "unsupported file type .json; write one task"),
    ("notes.rtf", b"{\\rtf1 hello}", "unsupported file type .rtf; use one of .csv, .tsv"),
    ("bad.jsonl", b'{"task": "a"}\n{"task": \n', "row 2: not valid JSON"),
    ("list.jsonl", b'{"task": "a"}\n[1, 2]\n', "row 2: expected an object or a string"),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "not a readable Excel workbook"),
])
def test_bad_tasks_file_is_refused_naming_it(tmp_path, name, content, expected):
    path = _write(tmp_path / name, content)
    with pytest.raises(TasksError) as caught:
        read_tasks(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_tasks_file(tmp_path):
    with pytest.raises(TasksError, match="tasks file not found"):
        open_tasks(tmp_path / "nope.csv")


@pytest.mark.parametrize(("header", "expected"), [
    # trackers' exports: the task's title, not its description, which may be empty
    ("Task ID,Task Name,Bucket Name,Assigned To,Description", "Task Name"),  # Planner
    ("Card ID,Card Name,Card URL,Card Description,Members,List Name", "Card Name"),  # Trello
    ("Task ID,Task Name,Task Content,Assignees,Status", "Task Name"),  # ClickUp
    ("Issue key,Summary,Description,Assignee", "Summary"),  # Jira
    ("ID,Work Item Type,Title,Assigned To,State", "Title"),  # Azure Boards
    ("TYPE,CONTENT,DESCRIPTION,PRIORITY", "CONTENT"),  # Todoist
    ("Task ID,Name,Notes,Assignee", "Name"),  # Asana
    ("task_name,owner", "task_name"),
    ("To-do,Who", "To-do"),
    ("Name,Description,Hours", "Description"),  # a timesheet: Name is the person
])
def test_a_trackers_text_column_is_found_by_its_name(tmp_path, header, expected):
    columns = header.split(",")
    row = ",".join(f"Some words for {column}" for column in columns)
    path = _write(tmp_path / "export.csv", f"{header}\n{row}\n")
    assert open_tasks(path).text_column == expected


def test_unknown_text_column_lists_the_columns(tmp_path):
    path = _write(tmp_path / "t.csv", "task,owner\nCall the customers,Ann\n")
    with pytest.raises(TasksError, match="no column 'nope'; columns are: task, owner"):
        open_tasks(path, text_column="nope")


# A hand-made header: a trailing space, a line break inside a name.
TYPED_HEADER = 'ID;Task Name ;Owner;"Due\nDate"\n7;Call the customers;Ann;3/3\n'


@pytest.mark.parametrize("asked", ["Task Name", "task name", "TASK  NAME ", "task_name"])
def test_a_text_column_asked_for_is_found_with_case_and_spacing_aside(tmp_path, asked):
    # "-c 'Task Name'" was "no column 'Task Name'" for the column "Task Name ".
    path = _write(tmp_path / "t.csv", TYPED_HEADER)
    frame, column = read_tasks(path, text_column=asked)
    assert column == "Task Name " and frame[column].tolist() == ["Call the customers"]
    frame, column = read_tasks(path, text_column=[asked, "due date"])
    assert frame[column].tolist() == ["Call the customers\n3/3"]


def test_the_columns_listed_for_a_text_column_not_found_show_what_cannot_be_seen(tmp_path):
    path = _write(tmp_path / "t.csv", TYPED_HEADER)
    with pytest.raises(TasksError) as refused:
        open_tasks(path, text_column="Notes")
    assert str(refused.value) == (f"{path}: no column 'Notes'; columns are: ID, 'Task Name ', "
                                  f"Owner, 'Due\\nDate'")


def test_a_text_column_asked_for_that_may_be_two_is_refused_naming_both(tmp_path):
    path = _write(tmp_path / "t.csv", "Task,task ,Owner\nCall the customers,Pitch,Ann\n")
    assert open_tasks(path, text_column="Task").text_column == "Task"  # as written, first
    with pytest.raises(TasksError) as refused:
        open_tasks(path, text_column="TASK")
    assert str(refused.value) == (f"{path}: 'TASK' may be any of the columns 'Task', 'task '; "
                                  f"pass one as written there")


@pytest.mark.parametrize(("columns", "rows", "expected"), [
    (["owner", "Summary"], [["Ann", "Call the customers"]], "Summary"),
    (["owner", "hours", "what"], [["Ann", "3", "Call all the customers"]], "what"),
    (["only"], [["Call the customers"]], "only"),
    # Timestamps whose offset changes with summer time: pandas refused to read them as dates,
    # and the file failed with a traceback.
    (["what", "when"], [["Call all the customers", "2026-03-27T09:00:00+01:00"],
                        ["Pitch the widget line", "2026-03-30T09:00:00+02:00"]], "what"),
])
def test_text_column_is_found(tmp_path, columns, rows, expected):
    lines = [",".join(columns)] + [",".join(row) for row in rows]
    path = _write(tmp_path / "t.csv", "\n".join(lines) + "\n")
    assert open_tasks(path).text_column == expected


# Short files are where charset detection guesses wrong (café read as cp1250 or cp775).
@pytest.mark.parametrize(("text", "encoding"), [
    ("task,owner\nRéviser le café,José\n", "cp1252"),
    ("task\nCafé crème\n", "latin-1"),
    ("task\nNaïve façade über straße\n", "cp1252"),
    ("task,owner\nFix the señal,Peña\n", "latin-1"),
    ("task\nDon’t forget the “urgent” quote — €5\n", "cp1252"),
    ("task\nÅse Øvergård søker\n", "latin-1"),
    ("task\nZadzwoń do klientów w sprawie umowy serwisowej, żółć\n", "cp1250"),
    ("task\nПозвонить клиентам о продлении контракта\n", "cp1251"),
    ("task\nΚαλέστε τους πελάτες για την ανανέωση\n", "cp1253"),
])
def test_detected_encoding_reads_short_files_right(text, encoding):
    warnings: list[str] = []
    sample = text.encode(encoding)
    found = detect_encoding(sample, "t.csv", warnings.append)
    assert sample.decode(found) == text
    assert warnings == [f"t.csv: not UTF-8; read as {found}"]


def test_cp1252_file_is_read_with_one_warning(tmp_path):
    path = _write(tmp_path / "t.csv", "task,owner\nRéviser le café,José\n".encode("cp1252"))
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["Réviser le café"]
    assert frame["owner"].tolist() == ["José"]
    assert len(warnings) == 1 and "not UTF-8" in warnings[0]


@pytest.mark.parametrize(("suffix", "head", "line", "utf8"), [
    (".csv", "task,owner\n", "Call the café owners,Zoë\n", "Naïve € budget,Ana\n"),
    (".txt", "", "Call the café owners\r\n", "Naïve € budget\r\n"),
    (".jsonl", "", '{"task": "Call the café owners"}\n', '{"task": "Naïve € budget"}\n'),
])
def test_rows_past_the_sniffed_part_that_are_not_utf8_keep_their_accents(tmp_path, suffix,
                                                                          head, line, utf8):
    """The encoding is guessed from the first 256 KB; a Windows program's rows after that part
    lost every accent to "�" with no word said."""
    filler = line.replace("Call the café owners", "Pitch widgets to Riverside Hardware")
    filler = filler.replace("Zoë", "Ann")
    raw = (head + filler * 12_000).encode() + line.encode("cp1252") + utf8.encode()
    path = _write(tmp_path / f"t{suffix}", raw)
    warnings: list[str] = []

    frame, column = read_tasks(path, warn=warnings.append)

    assert frame[column].tolist()[-2:] == ["Call the café owners", "Naïve € budget"]
    line_number = 12_000 + (2 if head else 1)
    assert warnings == [f"{path}: not all UTF-8: from line {line_number} on, bytes that are not "
                        f"were read as cp1252 (Windows); check its accents"]


def test_utf8_bom_is_skipped_with_one_warning(tmp_path):
    path = _write(tmp_path / "t.csv", "\ufefftask,owner\nCall the customers,Zoë\n".encode())
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert column == "task"
    assert list(frame.columns) == ["task", "owner"]
    assert frame["owner"].tolist() == ["Zoë"]
    assert len(warnings) == 1 and "byte-order mark" in warnings[0]


def test_plain_utf8_gives_no_warning(tmp_path):
    path = _write(tmp_path / "t.txt", "Call the customers\nPitch the dealer\n")
    warnings: list[str] = []
    read_tasks(path, warn=warnings.append)
    assert warnings == []


ODD_CELLS = [
    ["Call the customers about renewals", "007", "1e5", "TRUE", "NA", ""],
    ["   ", "0012", "-0", "false", "N/A", " "],
    ["", "1.50", "2026-03-02", "null", "NaN", "#N/A"],
]
ODD_COLUMNS = ["task", "code", "amount", "flag", "na", "blank"]


@pytest.mark.parametrize("separator", [",", "\t"])
def test_csv_and_tsv_cells_stay_exactly_as_written(tmp_path, separator):
    suffix = ".csv" if separator == "," else ".tsv"
    lines = [separator.join(ODD_COLUMNS)] + [separator.join(row) for row in ODD_CELLS]
    path = _write(tmp_path / f"t{suffix}", "\n".join(lines) + "\n")
    frame, column = read_tasks(path)
    assert column == "task"
    assert list(frame.columns) == ODD_COLUMNS
    assert frame.values.tolist() == ODD_CELLS


def test_txt_keeps_every_line_in_order(tmp_path):
    path = _write(tmp_path / "t.txt", "Call the customers\n\n   \nPitch the dealer\n")
    frame, column = read_tasks(path)
    assert column == "task"
    assert frame[column].tolist() == ["Call the customers", "", "   ", "Pitch the dealer"]


def test_jsonl_keeps_values_and_every_key(tmp_path):
    rows = [{"task": "Call the customers", "code": "007", "n": 1, "flag": True, "na": None},
            {"task": "Pitch the dealer", "extra": [1, 2]}]
    text = "\n".join(json.dumps(row) for row in rows) + '\n\n"Hire a machinist"\n'
    path = _write(tmp_path / "t.jsonl", text)
    frame, column = read_tasks(path)
    assert list(frame.columns) == ["task", "code", "n", "flag", "na", "extra"]
    assert frame[column].tolist() == ["Call the customers", "Pitch the dealer", "",
                                      "Hire a machinist"]
    assert frame.loc[0, "code"] == "007"
    assert frame.loc[0, "n"] == 1 and isinstance(frame.loc[0, "n"], int)
    assert frame.loc[0, "flag"] is True
    assert frame.loc[0, "na"] is None
    assert frame.loc[1, "code"] is None


def test_jsonl_keys_first_seen_late_are_kept(tmp_path):
    lines = [json.dumps({"task": f"Task number {i}"}) for i in range(30)]
    lines.append(json.dumps({"task": "Last", "owner": "Ann"}))
    path = _write(tmp_path / "t.jsonl", "\n".join(lines) + "\n")
    source = open_tasks(path)
    chunks = list(iter_chunks(source, chunk_rows=10))
    assert source.columns == ["task", "owner"]
    assert all(list(chunk.columns) == ["task", "owner"] for chunk in chunks)
    assert chunks[-1]["owner"].tolist() == ["Ann"]


def test_jsonl_nested_fields_are_columns_and_the_summary_is_the_task(tmp_path):
    """A tracker's API export nests its fields: the whole object was read as the task's text."""
    records = [{"key": "OPS-1", "fields": {"summary": "Call the customers", "labels": ["crm"],
                                           "assignee": {"name": "Ana"}}},
               {"key": "OPS-2", "fields": {"summary": "Order toner", "assignee": None}}]
    path = _write(tmp_path / "t.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")

    frame, column = read_tasks(path)

    assert column == "fields.summary"
    assert frame[column].tolist() == ["Call the customers", "Order toner"]
    assert frame["fields.assignee.name"].tolist() == ["Ana", None]
    assert frame["fields.labels"].tolist() == [["crm"], None]
    assert read_tasks(path, text_column="fields.assignee.name")[1] == "fields.assignee.name"


def _workbook(path, sheets: dict[str, list[list]]):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_reads_the_first_sheet_with_one_warning(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {
        "week 9": [["task", "code", "hours"], ["Call the customers", "007", 3],
                   ["Pitch the dealer", "NA", 2.5]],
        "week 10": [["task"], ["Hire a machinist"]],
    })
    warnings: list[str] = []
    frame, _ = read_tasks(path, warn=warnings.append)
    assert frame.values.tolist() == [["Call the customers", "007", 3],
                                     ["Pitch the dealer", "NA", 2.5]]
    assert len(warnings) == 1 and "reading the first shown, 'week 9'" in warnings[0]


@pytest.mark.parametrize("sheet", ["week 10", "1"])
def test_xlsx_sheet_can_be_chosen(tmp_path, sheet):
    path = _workbook(tmp_path / "t.xlsx", {"week 9": [["task"], ["Call the customers"]],
                                           "week 10": [["task"], ["Hire a machinist"]]})
    frame, column = read_tasks(path, sheet=sheet)
    assert frame[column].tolist() == ["Hire a machinist"]


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"a": [["task"], ["x"]], "b": [["task"], ["y"]]})
    with pytest.raises(TasksError, match="no sheet 'c'; sheets are: 0 'a', 1 'b'"):
        read_tasks(path, sheet="c")


def _chart_first(path):
    """A workbook whose first sheet is a chart (Excel's "Move Chart: New sheet"), then tasks."""
    from openpyxl.chart import BarChart, Reference

    workbook = Workbook()
    tasks = workbook.active
    tasks.title = "Tasks"
    for row in [["task", "hours"], ["Call the customers", 3], ["Hire a machinist", 5]]:
        tasks.append(row)
    chart = BarChart()
    chart.add_data(Reference(tasks, min_col=2, min_row=1, max_row=3))
    workbook.create_chartsheet("Hours", 0).add_chart(chart)
    workbook.save(path)
    return path


@pytest.mark.parametrize("sheet", [None, "Tasks", "1"])
def test_xlsx_a_chart_sheet_first_is_passed_over(tmp_path, sheet):
    """A chart sheet holds no cells: read by default, it crashed (AttributeError: 'Chartsheet'
    object has no attribute 'iter_rows'), and --sheet 1 read "Worksheet index 1 is invalid"."""
    path = _chart_first(tmp_path / "t.xlsx")
    warnings: list[str] = []
    frame, column = read_tasks(path, sheet=sheet, warn=warnings.append)
    assert frame[column].tolist() == ["Call the customers", "Hire a machinist"]
    assert not any("reading the first shown" in warning for warning in warnings)


@pytest.mark.parametrize("sheet", ["Hours", "0"])
def test_xlsx_a_chart_sheet_asked_for_is_refused(tmp_path, sheet):
    path = _chart_first(tmp_path / "t.xlsx")
    with pytest.raises(TasksError, match="sheet 'Hours' is a chart, not a table; sheets are: "
                                         "0 'Hours', 1 'Tasks'"):
        read_tasks(path, sheet=sheet)


def test_xlsx_number_in_the_text_column_reads_as_text(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"s": [["task", "owner"], [42, "Ann"],
                                                 ["Call the customers", "Bo"]]})
    frame, column = read_tasks(path, text_column="task")
    assert frame[column].tolist() == ["42", "Call the customers"]


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.jsonl", "out.xlsx"])
def test_output_folder_is_created(tmp_path, name):
    path = prepare_output(tmp_path / "new" / "deeper" / name)
    assert path.parent.is_dir()


@pytest.mark.parametrize(("name", "expected"), [
    ("out.txt", "unsupported output type .txt"),
    ("out", "unsupported output type (none)"),
])
def test_bad_output_type_is_refused(tmp_path, name, expected):
    with pytest.raises(OutputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        prepare_output(tmp_path / name)


def test_failed_write_leaves_nothing(tmp_path):
    import pandas as pd

    out = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), TableWriter(out) as writer:
        writer.write(pd.DataFrame({"task": ["a"]}))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- separators, names, odd bytes


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_csv_with_another_separator_is_read_by_its_columns(tmp_path, separator):
    text = (f"task{separator}owner{separator}hours\n"
            f"Call customers, then write notes{separator}Ana{separator}2,5\n"
            f"Order steel{separator}Bo{separator}1\n")
    frame, column = read_tasks(_write(tmp_path / "export.csv", text))
    assert list(frame.columns) == ["task", "owner", "hours"]
    assert frame["task"].tolist() == ["Call customers, then write notes", "Order steel"]
    assert frame["hours"].tolist() == ["2,5", "1"]
    assert column == "task"


def test_commas_inside_a_semicolon_file_do_not_split_cells(tmp_path):
    text = "task;owner\n" + "".join(f"Call A, B and C about plan {n};Ana\n" for n in range(30))
    frame, _ = read_tasks(_write(tmp_path / "eu.csv", text))
    assert list(frame.columns) == ["task", "owner"]
    assert frame["task"].iloc[0] == "Call A, B and C about plan 0"


def test_duplicate_column_names_are_named_in_a_warning(tmp_path):
    warnings: list[str] = []
    path = _write(tmp_path / "dup.csv", "task,owner,task\nCall customers,Ana,again\n")
    frame, _ = read_tasks(path, warn=warnings.append)
    assert list(frame.columns) == ["task", "owner", "task.1"]
    assert warnings == [f"{path}: duplicate column names 'task'; the later ones are read as "
                        f"task.1 and so on"]


@pytest.mark.parametrize(("content", "line"), [
    ("task\nCall customers\nOrder\x00 steel\nMeet\x00 Bo\n", 3),
    ("task\n" + "Call customers about renewals\n" * 400 + "Order st\x00eel\n", 402),
    # Below a title, and a cell over two lines: the file's line, as an editor shows it.
    ('Weekly tasks - Ops\r\n\r\ntask,notes\r\nCall customers,"first\r\nsecond"\r\n'
     "Order\x00 steel,\r\n", 6),
])
def test_nul_bytes_are_dropped_with_a_warning_naming_the_first_line(tmp_path, content, line):
    warnings: list[str] = []
    path = _write(tmp_path / "nul.csv", content.encode("utf-8"))
    frame, _ = read_tasks(path, warn=warnings.append)
    assert not frame["task"].str.contains("\x00").any()
    assert "Order steel" in frame["task"].tolist()
    assert warnings[-1] == f"{path}: NUL bytes dropped (the first in line {line})"


def test_nul_bytes_in_txt_and_jsonl_name_their_row(tmp_path):
    files = [("t.txt", "one\ntw\x00o\n"), ("t.jsonl", '{"task": "one"}\n{"task": "tw\x00o"}\n')]
    for name, content in files:
        warnings: list[str] = []
        path = _write(tmp_path / name, content.encode("utf-8"))
        frame, _ = read_tasks(path, warn=warnings.append)
        assert frame["task"].tolist() == ["one", "two"]
        assert warnings == [f"{path}: NUL bytes dropped (the first in row 2)"]


def test_escaped_nul_characters_in_jsonl_are_dropped_naming_the_first_row(tmp_path):
    warnings: list[str] = []
    path = _write(tmp_path / "t.jsonl", '{"task": "one"}\n{"task": "tw\\u0000o", "k\\u0000": '
                  '["x\\u0000"]}\n{"task": "not a NUL: \\\\u0000"}\n')
    frame, _ = read_tasks(path, warn=warnings.append)
    assert frame["task"].tolist() == ["one", "two", "not a NUL: \\u0000"]
    assert frame["k"].tolist()[1] == ["x"]
    assert warnings == [f"{path}: NUL characters (\\u0000) dropped (the first in row 2)"]


@pytest.mark.parametrize("column", ["hours", "id"])
def test_a_numeric_text_column_is_refused_naming_it(tmp_path, column):
    path = _write(tmp_path / "t.csv", "id,task,hours\n1,Call customers,2\n2,Order steel,3.5\n")
    with pytest.raises(TasksError, match=f"column '{column}' holds numbers, not task text"):
        read_tasks(path, text_column=column)


def test_stdin_is_read_in_chunks_never_whole():
    """An endless stream: reading it whole would never return."""
    import itertools

    class Endless(io.TextIOBase):
        def __init__(self) -> None:
            self.lines = itertools.count()

        def readable(self) -> bool:
            return True

        def readline(self, size: int | None = -1) -> str:
            return f"Call customer {next(self.lines)}\n"

        def __iter__(self):
            return self

        def __next__(self) -> str:
            return self.readline()

    source = open_tasks("-")
    source.stream = Endless()
    first = next(iter_chunks(source, chunk_rows=1000))
    assert len(first) == 1000 and first["task"].iloc[-1] == "Call customer 999"


@pytest.mark.parametrize(("texts", "expected"), [
    (["", "Call the 12 customers whose service plans expire this month", "Hire a welder", ""],
     "pasted: Call the 12 customers whose service… and 1 more"),
    (["Hire  a\twelder"], "pasted: Hire a welder"),
    (["Renew-the-fire-extinguisher-inspection-contract-for-2027"],
     "pasted: Renew-the-fire-extinguisher-inspection-…"),
    (["", " "], "pasted"),
    # A placeholder ("-", "...") is a blank row, not a task: not one of the "more".
    (["Hire a welder", "-", "…", "Call the customers"], "pasted: Hire a welder and 1 more"),
    (["-", "Hire a welder"], "pasted: Hire a welder"),
    (["Hire a welder"] * 2_000, "pasted: Hire a welder and 1,999 more"),
])
def test_a_pasted_list_is_named_by_its_first_task(texts, expected):
    # Among the runs (sidebar, run picker, report) a paste reads like a file: by what it holds.
    assert paste_label(texts) == expected


JIRA = ("Issue key,Summary,Description\n"
        "SUP-1,Acme renewal call,\"Acme's admin raised concerns about price; call their CFO\"\n"
        "SUP-2,Shared drive cleanup,\n"
        "SUP-3,,Answer the 40 chats left from the weekend\n"
        "SUP-4,,\n")


def _jira(tmp_path, kind: str) -> Path:
    frame = pd.read_csv(io.StringIO(JIRA), dtype=str, keep_default_na=False)
    path = tmp_path / f"jira.{kind}"
    if kind == "csv":
        path.write_text(JIRA, encoding="utf-8")
    elif kind == "xlsx":
        frame.replace("", None).to_excel(path, index=False)
    else:
        frame.replace("", None).to_json(path, orient="records", lines=True)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx", "jsonl"])
def test_a_task_read_from_two_columns_is_their_text_a_line_each(tmp_path, kind):
    # A tracker's summary is terse ("Acme renewal call"); its description says the work.
    frame, column = read_tasks(_jira(tmp_path, kind), text_column=["Summary", "Description"])
    assert column == "Summary + Description"
    assert list(frame.columns) == ["Issue key", "Summary", "Description", column]
    assert frame[column].tolist() == [
        "Acme renewal call\nAcme's admin raised concerns about price; call their CFO",
        "Shared drive cleanup", "Answer the 40 chats left from the weekend", ""]


@pytest.mark.parametrize(("columns", "expected"), [
    (["Summary", "Body"], "no column 'Body'; columns are: Issue key, Summary, Description"),
    (["Summary", "Summary"], None),  # the same column twice is that column
])
def test_text_columns_are_checked_by_name(tmp_path, columns, expected):
    path = _jira(tmp_path, "csv")
    if expected is None:
        assert read_tasks(path, text_column=columns)[1] == "Summary"
        return
    with pytest.raises(TasksError) as caught:
        read_tasks(path, text_column=columns)
    assert str(caught.value) == f"{path}: {expected}"


@pytest.mark.parametrize(("pasted", "column", "expected"), [
    # rows copied from a spreadsheet, header and all: the columns stay columns
    ("Task\tOwner\tHours\nCall the customers\tTom\t3\n\nFix the roof\tAna\t5", "Task",
     {"Task": ["Call the customers", "", "Fix the roof"], "Owner": ["Tom", "", "Ana"],
      "Hours": ["3", "", "5"]}),
    # a line typed among copied rows (no tabs) is a task with its other cells empty, in the
    # task column: not a reason to read the header and every owner as words of tasks
    ("Task\tOwner\tHours\nFix the VPN client\tAna\t2\nOrder toner for the printer\n\n"
     "Encrypt the laptops\tDmitri\t4", "Task",
     {"Task": ["Fix the VPN client", "Order toner for the printer", "", "Encrypt the laptops"],
      "Owner": ["Ana", "", "", "Dmitri"], "Hours": ["2", "", "", "4"]}),
    ("Owner\tTask\nAna\tFix the VPN client\nBen\tPatch the servers\nOrder toner", "Task",
     {"Owner": ["Ana", "Ben", ""], "Task": ["Fix the VPN client", "Patch the servers",
                                            "Order toner"]}),
    # a header of names nobody listed, told by the numbers under one of them
    ("Activity\tPerson\tTime\nCall the customers\tTom\t3\nFix the roof\tAna\t5", "Activity",
     {"Activity": ["Call the customers", "Fix the roof"], "Person": ["Tom", "Ana"],
      "Time": ["3", "5"]}),
    # without a header row: the column of words is the task
    ("3\tCall the customers\tTom\n5\tFix the roof\tAna", "task",
     {"column 1": ["3", "5"], "task": ["Call the customers", "Fix the roof"],
      "column 3": ["Tom", "Ana"]}),
    # a tracker's view: the summary is the task; a quoted cell keeps its line break
    ('Summary\tDescription\tAssigned To\nFix the login\t"Users cannot log in\nsince Monday"\tTom',
     "Summary", {"Summary": ["Fix the login"], "Description": ["Users cannot log in\nsince Monday"],
                 "Assigned To": ["Tom"]}),
    # a list's markers are its layout; a year, a minus sign and a stray tab are the task's
    ("- Call the customers\n\u2022 Fix the roof\n1. Order toner\n[ ] Renew the lease\n"
     "- [x] Book the hall\n2026. Plan the budget\n-5% cost per mile\nHire a welder\tTom\n-",
     "task", {"task": ["Call the customers", "Fix the roof", "Order toner", "Renew the lease",
                       "Book the hall", "2026. Plan the budget", "-5% cost per mile",
                       "Hire a welder\tTom", "-"]}),
    # one-word tasks: the column of text with the longest texts
    ("Payroll\tTom\t3\nInventory\tAna\t5", "task",
     {"task": ["Payroll", "Inventory"], "column 2": ["Tom", "Ana"], "column 3": ["3", "5"]}),
    # what a spreadsheet would not copy is read as lines: an open quote, a cell past csv's limit
    ('"Fix the roof\tTom\nCall the customers\tAna', "task",
     {"task": ['"Fix the roof\tTom', "Call the customers\tAna"]}),
    ("Fix the roof\t" + "y" * 200_000, "task", {"task": ["Fix the roof\t" + "y" * 200_000]}),
])
def test_a_paste_reads_as_what_was_copied(pasted, column, expected):
    frame, text_column = paste_frame(pasted)
    assert text_column == column
    assert frame.to_dict("list") == expected


@pytest.mark.parametrize(("pasted", "message"), [
    ("", "pasted text: no tasks (the text is empty)"),
    ("Task\tOwner", "pasted text: no task rows, only a header (Task, Owner)"),
    ("3\t5\n4\t6", "pasted text: no pasted column holds task text (words); columns are: "
                    "column 1, column 2"),
])
def test_a_paste_without_tasks_is_refused_saying_why(pasted, message):
    with pytest.raises(TasksError) as refused:
        paste_frame(pasted)
    assert str(refused.value) == message


TITLED = [["Q4 task list - Sales team"], [], ["Task Name", "Owner", "Hours"],
          ["Call the customers whose plans expire", "Tom", "3"], ["Plan the team lunch", "Ann", "1"]]


def _table(tmp_path, name, rows):
    path = tmp_path / name
    if name.endswith(".xlsx"):
        import openpyxl

        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    else:
        width = max(map(len, rows))
        path.write_text("".join(",".join(row + [""] * (width - len(row))) + "\n"
                                for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["report.xlsx", "report.csv"])
@pytest.mark.parametrize("rows", [TITLED, TITLED[:1] + TITLED[2:], TITLED[1:]],
                         ids=["title-and-blank", "title", "blank"])
def test_a_title_above_the_header_is_not_read_as_a_task(tmp_path, name, rows):
    warnings: list[str] = []
    frame, column = read_tasks(_table(tmp_path, name, rows), warn=warnings.append)
    assert column == "Task Name"
    assert frame[column].tolist() == ["Call the customers whose plans expire",
                                      "Plan the team lunch"]
    assert frame["Owner"].tolist() == ["Tom", "Ann"]
    skipped = len(rows) - 3
    assert any(f"{skipped} row" in w and "above the header not read" in w for w in warnings)


@pytest.mark.parametrize("name", ["board.xlsx", "board.csv"])
@pytest.mark.parametrize("title", ["Marketing", "Tasks"])
def test_a_one_word_title_set_off_above_the_header_is_not_read_as_it(tmp_path, name, title):
    # A board's name of one word above a blank row was read as the header: the CSV was refused
    # ("2 fields where the header has 1"), the workbook's tasks read from a column "Marketing".
    warnings: list[str] = []
    frame, column = read_tasks(_table(tmp_path, name, [[title], [], *TITLED[2:]]),
                               warn=warnings.append)
    assert column == "Task Name" and frame["Owner"].tolist() == ["Tom", "Ann"]
    assert frame[column].tolist() == ["Call the customers whose plans expire",
                                      "Plan the team lunch"]
    assert any(f"2 rows above the header not read (the title {title!r})" in w for w in warnings)


PLANNER = [["Plan name", "Widget Ops Q1"], ["Export date", "2026-03-14"], [],
           ["Task ID", "Task Name", "Bucket Name", "Assigned To", "Description"],
           ["t1", "Negotiate volume pricing with a new dealer", "Sales", "Maria", ""],
           ["t2", "Post the job opening for a machinist", "HR", "Ana", "Second shift"]]


@pytest.mark.parametrize("rows", [
    PLANNER,
    # no blank row, but names wider than the block: still a block above the header
    [["Team", "Ops"], ["Week", "12"], ["Task", "Owner", "Hours"],
     ["Call the customers", "Ana", "2"], ["Order toner", "Ben", "1"]],
], ids=["planner", "no-blank-row"])
def test_a_key_value_block_above_a_wider_header_is_not_read(tmp_path, rows):
    warnings: list[str] = []
    frame, _ = read_tasks(_table(tmp_path, "tasks.csv", rows), warn=warnings.append)
    header = next(at for at, row in enumerate(rows) if len(row) > 2)
    assert list(frame.columns) == rows[header] and len(frame) == len(rows) - header - 1
    assert any(f"{header} rows above the header not read" in w for w in warnings)


@pytest.mark.parametrize("name", ["planner.xlsx", "planner.csv"])
def test_the_header_below_an_exports_key_value_block_is_found(tmp_path, name):
    # MS Planner's export: "Plan name | ..." was read as the header, and the task column with it.
    warnings: list[str] = []
    frame, column = read_tasks(_table(tmp_path, name, PLANNER), warn=warnings.append)
    assert column == "Task Name"
    assert list(frame.columns) == PLANNER[3]
    assert frame[column].tolist() == ["Negotiate volume pricing with a new dealer",
                                      "Post the job opening for a machinist"]
    assert any("3 rows above the header not read (from 'Plan name | Widget Ops Q1' on)" in w
               for w in warnings)


@pytest.mark.parametrize("rows", [
    [["What", "Who"], ["Call the new dealers", "Ana"], ["Status", "Owner"],
     ["Fix the coffee machine", "Ben"]],
    [["Aufgabe", "Wer"], ["Rechnungen prüfen", "Ana"], ["Angebote schreiben", "Ben"],
     ["Title", "Description"]],
], ids=["two-column-words", "german-header"])
def test_a_two_column_tables_row_of_column_words_is_a_task_not_its_header(tmp_path, rows):
    # Read as a header below a "key | value" block: the real header and the rows above it lost.
    frame, _ = read_tasks(_table(tmp_path, "tasks.csv", rows))
    assert list(frame.columns) == rows[0] and len(frame) == len(rows) - 1


@pytest.mark.parametrize("content", [
    "Q4 task list - Sales team\n\ntask;owner;hours\nCall the customers, then email them;Ana;1,5\n"
    "Fix the coffee machine;Ben;2\n",
    "Q4 task list, Sales team\ntask;owner;hours\nCall the customers, then email them;Ana;1,5\n"
    "Fix the coffee machine;Ben;2\n",
], ids=["title", "title-with-a-comma"])
def test_the_separator_is_the_headers_below_a_title(tmp_path, content):
    # Sniffed from the title line, the file was refused, or read with its header as a task.
    warnings: list[str] = []
    frame, column = read_tasks(_write(tmp_path / "week.csv", content), warn=warnings.append)
    assert list(frame.columns) == ["task", "owner", "hours"]
    assert frame[column].tolist() == ["Call the customers, then email them",
                                      "Fix the coffee machine"]
    assert frame["hours"].tolist() == ["1,5", "2"]
    assert any("above the header not read" in w for w in warnings)


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_excels_separator_line_names_the_separator_and_is_not_read(tmp_path, separator):
    # "sep=;" was read as the header: the "Hours" column was lost and "Task;Owner" classified.
    rows = [["Task", "Owner", "Hours"], ["Call the one-time buyers", "Maria", "2"],
            ["Order toner", "Dev", "1"]]
    content = f"sep={separator}\r\n" + "".join(separator.join(row) + "\r\n" for row in rows)
    warnings: list[str] = []
    frame, column = read_tasks(_write(tmp_path / "excel.csv", content), warn=warnings.append)
    assert list(frame.columns) == rows[0] and column == "Task"
    assert frame.values.tolist() == rows[1:]
    assert warnings == []


@pytest.mark.parametrize("odd", [";", "|"])
def test_a_one_column_list_whose_odd_task_holds_a_separator_is_one_column(tmp_path, odd):
    # Since the separator was looked for below a title, that task was read as the header.
    content = (f"Action item\nCall Ana about the renewal\nPitch widgets to Riverside{odd} bring "
               f"samples\nInspect the line{odd} log defects\nOrder the new dies\n"
               f"Plan the dealer day\n")
    frame, column = read_tasks(_write(tmp_path / "one.csv", content))
    assert column == "Action item" and len(frame) == 5
    assert frame[column][1] == f"Pitch widgets to Riverside{odd} bring samples"


@pytest.mark.parametrize("rows", [
    [["Activity"], ["Call the customers whose plans expire", "urgent"]],  # an unnamed column
    [["Tasks"], ["Call the customers whose plans expire", "urgent"]],  # a known name
    [["Q4 task list - Sales team"], ["Call the customers whose plans expire"]],  # one column
])
def test_a_first_row_that_may_be_the_header_is_the_header(tmp_path, rows):
    frame, _ = read_tasks(_table(tmp_path, "week.csv", rows))
    assert frame.columns[0] == rows[0][0]
    assert frame.iloc[0, 0] == "Call the customers whose plans expire"


@pytest.mark.parametrize(("content", "warned"), [
    ("task,owner\nHire a welder,Ana,\nCut scrap on the press,Bo,\n", False),  # a trailing comma
    ("task,owner\nHire a welder,Ana,x\nCut scrap on the press,Bo,\n", True),
])
def test_rows_longer_than_the_header_keep_their_columns(tmp_path, content, warned):
    warnings: list[str] = []
    frame, column = read_tasks(_write(tmp_path / "t.csv", content), warn=warnings.append)
    assert column == "task"
    assert frame["task"].tolist() == ["Hire a welder", "Cut scrap on the press"]
    assert frame["owner"].tolist() == ["Ana", "Bo"]
    assert any("more fields than the header" in w for w in warnings) == warned


def _sheets_workbook(path, sheets):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, state, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.sheet_state = state
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_a_hidden_first_sheet_is_not_the_one_read(tmp_path):
    path = _sheets_workbook(tmp_path / "export.xlsx", [("Lookup", "hidden", [["code"], ["A1"]]),
                                               ("Tasks", "visible", [["task"], ["Hire a welder"]])])
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["Hire a welder"]
    assert any("reading the first shown, 'Tasks'" in w for w in warnings)


@pytest.mark.parametrize(("hidden", "said"), [
    ([5], "1 row of sheet 'Tasks' is hidden in Excel (a filter?): row 5; read like"),
    ([1, 4, 5, 6, 7, 8, 9, 10], "7 rows of sheet 'Tasks' are hidden in Excel (a filter?): "
                                "rows 4, 5, 6, 7, 8 and 2 more; read like"),
    ([], None),
])
def test_rows_hidden_in_a_workbook_are_read_and_said_once(tmp_path, hidden, said):
    # A tracker export saved with a filter on: the other teams' tasks were counted unseen.
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tasks"
    sheet.append(["Q4 task list - Sales team"])  # row 1, a title: not a task when hidden
    sheet.append(["task", "owner"])
    for number in range(3, 11):
        sheet.append([f"Call customer {number} about renewals", "Ana"])
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    path = tmp_path / "filtered.xlsx"
    workbook.save(path)
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert len(frame) == 8  # hidden rows are still classified
    found = [w for w in warnings if "hidden in Excel" in w]
    assert [w[:len(f"{path}: {said}")] for w in found] == ([f"{path}: {said}"] if said else [])
    assert all(w.endswith("(delete the rows not to be read)") for w in found)


def test_cells_merged_over_task_rows_are_said(tmp_path):
    # A task merged over two rows (two owners): the second row came out `empty`, without a
    # word, and its hours left the report.
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tasks"
    sheet.merge_cells("A1:C1")  # a title over the columns: one row, nothing lost
    sheet["A1"] = "Q4 task list"
    sheet.append(["task", "owner", "hours"])
    for row in (["Call the lapsed customers", "Ana", 3], [None, "Fay", 5],
                ["Pitch the dealers", "Bo", 2]):
        sheet.append(row)
    sheet.merge_cells("A3:A4")
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["Call the lapsed customers", "", "Pitch the dealers"]
    assert [w for w in warnings if "cells merged" in w] == [
        f"{path}: cells merged over several rows in sheet 'Tasks' (A3:A4): only the top row "
        f"holds the value, the rows below read blank (unmerge and fill them in Excel)"]


def test_a_hidden_sheet_chosen_by_number_is_read_with_a_warning(tmp_path):
    # `--sheet 0` read the hidden lookup sheet as tasks, without a word.
    path = _sheets_workbook(tmp_path / "export.xlsx", [("Lookup", "hidden", [["code"], ["A1"]]),
                                               ("Tasks", "visible", [["task"], ["Hire a welder"]])])
    warnings: list[str] = []
    frame, column = read_tasks(path, sheet="0", warn=warnings.append)
    assert frame[column].tolist() == ["A1"]  # the number still counts from 0, as before
    [said] = [w for w in warnings if "hidden in Excel" in w]
    assert "sheet 'Lookup' is hidden in Excel" in said and "0 'Lookup', 1 'Tasks'" in said
    warnings.clear()
    frame, column = read_tasks(path, sheet="1", warn=warnings.append)
    assert frame[column].tolist() == ["Hire a welder"]
    assert warnings == [f"{path}: sheet 1 is 'Tasks' (sheet numbers count from 0, hidden "
                        f"sheets included: 0 'Lookup', 1 'Tasks')"]


def test_formulas_a_program_wrote_without_results_are_said_to_read_as_empty(tmp_path):
    path = _sheets_workbook(tmp_path / "made.xlsx", [("Tasks", "visible", [
        ["task", "hours"], ['=CONCAT("Hire ","a welder")', "=2*3"], ["Cut scrap", 2]])])
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["", "Cut scrap"]
    assert any("2 cells of sheet 'Tasks' hold a formula with no saved result" in w
               for w in warnings)


def _edited_workbook(path, rows, edit, write_only=False):
    """A workbook of `rows` whose sheet XML `edit` changes, as other tools write it."""
    import re
    import zipfile

    import openpyxl

    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Tasks") if write_only else workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    [name] = [name for name in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)]
    parts[name] = edit(parts[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return path


def test_a_workbook_opens_from_its_first_rows(tmp_path):
    # Opening read every row (9.5 s of 100,000), then the run read them all again: a cell the
    # reader cannot take far down is now met where it is read, as a CSV's bad line is.
    rows = [["task", "hours"]] + [[f"Call customer {n}", 2] for n in range(1, 1000)]
    rows[700][1] = 12345
    path = _edited_workbook(tmp_path / "big.xlsx", rows,
                            lambda xml: xml.replace(b"<v>12345</v>", b"<v>not a number</v>"))
    source = open_tasks(path)
    assert (source.columns, source.text_column) == (["task", "hours"], "task")
    with pytest.raises(TasksError, match="cannot read"):
        list(iter_chunks(source))


def _no_references(xml: bytes) -> bytes:
    import re

    return re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", xml)


@pytest.mark.parametrize(("write_only", "edit"), [
    (False, lambda xml: xml),  # its size saved, the note within it
    (True, lambda xml: xml),  # saved without its size (a program's export, this tool's output)
    (False, lambda xml: xml.replace(b'<dimension ref="A1:E400"', b'<dimension ref="A1:B3"')),
    (False, _no_references),  # cells without a reference: counted along their row
    (False, lambda xml: xml.replace(b'r="E350"', b'r="e350"')),
])
def test_a_cell_right_of_the_table_far_down_gives_the_columns_the_run_reads(tmp_path,
                                                                             write_only, edit):
    # The whole sheet's read gives the table a column for every cell, however far down: the
    # columns told on opening (and checked, and written) are the run's.
    rows = [["task", "owner"]] + [[f"Call customer {n}", "Ana"] for n in range(1, 400)]
    rows[349] = rows[349] + [None, None, "note: ask Bo"]
    path = _edited_workbook(tmp_path / "noted.xlsx", rows, edit, write_only)
    frame, _ = read_tasks(path)
    # (without references, the note is the row's third cell: its column is C)
    assert list(frame.columns)[:3] == ["task", "owner", "Unnamed: 2"]
    assert open_tasks(path).columns == list(frame.columns)


@pytest.mark.parametrize("edit", [
    lambda xml: xml.replace(b'<c r="B350" t="n"><v>2</v></c>',
                            b'<c r="B350" t="n"><v>2</v></c><c r="C350" s="0"/>'),
    lambda xml: xml,
])
def test_a_workbook_as_wide_as_its_first_rows_is_opened_with_their_columns(tmp_path, edit):
    # A cell saved empty (a format) gives no column; a sheet's first rows then tell them all.
    rows = [["task", "hours"]] + [[f"Call customer {n}", 2] for n in range(1, 400)]
    rows[700 % 399][1] = 7  # a number, and no note anywhere
    path = _edited_workbook(tmp_path / "plain.xlsx", rows, edit)
    frame, _ = read_tasks(path)
    assert open_tasks(path).columns == list(frame.columns) == ["task", "hours"]


def test_blank_rows_below_the_header_do_not_end_the_sheet_on_opening(tmp_path):
    # Read in part, a header and 250 blank rows are a sheet of no tasks; read whole, the tasks
    # below them count: opening sees them as the run does.
    rows = ([["task", "owner"]] + [[None, None]] * 250
            + [[f"Hire welder {n}", "Bo"] for n in range(50)])
    path = _edited_workbook(tmp_path / "gaps.xlsx", rows, lambda xml: xml)
    frame, _ = read_tasks(path)
    assert len(frame) == 300
    assert open_tasks(path).columns == list(frame.columns) == ["task", "owner"]


def test_columns_beyond_a_width_are_told_by_their_references():
    from classifier.files.hidden_rows import _beyond

    def index(letters: str) -> int:
        return sum((ord(letter) - 64) * 26 ** at for at, letter in enumerate(letters[::-1]))

    columns = ["A", "E", "F", "Z", "AA", "AD", "AE", "AZ", "BA", "ZZ", "AAA", "XFD"]
    for width in (0, 1, 5, 26, 27, 30, 52, 702, 703):
        found = [letters for letters in columns
                 if _beyond(width).search(f'<c r="{letters}12" t="s"><v>3</v></c>'.encode())]
        assert found == [letters for letters in columns if index(letters) > width], width
        assert not _beyond(width).search(b'<c r="XFD12" s="2"/>')  # saved empty, a format


def test_a_sheet_with_only_a_header_says_so(tmp_path):
    path = _sheets_workbook(tmp_path / "header.xlsx", [("Week 9", "visible", [["task", "owner"]])])
    with pytest.raises(TasksError, match="sheet 'Week 9' has no task rows, only a header"):
        read_tasks(path)


@pytest.mark.parametrize(("content", "warned"), [
    ("Hire a welder\nCut scrap on the press\n", True),  # one column, no header
    ("Hire a welder,Ana,3\nCut scrap on the press,Bo,2\n", True),  # "3" names no column
    ("task,owner\nHire a welder,Ana\n", False),
    ("What we do this week\nHire a welder\n", True),  # a header, maybe: said, nothing changed
    ("Work,May,June\nHire a welder,2,3\n", False),
    # a week's hours a column: the dates follow names task lists use
    ("Task,Owner,2026-03-02,2026-03-09\nHire a welder,Ana,2,3\n", False),
])
def test_a_file_without_a_header_row_is_said_to_lose_its_first_task(tmp_path, content, warned):
    warnings: list[str] = []
    frame, _ = read_tasks(_write(tmp_path / "t.csv", content), warn=warnings.append)
    assert len(frame) == 1
    assert any("is read as the column names" in w for w in warnings) == warned


def test_a_sheet_with_a_week_a_column_is_not_said_to_lack_a_header(tmp_path):
    # Its header, "Task, Owner, 2026-03-02, ...", was said to be maybe a task.
    from datetime import datetime

    path = _table(tmp_path, "weeks.xlsx", [["Task", "Owner", datetime(2026, 3, 2),
                                            datetime(2026, 3, 9)], ["Hire a welder", "Ana", 2, 3]])
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["Hire a welder"]
    assert warnings == []


def test_rows_are_numbered_by_the_lines_their_cells_take_whatever_each_column_holds():
    from datetime import date

    from classifier.files.row_numbers import RowNumbers

    chunk = pd.DataFrame({
        "task": ["two\nlines", "three\r\nlines\rhere", None, 5, "plain"],
        "points": [1, 2, 3, 4, 5],
        "numbers as objects": pd.Series([1, 2, 3, 4, 5], dtype=object),
        "due": [date(2026, 1, 1)] * 5,
        "notes": pd.Series(["a\n\n", None, "", "z", "y"], dtype="string"),
    })
    numbers = RowNumbers("line", 2, breaks=True)
    assert numbers.of(chunk) == [2, 6, 9, 10, 11]
    assert numbers.of(chunk.iloc[4:]) == [12]  # the next chunk goes on where this one ended


# Two weekly exports joined, a blank row left between them: the second week's first task has
# only its text (nobody took it yet), right above that week's header.
JOINED = [["Name", "Person", "Hours"], ["Call customers whose plan expires", "Ana", "1"], [],
          ["Order toner for the printer"], ["Name", "Person", "Hours"],
          ["Write the launch plan", "Aisha", "3"]]
# A board's export: each group's title, set off by a blank row, above the header again; the
# first group's above the file's header.
GROUPED = [["Widget board"], [], ["This week"], ["Name", "Person", "Hours"],
           ["Call customers whose plan expires", "Ana", "1"], [], ["Next week"],
           ["Name", "Person", "Hours"], ["Write the launch plan", "Aisha", "3"]]


@pytest.mark.parametrize("name", ["weeks.csv", "weeks.xlsx"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_a_task_alone_in_its_row_after_a_blank_row_above_a_repeated_header_is_a_task(
        tmp_path, name, chunk_rows):
    # It was emptied as a group's title: a file not laid out in titled groups has none.
    from classifier.files.readers import task_chunks, task_texts

    warnings: list[str] = []
    source = open_tasks(_table(tmp_path, name, JOINED), warn=warnings.append)
    texts = [text for _, chunk, _ in task_chunks(source, chunk_rows) for text in chunk]
    assert texts == ["Call customers whose plan expires", "", "Order toner for the printer", "",
                     "Write the launch plan"]
    unit = "line" if name.endswith(".csv") else "row"
    assert [w for w in warnings if "header again" in w] == [
        f"{source.label}: {unit} 5 is the header again or a group's title above it, not a "
        f"task: status empty, as a blank row"]
    frame, column = read_tasks(source.label)  # the app's way: a table read whole
    assert task_texts(frame, column) == texts


@pytest.mark.parametrize("name", ["board.csv", "board.xlsx"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_a_boards_group_titles_are_still_no_tasks(tmp_path, name, chunk_rows):
    from classifier.files.readers import task_chunks, task_texts, with_group_titles

    source = open_tasks(_table(tmp_path, name, GROUPED))
    texts = [text for _, chunk, _ in task_chunks(source, chunk_rows) for text in chunk]
    assert texts == ["Call customers whose plan expires", "", "", "", "Write the launch plan"]
    frame, column = read_tasks(source.label)
    assert task_texts(frame, column) == texts
    # A stored run's table has lost the file's top: the rows its run left empty say it.
    stored = frame.copy()
    stored.attrs.clear()
    empty = [text == "" for text in texts]
    assert task_texts(with_group_titles(stored, column, empty), column) == texts
    assert task_texts(with_group_titles(stored, column, [False] * len(texts)), column)[2] == \
        "Next week"


@pytest.mark.parametrize("name", ["board.csv", "board.xlsx"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
@pytest.mark.parametrize("top", [[["Widget board"], []], [["Widget board"]],
                                 [["Widget board"], ["Exported by Ana on 2026-03-02"], []]])
def test_a_boards_group_titles_are_no_tasks_where_its_first_group_has_none(
        tmp_path, name, chunk_rows, top):
    """A board's export whose first group has no title (its row deleted by hand, as people do
    to bring the header up): each later group's title was classified as a task."""
    from classifier.files.readers import task_chunks, task_texts, with_group_titles

    warnings: list[str] = []
    rows = [*top, *GROUPED[3:]]
    source = open_tasks(_table(tmp_path, name, rows), warn=warnings.append)
    texts = [text for _, chunk, _ in task_chunks(source, chunk_rows) for text in chunk]
    assert texts == ["Call customers whose plan expires", "", "", "", "Write the launch plan"]
    unit = "line" if name.endswith(".csv") else "row"
    at = len(top) + 4
    assert [w for w in warnings if "header again" in w] == [
        f"{source.label}: {unit}s {at}, {at + 1} are the header again or a group's title "
        f"above it, not tasks: status empty, as a blank row"]
    frame, column = read_tasks(source.label)  # the app's way: a table read whole
    assert task_texts(frame, column) == texts
    stored = frame.copy()  # a re-run of its run
    stored.attrs.clear()
    assert task_texts(with_group_titles(stored, column, [not text for text in texts]),
                      column) == texts


@pytest.mark.parametrize(("text", "tasks"), [
    ("My team's tasks this week:\n- Fix the login bug\n- Draft the Q3 newsletter",
     ["", "Fix the login bug", "Draft the Q3 newsletter"]),
    ("\nThis week:\n\n1. Fix the login bug\n2. Draft the Q3 newsletter",
     ["", "", "", "Fix the login bug", "Draft the Q3 newsletter"]),
    ("To do:\n[ ] Fix the login bug", ["", "Fix the login bug"]),
    ("本周任务：\n- 修复登录错误", ["", "修复登录错误"]),
    # Not a list's title: tasks all the same
    ("Tasks:\nFix the login bug", ["Tasks:", "Fix the login bug"]),  # no list below it
    ("- Prepare the offsite:\n- Book the venue", ["Prepare the offsite:", "Book the venue"]),
    ("Fix the login bug\nThis week:\n- Call Ana", ["Fix the login bug", "This week:",
                                                   "Call Ana"]),  # not the first line
    ("Call Ana at 10:30\n- Fix the login bug", ["Call Ana at 10:30", "Fix the login bug"]),
    ("Tasks:", ["Tasks:"]),
])
def test_a_pasted_lists_title_line_is_no_task(text, tasks):
    from classifier.files.readers import task_texts

    frame, column = paste_frame(text)
    assert task_texts(frame, column) == tasks
    assert len(frame) == len(tasks)  # every line is a row all the same


@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_a_lists_title_line_is_no_task_on_stdin_and_in_a_txt_file(tmp_path, monkeypatch,
                                                                   chunk_rows):
    from classifier.files.readers import task_chunks, task_texts, with_group_titles

    lines = "Tasks for this week:\n\n- Call the customers\n- Fix the login bug\n"
    expected = ["", "", "- Call the customers", "- Fix the login bug"]
    for path in ("-", _write(tmp_path / "week.txt", lines)):
        monkeypatch.setattr("sys.stdin", io.StringIO(lines))
        warnings: list[str] = []
        source = open_tasks(path, warn=warnings.append)
        assert [text for _, texts, _ in task_chunks(source, chunk_rows) for text in texts] == \
            expected
        assert warnings == [f"{source.label}: row 1 ('Tasks for this week:') is read as the "
                            f"list's title, not a task: status empty, as a blank row (without "
                            f"its closing ':' it is classified)"]
    frame, column = read_tasks(path)  # the app's way: a table read whole
    assert task_texts(frame, column) == expected
    # Its run re-run (after a plan edit): the stored table has lost the list's markers.
    stored = frame.assign(task=frame["task"].str.removeprefix("- "))
    stored.attrs.clear()
    empty = [not text for text in expected]
    assert task_texts(with_group_titles(stored, column, empty), column)[:2] == ["", ""]
    assert task_texts(with_group_titles(stored, column, [False] * 4), column)[0] == \
        "Tasks for this week:"


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8"])
def test_excels_tab_delimited_text_file_is_read_as_a_table(tmp_path, encoding):
    # Excel's "Unicode Text" / "Text (Tab delimited)": read as lines, its header was a task and
    # every task's text ran on into its owner and hours ("Call the customers\tJosé\t2").
    rows = ["Task\tOwner\tHours", "Call the customers\tJosé\t2", "Fix the login bug\tBo\t3"]
    path = _write(tmp_path / "week.txt", "\r\n".join(rows).encode(encoding) + b"\r\n"
                  if encoding != "utf-16" else "\r\n".join(rows + [""]).encode(encoding))
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert list(frame.columns) == ["Task", "Owner", "Hours"] and column == "Task"
    assert frame[column].tolist() == ["Call the customers", "Fix the login bug"]
    assert frame["Owner"].tolist() == ["José", "Bo"]
    assert f"{path}: rows of cells apart by tabs (Excel's \"Text (Tab delimited)\" or " \
           f"\"Unicode Text\"): read as a table, as a .tsv file is" in warnings


def test_a_list_with_a_stray_tab_is_still_lines(tmp_path):
    path = _write(tmp_path / "week.txt", "Hire a welder\tTom\nCall the customers\nFix the bug\n")
    frame, column = read_tasks(path)
    assert frame[column].tolist() == ["Hire a welder\tTom", "Call the customers", "Fix the bug"]


MARKDOWN_SAID = ("pasted text: a Markdown table (cells apart by '|'): read as a table; line 1 "
                 "names the columns, line 2 (|---|) is no row, and each line from 3 on is a "
                 "task row")


@pytest.mark.parametrize(("pasted", "column", "expected", "said"), [
    # GitHub's and Notion's: pipes around every row; an escaped pipe is the task's own
    ("| Task | Owner |\n|---|---|\n| Fix the login bug | Ana |\n| Split A \\| B tests | Bo |\n",
     "Task", {"Task": ["Fix the login bug", "Split A | B tests"], "Owner": ["Ana", "Bo"]},
     MARKDOWN_SAID),
    # no pipes around the rows, columns aligned; a short row's last cells are empty
    ("ID | Title | Estimate\n:-- | :---: | --:\nENG-1 | Fix the login bug | 3\nENG-2 | Call Bo",
     "Title", {"ID": ["ENG-1", "ENG-2"], "Title": ["Fix the login bug", "Call Bo"],
               "Estimate": ["3", ""]}, MARKDOWN_SAID),
    # a heading above it is its title; a blank line a blank row; a line typed below it a task
    ("## Sprint 12\n\n| Owner | Task |\n| --- | --- |\n| Ana | Fix the login bug |\n\n"
     "Order toner\n\n", "Task",
     {"Owner": ["Ana", "", ""], "Task": ["Fix the login bug", "", "Order toner"]},
     "pasted text: a Markdown table (cells apart by '|'): read as a table; line 3 names the "
     "columns, line 4 (|---|) is no row, and each line from 5 on is a task row; line 1 "
     "('## Sprint 12') above it is its title, not read"),
])
def test_a_pasted_markdown_table_is_read_as_a_table(pasted, column, expected, said):
    # Read as lines, each task kept its pipes and owner, the header was classified and the
    # |---| line was an empty row.
    warnings: list[str] = []
    frame, text_column = paste_frame(pasted, warn=warnings.append)
    assert text_column == column
    assert frame.to_dict("list") == expected
    assert warnings == [said]


@pytest.mark.parametrize("pasted", [
    "Task\n---\nFix the login bug",  # a heading's underline, not a table's separator
    "Fix the login | Ana\nCall Bo | Tom",  # no separator line
    "Call Bo\nFix the login\n| Task |\n|---|\n| Order toner |",  # a table further down
])
def test_lines_with_pipes_but_no_markdown_table_are_lines(pasted):
    warnings: list[str] = []
    frame, column = paste_frame(pasted, warn=warnings.append)
    assert frame[column].tolist() == pasted.splitlines() and warnings == []


def test_a_markdown_row_wider_than_its_header_is_refused_naming_its_line(tmp_path):
    table = "| Task | Owner |\n|---|---|\n| Fix the login | Ana |\n| Split A | B tests | Bo |\n"
    said = "line 4: 3 cells where the table's header has 2 (a '|' inside a cell is written '\\|')"
    with pytest.raises(TasksError) as refused:
        paste_frame(table)
    assert str(refused.value) == f"pasted text: {said}"
    path = _write(tmp_path / "week.txt", table)
    with pytest.raises(TasksError) as refused:
        read_tasks(path)
    assert str(refused.value) == f"{path}: {said}"


@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_a_txt_file_of_a_markdown_table_is_read_as_a_table(tmp_path, chunk_rows):
    from classifier.files.readers import row_numbers, task_chunks

    path = _write(tmp_path / "week.txt",
                  "# Sprint 12\n\n| Task | Owner | Hours |\n|---|---|---|\n"
                  "| Call the customers | José | 2 |\n| - | Bo | |\n\nOrder toner\n")
    warnings: list[str] = []
    source = open_tasks(path, warn=warnings.append)
    assert source.columns == ["Task", "Owner", "Hours"] and source.text_column == "Task"
    chunks = list(task_chunks(source, chunk_rows))
    frame = pd.concat([chunk for chunk, _, _ in chunks], ignore_index=True)
    assert frame.to_dict("list") == {"Task": ["Call the customers", "-", "", "Order toner"],
                                     "Owner": ["José", "Bo", "", ""], "Hours": ["2", "", "", ""]}
    assert [text for _, texts, _ in chunks for text in texts] == \
        ["Call the customers", "-", "", "Order toner"]
    assert row_numbers(source).of(frame) == [5, 6, 7, 8]  # as warnings name the rows: lines
    assert warnings[0] == (
        f"{path}: a Markdown table (cells apart by '|'): read as a table; line 3 names the "
        f"columns, line 4 (|---|) is no row, and each line from 5 on is a task row; line 1 "
        f"('# Sprint 12') above it is its title, not read")


@pytest.mark.parametrize("name", ["week.csv", "week.tsv", "week.txt"])
@pytest.mark.parametrize("order, said", [("utf-16-le", "little"), ("utf-16-be", "big")])
def test_utf16_without_a_byte_order_mark_is_read(tmp_path, name, order, said):
    # Excel's "Unicode text" at times has no BOM: it was refused as binary content.
    lines = ["Call the customers about renewals", "Réviser le café", "Позвонить клиентам"]
    separator = {".csv": ",", ".tsv": "\t"}.get(Path(name).suffix)
    rows = [f"task{separator}owner"] + [f"{line}{separator}Zoë" for line in lines] \
        if separator else lines
    path = _write(tmp_path / name, "\r\n".join(rows).encode(order) + "\r\n".encode(order))
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == lines
    assert warnings == [f"{path}: read as UTF-16 ({said}-endian), with no byte-order mark"]


# Lists of almost no ASCII: only their line breaks leave a zero byte.
CHINESE = ["修复登录页面的错误问题并且通知所有受影响的客户",
           "起草第三季度的新闻通讯稿件并发给市场部门审阅",
           "给上个季度的一次性买家打电话推销我们的服务计划"]
JAPANESE = ["ログイン画面の不具合を修正してお客様全員に連絡する",
            "第三四半期のニュースレターの原稿を書いて送る"]


@pytest.mark.parametrize("lines", [CHINESE, JAPANESE])
@pytest.mark.parametrize(("order", "said"), [("utf-16-le", "little"), ("utf-16-be", "big")])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_utf16_without_a_byte_order_mark_of_almost_no_ascii_is_read(tmp_path, lines, order,
                                                                     said, newline):
    # It was refused as binary content: too few zero bytes for the text of a Latin script.
    path = _write(tmp_path / "tasks.txt", "".join(line + newline for line in lines
                                                  ).encode(order))
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == lines
    assert warnings == [f"{path}: read as UTF-16 ({said}-endian), with no byte-order mark"]


@pytest.mark.parametrize("content", [
    random.Random(7).randbytes(4096),  # compressed, say
    # random two-byte units in "lines", as UTF-16 would have them: no script's words
    b"".join(random.Random(3).randbytes(40) + "\n".encode("utf-16-le") for _ in range(100)),
])
def test_binary_is_still_refused_as_no_text(tmp_path, content):
    with pytest.raises(TasksError, match="not a text table"):
        read_tasks(_write(tmp_path / "data.txt", content))


def test_a_text_with_a_stray_nul_is_not_read_as_utf16(tmp_path):
    # ASCII read two bytes at a time is Chinese characters; a NUL or two is dropped instead.
    path = _write(tmp_path / "tasks.txt", b"Call the customers\n\x00Fix the login bug\n")
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == ["Call the customers", "Fix the login bug"]
    assert not any("UTF-16" in warning for warning in warnings)


def test_binary_with_zeros_in_every_other_byte_is_still_refused(tmp_path):
    # Sixteen-bit numbers (a sound, a table of counts) are no UTF-16 text: control characters.
    counts = bytes(byte for value in range(1, 30) for byte in (value, 0)) * 64
    with pytest.raises(TasksError, match="not a text table"):
        read_tasks(_write(tmp_path / "counts.csv", counts))


def test_a_stored_runs_board_keeps_its_header_and_titles_out_under_a_kept_column(tmp_path):
    """A board's lower-case 'status' is stored as 'status (input)' (the tool writes its own
    status): a re-run of that run read the repeated header and the group's title above it as
    tasks, as its cells no longer matched the stored column's name."""
    from classifier.files.readers import task_texts, with_group_titles
    from classifier.results import input_renames

    rows = [["Widget board"], [], ["This week"], ["task", "owner", "status"],
            ["Call customers whose plan expires", "Ana", "open"], [], ["Next week"],
            ["task", "owner", "status"], ["Write the launch plan", "Aisha", "done"]]
    frame, column = read_tasks(_table(tmp_path, "board.csv", rows))
    texts = task_texts(frame, column)
    assert texts == ["Call customers whose plan expires", "", "", "", "Write the launch plan"]
    stored = frame.rename(columns=input_renames(frame.columns))
    stored.attrs.clear()
    assert "status (input)" in stored.columns
    empty = [text == "" for text in texts]
    assert task_texts(with_group_titles(stored, column, empty), column) == texts


@pytest.mark.parametrize("name", ["board.csv", "board.xlsx"])
@pytest.mark.parametrize("chunk_rows", [1, 20_000])
def test_a_boards_group_titles_are_no_tasks_where_its_first_column_is_empty(
        tmp_path, name, chunk_rows):
    """A board laid out from column B (column A left empty, as a sheet with a margin has): each
    group's title is in the first column the header names. The first cell alone was taken for
    the title's place, and the second group's title was read as a task."""
    from classifier.files.readers import task_chunks, task_texts

    blank = "" if name.endswith(".csv") else None
    rows = [[blank, *row] if row else [] for row in GROUPED]
    source = open_tasks(_table(tmp_path, name, rows))
    texts = [text for _, chunk, _ in task_chunks(source, chunk_rows) for text in chunk]
    assert texts == ["Call customers whose plan expires", "", "", "", "Write the launch plan"]
    frame, column = read_tasks(source.label)
    assert task_texts(frame, column) == texts


def test_a_txt_list_whose_sub_items_are_indented_by_tabs_is_still_lines(tmp_path):
    # An outline saved from a notes app: read as Excel's tab-delimited text, its first item was
    # the header and its sub-items were dropped as fields beyond it.
    lines = ["- Call the customers whose plans expire", "\t- Ana has the list",
             "\t- start with the biggest", "- Fix the leaking seal", "\t- order the seal kit",
             "\t- book the downtime", "- Post the spring promo photos"]
    path = _write(tmp_path / "week.txt", "\n".join(lines) + "\n")
    warnings: list[str] = []
    frame, column = read_tasks(path, warn=warnings.append)
    assert frame[column].tolist() == lines
    assert not any("tabs" in warning for warning in warnings)


def test_a_pasted_list_whose_sub_items_are_indented_by_tabs_is_lines():
    # Read as rows copied from a spreadsheet, the sub-items went to a "column 2" and were blank
    # rows, and the items kept their bullets.
    pasted = ("- Call the customers whose plans expire\n\t- Ana has the list\n"
              "\t- start with the biggest\n- Fix the leaking seal\n\t- order the seal kit\n")
    frame, column = paste_frame(pasted)
    assert list(frame.columns) == [column]
    assert frame[column].tolist() == [
        "Call the customers whose plans expire", "Ana has the list", "start with the biggest",
        "Fix the leaking seal", "order the seal kit"]
