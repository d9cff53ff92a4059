"""Plugins (upstream gastown's internal/plugin, cmd/plugin.go): periodic automation the
Deacon hands to dogs.

A plugin is a directory `<town>/plugins/<name>/` (or `<rig>/plugins/<name>/`, which wins)
holding `plugin.md`: TOML frontmatter between `+++` lines (name, description, version,
[gate], [tracking], [execution]) and markdown instructions, and optionally `run.sh`, which is
then run as it is instead of the instructions being interpreted.

Gates decide when it runs: `cooldown` (not run within `duration`), `cron` (`schedule`, five
fields), `condition` (`check` exits 0), `event` (`on = "startup"`: once, when never run),
`manual` (only `gt plugin run`). Each run leaves a receipt: a closed wisp labelled
`type:plugin-run`, `plugin:<name>`, `result:<success|failure|skipped>`, which `gt plugin
history` lists and cooldowns count."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town.durations import parse_duration
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

GATE_TYPES = ("cooldown", "cron", "condition", "event", "manual")
RESULTS = ("success", "failure", "skipped")
CHECK_TIMEOUT = 30.0
DEFAULT_RUN_TIMEOUT = 600.0


@dataclass
class Plugin:
    name: str
    description: str = ""
    version: int = 0
    location: str = "town"
    path: str = ""
    rig_name: str = ""
    gate: dict[str, Any] | None = None
    tracking: dict[str, Any] | None = None
    execution: dict[str, Any] | None = None
    instructions: str = ""
    has_run_script: bool = False

    @property
    def gate_type(self) -> str:
        return str((self.gate or {}).get("type") or "manual")

    @property
    def execution_type(self) -> str:
        kind = str((self.execution or {}).get("type") or "")
        return kind or ("script" if self.has_run_script else "")

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", False)
               or k in ("name", "location", "path", "version")}
        return out

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "location": self.location,
                **({"rig_name": self.rig_name} if self.rig_name else {}),
                "gate_type": self.gate_type,
                **({"execution_type": self.execution_type} if self.execution_type else {}),
                "path": self.path}

    def mail_body(self) -> str:
        """Upstream's FormatMailBody: what the dog is told to do."""
        if self.has_run_script:
            return (f"Execute the following plugin script:\n\n**Plugin**: {self.name}\n"
                    f"**Description**: {self.description}\n\n```bash\ncd {self.path} && "
                    "bash run.sh\n```\n\nRun this command EXACTLY. Do NOT interpret the "
                    "plugin.md instructions.\n\nAfter completion:\n1. The run is recorded for "
                    "you (gt plugin history shows it).\n2. Run `gt dog done`.\n")
        lines = ["Execute the following plugin:", "", f"**Plugin**: {self.name}",
                 f"**Description**: {self.description}"]
        if self.rig_name:
            lines.append(f"**Rig**: {self.rig_name}")
        if (self.execution or {}).get("timeout"):
            lines.append(f"**Timeout**: {self.execution['timeout']}")
        lines += ["", "---", "", "## Instructions", "", self.instructions, "", "---", "",
                  "After completion:",
                  "1. Record a receipt: `bd create --ephemeral -l type:plugin-run -l "
                  f"plugin:{self.name} -l result:<success|failure> \"Plugin run: {self.name}\"`",
                  "2. Run `gt dog done`."]
        return "\n".join(lines)


def parse_plugin_md(text: str, path: Path, location: str, rig: str = "") -> Plugin:
    start = text.find("+++")
    if start < 0:
        raise ValidationError(f"{path}/plugin.md has no TOML frontmatter (no opening +++)",
                              fix="start the file with +++, name = \"...\", then +++")
    end = text.find("+++", start + 3)
    if end < 0:
        raise ValidationError(f"{path}/plugin.md has no closing +++",
                              fix="close the frontmatter with a line +++")
    try:
        front = tomllib.loads(text[start + 3:end])
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}/plugin.md frontmatter is not TOML ({exc})",
                              fix="fix the TOML between the +++ lines") from exc
    name = str(front.get("name") or "")
    if not name:
        raise ValidationError(f"{path}/plugin.md has no name", fix='add name = "<plugin>"')
    gate = front.get("gate") if isinstance(front.get("gate"), dict) else None
    if gate is not None and gate.get("type", "manual") not in GATE_TYPES:
        raise ValidationError(f"plugin {name}: unknown gate type {gate.get('type')!r}",
                              fix=f"use one of: {', '.join(GATE_TYPES)}")
    return Plugin(name=name, description=str(front.get("description") or ""),
                  version=int(front.get("version") or 0), location=location, path=str(path),
                  rig_name=rig, gate=gate,
                  tracking=front.get("tracking") if isinstance(front.get("tracking"), dict)
                  else None,
                  execution=front.get("execution") if isinstance(front.get("execution"), dict)
                  else None,
                  instructions=text[end + 3:].strip(),
                  has_run_script=(path / "run.sh").is_file())


def _load(path: Path, location: str, rig: str = "") -> Plugin | None:
    md = path / "plugin.md"
    if not md.is_file():
        return None
    return parse_plugin_md(md.read_text(encoding="utf-8"), path, location, rig)


