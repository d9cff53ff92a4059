"""SQLite schema of the bead store. Core columns are the ones queries filter on; every other bd
field (and any unknown key from an import) lives in the `data` JSON column so nothing is lost."""

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issues (
    id          TEXT PRIMARY KEY,
    prefix      TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open',
    priority    INTEGER NOT NULL DEFAULT 2,
    issue_type  TEXT NOT NULL DEFAULT 'task',
    assignee    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    closed_at   TEXT,
    defer_until TEXT,
    ephemeral   INTEGER NOT NULL DEFAULT 0,
    pinned      INTEGER NOT NULL DEFAULT 0,
    is_template INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL DEFAULT '{}',
    change_seq  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS issues_prefix_status ON issues(prefix, status);
CREATE INDEX IF NOT EXISTS issues_assignee ON issues(assignee, status);
CREATE INDEX IF NOT EXISTS issues_change_seq ON issues(change_seq);
CREATE INDEX IF NOT EXISTS issues_type ON issues(issue_type);

CREATE TABLE IF NOT EXISTS dependencies (
    issue_id      TEXT NOT NULL,
    depends_on_id TEXT NOT NULL,
    type          TEXT NOT NULL DEFAULT 'blocks',
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    metadata      TEXT NOT NULL DEFAULT '{}',
    thread_id     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue_id, depends_on_id)
);
CREATE INDEX IF NOT EXISTS deps_target ON dependencies(depends_on_id, type);

CREATE TABLE IF NOT EXISTS labels (
    issue_id TEXT NOT NULL,
    label    TEXT NOT NULL,
    PRIMARY KEY (issue_id, label)
);
CREATE INDEX IF NOT EXISTS labels_label ON labels(label);

CREATE TABLE IF NOT EXISTS comments (
    id         TEXT PRIMARY KEY,
    issue_id   TEXT NOT NULL,
    author     TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_issue ON comments(issue_id, created_at);

CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id   TEXT NOT NULL,
    event_type TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    old_value  TEXT,
    new_value  TEXT,
    comment    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_issue ON events(issue_id);

CREATE TABLE IF NOT EXISTS child_counters (
    parent_id  TEXT PRIMARY KEY,
    last_child INTEGER NOT NULL
);
"""

# The token-usage ledger (town/store/usage.py): what the agents' runtimes reported, per hour,
# and how far each transcript file has been read.
USAGE_DDL = """
CREATE TABLE IF NOT EXISTS usage (
    hour          TEXT NOT NULL,
    conversation  TEXT NOT NULL,
    cwd           TEXT NOT NULL,
    branch        TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_input_tokens     INTEGER NOT NULL DEFAULT 0,
    messages      INTEGER NOT NULL DEFAULT 0,
    last_at       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (hour, conversation, cwd, branch, model)
);
CREATE INDEX IF NOT EXISTS usage_cwd ON usage(cwd, hour);
CREATE TABLE IF NOT EXISTS usage_files (
    host    TEXT NOT NULL,
    path    TEXT NOT NULL,
    read_to INTEGER NOT NULL DEFAULT 0,
    state   TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (host, path)
);
"""

DDL += USAGE_DDL

# Beads removed for good (bd delete, a squash, a burn, KRC pruning): their ids stay here with
# the change sequence of the removal, so readers following `changed_since` learn of it. Made
# by the first delete (older stores do not have it yet; readers treat it as empty).
# pg_schema.py has the same table from the start.
DELETED_DDL = """
CREATE TABLE IF NOT EXISTS deleted_issues (
    id         TEXT PRIMARY KEY,
    issue_type TEXT NOT NULL DEFAULT '',
    labels     TEXT NOT NULL DEFAULT '[]',
    deleted_at TEXT NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deleted_change_seq ON deleted_issues(change_seq)
"""
