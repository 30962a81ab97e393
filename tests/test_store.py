"""The store on a SQLite file and on a real PostgreSQL server (every test that takes `db` or
`store_target` runs on both): schema and upgrades, plan versions, runs, the decision audit trail,
concurrency between connections, threads and processes, interrupted writes, and viewers refused."""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from classifier.access import Reviewer
from classifier.errors import AccessError, StoreError
from classifier.plan import Plan, Strategy
from classifier.results import RESULT_COLUMNS
from classifier.review import review_queue
from classifier.store import Store, default_db_path
from classifier.store.schema import revisions

ROOT = Path(__file__).resolve().parent.parent

TASKS = pd.DataFrame({
    "task": ["Call last quarter's one-time buyers about a service plan",
             "Pitch our widget line to Riverside Hardware",
             "", "Réorganiser les dossiers partagés ☕", "Post the job opening for a machinist"],
    "owner": ["Ann", "", "Bob", "Zoë", None],
    "code": ["007", "0", "", "1e3", "NaN"],
    "effort": [1, 2, 3, 4, 5],
})


@pytest.fixture
def db(store_target):
    with Store(store_target) as store:
        yield store


@pytest.fixture(scope="module")
def classified(classifier):
    """The sample tasks through the real classifier: (frame, candidates)."""
    frame = classifier.classify_frame(TASKS, "task")
    candidates = [[{"strategy_id": c.strategy_id, "score": c.score, "evidence": c.evidence}
                   for c in result.candidates]
                  for result in classifier.classify(TASKS["task"].tolist())]
    return frame, candidates


@pytest.fixture
def run_id(db, classified, sample_plan, classifier):
    frame, candidates = classified
    version = db.save_plan(sample_plan)
    return db.create_run(version, frame, "task", "tasks.csv", "all-MiniLM-L6-v2",
                         classifier.thresholds, candidates)


def synthetic_results(rows: int, plan) -> pd.DataFrame:
    """A frame shaped like the classifier's output, for volume tests that need no model."""
    ids = plan.ids
    return pd.DataFrame({
        "task": [f"task number {i}" for i in range(rows)],
        "strategy_id": [ids[i % len(ids)] for i in range(rows)],
        "strategy": ["name"] * rows,
        "score": [0.6] * rows,
        "status": ["review"] * rows,
        "runner_up_id": [ids[(i + 1) % len(ids)] for i in range(rows)],
        "runner_up_score": [0.5] * rows,
        "evidence": ["evidence"] * rows,
    })


def engine_for(target: str | Path) -> sa.Engine:
    """A plain SQLAlchemy engine on a store, to look at it as its database does."""
    target = str(target)
    return sa.create_engine(target if "://" in target else f"sqlite:///{target}")


def sql(target: str | Path, statement: str, **params: object) -> list[tuple]:
    """Run one SQL statement on a store (committed); its rows, if any."""
    engine = engine_for(target)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def table_rows(target: str | Path, table: str) -> int:
    return sql(target, f"SELECT count(*) FROM {table}")[0][0]


# ------------------------------------------------------------------ opening

def test_schema_is_created_once_and_reopening_migrates_nothing(store_target):
    with Store(store_target) as store:
        first = store.migrations()
    with Store(store_target) as store:
        assert store.migrations() == first
    assert [number for number, _ in first] == [number for number, _ in revisions()]
    assert table_rows(store_target, "migrations") == len(revisions())
    assert sql(store_target, "SELECT version_num FROM alembic_version") == [
        (f"{revisions()[-1][0]:04d}",)]
    if "://" not in store_target:
        with sqlite3.connect(store_target) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_comes_from_the_environment_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("TACTICS_DB", raising=False)
    assert default_db_path() == Path("tactics.db")
    monkeypatch.setenv("TACTICS_DB", str(tmp_path / "team" / "review.db"))
    assert default_db_path() == tmp_path / "team" / "review.db"
    with Store() as store:
        assert store.path == tmp_path / "team" / "review.db"
    assert (tmp_path / "team" / "review.db").exists()


@pytest.mark.parametrize("content", [b"vision: not a database\n" * 20, b"\x00\xff" * 4096])
def test_a_file_that_is_not_a_database_is_refused_by_name(tmp_path, content):
    path = tmp_path / "plan.yaml"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a tactic-classifier store") as error:
        Store(path)
    assert str(path) in str(error.value)
    assert path.read_bytes() == content


def test_a_folder_or_a_path_under_a_file_is_refused_by_name(tmp_path):
    with pytest.raises(StoreError, match="is a folder") as error:
        Store(tmp_path)
    assert str(tmp_path) in str(error.value)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="cannot create its folder"):
        Store(tmp_path / "notes.txt" / "tactics.db")


def test_a_store_from_a_newer_version_is_refused(store_target):
    Store(store_target).close()
    sql(store_target, "INSERT INTO migrations VALUES (999, 'from the future', :t)",
        t="2099-01-01T00:00:00+00:00")
    with pytest.raises(StoreError, match="newer tactic-classifier"):
        Store(store_target)


