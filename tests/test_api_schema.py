"""The schema as a product: the checked-in SDL matches the code, everything is
described, and the contract's names and argument types hold."""
from __future__ import annotations

import subprocess
import sys

from graphql import (GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLScalarType,
                     print_type)

import api.export_schema as export
from api.schema import schema
from tests.conftest import ROOT

BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def test_checked_in_sdl_matches_the_code():
    assert export.SDL_FILE.read_text() == export.sdl(), \
        "api/schema.graphql is stale: run `python -m api.export_schema`"


def test_schema_check_command(tmp_path, monkeypatch, capsys):
    proc = subprocess.run([sys.executable, "-m", "api.cli", "schema", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "api.cli", "schema"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == export.SDL_FILE.read_text()
    # A drifted file is reported, and --out repairs it.
    stale = tmp_path / "schema.graphql"
    stale.write_text(export.sdl().replace("blastRadius", "blastRadios", 1))
    monkeypatch.setattr(export, "SDL_FILE", stale)
    args = type("A", (), {"check": True, "out": None})
    assert export.run_export(args) == 1 and "out of date" in capsys.readouterr().err
    args.check, args.out = False, str(stale)
    assert export.run_export(args) == 0
    args.check = True
    assert export.run_export(args) == 0


def _own_types():
    for name, t in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILTIN_SCALARS:
            continue
        yield name, t


def test_every_type_field_and_argument_is_described():
    missing = []
    for name, t in _own_types():
        if not (t.description or "").strip():
            missing.append(name)
        if isinstance(t, (GraphQLObjectType, GraphQLInputObjectType)):
            for fname, f in t.fields.items():
                if not (f.description or "").strip():
                    missing.append(f"{name}.{fname}")
                for aname, a in getattr(f, "args", {}).items():
                    if not (a.description or "").strip():
                        missing.append(f"{name}.{fname}({aname})")
    assert not missing, f"undescribed: {missing}"


def test_output_enums_and_scalars():
    tm = schema._schema.type_map
    assert isinstance(tm["NodeKind"], GraphQLEnumType) and isinstance(tm["Severity"], GraphQLEnumType)
    assert isinstance(tm["AccessLevel"], GraphQLEnumType) and isinstance(tm["Role"], GraphQLEnumType)
    assert isinstance(tm["DateTime"], GraphQLScalarType) and isinstance(tm["Date"], GraphQLScalarType)
    assert str(tm["Node"].fields["kind"].type) == "NodeKind!"
    assert str(tm["Reach"].fields["access"].type) == "AccessLevel!"
    assert str(tm["Finding"].fields["severity"].type) == "Severity!"
    assert str(tm["Node"].fields["removedAt"].type) == "DateTime"
    assert str(tm["UsageDay"].fields["day"].type) == "Date!"
    # token counts pass 2^31 in real orgs (the demo's do): a 64-bit-safe scalar
    assert str(tm["SpendRow"].fields["inputTokens"].type) == "BigInt!"
    assert tm["BigInt"].serialize(9_880_964_215) == 9_880_964_215


def _args(field) -> dict[str, str]:
    return {name: str(a.type) for name, a in field.args.items()}


def test_contract_names_and_argument_types():
    q = schema._schema.query_type.fields
    assert _args(q["node"]) == {"id": "ID!"} and str(q["node"].type) == "Node"
    # contract arguments keep their types; extras (orderBy: NodeOrder) may be added
    assert _args(q["nodes"]).items() >= {"kind": "String", "search": "String", "first": "Int", "after": "String"}.items()
    assert _args(q["nodes"])["orderBy"] == "NodeOrder"
    assert _args(q["riskiest"]) == {"kind": "String", "first": "Int", "after": "String"}
    assert str(q["riskiest"].type) == "NodeConnection!"
    assert str(q["nodes"].type) == "NodeConnection!"
    assert _args(q["blastRadius"]) == {"id": "ID!", "maxDepth": "Int!"}
    assert q["blastRadius"].args["maxDepth"].default_value == 8
    assert _args(q["whoCanReach"]) == {"id": "ID!", "maxDepth": "Int!"}
    assert str(q["whoCanReach"].type) == "[Reach!]!"
    assert _args(q["traceCompromise"]) == {"id": "ID!", "since": "DateTime"}
    assert _args(q["findings"]) == {"rule": "String", "severity": "String", "subject": "ID",
                                    "first": "Int", "after": "String",
                                    "framework": "String", "team": "String"}  # the last two: additions
    assert _args(q["spend"]) == {"groupBy": "String!", "from": "Date", "to": "Date"}
    assert str(q["spend"].type) == "[SpendRow!]!"
    tm = schema._schema.type_map
    expect = {
        "Node": {"id", "kind", "name", "active", "properties", "owners", "risk"},
        "Risk": {"score", "reasons"},
        "NodeConnection": {"nodes", "totalCount", "pageInfo", "edges"},
        "BlastRadius": {"source", "reachable", "dataSources", "saasApps", "credentials",
                        "spendExposureUsdPerHour"},
        "Reach": {"node", "depth", "access", "path"},
        "CompromiseTrace": {"owners", "holders", "blastRadius", "usageSince", "revocationPlan"},
        "RevocationStep": {"order", "action", "target", "reason"},
        "FindingConnection": {"nodes", "totalCount", "pageInfo", "edges"},
        "Finding": {"id", "rule", "title", "severity", "subject", "evidence", "frameworks"},
        "SpendRow": {"key", "usd", "inputTokens", "outputTokens", "requests"},
        "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    }
    for type_name, names in expect.items():
        assert names <= set(tm[type_name].fields), (type_name, names - set(tm[type_name].fields))
    assert str(tm["BlastRadius"].fields["reachable"].type) == "[Reach!]!"
    assert str(tm["SpendRow"].fields["key"].type) == "String"  # null: spend no owner explains
    m = schema._schema.mutation_type.fields
    assert _args(m["ingest"]) == {"paths": "[String!]!"}
    assert _args(m["createToken"]) == {"role": "Role!", "name": "String"}
    assert _args(m["revokeToken"]) == {"id": "ID!"}


def test_growing_lists_have_connections():
    tm = schema._schema.type_map
    for conn in ("NodeConnection", "FindingConnection", "ReachConnection"):
        fields = tm[conn].fields
        assert {"edges", "nodes", "totalCount", "pageInfo"} <= set(fields), conn
        edge = tm[conn.replace("Connection", "Edge")]
        assert {"cursor", "node"} <= set(edge.fields)
    assert "reachableConnection" in tm["BlastRadius"].fields
    assert "whoCanReachConnection" in schema._schema.query_type.fields
    assert "first" in print_type(tm["BlastRadius"])
