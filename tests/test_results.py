"""The columns a classified file gets: a task list's own are never overwritten by the tool's."""

from __future__ import annotations

import pytest

from classifier.results import RESULT_COLUMNS, input_renames


@pytest.mark.parametrize(("columns", "renames"), [
    (["task", "owner"], {}),
    (["task", "status", "score"], {"status": "status (input)", "score": "score (input)"}),
    (["task", "task_id", "candidate_2_score"],
     {"task_id": "task_id (input)", "candidate_2_score": "candidate_2_score (input)"}),
    (["task", "why", "why (input)"], {"why": "why (input)'"}),
    # a file this tool wrote: a new run replaces its results
    (["task", *RESULT_COLUMNS, "decided_by"], {}),
])
def test_a_task_lists_columns_the_tool_would_overwrite_are_renamed(columns, renames):
    assert input_renames(columns) == renames
