"""Dependencies, each declared once as an ``Annotated`` alias read from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wakebuilder.jobs.dispatcher import Dispatcher
from wakebuilder.jobs.store import JobStore
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _jobs(request: Request) -> JobStore:
    return request.app.state.jobs  # type: ignore[no-any-return]


def _models(request: Request) -> ModelStore:
    return request.app.state.models  # type: ignore[no-any-return]


def _dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(_settings)]
JobStoreDep = Annotated[JobStore, Depends(_jobs)]
ModelStoreDep = Annotated[ModelStore, Depends(_models)]
DispatcherDep = Annotated[Dispatcher, Depends(_dispatcher)]
