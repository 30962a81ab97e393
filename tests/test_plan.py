"""Plan files: what loads, and the one-line error each bad plan gets."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from classifier.errors import PlanError
from classifier.plan import (
    STORED,
    Plan,
    Strategy,
    Thresholds,
    dump_plan,
    keep_earlier_ids,
    load_plan,
    parse_plan_text,
    plan_from_dict,
    save_plan,
)
from classifier.plan_table import plan_from_table

GOOD_YAML = """\
vision: Be the widget people's first call
strategies:
  - id: revenue
    name: Grow recurring revenue
    description: Repeat customers
    examples:
      - Call last quarter's buyers
  - id: 7
    name: Win retail
"""


def test_good_yaml_loads_with_ids_as_text(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(GOOD_YAML)
    plan = load_plan(path)
    assert plan.ids == ["revenue", "7"]
    assert plan.strategy("revenue").examples == ["Call last quarter's buyers"]
    assert plan.thresholds is None


def test_sample_plan_loads(sample_plan):
    assert len(sample_plan.strategies) == 7
    assert sample_plan.vision


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("no-strategies.yaml", "vision: v\nstrategies: []\n", "the plan has no strategies"),
    ("no-strategies-key.yaml", "vision: v\n", "strategies: required field is missing"),
    ("duplicate.yaml", "strategies:\n  - {id: a, name: A}\n  - {id: a, name: B}\n",
     "duplicate strategy id 'a' (strategies 1 and 2)"),
    ("no-name.yaml", "strategies:\n  - {id: a}\n", "strategy 1 (id 'a').name: required field"),
    ("blank-name.yaml", "strategies:\n  - {id: a, name: '  '}\n",
     "strategy 1 (id 'a').name: is empty"),
    ("unknown.yaml", "strategies:\n  - {id: a, name: A, colour: red}\nowner: me\n",
     "strategy 1 (id 'a'): unknown key 'colour'; unknown key 'owner'"),
    # named as the file has it: not by an id the tool would make from its name
    ("no-id.yaml", "strategies:\n  - {name: Alpha team work, descripton: typo}\n",
     "strategy 1 ('Alpha team work'): unknown key 'descripton'"),
    ("list.yaml", "- a\n- b\n", "not a plan: a plan file is YAML or JSON with `vision:`"),
    # A list of strategies kept as text: YAML reads it as one string ("found str").
    ("plan.txt", "Grow recurring revenue\nWin retail\n",
     "not a plan: a plan file is YAML or JSON with `vision:` and `strategies:` (each with a "
     "name), or a strategies table (.csv, .xlsx) with a column name"),
    ("empty.yaml", "", "the plan file is empty"),
    ("comments.yaml", "# nothing yet\n", "the plan file is empty"),
    ("bad-thresholds.yaml",
     "strategies:\n  - {id: a, name: A}\nthresholds: {aligned: 0.3, misaligned: 0.5, margin: 0}\n",
     "misaligned (0.5) must not be above aligned (0.3)"),
    ("bad-yaml.yaml", "strategies:\n  - id: a\n    name: [A\n", "malformed YAML at line"),
    ("tabs.yaml", "strategies:\n\t- id: a\n", "malformed YAML at line 2"),
    ("bad.json", '{"strategies": [\n  {"id": "a",}\n]}', "malformed JSON at line 2"),
    ("not-utf8.yaml", "vision: caf\xe9\nstrategies: []\n".encode("latin-1"),
     "line 1: not UTF-8 text; save the plan as UTF-8"),
])
def test_bad_plan_is_refused_naming_file_and_field(tmp_path, name, text, expected):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["missing.yaml", "missing.json", "missing.csv"])
def test_missing_plan_file(tmp_path, name):
    with pytest.raises(PlanError, match="plan file not found"):
        load_plan(tmp_path / name)


def test_plan_folder_is_refused(tmp_path):
    with pytest.raises(PlanError, match="is a folder"):
        load_plan(tmp_path)


def test_strategies_csv(tmp_path):
    path = tmp_path / "strategies.csv"
    path.write_text("id,name,description\nrev,Grow revenue,Repeat buyers\nretail,Win retail,\n")
    plan = load_plan(path)
    assert plan.ids == ["rev", "retail"]
    assert plan.strategy("retail").description == ""


@pytest.mark.parametrize(("separator", "encoding"), [
    (";", "utf-8"), (";", "cp1252"), (",", "cp1252"), ("\t", "utf-8-sig"),
])
def test_a_strategies_csv_from_excel_reads_as_a_tasks_csv_does(tmp_path, separator, encoding):
    # Excel on Windows or in most of Europe saves cp1252 and `;`: such a plan was refused.
    path = tmp_path / "strategies.csv"
    rows = [["id", "name", "description"], ["rev", "Croissance récurrente", "Fidéliser, relancer"],
            ["ret", "Canal de détail", "Mettre nos produits en rayon"]]
    text = "".join(separator.join(f'"{cell}"' if separator in cell or "," in cell else cell
                                  for cell in row) + "\r\n" for row in rows)
    path.write_bytes(text.encode(encoding))
    plan = load_plan(path)
    assert plan.ids == ["rev", "ret"]
    assert plan.strategy("rev").name == "Croissance récurrente"
    assert plan.strategy("rev").description == "Fidéliser, relancer"


def test_strategies_csv_without_name_column(tmp_path):
    path = tmp_path / "strategies.csv"
    path.write_text("id,owner\nrev,Ana\n")
    with pytest.raises(PlanError, match="needs a column name"):
        load_plan(path)


def test_strategies_csv_of_names_and_descriptions_gets_ids_from_the_names(tmp_path):
    # What a manager exports from the spreadsheet the plan was written in: no ids.
    path = tmp_path / "strategies.csv"
    path.write_text("Name,Description\nResolve customer issues on first contact,Answer fully\n"
                    "Cut incoming ticket volume,Self-service\n")
    plan = load_plan(path)
    assert plan.ids == ["resolve-customer-issues-on-first", "cut-incoming-ticket-volume"]
    assert plan.strategy("cut-incoming-ticket-volume").description == "Self-service"


def test_a_strategy_without_an_id_gets_one_from_its_name_unlike_the_others():
    plan = plan_from_dict({"vision": "", "strategies": [
        {"name": "Grow recurring revenue"},
        {"id": "win-retail", "name": "Win retail"},
        {"id": "", "name": "Win retail!"},
        {"name": "None!"},
        {"id": None, "name": "Qualität zuerst, immer"},
        {"name": "???"},
    ]})
    assert plan.ids == ["grow-recurring-revenue", "win-retail", "win-retail-2",
                        "none-strategy", "qualität-zuerst-immer", "strategy"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip_keeps_thresholds(tmp_path, sample_plan, suffix):
    fitted = Thresholds(aligned=0.6, misaligned=0.3, margin=0.02, fitted_on="test")
    plan = sample_plan.model_copy(update={"thresholds": fitted})
    path = tmp_path / f"plan{suffix}"
    save_plan(plan, path)
    again = load_plan(path)
    assert again == plan
    if suffix == ".json":
        assert json.loads(path.read_text())["thresholds"]["aligned"] == 0.6


def test_dump_leaves_out_empty_optional_fields():
    plan = plan_from_dict({"strategies": [{"id": "a", "name": "A"}]})
    assert "description" not in dump_plan(plan)
    assert isinstance(plan, Plan)


def test_negative_margin_is_refused():
    with pytest.raises(PlanError, match="thresholds.margin"):
        plan_from_dict({"strategies": [{"id": "a", "name": "A"}],
                        "thresholds": {"aligned": 0.5, "misaligned": 0.4, "margin": -1}})


@pytest.mark.parametrize(("description", "expected"), [
    ("End hunger, achieve food security and improved nutrition and promote sustainable "
     "agriculture", ["achieve food security", "promote sustainable agriculture"]),
    ("Get our widgets onto shop shelves; sign three new regional dealers",
     ["Get our widgets onto shop shelves", "sign three new regional dealers"]),
    ("Keep every customer we win. Sell renewals before the plan runs out",
     ["Keep every customer we win.", "Sell renewals before the plan runs out"]),
    # a bulleted list names one thing per line, markers off
    ("Turn buyers into repeat customers:\n- renew every service plan before it lapses\n"
     "* sell extended warranties\n2) launch a loyalty programme",
     ["Turn buyers into repeat customers:", "renew every service plan before it lapses",
      "sell extended warranties", "launch a loyalty programme"]),
    # a list of short items names one thing per item, however short
    ("freeze account, routing, pin change, balance; report fraud",
     ["freeze account", "routing", "pin change", "balance", "report fraud"]),
    ("own shops · dealers | marketplaces / catalogue", ["own shops", "dealers", "marketplaces",
                                                        "catalogue"]),
    ("- SEO\n- email campaigns\n- marketplace listings", ["SEO", "email campaigns",
                                                          "marketplace listings"]),
    # a sentence whose short pieces are fragments of it is not a list
    ("Design, test and launch new widget models and accessories that customers ask for.",
     ["launch new widget models", "accessories that customers ask for."]),
    ("Ensure access to affordable, reliable, sustainable and modern energy for all",
     ["Ensure access to affordable", "modern energy for all"]),
    # one thing named (or pieces too short to stand alone): nothing beside the statement
    ("End poverty in all its forms everywhere", []),
    ("Protect, restore and renew", []),
    ("", []),
    # a thing named twice is one thing: once, and alone it says nothing new
    ("Call every customer back. " * 40 + "Answer every ticket within a day. " * 40,
     ["Call every customer back.", "Answer every ticket within a day."]),
    ("Call every customer back. " * 40, []),
])
def test_a_description_naming_several_things_gives_each_its_phrase(description, expected):
    strategy = Strategy(id="s", name="Strategy", description=description)
    assert strategy.phrases() == expected
    texts = strategy.texts()
    assert texts[len(texts) - len(expected):] == expected
    assert strategy.texts(phrases=False) == texts[:len(texts) - len(expected)]


@pytest.mark.parametrize(("answer", "meant"), [
    ("win-retail", "win-retail"),
    ("  win   RETAIL ", "win-retail"),  # a name, case and spacing aside
    ("Win-Retail", "win-retail"),  # an id typed in another case
    (" HIRE-B ", "hire-b"),
    ("None", "none"),
    ("Serves no strategy", "none"),
    ("Hire", None),  # two strategies are called that: which one is the person's to say
    ("Win", None),  # part of a name names nothing
])
def test_an_answer_names_a_strategy_by_id_or_by_its_name(answer, meant):
    # Stored before two strategies of one name were refused: such a plan stays readable.
    plan = Plan.model_validate({"vision": "", "strategies": [
        {"id": "win-retail", "name": "Win retail"}, {"id": "hire-a", "name": "Hire"},
        {"id": "hire-b", "name": "hire", "description": "Engineers for the new plant"}]},
        context=STORED)
    assert plan.meant(answer) == meant


@pytest.mark.parametrize(("text", "expected"), [
    ("strategies:\n  - {name: Grow revenue}\n  - {name: grow  Revenue}\n",
     ": strategy 2 'grow  Revenue': the same name as strategy 1; names tell strategies apart "
     "in reviews and reports"),
    ("strategies:\n  - {id: a, name: A, examples: [1, null]}\n",
     ": strategy 1 (id 'a').examples.item 1: Input should be a valid string;"),
    ("thresholds: {aligned: .nan, misaligned: .inf, margin: 0.01}\nstrategies:\n  - {name: A}\n",
     ": thresholds.aligned: Input should be a finite number"),
])
def test_a_plan_that_cannot_work_is_refused_saying_why(tmp_path, text, expected):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert expected in str(caught.value)


@pytest.mark.parametrize(("name", "content", "expected"), [
    # One name, two descriptions: `tactics decide` could not tell which one "Our team" meant.
    ("plan.yaml", "strategies:\n  - {id: hire, name: Our team, description: Hire}\n"
     "  - {id: prevention, name: Prevent decay}\n"
     "  - {id: train, name: 'our  TEAM', description: Train}\n",
     "strategy 3 'our  TEAM': the same name as strategy 1; names tell strategies apart in "
     "reviews and reports"),
    ("plan.csv", "name,description\nOur team,Hire\nPrevent decay,\n\nOur team,Train\n",
     "row 5 'Our team': the same name as row 2"),  # as the spreadsheet shows the rows
    # The words a decisions file writes for "serves no strategy" (no made id named: the
    # file gave none).
    ("plan.yaml", "strategies:\n  - {name: Prevent decay}\n  - {name: Serves no strategy}\n",
     "strategy 2 ('Serves no strategy').name: 'Serves no strategy' is what decisions and "
     "labels write for a task "
     "that serves no strategy; call the strategy something else"),
    ("plan.csv", "id,name\nx,none\n", "row 2 (id 'x').name: 'none' is what decisions"),
])
def test_a_plan_refuses_names_a_review_could_not_tell_apart(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


def test_the_plan_table_names_the_row_of_a_name_taken_or_meaning_none(sample_plan):
    from classifier.plan_table import plan_table

    table = plan_table(sample_plan)
    table.loc[len(table)] = [None, " build a  strong TEAM", "Another team", None]
    table.loc[len(table)] = [None, "NONE", "", None]
    with pytest.raises(PlanError) as caught:
        plan_from_table("", table, sample_plan)
    assert str(caught.value) == (
        "plan table: row 8 'build a  strong TEAM': the same name as row 5; names tell "
        "strategies apart in reviews and reports; row 9: name 'NONE' is what decisions write "
        "for a task that serves no strategy; call it something else")


@pytest.mark.parametrize(("text", "expected"), [
    ("strategies:\n  - {description: D}\n", "strategy 1.name: required field is missing"),
    ("strategies:\n  - {id: '', name: ''}\n", "strategy 1.name: is empty"),
])
def test_a_strategy_without_a_name_is_refused_for_its_name_alone(tmp_path, text, expected):
    # Its id would be made from its name: a missing id is no second problem to name.
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_a_strategies_workbook_is_read_from_its_sheet_with_a_name_column(tmp_path):
    # A plan kept in Excel: a cover sheet first, the strategies on another, a blank row inside.
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["Support plan 2027"])
    sheet = book.create_sheet("Strategies")
    for row in (["Name", "Description", "Examples"],
                ["Cut incoming ticket volume", "Self-service", "Write a help article | Fix a bug"],
                [None, None, None],
                ["Keep our biggest accounts happy", "Quarterly check-ins", None]):
        sheet.append(row)
    path = tmp_path / "plan.xlsx"
    book.save(path)
    plan = load_plan(path)
    assert plan.ids == ["cut-incoming-ticket-volume", "keep-our-biggest-accounts-happy"]
    assert plan.strategies[0].examples == ["Write a help article", "Fix a bug"]
    assert plan.strategies[1].description == "Quarterly check-ins"

    # A hidden sheet of people, first in the workbook, has a `name` column too: not the plan.
    people = book.create_sheet("People", 0)
    for row in (["name", "email"], ["Ana", "ana@example.com"], ["Ben", "ben@example.com"]):
        people.append(row)
    people.sheet_state = "hidden"
    book.save(path)
    assert load_plan(path).ids == plan.ids

    # A chart sheet put first holds no cells (it crashed: KeyError, pandas reads none of it).
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    book.create_chartsheet("Chart", 0).add_chart(chart)
    book.save(path)
    assert load_plan(path).ids == plan.ids


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("plan.xlsx", b"not a workbook", "not a readable Excel workbook"),
    ("plan.csv", b"owner,text\nA,B\n", r"needs a column name \(or strategy, strategy name"),
    # Two columns that may each hold the names: neither is guessed.
    ("plan.csv", b"Strategy,Title\nrevenue,Grow revenue\n",
     "which column holds the strategies' names\\? 'Strategy' and 'Title' both may"),
    ("plan.csv", b"name,description\n,\n\n", "no strategies in the table; add a row with a name"),
    # the row a spreadsheet shows (a blank row above counts), not the strategy's number
    ("plan.csv", b"name,description\nAlpha,first\n,\n,second\n", r"row 4\.name: is empty"),
])
def test_a_strategies_table_without_names_is_refused(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PlanError, match=expected) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def _named(*strategies: dict) -> Plan:
    return plan_from_dict({"vision": "", "strategies": list(strategies)})


@pytest.mark.parametrize(("before", "after", "kept"), [
    # a name reworded, the description the same: the same strategy
    ({"name": "Grow recurring revenue", "description": "Repeat buyers"},
     {"name": "Grow revenue that recurs", "description": "Repeat buyers"}, True),
    # a typo mended where neither has a description
    ({"name": "Win the retial channel"}, {"name": "Win the retail channel"}, True),
    # another name and another description: another strategy
    ({"name": "Grow recurring revenue", "description": "Repeat buyers"},
     {"name": "Open a second plant", "description": "Capacity"}, False),
    # a name replaced, no description: another strategy
    ({"name": "Win retail"}, {"name": "Hire engineers"}, False),
    # an id the person wrote (not one made from the name) is theirs: never changed
    ({"name": "Win retail"}, {"id": "retail", "name": "Win retail!"}, False),
])
def test_a_renamed_strategy_without_an_id_keeps_the_one_it_had(before, after, kept):
    earlier = _named(before, {"name": "Build a strong team"})
    plan, notes = keep_earlier_ids(_named(after, {"name": "Build a strong team"}), earlier)
    assert (plan.ids[0] == earlier.ids[0]) == kept
    assert plan.strategies[0].name == after["name"] and plan.ids[1] == "build-a-strong-team"
    assert len(notes) == kept
    if kept:
        assert notes[0].startswith(f"strategy {after['name']!r} keeps the id {earlier.ids[0]!r}")


def test_a_strategy_under_its_own_name_keeps_its_id_whatever_its_description(sample_plan):
    """A table without ids (a spreadsheet plan) rewording one description: that strategy is
    no new one (README: only a new name and a new description make one), and nothing is said
    of the strategies whose names did not change."""
    table = _named(*[{"name": s.name, "description": s.description}
                     for s in sample_plan.strategies])
    reworded = table.model_copy(update={"strategies": [
        table.strategies[0].model_copy(update={"description": "Renewals every year"}),
        *table.strategies[1:]]})

    plan, notes = keep_earlier_ids(reworded, sample_plan)

    assert plan.ids == sample_plan.ids and notes == []
    assert plan.strategies[0].description == "Renewals every year"


def test_a_strategy_deleted_then_brought_back_by_name_gets_its_old_id():
    """Deleted in one version, back (same name, another spacing) in a file without ids: its
    old id, so the decisions about it count again; a strategy new to the plan gets no old id,
    not even one described as a gone strategy was, nor an id another strategy holds."""
    team = Strategy(id="team", name="Grow and keep our dental team", description="Hire")
    chairs = Strategy(id="chairs", name="Fill every chair hour", description="No gaps")
    earlier = Plan(strategies=[chairs])  # the version after `team` was deleted
    back = _named({"name": "grow and keep  our dental team", "description": "Hire"},
                  {"name": "Train the hygienists", "description": "Hire"},
                  {"name": "Fill every chair hour", "description": "No gaps"})

    plan, notes = keep_earlier_ids(back, earlier, [chairs, team])

    assert plan.ids == ["team", "train-the-hygienists", "chairs"]
    assert notes == ["strategy 'grow and keep  our dental team' gets back the id 'team' it had "
                     "before, so the decisions about it count again"]
    # Its old id is another strategy's now (written in the file): that one keeps it.
    taken = _named({"id": "team", "name": "Our team"}, {"name": "Grow and keep our dental team"})
    assert keep_earlier_ids(taken, earlier, [chairs, team])[0].ids == [
        "team", "grow-and-keep-our-dental-team"]


def test_a_strategy_brought_back_under_the_id_its_name_makes_is_said_to_count_again():
    """Deleted on the Plan page, typed back in a new row: its id, made from its name, is the
    one it had, and its decisions count again; the page said only "Plan saved." of it."""
    water = Strategy(id="water-wise-landscaping", name="Water-wise landscaping",
                     description="Cut irrigation water use")
    trees = Strategy(id="healthy-urban-trees", name="Healthy urban trees")
    earlier = Plan(strategies=[trees])  # the version after `water` was deleted
    back = _named({"name": "Healthy urban trees"},
                  {"name": "Water-wise landscaping", "description": "Save water"})

    plan, notes = keep_earlier_ids(back, earlier, [trees, water])

    assert plan.ids == ["healthy-urban-trees", "water-wise-landscaping"]
    assert notes == ["strategy 'Water-wise landscaping' gets back the id "
                     "'water-wise-landscaping' it had before, so the decisions about it count "
                     "again"]
    # A new strategy whose name happens to make no past id is simply new: nothing said.
    new = _named({"name": "Healthy urban trees"}, {"name": "Dog parks"})
    assert keep_earlier_ids(new, earlier, [trees, water])[1] == []


def test_a_strategy_under_its_name_with_another_id_is_said_to_get_that_id():
    """A table whose id for a strategy differs from the store's: it was said to be "'X' added,
    'X' dropped", one strategy read as two."""
    from classifier.plan import plan_changes

    team = Strategy(id="grow-and-keep-our-dental-team", name="Grow and keep our dental team")
    chairs = Strategy(id="chairs", name="Fill every chair hour")
    old = Plan(strategies=[team, chairs])
    new = Plan(strategies=[team.model_copy(update={"id": "team"}),
                           Strategy(id="seal", name="Seal molars")])
    assert plan_changes(old, new) == [
        "'Grow and keep our dental team' gets id 'team' (was 'grow-and-keep-our-dental-team')",
        "'Seal molars' added", "'Fill every chair hour' dropped"]
    reworded = Plan(strategies=[Strategy(id="team", name="grow and keep our  dental team",
                                         description="Hygienists"), chairs])
    assert plan_changes(old, reworded) == [
        "'grow and keep our  dental team' gets id 'team' (was 'grow-and-keep-our-dental-team')",
        "'grow and keep our  dental team' changed"]


