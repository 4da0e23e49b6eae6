"""Developer estate: the GitHub org (members, teams, Copilot seats, fine-grained
PATs, app installations), the AWS IAM credential report, and the secret scanners'
reports (gitleaks JSON, trufflehog JSON lines) over the org's repositories."""
from __future__ import annotations

import numpy as np

from ..org import DAY, WORDS, Org
from ..timefmt import aws, iso
from ..writer import Output
from .idp import group_pairs, spans

API = "https://api.github.com"


def write_all(org: Org, out: Output) -> None:
    _github(org, out)
    _iam(org, out)
    _scanners(org, out)


def gh_user(org: Org, i: int) -> dict:
    login = org.login(i)
    uid = 10_000_000 + i
    return {"login": login, "id": uid, "node_id": f"MDQ6VXNlcj{uid}", "avatar_url":
            f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": f"{API}/users/{login}", "html_url": f"https://github.com/{login}", "type": "User",
            "site_admin": False}


def _bare(items: str, page_no: int, last: bool) -> str:
    return f"[{items}]"


def _github(org: Org, out: Output) -> None:
    rng, name = org.rng, org.rates.github_org
    base = f"github/orgs/{name}"
    people = np.nonzero(org.has["github"])[0]
    out.pages(f"{base}/members.json", (gh_user(org, i) for i in people.tolist()), 100, _bare)

    teams = sorted(set(org.team[people].tolist()))
    index = {t: k for k, t in enumerate(teams)}
    own = np.full(len(org.team_slug), 0, dtype=np.int64)
    for t, k in index.items():
        own[t] = k
    g, p = group_pairs(org, people, len(teams), max(0.0, org.rates.groups.github_teams_per_member - 1), 1.3,
                       base=own[org.team])
    bounds = spans(g, len(teams))
    out.pages(f"{base}/teams.json", (
        {"id": 5_000_000 + t, "node_id": f"MDQ6VGVhbT{t}", "url": f"{API}/teams/{5_000_000 + t}",
         "html_url": f"https://github.com/orgs/{name}/teams/{org.team_slug[t]}", "name": org.team_slug[t],
         "slug": org.team_slug[t], "description": "", "privacy": "closed",
         "notification_setting": "notifications_enabled", "permission": "pull",
         "members_url": f"{API}/teams/{5_000_000 + t}/members{{/member}}",
         "repositories_url": f"{API}/teams/{5_000_000 + t}/repos", "parent": None} for t in teams), 100, _bare)
    for k, t in enumerate(teams):
        out.pages(f"{base}/teams/{org.team_slug[t]}/members.json",
                  (gh_user(org, i) for i in p[bounds[k]:bounds[k + 1]].tolist()), 100, _bare)

    seats = np.nonzero(org.has["copilot"])[0].tolist()
    total = len(seats)
    activity = org.as_of - rng.integers(0, 6 * DAY, org.n)

    def seat(i: int) -> dict:
        gone = bool(org.departed[i])
        last = int(org.depart_ts[i]) - DAY if gone else int(activity[i])
        return {"created_at": iso(max(int(org.hired[i]), org.as_of - 500 * DAY)),
                "updated_at": iso(org.as_of - 30 * DAY), "pending_cancellation_date": None,
                "last_activity_at": iso(last), "last_activity_editor": "vscode/1.95.3/copilot/1.245.0",
                "plan_type": "business", "assignee": gh_user(org, i), "assigning_team": None}
    out.pages(f"{base}/copilot/billing/seats.json", (seat(i) for i in seats), 100,
              lambda items, pg, last: f'{{"total_seats":{total},"seats":[{items}]}}')

    def pat(c) -> dict:
        expired = c.expires is not None and c.expires <= org.as_of
        return {"id": int(c.native), "owner": gh_user(org, c.owner),
                "repository_selection": "subset" if int(c.native) % 3 else "all",
                "repositories_url": f"{API}/organizations/{10_000}/personal-access-tokens/{c.native}/repositories",
                "permissions": {"organization": {"members": "read"},
                                "repository": {"metadata": "read",
                                               "contents": "write" if int(c.native) % 2 else "read"}},
                "access_granted_at": iso(c.created), "token_id": 900_000 + int(c.native),
                "token_name": c.label, "token_expired": bool(expired or not c.active),
                "token_expires_at": iso(c.expires), "token_last_used_at": iso(c.last_used)}
    out.pages(f"{base}/personal-access-tokens.json",
              (pat(c) for c in org.creds if c.vendor == "github"), 100, _bare)

    org_account = {"login": name, "id": 10_000, "node_id": "MDEyOk9yZ2FuaXphdGlvbjEwMDAw",
                   "url": f"{API}/orgs/{name}", "type": "Organization", "site_admin": False}
    inst = [{"id": x["id"], "client_id": f"Iv1.{org.hid('ghapp', x['app_id'], 16)}", "account": org_account,
             "repository_selection": "all" if x["all"] else "selected",
             "access_tokens_url": f"{API}/app/installations/{x['id']}/access_tokens",
             "repositories_url": f"{API}/installation/repositories",
             "html_url": f"https://github.com/organizations/{name}/settings/installations/{x['id']}",
             "app_id": x["app_id"], "app_slug": x["slug"], "target_id": 10_000, "target_type": "Organization",
             "permissions": x["perms"], "events": ["push", "pull_request"],
             "created_at": iso(org.as_of - (100 + k) * DAY), "updated_at": iso(org.as_of - k * DAY),
             "single_file_name": None, "has_multiple_single_files": False, "single_file_paths": [],
             "suspended_by": None, "suspended_at": None} for k, x in enumerate(org.installations)]
    out.body(f"{base}/installations.json", {"total_count": len(inst), "installations": inst}, len(inst))


