"""The services' TOML reader: a document, or a one-line error naming the file."""

from pathlib import Path

import pytest

from handoffq.services.tomlfile import read_toml


class Bad(ValueError):
    pass


def test_reads_a_document(tmp_path: Path) -> None:
    (tmp_path / "k.toml").write_text('[keys]\na = "00"\n')
    assert read_toml(tmp_path / "k.toml", "key file", Bad) == {"keys": {"a": "00"}}


def test_missing_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(Bad) as err:
        read_toml(tmp_path / "none.toml", "compose file", Bad)
    assert str(err.value) == f"compose file {tmp_path / 'none.toml'} does not exist"
    (tmp_path / "bad.toml").write_text("[keys\n")
    with pytest.raises(Bad) as err:
        read_toml(tmp_path / "bad.toml", "key file", Bad)
    assert str(err.value).startswith(f"key file {tmp_path / 'bad.toml'}: ") and "\n" not in str(err.value)