def test_a_store_with_an_unknown_alembic_revision_is_refused(store_target):
    Store(store_target).close()
    sql(store_target, "UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(StoreError, match="newer tactic-classifier .*revision 0099"):
        Store(store_target)


# ------------------------------------------------------------------ plans

def test_plan_gets_a_new_version_only_when_its_content_changes(db, sample_plan):
    first = db.save_plan(sample_plan)
    assert db.save_plan(sample_plan.model_copy(deep=True)) == first
    changed = sample_plan.model_copy(deep=True)
    changed.strategies.append(Strategy(id="new-one", name="A new strategy"))
    second = db.save_plan(changed)
    assert second != first
    assert db.latest_plan() == (second, changed)
    assert db.plan(first) == sample_plan
    back = db.save_plan(sample_plan)
    assert [v.version for v in db.plan_versions()] == [1, 2, 3]
    assert db.latest_plan()[0] == back
    assert db.save_plan(sample_plan, name="sales") != first
    assert [v.version for v in db.plan_versions("sales")] == [1]
    assert db.latest_plan("nobody") is None


# ------------------------------------------------------------------ runs

def test_run_round_trip_keeps_order_columns_and_odd_values(db, run_id, classified):
    frame, candidates = classified
    stored = db.run_results(run_id)
    assert list(stored.columns) == ["row", *frame.columns, "candidates"]
    assert stored["row"].tolist() == list(range(len(TASKS)))
    assert stored["task"].tolist() == TASKS["task"].tolist()
    assert stored["code"].tolist() == ["007", "0", "", "1e3", "NaN"]
    assert stored["owner"].tolist()[:4] == ["Ann", "", "Bob", "Zoë"]
    assert pd.isna(stored["owner"].iloc[4])
    assert stored["effort"].tolist() == [1, 2, 3, 4, 5]
    assert stored["status"].tolist() == frame["status"].tolist()
    assert stored["strategy_id"].tolist() == frame["strategy_id"].tolist()
    assert stored["score"].tolist()[:2] == frame["score"].tolist()[:2]
    assert stored["candidates"].tolist() == candidates
    info = db.run(run_id)
    assert (info.rows, info.text_column, info.columns) == (5, "task", list(TASKS.columns))
    assert sum(info.status_counts.values()) == 5 and info.status_counts["empty"] == 1


def test_runs_are_listed_newest_first_and_found_by_plan_name(db, sample_plan):
    version = db.save_plan(sample_plan)
    other = db.save_plan(sample_plan, name="sales")
    frame = synthetic_results(3, sample_plan)
    first = db.create_run(version, frame, "task", "a.csv", "m", sample_plan.thresholds
                          or _thresholds())
    second = db.create_run(other, frame, "task", "b.csv", "m", _thresholds())
    assert [run.id for run in db.runs()] == [second, first]
    assert db.latest_run().id == first
    assert db.latest_run("sales").id == second
    assert db.latest_run("nobody") is None


def test_an_input_column_named_row_keeps_its_values(db, sample_plan):
    frame = synthetic_results(3, sample_plan)
    frame.insert(0, "row", ["r-a", "r-b", "r-c"])
    run = db.create_run(db.save_plan(sample_plan), frame, "task", "x", "m", _thresholds())
    assert db.run_results(run)["row"].tolist() == ["r-a", "r-b", "r-c"]


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns=["status", "score"]), "status, score missing|score, status"),
    (lambda f: f.rename(columns={"task": "title"}), "no text column 'task'"),
])
def test_a_frame_that_is_not_classified_is_refused(db, sample_plan, change, message):
    version = db.save_plan(sample_plan)
    with pytest.raises(StoreError, match=message):
        db.create_run(version, change(synthetic_results(2, sample_plan)), "task", "x", "m",
                      _thresholds())
    assert db.runs() == []


def test_a_run_set_aside_and_brought_back_keeps_who_and_when(db, run_id):
    db.set_aside(run_id, " ana ")
    [aside] = db.set_aside_runs()
    assert (aside.id, aside.set_aside_by) == (run_id, "ana")
    assert aside.set_aside_at is not None and aside.set_aside_at.tzinfo is not None
    assert db.runs() == [] and db.latest_run() is None
    assert db.run(run_id).set_aside_by == "ana"  # still read whole by its id
    db.bring_back(run_id, "ana")
    assert [r.id for r in db.runs()] == [run_id] and db.set_aside_runs() == []


def test_a_run_for_an_unknown_plan_version_is_refused(db, sample_plan):
    with pytest.raises(StoreError, match="no plan version with id 42"):
        db.create_run(42, synthetic_results(2, sample_plan), "task", "x", "m", _thresholds())
    assert db.runs() == []


class Explodes:
    """A cell that fails while the store converts it, half-way through a run's rows."""

    def __str__(self) -> str:
        raise RuntimeError("the disk went away")


def test_an_error_inside_create_run_leaves_no_partial_run(db, sample_plan):
    version = db.save_plan(sample_plan)
    frame = synthetic_results(12_000, sample_plan)
    frame["note"] = pd.Series([""] * 11_999 + [Explodes()], dtype=object)
    with pytest.raises(RuntimeError, match="the disk went away"):
        db.create_run(version, frame, "task", "x", "m", _thresholds())
    assert db.runs() == []
    assert table_rows(db_target(db), "results") == 0
    good = db.create_run(version, frame.iloc[:10], "task", "x", "m", _thresholds())
    assert len(db.run_results(good)) == 10


