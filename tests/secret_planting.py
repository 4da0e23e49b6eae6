"""Planting secrets into a real snapshot, and finding any 8-character window of them in
whatever burnpath writes or answers (tests/test_secrets_at_rest.py).

A planted secret knows which of its characters the reduction rule may show (a known
vendor prefix, a URI's scheme, user and host, a PEM header): every 8-character window
holding four or more of its other characters is forbidden everywhere.
"""
from __future__ import annotations

import base64
import itertools
import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

from engine.secret_hints import prefix_table

ALNUM = string.ascii_letters + string.digits
# printable, but nothing JSON or YAML would escape (so a stored copy would be found as is)
PRINTABLE = "".join(c for c in string.printable if c not in "\"\\'\n\r\t\x0b\x0c#:{}[],&*!|>%@`")


@dataclass
class Planted:
    text: str                       # what is planted
    hidden: list[tuple[int, int]]   # spans of `text` no stored byte may reveal
    shaped: bool = True             # recognisable by shape (may go into any field)

    def windows(self) -> list[str]:
        """Every 8-character window holding at least 4 hidden characters (fewer would be
        mostly a public prefix: `in_api_k` of `lin_api_...` is also in `admin_api_keys`)."""
        out = set()
        for i in range(len(self.text) - 7):
            hidden = sum(max(0, min(i + 8, end) - max(i, start)) for start, end in self.hidden)
            if hidden >= 4:
                out.add(self.text[i:i + 8])
        return sorted(out)


def _random(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if alphabet is not ALNUM or (any(c.isupper() for c in s) and any(c.islower() for c in s)
                                     and any(c.isdigit() for c in s)):
            return s


def token(rng: random.Random, prefix: str, n: int = 40, charset: str = "[A-Za-z0-9]") -> Planted:
    alphabet = "".join(c for c in ALNUM + "_-." if re.fullmatch(charset, c))
    s = prefix + _random(rng, n, ALNUM if set(alphabet) >= set(ALNUM) else alphabet)
    return Planted(s, [(len(prefix), len(s))])


def embedded(before: str, secret: str, after: str = "") -> Planted:
    """`secret` between text the rule may show; a vendor prefix it starts with is public too."""
    from engine.secret_hints import vendor_prefix
    text = before + secret + after
    return Planted(text, [(len(before) + len(vendor_prefix(secret)), len(before) + len(secret))])


def pem(rng: random.Random, label: str) -> Planted:
    body = "\n".join(_random(rng, 64, ALNUM + "+/") for _ in range(4))
    head = f"-----BEGIN {label}-----\n"
    return Planted(f"{head}{body}\n-----END {label}-----", [(len(head), len(head) + len(body))])


def jwt(rng: random.Random) -> Planted:
    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    s = (b64({"alg": "HS256", "typ": "JWT"}) + "." + b64({"sub": _random(rng, 12), "n": rng.random()})
         + "." + _random(rng, 43, ALNUM + "-_"))
    return Planted(s, [(3, len(s))])


def shapes(rng: random.Random) -> list[Planted]:
    """Every detector shape: vendor keys, PEM keys, credentialed URIs and connection
    strings, JWTs, `password=` pairs."""
    out = []
    for e in prefix_table().entries:
        if e.identifier or e.prefix == "eyJ":
            continue
        out.append(token(rng, e.prefix, 40 if e.prefix != "pypi-" else 60, e.charset))
    for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
                  "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"):
        out.append(pem(rng, label))
    pw, tok = _random(rng, 18), "glpat-" + _random(rng, 20)
    out += [
        embedded("postgres://app_user:", pw, "@db.internal.example.com:5432/app"),
        embedded("mongodb+srv://svc:", _random(rng, 16), "@cluster0.ab1cd.mongodb.net/test?retryWrites=true"),
        embedded("mysql://root:", _random(rng, 14), "@10.0.0.5:3306/prod"),
        embedded("redis://:", _random(rng, 24), "@cache.example.com:6379/0"),
        embedded("amqp://rabbit:", _random(rng, 16), "@mq.example.com/vhost"),
        embedded("https://oauth2:", tok, "@gitlab.example.com/group/repo.git"),
        embedded("https://", "ghp_" + _random(rng, 36), "@github.com/acme/infra.git"),
        embedded("https://x-access-token:", "ghs_" + _random(rng, 36), "@github.com/acme/app"),
        embedded("jdbc:postgresql://db.example.com:5432/app?user=etl&password=", _random(rng, 16)),
        embedded("jdbc:oracle:thin:scott/", _random(rng, 12), "@orahost:1521:ORCL"),
        embedded("Server=tcp:sql.example.net,1433;Database=crm;User ID=svc;Password=", _random(rng, 16), ";"),
        embedded("DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=", _random(rng, 44, ALNUM + "+/"),
                 ";EndpointSuffix=core.windows.net"),
        embedded("password=", _random(rng, 14)),
        embedded("client_secret: ", _random(rng, 24)),
        embedded("aws_secret_access_key=", _random(rng, 40, ALNUM + "+/")),
        embedded("Authorization: Bearer ", _random(rng, 32)),
        jwt(rng),
    ]
    return out


def unshaped(rng: random.Random) -> list[Planted]:
    """Secrets only a field's meaning reveals: random strings (an AWS secret key, a
    password), for the fields scanners and vendors say hold a secret."""
    out = [Planted(_random(rng, 40, ALNUM + "+/"), [], False), Planted(_random(rng, 24, PRINTABLE), [], False),
           Planted(_random(rng, 32, "0123456789abcdef"), [], False)]
    for p in out:
        p.hidden = [(0, len(p.text))]
    return out


