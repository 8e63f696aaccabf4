"""Profanity filtering for prompts and suggestions (see ``filter`` and ``normalize``)."""

from litecomplete.safety.filter import ProfanityFilter, default_filter, is_profane

__all__ = ["ProfanityFilter", "default_filter", "is_profane"]
