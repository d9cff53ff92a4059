"""Bad input, fuzzed: bd JSONL imports, `key: value` description fields, names and addresses,
nudge text. Formula TOML is fuzzed in tests/test_formulas*.py."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_helpers import soak

from gastown_tui.tmux.text import sanitize_text
from gastown_tui.town.errors import GasTownError, InvalidNameError
from gastown_tui.town.fields import _LINE, parse_fields, set_fields
from gastown_tui.town.names import (
    normalize_mail_address,
    parse_address,
    validate_agent_name,
    validate_bead_id,
    validate_prefix,
    validate_rig_name,
)
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.jsonl import BACKUP_FILES, export_lines, import_jsonl
from gastown_tui.town.store.records import FIELD_ORDER

FUZZ = settings(max_examples=soak(150, 2000), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_FEW = settings(max_examples=soak(40, 500), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------------------- strategies
json_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63)
                | st.floats(allow_nan=True) | st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=8)
times = st.sampled_from(["2026-01-12T02:16:00Z", "2026-01-12T02:16:00.123456+05:30",
                         "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999Z", "yesterday",
                         "", "2026-13-45T99:99:99Z"]) | json_values
ids = st.sampled_from(["gt-a1", "gt-a1", "gt-b2", "hq-cv-k2j9x", "gt-a1.1", "../etc/passwd",
                       "gt-\u0430", "", "gt-a1\n"]) | json_values
known = {
    "status": st.sampled_from(["open", "closed", "hooked", "tombstone", "nope", ""]) | json_values,
    "priority": st.sampled_from([0, 4, 5, -1, "P2", "p9", True, 2**70]) | json_values,
    "issue_type": st.sampled_from(["task", "bug", "mr", "epic", "nope"]) | json_values,
    "labels": st.lists(st.text(max_size=10), max_size=3) | json_values,
    "dependencies": st.lists(st.fixed_dictionaries({"depends_on_id": ids}, optional={
        "type": st.sampled_from(["blocks", "tracks", "x" * 80]) | json_values,
        "created_at": times, "metadata": json_values}), max_size=2) | json_values,
    "comments": st.lists(st.fixed_dictionaries({"text": json_values}, optional={
        "id": json_values, "created_at": times, "author": json_values}), max_size=2)
    | json_values,
    **{k: times for k in ("created_at", "updated_at", "closed_at", "defer_until", "due_at")},
}
other_keys = st.sampled_from([k for k in FIELD_ORDER if k not in known and k != "id"]
                             + ["_type", "_schema", "wisp", "dependency_count", "whatever"])
records = st.fixed_dictionaries(
    {"id": ids, "title": st.text(max_size=30) | json_values},
    optional={**known, "description": st.text() | json_values,
              "assignee": st.text(max_size=10) | json_values,
              "metadata": json_values | st.text(max_size=10)},
).flatmap(lambda rec: st.dictionaries(other_keys, json_values, max_size=3).map(
    lambda extra: {**extra, **rec}))


@st.composite
def lines(draw) -> bytes:
    """One line: a record, then maybe truncated, made huge, or salted with invalid UTF-8."""
    kind = draw(st.sampled_from(["record", "record", "record", "truncated", "huge", "bytes",
                                 "salted", "json", "deep"]))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=60))
    if kind == "deep":
        depth = draw(st.sampled_from([50, 5000, 200000]))
        return b"[" * depth + b"]" * draw(st.sampled_from([0, depth]))
    rec = draw(records)
    if kind == "huge":
        rec[draw(st.sampled_from(["title", "description", "notes", "x"]))] = \
            "y" * draw(st.sampled_from([501, 70000, 1_000_000]))
    raw = json.dumps(rec, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "truncated":
        raw = raw[:draw(st.integers(0, max(0, len(raw) - 1)))]
    if kind == "salted":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                                               b"\xe2\x80\xa8"])) + raw[at:]
    return raw


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _counted(raw: bytes) -> bool:
    """Lines the import must account for: every one that is not blank."""
    try:
        return bool(raw.decode("utf-8").strip())
    except UnicodeDecodeError:
        return True


def _check_store_after(store: BeadStore, report) -> None:
    assert store.integrity_check() == []
    for bead_id in report.created + report.updated:
        store.get(bead_id)
    for line in export_lines(store, include_all=True):
        assert isinstance(json.loads(line), dict)


# ---------------------------------------------------------------------------- bd import
@FUZZ
@given(st.lists(lines(), min_size=1, max_size=6))
@example([b'{"id":"gt-a1","title":"x","labels":5}', b'{"id":"gt-a2","title":"x","status":5}'])
@example([b'{"id":"gt-a3","title":"\\ud800"}', b'[' * 100000,
          b'{"id":"gt-a4","title":"x","assignee":100000000000000000000000000}'])
@example([b'{"id":"gt-a5","title":"x","comments":[{"text":"c","created_at":"bad"}]}',
          b'{"id":"gt-a6","title":"x","created_at":"0001-01-01T00:00:00+01:00"}'])
def test_import_of_bad_jsonl_reports_and_keeps_the_store_whole(batch: list[bytes]):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "in" / "fuzz.jsonl"
        source.parent.mkdir()
        source.write_bytes(b"\n".join(batch) + b"\n")
        store = BeadStore.create_at(folder / "db" / "beads.db", actor="fuzz")
        before = _listing(folder / "in")
        try:
            try:
                report = import_jsonl(store, source)
            except GasTownError:
                return  # a one-line refusal is fine; any other exception fails the test
            accounted = (len(report.created) + len(report.updated) + len(report.unchanged)
                         + len(report.stale_skipped) + report.skipped + len(report.errors))
            # lines are split on \n by the file reader, exactly as we joined them (plus salt)
            expected = sum(_counted(raw) for raw in source.read_bytes().split(b"\n"))
            assert accounted == expected, report.as_json()
            _check_store_after(store, report)
            # and it is the same from memory (`bd import -`) as from the file
            again = import_jsonl(store, "-", lines=source.read_bytes().split(b"\n"))
            assert len(again.errors) == len(report.errors)
            _check_store_after(store, again)
        finally:
            store.close_connection()
        assert _listing(folder / "in") == before  # the source was only read
        assert {p.name for p in (folder / "db").iterdir()} <= {
            "beads.db", "beads.db-wal", "beads.db-shm"}


@FUZZ_FEW
@given(st.fixed_dictionaries({name: st.lists(lines(), max_size=3) for name in BACKUP_FILES}))
def test_import_of_a_bad_backup_folder_reports_and_keeps_the_store_whole(files):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "backup"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(b"\n".join(content))
        store = BeadStore.create_at(Path(tmp) / "beads.db", actor="fuzz")
        try:
            try:
                report = import_jsonl(store, folder)
            except GasTownError:
                return
            _check_store_after(store, report)
        finally:
            store.close_connection()


# ---------------------------------------------------------------------------- fields
def _first_line(text: str) -> str:
    return text.splitlines()[0] if text.splitlines() else ""


prose = st.lists(st.text(max_size=40).map(_first_line)
                 .filter(lambda line: not _LINE.match(line.strip())), max_size=6)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@FUZZ
@given(prose, st.dictionaries(keys, st.text(max_size=30) | st.none(), max_size=5),
       st.dictionaries(keys, st.text(max_size=30) | st.none(), max_size=5))
@example(["Fix the parser", "", "It breaks on tabs."], {"branch": "x\nagent_state: nuked"}, {})
@example(["prose"], {"a": "\u2028b: 1"}, {"a": "ok"})
def test_set_fields_round_trip_keeps_the_prose(lines_, first, second):
    description = "\n".join(lines_)
    updated = set_fields(set_fields(description, first), second)
    expected = {k: v for k, v in first.items()}
    expected.update(second)
    parsed = parse_fields(updated)
    for key, value in expected.items():
        want = " ".join(re.split(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+", value or "")).strip()
        assert parsed[key] == ("" if want == "null" else want), (key, value, updated)
    # no value ever turned into another field
    assert set(parsed) == set(expected) | set(parse_fields(description))
    kept = [line for line in updated.splitlines() if not _LINE.match(line.strip()) and line]
    assert kept == [line for line in lines_ if line]


# ---------------------------------------------------------------------------- names
NASTY_PARTS = ["../", "..", "/", "\\", "\x00", "\n", "\r", "\t", " ", "~", "$(id)", "`id`", ";",
               "*", "'", "\"", "\u2215", "\uff0f", "\uff0e\uff0e", "\u2024\u2024", "\u0430",
               "\uff47", "\u200b", "\u202e", "é", "ǅ", "\ufeff", ":", "%2e%2e", "-", "_"]
nasty = (st.text(max_size=80)
         | st.lists(st.sampled_from(NASTY_PARTS) | st.sampled_from(["gastown", "toast", "gt"]),
                    max_size=8).map("".join)
         | st.sampled_from(["", ".", "..", "/etc/passwd", "gastown\n", "toast\x00", "a" * 65,
                            "a" * 5000, "hq", "HQ", "mayor", "polecats", "gastown/../x",
                            "\uff47\uff41\uff53\uff54\uff4f\uff57\uff4e"]))
SAFE = re.compile(r"[A-Za-z0-9_.\-]+")


def _safe_component(value: str) -> None:
    assert SAFE.fullmatch(value), repr(value)
    assert ".." not in value and not value.startswith(("-", ".")), repr(value)


@FUZZ
@given(nasty)
def test_validators_refuse_or_return_a_plain_name(text: str):
    for validate in (validate_rig_name, validate_agent_name, validate_prefix, validate_bead_id):
        try:
            value = validate(text)
        except InvalidNameError as exc:
            assert len(str(exc).splitlines()) == 1, repr(str(exc))  # the input shown escaped
            continue
        assert value == text
        _safe_component(value)


@FUZZ
@given(st.lists(nasty | st.sampled_from(["gastown", "toast", "polecats", "crew", "witness"]),
                min_size=1, max_size=4).map("/".join) | nasty)
@example("gastown/polecats/../../etc")
@example("gastown/toast\n")
@example("/gastown/toast")
def test_addresses_refuse_or_parse_to_plain_parts(text: str):
    try:
        addr = parse_address(text)
    except InvalidNameError:
        try:
            normalize_mail_address(text)
        except InvalidNameError:
            return
        assert text.strip() in ("overseer", "human", "--human")
        return
    for part in (addr.rig, addr.name):
        if part is not None:
            _safe_component(part)
    for rendered in (str(addr), addr.mail_identity):
        assert ".." not in rendered and not rendered.startswith("/")
        assert all(SAFE.fullmatch(p) for p in rendered.rstrip("/").split("/"))
    _safe_component(addr.session_name("gt"))
    _safe_component(addr.agent_bead_id("gt"))


# ---------------------------------------------------------------------------- nudge text
controls = st.sampled_from(["\x1b[31m", "\x1b]0;owned\x07", "\x1bP+q\x1b\\", "\x1b", "\x03",
                            "\x04", "\r", "\n", "\r\n", "\t", "\x7f", "\x9b2J", "\x15", "\x00",
                            "\ud800", "\udcff", "C-c", "Enter", "$(id)", "`id`", "; rm -rf x", "\\"])
nudge_text = st.lists(st.text(max_size=10) | controls, max_size=12).map("".join)


@FUZZ
@given(nudge_text | st.binary(max_size=40))
@example("hello\x1b[2J\x1b]52;c;ZWNobw==\x07 world\r\nnext")
def test_sanitized_nudge_text_has_no_control_characters(text):
    clean = sanitize_text(text)
    assert not [c for c in clean if unicodedata.category(c) in ("Cc", "Cs")], repr(clean)
    assert sanitize_text(clean) == clean
    if isinstance(text, str) and not any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        assert clean == text  # plain text is delivered exactly as written
