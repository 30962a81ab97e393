"""The `tactics` command: bad inputs get one line and exit 2 with nothing written; formats
round-trip; evaluate and calibrate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from classifier.cli import app
from classifier.errors import OutputError
from classifier.plan import Thresholds, load_plan, save_plan
from classifier.results import RESULT_COLUMNS
from classifier.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

PLAN = str(DATA / "plan.yaml")
runner = CliRunner()

ODD_COLUMNS = ["task", "code", "amount", "flag", "na", "blank"]
ODD_ROWS = [
    ["Call the customers whose service plans expire", "007", "1e5", "TRUE", "NA", ""],
    ["   ", "0012", "-0", "false", "N/A", ""],
    ["Pitch our widgets to Riverside Hardware", "", "1,5", "", "null", "x"],
    ["", "x", "2026-03-02", "no", "NaN", ""],
]


def _invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def _assert_refused(result, out, *expected: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*")) if out.parent.exists() else True


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("plan", "expected"), [
    (None, "plan file not found"),
    ("vision: v\nstrategies: []\n", "the plan has no strategies"),
    ("strategies:\n  - {id: a, name: A}\n  - {id: a, name: B}\n", "duplicate strategy id 'a'"),
    ("strategies:\n  - {id: a, name: Our team}\n  - {id: b, name: our team, description: B}\n",
     "strategy 2 'our team': the same name as strategy 1"),
    ("strategies:\n  - {id: x, name: Serves no strategy}\n",
     "strategy 1 (id 'x').name: 'Serves no strategy' is what decisions and labels write"),
    ("strategies:\n  - {id: a}\n", "strategy 1 (id 'a').name: required field is missing"),
    ("strategies:\n  - {id: a, name: A, colour: red}\n",
     "strategy 1 (id 'a'): unknown key 'colour'"),
    ("strategies:\n  - id: a\n    name: [A\n", "malformed YAML at line"),
])
def test_bad_plan_is_refused(tmp_path, plan, expected):
    plan_path = tmp_path / "plan.yaml"
    if plan is not None:
        plan_path.write_text(plan)
    tasks = _write(tmp_path / "t.txt", "Call the customers\n")
    out = tmp_path / "out.csv"
    result = _invoke("classify", tasks, "--plan", str(plan_path), "--out", str(out))
    _assert_refused(result, out, str(plan_path), expected)


def test_malformed_json_plan_names_the_line(tmp_path):
    plan_path = _write(tmp_path / "plan.json", '{"strategies": [\n  {"id": "a",}\n]}')
    tasks = _write(tmp_path / "t.txt", "Call the customers\n")
    out = tmp_path / "out.csv"
    result = _invoke("classify", tasks, "--plan", plan_path, "--out", str(out))
    _assert_refused(result, out, "malformed JSON at line 2")


@pytest.mark.parametrize(("name", "content", "args", "expected"), [
    ("missing.csv", None, [], "tasks file not found"),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), [],
     "not a text table"),
    ("noise.csv", bytes((i * 7919) % 255 + 1 for i in range(5000)), [], "not a text table"),
    ("empty.csv", b"", [], "the file is empty"),
    ("blank.txt", b"\n \n", [], "the file is empty"),
    ("header.csv", b"task,owner\n", [], "no task rows"),
    ("two.csv", b"alpha,beta\nCall the customers now,Send the quotes today\n", [],
     "columns are: alpha, beta; pass --text-column NAME"),
    ("t.csv", b"task,owner\nCall the customers,Ann\n", ["--text-column", "what"],
     "no column 'what'; columns are: task, owner"),
    ("t.txt", b"Call the customers\n", ["--text-column", "what"], "drop --text-column"),
    # The file's own line, in words (pandas said "C error: EOF inside string starting at
    # row 5" for line 6)
    ("quote.csv", b'task,owner\nA,b\nB,c\nC,d\nD,e\n"E oops,f\nG,h\n', [],
     "line 6: a quote opened there is never closed"),
    ("wide.csv", b"task,owner\nCall the customers,Ann\nPitch dealers,Bo,3\n", [],
     "line 3: 3 fields where the header has 2"),
    # A tracker's description over three lines above: the parser's record 4 is line 6 (it
    # said "line 4"), and an open quote on line 6 was "line 4" too.
    ("ragged.csv", b'task,owner\n"Pitch\nthe\ndealers",ana\nok,bob\nbad,x,y\n', [],
     "line 6: 3 fields where the header has 2"),
    ("open.csv", b'task,owner\n"Pitch\nthe\ndealers",ana\nok,bob\n"open,x\nmore\n', [],
     "line 6: a quote opened there is never closed"),
])
def test_bad_tasks_file_is_refused(tmp_path, name, content, args, expected):
    tasks = tmp_path / name
    if content is not None:
        tasks.write_bytes(content)
    out = tmp_path / "out.csv"
    result = _invoke("classify", str(tasks), "--plan", PLAN, "--out", str(out), *args)
    _assert_refused(result, out, str(tasks), expected)


def test_empty_stdin_is_refused(tmp_path):
    out = tmp_path / "out.csv"
    result = _invoke("classify", "-", "--plan", PLAN, "--out", str(out), stdin="  \n")
    _assert_refused(result, out, "stdin", "no tasks")


@pytest.mark.parametrize(("model", "expected"), [
    ("/nonexistent/folder", "model folder /nonexistent/folder not found"),
    ("some-org/not-a-model", "hf download some-org/not-a-model"),
])
def test_model_that_cannot_load_says_how_to_get_it(tmp_path, model, expected):
    tasks = _write(tmp_path / "t.txt", "Call the customers\n")
    out = tmp_path / "out.csv"
    result = _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "--model", model)
    _assert_refused(result, out, expected, "bundled all-MiniLM-L6-v2")


def test_bad_output_type_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out.txt"
    result = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out", str(out))
    _assert_refused(result, out, "unsupported output type .txt")


@pytest.mark.parametrize("command", ["classify", "report"])
def test_stdout_as_the_output_is_refused_in_one_clear_line(tmp_path, command):
    """`--out -` (as `-` reads stdin for TASKS) said "unsupported output type (none)"."""
    given = ([str(DATA / "tasks.txt"), "--plan", PLAN] if command == "classify"
             else ["--db", str(tmp_path / "none.db"), "--plan", PLAN])
    result = _invoke(command, *given, "--out", "-")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    types = ".csv, .tsv, .jsonl or .xlsx" if command == "classify" else ".html, .xlsx or .csv"
    assert lines == [f"error: -: writing to stdout is not supported; give an output file "
                     f"({types})"]


def test_stdout_is_no_folder_of_parts_on_ray(tmp_path):
    """With --ray and a folder of tasks, `--out -` was a parquet folder named "-"."""
    from classifier.distributed import check_dataset_output

    (tmp_path / "tasks").mkdir()
    _write(tmp_path / "tasks" / "a.csv", "task\nCall the customers\n")
    with pytest.raises(OutputError, match="^-: writing to stdout is not supported"):
        check_dataset_output(str(tmp_path / "tasks"), "-", {})


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_an_output_naming_the_input_is_refused_before_anything_is_read(tmp_path, link):
    tasks = tmp_path / "same.csv"
    tasks.write_text("task\nCall the customers\n", encoding="utf-8")
    out = {"same": tasks, "symlink": tmp_path / "link.csv",
           "hardlink": tmp_path / "hard.csv"}[link]
    if link == "symlink":
        out.symlink_to(tasks)
    elif link == "hardlink":
        os.link(tasks, out)
    result = _invoke("classify", str(tasks), "--plan", PLAN, "--out", str(out))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "is the tasks file" in lines[0] and "never overwritten" in lines[0]
    assert tasks.read_text(encoding="utf-8") == "task\nCall the customers\n"


@pytest.mark.parametrize("command", ["classify", "queue", "report"])
def test_an_output_naming_a_plan_kept_as_a_table_is_refused(tmp_path, command):
    plan = tmp_path / "plan.csv"
    plan.write_text("id,name\ngrow,Grow recurring revenue\ncut,Cut costs\n", encoding="utf-8")
    db = tmp_path / "tactics.db"
    done = _invoke("classify", str(DATA / "tasks.txt"), "--plan", str(plan), "--out",
                   str(tmp_path / "o.csv"), "--db", str(db), "-q")
    assert done.exit_code == 0, done.output
    args = ([str(DATA / "tasks.txt")] if command == "classify" else ["--db", str(db)])
    result = _invoke(command, *args, "--plan", str(plan), "--out", str(plan))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "is the plan" in lines[0]
    assert plan.read_text(encoding="utf-8").startswith("id,name\ngrow,")


def test_an_output_naming_the_store_is_refused(tmp_path):
    db = tmp_path / "tactics.csv"
    result = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out", str(db),
                     "--db", str(db))
    _assert_refused(result, db, "is the store")


@pytest.mark.parametrize("command", ["classify", "queue", "report"])
@pytest.mark.parametrize("form", ["sqlite:///{}?timeout=30", "sqlite:///file:{}?uri=true"])
def test_an_output_naming_the_store_through_a_url_with_options_is_refused(tmp_path, command,
                                                                          form):
    """`--db sqlite:///team.csv?timeout=30 --out team.csv` went past the check a plain path
    gets: the store was written over with the output."""
    db = tmp_path / "team.csv"
    url = form.format(db)
    done = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out",
                   str(tmp_path / "first.csv"), "--db", url, "-q")
    assert done.exit_code == 0, done.output
    before = db.read_bytes()
    args = [str(DATA / "tasks.txt")] if command == "classify" else []
    result = _invoke(command, *args, "--plan", PLAN, "--out", str(db), "--db", url)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "is the store" in lines[0]
    assert db.read_bytes() == before
    with Store(db) as store:
        assert store.latest_run("default") is not None


@pytest.mark.parametrize(("plan", "expected"), [
    ("strategies:\n  - {id: 'a,b', name: A}\n", "strategy 1 (id 'a,b').id: id 'a,b' may hold "
     "only letters, digits, '-', '_' and '.'"),
    ("strategies:\n  - {id: \"a\\nb\", name: A}\n", "may hold only letters"),
    ("strategies:\n  - {id: ok, name: A}\n  - {id: none, name: B}\n",
     "strategy 2 (id 'none').id: id 'none' is reserved"),
])
def test_strategy_ids_that_would_break_outputs_are_refused(tmp_path, plan, expected):
    path = tmp_path / "plan.yaml"
    path.write_text(plan, encoding="utf-8")
    result = _invoke("classify", str(DATA / "tasks.txt"), "--plan", str(path), "--out",
                     str(tmp_path / "out.csv"))
    _assert_refused(result, tmp_path / "out.csv", expected)


def test_a_numeric_text_column_is_refused_naming_it(tmp_path):
    out = tmp_path / "out.csv"
    result = _invoke("classify", str(DATA / "tasks.csv"), "--plan", PLAN, "--out", str(out),
                     "--text-column", "effort_hours")
    _assert_refused(result, out, "column 'effort_hours' holds numbers, not task text")


def test_a_new_store_is_created_and_the_run_saved_for_the_app(tmp_path):
    from classifier.store import Store

    db = tmp_path / "team" / "tactics.db"
    out = tmp_path / "out.csv"
    result = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out", str(out),
                     "--db", str(db), "-q")
    assert result.exit_code == 0, result.output
    assert f"saved as run #1 in {db} (a new store)" in result.stderr  # a typo'd path shows
    with Store(db) as store:
        [run] = store.runs()
        assert run.rows == len(pd.read_csv(out)) and run.source == "tasks.txt"
        assert store.latest_plan()[1] == load_plan(PLAN)
    again = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out", str(out),
                    "--db", str(db), "-q")
    assert f"saved as run #2 in {db}\n" in again.stderr


# A few refusals through a real process: exit code, one line, no traceback.
@pytest.mark.slow
@pytest.mark.parametrize(("tasks", "extra", "expected"), [
    ("tasks.csv", ["--plan", "missing-plan.yaml"], "plan file not found"),
    ("noise.csv", [], "not a text table"),
    ("tasks.csv", ["--model", "some-org/not-a-model"], "cannot load model 'some-org/not-a-model'"),
    ("-", [], "stdin: not UTF-8 text; pass the file's path instead"),  # cp1252 piped in
])
def test_refusal_through_a_real_process(tmp_path, tasks, extra, expected):
    (tmp_path / "noise.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "tasks.csv").write_text("task\nCall the customers\n")
    out = tmp_path / "out" / "result.csv"
    plan = [] if "--plan" in extra else ["--plan", PLAN]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "classifier", "classify", tasks, "--out",
                           str(out), *plan, *extra], cwd=tmp_path, env=env,
                          input="Réduire les coûts\n".encode("cp1252"), capture_output=True,
                          timeout=300, check=False)
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["runs", "--db", "{db}", "-n", "abc"], "Invalid value for '--limit' / '-n'"),
    (["runs", "--db", "{db}", "-n", "0"], "greater than or equal to 1"),
    (["report", "--db", "{db}", "--plan", PLAN, "--out", "{out}", "--run",
      "99999999999999999999"], "Invalid value for '--run'"),
    (["classify"], "Missing argument 'tasks'. (see tactics classify --help)"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_a_mistyped_command_line_is_one_line_through_a_real_process(tmp_path, args, expected):
    db, out = tmp_path / "tactics.db", tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "classifier",
                           *[a.format(db=db, out=out) for a in args]],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and expected in line
    assert not out.exists() and not db.exists()


def test_a_reader_of_stdout_that_goes_away_is_no_error(tmp_path):
    # `tactics runs --db x | head -1` ended "error: Broken pipe", exit 2 as for bad input.
    db = tmp_path / "tactics.db"
    made = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out",
                   str(tmp_path / "out.csv"), "--db", str(db), "-q")
    assert made.exit_code == 0, made.output
    listing = subprocess.Popen([sys.executable, "-m", "classifier", "runs", "--db", str(db)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.close()  # the reader is gone before a line is written
    stderr = listing.stderr.read().decode()
    assert listing.wait(timeout=300) == 141  # as a Unix tool ends on SIGPIPE
    assert stderr == ""


def test_a_quick_run_prints_no_bar_only_what_it_wrote(tmp_path):
    # The bar is shown after a second; setting its total drew it at once ("0/15 ... 15/15").
    done = subprocess.run([sys.executable, "-m", "classifier", "classify",
                           str(DATA / "tasks.txt"), "--plan", PLAN, "--out",
                           str(tmp_path / "out.csv")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0
    assert done.stderr.startswith("wrote 15 rows to ") and "classifying" not in done.stderr


@pytest.mark.slow
def test_progress_into_a_log_is_a_line_now_and_then_not_a_redraw_twice_a_second(tmp_path):
    # A cron job's log got the bar redrawn every half second of a long run.
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("".join(f"Call customer {i} about the renewal of plan {i % 97}\n"
                             for i in range(3000)))
    log = tmp_path / "cron.log"
    with log.open("w") as handle:
        done = subprocess.run([sys.executable, "-m", "classifier", "classify", str(tasks),
                               "--plan", PLAN, "--out", str(tmp_path / "out.csv")],
                              stderr=handle, timeout=600, check=False)
    assert done.returncode == 0
    text = log.read_text()  # a run of some 15 s: under a minute, so its end alone
    assert text.count("\r") + text.count("\n") <= 3, text
    assert "classifying: 100%" in text and text.splitlines()[-1].startswith("wrote 3000 rows")


def test_workers_without_ray_says_it_is_not_used(tmp_path):
    done = _invoke("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out",
                   str(tmp_path / "out.csv"), "--workers", "4", "-q")
    assert done.exit_code == 0, done.output
    assert "warning: --workers counts Ray's workers and is not used without --ray" \
        in done.stderr


def test_help_to_a_reader_that_goes_away_ends_as_on_sigpipe():
    # `tactics --help | true` exited 1, as for a failure: Rich ends so when its reader is gone.
    helping = subprocess.Popen([sys.executable, "-m", "classifier", "--help"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert helping.stdout is not None and helping.stderr is not None
    helping.stdout.close()
    stderr = helping.stderr.read().decode()
    assert helping.wait(timeout=300) == 141
    assert stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_help_that_cannot_be_written_is_one_line():
    # `tactics --help > /dev/full` printed a 40-line traceback.
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "classifier", "--help"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: could not write the output: No space left on device"]


def test_the_command_line_loads_no_model_code_before_a_command_needs_it():
    # `tactics --help` or a mistyped option answers at once, and Ctrl-C meanwhile is one line.
    done = subprocess.run([sys.executable, "-c", "import sys, classifier.cli; "
                           "print(sorted(m for m in ('torch', 'faiss', 'sklearn') "
                           "if m in sys.modules))"],
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_python_dash_m_help():
    done = subprocess.run([sys.executable, "-m", "classifier", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0
    assert "classify" in done.stdout and "Example" in done.stdout


def test_the_sheet_options_help_says_how_a_number_counts():
    # "--sheet 1" for the first sheet read the second; the help did not say.
    result = _invoke("classify", "--help")
    assert "counted from 0" in " ".join(result.output.replace("│", " ").split())


@pytest.mark.parametrize("command", [[], ["classify"], ["evaluate"], ["calibrate"]])
def test_help_has_an_example(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "tactics " in result.stdout.split("Example:")[1]


# ------------------------------------------------------------------ reading and writing


def _odd_input(path):
    if path.suffix == ".jsonl":
        rows = [dict(zip(ODD_COLUMNS, row, strict=True)) for row in ODD_ROWS]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif path.suffix == ".xlsx":
        workbook = Workbook()
        workbook.active.append(ODD_COLUMNS)
        for row in ODD_ROWS:
            workbook.active.append(row)
        workbook.save(path)
    else:
        separator = "\t" if path.suffix == ".tsv" else ","
        lines = [separator.join(ODD_COLUMNS)]
        lines += [separator.join(f'"{c}"' if separator in c else c for c in row)
                  for row in ODD_ROWS]
        path.write_text("\n".join(lines) + "\n")
    return str(path)


def _read_output(path) -> tuple[list[str], list[list]]:
    if path.suffix == ".jsonl":
        records = [json.loads(line) for line in path.read_text().splitlines()]
        return list(records[0]), [list(record.values()) for record in records]
    if path.suffix == ".xlsx":
        rows = [["" if v is None else v for v in row]
                for row in load_workbook(path).active.iter_rows(values_only=True)]
        return rows[0], rows[1:]
    frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str,
                        keep_default_na=False)
    return list(frame.columns), frame.values.tolist()


@pytest.mark.parametrize("suffix_in", [".csv", ".tsv", ".jsonl", ".xlsx"])
@pytest.mark.parametrize("suffix_out", [".csv", ".jsonl", ".xlsx"])
def test_every_format_round_trips_cells_untouched(tmp_path, suffix_in, suffix_out):
    tasks = _odd_input(tmp_path / f"tasks{suffix_in}")
    out = tmp_path / "made" / "here" / f"out{suffix_out}"
    result = _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    columns, rows = _read_output(out)
    assert columns == ODD_COLUMNS + RESULT_COLUMNS
    assert [row[:len(ODD_COLUMNS)] for row in rows] == ODD_ROWS
    statuses = [row[ODD_COLUMNS.index("blank") + 1 + RESULT_COLUMNS.index("status")]
                for row in rows]
    assert statuses[1] == statuses[3] == "empty"
    assert "empty" not in (statuses[0], statuses[2])
    assert f"wrote 4 rows to {out}" in result.stderr


def test_tsv_output(tmp_path):
    out = tmp_path / "out.tsv"
    result = _invoke("classify", str(DATA / "tasks.csv"), "--plan", PLAN, "--out", str(out),
                     "-q")
    assert result.exit_code == 0
    written = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    given = pd.read_csv(DATA / "tasks.csv", dtype=str, keep_default_na=False)
    assert written[list(given.columns)].equals(given)


def test_txt_and_stdin_keep_blank_lines_as_empty(tmp_path):
    lines = "Call the customers about renewals\n\n   \nPitch our widgets to a dealer\n"
    for source, stdin in ((_write(tmp_path / "t.txt", lines), None), ("-", lines)):
        out = tmp_path / "out.csv"
        result = _invoke("classify", source, "--plan", PLAN, "--out", str(out), "-q",
                         stdin=stdin)
        assert result.exit_code == 0, result.output
        written = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert list(written.columns) == ["task"] + RESULT_COLUMNS
        assert written["task"].tolist() == lines.splitlines()
        assert written["status"].tolist()[1:3] == ["empty", "empty"]
        assert written["strategy_id"].tolist()[1:3] == ["", ""]


def test_a_lists_title_line_on_stdin_or_in_a_txt_file_is_no_task_and_is_said(tmp_path):
    # "Tasks for this week:" above a bulleted list was classified as one more task.
    lines = "Tasks for this week:\n\n- Call the customers about renewals\n- Pitch our widgets\n"
    for source, stdin in ((_write(tmp_path / "t.txt", lines), None), ("-", lines)):
        out = tmp_path / "out.csv"
        result = _invoke("classify", source, "--plan", PLAN, "--out", str(out), "-q",
                         stdin=stdin)
        assert result.exit_code == 0, result.output
        written = pd.read_csv(out, dtype=str, keep_default_na=False)
        # A row, as every line ("'" is the writer's guard against a formula's "-")
        assert [task.removeprefix("'") for task in written["task"]] == lines.splitlines()
        assert written["status"].tolist()[:2] == ["empty", "empty"]
        assert "empty" not in written["status"].tolist()[2:]
        label = "stdin" if source == "-" else source
        assert [line for line in result.stderr.splitlines() if "list's title" in line] == [
            f"warning: {label}: row 1 ('Tasks for this week:') is read as the list's title, "
            f"not a task: status empty, as a blank row (without its closing ':' it is "
            f"classified)"]


@pytest.mark.parametrize(("encoding", "content", "warning"), [
    ("cp1252", "task,owner\nRappeler les clients fidèles,José\n", "not UTF-8; read as cp1252"),
    ("utf-8-sig", "task,owner\nCall the customers,Zoë\n", "byte-order mark"),
])
def test_odd_encoding_is_read_with_one_warning(tmp_path, encoding, content, warning):
    tasks = _write(tmp_path / "t.csv", content.encode(encoding))
    out = tmp_path / "out.csv"
    result = _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "-q")
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warning in warnings[0]
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written.iloc[0, :2].tolist() == content.splitlines()[1].split(",")


def test_xlsx_with_several_sheets(tmp_path):
    workbook = Workbook()
    workbook.active.title = "week 9"
    workbook.active.append(["task"])
    workbook.active.append(["Call the customers about renewals"])
    other = workbook.create_sheet("week 10")
    other.append(["task"])
    for text in ("Hire a machinist", "Pitch a dealer"):
        other.append([text])
    workbook.save(tmp_path / "t.xlsx")
    out = tmp_path / "out.csv"
    first = _invoke("classify", str(tmp_path / "t.xlsx"), "--plan", PLAN, "--out", str(out),
                    "-q")
    assert first.exit_code == 0
    assert "2 sheets; reading the first shown, 'week 9'" in first.stderr
    assert len(pd.read_csv(out)) == 1
    second = _invoke("classify", str(tmp_path / "t.xlsx"), "--plan", PLAN, "--out", str(out),
                     "-q", "--sheet", "week 10")
    assert second.exit_code == 0
    assert pd.read_csv(out)["task"].tolist() == ["Hire a machinist", "Pitch a dealer"]
    # Counted from 1, as in Excel, the first sheet is "1": which sheet it read is said...
    third = _invoke("classify", str(tmp_path / "t.xlsx"), "--plan", PLAN, "--out", str(out),
                    "-q", "--sheet", "1")
    assert third.exit_code == 0
    assert (f"{tmp_path / 't.xlsx'}: sheet 1 is 'week 10' (sheet numbers count from 0, hidden "
            f"sheets included: 0 'week 9', 1 'week 10')") in third.stderr
    # ...and the second, "2", is refused naming every sheet with its number.
    refused = _invoke("classify", str(tmp_path / "t.xlsx"), "--plan", PLAN, "--out",
                      str(tmp_path / "other.csv"), "-q", "--sheet", "2")
    _assert_refused(refused, tmp_path / "other.csv",
                    "no sheet '2'; sheets are: 0 'week 9', 1 'week 10' (a name, or a number "
                    "counted from 0, hidden sheets included)")


# ------------------------------------------------------------------ evaluate and calibrate


def test_evaluate_prints_metrics_as_json():
    result = _invoke("evaluate", str(DATA / "labeled.csv"), "--plan", PLAN)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    for key in ("top1_accuracy", "decision_accuracy", "misaligned_precision",
                "misaligned_recall", "misaligned_f1", "auroc"):
        assert key in metrics
    assert 0.0 <= metrics["top1_accuracy"] <= 1.0


@pytest.mark.parametrize(("title", "row"), [("", 3), ("Labeled tasks for Q4\n", 4)])
def test_evaluate_unknown_label_names_the_row_as_the_spreadsheet_shows_it(tmp_path, title, row):
    labeled = _write(tmp_path / "labeled.csv", title + "task,label\nCall the customers,"
                     "recurring-revenue\nPitch a dealer,retail\n")
    result = _invoke("evaluate", labeled, "--plan", PLAN)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {labeled}: row {row}: label 'retail' is neither a strategy id of the plan "
        "(recurring-revenue, retail-channel, operational-excellence, product-expansion, "
        "strong-team, lower-costs, brand-awareness) nor a strategy's name")


def test_evaluate_takes_a_strategy_name_as_a_label(tmp_path):
    # A manager labels in a spreadsheet with the names they read, as in a decisions file.
    by_id = _write(tmp_path / "by_id.csv", "task,label\nCall the customers,recurring-revenue"
                   "\nPitch a dealer,retail-channel\nPlan the office party,none\n")
    by_name = _write(tmp_path / "by_name.csv", "task,label\nCall the customers,grow recurring "
                     "revenue\nPitch a dealer,Win the Tri-City retail channel\n"
                     "Plan the office party,Serves no strategy\n")
    first = _invoke("evaluate", by_id, "--plan", PLAN)
    second = _invoke("evaluate", by_name, "--plan", PLAN)
    assert first.exit_code == second.exit_code == 0, second.output
    assert json.loads(first.stdout) == json.loads(second.stdout)


@pytest.mark.parametrize("none", ["", "none", "None", " NONE ", "serves no strategy"])
def test_evaluate_reads_none_as_serving_no_strategy_as_a_decisions_file_does(tmp_path, none):
    labeled = _write(tmp_path / "labeled.csv", "task,label\nCall the customers,recurring-revenue"
                     f"\nPlan the office party,{none}\n")
    result = _invoke("evaluate", labeled, "--plan", PLAN)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 2


def test_evaluate_missing_label_column(tmp_path):
    labeled = _write(tmp_path / "labeled.csv", "task,gold\nCall the customers,x\n")
    result = _invoke("evaluate", labeled, "--plan", PLAN)
    assert result.exit_code == 2
    assert "no label column 'label'; columns are: task, gold; pass --label-column NAME" in (
        result.stderr)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_calibrate_writes_thresholds_the_plan_still_loads(tmp_path, suffix):
    plan_path = tmp_path / f"plan{suffix}"
    # Cut-offs that call nearly everything misaligned: the fitted ones do better.
    original = load_plan(PLAN).model_copy(update={"thresholds": Thresholds(
        aligned=0.9, misaligned=0.8, margin=0.05)})
    save_plan(original, plan_path)
    result = _invoke("calibrate", str(DATA / "labeled.csv"), "--plan", str(plan_path))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["written"] is True
    fitted = load_plan(plan_path)
    assert fitted.thresholds is not None
    assert fitted.thresholds.model_dump(exclude_none=True) == printed["thresholds"]
    assert fitted.strategies == original.strategies


def test_calibrate_keeps_the_plan_when_the_fit_does_no_better(tmp_path):
    """The sample plan's own cut-offs against thresholds fitted on its labeled rows: as good on
    decisions, a worse misaligned F1 (precision 0.60 -> 0.48); writing them made it worse."""
    plan_path = tmp_path / "plan.yaml"
    save_plan(load_plan(PLAN), plan_path)
    before = plan_path.read_text()

    result = _invoke("calibrate", str(DATA / "labeled.csv"), "--plan", str(plan_path))

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["written"] is False
    assert f"{plan_path} is unchanged: the fitted thresholds do no better" in result.stderr
    assert plan_path.read_text() == before
    forced = _invoke("calibrate", str(DATA / "labeled.csv"), "--plan", str(plan_path), "--force")
    assert forced.exit_code == 0 and load_plan(plan_path).thresholds is not None


@pytest.mark.parametrize(("rows", "told"), [
    (10, "10 labeled tasks (8 with a strategy, 2 serving none) are too few"),
    (29, "29 labeled tasks (24 with a strategy, 5 serving none) are too few"),
])
def test_calibrate_refuses_too_few_labels_and_leaves_the_plan_as_it_was(tmp_path, rows, told):
    lines = (DATA / "labeled.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    none = [line for line in body if line.rstrip().endswith(",")]
    some = [line for line in body if not line.rstrip().endswith(",")]
    taken = none[:max(2, rows // 5)] + some[:rows - max(2, rows // 5)]
    labeled = _write(tmp_path / "few.csv", "\n".join([header] + taken) + "\n")
    plan_path = tmp_path / "plan.yaml"
    save_plan(load_plan(PLAN), plan_path)
    before = plan_path.read_text()

    result = _invoke("calibrate", labeled, "--plan", str(plan_path))

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {labeled}: {told} to fit cut-offs on: label at least 30, with 3 or more of "
        f"each kind (the rule review decisions follow); {plan_path} is unchanged")
    assert plan_path.read_text() == before


def test_calibrate_refuses_a_strategies_csv(tmp_path):
    plan_path = _write(tmp_path / "plan.csv", "id,name\na,Grow revenue\n")
    before = (tmp_path / "plan.csv").read_text()
    result = _invoke("calibrate", str(DATA / "labeled.csv"), "--plan", plan_path)
    assert result.exit_code == 2
    assert "a strategies table cannot hold thresholds" in result.stderr
    assert (tmp_path / "plan.csv").read_text() == before


def test_classify_reads_a_task_from_its_summary_and_description(tmp_path):
    tasks = _write(tmp_path / "jira.csv",
                   "key,Summary,Description\nW-1,Dealer call,Pitch the service plan to dealers\n"
                   "W-2,Party,\n")
    out, db = tmp_path / "out.csv", tmp_path / "tactics.db"
    done = _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "--db", str(db),
                   "-c", "Summary", "-c", "Description", "-q")
    assert done.exit_code == 0, done.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    # The file's columns untouched, the text the tool read beside them, then the results.
    assert list(written.columns[:4]) == ["key", "Summary", "Description",
                                         "Summary + Description"]
    assert written["Summary + Description"].tolist() == [
        "Dealer call\nPitch the service plan to dealers", "Party"]
    with Store(db) as store:
        run = store.latest_run()
    assert run.text_column == "Summary + Description"  # what the Review page shows
    again = _invoke("classify", tasks, "--plan", PLAN, "--out", str(tmp_path / "one.csv"),
                    "-c", "Description", "-q")
    assert again.exit_code == 0, again.output  # one column, as before
    # The same command on its own output (next week's export, this week's results beside
    # it) joins the two columns again in place: it was refused, "a column is already called".
    rerun = tmp_path / "rerun.csv"
    done = _invoke("classify", str(out), "--plan", PLAN, "--out", str(rerun), "-c", "Summary",
                   "-c", "Description", "-q")
    assert done.exit_code == 0, done.output
    first = _invoke("classify", tasks, "--plan", PLAN, "--out", str(tmp_path / "first.csv"),
                    "-c", "Summary", "-c", "Description", "-q")
    assert first.exit_code == 0, first.output
    assert rerun.read_bytes() == (tmp_path / "first.csv").read_bytes()


def test_a_strategy_renamed_in_a_plan_without_ids_keeps_its_decisions(tmp_path):
    """Week 1 a plan of names (no ids) and a decision; week 2 a name reworded in the file: the
    strategy keeps its id, the person's decision still stands, and the command says so."""
    from classifier.store import Store

    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    tasks = _write(tmp_path / "tasks.txt", "Call last quarter's one-time buyers\n"
                                           "Pitch the widget line to Riverside Hardware\n")
    week1 = ("strategies:\n"
             "  - name: Grow recurring revenue\n    description: Turn one-off buyers into "
             "repeat customers\n"
             "  - name: Win the retail channel\n    description: Hardware stores stock us\n")
    plan = tmp_path / "plan.yaml"
    _write(plan, week1)
    done = _invoke("classify", str(tasks), "--plan", str(plan), "--out", str(out), "--db",
                   str(db), "-q")
    assert done.exit_code == 0, done.output
    with Store(db) as store:
        run = store.latest_run()
        store.record_decision(run.id, 1, "reassign", "grow-recurring-revenue", "maria")
    _write(plan, week1.replace("Grow recurring revenue", "Grow revenue that recurs"))
    done = _invoke("classify", str(tasks), "--plan", str(plan), "--out", str(out), "--db",
                   str(db), "-q")
    assert done.exit_code == 0, done.output
    assert ("strategy 'Grow revenue that recurs' keeps the id 'grow-recurring-revenue' it had "
            "as 'Grow recurring revenue'") in done.stderr
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert rows.loc[1, ["strategy_id", "strategy", "decided_by"]].tolist() == [
        "grow-recurring-revenue", "Grow revenue that recurs", "maria"]
    # The queue reads the renamed file as the plan its run was classified against.
    queue = _invoke("queue", "--db", str(db), "--plan", str(plan), "--out",
                    str(tmp_path / "queue.csv"))
    assert queue.exit_code == 0 and "differs" not in queue.stderr, queue.output


