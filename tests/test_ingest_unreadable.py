"""An entry a source cannot read fails that source, naming the entry; a re-sync never
removes what the source could not read (issue 13, data loss by unreadable file). And
every file a source does not read is named in a warning (issue 18 part 2)."""
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.service import Engine
from ingest.errors import IngestError
from ingest.snapshot import plan, read_source
from tests.conftest import DEMO, write

LEAK = "gitleaks/northwind-data-agent.json"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _dangling(p):
    os.symlink(str(p) + ".gone", p)


def _loop(p):
    os.symlink(p.name, p)


def _fifo(p):
    os.mkfifo(p)


def _device(p):
    os.symlink("/dev/null", p)


def _dir_for_file(p):
    p.mkdir()
    (p / "inner.json").write_text("[]")


def _socket(p):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()


BREAKERS = {"dangling symlink": (_dangling, "dangling symbolic link"),
            "symlink loop": (_loop, "symbolic link loop"),
            "fifo": (_fifo, "FIFO"),
            "device": (_device, "device"),
            "directory where a file belongs": (_dir_for_file, "directory where the snapshot layout expects a file"),
            "socket": (_socket, "socket")}


@pytest.mark.parametrize("breaker", sorted(BREAKERS))
def test_unreadable_entry_fails_the_source_and_removes_nothing(tmp_path, breaker):
    snap = tmp_path / "snap"
    shutil.copytree(DEMO, snap, ignore=shutil.ignore_patterns("*.py", "*.md"))
    db = str(tmp_path / "x.db")
    assert _cli("ingest", str(snap), "--db", db).returncode == 0
    with _Open(db) as eng:
        before = eng.store.get_node("gitleaks:finding:" + _first_fingerprint(snap))
    assert before is not None and before.removed_at is None
    # The leak report replaced by something that exists but cannot be read.
    target = snap / LEAK
    target.unlink()
    make, words = BREAKERS[breaker]
    make(target)
    r = _cli("ingest", str(snap), "--db", db)
    assert r.returncode == 1, r.stdout + r.stderr
    assert str(target) in r.stderr and words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    with _Open(db) as eng:
        after = eng.store.get_node(before.id)
        assert after is not None and after.removed_at is None
        assert any(f.rule == "leaked-credential" for f in _findings(eng))


def test_unreadable_subdirectory_fails_the_source():
    """Root reads any directory, so this walks as an unprivileged user (in a directory of
    /tmp it can reach: pytest's own are root's alone)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to an unprivileged user")
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import pydantic"], capture_output=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    if probe.returncode != 0:
        # e.g. the interpreter and its packages live under a root-only home (/root, 0700)
        pytest.skip("an unprivileged user cannot run this interpreter with its packages here")
    import tempfile
    tmp = tempfile.mkdtemp(prefix="burnpath-unreadable-")
    try:
        _walk_as_nobody(Path(tmp))
    finally:
        for base, dirs, _files in os.walk(tmp):
            for d in dirs:
                os.chmod(os.path.join(base, d), 0o755)
        shutil.rmtree(tmp)


def _walk_as_nobody(tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(DEMO / "okta", snap / "okta")
    os.chmod(tmp_path, 0o777)
    for base, dirs, files in os.walk(tmp_path):
        for d in dirs:
            os.chmod(os.path.join(base, d), 0o777)
        for f in files:
            os.chmod(os.path.join(base, f), 0o666)
    hidden = snap / "okta" / "api" / "v1" / "groups"
    os.chmod(hidden, 0o000)
    # (the walk read_source starts with; the unprivileged user cannot see root's packages)
    code = ("import sys; from ingest.entries import readable_files\n"
            "from ingest.errors import IngestError\n"
            "try:\n    list(readable_files(sys.argv[1]))\n"
            "except IngestError as e:\n    print(e); sys.exit(1)\n")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-c", code, str(snap / "okta")],
                       capture_output=True, text=True, cwd=os.getcwd(), timeout=120,
                       # this interpreter's own import path: the unprivileged user's
                       # interpreter may not work out root's site-packages by itself
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    os.chmod(hidden, 0o755)
    assert r.returncode == 1, r.stdout + r.stderr
    assert str(hidden) in r.stdout and "cannot list this directory" in r.stdout


def test_partial_load_of_a_dangling_symlink_is_named(tmp_path):
    root = tmp_path / "snap" / "scim"
    shutil.copytree(DEMO / "scim", root)
    _dangling(root / "Extra.json")
    with pytest.raises(IngestError, match="dangling symbolic link"):
        for load in plan([root / "Extra.json"]):
            read_source(load)


@pytest.mark.parametrize("source", ["trufflehog", "gitleaks", "aws", "okta", "inventory", "openai"])
def test_every_source_names_a_file_it_does_not_read(tmp_path, source):
    root = tmp_path / "snap" / source
    shutil.copytree(DEMO / source, root)
    stray = [write(root / "notes.txt", "hello"), write(root / "deep" / "README.md", "x"),
             write(root / "old-report.csv", "a,b\n")]
    (load,) = plan([root])
    rec = read_source(load)
    for p in stray:
        assert sum(str(p) in w or p.name in w for w in rec.warnings) == 1, (p, rec.warnings)
    # Files it did read are not named.
    for f in rec.files:
        assert not any(f in w and "snapshot layout" in w for w in rec.warnings), f


def test_cli_prints_the_warning_for_a_stray_scanner_file(tmp_path):
    root = tmp_path / "snap" / "trufflehog"
    shutil.copytree(DEMO / "trufflehog", root)
    write(root / "findings.txt", "not read")
    r = _cli("ingest", str(root), "--db", str(tmp_path / "x.db"))
    assert r.returncode == 0, r.stderr
    assert "findings.txt: not a file of the trufflehog/ snapshot layout; ignored" in r.stdout


class _Open:
    def __init__(self, db):
        self.eng = Engine.open(db)

    def __enter__(self):
        return self.eng

    def __exit__(self, *exc):
        self.eng.close()


def _findings(eng):
    from engine.findings import all_findings
    return all_findings(eng)


def _first_fingerprint(snap):
    import json
    return json.loads((snap / LEAK).read_text())[0]["Fingerprint"]
