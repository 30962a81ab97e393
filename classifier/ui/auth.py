"""Sign-in for a team: Streamlit's st.login against the company's OpenID Connect provider
(Microsoft Entra ID, Google, Okta, ...), configured in .streamlit/secrets.toml, and the
allow-list of who may decide.

    [auth]                          # absent: no sign-in, a local single-user app
    redirect_uri = "https://tactics.example.com/oauth2callback"
    cookie_secret = "..."
    client_id = "..."               # one provider here, or named ones: [auth.microsoft], ...
    client_secret = "..."
    server_metadata_url = "https://.../.well-known/openid-configuration"
    [tactics]
    deciders = ["alice@example.com", "@team.example.com"]   # everyone else signed in: viewer

The functions that read claims and settings are pure (plain mappings in), so tests need no app.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import streamlit as st
from streamlit import config

from classifier.access import Reviewer, may_decide, normal_identity

# The claims an identity is taken from, in order: Google and Okta send `email`; Microsoft
# Entra ID sends `preferred_username` (the sign-in name) and `email` only when it is set.
IDENTITY_CLAIMS = ("email", "preferred_username", "upn", "sub")
# The address a signed-out person opened (/review?run=7), for after sign-in: Streamlit's sign-in
# callback always lands on the app's root with no trace of it, and Python can set no cookie, so
# the sign-in page's browser writes this one and the root page reads it (st.context.cookies).
WANTED_COOKIE = "tactics_after_sign_in"
WANTED_MAX_AGE_S = 600  # a sign-in takes a minute or two; an older address is no longer wanted
WANTED_READ = "wanted_page_read"  # session state: the cookie is read at the first root visit only
FORGET_WANTED = "forget_wanted_page"  # session state: the cookie was read; the browser drops it


@dataclass(frozen=True)
class AuthSettings:
    """Whether sign-in is configured, with which providers, and who may decide."""

    providers: tuple[str | None, ...] = ()  # None: the one unnamed provider in [auth] itself
    deciders: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """Sign-in is on: the app shows nothing before it."""
        return bool(self.providers)


def auth_settings(secrets: Mapping[str, Any]) -> AuthSettings:
    """The settings from a secrets mapping (st.secrets, or a dict in tests)."""
    section = secrets.get("auth") or {}
    providers: list[str | None] = [None] if "client_id" in section else []
    providers += [name for name, value in section.items()
                  if isinstance(value, Mapping) and "client_id" in value]
    tactics = secrets.get("tactics") or {}
    deciders = tactics.get("deciders") or []
    if isinstance(deciders, str):
        deciders = [deciders]  # one address written without brackets
    return AuthSettings(tuple(providers), tuple(str(entry) for entry in deciders))


def reviewer_from_claims(claims: Mapping[str, Any], deciders: tuple[str, ...]) -> Reviewer:
    """The signed-in person as the store records them: the identity the provider vouched for
    (a verified email where there is one), whether the allow-list lets them decide, and their
    subject."""
    # An address the provider says it has not verified may be anyone's (a self-service account
    # can claim ana@example.com): it is no identity, and the next claim is taken instead.
    # Some providers send the flag as text ("false").
    unverified = str(claims.get("email_verified")).strip().lower() == "false"
    trusted = [c for c in IDENTITY_CLAIMS if not (c == "email" and unverified)]
    identity = next((normal_identity(claims[c]) for c in trusted
                     if normal_identity(claims.get(c))), "")
    subject = claims.get("sub")
    issuer = claims.get("iss")
    return Reviewer(name=identity, may_decide=may_decide(identity, deciders),
                    subject=f"{issuer or ''} {subject}".strip() if subject else None)


def display_name(claims: Mapping[str, Any]) -> str:
    """The person's name as their provider gives it (for the sidebar only; never recorded)."""
    return str(claims.get("name") or "").strip()


def settings() -> AuthSettings:
    """The app's sign-in settings (none when there is no secrets file)."""
    try:
        return auth_settings(st.secrets.to_dict())
    except FileNotFoundError:
        return AuthSettings()


def secrets_problem() -> str | None:
    """Why the app must not start: a secrets file named explicitly is missing, or one that is
    there cannot be read. Either way Streamlit goes on without them, which means no sign-in."""
    # Only paths the person named (--secrets.files, STREAMLIT_SECRETS_FILES, config.toml):
    # Streamlit's own default locations are allowed to be absent.
    named = st.get_option("secrets.files") if config.is_manually_set("secrets.files") else []
    for path in named:
        if not os.path.exists(path):
            return (f"{path}: no such secrets file (named with --secrets.files or "
                    f"STREAMLIT_SECRETS_FILES); without it the app would have no sign-in, so "
                    f"it does not start. Correct the path, or leave the option out for a "
                    f"local, single-user app.")
    try:
        st.secrets.to_dict()
    except FileNotFoundError as error:  # also Streamlit's error for a file it cannot parse
        if any(os.path.exists(path) for path in st.get_option("secrets.files")):
            return (f"The secrets cannot be read ({error}); without them the app would have no "
                    f"sign-in, so it does not start.")
    return None


