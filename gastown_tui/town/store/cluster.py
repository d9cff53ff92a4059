"""A PostgreSQL cluster inside a town (`gt install --store postgres`): initdb, pg_ctl, a unix
socket, and TCP only on a port the user names.

Layout: `<town>/.beads/pg/` holds `data/` (the cluster), `server.log`, and `cluster.json`
(port, socket directory, listen address, the OS user it runs as). The socket lives in
`<town>/.beads/pg/run` when that path is short enough for a unix socket (~100 bytes), else in
`/tmp/gtpg-<hash of the town's path>`. Local connections are trusted (the socket directory is
the cluster user's, mode 0700); TCP connections need the password made at install.

initdb and postgres refuse to run as root. Run as root, the cluster runs as an unprivileged
user ($GT_PG_USER, else Debian's `postgres`), which must be able to reach the town's directory;
if it cannot, the error says which directory stops it and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, StoreUnavailableError

DATABASE = "gastown"
ROLE = "gastown"
DEFAULT_PORT = 5432
_SOCKET_MAX = 100  # sun_path is 108 bytes; the socket file's name is '/.s.PGSQL.<port>'


def bindir() -> Path:
    """Where initdb and pg_ctl are: $GT_PG_BINDIR, pg_config --bindir, Debian's
    /usr/lib/postgresql/<newest>/bin, else PATH."""
    explicit = os.environ.get("GT_PG_BINDIR")
    candidates: list[Path] = [Path(explicit)] if explicit else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()),
                          key=lambda p: int(p.name), reverse=True)
        candidates.extend(v / "bin" for v in versions)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise GasTownError("PostgreSQL's server programs (initdb, pg_ctl) are not installed",
                       fix="install them (Debian: apt-get install postgresql) or set "
                           "GT_PG_BINDIR, or join a server with --store postgresql://…")


def available() -> bool:
    try:
        bindir()
    except GasTownError:
        return False
    return True


@dataclass(frozen=True)
class RunAs:
    """Who the cluster's programs run as: this process's user, or (as root) another one."""

    uid: int
    gid: int
    name: str

    @property
    def other(self) -> bool:
        return self.uid != os.geteuid()


def run_as() -> RunAs:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)
    name = os.environ.get("GT_PG_USER") or "postgres"
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise GasTownError(
            f"PostgreSQL will not run as root, and there is no user {name!r} to run it as",
            fix="run gt as an ordinary user, or create a system user and set GT_PG_USER to "
                "it (Debian's postgresql package makes 'postgres')") from exc
    if entry.pw_uid == 0:
        raise GasTownError("PostgreSQL will not run as root (GT_PG_USER names root)",
                           fix="set GT_PG_USER to an unprivileged user")
    return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _reachable(path: Path, who: RunAs) -> Path | None:
    """The first directory on the way to `path` that `who` cannot pass, or None."""
    if not who.other:
        return None
    groups = {who.gid}
    try:
        import grp

        groups |= {g.gr_gid for g in grp.getgrall() if who.name in g.gr_mem}
    except (ImportError, KeyError):
        pass
    for folder in [*reversed(path.parents), path]:
        try:
            st = folder.stat()
        except FileNotFoundError:
            return None
        if st.st_uid == who.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return folder
    return None


def preflight(folder: Path) -> None:
    """Refuse, before anything is made, a cluster folder its user could not reach."""
    bindir()
    who = run_as()
    folder = Path(folder).resolve()
    existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("/"))
    blocked = _reachable(existing, who)
    if blocked is not None:
        raise GasTownError(
            f"the town's PostgreSQL runs as {who.name!r} (it refuses root), and "
            f"{who.name!r} cannot enter {blocked} (mode {oct(blocked.stat().st_mode)[-3:]})",
            fix=f"put the town where {who.name!r} can reach it, 'chmod o+x {blocked}', or "
                "run gt as an ordinary user")


class Cluster:
    """The town's own cluster in `<town>/.beads/pg`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.config_file = self.folder / "cluster.json"

    @classmethod
    def of_town(cls, root: Path) -> Cluster:
        return cls(Path(root) / ".beads" / "pg")

    # ------------------------------------------------------------------ facts
    def exists(self) -> bool:
        return (self.data / "PG_VERSION").is_file() and self.config_file.is_file()

    def config(self) -> dict:
        try:
            return json.loads(self.config_file.read_text())
        except (OSError, ValueError):
            return {}

    @property
    def port(self) -> int:
        return int(self.config().get("port") or DEFAULT_PORT)

    @property
    def socket_dir(self) -> Path:
        return Path(self.config().get("socket_dir") or self._socket_dir())

    def _socket_dir(self) -> Path:
        inside = self.folder.resolve() / "run"
        if len(str(inside)) + len("/.s.PGSQL.65535") <= _SOCKET_MAX:
            return inside
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        return Path("/tmp") / f"gtpg-{digest}"

    def url(self) -> str:
        """The URL this host's processes use: the unix socket, the gastown role and database."""
        return (f"postgresql://{ROLE}@/{DATABASE}?host={quote(str(self.socket_dir), safe='/')}"
                f"&port={self.port}")

    def remote_url(self, host: str) -> str | None:
        """A URL for other hosts (TCP with the password), when the cluster listens on TCP."""
        cfg = self.config()
        if not cfg.get("listen") or not cfg.get("password"):
            return None
        return f"postgresql://{ROLE}:{cfg['password']}@{host}:{self.port}/{DATABASE}"

    def pid(self) -> int | None:
        """The postmaster's pid when it runs, else None."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0].strip()
            pid = int(first)
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def running(self) -> bool:
        return self.pid() is not None and (self.socket_dir / f".s.PGSQL.{self.port}").exists()

    # ------------------------------------------------------------------ running programs
    def _run(self, who: RunAs, program: str, *args: str, timeout: float = 60
             ) -> subprocess.CompletedProcess[str]:
        argv = [str(bindir() / program), *args]
        # Not the town's GT_*/BD_* variables: the server is no agent process of the town (gt
        # down --all ends those by their GT_ROOT); gt up/down/shutdown manage it themselves.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PG", "GT_", "BD_", "BEADS_"))}
        env["LC_ALL"] = "C"
        kwargs: dict = {}
        if who.other:
            kwargs = {"user": who.uid, "group": who.gid, "extra_groups": []}
            env["HOME"] = str(self.folder)
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  cwd=self.folder, env=env, stdin=subprocess.DEVNULL, **kwargs)
        except subprocess.TimeoutExpired as exc:
            raise StoreUnavailableError(f"{program} did not finish within {timeout:.0f}s",
                                        fix=f"see {self.log}") from exc

    def _who(self) -> RunAs:
        """The cluster's user: the data directory's owner once it exists."""
        who = run_as()
        if self.data.exists():
            st = self.data.stat()
            if st.st_uid != who.uid and os.geteuid() == 0:
                entry = pwd.getpwuid(st.st_uid)
                who = RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)
        return who

    def init(self, *, port: int | None = None, listen: str | None = None) -> None:
        """initdb (once) and the cluster's settings. Idempotent: an existing cluster stays."""
        if self.exists():
            return
        preflight(self.folder)
        who = run_as()
        self.folder.mkdir(parents=True, exist_ok=True)
        if who.other:
            os.chown(self.folder, who.uid, who.gid)
        self.folder.chmod(0o700)
        password = secrets.token_urlsafe(18) if listen else ""
        pwfile = self.folder / ".pwfile"
        args = ["-D", str(self.data), "-U", ROLE, "--encoding=UTF8", "--locale=C",
                "--auth-local=trust", "--auth-host=scram-sha-256"]
        if password:
            safe_write.write_text(pwfile, password + "\n", mode=0o600)
            if who.other:
                os.chown(pwfile, who.uid, who.gid)
            args.append(f"--pwfile={pwfile}")
        try:
            done = self._run(who, "initdb", *args, timeout=120)
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise GasTownError(f"initdb failed: {_last_line(done.stderr or done.stdout)}",
                               fix=f"see the full output by running initdb -D {self.data}")
        socket_dir = self._socket_dir()
        settings = {
            "listen_addresses": f"'{listen}'" if listen else "''",
            "port": str(port or DEFAULT_PORT),
            "unix_socket_directories": f"'{socket_dir}'",
            "unix_socket_permissions": "0700",
            # the town's few writes need little; many agents' processes need connections
            "max_connections": "200",
            "shared_buffers": "32MB",
            # a client that vanished (killed host, cut network) is dropped, never a zombie
            "idle_session_timeout": "'15min'",
            "tcp_keepalives_idle": "30",
            "logging_collector": "off",
        }
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write("\n# gastown: the town's own cluster\n")
            for key, value in settings.items():
                fh.write(f"{key} = {value}\n")
        if listen:
            with open(self.data / "pg_hba.conf", "a") as fh:
                fh.write("host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n")
        config = {"port": port or DEFAULT_PORT, "socket_dir": str(socket_dir),
                  "listen": listen or "", "user": who.name, "password": password}
        # it holds the password: never written through a link, never readable by others
        safe_write.write_text(self.config_file, json.dumps(config, indent=2) + "\n", mode=0o600)
        self.config_file.chmod(0o600)

    def start(self, timeout: float = 60) -> bool:
        """Start the server unless it runs; True if this call started it."""
        if not self.exists():
            raise GasTownError(f"no PostgreSQL cluster in {self.folder}",
                               fix="create it with 'gt install --store postgres'")
        if self.running():
            return False
        who = self._who()
        socket_dir = self.socket_dir
        socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if who.other:
            os.chown(socket_dir, who.uid, who.gid)
        if not self.log.exists():
            self.log.touch()
            if who.other:
                os.chown(self.log, who.uid, who.gid)
        done = self._run(who, "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                         "-t", str(int(timeout)), "start", timeout=timeout + 10)
        if done.returncode != 0:
            raise StoreUnavailableError(
                f"the town's PostgreSQL did not start: {_last_line(self._log_tail())}",
                fix=f"see {self.log}")
        self._ensure_database()
        return True

    def _ensure_database(self) -> None:
        from gastown_tui.town.store.libpq import PgConn, PqError

        url = (f"postgresql://{ROLE}@/postgres?host={quote(str(self.socket_dir), safe='/')}"
               f"&port={self.port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = PgConn(url, connect_timeout="5")
                break
            except PqError as exc:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(f"the town's PostgreSQL does not answer: "
                                                f"{exc.message}", fix=f"see {self.log}") from exc
                time.sleep(0.1)
        try:
            conn.execute_script("SET client_min_messages = warning;")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = $1",
                                [DATABASE]).rows:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        except PqError as exc:
            if exc.sqlstate != "42P04":  # made by a concurrent start
                raise StoreUnavailableError(f"could not create the town's database: "
                                            f"{exc.message}", fix=f"see {self.log}") from exc
        finally:
            conn.close()

    def stop(self, timeout: float = 60) -> bool:
        """Stop the server (fast: open transactions roll back); True if it was running."""
        if not self.exists() or self.pid() is None:
            return False
        done = self._run(self._who(), "pg_ctl", "-D", str(self.data), "-m", "fast", "-w",
                         "-t", str(int(timeout)), "stop", timeout=timeout + 10)
        if done.returncode != 0 and self.pid() is not None:
            raise StoreUnavailableError(
                f"the town's PostgreSQL did not stop: {_last_line(done.stderr)}",
                fix=f"see {self.log}")
        return True

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
