"""What route handlers are given by Litestar's dependency injection, instead of untyped ``app.state`` lookups.

The app builds these objects once in its lifespan and keeps them in its state; each provider hands one to the
handlers that name it (``store: StoreDep``), typed. They are the app's own objects, so Litestar does not
validate them (``Store`` is a protocol, which ``isinstance`` cannot check).
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from gateway.dispatch.dispatcher import Dispatcher
from gateway.receipts.intake import CallbackIntake
from gateway.settings import Settings
from gateway.store.base import Store

__all__ = ("DEPENDENCIES", "ClockDep", "DispatcherDep", "IntakeDep", "SettingsDep", "StoreDep")


#: The handler parameter types: each parameter's name picks its provider in :data:`DEPENDENCIES`.
StoreDep = NamedDependency[SkipValidation[Store]]
DispatcherDep = NamedDependency[SkipValidation[Dispatcher]]
IntakeDep = NamedDependency[SkipValidation[CallbackIntake]]
SettingsDep = NamedDependency[SkipValidation[Settings]]
ClockDep = NamedDependency[SkipValidation[Callable[[], float]]]


def _store(state: State) -> Store:
    store: Store = state.store
    return store


def _dispatcher(state: State) -> Dispatcher:
    dispatcher: Dispatcher = state.dispatcher
    return dispatcher


def _intake(state: State) -> CallbackIntake:
    intake: CallbackIntake = state.intake
    return intake


def _settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def _clock(state: State) -> Callable[[], float]:
    clock: Callable[[], float] = state.clock
    return clock


#: The app-wide dependencies: the store, the dispatcher, the callback intake, the settings and the clock.
DEPENDENCIES = {
    "store": Provide(_store, sync_to_thread=False),
    "dispatcher": Provide(_dispatcher, sync_to_thread=False),
    "intake": Provide(_intake, sync_to_thread=False),
    "settings": Provide(_settings, sync_to_thread=False),
    "clock": Provide(_clock, sync_to_thread=False),
}
