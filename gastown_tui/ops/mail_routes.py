"""Mail beyond one recipient: queues (one message, claimed by one worker) and channels (a
message kept on the channel and copied to each subscriber), as upstream (internal/mail/
router.go, internal/beads/beads_queue.go, beads_channel.go, internal/cmd/mail_queue.go).

A queue is a bead `hq-q-<name>` (type queue, label gt:queue) whose `key: value` fields hold
`name`, `claim_pattern` (who may claim: `*`, `gastown/polecats/*`, `*/witness`, an address),
`status`; a message to `queue:<name>` is one mail bead assigned `queue:<name>`, labelled
`queue:<name>`; `gt mail claim` adds `claimed-by:<caller>` and `claimed-at:<time>` to the
oldest unclaimed one, `gt mail release` takes them off. A channel is `hq-channel-<name>`
(label gt:channel) with `subscribers`, `retention_count`, `retention_hours`; a message to
`channel:<name>` is kept there (labelled `channel:<name>`) and copied to each subscriber with
the subject `[channel:<name>] …`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from gastown_tui.town.errors import BeadNotFoundError, ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields, set_fields
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.locks import try_lock
from gastown_tui.town.store import BeadStore

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")


def _name(name: str, kind: str) -> str:
    if not _NAME.match(name or ""):
        raise ValidationError(f"invalid {kind} name {name!r}: lowercase letters, digits, '-' "
                              "and '_'", fix="pick a name such as 'work-requests'")
    return name


def match_claim_pattern(pattern: str, identity: str) -> bool:
    """Upstream's MatchClaimPattern: `*`, an exact address, or one `*` standing for one path
    segment (`gastown/polecats/*`, `*/witness`)."""
    if pattern in ("*", identity):
        return True
    if pattern.count("*") == 1:
        prefix, suffix = pattern.split("*")
        if identity.startswith(prefix) and identity.endswith(suffix) \
                and len(identity) >= len(prefix) + len(suffix):
            return "/" not in identity[len(prefix):len(identity) - len(suffix)]
    return False


def _caller_forms(caller: str) -> list[str]:
    """The caller as a pattern may name it: its full address and its mail form."""
    from gastown_tui.town.names import normalize_mail_address, parse_address

    forms = [caller]
    try:
        addr = parse_address(caller)
        forms += [str(addr), normalize_mail_address(caller)]
    except GasTownError:
        pass
    return list(dict.fromkeys(forms))


def routed(to: str) -> bool:
    return to.startswith(("queue:", "channel:"))


def send_routed(town: Town, store: BeadStore, to: str, subject: str, body: str, *,
                sender: str | None, priority: int = 2) -> dict[str, Any]:
    """`gt mail send queue:<name>` (one claimable copy) or `channel:<name>` (the fan-out)."""
    from gastown_tui.ops.mail import _self_identity
    from gastown_tui.town.names import normalize_mail_address

    if not subject.strip():
        raise ValidationError("mail needs a subject", fix="pass -s 'subject'")
    who = normalize_mail_address(sender) if sender else _self_identity(store)
    kind, _, name = to.partition(":")
    deliver = send_to_queue if kind == "queue" else post
    return deliver(town, store, name, subject, body, sender=who, priority=priority)


# ---------------------------------------------------------------------------- queues
def queue_id(name: str) -> str:
    return f"hq-q-{name}"


def create_queue(town: Town, store: BeadStore, name: str, claimers: str,
                 actor: str) -> dict[str, Any]:
    _name(name, "queue")
    if not claimers.strip():
        raise ValidationError("a queue needs --claimers", fix="e.g. --claimers '*' or "
                              "--claimers 'gastown/polecats/*'")
    if store.exists(queue_id(name)):
        raise ConflictError(f"queue {name} already exists", fix="gt mail queue show " + name)
    description = set_fields(f"Queue {name}\n", {
        "name": name, "claim_pattern": claimers.strip(), "status": "active",
        "created_by": actor, "created_at": now_rfc3339()})
    store.create(f"Queue: {name}", prefix="hq", bead_id=queue_id(name), issue_type="queue",
                 description=description, labels=["gt:queue"])
    log_event(town.root, "queue_created", actor=actor, payload={"queue": name})
    return queue(store, name)


def _queue_bead(store: BeadStore, name: str) -> dict[str, Any]:
    _name(name, "queue")
    try:
        bead = store.get(queue_id(name))
    except BeadNotFoundError as exc:
        raise ValidationError(f"unknown queue: {name}",
                              fix="see gt mail queue list, or create it") from exc
    if bead["status"] == "closed":
        raise ValidationError(f"queue {name} was deleted", fix="create it again")
    return bead


def _messages(store: BeadStore, label: str) -> list[dict[str, Any]]:
    from gastown_tui.ops.mail import as_message

    beads = store.list_issues(labels=["gt:message", label], statuses=["open"], limit=0,
                              include_infra=True, sort="oldest", counts=False)
    out = []
    for bead in beads:
        msg = as_message(bead)
        labels = bead.get("labels", [])
        msg["claimed_by"] = next((x[11:] for x in labels if x.startswith("claimed-by:")), "")
        msg["claimed_at"] = next((x[11:] for x in labels if x.startswith("claimed-at:")), "")
        msg["labels"] = labels
        out.append(msg)
    return out


def queue(store: BeadStore, name: str) -> dict[str, Any]:
    bead = _queue_bead(store, name)
    fields = parse_fields(bead.get("description", ""))
    messages = _messages(store, f"queue:{name}")
    return {"id": bead["id"], "name": name, "claim_pattern": fields.get("claim_pattern", "*"),
            "status": fields.get("status", "active"), "created_by": fields.get("created_by", ""),
            "created_at": fields.get("created_at", ""),
            "available_count": sum(1 for m in messages if not m["claimed_by"]),
            "processing_count": sum(1 for m in messages if m["claimed_by"]),
            "messages": [{k: m[k] for k in ("id", "subject", "from", "timestamp", "priority",
                                            "claimed_by", "claimed_at")} for m in messages]}


def queues(store: BeadStore) -> list[dict[str, Any]]:
    out = []
    for bead in store.list_issues(labels=["gt:queue"], statuses=["open"], limit=0,
                                  include_infra=True, sort="id", counts=False):
        name = parse_fields(bead.get("description", "")).get("name") or bead["id"][5:]
        try:
            out.append(queue(store, name))
        except GasTownError:
            continue
    return out


def delete_queue(town: Town, store: BeadStore, name: str, actor: str) -> None:
    bead = _queue_bead(store, name)
    store.set_status(bead["id"], "closed", reason=f"deleted by {actor}", force=True)
    log_event(town.root, "queue_deleted", actor=actor, payload={"queue": name})


def send_to_queue(town: Town, store: BeadStore, name: str, subject: str, body: str, *,
                  sender: str, priority: int = 2) -> dict[str, Any]:
    from gastown_tui.ops.mail import as_message

    _queue_bead(store, name)
    bead = store.create(subject, prefix="hq", description=body, assignee=f"queue:{name}",
                        issue_type="message", priority=priority,
                        labels=["gt:message", f"from:{sender}", f"queue:{name}"],
                        fields={"sender": sender})
    log_event(town.root, "mail", actor=sender,
              payload={"to": f"queue:{name}", "subject": subject, "id": bead["id"]})
    return as_message(bead)


def _queue_lock(town: Town, name: str):
    return try_lock(town.runtime_dir / "locks" / "mail-queue" / f"{name}.flock",
                    busy=f"queue {name} is being claimed from", fix="try again",
                    town_root=town.root)


def _locked(town: Town, name: str, work):
    """Run `work` under the queue's lock, waiting up to 10 s for another claimer."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with _queue_lock(town, name):
                return work()
        except ConflictError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def claim(town: Town, store: BeadStore, caller: str, name: str | None = None
          ) -> tuple[str, dict[str, Any] | None]:
    """(queue, the message claimed) from `name`, or from the first queue the caller may claim
    from; None when there is nothing to claim. One claimer at a time per queue."""
    forms = _caller_forms(caller)
    if name is not None:
        info = queue(store, name)
        if not any(match_claim_pattern(info["claim_pattern"], f) for f in forms):
            raise ValidationError(f"not eligible to claim from queue {name} (caller: {caller}, "
                                  f"pattern: {info['claim_pattern']})",
                                  fix="ask the queue's owner, or claim from another queue")
        candidates = [name]
    else:
        candidates = [q["name"] for q in queues(store)
                      if any(match_claim_pattern(q["claim_pattern"], f) for f in forms)]
    for qname in candidates:
        def take(qname: str = qname) -> dict[str, Any] | None:
            for msg in _messages(store, f"queue:{qname}"):
                if not msg["claimed_by"]:
                    store.relabel(msg["id"], add=(f"claimed-by:{caller}",
                                                  f"claimed-at:{now_rfc3339()}"))
                    return msg
            return None

        got = _locked(town, qname, take)
        if got is not None:
            log_event(town.root, "queue_claimed", actor=caller,
                      payload={"queue": qname, "message": got["id"]})
            return qname, got
    return (name or ""), None


