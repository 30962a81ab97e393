"""Second opinions asked about a stored run (the app's way), kept with it, and read back."""

from __future__ import annotations

import pandas as pd
import pytest
from llm_server import answer, content_filtered, error, slow, text

from classifier.access import Reviewer
from classifier.errors import AccessError, LLMError
from classifier.llm import LLMSettings
from classifier.pipeline import classify_into_store
from classifier.second_opinion import (
    Asking,
    ask_about_run,
    column,
    describe,
    from_cache,
    said,
    stopped_line,
    unasked,
)
from classifier.store import Store

TASKS = pd.DataFrame({"task": [
    "Call last quarter's one-time buyers about a service plan",  # aligned on the sample plan
    "Water the office plants",
    "Reorganise the stationery cupboard",
    "Pitch the widget line to a new garden centre chain",
], "owner": ["ana", "bo", "cy", "di"]})


@pytest.fixture
def run(store_target, classifier, sample_plan):
    with Store(store_target) as store:
        run_id = classify_into_store(store, classifier, store.save_plan(sample_plan), TASKS,
                                     "task", "pasted")
        yield store, run_id


@pytest.fixture
def settings(scripted_llm) -> LLMSettings:
    return LLMSettings(base_url=scripted_llm.base_url, model="test-model", timeout=15.0,
                       max_retries=0)


def doubtful(store: Store, run_id: int) -> list[int]:
    results = store.results_with_decisions(run_id)
    return [int(r) for r in results.loc[results["status"] != "aligned", "row"]]


def test_answers_are_kept_with_the_run_and_never_asked_again(run, scripted_llm, settings):
    store, run_id = run
    asked = doubtful(store, run_id)
    assert asked and asked == unasked(store.results_with_decisions(run_id))
    scripted_llm.responder = lambda request: answer("none", "Office upkeep.")
    used = ask_about_run(store, run_id, settings, "maria")
    assert used.answered == len(asked) == len(scripted_llm.requests)
    results = store.results_with_decisions(run_id)
    for row in range(len(TASKS)):
        expected = ("none", "Office upkeep.") if row in asked else None
        assert said(results.loc[row]) == expected, row
    assert results["owner"].tolist() == TASKS["owner"].tolist()  # the run is otherwise the same
    assert unasked(results) == []
    assert ask_about_run(store, run_id, settings, "maria").questions == 0
    assert len(scripted_llm.requests) == len(asked)


def test_a_decided_task_is_not_asked_and_one_row_can_be(run, scripted_llm, settings):
    store, run_id = run
    first, *rest = doubtful(store, run_id)
    store.record_decision(run_id, first, "misaligned", None, "maria")
    assert unasked(store.results_with_decisions(run_id)) == rest
    scripted_llm.responder = lambda request: answer("none", "Upkeep.")
    ask_about_run(store, run_id, settings, "maria", rows=[0])  # an aligned task, asked on purpose
    assert said(store.results_with_decisions(run_id).loc[0]) == ("none", "Upkeep.")
    assert len(scripted_llm.requests) == 1


def test_a_viewer_is_refused_before_any_request(run, scripted_llm, settings):
    store, run_id = run
    with pytest.raises(AccessError, match="may view, not ask the LLM"):
        ask_about_run(store, run_id, settings, Reviewer("vic@example.com", may_decide=False))
    assert scripted_llm.requests == []
    assert said(store.results_with_decisions(run_id).iloc[1]) is None


def test_a_failed_request_is_asked_again_and_a_refused_answer_is_kept(run, scripted_llm,
                                                                     settings):
    store, run_id = run
    first = doubtful(store, run_id)[0]
    scripted_llm.responder = lambda request: error(500)
    used = ask_about_run(store, run_id, settings, "maria", rows=[first])
    assert (used.no_answer, used.failed, used.requests) == (1, 1, 1)  # the request it sent
    assert used.failure == "HTTP 500 from the endpoint after 1 attempts: scripted"
    results = store.results_with_decisions(run_id)
    assert said(results.loc[first]) is None and first in unasked(results)  # to try again
    scripted_llm.responder = lambda request: text("not json")
    ask_about_run(store, run_id, settings, "maria", rows=[first])
    opinion = said(store.results_with_decisions(run_id).loc[first])
    assert opinion is not None and opinion[0] == ""
    assert opinion[1].startswith("no answer: rejected twice")
    assert describe(opinion, {}).startswith("No answer: rejected twice")
    assert first not in unasked(store.results_with_decisions(run_id))


