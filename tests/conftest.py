"""Shared fixtures: the real model, loaded once per session, and the sample plan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network; the bundled model loads from site-packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def embedder():
    from classifier.model.embedding import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def sample_plan():
    from classifier.plan import load_plan

    return load_plan(DATA / "plan.yaml")


@pytest.fixture(scope="session")
def classifier(sample_plan, embedder):
    from classifier.model.engine import Classifier

    return Classifier(sample_plan, embedder)


@pytest.fixture
def scripted_llm():
    """A real OpenAI-compatible chat server on 127.0.0.1 answering from a per-test script."""
    from llm_server import ScriptedLLM

    server = ScriptedLLM()
    yield server
    server.close()
