"""Streamlit entry point (placeholder until the review UI lands): classify the sample tasks."""

import streamlit as st

from classifier import Classifier, load_plan, read_tasks

st.set_page_config(page_title="tactic-classifier", layout="wide")
st.title("tactic-classifier")


@st.cache_resource
def _classifier() -> Classifier:
    return Classifier(load_plan("data/plan.yaml"))


frame, column = read_tasks("data/tasks.csv")
st.dataframe(_classifier().classify_frame(frame, column), hide_index=True)
