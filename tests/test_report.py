"""`burnpath report`: one self-contained HTML access review of the demo, opened in a
real chromium from file:// with every network request blocked."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli import main
from tests.conftest import ROOT
from tests.test_graphiql_browser import browser, chromium, demo_copy  # noqa: F401 - fixtures

CHAIN = ["tool:drift-chat", "saas:salesforce", "data:crm-records", "aws:access_key:ci-bot:1",
         "aws:iam_user:ci-bot", "data:warehouse"]


@pytest.fixture
def db(demo_copy) -> Path:  # noqa: F811 - a private copy of the session's demo db
    return demo_copy


def report(db: Path, out: Path, *extra: str) -> int:
    return main(["report", "--db", str(db), "--out", str(out), *extra])


def test_report_content(db, tmp_path, capsys):
    out = tmp_path / "review.html"
    assert report(db, out) == 0
    assert "wrote" in capsys.readouterr().out
    html = out.read_text()
    for section in ("summary", "risks", "findings", "spend", "departed", "shared", "pictures"):
        assert f'<section id="{section}">' in html, section
    # Nothing that would load from anywhere: no scripts, no external resources.
    assert "<script" not in html and not re.search(r'(?:src|href)="(?!#)', html)
    assert "default-src 'none'" in html
    # Findings by team and owner, with their evidence.
    assert '<h3 id="team-team:data-platform">' in html and "Owner: person:ben@example.com (inactive)" in html
    assert "leaked-credential" in html and "northwind/data-agent" in html
    # Departed owners: Ben, and what he owns with findings.
    departed = html[html.index('<section id="departed">'):html.index('<section id="shared">')]
    assert "person:ben@example.com" in departed and "openai:api_key:key_ben" in departed
    shared = html[html.index('<section id="shared">'):html.index('<section id="pictures">')]
    assert "openai:api_key:key_devshared" in shared and "tool:ops-summariser" in shared
    # Spend by team and person, with the unattributed row.
    spend = html[html.index('<section id="spend">'):html.index('<section id="departed">')]
    assert "team:support" in spend and "person:ana@example.com" in spend and "(unattributed)" in spend
    # The drift chat's blast radius is drawn, with its second-order chain.
    pictures = html[html.index('<section id="pictures">'):]
    svg = re.search(r'<svg [^>]*data-source="tool:drift-chat".*?</svg>', pictures, re.S)
    assert svg, "the drift chat's picture"
    for node in CHAIN:
        assert re.search(rf'<g class="node[^"]*second-order[^"]*" data-id="{re.escape(node)}"', svg.group(0)), node
    assert re.search(r'class="edge second-order stored-secret" data-from="data:crm-records" '
                     r'data-to="aws:access_key:ci-bot:1"', svg.group(0))


def test_report_opens_offline_in_a_browser(db, tmp_path, chromium):  # noqa: F811
    out = tmp_path / "review.html"
    assert report(db, out) == 0
    with browser(chromium, tmp_path) as s:
        blocked = []

        def only_the_file(route):
            if route.request.url.startswith("file://"):
                return route.continue_()
            blocked.append(route.request.url)
            return route.abort()
        s.page.route("**/*", only_the_file)
        s.page.goto(out.as_uri())
        assert s.page.title() == "burnpath access review"
        assert s.page.locator("svg.blast").count() >= 1
        box = s.page.locator('svg.blast g.node[data-id="data:warehouse"]').first.bounding_box()
        assert box and box["width"] > 50          # drawn, not just present
        s.page.locator("#findings details summary").first.click()
        assert s.page.locator("#findings details[open] pre").first.is_visible()
        shots = ROOT / "out" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        s.page.screenshot(path=str(shots / "report.png"), full_page=True)
        assert blocked == [] and s.errors == [] and s.failed == []
        assert {r.url for r in s.requests} == {out.as_uri()}


def test_team_report_and_as_of(db, tmp_path):
    team = tmp_path / "team.html"
    assert report(db, team, "--team", "support") == 0
    html = team.read_text()
    assert "access review: team:support" in html
    findings = html[html.index('<section id="findings">'):html.index('<section id="spend">')]
    assert "openai:api_key:key_support" in findings
    assert "apikey_01DataAgent" not in findings            # the data platform team's key
    early = tmp_path / "early.html"
    assert report(db, early, "--as-of", "2026-10-05") == 0
    def count(text):
        return int(re.search(r"<strong>(\d+)</strong>findings", text).group(1))
    whole = tmp_path / "whole.html"
    assert report(db, whole) == 0
    assert count(early.read_text()) < count(whole.read_text())
    assert "2026-10-05" in early.read_text()


def test_refuses_to_overwrite_without_force(db, tmp_path, capsys):
    out = tmp_path / "review.html"
    out.write_text("keep me")
    assert report(db, out) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep me"
    assert report(db, out, "--force") == 0
    assert out.read_text().startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".burnpath-report-")] == []


def test_clear_errors_and_nothing_written(db, tmp_path, capsys):
    out = tmp_path / "review.html"
    assert main(["report", "--db", str(tmp_path / "missing.db"), "--out", str(out)]) == 2
    assert "no store" in capsys.readouterr().err and not out.exists()
    assert not (tmp_path / "missing.db").exists()
    assert report(db, out, "--team", "team:nope") == 2
    assert "no team" in capsys.readouterr().err and not out.exists()
    assert report(db, out, "--as-of", "yesterday-ish") == 2
    assert "--as-of" in capsys.readouterr().err and not out.exists()
    assert report(db, tmp_path / "no" / "dir.html") == 2
    assert "not a directory" in capsys.readouterr().err
