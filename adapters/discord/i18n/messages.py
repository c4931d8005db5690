"""Every message the bot writes, in every language it speaks (English is the fallback).

Placeholders use ``str.format`` names; ``{count:plural:one|other}`` (English) and
``{count:plural:one|few|many}`` (Russian) pick the plural form.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # chat
    "chat.empty_answer": "*(the model gave an empty answer)*",
    "chat.interrupted": "*(the answer was interrupted)*",
    "chat.cut_off": "*(the answer was cut off: the model's stream broke off before the end)*",
    "chat.too_long": "*(the answer was cut off: it reached the length limit)*",
    "chat.cut_off_spoken": "The answer was cut off.",
    "chat.say_something": "Yes? Ask me something — or try `/help`.",
    "chat.forgot": "Starting afresh: I forgot {turns} {turns:plural:turn|turns} of this conversation.",
    # feedback
    "feedback.rated": "Thanks for the feedback!",
    "feedback.cut_off_rated": "That answer was cut off, so it is never used to teach the bot.",
    "feedback.cut_off_corrected": "(The answer you corrected was cut off, so it is not kept "
    "as the rejected answer.)",
    "feedback.thanks": "Thanks! The trainers will read it.",
    "feedback.correct_button": "Correct",
    "feedback.modal_title": "Correct this answer",
    "feedback.modal_label": "The better answer",
    "feedback.corrected": "Thanks! Your correction is now an example in the `{dataset}` dataset.",
    "feedback.proposed": "Thanks! Your correction waits for a trainer's review; "
    "`/proposals` shows what became of it.",
    # proposals (a member's own)
    "proposals.none": "You have made no proposals yet: correct one of my answers to propose "
    "a better one.",
    "proposals.title": "**Your proposals** (newest first)",
    "proposals.status.pending": "waiting for review",
    "proposals.status.approved": "approved",
    "proposals.status.rejected": "rejected",
    "proposals.downvote": "(👎, no answer proposed)",
    "proposals.reason": "reason: {reason}",
    # review (trainers)
    "review.title.correction": "✏️ Proposal `{id}`",
    "review.title.downvote": "👎 Rated down `{id}`",
    "review.waiting": "{count} {count:plural:proposal|proposals} waiting for review",
    "review.question": "Question",
    "review.answer": "My answer",
    "review.proposed": "Proposed answer",
    "review.none_proposed": "*none — write it with Edit & approve*",
    "review.proposer": "Proposed by",
    "review.related": "What the dataset already says",
    "review.related_none": "*nothing about this question yet*",
    "review.conflicting": "⚠️ **conflicts**",
    "review.approve": "Approve",
    "review.edit": "Edit & approve",
    "review.reject": "Reject",
    "review.skip": "Skip",
    "review.empty": "The queue is empty: nothing waits for review.",
    "review.approved": "✅ Approved `{id}`: it is learned at the next training (`/train start`).",
    "review.rejected": "❌ Rejected `{id}`.",
    "review.skipped": "⏭️ Skipped `{id}`.",
    "review.only_one": "⏭️ This is the only proposal waiting.",
    "review.decided": "This proposal was already {status} by {who}.",
    "review.edit_title": "Edit & approve",
    "review.edit_label": "The right answer",
    "review.reject_title": "Reject this proposal",
    "review.reject_label": "Why (optional; the proposer is told)",
    "review.mode_now": "Review mode here: **{mode}** — {about}",
    "review.mode_set": "Review mode is now **{mode}** — {about}",
    "review.mode.review": "a member's correction waits for a trainer's review.",
    "review.mode.trainers-only": "only trainers correct answers; members rate them 👍 / 👎.",
    "review.mode.open": "everyone's corrections are learned at once.",
    "review.dm.approved": "✅ {trainer} approved your proposed answer to “{question}”: "
    "I will learn it at the next training.",
    "review.dm.approved_edited": "✅ {trainer} approved your proposal for “{question}”, "
    "with changes: “{answer}”. I will learn it at the next training.",
    "review.dm.answered": "✅ {trainer} wrote the right answer to “{question}”, which you "
    "rated 👎: “{answer}”. I will learn it at the next training.",
    "review.dm.rejected": "Your proposed answer to “{question}” was not accepted by {trainer}.",
    "review.dm.kept": "{trainer} looked at my answer to “{question}”, which you rated 👎, "
    "and kept it.",
    "review.dm.reason": "Reason: {reason}",
    # speech
    "speech.heard": "🎙️ I heard ({language}):",
    # voice
    "voice.need_channel": "Join a voice channel first, then use `/join`.",
    "voice.joined": "🔊 I'm in **{channel}**: my answers to you are spoken there too.",
    "voice.left": "👋 I left **{channel}**.",
    "voice.not_connected": "I'm not in a voice channel (`/join` brings me in).",
    "voice.saying": "🔊 Saying it in **{channel}**.",
    "voice.audio_file": "🔊 Here it is as audio:",
    "voice.stopped": "⏹️ Stopped.",
    "voice.nothing_to_stop": "I'm not saying anything right now.",
    # datasets
    "dataset.none": "There are no datasets yet: `/dataset create` or `/dataset import` makes one.",
    "dataset.list_title": "**Datasets**",
    "dataset.count": "{count} {count:plural:example|examples}",
    "dataset.selected_note": "⭐ selected for training",
    "dataset.empty": "*(no examples yet)*",
    "dataset.created": "Created the dataset `{name}`.",
    "dataset.added": "Added one example to `{name}`.",
    "dataset.imported": (
        "Imported {added} {added:plural:example|examples} from {files} "
        "{files:plural:file|files} into `{name}` (now {total})."
    ),
    "dataset.selected": "`{name}` is now the dataset training uses.",
    "dataset.removed": "Removed example `{id}` from `{name}` (“{prompt}”): it is kept as "
    "removed and never trained on or exported again.",
    "dataset.removed_active": "The active version `{version}` was trained on it: "
    "`/train start dataset:{name}` makes a version without it.",
    "dataset.approved_by": "approved by {who}",
    "dataset.before_provenance": "{source} (before provenance was recorded)",
    # files
    "files.written": "Wrote `{name}` ({size}). `/getfile` fetches it again later.",
    "files.here": "`{name}` ({size})",
    # training
    "job.title": "**Training job** `{id}` on `{dataset}` ({count} {count:plural:example|examples}, {backend})",
    "job.status.queued": "queued",
    "job.status.running": "running",
    "job.status.succeeded": "succeeded",
    "job.status.failed": "failed",
    "job.status.cancelled": "cancelled",
    "job.produced": "New model version: `{version}`",
    "job.done": "{mention} your training job `{id}` has finished: the new version is ready.",
    "job.ended": "{mention} your training job `{id}` has ended: {status}.",
    "job.none": "There are no training jobs yet: `/train start` begins one.",
    "job.list_title": "**Training jobs**",
    # models
    "model.none": "There are no model versions yet.",
    "model.list_title": "**Model versions** (newest first)",
    "model.active": "active",
    "model.base": "base: the model without taught memory (`base` names it)",
    "model.activated": "I answer with `{version}` from now on.",
    "model.rolled_back": "Rolled back: I answer with `{version}` again.",
    # tests
    "test.running": "🧪 Testing… {done} of {total} {total:plural:case|cases}",
    "test.title": "🧪 **Test run** `{id}` of `{version}`",
    "test.scores": "Passed **{passed}/{cases}** ({rate}) · exact {exact} · contains {contains}",
    "test.labels": "Label accuracy: {accuracy}",
    "test.errors": "⚠️ {count} {count:plural:case|cases} failed with an error",
    "test.compared": ("Compared with `{before}`: {delta} points, {fixed} fixed, {broken} broken."),
    "test.report": "Reports: {names}",
    "test.missing": "missing {phrases}",
    "test.forbidden": "forbidden {phrases}",
    # help
    "help.hi": "Hi {name}! 👋 I'm an assistant you can talk to and teach. `/help` shows how.",
    "help.page": "Page {page} of {total}",
    "help.missing": "The instructions are missing on this server; ask an operator.",
    "help.review_mode": "Teaching on this server",
    # refusals and errors
    "refused.trainer": "Only trainers can do that (the `{role}` role).",
    "refused.cooldown": "Slow down a little: try again in {seconds} {seconds:plural:second|seconds}.",
    "refused.guild_only": "That works in a server, not in direct messages.",
    "refused.bad_value": "One of the values you gave is not valid.",
    "refused.generic": "You can't use that here.",
    "error.unexpected": "Something went wrong on my side (reference `{reference}`). Please try again.",
}

RU: dict[str, str] = {
    "chat.empty_answer": "*(модель вернула пустой ответ)*",
    "chat.interrupted": "*(ответ прервался)*",
    "chat.cut_off": "*(ответ оборвался: поток модели прервался до конца)*",
    "chat.too_long": "*(ответ обрезан: он достиг предела длины)*",
    "chat.cut_off_spoken": "Ответ оборвался.",
    "chat.say_something": "Да? Спросите что-нибудь — или загляните в `/help`.",
    "chat.forgot": (
        "Начинаем заново: я забыл {turns} {turns:plural:реплику|реплики|реплик} этого разговора."
    ),
    "feedback.rated": "Спасибо за отзыв!",
    "feedback.cut_off_rated": "Этот ответ оборвался, поэтому бот никогда не учится на нём.",
    "feedback.cut_off_corrected": "(Исправленный ответ оборвался, поэтому он не сохраняется "
    "как отклонённый.)",
    "feedback.thanks": "Спасибо! Тренеры его прочитают.",
    "feedback.correct_button": "Исправить",
    "feedback.modal_title": "Исправить этот ответ",
    "feedback.modal_label": "Лучший ответ",
    "feedback.corrected": "Спасибо! Ваше исправление стало примером в датасете `{dataset}`.",
    "feedback.proposed": "Спасибо! Ваше исправление ждёт проверки тренером; "
    "`/proposals` покажет, что с ним стало.",
    "proposals.none": "Вы ещё ничего не предлагали: исправьте один из моих ответов, "
    "чтобы предложить лучший.",
    "proposals.title": "**Ваши предложения** (сначала новые)",
    "proposals.status.pending": "ждёт проверки",
    "proposals.status.approved": "принято",
    "proposals.status.rejected": "отклонено",
    "proposals.downvote": "(👎, ответ не предложен)",
    "proposals.reason": "причина: {reason}",
    "review.title.correction": "✏️ Предложение `{id}`",
    "review.title.downvote": "👎 Оценено плохо `{id}`",
    "review.waiting": "{count} {count:plural:предложение ждёт|предложения ждут|предложений ждут} "
    "проверки",
    "review.question": "Вопрос",
    "review.answer": "Мой ответ",
    "review.proposed": "Предложенный ответ",
    "review.none_proposed": "*нет — напишите его через «Изменить и принять»*",
    "review.proposer": "Предложил(а)",
    "review.related": "Что уже есть в датасете",
    "review.related_none": "*об этом вопросе пока ничего*",
    "review.conflicting": "⚠️ **противоречит**",
    "review.approve": "Принять",
    "review.edit": "Изменить и принять",
    "review.reject": "Отклонить",
    "review.skip": "Пропустить",
    "review.empty": "Очередь пуста: проверять нечего.",
    "review.approved": "✅ `{id}` принято: я выучу это при следующем обучении (`/train start`).",
    "review.rejected": "❌ `{id}` отклонено.",
    "review.skipped": "⏭️ `{id}` пропущено.",
    "review.only_one": "⏭️ Это единственное ждущее предложение.",
    "review.decided": "Это предложение уже {status}: {who}.",
    "review.edit_title": "Изменить и принять",
    "review.edit_label": "Правильный ответ",
    "review.reject_title": "Отклонить предложение",
    "review.reject_label": "Почему (необязательно; автору сообщат)",
    "review.mode_now": "Режим проверки здесь: **{mode}** — {about}",
    "review.mode_set": "Теперь режим проверки: **{mode}** — {about}",
    "review.mode.review": "исправления участников ждут проверки тренером.",
    "review.mode.trainers-only": "исправляют ответы только тренеры; участники ставят 👍 / 👎.",
    "review.mode.open": "исправления всех выучиваются сразу.",
    "review.dm.approved": "✅ {trainer} принял(а) ваш ответ на «{question}»: "
    "я выучу его при следующем обучении.",
    "review.dm.approved_edited": "✅ {trainer} принял(а) ваше предложение для «{question}» "
    "с изменениями: «{answer}». Я выучу его при следующем обучении.",
    "review.dm.answered": "✅ {trainer} написал(а) правильный ответ на «{question}», который вы "
    "оценили 👎: «{answer}». Я выучу его при следующем обучении.",
    "review.dm.rejected": "{trainer} не принял(а) ваш ответ на «{question}».",
    "review.dm.kept": "{trainer} посмотрел(а) мой ответ на «{question}», который вы оценили 👎, "
    "и оставил(а) его.",
    "review.dm.reason": "Причина: {reason}",
    "speech.heard": "🎙️ Я услышал ({language}):",
    # voice
    "voice.need_channel": "Сначала зайдите в голосовой канал, потом `/join`.",
    "voice.joined": "🔊 Я в **{channel}**: ответы вам я произношу и там.",
    "voice.left": "👋 Я вышел из **{channel}**.",
    "voice.not_connected": "Я не в голосовом канале (`/join` позовёт меня).",
    "voice.saying": "🔊 Говорю в **{channel}**.",
    "voice.audio_file": "🔊 Вот это в виде аудио:",
    "voice.stopped": "⏹️ Остановился.",
    "voice.nothing_to_stop": "Я сейчас ничего не говорю.",
    "dataset.none": "Датасетов пока нет: создайте через `/dataset create` или `/dataset import`.",
    "dataset.list_title": "**Датасеты**",
    "dataset.count": "{count} {count:plural:пример|примера|примеров}",
    "dataset.selected_note": "⭐ выбран для обучения",
    "dataset.empty": "*(примеров пока нет)*",
    "dataset.created": "Датасет `{name}` создан.",
    "dataset.added": "В `{name}` добавлен один пример.",
    "dataset.imported": (
        "Импортировано {added} {added:plural:пример|примера|примеров} из {files} "
        "{files:plural:файла|файлов|файлов} в `{name}` (теперь {total})."
    ),
    "dataset.selected": "Теперь для обучения используется `{name}`.",
    "dataset.removed": "Пример `{id}` убран из `{name}` («{prompt}»): он сохранён как "
    "удалённый и больше не попадёт ни в обучение, ни в экспорт.",
    "dataset.removed_active": "Активная версия `{version}` обучена на нём: "
    "`/train start dataset:{name}` сделает версию без него.",
    "dataset.approved_by": "одобрил(а) {who}",
    "dataset.before_provenance": "{source} (до того, как стали записывать происхождение)",
    "files.written": "Записан `{name}` ({size}). Позже его можно получить через `/getfile`.",
    "files.here": "`{name}` ({size})",
    "job.title": (
        "**Задача обучения** `{id}` на `{dataset}` "
        "({count} {count:plural:пример|примера|примеров}, {backend})"
    ),
    "job.status.queued": "в очереди",
    "job.status.running": "идёт",
    "job.status.succeeded": "готово",
    "job.status.failed": "ошибка",
    "job.status.cancelled": "отменена",
    "job.produced": "Новая версия модели: `{version}`",
    "job.done": "{mention} ваша задача обучения `{id}` завершена: новая версия готова.",
    "job.ended": "{mention} ваша задача обучения `{id}` закончилась: {status}.",
    "job.none": "Задач обучения пока нет: `/train start` запускает первую.",
    "job.list_title": "**Задачи обучения**",
    "model.none": "Версий модели пока нет.",
    "model.list_title": "**Версии модели** (сначала новые)",
    "model.active": "активна",
    "model.base": "базовая: модель без выученной памяти (имя `base`)",
    "model.activated": "Теперь я отвечаю версией `{version}`.",
    "model.rolled_back": "Откат выполнен: я снова отвечаю версией `{version}`.",
    "test.running": "🧪 Тестирую… {done} из {total}",
    "test.title": "🧪 **Тестовый прогон** `{id}` версии `{version}`",
    "test.scores": ("Пройдено **{passed}/{cases}** ({rate}) · точно {exact} · содержит {contains}"),
    "test.labels": "Точность меток: {accuracy}",
    "test.errors": "⚠️ {count} {count:plural:случай|случая|случаев} с ошибкой",
    "test.compared": ("Сравнение с `{before}`: {delta} п., исправлено {fixed}, сломано {broken}."),
    "test.report": "Отчёты: {names}",
    "test.missing": "не хватает {phrases}",
    "test.forbidden": "запрещено {phrases}",
    "help.hi": "Привет, {name}! 👋 Я ассистент, с которым можно говорить и которого можно учить. "
    "Подробнее — `/help`.",
    "help.page": "Страница {page} из {total}",
    "help.missing": "Инструкции на этом сервере не найдены; обратитесь к оператору.",
    "help.review_mode": "Обучение на этом сервере",
    "refused.trainer": "Это могут только тренеры (роль `{role}`).",
    "refused.cooldown": (
        "Чуть медленнее: попробуйте через {seconds} {seconds:plural:секунду|секунды|секунд}."
    ),
    "refused.guild_only": "Это работает на сервере, а не в личных сообщениях.",
    "refused.bad_value": "Одно из указанных значений недопустимо.",
    "refused.generic": "Здесь это недоступно.",
    "error.unexpected": "У меня что-то пошло не так (код `{reference}`). Попробуйте ещё раз.",
    # headings for domain errors, followed by the (English) details
    "errors.error": "Не получилось.",
    "errors.not_found": "Не найдено.",
    "errors.already_exists": "Уже существует.",
    "errors.invalid_input": "Неверные данные.",
    "errors.limit_exceeded": "Превышен лимит.",
    "errors.permission_denied": "Нет прав.",
    "errors.conflict": "Сейчас это невозможно.",
    "errors.model_unavailable": "Языковая модель недоступна.",
    "errors.model_timeout": "Языковая модель не ответила вовремя.",
    "errors.rate_limited": "Языковая модель перегружена, попробуйте позже.",
    "errors.training_failed": "Обучение не удалось.",
    "errors.cancelled": "Отменено.",
    "errors.speech_error": "Не удалось распознать речь.",
    "errors.download_failed": "Не удалось скачать файл.",
}

MESSAGES: dict[str, dict[str, str]] = {"en": EN, "ru": RU}
