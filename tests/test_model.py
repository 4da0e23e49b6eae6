"""The declarative model: edge kinds declare traversability; records validate."""
from datetime import date

import pytest
from pydantic import ValidationError

from engine.model import (EDGE_KINDS, TRAVERSABLE_EDGE_KINDS, Access, AccessFlow, Edge, EdgeKind,
                          Node, NodeKind, Records, UsageRow)


def test_every_contract_edge_kind_is_declared():
    names = {k.value for k in EDGE_KINDS}
    assert names == {"HAS_ACCOUNT", "MEMBER_OF", "OWNS", "HOLDS", "AUTHENTICATES_AS", "CAN_ACCESS",
                     "GRANTS", "CONTAINS", "STORES_SECRET", "EXPOSED_IN", "CONSENTED", "USES"}


def test_non_traversable_kinds_are_exactly_the_contracts():
    assert {k.value for k in EdgeKind if not k.traversable} == {"EXPOSED_IN", "CONSENTED", "USES"}
    assert EdgeKind.STORES_SECRET in TRAVERSABLE_EDGE_KINDS


def test_access_flow_declared_per_kind():
    assert EDGE_KINDS[EdgeKind.CAN_ACCESS].flow is AccessFlow.explicit
    assert EDGE_KINDS[EdgeKind.HOLDS].flow is AccessFlow.possess
    assert EDGE_KINDS[EdgeKind.MEMBER_OF].flow is AccessFlow.inherit


def test_node_kinds_cover_the_contract_table():
    assert {k.value for k in NodeKind} == {
        "Person", "Account", "Team", "Project", "ServiceAccount", "Credential", "OAuthClient",
        "OAuthGrant", "AITool", "SaaSApp", "DataSource", "SecretExposure"}


@pytest.mark.parametrize("text,level", [("read", Access.read), ("WRITE", Access.write),
                                        ("admin", Access.admin), ("owner", Access.admin),
                                        (None, Access.read)])
def test_access_parse(text, level):
    assert Access.parse(text) is level


def test_access_parse_rejects_unknown():
    with pytest.raises(ValueError, match="unknown access level"):
        Access.parse("godmode")


def test_access_order_supports_bottleneck_and_strongest():
    assert min(Access.admin, Access.read) is Access.read
    assert max(Access.write, Access.read) is Access.write


def test_records_validate_kinds():
    with pytest.raises(ValidationError):
        Node(id="x", kind="Robot")
    with pytest.raises(ValidationError):
        Edge(src="a", dst="b", kind="LIKES")


def test_usage_row_key_distinguishes_model_and_day():
    a = UsageRow(day=date(2026, 1, 1), model="m1", credential_id="k")
    b = UsageRow(day=date(2026, 1, 1), model="m2", credential_id="k")
    c = UsageRow(day=date(2026, 1, 2), model="m1", credential_id="k")
    assert len({a.key(), b.key(), c.key()}) == 3


def test_records_extend_and_counts():
    r = Records(source="x", nodes=[Node(id="a", kind=NodeKind.Person)])
    r.extend(Records(source="x", edges=[Edge(src="a", dst="b", kind=EdgeKind.OWNS)],
                     settings={"price:m": {"input": 1, "output": 2}}))
    assert r.counts()["nodes"] == 1 and r.counts()["edges"] == 1 and r.counts()["settings"] == 1
