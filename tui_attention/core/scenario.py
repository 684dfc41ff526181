"""Scenario files (TOML) <-> Config, and the override rules shared by the CLI and the app.

The schema is a public contract (see README, "Scenario files"). Unknown keys
are errors so that a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tui_attention.i18n import _
from tui_attention.infra.files import TooLargeError, read_regular

from .config import (MAX_HEADS, NOTEBOOK_DEFAULTS, TRAINING_KEYS, WEIGHT_NAMES, Config, ConfigError, _check_int,
                     brief_name, brief_repr)

NOTEBOOK_TOKENS = ("me", "gusta", "estudiar", "inteligencia", "artificial")
TOP_KEYS = {"tokens", "sentence", *NOTEBOOK_DEFAULTS, "embeddings", "positions", "weights", "training"}
TABLE_KEYS = {"embeddings": {"values"}, "positions": {"kind", "values"}, "weights": set(WEIGHT_NAMES),
              "training": set(TRAINING_KEYS)}
MAX_FILE_BYTES = 64 * 1024 * 1024


def default_scenario_path() -> Path:
    """assets/scenarios/notebook.toml, shipped inside the package."""
    return Path(str(resources.files("tui_attention.assets") / "scenarios" / "notebook.toml"))


def shipped_scenarios() -> tuple[str, ...]:
    """The names of the scenarios shipped in assets/scenarios ("notebook", "reverse", ...), sorted."""
    return tuple(sorted(p.stem for p in default_scenario_path().parent.glob("*.toml")))


def resolve_scenario(text: str) -> Path:
    """The file a --scenario argument names. A bare name (no folder, no .toml) that is not a
    file here names a shipped scenario: "reverse" is assets/scenarios/reverse.toml. ConfigError
    for a bare name that is neither; any other text is returned as a path, checked when read."""
    path = Path(text)
    bare = path.name == text and path.suffix.lower() != ".toml" and text not in (".", "..")
    if not bare:
        return path
    try:
        if path.exists():
            return path
    except OSError:  # a name longer than the file system takes: no file, and no shipped scenario either
        pass
    if text in shipped_scenarios():
        return default_scenario_path().parent / f"{text}.toml"
    raise ConfigError(_("{name}: no such file, and no shipped scenario of that name (shipped: {names})").format(
        name=brief_name(text), names=", ".join(shipped_scenarios())))


def tokens_from_sentence(sentence: Any) -> tuple[str, ...]:
    """Split a sentence on white space into tokens."""
    if not isinstance(sentence, str):
        raise ConfigError(_("sentence: must be a string, got {value}").format(value=brief_repr(sentence)))
    return tuple(sentence.split())


def config_from_dict(data: dict[str, Any]) -> Config:
    """Validate the parsed TOML of a scenario and build its Config."""
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(_("unknown key {key} (expected one of {choices})").format(
                key=brief_repr(key), choices=", ".join(sorted(TOP_KEYS))))
    for table, allowed in TABLE_KEYS.items():
        if table in data:
            if not isinstance(data[table], dict):
                raise ConfigError(_("{table}: must be a table ([{table}])").format(table=table))
            for key in data[table]:
                if key not in allowed:
                    raise ConfigError(_("unknown key {table}.{key} (expected one of {choices})").format(
                        table=table, key=brief_repr(key), choices=", ".join(sorted(allowed))))
    if "tokens" in data and "sentence" in data:
        raise ConfigError(_("give either tokens or sentence, not both"))
    if "tokens" in data:
        tokens = data["tokens"]
        if not isinstance(tokens, list):
            raise ConfigError(_("tokens: must be a list of strings, got {value}").format(value=brief_repr(tokens)))
    elif "sentence" in data:
        tokens = tokens_from_sentence(data["sentence"])
    else:
        raise ConfigError(_("tokens: missing (give tokens = [...] or sentence = \"...\")"))
    kwargs: dict[str, Any] = {k: data[k] for k in NOTEBOOK_DEFAULTS if k in data}
    if "embeddings" in data:
        if "values" not in data["embeddings"]:
            raise ConfigError(_("embeddings.values: missing (or leave out [embeddings] for seeded vectors)"))
        kwargs["embeddings"] = data["embeddings"]["values"]
    positions = data.get("positions", {})
    kwargs["positions_kind"] = positions.get("kind", "table" if "values" in positions else "sinusoidal")
    if "values" in positions:
        kwargs["positions"] = positions["values"]
    kwargs["weights"] = dict(data.get("weights", {}))
    if "training" in data:
        kwargs["training"] = dict(data["training"])
    return Config(tokens=tuple(tokens), **kwargs)


def read_scenario_dict(path: str | Path) -> dict[str, Any]:
    """Parse a scenario file; every failure is a ConfigError naming the file."""
    path = Path(path)
    name = brief_name(path)  # the path as given, bounded: it may be most of a command line
    try:
        raw = read_regular(path, MAX_FILE_BYTES)  # a FIFO or /dev/zero is refused, never read
    except IsADirectoryError:
        raise ConfigError(_("{path}: is a directory, not a scenario file").format(path=name)) from None
    except TooLargeError:
        raise ConfigError(_("{path}: larger than {limit} MiB").format(path=name, limit=MAX_FILE_BYTES // 2**20)) from None
    except FileNotFoundError:
        raise ConfigError(_("{path}: no such file").format(path=name)) from None
    except PermissionError:
        raise ConfigError(_("{path}: permission denied").format(path=name)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read ({why})").format(path=name, why=exc.strerror or exc)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a byte order mark, as some editors save, is no TOML
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path}: not UTF-8 text (byte {byte})").format(path=name, byte=exc.start)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: invalid TOML: {why}").format(path=name, why=exc)) from None
    except RecursionError:  # tomllib recurses once per level of [ or {
        raise ConfigError(_("{path}: invalid TOML: arrays or tables nested too deeply").format(path=name)) from None
    except ValueError:  # int() refuses a decimal integer of more than 4300 digits
        raise ConfigError(_("{path}: invalid TOML: an integer with too many digits").format(path=name)) from None
    where = _first_out_of_range(data)
    if where is not None:
        # TOML integers are 64-bit; a larger one would overflow float64 or str() further on.
        raise ConfigError(_("{path}: invalid TOML: the integer at {key} is out of range (-2^63 to 2^63-1)").format(
            path=name, key=brief_name(where)))
    return data


INT64 = (-2**63, 2**63 - 1)


def _first_out_of_range(data: dict[str, Any]) -> str | None:
    """The key ("weights.w_q[0][1]") of the first integer outside INT64 in parsed TOML, or None.

    A walk with a stack, not recursion: the parser has already bounded the depth, but this
    may run deeper in the stack than it did. A list of numbers is checked with min and max."""
    low, high = INT64
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else k, v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            kinds = set(map(type, value))
            if int not in kinds and list not in kinds and dict not in kinds:
                continue  # strings, floats, booleans, dates: nothing to check
            if kinds <= {int, float} and low <= min(value) and max(value) <= high:
                continue
            stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        elif type(value) is int and not low <= value <= high:
            return key
    return None


def load_scenario(path: str | Path) -> Config:
    """Read and validate a scenario file."""
    data = read_scenario_dict(path)
    try:
        return config_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{brief_name(path)}: {exc}") from None


def config_to_dict(config: Config) -> dict[str, Any]:
    """The scenario-file form of a Config (explicit matrices only where the config has them)."""
    out: dict[str, Any] = {"tokens": list(config.tokens)}
    for key in NOTEBOOK_DEFAULTS:
        out[key] = getattr(config, key)
    if config.embeddings is not None:
        out["embeddings"] = {"values": config.embeddings.tolist()}
    positions: dict[str, Any] = {"kind": config.positions_kind}
    if config.positions is not None:
        positions["values"] = config.positions.tolist()
    out["positions"] = positions
    if config.weights:
        out["weights"] = {name: config.weights[name].tolist() for name in WEIGHT_NAMES if name in config.weights}
    if config.training is not None:
        out["training"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in config.training.items()}
    return out


def dumps_scenario(config: Config, header: str = "") -> str:
    """TOML text that load_scenario() reads back to an identical Config."""
    import tomli_w  # only saving writes TOML: the first screen does not load it

    text = tomli_w.dumps(config_to_dict(config))
    return (header + text) if header else text


@dataclass(frozen=True)
class Overrides:
    """Command-line (or in-app switch) changes on top of a scenario. None = not given."""

    sentence: str | None = None
    seed: int | None = None
    d_model: int | None = None
    d_k: int | None = None
    d_v: int | None = None
    heads: int | None = None
    scale: str | None = None
    mask: str | None = None
    weight_scale: float | None = None

    # Without --scenario, any of these starts a fresh generated scenario. Heads do not: more
    # heads keep the scenario's inputs and its heads, and add seeded ones (Config.with_heads).
    GENERATING = ("sentence", "seed", "d_model", "d_k", "d_v")

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def merged(self, **changes: Any) -> "Overrides":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Overrides(**values)


def generated_config(overrides: Overrides) -> Config:
    """A fresh scenario: the notebook's sentence and sizes unless overridden,
    seeded per-word embeddings, sinusoidal positions from 0, seeded weights."""
    given = overrides.given()
    tokens = tokens_from_sentence(given["sentence"]) if "sentence" in given else NOTEBOOK_TOKENS
    kwargs = {k: v for k, v in NOTEBOOK_DEFAULTS.items()}
    kwargs.update({k: given[k] for k in ("seed", "d_model", "d_k", "d_v", "heads") if k in given})
    return Config(tokens=tokens, positions_kind="sinusoidal", **kwargs)


def apply_overrides(config: Config, overrides: Overrides) -> Config:
    """Apply flags to a loaded scenario. An explicit matrix that no longer
    fits is an error naming that matrix (raised by Config validation)."""
    given = overrides.given()
    changes: dict[str, Any] = {}
    if "sentence" in given:
        changes["tokens"] = tokens_from_sentence(given["sentence"])
    for key in ("seed", "d_model", "d_k", "d_v", "scale", "mask"):
        if key in given:
            changes[key] = given[key]
    if "heads" in given:  # out of range is wrong for any scenario, not a misfit with this one
        _check_int("heads", given["heads"], 1, MAX_HEADS)
    if changes or "heads" in given:
        try:
            if changes:
                config = config.replace(**changes)
            if "heads" in given:
                config = config.with_heads(given["heads"])
        except ConfigError as exc:
            named = [*changes, *(["heads"] if "heads" in given else [])]
            flags = ", ".join("--" + k.replace("_", "-") for k in named if k != "tokens") or "--sentence"
            if "tokens" in changes and "--sentence" not in flags:
                flags = "--sentence, " + flags
            raise ConfigError(_("{flags} does not fit this scenario: {why}").format(flags=flags, why=exc)) from None
    if "weight_scale" in given:
        config = config.with_weight_scale(given["weight_scale"])
    return config


def build_config(scenario: str | Path | None, overrides: Overrides = Overrides()) -> Config:
    """The one rule for turning (scenario file, flags) into a Config.

    No file and no generating flag: the default (notebook) scenario.
    No file and a generating flag: a fresh generated scenario.
    A file: the file, with every given flag overriding its field.
    """
    given = overrides.given()
    if scenario is None:
        if any(k in given for k in Overrides.GENERATING):
            base = generated_config(overrides)
            rest = Overrides(scale=overrides.scale, mask=overrides.mask, weight_scale=overrides.weight_scale)
            return apply_overrides(base, rest)
        scenario = default_scenario_path()
    return apply_overrides(load_scenario(scenario), overrides)
