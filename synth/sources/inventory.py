"""burnpath's own inventory: teams, AI tools and agents, SaaS apps and data sources,
credential enrichment, access no vendor export shows, GitHub aliases.

Written as YAML block sequences of JSON flow mappings (valid YAML: in a flow
mapping a `:` after a quoted key needs no space), fast to write and to parse at
200k people, split into files by section."""
from __future__ import annotations

import numpy as np

from ..org import Org
from ..writer import Output, encode as _flow


def _section(out: Output, rel: str, sections: dict) -> None:
    items = 0
    with open(out.path(rel), "w", encoding="utf-8") as fh:
        fh.write("# Synthetic inventory written by `burnpath generate`.\n")
        for key, rows in sections.items():
            fh.write(f"{key}:\n")
            empty = True
            for row in rows:
                fh.write("  - ")
                fh.write(_flow(row))
                fh.write("\n")
                items += 1
                empty = False
            if empty:
                fh.write("  []\n")
    out.files[rel] = out.files.get(rel, 0) + items


def write_all(org: Org, out: Output) -> None:
    order = np.argsort(org.team, kind="stable")
    bounds = np.searchsorted(org.team[order], np.arange(len(org.team_slug) + 1))

    def teams():
        for t, slug in enumerate(org.team_slug):
            members = order[bounds[t]:bounds[t + 1]].tolist()
            mgr = int(org.team_manager[t])
            yield {"id": slug, "name": slug.replace("-", " ").title(),
                   "department": org.dept_names[org.team_dept[t]],
                   "members": [org.email(i) for i in members],
                   "owners": [org.email(mgr)] if mgr >= 0 else []}
    _section(out, "inventory/teams.yaml", {"teams": teams()})

    gh = np.nonzero(org.has["github"])[0].tolist()
    _section(out, "inventory/people.yaml", {"people": (
        {"email": org.email(i), "name": org.full_name(i), "aliases": {"github": org.login(i)}} for i in gh)})

    def tools():
        for t in org.tools:
            owner = f"team:{org.team_slug[t['team']]}" if t["team_owned"] or t["owner"] < 0 else org.email(t["owner"])
            row = {"id": t["id"], "name": t["id"].replace("-", " ").title(), "owner": owner,
                   "approved": t["approved"], "environment": t["env"],
                   "vendor": "aws" if t["vendor"] == "bedrock" else t["vendor"],
                   "kind": "agent" if t["agent"] else "assistant", "credentials": t["creds"]}
            if t["clients"]:
                row["oauth_clients"] = t["clients"]
            if t["budget"] is not None:
                row["budget_usd_month"] = t["budget"]
            yield row
    _section(out, "inventory/ai_tools.yaml", {"ai_tools": tools()})

    _section(out, "inventory/saas.yaml", {
        "saas_apps": ({"id": a["id"], "name": a["id"].replace("-", " ").title(),
                       "oauth_clients": [f"okta:app:{a['okta']}"],
                       "data": [{"id": org.data[d]["id"], "access": acc} for d, acc in a["data"]]}
                      for a in org.saas),
        "data_sources": ({"id": d["id"], "name": d["id"].replace("-", " ").title(),
                          "sensitivity": d["sensitivity"], **({"stores_secrets": d["secrets"]} if d["secrets"] else {})}
                         for d in org.data)})

    rng = org.rng
    ai_creds = [k for k, c in enumerate(org.creds) if c.vendor in ("openai", "anthropic", "litellm")]
    shared = [ai_creds[j] for j in np.nonzero(rng.random(len(ai_creds)) < org.rates.ai.shared_key_rate)[0].tolist()]
    active_people = np.nonzero(~org.departed & ~org.contractor)[0]

    def credentials():
        for c in org.creds:
            if c.vendor == "aws":
                u = org.iam_users[c.scope]
                yield {"id": c.nid, "environment": "prod", "owner": f"team:{org.team_slug[u['team']]}",
                       "key_id": c.hint}
        for k in shared:
            c = org.creds[k]
            if rng.random() < 0.5 and org.tools:
                other = f"tool:{org.tools[int(rng.integers(len(org.tools)))]['id']}"
            else:
                other = org.email(int(active_people[int(rng.integers(len(active_people)))]))
            holders = [other]
            if c.owner >= 0:
                holders.insert(0, org.email(c.owner))
            yield {"id": c.nid, "used_by": holders}

    def access():
        for u in org.iam_users:
            for d, acc in u["data"]:
                yield {"principal": f"aws:iam_user:{u['name']}", "target": f"data:{org.data[d]['id']}",
                       "access": acc}
        for t in org.tools:
            for s, acc in t["saas"]:
                yield {"principal": f"tool:{t['id']}", "target": f"saas:{org.saas[s]['id']}", "access": acc}
    _section(out, "inventory/credentials.yaml", {"credentials": credentials(), "access": access()})
