"""Predictions, feedback and corrections, and the small key/value state."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, false, select, true, update

from adapters.storage_sql import mapping as m
from adapters.storage_sql.session import Session
from adapters.storage_sql.statements import upsert
from adapters.storage_sql.tables import corrections, feedback, predictions, state
from domain.models import Correction, Exchange, Feedback, Prediction

_p = predictions.c
_PREDICTION = select(predictions)
_GET = _PREDICTION.where(_p.id == bindparam("id"))
_BY_MESSAGE = _PREDICTION.where(_p.message_id == bindparam("message_id"))
_RECENT = (
    _PREDICTION.where(_p.conversation_id == bindparam("cid"), _p.forgotten == false())
    .order_by(_p.created_at.desc(), _p.seq.desc())
    .limit(bindparam("limit"))
)
_HISTORY = (
    select(_p.prompt, _p.answer)
    .where(_p.conversation_id == bindparam("cid"), _p.forgotten == false())
    .order_by(_p.created_at.desc(), _p.seq.desc())
    .limit(bindparam("limit"))
)
_ATTACH = update(predictions).where(_p.id == bindparam("pid")).values(message_id=bindparam("mid"))
_FORGET = (
    update(predictions)
    .where(_p.conversation_id == bindparam("cid"), _p.forgotten == false())
    .values(forgotten=true())
)


class SqlPredictions:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, prediction: Prediction) -> None:
        stmt = upsert(predictions, self._s.dialect, "id", ("forgotten",))
        await self._s.write(stmt, m.prediction_params(prediction))

    async def get(self, prediction_id: str) -> Prediction | None:
        row = (await self._s.read(_GET, {"id": prediction_id})).first()
        return None if row is None else m.prediction_of(row)

    async def by_message(self, message_id: str) -> Prediction | None:
        row = (await self._s.read(_BY_MESSAGE, {"message_id": message_id})).first()
        return None if row is None else m.prediction_of(row)

    async def attach_message(self, prediction_id: str, message_id: str) -> None:
        await self._s.write(_ATTACH, {"pid": prediction_id, "mid": message_id})

    async def recent(self, conversation_id: str, limit: int) -> list[Prediction]:
        if limit <= 0:
            return []
        rows = await self._s.read_mapped(
            _RECENT, {"cid": conversation_id, "limit": limit}, m.prediction_of, heavy=False
        )
        rows.reverse()
        return rows

    async def history(self, conversation_id: str, limit: int) -> list[Exchange]:
        if limit <= 0:
            return []
        rows = (await self._s.read(_HISTORY, {"cid": conversation_id, "limit": limit})).all()
        return [Exchange(prompt, answer) for prompt, answer in reversed(rows)]

    async def forget(self, conversation_id: str) -> int:
        result = await self._s.write(_FORGET, {"cid": conversation_id})
        return int(result.rowcount)


_FEEDBACK_FOR = (
    select(feedback).where(feedback.c.prediction_id == bindparam("pid")).order_by(feedback.c.seq)
)
_CORRECTIONS_FOR = (
    select(corrections)
    .where(corrections.c.prediction_id == bindparam("pid"))
    .order_by(corrections.c.seq)
)
_ADD_FEEDBACK = feedback.insert()
_ADD_CORRECTION = corrections.insert()


class SqlFeedback:
    """Feedback and corrections in the order they were given.

    Ids are unique: adding one twice raises ``AlreadyExists``.
    """

    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, feedback: Feedback) -> None:
        await self._s.write(_ADD_FEEDBACK, m.feedback_params(feedback))

    async def for_prediction(self, prediction_id: str) -> list[Feedback]:
        return await self._s.read_mapped(
            _FEEDBACK_FOR, {"pid": prediction_id}, m.feedback_of, heavy=False
        )

    async def add_correction(self, correction: Correction) -> None:
        await self._s.write(_ADD_CORRECTION, m.correction_params(correction))

    async def corrections_for(self, prediction_id: str) -> list[Correction]:
        return await self._s.read_mapped(
            _CORRECTIONS_FOR, {"pid": prediction_id}, m.correction_of, heavy=False
        )


_STATE_GET = select(state.c.value).where(state.c.key == bindparam("key"))
_STATE_DELETE = delete(state).where(state.c.key == bindparam("key"))


class SqlState:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def get(self, key: str) -> str | None:
        value: str | None = (await self._s.read(_STATE_GET, {"key": key})).scalar()
        return value

    async def set(self, key: str, value: str | None) -> None:
        if value is None:
            await self._s.write(_STATE_DELETE, {"key": key})
        else:
            await self._s.write(upsert(state, self._s.dialect, "key"), {"key": key, "value": value})
