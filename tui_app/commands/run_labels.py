"""The run-level facts shown beside history rows: the revision a run was made from, its tags,
and the rating of each prompt's answer (issue 22). Read in two queries for a whole table."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import PromptTuiError
from ..core.history import History, Rating, RunOrigin, RunRecord, config_key


@dataclass
class RunLabels:
    origins: dict[str, RunOrigin] = field(default_factory=dict)
    ratings: dict[tuple[str, str], Rating] = field(default_factory=dict)

    @classmethod
    def of(cls, history: History, records: list[RunRecord]) -> RunLabels:
        ids = [r.run_id for r in records]
        return cls(history.origins(ids), history.ratings(ids))

    @property
    def any(self) -> bool:
        return bool(self.origins or self.ratings)

    def cells(self, rec: RunRecord) -> list[str]:
        origin = self.origins.get(rec.run_id)
        rating = self.ratings.get((rec.run_id, rec.prompt))
        return [
            origin.revision if origin is not None else "-",
            ",".join(origin.tags) if origin is not None and origin.tags else "",
            rating.thumb if rating is not None else "",
        ]

    def json_of(self, rec: RunRecord) -> dict[str, Any]:
        origin = self.origins.get(rec.run_id)
        rating = self.ratings.get((rec.run_id, rec.prompt))
        return {
            "origin": origin.to_json() if origin is not None else None,
            "rating": rating.to_json() if rating is not None else None,
        }

    def matching(
        self, history: History, records: list[RunRecord], args: argparse.Namespace
    ) -> list[RunRecord]:
        """The records of runs with ``--tag`` and made at ``--ref`` (a ref as typed or as the
        commit it names in CONFIG's repository)."""
        ref = args.ref
        if ref is not None and args.config:
            from ..core.revisions import read_at

            # not a revision git knows now (a deleted branch...): matched as typed
            with contextlib.suppress(PromptTuiError):
                ref = read_at(args.config, args.ref).facts.commit or ref
        keep = set(
            history.run_ids_matching(
                config_path=config_key(args.config) if args.config else None,
                tag=args.tag,
                ref=ref,
                clean=ref is not None and ref != args.ref,
            )
        )
        if args.ref is not None and ref != args.ref:
            keep |= set(history.run_ids_matching(ref=args.ref, tag=args.tag))
        return [r for r in records if r.run_id in keep]
