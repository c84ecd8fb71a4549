"""A restricted evaluator for the diagram's expressions (conditions, timers, service parameters).

SpiffWorkflow evaluates every expression with Python's ``eval`` and full builtins, so an uploaded diagram
could run arbitrary code. Here an expression is parsed to an AST, checked against a small grammar, and
interpreted node by node: no attribute access except plain data keys, no dunders, no imports, no lambdas,
no comprehensions, no calls except to the functions named in ``SAFE_FUNCTIONS`` or given by the caller.

Resource limits, so that an owner's expression cannot freeze or exhaust the service:

- the grammar has no loops: the work is bounded by the size of the tree, which the check bounds
  (``MAX_NODES`` nodes, ``MAX_DEPTH`` levels, ``MAX_EXPRESSION_LENGTH`` characters);
- every value the interpreter builds is measured before or right after it is built: strings, lists,
  tuples, sets and dicts up to ``MAX_VALUE_WEIGHT`` (characters plus items, nested ones counted
  through), integers up to ``MAX_INT_BITS``; a repetition is refused before it allocates;
- no string formatting (``%`` on a string; ``format`` and f-strings are outside the grammar), ``round``
  to at most ``MAX_ROUND_DIGITS`` digits (``round(1, -10**7)`` takes half a minute in CPython);
- any error of a builtin, a recursion or memory error included, becomes ``ExpressionError``;
- the check also evaluates the expression's constant parts (those that read no data), so a constant
  part that would fail or exceed a limit is refused when the diagram is validated, not when it runs.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

MAX_EXPRESSION_LENGTH = 2_000
MAX_NODES = 200
MAX_DEPTH = 24
MAX_VALUE_WEIGHT = 100_000  # characters of strings plus items of containers, nested ones counted through
MAX_INT_BITS = 4_096
MAX_ROUND_DIGITS = 100


class ExpressionError(Exception):
    """The expression is outside the grammar, or failed while being evaluated."""


class ExpressionSyntaxError(ExpressionError, SyntaxError):
    """The expression is not Python at all. Also a ``SyntaxError``, which is what SpiffWorkflow's DMN
    engine expects from ``validate`` to tell a comparison cell (``< 5``) from a value cell (``5``)."""


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
    """Parse and check ``source``; raise ExpressionError naming what is not allowed or too big."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError("expression too long")
    return _parse(source.strip(), frozenset(functions))


