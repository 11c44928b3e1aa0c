"""Evaluating what a person typed (expressions, formulas, templates) within limits.

Two kinds of limit live here; the CPU and memory budgets are engine/budget.py's.
* **Single operations** that one C call would make huge (which nothing can interrupt inside a
  thread) are refused with a sentence before they run: simpleeval's own limits (MAX_POWER,
  MAX_STRING_LENGTH for `*` and `+` on sequences, MAX_COMPREHENSION_LENGTH, MAX_SHIFT), plus
  what it leaves open — the size of a power's result, `%` formatting and format-spec widths,
  padding/joining/replacing string methods, big-int products. Templates get the same through
  jinja2's SandboxedEnvironment hooks (`call`, `call_binop`) and bounded `center`, `format`,
  `indent`, `replace`, `wordwrap` filters; `range` is the sandbox's own (MAX_RANGE).
* **Slices**: an evaluation given a `deadline` (a `time.perf_counter()` value) raises `Offload`
  once it passes it having computed (thread CPU time) for most of a slice — checked at every
  step of simpleeval's tree walk and of a template's output and calls; a call over more than
  INLINE_ITEMS items raises it at once. The caller re-runs the
  evaluation (they are pure) somewhere that can be stopped — a budget worker process.

Errors are `EvalFailed` carrying the whole sentence. This module imports nothing from `engine`:
the budget worker process (engine/budgetworker.py) loads it by path, so a worker starts without
the engine's imports — which is also why expressions, formulas and templates share one file
(over 400 lines).
"""

from __future__ import annotations

import ast
import functools
import json
import math
import operator as op
import re
import threading
import types
from time import perf_counter, thread_time
from typing import Any

import simpleeval

# jinja2 is imported on first use of a template (listing node types or starting the editor does
# not need it: see docs/perf.md "Editor start-up").

MAX_LENGTH = simpleeval.MAX_STRING_LENGTH  # 100 000: the longest string or list one step builds
MAX_TEXT = 20_000_000  # the longest text a join or replace builds (they mostly carry input on)
MAX_INT_DIGITS = 100_000  # the largest number one step builds (4 000 000**4 000000: 26 M digits)
MAX_RANGE = 1_000_000
INLINE_ITEMS = 50_000  # a call over more items than this is not worth trying inline
NO_DEADLINE = math.inf
SLICE_S = 0.003  # longest an evaluation runs inline before moving off the loop
_SCALARS = frozenset({int, float, str, bool, type(None), bytes})


class _Sliced:
    """What holds a slice: `deadline` (perf_counter) and a thread-CPU `checkpoint`.

    Wall time past the deadline may be the OS running other work (a shared machine): then the
    slice moves on. Only a thread that computed for most of a slice since the last checkpoint
    gives way, so a busy machine does not send cheap evaluations off the loop."""

    deadline = NO_DEADLINE
    checkpoint = -1.0

    def start_slice(self, deadline: float) -> None:
        self.deadline = deadline
        self.checkpoint = -1.0

    def overdue(self) -> None:
        """Called once perf_counter() passed `deadline`: raise Offload, or move the slice on."""
        now = thread_time()
        if self.checkpoint >= 0 and now - self.checkpoint >= SLICE_S * 0.8:
            raise Offload
        self.checkpoint = now
        self.deadline = perf_counter() + SLICE_S


class Offload(BaseException):
    """An inline evaluation would take longer than its slice: run it again off the loop.

    A BaseException, so that node code catching `Exception` lets it through to the engine."""


class EvalFailed(Exception):
    """An evaluation failed; the message is the whole sentence."""


class Refused(simpleeval.InvalidExpression):
    """One operation would build something larger than the limits allow."""


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number of about {value.bit_length() * 0.30103:,.0f} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_length(length: int, what: str = "the result", limit: int = MAX_LENGTH) -> None:
    if length > limit:
        raise Refused(f"{what} would be {length:,} long, over the limit of {limit:,}")


