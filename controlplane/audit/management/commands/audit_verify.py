"""``manage.py audit_verify``: prove the audit trail intact, or name the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from controlplane.audit.actions import check_audit_chain, do_anchor_audit_head
from controlplane.audit.anchor import Anchor, AnchorError


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every entry's hash and link, then the chain against the head "
        "anchored outside the database (TICKERPLANT_AUDIT_ANCHOR), which catches a truncated or "
        "recomputed chain. Exits non-zero naming the first deleted, inserted or altered entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor",
            action="store_true",
            help="once verified, anchor the current head now (else every "
            "TICKERPLANT_AUDIT_ANCHOR_SECONDS and at shutdown)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = check_audit_chain()
        except (AnchorError, OSError, ValueError) as exc:
            raise CommandError(f"audit anchor: {exc}") from None
        report, broken = result.report, result.broken
        if broken is not None:
            intact = max(0, broken.position - 1)
            raise CommandError(
                f"audit chain broken at entry #{broken.position} ({broken.kind}): {broken.reason}"
                f" ({intact} entries before it are intact)"
                if broken.position
                else f"audit chain broken ({broken.kind}): {broken.reason}"
            )
        anchor = result.anchor
        if anchor is None:
            against = f"no anchor yet at {result.anchor_url}"
        else:
            against = (
                f"consistent with the anchor of {anchor.anchored_at} at #{anchor.position}"
                f"{' (signed)' if anchor.key_id else ''} in {result.anchor_url}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"audit chain intact: {report.checked} entries verified; {against}")
        )
        if options["anchor"]:
            anchored = do_anchor_audit_head()
            if not isinstance(anchored, Anchor):
                raise CommandError(f"not anchored: {anchored.reason}")
            self.stdout.write(f"anchored #{anchored.position} at {anchored.anchored_at}")