def forbidden(planted: list[Planted]) -> dict[str, str]:
    """window -> the planted text it comes from."""
    return {w: p.text for p in planted for w in p.windows()}


def leaks(haystack: str | bytes, planted: list[Planted]) -> list[str]:
    text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    return [f"{w!r} of {src[:24]!r}..." for w, src in forbidden(planted).items() if w in text]


# --- the snapshot ---------------------------------------------------------------
def _edit_json(path: Path, fn) -> None:
    body = json.loads(path.read_text())
    fn(body)
    path.write_text(json.dumps(body))


def plant(snap: Path, rng: random.Random) -> list[Planted]:
    """Plant secrets into a copy of the demo snapshot (openai, anthropic, litellm, okta,
    msgraph, gitleaks, trufflehog, inventory): scanner fields of both tools in all their
    shapes, vendors' key listings (raw where a redacted value belongs), and unmapped
    fields of identity sources and inventory. Returns what was planted."""
    shaped, raw = shapes(rng), unshaped(rng)
    every = shaped + raw
    it = itertools.cycle(shaped)

    # secret scanners: every field that can carry the secret
    gitleaks = []
    for n, p in enumerate(every):
        gitleaks.append({"RuleID": "generic-api-key", "Description": "Generic API Key", "File": f"app/{n}.env",
                         "StartLine": n + 1, "EndLine": n + 1, "StartColumn": 1, "EndColumn": 40,
                         "Secret": p.text, "Match": f"api_key = '{p.text}'", "Line": f"  api_key = '{p.text}'",
                         "Commit": f"{n:040x}", "Author": "Ana Silva", "Email": "ana@example.com",
                         "Date": "2026-11-01T10:00:00Z", "Message": f"add config {next(it).text}",
                         "Tags": ["key"], "Fingerprint": f"{n:040x}:app/{n}.env:generic-api-key:{n + 1}",
                         "Entropy": 4.5, "SymlinkFile": "", "Link": "https://github.com/acme/app/blob/x",
                         "Note": next(it).text})
    (snap / "gitleaks" / "plant-v8.json").write_text(json.dumps(gitleaks))
    v7 = [{"line": f"token = '{p.text}'", "lineNumber": n + 1, "offender": f"token = '{p.text}'" if n % 2 else p.text,
           "commit": f"{n:040x}", "repo": "acme/app", "repoURL": "https://github.com/acme/app", "rule": "Generic Credential",
           "commitMessage": f"oops {next(it).text}", "author": "Ben", "email": "ben@example.com", "file": f"v7/{n}.py",
           "date": "10-19-2003", "tags": "key, Generic"} for n, p in enumerate(every)]
    (snap / "gitleaks" / "plant-v7.json").write_text(json.dumps(v7))
    hog = [{"SourceMetadata": {"Data": {"Git": {"commit": f"{n:040x}", "file": f"f{n}.txt", "email": "Ben <ben@example.com>",
                                                "repository": "https://github.com/acme/infra.git",
                                                "timestamp": "2026-10-02 09:14:27 +0000", "line": n}}},
            "SourceID": 1, "SourceType": 7, "SourceName": "trufflehog - git", "DetectorType": 17 + n,
            "DetectorName": "Generic", "DecoderName": "PLAIN", "Verified": bool(n % 2), "Raw": p.text,
            "RawV2": p.text + ":" + next(it).text, "Redacted": p.text, "ExtraData": {"hint": next(it).text},
            "StructuredData": None} for n, p in enumerate(every)]
    half = len(hog) // 2
    (snap / "trufflehog" / "plant.jsonl").write_text("\n".join(json.dumps(h) for h in hog[:half]) + "\n")
    (snap / "trufflehog" / "plant-array.json").write_text(json.dumps(hog[half:], indent=2))

    # vendors' key listings: a raw key where the redacted value belongs, notes beside it
    def openai(body):
        for item in body["data"]:
            item["redacted_value"] = next(it).text
            item["note"] = next(it).text
    _edit_json(snap / "openai/organization/projects/proj_support/api_keys.json", openai)

    def anthropic(body):
        for item in body["data"]:
            item["partial_key_hint"] = next(it).text
            item["description"] = next(it).text
    _edit_json(snap / "anthropic/organizations/api_keys.json", anthropic)

    def litellm(body):
        for page in body:
            for item in page["keys"]:
                item["key_name"] = next(it).text
                item["metadata"] = {"note": next(it).text, "upstream": next(it).text}
    _edit_json(snap / "litellm/key/list.json", litellm)

    # identity sources: unmapped fields
    def okta(body):
        for page in body:
            for user in page:
                user["profile"]["deployToken"] = next(it).text
                user["profile"]["notes"] = "see " + next(it).text
    _edit_json(snap / "okta/api/v1/users.json", okta)

    def msgraph(body):
        for page in body:
            for user in page["value"]:
                user["extension_9a8b7c_apiToken"] = raw[0].text
                user["onPremisesExtensionAttributes"] = {"extensionAttribute1": next(it).text}
                user["aboutMe"] = next(it).text
    _edit_json(snap / "msgraph/v1.0/users.json", msgraph)

    # inventory: free annotations
    notes = [next(it).text for _ in range(4)]
    (snap / "inventory" / "plant.yaml").write_text(json.dumps({
        "ai_tools": [{"id": "planted-tool", "name": "Planted", "owner": "ana@example.com",
                      "notes": notes[0], "api_key": raw[1].text}],
        "data_sources": [{"id": "planted-db", "name": "Planted DB", "sensitivity": "restricted",
                          "connection": notes[1]}],
        "credentials": [{"id": "openai:api_key:key_support", "notes": notes[2], "password": raw[2].text}],
    }))
    return every
