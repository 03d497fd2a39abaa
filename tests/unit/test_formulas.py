"""Formula language: parsing, exact Decimal evaluation, error values, static result kinds."""

import doctest
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from crm_tui.domain import formulas
from crm_tui.domain.formulas import Formula, FormulaError, FormulaSyntaxError, compile_formula

FIELDS = ["Amount", "Cost", "Probability", "Name", "Expected close date", "Created", "Lines", "Tags", "Done"]
KINDS = {"Amount": "number", "Cost": "currency", "Name": "text", "Expected close date": "date",
         "Created": "date", "Done": "boolean", "Tags": "text"}


def ev(text, values=None, today=None, known=None):
    return compile_formula(text, known).evaluate(values or {}, today=today)


DIV0, VALUE, NUM = FormulaError("#DIV/0!"), FormulaError("#VALUE!"), FormulaError("#NUM!")


def test_module_docstring_example_runs():
    assert doctest.testmod(formulas).failed == 0


# ------------------------------------------------------------------ literals and arithmetic

@pytest.mark.parametrize("text, expected", [
    ("1234.56 - 234.50", D("1000.06")),
    ("0.1 + 0.2", D("0.3")),
    ("12", D("12")),
    ("3.5", D("3.5")),
    (".5", D("0.5")),
    ("12.", D("12")),
    ("1.10 * 3", D("3.3")),
    ("1.1 * 1.1", D("1.21")),
    ("10 / 4", D("2.5")),
    ("1 / 3", D("0.3333333333")),
    ("2 / 3", D("0.6666666667")),
    ("100 * 10", D("1000")),
    ("123456789012345678.25 + 1", D("123456789012345679.25")),
    ("-5", D("-5")),
    ("+5", D("5")),
    ("--5", D("5")),
    ("-0", D("0")),
    ("0.000", D("0")),
])
def test_exact_decimal_arithmetic(text, expected):
    result = ev(text)
    assert type(result) is D and result == expected
    assert str(result) == str(expected)  # normalised: no trailing zeros, no exponent


def test_results_never_use_exponent_notation():
    assert str(ev("1000")) == "1000"
    assert str(ev("10 * 100")) == "1000"
    assert str(ev("2.50 * 4")) == "10"
    assert str(ev("-0.0")) == "0"


def test_values_arrive_as_decimal_int_float_bool():
    f = compile_formula("{a} + {b}")
    assert f.evaluate({"a": D("1.5"), "b": 2}) == D("3.5")
    assert f.evaluate({"a": 0.1, "b": 0.2}) == D("0.3")  # float via repr, never binary noise
    assert f.evaluate({"a": True, "b": 1}) == D("2")


@pytest.mark.parametrize("text, expected", [
    ("2 + 3 * 4", D("14")),
    ("(2 + 3) * 4", D("20")),
    ("10 - 4 - 3", D("3")),
    ("100 / 10 / 5", D("2")),
    ("-2 * 3", D("-6")),
    ("2 * -3", D("-6")),
    ("-(2 + 3)", D("-5")),
    ("1 + 2 & 3 + 4", "37"),
    ("1 + 2 = 3", True),
    ("2 * 3 > 5 & 0", VALUE),     # & binds tighter than >: 6 > "50" compares a number with text
    ("(2 * 3 > 5) & 0", "TRUE0"),
    ("1 + 1 = 2 * 1", True),
])
def test_precedence(text, expected):
    assert ev(text) == expected


def test_long_chain_is_not_deep():
    text = " + ".join(["1"] * 2000)
    assert ev(text) == D("2000")


# ------------------------------------------------------------------ strings and concatenation

def test_strings_and_escapes():
    assert ev('"say \\"hi\\""') == 'say "hi"'
    assert ev('"back\\\\slash"') == "back\\slash"
    assert ev("'it\\'s'") == "it's"
    assert ev("'double \" inside'") == 'double " inside'
    assert ev('"a" & "b" & 1.50 & TRUE') == "ab1.5TRUE"
    assert ev('"due " & {d}', {"d": date(2024, 5, 1)}) == "due 2024-05-01"


def test_concat_blank_and_lists():
    assert ev('{x} & "!"') == "!"
    assert ev('CONCAT("a", {x}, 1, "b")') == "a1b"
    assert ev('CONCAT({tags})', {"tags": ["vip", "eu"]}) == "vip, eu"
    assert ev('{tags} & ""', {"tags": ["vip", "eu"]}) == "vip, eu"


# ------------------------------------------------------------------ comparisons and booleans

