"""`make up` / `make down`: a real Airflow 3 on this machine, from the project's environment.

``up`` starts a PostgreSQL metadata database (its data in ``.airflow/postgres``), migrates it,
loads the pools, connections and variables of ``airflow_settings.yaml`` (what ``astro dev
start`` loads), starts the api-server, scheduler, dag-processor and triggerer, prints the UI's
address and login, and returns. Everything listens on 127.0.0.1 only: the api-server is bound
there and the scheduler's and triggerer's log servers (which bind every interface) are not
started, since the api-server reads the task logs from ``.airflow/logs`` itself. The
LocalExecutor runs at most ``PARALLELISM`` tasks at once, sized for a small machine.

``down`` stops exactly what ``up`` started, by the PIDs ``up`` recorded in ``.airflow/up.json``.

With no configuration the lake is the folder ``lake/`` and the DAGs' default source is the
offline sample market, so the UI, triggers with params, the grid of mapped chunks and catchup
work with no account and no network.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from standins.base import free_port  # noqa: E402
from standins.postgres import LocalPostgres, find_bin_dir  # noqa: E402

BIN = Path(sys.executable).parent
COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
PARALLELISM = 4
USER = "admin"


def airflow_env(home: Path, state: dict) -> dict[str, str]:
    """The environment every Airflow process of this stack runs with."""
    port, db = state["port"], state["db"]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg2://airflow:{db['password']}@127.0.0.1:{db['port']}/airflow"
        ),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__SECRET_KEY": state["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": state["jwt_secret"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # include/ too, as the Dockerfile does: this checkout's library, whichever is installed
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("include", "plugins", "dags")),
    }
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _state_file(home: Path) -> Path:
    return home / "up.json"


def _airflow(env: dict[str, str], *args: str, log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(
            [str(BIN / "airflow"), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed (exit {done.returncode}); see {log}")


def _wait_healthy(base: str, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v2/monitor/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise SystemExit(f"the api-server at {base} did not answer within {timeout:.0f} s")


def up(home: Path, port: int | None = None) -> dict:
    """Start the stack (or report the running one); returns its recorded state."""
    home.mkdir(parents=True, exist_ok=True)
    state_path = _state_file(home)
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("complete") and all(_alive(pid) for pid in state["pids"].values()):
            _announce(home, state)
            return state
        down(home)  # a half-dead stack: stop what is left, then start afresh
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    saved = home / "stack.json"  # survives down: the same DB password and secrets next time
    stack = json.loads(saved.read_text()) if saved.exists() else {}
    stack.setdefault("db_password", secrets.token_urlsafe(16))
    stack.setdefault("secret_key", secrets.token_urlsafe(32))
    stack.setdefault("jwt_secret", secrets.token_urlsafe(32))
    stack.setdefault("admin_password", secrets.token_urlsafe(12))
    saved.write_text(json.dumps(stack))
    saved.chmod(0o600)

    pg = LocalPostgres(bin_dir, root=home / "postgres", superuser_password=stack["db_password"])
    pg.start()
    state = {
        "port": port or free_port(),
        "db": {"port": pg.port, "password": stack["db_password"]},
        "secret_key": stack["secret_key"],
        "jwt_secret": stack["jwt_secret"],
        "pids": {"postgres": pg.pid},
    }
    state_path.write_text(json.dumps(state))  # from here on, down() can stop what started
    state_path.chmod(0o600)
    _create_database(pg)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: stack["admin_password"]}))
    passwords.chmod(0o600)

    env = airflow_env(home, state)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    _airflow(env, "db", "migrate", log=logs / "db-migrate.log")
    subprocess.run([sys.executable, __file__, "load-settings"], env=env, check=True, cwd=ROOT)
    _ensure_sample_master(env, logs / "master-build.log")
    for name, argv in COMPONENTS.items():
        args = [a.replace("{port}", str(state["port"])) for a in argv]
        out = (logs / f"{name}.log").open("a")
        proc = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group: down() stops its children too
        )
        state["pids"][name] = proc.pid
        state_path.write_text(json.dumps(state))
    _wait_healthy(f"http://127.0.0.1:{state['port']}")
    state["complete"] = True
    state_path.write_text(json.dumps(state))
    _announce(home, state)
    return state


def _ensure_sample_master(env: dict[str, str], log: Path) -> None:
    """The default lake (the folder lake/) gets the sample market's master on first use, so a
    triggered run finds its universe; a configured lake is left as it is."""
    if env.get("LAKE_URI"):
        return
    from equity_lake.lake import keys

    if (ROOT / "lake" / keys.SECURITY_MASTER).exists():
        return
    print("building the sample security master into lake/ (once)", flush=True)
    with log.open("a") as out:
        subprocess.run(
            [str(BIN / "equity-lake"), "master", "build", "--source", "sample"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


def _create_database(pg: LocalPostgres) -> None:
    conn = pg.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = 'airflow'")
            if cur.fetchone() is None:
                cur.execute("CREATE ROLE airflow LOGIN PASSWORD %s", (pg.superuser_password,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
            if cur.fetchone() is None:
                cur.execute("CREATE DATABASE airflow OWNER airflow")
    finally:
        conn.close()


def _announce(home: Path, state: dict) -> None:
    stack = json.loads((home / "stack.json").read_text())
    print(
        f"Airflow is up: http://127.0.0.1:{state['port']}  "
        f"login {USER} / {stack['admin_password']}  (logs in {home / 'logs'}; `make down` stops it)"
    )


def down(home: Path) -> None:
    """Stop what ``up`` started, by PID: the Airflow processes' groups, then PostgreSQL."""
    state_path = _state_file(home)
    if not state_path.exists():
        print("nothing to stop: no stack recorded in", state_path)
        return
    state = json.loads(state_path.read_text())
    pids = dict(state["pids"])
    postgres = pids.pop("postgres", None)
    for pid in pids.values():
        _stop_group(pid)
    if postgres is not None and _alive(postgres):
        pg = LocalPostgres(find_bin_dir() or Path("/usr/bin"), root=home / "postgres")
        pg.pid = postgres
        pg.stop()  # by the postmaster's PID; the data stays for the next `make up`
    state_path.unlink()
    print("Airflow is down")


