"""AI providers: OpenAI and Anthropic admin APIs, the LiteLLM proxy, Bedrock
invocation logs. Usage comes from synth.usage so that usage reports, spend logs
and invoice-level cost reports agree (costs add the unattributed share on top)."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from engine.pricing import PriceBook

from ..org import DAY, Org
from ..timefmt import iso, iso_us
from ..usage import Usage, day_rows
from ..writer import Output

PRICES = PriceBook()


def usd(model: str, inp: int, out: int, cached: int = 0) -> float:
    price = PRICES.lookup(model)
    return 0.0 if price is None else price.usd(inp, out, cached)


def _list_page(items: str, page_no: int, last: bool) -> str:
    nxt = "false" if last else "true"
    return f'{{"object":"list","data":[{items}],"has_more":{nxt}}}'


def _bucket_page(items: str, page_no: int, last: bool) -> str:
    nxt = "null" if last else f'"page_{page_no + 1}"'
    return f'{{"object":"page","data":[{items}],"has_more":{"false" if last else "true"},"next_page":{nxt}}}'


def _anth_page(items: str, page_no: int, last: bool) -> str:
    nxt = "null" if last else f'"page_{page_no + 1}"'
    return f'{{"data":[{items}],"has_more":{"false" if last else "true"},"next_page":{nxt}}}'


def write_all(org: Org, usage: Usage, out: Output) -> None:
    _openai(org, usage, out)
    _anthropic(org, usage, out)
    _litellm(org, usage, out)
    _bedrock(org, usage, out)


# --- OpenAI ------------------------------------------------------------------------
def oa_user_id(org: Org, i: int) -> str:
    return "user-" + org.hid("oaiuser", i, 24)


def _openai(org: Org, usage: Usage, out: Output) -> None:
    people = np.nonzero(org.has["openai"])[0].tolist()
    admins = {c.owner for c in org.creds if c.vendor == "openai_admin"}
    added = {i: max(int(org.hired[i]) + DAY, org.as_of - 700 * DAY) for i in people}

    def org_user(i: int, obj: str = "organization.user", role: str | None = None) -> dict:
        return {"object": obj, "id": oa_user_id(org, i), "name": org.full_name(i), "email": org.email(i),
                "role": role or ("owner" if i in admins else "reader"), "added_at": added[i]}
    out.pages("openai/organization/users.json", (org_user(i) for i in people), 100, _list_page)
    out.pages("openai/organization/projects.json", (
        {"id": p["id"], "object": "organization.project", "name": p["name"], "created_at": p["created"],
         "archived_at": p["created"] + 200 * DAY if p["archived"] else None,
         "status": "archived" if p["archived"] else "active"} for p in org.projects), 100, _list_page)

    members: dict[int, set] = defaultdict(set)
    team_proj: dict[int, int] = {}
    for j, p in enumerate(org.projects):
        team_proj.setdefault(p["team"], j)
    has = set(people)
    for i in people:
        t = int(org.team[i])
        if t in team_proj:
            members[team_proj[t]].add(i)
    keys: dict[int, list] = defaultdict(list)
    for k, c in enumerate(org.creds):
        if c.vendor == "openai":
            keys[c.scope].append(k)
            if c.owner >= 0:
                members[c.scope].add(c.owner)
    for j, p in enumerate(org.projects):
        base = f"openai/organization/projects/{p['id']}"
        mem = sorted(members[j] & has)
        out.pages(f"{base}/users.json", (org_user(i, "organization.project.user", "owner" if i in admins else "member")
                                         for i in mem), 100, _list_page)
        sas = {}
        for k in keys[j]:
            c = org.creds[k]
            if c.tool >= 0 and c.tool not in sas:
                sas[c.tool] = {"object": "organization.project.service_account",
                               "id": "svc_acct_" + org.hid("oaisa", c.tool, 20),
                               "name": f"{org.tools[c.tool]['id']}-sa", "role": "member",
                               "created_at": c.created - 3600}
        out.pages(f"{base}/service_accounts.json", iter(sas.values()), 100, _list_page)

        def key(k: int) -> dict:
            c = org.creds[k]
            if c.tool >= 0:
                owner = {"type": "service_account", "service_account": sas[c.tool]}
            else:
                owner = {"type": "user", "user": org_user(c.owner, "organization.project.user", "member")}
                if c.owner not in has:
                    owner["user"]["email"] = org.email(c.owner)
            return {"object": "organization.project.api_key", "redacted_value": c.hint,
                    "name": c.label, "created_at": c.created, "last_used_at": c.last_used,
                    "id": c.native, "owner": owner}
        out.pages(f"{base}/api_keys.json", (key(k) for k in keys[j] if org.creds[k].active), 100, _list_page)

    out.pages("openai/organization/admin_api_keys.json", (
        {"object": "organization.admin_api_key", "id": c.native, "name": c.label, "redacted_value": c.hint,
         "created_at": c.created, "last_used_at": c.last_used,
         "owner": {"type": "user", "object": "organization.user", "id": oa_user_id(org, c.owner),
                   "name": org.full_name(c.owner), "created_at": added.get(c.owner, c.created), "role": "owner"}}
        for c in org.creds if c.vendor == "openai_admin" and c.owner >= 0), 100, _list_page)

    proj_id = [p["id"] for p in org.projects]
    costs: list[dict] = []

    def buckets():
        for d in range(org.n_days):
            start = org.day_ts(d)
            per_project: dict[int, float] = defaultdict(float)
            results = []
            for c, model, inp, outp, cached, reqs in day_rows(org, usage, d, ("openai",)):
                results.append({"object": "organization.usage.completions.result", "input_tokens": inp,
                                "output_tokens": outp, "input_cached_tokens": cached,
                                "input_audio_tokens": 0, "output_audio_tokens": 0,
                                "num_model_requests": reqs, "project_id": proj_id[c.scope],
                                "user_id": oa_user_id(org, c.owner) if c.owner >= 0 else None,
                                "api_key_id": c.native, "model": model, "batch": False})
                per_project[c.scope] += usd(model, inp, outp, cached)
            uplift = 1.0 + org.rates.ai.unattributed_cost_share
            costs.append({"object": "bucket", "start_time": start, "end_time": start + DAY, "results": [
                {"object": "organization.costs.result",
                 "amount": {"value": round(v * uplift, 6), "currency": "usd"},
                 "line_item": None, "project_id": proj_id[j]} for j, v in sorted(per_project.items())]})
            yield {"object": "bucket", "start_time": start, "end_time": start + DAY, "results": results}
    out.pages("openai/organization/usage/completions.json", buckets(), 7, _bucket_page)
    out.pages("openai/organization/costs.json", iter(costs), 7, _bucket_page)


# --- Anthropic -----------------------------------------------------------------------
def an_user_id(org: Org, i: int) -> str:
    return "user_01" + org.hid("antuser", i, 22)


def _anthropic(org: Org, usage: Usage, out: Output) -> None:
    people = np.nonzero(org.has["anthropic"])[0].tolist()
    has = set(people)
    admin = people[0] if people else -1

    def user(i: int) -> dict:
        role = "admin" if i == admin else ("claude_code_user" if org.has["claude_code"][i] and i % 3 == 0
                                            else "developer" if org.eng[i] else "user")
        return {"id": an_user_id(org, i), "type": "user", "email": org.email(i), "name": org.full_name(i),
                "role": role, "added_at": iso(max(int(org.hired[i]) + DAY, org.as_of - 600 * DAY))}
    out.pages("anthropic/organizations/users.json", (user(i) for i in people), 100, _anth_page)
    out.pages("anthropic/organizations/workspaces.json", (
        {"id": w["id"], "type": "workspace", "name": w["name"], "created_at": iso(w["created"]),
         "archived_at": iso(w["created"] + 100 * DAY) if w["archived"] else None,
         "display_color": "#6C5BB9"} for w in org.workspaces), 100, _anth_page)

    members: dict[int, set] = defaultdict(set)
    team_ws: dict[int, int] = {}
    for j, w in enumerate(org.workspaces):
        team_ws.setdefault(w["team"], j)
    for i in people:
        if int(org.team[i]) in team_ws:
            members[team_ws[int(org.team[i])]].add(i)
    for c in org.creds:
        if c.vendor == "anthropic" and c.owner in has:
            members[c.scope].add(c.owner)
    for j, w in enumerate(org.workspaces):
        out.pages(f"anthropic/organizations/workspaces/{w['id']}/members.json", (
            {"type": "workspace_member", "user_id": an_user_id(org, i), "workspace_id": w["id"],
             "workspace_role": "workspace_developer" if org.eng[i] else "workspace_user"}
            for i in sorted(members[j])), 100, _anth_page)

    def key(c) -> dict:
        creator = c.owner if c.owner in has else (org.tools[c.tool]["owner"] if c.tool >= 0 else -1)
        if creator not in has:
            creator = admin
        status = "active" if c.active else ("archived" if int(c.native[-1], 16) % 2 else "inactive")
        return {"id": c.native, "type": "api_key", "name": c.label, "workspace_id": org.workspaces[c.scope]["id"],
                "created_at": iso(c.created), "created_by": {"id": an_user_id(org, creator), "type": "user"},
                "partial_key_hint": c.hint, "status": status}
    out.pages("anthropic/organizations/api_keys.json",
              (key(c) for c in org.creds if c.vendor == "anthropic"), 100, _anth_page)

    costs: list[dict] = []

    def buckets():
        for d in range(org.n_days):
            start = iso(org.day_ts(d))
            end = iso(org.day_ts(d) + DAY)
            per_ws: dict[tuple, float] = defaultdict(float)
            results = []
            for c, model, inp, outp, cached, reqs in day_rows(org, usage, d, ("anthropic",)):
                write = inp // 20
                results.append({"uncached_input_tokens": max(0, inp - cached - write),
                                "cache_creation": {"ephemeral_1h_input_tokens": 0,
                                                   "ephemeral_5m_input_tokens": write},
                                "cache_read_input_tokens": cached, "output_tokens": outp,
                                "server_tool_use": {"web_search_requests": 0}, "api_key_id": c.native,
                                "workspace_id": org.workspaces[c.scope]["id"], "model": model,
                                "service_tier": "standard", "context_window": "0-200k"})
                price = PRICES.lookup(model)
                per_ws[(c.scope, model)] += 0.0 if price is None else price.usd(inp, outp, cached, write)
            uplift = 1.0 + org.rates.ai.unattributed_cost_share
            costs.append({"starting_at": start, "ending_at": end, "results": [
                {"currency": "USD", "amount": f"{v * uplift * 100:.4f}",
                 "workspace_id": org.workspaces[j]["id"], "description": f"{model} usage",
                 "cost_type": "tokens", "context_window": "0-200k", "model": model,
                 "service_tier": "standard", "token_type": None}
                for (j, model), v in sorted(per_ws.items())]})
            yield {"starting_at": start, "ending_at": end, "results": results}
    out.pages("anthropic/organizations/usage_report/messages.json", buckets(), 7, _anth_page)
    out.pages("anthropic/organizations/cost_report.json", iter(costs), 7, _anth_page)

    coders = np.nonzero(org.has["claude_code"])[0].tolist()
    rng = org.rng
    org_uuid = f"{org.hid('antorg', 0, 8)}-0000-4000-a000-{org.hid('antorg', 1, 12)}"

    def activity():
        for d in range(org.n_days):
            ts = org.day_ts(d)
            on = rng.random(len(coders)) < (0.25 if org.day_date(d).weekday() >= 5 else 0.7)
            for i, flag in zip(coders, on.tolist()):
                if not flag or (org.departed[i] and org.depart_ts[i] <= ts):
                    continue
                sessions = int(rng.integers(1, 9))
                added = sessions * int(rng.integers(20, 400))
                inp = sessions * int(rng.integers(20000, 400000))
                outp = inp // 8
                yield {"date": iso(ts), "actor": {"type": "user_actor", "email_address": org.email(i)},
                       "organization_id": org_uuid, "customer_type": "api", "terminal_type": "vscode",
                       "core_metrics": {"num_sessions": sessions,
                                        "lines_of_code": {"added": added, "removed": added // 3},
                                        "commits_by_claude_code": sessions // 2,
                                        "pull_requests_by_claude_code": sessions // 4},
                       "tool_actions": {"edit_tool": {"accepted": sessions * 6, "rejected": sessions},
                                        "multi_edit_tool": {"accepted": sessions * 2, "rejected": 0},
                                        "write_tool": {"accepted": sessions, "rejected": 0},
                                        "notebook_edit_tool": {"accepted": 0, "rejected": 0}},
                       "model_breakdown": [{"model": "claude-sonnet-4-5-20250929",
                                            "tokens": {"input": inp, "output": outp, "cache_read": inp * 3,
                                                       "cache_creation": inp // 10},
                                            "estimated_cost": {"currency": "USD",
                                                               "amount": int(usd("claude-sonnet-4-5", inp, outp) * 100)}}]}
    out.pages("anthropic/organizations/usage_report/claude_code.json", activity(), 1000, _anth_page)


# --- LiteLLM -------------------------------------------------------------------------
def lt_user_id(org: Org, i: int) -> str:
    return f"{org.hid('ltuser', i, 8)}-{org.hid('ltuser2', i, 4)}"


def _litellm(org: Org, usage: Usage, out: Output) -> None:
    spend: dict[int, float] = defaultdict(float)
    logs_by_day: list[list] = []
    index = {id(c): k for k, c in enumerate(org.creds) if c.vendor == "litellm"}
    for d in range(org.n_days):
        rows = []
        for c, model, inp, outp, cached, reqs in day_rows(org, usage, d, ("litellm",)):
            cost = round(usd(model, inp, outp), 8)
            spend[index[id(c)]] += cost
            rows.append((index[id(c)], model, inp, outp, cost))
        logs_by_day.append(rows)
    team_spend: dict[int, float] = defaultdict(float)
    user_spend: dict[int, float] = defaultdict(float)
    user_keys: dict[int, int] = defaultdict(int)
    user_teams: dict[int, set] = defaultdict(set)
    for k, c in enumerate(org.creds):
        if c.vendor != "litellm":
            continue
        team_spend[c.scope] += spend[k]
        if c.owner >= 0:
            user_spend[c.owner] += spend[k]
            user_keys[c.owner] += 1
            user_teams[c.owner].add(c.scope)
    users = sorted(set(np.nonzero(org.has["litellm"])[0].tolist()) | set(user_keys))

    def key(k: int) -> dict:
        c = org.creds[k]
        created = iso_us(c.created)
        uid = lt_user_id(org, c.owner) if c.owner >= 0 else None
        meta = {"tool": org.tools[c.tool]["id"]} if c.tool >= 0 else {}
        return {"token": c.native, "key_name": c.hint, "key_alias": c.label, "spend": round(spend[k], 6),
                "max_budget": 100.0 if c.tool < 0 and k % 4 == 0 else None, "expires": iso_us(c.expires),
                "models": [], "aliases": {}, "config": {}, "user_id": uid,
                "team_id": org.lt_teams[c.scope]["id"], "max_parallel_requests": None, "metadata": meta,
                "tpm_limit": None, "rpm_limit": None, "budget_duration": None, "budget_reset_at": None,
                "allowed_cache_controls": [], "permissions": {}, "model_spend": {}, "model_max_budget": {},
                "soft_budget_cooldown": False, "blocked": None if c.active else True,
                "litellm_budget_table": None, "org_id": None, "created_at": created, "updated_at": created,
                "created_by": uid or "default_user_id"}

    def key_page(items: str, page_no: int, last: bool) -> str:
        return f'{{"keys":[{items}],"total_count":{n_keys},"current_page":{page_no},"total_pages":{pages}}}'
    lt_keys = [k for k, c in enumerate(org.creds) if c.vendor == "litellm"]
    n_keys, pages = len(lt_keys), max(1, -(-len(lt_keys) // 100))
    out.pages("litellm/key/list.json", (key(k) for k in lt_keys), 100, key_page)

    members: dict[int, list] = defaultdict(list)
    for i in users:
        for t in sorted(user_teams.get(i, ())):
            members[t].append(i)

    def team(j: int) -> dict:
        t = org.lt_teams[j]
        mgr = int(org.team_manager[t["team"]])
        return {"team_alias": org.team_slug[t["team"]], "team_id": t["id"], "organization_id": None,
                "admins": [], "members": [],
                "members_with_roles": [{"role": "admin" if i == mgr else "user", "user_id": lt_user_id(org, i),
                                        "user_email": org.email(i)} for i in members[j]],
                "metadata": {}, "tpm_limit": None, "rpm_limit": None, "max_budget": t["budget"],
                "budget_duration": "30d" if t["budget"] else None, "models": [], "blocked": False,
                "spend": round(team_spend[j], 6), "max_parallel_requests": None, "budget_reset_at": None,
                "model_id": None, "litellm_model_table": None, "created_at": iso_us(org.as_of - 300 * DAY)}
    out.body("litellm/team/list.json", [team(j) for j in range(len(org.lt_teams))], len(org.lt_teams))

    def user_page(items: str, page_no: int, last: bool) -> str:
        return (f'{{"users":[{items}],"total":{len(users)},"page":{page_no},"page_size":100,'
                f'"total_pages":{max(1, -(-len(users) // 100))}}}')
    out.pages("litellm/user/list.json", (
        {"user_id": lt_user_id(org, i), "user_email": org.email(i), "user_role": "internal_user",
         "spend": round(user_spend.get(i, 0.0), 6), "max_budget": None,
         "teams": [org.lt_teams[t]["id"] for t in sorted(user_teams.get(i, ()))],
         "created_at": iso_us(max(int(org.hired[i]), org.as_of - 400 * DAY)),
         "updated_at": iso_us(org.as_of - DAY), "key_count": user_keys.get(i, 0), "sso_user_id": None,
         "metadata": {}} for i in users), 100, user_page)

    def logs():
        n = 0
        for d, rows in enumerate(logs_by_day):
            for k, model, inp, outp, cost in rows:
                c = org.creds[k]
                start = org.day_ts(d) + 9 * 3600 + (n % 28800)
                team_id = org.lt_teams[c.scope]["id"]
                uid = lt_user_id(org, c.owner) if c.owner >= 0 else ""
                yield {"request_id": f"chatcmpl-{org.hid('ltreq', n, 24)}", "call_type": "acompletion",
                       "api_key": c.native, "spend": cost, "total_tokens": inp + outp,
                       "prompt_tokens": inp, "completion_tokens": outp, "startTime": iso_us(start),
                       "endTime": iso_us(start + 4), "completionStartTime": iso_us(start + 1),
                       "model": model, "model_id": None, "model_group": model,
                       "custom_llm_provider": "anthropic" if model.startswith("claude") else "openai",
                       "api_base": "", "user": uid,
                       "metadata": {"user_api_key_alias": c.label, "user_api_key_team_id": team_id,
                                    "user_api_key_user_id": uid or None},
                       "cache_hit": "False", "cache_key": "Cache OFF", "request_tags": [],
                       "team_id": team_id, "end_user": "", "requester_ip_address": "",
                       "messages": {}, "response": {}}
                n += 1
    out.pages("litellm/spend/logs.json", logs(), 1 << 30, lambda items, p, last: f"[{items}]")


# --- Bedrock ---------------------------------------------------------------------------
AWS_ACCOUNT = "123456789012"


def _bedrock(org: Org, usage: Usage, out: Output) -> None:
    n = 0
    for d in range(org.n_days):
        lines = []
        for c, model, inp, outp, cached, reqs in day_rows(org, usage, d, ("aws",)):
            user = org.iam_users[c.scope]["name"]
            parts = min(3, reqs)
            for q in range(parts):
                share_in = inp // parts + (inp % parts if q == 0 else 0)
                share_out = outp // parts + (outp % parts if q == 0 else 0)
                ts = org.day_ts(d) + 8 * 3600 + ((n * 7919) % 50000)
                lines.append({"schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
                              "timestamp": iso(ts), "accountId": AWS_ACCOUNT,
                              "identity": {"arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{user}"},
                              "region": "us-east-1", "requestId": org.hid("bedrockreq", n, 32),
                              "operation": "InvokeModel", "modelId": model,
                              "input": {"inputContentType": "application/json", "inputTokenCount": share_in},
                              "output": {"outputContentType": "application/json", "outputTokenCount": share_out}})
                n += 1
        if lines:
            out.lines(f"aws/bedrock/invocations/{org.day_date(d).isoformat()}.jsonl", iter(lines))