@pytest.mark.parametrize("text, expected", [
    ("1 = 1", True), ("1 = 1.0", True), ("1 != 2", True), ("1 <> 1", False),
    ("1 < 2", True), ("2 > 1", True), ("2 <= 2", True), ("3 >= 4", False),
    ('"a" = "a"', True), ('"a" = "A"', False), ('"a" < "b"', True),
    ('1 = "1"', False), ('1 < "1"', VALUE),
    ("TRUE = TRUE", True), ("TRUE = 1", True), ("true", True), ("FALSE()", False),
])
def test_comparisons(text, expected):
    assert ev(text) == expected


def test_comparisons_with_blank():
    f = compile_formula("{x} = BLANK()")
    assert f.evaluate({}) is True
    assert f.evaluate({"x": D(1)}) is False
    assert ev('{x} = ""') is True            # the usual blank test; storage keeps empty text as None
    assert ev("{x} != BLANK()", {"x": "a"}) is True
    assert ev("{x} = 0") is False
    for op in ("<", ">", "<=", ">="):
        assert ev(f"{{x}} {op} 5") is False
        assert ev(f"5 {op} {{x}}") is False


def test_date_comparisons():
    values = {"d": date(2024, 5, 1)}
    assert ev('{d} < "2024-06-01"', values) is True
    assert ev('{d} = "2024-05-01"', values) is True
    assert ev("{d} > TODAY()", values, today=date(2024, 4, 1)) is True
    assert ev('{d} < "soon"', values) == VALUE


def test_and_or_not():
    assert ev("AND(1 < 2, 2 < 3)") is True
    assert ev("AND(1 < 2, {x})") is False
    assert ev("OR(FALSE, 0, {x}, \"\")") is False
    assert ev("OR(FALSE, \"yes\")") is True
    assert ev("NOT(1 > 2)") is True
    assert ev("NOT({x})") is True
    assert ev("AND(TRUE, 1/0)") == DIV0


# ------------------------------------------------------------------ functions

def test_if():
    f = compile_formula('IF({Amount} >= 1000, "big", "small")', FIELDS)
    assert f.evaluate({"Amount": D("1000")}) == "big"
    assert f.evaluate({"Amount": D("999.99")}) == "small"
    assert f.evaluate({}) == "small"
    assert ev('IF(1 > 2, "yes")') is None
    assert ev("IF({x}, 1, 2)") == D(2)
    assert ev('IF("text", 1, 2)') == D(1)
    assert ev("IF({tags}, 1, 2)", {"tags": ["a", "b"]}) == D(1)


def test_if_only_evaluates_the_branch_taken():
    f = compile_formula("IF({n} = 0, 0, 100 / {n})")
    assert f.evaluate({"n": D(0)}) == D(0)
    assert f.evaluate({"n": D(8)}) == D("12.5")
    assert ev("IF(1/0, 1, 2)") == DIV0


@pytest.mark.parametrize("text, expected", [
    ("ROUND(2.5)", D("3")), ("ROUND(3.5)", D("4")), ("ROUND(-2.5)", D("-3")),
    ("ROUND(1.005, 2)", D("1.01")), ("ROUND(432.096, 2)", D("432.1")),
    ("ROUND(1234.5678, 0)", D("1235")), ("ROUND(1250, -2)", D("1300")), ("ROUND({x}, 2)", D("0")),
    ("ROUND(2 / 3, 4)", D("0.6667")),
])
def test_round_half_up(text, expected):
    result = ev(text)
    assert result == expected and str(result) == str(expected)


def test_min_max_abs():
    assert ev("MIN(3, 1, 2)") == D(1)
    assert ev("MAX(3, 1, 2)") == D(3)
    assert ev("MAX({l}, 4)", {"l": [D(7), None, D(2)]}) == D(7)
    assert ev("MIN({l})", {"l": [D(7), None, D(2)]}) == D(2)
    assert ev("MIN({l})", {"l": []}) is None
    assert ev("MAX({x})") is None
    assert ev("MAX({l})", {"l": [date(2024, 1, 2), date(2024, 3, 1)]}) == date(2024, 3, 1)
    assert ev('MAX(1, "a")') == VALUE
    assert ev("ABS(-3.50)") == D("3.5")
    assert ev("ABS({x})") == D(0)
    assert ev('ABS("a")') == VALUE


