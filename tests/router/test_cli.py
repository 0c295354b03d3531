"""``handoffq routes DIR``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from handoffq.router import RouterError
from handoffq.router.cli import routes_command
from handoffq.router.demo import build_router, run_doc


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("router")
    r = build_router(seed=0, diagnostics=False)
    for s in range(1500):
        t = r.start_task()
        t.finish(run_doc(s, t.next))
    r.save(d)
    return d


def test_routes_prints_every_agent_and_draws(saved, tmp_path):
    from rich.console import Console

    console = Console(record=True, width=200)
    rows = routes_command(saved, tmp_path / "g.png", console)
    text = console.export_text()
    for agent in ("classifier", "summariser", "checker", "finisher"):
        assert agent in text
    assert (tmp_path / "g.png").stat().st_size > 5000
    code = [r for r in rows if r.agent == "summariser" and r.view == "code"]
    assert code[0].choice == "checker"


def test_routes_command_through_the_cli(saved):
    from handoffq.cli import app

    result = CliRunner().invoke(app, ["routes", str(saved)])
    assert result.exit_code == 0 and "summariser" in result.output
    bad = CliRunner().invoke(app, ["routes", str(saved / "nope")])
    assert bad.exit_code == 2 and "not a directory" in bad.output


def test_missing_directory_is_one_line(tmp_path):
    with pytest.raises(RouterError, match="not a directory"):
        routes_command(tmp_path / "x")