@functools.lru_cache(maxsize=1024)
def _parse(source: str, functions: frozenset[str]) -> ast.Expression:
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionSyntaxError(f"syntax error: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionSyntaxError("syntax error: the expression cannot be read") from None
    _check_size(tree)
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
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError("* arguments are not allowed")
    _check_constant_parts(tree)
    return tree


def _check_size(tree: ast.AST) -> None:
    """At most ``MAX_NODES`` nodes and ``MAX_DEPTH`` levels (counted without recursion)."""
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _reads_nothing(node: ast.AST) -> bool:
    """Whether ``node`` reads no data and calls only the pure ``SAFE_FUNCTIONS``."""
    nodes = list(ast.walk(node))
    pure_calls = {
        id(c.func)
        for c in nodes
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in SAFE_FUNCTIONS
    }
    return all(not isinstance(sub, ast.Name) or id(sub) in pure_calls for sub in nodes)


def _check_constant_parts(tree: ast.Expression) -> None:
    """Evaluate the largest parts that read no data: what always fails is refused now."""
    stack: list[ast.AST] = [tree.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            continue
        if _reads_nothing(node):
            try:
                _evaluate_tree(node, {}, SAFE_FUNCTIONS)
            except ExpressionError as exc:
                raise ExpressionError(f"always fails: {exc}") from None
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.keyword):
                child = child.value
            if isinstance(child, ast.expr) and not (isinstance(node, ast.Call) and child is node.func):
                stack.append(child)


def evaluate(
    source: str,
    data: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """Evaluate ``source`` against ``data`` (task data) with only safe functions available."""
    funcs = {**SAFE_FUNCTIONS, **(functions or {})}
    tree = parse_expression(source, set(funcs))
    return _evaluate_tree(tree.body, data, funcs)


def _evaluate_tree(node: ast.AST, data: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    try:
        return _Interpreter(data, functions).visit(node)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("too deeply nested data") from None
    except MemoryError:
        raise ExpressionError("result too large") from None
    except Exception as exc:  # noqa: BLE001 - a builtin's error on the owner's expression, whatever it is
        raise ExpressionError(f"{type(exc).__name__}: {exc}"[:300]) from None


class _Interpreter:
    """Walks the checked tree. Every value it builds is weighed (``_Weights``) and refused beyond the
    limits; a repetition and a multiplication of integers are weighed before they are computed."""

    def __init__(self, data: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> None:
        self.data = data
        self.functions = functions
        self.weights = _Weights()

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:  # parse_expression already refused it; this is a second fence
            raise ExpressionError(f"{type(node).__name__} is not allowed")
        return method(node)

    def built(self, value: Any) -> Any:
        """``value`` when it is within the limits (it was just built by the expression)."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > MAX_INT_BITS:
                raise ExpressionError("number too large")
            return value
        self.weights.check(value)
        return value

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
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ExpressionError(f"index error: {type(exc).__name__}") from None

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
            self._guard_product(left, right)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise ExpressionError("string formatting is not allowed")
        growing = isinstance(node.op, ast.Add) and isinstance(left, (str, list, tuple)) and type(left) is type(right)
        if growing and self.weights.of(left) + self.weights.of(right) > MAX_VALUE_WEIGHT:
            raise ExpressionError("result too large")
        try:
            return self.built(_BINARY[type(node.op)](left, right))
        except (TypeError, ZeroDivisionError, ValueError, OverflowError) as exc:
            raise ExpressionError(str(exc)) from None

    def _guard_product(self, left: Any, right: Any) -> None:
        """Refuse ``"x" * 10**9``, ``[[0] * 1000] * 1000`` and huge integer products before they allocate."""
        for seq, times in ((left, right), (right, left)):
            repeats = isinstance(seq, (str, list, tuple)) and isinstance(times, int) and not isinstance(times, bool)
            if repeats and self.weights.of(seq) * max(times, 0) > MAX_VALUE_WEIGHT:
                raise ExpressionError("result too large")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ExpressionError("number too large")

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
        return self.built([self.visit(e) for e in node.elts])

    def visit_Tuple(self, node: ast.Tuple) -> tuple:
        return self.built(tuple(self.visit(e) for e in node.elts))

    def visit_Set(self, node: ast.Set) -> set:
        return self.built({self.visit(e) for e in node.elts})

    def visit_Dict(self, node: ast.Dict) -> dict:
        if any(k is None for k in node.keys):
            raise ExpressionError("** in dict literals is not allowed")
        return self.built({self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values, strict=True)})  # type: ignore[arg-type]

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]  # the checker allows only names
        func = self.functions[name]
        args = [self.visit(a) for a in node.args]
        kwargs = {str(k.arg): self.visit(k.value) for k in node.keywords}  # no **: the checker refuses it
        if name == "round":
            digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
            if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
                raise ExpressionError(f"round() to at most {MAX_ROUND_DIGITS} digits")
        shown = args[0] if name == "str" and args else None
        if isinstance(shown, (list, tuple, set, frozenset, dict)) and self.weights.of(shown) > MAX_VALUE_WEIGHT // 8:
            raise ExpressionError("result too large")  # its text adds quotes, commas and escapes to each item
        try:
            return self.built(func(*args, **kwargs))
        except ExpressionError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(str(exc)) from None


class _Weights:
    """The weight of values (characters of strings plus items of containers, nested ones counted
    through), remembered per object for one evaluation, so that a value shared many times (``[x] * 1000``)
    is weighed once. Weighing stops as soon as the limit is passed."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, int]] = {}  # id -> (the object, kept alive; its weight)

    def check(self, value: Any) -> None:
        if self.of(value) > MAX_VALUE_WEIGHT:
            raise ExpressionError("result too large")

    def of(self, value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return 1 + value.bit_length() // 64
        if not isinstance(value, (list, tuple, set, frozenset, dict)):
            return 1
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = len(value)
        items = value.items() if isinstance(value, dict) else ((item, None) for item in value)
        for key, item in items:
            total += self.of(key) + (self.of(item) if item is not None else 0)
            if total > MAX_VALUE_WEIGHT:
                break
        self._known[id(value)] = (value, total)
        return total
