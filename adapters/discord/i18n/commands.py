"""Command names, descriptions and option names in languages other than English.

``names`` maps an English name to the localized one; ``"<command>.<option>"`` keys
override an option name for one command. ``texts`` maps English descriptions.
Discord wants names lowercase (context menus excepted) and unique per level.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CommandText:
    names: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


RU = CommandText(
    names={
        "Correct this answer": "Исправить этот ответ",
        "ask": "спросить",
        "prompt": "вопрос",
        "forget": "забыть",
        "hi": "привет",
        "help": "помощь",
        "page": "страница",
        "correct": "исправить",
        "correction": "исправление",
        "message": "сообщение",
        "feedback": "отзыв",
        "text": "текст",
        "transcribe": "расшифровать",
        "file": "файл",
        "answer": "ответ",
        "transcribe.answer": "ответить",
        "getfile": "получить-файл",
        "name": "имя",
        "test": "тест",
        "cases": "случаи",
        "version": "версия",
        "compare_with": "сравнить-с",
        "dataset": "датасет",
        "create": "создать",
        "description": "описание",
        "list": "список",
        "show": "показать",
        "count": "количество",
        "add": "добавить",
        "dataset add.prompt": "запрос",
        "rejected": "отвергнутый",
        "label": "метка",
        "import": "импорт",
        "select": "выбрать",
        "export": "экспорт",
        "format": "формат",
        "archive": "архив",
        "train": "обучение",
        "start": "запуск",
        "backend": "бэкенд",
        "activate": "активировать",
        "status": "статус",
        "job": "задача",
        "cancel": "отмена",
        "model": "модель",
        "use": "использовать",
        "rollback": "откат",
        "join": "зайти",
        "leave": "выйти",
        "say": "сказать",
        "stop": "стоп",
        "review": "проверка",
        "queue": "очередь",
        "mode": "режим",
        "proposals": "предложения",
        "remove": "убрать",
        "example": "пример",
    },
    texts={
        "A label (for classification tests)": "Метка (для тестов классификации)",
        "A voice message or audio file": "Голосовое сообщение или аудиофайл",
        "A worse answer (for preference training)": "Худший ответ (для обучения на предпочтениях)",
        "Add one example to a dataset": "Добавить пример в датасет",
        "Also answer what was said (default: yes)": "Ещё и ответить на сказанное (по умолчанию да)",
        "An earlier run to compare with": "Прошлый прогон для сравнения",
        "Answer with the new version as soon as it is ready (default: yes)": (
            "Сразу отвечать новой версией, когда она готова (по умолчанию да)"
        ),
        "Answer with this version from now on": "Отвечать этой версией",
        "Ask the assistant a question": "Задать ассистенту вопрос",
        "Cancel a queued or running job": "Отменить задачу в очереди или в работе",
        "Choose the model version that answers": "Выбрать версию модели, которая отвечает",
        "Create an empty dataset": "Создать пустой датасет",
        "Curate the examples the bot learns from": "Примеры, на которых учится бот",
        "Export for fine-tuning (SFT or DPO JSONL)": "Экспорт для дообучения (SFT или DPO JSONL)",
        "Get an exported dataset, archive or test report": (
            "Получить экспорт датасета, архив или отчёт теста"
        ),
        "Give a better answer to one of my answers": "Дать лучший ответ вместо моего",
        "Go back to the previously active version": "Вернуть предыдущую активную версию",
        "How many examples to show": "Сколько примеров показать",
        "How to use the bot": "Как пользоваться ботом",
        "Import examples from a file (all or nothing)": "Импорт примеров из файла (всё или ничего)",
        'Inline JSON, e.g. [{"input": "2+2?", "expected": "4"}]': (
            'JSON прямо здесь, напр. [{"input": "2+2?", "expected": "4"}]'
        ),
        "JSON or JSONL test cases": "Тестовые случаи в JSON или JSONL",
        "JSONL, JSON, CSV, TSV, TXT or a ZIP of them": "JSONL, JSON, CSV, TSV, TXT или ZIP с ними",
        "Link or id of the answer it is about (optional)": (
            "Ссылка или id ответа, о котором речь (необязательно)"
        ),
        "Link or id of the message with my answer": "Ссылка или id сообщения с моим ответом",
        "List the datasets with their sizes": "Список датасетов с размерами",
        "List the model versions": "Список версий модели",
        "Lowercase letters, digits, - and _": "Строчные латинские буквы, цифры, - и _",
        "Make a dataset the one training uses": "Выбрать датасет для обучения",
        "Say hello to the bot": "Поздороваться с ботом",
        "Show a dataset and its first examples": "Показать датасет и первые примеры",
        "Show a training job (default: the newest)": "Показать задачу обучения (по умолчанию последнюю)",
        "Start a training job (default: selected dataset)": (
            "Запустить обучение (по умолчанию на выбранном датасете)"
        ),
        "Start at this page": "Начать с этой страницы",
        "Start this conversation afresh": "Начать этот разговор заново",
        "Tell the trainers what you think": "Написать тренерам отзыв",
        "Test a model version on a set of cases": "Проверить версию модели на наборе случаев",
        "The better answer": "Лучший ответ",
        "The dataset": "Датасет",
        "The dataset (created when missing)": "Датасет (создаётся, если его нет)",
        "The dataset (default: the selected one)": "Датасет (по умолчанию выбранный)",
        "The file's name": "Имя файла",
        "The ideal answer": "Идеальный ответ",
        "The job": "Задача",
        "The model version": "Версия модели",
        "The model version (default: the active one)": "Версия модели (по умолчанию активная)",
        "The newest training jobs": "Последние задачи обучения",
        "The training backend (default: local)": "Бэкенд обучения (по умолчанию local)",
        "Train the bot on a dataset": "Обучить бота на датасете",
        "Turn an audio file into text": "Превратить аудио в текст",
        "What a user says": "Что говорит пользователь",
        "What it is for": "Для чего он",
        "Your feedback": "Ваш отзыв",
        "Your question": "Ваш вопрос",
        "Join your voice channel": "Зайти в ваш голосовой канал",
        "Leave the voice channel": "Выйти из голосового канала",
        "Say a text aloud (in the voice channel, or as an audio file)": (
            "Произнести текст (в голосовом канале или аудиофайлом)"
        ),
        "What to say": "Что сказать",
        "Stop speaking now": "Замолчать сейчас",
        "Zip a dataset with its exports and a manifest": "Архив датасета с экспортами и манифестом",
        "sft: chat examples, dpo: preference pairs": "sft: примеры диалогов, dpo: пары предпочтений",
        "Review what members propose the bot should learn": (
            "Проверить, чему участники предлагают научить бота"
        ),
        "The oldest pending proposal, one at a time": "Самое старое ждущее предложение, по одному",
        "Show or set who may teach the bot here": "Показать или выбрать, кто может учить бота здесь",
        "review: trainers decide; trainers-only: only trainers correct; open: learned at once": (
            "review: решают тренеры; trainers-only: исправляют только тренеры; open: сразу"
        ),
        "Your proposals and what became of them": "Ваши предложения и что с ними стало",
        "Take an example out of its dataset (kept as removed)": (
            "Убрать пример из датасета (он сохранится как удалённый)"
        ),
        "The example's id (as /dataset show prints it)": "id примера (как его показывает /dataset show)",
    },
)

COMMAND_TEXT: dict[str, CommandText] = {"ru": RU}