def _check_digits(digits: float, what: str) -> None:
    if digits > MAX_INT_DIGITS:
        raise Refused(f"{what} would have about {digits:,.0f} digits, over the limit of "
                      f"{MAX_INT_DIGITS:,}")


# --- operators: simpleeval's, plus what they leave open ----------------------------------
def safe_power(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and b > 1 and abs(a) > 1:
        _check_digits(b * math.log10(abs(a)), f"{_short(a)} ** {_short(b)}")
    return simpleeval.safe_power(a, b)


def safe_mult(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        _check_digits((a.bit_length() + b.bit_length()) * 0.30103, "the product")
        return a * b
    for seq, times in ((a, b), (b, a)):
        if isinstance(times, int) and hasattr(seq, "__len__"):
            _check_length(len(seq) * times)
    return simpleeval.safe_mult(a, b)


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FIELD_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_DIGITS = re.compile(r"\d+")


def check_spec(spec: str) -> None:
    """Refuse a format spec (`>1000000000`, `.99999999f`) whose width builds a huge string."""
    for number in _DIGITS.findall(spec):
        if len(number) > 6 or int(number) > MAX_LENGTH:
            _check_length(int(number), "the formatted text")


def safe_mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        text = a if isinstance(a, str) else a.decode("latin-1")
        values = b if isinstance(b, tuple) else (b,)
        for match in _PERCENT.finditer(text):
            for part in match.groups():
                if part == "*":
                    for v in values:
                        if isinstance(v, int):
                            _check_length(abs(v), "the formatted text")
                elif part:
                    check_spec(part)
    return op.mod(a, b)


OPERATORS = dict(simpleeval.DEFAULT_OPERATORS)
OPERATORS.update({ast.Pow: safe_power, ast.Mult: safe_mult, ast.Mod: safe_mod})


def _len_of_join(sep: Any, items: Any) -> int:
    return sum(len(x) if isinstance(x, (str, bytes)) else 0 for x in items) + \
        len(sep) * max(0, len(items) - 1)


def _projected(owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """How long the result of str/bytes method `name` on `owner` would be (0 if not sized)."""
    params = list(args) + list(kwargs.values())
    if name in ("center", "ljust", "rjust", "zfill") and params and isinstance(params[0], int):
        return params[0]
    if name == "expandtabs":
        size = params[0] if params and isinstance(params[0], int) else 8
        return len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * size
    if name == "join" and params and hasattr(params[0], "__len__"):
        return _len_of_join(owner, params[0])
    if name == "replace" and len(params) >= 2 and all(hasattr(p, "__len__") for p in params[:2]):
        old, new = params[0], params[1]
        count = owner.count(old) if old else len(owner) + 1
        if len(params) > 2 and isinstance(params[2], int) and params[2] >= 0:
            count = min(count, params[2])
        return len(owner) + count * (len(new) - len(old))
    return 0


def check_format(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse `text.format(...)` whose field widths (written, or nested `{:{}}` from the
    arguments) build a huge string."""
    for spec in _FIELD_SPEC.findall(text):
        check_spec(spec)
    if ":{" in text:
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                check_spec(str(value)[:20])


def check_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sliced: bool) -> None:
    """Refuse a string method call that builds a huge string; in a slice, give way before a
    call over many items (one C call that nothing could interrupt)."""
    owner = getattr(func, "__self__", None)
    if type(owner) in (str, bytes):
        name = getattr(func, "__name__", "")
        if name in ("format", "format_map") and isinstance(owner, str):
            check_format(owner, args, kwargs)
        else:
            _check_length(_projected(owner, name, args, kwargs), f"the result of .{name}()",
                          MAX_TEXT if name in ("join", "replace") else MAX_LENGTH)
    if sliced:
        for value in args:
            if type(value) not in _SCALARS and hasattr(value, "__len__") and \
                    len(value) > INLINE_ITEMS:
                raise Offload


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise Refused(f"range() of {len(r):,} items is larger than the limit of {MAX_RANGE:,}")
    return r


FUNCTIONS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "sorted": sorted, "str": str, "int": int, "float": float, "range": _safe_range,
    "bool": bool, "list": list, "any": any, "all": all,
}


# --- simpleeval, bounded ------------------------------------------------------------------
class _Bounded(_Sliced):
    """Calls go through check_call; f-string format specs through check_spec. The slice is
    set per evaluation (NO_DEADLINE: not in a slice)."""

    def _check_disallowed_items(self, item: Any) -> None:
        # simpleeval's check of every container a step returns, without recursion (deep values
        # fail where they are copied, with that sentence); in a slice, a big one gives way
        if type(item) in _SCALARS:
            return
        sliced = self.deadline != NO_DEADLINE
        stack = [item]
        while stack:
            item = stack.pop()
            if type(item) in _SCALARS or isinstance(item, simpleeval.ModuleWrapper):
                continue
            if isinstance(item, types.ModuleType):
                raise simpleeval.FeatureNotAvailable("Sorry, modules are not allowed")
            if isinstance(item, (list, tuple, set, frozenset, dict)):
                if sliced and len(item) > INLINE_ITEMS:
                    raise Offload
                if sliced and perf_counter() > self.deadline:
                    self.overdue()
                stack.extend(item.values() if isinstance(item, dict) else item)
            elif callable(item) and item in simpleeval.DISALLOW_FUNCTIONS:
                raise simpleeval.FeatureNotAvailable("This function is forbidden")

    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            func = self._eval(node.func)  # type: ignore[attr-defined]
        else:
            try:
                func = self.functions[node.func.id]  # type: ignore[attr-defined]
            except KeyError:
                raise simpleeval.FunctionNotDefined(node.func.id,
                                                    self.expr) from None  # type: ignore
            except AttributeError:
                raise simpleeval.FeatureNotAvailable("Lambda Functions not implemented") \
                    from None
            if func in simpleeval.DISALLOW_FUNCTIONS:
                raise simpleeval.FeatureNotAvailable("This function is forbidden")
        args = tuple(self._eval(a) for a in node.args)  # type: ignore[attr-defined]
        kwargs = dict(self._eval(k) for k in node.keywords)  # type: ignore[attr-defined]
        check_call(func, args, kwargs, self.deadline != NO_DEADLINE)
        return func(*args, **kwargs)

    def _eval_formattedvalue(self, node: Any) -> Any:
        if node.format_spec:
            spec = self._eval(node.format_spec)  # type: ignore[attr-defined]
            check_spec(spec)
            return ("{:" + spec + "}").format(self._eval(node.value))  # type: ignore
        return self._eval(node.value)  # type: ignore[attr-defined]


class Evaluator(_Bounded, simpleeval.EvalWithCompoundTypes):
    """The evaluator behind `engine.expressions.Expression`."""

    def __init__(self) -> None:
        super().__init__(operators=dict(OPERATORS), functions=dict(FUNCTIONS))


class SteppedEvaluator(Evaluator):
    """Checks the deadline at every step: for expressions with comprehensions, the only
    construct that repeats (any other tree is a bounded number of bounded steps)."""

    def _eval(self, node: Any, _now: Any = perf_counter,
              _step: Any = simpleeval.SimpleEval._eval) -> Any:
        if _now() > self.deadline:
            self.overdue()
        return _step(self, node)


_LOOPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def has_loops(tree: Any) -> bool:
    return any(isinstance(node, _LOOPS) for node in ast.walk(tree))


class _Evaluators(threading.local):
    """Evaluators per thread (building one costs ~30 µs; evaluating ~2 µs). Evaluation is
    never re-entrant within a thread, so sharing them per thread is safe."""

    def __init__(self) -> None:
        self.plain = Evaluator()
        self.stepped = SteppedEvaluator()


_evaluators = _Evaluators()


def expression_error(source: str, exc: Exception, names: dict[str, Any]) -> str:
    if isinstance(exc, simpleeval.NameNotDefined):
        available = ", ".join(sorted(names)) or "none"
        return (f"expression `{source}` failed: name '{exc.name}' is not defined "
                f"(available: {available})")
    if isinstance(exc, (Refused, EvalFailed)):
        return f"expression `{source}` failed: {exc}"
    return f"expression `{source}` failed: {type(exc).__name__}: {exc}"


def evaluate_expression(source: str, parsed: Any, names: dict[str, Any],
                        deadline: float = NO_DEADLINE, loops: bool = True) -> Any:
    """The value of a parsed expression over `names`; EvalFailed with a sentence if it fails,
    Offload if it passes `deadline`. `loops`: whether the tree has comprehensions."""
    ev = _evaluators.stepped if loops and deadline != NO_DEADLINE else _evaluators.plain
    ev.names = names
    ev.start_slice(deadline)
    try:
        return ev.eval(source, previously_parsed=parsed)
    except MemoryError:
        raise
    except Exception as exc:  # any error inside the user's expression becomes a sentence
        raise EvalFailed(expression_error(source, exc, names)) from None


def parse_expression(source: str) -> Any:
    return ast.parse(source.strip(), mode="eval").body


def evaluate_many(source: str, parsed: Any, names_list: list[dict[str, Any]],
                  deadline: float = NO_DEADLINE, restart: Any = None,
                  loops: bool = True) -> list[Any]:
    """One expression over many name sets (list nodes); errors say which item failed.
    `restart` is called before each item (a worker gives each item its own CPU budget)."""
    results = []
    clock = _Sliced()
    clock.start_slice(deadline)
    for index, names in enumerate(names_list):
        if restart is not None:
            restart()
        if perf_counter() > clock.deadline:
            clock.overdue()
        try:
            results.append(evaluate_expression(source, parsed, names, clock.deadline, loops))
        except EvalFailed as exc:
            raise EvalFailed(f"item {index}: {exc}") from None
    return results


# --- the calculator ----------------------------------------------------------------------
CALC_FUNCTIONS: dict[str, Any] = {
    name: getattr(math, name) for name in (
        "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin", "acos", "atan",
        "atan2", "sinh", "cosh", "tanh", "floor", "ceil", "trunc", "factorial", "gcd", "hypot",
        "degrees", "radians", "isclose",
    )
}
CALC_FUNCTIONS.update({"abs": abs, "round": round, "min": min, "max": max, "sum": sum,
                       "int": int, "float": float})
CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
MAX_FACTORIAL = 170  # the largest whose value still fits a float


def _factorial(n: Any) -> int:
    if isinstance(n, int) and n > MAX_FACTORIAL:
        raise ValueError(f"factorial({n}) is larger than the limit of {MAX_FACTORIAL}")
    return math.factorial(n)


CALC_FUNCTIONS["factorial"] = _factorial


class Calculator(_Bounded, simpleeval.SimpleEval):
    def __init__(self, names: dict[str, Any]) -> None:
        super().__init__(operators=dict(OPERATORS), functions=CALC_FUNCTIONS, names=names)


def calculate(expression: str, x: Any = None, deadline: float = NO_DEADLINE) -> Any:
    """Evaluate a formula (with `x` bound, when given); EvalFailed with a sentence if bad."""
    if not isinstance(expression, str) or not expression.strip():
        raise EvalFailed("the expression is empty")
    names = dict(CONSTANTS)
    if x is not None:
        names["x"] = x
    evaluator = Calculator(names)
    evaluator.start_slice(deadline)
    try:
        return evaluator.eval(expression.strip())
    except SyntaxError as exc:
        raise EvalFailed(f"`{expression}` is not a formula: {exc.msg}") from None
    except simpleeval.NameNotDefined as exc:
        known = ", ".join(sorted(names)) + ", " + ", ".join(sorted(CALC_FUNCTIONS))
        raise EvalFailed(f"`{expression}`: unknown name {exc.name!r} (known: {known})") from None
    except simpleeval.InvalidExpression as exc:
        raise EvalFailed(f"`{expression}`: {exc}") from None
    except ZeroDivisionError:
        raise EvalFailed(f"`{expression}` divides by zero") from None
    except MemoryError:
        raise
    except Exception as exc:  # math domain errors, overflow, wrong argument types
        raise EvalFailed(f"`{expression}` failed: {type(exc).__name__}: {exc}") from None


# --- templates ---------------------------------------------------------------------------
def _bounded_center(value: Any, width: int = 80) -> str:
    from jinja2.filters import do_center

    _check_length(int(width), "the centred text")
    return do_center(value, width)


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise Refused("format() takes positional or keyword arguments, not both")
    return safe_mod(str(value), kwargs or args)


def _bounded_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    from jinja2.filters import do_indent

    if isinstance(width, int):
        _check_length(len(str(s)) + width * (str(s).count("\n") + 1), "the indented text")
    return do_indent(s, width, first, blank)


def _bounded_replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    from jinja2.filters import do_replace

    _check_length(_projected(str(s), "replace", (str(old), str(new), -1 if count is None
                                                 else count), {}), "the replaced text", MAX_TEXT)
    return do_replace(eval_ctx, s, old, new, count)


def _bounded_wordwrap(env: Any, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
    from jinja2.filters import do_wordwrap

    return do_wordwrap(env, s, max(1, int(width)), *args, **kwargs)


_BINOPS = {"*": safe_mult, "**": safe_power, "%": safe_mod}  # `+` only adds what exists


class _BoundedSandbox(_Sliced):
    """jinja2 sandbox hooks: bounded binary operators and method calls, and the slice."""

    intercepted_binops = frozenset(_BINOPS)

    def wrap_str_format(self, value: Any) -> Any:
        # jinja2 hands `str.format` out as its own wrapper, which `call` cannot inspect
        wrapped = super().wrap_str_format(value)  # type: ignore[misc]
        if wrapped is None:
            return None
        text = value.__self__

        def checked(*args: Any, **kwargs: Any) -> Any:
            check_format(text, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _BINOPS[operator](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if perf_counter() > __self.deadline:
            __self.overdue()
        check_call(__obj, args, kwargs, __self.deadline != NO_DEADLINE)
        return super().call(__context, __obj, *args, **kwargs)  # type: ignore[misc]


@functools.cache
def _sandboxes() -> tuple[type, type]:
    """The bounded sandbox classes (made once, on first use: they import jinja2)."""
    from jinja2.filters import do_replace, do_wordwrap
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

    _bounded_replace.jinja_pass_arg = do_replace.jinja_pass_arg  # type: ignore[attr-defined]
    _bounded_wordwrap.jinja_pass_arg = do_wordwrap.jinja_pass_arg  # type: ignore[attr-defined]
    mutable = type("TemplateSandbox", (_BoundedSandbox, SandboxedEnvironment), {})
    immutable = type("ImmutableTemplateSandbox", (_BoundedSandbox, ImmutableSandboxedEnvironment),
                     {})
    return mutable, immutable


def template_environment(immutable: bool = False) -> Any:
    """The sandbox user templates run in: strict undefined names, bounded operations.

    `immutable` (HTTP requests) also refuses methods that change lists and dicts."""
    from jinja2 import StrictUndefined

    cls = _sandboxes()[1 if immutable else 0]
    env = cls(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.update(center=_bounded_center, format=_bounded_format, indent=_bounded_indent,
                       replace=_bounded_replace, wordwrap=_bounded_wordwrap)
    if not immutable:
        env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent,
                                                                      ensure_ascii=False)
    return env


class _Templates(threading.local):
    """Per thread: the two environments (made on first use) and compiled templates."""

    def __init__(self) -> None:
        self.made: dict[bool, Any] = {}
        self.compiled: dict[tuple[bool, str, bool], Any] = {}

    def env(self, immutable: bool) -> Any:
        found = self.made.get(immutable)
        if found is None:
            found = self.made[immutable] = template_environment(immutable)
        return found


_templates = _Templates()


def template_problem(source: Any, what: str = "template") -> str | None:
    """None if `source` is a template that parses, else a sentence saying why not."""
    if not isinstance(source, str):
        return f"{what} must be text"
    from jinja2 import TemplateSyntaxError

    try:
        _templates.env(False).parse(source)
    except TemplateSyntaxError as exc:
        return f"{what} does not parse: {exc.message} (line {exc.lineno})"
    return None


def compiled_template(source: str, immutable: bool = False, expression: bool = False) -> Any:
    """A compiled template (or, with `expression`, a compiled jinja2 expression), cached per
    thread: a template object belongs to its environment, whose deadline is per thread."""
    key = (immutable, source, expression)
    cache = _templates.compiled
    found = cache.get(key)
    if found is None:
        env = _templates.env(immutable)
        found = (env.compile_expression(source, undefined_to_none=False) if expression
                 else env.from_string(source))
        if len(cache) > 1024:
            cache.clear()
        cache[key] = found
    return found


def has_loop(source: str) -> bool:
    """Whether a template has a `for` loop, whose steps a slice cannot see: it is rendered in
    a worker process, never inline."""
    from jinja2 import nodes

    return any(True for _ in _templates.env(False).parse(source).find_all(nodes.For))


def render_template(source: str, names: dict[str, Any], where: str = "",
                    immutable: bool = False, deadline: float = NO_DEADLINE) -> str:
    """Render over `names`; EvalFailed with a sentence (naming `where`, if given) if it fails."""
    template = compiled_template(source, immutable)
    env = template.environment
    env.start_slice(deadline)
    try:
        parts = []
        for part in template.generate(names):
            parts.append(part)
            if perf_counter() > env.deadline:
                env.overdue()
        return "".join(parts)
    except MemoryError:
        raise
    except Exception as exc:
        raise EvalFailed(template_error(exc, where)) from None
    finally:
        env.start_slice(NO_DEADLINE)


def render_expression(source: str, names: dict[str, Any], where: str,
                      deadline: float = NO_DEADLINE) -> Any:
    """The value of one jinja2 expression (an HTTP JSON body's `{{ ... }}` keeps its type)."""
    expression = compiled_template(source, True, expression=True)
    env = _templates.env(True)
    env.start_slice(deadline)
    try:
        value = expression(**names)
    except MemoryError:
        raise
    except Exception as exc:
        raise EvalFailed(template_error(exc, where)) from None
    finally:
        env.start_slice(NO_DEADLINE)
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        raise EvalFailed(f"the template in {where} failed: {value._undefined_message}")
    return value


def template_error(exc: Exception, where: str) -> str:
    from jinja2 import TemplateError
    from jinja2.sandbox import SecurityError

    if where:
        return f"the template in {where} failed: {exc}"
    if isinstance(exc, SecurityError):
        return f"the template tried something the sandbox forbids: {exc}"
    if isinstance(exc, TemplateError):
        return f"the template failed: {exc.message or exc}"
    if isinstance(exc, Refused):
        return f"the template failed: {exc}"
    return f"the template failed: {type(exc).__name__}: {exc}"


# --- jobs a worker process runs ----------------------------------------------------------
def run_job(kind: str, args: tuple[Any, ...], restart: Any) -> Any:
    """Run one job sent to a worker: the same functions, with no deadline."""
    if kind == "expression":
        source, names = args
        return evaluate_expression(source, parse_expression(source), names)
    if kind == "expressions":
        source, names_list = args
        return evaluate_many(source, parse_expression(source), names_list, restart=restart)
    if kind == "calculate":
        return calculate(*args)
    if kind == "template":
        return render_template(*args)
    if kind == "template_expression":
        return render_expression(*args)
    raise EvalFailed(f"unknown kind of evaluation {kind!r}")