def release(town: Town, store: BeadStore, caller: str, msg_id: str) -> str:
    bead = store.get(msg_id)
    labels = bead.get("labels", [])
    qname = next((x[6:] for x in labels if x.startswith("queue:")), "")
    if not qname:
        raise ValidationError(f"{msg_id} is not a queue message", fix="gt mail queue list")
    claimed = [x for x in labels if x.startswith("claimed-by:")]
    if not claimed:
        raise ValidationError(f"{msg_id} is not claimed", fix="nothing to release")
    if not any(x[11:] in _caller_forms(caller) for x in claimed):
        raise ValidationError(f"{msg_id} was claimed by {claimed[0][11:]}, not {caller}",
                              fix="only its claimer releases it")

    def drop() -> None:
        store.relabel(msg_id, remove=tuple(x for x in labels
                                           if x.startswith(("claimed-by:", "claimed-at:"))))

    _locked(town, qname, drop)
    log_event(town.root, "queue_released", actor=caller,
              payload={"queue": qname, "message": msg_id})
    return qname


# ---------------------------------------------------------------------------- channels
def channel_id(name: str) -> str:
    return f"hq-channel-{name}"


def _channel_bead(store: BeadStore, name: str) -> dict[str, Any]:
    _name(name, "channel")
    try:
        bead = store.get(channel_id(name))
    except BeadNotFoundError as exc:
        raise ValidationError(f"unknown channel: {name}",
                              fix="see gt mail channel list, or create it") from exc
    if bead["status"] == "closed":
        raise ValidationError(f"channel {name} was deleted", fix="create it again")
    return bead


