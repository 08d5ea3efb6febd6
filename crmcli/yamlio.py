"""YAML in and out, the one place that knows the file format.

- libyaml's C loader and dumper when present, the pure-Python ones otherwise;
- safe only: tags that would construct Python objects are refused;
- numbers with a fraction load as Decimal (money stays exact) and Decimals dump
  as plain numbers;
- timestamps stay text (as written), so a round trip never changes them;
- block style, UTF-8 as is (中文 stays readable), no anchors or aliases;
- read as a person reads it, or refused: a key twice in one mapping (both sides of
  a git conflict kept), anchors and aliases (`&a`, `*a`), merge keys (`<<:`) and
  keys that are not text (`1:`, `true:`, `null:`, a list) raise YAMLError, at any
  depth, instead of one value silently winning or being shared.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

YAMLError = yaml.YAMLError
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# Where an anchor (`&a`) or alias (`*a`) could start a node: `&` or `*` first on a
# line or after a space or an indicator, before a name character. "AT&T", "R&D" or
# "Smith & Co" do not match, so most files skip the scan for them (_check_anchors).
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[\]{},:?-])[&*][^\s,\[\]{}]", re.MULTILINE)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """The same key twice in one mapping; the message names both lines."""


class UnsupportedError(yaml.constructor.ConstructorError):
    """YAML that crm would read differently from how a person reads it: anchors and
    aliases, merge keys, keys that are not text."""


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
    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping whose keys are all texts, each once (checked on the node tree
        the C parser composed, before a later value could replace an earlier one)."""
        seen: dict[str, int] = {}
        for key, _value in node.value:
            line = key.start_mark.line + 1
            if key.tag == _MERGE:
                raise UnsupportedError(
                    problem="merge keys (<<) are not supported: write the fields out",
                    problem_mark=key.start_mark,
                )
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
                raise UnsupportedError(problem=_key_problem(key), problem_mark=key.start_mark)
            if key.value in seen:
                raise DuplicateKeyError(
                    problem=f"duplicate key '{key.value}' at lines {seen[key.value]} and {line}"
                )
            seen[key.value] = line
        return super().construct_mapping(node, deep)


def _key_problem(key: Any) -> str:
    if not isinstance(key, yaml.ScalarNode):
        return "a key that is a list or a mapping is not supported"
    if not key.value:
        return "a key is empty"
    kind = key.tag.rsplit(":", 1)[-1]
    kind = {"int": "a number", "float": "a number", "bool": "true or false"}.get(kind, kind)
    return f"the key {key.value} is {kind}, not text: put it in quotes ('{key.value}')"


def _check_anchors(text: str) -> None:
    """Refuse anchors and aliases: crm writes each value out, so a shared one would
    come apart on the next save. Only text that may hold one is parsed for them."""
    if not _MAYBE_ANCHOR.search(text):
        return
    for event in yaml.parse(text, Loader=Loader):
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise UnsupportedError(
                problem=f"anchors and aliases ({sign}{anchor}) are not supported: "
                "write the value out",
                problem_mark=event.start_mark,
            )


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
        _check_anchors(text)
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


def without_keys(text: str, keys: list[Any]) -> str:
    """`text` (a mapping, valid) without its top-level entries `keys`, each taken out
    from its key's line up to the next key's line: the rest of the file as written."""
    node = yaml.compose(text, Loader=Loader)
    if not isinstance(node, yaml.MappingNode):
        return text
    lines = text.splitlines(keepends=True)
    starts = [key.start_mark.line for key, _value in node.value] + [len(lines)]
    drop: set[int] = set()
    for i, (key, _value) in enumerate(node.value):
        if key.value in keys:
            drop.update(range(starts[i], starts[i + 1]))
    return "".join(line for n, line in enumerate(lines) if n not in drop)


def describe(err: Exception) -> str:
    """A one-line description of a YAML error with its line number."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}: {problem}"
    return problem
