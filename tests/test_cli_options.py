"""Global options before or after the verb, and verbs plugged in from their own modules."""
import sys

import pytest

from api import cli
from tests.conftest import write

INV = "ai_tools: [{id: bot, owner: a@x.io, credentials: [openai:api_key:k1]}]\n"


@pytest.fixture
def db(tmp_path):
    write(tmp_path / "snap" / "inventory" / "org.yaml", INV)
    path = str(tmp_path / "x.db")
    assert cli.main(["ingest", str(tmp_path / "snap"), "--db", path]) == 0
    return path


@pytest.mark.parametrize("argv", [
    ["token", "create", "--role", "reader", "--db", "{db}"],
    ["--db", "{db}", "token", "create", "--role", "reader"],
    ["token", "--db", "{db}", "create", "--role", "reader"],
])
def test_db_in_any_position(db, argv, capsys):
    assert cli.main([a.replace("{db}", db) for a in argv]) == 0
    assert capsys.readouterr().out.startswith("bp_")
    assert cli.main(["token", "list", "--db", db]) == 0
    assert "reader" in capsys.readouterr().out


def test_after_the_verb_wins_and_rules_from_both_places_add_up(db, tmp_path):
    args = cli.build_parser().parse_args(["--db", "outer.db", "--rules", "a", "findings", "--db", db,
                                          "--rules", "b", "--as-of", "2026-01-01"])
    cli.merge_global_options(args, "findings")
    assert (args.db, args.rules, args.as_of) == (db, ["a", "b"], "2026-01-01")


def test_a_global_option_a_verb_cannot_use_is_refused(tmp_path, capsys):
    assert cli.main(["--db", str(tmp_path / "x.db"), "generate", "--people", "2",
                     "--out", str(tmp_path / "o")]) == 2
    assert "--db does not apply to `burnpath generate`" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_verb_module_plugs_in_with_one_line(tmp_path, db, monkeypatch, capsys):
    write(tmp_path / "plug" / "hello_cli.py", '''
from api.cli_options import add_store_options, open_engine

def add_parser(sub):
    sp = sub.add_parser("hello", help="say how many nodes")
    sp.add_argument("--greeting", default="hi", help="what to say")
    return add_store_options(sp)

def run(args):
    engine = open_engine(args)
    print(args.greeting, engine.node_count())
    return 7
''')
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    monkeypatch.setattr(cli, "VERBS", [*cli.VERBS, "hello_cli"])
    assert cli.main(["--db", db, "hello", "--greeting", "hey"]) == 7
    assert capsys.readouterr().out.split()[0] == "hey"
    sys.modules.pop("hello_cli", None)


def test_every_verb_module_has_the_two_functions_and_help_on_every_argument():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    parsers = list(sub.choices.items())
    while parsers:
        name, verb_parser = parsers.pop()
        for action in verb_parser._actions:
            if action.dest in ("help",) or action.help == "==SUPPRESS==":
                continue
            assert action.help, f"burnpath {name}: {action.option_strings or action.dest} has no help"
            if isinstance(action.choices, dict):   # a nested verb (token create ...)
                parsers += [(f"{name} {k}", p) for k, p in action.choices.items()]
    for module in cli.VERBS:
        mod = __import__(module, fromlist=["run"])
        assert callable(mod.add_parser) and callable(mod.run)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("burnpath ")