def test_sum_average_flatten_lists_and_ignore_blanks():
    values = {"l": [D("1.10"), None, D("2.20"), 3], "m": D(4)}
    assert ev("SUM({l})", values) == D("6.3")
    assert ev("SUM({l}, {m}, {missing})", values) == D("10.3")
    assert ev("AVERAGE({l})", values) == D("2.1")
    assert ev("AVERAGE({l}, {m})", values) == D("2.575")
    assert ev("AVERAGE(1, 2)") == D("1.5")
    assert ev("AVERAGE(1, 1, 2)") == D("1.3333333333")
    assert ev("SUM({l})", {"l": []}) == D(0)
    assert ev("AVERAGE({l})", {"l": [None]}) == DIV0
    assert ev("SUM({l})", {"l": [D(1), "x"]}) == VALUE


def test_text_functions():
    assert ev('LEN("héllo")') == D(5)
    assert ev("LEN({x})") == D(0)
    assert ev("LEN(12.50)") == D(4)
    assert ev('UPPER("Acme Ltd")') == "ACME LTD"
    assert ev('LOWER("Acme Ltd")') == "acme ltd"
    assert ev("UPPER({x})") == ""


def test_days_between_and_today():
    assert ev("DAYS_BETWEEN({a}, {b})", {"a": date(2024, 1, 1), "b": date(2024, 3, 1)}) == D(60)
    assert ev("DAYS_BETWEEN({b}, {a})", {"a": date(2024, 1, 1), "b": date(2024, 3, 1)}) == D(-60)
    assert ev('DAYS_BETWEEN("2024-01-01", "2024-01-31")') == D(30)
    assert ev('DAYS_BETWEEN({a}, "2024-01-02")', {"a": datetime(2024, 1, 1, 23, 0)}) == D(1)
    assert ev("DAYS_BETWEEN({a}, {b})", {"a": date(2024, 1, 1)}) is None
    assert ev('DAYS_BETWEEN("soon", "2024-01-01")') == VALUE
    assert ev("DAYS_BETWEEN(1, 2)") == VALUE
    today = date(2024, 2, 28)
    assert ev("TODAY()", today=today) == today
    assert ev("today() + 2", today=today) == date(2024, 3, 1)
    assert ev("DAYS_BETWEEN(TODAY(), {d})", {"d": date(2024, 3, 10)}, today=today) == D(11)
    assert isinstance(ev("TODAY()"), date)  # defaults to the real date


def test_date_arithmetic():
    d = {"d": date(2024, 1, 31), "e": date(2024, 3, 1)}
    assert ev("{d} + 1", d) == date(2024, 2, 1)
    assert ev("30 + {d}", d) == date(2024, 3, 1)
    assert ev("{d} - 31", d) == date(2023, 12, 31)
    assert ev("{e} - {d}", d) == D(30)
    assert ev("{d} - {e}", d) == D(-30)
    assert ev("{d} + 1.9", d) == date(2024, 2, 1)     # whole days, truncated
    assert ev("{d} + {x}", d) == date(2024, 1, 31)    # blank is 0
    assert ev("{d} + {e}", d) == VALUE
    assert ev("1 - {d}", d) == VALUE
    assert ev("{d} * 2", d) == VALUE
    assert ev("-{d}", d) == VALUE
    assert ev("{d} + 100000000", d) == NUM


def test_blank_and_boolean_functions():
    assert ev("BLANK()") is None
    assert ev("TRUE() & FALSE()") == "TRUEFALSE"
    assert ev("{x}") is None


def test_function_names_are_case_insensitive():
    assert ev("sum(1, 2)") == D(3)
    assert ev("Round(2.345, 2)") == D("2.35")
    assert ev("iF(TrUe, 1, 2)") == D(1)


# ------------------------------------------------------------------ empty values

def test_empty_values_in_arithmetic_are_zero():
    assert ev("{x} + 5") == D(5)
    assert ev("5 - {x}") == D(5)
    assert ev("{x} * 5") == D(0)
    assert ev("-{x}") == D(0)
    assert ev("{x} / 5") == D(0)
    assert ev("5 / {x}") == DIV0


# ------------------------------------------------------------------ errors are values

def test_formula_error_class():
    e = FormulaError("#DIV/0!")
    assert e.code == "#DIV/0!" and str(e) == "#DIV/0!"
    assert e == FormulaError("#DIV/0!") and e != FormulaError("#VALUE!") and e != "#DIV/0!"
    assert hash(e) == hash(FormulaError("#DIV/0!"))
    assert "#DIV/0!" in repr(e)


def test_division_by_zero_is_a_value_and_propagates():
    assert ev("1 / 0") == DIV0
    assert ev("0 / 0") == DIV0
    for text in ("1 / 0 + 1", "2 * (1 / 0)", "-(1/0)", '(1/0) & "x"', "(1/0) = 1", "ROUND(1/0, 2)",
                 "SUM(1, 1/0)", "ABS(1/0)", "CONCAT(\"a\", 1/0)", "LEN(1/0)", "IF(TRUE, 1/0, 2)",
                 "DAYS_BETWEEN(1/0, TODAY())", "MAX(2, 1/0)", "NOT(1/0)", "(1/0) < 2"):
        assert ev(text) == DIV0, text