def discover(town: Town) -> tuple[list[Plugin], list[str]]:
    """(plugins, problems): town plugins, then each rig's, a rig's winning a name clash. A
    plugin that does not parse is a problem reported, never silently dropped."""
    found: dict[str, Plugin] = {}
    problems: list[str] = []
    places = [(town.root / "plugins", "town", "")]
    places += [(rig.path / "plugins", "rig", rig.name) for rig in town.rigs()]
    for base, location, rig in places:
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if not child.is_dir() or child.name.startswith("."):
                continue
            try:
                plugin = _load(child, location, rig)
            except GasTownError as exc:
                problems.append(exc.problem)
                continue
            if plugin is not None:
                found[plugin.name] = plugin
    return sorted(found.values(), key=lambda p: p.name), problems


def get(town: Town, name: str) -> Plugin:
    for rig in town.rigs():
        plugin = _load(rig.path / "plugins" / name, "rig", rig.name) \
            if (rig.path / "plugins" / name).is_dir() else None
        if plugin is not None:
            return plugin
    path = town.root / "plugins" / name
    plugin = _load(path, "town") if path.is_dir() else None
    if plugin is None:
        raise GasTownError(f"plugin not found: {name}",
                           fix="see gt plugin list (a plugin is <town>/plugins/<name>/plugin.md)")
    return plugin


# ---------------------------------------------------------------------------- receipts
def record_run(town: Town, store: BeadStore, plugin: Plugin, result: str, body: str = "",
               *, by: str = "") -> str:
    if result not in RESULTS:
        raise ValidationError(f"unknown result {result!r}", fix=f"use {', '.join(RESULTS)}")
    labels = ["type:plugin-run", f"plugin:{plugin.name}", f"result:{result}"]
    if plugin.rig_name:
        labels.append(f"rig:{plugin.rig_name}")
    labels += [str(x) for x in ((plugin.tracking or {}).get("labels") or [])
               if str(x) not in labels]
    receipt = store.create(f"Plugin run: {plugin.name}", prefix="hq", description=body,
                           ephemeral=True, status="closed", labels=labels,
                           fields={"close_reason": "plugin run recorded"})
    log_event(town.root, "plugin_run", actor=by or store.actor,
              payload={"plugin": plugin.name, "result": result, "receipt": receipt["id"]})
    return receipt["id"]


def runs(store: BeadStore, name: str, *, since_seconds: float | None = None
         ) -> list[dict[str, Any]]:
    """Receipts of a plugin, newest first (upstream's PluginRunBead)."""
    beads = store.list_issues(labels=["type:plugin-run", f"plugin:{name}"], include_all=True,
                              include_infra=True, limit=0, sort="created", counts=False)
    out = []
    cutoff = None
    if since_seconds is not None:
        cutoff = datetime.now(UTC).timestamp() - since_seconds
    for bead in beads:
        created = datetime.fromisoformat(bead["created_at"].replace("Z", "+00:00")).timestamp()
        if cutoff is not None and created < cutoff:
            continue
        result = next((lab[7:] for lab in bead.get("labels", []) if lab.startswith("result:")),
                      "")
        out.append({"id": bead["id"], "title": bead["title"], "created_at": bead["created_at"],
                    "labels": bead.get("labels", []), "result": result})
    return out


# ---------------------------------------------------------------------------- gates
def _cron_field(spec: str, value: int, low: int, high: int) -> bool:
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(part)
        if start <= value <= end and (value - start) % step == 0:
            return True
    return False


