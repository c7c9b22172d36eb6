"""``voc <command> --help``: every subcommand has a description, examples that parse, a help string on every
option, and building the parser stays light (no torch, transformers, BentoML or numpy before a command runs)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import voc

ROOT = Path(__file__).resolve().parents[1]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The real parser's subcommands, built as ``voc`` builds them (nothing is run)."""
    parser = voc.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def example_commands(epilog: str) -> list[list[str]]:
    """The ``voc ...`` command lines in an epilog (continued lines joined, comments and a ``... |`` prefix
    dropped), split as the shell would, without the leading ``voc``."""
    text = epilog.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if " | voc " in line:
            line = line.split(" | ", 1)[1]
        if line.startswith("voc "):
            commands.append(shlex.split(line, comments=True)[1:])
    return commands


COMMANDS = subcommands()


def test_every_command_module_is_listed():
    expected = {"classify", "backbone", "train", "export", "serve", "score", "bench", "evaluate", "benchmark"}
    assert expected | {"suggest", "audit", "models"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_a_description_examples_and_option_help(name):
    p = COMMANDS[name]
    assert p.description and p.description.strip(), f"voc {name}: no description"
    assert p.epilog and f"voc {name}" in p.epilog, f"voc {name}: no example in the epilog"
    assert issubclass(p.formatter_class, argparse.RawDescriptionHelpFormatter), f"voc {name}: examples get rewrapped"
    for action in p._actions:
        assert action.help and action.help.strip(), f"voc {name}: {action.option_strings or action.dest} has no help"
    text = p.format_help()
    for line in p.epilog.splitlines():
        assert line in text.splitlines(), f"voc {name}: example line changed in --help: {line!r}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_example_parses(name):
    """Every example in an epilog uses real flags: the real parser accepts it (the command is not run)."""
    parser = voc.build_parser()
    commands = example_commands(COMMANDS[name].epilog)
    assert any(argv[0] == name for argv in commands), f"voc {name}: no example of the command itself"
    for argv in commands:
        args = parser.parse_args(argv)
        assert args.command == argv[0]


def test_building_the_parser_imports_nothing_heavy():
    heavy = ("torch", "transformers", "bentoml", "ray", "onnxruntime", "pandas", "numpy", "sklearn")
    code = f"import sys, voc; voc.build_parser(); print([m for m in {heavy!r} if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_top_level_help_lists_every_command():
    run = subprocess.run([sys.executable, "-m", "voc", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    for name in COMMANDS:
        assert f"    {name}" in run.stdout
    assert "voc <command> --help" in run.stdout
