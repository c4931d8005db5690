"""Taught questions with paraphrases and unrelated questions, for the hybrid tests.

Separate from ``bench/data/paraphrase_facts.jsonl`` on purpose: the adapter's
similarity threshold and floor were chosen on these, the benchmark measures them
on facts they never saw.
"""

from __future__ import annotations

# (taught question, answer, paraphrases that share (almost) no word with it)
TAUGHT = [
    ("How do I change my nickname?", "Use /nick followed by the new name.",
     ["Can I rename myself on this server?", "Is it possible to pick a different display name?"]),
    ("When does the spring giveaway end?", "The spring giveaway closes on 30 April.",
     ["What's the deadline for the April prize draw?", "Until what date can I enter the contest?"]),
    ("Who designed the server logo?", "The logo was drawn by Tamsin.",
     ["Which artist made our emblem?", "Who is behind the picture in our icon?"]),
    ("Where is the voice chat for study sessions?",
     "Study sessions are in the Library voice channel.",
     ["In which call do people learn together?", "Where do we meet to do homework over voice?"]),
    ("Is swearing allowed here?", "No: keep it clean, profanity is removed.",
     ["Can I use bad words in chat?", "Are curse words permitted?"]),
    ("Как поменять язык бота?", "Команда /language переключает язык бота.",
     ["Можно ли, чтобы бот отвечал по-английски?",
      "Как сделать, чтобы ассистент говорил на другом наречии?"]),
    ("Где найти расписание стримов?", "Расписание трансляций висит в канале #эфиры.",
     ["Когда будут следующие трансляции?", "В какие дни выходят эфиры?"]),
    ("Сколько человек может быть в команде на турнире?", "В команде на турнире до пяти игроков.",
     ["Какой максимальный состав у отряда для соревнования?",
      "Скольких друзей можно взять с собой в состязание?"]),
    ("Кто ведёт клуб любителей книг?", "Книжный клуб ведёт Аглая.",
     ["Кто организует наши литературные вечера?", "У кого спросить про обсуждение романов?"]),
    ("Можно ли рекламировать свой канал?", "Реклама разрешена только в #самопиар.",
     ["Где разрешено продвигать мой YouTube?", "Допустимо ли звать людей на свой стрим?"]),
]  # fmt: skip

UNRELATED = [
    "How far is the Moon from the Earth?",
    "What's a good recipe for pancakes?",
    "Who painted the Mona Lisa?",
    "How do I convert Celsius to Fahrenheit?",
    "Какая река самая длинная в Европе?",
    "Как вырастить помидоры на балконе?",
    "Почему кошки мурлычут?",
    "Сколько будет два в десятой степени?",
]
