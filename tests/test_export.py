"""Reports as a user opens them: CSV in Excel, the XLSX workbook, the HTML report in a browser."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from classifier.files.writer import csv_cell, neutralise_text
from classifier.plan import plan_from_dict
from classifier.report import sheets
from classifier.report.html import report_html
from classifier.report.summary import summary as summarize

PLAN = plan_from_dict({
    "vision": "Best widgets in town <for everyone>",
    "strategies": [
        {"id": "revenue", "name": "Grow recurring revenue"},
        {"id": "retail", "name": "Win the <script>alert(2)</script> channel"},
        {"id": "team", "name": "Build a strong team"},
    ],
})
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[click](javascript:alert(1))"


def results() -> pd.DataFrame:
    """A results frame in the contract's shape, with hostile and accented task text."""
    tasks = ["Call lapsed service-plan customers in Montréal", "=HYPERLINK(\"http://x\",\"y\")",
             XSS_IMG, XSS_LINK, "- buy steel", "@SUM(A1:A9)", "Réunion café équipe"]
    statuses = ["aligned", "review", "misaligned", "misaligned", "aligned", "review", "aligned"]
    strategy = ["revenue", "retail", "revenue", "team", "revenue", "retail", "team"]
    names = {s.id: s.name for s in PLAN.strategies}
    return pd.DataFrame({
        "task": tasks,
        "owner": ["Zoë", "+44 20 7946", "Ann", "Bo", "Cy", "Di", "Ed"],
        "effort_hours": [10.0, -3.5, 2.0, 1.0, 4.0, 0.5, 3.0],
        "due": pd.to_datetime(["2026-03-02"] * 7),
        "strategy_id": strategy,
        "strategy": [names[s] for s in strategy],
        "score": [0.71, 0.52, 0.2, 0.3, 0.6, 0.5, 0.66],
        "status": statuses,
        "runner_up_id": "retail",
        "runner_up_score": [0.4, 0.5, 0.1, 0.2, 0.3, 0.45, float("nan")],
        "evidence": "Grow recurring revenue",
    })


@pytest.mark.parametrize("text", ["=1+1", "+1 555 0100", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd",
                                  "=HYPERLINK(\"http://evil\")", "-"])
def test_formula_text_gets_a_leading_quote(text):
    assert neutralise_text(text) == "'" + text
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Call customers", "-3.5", "+12", "a=b", " =1", "", "'quoted"])
def test_safe_text_is_left_as_it_is(text):
    assert neutralise_text(text) == text


@pytest.mark.parametrize("value", [-3.5, 2, 0.0])
def test_numbers_stay_numbers(value):
    assert csv_cell(value) == value


def test_csv_opens_with_accents_and_no_formulas():
    data = sheets.results_csv(results())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    assert b"\r\n" in data
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["task"].iloc[0] == "Call lapsed service-plan customers in Montréal"
    assert back["owner"].iloc[0] == "Zoë"
    assert back["task"].iloc[1] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert back["task"].iloc[4] == "'- buy steel"
    assert back["owner"].iloc[1] == "'+44 20 7946"
    assert back["effort_hours"].iloc[1] == -3.5  # a genuine number stays a number
    assert list(back.columns) == list(results().columns)


