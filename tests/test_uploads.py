"""Uploaded task files: size and type checked first, then read like files on disk."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from classifier.errors import TasksError
from classifier.files.uploads import read_upload, upload_columns


def test_upload_keeps_every_column_and_finds_the_text_column():
    data = b"title,owner,hours\nHire a machinist,Ann,4\nCall lapsed customers,Bo,2\n"
    assert upload_columns("week.csv", data) == (["title", "owner", "hours"], "title", [])
    frame, column = read_upload("week.csv", data)
    assert column == "title"
    assert frame.to_dict("list") == {"title": ["Hire a machinist", "Call lapsed customers"],
                                     "owner": ["Ann", "Bo"], "hours": ["4", "2"]}


def test_upload_whose_names_do_not_say_leaves_the_text_column_to_the_person():
    data = b"What,Who\nHire a machinist,Ann Lee\nCall lapsed customers,Bo Chan\n"
    assert upload_columns("week.csv", data) == (["What", "Who"], None, [])
    with pytest.raises(TasksError, match="week.csv: cannot tell which column"):
        read_upload("week.csv", data)


def test_upload_says_how_it_was_read_naming_the_file():
    data = "Q4 list of the sales team\ntitle,owner\nRéviser le café,Zoë\n".encode("cp1252")
    table = upload_columns("week.csv", data)
    assert table.text_column == "title"
    assert table.notes == ["week.csv: not UTF-8; read as cp1252",
                           "week.csv: 1 row above the header not read (the title "
                           "'Q4 list of the sales team')"]


def test_upload_reads_xlsx():
    buffer = io.BytesIO()
    pd.DataFrame({"task": ["Hire a machinist"], "effort": [3]}).to_excel(buffer, index=False)
    frame, column = read_upload("week.xlsx", buffer.getvalue())
    assert column == "task" and frame["task"].tolist() == ["Hire a machinist"]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("week.csv", b"task\n" + b"x" * 2048, "over the 0 MB limit"),
    ("week.pdf", b"%PDF-1.4", "unsupported file type .pdf"),
    ("week", b"task\nx\n", "unsupported file type (none)"),
    ("week.csv", b"", "the file is empty"),
    ("week.csv", b"task\n", "no task rows"),
    ("week.xlsx", b"not a workbook", "not a readable Excel workbook"),
])
def test_bad_upload_names_the_file(name, data, message):
    with pytest.raises(TasksError) as error:
        read_upload(name, data, max_bytes=1024)
    assert message in str(error.value)
    assert str(error.value).startswith(name)
    assert "/tmp" not in str(error.value)  # the temporary copy is never named


def test_unknown_text_column_is_named():
    with pytest.raises(TasksError, match="week.csv: no column 'body'"):
        read_upload("week.csv", b"task,owner\nHire,Ann\n", text_column="body")


def test_a_number_column_picked_as_the_task_text_is_refused_in_the_apps_words():
    data = b"What,Hours\nCall the customers,3\nPitch our widgets,5\n"
    with pytest.raises(TasksError) as refused:
        read_upload("week.csv", data, text_column="Hours")
    message = str(refused.value)
    assert message.startswith("week.csv: column 'Hours' holds numbers, not task text")
    assert "choose the column that describes each task" in message
    assert "--text-column" not in message