def test_a_strategy_dropped_then_back_in_a_table_keeps_its_decisions(tmp_path):
    """A strategy dropped from the plan one week and back the next in a table without ids got
    an id made from its name: the decisions about it stayed orphaned, the task in review."""
    from classifier.store import Store

    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    tasks = _write(tmp_path / "tasks.txt", "Call last quarter's one-time buyers\n"
                                           "Pitch the widget line to Riverside Hardware\n")
    week = ("classify", str(tasks), "--out", str(out), "--db", str(db), "-q", "--plan")
    full = _write(tmp_path / "plan.yaml", (
        "strategies:\n  - {id: revenue, name: Grow recurring revenue}\n"
        "  - {id: retail, name: Win the retail channel}\n"))
    assert _invoke(*week, str(full)).exit_code == 0
    with Store(db) as store:
        store.record_decision(store.latest_run().id, 1, "reassign", "retail", "maria")
    dropped = _write(tmp_path / "dropped.yaml",
                     "strategies:\n  - {id: revenue, name: Grow recurring revenue}\n")
    assert _invoke(*week, str(dropped)).exit_code == 0
    table = _write(tmp_path / "plan.csv", "name,description\nGrow recurring revenue,\n"
                                          "Win the retail channel,Hardware stores stock us\n")
    done = _invoke(*week, str(table))
    assert done.exit_code == 0, done.output
    assert "strategy 'Win the retail channel' gets back the id 'retail'" in done.stderr
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert rows.loc[1, ["strategy_id", "status", "decided_by"]].tolist() == [
        "retail", "aligned", "maria"]


