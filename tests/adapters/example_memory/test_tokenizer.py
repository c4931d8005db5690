from __future__ import annotations

import threading

from adapters.example_memory import Tokenizer


def test_russian_word_forms_share_a_term() -> None:
    t = Tokenizer()
    forms = ["корректировка", "корректировки", "корректировку", "Корректировкой"]
    assert len({term for f in forms for term in t.tokenize(f)}) == 1


def test_english_word_forms_share_a_term() -> None:
    t = Tokenizer()
    assert t.tokenize("corrections") == t.tokenize("Correction") == t.tokenize("correcting")


def test_yo_is_written_as_ye_and_case_is_folded() -> None:
    t = Tokenizer()
    assert t.tokenize("ЁЛКА") == t.tokenize("елка") == t.tokenize("ёлка")
    assert t.tokenize("отчёт") == t.tokenize("Отчет")


def test_stop_words_are_dropped_in_both_languages() -> None:
    t = Tokenizer()
    assert t.tokenize("What is the answer to this?") == t.tokenize("answer")
    assert t.tokenize("Как это сделать в отчете?") == t.tokenize("сделать отчете")
    assert t.tokenize("the and of и в на") == []


def test_numbers_are_kept_and_punctuation_splits_words() -> None:
    t = Tokenizer()
    assert t.tokenize("Error 404, code_500!") == [
        *t.tokenize("error"),
        "404",
        *t.tokenize("code"),
        "500",
    ]


def test_mixed_sentence_uses_the_stemmer_of_each_words_script() -> None:
    t = Tokenizer()
    terms = t.tokenize("Running отчеты 2024")
    assert terms == ["run", "отчет", "2024"]


def test_query_terms_are_distinct_in_first_seen_order() -> None:
    t = Tokenizer()
    assert t.query_terms("reports report отчёт отчеты reporting") == ["report", "отчет"]


def test_tokenizing_from_several_threads_gives_the_same_terms() -> None:
    t = Tokenizer()
    text = "Корректировки отчётов and running reports " * 20
    expected = Tokenizer().tokenize(text)
    results: list[list[str]] = []

    def work() -> None:
        for _ in range(50):
            results.append(t.tokenize(text))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 200
    assert all(r == expected for r in results)
