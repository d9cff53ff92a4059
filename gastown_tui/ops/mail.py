"""Mail: beads in the town store labelled gt:message; open is unread, closed is archived."""

from __future__ import annotations

import secrets
from typing import Any

from gastown_tui.town.errors import BeadNotFoundError, InvalidNameError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import normalize_mail_address
from gastown_tui.town.store import BeadStore

PRIORITY_NAMES = {0: "urgent", 1: "high", 2: "normal", 3: "low", 4: "low"}
MSG_TYPES = ("task", "escalation", "scavenge", "notification", "reply")


def _label_value(labels: list[str], key: str) -> str:
    for label in labels:
        if label.startswith(key + ":"):
            return label[len(key) + 1:]
    return ""


def as_message(bead: dict[str, Any]) -> dict[str, Any]:
    labels = bead.get("labels", [])
    return {
        "id": bead["id"], "from": _label_value(labels, "from"), "to": bead.get("assignee", ""),
        "subject": bead["title"], "body": bead.get("description", ""),
        "timestamp": bead["created_at"],
        "read": bead["status"] == "closed" or "read" in labels,
        "archived": bead["status"] == "closed",
        "priority": PRIORITY_NAMES.get(bead.get("priority", 2), "normal"),
        "type": _label_value(labels, "msg-type") or "notification",
        "thread_id": _label_value(labels, "thread"),
        "reply_to": _label_value(labels, "reply-to"),
        "cc": [lab[3:] for lab in labels if lab.startswith("cc:")],
    }


def send(town: Town, store: BeadStore, to: str, subject: str, body: str = "", *,
         sender: str | None = None, priority: int = 2, msg_type: str = "notification",
         cc: list[str] | None = None, reply_to: str | None = None) -> dict[str, Any]:
    if not subject.strip():
        raise ValidationError("mail needs a subject", fix="pass -s 'subject'")
    if msg_type not in MSG_TYPES:
        raise ValidationError(f"unknown message type {msg_type!r}", fix=f"use {', '.join(MSG_TYPES)}")
    if to.startswith(("queue:", "channel:")):
        raise ValidationError(f"{to} is a queue or channel, not a mailbox",
                              fix=f"gt mail send {to} (ops.mail_routes.send_routed)")
    recipient = _known(town, normalize_mail_address(to))
    from_addr = normalize_mail_address(sender) if sender else _self_identity(store)
    thread = f"thread-{secrets.token_hex(6)}"
    if reply_to:
        original = store.get(reply_to)
        thread = _label_value(original.get("labels", []), "thread") or thread
    labels = ["gt:message", f"from:{from_addr}", f"msg-type:{msg_type}", f"thread:{thread}"]
    if reply_to:
        labels.append(f"reply-to:{reply_to}")
    for addr in cc or []:
        labels.append(f"cc:{_known(town, normalize_mail_address(addr))}")
    # bd's built-in message type keeps mail out of ready work; the gt:message label is the key.
    bead = store.create(subject, prefix="hq", description=body, assignee=recipient,
                        issue_type="message",
                        priority=priority, labels=labels, fields={"sender": from_addr})
    log_event(town.root, "mail", actor=from_addr,
              payload={"to": recipient, "subject": subject, "id": bead["id"]})
    return as_message(bead)


def _known(town: Town, address: str) -> str:
    """An address in a rig this town has (mail to a rig that does not exist would wait
    forever, unread by anyone)."""
    rig = address.split("/", 1)[0] if "/" in address.rstrip("/") else ""
    if rig:
        town.rig(rig)  # UnknownRigError names the rigs there are
    return address


def _self_identity(store: BeadStore) -> str:
    try:
        return normalize_mail_address(store.actor)
    except InvalidNameError:
        return "overseer"  # a human at the keyboard, not an agent


def identity(address: str | None, store: BeadStore) -> str:
    return normalize_mail_address(address) if address else _self_identity(store)


def inbox(store: BeadStore, address: str, *, include_read: bool = True,
          include_archived: bool = False) -> list[dict[str, Any]]:
    statuses = None if include_archived else ["open", "hooked", "in_progress"]
    beads = store.list_issues(labels=["gt:message"], assignee=address, statuses=statuses,
                              include_all=include_archived, include_infra=True, limit=0,
                              sort="oldest", counts=False)
    cc = store.list_issues(labels=["gt:message", f"cc:{address}"], statuses=statuses,
                           include_all=include_archived, include_infra=True, limit=0,
                           sort="oldest", counts=False)
    seen = {b["id"] for b in beads}
    beads.extend(b for b in cc if b["id"] not in seen)
    messages = [as_message(b) for b in beads]
    if not include_read:
        messages = [m for m in messages if not m["read"]]
    return messages


