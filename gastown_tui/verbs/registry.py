"""Every verb by id, and the bindings that name them (what a screen's BINDINGS lists)."""

from __future__ import annotations

from textual.binding import Binding

from gastown_tui.verbs.agents import (
    Attach,
    CleanFinished,
    MarkAgent,
    Nudge,
    Nuke,
    StartMayor,
    TellMayor,
    Watch,
    Zoom,
)
from gastown_tui.verbs.base import Verb
from gastown_tui.verbs.beads import Convoy, MarkBead, OpenBead, Sling
from gastown_tui.verbs.escalations import AckEscalation, CloseEscalation, GoToPolecat
from gastown_tui.verbs.mail import ReadAllMail, ReadMail
from gastown_tui.verbs.merges import RejectMR, RetryMR

VERBS: dict[str, Verb] = {verb.id: verb for verb in (
    Nudge(), Sling(), Nuke(), Zoom(), Attach(), Watch(), MarkAgent(), StartMayor(), TellMayor(),
    Convoy(), MarkBead(), OpenBead(), RetryMR(), RejectMR(), ReadMail(), ReadAllMail(),
    AckEscalation(), CloseEscalation(), GoToPolecat(), CleanFinished(),
)}
VERB_ACTION = "verb"


def verb_action(verb_id: str) -> str:
    return f"{VERB_ACTION}({verb_id!r})"


def verb_of(action: str, parameters: tuple[object, ...]) -> Verb | None:
    """The verb a binding's action names ("verb('nudge')"), or None for any other action."""
    if action != VERB_ACTION or not parameters:
        return None
    return VERBS.get(str(parameters[0]))


def verb_bindings(*ids: str, show: bool | None = None) -> list[Binding]:
    """One binding per verb, on the verb's key, labelled and described by the verb (`show`
    overrides whether the footer shows them: a crowded screen keeps some to the help).

    Two verbs may share a key (attach and watch): the first one available runs, so with
    --read-only `a` watches instead of attaching."""
    bindings = []
    for verb_id in ids:
        verb = VERBS[verb_id]
        bindings.append(Binding(verb.key, verb_action(verb.id), verb.label,
                                show=verb.show if show is None else show,
                                tooltip=verb.tooltip, id=verb.id))
    return bindings
