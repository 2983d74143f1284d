"""The doc-test reader: what it accepts, what it refuses (naming the page and line), and how an
output block is compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.runnable import Output, runnable_blocks


def page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_and_outputs_in_order(tmp_path: Path) -> None:
    blocks = runnable_blocks(
        page(
            tmp_path,
            "text\n<!-- doctest: run -->\n```sh\necho hi\n```\n"
            "<!-- doctest: output -->\n```text\nhi\n```\n```sh\nnot run\n```\n"
            "<!-- doctest: run -->\n```python\nprint(1)\n```\n",
        )
    )
    assert [(b.lang, b.code, b.line) for b in blocks] == [
        ("sh", "echo hi\n", 3),
        ("python", "print(1)\n", 14),
    ]
    assert blocks[0].output is not None and blocks[0].output.text == "hi\n"
    assert blocks[1].output is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<!-- doctest: run -->\nno fence\n", "page.md:1: a doctest marker must precede"),
        ("<!-- doctest: run -->\n```sh\nunclosed\n", "page.md:2: unclosed"),
        ("<!-- doctest: run -->\n```ruby\nputs 1\n```\n", "runnable blocks are sh or python"),
        ("<!-- doctest: output -->\n```text\nx\n```\n", "an output block needs a run block"),
    ],
)
def test_refusals_name_the_line(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        runnable_blocks(page(tmp_path, text))


def test_output_comparison() -> None:
    text = Output("text", "first line\n…\nthird   line\n", 1)
    assert text.problems("first line\nsecond\nthird line\n") == []
    assert text.problems("first line\n") == ["missing: 'third   line'"]
    json = Output("json", '{"id": "…", "n": [1, 2]}', 1)
    assert json.problems('{"id": "gp_1", "n": [1, 2]}') == []
    assert json.problems('{"id": "gp_1", "n": [1]}') != []
    assert json.problems('{"id": "gp_1", "n": [1, 2], "extra": 0}') != []
    assert json.problems("not json") != []
