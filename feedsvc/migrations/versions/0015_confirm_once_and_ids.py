"""ids never reused on SQLite (AUTOINCREMENT); confirmation links used once; stored domains in IDNA form

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
import logging

import idna
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'  # main's head when this branch was rebased; one linear chain
branch_labels = None
depends_on = None

# Tables whose ids go into emailed links (subscribers: unsubscribe, preferences, confirm;
# confirmations: confirm; deliveries: "view in browser"). Without AUTOINCREMENT SQLite gives the
# next row max(id) + 1, so deleting the newest row hands its id, and every link made for it, to
# the next one (issue 14.2). PostgreSQL's sequences never give a number twice: nothing to do there.
AUTOINCREMENT_TABLES = ('subscribers', 'confirmations', 'deliveries')


def _recreate(table: str, autoincrement: bool) -> None:
    # Batch mode copies the table into a new one declared with (or without) AUTOINCREMENT, then
    # drops and renames; env.py switches foreign keys off meanwhile, so the drop cascades nowhere.
    # SQLite's sqlite_sequence starts from the highest id copied.
    with op.batch_alter_table(table, recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


log = logging.getLogger("alembic.runtime.migration")


def _ascii_domains() -> None:
    """Addresses stored with a Unicode domain (the form kept them so before 0015) in IDNA form,
    as the form stores them now: the mailer refuses a non-ASCII envelope, and would have bounced them."""
    bind = op.get_bind()
    subscribers = sa.table('subscribers', sa.column('id', sa.Integer), sa.column('email', sa.String))
    taken = {email for (email,) in bind.execute(sa.select(subscribers.c.email))}
    for sid, email in list(bind.execute(sa.select(subscribers.c.id, subscribers.c.email))):
        local, _, domain = email.rpartition('@')
        if email.isascii() or not local.isascii():
            continue  # a non-ASCII local part cannot be helped: the mailer refuses it, as before
        try:
            ascii_form = f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}".lower()
        except idna.IDNAError as exc:
            log.warning("subscriber %s: the domain of %r is not valid IDNA (%s); left as it is", sid, email, exc)
            continue
        if ascii_form in taken:
            log.warning("subscriber %s: %r is also subscribed as %r; left as it is", sid, email, ascii_form)
            continue
        bind.execute(subscribers.update().where(subscribers.c.id == sid).values(email=ascii_form))
        taken.add(ascii_form)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    # Issue 14.2: a confirmation link acts once, and never after its subscriber left.
    op.add_column('confirmations', sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
    _ascii_domains()
    if sqlite:
        for table in AUTOINCREMENT_TABLES:
            _recreate(table, True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        for table in AUTOINCREMENT_TABLES:
            _recreate(table, False)
    # A parked delivery is a planned one to the code before this revision.
    op.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'parked'")
    with op.batch_alter_table('confirmations') as batch:
        batch.drop_column('used_at')
