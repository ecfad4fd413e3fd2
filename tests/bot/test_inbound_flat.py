"""The flat reader (`flat_fields`) gives exactly what ElementTree gives, or declines.

WeChat's own documents take the flat path; anything unusual (nesting, repeats, attributes,
entities, split CDATA, carriage returns, forbidden characters, junk) is left to ElementTree, which
reads it or refuses it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wechat.inbound import MalformedMessage, flat_fields, parse_fields, tree_fields
from tests.fixtures.wechat import HERE

WECHAT_DOCUMENTS = sorted(p.name for p in HERE.glob("*.xml") if not p.name.startswith("doctype"))


def tree_or_refusal(text: str) -> object:
    try:
        return tree_fields(text)
    except MalformedMessage:
        return "refused"


@pytest.mark.parametrize("name", WECHAT_DOCUMENTS)
def test_wechat_documents_read_alike_and_flat_ones_take_the_flat_path(name: str) -> None:
    text = (HERE / name).read_text(encoding="utf-8")
    flat = flat_fields(text)
    assert flat is None or flat == tree_fields(text)
    if not any(unusual in text for unusual in ("ScanCodeInfo", "<?xml", "]]]]><![CDATA[")):
        assert flat is not None, "a flat WeChat document should not need ElementTree"


def test_the_encrypted_envelope_takes_the_flat_path() -> None:
    envelope = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        "<Encrypt><![CDATA[AbC+/=09]]></Encrypt></xml>"
    )
    assert flat_fields(envelope) == {"ToUserName": "gh_1", "Encrypt": "AbC+/=09"}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A></xml>", {"A": "x]]>y"}),  # split CDATA
        ("<xml><A>1</A><A>2</A></xml>", {"A": ["1", "2"]}),  # repeated
        ("<xml><A><B>1</B></A></xml>", {"A": {"B": "1"}}),  # nested
        ('<xml><A x="1">v</A></xml>', {"A": "v"}),  # attribute
        ("<xml><A>a &amp; b</A></xml>", {"A": "a & b"}),  # entity
        ("<xml><A><![CDATA[a\r\nb]]></A></xml>", {"A": "a\nb"}),  # line ends normalised
        ('<?xml version="1.0"?><xml><A>1</A></xml>', {"A": "1"}),  # declaration
    ],
)
def test_unusual_documents_are_left_to_elementtree(document: str, expected: object) -> None:
    assert flat_fields(document) is None
    assert tree_fields(document) == expected


@pytest.mark.parametrize(
    "document",
    ["<xml><A>1</A></xml>junk", "<xml><A>\x01</A></xml>", "<xml></xml>", "<xml><A>]]></A></xml>"],
)
def test_malformed_documents_are_refused_as_before(document: str) -> None:
    assert flat_fields(document) is None
    with pytest.raises(MalformedMessage):
        parse_fields(document.encode())


# Half the documents are shaped as WeChat writes them (the flat path must read them all alike),
# half mix in everything that sends a document to ElementTree or gets it refused.
FLAT_SPACE = st.sampled_from(["", "", " ", "\n", "\t", "  \n "])
ANY_SPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n", "\u3000", "\x0c"])
FLAT_NAME = st.sampled_from(["ToUserName", "Content", "MsgId", "A", "b_1", "Z9"])
ANY_NAME = st.sampled_from(["Content", "A", "Ü", "x-y", "1a", "a.b"])
BENIGN = st.text(alphabet="ab 1中é", max_size=8)
IN_CDATA = st.lists(st.sampled_from([*"ab 1中<>&]\n\t", "]]", "<![CDATA["]), max_size=8).map(
    "".join
)
SPICY = st.lists(
    st.sampled_from([*"a <>&]\n\t\r\x01\uffff", "]]>", "]]", "<![CDATA["]), max_size=6
).map("".join)


@st.composite
def field(draw: st.DrawFn, flat: bool, name: str) -> str:
    shapes = ["cdata", "plain", "empty"] + ([] if flat else ["nested", "attribute", "split"])
    shape = draw(st.sampled_from(shapes))
    value = draw(IN_CDATA if shape == "cdata" else BENIGN) if flat else draw(SPICY)
    inner = {
        "cdata": f"<![CDATA[{value}]]>",
        "plain": value,
        "nested": f"<B>{value}</B>",
        "attribute": value,
        "empty": "",
        "split": f"<![CDATA[{value}]]><![CDATA[{value}]]>",
    }[shape]
    opening = f'<{name} k="v">' if shape == "attribute" else f"<{name}>"
    return draw(FLAT_SPACE if flat else ANY_SPACE) + opening + inner + f"</{name}>"


@st.composite
def document(draw: st.DrawFn) -> str:
    flat = draw(st.booleans())
    space = FLAT_SPACE if flat else ANY_SPACE
    # Flat documents name each field once (a repeated tag is a list: ElementTree's job).
    names = draw(
        st.lists(FLAT_NAME, min_size=1, max_size=5, unique=True)
        if flat
        else st.lists(ANY_NAME, max_size=5)
    )
    fields = [draw(field(flat, name)) for name in names]
    root = "xml" if flat else draw(st.sampled_from(["xml", "root"]))
    tail = "" if flat else draw(st.sampled_from(["", "junk", "<x/>", "\r\n"]))
    return draw(space) + f"<{root}>" + "".join(fields) + draw(space) + f"</{root}>" + tail


@settings(max_examples=1500, deadline=None)
@given(document())
def test_the_flat_reader_agrees_with_elementtree_or_declines(text: str) -> None:
    flat = flat_fields(text)
    if flat is not None:
        assert tree_or_refusal(text) == flat
