"""`burnpath watch`: a cycle collects, ingests, works out drift and alerts; a failing
source or a bad file is reported and the watch goes on; two never overlap."""
import fcntl
import json
import os
import shutil

import pytest

from api.cli import main
from tests.alert_receiver import Receiver
from tests.conftest import DEMO, write

SECRET = "watch-secret"


@pytest.fixture
def snapshot(tmp_path):
    snap = tmp_path / "snap"
    for src in ("okta", "openai", "litellm", "gitleaks", "trufflehog", "inventory"):
        shutil.copytree(DEMO / src, snap / src)
    return snap


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("BURNPATH_ALERT_SECRET", SECRET)
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-test-not-a-real-key")
    for name in ("BURNPATH_ALERT_WEBHOOKS", "BURNPATH_ALERT_SLACK", "BURNPATH_DB"):
        monkeypatch.delenv(name, raising=False)


def watch(tmp_path, snapshot, hook, *extra):
    return main(["watch", "--snapshot", str(snapshot), "--db", str(tmp_path / "w.db"), "--webhook", hook,
                 "--severity", "critical", "--backoff", "0.01", "--max-retries", "0", *extra])


def test_a_failing_source_is_reported_and_the_rest_still_runs(tmp_path, snapshot, monkeypatch, capsys):
    before = sorted(p.read_bytes() for p in (snapshot / "litellm").rglob("*.json"))
    with Receiver(default=500) as vendor, Receiver() as hook:
        monkeypatch.setenv("LITELLM_BASE_URL", vendor.url.rsplit("/hook", 1)[0])
        assert watch(tmp_path, snapshot, hook.url, "--once", "--collect", "litellm") == 1
        out, err = capsys.readouterr()
        assert "collect litellm failed" in err and "HTTP 500" in err
        assert "ingest ok" in out and "alert ok" in out and "collect litellm FAILED" in out
        assert vendor.requests                                  # it did try the vendor
        # the failed pull left the last good litellm snapshot in place, and it was ingested
        assert sorted(p.read_bytes() for p in (snapshot / "litellm").rglob("*.json")) == before
        assert not [p for p in snapshot.iterdir() if p.name.startswith(".staging")]
        assert "litellm: loaded" in out
        doc = json.loads(hook.requests[0][1])
        assert any(f["rule"] == "leaked-credential" for f in doc["findings"])
        # the next cycles go on (every 0.2 s, two cycles): the source fails again, nothing new is sent
        assert watch(tmp_path, snapshot, hook.url, "--every", "0.2s", "--cycles", "2",
                     "--collect", "litellm") == 1
        out, err = capsys.readouterr()
        assert "cycle 1 at" in out and "cycle 2 at" in out and err.count("collect litellm failed") == 2
        assert len(hook.requests) == 1


def test_a_bad_file_fails_the_ingest_step_only(tmp_path, snapshot, capsys):
    with Receiver() as hook:
        assert watch(tmp_path, snapshot, hook.url, "--once") == 0
        write(snapshot / "inventory" / "broken.yaml", "ai_tools: [{id: x, approved: maybe-ish}]\n")
        assert watch(tmp_path, snapshot, hook.url, "--once") == 1
        out, err = capsys.readouterr()
        assert "ingest failed" in err and "broken.yaml" in err
        assert "ingest FAILED" in out and "alert ok" in out
        assert len(hook.requests) == 1          # alerts were sent once, by the first cycle


def test_a_failed_first_sync_leaves_no_store(tmp_path, snapshot, capsys):
    write(snapshot / "inventory" / "broken.yaml", "ai_tools: [{id: x, approved: maybe-ish}]\n")
    for src in ("okta", "openai", "litellm", "gitleaks", "trufflehog"):
        shutil.rmtree(snapshot / src)
    with Receiver() as hook:
        assert watch(tmp_path, snapshot, hook.url, "--once") == 1
    assert "ingest failed" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("w.db") and not p.name.endswith(".lock")]


def test_two_watches_never_overlap(tmp_path, snapshot, capsys):
    lock = tmp_path / "w.db.watch.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)         # another watch is mid-cycle
    try:
        with Receiver() as hook:
            assert watch(tmp_path, snapshot, hook.url, "--once") == 2
            assert "another watch is running a cycle" in capsys.readouterr().err
            assert not hook.requests and not (tmp_path / "w.db").exists()
    finally:
        os.close(fd)
    with Receiver() as hook:
        assert watch(tmp_path, snapshot, hook.url, "--once") == 0
        assert len(hook.requests) == 1


def test_every_is_checked(tmp_path, snapshot, capsys):
    with pytest.raises(SystemExit):
        main(["watch", "--snapshot", str(snapshot), "--every", "soon"])
    assert "not a duration" in capsys.readouterr().err
    assert main(["watch", "--snapshot", str(snapshot)]) == 2
    assert "--every" in capsys.readouterr().err
