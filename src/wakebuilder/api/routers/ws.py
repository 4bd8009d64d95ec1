"""``WS /api/test/ws/{model_id}``: real-time detection (protocol in :mod:`..realtime.protocol`)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from wakebuilder.api.realtime.pool import get_pool
from wakebuilder.api.realtime.session import DetectionSession

router = APIRouter(prefix="/api/test", tags=["testing"])


@router.websocket("/ws/{model_id}")
async def detection_socket(websocket: WebSocket, model_id: str) -> None:
    """Stream 16-bit PCM in, get ``ready``, ``score`` and ``detection`` messages out.

    Query parameters: ``sample_rate`` (of binary frames, default 16000), ``threshold`` and
    ``capture`` (``1``: keep clips of detections, near misses and ``missed`` messages for
    review; off by default).
    An invalid or unknown model id is answered with ``error`` and a 1008 close. With an API
    token, authenticate with a header or the ``wakebuilder.token.<base64url>`` subprotocol
    (never ``?token=``). Limits (settings ``ws_*``): slots in all and per client address, an
    idle timeout without audio (1008), eviction of the longest-idle connection when full
    (1013), message size and a control-message rate.
    """
    state = websocket.app.state
    await DetectionSession(websocket, get_pool(state), model_id,
                           captures=getattr(state, "captures", None),
                           capture_config=getattr(state, "capture_config", None)).run()