def test_type_errors_are_values():
    assert ev('"abc" * 2') == VALUE
    assert ev('"abc" + 2') == VALUE
    assert ev('2 - "1"') == VALUE
    assert ev('-"a"') == VALUE
    assert ev('("a" * 2) + 1/0') == VALUE           # the first error wins
    assert ev("{n} * 2", {"n": "ten"}) == VALUE


def test_error_in_input_values_propagates():
    assert ev("{a} + 1", {"a": FormulaError("#DIV/0!")}) == DIV0
    assert ev("SUM({l})", {"l": [D(1), FormulaError("#NUM!")]}) == NUM
    assert ev("{a} + 1", {"a": object()}) == VALUE
    assert ev("{a} + 1", {"a": D("NaN")}) == NUM


def test_lists_in_arithmetic():
    assert ev("{l} * 2", {"l": [D(21)]}) == D(42)
    assert ev("{l} * 2", {"l": []}) == D(0)
    assert ev("{l} * 2", {"l": [D(1), D(2)]}) == VALUE
    assert ev("{l} = 3", {"l": [D(3)]}) is True
    assert ev("{l}", {"l": [D("1.50")]}) == D("1.5")
    assert ev("{l}", {"l": ["a", "b"]}) == "a, b"
    assert ev("{l}", {"l": []}) is None


def test_out_of_range_is_num_error():
    assert ev("ROUND(1, -100000000)") == NUM
    assert ev("ROUND(123.456, 60)") == D("123.456")
    assert ev("{d} - 1", {"d": date(1, 1, 1)}) == NUM


# ------------------------------------------------------------------ compile-time errors

@pytest.mark.parametrize("text, message", [
    ("(1 + 2))", "unexpected ')' at position 8"),
    ("1 +", "unexpected end of formula at position 4"),
    ("1 2", "unexpected '2' at position 3"),
    ("(1 + 2", "missing ')' for '(' at position 1"),
    ("SUM(1, 2", "missing ')' for '(' at position 4"),
    ("SUM(1,, 2)", "unexpected ',' at position 7"),
    ("1 $ 2", "unexpected '$' at position 3"),
    ('"abc', "unterminated string starting at position 1"),
    ("{Amount", "missing '}' for field reference at position 1"),
    ("{ }", "empty field name at position 1"),
    ("", "empty formula"),
    ("   ", "empty formula"),
    ("1 == 2", "unexpected '=' at position 4"),
    ("Amount * 2", "unknown name Amount at position 1"),
    ("IF + 1", "expected '(' after IF"),
    ("1 ^ 2", "unexpected '^' at position 3"),
])
def test_syntax_errors_say_what_and_where(text, message):
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_syntax_error_position_attribute():
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula("SUM(1, 2))")
    assert info.value.position == 10


def test_unknown_function():
    with pytest.raises(FormulaSyntaxError, match="unknown function FOO"):
        compile_formula("FOO(1)")
    with pytest.raises(FormulaSyntaxError, match=r"unknown function SUMM at position 1 \(did you mean SUM\?\)"):
        compile_formula("summ(1)")


@pytest.mark.parametrize("text, message", [
    ("IF(1)", "IF takes 2 or 3 arguments"),
    ("IF(1, 2, 3, 4)", "IF takes 2 or 3 arguments"),
    ("ROUND()", "ROUND takes 1 or 2 arguments"),
    ("ABS(1, 2)", "ABS takes 1 argument"),
    ("TODAY(1)", "TODAY takes no arguments"),
    ("SUM()", "SUM takes at least 1 argument"),
    ("DAYS_BETWEEN(TODAY())", "DAYS_BETWEEN takes 2 arguments"),
])
def test_arity_errors(text, message):
    with pytest.raises(FormulaSyntaxError, match=message):
        compile_formula(text)


def test_unknown_field_is_named_with_suggestion():
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula("{Costt} * 2", FIELDS)
    assert "unknown field {Costt}" in str(info.value)
    assert "did you mean {Cost}?" in str(info.value)
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula("{Zzz}", FIELDS)
    assert "unknown field {Zzz}" in str(info.value) and "did you mean" not in str(info.value)
    with pytest.raises(FormulaSyntaxError, match="unknown field"):
        compile_formula("{Amount}", [])


