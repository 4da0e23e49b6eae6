"""Every file of every source, replaced by junk in plausible shapes (nulls, empty
bodies, wrong envelopes, vendor fields named like ours, numbers where text belongs):
the ingester either reads it or raises IngestError naming the file. Nothing else."""
import shutil

import pytest

from ingest.errors import IngestError
from ingest.snapshot import plan, read_source
from tests.conftest import DEMO

JUNK = [
    "null",
    "{}",
    '{"data": [1, 2]}',
    '{"data": [{"id": "x", "vendor": 1, "project_id": 2, "workspace_id": 3, "updated_at": 4, '
    '"email": 5, "name": 6, "active": 7, "admin": 8, "created_at": "garbage", "status": 7, '
    '"kind": 1, "node_id": 2}]}',
    '[{"id": "x", "vendor": 1, "project_id": 2, "updated_at": 4, "active": 7, "created_at": 9, '
    '"kind": 1, "node_id": 2, "name": 6}]',
    '{"value": [{"id": "x", "active": 7, "kind": 1, "node_id": 2}], "Resources": [{"id": 5}]}',
]
SOURCES = sorted(p.name for p in DEMO.iterdir() if p.is_dir())


@pytest.mark.parametrize("source", SOURCES)
def test_junk_in_any_file_is_read_or_named(tmp_path, source):
    files = sorted(f.relative_to(DEMO / source) for f in (DEMO / source).rglob("*") if f.is_file())
    assert files
    for n, rel in enumerate(files):
        for m, junk in enumerate(JUNK):
            root = tmp_path / f"{n}-{m}" / source
            shutil.copytree(DEMO / source, root)
            (root / rel).write_text(junk)
            try:
                for load in plan([root]):
                    read_source(load)
            except IngestError as exc:
                assert str(rel.name) in str(exc), (rel, junk, str(exc))
            shutil.rmtree(root.parent)