def test_a_decision_whose_strategy_left_the_plan_is_written_as_review(tmp_path):
    """README: if the plan no longer has the decided strategy, the task returns to review, not
    to whatever the machine says now (which may be "aligned": nobody would look again)."""
    from classifier.store import Store

    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    tasks = _write(tmp_path / "tasks.txt", "Call last quarter's one-time buyers\n"
                                           "Pitch the widget line to Riverside Hardware\n")
    plan = _write(tmp_path / "plan.yaml", (
        "strategies:\n  - {id: revenue, name: Grow recurring revenue}\n"
        "  - {id: retail, name: Win the retail channel}\n"))
    week = ("classify", str(tasks), "--plan", str(plan), "--out", str(out), "--db", str(db),
            "-q")
    assert _invoke(*week).exit_code == 0
    with Store(db) as store:
        store.record_decision(store.latest_run().id, 0, "reassign", "retail", "maria")
        store.record_decision(store.latest_run().id, 1, "confirm", None, "maria")
    _write(tmp_path / "plan.yaml", "strategies:\n  - {id: revenue, name: Grow recurring "
                                   "revenue}\n  - {id: sales, name: Sell to hardware stores}\n")

    done = _invoke(*week)

    assert done.exit_code == 0, done.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert rows[["status", "decided_by"]].values.tolist()[0] == ["review", ""]
    with Store(db) as store:
        kept = store.results_with_decisions(store.latest_run().id)
    assert kept["final_status"].tolist()[0] == "review"
    assert "“Win the retail channel”, which the plan no longer has" in kept["decision_note"][0]


