"""The inspector: sketch's events drawn as live traces. Not built yet (see the README)."""

__all__: list[str] = []
