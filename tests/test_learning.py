"""Learning from review decisions: examples, negatives, removed examples, re-fitted thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from classifier.model.engine import Classifier
from classifier.model.learned import MIN_DECISIONS, Learned, counted
from classifier.model.learning import (
    build_classifier,
    fit_thresholds,
    with_review_band,
    youden_cut,
)
from classifier.plan import Thresholds, save_plan

MISFILED = "Update the employee handbook's parental leave policy"
PARAPHRASE = "Revise the handbook's parental leave rules"
NOT_OURS = "Post the cafeteria lunch menu on our social media channels"
NOT_OURS_AGAIN = "Share the weekly cafeteria menu on our social channels"


def _frame(rows: list[tuple[str, str | None, bool]]) -> pd.DataFrame:
    return pd.DataFrame({
        "text": [r[0] for r in rows],
        "strategy_id": pd.Series([r[1] for r in rows], dtype=object),
        "decision_id": range(1, len(rows) + 1), "run_id": 1, "reviewer": "ana",
        "decided_at": pd.date_range("2026-03-02", periods=len(rows), freq="min", tz="UTC"),
        "removed": [r[2] for r in rows],
    })


def test_reassigned_task_teaches_a_paraphrase(sample_plan, embedder, classifier):
    before = classifier.classify([PARAPHRASE])[0]
    assert (before.strategy_id, before.status) == ("recurring-revenue", "misaligned")
    learned = Learned.from_frame(_frame([(MISFILED, "strong-team", False)]))
    after = Classifier(sample_plan, embedder, learned=learned).classify([PARAPHRASE])[0]
    assert after.strategy_id == "strong-team"
    assert after.status in ("aligned", "review")
    assert after.evidence == MISFILED


def test_negative_example_pushes_similar_task_to_misaligned(sample_plan, embedder, classifier):
    assert classifier.classify([NOT_OURS_AGAIN])[0].status != "misaligned" or \
        classifier.classify([NOT_OURS])[0].status != "misaligned"
    learned = Learned.from_frame(_frame([(NOT_OURS, None, False)]))
    taught = Classifier(sample_plan, embedder, learned=learned)
    results = taught.classify([NOT_OURS, NOT_OURS_AGAIN, "Run a local radio ad campaign"])
    assert [r.status for r in results[:2]] == ["misaligned", "misaligned"]
    assert all(r.strategy_id in sample_plan.ids for r in results)
    assert results[2].strategy_id == "brand-awareness"  # unrelated work is left alone
    assert results[2].status != "misaligned"


def test_removed_examples_are_not_used(sample_plan, embedder):
    learned = Learned.from_frame(_frame([(MISFILED, "strong-team", True),
                                         (NOT_OURS, None, True)]))
    assert learned == Learned()
    taught = Classifier(sample_plan, embedder, learned=learned)
    assert PARAPHRASE not in taught.texts and MISFILED not in taught.texts


def test_latest_decision_on_a_text_wins_and_unknown_strategies_are_dropped(sample_plan):
    learned = Learned.from_frame(_frame([(MISFILED, "recurring-revenue", False),
                                         (MISFILED, "strong-team", False),
                                         ("Old work", "retired-strategy", False),
                                         ("  ", "strong-team", False)]))
    assert learned.examples == {"strong-team": [MISFILED], "retired-strategy": ["Old work"]}
    assert learned.for_plan(sample_plan).examples == {"strong-team": [MISFILED]}


def test_the_teach_in_counts_the_decisions_that_teach():
    # A removed example, a blank text and an earlier decision on a re-decided text teach
    # nothing: the teach-in's "over" check must not count them either.
    frame = _frame([(MISFILED, "recurring-revenue", False), ("  ", "strong-team", False),
                    (NOT_OURS, None, True), (MISFILED, "strong-team", False),
                    (PARAPHRASE, "strong-team", False)])
    rows = counted(frame)
    assert len(rows) == Learned.from_frame(frame).decisions == 2
    assert list(rows["decided_at"]) == list(frame["decided_at"].iloc[[3, 4]])


def test_a_plan_counts_only_what_teaches_it(sample_plan):
    frame = _frame([(MISFILED, "strong-team", False), ("Old work", "retired-strategy", False),
                    (NOT_OURS, None, False)])
    rows = counted(frame, sample_plan)
    assert list(rows["text"]) == [MISFILED, NOT_OURS]  # the retired strategy's example is out
    assert len(rows) == Learned.from_frame(frame).for_plan(sample_plan).decisions


@pytest.mark.parametrize("frame", [None, pd.DataFrame(columns=["text", "strategy_id", "removed"])])
def test_nothing_learned(frame):
    assert Learned.from_frame(frame) == Learned()


def _decisions(positives: int, negatives: int) -> Learned:
    themes = ["service plan renewal call", "dealer shelf display pitch", "late shipment review",
              "prototype test of new widget", "hiring interview for machinist"]
    ids = ["recurring-revenue", "retail-channel", "operational-excellence", "product-expansion",
           "strong-team"]
    texts = [f"{themes[i % 5]} number {i}" for i in range(positives)]
    labels: list[str | None] = [ids[i % 5] for i in range(positives)]
    texts += [f"water the office plants, round {i}" for i in range(negatives)]
    return Learned.from_labels(texts, labels + [None] * negatives)


@pytest.mark.parametrize("positives,negatives", [(MIN_DECISIONS - 4, 3), (MIN_DECISIONS, 0),
                                                 (0, MIN_DECISIONS), (2, MIN_DECISIONS)])
def test_thresholds_stay_until_enough_decisions_of_both_kinds(sample_plan, embedder,
                                                               positives, negatives):
    learned = _decisions(positives, negatives)
    assert fit_thresholds(sample_plan, embedder, learned, sample_plan.thresholds) is None
    taught = build_classifier(sample_plan, embedder, learned)
    untaught = Classifier(sample_plan, embedder, learned=learned)
    assert taught.thresholds == untaught.thresholds  # the plan's own cut-offs, not re-fitted
    assert taught.thresholds.fitted_on != f"{learned.decisions} review decisions"


def test_thresholds_refit_past_the_minimum(sample_plan, embedder):
    learned = _decisions(MIN_DECISIONS, 6)
    taught = build_classifier(sample_plan, embedder, learned)
    assert taught.thresholds.fitted_on == f"{MIN_DECISIONS + 6} review decisions"
    assert taught.thresholds.misaligned <= taught.thresholds.aligned
    fixed = Classifier(sample_plan, embedder, learned=learned, thresholds=taught.thresholds
                       .model_copy(update={"fitted_on": "by hand"}))
    assert fixed.thresholds.fitted_on == "by hand"  # explicit thresholds always win


def test_youden_cut_sits_between_the_kinds():
    best = np.array([0.1, 0.15, 0.2, 0.6, 0.7, 0.8])
    cut = youden_cut(best, np.array([True, True, True, False, False, False]))
    assert 0.2 < cut <= 0.6
    assert youden_cut(best, np.array([False, False, False, True, True, True])) is None


def test_the_doubt_about_the_misaligned_cut_goes_to_review():
    # Thirty decisions of a marketing team re-fitted both cut-offs to 0.3496: no review band,
    # and a task at 0.34 was "far from every strategy". Here the cuts from 0.33 to 0.39 tell
    # the kinds apart nearly as well as the best: above their middle, doubt, so review.
    best = np.r_[np.linspace(0.0, 0.40, 10), np.linspace(0.33, 0.9, 10)]
    none = np.arange(20) < 10
    fitted = Thresholds(aligned=0.25, misaligned=0.0, margin=0.03)
    banded = with_review_band(fitted, best, none)
    assert banded.misaligned == youden_cut(best, none)  # the measured cut, as before
    assert banded.aligned > banded.misaligned + 0.02
    assert with_review_band(fitted, best, ~none) == fitted  # no cut tells them apart


def test_load_learned_reads_the_store(tmp_path, sample_plan, classifier):
    from classifier.store import Store

    frame = pd.DataFrame({"task": [MISFILED, NOT_OURS, "Reduce scrap on the press"]})
    results = classifier.classify_frame(frame, "task")
    with Store(tmp_path / "tactics.db") as store:
        version = store.save_plan(sample_plan)
        run = store.create_run(version, results, "task", "test", "default",
                               classifier.thresholds)
        first = int(store.run_results(run)["row"].min())
        store.record_decision(run, first, "reassign", "strong-team", "ana")
        negative = store.record_decision(run, first + 1, "misaligned", None, "ana")
        learned = Learned.from_frame(store.learned_examples("default"))
        assert learned.examples == {"strong-team": [MISFILED]}
        assert learned.negatives == [NOT_OURS]
        store.remove_learned_example(negative.id, by="ana")
        assert Learned.from_frame(store.learned_examples("default")).negatives == []
        assert Learned.from_frame(store.learned_examples("another plan")) == Learned()



SUPPORT_PLAN = """
vision: Customers get answers fast
strategies:
  - id: first-response
    name: Faster first response
    description: triage rules, on-call rota, reply templates
  - id: hiring
    name: Hire, train and coach support agents
    description: job posts, interviews, onboarding, coaching