def _subscribers(fields: dict[str, str]) -> list[str]:
    return [s for s in (fields.get("subscribers") or "").split(",") if s.strip()]


def create_channel(town: Town, store: BeadStore, name: str, actor: str, *,
                   retain_count: int = 0, retain_hours: int = 0) -> dict[str, Any]:
    _name(name, "channel")
    if store.exists(channel_id(name)):
        raise ConflictError(f"channel {name} already exists", fix="gt mail channel show " + name)
    description = set_fields(f"Channel {name}\n", {
        "name": name, "subscribers": "", "status": "active",
        "retention_count": str(max(0, retain_count)),
        "retention_hours": str(max(0, retain_hours)),
        "created_by": actor, "created_at": now_rfc3339()})
    store.create(f"Channel: {name}", prefix="hq", bead_id=channel_id(name), issue_type="event",
                 description=description, labels=["gt:channel"])
    log_event(town.root, "channel_created", actor=actor, payload={"channel": name})
    return channel(store, name)


def channel(store: BeadStore, name: str, *, messages: bool = True) -> dict[str, Any]:
    bead = _channel_bead(store, name)
    fields = parse_fields(bead.get("description", ""))
    out = {"id": bead["id"], "name": name, "subscribers": _subscribers(fields),
           "status": fields.get("status", "active"),
           "retention_count": int(fields.get("retention_count") or 0),
           "retention_hours": int(fields.get("retention_hours") or 0),
           "created_by": fields.get("created_by", ""), "created_at": fields.get("created_at", "")}
    if messages:
        out["messages"] = [{k: m[k] for k in ("id", "subject", "body", "from", "timestamp")}
                           for m in _messages(store, f"channel:{name}")]
    return out


