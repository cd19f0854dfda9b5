"""Ideal control for xmltodict-none-values, written from the user's words only.

Public API only (xmltodict.unparse). None means "empty": no text in the element and an
empty attribute, at every level of the document; a None text gives the same XML as an
element whose value is None (short_empty_elements too); zeros, False and empty strings
come out as they do today.
"""

import xml.etree.ElementTree as ET

import pytest
from xmltodict import unparse


def test_the_reported_row() -> None:
    xml = unparse({"item": {"@id": "7", "@note": None, "#text": None}}, full_document=False)
    assert "None" not in xml
    element = ET.fromstring(xml)
    assert element.tag == "item"
    assert element.attrib == {"id": "7", "note": ""}
    assert not element.text
    assert len(element) == 0


@pytest.mark.parametrize("short", [False, True])
@pytest.mark.parametrize(
    ("with_text", "without_text"),
    [
        ({"item": {"#text": None}}, {"item": None}),
        ({"item": {"@id": "7", "#text": None}}, {"item": {"@id": "7"}}),
        ({"item": {"@id": "7", "@note": None, "#text": None}}, {"item": {"@id": "7", "@note": ""}}),
        ({"row": {"item": {"#text": None}}}, {"row": {"item": None}}),
    ],
)
def test_none_text_is_the_same_as_no_value(with_text, without_text, short: bool) -> None:
    assert unparse(with_text, short_empty_elements=short, full_document=False) == unparse(
        without_text, short_empty_elements=short, full_document=False
    )


def test_none_attributes_are_empty_attributes() -> None:
    for short in (False, True):
        xml = unparse({"item": {"@note": None, "@id": None}}, short_empty_elements=short, full_document=False)
        assert "None" not in xml
        assert ET.fromstring(xml).attrib == {"note": "", "id": ""}


def test_rows_nested_in_a_root_element() -> None:
    export = {
        "export": {
            "@generated": None,
            "row": [
                {"@id": "7", "@note": None, "#text": None},
                {"@id": "8", "@note": "late", "#text": "shipped"},
                {"@id": "9", "#text": None, "detail": {"@code": None, "#text": None}},
            ],
        }
    }
    for short in (False, True):
        xml = unparse(export, short_empty_elements=short)
        assert "None" not in xml
        root = ET.fromstring(xml.encode("utf-8"))
        assert root.attrib == {"generated": ""}
        rows = root.findall("row")
        assert [row.attrib for row in rows] == [
            {"id": "7", "note": ""}, {"id": "8", "note": "late"}, {"id": "9"}
        ]
        assert [row.text or "" for row in rows] == ["", "shipped", ""]
        detail = rows[2].find("detail")
        assert detail.attrib == {"code": ""} and not detail.text


def test_deeply_nested_none() -> None:
    doc = {"a": {"b": {"c": {"@x": None, "#text": None}}}}
    assert unparse(doc, full_document=False) == unparse(
        {"a": {"b": {"c": {"@x": ""}}}}, full_document=False
    )


@pytest.mark.parametrize(
    ("doc", "xml"),
    [
        ({"a": {"#text": 0}}, "<a>0</a>"),
        ({"a": {"#text": False}}, "<a>false</a>"),
        ({"a": {"#text": ""}}, "<a></a>"),
        ({"a": {"@n": 0, "#text": 0}}, '<a n="0">0</a>'),
        ({"a": {"@flag": False}}, '<a flag="False"></a>'),
        ({"a": {"@s": ""}}, '<a s=""></a>'),
        ({"a": 0}, "<a>0</a>"),
        ({"a": False}, "<a>false</a>"),
        ({"a": "None"}, "<a>None</a>"),
        ({"row": {"qty": {"@unit": "kg", "#text": 0}}}, '<row><qty unit="kg">0</qty></row>'),
    ],
)
def test_zeros_false_and_empty_strings_are_kept(doc, xml: str) -> None:
    assert unparse(doc, full_document=False) == xml
