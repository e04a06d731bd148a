"""What discovery reads about: one function, the alias it rolls, the qualifiers to read."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import LATEST


@dataclass(frozen=True)
class Subject:
    function_name: str
    function_arn: str  # unqualified
    alias: str
    versions: tuple[str, ...]  # the stable and target versions
    aliases: tuple[str, ...] = ()  # every alias read (ListAliases), the rolled one included

    @property
    def qualifiers(self) -> list[str]:
        """The qualifiers whose policies and rule targets are read: the unqualified function
        ($LATEST), every alias, the stable and target versions."""
        return list(dict.fromkeys([LATEST, self.alias, *self.aliases, *self.versions]))

    def arn(self, qualifier: str) -> str:
        return self.function_arn if qualifier == LATEST else f"{self.function_arn}:{qualifier}"

    @property
    def partition(self) -> str:
        return self.function_arn.split(":")[1]

    @property
    def region(self) -> str:
        return self.function_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.function_arn.split(":")[4]

    def qualifier_in(self, name_or_arn: str) -> str | None:
        """The qualifier `name_or_arn` invokes when it names this function; None otherwise.
        Takes a function ARN (qualified or not), a partial ARN or `name[:qualifier]`."""
        if ":function:" in name_or_arn:
            prefix, rest = name_or_arn.split(":function:", 1)
            if prefix.startswith("arn:") and prefix != self.function_arn.split(":function:")[0]:
                return None  # another account, region or partition
        else:
            rest = name_or_arn
        name, _, qualifier = rest.partition(":")
        if name != self.function_name:
            return None
        return qualifier or LATEST
