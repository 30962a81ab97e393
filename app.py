"""The review app (`make app`): Plan, Classify, Review and Report pages over the library."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model never needs the network

import streamlit as st

from classifier.errors import ClassifierError
from classifier.ui import state, widgets

st.set_page_config(page_title="tactic-classifier", page_icon=":material/track_changes:",
                   layout="wide")

PAGES = [
    st.Page("classifier/ui/plan.py", title="Plan", icon=":material/flag:", url_path="plan"),
    st.Page("classifier/ui/classify.py", title="Classify", icon=":material/playlist_add_check:",
            url_path="classify", default=True),
    st.Page("classifier/ui/review.py", title="Review", icon=":material/rule:",
            url_path="review"),
    st.Page("classifier/ui/report.py", title="Report", icon=":material/insert_chart:",
            url_path="report"),
]

page = st.navigation(PAGES)
try:
    state.reviewer()
    state.ensure_first_run()
    widgets.run_picker()
except ClassifierError as error:
    st.error(str(error))
    st.stop()
page.run()
