"""The review app (`make app`): Plan, Classify, Review, Report and Trends pages over the library.

With sign-in configured in .streamlit/secrets.toml (classifier/ui/auth.py), nothing shows before
sign-in and decisions are recorded under the signed-in identity; without it, the app is a local
single-user tool that must not be reachable from other machines.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the bundled model never needs the network

import streamlit as st

from classifier.errors import ClassifierError
from classifier.ui import auth, state, widgets

st.set_page_config(page_title="tactic-classifier", page_icon=widgets.TAB_ICON,
                   layout="wide")

auth.require_sign_in()  # before the pages and the store: nothing of them before sign-in

CLASSIFY = st.Page("classifier/ui/classify.py", title="Classify",
                   icon=":material/playlist_add_check:", url_path="classify")


def _home() -> None:
    # The default page is served at "/" only; every page has its own address (/classify
    # opened directly works), and "/" leads to Classify, or, where sign-in just landed, to
    # the page and run the person opened before signing in.
    shown = {p.url_path: p for p in PAGES[1:]}  # never Home itself, which would loop
    wanted = auth.page_after_sign_in(shown, state.RUN_PARAM)
    if wanted is not None:
        if state.RUN_PARAM in wanted[1]:  # the run of the link, not the newest the root pinned
            state.use_run(int(wanted[1][state.RUN_PARAM]))
        st.switch_page(shown[wanted[0]], query_params=wanted[1])
    st.switch_page(CLASSIFY, query_params=st.query_params.to_dict())  # `?reviewer=` kept


PAGES = [
    st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden"),
    st.Page("classifier/ui/plan.py", title="Plan", icon=":material/flag:", url_path="plan"),
    CLASSIFY,
    st.Page("classifier/ui/review.py", title="Review", icon=":material/rule:",
            url_path="review"),
    st.Page("classifier/ui/report.py", title="Report", icon=":material/insert_chart:",
            url_path="report"),
    st.Page("classifier/ui/trends.py", title="Trends", icon=":material/trending_up:",
            url_path="trends"),
]

page = st.navigation(PAGES)
if page.url_path == "":  # Home: it only switches pages
    # Before the sidebar binds the Reviewer box to the address: Streamlit refuses a switch
    # that sets or clears a bound parameter (`/?reviewer=ana` showed that, and no page).
    page.run()
auth.forget_wanted_page()
try:
    reviewer = state.reviewer()
    if not reviewer.may_decide:
        st.info(f"Signed in as {widgets.md_escape(reviewer.name)}, a viewer: you may look at "
                f"every page and download reports; deciding, classifying and changing the plan "
                f"are for the deciders named in the app's settings.", icon=":material/visibility:")
    state.ensure_first_run()
    widgets.run_picker()
except ClassifierError as error:
    st.error(str(error))
    st.stop()
page.run()
