"""leaked-credential, over-shared-credential and environment-mixing."""
from datetime import date

from rules_kit import G, K, N, by_subject, subjects


def test_leaked_credential_is_critical_while_active(db_path):
    g = G(db_path)
    g.cred("anthropic:api_key:live")
    g.cred("anthropic:api_key:dead", active=False)
    g.cred("anthropic:api_key:clean")
    for i, cid in enumerate(("anthropic:api_key:live", "anthropic:api_key:dead")):
        g.node(f"gitleaks:finding:f{i}", N.SecretExposure, scanner="gitleaks", date="2026-11-08T10:00:00Z",
               repository="northwind/data-agent")
        g.edge(cid, K.EXPOSED_IN, f"gitleaks:finding:f{i}", match="prefix+last4")
    # a finding that matched nothing: no finding about any credential
    g.node("gitleaks:finding:nomatch", N.SecretExposure, scanner="gitleaks")
    eng = g.engine()
    found = by_subject(eng, "leaked-credential")
    assert set(found) == {"anthropic:api_key:live", "anthropic:api_key:dead"}
    assert found["anthropic:api_key:live"].severity == "critical"
    assert found["anthropic:api_key:dead"].severity == "medium"
    ev = found["anthropic:api_key:live"].evidence
    assert ev["exposures"][0]["id"] == "gitleaks:finding:f0"
    assert ev["exposures"][0]["match"] == "prefix+last4"
    assert ev["first_exposed_at"] == "2026-11-08T10:00:00Z"
    assert ev["edges"] == [{"src": "anthropic:api_key:live", "kind": "EXPOSED_IN", "dst": "gitleaks:finding:f0",
                            "properties": {"match": "prefix+last4"}}]
    eng.close()


def test_leak_matched_by_hash_through_linking(db_path):
    g = G(db_path)
    h = "a" * 64
    g.cred("litellm:key:" + h)
    g.node("trufflehog:finding:x", N.SecretExposure, sha256=h, scanner="trufflehog")
    g.cred("litellm:key:" + "b" * 64)
    eng = g.engine()
    assert subjects(eng, "leaked-credential") == {"litellm:key:" + h}
    eng.close()


def test_over_shared_credential(db_path):
    g = G(db_path)
    dev, ana = g.person("dev@example.com"), g.person("ana@example.com")
    t1, t2 = g.tool("tool:a", environment="dev"), g.tool("tool:b", environment="prod")
    g.node("okta:user:dev2", N.Account)
    g.edge(dev, K.HAS_ACCOUNT, "okta:user:dev2")
    g.edge(dev, K.HOLDS, g.cred("k:person_and_tool"))
    g.edge(t1, K.HOLDS, "k:person_and_tool")
    g.edge(t1, K.HOLDS, g.cred("k:two_tools"))
    g.edge(t2, K.HOLDS, "k:two_tools")
    g.edge(dev, K.HOLDS, g.cred("k:two_people"))
    g.edge(ana, K.HOLDS, "k:two_people")
    # one person through two of their own accounts is still one person
    g.edge(dev, K.HOLDS, g.cred("k:one_person_twice"))
    g.edge("okta:user:dev2", K.HOLDS, "k:one_person_twice")
    g.edge(t1, K.HOLDS, g.cred("k:one_tool"))
    # used (usage rows) by two people's accounts
    g.node("openai:user:u_ana", N.Account)
    g.edge(ana, K.HAS_ACCOUNT, "openai:user:u_ana")
    g.node("openai:user:u_dev", N.Account)
    g.edge(dev, K.HAS_ACCOUNT, "openai:user:u_dev")
    g.cred("k:used_by_two")
    g.spend("k:used_by_two", date(2026, 11, 1), 1.0, account="openai:user:u_ana")
    g.spend("k:used_by_two", date(2026, 11, 2), 1.0, account="openai:user:u_dev")
    g.cred("k:used_by_one")
    g.spend("k:used_by_one", date(2026, 11, 1), 1.0, account="openai:user:u_dev")
    g.spend("k:used_by_one", date(2026, 11, 2), 1.0, account="openai:user:u_dev")
    # a tool's key whose usage the vendor attributes to the key's own user (its owner)
    g.node("litellm:user:dev", N.Account)
    g.edge(dev, K.HAS_ACCOUNT, "litellm:user:dev")
    g.edge("litellm:user:dev", K.OWNS, g.cred("litellm:key:abc"))
    g.edge(t2, K.HOLDS, "litellm:key:abc")
    g.spend("litellm:key:abc", date(2026, 11, 1), 1.0, account="litellm:user:dev")
    eng = g.engine()
    found = by_subject(eng, "over-shared-credential")
    assert set(found) == {"k:person_and_tool", "k:two_tools", "k:two_people", "k:used_by_two"}
    assert found["k:person_and_tool"].evidence["people"] == ["person:dev@example.com"]
    assert found["k:person_and_tool"].evidence["tools"] == ["tool:a"]
    assert found["k:used_by_two"].evidence["people"] == ["person:ana@example.com", "person:dev@example.com"]
    eng.close()


def test_environment_mixing(db_path):
    g = G(db_path)
    prod, dev, stg = g.tool("tool:p", environment="prod"), g.tool("tool:d", environment="development"), \
        g.tool("tool:s", environment="stg")
    g.edge(dev, K.HOLDS, g.cred("k:prod_key_in_dev", environment="production"))
    g.edge(prod, K.HOLDS, g.cred("k:dev_key_in_prod", environment="dev"))
    g.edge(prod, K.HOLDS, g.cred("k:prod_only", environment="prd"))
    g.edge(dev, K.HOLDS, g.cred("k:dev_and_staging", environment="dev"))
    g.edge(stg, K.HOLDS, "k:dev_and_staging")
    g.node("openai:project:pp", N.Project, environment="production")
    g.cred("k:project_prod_tool_dev")
    g.edge("k:project_prod_tool_dev", K.MEMBER_OF, "openai:project:pp")
    g.edge(dev, K.HOLDS, "k:project_prod_tool_dev")
    g.cred("k:unknown_env")
    g.edge(dev, K.HOLDS, g.cred("litellm:key:meta", metadata={"environment": "production"}))
    g.edge(prod, K.HOLDS, g.cred("k:prod_tool_no_env"))
    eng = g.engine()
    found = by_subject(eng, "environment-mixing")
    assert set(found) == {"k:prod_key_in_dev", "k:dev_key_in_prod", "k:project_prod_tool_dev",
                          "litellm:key:meta"}
    assert found["k:dev_key_in_prod"].evidence["environments"] == {"dev": ["k:dev_key_in_prod"],
                                                                   "prod": ["tool:p"]}
    eng.close()
