"""HTTP: blueprints and the feed-serving middleware."""
