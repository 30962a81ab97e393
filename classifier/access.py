"""Who acts on the store, and whether they may decide: words the store and the UI share.

A `Reviewer` is recorded with every decision. With sign-in, the name is the identity the
provider vouched for and `may_decide` comes from the allow-list; without it, the name is
typed by the person at the keyboard of a local app, who may decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import AccessError, ClassifierError

# Control characters (C0, DEL, C1): a line break or an escape in a name splits the audit
# trail's lines and the summary, and names one person two ways.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Reviewer:
    """A person acting on the store."""

    name: str  # recorded as `reviewer`: the signed-in email (or username), or a typed name
    may_decide: bool = True
    subject: str | None = None  # the identity provider's issuer and subject, when signed in

    def require_decider(self, doing: str = "decide") -> None:
        """AccessError unless this person may change the store's decisions, plans or runs."""
        if not self.may_decide:
            raise AccessError(f"{self.name or 'this account'} may view, not {doing}: ask "
                              f"whoever runs the app to add you to the deciders")


def normal_identity(value: object) -> str:
    """An identity as compared with the allow-list: trimmed, lower case (emails are not
    case-sensitive in practice, and providers differ in what case they send)."""
    return str(value or "").strip().lower()


def person(name: str | Reviewer | None) -> str:
    """Who a recorded or typed name stands for: "Ana", "ana" and "ANA  " are one person (what
    is compared; the name is recorded as typed)."""
    text = name.name if isinstance(name, Reviewer) else str(name or "")
    return _one_line(text).casefold()


def typed_reviewer(name: str, option: str = "--reviewer") -> str:
    """A reviewer's name as given on the command line, trimmed; ClassifierError naming the
    option when it is blank or holds a control character (a line break, a tab)."""
    text = name.strip()
    if not text:
        raise ClassifierError(f"{option}: give the name of the person who decided")
    found = _CONTROL.search(text)
    if found:
        raise ClassifierError(f"{option}: {text!r} holds a control character "
                              f"({found.group()!r}); give the name on one line, without tabs")
    return text


def may_decide(identity: str, deciders: Iterable[str]) -> bool:
    """Whether an identity is on the allow-list.

    An entry is an identity (`alice@example.com`) or a whole domain (`@example.com`); an empty
    identity matches nothing.
    """
    who = normal_identity(identity)
    if not who:
        return False
    domain = "@" + who.rsplit("@", 1)[1] if "@" in who else None
    for entry in deciders:
        allowed = normal_identity(entry)
        if allowed and (allowed == who or (allowed.startswith("@") and allowed == domain)):
            return True
    return False


def acting(reviewer: str | Reviewer | None, doing: str = "decide") -> Reviewer:
    """The person changing the store, checked: a viewer is refused before anything is read or
    written; a plain name (the command line, a script) is taken as given."""
    # One line, spaces as one: a name typed with a stray line break or double space is the
    # same person in the audit trail and on every page.
    if isinstance(reviewer, Reviewer):
        reviewer.require_decider(doing)
        return Reviewer(_one_line(reviewer.name), True, reviewer.subject)
    return Reviewer(_one_line(reviewer or ""))


def _one_line(name: str) -> str:
    # The app's box, kept in the page's address, can bring any character: no control character
    # is recorded (each one a space), whatever a caller checked.
    return " ".join(_CONTROL.sub(" ", name).split())