@pytest.mark.slow
def test_a_process_killed_mid_write_loses_nothing_committed(store_target, sample_plan):
    path = store_target
    with Store(path) as store:
        version = store.save_plan(sample_plan)
        kept = store.create_run(version, synthetic_results(4, sample_plan), "task", "x", "m",
                                _thresholds())
        store.record_decision(kept, 1, "reassign", sample_plan.ids[0], "ann")
    script = textwrap.dedent(f"""
        import os, signal, sys
        import pandas as pd
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from classifier.store import Store
        from test_store import synthetic_results, _thresholds

        class Dies:
            def __str__(self):
                os.kill(os.getpid(), signal.SIGKILL)

        store = Store({str(path)!r})
        plan = store.latest_plan()[1]
        frame = synthetic_results(12_000, plan)
        frame["note"] = pd.Series([""] * 11_999 + [Dies()], dtype=object)
        store.create_run(store.latest_plan()[0], frame, "task", "x", "m", _thresholds())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with Store(path) as store:
        assert [run.id for run in store.runs()] == [kept]
        assert len(store.run_results(kept)) == 4
        assert store.current_decisions(kept)[1].strategy_id == sample_plan.ids[0]
    assert table_rows(path, "results") == 4
    if "://" not in path:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------ decisions

def test_standing_decision_of_one_task_follows_undos_and_ignores_skips(db, run_id):
    assert db.standing_decision(run_id, 1) is None
    db.record_decision(run_id, 1, "misaligned", None, "ann")
    db.record_decision(run_id, 3, "reassign", "strong-team", "ann")
    db.record_decision(run_id, 1, "skip", None, "bob")
    assert db.standing_decision(run_id, 1).action == "misaligned"
    db.record_decision(run_id, 1, "reassign", "strong-team", "bob")
    assert db.standing_decision(run_id, 1).reviewer == "bob"
    db.undo_last_decision(run_id, "bob")
    assert db.standing_decision(run_id, 1).reviewer == "ann"
    assert db.standing_decision(run_id, 1) == db.current_decisions(run_id)[1]


def test_skipped_rows_are_per_reviewer_and_an_undone_skip_is_not_one(db, run_id):
    db.record_decision(run_id, 0, "skip", None, "ann")
    db.record_decision(run_id, 4, "skip", None, "ann")
    db.record_decision(run_id, 3, "skip", None, "bob")
    assert db.skipped_rows(run_id, "ann") == {0, 4}
    assert db.skipped_rows(run_id, " bob ") == {3}
    assert db.skipped_rows(run_id, "Ann") == {0, 4}  # one person however the name is typed
    db.undo_last_decision(run_id, "ANN ")
    assert db.skipped_rows(run_id, "ann") == {0}
    assert db.skipped_rows(run_id, "carol") == set()


def test_decisions_and_undos_are_appended_never_overwritten(db, run_id, classified):
    frame, _ = classified
    strategy = frame["strategy_id"].iloc[0]
    first = db.record_decision(run_id, 0, "reassign", "strong-team", "ann", note="hiring")
    second = db.record_decision(run_id, 0, "confirm", None, "bob")
    db.record_decision(run_id, 1, "misaligned", None, "ann")
    db.record_decision(run_id, 3, "skip", None, "ann")
    undo = db.undo_last_decision(run_id, "ann")
    assert (undo.action, undo.undoes, undo.row) == ("undo", 4, 3)
    undo = db.undo_last_decision(run_id, "ann")
    assert (undo.action, undo.undoes, undo.row) == ("undo", 3, 1)

    trail = db.decisions(run_id)
    assert trail["id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert trail["action"].tolist() == ["reassign", "confirm", "misaligned", "skip",
                                        "undo", "undo"]
    assert trail["undone"].tolist() == [False, False, True, True, False, False]
    assert trail["note"].iloc[0] == "hiring"
    assert trail["text"].iloc[0] == TASKS["task"].iloc[0]
    assert trail["machine_strategy_id"].iloc[0] == strategy
    assert trail["machine_status"].iloc[0] == frame["status"].iloc[0]
    assert str(trail["decided_at"].dt.tz) == "UTC"

    standing = db.current_decisions(run_id)
    assert list(standing) == [0]
    assert standing[0] == second and standing[0].strategy_id == strategy
    assert first.strategy_id == "strong-team"
    # Ann's first decision was replaced by Bob's since: its undo would change nothing shown.
    from classifier.store import Replaced

    assert db.undo_last_decision(run_id, "ann") == Replaced(mine=first, by=second)
    assert len(db.decisions(run_id)) == 6
    assert db.current_decisions(run_id)[0].id == second.id


def test_undo_of_a_decision_replaced_since_by_another_appends_nothing_and_says_whose(db,
                                                                                    run_id):
    from classifier.store import Replaced

    mine = db.record_decision(run_id, 1, "misaligned", None, "ann")
    theirs = db.record_decision(run_id, 1, "reassign", "strong-team", "bob")
    assert db.undo_last_decision(run_id, "Ann") == Replaced(mine=mine, by=theirs)
    assert db.decisions(run_id)["id"].tolist() == [mine.id, theirs.id]
    # Bob's undo brings Ann's decision back (as his page said it would); hers is hers to undo.
    db.undo_last_decision(run_id, "bob")
    assert db.standing_decision(run_id, 1) == mine
    assert db.undo_last_decision(run_id, "ann").undoes == mine.id
    assert db.standing_decision(run_id, 1) is None


def test_confirm_takes_the_machines_best_strategy(db, sample_plan):
    frame = synthetic_results(3, sample_plan)
    frame.loc[1, "status"] = "misaligned"
    frame.loc[2, ["status", "strategy_id"]] = ["empty", ""]
    run = db.create_run(db.save_plan(sample_plan), frame, "task", "x", "m", _thresholds())
    for row in (0, 1):
        confirmed = db.record_decision(run, row, "confirm", None, "ann")
        assert (confirmed.strategy_id, confirmed.final_status) == (frame["strategy_id"][row],
                                                                   "aligned")
    orphan = db.record_decision(run, 1, "misaligned", None, "ann")
    assert (orphan.strategy_id, orphan.final_status) == (None, "misaligned")
    # A blank row is no task: nothing about it can be decided, whatever a file says.
    for action, strategy_id in (("confirm", None), ("reassign", frame["strategy_id"][0]),
                                ("misaligned", None)):
        with pytest.raises(StoreError, match="row 2: a blank row, not a task"):
            db.record_decision(run, 2, action, strategy_id, "ann")


def test_results_with_decisions_show_the_final_answer(db, run_id, classified):
    frame, _ = classified
    db.record_decision(run_id, 1, "reassign", "strong-team", "ann")
    db.record_decision(run_id, 4, "misaligned", None, "bob")
    final = db.results_with_decisions(run_id)
    assert final["final_strategy_id"].tolist()[1] == "strong-team"
    assert final["final_strategy"].tolist()[1] == "Build a strong team"
    assert final["final_status"].tolist() == [frame["status"][0], "aligned", "empty",
                                              frame["status"][3], "misaligned"]
    assert final["final_strategy_id"][4] is None
    assert final["decided_by"].tolist() == [None, "ann", None, None, "bob"]
    assert final["decided_at"].notna().tolist() == [False, True, False, False, True]
    assert final["final_strategy_id"][0] == frame["strategy_id"][0]


@pytest.mark.parametrize("run, row, action, strategy, reviewer, message", [
    (999, 0, "confirm", None, "ann", "no run with id 999"),
    (None, 5, "confirm", None, "ann", "row 5 out of range"),
    (None, -1, "confirm", None, "ann", "row -1 out of range"),
    (None, "2", "confirm", None, "ann", "row must be a whole number"),
    (None, 0, "reassign", "world-peace", "ann", "'world-peace' is not in the run's plan"),
    (None, 0, "reassign", None, "ann", "reassign needs a strategy id"),
    (None, 0, "misaligned", "strong-team", "ann", "misaligned takes no strategy id"),
    (None, 0, "delete", None, "ann", "unknown action 'delete'"),
    (None, 0, "confirm", None, "  ", "a reviewer name is needed"),
])
def test_bad_decisions_are_refused_and_nothing_is_recorded(db, run_id, run, row, action,
                                                           strategy, reviewer, message):
    with pytest.raises(StoreError, match=message) as error:
        db.record_decision(run_id if run is None else run, row, action, strategy, reviewer)
    assert db.label in str(error.value)
    assert db.decisions().empty


def test_two_tabs_in_two_threads_lose_no_decision(store_target, sample_plan):
    path = store_target
    with Store(path) as setup:
        run = setup.create_run(setup.save_plan(sample_plan), synthetic_results(100, sample_plan),
                               "task", "x", "m", _thresholds())
    tabs = [Store(path), Store(path)]
    errors: list[BaseException] = []

    def review(store: Store, reviewer: str) -> None:
        try:
            for row in range(100):
                store.record_decision(run, row, "reassign", sample_plan.ids[row % 3], reviewer)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=review, args=(tab, name))
               for tab, name in zip(tabs, ["ann", "bob"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for tab in tabs:
        tab.close()
    assert errors == []
    with Store(path) as reopened:
        trail = reopened.decisions(run)
        assert len(trail) == 200 and trail["id"].is_unique
        assert trail.groupby("reviewer")["row"].apply(sorted).to_dict() == {
            "ann": list(range(100)), "bob": list(range(100))}
        assert sorted(reopened.current_decisions(run)) == list(range(100))


def test_a_reopened_store_sees_every_decision(store_target, sample_plan):
    path = store_target
    with Store(path) as store:
        run = store.create_run(store.save_plan(sample_plan), synthetic_results(5, sample_plan),
                               "task", "x", "m", _thresholds())
        made = [store.record_decision(run, row, "confirm", None, "ann") for row in range(5)]
        store.undo_last_decision(run, "ann")
    with Store(path) as store:
        trail = store.decisions(run)
        assert trail["id"].tolist()[:5] == [d.id for d in made]
        assert len(trail) == 6
        assert sorted(store.current_decisions(run)) == [0, 1, 2, 3]


# ------------------------------------------------------------------ learning, cache, usage

def test_learned_examples_come_from_standing_decisions_and_hiding_is_recorded(db, sample_plan):
    version = db.save_plan(sample_plan)
    first = db.create_run(version, synthetic_results(3, sample_plan), "task", "a", "m",
                          _thresholds())
    second = db.create_run(version, synthetic_results(2, sample_plan), "task", "b", "m",
                           _thresholds())
    db.record_decision(first, 0, "reassign", "strong-team", "ann")
    gone = db.record_decision(first, 1, "confirm", None, "ann")
    db.undo_last_decision(first, "ann")
    db.record_decision(first, 2, "skip", None, "ann")
    orphan = db.record_decision(second, 1, "misaligned", None, "bob")
    examples = db.learned_examples()
    assert examples["text"].tolist() == ["task number 0", "task number 1"]
    assert examples["strategy_id"].tolist() == ["strong-team", None]
    assert examples["run_id"].tolist() == [first, second]
    assert gone.id not in examples["decision_id"].tolist()

    db.remove_learned_example(orphan.id, "carol", note="wrong")
    assert db.learned_examples()["removed"].tolist() == [False, True]
    db.restore_learned_example(orphan.id, "carol")
    assert db.learned_examples()["removed"].tolist() == [False, False]
    assert db.example_flags()["action"].tolist() == ["remove", "restore"]
    with pytest.raises(StoreError, match="no decision with id 999"):
        db.remove_learned_example(999, "carol")
    assert db.learned_examples("nobody").empty


def test_a_strategy_dropped_says_how_many_decisions_stop_counting(db, sample_plan):
    """The Plan page asks before dropping a strategy: with how many of people's decisions
    chose it (the latest on each task, undone ones aside), as they stop counting."""
    from classifier.standing import dropped_with_decisions

    version = db.save_plan(sample_plan)
    run = db.create_run(version, synthetic_results(5, sample_plan), "task", "a", "m",
                        _thresholds())
    db.record_decision(run, 0, "reassign", "strong-team", "ann")
    db.record_decision(run, 1, "reassign", "strong-team", "ann")
    db.record_decision(run, 2, "reassign", "strong-team", "bob")
    db.undo_last_decision(run, "bob")
    db.record_decision(run, 3, "reassign", "strong-team", "ann")
    db.record_decision(run, 3, "misaligned", None, "ann")  # changed her mind
    db.record_decision(run, 4, "reassign", "lower-costs", "ann")
    kept = [s for s in sample_plan.strategies if s.id not in ("strong-team", "brand-awareness")]
    smaller = sample_plan.model_copy(update={"strategies": kept})

    dropped = dropped_with_decisions(sample_plan, smaller,
                                     db.standing_by_text(plan=sample_plan))

    assert dropped == [("Build a strong team", 2), ("Build brand awareness in the Tri-City area", 0)]


def test_cache_and_usage(db):
    assert db.cache_get("llm", "model|prompt") is None
    db.cache_put("llm", "model|prompt", {"strategy_id": "x", "rationale": "é"})
    db.cache_put("llm", "model|prompt", {"strategy_id": "y"})
    assert db.cache_get("llm", "model|prompt") == {"strategy_id": "y"}
    assert db.cache_get("other", "model|prompt") is None
    assert db.usage_total("llm") == {"calls": 0, "tokens_in": 0, "tokens_out": 0}
    db.usage_add("llm", 100, 20)
    db.usage_add("llm", 50, 5)
    db.usage_add("judge", 1, 1)
    assert db.usage_total("llm") == {"calls": 2, "tokens_in": 150, "tokens_out": 25}
    assert db.usage_total() == {"calls": 3, "tokens_in": 151, "tokens_out": 26}


def _thresholds():
    from classifier.model.decision import DEFAULT_THRESHOLDS

    return DEFAULT_THRESHOLDS


def test_in_memory_store_works_for_quick_scripts(sample_plan):
    with Store(":memory:") as store:
        run = store.create_run(store.save_plan(sample_plan), synthetic_results(2, sample_plan),
                               "task", "x", "m", _thresholds())
        store.record_decision(run, 0, "confirm", None, "ann")
        assert len(store.decisions(run)) == 1


def test_missing_db_env_never_read_at_import(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TACTICS_DB", raising=False)
    with Store() as store:
        assert store.path == Path("tactics.db")
    assert (tmp_path / "tactics.db").exists()


def test_a_store_that_cannot_be_written_is_said_to_be_read_only(tmp_path, monkeypatch):
    path = tmp_path / "shared.db"
    Store(path).close()
    # As on a read-only share (root ignores permission bits, so the answer is given here).
    monkeypatch.setattr("os.access", lambda target, mode: Path(target) != path.parent)
    with pytest.raises(StoreError, match=f"{path}: the store is read-only here"):
        Store(path)


# ------------------------------------------------------------------ one store, never another's

def test_another_applications_sqlite_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'Riverside Hardware')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a tactic-classifier store .*customers.*left "
                                         "unchanged"):
        Store(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.sqlite"]  # no -wal, no -shm
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["customers"]


def test_a_sqlite_url_is_checked_as_its_file_is(tmp_path):
    """`--db sqlite:///crm.sqlite` went past every check a path gets: another application's
    database was given the store's tables, and a folder was not named."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"{path}: not a tactic-classifier store .*customers"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == before
    with pytest.raises(StoreError, match="is a folder"):
        Store(f"sqlite:///{tmp_path}")
    with Store(f"sqlite:///{tmp_path / 'new.db'}") as store:
        assert store.path == tmp_path / "new.db" and store.migrations()


def test_a_sqlite_url_with_options_still_checks_its_file(tmp_path):
    """Options keep a sqlite:/// URL as given (`?timeout=5`, a `file:` URI), but its file is
    still another application's database: it was given the store's tables all the same."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    before = path.read_bytes()
    for url in (f"sqlite:///{path}?timeout=5", f"sqlite+pysqlite:///{path}?mode=ro",
                f"sqlite:///file:{path}?mode=rw&uri=true"):
        with pytest.raises(StoreError, match=f"{path}: not a tactic-classifier store"):
            Store(url)
        assert path.read_bytes() == before, url
    with Store(f"sqlite:///{tmp_path / 'new.db'}?timeout=5") as store:
        assert store.migrations()


def test_uri_true_on_a_name_that_is_no_file_uri_is_refused_not_a_new_store(tmp_path):
    """`sqlite:///team.db?mode=ro&uri=true` (SQLAlchemy's warning about `mode` asks for
    uri=true) opened a new, empty store in a file named 'team.db?mode=ro': the store file
    checked was team.db, and every command ran on the empty one."""
    path = tmp_path / "team.db"
    with Store(path) as store:
        assert store.migrations()
    url = f"sqlite:///{path}?mode=ro&uri=true"
    with pytest.raises(StoreError, match=r"uri=true .* only when it starts with file:"):
        Store(url)
    assert sorted(p.name for p in tmp_path.iterdir() if "?" in p.name) == []
    with Store(f"sqlite:///file:{path}?mode=ro&uri=true") as store:  # the form that works
        assert store.migrations()
    with Store(f"sqlite:///{path}?uri=true&timeout=5") as store:  # no URI option: that file
        assert store.migrations()


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "new.db"
    path.touch()
    with Store(path) as store:
        assert store.migrations()


def test_a_run_written_in_chunks_is_seen_only_when_finished(db, sample_plan):
    version = db.save_plan(sample_plan)
    frame = synthetic_results(5, sample_plan)
    columns = [c for c in frame.columns if c not in RESULT_COLUMNS]
    run = db.begin_run(version, columns, "task", "big.csv", "m", _thresholds())
    db.add_rows(run, 0, frame.iloc[:3])
    assert db.runs() == []  # not listed while it is being written
    db.add_rows(run, 3, frame.iloc[3:])
    db.finish_run(run, 5)
    [listed] = db.runs()
    assert listed.id == run and listed.rows == 5
    assert db.run_results(run)["task"].tolist() == frame["task"].tolist()


def test_a_run_a_killed_process_was_writing_is_removed_later(store_target, sample_plan):
    path = store_target
    script = (
        "import os, sys\n"
        "from classifier.store import Store\n"
        "from classifier.plan import load_plan\n"
        "from classifier.model.decision import DEFAULT_THRESHOLDS\n"
        f"store = Store({str(path)!r})\n"
        f"v = store.save_plan(load_plan({str(ROOT / 'data' / 'plan.yaml')!r}))\n"
        "store.begin_run(v, ['task'], 'task', 'x', 'm', DEFAULT_THRESHOLDS)\n"
        "os._exit(9)\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    with Store(path) as store:
        assert store.remove_abandoned_runs() == 1
        assert store.runs() == []


# ------------------------------------------------------------------ the person's word stands

def test_a_decision_stands_for_the_same_task_in_later_runs(db, sample_plan):
    version = db.save_plan(sample_plan)
    first = db.create_run(version, synthetic_results(4, sample_plan), "task", "week 1", "m",
                          _thresholds())
    db.record_decision(first, 1, "reassign", "strong-team", "ana")
    db.record_decision(first, 2, "misaligned", None, "ben")
    week2 = synthetic_results(5, sample_plan).iloc[[4, 2, 1, 0, 3]].reset_index(drop=True)
    second = db.create_run(version, week2, "task", "week 2", "m", _thresholds())

    carried = db.results_with_decisions(second).set_index("task")

    assert carried.loc["task number 1", "final_strategy_id"] == "strong-team"
    assert carried.loc["task number 1", "decided_by"] == "ana"
    assert carried.loc["task number 1", "decision_run"] == first
    assert carried.loc["task number 2", "final_status"] == "misaligned"
    assert carried.loc["task number 2", "decided_by"] == "ben"
    assert carried["decision"].notna().sum() == 2
    assert pd.isna(carried.loc["task number 4", "decided_by"])


def test_a_decision_carries_to_the_same_task_written_with_a_full_stop_or_other_case(
        db, sample_plan):
    version = db.save_plan(sample_plan)
    first = db.create_run(version, synthetic_results(2, sample_plan), "task", "week 1", "m",
                          _thresholds())
    db.record_decision(first, 1, "misaligned", None, "ana")
    week2 = synthetic_results(3, sample_plan).assign(
        task=["task number 0", "Task  Number 1.", "task number 2"])
    second = db.create_run(version, week2, "task", "week 2", "m", _thresholds())

    carried = db.results_with_decisions(second)

    assert carried["decided_by"].tolist() == [None, "ana", None]
    assert carried["final_status"].tolist()[1] == "misaligned"


def test_a_decision_whose_strategy_left_the_plan_returns_to_review_with_a_note(db, sample_plan):
    first = db.create_run(db.save_plan(sample_plan), synthetic_results(3, sample_plan), "task",
                          "week 1", "m", _thresholds())
    db.record_decision(first, 0, "reassign", "strong-team", "ana")
    smaller = sample_plan.model_copy(update={"strategies": [
        s for s in sample_plan.strategies if s.id != "strong-team"]})
    frame = synthetic_results(3, smaller).assign(status=["aligned", "aligned", "review"])
    second = db.create_run(db.save_plan(smaller), frame, "task", "week 2", "m", _thresholds())

    results = db.results_with_decisions(second)
    row = results.set_index("task").loc["task number 0"]

    # The machine calls it aligned now; the person's word no longer holds: doubt, not aligned.
    assert pd.isna(row["decision"]) and row["final_status"] == "review"
    assert row["final_strategy_id"] == frame["strategy_id"].iloc[0]
    assert ("ana had decided it serves “Build a strong team”, which the plan no longer has: "
            "decide again") == row["decision_note"]
    queue = review_queue(results)
    assert queue["row"].tolist() == [0, 2]  # in the Review page's queue, saying why
    assert queue["queue_reason"].iloc[0] == row["decision_note"]


# ------------------------------------------------------------------ vectors

def test_vectors_are_kept_exactly_per_model_and_text(db, embedder):
    texts = ["Call customers about renewals", "Order steel", "Call customers about renewals"]
    vectors = embedder.embed(texts)
    db.vectors_put("model-a", dict(zip(texts, vectors, strict=False)))
    db.vectors_put("model-a", {texts[0]: vectors[0]})  # known: left as it is
    found = db.vectors_get("model-a", texts + ["never seen"], embedder.dimension)
    assert set(found) == {texts[0], texts[1]}
    assert np.array_equal(found[texts[1]], vectors[1])
    assert db.vectors_get("model-b", texts, embedder.dimension) == {}
    assert db.vectors_count("model-a") == 2


def test_an_embedder_with_a_bank_embeds_only_what_it_has_never_seen(db):
    from classifier.model.embedding import Embedder, EmbedderSettings

    fresh = Embedder(EmbedderSettings(cache_size=0))
    texts = [f"Visit store number {n} with the new catalogue" for n in range(6)]
    first = fresh.embed(texts[:4], bank=db)
    assert db.vectors_count(fresh.fingerprint) == 4
    before = fresh.encoded
    again = fresh.embed(texts, bank=db)
    assert fresh.encoded - before == 2  # only the two new texts went through the model
    assert np.array_equal(again[:4], first)


def test_a_text_the_embedder_already_cached_is_still_kept_in_a_new_bank(db, embedder):
    texts = ["Renew the fleet insurance before March", "Pack the trade fair stand"]
    first = embedder.embed(texts)  # cached in this process, kept in no bank
    before = embedder.encoded
    again = embedder.embed(texts, bank=db)
    assert embedder.encoded == before  # from the cache, no model run
    assert np.array_equal(again, first)
    kept = db.vectors_get(embedder.fingerprint, texts, embedder.dimension)
    assert set(kept) == set(texts) and np.array_equal(kept[texts[1]], first[1])


def db_target(store: Store) -> str:
    """The target a test's store was opened on (its password included, for a plain engine)."""
    return str(store.path) if store.path is not None else \
        store._engine.url.render_as_string(hide_password=False)


# ------------------------------------------------------------------ upgrades and back ends

@pytest.mark.parametrize("upto", [6, 3])
def test_a_store_made_before_alembic_is_adopted_with_its_data(store_target, upto):
    from legacy_store import make_legacy_store

    make_legacy_store(store_target, upto=upto)
    with Store(store_target) as store:
        assert [n for n, _ in store.migrations()] == [n for n, _ in revisions()]
        if upto < 6:
            return
        [run] = store.runs()
        assert (run.source, run.rows, run.columns) == ("old.csv", 2, ["task", "effort"])
        assert run.created_at == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
        frame = store.run_results(run.id)
        assert frame["task"].tolist() == ["Call buyers", "Fix the coffee"]
        assert frame["effort"].tolist() == [1.0, "5"]  # a number stays a number, text text
        assert frame["candidates"].iloc[0][0]["strategy_id"] == "a"
        trail = store.decisions(run.id)
        assert trail["action"].tolist() == ["confirm", "undo", "reassign"]
        assert trail["undone"].tolist() == [True, False, False]
        assert str(trail["decided_at"].dt.tz) == "UTC"
        assert store.current_decisions(run.id)[0].strategy_id == "b"
        assert store.learned_examples()["removed"].tolist() == [True]
        assert store.cache_get("llm", "k") == {"strategy_id": "a"}
        # ...and it goes on working: a new decision after the upgrade
        made = store.record_decision(run.id, 1, "misaligned", None, "bob")
        assert store.standing_decision(run.id, 1) == made


def _store_at_revision_0007(postgres_db: str) -> None:
    """A PostgreSQL store as an older version (revision 0007) made it."""
    from alembic import command

    from classifier.store.schema import alembic_config

    engine = engine_for(postgres_db)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    engine.dispose()


def test_a_store_its_user_may_not_upgrade_is_one_line_and_left_as_it_was(postgres_db,
                                                                          sample_plan):
    """A team's app logs in as a user with rights on the rows only; a new version's upgrade
    said "permission denied for schema public LINE 2: CREATE TABLE teach_in_choices (", not
    that the store was not upgraded, nor what to do."""
    _store_at_revision_0007(postgres_db)
    app_user = f"app_{sa.make_url(postgres_db).database}"
    sql(postgres_db, f"CREATE ROLE {app_user} LOGIN PASSWORD 'app-pw'; "
                     f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                     f"TO {app_user}")
    as_app = sa.make_url(postgres_db).set(username=app_user, password="app-pw")
    try:
        with pytest.raises(StoreError) as refused:
            Store(as_app.render_as_string(hide_password=False))
        message = str(refused.value)
        assert "\n" not in message and "app-pw" not in message
        assert ("cannot upgrade the store from schema revision 0007 to "
                f"{revisions()[-1][0]:04d} (permission denied for schema public); it was left "
                "as it was" in message)
        assert "open it once as its owner" in message
        assert sql(postgres_db, "SELECT version_num FROM alembic_version") == [("0007",)]
        assert ("teach_in_choices",) not in sql(
            postgres_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        with Store(postgres_db) as store:  # its owner upgrades it
            assert [n for n, _ in store.migrations()] == [n for n, _ in revisions()]
    finally:
        sql(postgres_db, f"DROP OWNED BY {app_user}; DROP ROLE {app_user}")


def test_a_row_only_login_after_its_owner_upgraded_is_told_the_right_it_lacks(postgres_db,
                                                                              sample_plan):
    """A login with rights on the rows of the tables there were has none on the tables an
    upgrade added: it read "permission denied for table teach_in_choices", not what to ask
    for, nor of whom."""
    _store_at_revision_0007(postgres_db)
    app_user = f"rows_{sa.make_url(postgres_db).database}"
    sql(postgres_db, f"CREATE ROLE {app_user} LOGIN PASSWORD 'app-pw'; "
                     f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                     f"TO {app_user}; "
                     f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_user}")
    as_app = sa.make_url(postgres_db).set(username=app_user, password="app-pw")
    try:
        with Store(postgres_db) as store:  # its owner upgrades it
            version = store.save_plan(sample_plan)
        with Store(as_app.render_as_string(hide_password=False)) as store:
            with pytest.raises(StoreError) as refused:
                store.teach_in_skipped(version, "ana")
        message = str(refused.value)
        assert "\n" not in message and "app-pw" not in message
        assert "no rights on the table teach_in_choices" in message
        assert "ask its owner to run GRANT" in message
        sql(postgres_db, message.split("ask its owner to run ", 1)[1])  # what it says works
        with Store(as_app.render_as_string(hide_password=False)) as store:
            assert not store.teach_in_skipped(version, "ana")
    finally:
        sql(postgres_db, f"DROP OWNED BY {app_user}; DROP ROLE {app_user}")


def test_a_store_made_beside_another_applications_tables_says_so_once(postgres_db):
    """Another application's database got our tables beside its own without a word: the
    command that makes the store says it in one line, with how to keep them apart."""
    from typer.testing import CliRunner

    from classifier.cli import app

    sql(postgres_db, "CREATE TABLE customers (id integer PRIMARY KEY, name text)")
    made = CliRunner().invoke(app, ["runs", "--db", postgres_db])
    assert made.exit_code == 0, made.output
    [line] = [text for text in made.stderr.splitlines() if text.startswith("warning: ")]
    assert "the store's tables were made beside 1 other table in schema public (customers)" in line
    assert "?options=-csearch_path%3Dtactics" in line
    again = CliRunner().invoke(app, ["runs", "--db", postgres_db])  # said once, when it was made
    assert again.exit_code == 0 and "warning" not in again.stderr
    assert sql(postgres_db, "SELECT count(*) FROM customers") == [(0,)]


def test_a_schema_in_the_url_keeps_the_store_apart_from_other_tables(postgres_db, sample_plan):
    """A team sharing a database on purpose gives the store a schema of its own in the URL."""
    sql(postgres_db, "CREATE TABLE customers (id integer PRIMARY KEY); CREATE TABLE runs (x int); "
                     "CREATE SCHEMA tactics_store")
    url = f"{postgres_db}?options=-csearch_path%3Dtactics_store"
    with Store(url) as store:
        assert store.notice is None
        version = store.save_plan(sample_plan)
    with Store(url) as store:
        assert store.plan(version).ids == sample_plan.ids
    assert sql(postgres_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                            "ORDER BY 1") == [("customers",), ("runs",)]
    assert ("alembic_version",) in sql(postgres_db, "SELECT tablename FROM pg_tables WHERE "
                                                    "schemaname = 'tactics_store'")
    with pytest.raises(StoreError, match=r"no schema of its search_path exists .*CREATE SCHEMA"):
        Store(f"{postgres_db}?options=-csearch_path%3Dtactics_stor")  # a typo


def test_postgresql_keeps_times_and_json_in_native_types(postgres_db, sample_plan):
    with Store(postgres_db) as store:
        store.create_run(store.save_plan(sample_plan), synthetic_results(2, sample_plan),
                         "task", "x", "m", _thresholds())
    types = dict(sql(postgres_db, "SELECT table_name || '.' || column_name, data_type "
                                  "FROM information_schema.columns WHERE table_schema = 'public'"))
    for column in ("plans.created_at", "runs.created_at", "runs.set_aside_at", "decisions.decided_at",
                   "example_flags.at", "cache.created_at", "usage.at", "migrations.applied_at"):
        assert types[column] == "timestamp with time zone", column
    for column in ("plans.content", "runs.thresholds", "runs.columns", "results.input",
                   "results.candidates", "cache.value"):
        assert types[column] == "jsonb", column
    # JSON the server can query: the stored input row is an array, the plan an object
    assert sql(postgres_db, "SELECT jsonb_typeof(input) FROM results LIMIT 1") == [("array",)]
    assert sql(postgres_db, "SELECT content->>'vision' FROM plans") == [(sample_plan.vision,)]


def test_the_store_names_its_back_end_without_a_password(store_target):
    with Store(store_target) as store:
        if "://" in store_target:
            password = sa.make_url(store_target).password
            assert store.dialect == "postgresql" and password
            assert password not in store.label and password not in repr(store)
            assert store.label.startswith("postgresql+psycopg://tactics:***@127.0.0.1:")
        else:
            assert store.dialect == "sqlite" and store.label == store_target


def test_a_store_with_a_display_label_says_nothing_of_where_its_server_is(postgres_db, caplog):
    """A team app's store (state.TEAM_STORE): the server's refusals named its host, port, user
    and database; they are in the log only."""
    url = sa.make_url(postgres_db)
    for wrong, said in [(url.set(database="t_nowhere"), 'database "***" does not exist'),
                        (url.set(password="wrong"),
                         'password authentication failed for user "***"')]:
        with pytest.raises(StoreError) as refused:
            Store(wrong.render_as_string(hide_password=False), shown_as="the team's store")
        message = str(refused.value)
        assert message.startswith("the team's store: ") and said in message
        for detail in ("127.0.0.1", str(url.port), "tactics", "t_nowhere", "wrong"):
            assert detail not in message
        assert f"{wrong.render_as_string()}: " in caplog.text  # password still hidden there
        assert "wrong" not in caplog.text


def test_a_display_label_hides_an_address_whose_port_is_one_of_its_numbers():
    # Port 1 (or a user or database "1") hid one digit and left "127.0.0.***" on the page.
    with pytest.raises(StoreError) as refused:
        Store("postgresql://bob:pw@localhost:1/team_db", shown_as="the team's store")
    message = str(refused.value)
    assert message.startswith("the team's store: ") and 'at "***", port ***' in message
    assert "127.0.0" not in message and "team_db" not in message


def test_a_plain_postgresql_url_uses_psycopg(postgres_db):
    plain = postgres_db.replace("postgresql+psycopg://", "postgresql://")
    with Store(plain) as store:
        assert store._engine.url.drivername == "postgresql+psycopg"
        assert store.migrations()


# ------------------------------------------------------------------ who may decide

def test_a_viewer_is_refused_at_the_write_and_nothing_is_recorded(db, sample_plan):
    run = db.create_run(db.save_plan(sample_plan), synthetic_results(3, sample_plan), "task",
                        "x", "m", _thresholds())
    alice = Reviewer("alice@example.com", may_decide=True, subject="https://idp sub-a")
    bob = Reviewer("bob@example.com", may_decide=False, subject="https://idp sub-b")
    made = db.record_decision(run, 0, "confirm", None, alice)
    assert (made.reviewer, made.reviewer_subject) == ("alice@example.com", "https://idp sub-a")
    for attempt in (lambda: db.record_decision(run, 1, "misaligned", None, bob),
                    lambda: db.record_decision(run, 1, "skip", None, bob),
                    lambda: db.undo_last_decision(run, bob),
                    lambda: db.remove_learned_example(made.id, bob),
                    lambda: db.restore_learned_example(made.id, bob)):
        with pytest.raises(AccessError, match="bob@example.com may view, not"):
            attempt()
    trail = db.decisions(run)
    assert trail["reviewer"].tolist() == ["alice@example.com"]
    assert trail["reviewer_subject"].tolist() == ["https://idp sub-a"]
    assert db.example_flags().empty


def test_a_skipped_teach_in_is_each_reviewers_latest_choice(store_target, sample_plan):
    alice = Reviewer("alice@example.com", may_decide=True)
    with Store(store_target) as store:
        version = store.save_plan(sample_plan)
        assert not store.teach_in_skipped(version, alice)
        store.choose_teach_in(version, alice, "skip")
    with Store(store_target) as store:  # another session, another process: still skipped
        assert store.teach_in_skipped(version, alice)
        assert store.teach_in_skipped(version, "Alice@Example.com")  # one person, any case
        assert not store.teach_in_skipped(version, "ben")  # ben has not chosen
        assert not store.teach_in_skipped(version, alice, plan_name="other plan")
        edited = sample_plan.model_copy(update={"vision": "Widgets for the whole state"})
        assert store.teach_in_skipped(store.save_plan(edited), alice)  # an edit keeps it
        replaced = store.save_plan(Plan(strategies=[Strategy(id="young-readers",
                                                             name="Grow young readers")]))
        assert not store.teach_in_skipped(replaced, alice)  # a new plan gets its own round
        store.choose_teach_in(version, alice, "resume")
        assert not store.teach_in_skipped(version, alice)
        with pytest.raises(AccessError, match="bob may view, not skip the teach-in"):
            store.choose_teach_in(version, Reviewer("bob", may_decide=False), "skip")
        with pytest.raises(StoreError, match="unknown teach-in choice 'maybe'"):
            store.choose_teach_in(version, alice, "maybe")
        with pytest.raises(StoreError, match="no plan version with id 999"):
            store.choose_teach_in(999, alice, "skip")
        assert not store.teach_in_skipped(version, "bob")


# ------------------------------------------------------------------ two processes, one store

DECISIONS_EACH = 500


def _decide_many(target: str, run: int, reviewer: str, start, results) -> None:
    """One process: DECISIONS_EACH decisions, each its own transaction that reads the task
    (and its plan) then appends, as the Review page does."""
    from classifier.store import Store

    with Store(target) as store:
        start.wait()
        began = time.perf_counter()
        for row in range(DECISIONS_EACH):
            store.record_decision(run, row, "reassign" if row % 2 else "confirm",
                                  "strong-team" if row % 2 else None, reviewer)
        results.put((reviewer, time.perf_counter() - began))


def _result_of_live(workers, results, limit: float = 600.0):
    """The next worker's result; fails at once when a worker died without one (no 600 s hang)."""
    waited = 0.0
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            waited += 1
            dead = [(w.name, w.exitcode) for w in workers if w.exitcode not in (None, 0)]
            if dead or waited >= limit:
                pytest.fail(f"a worker ended without a result: {dead or 'none in time'}")


@pytest.mark.slow
def test_two_processes_deciding_500_tasks_each_at_once_lose_nothing(store_target, sample_plan,
                                                                   monkeypatch):
    with Store(store_target) as setup:
        run = setup.create_run(setup.save_plan(sample_plan),
                               synthetic_results(DECISIONS_EACH, sample_plan), "task", "x", "m",
                               _thresholds())
    # Streamlit's AppTest (run earlier in this worker) leaves app.py as __main__, and a spawned
    # child would run it again before its target; a bare __main__ gives the children nothing to run.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    context = multiprocessing.get_context("spawn")  # nothing inherited: two separate programs
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_decide_many,
                               args=(store_target, run, name, start, results))
               for name in ("ann", "bob")]
    for worker in workers:
        worker.start()
    time.sleep(3)  # both import and open the store first, then start together
    began = time.perf_counter()
    start.set()
    spent = dict(_result_of_live(workers, results) for _ in workers)
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with Store(store_target) as store:
        trail = store.decisions(run)
        standing = store.current_decisions(run)
        back_end = store.dialect
    assert len(trail) == 2 * DECISIONS_EACH and trail["id"].is_unique
    assert trail.groupby("reviewer")["row"].apply(sorted).to_dict() == {
        "ann": list(range(DECISIONS_EACH)), "bob": list(range(DECISIONS_EACH))}
    assert sorted(standing) == list(range(DECISIONS_EACH))
    print(f"\n{back_end}: 2 processes x {DECISIONS_EACH} decisions in {wall:.2f} s "
          f"({2 * DECISIONS_EACH / wall:.0f} decisions/s; ann {spent['ann']:.2f} s, "
          f"bob {spent['bob']:.2f} s); nothing lost")


