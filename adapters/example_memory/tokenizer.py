"""Words → search terms, for Russian and English text alike.

One pipeline for indexing and for queries, so that both sides agree:

1. case-fold the text and write ``ё`` as ``е`` (Russian text uses both);
2. split it into words: runs of Unicode letters and digits (``_`` and
   punctuation separate words);
3. drop a short list of English and Russian stop words;
4. stem each word with Snowball (PyStemmer): the Russian stemmer for words with
   Cyrillic letters, the English one for words with Latin letters; numbers and
   words in other scripts stay as they are.

Stemmed forms are cached per tokenizer (a word is stemmed once), and each thread
has its own stemmers, since a PyStemmer instance must not be shared by threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import Stemmer

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z\u00c0-\u024f]")

_ENGLISH = """
    a an the and or but if then than so as of to in on at by for from with about into
    over after before under between out up down off
    is are was were be been being am do does did doing have has had having
    i me my mine we us our you your he him his she her it its they them their
    this that these those there here
    what which who whom whose when where why how
    can could will would shall should may might must
    just also too very please
"""

_RUSSIAN = """
    и а но или да же ли бы то не ни
    в во на с со к ко у о об обо от до по за из при про для без над под через между
    я ты он она оно мы вы они меня тебя его ее её нас вас их мне тебе ему ей нам вам им
    мой моя мое мои твой твоя твое твои наш наша наше наши ваш ваша ваше ваши свой
    себя себе
    это этот эта эти этого этой этом тот та те того той том там тут здесь
    что чтобы как так где когда кто чем чего куда зачем почему какой какая какое какие
    есть был была было были быть будет будут
    уже еще ещё вот ну
    можно нужно надо пожалуйста
"""

ENGLISH_STOP_WORDS = frozenset(_ENGLISH.split())
RUSSIAN_STOP_WORDS = frozenset(_RUSSIAN.split())

STOP_WORDS = frozenset(w.replace("ё", "е") for w in ENGLISH_STOP_WORDS | RUSSIAN_STOP_WORDS)

DESCRIPTION = (
    "v1: casefold, ё→е, words [^\\W_]+, stop words en+ru, "
    f"snowball english/russian (PyStemmer {Stemmer.version()}), numbers kept"
)
"""Written into each memory's manifest; a different description means the
memory was built by another tokenizer version."""

_CACHE_LIMIT = 500_000


class Tokenizer:
    """Turns text into stemmed terms. Safe to use from several threads."""

    description = DESCRIPTION

    def __init__(self) -> None:
        self._local = threading.local()
        # word → term ("" for a stop word); plain dict operations are atomic
        self._cache: dict[str, str] = {}

    def tokenize(self, text: str) -> list[str]:
        """The terms of ``text`` in order, repeats kept."""
        return self.terms(_WORD.findall(text.casefold().replace("ё", "е")))

    def query_terms(self, text: str) -> list[str]:
        """The distinct terms of a query, in first-seen order."""
        return list(dict.fromkeys(self.tokenize(text)))

    def terms(self, words: Iterable[str]) -> list[str]:
        cache = self._cache
        out: list[str] = []
        for word in words:
            term = cache.get(word)
            if term is None:
                term = self._term(word)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[word] = term
            if term:
                out.append(term)
        return out

    def _term(self, word: str) -> str:
        if word in STOP_WORDS:
            return ""
        if word.isdigit():
            return word
        if _CYRILLIC.search(word):
            stemmed: str = self._stemmer("russian").stemWord(word)
            return stemmed
        if _LATIN.search(word):
            stemmed = self._stemmer("english").stemWord(word)
            return stemmed
        return word

    def _stemmer(self, language: str) -> Stemmer.Stemmer:
        stemmers: dict[str, Stemmer.Stemmer] | None = getattr(self._local, "stemmers", None)
        if stemmers is None:
            stemmers = {}
            self._local.stemmers = stemmers
        stemmer = stemmers.get(language)
        if stemmer is None:
            stemmer = Stemmer.Stemmer(language, 0)  # our own cache sits in front
            stemmers[language] = stemmer
        return stemmer
