"""Multipart forms whose text fields must be valid in their charset (UTF-8 by default).

Starlette decodes a text field that is not valid in the form's charset as Latin-1, so
``b"\\xff\\xfe"`` in ``wake_word`` would arrive as the letters ``"ÿþ"``. Routes built with
:class:`StrictFormRoute` refuse such a form with a 400 naming the field instead.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import aclosing
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import AwaitableOrContextManager, AwaitableOrContextManagerWrapper

try:
    from python_multipart.multipart import parse_options_header
except ImportError:  # older python-multipart
    from multipart.multipart import parse_options_header  # type: ignore[no-redef]


class StrictMultiPartParser(MultiPartParser):
    """Refuses a text field whose bytes are not valid in the form's charset."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            charset = self._charset or "utf-8"
            try:
                bytes(part.data).decode(charset)
            except UnicodeDecodeError as exc:
                raise MultiPartException(
                    f"Form field {part.field_name!r} is not valid {charset} text; send it "
                    "as UTF-8") from exc
        super().on_part_end()


class StrictFormRequest(Request):
    """A request whose multipart form is parsed by :class:`StrictMultiPartParser`."""

    def form(self, *, max_files: int | float = 1000, max_fields: int | float = 1000,
             max_part_size: int = 1024 * 1024) -> AwaitableOrContextManager[FormData]:
        return AwaitableOrContextManagerWrapper(self._strict_form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size))

    async def _strict_form(self, *, max_files: int | float, max_fields: int | float,
                           max_part_size: int) -> FormData:
        content_type, _ = parse_options_header(self.headers.get("Content-Type"))
        if self._form is None and content_type == b"multipart/form-data":
            try:
                async with aclosing(self.stream()) as stream:
                    parser = StrictMultiPartParser(self.headers, stream, max_files=max_files,
                                                   max_fields=max_fields,
                                                   max_part_size=max_part_size)
                    self._form = await parser.parse()
            except MultiPartException as exc:
                raise HTTPException(status_code=400, detail=exc.message) from exc
        return await self._get_form(max_files=max_files, max_fields=max_fields,
                                    max_part_size=max_part_size)


class StrictFormRoute(APIRoute):
    """An API route whose handler sees a :class:`StrictFormRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictFormRequest(request.scope, request.receive))

        return strict_handler