def test_tactics_runs_on_a_database_url_never_prints_its_password(postgres_db, sample_plan):
    from typer.testing import CliRunner

    from classifier.cli import app

    password = sa.engine.make_url(postgres_db).password
    assert password
    empty = CliRunner().invoke(app, ["runs", "--db", postgres_db])
    with Store(postgres_db) as store:
        store.create_run(store.save_plan(sample_plan), synthetic_results(2, sample_plan),
                         "task", "x", "m", _thresholds())
        store.set_aside(1, "ana")
    aside = CliRunner().invoke(app, ["runs", "--db", postgres_db])
    for done in (empty, aside):
        assert done.exit_code == 0, done.output
        assert password not in done.output
    assert "no run of plan 'default' in postgresql+psycopg://" in empty.stderr
    assert "set aside (not listed" in aside.stderr


def test_a_decision_stands_for_its_task_under_edits_of_its_plan_not_a_plan_that_replaced_it(
        db, sample_plan):
    first = db.create_run(db.save_plan(sample_plan), synthetic_results(3, sample_plan), "task",
                          "week1.csv", "m", _thresholds())
    db.record_decision(first, 0, "misaligned", None, "ann")
    edited = sample_plan.model_copy(update={"vision": "Widgets, reworded"})
    later = db.create_run(db.save_plan(edited), synthetic_results(3, edited), "task",
                          "week2.csv", "m", _thresholds())
    assert db.results_with_decisions(later)["decided_by"].tolist()[0] == "ann"
    other = Plan(vision="A library every resident uses", strategies=[
        Strategy(id="young-readers", name="Grow young readers")])
    replaced = db.create_run(db.save_plan(other), synthetic_results(3, other), "task",
                             "week3.csv", "m", _thresholds())
    # "Serves none of the widget plan" says nothing about the library's.
    assert db.results_with_decisions(replaced)["decided_by"].isna().all()
    assert "task number 0" not in db.standing_by_text(plan=other)
