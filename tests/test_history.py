"""Learning a team's wording from the plan's earlier runs: prototypes move toward the earlier
tasks each strategy clearly wins; the store keeps which runs taught a run; pages and the CLI
say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from classifier.files.readers import read_tasks
from classifier.model.decision import labels_from_column
from classifier.model.engine import Classifier
from classifier.model.history import (
    MIN_TASKS,
    Earlier,
    EarlierUse,
    adapt_prototypes,
    describe_earlier,
    rerun_note,
)
from classifier.plan import Plan, Strategy
from classifier.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"
AXES = np.eye(4)


def _tasks(direction: np.ndarray, count: int) -> np.ndarray:
    return np.tile(direction / np.linalg.norm(direction), (count, 1))


def test_a_prototype_moves_toward_the_tasks_it_clearly_wins():
    prototypes = AXES[:2]
    # Tasks written in the team's words: near strategy 0, with a part (axis 2) its name lacks.
    moved, taught = adapt_prototypes(prototypes, _tasks(AXES[0] + AXES[2], MIN_TASKS))
    assert taught == MIN_TASKS
    assert moved[0] @ AXES[2] > 0.3  # strategy 0 now recognises that wording
    np.testing.assert_allclose(moved[1], AXES[1])  # strategy 1 won nothing and stays


@pytest.mark.parametrize("tasks", [
    _tasks(AXES[0] + AXES[1] + AXES[2], MIN_TASKS),  # between two strategies: teaches neither
    _tasks(AXES[0] + AXES[2], MIN_TASKS - 1),  # too few earlier tasks to say anything
])
def test_ties_and_too_few_tasks_teach_nothing(tasks):
    moved, taught = adapt_prototypes(AXES[:2], tasks)
    assert taught == 0
    np.testing.assert_allclose(moved, AXES[:2])


def test_the_sentences_say_what_was_learned_and_what_a_rerun_would_add():
    used = EarlierUse(runs=(1, 2), tasks=150, taught=120)
    assert describe_earlier(used) == ("Learned the team's wording from 150 tasks of earlier "
                                      "runs #1, #2 (120 leaned clearly to one strategy)")
    assert describe_earlier(None) == ""
    # Ten tasks of a first paste (fewer than history needs) teach nothing: no claim that they did.
    assert describe_earlier(EarlierUse(runs=(2,), tasks=10, taught=0)) == ""
    # A re-run would change answers only if it would learn from tasks the run did not see.
    texts = tuple(f"task {i}" for i in range(MIN_TASKS))
    seen = Earlier(texts, (1, 2))
    assert rerun_note(seen, Earlier(texts[::-1], (1, 3))) == ""  # run 3 re-ran run 2's tasks
    assert rerun_note(seen, Earlier(texts + ("new",), (1, 2, 3))) == (
        "A re-run would also learn the team's wording from 1 more task of this plan's runs, so "
        "some answers may change.")
    assert f"from {MIN_TASKS} more tasks" in rerun_note(Earlier(), seen)
    # Too few tasks in all to learn from (a first paste of ten): a re-run changes nothing.
    assert rerun_note(Earlier(), Earlier(texts[:MIN_TASKS - 1], (1,))) == ""
    assert rerun_note(Earlier(), seen, strategies=1) == ""  # nothing leans to one of one
    # A plan's first run: what a re-run would learn from is the run's own tasks, unreviewed.
    own = rerun_note(Earlier(), Earlier(texts, (7,)), run_id=7)
    assert own.startswith(f"A re-run would learn the team's wording from this run's own "
                          f"{len(texts)} tasks, as the machine reads them")


def _top1(classifier: Classifier, frame: pd.DataFrame) -> float:
    gold = labels_from_column(frame["label"].tolist())
    found = [r.strategy_id for r in classifier.classify(frame["task"].tolist())]
    pairs = [(f, g) for f, g in zip(found, gold, strict=True) if g is not None]
    return sum(f == g for f, g in pairs) / len(pairs)


def test_an_earlier_week_of_tasks_gives_better_answers_on_the_next(sample_plan, embedder):
    labeled, _ = read_tasks(DATA / "labeled.csv")
    earlier, column = read_tasks(DATA / "tasks.csv")  # another week, no task in common
    # A new user's plan: names and descriptions, no examples (with its examples the sample
    # plan answers one task of 77 worse after this week: examples already carry its wording).
    new_plan = Plan(strategies=[s.model_copy(update={"examples": []})
                                for s in sample_plan.strategies])
    plain = Classifier(new_plan, embedder)
    taught = Classifier(new_plan, embedder, earlier=Earlier(tuple(earlier[column]), (1,)))
    assert taught.earlier_use.taught > len(earlier) // 2
    assert _top1(taught, labeled) > _top1(plain, labeled)
    # Without earlier tasks, nothing changes.
    same = Classifier(new_plan, embedder, earlier=Earlier())
    np.testing.assert_array_equal(same.index.prototypes, plain.index.prototypes)


def test_the_store_gives_earlier_tasks_and_keeps_what_a_run_learned(store_target, sample_plan,
                                                                     classifier):
    frame = classifier.classify_frame(pd.DataFrame({"task": ["Call lapsed buyers", "  ", "x",
                                                             "Call lapsed buyers"]}), "task")
    with Store(store_target) as store:
        version = store.save_plan(sample_plan)
        first = store.create_run(version, frame, "task", "a.csv", "m", classifier.thresholds)
        again = frame.assign(task=["Pitch to dealers", "x", None, "Fix the lathe"])
        second = store.create_run(version, again, "task", "b.csv", "m", classifier.thresholds,
                                  earlier=EarlierUse((first,), 2, 1))
        # Distinct (a text counts with the newest run that has it), non-blank, oldest run
        # first; a run records what it learned from.
        assert store.earlier_tasks(plan=sample_plan) == Earlier(
            ("Call lapsed buyers", "Pitch to dealers", "x", "Fix the lathe"), (first, second))
        assert store.earlier_tasks(most=2).texts == ("Pitch to dealers", "x")
        assert store.earlier_tasks(runs=[first]).runs == (first,)
        assert store.run(second).earlier == EarlierUse((first,), 2, 1)
        assert store.run(first).earlier is None
        # Work a run called misaligned teaches no strategy: recurring orphan work ("Order
        # toner" weekly) drifted to aligned, nobody deciding.
        chores = classifier.classify_frame(pd.DataFrame({"task": [
            "Order toner for the office printer", "Pitch to dealers"]}), "task")
        assert chores["status"].tolist()[0] == "misaligned"
        store.create_run(version, chores, "task", "c.csv", "m", classifier.thresholds)
        texts = store.earlier_tasks(plan=sample_plan).texts
        assert "Order toner for the office printer" not in texts and "Pitch to dealers" in texts
        # Nor does work a person said serves no strategy, whatever the machine called it
        # ("Clean up the shared marketing drive", in review, taught the strategy it leaned to).
        row = int(store.run_results(second)["row"].iloc[3])  # "Fix the lathe"
        store.record_decision(second, row, "misaligned", None, "ana")
        texts = store.earlier_tasks(plan=sample_plan).texts
        assert "Fix the lathe" not in texts and "Pitch to dealers" in texts
        assert "Fix the lathe" in store.earlier_tasks(runs=[second]).texts  # as it learned
        # A plan that replaced this one (no strategy in common) learns nothing from its runs.
        other = Plan(strategies=[Strategy(id="new", name="Something else")])
        assert not store.earlier_tasks(plan=other)


def test_the_second_classify_learns_from_the_first_and_says_so(tmp_path):
    from typer.testing import CliRunner

    from classifier.cli import app

    db, plan = str(tmp_path / "tactics.db"), str(DATA / "plan.yaml")

    def classify(*extra: str):
        result = CliRunner().invoke(app, ["classify", str(DATA / "tasks.csv"), "--plan", plan,
                                          "--out", str(tmp_path / "out.csv"), "--db", db, "-q",
                                          *extra])
        assert result.exit_code == 0, result.output
        return result.stderr

    assert "Learned" not in classify()  # the first run has nothing earlier to learn from
    said = classify()
    assert "Learned the team's wording from 91 tasks of earlier run #1 (" in said
    assert "Learned" not in classify("--no-history")
    with Store(db) as store:
        first, second, third = sorted(store.runs(), key=lambda run: run.id)
        assert second.earlier is not None and second.earlier.runs == (first.id,)
        assert first.earlier is None and third.earlier is None