def cron_matches(schedule: str, when: datetime) -> bool:
    """Five-field cron (minute hour day-of-month month day-of-week; *, a-b, a,b, */n)."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValidationError(f"cron schedule {schedule!r} needs five fields",
                              fix='e.g. "0 9 * * *" for 09:00 every day')
    try:
        dow = (when.weekday() + 1) % 7  # cron: 0 (or 7) is Sunday
        return (_cron_field(fields[0], when.minute, 0, 59)
                and _cron_field(fields[1], when.hour, 0, 23)
                and _cron_field(fields[2], when.day, 1, 31)
                and _cron_field(fields[3], when.month, 1, 12)
                and (_cron_field(fields[4], dow, 0, 7) or
                     (dow == 0 and _cron_field(fields[4], 7, 0, 7))))
    except ValueError as exc:
        raise ValidationError(f"cron schedule {schedule!r} has a bad field ({exc})",
                              fix="use numbers, *, a-b, a,b or */n") from exc


def gate_open(town: Town, store: BeadStore, plugin: Plugin, *, now: datetime | None = None
              ) -> tuple[bool, str]:
    """Would the plugin run now, and why (or why not)."""
    now = now or datetime.now(UTC)
    gate = plugin.gate or {}
    kind = plugin.gate_type
    if kind == "manual":
        return False, "manual gate: only gt plugin run starts it"
    if kind == "cooldown":
        duration = str(gate.get("duration") or "1h")
        seconds = parse_duration(duration, what=f"plugin {plugin.name} cooldown")
        recent = runs(store, plugin.name, since_seconds=seconds)
        if recent:
            return False, f"ran {len(recent)} time(s) within {duration} cooldown"
        return True, f"no run within {duration}"
    if kind == "cron":
        schedule = str(gate.get("schedule") or "")
        if not cron_matches(schedule, now):
            return False, f"not scheduled now ({schedule})"
        minute = now.replace(second=0, microsecond=0).timestamp()
        if runs(store, plugin.name, since_seconds=max(1.0, now.timestamp() - minute + 1)):
            return False, "already ran this minute"
        return True, f"scheduled ({schedule})"
    if kind == "condition":
        check = str(gate.get("check") or "")
        if not check:
            return False, "condition gate without a check command"
        try:
            proc = subprocess.run(shlex.split(check), cwd=plugin.path, capture_output=True,
                                  timeout=CHECK_TIMEOUT, env={**os.environ,
                                                              "GT_ROOT": str(town.root)})
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            return False, f"check failed to run: {exc}"
        return proc.returncode == 0, f"check exited {proc.returncode}"
    if kind == "event":
        if str(gate.get("on") or "") == "startup" and not runs(store, plugin.name):
            return True, "startup: never run yet"
        return False, f"waits for event {gate.get('on') or '?'}"
    return False, f"unknown gate {kind}"


# ---------------------------------------------------------------------------- running
@dataclass
class RunOutcome:
    plugin: str
    result: str
    receipt: str = ""
    output: list[str] = field(default_factory=list)
    exit_code: int | None = None
    gate: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_script(town: Town, store: BeadStore, plugin: Plugin, *, by: str = "") -> RunOutcome:
    """Run the plugin's run.sh (bash, in its directory, argument list, with its timeout) and
    record the receipt; a failure with notify_on_failure escalates."""
    timeout = DEFAULT_RUN_TIMEOUT
    if (plugin.execution or {}).get("timeout"):
        timeout = parse_duration(str(plugin.execution["timeout"]), what="plugin timeout")
    bash = shutil.which("bash") or "/bin/bash"
    env = {**os.environ, "GT_ROOT": str(town.root), "GT_TOWN_ROOT": str(town.root),
           "GT_PLUGIN": plugin.name, **({"GT_RIG": plugin.rig_name} if plugin.rig_name else {})}
    try:
        proc = subprocess.run([bash, "run.sh"], cwd=plugin.path, capture_output=True,
                              text=True, timeout=timeout, env=env)
        code, text = proc.returncode, (proc.stdout + proc.stderr)
    except subprocess.TimeoutExpired as exc:
        code, text = -1, f"timed out after {timeout:.0f}s\n{exc.stdout or ''}"
    except OSError as exc:
        code, text = -1, f"could not run: {exc}"
    result = "success" if code == 0 else "failure"
    lines = text.splitlines()[-40:]
    receipt = record_run(town, store, plugin, result,
                         f"run.sh exited {code}\n\n" + "\n".join(lines), by=by)
    if result == "failure" and (plugin.execution or {}).get("notify_on_failure"):
        from gastown_tui.ops.escalate import escalate

        escalate(town, store, f"plugin {plugin.name} failed (exit {code})",
                 severity=str((plugin.execution or {}).get("severity") or "medium"),
                 reason="\n".join(lines[-10:]), source=f"plugin:{plugin.name}",
                 related=receipt, escalated_by=by or "deacon")
    return RunOutcome(plugin.name, result, receipt, lines, code)


def due(town: Town, store: BeadStore, *, now: datetime | None = None
        ) -> list[tuple[Plugin, str]]:
    """Plugins whose gate is open now (the Deacon's plugin-run step)."""
    plugins, _ = discover(town)
    out = []
    for plugin in plugins:
        if plugin.execution_type == "exec-wrapper":
            continue  # wraps session start-up; never dispatched
        try:
            ok, why = gate_open(town, store, plugin, now=now)
        except GasTownError:
            continue
        if ok:
            out.append((plugin, why))
    return out


def sync(town: Town, source: Path, *, clean: bool = False, dry_run: bool = False
         ) -> dict[str, list[str]]:
    """Copy plugin directories from `source` into <town>/plugins (only what differs)."""
    if not source.is_dir():
        raise ValidationError(f"no plugins directory at {source}",
                              fix="pass --source <dir holding <name>/plugin.md>")
    target = town.root / "plugins"
    copied, skipped, removed = [], [], []
    names = sorted(p.name for p in source.iterdir() if (p / "plugin.md").is_file())
    for name in names:
        src, dst = source / name, target / name
        same = dst.is_dir() and all(
            (dst / f.relative_to(src)).is_file()
            and (dst / f.relative_to(src)).read_bytes() == f.read_bytes()
            for f in src.rglob("*") if f.is_file())
        if same:
            skipped.append(name)
            continue
        copied.append(name)
        if not dry_run:
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)
    if clean and target.is_dir():
        for extra in sorted(p.name for p in target.iterdir() if p.is_dir()):
            if extra not in names:
                removed.append(extra)
                if not dry_run:
                    shutil.rmtree(target / extra)
    return {"copied": copied, "skipped": skipped, "removed": removed}
