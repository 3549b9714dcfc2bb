"""The personalisation language: what is a tag, what is text, and how errors are reported."""

import pytest

from content.syntax import (
    If,
    TemplateSyntaxError,
    Text,
    UnknownPlaceholderError,
    Var,
    check_names,
    parse,
)


def test_placeholders_fallbacks_and_conditions_parse():
    nodes = parse("Hi {first_name|there}, {if company}at {company}{else}hi{endif}")
    assert nodes == (
        Text("Hi "),
        Var("first_name", "there", 1),
        Text(", "),
        If("company", False, (Text("at "), Var("company", "", 1)), (Text("hi"),), 1),
    )


def test_negated_and_nested_conditions():
    [node] = parse("{if not city}{if company}x{endif}{endif}")
    assert isinstance(node, If)
    assert node.negate
    assert node.then == (If("company", False, (Text("x"),), (), 1),)


@pytest.mark.parametrize(
    "css",
    [
        "<style>p { color: red } a{color:red} @media (max-width:600px){.a{b:c}}</style>",
        "td {\n  padding: 0;\n}\n",
        "{ json: 1 }",
        "}} and } and {}",
    ],
)
def test_css_and_other_braces_are_text(css):
    assert parse(css) == (Text(css),)


def test_doubled_open_brace_writes_a_literal_brace():
    assert parse("{{first_name} costs {{1}") == (Text("{first_name} costs {1}"),)


@pytest.mark.parametrize(
    ("source", "line", "name"),
    [
        ("ok\n\nHi {first_name|there", 3, "first_name"),
        ("{if}", 1, "if"),
        ("a\n{else}", 2, "else"),
        ("{endif}", 1, "endif"),
        ("x\n{if company}\nopen", 2, "company"),
        ("{{first_name}}", 1, "first_name"),
        ("{if not}", 1, "if"),
        ("{else|x}", 1, "else"),
    ],
)
def test_syntax_errors_name_the_line_and_the_name(source, line, name):
    with pytest.raises(TemplateSyntaxError) as caught:
        parse(source, part="HTML")
    assert (caught.value.part, caught.value.line, caught.value.name) == ("HTML", line, name)
    assert str(caught.value).startswith(f"HTML, line {line}: ")


def test_conditions_nest_at_most_eight_deep():
    parse("{if a}" * 8 + "{endif}" * 8)
    with pytest.raises(TemplateSyntaxError, match="nest"):
        parse("{if a}" * 9 + "{endif}" * 9)


def test_unknown_names_are_reported_with_their_line():
    nodes = parse("Hi {first_name}\n{if vip}{bonus_code}{endif}", part="text")
    check_names(nodes, ["first_name", "vip", "bonus_code"])
    with pytest.raises(UnknownPlaceholderError) as caught:
        check_names(nodes, ["first_name", "vip"], part="text")
    assert (caught.value.line, caught.value.name) == (2, "bonus_code")
