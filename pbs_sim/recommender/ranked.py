"""What every recommender's result shares: the feasible rows in rank order, the best, the closest miss."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd


class Ranked:
    """Mixin for a result with a ``table`` holding ``feasible``, ``rank``, ``total_miss`` and the
    columns of ``CLOSEST_ORDER`` (the tie-breaks after ``total_miss`` when nothing is feasible)."""

    table: pd.DataFrame
    CLOSEST_ORDER: ClassVar[tuple[str, ...]] = ("n", "latency_sum_ms")

    @property
    def feasible(self) -> pd.DataFrame:
        return self.table[self.table.feasible].sort_values("rank")

    @property
    def best(self) -> dict[Any, Any] | None:
        f = self.feasible
        return None if f.empty else f.iloc[0].to_dict()

    @property
    def closest(self) -> dict[Any, Any] | None:
        """With no feasible configuration: the one that misses the targets by the least."""
        if not self.feasible.empty:
            return None
        i = self.table.sort_values(["total_miss", *self.CLOSEST_ORDER]).index[0]
        return self.table.loc[i].to_dict()
