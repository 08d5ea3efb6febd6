"""YAML in and out, the one place that knows the file format.

- libyaml's C loader and dumper when present, the pure-Python ones otherwise;
- safe only: tags that would construct Python objects are refused;
- numbers with a fraction load as Decimal (money stays exact) and Decimals dump
  as plain numbers;
- timestamps stay text (as written), so a round trip never changes them;
- block style, UTF-8 as is (中文 stays readable), no anchors or aliases.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

YAMLError = yaml.YAMLError
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_BOOL = "tag:yaml.org,2002:bool"
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _resolvers(resolvers: dict) -> dict:
    """YAML 1.2 flavour: no timestamps, and only true/false are booleans (so a key
    `on:` or a value `no` stays text, as people mean it)."""
    out: dict = {}
    for first, pairs in resolvers.items():
        kept = [(t, rx) for t, rx in pairs if t not in (_TIMESTAMP, _BOOL)]
        if first in "tTfF":
            kept.insert(0, (_BOOL, _BOOL_RE))
        out[first] = kept
    return out


class Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    pass


Loader.yaml_implicit_resolvers = _resolvers(_BaseLoader.yaml_implicit_resolvers)


def _construct_decimal(loader: Any, node: Any) -> Any:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return float(loader.construct_yaml_float(node))
    return value


Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
# an explicit !!timestamp stays text too (and a malformed one is not a crash)
Loader.add_constructor(_TIMESTAMP, lambda loader, node: loader.construct_scalar(node))


class Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


Dumper.yaml_implicit_resolvers = _resolvers(_BaseDumper.yaml_implicit_resolvers)


def _represent_decimal(dumper: Any, value: Decimal) -> Any:
    if not value.is_finite():  # as YAML's own .inf/.nan, which read back (as floats)
        text = ".nan" if value.is_nan() else ("-.inf" if value.is_signed() else ".inf")
        return dumper.represent_scalar("tag:yaml.org,2002:float", text)
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


def _represent_str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value and value.strip() == value.rstrip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(Decimal, _represent_decimal)
Dumper.add_representer(str, _represent_str)


def loads(text: str) -> Any:
    """Parse YAML text (safe). Every problem is a YAMLError, also a value that its tag
    cannot take (`!!int abc`) or nesting too deep to build."""
    try:
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader
        _check_depth(data)
        return data
    except yaml.YAMLError:
        raise
    except Exception as e:  # noqa: BLE001 - hostile text: any failure means "cannot read"
        raise yaml.constructor.ConstructorError(
            problem=f"a value cannot be read ({type(e).__name__}: {e})"
        ) from None


MAX_DEPTH = 50  # records nest a few levels; thousands would crash whoever walks them
MAX_VALUES = 200_000  # aliases can expand a small file into billions of values
_PLAIN = (str, int, float, Decimal, bool, type(None))


def _check_depth(data: Any) -> None:
    """Refuse what the rest of crm cannot walk: deep or cyclic nesting, alias bombs,
    and values of other types (!!binary bytes, !!set, !!omap tuples)."""

    def bad(problem: str) -> Exception:
        return yaml.constructor.ConstructorError(problem=problem)

    stack = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise bad(f"more than {MAX_VALUES} values (anchors and aliases expanding?)")
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise bad(f"nested more than {MAX_DEPTH} levels deep")
            if isinstance(value, dict):
                stack.extend((k, depth + 1) for k in value)
                stack.extend((v, depth + 1) for v in value.values())
            else:
                stack.extend((v, depth + 1) for v in value)
        elif not isinstance(value, _PLAIN):
            raise bad(f"values of type {type(value).__name__} are not supported")


def dumps(data: Any) -> str:
    """Serialise in the canonical block style."""
    return yaml.dump(
        data,
        Dumper=Dumper,
        allow_unicode=True,
        default_flow_style=False,
        sort_keys=False,
        width=100,
        indent=2,
    )


def describe(err: Exception) -> str:
    """A one-line description of a YAML error with its line number."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}: {problem}"
    return problem
