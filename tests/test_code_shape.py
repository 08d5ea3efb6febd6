"""The shape rules of crmcli/ (issue 12): no function longer than 80 lines, none
with more than 8 parameters (`self` and `cls` count; a Typer command, whose
parameters are its options, is exempt from the count, not from the length)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crmcli"
MAX_LINES = 80
MAX_PARAMS = 8


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = fn.args
    extra = [x for x in (a.vararg, a.kwarg) if x is not None]
    return [*a.posonlyargs, *a.args, *a.kwonlyargs, *extra]


TYPER_CALLS = ("typer.Option(", "typer.Argument(", "ref_option(", "ref_argument(", "output_option(")


def _is_typer_name(node: ast.AST) -> bool:
    """A Typer option or argument (typer.Option, typer.Argument, the common helpers
    that make them) or a name ending in Opt, Ref or Arg (the Annotated option types of
    crmcli.commands.common and the command modules); not typer.Context."""
    text = ast.unparse(node)
    return any(call in text for call in TYPER_CALLS) or text.split(".")[-1].endswith(
        ("Opt", "Ref", "Arg")
    )


def _is_typer_command(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a parameter carries a Typer option or argument: as its default, in an
    Annotated type, or as an option type alias."""
    a = fn.args
    defaults = [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
    annotations = [p.annotation for p in _params(fn) if p.annotation is not None]
    return any(_is_typer_name(n) for n in [*defaults, *annotations])


def _shapes() -> list[tuple[str, str, int, int, bool]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for fn in _functions(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{fn.lineno} {fn.name}"
            lines = fn.end_lineno - fn.lineno + 1  # type: ignore[operator]
            out.append((where, fn.name, lines, len(_params(fn)), _is_typer_command(fn)))
    return out


def test_the_walk_sees_the_package():
    shapes = _shapes()
    assert len(shapes) > 500
    assert any(typer for *_, typer in shapes)  # commands are recognised ...
    assert not all(typer for *_, typer in shapes)  # ... and only commands


def test_no_function_is_longer_than_80_lines():
    long = [f"{w} ({n} lines)" for w, _name, n, _p, _t in _shapes() if n > MAX_LINES]
    assert long == []


def test_no_function_takes_more_than_8_parameters():
    many = [
        f"{w} ({p} parameters)"
        for w, _name, _n, p, typer in _shapes()
        if p > MAX_PARAMS and not typer
    ]
    assert many == []


@pytest.mark.parametrize(
    "source, lines, params, typer",
    [
        ("def f(a, b):\n" + "    x = 1\n" * 80, 81, 2, False),
        ("def f(self, a, b, c, d, e, f, g, h):\n    pass\n", 2, 9, False),
        ("def f(*a, **k):\n    pass\n", 2, 2, False),
        ("def f(a: int = typer.Option(1)):\n    pass\n", 2, 1, True),
        ("def f(a: Annotated[str, typer.Option('--a')] = ''):\n    pass\n", 2, 1, True),
        ("def f(ref: CustomerRef, limit: LimitOpt = None):\n    pass\n", 2, 2, True),
        ("def f(x: Annotated[int, 'meta'] = 0):\n    pass\n", 2, 1, False),
        ("def f(ctx: typer.Context, a, b):\n    pass\n", 2, 3, False),
    ],
)
def test_the_measure_itself(source, lines, params, typer):
    (fn,) = _functions(ast.parse(source))
    assert (fn.end_lineno - fn.lineno + 1, len(_params(fn)), _is_typer_command(fn)) == (
        lines,
        params,
        typer,
    )
