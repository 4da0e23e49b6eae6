"""Wrong-typed, out-of-range, too deep and too large values: an error naming the file,
the field and the problem, never a traceback (issue 13, tracebacks instead of clear
errors). Over the API the ingest mutation answers BAD_INPUT, not INTERNAL."""
import json
import shutil
import subprocess
import sys

import pytest

from ingest.errors import IngestError
from ingest.snapshot import plan, read_source
from tests.conftest import DEMO, write


def _read(root):
    for load in plan([root]):
        read_source(load)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=300)


def _copy(tmp_path, source):
    root = tmp_path / "snap" / source
    shutil.copytree(DEMO / source, root)
    return root


def _edit_json(path, fn):
    body = json.loads(path.read_text())
    fn(body)
    path.write_text(json.dumps(body))


def _scim_user_name(body):
    _page0(body)["Resources"][0]["userName"] = 12345


def _page0(body):
    return body[0] if isinstance(body, list) else body


def _openai_usage_overflow(path):
    text = path.read_text()
    assert '"input_tokens": ' in text
    path.write_text(text.replace('"input_tokens": ', '"input_tokens": 1e400, "x": ', 1))


CASES = {
    # (source, file, edit, words that must be in the error)
    "scim userName a number": ("scim", "Users.json", lambda p: _edit_json(p, _scim_user_name),
                               ["Users.json", "userName", "expected a string", "12345"]),
    "openai input_tokens 1e400": ("openai", "organization/usage/completions.json", _openai_usage_overflow,
                                  ["completions.json", "input_tokens", "finite number"]),
    "anthropic model_breakdown a number": (
        "anthropic", "organizations/usage_report/claude_code.json",
        lambda p: _edit_json(p, lambda b: _page0(b)["data"][0].__setitem__("model_breakdown", 7.5)),
        ["claude_code.json", "model_breakdown", "expected a list"]),
    "litellm team members a bool": (
        "litellm", "team/list.json",
        lambda p: _edit_json(p, lambda b: (b if isinstance(b, list) else b.get("teams") or b.get("data"))[0]
                             .__setitem__("members", True)),
        ["list.json", "members", "expected a list"]),
    "msgraph appRoles a number": (
        "msgraph", "v1.0/servicePrincipals.json",
        lambda p: _edit_json(p, lambda b: _page0(b)["value"][0].__setitem__("appRoles", 3.5)),
        ["servicePrincipals.json", "appRoles", "expected a list"]),
    "openai cost line_item a list": (
        "openai", "organization/costs.json",
        lambda p: _edit_json(p, lambda b: _first_result(b).__setitem__("line_item", ["a"])),
        ["costs.json", "line_item", "expected a string"]),
}


def _first_result(body):
    pages = body if isinstance(body, list) else [body]
    for page in pages:
        for bucket in page["data"]:
            if bucket.get("results"):
                return bucket["results"][0]
    raise AssertionError("no cost result")


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_typed_field_names_file_field_and_problem(tmp_path, case):
    source, rel, edit, words = CASES[case]
    root = _copy(tmp_path, source)
    edit(root / rel)
    with pytest.raises(IngestError) as info:
        _read(root)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def _deep(n):
    return "[" * n + "]" * n


def test_json_nested_past_the_bound_is_an_error(tmp_path):
    root = _copy(tmp_path, "scim")
    (root / "Users.json").write_text('{"Resources": [{"id": "u1", "x": ' + _deep(1200) + "}]}")
    with pytest.raises(IngestError, match=r"Users\.json: a value nested deeper than 255 levels"):
        _read(root)
    # Within the bound it reads (and the value is kept as a property).
    (root / "Users.json").write_text('{"Resources": [{"id": "u1", "userName": "a@x.io", "x": ' + _deep(200) + "}]}")
    _read(root)


def test_jsonl_line_nested_past_the_bound_is_an_error(tmp_path):
    root = tmp_path / "snap" / "trufflehog"
    write(root / "deep.jsonl", '{"DetectorName": "AWS", "ExtraData": ' + _deep(5000) + "}\n")
    with pytest.raises(IngestError, match=r"deep\.jsonl: line 1: a value nested deeper than 255 levels"):
        _read(root)


def test_yaml_nested_past_the_bound_is_an_error(tmp_path):
    root = tmp_path / "snap" / "inventory"
    write(root / "deep.yaml", "teams: [{id: a, note: " + _deep(400) + "}]\n")
    with pytest.raises(IngestError, match=r"deep\.yaml: .*nested deeper than 255 levels"):
        _read(root)


def test_csv_cell_over_128_kib_is_an_error(tmp_path):
    root = _copy(tmp_path, "aws")
    report = root / "iam" / "credential-report.csv"
    lines = report.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "arn:" + "x" * (200 << 10)
    lines[1] = ",".join(cells)
    report.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"credential-report\.csv: line 2: a cell longer than 128 KiB"):
        _read(root)


def test_cli_shows_no_traceback_for_any_of_them(tmp_path):
    for n, case in enumerate(sorted(CASES)):
        source, rel, edit, words = CASES[case]
        root = tmp_path / str(n) / source
        shutil.copytree(DEMO / source, root)
        edit(root / rel)
        r = _cli("ingest", str(root), "--db", str(tmp_path / f"{n}.db"))
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert words[0] in r.stderr and words[1] in r.stderr, r.stderr


def test_ingest_mutation_answers_bad_input(tmp_path):
    from tests.api_helpers import post, serving, small_org
    from tests.test_api_auth import make_token
    db = small_org(tmp_path)
    admin = make_token(db, "admin")
    root = _copy(tmp_path / "m", "scim")
    _scim_user_name_file = root / "Users.json"
    _edit_json(_scim_user_name_file, _scim_user_name)
    deep = tmp_path / "d" / "trufflehog"
    write(deep / "deep.jsonl", '{"DetectorName": "AWS", "ExtraData": ' + _deep(3000) + "}\n")
    with serving(db) as (srv, _, _):
        for path, needle in ((root, "userName"), (deep, "nested deeper")):
            resp = post(srv, 'mutation($p: [String!]!) { ingest(paths: $p) { source } }', admin,
                        {"p": [str(path)]})
            err = resp.json()["errors"][0]
            assert err["extensions"]["code"] == "BAD_INPUT", err
            assert needle in err["message"], err
