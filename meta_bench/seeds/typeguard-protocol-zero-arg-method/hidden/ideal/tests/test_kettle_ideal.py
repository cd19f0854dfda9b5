"""Outcome tests written from the user's words (public API only: check_type, typechecked, TypeCheckError)."""

from typing import Protocol

import pytest

from typeguard import TypeCheckError, check_type, typechecked


class Closeable(Protocol):
    def close(self) -> None: ...


class Sender(Protocol):
    def send(self, data: bytes) -> None: ...


class _Closer:
    def __call__(self) -> None:
        return None


class CallableClosePlugin:
    close = _Closer()


class CallableSendPlugin:
    send = _Closer()


class MethodPlugin:
    def close(self) -> None:
        return None

    def send(self, data: bytes) -> None:
        return None


def test_zero_arg_callable_satisfies_zero_arg_protocol():
    plugin = CallableClosePlugin()
    plugin.close()  # really callable without arguments
    assert check_type(plugin, Closeable) is plugin


def test_zero_arg_callable_does_not_satisfy_protocol_with_arguments():
    with pytest.raises(TypeCheckError):
        check_type(CallableSendPlugin(), Sender)


def test_regular_methods_still_work():
    plugin = MethodPlugin()
    assert check_type(plugin, Closeable) is plugin
    assert check_type(plugin, Sender) is plugin


def test_real_mismatch_still_reported():
    class WrongSend:
        def send(self) -> None:
            return None

    with pytest.raises(TypeCheckError):
        check_type(WrongSend(), Sender)


@pytest.mark.parametrize(
    "attr",
    [
        pytest.param(_Closer(), id="callable_object"),
        pytest.param(lambda: None, id="lambda_without_args"),
        pytest.param(staticmethod(lambda: None), id="staticmethod"),
    ],
)
@pytest.mark.parametrize("protocol", [Closeable, Sender], ids=["Closeable", "Sender"])
def test_never_crashes(attr, protocol):
    name = "close" if protocol is Closeable else "send"
    plugin_cls = type("Plugin", (), {name: attr})
    try:
        check_type(plugin_cls(), protocol)
    except TypeCheckError:
        pass


def test_function_written_without_self_does_not_crash():
    class Plugin:
        def close():  # noqa: N805 - someone forgot self
            return None

    try:
        check_type(Plugin(), Closeable)
    except TypeCheckError:
        pass


def test_typechecked_accepts_zero_arg_callable_plugin():
    @typechecked
    def shutdown(plugin: Closeable) -> str:
        return "closed"

    assert shutdown(CallableClosePlugin()) == "closed"


def test_typechecked_rejects_incompatible_plugin_with_typecheckerror():
    @typechecked
    def transmit(plugin: Sender) -> str:
        return "sent"

    with pytest.raises(TypeCheckError):
        transmit(CallableSendPlugin())
