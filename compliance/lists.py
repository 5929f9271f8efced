"""The admin's edits of the lists: new versions of an item's wording, retiring and reinstating
items, and the locality's thresholds."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.models import Rule, RuleVersion, Threshold, ThresholdKey
from officials.models import User

VERSION_FIELDS = ("category_zh", "category_en", "text_zh", "text_en", "signal")


def revise_rule(rule: Rule, *, by: User, **wording) -> RuleVersion | None:
    """Editing an item adds a version; the old one is never changed (findings cite it).

    Returns the new version, or None when nothing changed.
    """
    unknown = set(wording) - set(VERSION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")
    with transaction.atomic():
        # Lock the item: two admins saving at once get versions n+1 and n+2, not a clash.
        Rule.objects.select_for_update().get(pk=rule.pk)
        current = rule.versions.order_by("-number").first()
        values = {name: getattr(current, name, "") for name in VERSION_FIELDS}
        values.update({name: value.strip() for name, value in wording.items()})
        if current is not None and all(
            values[name] == getattr(current, name) for name in VERSION_FIELDS
        ):
            return None
        for required in ("category_zh", "category_en", "text_zh", "text_en"):
            if not values[required]:
                raise ValidationError({required: [_("This field is required.")]})
        return RuleVersion.objects.create(
            rule=rule,
            number=(current.number + 1) if current else 1,
            created_by=by,
            created_at=timezone.now(),
            **values,
        )


def retire_rule(rule: Rule, *, by: User, now: dt.datetime | None = None) -> None:
    """Retire an item: no longer judged or listed; its findings keep their versions."""
    Rule.objects.filter(pk=rule.pk, retired_at__isnull=True).update(
        retired_at=now or timezone.now()
    )


def reinstate_rule(rule: Rule, *, by: User) -> None:
    Rule.objects.filter(pk=rule.pk).update(retired_at=None)


def set_threshold(key: str, value, *, by: User, now: dt.datetime | None = None) -> Threshold:
    """Set (or, with None, unset) a locality's threshold."""
    if key not in ThresholdKey.values:
        raise ValidationError({"key": [_("Unknown setting.")]})
    if value is not None:
        try:
            value = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationError({"value": [_("Enter a number.")]}) from None
        if value < 0 or not value.is_finite():
            raise ValidationError({"value": [_("A threshold cannot be negative.")]})
    threshold, _created = Threshold.objects.update_or_create(
        key=key, defaults={"value": value, "updated_at": now or timezone.now()}
    )
    return threshold
