"""What a running verb tells the app: progress (one line per agent of a bulk verb, as each
finishes) and its outcome. Posted from the verb's thread worker; the app shows them as flash
messages. The effect itself comes back through the town watcher like any other change."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class VerbProgress(Message, bubble=False):
    """One step of a verb done (severity: information|warning|error)."""

    verb: str
    text: str
    severity: str = "information"


@dataclass
class VerbFinished(Message, bubble=False):
    """A verb's outcome, shown as a flash message."""

    verb: str
    text: str
    severity: str = "information"
