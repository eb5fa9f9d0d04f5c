"""The rules config: which rules run, their parameters, weights and the decision threshold.

Defaults ship with fraudlib (the `Rule` entries in `fraudlib.rules`); a bank overrides any
part with a YAML file passed as `--config FILE`:

```yaml
version: bank-2026-12          # recorded in every alert's detalle
decision:
  block_at: 0.85               # combined puntaje at or above this -> 'block'
rules:
  large_sum_at_location:
    weight: 0.6
    params: {min_amount: 20000, min_total: 80000, trusted_locations: [Oficina Principal]}
  some_rule: {enabled: false}
```
Every value is validated here; nothing from a config file reaches SQL except as a literal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from fraudlib.errors import ConfigError
from fraudlib.rules import RULES, Param, Rule, get_rule

DEFAULT_VERSION = "default-1"
DEFAULT_BLOCK_AT = 0.85
_MAX_TEXT = 200
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool
    weight: float
    params: dict[str, Any]


@dataclass(frozen=True)
class RulesConfig:
    """Validated settings for every registered rule."""

    version: str
    block_at: float
    rules: dict[str, RuleSettings]

    def enabled_rules(self, only: list[str] | None = None) -> list[Rule]:
        """Enabled rules in registry order; `only` names a subset (unknown name -> error)."""
        if only:
            wanted = {get_rule(name).name for name in only}
            return [rule for rule in RULES if rule.name in wanted]
        return [rule for rule in RULES if self.rules[rule.name].enabled]

    def sql_values(self, rule: Rule) -> dict[str, object]:
        """Parameter values in the Python types `render` turns into literals."""
        values = {}
        for param in rule.params:
            value = self.rules[rule.name].params[param.name]
            if param.kind == "minutes":
                value = timedelta(minutes=value)
            elif param.kind == "days":
                value = timedelta(days=value)
            values[param.name] = value
        return values


def default_config() -> RulesConfig:
    """The shipped defaults: every rule enabled with its default parameters and weight."""
    return RulesConfig(
        version=DEFAULT_VERSION,
        block_at=DEFAULT_BLOCK_AT,
        rules={
            rule.name: RuleSettings(enabled=True, weight=rule.weight, params=rule.defaults())
            for rule in RULES
        },
    )


def load_config(path: str | Path | None) -> RulesConfig:
    """Defaults overridden by the YAML file at `path` (None -> defaults)."""
    if path is None:
        return default_config()
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0]
        raise ConfigError(f"config file {path} is not readable YAML: {reason}") from None
    return apply_overrides(default_config(), document or {}, source=str(path))


def apply_overrides(base: RulesConfig, document: object, *, source: str = "config") -> RulesConfig:
    """Validate an override document (as loaded from YAML) and apply it to `base`."""
    top = _mapping(document, source, {"version", "decision", "rules"})
    version = base.version
    if "version" in top:
        version = _text(top["version"], f"{source}: version")
    block_at = base.block_at
    if "decision" in top:
        decision = _mapping(top["decision"], f"{source}: decision", {"block_at"})
        if "block_at" in decision:
            block_at = _number(decision["block_at"], f"{source}: decision.block_at", 0.0, 1.0)
    rules = dict(base.rules)
    overrides = _mapping(top.get("rules", {}), f"{source}: rules", None)
    for name, override in overrides.items():
        rule = get_rule(str(name))
        where = f"{source}: rules.{rule.name}"
        fields = _mapping(override, where, {"enabled", "weight", "params"})
        settings = rules[rule.name]
        if "enabled" in fields:
            if not isinstance(fields["enabled"], bool):
                raise ConfigError(f"{where}.enabled must be true or false")
            settings = replace(settings, enabled=fields["enabled"])
        if "weight" in fields:
            settings = replace(settings, weight=_number(fields["weight"], f"{where}.weight", 0, 1))
        if "params" in fields:
            known = {p.name: p for p in rule.params}
            given = _mapping(fields["params"], f"{where}.params", set(known))
            params = dict(settings.params)
            for key, value in given.items():
                params[key] = validate_param(known[key], value, f"{where}.params.{key}")
            settings = replace(settings, params=params)
        rules[rule.name] = settings
    return RulesConfig(version=version, block_at=block_at, rules=rules)


def validate_param(param: Param, value: object, where: str) -> object:
    """Check a value against its parameter kind; return it in canonical Python type."""
    if param.kind in ("amount", "ratio"):
        return _number(value, where, 0.0, math.inf)
    if param.kind in ("count", "minutes", "days"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} must be a whole number >= 1, got {value!r}")
        return value
    if param.kind == "locations":
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list of location names")
        return [_text(item, where) for item in value]
    raise ConfigError(f"{where}: unsupported parameter kind {param.kind}")


def _mapping(value: object, where: str, allowed: set[str] | None) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
    return value


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{where} must be between {low} and {high}, got {value!r}")
    return float(value)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ConfigError(f"{where} must be text, got {value!r}")
    text = str(value)
    if not text or len(text) > _MAX_TEXT or not _PRINTABLE.fullmatch(text):
        raise ConfigError(f"{where} must be 1-{_MAX_TEXT} printable characters, got {text[:40]!r}")
    return text
