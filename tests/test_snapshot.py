"""The snapshot walker recognises sources by path."""
import pytest

from ingest.errors import IngestError
from ingest.snapshot import plan
from tests.conftest import write


def test_snapshot_root_source_dir_and_file(tmp_path):
    inv = write(tmp_path / "snap" / "inventory" / "a.yaml", "teams: []\n")
    write(tmp_path / "snap" / "inventory" / "b.yaml", "teams: []\n")
    [whole] = plan([tmp_path / "snap"])
    assert whole.source == "inventory" and whole.complete
    [direct] = plan([tmp_path / "snap" / "inventory"])
    assert direct.complete
    [one] = plan([inv])
    assert not one.complete and one.only == {inv.resolve()}


def test_unrecognised_paths(tmp_path):
    write(tmp_path / "elsewhere" / "x.json", "{}")
    with pytest.raises(IngestError, match="not in a snapshot"):
        plan([tmp_path / "elsewhere" / "x.json"])
    with pytest.raises(IngestError, match="no such file"):
        plan([tmp_path / "missing"])


def test_sources_in_load_order(tmp_path):
    for src in ("inventory", "okta", "openai"):
        (tmp_path / "s" / src).mkdir(parents=True)
    assert [p.source for p in plan([tmp_path / "s"])] == ["openai", "okta", "inventory"]