IAM_COLUMNS = ("user", "arn", "user_creation_time", "password_enabled", "password_last_used",
               "password_last_changed", "password_next_rotation", "mfa_active", "access_key_1_active",
               "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region",
               "access_key_1_last_used_service", "access_key_2_active", "access_key_2_last_rotated",
               "access_key_2_last_used_date", "access_key_2_last_used_region",
               "access_key_2_last_used_service", "cert_1_active", "cert_1_last_rotated", "cert_2_active",
               "cert_2_last_rotated")


def _iam(org: Org, out: Output) -> None:
    keys = {c.nid: c for c in org.creds if c.vendor == "aws"}
    account = "123456789012"
    rows = [",".join(IAM_COLUMNS)]
    root_created = aws(org.as_of - 2000 * DAY)
    rows.append(",".join(["<root_account>", f"arn:aws:iam::{account}:root", root_created, "not_supported",
                          aws(org.as_of - 40 * DAY), "not_supported", "not_supported", "true", "false", "N/A",
                          "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false",
                          "N/A"]))
    for u in org.iam_users:
        cells = [u["name"], f"arn:aws:iam::{account}:user/{u['name']}", aws(u["created"]), "false", "N/A",
                 "N/A", "N/A", "false"]
        for k in (1, 2):
            c = keys.get(f"aws:access_key:{u['name']}:{k}")
            if c is None:
                cells += ["false", "N/A", "N/A", "N/A", "N/A"]
            elif c.last_used is None:
                cells += ["true" if c.active else "false", aws(c.created), "N/A", "N/A", "N/A"]
            else:
                service = "bedrock" if c.base > 0 else ("s3", "sts", "dynamodb")[len(u["name"]) % 3]
                cells += ["true" if c.active else "false", aws(c.created), aws(c.last_used), "us-east-1", service]
        cells += ["false", "N/A", "false", "N/A"]
        rows.append(",".join(cells))
    out.text("aws/iam/credential-report.csv", "\n".join(rows) + "\n", len(rows) - 1)


# --- secret scanners -----------------------------------------------------------------
RULES = {"openai": ("openai-api-key", "OpenAI API Key", "OpenAI", 1),
         "openai_admin": ("openai-api-key", "OpenAI API Key", "OpenAI", 1),
         "anthropic": ("anthropic-api-key", "Anthropic API key", "Anthropic", 1),
         "litellm": ("generic-api-key", "Generic API Key", "Generic", 1),
         "aws": ("aws-access-token", "AWS Access Key", "AWS", 2)}
