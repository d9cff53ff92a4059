"""The store's lifecycle writes and whole-store reads (town/store/lifecycle.py) on both
backends: deleting beads with everything that points at them (readers following the change
feed see tombstones), molecules made in one transaction, descendants in the order they were
made, counts, key-value pairs and the consistency checks bd doctor runs."""

from __future__ import annotations

import pytest

from gastown_tui.town.errors import ConflictError


def test_delete_removes_a_bead_with_its_edges_and_the_feed_says_so(store):
    keep = store.create("Keeper", prefix="gt")
    doomed = store.create("Doomed", prefix="gt", labels=["triage"],
                          deps=[("blocks", keep["id"])])
    child = store.create("Child", prefix="gt", parent=doomed["id"])
    store.add_comment(doomed["id"], "a note")
    seq = store.current_seq()
    assert store.delete_issues([doomed["id"], "gt-nothere"]) == [doomed["id"]]
    assert store.delete_issues([]) == []
    current, changed = store.changed_since(seq)
    assert current > seq
    stub = next(c for c in changed if c["id"] == doomed["id"])
    assert stub["status"] == "tombstone" and stub["labels"] == ["triage"]
    # the beads that lost an edge to it changed too
    assert {keep["id"], child["id"]} <= {c["id"] for c in changed}
    assert store.dependency_records(child["id"]) == []
    assert store.dangling_dependencies() == [] and store.orphan_records() == []
    assert [d["id"] for d in store.deleted_since(seq)] == [doomed["id"]]
    assert store.deleted_since(current) == []
    # deleting again (a bead of the same id made anew) keeps one tombstone
    store.create("Doomed again", prefix="gt", bead_id=doomed["id"])
    assert store.delete_issues([doomed["id"]]) == [doomed["id"]]
    assert [d["id"] for d in store.deleted_since(seq)] == [doomed["id"]]


def test_a_graph_is_made_whole_or_not_at_all_and_read_back_in_order(store):
    nodes = [{"key": "root", "title": "Molecule", "prefix": "gt", "id_infix": "mol",
              "issue_type": "molecule", "labels": ["mol"]}]
    nodes += [{"key": f"s{n}", "title": f"Step {n}", "prefix": "gt", "ephemeral": True}
              for n in range(5)]
    edges = [(f"s{n}", "root", "parent-child") for n in range(5)]
    edges += [(f"s{n + 1}", f"s{n}", "blocks") for n in range(4)]
    made = store.create_graph(nodes, edges)
    assert made["root"].startswith("gt-mol-")
    assert store.descendants(made["root"]) == [made[f"s{n}"] for n in range(5)]
    assert sorted(store.edges(["blocks"])) == sorted(
        (made[f"s{n + 1}"], made[f"s{n}"], "blocks") for n in range(4))
    assert store.count_by("issue_type") == {"molecule": 1, "task": 5}
    assert store.count_by("status", "ephemeral = ?", [1]) == {"open": 5}

    before = store.count_by("issue_type")
    clash = [{"key": "a", "title": "A", "prefix": "gt"},
             {"key": "b", "title": "B", "prefix": "gt", "bead_id": made["root"]}]
    with pytest.raises(ConflictError):
        store.create_graph(clash, [])
    assert store.count_by("issue_type") == before  # not half of it


def test_key_values_counts_and_the_doctor_checks(store):
    store.kv_set("deploy.target", "staging")
    store.kv_set("other", "x")
    store.kv_set("deploy.target", "prod")
    assert store.kv_get("deploy.target") == "prod"
    assert store.kv_all() == {"deploy.target": "prod", "other": "x"}
    store.kv_set("other", None)
    assert store.kv_get("other") is None and store.kv_all() == {"deploy.target": "prod"}
    bead = store.create("Has an outside edge", prefix="gt")
    store.add_dependency(bead["id"], "external:beads:bd-1", "related")
    assert store.dangling_dependencies() == []
    assert store.purge_orphans() == 0
    events = store.recent_events(5)
    assert events and events[0][0] in ("created", "dependency_added")


def test_molecules_gates_and_pruning_work_on_either_backend(backend_cli, backend_town):
    """The same verbs through the CLI on a SQLite and a PostgreSQL town: a wisp poured from a
    gated formula, its gate resolved, the molecule squashed into a digest, a bead deleted,
    and KRC pruning the digest once its TTL passed."""
    import json
    import time

    from tests.test_gates import GATED_FORMULA

    cli = backend_cli
    (backend_town / "formulas").mkdir(exist_ok=True)
    (backend_town / "formulas" / "gated-release.formula.toml").write_text(GATED_FORMULA)
    wisp = cli.json("bd", "mol", "wisp", "gated-release", "--var", "feature=pg")
    root = wisp["new_epic_id"]
    gate = next(g for g in cli.json("bd", "gate", "list") if g["issue_type"] == "gate")
    assert cli.json("bd", "gate", "resolve", gate["id"], "-r", "yes")["status"] == "closed"
    squashed = cli.json("bd", "mol", "squash", root, "--summary", "done on this backend")
    assert squashed["digest_id"] and squashed["squashed_ids"]
    for step in squashed["squashed_ids"]:
        assert cli.bd("show", step, ok=False).returncode != 0
    assert cli.json("bd", "show", root)[0]["status"] == "closed"
    doomed = cli.json("bd", "create", "Delete me")["id"]
    cli.bd("delete", doomed, "--force")
    assert cli.bd("show", doomed, ok=False).returncode != 0

    cycle = cli.json("gt", "patrol", "report", "--summary", "quiet", env={"GT_ROLE": "deacon"})
    cli.gt("krc", "config", "set", "store:patrol", "1s")
    config = json.loads((backend_town / ".krc.yaml").read_text())
    config["min_retain_count"] = 0
    (backend_town / ".krc.yaml").write_text(json.dumps(config))
    time.sleep(1.5)
    pruned = cli.json("gt", "krc", "prune")
    assert pruned["bead_ids"] == [cycle["digest"]]
    assert cli.bd("show", cycle["digest"], ok=False).returncode != 0
