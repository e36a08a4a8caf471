"""Request and response bodies (pydantic): the OpenAPI schema at ``/docs`` comes from these."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Event",
    "EventsIn",
    "UserOrEvents",
    "BatchIn",
    "RecommendIn",
    "TextsIn",
    "ReloadIn",
]

MAX_EVENTS = 1000
MAX_TEXTS = 256


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Event(_Strict):
    """One raw event of a user, as in the event contract (``docs/data.md``)."""

    timestamp: datetime = Field(description="When (ISO 8601; naive times are read as UTC).")
    service: str = Field(min_length=1, max_length=200, description="Which service logged it.")
    text: str = Field(min_length=1, max_length=10_000, description="The event as text.")
    item_id: str | None = Field(default=None, max_length=200, description="The item acted on.")


class EventsIn(_Strict):
    """Raw events of one user the table has never seen."""

    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)


class UserOrEvents(_Strict):
    """Exactly one of a known ``user_id`` or the raw ``events`` of a new user."""

    user_id: str | None = Field(default=None, min_length=1, max_length=200)
    events: list[Event] | None = Field(default=None, min_length=1, max_length=MAX_EVENTS)

    @model_validator(mode="after")
    def _one_of(self) -> UserOrEvents:
        if (self.user_id is None) == (self.events is None):
            raise ValueError("give exactly one of `user_id` or `events`")
        return self


class BatchIn(_Strict):
    """User ids to look up (the batch limit is a setting, at most 1,000)."""

    user_ids: list[str] = Field(min_length=1)


class RecommendIn(UserOrEvents):
    """Who to recommend for, how many, and whether to drop items the user already had."""

    k: int = Field(default=10, ge=1, le=100)
    exclude_seen: bool = True
    head: str | None = Field(default=None, description="Recommendation head (default: the only).")


class TextsIn(_Strict):
    """Texts to classify."""

    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)


class ReloadIn(_Strict):
    """Switch to another deployment folder (default: reload the current path)."""

    path: str | None = None
