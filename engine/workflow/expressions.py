"""A restricted evaluator for the diagram's expressions (conditions, timers, service parameters).

SpiffWorkflow evaluates every expression with Python's ``eval`` and full builtins, so an uploaded diagram
could run arbitrary code. Here an expression is parsed to an AST, checked against a small grammar, and
interpreted node by node: no attribute access except plain data keys, no dunders, no imports, no lambdas,
no comprehensions, no calls except to the functions named in ``SAFE_FUNCTIONS`` or given by the caller.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

MAX_EXPRESSION_LENGTH = 2_000
MAX_SEQUENCE_RESULT = 10_000


class ExpressionError(Exception):
    """The expression is outside the grammar, or failed while being evaluated."""


SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "any": any,
    "all": all,
}

# Names the engine provides at run time; the linter accepts calls to them.
ENGINE_FUNCTIONS = frozenset({"deadline"})

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ALLOWED_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Call,
    ast.keyword,
    *_BINARY,
    *_UNARY,
    *_COMPARE,
)


def parse_expression(source: str, functions: frozenset[str] | set[str] = frozenset()) -> ast.Expression:
    """Parse and check ``source``; raise ExpressionError naming what is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError("expression too long")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    callable_names = set(SAFE_FUNCTIONS) | set(ENGINE_FUNCTIONS) | set(functions)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"name '{node.id}' is not allowed")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"attribute '{node.attr}' is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ExpressionError("bytes literals are not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in callable_names:
                raise ExpressionError("only calls to " + ", ".join(sorted(callable_names)) + " are allowed")
            if any(k.arg is None for k in node.keywords):
                raise ExpressionError("** arguments are not allowed")
    return tree


def evaluate(
    source: str,
    data: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """Evaluate ``source`` against ``data`` (task data) with only safe functions available."""
    funcs = {**SAFE_FUNCTIONS, **(functions or {})}
    tree = parse_expression(source, set(funcs))
    return _Interpreter(data, funcs).visit(tree.body)


class _Interpreter:
    def __init__(self, data: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> None:
        self.data = data
        self.functions = functions

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:  # parse_expression already refused it; this is a second fence
            raise ExpressionError(f"{type(node).__name__} is not allowed")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.data:
            return self.data[node.id]
        if node.id in {"True", "False", "None"}:
            return {"True": True, "False": False, "None": None}[node.id]
        raise ExpressionError(f"name '{node.id}' is not defined")

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        value = self.visit(node.value)
        if isinstance(value, Mapping) and node.attr in value:
            return value[node.attr]
        raise ExpressionError(f"no field '{node.attr}'")

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        value = self.visit(node.value)
        if not isinstance(value, (Mapping, list, tuple, str)):
            raise ExpressionError("only data can be indexed")
        try:
            return value[self.visit(node.slice)]
        except (KeyError, IndexError, TypeError) as exc:
            raise ExpressionError(f"index error: {exc}") from None

    def visit_Slice(self, node: ast.Slice) -> slice:
        parts = [self.visit(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = isinstance(node.op, ast.And)
        for value in node.values:
            result = self.visit(value)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Mult):
            _guard_repeat(left, right)
        try:
            return _BINARY[type(node.op)](left, right)
        except (TypeError, ZeroDivisionError, ValueError) as exc:
            raise ExpressionError(str(exc)) from None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        try:
            return _UNARY[type(node.op)](self.visit(node.operand))
        except TypeError as exc:
            raise ExpressionError(str(exc)) from None

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExpressionError(str(exc)) from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node: ast.List) -> list:
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.visit(e) for e in node.elts)

    def visit_Set(self, node: ast.Set) -> set:
        return {self.visit(e) for e in node.elts}

    def visit_Dict(self, node: ast.Dict) -> dict:
        if any(k is None for k in node.keys):
            raise ExpressionError("** in dict literals is not allowed")
        return {self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]

    def visit_Call(self, node: ast.Call) -> Any:
        func = self.functions[node.func.id]  # type: ignore[attr-defined]  # the checker allows only names
        args = [self.visit(a) for a in node.args]
        kwargs = {str(k.arg): self.visit(k.value) for k in node.keywords}  # no **: the checker refuses it
        try:
            return func(*args, **kwargs)
        except ExpressionError:
            raise
        except (TypeError, ValueError) as exc:
            raise ExpressionError(str(exc)) from None


def _guard_repeat(left: Any, right: Any) -> None:
    """Refuse ``"x" * 10**9`` and the like before it allocates."""
    for seq, times in ((left, right), (right, left)):
        if (
            isinstance(seq, (str, list, tuple))
            and isinstance(times, int)
            and len(seq) * max(times, 0) > MAX_SEQUENCE_RESULT
        ):
            raise ExpressionError("result too large")
