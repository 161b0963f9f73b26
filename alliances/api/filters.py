"""The API's filters: django-filter's, with date-times any database accepts.

A filter value like ``2026-01-01T00:00+21:15`` parses as a date-time but PostgreSQL refuses
its offset, and a year-1 value with a positive offset has no UTC equivalent. Both are a 400
on the parameter; every other aware value is turned into UTC before it reaches the query.
"""

from datetime import UTC, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend

LARGEST_OFFSET = timedelta(hours=14)  # the furthest any real time zone is from UTC


class UtcDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        result = super().to_python(value)
        offset = result.utcoffset() if result is not None else None
        if offset is None:
            return result
        if abs(offset) > LARGEST_OFFSET:
            raise ValidationError("Use a UTC offset between -14:00 and +14:00.")
        try:
            return result.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError("Enter a date and time from year 1 to 9999 in UTC.") from error


class UtcDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UtcDateTimeField


class FilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": UtcDateTimeFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet
