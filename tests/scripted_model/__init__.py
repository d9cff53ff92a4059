"""A scripted model server on 127.0.0.1 for driving the real agent CLIs in tests.

It speaks a vendor's API (a dialect: Anthropic's Messages API today), answers each of the
CLI's main requests with the next turn of a script (text, or a call of the CLI's shell tool),
answers the CLI's side requests (titles, probes, small-model calls) without consuming the
script, and logs every request so a test can assert what the model saw."""

from tests.scripted_model.script import Request, Turn, bash, fail, say
from tests.scripted_model.server import ScriptedModel

__all__ = ["Request", "ScriptedModel", "Turn", "bash", "fail", "say"]
