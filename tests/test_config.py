import pytest

from fraudlib.config import apply_overrides, default_config, load_config
from fraudlib.errors import ConfigError

SEED = "large_sum_at_location"


def test_defaults_cover_every_rule():
    config = default_config()
    assert config.rules[SEED].params["min_total"] == 50000.0
    assert config.rules[SEED].params["trusted_locations"] == ["Oficina Principal"]
    assert [r.name for r in config.enabled_rules()] == list(config.rules)


def test_yaml_overrides_merge_over_defaults(tmp_path):
    path = tmp_path / "bank.yaml"
    path.write_text(
        "version: bank-2026-12\n"
        "decision: {block_at: 0.5}\n"
        f"rules:\n  {SEED}:\n    weight: 0.9\n    params: {{min_total: 80000}}\n"
    )
    config = load_config(path)
    assert config.version == "bank-2026-12" and config.block_at == 0.5
    assert config.rules[SEED].weight == 0.9
    assert config.rules[SEED].params["min_total"] == 80000.0
    assert config.rules[SEED].params["min_amount"] == 10000.0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rules": {"nope": {}}}, "unknown rule 'nope'"),
        ({"rules": {SEED: {"params": {"min_totl": 1}}}}, "unknown key"),
        ({"rules": {SEED: {"params": {"min_total": "50000; drop"}}}}, "must be a number"),
        ({"rules": {SEED: {"params": {"min_total": -1}}}}, "between"),
        ({"rules": {SEED: {"params": {"min_total": float("nan")}}}}, "between"),
        ({"rules": {SEED: {"params": {"trusted_locations": "Oficina"}}}}, "list"),
        ({"rules": {SEED: {"params": {"trusted_locations": ["a\x00b"]}}}}, "printable"),
        ({"rules": {SEED: {"params": {"trusted_locations": ["x" * 201]}}}}, "printable"),
        ({"rules": {SEED: {"enabled": "yes"}}}, "true or false"),
        ({"rules": {SEED: {"weight": 2}}}, "between"),
        ({"decision": {"block_at": True}}, "number"),
        ({"colour": 1}, "unknown key"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_overrides_are_one_clear_error(document, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(default_config(), document)


def test_unreadable_config_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [unclosed\n")
    with pytest.raises(ConfigError, match="not readable YAML"):
        load_config(broken)


def test_hostile_location_names_stay_values():
    hostile = ["x'); drop table transacciones; --", "%(min_total)s"]
    config = apply_overrides(
        default_config(), {"rules": {SEED: {"params": {"trusted_locations": hostile}}}}
    )
    assert config.rules[SEED].params["trusted_locations"] == hostile
