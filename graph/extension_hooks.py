"""strawberry's extension hooks, wrapped once per extension class instead of once per request.

For every request strawberry opens four lifecycle stages (operation, parsing, validation,
execution) and, for each, asks every extension for its hook (`get_hook`): it inspects the
method and wraps it in a new `contextlib.contextmanager`, which copies the function's name,
docstring and signature attributes each time. With our five extensions that is some twenty
wrappers per request, a few per cent of a node lookup. What a hook is (a generator, an async
generator) depends only on the extension's class, so it is decided and wrapped once per class
and stage; each request binds it to its extension, which is what strawberry's own wrapper
calls. Plain-function hooks, rare, still take strawberry's path.
"""

from __future__ import annotations

import contextlib
import inspect
from functools import partial
from typing import Any

from strawberry.extensions.context import ExtensionContextManagerBase, WrappedHook

_strawberry_get_hook = ExtensionContextManagerBase.get_hook

# (extension class, hook name) → None (no hook), (is_async, wrapped function), or _ITS_OWN.
_WRAPPED: dict[tuple[type, str], Any] = {}
_ITS_OWN = object()  # a hook strawberry wraps itself


def _wrapped(extension_class: type, manager: ExtensionContextManagerBase) -> Any:
    hook_fn = getattr(extension_class, manager.HOOK_NAME)
    if hook_fn is manager.default_hook:
        return None
    if inspect.isgeneratorfunction(hook_fn):
        return False, contextlib.contextmanager(hook_fn)
    if inspect.isasyncgenfunction(hook_fn):
        return True, contextlib.asynccontextmanager(hook_fn)
    return _ITS_OWN


def get_hook(self: ExtensionContextManagerBase, extension: Any) -> WrappedHook | None:
    """strawberry's `get_hook`, with the wrapped hook function made once per class."""
    key = (type(extension), self.HOOK_NAME)
    wrapped = _WRAPPED.get(key, _ITS_OWN)
    if wrapped is _ITS_OWN and key not in _WRAPPED:
        wrapped = _WRAPPED[key] = _wrapped(type(extension), self)
    if wrapped is None:
        return None
    if wrapped is _ITS_OWN:
        return _strawberry_get_hook(self, extension)
    is_async, function = wrapped
    return WrappedHook(extension=extension, hook=partial(function, extension), is_async=is_async)


def install() -> None:
    ExtensionContextManagerBase.get_hook = get_hook  # type: ignore[method-assign]