def _cells(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_results_sheet_is_formatted_and_safe():
    frame = results()
    found = summarize(frame, PLAN)
    workbook = openpyxl.load_workbook(io.BytesIO(sheets.results_xlsx(frame, found)))
    assert workbook.sheetnames == ["Results", "Summary"]
    sheet = workbook["Results"]
    rows = _cells(sheet)
    assert rows[0] == list(frame.columns)
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:K{len(frame) + 1}"
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJK"]
    assert all(8 <= width <= 60 for width in widths)
    assert widths[0] > widths[2]  # the task column is wider than effort_hours
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    # Text stays text, intact: a string cell, never a formula.
    assert rows[2][0] == "=HYPERLINK(\"http://x\",\"y\")" and sheet["A3"].data_type == "s"
    assert rows[6][0] == "@SUM(A1:A9)"
    assert rows[2][2] == -3.5 and sheet["C3"].data_type == "n"
    assert rows[1][1] == "Zoë"
    assert rows[1][3] == dt.datetime(2026, 3, 2)
    assert rows[7][9] is None  # NaN runner-up score is an empty cell


def test_xlsx_summary_sheet_has_the_headline_and_gaps():
    frame = results()
    found = summarize(frame, PLAN)
    sheet = openpyxl.load_workbook(io.BytesIO(sheets.results_xlsx(frame, found)))["Summary"]
    rows = _cells(sheet)
    first = {row[0]: row[1:] for row in rows if row and row[0] is not None}
    assert first["Vision"][0] == "Best widgets in town <for everyone>"
    assert first["Tasks"][0] == 7
    assert first["Aligned"][:2] == [3, pytest.approx(3 / 7)]
    assert first["Orphan tasks"][0] == 2
    assert "Build a strong team" in first  # the strategy table lists every strategy
    assert any(str(row[0]).startswith("Neglected strategies") for row in rows if row[0])
    orphan_rows = [row for row in rows if row[0] and str(row[0]).startswith("Task ")]
    assert [row[1] for row in orphan_rows] == [XSS_IMG, XSS_LINK]
    # Each names the row of the Results sheet that holds it.
    book = openpyxl.load_workbook(io.BytesIO(sheets.results_xlsx(frame, found)))
    for row in orphan_rows:
        where = int(re.fullmatch(r"Task \d+ \(Results row (\d+)\)", row[0]).group(1))
        assert book["Results"].cell(where, 1).value == row[1]


def test_xlsx_without_summary_counts_statuses():
    sheet = openpyxl.load_workbook(io.BytesIO(sheets.results_xlsx(results())))["Summary"]
    first = {row[0]: row[1:] for row in _cells(sheet) if row and row[0] is not None}
    assert first["Tasks"][0] == 7
    assert first["Misaligned"][0] == 2


@pytest.mark.parametrize(("value", "written"), [
    ("bell\x07 in text", "bell  in text"), ("nul\x00byte", "nul byte"),
    ("\x1bescape", " escape"),
    # Word's soft line break between two words: they stay two words.
    ("Call dealers\x0babout displays", "Call dealers about displays")])
def test_xlsx_puts_a_space_for_characters_excel_cannot_hold(value, written):
    frame = pd.DataFrame({"task": [value], "status": ["aligned"]})
    sheet = openpyxl.load_workbook(io.BytesIO(sheets.results_xlsx(frame)))["Results"]
    assert sheet["A2"].value == written


def test_html_report_is_self_contained_and_complete():
    page = report_html(summarize(results(), PLAN), PLAN, generated_at=dt.datetime(2026, 3, 6, 9, 0))
    assert page.startswith("<!DOCTYPE html>")
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # no CDN, no external script
    assert re.search(r"<link[^>]*\bhref=", page) is None
    assert "Plotly.newPlot" in page and 'id="plotly-js"' in page  # the library is inlined
    assert "Vision: Best widgets in town &lt;for everyone&gt;" in page
    assert "generated 2026-03-06 09:00" in page
    assert "Neglected strategies" in page and "Orphan work" in page
    assert "Call lapsed service-plan customers in Montréal" in page
    assert page.count("Plotly.newPlot") == 3
    # A share of effort says so before the task count beside it (another measure).
    assert "of effort hours (17) · 3 tasks" in page


def test_html_report_carries_the_chart_library_once_and_packed():
    """plotly.js inlined as it is weighs 4.8 MB: a report on seven tasks was 4.9 MB, heavy to
    mail around each week; gzipped (the browser unpacks it) it is 2 MB."""
    page = report_html(summarize(results(), PLAN), PLAN)
    assert len(page.encode()) < 2_200_000
    assert page.count('id="plotly-js"') == 1


def test_html_report_counts_one_task_as_one_task():
    one = results().head(1)
    page = report_html(summarize(one, PLAN), PLAN, generated_at=dt.datetime(2026, 3, 6, 9, 0))
    assert "1 task · 3 strategies" in page and "1 tasks" not in page


def test_html_report_escapes_every_piece_of_user_text():
    page = report_html(summarize(results(), PLAN), PLAN)
    assert XSS_IMG not in page and "<img" not in page.split("<script", 1)[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert XSS_LINK in page  # shown literally, never made a link
    assert 'href="javascript' not in page.lower()
    assert "<script>alert(2)</script>" not in page
    assert "Win the &lt;script&gt;alert(2)&lt;/script&gt; channel" in page


def test_html_report_shows_a_rich_text_task_as_its_text_a_line_per_paragraph():
    frame = results().head(1).assign(task="<p>Order toner</p><p>Update the staff rota</p>")
    page = report_html(summarize(frame, PLAN), PLAN)
    assert '<td class="lines">Order toner\nUpdate the staff rota</td>' in page
    assert "&lt;p&gt;" not in page


def test_html_report_shortens_a_long_task_which_the_exports_keep_whole():
    """A tracker's description pasted whole (10,000 characters) filled screens of each table it
    was in, three times over; the report is for reading, the CSV and workbook keep it all."""
    long = "Call the customers about renewals and service plans. " * 200
    frame = results().head(3).assign(task=[long, "Order toner", "Fix the coffee machine"],
                                     status="misaligned")
    page = report_html(summarize(frame, PLAN), PLAN)
    shown = re.findall(r"<td class=\"lines\">(Call the customers[^<]*)</td>", page)
    assert len(shown) == 2  # orphan work, all tasks
    assert all(400 <= len(cell) <= 600 and cell.endswith("…") for cell in shown)
    assert long.strip() not in page


def test_html_report_caps_the_task_table():
    frame = pd.concat([results()] * 3, ignore_index=True)
    page = report_html(summarize(frame, PLAN), PLAN, max_rows=5)
    assert "Showing the first 5 of 21 tasks" in page


def test_html_report_caps_the_orphan_work_table_too():
    """Only the task table was capped: a run of 100,000 tasks, a fifth serving no strategy,
    listed 20,000 orphan tasks in full, megabytes of one table."""
    frame = pd.concat([results()] * 3, ignore_index=True).assign(status="misaligned")
    page = report_html(summarize(frame, PLAN), PLAN, max_rows=5)
    assert "Showing the first 5 of 21 orphan tasks (most effort first)" in page
    orphans = page.split("Orphan work: tasks that serve no strategy (21)")[1].split("<h2>")[0]
    assert orphans.count("<tr>") == 6  # the header and five tasks


@pytest.mark.browser
def test_html_report_renders_in_a_browser_without_running_user_text(tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(report_html(summarize(results(), PLAN), PLAN), encoding="utf-8")
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.route("**/*", lambda route: route.abort()
                       if not route.request.url.startswith("file:") else route.continue_())
            page.goto(path.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg")
            assert page.locator(".js-plotly-plot").count() == 3
            # In the task table: a chart may also carry the text, as a label too small to show.
            table = page.locator("table")
            assert table.get_by_text(XSS_IMG).first.is_visible()
            assert table.get_by_text(XSS_LINK).first.is_visible()
            assert page.locator("table img").count() == 0
        finally:
            browser.close()
    assert dialogs == []


def test_the_apps_tables_offer_no_unsafe_download_of_their_own():
    """A results table's toolbar CSV (Streamlit's, not the safe writer's) wrote a task's
    "=HYPERLINK(...)" as a live formula, under internal column names: the app turns it off, and
    the Report page's downloads are the files to take away."""
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" /
                            "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
