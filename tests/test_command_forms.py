"""Every command form an agent is taught works here: the guides we ship (gt prime, the
worktree's CLAUDE.md/AGENTS.md) and upstream Gas Town's own role prompts.

One real town (a rig, the Mayor, witness, refinery and deacon running on the sim runtime, a
live polecat) and every form run as the role that is taught it, with real beads, mail and
merge requests filled in for its placeholders. A form is rejected when this town does not
know the command or one of its flags, or calls it a usage error; a rejected form fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gastown_tui.ops.role_text import GUIDES, LOOP_NOTES, guide_commands
from tests.command_forms import (
    UPSTREAM_ONLY,
    Outcome,
    Runner,
    TownFixture,
    extract_forms,
    order_forms,
    role_for,
)
from tests.conftest import Cli
from tests.waiting import wait_for

FORMS_FILE = Path(__file__).parent / "fixtures" / "upstream_command_forms.tsv"
# Our guides' placeholders, as the test fills them (most specific first).
GUIDE_PLACEHOLDERS = [
    (r"\$\{rig\}", "{rig}"), (r"\$\{polecat\}", "{polecat}"), (r"\$\{prefix\}-a3f", "{bead}"),
    (r"\$\{name\}", "peer"), (r"\$\{default_branch\}", "main"),
    (r"hq-x7k", "{hqbead}"), (r"formula show <name>", "formula show {formula}"),
    (r"formula run <formula>", "formula run shiny"), (r"<rig>/<name>", "{rig}/{polecat}"),
    (r"<mail-id>", "{mail}"), (r"<convoy-id>", "{convoy}"), (r"<gate-id>", "{gate}"),
    (r"<run-id>", "4242"), (r"step done <step>", "step done load-context"),
    (r"<molecule-id>", "{molecule}"), (r"<formula>", "shiny"), (r"<id>", "{bead}"),
    (r"<bead>\.\.\.", "{bead} {bead}"), (r"<bead>", "{bead}"), (r"<x> <y>", "{bead} {bead}"),
    (r"<phase2> <phase1>", "{bead} {bead}"), (r"\[<rig>\]", "{rig}"), (r"<address>", "{agent}"),
    (r"<rig>", "{rig}"), (r"<label>", "triage"), (r"<git-url-or-path>", "/nonexistent/repo"),
    (r"<name>", "newrig"), (r"\[lines\]", "20"), (r"\[search-term\]", "insight"),
    (r"key=value", "feature=login"),
]


@pytest.fixture
def town(rig_town: Path, sim_town: Cli) -> TownFixture:
    cli = sim_town
    cli.json("gt", "up")
    cli.gt("crew", "add", "peer", "--rig", "gastown")  # the crew member crew forms run as
    cli.gt("dog", "add", "alpha")  # the dog dog forms run as
    bead = cli.json("bd", "create", "Hang around", "-d", "```sim\nhang: true\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    name = slung["agent"].rsplit("/", 1)[1]
    wait_for(lambda: "hanging" in cli.gt("peek", slung["agent"], "-n", "60").stdout,
             what="the polecat to be at work")
    return TownFixture(root=rig_town, env=cli.env, rig="gastown", prefix="gt", polecat=name,
                       worktree=rig_town / "gastown" / "polecats" / name / "gastown",
                       branch=slung["branch"])


def guide_forms() -> list[tuple[str, str]]:
    forms = []
    texts = {role: guide_commands(role) for role in GUIDES}
    texts.update({role: f"`{note}`" for role, note in LOOP_NOTES.items()})
    for role, text in texts.items():
        for form in extract_forms(text):
            for pattern, value in GUIDE_PLACEHOLDERS:
                form = re.sub(pattern, value, form)
            forms.append((form, role if role in GUIDES else "crew" if role == "crew"
                          else role))
    return forms


def upstream_forms() -> list[tuple[str, str]]:
    rows = []
    for line in FORMS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            form, roles = line.split("\t")
            rows.append((form, role_for(roles)))
    return rows


def run_all(town: TownFixture, forms: list[tuple[str, str]]) -> list[Outcome]:
    runner = Runner(town)
    roles = dict(forms)
    return [runner.run(form, roles[form]) for form in order_forms(f for f, _ in forms)]


def report(outcomes: list[Outcome]) -> str:
    return "\n".join(f"  {o.role:<8} {o.form}\n           → {o.rejection}"
                     for o in outcomes if o.rejection)


def test_every_form_our_guides_teach_is_accepted(town: TownFixture):
    forms = guide_forms()
    assert len(forms) > 60  # the guides teach their whole job, not a sentence
    outcomes = run_all(town, forms)
    rejected = [o for o in outcomes if o.rejection]
    assert not rejected, f"{len(rejected)} taught forms rejected:\n{report(outcomes)}"
    worked = sum(1 for o in outcomes if o.code == 0)
    print(f"\nguide forms: {len(outcomes)} run, {worked} exit 0, "
          f"{len(outcomes) - worked} refused for the state they met, 0 unknown")
    # most work outright; the rest fail for the state they meet (a real error, one line)
    assert worked >= 0.8 * len(outcomes), [(o.form, o.err) for o in outcomes if o.code]


def test_every_form_upstreams_prompts_teach_is_accepted(town: TownFixture):
    forms = upstream_forms()
    assert len(forms) >= 170
    outcomes = run_all(town, forms)
    rejected = [o for o in outcomes if o.rejection]
    assert not rejected, f"{len(rejected)} of {len(outcomes)} upstream forms rejected:\n" \
                         f"{report(outcomes)}"
    for o in outcomes:
        if o.form.startswith(UPSTREAM_ONLY):  # machinery we replace: a clear one-line answer
            assert o.code == 0 and o.out.strip(), (o.form, o.out, o.err)
    worked = sum(1 for o in outcomes if o.code == 0)
    print(f"\nupstream forms: {len(outcomes)} run, {worked} exit 0, "
          f"{len(outcomes) - worked} refused for the state they met, 0 unknown")
    assert worked >= 0.8 * len(outcomes), [(o.form, o.err) for o in outcomes if o.code]
