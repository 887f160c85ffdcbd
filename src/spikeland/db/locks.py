"""PostgreSQL advisory lock keys taken by more than one layer, so each is defined once, at the bottom."""

# Taken by seed() for its transaction, so two processes seeding at once cannot insert duplicates of
# rows whose natural key has no unique index (box tiers, pipelines, products, variants); images
# takes it too when it inserts the system pipelines itself.
SEED_LOCK_KEY = 0x5EED_5B1A_11D0
