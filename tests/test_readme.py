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
