"""Interaction callbacks and the follow-up webhook, with Discord's timing rules:
3 s to acknowledge (then 10062 Unknown interaction), one acknowledgement only (40060),
follow-ups for 15 minutes (then 50027 Invalid Webhook Token)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from . import payloads
from .errors import (
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
    FormErrors,
    already_acknowledged,
    not_found,
)
from .limits import validate_choices, validate_message, validate_modal
from .messages import StoredMessage
from .models import EPHEMERAL, LOADING, UploadFile
from .records import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    CALLBACK_AUTOCOMPLETE,
    CALLBACK_DEFERRED,
    CALLBACK_DEFERRED_UPDATE,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
)
from .rest_core import API, CORE, body_of, json_response, no_content, uploads_of
from .rest_messages import CHANNEL_MESSAGE_FLAGS, check_upload_size
from .state import EmulatorState

INTERACTION_MESSAGE_FLAGS = CHANNEL_MESSAGE_FLAGS | EPHEMERAL
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CALLBACK_MESSAGE, CALLBACK_DEFERRED, CALLBACK_MODAL},
    MESSAGE_COMPONENT: {
        CALLBACK_MESSAGE,
        CALLBACK_DEFERRED,
        CALLBACK_DEFERRED_UPDATE,
        CALLBACK_UPDATE,
        CALLBACK_MODAL,
    },
    AUTOCOMPLETE: {CALLBACK_AUTOCOMPLETE},
    MODAL_SUBMIT: {CALLBACK_MESSAGE, CALLBACK_DEFERRED, CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE},
}


def _interaction_message(
    state: EmulatorState,
    record: InteractionRecord,
    body: dict[str, Any],
    uploads: list[UploadFile],
    *,
    original: bool,
    allowed_flags: int = INTERACTION_MESSAGE_FLAGS,
) -> StoredMessage:
    command_type = record.payload.get("data", {}).get("type", 1)
    kind = 0
    if original and record.type == APPLICATION_COMMAND:
        kind = 20 if command_type == 1 else 23
    metadata = {
        "id": str(record.id),
        "type": record.type,
        "user": record.user.payload(),
        "authorizing_integration_owners": record.payload.get("authorizing_integration_owners", {}),
    }
    return state.create_message(
        record.channel,
        state.bot,
        body,
        uploads,
        allowed_flags=allowed_flags,
        type=kind,
        webhook_id=state.application_id,
        application_id=state.application_id,
        interaction_metadata=metadata,
    )


async def callback(request: web.Request) -> web.Response:
    state = request.app[CORE].state
    record = state.interactions.get(int(request.match_info["interaction_id"]))
    if record is None or record.token != request.match_info["interaction_token"]:
        raise not_found(UNKNOWN_INTERACTION, "interaction")
    try:
        return _acknowledge(state, record, body_of(request), uploads_of(request))
    except ApiError as error:
        record.rejected_callbacks.append((error.status, error.code))
        raise


def _acknowledge(
    state: EmulatorState, record: InteractionRecord, body: dict[str, Any], uploads: list[UploadFile]
) -> web.Response:
    now = time.monotonic()
    if record.ack_type is not None:
        raise already_acknowledged()
    if now - record.created > state.config.ack_timeout:
        record.expired = True
        raise not_found(UNKNOWN_INTERACTION, "interaction")
    kind = int(body.get("type") or 0)
    data = body.get("data") or {}
    no_message = (
        kind in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE) and record.source_message is None
    )
    if kind not in ALLOWED_CALLBACKS[record.type] or no_message:
        errors = FormErrors()
        errors.add(
            ("type",),
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response type is invalid for this interaction",
        )
        errors.raise_if_any()
    check_upload_size(state, uploads)
    if kind == CALLBACK_MESSAGE:
        validate_message(data, creating=True, has_files=bool(uploads))
        record.original = _interaction_message(state, record, data, uploads, original=True)
    elif kind == CALLBACK_DEFERRED:
        loading = {"flags": LOADING | (int(data.get("flags") or 0) & EPHEMERAL)}
        record.original = _interaction_message(
            state, record, loading, [], original=True, allowed_flags=EPHEMERAL | LOADING
        )
    elif kind == CALLBACK_DEFERRED_UPDATE:
        record.original = record.source_message
    elif kind == CALLBACK_UPDATE:
        assert record.source_message is not None
        validate_message(data, creating=False, has_files=bool(uploads))
        record.original = state.edit_message(
            record.source_message, data, uploads, allowed_flags=CHANNEL_MESSAGE_FLAGS
        )
    elif kind == CALLBACK_AUTOCOMPLETE:
        validate_choices(data)
        record.choices = list(data.get("choices") or [])
    elif kind == CALLBACK_MODAL:
        validate_modal(data)
        record.modal = data
    record.ack_type, record.ack_at = kind, now
    state.notify()
    return json_response(_callback_answer(state, record, kind))


def _callback_answer(state: EmulatorState, record: InteractionRecord, kind: int) -> dict[str, Any]:
    original = (
        record.original if kind in (CALLBACK_MESSAGE, CALLBACK_DEFERRED, CALLBACK_UPDATE) else None
    )
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    answer: dict[str, Any] = {"interaction": interaction}
    if original is not None:
        interaction.update(
            response_message_id=str(original.id),
            response_message_loading=original.loading,
            response_message_ephemeral=original.ephemeral,
        )
        answer["resource"] = {"type": kind, "message": payloads.message_for(state, original)}
    return answer


# follow-up webhook ------------------------------------------------------------------------
def _webhook_record(request: web.Request) -> tuple[EmulatorState, InteractionRecord]:
    state = request.app[CORE].state
    token = request.match_info["webhook_token"]
    record = state.interactions_by_token.get(token)
    app_ok = request.match_info["webhook_id"] == str(state.application_id)
    if record is None or not app_ok or record.ack_type is None:
        raise not_found(UNKNOWN_WEBHOOK, "Webhook")
    if time.monotonic() - record.created > state.config.followup_ttl:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return state, record


def _owned_message(request: web.Request, record: InteractionRecord) -> StoredMessage:
    raw = request.match_info["message_id"]
    message = (
        record.original if raw == "@original" else record.owns(int(raw)) if raw.isdigit() else None
    )
    if message is None or message.deleted:
        raise not_found(UNKNOWN_MESSAGE, "Message")
    return message


async def create_followup(request: web.Request) -> web.Response:
    state, record = _webhook_record(request)
    body, uploads = body_of(request), uploads_of(request)
    check_upload_size(state, uploads)
    validate_message(body, creating=True, has_files=bool(uploads))
    original = record.original
    if record.ack_type == CALLBACK_DEFERRED and original is not None and original.loading:
        # Like Discord: the first follow-up after a deferral replaces the "thinking" message.
        message = state.edit_message(original, body, uploads, allowed_flags=CHANNEL_MESSAGE_FLAGS)
    else:
        message = _interaction_message(state, record, body, uploads, original=False)
        record.followups.append(message)
        state.notify()
    if request.query.get("wait", "false").lower() not in ("true", "1"):
        return no_content()
    return json_response(payloads.message_for(state, message))


async def get_webhook_message(request: web.Request) -> web.Response:
    state, record = _webhook_record(request)
    return json_response(payloads.message_for(state, _owned_message(request, record)))


async def edit_webhook_message(request: web.Request) -> web.Response:
    state, record = _webhook_record(request)
    message = _owned_message(request, record)
    body, uploads = body_of(request), uploads_of(request)
    check_upload_size(state, uploads)
    validate_message(body, creating=False, has_files=bool(uploads))
    state.edit_message(message, body, uploads, allowed_flags=CHANNEL_MESSAGE_FLAGS)
    return json_response(payloads.message_for(state, message))


async def delete_webhook_message(request: web.Request) -> web.Response:
    state, record = _webhook_record(request)
    state.delete_message(_owned_message(request, record))
    return no_content()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(API + "/interactions/{interaction_id}/{interaction_token}/callback", callback)
    webhook = API + "/webhooks/{webhook_id}/{webhook_token}"
    router.add_post(webhook, create_followup)
    router.add_get(webhook + "/messages/{message_id}", get_webhook_message)
    router.add_patch(webhook + "/messages/{message_id}", edit_webhook_message)
    router.add_delete(webhook + "/messages/{message_id}", delete_webhook_message)