def channels(store: BeadStore) -> list[dict[str, Any]]:
    out = []
    for bead in store.list_issues(labels=["gt:channel"], statuses=["open"], limit=0,
                                  include_infra=True, sort="id", counts=False):
        name = parse_fields(bead.get("description", "")).get("name") or bead["id"][11:]
        try:
            found = channel(store, name)
        except GasTownError:
            continue
        found["message_count"] = len(found.pop("messages"))
        out.append(found)
    return out


def delete_channel(town: Town, store: BeadStore, name: str, actor: str) -> None:
    bead = _channel_bead(store, name)
    store.set_status(bead["id"], "closed", reason=f"deleted by {actor}", force=True)
    log_event(town.root, "channel_deleted", actor=actor, payload={"channel": name})


def subscribe(town: Town, store: BeadStore, name: str, address: str, *, on: bool = True
              ) -> list[str]:
    from gastown_tui.ops.mail import _known
    from gastown_tui.town.names import normalize_mail_address

    who = _known(town, normalize_mail_address(address)) if on else normalize_mail_address(address)
    bead = _channel_bead(store, name)
    subs = _subscribers(parse_fields(bead.get("description", "")))
    if on and who not in subs:
        subs.append(who)
    elif not on and who in subs:
        subs.remove(who)
    else:
        return subs
    store.update(bead["id"], description_fields={"subscribers": ",".join(subs)})
    log_event(town.root, "channel_subscribed" if on else "channel_unsubscribed", actor=who,
              payload={"channel": name})
    return subs


def post(town: Town, store: BeadStore, name: str, subject: str, body: str, *, sender: str,
         priority: int = 2) -> dict[str, Any]:
    """Keep the message on the channel, copy it to each subscriber, apply the retention."""
    from gastown_tui.ops.mail import as_message, send

    info = channel(store, name, messages=False)
    bead = store.create(subject, prefix="hq", description=body, assignee=f"channel:{name}",
                        issue_type="message", priority=priority,
                        labels=["gt:message", f"from:{sender}", f"channel:{name}"],
                        fields={"sender": sender})
    copies = []
    for subscriber in info["subscribers"]:
        if subscriber == sender:
            continue
        copies.append(send(town, store, subscriber, f"[channel:{name}] {subject}", body,
                           sender=sender, priority=priority)["id"])
    _retain(store, name, info["retention_count"], info["retention_hours"])
    log_event(town.root, "mail", actor=sender,
              payload={"to": f"channel:{name}", "subject": subject, "id": bead["id"],
                       "copies": copies})
    return {**as_message(bead), "copies": copies}


def _retain(store: BeadStore, name: str, count: int, hours: int) -> None:
    kept = _messages(store, f"channel:{name}")
    cutoff = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ") \
        if hours else ""
    drop = [m for m in kept if cutoff and m["timestamp"] < cutoff]
    alive = [m for m in kept if m not in drop]
    if count and len(alive) > count:
        drop += alive[:len(alive) - count]
    for m in drop:
        store.set_status(m["id"], "closed", reason="channel retention", force=True)