def test_answers_got_before_the_endpoint_stopped_are_kept(run, scripted_llm, settings):
    store, run_id = run
    first, second, *_ = doubtful(store, run_id)
    scripted_llm.script(answer("none", "Office upkeep."), error(401))
    one_at_a_time = settings.model_copy(update={"max_concurrency": 1})
    with pytest.raises(LLMError, match="HTTP 401"):
        ask_about_run(store, run_id, one_at_a_time, "maria", rows=[first, second])
    results = store.results_with_decisions(run_id)
    assert said(results.loc[first]) == ("none", "Office upkeep.")
    assert said(results.loc[second]) is None and second in unasked(results)


def test_asking_stopped_while_the_endpoint_hangs_keeps_what_it_got(run, scripted_llm,
                                                                    settings):
    # The app's Stop: an endpoint that never replies held the page until its timeouts ran out.
    store, run_id = run
    first, second, *_ = doubtful(store, run_id)
    scripted_llm.script(answer("none", "Office upkeep."), slow(600))
    one_at_a_time = settings.model_copy(update={"max_concurrency": 1, "timeout": 600.0})

    asking = Asking(store, run_id, one_at_a_time, "maria", [first, second])
    while scripted_llm.in_flight == 0 or asking.done == 0:  # the second question hangs
        assert not asking.wait(0.05)
    asking.stop()

    used = asking.result()
    assert used.stopped and (used.answered, used.failed) == (1, 1)
    assert stopped_line(used) == ("Stopped asking the LLM: 1 answer kept with the run; 1 "
                                  "doubtful task keeps the machine's answer alone and can be "
                                  "asked again.")
    results = store.results_with_decisions(run_id)
    assert said(results.loc[first]) == ("none", "Office upkeep.")
    assert said(results.loc[second]) is None
    assert second in unasked(results) and first not in unasked(results)


def test_a_refused_task_stays_to_ask_and_the_others_are_kept(run, scripted_llm, settings):
    store, run_id = run
    first, second, *_ = doubtful(store, run_id)
    text_of = store.results_with_decisions(run_id)["task"]
    scripted_llm.responder = lambda request: (content_filtered() if text_of[first] in
                                              request.user_text else answer("none", "Upkeep."))
    used = ask_about_run(store, run_id, settings, "maria", rows=[first, second])
    assert (used.answered, used.failed) == (1, 1)
    assert used.failure.startswith("the endpoint refused this question (HTTP 400): The response")
    results = store.results_with_decisions(run_id)
    assert said(results.loc[second]) == ("none", "Upkeep.")
    assert said(results.loc[first]) is None and first in unasked(results)


def test_an_empty_reply_is_not_kept_and_the_next_click_asks_again(run, scripted_llm, settings):
    store, run_id = run
    first = doubtful(store, run_id)[0]
    scripted_llm.responder = lambda request: text("")
    used = ask_about_run(store, run_id, settings, "maria", rows=[first])
    assert (used.no_answer, used.failed, used.failure) == (1, 1, "the reply was empty")
    assert first in unasked(store.results_with_decisions(run_id))
    scripted_llm.responder = lambda request: answer("none", "Upkeep.")
    ask_about_run(store, run_id, settings, "maria", rows=[first])
    assert said(store.results_with_decisions(run_id).loc[first]) == ("none", "Upkeep.")


