"""Area configuration: validated, unknown keys named with the file."""

from __future__ import annotations

import pytest

from wetindex.config import ConfigError, demo_config, load_config


def test_demo_config_round_trips(tmp_path):
    cfg = demo_config(size_m=2000, years=1)
    path = tmp_path / "demo.yaml"
    path.write_text(cfg.resolved_yaml())
    assert load_config(path) == cfg


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "area.yaml"
    path.write_text("name: x\ntitle: X\ndemo: {}\nthreshold: {yellow: 0.3}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert "unknown key 'threshold'" in str(err.value)


def test_nested_unknown_key_and_bad_order(tmp_path):
    path = tmp_path / "area.yaml"
    path.write_text("name: x\ntitle: X\ndemo: {sise_m: 10}\n"
                    "thresholds: {yellow: 0.5, orange: 0.4, red: 0.7}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "unknown key 'demo.sise_m'" in message
    assert "rise from yellow to red" in message


def test_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(ConfigError, match="wetindex init"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
