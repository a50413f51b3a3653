"""The command line follows Typer/Rich conventions: units visible, plain value names,
``--version``, ``-v/-q``, stages as choices, a help that loads no heavy stack, progress."""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wetindex import __version__
from wetindex.cli import app
from wetindex.commands import area as area_commands
from wetindex.commands.common import log_levels, plural, set_verbosity

runner = CliRunner()
PROJECT = Path(__file__).resolve().parents[1]


def _commands(group, path=()):
    """Every (path, click command) of the CLI, groups included."""
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


ALL = list(_commands(typer.main.get_command(app)))


def test_every_command_is_listed():
    names = {" ".join(p) for p, _ in ALL}
    assert {"demo", "init", "check", "run", "status", "train", "evaluate", "serve", "methods",
            "sources", "fetch", "labels build", "subscribers add"} <= names


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "wetindex")
def test_help_shows_no_python_types_and_keeps_units(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    # Typer's default shows <bool>, <str>, <float> … beside every option
    assert not re.search(r"<(bool|str|float|int|path|list\[str\])>", result.output), \
        result.output


def test_no_help_text_has_brackets_rich_would_eat():
    # Rich reads "[m]" as markup and prints "Cell size ." — units go in round brackets
    for path, command in ALL:
        for param in command.params:
            text = getattr(param, "help", None) or ""
            assert not re.search(r"\[[^\]]*\]", text), (path, param.name, text)


def _flat(text: str) -> str:
    """Help text without Rich's panel borders and line wraps."""
    return re.sub(r"[\s│]+", " ", text)


def test_units_reach_the_help_text():
    out = _flat(runner.invoke(app, ["init", "--help"]).output)
    assert "Cell size (m)" in out and "Margin around the boundary (m)" in out
    out = _flat(runner.invoke(app, ["labels", "build", "--help"]).output)
    assert "cloud cover at most (%)" in out


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"wetindex {__version__}"


def test_stage_and_method_are_choices_equal_to_what_the_run_accepts():
    from wetindex.config import ForecastConfig
    from wetindex.stages.run import STAGES

    assert [s.value for s in area_commands.Stage] == [*STAGES, "all"]
    literal = ForecastConfig.model_fields["method"].annotation
    assert tuple(m.value for m in area_commands.Method) == literal.__args__
    result = runner.invoke(app, ["run", "forecats", "--area", "demo"])
    assert result.exit_code == 2 and "forecats" in result.output  # refused before any work


def test_log_levels_follow_verbose_and_quiet():
    assert log_levels(0) == (logging.INFO, logging.WARNING)
    assert log_levels(-1) == (logging.WARNING, logging.WARNING)
    assert log_levels(1) == (logging.DEBUG, logging.WARNING)
    assert log_levels(2) == (logging.DEBUG, logging.INFO)
    assert log_levels(3) == (logging.DEBUG, logging.DEBUG)


@pytest.mark.parametrize(("flags", "level"), [(["-q"], logging.WARNING), ([], logging.INFO),
                                             (["-v"], logging.DEBUG)])
def test_global_verbosity_reaches_a_command(flags, level, tmp_path):
    before = logging.getLogger("wetindex").level
    try:  # `methods` configures logging, then stops: tmp_path is no project folder
        result = runner.invoke(app, [*flags, "methods", "--area", "x", "--root",
                                     str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert logging.getLogger("wetindex").level == level
    finally:
        set_verbosity(0, False)
        logging.getLogger("wetindex").setLevel(before)


def test_plural():
    assert plural(1, "e-mail") == "1 e-mail"
    assert plural(0, "e-mail") == "0 e-mails" and plural(3, "e-mail") == "3 e-mails"


HEAVY = ("pandas", "xarray", "dask", "prefect", "lightgbm", "rioxarray", "sqlalchemy")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["subscribers", "add",
                                                                   "--help"]])
def test_help_loads_no_heavy_stack(args):
    # `wetindex --help` took 4 s when every command imported pandas, xarray and Prefect
    code = (f"import sys\nfrom wetindex.cli import app\ntry:\n    app({args!r})\n"
            f"except SystemExit:\n    pass\nprint(sorted(m for m in {HEAVY!r} "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT, check=True, timeout=60,
                         env={"PYTHONPATH": str(PROJECT), "COLUMNS": "100"})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_commands_do_not_import_the_cli_and_flows_no_command():
    for module in (PROJECT / "wetindex" / "commands").glob("*.py"):
        assert "wetindex.cli" not in _imports(module), module
    flows = _imports(PROJECT / "pipelines" / "flows.py")
    assert not any(m.startswith(("wetindex.commands", "wetindex.cli")) for m in flows), flows


def test_progress_shows_stages_and_boosting_rounds():
    import lightgbm as lgb
    import numpy as np
    from rich.console import Console

    from wetindex import progress

    x = np.random.default_rng(0).normal(size=(200, 3))
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    with progress.shown(console), progress.stage("train the model"):
        lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x, x[:, 0] > 0),
                  num_boost_round=7, callbacks=[progress.lightgbm_callback("rounds")])
        # a loop that ends early (LightGBM's early stopping) is closed with its stage
        progress.advance("stopped early", 3, 10)
    text = console.file.getvalue()
    assert "train the model" in text and "7/7" in text, text
    assert "3/3" in text and "3/10" not in text.splitlines()[-1], text
    # without a display nothing is shown and nothing fails
    with progress.stage("silent"):
        progress.advance("silent", 1, 2)


def test_demo_summary_shows_figures_rounded_and_counts_in_the_right_number(tmp_path, capsys):
    from types import SimpleNamespace

    from wetindex.cli import _print_demo_result

    model = tmp_path / "model"
    model.mkdir()
    (model / "metadata.json").write_text(json.dumps({"evaluation": {
        "lead_bins": ["0-6", "6-12"],
        "scores": {"model": {"brier_skill": [0.31825113032645214, 0.2967088962505968]}}}}))
    alerts = SimpleNamespace(mail_dir=tmp_path / "mail", sent=1, decisions=1)
    result = SimpleNamespace(site=tmp_path / "site", forecast=tmp_path / "fc", model=model,
                             feed=tmp_path / "feed", alerts=alerts)
    _print_demo_result(result, 1.25)
    out = capsys.readouterr().out
    assert "0-6 0.32  6-12 0.30" in out
    assert "1 e-mail received" in out and "1 alert decision)" in out
    assert not re.search(r"\d\.\d{5,}", out), out  # no raw 16-digit floats