def _stop_group(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout``; return once
    the group is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        if _gone(pid, wait):
            return


def _gone(pid: int, timeout: float) -> bool:
    """Whether process group ``pid`` has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _reap(pid: int) -> None:
    """Collect the exit status of a process this one started (``up`` and ``down`` in one
    process, as in the tests), so that it does not linger as a zombie of its group."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def load_settings(path: Path = ROOT / "airflow_settings.yaml") -> None:
    """Pools, connections and variables of ``airflow_settings.yaml`` into the metadata DB
    (run in a process with the stack's environment); existing entries are updated."""
    import yaml
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    settings = (yaml.safe_load(path.read_text()) or {}).get("airflow", {})
    for pool in settings.get("pools") or []:
        Pool.create_or_update_pool(
            name=pool["pool_name"],
            slots=int(pool["pool_slot"]),
            description=pool.get("pool_description") or "",
            include_deferred=False,
        )
    with create_session() as session:
        for spec in settings.get("connections") or []:
            existing = session.query(Connection).filter_by(conn_id=spec["conn_id"]).one_or_none()
            if existing is not None:
                session.delete(existing)
                session.flush()
            extra = spec.get("conn_extra")
            session.add(
                Connection(
                    conn_id=spec["conn_id"],
                    conn_type=spec["conn_type"],
                    host=spec.get("conn_host") or None,
                    schema=spec.get("conn_schema") or None,
                    login=spec.get("conn_login") or None,
                    password=spec.get("conn_password") or None,
                    port=spec.get("conn_port") or None,
                    extra=json.dumps(extra) if extra else None,
                )
            )
    for variable in settings.get("variables") or []:
        Variable.set(variable["variable_name"], variable["variable_value"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="airflow_local", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "load-settings"])
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow"))
    )
    parser.add_argument("--port", type=int, default=None, help="api-server port (default: free)")
    args = parser.parse_args(argv)
    if args.command == "up":
        up(args.home.resolve(), args.port)
    elif args.command == "down":
        down(args.home.resolve())
    else:
        load_settings()


if __name__ == "__main__":
    main()