@pytest.mark.parametrize(("sent", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupt_a_library_reports_as_an_error_is_still_an_interrupt(capsys, sent, code):
    """pandas' C reader was seen to report a Ctrl-C that came during a read as a malformed
    table: the command said "not a well-formed CSV table" and exited 2."""
    import os
    import signal
    import time

    import typer

    from classifier.cli.common import run_command
    from classifier.errors import TasksError

    def reading() -> None:
        try:
            os.kill(os.getpid(), getattr(signal, sent))
            time.sleep(5)  # the handler runs here
        except KeyboardInterrupt:
            raise TasksError("tasks.csv: not a well-formed CSV table: Error tokenizing data. "
                             "C error: Calling read(nbytes) on source failed.") from None

    with pytest.raises(typer.Exit) as exited:
        run_command(reading)
    assert exited.value.exit_code == code
    assert capsys.readouterr().err == "error: interrupted; no output was written\n"
    assert run_command(lambda: "next") == "next"  # the next command is not taken as interrupted


def test_a_task_longer_than_an_excel_cell_is_said_to_be_cut(tmp_path):
    long = "Draft the supplier handbook section " * 1_000  # 36,000 characters
    tasks = tmp_path / "t.csv"
    pd.DataFrame({"task": ["Call the customers", long]}).to_csv(tasks, index=False)
    out = tmp_path / "out.xlsx"
    result = _invoke("classify", str(tasks), "--plan", PLAN, "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "32,767" in line]
    assert len(warnings) == 1 and "results!A3" in warnings[0] and ".csv" in warnings[0]
    written = pd.read_excel(out, dtype=str)
    assert written["task"][1].endswith("…") and written["status"][1] != "empty"


def test_a_csvs_numbers_are_numbers_in_the_xlsx_and_read_back_as_given(tmp_path):
    tasks = _write(tmp_path / "t.csv", "task,hours,code\nCall the customers,3,007\n"
                   "Pitch our widgets to a dealer,12.5,0012\n")
    out = tmp_path / "out.xlsx"
    assert _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "-q").exit_code == 0
    sheet = load_workbook(out).active
    assert [sheet["B2"].value, sheet["B3"].value, sheet["C2"].value] == [3, 12.5, "007"]
    again = tmp_path / "again.csv"
    assert _invoke("classify", str(out), "--plan", PLAN, "--out", str(again), "-q").exit_code == 0
    read = pd.read_csv(again, dtype=str, keep_default_na=False)
    assert read["hours"].tolist() == ["3", "12.5"] and read["code"].tolist() == ["007", "0012"]


def test_the_tools_own_csv_reads_back_as_the_same_tasks_and_keeps_their_decisions(tmp_path):
    """The `'` the CSV writer puts before "@", "-", "=" is not the task's: classifying the
    output again (the weekly re-run) gives the same answers, and a decision still stands."""
    db = tmp_path / "tactics.db"
    tasks = tmp_path / "tasks.csv"
    pd.DataFrame({"task": ["@maria Call the customers about renewals",
                           "- [ ] Call last quarter's one-time buyers about a service plan",
                           "=Fix the coffee machine"],
                  "owner": ["-Ana", "Ben", "+Cy"]}).to_csv(tasks, index=False)
    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    assert _invoke("classify", str(tasks), "--plan", PLAN, "--out", str(first), "--db",
                   str(db), "-q").exit_code == 0
    with Store(db) as store:
        store.record_decision(store.latest_run().id, 1, "misaligned", None, "ana")
    assert _invoke("classify", str(first), "--plan", PLAN, "--out", str(again), "--db",
                   str(db), "-q").exit_code == 0

    before = pd.read_csv(first, dtype=str, keep_default_na=False)
    after = pd.read_csv(again, dtype=str, keep_default_na=False)
    assert after["task"].tolist() == before["task"].tolist()  # written with one `'`, not two
    assert after["task"][0] == "'@maria Call the customers about renewals"
    assert after["owner"].tolist() == ["'-Ana", "Ben", "'+Cy"]
    kept = ["strategy_id", "score", "runner_up_score"]
    assert after.loc[[0, 2], kept].values.tolist() == before.loc[[0, 2], kept].values.tolist()
    assert after.loc[1, ["status", "decided_by"]].tolist() == ["misaligned", "ana"]


def test_a_file_this_tool_wrote_gets_no_earlier_runs_decisions_or_llm_answers(tmp_path):
    """Classified again without the store, the tool's own output keeps the tasks' columns only:
    "decided_by: ana" beside the machine's new answer would say she decided what she did not."""
    db, first, again = tmp_path / "tactics.db", tmp_path / "first.csv", tmp_path / "again.csv"
    tasks = _write(tmp_path / "tasks.csv", "task,owner\nCall last quarter's one-time buyers,Ana\n"
                                           "Fix the coffee machine,Ben\n")
    assert _invoke("classify", tasks, "--plan", PLAN, "--out", str(first), "--db", str(db),
                   "-q").exit_code == 0
    with Store(db) as store:
        store.record_decision(store.latest_run().id, 1, "reassign", "strong-team", "ana")
    assert _invoke("classify", tasks, "--plan", PLAN, "--out", str(first), "--db", str(db),
                   "-q").exit_code == 0
    written = pd.read_csv(first, dtype=str, keep_default_na=False)
    written["llm_strategy_id"], written["rationale"] = "none", "Chores serve none."
    written.to_csv(first, index=False)

    plain = tmp_path / "plain.csv"
    assert _invoke("classify", tasks, "--plan", PLAN, "--out", str(plain), "-q").exit_code == 0
    machine = pd.read_csv(plain, dtype=str, keep_default_na=False)["strategy_id"][1]
    assert machine != "strong-team"
    for store in ([], ["--db", str(db)]):
        done = _invoke("classify", str(first), "--plan", PLAN, "--out", str(again), "-q", *store)
        assert done.exit_code == 0, done.output
        rows = pd.read_csv(again, dtype=str, keep_default_na=False)
        assert list(rows.columns) == ["task", "owner", *RESULT_COLUMNS,
                                      *(["decided_by"] if store else [])]
        assert rows["strategy_id"][1] == ("strong-team" if store else machine)


def test_a_plan_file_saved_over_in_the_store_since_is_refused_unless_replaced(tmp_path):
    """The weekly job's plan file, once the manager edited the plan on the Plan page: it would
    save the old version again, silently undoing the edit (and splitting the trends)."""
    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    week = ("classify", str(DATA / "tasks.txt"), "--plan", PLAN, "--out", str(out), "--db",
            str(db), "-q")
    assert _invoke(*week).exit_code == 0
    with Store(db) as store:  # the Plan page's save
        store.save_plan(load_plan(PLAN).model_copy(update={"vision": "Ana's vision"}))

    refused = _invoke(*week)

    _assert_refused(refused, tmp_path / "never.csv", f"{PLAN}: this is version 1 of plan "
                    "'default'", "version 2 was saved since", "--replace-plan")
    with Store(db) as store:
        assert store.latest_plan()[1].vision == "Ana's vision"
        assert len(store.runs()) == 1
    assert _invoke(*week, "--replace-plan").exit_code == 0
    with Store(db) as store:
        assert store.latest_plan()[1].vision != "Ana's vision"


# ------------------------------------------------------------------ NUL characters, on any store

@pytest.mark.parametrize(("name", "text"), [
    ("plan.json", '{"vision": "Widg\\u0000ets", "strategies": [{"name": "Lower costs"}]}'),
    ("plan.yaml", 'vision: "Widg\\0ets"\nstrategies:\n  - name: Lower costs\n'),
])
def test_a_plan_holding_a_nul_character_is_refused_naming_the_field(
        tmp_path, store_target, name, text):
    """SQLite kept the NUL; PostgreSQL refused the run naming no file or field."""
    plan = _write(tmp_path / name, text)
    out = tmp_path / "out.csv"
    done = _invoke("classify", str(DATA / "tasks.txt"), "--plan", plan, "--out", str(out),
                   "--db", store_target)
    _assert_refused(done, out)
    assert done.stderr.strip() == f"error: {plan}: vision: holds a NUL character; remove it"


def test_an_escaped_nul_in_a_jsonl_task_is_dropped_with_a_warning_naming_its_row(
        tmp_path, store_target):
    """Kept on SQLite; on PostgreSQL the run failed with a database message (`\\u0000 cannot be
    converted to text`) naming no file, row or field."""
    tasks = _write(tmp_path / "tasks.jsonl", '{"task": "Call the buyers"}\n'
                   '{"task": "Order st\\u0000eel", "tags": ["rush\\u0000"]}\n'
                   '{"task": "Fix the \\u0000coffee machine"}\n')
    out = tmp_path / "out.jsonl"
    done = _invoke("classify", tasks, "--plan", PLAN, "--out", str(out), "--db", store_target,
                   "-q")
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines()[0] == (
        f"warning: {tasks}: NUL characters (\\u0000) dropped (the first in row 2)")
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["task"] for row in written] == ["Call the buyers", "Order steel",
                                                "Fix the coffee machine"]
    assert written[1]["tags"] == ["rush"]
    with Store(store_target) as store:
        stored = store.run_results(store.latest_run().id)
    assert stored["task"].tolist()[1] == "Order steel"


def test_a_strategies_table_in_the_weekly_job_keeps_the_vision_set_on_the_plan_page(tmp_path):
    """A table cannot hold a vision: once one was set on the Plan page, the job's table was
    an "earlier version" for good, and --replace-plan would have erased the vision."""
    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    table = _write(tmp_path / "plan.csv", "id,name\nrevenue,Grow recurring revenue\n"
                                          "retail,Win the retail channel\n")
    week = ("classify", str(DATA / "tasks.txt"), "--plan", table, "--out", str(out), "--db",
            str(db), "-q")
    assert _invoke(*week).exit_code == 0
    with Store(db) as store:  # the Plan page sets the vision
        store.save_plan(store.latest_plan()[1].model_copy(update={"vision": "Tri-City first"}))

    done = _invoke(*week)

    assert done.exit_code == 0, done.output
    with Store(db) as store:
        assert store.latest_plan()[1].vision == "Tri-City first"
        assert len(store.plan_versions()) == 2


def test_report_names_a_plan_file_that_is_an_earlier_version_as_one(tmp_path):
    # "classify again to use the new plan" was advice classify then refused.
    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    save_plan(load_plan(PLAN), old)
    plan = load_plan(PLAN)
    save_plan(plan.model_copy(update={"strategies": plan.strategies[:3]}), new)
    for used in (old, new):
        assert _invoke("classify", str(DATA / "tasks.txt"), "--plan", str(used), "--out",
                       str(out), "--db", str(db), "-q").exit_code == 0

    said = _invoke("report", "--db", str(db), "--plan", str(old), "--out", str(tmp_path / "r.csv"))

    assert said.exit_code == 0, said.output
    assert "The file is version 1 of the store's plan, saved over since" in said.stderr
    assert "classify again" not in said.stderr


def test_a_table_giving_a_strategy_another_id_says_so_once(tmp_path):
    """The store's strategy had an id made from its name; the table gives it one of its own:
    the warning said "'Grow and keep our dental team' added, 'Grow and keep our dental team'
    dropped", one strategy as two."""
    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    tasks = _write(tmp_path / "tasks.txt", "Interview two hygienists\n")
    week = ("classify", tasks, "--out", str(out), "--db", str(db), "-q", "--plan")
    first = _write(tmp_path / "plan.csv", "name\nGrow and keep our dental team\nSeal molars\n")
    assert _invoke(*week, first).exit_code == 0
    table = _write(tmp_path / "ids.csv", "id,name\nteam,Grow and keep our dental team\n"
                                         ",Seal molars\n")

    done = _invoke(*week, table)

    assert done.exit_code == 0, done.output
    assert ("replaces it for this run and later ones: 'Grow and keep our dental team' gets id "
            "'team' (was 'grow-and-keep-our-dental-team')\n") in done.stderr, done.stderr


def test_a_plan_file_edited_from_an_older_copy_says_what_it_replaces(tmp_path):
    """Not an earlier version, so not refused; but the vision set on the Plan page since was
    undone without a word, exit 0."""
    db, out = tmp_path / "tactics.db", tmp_path / "out.csv"
    plan_file = tmp_path / "plan.yaml"
    save_plan(load_plan(PLAN), plan_file)
    week = ("classify", str(DATA / "tasks.txt"), "--plan", str(plan_file), "--out", str(out),
            "--db", str(db), "-q")
    assert _invoke(*week).exit_code == 0
    with Store(db) as store:  # the Plan page
        store.save_plan(load_plan(PLAN).model_copy(update={"vision": "Ana's vision"}))
    plan = load_plan(plan_file)
    extra = plan.strategies[0].model_copy(update={"id": "exports", "name": "Open export markets"})
    save_plan(plan.model_copy(update={"strategies": [*plan.strategies, extra]}), plan_file)

    done = _invoke(*week)

    assert done.exit_code == 0, done.output
    assert (f"{plan_file}: differs from version 2 of plan 'default' in {db}" in done.stderr
            and "replaces it for this run and later ones: the vision, 'Open export markets' "
            "added" in done.stderr)


def test_a_workbooks_dates_are_dates_in_the_report_and_queue_workbooks(tmp_path):
    """A task list's date cells were kept as text by the store: the report's and the queue's
    .xlsx wrote '2026-03-02T00:00:00', which Excel sorts and filters as text. A CSV's text that
    looks like a date stays the text it was; the report's CSV writes the day as classify did."""
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["task", "due", "logged", "ref"])
    sheet.append(["Call the customers whose service plans expire", dt.datetime(2026, 3, 9),
                  dt.datetime(2026, 3, 2, 9, 30), "2026-03-02T00:00:00"])
    sheet.append(["Pitch our widgets to Riverside Hardware", dt.datetime(2026, 3, 2),
                  "not logged", "2026-03-02"])
    book.save(tmp_path / "week.xlsx")
    db = tmp_path / "tactics.db"
    for args in (("classify", str(tmp_path / "week.xlsx"), "--plan", PLAN, "--db", str(db),
                  "--out", str(tmp_path / "out.csv"), "-q"),
                 ("report", "--db", str(db), "--plan", PLAN, "--out", str(tmp_path / "r.xlsx")),
                 ("report", "--db", str(db), "--plan", PLAN, "--out", str(tmp_path / "r.csv")),
                 ("queue", "--db", str(db), "--plan", PLAN, "--out", str(tmp_path / "q.xlsx"))):
        done = _invoke(*args)
        assert done.exit_code == 0, done.output

    for name, sheet_name in (("r.xlsx", "Results"), ("q.xlsx", "Queue")):
        rows = list(load_workbook(tmp_path / name)[sheet_name].iter_rows())
        header = [cell.value for cell in rows[0]]
        by_task = {row[header.index("task")].value: {h: row[i] for i, h in enumerate(header)}
                   for row in rows[1:]}
        first = by_task["Call the customers whose service plans expire"]
        second = by_task["Pitch our widgets to Riverside Hardware"]
        assert first["due"].is_date and first["due"].value == dt.datetime(2026, 3, 9), name
        assert first["due"].number_format == "yyyy-mm-dd"
        assert first["logged"].is_date and first["logged"].value == dt.datetime(2026, 3, 2, 9, 30)
        assert second["logged"].value == "not logged"
        # The input's text column, written as a workbook's text: never a date.
        assert [first["ref"].value, second["ref"].value] == ["2026-03-02T00:00:00", "2026-03-02"]
    written = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig").set_index("task")
    assert written.loc["Call the customers whose service plans expire", "due"] == "2026-03-09"


