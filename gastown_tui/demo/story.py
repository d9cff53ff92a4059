"""The demo's story: README's five beats, named as the town's own events show them happen.

`Story.feed(event)` takes each event of the town's log (`.events.jsonl`) in order and returns
the captions it makes: nothing here runs on a timer or guesses, a beat is told when the event
that is that beat is in the log. The beats can happen in any order (agents race); each caption
carries README's number of its beat, and the convoy landing comes last by construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BEATS = ("clean merge", "conflict caught", "FIX_NEEDED and back", "stall found and nudged",
         "convoy landed")
WAITING = "the story starts: five beads slung to five sim polecats, the convoy at 0/5"


def caption(beat: int, text: str) -> str:
    """`beat` is README's number (1-5) of the beat the caption tells."""
    return f"beat {beat}/{len(BEATS)} · {BEATS[beat - 1]}: {text}"


@dataclass
class Story:
    """Follows one demo's events; `told` holds each beat's number once it has happened, in
    the order they happened."""

    told: list[int] = field(default_factory=list)
    _bounced: set[str] = field(default_factory=set)  # beads sent back with FIX_NEEDED
    _stalled: set[str] = field(default_factory=set)  # polecats found stalled
    _conflicted: set[str] = field(default_factory=set)  # beads refused for a conflict

    @property
    def finished(self) -> bool:
        return len(self.told) == len(BEATS)

    def _tell(self, beat: int, text: str) -> list[str]:
        if beat in self.told:
            return []
        self.told.append(beat)
        return [caption(beat, text)]

    def feed(self, event: dict[str, Any]) -> list[str]:
        kind = str(event.get("type", ""))
        p = event.get("payload") or {}
        if not isinstance(p, dict):
            return []
        issue = str(p.get("issue", ""))
        if kind == "merged" and issue in self._bounced:
            return self._tell(3, f"{issue}'s fix passed the tests and merged")
        if kind == "merged" and issue in self._conflicted:
            return [f"{issue}, redone by its polecat on the new main, merged"]
        if kind == "merged" and issue:
            return self._tell(1, f"{issue} passed the tests and merged to main")
        if kind == "merge_failed" and p.get("type") == "conflict":
            self._conflicted.add(issue)
            files = ", ".join(p.get("files") or []) or "its files"
            return self._tell(2, f"the Refinery refused {issue} (conflict in {files}) and "
                                 "sent it back to be redone on the new main")
        if kind == "merge_failed" and p.get("type") == "gates" and issue:
            if issue in self._bounced:
                return []
            self._bounced.add(issue)
            # Under way, not told yet: it is told when the fix merges ("and back").
            return [f"beat 3/{len(BEATS)} under way · {issue} failed its tests: FIX_NEEDED "
                    "mailed to its polecat"]
        if kind == "polecat_checked" and p.get("state") == "stalled" \
                and p.get("polecat") not in self._stalled:
            self._stalled.add(str(p.get("polecat")))
            return [f"beat 4/{len(BEATS)} under way · the Witness found {p.get('polecat')} "
                    "stalled (no commit, no output); it nudges when the GUPP timeout passes"]
        if kind == "polecat_nudged":
            return self._tell(4, f"the Witness nudged {p.get('polecat')} (GUPP) and it "
                                 "went back to work")
        if kind == "convoy_landed":
            # The Refinery closes a bead (which may land the convoy) a moment before it logs
            # that merge: a landed convoy means every bead merged, the bounced one too.
            told = []
            if self._bounced:
                told += self._tell(3, f"{', '.join(sorted(self._bounced))} fixed and merged")
            return told + self._tell(5, f"{p.get('title', 'the convoy')}: every bead is on main")
        return []