def test_without_an_earlier_plan_or_a_change_nothing_moves(sample_plan):
    assert keep_earlier_ids(sample_plan, None) == (sample_plan, [])
    assert keep_earlier_ids(sample_plan, sample_plan) == (sample_plan, [])


@pytest.mark.parametrize("empty", [None, float("nan"), pd.NA, "", "  "])
def test_cells_the_plan_editor_leaves_empty_stay_empty(empty):
    table = pd.DataFrame({"id": [empty], "name": ["Delight our customers"],
                          "description": [empty], "examples": [empty]}, dtype=object)
    strategy = plan_from_table("", table, Plan(strategies=[Strategy(id="a", name="A")]))
    [made] = strategy.strategies
    assert (made.id, made.description, made.examples) == ("delight-our-customers", "", [])


WINDOWS_PLAN = """\
vision: Be the widget people's first call
strategies:
  # top priority
  - name: Grow recurring revenue   # from the Q3 review
    description: >
      Sell service plans
      to the customers we have
  - name: Build a strong team
    # HR owns this
    description: Hire and keep skilled people
"""


def test_saving_thresholds_keeps_a_plan_files_comments_blocks_line_ends_and_mark(tmp_path):
    # A plan written by hand on Windows, strategies without ids: only the new lines differ.
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + WINDOWS_PLAN.replace("\n", "\r\n").encode())
    plan = load_plan(path)
    save_plan(plan.model_copy(update={"thresholds": Thresholds(aligned=0.5, misaligned=0.3,
                                                               margin=0.05)}), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    assert text.startswith(WINDOWS_PLAN)  # every comment, the `>` block, no ids added
    assert "thresholds:" in text[len(WINDOWS_PLAN):]
    again = load_plan(path)
    assert again.strategies == plan.strategies and again.thresholds is not None


def test_a_json_plan_keeps_its_indent_and_key_order(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"strategies": [{"name": "Grow revenue", "id": "a"}],
                                "vision": "v"}, indent=4) + "\n")
    plan = load_plan(path)
    save_plan(plan.model_copy(update={"thresholds": Thresholds(aligned=0.5, misaligned=0.3,
                                                               margin=0.05)}), path)
    text = path.read_text()
    assert '\n    "strategies": [' in text
    assert list(json.loads(text)) == ["strategies", "vision", "thresholds"]
    assert list(json.loads(text)["strategies"][0]) == ["name", "id"]
    assert load_plan(path).thresholds is not None