@pytest.mark.parametrize("text", [
    "{a}.__class__",
    "__import__('os')",
    "{a}.__class__.__bases__",
    "open('/etc/passwd')",
    "[1, 2]",
    "lambda: 1",
    "1; 2",
    "SUM(1)[0]",
    "exec(\"1\")",
    "eval('1+1')",
    "{a} if 1 else 2",
    "x := 1",
    "`1`",
])
def test_python_syntax_is_not_evaluated(text):
    with pytest.raises(FormulaSyntaxError):
        compile_formula(text)


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        compile_formula("(" * 500 + "1" + ")" * 500)
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        compile_formula("-" * 500 + "1")
    assert ev("(" * 30 + "1" + ")" * 30) == D(1)


# ------------------------------------------------------------------ fields, references, kinds

def test_field_names_case_insensitive_canonical():
    f = compile_formula("{amount} * {PROBABILITY} / 100 + { Cost }", FIELDS)
    assert f.references == frozenset({"Amount", "Probability", "Cost"})
    assert f.evaluate({"Amount": D(200), "Probability": D(50), "Cost": D("0.5")}) == D("100.5")


def test_field_names_may_contain_anything_but_close_brace():
    f = compile_formula("{Deal value (€), net} + {a/b-c}")
    assert f.references == frozenset({"Deal value (€), net", "a/b-c"})
    assert f.evaluate({"Deal value (€), net": D(1), "a/b-c": D(2)}) == D(3)


def test_exact_spelling_wins_over_case_variant():
    f = compile_formula("{amount}", ["Amount", "amount"])
    assert f.references == frozenset({"amount"})


def test_formula_attributes():
    f = compile_formula("IF(DAYS_BETWEEN(TODAY(), {Expected close date}) < 7, {Amount}, 0)", FIELDS)
    assert isinstance(f, Formula)
    assert f.text == "IF(DAYS_BETWEEN(TODAY(), {Expected close date}) < 7, {Amount}, 0)"
    assert f.references == frozenset({"Expected close date", "Amount"})
    assert f.uses_today is True
    assert compile_formula("1 + 1").uses_today is False
    assert compile_formula("1 + 1").references == frozenset()
    assert compile_formula("{x} + {x}").references == frozenset({"x"})


@pytest.mark.parametrize("text, kind", [
    ("1 + 2", "number"),
    ("{Amount} * 2", "number"),
    ("{Cost}", "number"),
    ("{Lines}", "number"),                    # unknown kind defaults to number
    ('"a"', "text"),
    ('{Name} & "x"', "text"),
    ("{Name}", "text"),
    ('CONCAT(1, 2)', "text"),
    ("UPPER({Name})", "text"),
    ("{Expected close date} + 7", "date"),
    ("7 + {Expected close date}", "date"),
    ("{Expected close date} - 7", "date"),
    ("{Expected close date} - {Created}", "number"),
    ("TODAY()", "date"),
    ("TODAY() + 1", "date"),
    ("DAYS_BETWEEN({Created}, TODAY())", "number"),
    ("MAX({Created}, {Expected close date})", "date"),
    ("MAX({Amount}, 1)", "number"),
    ("1 < 2", "boolean"),
    ("AND(TRUE, {Done})", "boolean"),
    ("NOT({Done})", "boolean"),
    ("{Done}", "boolean"),
    ("TRUE", "boolean"),
    ('IF({Amount} > 5, "big", "small")', "text"),
    ("IF({Amount} > 5, {Amount}, 0)", "number"),
    ("IF({Done}, TODAY())", "date"),
    ("IF({Done}, BLANK(), {Created} + 1)", "date"),
    ('IF({Done}, 1, "x")', "text"),
    ("ROUND({Amount} / 3, 2)", "number"),
    ("LEN({Name})", "number"),
    ("-{Amount}", "number"),
    ("BLANK()", "text"),
])
def test_result_kind(text, kind):
    assert compile_formula(text, FIELDS, field_kinds=KINDS).result_kind() == kind


def test_result_kind_without_field_kinds_assumes_numbers():
    assert compile_formula("{Expected close date} + 7", FIELDS).result_kind() == "number"
    assert compile_formula("{name} & 1", FIELDS, field_kinds={"Name": "text"}).result_kind() == "text"


def test_missing_values_are_blank_and_extra_values_ignored():
    f = compile_formula("{Amount} + 1", FIELDS)
    assert f.evaluate({}) == D(1)
    assert f.evaluate({"Amount": D(1), "Other": "x"}) == D(2)


def test_evaluation_does_not_leak_decimal_context():
    import decimal
    before = decimal.getcontext().prec
    ev("1 / 3")
    assert decimal.getcontext().prec == before
