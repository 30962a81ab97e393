"""Shared words: the lexical part of a strategy's score."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.engine import Classifier
from classifier.model.index import MatchSettings
from classifier.model.words import WordMatch
from classifier.plan import Plan, Strategy

STATEMENTS = ["Data protection: keep GDPR records and DPIA reviews current",
              "Customer onboarding: get new accounts live in their first week"]
BACKGROUND = ["Book the meeting room", "Order printer toner", "Answer the phone"]


@pytest.fixture(scope="module")
def words() -> WordMatch:
    return WordMatch(STATEMENTS, BACKGROUND)


def test_a_task_scores_highest_with_the_strategy_whose_words_it_repeats(words):
    scores = words.scores(["Run the DPIA for the new GDPR records system",
                           "Onboarding call with two new accounts"])
    assert scores.shape == (2, 2)
    assert scores[0, 0] > scores[0, 1] and scores[1, 1] > scores[1, 0]


def test_word_forms_meet_without_a_stemmer(words):
    # "protect" shares n-grams with "protection"; nothing in it matches onboarding's words
    scores = words.scores(["protecting data"])
    assert scores[0, 0] > 0.2 > scores[0, 1]


def test_a_statement_repeated_scores_one_and_unrelated_text_zero(words):
    scores = words.scores([STATEMENTS[1], "zzz qqq"])
    assert scores[0, 1] == pytest.approx(1.0)
    assert scores[1].tolist() == [0.0, 0.0]


def test_a_task_scores_the_same_whatever_else_is_in_its_file(words):
    task = "Review the GDPR records before onboarding"
    alone = words.scores([task])
    among = words.scores(["Onboarding call", task, "Order toner"] * 50)
    assert np.array_equal(alone[0], among[1]) and np.array_equal(alone[0], among[-2])
    assert words.scores([]).shape == (0, 2)


def test_shared_words_lift_the_strategy_a_task_names(embedder):
    plan = Plan(strategies=[Strategy(id="gdpr", name="Data protection",
                                     description="keep GDPR records and DPIA reviews current"),
                            Strategy(id="onboard", name="Customer onboarding",
                                     description="get new accounts live in their first week")])
    task = ["Update the DPIA"]
    with_words = Classifier(plan, embedder).classify(task)[0]
    without = Classifier(plan, embedder, match=MatchSettings(word_weight=0.0)).classify(task)[0]
    assert with_words.strategy_id == "gdpr"
    scores = {c.strategy_id: c.score for c in with_words.candidates}
    plain = {c.strategy_id: c.score for c in without.candidates}
    # the acronym spelled out in one statement lifts that strategy, not the other
    assert scores["gdpr"] - plain["gdpr"] > 0.02 > abs(scores["onboard"] - plain["onboard"])