@pytest.mark.parametrize(("strategy", "message"), [
    ({"id": "a", "name": "Lower\u0000 costs"}, "strategy 1 (id 'a').name: holds"),
    ({"id": "a", "name": "A", "description": "cut\u0000 waste"},
     "strategy 1 (id 'a').description: holds"),
    ({"id": "a", "name": "A", "examples": ["ok", "bad\u0000"]},
     "strategy 1 (id 'a').examples: example 2 holds"),
])
def test_a_nul_character_anywhere_in_a_plan_is_refused_naming_the_field(strategy, message):
    text = json.dumps({"vision": "Widgets", "strategies": [strategy]})  # written as \u0000
    with pytest.raises(PlanError) as refused:
        parse_plan_text(text, "plan.json", "json")
    assert str(refused.value) == f"plan.json: {message} a NUL character; remove it"


@pytest.mark.parametrize("header", ["Strategy", "strategy name", "Strategy_Name", "Title"])
def test_a_strategies_table_may_head_its_names_as_a_spreadsheet_does(tmp_path, header):
    # A plan kept in a spreadsheet heads its names "Strategy" or "Title": such a table was
    # refused, although the task columns accept their trackers' names.
    path = tmp_path / "strategies.csv"
    path.write_text(f"{header},Description\nGrow recurring revenue,Repeat buyers\nWin retail,\n")
    plan = load_plan(path)
    assert plan.ids == ["grow-recurring-revenue", "win-retail"]
    assert plan.strategy("grow-recurring-revenue").description == "Repeat buyers"
    # Beside a `name` column, a "Strategy" column is not the names (a theme, an owner).
    path.write_text("Strategy,name\nGrowth,Grow recurring revenue\n")
    assert load_plan(path).ids == ["grow-recurring-revenue"]


