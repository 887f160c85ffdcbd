"""Adopt a database made by the original Spike Land platform (Prisma) into Alembic's history.

Such a database has the baseline schema but no ``alembic_version`` table (and usually a
``_prisma_migrations`` table, which is left alone). Adoption compares the live schema with the
baseline (accepting what :mod:`~spikeland.db.adopt.legacy` knows Prisma adds), brings the
original's data to Spikeland's rules (:mod:`~spikeland.db.adopt.data`: emails, opening ledger
rows, default albums) and stamps it at ``0001_baseline``, all in one transaction, so that
``db upgrade`` afterwards applies 0002 and later revisions. On any difference, or accounts whose
emails differ only by case, nothing is written and they are returned, one readable line each.

The baseline is the model metadata less what later migrations added to the models: today
the indexes of 0002 (its ``FK_COLUMNS``), 0007 (its ``INDEXES``), 0008 (its ``INDEXES`` and
``TRIGRAM_INDEXES``) and the table of 0009 (``autogen.TABLES_ADDED_LATER``). A migration that changes
the models must teach :func:`spikeland.db.adopt.indexes._baseline_indexes` (or this package) what it added;
the adoption tests, which build a database from 0001 alone and expect it to be accepted, fail
until it does.

What is compared:

* Alembic autogenerate: missing and unexpected tables and columns, column types (length,
  precision, timestamp with/without time zone, json/jsonb, arrays, enum vs text), nullability,
  server defaults, table and column comments.
* Catalog checks, for what autogenerate leaves out or reports poorly: primary keys (name and
  columns); foreign keys (name, columns, referenced table and columns, ON DELETE, ON UPDATE,
  DEFERRABLE, MATCH); indexes (name, columns and their order, uniqueness, method, partial,
  expression, DESC/NULLS options, INCLUDE columns, validity, a UNIQUE constraint where Prisma
  makes a unique index); enum types (missing, unexpected, labels and their order, the enum a
  column uses); CHECK, EXCLUDE and trigger constraints; triggers; column collations; identity
  and generated columns; UNLOGGED tables; row-level security.

Not compared: objects outside the current schema (normally ``public``), views (only noted),
functions, sequences, extensions, grants and ownership, column order, storage parameters,
operator classes of index columns; and the ``_prisma_migrations`` table, left as it is.

Modules: :mod:`~spikeland.db.adopt.run` (adopt, stamp, :func:`compare`),
:mod:`~spikeland.db.adopt.autogen` (the autogenerate comparison and its descriptions) and the
catalog checks :mod:`~spikeland.db.adopt.keys` (primary and foreign keys),
:mod:`~spikeland.db.adopt.indexes`, :mod:`~spikeland.db.adopt.enums` and
:mod:`~spikeland.db.adopt.other` (constraints, triggers, collations, identity and generated
columns, table options), over the shared queries of :mod:`~spikeland.db.adopt.catalog`.
"""

from spikeland.db.adopt.run import AdoptResult, Status, adopt, adopt_async, compare, needs_adoption

__all__ = ["AdoptResult", "Status", "adopt", "adopt_async", "compare", "needs_adoption"]
