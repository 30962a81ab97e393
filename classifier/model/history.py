"""What a plan's earlier runs teach without a person: strategy prototypes moved toward the
earlier tasks that clearly belong to them (self-training on the store's history).

A plan of names and one-line descriptions says little about how its team writes tasks; the
tasks the plan has already seen say a lot. Each earlier task goes to its nearest strategy when
it wins by a clear margin, and a strategy's prototype becomes its own texts' mean plus the mean
of the tasks it won (equal weight), repeated a few times. Tasks between two strategies teach
nothing, nor do those their run called misaligned (the store leaves them out). Measured in
benchmarks/accuracy.py ("history" rows): CLINC150 zero-shot top-1 0.688 -> 0.759 after an
earlier run of 3,000 unlabeled queries; SDG 0.575 -> 0.594 with the other half of its tasks as
the earlier run; SDG-4 (a quarter serving no goal) 0.605 either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .embedding import unit_rows

# A task teaches only when its best strategy beats the runner-up by this much (cosine):
# ties between two strategies are where self-training teaches the wrong one.
MARGIN = 0.02
ROUNDS = 3
# The most earlier tasks a run learns from (the newest runs' first): enough to learn a team's
# wording, few enough to read and compare in a second or two.
MOST_TASKS = 5_000
# Below this many earlier tasks the plan's own texts speak alone (too few to say anything).
MIN_TASKS = 20
# Comparisons are made on scores rounded to this many decimals, so a last-bit difference in
# a matrix product (one CPU against another) cannot send a task to another strategy.
DECIMALS = 9


@dataclass(frozen=True)
class Earlier:
    """Task texts of a plan's earlier runs (distinct), and the ids of the runs they came from."""

    texts: tuple[str, ...] = ()
    runs: tuple[int, ...] = ()
    # Their vectors once embedded (a Ray worker gets them with the texts, not re-encoding).
    vectors: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.texts)


@dataclass(frozen=True)
class EarlierUse:
    """What a run learned from earlier runs, as recorded with it: which runs, how many of their
    tasks were read, and how many of those taught (won a strategy by a clear margin)."""

    runs: tuple[int, ...]
    tasks: int
    taught: int


def adapt_prototypes(prototypes: np.ndarray, earlier: np.ndarray, margin: float = MARGIN,
                     rounds: int = ROUNDS) -> tuple[np.ndarray, int]:
    """Unit prototypes moved toward the earlier task vectors each clearly wins, and how many
    earlier tasks taught (0: the prototypes are returned unchanged)."""
    own = unit_rows(np.asarray(prototypes, dtype=np.float64))
    tasks = np.ascontiguousarray(earlier, dtype=np.float64)
    if len(tasks) < MIN_TASKS or len(own) < 2:
        return own, 0
    current, taught = own, 0
    for _ in range(rounds):
        score = np.round(tasks @ current.T, DECIMALS)
        order = np.argsort(-score, axis=1, kind="stable")
        best = np.take_along_axis(score, order[:, :2], axis=1)
        keep = best[:, 0] - best[:, 1] >= margin
        winner = order[keep, 0]
        sums = np.zeros_like(own)
        np.add.at(sums, winner, tasks[keep])
        won = np.bincount(winner, minlength=len(own)) > 0
        current = unit_rows(own + np.where(won[:, None], unit_rows(sums), 0.0))
        taught = int(keep.sum())
    return current, taught


def describe_earlier(use: EarlierUse | None) -> str:
    """One line on what a run learned from earlier runs ("" when it learned nothing: no earlier
    runs, too few tasks, or none that leaned clearly to one strategy)."""
    if use is None or not use.runs or not use.taught:
        return ""
    runs = ", ".join(f"#{run}" for run in use.runs[:5]) + (" ..." if len(use.runs) > 5 else "")
    plural = "" if len(use.runs) == 1 else "s"
    return (f"Learned the team's wording from {use.tasks} tasks of earlier run{plural} {runs} "
            f"({use.taught} leaned clearly to one strategy)")


def rerun_note(used: Earlier, available: Earlier, strategies: int = 2,
               run_id: int | None = None) -> str:
    """What a re-run would learn from that the run did not (`used`: the earlier tasks it learned
    from; `available`: the store's now), or "" when nothing (too few tasks to learn from, or a
    plan of one strategy, where no task leans to one strategy over another: then a re-run gives
    the same answers). Said apart when they are only run `run_id`'s own tasks."""
    new = len(set(available.texts) - set(used.texts))
    if not new or len(available.texts) < MIN_TASKS or strategies < 2:
        return ""
    plural = "" if new == 1 else "s"
    if run_id is not None and available.runs == (run_id,):
        # A plan's first run offered to learn "from 29 more tasks of this plan's runs": they
        # are its own, as the machine reads them, unreviewed.
        return (f"A re-run would learn the team's wording from this run's own {new} "
                f"task{plural}, as the machine reads them (no one has reviewed them), so some "
                f"answers may change; review decisions teach more surely.")
    return (f"A re-run would also learn the team's wording from {new} more task{plural} of this "
            f"plan's runs, so some answers may change.")