def test_a_failing_endpoint_says_why_it_stopped_and_what_it_sent(run, scripted_llm, settings):
    store, run_id = run
    asked = doubtful(store, run_id)
    scripted_llm.responder = lambda request: error(500)
    # Giving up at the last one: every request is sent and answered before it stops.
    failing = settings.model_copy(update={"give_up_after": len(asked)})
    used = ask_about_run(store, run_id, failing, "maria")
    assert used.gave_up == (f"the LLM at {settings.base_url} failed {len(asked)} requests in a "
                            f"row (HTTP 500: scripted)")
    assert used.requests == len(scripted_llm.requests) == len(asked)
    assert "0 answered" in used.line() and f"{len(asked)} requests" in used.line()


@pytest.mark.parametrize(("opinion", "line"), [
    (("recurring-revenue", "It sells a service plan."),
     "Grow recurring revenue. It sells a service plan."),
    (("none", "Office upkeep."), "Serves no strategy. Office upkeep."),
    (("gone", "Was a strategy."), "gone (no longer in the plan). Was a strategy."),
    (("", "no answer: HTTP 500"), "No answer: HTTP 500"),
])
def test_an_answer_reads_in_the_plan_s_names(opinion, line, sample_plan):
    assert describe(opinion, sample_plan.names) == line


def test_a_run_without_answers_has_an_empty_column(run, sample_plan):
    store, run_id = run
    results = store.results_with_decisions(run_id)
    assert column(results, sample_plan.names).isna().all()


def test_the_report_carries_the_kept_answers(run, scripted_llm, settings):
    from classifier.report.sheets import results_table

    store, run_id = run
    assert "rationale" not in results_table(store.results_with_decisions(run_id),
                                            store.run(run_id).columns)
    scripted_llm.responder = lambda request: answer("none", "Office upkeep.")
    ask_about_run(store, run_id, settings, "maria")
    table = results_table(store.results_with_decisions(run_id), store.run(run_id).columns)
    columns = list(table.columns)
    assert columns.index("evidence") + 1 == columns.index("llm_strategy_id")
    asked = doubtful(store, run_id)
    assert table.loc[asked, "rationale"].eq("Office upkeep.").all()
    assert table.loc[0, "rationale"] == ""


def test_a_later_run_of_the_same_tasks_finds_the_answers_without_asking(run, scripted_llm,
                                                                         settings, classifier):
    store, run_id = run
    scripted_llm.responder = lambda request: answer("none", "Office upkeep.")
    ask_about_run(store, run_id, settings, "maria")
    asked = len(scripted_llm.requests)
    info = store.run(run_id)
    later = classify_into_store(store, classifier, info.plan_version, TASKS, "task", "again")
    results = store.results_with_decisions(later)
    plan = store.plan(info.plan_version)
    found = [from_cache(store, plan, settings, results.loc[row], "task") for row in results.index]
    assert [row for row, opinion in enumerate(found) if opinion] == doubtful(store, run_id)
    assert {opinion for opinion in found if opinion} == {("none", "Office upkeep.")}
    assert len(scripted_llm.requests) == asked
    other_model = settings.model_copy(update={"model": "another-model"})
    assert from_cache(store, plan, other_model, results.loc[1], "task") is None


def test_a_failed_request_a_cli_run_kept_is_asked_again(run, scripted_llm, settings):
    """`tactics classify --llm` writes "no answer: ..." for a request that failed; the app
    offers to ask again rather than show it as the LLM's word."""
    store, run_id = run
    first = doubtful(store, run_id)[0]
    store.keep_opinions(run_id, {first: ("", "no answer: the LLM at http://x failed")}, "cli")
    results = store.results_with_decisions(run_id)
    assert said(results.loc[first]) is None and first in unasked(results)


@pytest.mark.parametrize(("opinion", "task", "same"), [
    (("none", "Upkeep."), {"status": "misaligned", "strategy_id": "events"}, True),
    (("events", "Fills the hall."), {"status": "misaligned", "strategy_id": "events"}, False),
    (("events", "Fills the hall."), {"status": "review", "strategy_id": "events"}, True),
    (("none", "Upkeep."), {"status": "review", "strategy_id": "events"}, False),
    (("", "no answer: rejected twice: not JSON"), {"status": "review"}, None),
])
def test_the_llm_agrees_with_the_machine_or_not(opinion, task, same):
    from classifier.second_opinion import agrees

    assert agrees(opinion, task) is same
