"""Storage adapter: tortoise-orm models, repositories and native migrations."""
