"""``handoffq serve-agent`` / ``compose``: documented options, one-line errors before listening."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handoffq.cli import app as main_app
from handoffq.services.cli import app

runner = CliRunner()


def test_serve_agent_help_documents_every_option() -> None:
    result = runner.invoke(main_app, ["serve-agent", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    import inspect

    from handoffq.services.cli import serve_agent

    for param in inspect.signature(serve_agent).parameters.values():
        opt = param.default
        flag = opt.param_decls[0].split("/")[0]
        assert flag in text, flag
        assert opt.help, f"{flag} has no help"


def test_compose_help() -> None:
    result = runner.invoke(app, ["compose", "--help"])
    assert result.exit_code == 0 and "compose file" in result.output


BASE = ["--name", "a", "--checkpoint-dir", "{tmp}", "--accept-from", "client"]
END_AT = ["--successor", "END", "--end", "judge=http://127.0.0.1:1"]


@pytest.mark.parametrize(("args", "match"), [
    ([], "--name is required"),
    (["--name", "a"], "--checkpoint-dir is required"),
    (BASE[:4], "--accept-from is required"),
    (BASE, "--work module:function is required"),
    ([*BASE, "--work", "m:f"], "--successor is required"),
    ([*BASE, "--work", "m:f", "--successor", "b"], "no address for successor"),
    ([*BASE, "--work", "m:f", "--successor", "b", "--peer", "b"], "--peer must look like NAME=http"),
    ([*BASE, "--work", "nosuchmodule:f", *END_AT], "no key shared with peer"),
    ([*BASE, "--work", "nosuchmodule:f", *END_AT, "--key-file", "{keys}"], "--work: cannot import module"),
    ([*BASE, "--role", "judge", "--judge", "handoffq.services.demo:judge", "--mode", "learn"], "--mode must be one of"),
    ([*BASE, "--role", "judge", "--judge", "handoffq.services.demo:judge", "--window", "0"], "--window must be"),
    (["--name", "a b", "--checkpoint-dir", "{tmp}"], "--name must be"),
    (["--compose", "{tmp}/none.toml", "--service", "a"], "does not exist"),
])
def test_bad_options_fail_in_one_line_before_listening(tmp_path: Path, args: list[str], match: str) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\njudge = "' + "ab" * 32 + '"\nclient = "' + "cd" * 32 + '"\n')
    keys.chmod(0o600)
    args = [a.replace("{tmp}", str(tmp_path)).replace("{keys}", str(keys)) for a in args]
    result = runner.invoke(app, ["serve-agent", *args])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0], result.output
    assert "ab" * 32 not in result.output and "cd" * 32 not in result.output
