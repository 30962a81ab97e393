"""The pieces of a long task: split rule, the score mix, and what a user sees through the Classifier."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.engine import Classifier
from classifier.model.index import MatchSettings
from classifier.model.pieces import Pieces, pieces, with_pieces

LONG_TASK = ("Answer the backlog of internal emails about the parking rota, pitch the widget line "
             "to Northgate Home Center")


@pytest.mark.parametrize(("text", "expected"), [
    ("Map the order-to-ship process, find the delays",
     ["Map the order-to-ship process", "find the delays"]),
    ("Call the bank. Renew the office lease", ["Call the bank.", "Renew the office lease"]),
    ("Clean the vans; service the forklift before Monday",
     ["Clean the vans", "service the forklift before Monday"]),
    ("Dealer visit\n- pitch the widget line to Northgate\n- collect the signed order form",
     ["pitch the widget line to Northgate", "collect the signed order form"]),
    ("Print the event flyers / call the printer about the invoice",
     ["Print the event flyers", "call the printer about the invoice"]),
    # "and" joins what one piece of work is about; short pieces do not stand alone
    ("Order logo stickers and pens for event giveaways", []),
    ("Prepare the room, catering", []),
    ("Fix the printer", []),
    ("", []),
])
def test_a_task_naming_several_pieces_of_work_is_split_at_commas_and_sentences(text, expected):
    assert pieces(text) == expected


def test_pieces_know_their_task():
    found = Pieces.of(["Fix the printer", "Map the process, find the delays", "Call the bank"])
    assert found.texts == ["Map the process", "find the delays"]
    assert found.row.tolist() == [1, 1]


def test_a_task_with_pieces_scores_half_its_whole_and_half_its_best_piece():
    whole = np.array([[0.2, 0.4], [0.3, 0.1]])
    piece_scores = np.array([[0.6, 0.0], [0.1, 0.2]])  # both pieces of task 0
    mixed = with_pieces(whole, piece_scores, np.array([0, 0]))
    np.testing.assert_allclose(mixed, [[0.4, 0.3], [0.3, 0.1]])
    assert with_pieces(whole, piece_scores[:0], np.array([], dtype=int)) is whole


def test_one_clause_about_a_strategy_is_not_drowned_by_the_rest(sample_plan, embedder):
    plan = sample_plan.model_copy(update={"thresholds": None})
    [result] = Classifier(plan, embedder).classify([LONG_TASK])
    [without] = Classifier(plan, embedder, match=MatchSettings(pieces=False)).classify([LONG_TASK])
    assert result.strategy_id == "retail-channel"
    assert without.strategy_id != "retail-channel"


def test_a_long_task_gets_the_same_answer_alone_or_among_others(classifier):
    alone = classifier.classify([LONG_TASK])[0]
    among = classifier.classify(["Fix the printer", "Map the process, find the delays",
                                 LONG_TASK])[2]
    assert (alone.strategy_id, alone.score, alone.status) == (
        among.strategy_id, among.score, among.status)