def test_the_report_and_queue_csvs_write_a_workbooks_cells_as_classify_wrote_them(tmp_path):
    """The report's CSV of a run made from a workbook wrote '2026-03-02T00:00:00' and effort
    '1.0' where `classify`'s CSV of the same workbook wrote '2026-03-02' and '1' (a fraction
    elsewhere in the column made every hour a float)."""
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["task", "effort_hours", "due"])
    sheet.append(["Call the customers whose service plans expire", 1, dt.datetime(2026, 3, 2)])
    sheet.append(["Pitch our widgets to Riverside Hardware", 2.5,
                  dt.datetime(2026, 3, 2, 14, 30)])
    sheet.append(["Post the job opening for a machinist", 0.5, "next week"])
    sheet.append(["Reorganize the shared drive folder colors", 3, None])
    book.save(tmp_path / "week.xlsx")
    db = tmp_path / "tactics.db"
    outs = {name: tmp_path / name for name in ("out.csv", "r.csv", "q.csv")}
    for args in (("classify", str(tmp_path / "week.xlsx"), "--plan", PLAN, "--db", str(db),
                  "--out", str(outs["out.csv"]), "-q"),
                 ("report", "--db", str(db), "--plan", PLAN, "--out", str(outs["r.csv"])),
                 ("queue", "--db", str(db), "--plan", PLAN, "--out", str(outs["q.csv"]))):
        done = _invoke(*args)
        assert done.exit_code == 0, done.output

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(outs[name], dtype=str, keep_default_na=False,
                           encoding="utf-8-sig").set_index("task")[["effort_hours", "due"]]

    classified = read("out.csv")
    assert classified.to_dict("index") == {
        "Call the customers whose service plans expire": {"effort_hours": "1",
                                                          "due": "2026-03-02"},
        "Pitch our widgets to Riverside Hardware": {"effort_hours": "2.5",
                                                    "due": "2026-03-02 14:30:00"},
        "Post the job opening for a machinist": {"effort_hours": "0.5", "due": "next week"},
        "Reorganize the shared drive folder colors": {"effort_hours": "3", "due": ""}}
    pd.testing.assert_frame_equal(read("r.csv"), classified)
    queued = read("q.csv")
    assert len(queued) >= 2
    pd.testing.assert_frame_equal(queued, classified.loc[queued.index])


def test_a_strategy_description_the_model_reads_only_the_start_of_is_said(tmp_path):
    # A 9,400-character description ran through with no word of it: the model read its first
    # 256 word pieces, the rest of it never.
    long = " ".join(f"in region {n} we renew every service contract before it lapses or we "
                    f"call each buyer" for n in range(110))
    plan = _write(tmp_path / "plan.yaml", "strategies:\n  - name: Renew every contract\n"
                  f"    description: {long}\n  - name: Win retail\n")
    tasks = _write(tmp_path / "t.csv", "task\nCall the customers\n")
    result = _invoke("classify", tasks, "--plan", plan, "--out", str(tmp_path / "o.csv"), "-q")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stderr.splitlines() if "word pieces" in line]
    assert line.startswith(f"warning: {plan}: strategy 'Renew every contract': its description "
                           f"is read only up to “…")
    # The sample plan is read whole: not a word about it.
    result = _invoke("classify", tasks, "--plan", PLAN, "--out", str(tmp_path / "p.csv"), "-q")
    assert "word pieces" not in result.stderr
