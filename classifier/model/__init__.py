"""The judgement: texts become vectors, vectors meet strategies, scores become statuses."""