def _claims() -> dict[str, Any]:
    return {key: value for key, value in st.user.to_dict().items() if key != "tokens"}


def signed_in_reviewer() -> Reviewer | None:
    """With sign-in configured, the signed-in person, read from the session's identity cookie
    on every call (never from a widget); nobody signed in is a viewer with no name, whom every
    write refuses. Without sign-in, None."""
    config = settings()
    if not config.configured:
        return None
    if not st.user.is_logged_in:
        return Reviewer(name="", may_decide=False)
    return reviewer_from_claims(_claims(), config.deciders)


def require_sign_in() -> None:
    """With sign-in configured and nobody signed in: only the sign-in button(s), then stop;
    with its settings named but unreadable, one error line, then stop."""
    if problem := secrets_problem():
        st.error(problem)
        st.stop()
    wanted = settings()
    if not wanted.configured or st.user.is_logged_in:
        return
    st.title("tactic-classifier")
    st.write("Sign in to see your team's tasks.")
    _wanted_cookie("encodeURIComponent(location.pathname + location.search)", WANTED_MAX_AGE_S)
    for provider in wanted.providers:
        label = "Sign in" if provider is None else f"Sign in with {provider.title()}"
        st.button(label, key=f"sign_in_{provider or 'default'}", type="primary",
                  on_click=st.login, args=(provider,) if provider else ())
    st.stop()


def wanted_page(cookies: Mapping[str, str], pages: Collection[str],
                run_param: str) -> tuple[str, dict[str, str]] | None:
    """The page (one of `pages`, by its url_path) and run that a person opened before signing
    in, from the cookie the sign-in page wrote; None without one, or for another address (the
    browser wrote it: only a known page and a run id are taken from it)."""
    value = cookies.get(WANTED_COOKIE)
    if not value or not isinstance(value, str):  # (AppTest's st.context holds no real cookies)
        return None
    address = urlsplit(unquote(value))
    name = address.path.rstrip("/").rsplit("/", 1)[-1]
    if name not in pages:
        return None
    run = (parse_qs(address.query).get(run_param) or [""])[0]
    return name, ({run_param: run} if run.isdigit() and len(run) <= 18 else {})


def page_after_sign_in(pages: Collection[str], run_param: str) -> tuple[str, dict[str, str]] | None:
    """At a session's first visit to the root (where sign-in lands), the page and run the person
    opened before signing in (`wanted_page`); None after that, or without sign-in."""
    if not settings().configured or st.session_state.get(WANTED_READ):
        return None
    st.session_state[WANTED_READ] = True
    cookies = st.context.cookies
    if isinstance(cookies.get(WANTED_COOKIE), str):
        st.session_state[FORGET_WANTED] = True
    return wanted_page(cookies, pages, run_param)


def forget_wanted_page() -> None:
    """Once the page wanted has been shown, the browser drops the cookie (else the next visit
    to the root within minutes would go there again)."""
    if st.session_state.pop(FORGET_WANTED, False):
        _wanted_cookie("''", 0)


def _wanted_cookie(value_js: str, max_age_s: int) -> None:
    # The script is the app's own text: no value from a request goes into it.
    st.html(f"<script>document.cookie = '{WANTED_COOKIE}=' + {value_js} + "
            f"'; max-age={max_age_s}; path=/; SameSite=Lax';</script>",
            unsafe_allow_javascript=True)


def sidebar(reviewer: Reviewer) -> None:
    """Who is signed in, what they may do, and the way out."""
    name = display_name(_claims())
    shown = f"{name} ({reviewer.name})" if name and name != reviewer.name else reviewer.name
    st.sidebar.text(f"Signed in as {shown}")  # the provider's text: shown as text, never markup
    st.sidebar.caption("Decider: your decisions are recorded under this name."
                       if reviewer.may_decide else
                       "Viewer: you may look and download reports, not decide.")
    st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)


def local_only_warning() -> None:
    """Without sign-in, warn when the browser came from another machine: anyone who reaches
    the port could then read every task and decide under any name."""
    host = (st.context.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
    if host and not _loopback(host):
        st.warning("This app has no sign-in, and it is reached over the network: anyone who "
                   "can reach it sees every task and may decide under any name. Configure "
                   "sign-in (README, \"For a team\") or serve it on 127.0.0.1 only.")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
