"""Patches puts back exactly what the owner held."""

import pytest

from rollout.local.patching import Patches


class Base:
    def inherited(self) -> str:
        return "base"


class Owner(Base):
    @staticmethod
    def static() -> str:
        return "static"


def test_undo_restores_a_staticmethod_and_removes_what_was_only_inherited():
    static_before = vars(Owner)["static"]
    patches = Patches()
    original = patches.replace(Owner, "static", staticmethod(lambda: "patched"))
    patches.replace(Owner, "inherited", lambda self: "patched")
    assert original() == "static"
    assert (Owner.static(), Owner().inherited()) == ("patched", "patched")
    patches.undo()
    assert vars(Owner)["static"] is static_before
    assert "inherited" not in vars(Owner)
    assert Owner().inherited() == "base"


def test_a_missing_attribute_means_moto_changed():
    with pytest.raises(RuntimeError, match="no longer exists"):
        Patches().replace(Owner, "gone", None)
