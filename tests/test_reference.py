"""The shipped generic work: a plan's default cut-offs, and how far it argues against a task."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model.engine import Classifier
from classifier.model.reference import disowned, reference_texts
from classifier.plan import Thresholds, plan_from_dict
from classifier.results import Status

# A support team's plan written as short lists: its work looks like some of the shipped generic
# work ("Update the help center article about password resets", "Answer support tickets").
SUPPORT = plan_from_dict({"strategies": [
    {"id": "self-service", "name": "Customers solve problems themselves",
     "description": "help center articles, chatbot answers, video guides, community forum"},
    {"id": "response-time", "name": "Answer every ticket within a day",
     "description": "ticket triage, staffing rota, escalation rules, SLA dashboard"},
    {"id": "retention", "name": "Keep customers longer",
     "description": "renewal calls, churn survey, loyalty discounts, onboarding check-ins"},
]})


@pytest.fixture(scope="module")
def support(embedder):
    return Classifier(SUPPORT, embedder)


CUTS = Thresholds(aligned=0.3, misaligned=0.1, margin=0.02)


@pytest.mark.parametrize(("best", "weight"), [
    (-0.5, 1.0), (0.1, 1.0), (0.2, 0.5), (0.3, 0.0), (0.9, 0.0)])
def test_generic_work_counts_as_far_as_the_plan_disowns_it(best, weight):
    assert disowned(np.array([best]), CUTS)[0] == pytest.approx(weight)


def test_a_plan_without_thresholds_gets_cut_offs_from_how_generic_work_scores(support):
    assert support.thresholds == support.default_thresholds
    assert support.thresholds.misaligned == pytest.approx(
        float(np.median(support.reference_best)), abs=1e-4)
    assert f"{len(reference_texts())} reference tasks" in str(support.thresholds.fitted_on)


def test_work_like_generic_work_the_plan_owns_is_not_called_misaligned(support):
    # Both texts are near a shipped line; this plan would call "Update the help center
    # article about password resets" review, not misaligned, so it does not argue here.
    article, party = support.classify(["Write an article on resetting the password",
                                       "Plan the team's Christmas party"])
    assert (article.strategy_id, article.status) == ("self-service", Status.REVIEW)
    assert party.status == Status.MISALIGNED
