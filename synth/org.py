"""The synthetic org as compact arrays and small records: people, teams, tools,
projects, credentials, apps, data. Every source writer reads this one model, so the
sources agree with each other (same emails, same keys, same departures).

Draws come from one numpy Generator in a fixed order: same rates + same seed gives
the same org. Per-person facts are numpy arrays, not objects, so 200k people cost a
few megabytes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from .config import Rates

DAY = 86400
FIRST = ("ana", "raj", "li", "ben", "carla", "omar", "mei", "sam", "ivan", "nora", "yusuf", "eva",
         "tom", "priya", "jon", "sara", "kofi", "lena", "max", "aisha", "diego", "hana", "paul",
         "zoe", "ravi", "emma", "lucas", "fatima", "noah", "olga", "kenji", "amir", "chloe", "dan",
         "ines", "felix", "grace", "hugo", "ida", "jack", "kim", "leo", "mia", "nils", "oscar",
         "pia", "quinn", "rosa", "theo", "uma", "vera", "wei", "xena", "yara", "zain", "alba",
         "bruno", "cora", "dmitri", "elif")
LAST = ("silva", "patel", "wei", "okafor", "diaz", "haddad", "chen", "smith", "petrov", "berg",
        "kaya", "novak", "brown", "sharma", "lee", "cohen", "mensah", "fischer", "muller", "khan",
        "garcia", "sato", "martin", "ross", "iyer", "dubois", "rossi", "ali", "jensen", "ivanova",
        "tanaka", "rahimi", "leroy", "park", "costa", "wagner", "hughes", "moreau", "lund",
        "walsh", "kim", "lopez", "meyer", "nilsen", "obi", "pereira", "quint", "rao", "stone",
        "tran", "ueda", "vargas", "wolf", "xu", "young", "zimmer", "adams", "baker", "clark",
        "dahl")
WORDS = ("atlas", "beacon", "comet", "delta", "ember", "falcon", "harbor", "ion", "jade", "kite",
         "lumen", "mosaic", "nova", "orbit", "pulse", "quartz", "relay", "sierra", "tango",
         "umbra", "vector", "willow", "zephyr", "aurora", "cobalt", "drift", "echo", "fjord",
         "granite", "helix")
TOOL_KINDS = ("copilot", "assistant", "agent", "summariser", "classifier", "chatbot", "reviewer",
              "triage", "search", "writer", "analyst", "router")
SAAS = ("slack", "google-workspace", "zoom", "jira", "confluence", "salesforce", "workday",
        "notion", "zendesk", "hubspot", "github-enterprise", "datadog", "pagerduty", "figma",
        "asana", "box", "dropbox", "docusign", "netsuite", "snowflake", "tableau", "looker",
        "gong", "outreach", "intercom", "greenhouse", "lattice", "expensify", "okta-admin",
        "aws-console", "gcp-console", "azure-portal", "1password", "miro", "linear", "sentry",
        "circleci", "vercel", "mongodb-atlas", "servicenow")
AI_CLIENT_NAMES = ("ChatGPT", "Claude", "Otter.ai", "Fireflies.ai", "Notion AI", "Read AI",
                   "Superhuman AI", "Grammarly", "Copy.ai", "Jasper", "Perplexity", "Gemini helper",
                   "Tome", "Fathom AI Notetaker", "Motion AI", "Mem AI")
CLIENT_NAMES = ("Calendly", "Zoom", "Slack", "Miro", "Loom", "Docusign", "Lucidchart", "Trello",
                "Smartsheet", "Asana", "HubSpot", "Canva", "Dropbox", "Box", "Zapier", "Clockwise",
                "Reclaim", "Krisp", "Mailchimp", "Typeform", "SurveyMonkey", "Airtable", "Coda",
                "Pitch", "Vimeo", "Hootsuite", "Buffer", "Gong", "Outreach", "Salesloft")
GOOGLE_BASE_SCOPES = ("openid", "https://www.googleapis.com/auth/userinfo.email",
                      "https://www.googleapis.com/auth/userinfo.profile")
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/calendar.readonly",
                 "https://www.googleapis.com/auth/drive.file",
                 "https://www.googleapis.com/auth/calendar.events",
                 "https://www.googleapis.com/auth/contacts.readonly",
                 "https://www.googleapis.com/auth/drive.readonly",
                 "https://www.googleapis.com/auth/gmail.readonly",
                 "https://www.googleapis.com/auth/spreadsheets",
                 "https://www.googleapis.com/auth/documents",
                 "https://www.googleapis.com/auth/gmail.send",
                 "https://www.googleapis.com/auth/calendar",
                 "https://www.googleapis.com/auth/drive",
                 "https://www.googleapis.com/auth/gmail.modify",
                 "https://www.googleapis.com/auth/admin.directory.user.readonly",
                 "https://mail.google.com/",
                 "https://www.googleapis.com/auth/cloud-platform",
                 "https://www.googleapis.com/auth/admin.directory.user")
GRAPH_BASE_SCOPES = ("openid", "profile", "email", "offline_access", "User.Read")
GRAPH_SCOPES = ("Calendars.Read", "Files.Read", "Contacts.Read", "Mail.Read", "Files.Read.All",
                "Sites.Read.All", "Calendars.ReadWrite", "Mail.ReadWrite", "Mail.Send",
                "Files.ReadWrite.All", "Directory.Read.All", "User.ReadWrite.All",
                "Directory.ReadWrite.All")
# Microsoft Graph application permissions (app role ids are Graph's published ones).
GRAPH_APP_ROLES = (("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
                   ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
                   ("01d4889c-1287-42c6-ac1f-5d1e02578ef6", "Files.Read.All"),
                   ("332a536c-c7ef-4017-ab91-336970924f0d", "Sites.Read.All"),
                   ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
                   ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"))
OKTA_SCOPES = ("okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read",
               "okta.users.manage", "okta.groups.manage", "okta.apps.manage")


def zipf_weights(n: int, s: float) -> np.ndarray:
    w = (np.arange(n, dtype=np.float64) + 1.0) ** -s
    return w / w.sum()


@dataclass(slots=True)
class Cred:
    """One credential as every source sees it; usage parameters ride along."""
    nid: str
    vendor: str            # openai | openai_admin | anthropic | litellm | aws | github
    native: str
    owner: int = -1        # person index
    tool: int = -1
    scope: int = -1        # openai project / anthropic workspace / litellm team / iam user
    created: int = 0
    expires: int | None = None
    active: bool = True
    env: str | None = None
    hint: str = ""
    models: tuple = ()
    base: float = 0.0      # mean input tokens on an active day (0: never used in the window)
    p_day: float = 0.0
    stop: int = 1 << 30    # day index from which it stops being used
    spike_day: int = -1
    new_model_day: int = -1
    new_model: str = ""
    leak_day: int = -1
    leak_boost: float = 1.0
    last_used: int | None = None
    secret_prefix: str = ""
    label: str = ""


@dataclass
class Org:
    rates: Rates
    seed: int
    n: int
    rng: np.random.Generator
    as_of: int = 0
    day0: int = 0                      # unix ts of the first usage day
    n_days: int = 0
    domain: str = ""
    # people
    first: np.ndarray = None
    last: np.ndarray = None
    team: np.ndarray = None
    dept: np.ndarray = None
    eng: np.ndarray = None
    hired: np.ndarray = None
    departed: np.ndarray = None
    depart_ts: np.ndarray = None
    contractor: np.ndarray = None
    has: dict = field(default_factory=dict)   # source -> bool array
    # org structure
    dept_names: list = field(default_factory=list)
    team_slug: list = field(default_factory=list)
    team_dept: np.ndarray = None
    team_manager: np.ndarray = None
    tools: list = field(default_factory=list)      # dicts
    creds: list = field(default_factory=list)      # Cred
    projects: list = field(default_factory=list)   # openai projects: dicts
    workspaces: list = field(default_factory=list)
    lt_teams: list = field(default_factory=list)   # litellm teams
    iam_users: list = field(default_factory=list)
    saas: list = field(default_factory=list)
    data: list = field(default_factory=list)
    google_clients: list = field(default_factory=list)
    graph_apps: list = field(default_factory=list)
    installations: list = field(default_factory=list)
    leaks: list = field(default_factory=list)      # (cred index or -1, scanner, day)

    # --- helpers ---------------------------------------------------------------
    def hid(self, ns: str, i: int, length: int = 16) -> str:
        """A seed-dependent, random-looking id for entity i of a namespace."""
        return hashlib.blake2b(f"{self.seed}|{ns}|{i}".encode(), digest_size=32).hexdigest()[:length]

    def email(self, i: int) -> str:
        dom = "contractor.example.net" if self.contractor[i] else self.domain
        return f"{FIRST[self.first[i]]}.{LAST[self.last[i]]}{i}@{dom}"

    def full_name(self, i: int) -> str:
        return f"{FIRST[self.first[i]].title()} {LAST[self.last[i]].title()}"

    def login(self, i: int) -> str:
        return f"{FIRST[self.first[i]]}{LAST[self.last[i]][:3]}{i}"

    def day_ts(self, d: int) -> int:
        return self.day0 + d * DAY

    def day_date(self, d: int) -> date:
        return (datetime.fromtimestamp(self.day0, tz=timezone.utc) + timedelta(days=d)).date()


def build(rates: Rates, people: int, seed: int) -> Org:
    rng = np.random.default_rng(seed)
    org = Org(rates=rates, seed=seed, n=people, rng=rng)
    as_of = datetime.fromisoformat(str(rates.as_of).replace("Z", "+00:00"))
    org.as_of = int(as_of.timestamp())
    org.n_days = int(rates.usage_days)
    last_day = int(datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc).timestamp())
    org.day0 = last_day - (org.n_days - 1) * DAY
    org.domain = rates.domain
    _people(org)
    _tools_and_ai(org)
    _ensure_stories(org)
    _apps_and_data(org)
    _oauth(org)
    _leaks(org)
    return org


def _ensure_stories(org: Org) -> None:
    """Small orgs still get one of each planted story (a departed owner whose key
    keeps spending, a spike, a new model), so every rule has something to find."""
    used = [c for c in org.creds if c.base > 0 and c.vendor in ("openai", "anthropic", "litellm")]
    personal = [c for c in used if c.owner >= 0 and not org.contractor[c.owner]
                and org.team_manager[org.team[c.owner]] != c.owner]
    if personal and not any(org.departed[c.owner] and c.stop >= org.n_days for c in personal):
        c = personal[0]
        org.departed[c.owner] = True
        org.depart_ts[c.owner] = org.day0 + (org.n_days // 2) * DAY + 11 * 3600
        for other in org.creds:
            if other.owner == c.owner and other.base > 0:
                other.stop = 1 << 30
    tools = [c for c in used if c.tool >= 0] or used
    if tools and not any(c.spike_day >= 0 for c in tools):
        tools[0].spike_day = org.n_days - 3
    pool = {"openai": org.rates.ai.openai_new_models, "anthropic": org.rates.ai.anthropic_new_models}
    fresh = [c for c in tools if c.vendor in pool and c.spike_day < 0] or [c for c in used if c.vendor in pool]
    if org.n_days > 20 and fresh and not any(c.new_model_day >= 0 for c in org.creds):
        c = fresh[-1]
        c.new_model, c.new_model_day = pool[c.vendor][0], org.n_days - 6
        c.created = min(c.created, org.day0 - 2 * DAY)


def _people(org: Org) -> None:
    r, rng, n = org.rates, org.rng, org.n
    depts = list(r.departments.items())
    org.dept_names = [d for d, _ in depts]
    dw = np.array([w for _, (w, _) in depts], dtype=float)
    d_eng = np.array([bool(e) for _, (_, e) in depts])
    n_teams = max(1, int(round(n / r.team_size_mean)))
    org.team_dept = rng.choice(len(depts), n_teams, p=dw / dw.sum())
    tw = rng.pareto(r.team_size_zipf, n_teams) + 1.0
    team = rng.choice(n_teams, n, p=tw / tw.sum())
    k = min(n, n_teams)
    team[:k] = np.arange(k)           # every team has someone
    org.team = team.astype(np.int32)
    org.dept = org.team_dept[org.team]
    org.eng = d_eng[org.dept]
    org.first = rng.integers(0, len(FIRST), n)
    org.last = rng.integers(0, len(LAST), n)
    p = r.people
    org.hired = org.as_of - rng.integers(30, p.hire_span_days, n) * DAY - rng.integers(0, DAY, n)
    org.departed = rng.random(n) < p.departure_rate
    org.depart_ts = org.as_of - rng.integers(1, p.departure_window_days, n) * DAY - rng.integers(0, DAY, n)
    org.depart_ts = np.maximum(org.depart_ts, org.hired + 20 * DAY)
    org.contractor = rng.random(n) < 0.01
    org.contractor[:k] = False        # managers are employees
    org.departed &= ~org.contractor
    org.team_slug = [f"{org.dept_names[org.team_dept[t]]}-{WORDS[t % len(WORDS)]}-{t}" for t in range(n_teams)]
    mgr = np.full(n_teams, -1, dtype=np.int64)
    mgr[org.team[:k]] = np.arange(k)
    org.team_manager = mgr
    c = r.coverage
    u = lambda: rng.random(n)  # noqa: E731
    emp = ~org.contractor
    org.has = {
        "okta": emp & (u() < c.okta),
        "google": emp & (u() < c.google),
        "msgraph": emp & (u() < c.msgraph),
        "scim": emp & (u() < c.scim),
        "github": u() < np.where(org.eng, c.github_eng, c.github_other),
        "openai": u() < np.where(org.eng, c.openai_eng, c.openai_other),
        "anthropic": u() < np.where(org.eng | org.contractor, c.anthropic_eng, c.anthropic_other),
        "litellm": u() < np.where(org.eng, c.litellm_eng, c.litellm_other),
    }
    org.has["okta"][:k] = True
    org.has["claude_code"] = org.has["anthropic"] & org.eng & (u() < c.claude_code_of_anthropic_eng)
    org.has["copilot"] = org.has["github"] & (u() < c.copilot_of_github)


_CUM: dict[tuple, tuple] = {}


def _pick(rng, weights: dict) -> str:
    """One key drawn by weight (cumulative table cached per distribution)."""
    sig = tuple(weights.items())
    table = _CUM.get(sig)
    if table is None:
        keys = list(weights)
        cum = np.cumsum(np.array([weights[k] for k in keys], dtype=float))
        table = _CUM[sig] = (keys, cum / cum[-1])
    keys, cum = table
    return keys[min(len(keys) - 1, int(np.searchsorted(cum, rng.random(), side="right")))]


def _people_in(org: Org, mask: np.ndarray) -> np.ndarray:
    return np.nonzero(mask)[0]


def _tools_and_ai(org: Org) -> None:
    r, rng, n = org.rates, org.rng, org.n
    ai = r.ai
    n_teams = len(org.team_slug)
    eng_teams = np.nonzero(np.isin(org.team_dept, np.nonzero([bool(v[1]) for v in r.departments.values()])[0]))[0]
    if not len(eng_teams):
        eng_teams = np.arange(n_teams)

    # OpenAI projects and Anthropic workspaces belong to teams (eng-leaning).
    n_proj = max(1, int(round(n_teams * ai.openai_projects_per_team)))
    n_ws = max(1, int(round(n_teams * ai.anthropic_workspaces_per_team)))
    for j in range(n_proj):
        t = int(eng_teams[j % len(eng_teams)]) if j < len(eng_teams) else int(rng.integers(n_teams))
        org.projects.append({"id": f"proj_{org.hid('proj', j, 24)}", "team": t,
                             "name": f"{org.team_slug[t]} {WORDS[j % len(WORDS)]}",
                             "archived": bool(j > 0 and rng.random() < ai.project_archived_rate),
                             "created": int(org.as_of - rng.integers(60, 900) * DAY)})
    for j in range(n_ws):
        t = int(eng_teams[j % len(eng_teams)]) if j < len(eng_teams) else int(rng.integers(n_teams))
        org.workspaces.append({"id": f"wrkspc_01{org.hid('ws', j, 22)}", "team": t,
                               "name": f"{org.team_slug[t]}-ws",
                               "archived": bool(j > 0 and rng.random() < ai.project_archived_rate),
                               "created": int(org.as_of - rng.integers(60, 700) * DAY)})
    team_proj = {}
    for j, p in enumerate(org.projects):
        team_proj.setdefault(p["team"], j)
    team_ws = {}
    for j, w in enumerate(org.workspaces):
        team_ws.setdefault(w["team"], j)

    # IAM workload users (bots); some invoke Bedrock.
    aws = r.aws
    n_iam = aws.iam_users_base + int(round(n * aws.iam_users_per_1000 / 1000))
    for j in range(n_iam):
        t = int(rng.integers(n_teams))
        org.iam_users.append({"name": f"{WORDS[j % len(WORDS)]}-bot-{j}", "team": t,
                              "created": int(org.as_of - rng.integers(100, 1500) * DAY),
                              "bedrock": bool(rng.random() < ai.bedrock_iam_rate),
                              "keys": 2 if rng.random() < aws.second_key_rate else 1})

    # Tools and agents.
    n_tools = ai.tools_base + int(round(n * ai.tools_per_1000_people / 1000))
    members_by_team = _members_by_team(org)
    for j in range(n_tools):
        t = int(eng_teams[int(rng.integers(len(eng_teams)))]) if rng.random() < 0.7 else int(rng.integers(n_teams))
        vendor = _pick(rng, ai.tool_vendor)
        env = _pick(rng, ai.tool_environment)
        team_owned = rng.random() < ai.team_owned_tool_rate
        mem = members_by_team[t]
        owner_person = int(mem[int(rng.integers(len(mem)))]) if len(mem) else -1
        if rng.random() < 0.02:       # a tool a contractor set up and owns
            cs = np.nonzero(org.contractor)[0]
            if len(cs):
                owner_person, team_owned = int(cs[int(rng.integers(len(cs)))]), False
        org.tools.append({
            "id": f"{WORDS[j % len(WORDS)]}-{TOOL_KINDS[(j // len(WORDS)) % len(TOOL_KINDS)]}-{j}",
            "team": t, "vendor": vendor, "env": env,
            "approved": bool(rng.random() < ai.tool_approved_rate),
            "budget": int(rng.choice([200, 500, 1000, 2500, 5000])) if rng.random() < ai.tool_budget_rate else None,
            "team_owned": bool(team_owned), "owner": owner_person,
            "agent": bool(rng.random() < ai.agent_rate), "creds": [], "clients": [], "saas": []})

    def new_cred(**kw) -> int:
        org.creds.append(Cred(**kw))
        return len(org.creds) - 1

    lo, hi = ai.keys_per_tool
    iam_free = [j for j, u in enumerate(org.iam_users) if u["bedrock"]]
    for j, tool in enumerate(org.tools):
        v = tool["vendor"]
        created_base = org.as_of - int(rng.integers(15, 500)) * DAY
        if v == "bedrock":
            if not iam_free:
                org.iam_users[0]["bedrock"] = True
                iam_free = [0]
            u = iam_free[j % len(iam_free)]
            tool["iam_user"] = u
            tool["creds"].append(f"aws:access_key:{org.iam_users[u]['name']}:1")
            continue
        for k in range(int(rng.integers(lo, hi + 1))):
            if v == "openai":
                pj = team_proj.get(tool["team"], int(rng.integers(len(org.projects))))
                native = f"key_{org.hid('oaikey-t', j * 8 + k, 16)}"
                c = new_cred(nid=f"openai:api_key:{native}", vendor="openai", native=native,
                             tool=j, scope=pj, env=tool["env"], models=_models(rng, ai.openai_models))
            elif v == "anthropic":
                wj = team_ws.get(tool["team"], int(rng.integers(len(org.workspaces))))
                native = f"apikey_01{org.hid('antkey-t', j * 8 + k, 22)}"
                c = new_cred(nid=f"anthropic:api_key:{native}", vendor="anthropic", native=native,
                             tool=j, scope=wj, env=tool["env"], models=_models(rng, ai.anthropic_models))
            else:
                native = hashlib.sha256(f"{org.seed}|ltkey-t|{j}|{k}".encode()).hexdigest()
                c = new_cred(nid=f"litellm:key:{native}", vendor="litellm", native=native,
                             tool=j, scope=-1, env=tool["env"], models=_models(rng, ai.litellm_models))
            cr = org.creds[c]
            cr.created = created_base + int(rng.integers(0, 10)) * DAY
            cr.base = float(rng.lognormal(*ai.daily_tokens_tool))
            cr.p_day = ai.usage_day_prob_tool
            tool["creds"].append(cr.nid)

    # Personal keys of AI-vendor users.
    ulo, uhi = ai.keys_per_user
    for vendor, models in (("openai", ai.openai_models), ("anthropic", ai.anthropic_models),
                           ("litellm", ai.litellm_models)):
        users = _people_in(org, org.has[vendor])
        holders = users[rng.random(len(users)) < ai.user_key_rate]
        for i in holders.tolist():
            for k in range(int(rng.integers(ulo, uhi + 1))):
                t = int(org.team[i])
                if vendor == "openai":
                    scope = team_proj.get(t, int(rng.integers(len(org.projects))))
                    native = f"key_{org.hid('oaikey-u', i * 4 + k, 16)}"
                elif vendor == "anthropic":
                    scope = team_ws.get(t, int(rng.integers(len(org.workspaces))))
                    native = f"apikey_01{org.hid('antkey-u', i * 4 + k, 22)}"
                else:
                    scope = -1
                    native = hashlib.sha256(f"{org.seed}|ltkey-u|{i}|{k}".encode()).hexdigest()
                env = "personal" if rng.random() < 0.5 else "dev"
                c = new_cred(nid=f"{vendor}:{'key' if vendor == 'litellm' else 'api_key'}:{native}",
                             vendor=vendor, native=native, owner=i, scope=scope, env=env,
                             models=_models(rng, models))
                cr = org.creds[c]
                cr.created = int(max(org.hired[i] + 5 * DAY, org.as_of - rng.integers(5, 700) * DAY))
                cr.base = float(rng.lognormal(*ai.daily_tokens_personal))
                cr.p_day = ai.usage_day_prob_personal

    # LiteLLM teams: the teams whose people or tools hold LiteLLM keys.
    lt_team_ids: dict[int, int] = {}
    for cr in org.creds:
        if cr.vendor != "litellm":
            continue
        t = int(org.team[cr.owner]) if cr.owner >= 0 else org.tools[cr.tool]["team"]
        if t not in lt_team_ids:
            lt_team_ids[t] = len(org.lt_teams)
            org.lt_teams.append({"id": _uuid(org, "ltteam", t), "team": t,
                                 "budget": float(rng.choice([500, 1000, 5000])) if rng.random() < 0.5 else None})
        cr.scope = lt_team_ids[t]

    # OpenAI admin keys, held by org owners.
    oa_users = _people_in(org, org.has["openai"] & ~org.departed)
    for k in range(ai.admin_keys_base + n // 50000):
        native = f"key_{org.hid('oaiadmin', k, 16)}"
        owner = int(oa_users[k % len(oa_users)]) if len(oa_users) else -1
        new_cred(nid=f"openai:admin_api_key:{native}", vendor="openai_admin", native=native,
                 owner=owner, created=int(org.as_of - rng.integers(30, 600) * DAY), env="prod")

    # AWS access keys and GitHub PATs.
    for j, u in enumerate(org.iam_users):
        for k in range(1, u["keys"] + 1):
            c = new_cred(nid=f"aws:access_key:{u['name']}:{k}", vendor="aws", native=f"{u['name']}:{k}",
                         scope=j, created=int(u["created"] + rng.integers(0, 400) * DAY), env="prod")
            cr = org.creds[c]
            cr.created = min(cr.created, org.as_of - 3 * DAY)
            if k == 1 and u["bedrock"]:
                cr.models = _models(rng, ai.bedrock_models)
                cr.base = float(rng.lognormal(*ai.daily_tokens_tool))
                cr.p_day = ai.usage_day_prob_tool
    gh = _people_in(org, org.has["github"])
    for i in gh[rng.random(len(gh)) < r.oauth.github_pat_rate].tolist():
        native = str(1000 + i)
        new_cred(nid=f"github:pat:{native}", vendor="github", native=native, owner=i,
                 created=int(max(org.hired[i], org.as_of - rng.integers(3, 400) * DAY)))

    # Lifecycle: inactive, expiring, never used, stale, departed owners, spikes, new models.
    for cr in org.creds:
        if cr.vendor in ("openai", "anthropic", "litellm", "aws", "github"):
            cr.active = not (rng.random() < ai.key_inactive_rate)
            # Only LiteLLM keys and GitHub PATs state an expiry in their APIs.
            if cr.vendor in ("litellm", "github") and rng.random() < ai.key_expiry_rate:
                cr.expires = cr.created + int(rng.choice([30, 90, 180, 365])) * DAY
        if cr.base > 0:
            roll = rng.random()
            if roll < ai.never_used_rate:
                cr.base = 0.0
                cr.created = min(cr.created, org.as_of - int(rng.integers(35, 200)) * DAY)
            elif roll < ai.never_used_rate + ai.stale_rate:
                cr.base = 0.0
                cr.created = min(cr.created, org.as_of - int(rng.integers(200, 600)) * DAY)
                cr.last_used = cr.created + int(rng.integers(1, 90)) * DAY
            if cr.owner >= 0 and org.departed[cr.owner] and rng.random() >= ai.departed_keeps_spending_rate:
                cr.stop = _day_of(org, int(org.depart_ts[cr.owner]))
            if not cr.active:
                cr.stop = min(cr.stop, int(rng.integers(0, org.n_days)))
            if cr.expires is not None:
                cr.stop = min(cr.stop, max(0, _day_of(org, cr.expires)))
            if rng.random() < ai.spike_rate:
                cr.spike_day = int(rng.integers(max(0, org.n_days - 10), org.n_days))
            if org.n_days > 20 and rng.random() < ai.new_model_rate:
                pool = {"openai": ai.openai_new_models, "anthropic": ai.anthropic_new_models}.get(cr.vendor)
                if pool:
                    cr.new_model = pool[int(rng.integers(len(pool)))]
                    cr.new_model_day = int(rng.integers(15, org.n_days))
                    cr.created = min(cr.created, org.day0 - 2 * DAY)
        elif cr.vendor in ("github", "openai_admin"):
            cr.last_used = (None if rng.random() < 0.1 else
                            int(max(cr.created, org.as_of - rng.integers(0, 120) * DAY)))
        if cr.owner >= 0 and org.departed[cr.owner] and cr.vendor == "github":
            cr.last_used = int(org.depart_ts[cr.owner] - rng.integers(1, 10) * DAY)

    # Hints the vendors show (prefix + last four), and the prefix a scanner sees.
    for k, cr in enumerate(org.creds):
        tail = org.hid("tail", k, 8)
        last4 = "".join(ch.upper() if q % 2 else ch for q, ch in enumerate(tail[:4]))
        if cr.vendor in ("openai", "openai_admin"):
            cr.secret_prefix = "sk-admin-" if cr.vendor == "openai_admin" else "sk-proj-"
            cr.hint = f"{cr.secret_prefix}{tail[4:6]}...{last4}"
        elif cr.vendor == "anthropic":
            cr.secret_prefix = "sk-ant-api03-"
            cr.hint = f"sk-ant-api03-{tail[4:7].upper()}...{last4}"
        elif cr.vendor == "litellm":
            cr.secret_prefix = "sk-"
            cr.hint = f"sk-...{last4}"
        elif cr.vendor == "aws":
            cr.secret_prefix = "AKIA"
            cr.hint = f"AKIA{org.hid('akid', k, 12).upper()}{last4.upper()}"
        cr.label = f"{WORDS[k % len(WORDS)]} key {k}"


def _uuid(org: Org, ns: str, i: int) -> str:
    h = org.hid(ns, i, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _models(rng, weights: dict) -> tuple:
    first = _pick(rng, weights)
    if rng.random() < 0.3:
        second = _pick(rng, weights)
        if second != first:
            return (first, second)
    return (first,)


def _day_of(org: Org, ts: int) -> int:
    return int((ts - org.day0) // DAY)


def _members_by_team(org: Org) -> list[np.ndarray]:
    order = np.argsort(org.team, kind="stable")
    bounds = np.searchsorted(org.team[order], np.arange(len(org.team_slug) + 1))
    return [order[bounds[t]:bounds[t + 1]] for t in range(len(org.team_slug))]


def _apps_and_data(org: Org) -> None:
    r, rng, n = org.rates, org.rng, org.n
    a = r.apps
    n_saas = a.saas_base + int(round(n * a.saas_per_1000_people / 1000))
    sens = a.sensitivity
    for j in range(n_saas):
        name = SAAS[j] if j < len(SAAS) else f"{WORDS[j % len(WORDS)]}-app-{j}"
        app = {"id": name, "okta": f"0oa{org.hid('oktaapp', j, 17)}", "data": [],
               "oidc": bool(j % 4 == 1)}
        lo, hi = a.data_sources_per_app
        for k in range(int(rng.integers(lo, hi + 1))):
            did = f"{name}-{('records', 'files', 'messages', 'reports')[k % 4]}-{k}"
            org.data.append({"id": did, "sensitivity": _pick(rng, sens), "secrets": []})
            app["data"].append((len(org.data) - 1, ("read", "write", "admin")[int(rng.integers(3))]))
        org.saas.append(app)
    n_internal = 5 + int(round(n * a.data_sources_internal_per_1000 / 1000))
    org.internal_data_start = len(org.data)
    for j in range(n_internal):
        org.data.append({"id": f"{('warehouse', 'lake', 'bucket', 'db')[j % 4]}-{WORDS[j % len(WORDS)]}-{j}",
                         "sensitivity": _pick(rng, sens), "secrets": []})
    # Credentials kept inside data sources (keys in wiki pages, CRM notes, buckets).
    for k, cr in enumerate(org.creds):
        if cr.vendor in ("openai", "anthropic", "aws", "litellm") and rng.random() < a.stores_secret_rate:
            org.data[int(rng.integers(len(org.data)))]["secrets"].append(cr.nid)
    # Agents act through SaaS access; IAM workloads reach internal data.
    for tool in org.tools:
        if tool["agent"]:
            for _ in range(int(rng.integers(1, 3))):
                s = int(min(len(org.saas) - 1, rng.zipf(1.5) - 1))
                tool["saas"].append((s, "write" if rng.random() < 0.4 else "read"))
    for u in org.iam_users:
        u["data"] = []
        for _ in range(int(rng.integers(1, 3))):
            d = int(org.internal_data_start + rng.integers(n_internal))
            u["data"].append((d, ("read", "write", "admin")[int(rng.integers(3))]))


def _oauth(org: Org) -> None:
    r, rng, n = org.rates, org.rng, org.n
    o = r.oauth
    n_gc = o.google_clients_base + int(round(n * o.google_clients_per_1000 / 1000))
    sw = zipf_weights(len(GOOGLE_SCOPES), o.scopes_zipf)
    for j in range(n_gc):
        ai_app = j % 5 == 2
        names = AI_CLIENT_NAMES if ai_app else CLIENT_NAMES
        extra = min(len(GOOGLE_SCOPES), int(rng.geometric(0.45)) - 1)
        scopes = list(GOOGLE_BASE_SCOPES) + sorted(rng.choice(len(GOOGLE_SCOPES), extra, replace=False, p=sw).tolist()) if extra else list(GOOGLE_BASE_SCOPES)
        scopes = [s if isinstance(s, str) else GOOGLE_SCOPES[s] for s in scopes]
        num = 100000000000 + int(org.hid("gcnum", j, 10), 16) % 900000000000
        org.google_clients.append({
            "clientId": f"{num}-{org.hid('gclient', j, 32)}.apps.googleusercontent.com",
            "name": f"{names[j % len(names)]}{'' if j < len(names) * 5 else ' ' + str(j)}",
            "scopes": scopes, "ai": ai_app, "native": j % 7 == 3})
    gw = zipf_weights(len(GRAPH_SCOPES), o.scopes_zipf)
    n_ga = o.msgraph_apps_base + int(round(n * o.msgraph_apps_per_1000 / 1000))
    for j in range(n_ga):
        ai_app = j % 5 == 1
        names = AI_CLIENT_NAMES if ai_app else CLIENT_NAMES
        extra = min(len(GRAPH_SCOPES), int(rng.geometric(0.45)) - 1)
        picks = sorted(rng.choice(len(GRAPH_SCOPES), extra, replace=False, p=gw).tolist()) if extra else []
        roles = []
        if rng.random() < o.msgraph_app_role_rate:
            roles = sorted(rng.choice(len(GRAPH_APP_ROLES), int(rng.integers(1, 4)), replace=False).tolist())
        org.graph_apps.append({"id": _uuid(org, "sp", j), "appId": _uuid(org, "app", j),
                               "name": names[j % len(names)] + ("" if j < len(names) else f" {j}"),
                               "scope": " ".join(list(GRAPH_BASE_SCOPES) + [GRAPH_SCOPES[p] for p in picks]),
                               "tenant_wide": bool(rng.random() < 0.3), "roles": roles, "ai": ai_app})
    n_inst = o.github_installations_base + int(round(n * o.github_installations_per_1000 / 1000))
    for j in range(n_inst):
        perms = {"metadata": "read", "contents": ("read", "write")[int(rng.integers(2))]}
        if rng.random() < 0.4:
            perms["pull_requests"] = "write"
        if rng.random() < 0.15:
            perms["administration"] = "write"
        org.installations.append({"id": 40000000 + j, "app_id": 300000 + j,
                                  "slug": f"{WORDS[j % len(WORDS)]}-{('ci', 'bot', 'ai-review', 'deploy')[j % 4]}-{j}",
                                  "perms": perms, "all": bool(rng.random() < 0.5)})
    # Agents hold OAuth clients: a Google client or their SaaS app's Okta app.
    for tool in org.tools:
        if tool["agent"]:
            if rng.random() < 0.5 and org.google_clients:
                g = org.google_clients[int(rng.integers(len(org.google_clients)))]
                tool["clients"].append(f"google:oauth_client:{g['clientId']}")
            elif tool["saas"]:
                tool["clients"].append(f"okta:app:{org.saas[tool['saas'][0][0]]['okta']}")


def _leaks(org: Org) -> None:
    r, rng = org.rates, org.rng
    lk = r.leaks
    for k, cr in enumerate(org.creds):
        if cr.vendor not in ("openai", "anthropic", "litellm", "aws"):
            continue
        for scanner, rate in (("gitleaks", lk.gitleaks_rate), ("trufflehog", lk.trufflehog_rate)):
            if scanner == "trufflehog" and cr.vendor == "litellm":
                continue
            if rng.random() < rate:
                day = int(rng.integers(max(0, org.n_days - 25), org.n_days))
                org.leaks.append((k, scanner, day))
                if cr.leak_day < 0 and cr.base > 0:
                    cr.leak_day = day
                    cr.leak_boost = float(rng.uniform(*lk.leak_usage_boost))
    # Every org has at least one leak per scanner, on keys that are in use.
    for scanner, vendors in (("gitleaks", ("anthropic", "openai")), ("trufflehog", ("aws", "openai"))):
        if not any(s == scanner for _, s, _ in org.leaks):
            pick = next((k for k, c in enumerate(org.creds) if c.vendor in vendors and c.base > 0
                         and c.active), None)
            if pick is not None:
                day = org.n_days - 7
                org.leaks.append((pick, scanner, day))
                c = org.creds[pick]
                if c.leak_day < 0:
                    c.leak_day, c.leak_boost = day, 3.0
    # Findings that match nothing (test fixtures, revoked long ago, other orgs' keys).
    matched = len(org.leaks)
    extra = max(2, int(round(matched * lk.unmatched_share / max(1e-9, 1 - lk.unmatched_share))))
    for j in range(extra):
        org.leaks.append((-1 - j, "gitleaks" if j % 3 else "trufflehog",
                          int(rng.integers(0, org.n_days))))
