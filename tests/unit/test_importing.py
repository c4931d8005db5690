"""The import parsers: every format, good and bad, and the limits they enforce."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import pytest

from domain.errors import InvalidInput, LimitExceeded
from domain.importing import DatasetLimits, ParsedImport, parse_import
from domain.models import ChatMessage, Role

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "import"
LIMITS = DatasetLimits()


def parse(name: str, data: bytes | str, limits: DatasetLimits = LIMITS, **kw: int) -> ParsedImport:
    raw = data.encode() if isinstance(data, str) else data
    return parse_import(name, raw, limits=limits, **kw)


def problems(name: str, data: bytes | str, limits: DatasetLimits = LIMITS) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(name, data, limits)
    assert not isinstance(caught.value, LimitExceeded)
    return caught.value.user_message.splitlines()[1:]


def user(text: str) -> ChatMessage:
    return ChatMessage(Role.USER, text)


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- JSONL


def test_chat_jsonl_takes_the_last_assistant_message_as_the_answer() -> None:
    result = parse("chat.jsonl", (SAMPLES / "chat.jsonl").read_bytes())

    first, second, third = result.examples
    assert first.messages == (
        ChatMessage(Role.SYSTEM, "You are a helpful assistant."),
        user("What is the capital of France?"),
    )
    assert first.answer == "Paris."
    assert second.messages[-1] == user("In Russian, please.")
    assert len(second.messages) == 3
    assert (second.answer, second.rejected) == ("Привет!", "Hello!")
    assert (third.answer, third.label, third.where) == ("4", "math", "chat.jsonl:4")
    assert result.files == ("chat.jsonl",)


def test_chat_content_may_be_a_list_of_text_parts() -> None:
    line = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}],
            },
            {"role": "assistant", "content": "Hi"},
        ]
    }
    (example,) = parse("c.jsonl", json.dumps(line)).examples
    assert example.messages == (user("Hello"),)


def test_prompt_completion_variants_and_optional_fields() -> None:
    result = parse("pc.jsonl", (SAMPLES / "prompt_completion.jsonl").read_bytes())

    assert [(e.prompt, e.answer, e.rejected, e.label) for e in result.examples] == [
        ("What colour is the sky?", "Blue, on a clear day.", None, None),
        ("Who wrote Hamlet?", "William Shakespeare.", "Charles Dickens.", None),
        ("Translate 'cat' to French.", "chat", None, "translation"),
    ]


def test_prompt_completion_with_a_system_field_puts_it_first() -> None:
    line = json.dumps({"system": "Be terse.", "question": "Why?", "response": "Because."})
    (example,) = parse("s.jsonl", line).examples
    assert example.messages == (ChatMessage(Role.SYSTEM, "Be terse."), user("Why?"))


def test_preference_jsonl_reads_input_preferred_and_non_preferred() -> None:
    result = parse("p.jsonl", (SAMPLES / "preferences.jsonl").read_bytes())

    first, second = result.examples
    assert (first.prompt, first.answer, first.rejected) == (
        "Is the Earth flat?",
        "No, it is roughly a sphere.",
        "Yes.",
    )
    assert second.messages[0] == ChatMessage(Role.SYSTEM, "Be brief.")


def test_bad_jsonl_rows_are_all_reported_with_line_and_column() -> None:
    lines = problems("bad.jsonl", (SAMPLES / "bad.jsonl").read_bytes())

    assert lines[0].startswith("bad.jsonl:2: no answer")
    assert lines[1] == "bad.jsonl:3:91: invalid JSON: Expecting ',' delimiter"
    assert (
        lines[2] == "bad.jsonl:4: messages[1]: role must be system, user or assistant, found 'tool'"
    )
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ([1, 2], "expected a JSON object, found a list"),
        ({"messages": []}, "messages must be a non-empty list"),
        (
            {"messages": [{"role": "user", "content": "q"}]},
            "the last message must be the assistant",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "s"},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "the answer must follow a user message",
        ),
        ({"prompt": "q", "completion": ""}, "completion is empty"),
        ({"prompt": "q", "completion": 5}, "completion must be text, found a number"),
        ({"prompt": "q\u0000", "completion": "a"}, "prompt contains a NUL character"),
        ({"input": {"messages": "x"}, "preferred_output": "a"}, "input.messages must be"),
        (
            {"input": {"messages": [{"role": "user", "content": "q"}]}},
            "preferred_output is missing",
        ),
    ],
)
def test_each_wrong_record_is_named(record: object, expected: str) -> None:
    (line,) = problems("x.jsonl", "\n" + json.dumps(record) + "\n")
    assert line.startswith("x.jsonl:2: ")
    assert expected in line


def test_more_than_ten_problems_are_counted_not_listed() -> None:
    data = "\n".join(json.dumps({"prompt": f"q{i}"}) for i in range(25))
    with pytest.raises(InvalidInput) as caught:
        parse("many.jsonl", data)
    message = caught.value.user_message.splitlines()
    assert message[0] == "Nothing was imported: 25 problems found."
    assert len(message) == 1 + 10 + 1
    assert message[-1] == "…and 15 more."
    assert message[10].startswith("many.jsonl:10:")


def test_jsonl_lines_split_at_newlines_only() -> None:
    text = "one\u2028two\x0cthree"
    (example,) = parse(
        "u.jsonl", json.dumps({"prompt": text, "answer": "a"}, ensure_ascii=False)
    ).examples
    assert example.prompt == text


def test_a_utf8_bom_is_tolerated() -> None:
    data = b"\xef\xbb\xbf" + json.dumps({"prompt": "q", "answer": "a"}).encode()
    assert parse("bom.jsonl", data).examples[0].prompt == "q"


def test_non_utf8_file_is_a_clear_error_naming_the_line() -> None:
    data = b'{"prompt": "q", "answer": "a"}\n{"prompt": "caf\xe9", "answer": "a"}\n'
    (line,) = problems("latin1.jsonl", data)
    assert line.startswith("latin1.jsonl:2: not UTF-8 text")


# ----------------------------------------------------------------------------- JSON


def test_prototype_json_list_becomes_labelled_examples_at_their_lines() -> None:
    result = parse("prototype.json", (SAMPLES / "prototype.json").read_bytes())

    first = result.examples[0]
    assert (first.prompt, first.answer, first.label, first.name) == (
        "I love this bot, it is great!",
        "positive",
        "positive",
        "review-1",
    )
    assert [e.where for e in result.examples] == [f"prototype.json:{n}" for n in (2, 3, 4)]


def test_numeric_labels_are_kept_as_text() -> None:
    (example,) = parse("n.json", '[{"text": "t", "label": 3}]').examples
    assert (example.answer, example.label) == ("3", "3")


def test_json_syntax_error_reports_line_and_column() -> None:
    (line,) = problems(
        "broken.json", '[\n  {"text": "a", "label": "b"},\n  {"text": "c" "label": "d"}\n]'
    )
    assert line == "broken.json:3:16: invalid JSON: Expecting ',' delimiter"


def test_bad_records_in_a_json_list_are_named_by_line() -> None:
    lines = problems("labels.json", '[{"text": "a", "label": "b"},\n {"text": "c"},\n 7]')
    assert lines[0].startswith("labels.json:2: no answer")
    assert lines[1] == "labels.json:3: expected a JSON object, found a number"


def test_json_that_is_not_a_list_is_refused() -> None:
    (line,) = problems("x.json", '"just text"')
    assert "expected a JSON list" in line


def test_jsonl_saved_as_json_is_read_line_by_line() -> None:
    data = '{"prompt": "a", "answer": "b"}\n{"prompt": "c", "answer": "d"}\n'
    assert [e.prompt for e in parse("lines.json", data).examples] == ["a", "c"]


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    (line,) = problems("deep.jsonl", "[" * 100_000)
    assert line.startswith("deep.jsonl:1")


# ----------------------------------------------------------------------------- CSV


def test_csv_with_bom_quoted_newlines_and_any_header_case() -> None:
    result = parse("qa.csv", (SAMPLES / "qa.csv").read_bytes())

    first, second = result.examples
    assert (first.prompt, first.answer, first.rejected, first.label) == (
        "What is 3 x 3?",
        "9",
        None,
        "math",
    )
    assert second.prompt == "Write two lines\nabout rain"
    assert (second.answer, second.rejected) == ("Rain falls,\nthe ground drinks.", "Sun.")
    assert [e.where for e in result.examples] == ["qa.csv:2", "qa.csv:3"]


def test_csv_problems_carry_the_line_where_the_row_starts() -> None:
    data = 'prompt,completion\n"multi\nline",fine\n"empty answer",\nshort\n'
    lines = problems("rows.csv", data)
    assert lines == [
        "rows.csv:4: completion is empty",
        "rows.csv:5: expected 2 columns, found 1",
    ]


def test_csv_without_an_answer_column_is_refused() -> None:
    (line,) = problems("x.csv", "prompt,notes\nq,n\n")
    assert line.startswith("x.csv:1: no answer column")


def test_csv_with_a_broken_quote_stops_with_the_line() -> None:
    lines = problems("q.csv", 'input,output\na,b\n"c,d\n')
    assert lines == ["q.csv:3: malformed CSV (check the quotes); reading stopped here"]


def test_tsv_uses_tabs() -> None:
    (example,) = parse("t.tsv", "question\tanswer\nhow, then?\tlike this\n").examples
    assert (example.prompt, example.answer) == ("how, then?", "like this")


# ----------------------------------------------------------------------------- TXT


def test_txt_reads_qa_pairs_and_question_then_answer_blocks() -> None:
    result = parse("notes.txt", (SAMPLES / "notes.txt").read_bytes())

    assert [(e.prompt, e.answer, e.where) for e in result.examples] == [
        (
            "What is trainerbot?",
            "A Discord assistant a community can talk to and teach.",
            "notes.txt:1",
        ),
        (
            "How do I correct an answer?",
            'Use the "Correct answer" menu on the message,\nor the /correct command.',
            "notes.txt:4",
        ),
        ("Who can start training?", "Trainers.", "notes.txt:7"),
        (
            "What does /dataset export do?",
            "It writes the dataset as OpenAI fine-tuning JSONL.\n"
            "You can fetch the file with /getfile.",
            "notes.txt:10",
        ),
    ]


def test_txt_problems_name_the_block() -> None:
    lines = problems("t.txt", "lonely line\n\nQ: no answer here\n\nq: ok\na: fine\r\n")
    assert lines == [
        "t.txt:1: a block needs a question line followed by answer lines (or Q:/A: lines)",
        "t.txt:3: a 'Q:' without an 'A:' line after it",
    ]


# ----------------------------------------------------------------------------- ZIP


def test_zip_reads_members_in_name_order_and_skips_junk() -> None:
    result = parse("mixed.zip", (SAMPLES / "mixed.zip").read_bytes())

    assert result.files == (
        "mixed.zip/data/chat.jsonl",
        "mixed.zip/data/notes.txt",
        "mixed.zip/data/qa.csv",
        "mixed.zip/prototype.json",
    )
    assert len(result.examples) == 3 + 4 + 2 + 3
    assert result.examples[-1].where == "mixed.zip/prototype.json:4"


def test_zip_member_problems_name_the_member_and_line() -> None:
    data = zipped({"a.jsonl": '{"prompt": "q", "answer": "a"}\n{"prompt": 1}\n', "b.csv": "x,y\n"})
    assert problems("up.zip", data) == [
        "up.zip/a.jsonl:2: prompt must be text, found a number",
        "up.zip/b.csv:1: no prompt column: name one prompt, question, input or text",
    ]


def test_nested_zip_is_refused() -> None:
    inner = zipped({"a.jsonl": '{"prompt": "q", "answer": "a"}'})
    data = zipped(
        {"a.jsonl": '{"prompt": "q", "answer": "a"}', "inner.zip": inner, "sneaky.json": inner}
    )
    assert problems("outer.zip", data) == [
        "outer.zip/inner.zip: archives inside an archive are not supported",
        "outer.zip/sneaky.json: archives inside an archive are not supported",
    ]


def test_zip_bomb_is_refused_on_its_declared_size() -> None:
    bomb = zipped({"zeros.txt": b"0" * (5 * 1024 * 1024)})
    assert len(bomb) < 20_000
    limits = DatasetLimits(max_file_bytes=1024 * 1024, max_unpacked_bytes=2 * 1024 * 1024)
    with pytest.raises(LimitExceeded) as caught:
        parse("bomb.zip", bomb, limits)
    assert "bomb.zip/zeros.txt unpacks to more than 1 MiB" in caught.value.user_message


def test_zip_total_unpacked_size_is_limited() -> None:
    data = zipped({f"{i}.txt": b"q\nanswer " + b"x" * 600_000 for i in range(4)})
    limits = DatasetLimits(max_file_bytes=1024 * 1024, max_unpacked_bytes=2 * 1024 * 1024)
    with pytest.raises(LimitExceeded, match="unpacks to more than 2 MiB"):
        parse("many.zip", data, limits)


def _lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """Rewrite the uncompressed size a zip declares for ``member`` (local + central)."""
    raw = bytearray(data)
    encoded = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + len(encoded)] == encoded:
                struct.pack_into("<I", raw, at + offset, declared)
            at = raw.find(signature, at + 4)
    return bytes(raw)


@pytest.mark.parametrize("declared", [100, 500_000])
def test_zip_member_that_lies_about_its_size_is_refused_while_reading(declared: int) -> None:
    honest = zipped({"big.txt": b"q\n" + b"a" * 3_000_000})
    lying = _lie_about_size(honest, "big.txt", declared)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("big.txt").file_size == declared
    with pytest.raises(InvalidInput) as caught:
        parse("liar.zip", lying, DatasetLimits(max_file_bytes=1024 * 1024))
    assert caught.value.user_message.startswith("liar.zip is not a readable zip archive")


def test_zip_with_too_many_members_is_refused() -> None:
    data = zipped({f"{i:03}.txt": "q\na" for i in range(6)})
    with pytest.raises(LimitExceeded, match="holds 6 files; an archive may hold at most 5"):
        parse("lots.zip", data, DatasetLimits(max_archive_members=5))


def test_damaged_zip_is_a_clear_error() -> None:
    data = zipped({"a.txt": "q\na"})[:-30]
    with pytest.raises(InvalidInput, match="not a readable zip archive"):
        parse("cut.zip", data)


def test_zip_detected_by_content_without_the_extension() -> None:
    data = zipped({"a.txt": "question\nanswer"})
    assert parse("upload", data).files == ("upload/a.txt",)


# ----------------------------------------------------------------------------- detection & limits


@pytest.mark.parametrize(
    ("content", "prompt"),
    [
        ('[{"text": "t", "label": "l"}]', "t"),
        ('{"prompt": "p", "answer": "a"}', "p"),
        ("Prompt,Answer\np,a\n", "p"),
        ("p\na\n", "p"),
    ],
)
def test_files_without_an_extension_are_detected_by_content(content: str, prompt: str) -> None:
    (example,) = parse("dataset", content).examples
    assert example.prompt == prompt


def test_unsupported_extension_is_refused() -> None:
    (line,) = problems("photo.png", b"\x89PNG")
    assert line.startswith("photo.png: unsupported file type '.png'")


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(LimitExceeded, match=r"big.jsonl is 2 KiB; the limit is 1 KiB"):
        parse("big.jsonl", b" " * 2048, DatasetLimits(max_file_bytes=1024))


def test_text_over_the_length_limit_names_the_field_and_the_limit() -> None:
    data = json.dumps({"prompt": "q", "answer": "a" * 101})
    (line,) = problems("long.jsonl", data, DatasetLimits(max_text_chars=100))
    assert line == "long.jsonl:1: answer is 101 characters long; the limit is 100"


def test_example_limit_counts_what_the_dataset_already_holds() -> None:
    data = "\n".join(json.dumps({"prompt": f"q{i}", "answer": "a"}) for i in range(3))
    limits = DatasetLimits(max_examples=10)
    assert len(parse("ok.jsonl", data, limits, existing=7).examples) == 3
    with pytest.raises(LimitExceeded, match=r"already holds 8 .* at most 10"):
        parse("over.jsonl", data, limits, existing=8)


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(InvalidInput, match=r"empty\.jsonl: no examples found"):
        parse("empty.jsonl", "\n\n")


def test_uploaded_paths_are_reduced_to_their_file_name() -> None:
    result = parse("..\\..\\secret/dir/a.txt", "q\na")
    assert result.files == ("a.txt",)


def test_prototype_records_as_csv_are_labelled_examples() -> None:
    (example,) = parse("labels.csv", "Text,Label,Name\nGreat bot,positive,r1\n").examples
    assert (example.prompt, example.answer, example.label, example.name) == (
        "Great bot",
        "positive",
        "positive",
        "r1",
    )


def test_a_json_file_with_one_object_is_one_example() -> None:
    data = '{\n  "prompt": "p",\n  "answer": "a"\n}\n'
    (example,) = parse("one.json", data).examples
    assert (example.prompt, example.where) == ("p", "one.json:1")
