"""The fast reader's parser (orjson) gives json.loads's values for every text it takes; what
it refuses, the general reader reads (and explains)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import WorkflowFileError
from engine.fastload import usual_workflow
from engine.fileformat import FORMAT, VERSION, loads

_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)

_NUMBERS = ["0", "-0", "-0.0", "1e400", "-1e400", "1e-400", "5e-324", "2.2250738585072014e-308",
            "0.1000000000000000055511151231257827", "123456789012345678901234567890",
            "9223372036854775807", "9223372036854775808", "18446744073709551615",
            "18446744073709551616", "-9223372036854775809", "1.7976931348623157e308",
            "1.7976931348623159e308", "3.141592653589793238462643383279", "1E5", "1e+5",
            "NaN", "Infinity", "-Infinity"]
_STRINGS = ['"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u0000"', '"é"', '"\\/"']


def _same(a: object, b: object) -> bool:
    """Equal with the same types all the way down (1 and 1.0, 0.0 and -0.0 told apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or a != a and b != b)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _doc(value_text: str) -> str:
    return (f'{{"format": "{FORMAT}", "version": {VERSION}, "name": "n", "nodes": [{{"id": "a",'
            f' "type": "data.value", "title": "", "params": {{"value": {value_text}}}, '
            f'"position": [0, 0]}}], "edges": []}}')


def _check(text: str) -> None:
    """A params value written as `text`: the fast reader takes the file with json.loads's
    value, or leaves it to the general reader (None)."""
    fast = usual_workflow(_doc(text), FORMAT, VERSION)
    if fast is not None:
        assert _same(fast.nodes["a"].params["value"], json.loads(text)), text


@settings(max_examples=400, deadline=None)
@given(_values)
def test_the_fast_reader_reads_what_json_reads(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False),
                 json.dumps(value, indent=2)):
        _check(text)


def test_the_fast_reader_on_awkward_numbers_and_strings():
    for piece in _NUMBERS + _STRINGS:
        for text in (piece, f"[{piece}]", f'{{"a": {piece}}}'):
            _check(text)


def test_a_file_orjson_refuses_is_read_by_the_general_reader():
    for piece in ("NaN", "123456789012345678901234567890", "-9223372036854775809",
                  '"\\ud800"', "1e400"):
        text = _doc(piece)
        assert usual_workflow(text, FORMAT, VERSION) is None
        try:  # the general reader: the value, or one sentence saying what is wrong
            general = loads(text)
        except WorkflowFileError as exc:
            assert str(exc).startswith("the workflow ") and "\n" not in str(exc), exc
        else:
            assert general.workflow.nodes["a"].params["value"] == json.loads(text)[
                "nodes"][0]["params"]["value"] or piece == '"\\ud800"'
