"""Health reviews: the narrative diagnostic of an alliance."""

__all__: list[str] = []