FILES = ("src/config.py", ".env.example", "scripts/run_eval.sh", "notebooks/prototype.ipynb",
         "deploy/values.yaml", "README.md", "tests/fixtures/settings.json")


def fake_secret(org: Org, c, salt: int) -> str:
    """A made-up secret shaped like the vendor's keys, consistent with the hint the
    vendor shows (same prefix, same last four). Not a real key of anyone."""
    if c.vendor == "aws":
        return c.hint
    head, _, last4 = c.hint.partition("...")
    body = (org.hid("fake", salt, 32) + org.hid("fake2", salt, 32))
    size = {"openai": 48, "openai_admin": 48, "anthropic": 80, "litellm": 20}.get(c.vendor, 32)
    return head + (body * 2)[:size] + last4


def _scanners(org: Org, out: Output) -> None:
    name = org.rates.github_org
    repos = [f"{name}/{WORDS[k % len(WORDS)]}-{('service', 'agent', 'infra', 'web')[k % 4]}" for k in range(40)]
    git, truffle = [], []
    from ..org import Cred
    for n, (k, scanner, day) in enumerate(org.leaks):
        if k >= 0:
            c = org.creds[k]
        else:
            # Near misses and strangers: same shapes, keys nobody here holds.
            vendor = ("openai", "anthropic", "aws", "litellm")[n % 4]
            tail = org.hid("stranger", n, 8)
            hint = {"openai": f"sk-proj-{tail[:2]}...{tail[4:8]}",
                    "anthropic": f"sk-ant-api03-{tail[:3].upper()}...{tail[4:8]}",
                    "aws": f"AKIA{org.hid('strangerak', n, 12).upper()}{tail[4:8].upper()}",
                    "litellm": f"sk-...{tail[4:8]}"}[vendor]
            c = Cred(nid="", vendor=vendor, native="", hint=hint, active=False)
        rule, desc, detector, det_type = RULES[c.vendor]
        secret = fake_secret(org, c, n)
        repo = repos[n % len(repos)]
        commit = org.hid("commit", n, 40)
        path = FILES[n % len(FILES)]
        line = 3 + n % 120
        ts = org.day_ts(day) + 10 * 3600 + (n * 37) % 20000
        who = c.owner if c.owner >= 0 else (org.tools[c.tool]["owner"] if c.tool >= 0 else n % org.n)
        who = who if who >= 0 else 0
        if scanner == "gitleaks":
            match = f"API_KEY = \"{secret}\""
            git.append({"RuleID": rule, "Description": desc, "StartLine": line, "EndLine": line,
                        "StartColumn": 11, "EndColumn": 11 + len(secret), "Match": match, "Secret": secret,
                        "File": path, "SymlinkFile": "", "Commit": commit,
                        "Link": f"https://github.com/{repo}/blob/{commit}/{path}#L{line}",
                        "Entropy": round(4.2 + (n % 10) / 10, 4), "Author": org.full_name(who),
                        "Email": org.email(who), "Date": iso(ts), "Message": "wip: quick test",
                        "Tags": [], "Fingerprint": f"{commit}:{path}:{rule}:{line}"})
        else:
            raw = secret
            extra = {"account": "123456789012", "arn": f"arn:aws:iam::123456789012:user/{c.native.split(':')[0]}"} \
                if c.vendor == "aws" and c.native else {}
            truffle.append({"SourceMetadata": {"Data": {"Git": {
                "commit": commit, "file": path, "email": f"{org.full_name(who)} <{org.email(who)}>",
                "repository": f"https://github.com/{repo}.git",
                "timestamp": iso(ts).replace("T", " ").replace("Z", " +0000"), "line": line, "visibility": 1}}},
                "SourceID": 1, "SourceType": 16, "SourceName": "trufflehog - git", "DetectorType": det_type,
                "DetectorName": detector, "DetectorDescription": desc, "DecoderName": "PLAIN",
                "Verified": bool(c.active), "VerificationFromCache": False, "Raw": raw,
                "RawV2": raw, "Redacted": c.hint if c.vendor == "aws" else "",
                "ExtraData": extra, "StructuredData": None})
    out.body("gitleaks/report.json", git, len(git))
    out.lines("trufflehog/scan.jsonl", iter(truffle))
