"""The command line behaves: missing stores refused, the demo found by the next command,
no empty store after a failed first ingest, a tokenless serve that only reads, no
tracebacks for user errors, progress on a terminal only. Real processes, real files."""
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, write

INV = "ai_tools: [{id: bot, owner: a@x.io, credentials: [openai:api_key:k1]}]\n"


def env_without_db(**extra):
    env = {k: v for k, v in os.environ.items() if k != "BURNPATH_DB"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(*args, cwd=None, env=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env or env_without_db(), input=stdin, timeout=180)


@pytest.fixture
def snap(tmp_path):
    write(tmp_path / "snap" / "inventory" / "org.yaml", INV)
    return tmp_path / "snap"


@pytest.mark.parametrize("argv", [
    ["query", "{ nodes { totalCount } }"],
    ["findings"],
    ["serve", "--port", "1"],
    ["token", "list"],
    ["token", "create", "--role", "admin"],
])
def test_reading_verbs_refuse_a_store_that_does_not_exist(tmp_path, argv):
    missing = tmp_path / "typo.db"
    r = run(*argv, "--db", str(missing))
    assert r.returncode == 2, r.stderr
    assert f"no store at {missing}" in r.stderr and "Traceback" not in r.stderr
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_the_default_store_missing_says_how_to_make_one(tmp_path):
    r = run("findings", cwd=tmp_path)
    assert r.returncode == 2 and "no store at ./burnpath.db" in r.stderr and "burnpath demo" in r.stderr


def test_demo_leaves_its_store_where_the_next_command_looks(tmp_path):
    r = run("demo", "--no-serve", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "burnpath.db").exists()
    f = run("findings", "--severity", "critical", "--format", "json", cwd=tmp_path)
    assert f.returncode == 0, f.stderr
    assert any(x["rule"] == "leaked-credential" for x in json.loads(f.stdout))
    # ... and with $BURNPATH_DB, there
    other = tmp_path / "elsewhere.db"
    assert run("demo", "--no-serve", cwd=tmp_path, env=env_without_db(BURNPATH_DB=str(other))).returncode == 0
    q = run("query", "{ nodes(kind: \"AITool\") { totalCount } }", cwd=tmp_path,
            env=env_without_db(BURNPATH_DB=str(other)))
    assert json.loads(q.stdout)["data"]["nodes"]["totalCount"] > 0


def test_demo_refuses_a_users_own_store(tmp_path, snap):
    assert run("ingest", str(snap), cwd=tmp_path).returncode == 0
    before = (tmp_path / "burnpath.db").read_bytes()
    r = run("demo", "--no-serve", cwd=tmp_path)
    assert r.returncode == 2 and "refusing to replace it" in r.stderr
    assert (tmp_path / "burnpath.db").read_bytes() == before
    q = run("query", '{ node(id: "tool:bot") { id } }', cwd=tmp_path)
    assert json.loads(q.stdout)["data"]["node"] == {"id": "tool:bot"}


def test_a_failed_first_ingest_leaves_no_store_behind(tmp_path, snap):
    db = tmp_path / "new.db"
    write(snap / "inventory" / "bad.yaml", "ai_tools: [{id: x, approved: maybe-ish}]\n")
    r = run("ingest", str(snap), "--db", str(db))
    assert r.returncode == 1 and "bad.yaml" in r.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("new.db")]
    r = run("ingest", str(tmp_path / "nope"), "--db", str(db))
    assert r.returncode == 1 and not db.exists()
    # a failed ingest into an existing store keeps it
    (snap / "inventory" / "bad.yaml").unlink()
    assert run("ingest", str(snap), "--db", str(db)).returncode == 0
    assert run("ingest", str(tmp_path / "nope"), "--db", str(db)).returncode == 1
    assert db.exists()


def _serve(db, *extra):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--port", str(port),
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_without_db())
    url = f"http://127.0.0.1:{port}/graphql"
    deadline = time.time() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc, url
        except httpx.TransportError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("serve did not start")
            time.sleep(0.2)


@pytest.mark.parametrize("allow", [False, True])
def test_tokenless_serve_reads_but_changes_only_with_allow_local_admin(tmp_path, snap, allow):
    db = tmp_path / "x.db"
    assert run("ingest", str(snap), "--db", str(db)).returncode == 0
    proc, url = _serve(db, *(["--allow-local-admin"] if allow else []))
    try:
        read = httpx.post(url, json={"query": '{ node(id: "tool:bot") { id } }'}, timeout=30).json()
        assert read == {"data": {"node": {"id": "tool:bot"}}}
        # (ingest first: once a token exists, every request needs one)
        for doc in (f'mutation {{ ingest(paths: ["{snap}"]) {{ source }} }}',
                    'mutation { createToken(role: admin) { token } }'):
            body = httpx.post(url, json={"query": doc}, timeout=60).json()
            if allow:
                assert "errors" not in body, body
            else:
                assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
                assert "--allow-local-admin" in body["errors"][0]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    listed = run("token", "list", "--db", str(db)).stdout
    assert ("admin" in listed) == allow


def test_user_errors_get_one_line_not_a_traceback(tmp_path, snap):
    r = run("generate", "--people", "0", "--out", str(tmp_path / "g"))
    assert r.returncode == 2 and "0 is not at least 1" in r.stderr and "Traceback" not in r.stderr
    existing = write(tmp_path / "exists.txt", "mine")
    r = run("generate", "--people", "2", "--out", str(existing))
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr
    assert existing.read_text() == "mine"
    r = run("findings", "--db", str(tmp_path / "x.db"), "--as-of", "yesterday-ish")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path):
    db = tmp_path / "demo.db"
    assert run("demo", "--no-serve", "--db", str(db)).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "findings", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_without_db())
    proc.stdout.readline()
    proc.stdout.close()                      # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def wait_reading_stdin(pid: int, timeout: float = 120.0) -> None:
    """Until the process blocks in read(0, ...): a fixed sleep raced slow imports on a
    loaded machine (the signal then came before the CLI was listening for it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            fields = []
        if len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == 0:   # read, fd 0 (x86-64)
            return
        time.sleep(0.05)
    raise AssertionError("the query never waited on stdin")


def test_ctrl_c_is_a_short_message(tmp_path, snap):
    db = tmp_path / "x.db"
    assert run("ingest", str(snap), "--db", str(db)).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "query", "--db", str(db), "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env_without_db())
    wait_reading_stdin(proc.pid)             # the interrupt lands while it waits for the document
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=30)[1].decode()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err


def test_ingest_progress_on_a_terminal_and_quiet_in_a_pipe(tmp_path, snap):
    write(snap / "inventory" / "more.yaml", "teams: [{id: t, members: [a@x.io]}]\n")
    piped = run("ingest", str(snap), "--db", str(tmp_path / "a.db"))
    assert piped.returncode == 0 and piped.stderr == ""
    assert "records/s" not in piped.stdout
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "ingest", str(snap), "--db", str(tmp_path / "b.db")],
                            stdout=subprocess.PIPE, stderr=slave, env=env_without_db(COLUMNS="200"))
    os.close(slave)
    out = proc.communicate(timeout=120)[0].decode()
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "inventory: committed" in shown and "records/s" in shown
    assert out.startswith("inventory: loaded")
