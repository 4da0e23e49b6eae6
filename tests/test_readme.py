"""The README's example queries run on the bundled demo without errors, and its
first lines still give the two commands a new user needs."""
from api.execute import execute
from tests.conftest import ROOT


def _queries():
    block = (ROOT / "README.md").read_text().split("```graphql")[1].split("```")[0]
    out, cur, depth = [], "", 0
    for line in block.splitlines():
        line = line.split("#")[0]
        if not line.strip():
            continue
        cur += line + "\n"
        depth += line.count("{") - line.count("}")
        if depth == 0:
            out.append(cur)
            cur = ""
    return out


def test_first_lines_are_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()[:6]
    assert any("burnpath demo" in line for line in lines)
    assert any("pytest" in line for line in lines)


def test_readme_queries_run_on_the_demo(demo_engine):
    queries = _queries()
    assert len(queries) >= 5
    for q in queries:
        result = execute(demo_engine, q)
        assert "errors" not in result, (q, result.get("errors"))
        assert all(v for v in result["data"].values())


# --- the README's command-line flows, run as a user would (a shell, a real store) ---

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from engine.alerts.signing import verify  # noqa: E402
from tests.alert_receiver import Receiver  # noqa: E402

FLOWS = ("demo", "ingest", "history", "responder", "lookup", "review", "risk", "ci", "alerts")


def _flows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text()
    return {m.group(1): [line for line in m.group(2).splitlines() if line.strip()]
            for m in re.finditer(r"<!-- readme-test: (\S+) -->\n```bash\n(.*?)```", text, re.S)}


def _script(lines: list[str]) -> str:
    """Each line run in one bash session (exports carry over), checked for the exit
    status its comment promises (`# exits N`, else 0). `serve` would not return: the
    CLI tests start it on its own."""
    out = ["set -u"]
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("burnpath serve"):
            continue
        m = re.search(r"#\s*exits? (\d+)", line)
        expected = int(m.group(1)) if m else 0
        said = shlex.quote(f"not {expected}: {line}")   # any quotes in the line stay inside the message
        out += [line, f'rc=$?; [ $rc -eq {expected} ] || {{ echo "line {n}: exit $rc," {said} >&2; exit 99; }}']
    return "\n".join(out) + "\n"


def test_readme_names_every_flow():
    assert set(FLOWS) <= set(_flows())


def test_readme_flows_run_against_a_real_store(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "burnpath"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m api.cli "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    for name in ("fixtures", "queries"):                 # the README's relative paths
        (work / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BURNPATH_")}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", PYTHONPATH=str(ROOT))
    flows = _flows()
    with Receiver() as rx:
        env["WEBHOOK_URL"] = rx.url
        for name in FLOWS:
            r = subprocess.run(["bash", "-c", _script(flows[name])], cwd=work, env=env,
                               capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, (name, r.stderr[-3000:])
            assert "Traceback" not in r.stderr, (name, r.stderr[-3000:])
        # alerts: one signed message (the second run and the watch found nothing new)
        assert len(rx.requests) == 1
        headers, body = rx.requests[0]
        assert verify("change-me", headers, body)
    assert (work / "burnpath.db").exists() and (work / "mine.db").exists()
    report = (work / "review.html").read_text()
    assert "<html" in report.lower() and "<svg" in report      # the review report, pictures inline
    rows = (work / "review.csv").read_text().splitlines()
    assert rows[0].startswith("id,rule,severity") and len(rows) > 10
    assert any(f["severity"] == "critical" for f in json.loads((work / "baseline.json").read_text()))
    sarif = json.loads((work / "burnpath.sarif").read_text())
    assert any("physicalLocation" in r["locations"][0] for r in sarif["runs"][0]["results"])