def resolve(store: BeadStore, address: str, ref: str) -> str:
    """A message id, or a 1-based index into the inbox as `gt mail inbox` numbers it."""
    if ref.isdigit():
        messages = inbox(store, address)
        index = int(ref)
        if not 1 <= index <= len(messages):
            raise BeadNotFoundError(f"no message #{index} in {address}'s inbox ({len(messages)} messages)",
                                    fix="see 'gt mail inbox'")
        return messages[index - 1]["id"]
    bead = store.get(ref)
    if "gt:message" not in bead.get("labels", []):
        raise ValidationError(f"{ref} is not a mail message", fix="see 'gt mail inbox'")
    return ref


def read(store: BeadStore, address: str, ref: str) -> dict[str, Any]:
    msg_id = resolve(store, address, ref)
    bead = store.get(msg_id)
    if "read" not in bead.get("labels", []) and bead["status"] != "closed":
        store.add_label(msg_id, "read")
        bead = store.get(msg_id)
    return as_message(bead)


def archive(town: Town, store: BeadStore, address: str, refs: list[str]) -> list[str]:
    ids = [resolve(store, address, ref) for ref in refs]
    done = []
    for msg_id in ids:
        if store.get(msg_id)["status"] != "closed":
            store.set_status(msg_id, "closed", reason="archived", force=True)
        done.append(msg_id)
    log_event(town.root, "mail_archive", actor=address, payload={"ids": done})
    return done


def mark_read(store: BeadStore, address: str, refs: list[str]) -> list[str]:
    ids = [resolve(store, address, ref) for ref in refs]
    for msg_id in ids:
        if "read" not in store.get(msg_id).get("labels", []):
            store.add_label(msg_id, "read")
    return ids


def mark_unread(store: BeadStore, address: str, refs: list[str]) -> list[str]:
    ids = [resolve(store, address, ref) for ref in refs]
    for msg_id in ids:
        store.update(msg_id, remove_labels=["read", "delivered"])
    return ids


def delete(town: Town, store: BeadStore, address: str, refs: list[str]) -> list[str]:
    """Upstream's delete; here a message is archived with the label `deleted`, never erased
    (`gt mail inbox --all` still lists it)."""
    ids = [resolve(store, address, ref) for ref in refs]
    for msg_id in ids:
        store.add_label(msg_id, "deleted")
    return archive(town, store, address, ids)


def undelivered(store: BeadStore, address: str) -> list[dict[str, Any]]:
    """Unread messages the agent has not been shown yet by `gt mail check --inject`."""
    beads = {b["id"]: b for b in store.list_issues(
        labels=["gt:message"], assignee=address, statuses=["open", "hooked", "in_progress"],
        include_infra=True, limit=0, sort="oldest", counts=False)}
    out = []
    for message in inbox(store, address, include_read=False):
        bead = beads.get(message["id"])
        if bead is None or "delivered" not in bead.get("labels", []):
            out.append(message)
    return out


def acknowledge(store: BeadStore, ids: list[str]) -> None:
    for msg_id in ids:
        store.add_label(msg_id, "delivered")


def format_injection(messages: list[dict[str, Any]]) -> str:
    """A <system-reminder> block in upstream's three tiers (urgent interrupts, high waits for
    the task boundary, the rest is informational)."""
    if not messages:
        return ""
    urgent = [m for m in messages if m["priority"] == "urgent"]
    high = [m for m in messages if m["priority"] == "high"]
    normal = [m for m in messages if m["priority"] not in ("urgent", "high")]

    def listed(items: list[dict[str, Any]]) -> list[str]:
        return [f"- {m['id']} from {m['from']}: {m['subject']}" for m in items]

    lines = ["<system-reminder>"]
    if urgent:
        lines += [f"URGENT: {len(urgent)} urgent message(s) require immediate attention.", "",
                  *listed(urgent)]
        if high:
            lines += ["", f"Also {len(high)} high-priority message(s) — process before going "
                          "idle:", *listed(high)]
        if normal:
            lines += ["", f"(Plus {len(normal)} additional message(s) — check after current "
                          "task.)"]
        lines += ["", "Run 'gt mail read <id>' to read urgent messages."]
    elif high:
        lines += [f"You have {len(high)} high-priority message(s) in your inbox.", "",
                  *listed(high)]
        if normal:
            lines += ["", f"(Plus {len(normal)} additional message(s).)"]
        lines += ["", "Continue your current task. When it completes, process these messages",
                  "before going idle: 'gt mail inbox'"]
    else:
        lines += [f"You have {len(normal)} unread message(s) in your inbox.", "",
                  *listed(normal), "",
                  "Continue your current task. When it completes, check these messages",
                  "before going idle: 'gt mail inbox'"]
    lines.append("</system-reminder>")
    return "\n".join(lines) + "\n"