"""


def test_serves_none_of_a_replaced_plan_teaches_nothing_of_the_new_one(tmp_path, sample_plan,
                                                                     classifier):
    # A widget factory's "serves no strategy" decisions pushed a support team's job posts to
    # misaligned after the plan was replaced, and counted as taught in its teach-in round.
    from typer.testing import CliRunner

    from classifier.cli import app
    from classifier.plan import parse_plan_text
    from classifier.store import Store

    support = parse_plan_text(SUPPORT_PLAN, "support.yaml")
    job_post = "Post openings on Indeed and the community college job board"
    tasks = tmp_path / "tasks.txt"
    tasks.write_text(job_post + "\n")
    plan_file = tmp_path / "support.yaml"
    save_plan(support, plan_file)
    db = tmp_path / "tactics.db"
    with Store(db) as store:
        frame = classifier.classify_frame(pd.DataFrame({"task": [job_post]}), "task")
        run = store.create_run(store.save_plan(sample_plan), frame, "task", "test", "default",
                               classifier.thresholds)
        store.record_decision(run, int(store.run_results(run)["row"].min()), "misaligned",
                              None, "ana")
        assert Learned.from_frame(store.learned_examples("default", sample_plan)).negatives \
            == [job_post]
        store.save_plan(support)
        assert store.learned_examples("default", support).empty
    runner = CliRunner()
    answers = []
    for store_args in (["--db", str(db), "--no-history"], []):
        out = tmp_path / f"out{len(answers)}.csv"
        done = runner.invoke(app, ["classify", str(tasks), "--plan", str(plan_file), "--out",
                                   str(out), *store_args, "-q"])
        assert done.exit_code == 0, done.output
        answers.append(pd.read_csv(out)[["strategy_id", "status", "score"]].to_dict("records"))
    assert answers[0] == answers[1]


def test_cli_classify_uses_what_the_store_learned(tmp_path, sample_plan, classifier):
    from typer.testing import CliRunner

    from classifier.cli import app
    from classifier.store import Store

    plan_file = tmp_path / "plan.yaml"
    save_plan(sample_plan, plan_file)
    tasks = tmp_path / "tasks.txt"
    tasks.write_text(PARAPHRASE + "\n")
    db = tmp_path / "tactics.db"
    with Store(db) as store:
        frame = classifier.classify_frame(pd.DataFrame({"task": [MISFILED]}), "task")
        run = store.create_run(store.save_plan(sample_plan, "widgets"), frame, "task", "test",
                               "default", classifier.thresholds)
        store.record_decision(run, int(store.run_results(run)["row"].min()), "reassign",
                              "strong-team", "ana")
    runner = CliRunner()
    for name, expected in [("widgets", "strong-team"), ("default", None)]:
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(app, ["classify", str(tasks), "--plan", str(plan_file), "--out",
                                     str(out), "--db", str(db), "--plan-name", name, "-q"])
        assert result.exit_code == 0, result.output
        got = pd.read_csv(out)["strategy_id"][0]
        assert (got == expected) if expected else (got != "strong-team")
    # A store that does not exist yet is created (and the run kept in it).
    created = runner.invoke(app, ["classify", str(tasks), "--plan", str(plan_file), "--out",
                                  str(tmp_path / "x.csv"), "--db", str(tmp_path / "new.db"), "-q"])
    assert created.exit_code == 0, created.output
    with Store(tmp_path / "new.db") as store:
        assert [run.rows for run in store.runs()] == [1]