# A manager's long description (9,400 characters) written as one run-on sentence: no phrase
# of its own.
LONG_DESCRIPTION = " ".join(
    f"in region {n} we renew every service contract before it lapses or we call each buyer"
    for n in range(110))


def test_a_text_the_model_reads_only_the_start_of_is_said_in_the_plan_s_terms(embedder):
    from classifier.plan import cut_texts

    def lines(plan: Plan) -> list[str]:
        return cut_texts(plan, embedder.characters_read, embedder.max_tokens)

    plan = Plan(strategies=[
        Strategy(id="renew", name="Renew every contract", description=LONG_DESCRIPTION,
                 examples=["Call the Smiths", "Visit " + "the dealer and the shop " * 90]),
        Strategy(id="short", name="Win retail", description="Shelf space in stores")])
    assert 9_000 < len(LONG_DESCRIPTION) < 10_000
    said = lines(plan)
    assert said[0].startswith(
        "strategy 'Renew every contract': its description is read only up to “…")
    assert "of 1,760)" in said[0] and "the first 256 word pieces of each text" in said[0]
    # One sentence: no phrases of its own to carry the rest, so the manager is told what helps.
    assert said[0].endswith("write it as a list (one thing a line), whose items are read on "
                            "their own")
    assert said[1].startswith("strategy 'Renew every contract': example 2 is read only up to “…")
    assert len(said) == 2  # example 1 and the other strategy are read whole
    # The same words as a list: each item is read on its own, whole; only the statement is cut.
    listed = plan.model_copy(update={"strategies": [plan.strategies[0].model_copy(update={
        "description": LONG_DESCRIPTION.replace(" or we", ",\nwe").replace(" in region", ",\nin region"),
        "examples": []})]})
    [line] = lines(listed)
    assert line.endswith("past it, the description counts only through its phrases, each "
                         "read on its own")
    # Nothing is said of a plan the model reads whole, however long its texts in characters.
    assert lines(Plan(strategies=[Strategy(id="a", name="A", description="word " * 200)])) == []
