"""e-mail unique per clinic; clinics get a sign-in code

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

A user's e-mail was unique across the whole server, so a clinic administrator creating a user
learnt (409) whether the address had an account in another clinic. Now it is unique within a
clinic, and the sign-in form names the clinic by its code (``clinics.code``, made here from each
clinic's name: lower-case ASCII letters, digits and hyphens; ``-2``, ``-3`` ... where two names give
the same code). Existing rows are kept as they are.

On SQLite the ``users`` table is rebuilt (batch mode): :func:`medius.web.db.upgrade_database` turns
foreign-key enforcement off for the migration, else dropping the old table would cascade to the
sign-in sessions and visits that refer to it.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CODE_MAX = 40


def _code(name: str, taken: set[str]) -> str:
    """The code of a clinic called ``name`` (a frozen copy of medius.web.auth.service.clinic_code)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: CODE_MAX - 6].strip("-") or "clinic"
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    taken.add(code)
    return code


def upgrade() -> None:
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=CODE_MAX), nullable=True))
    conn = op.get_bind()
    taken: set[str] = set()
    for clinic_id, name in conn.execute(sa.text("SELECT id, name FROM clinics ORDER BY id")).all():
        conn.execute(
            sa.text("UPDATE clinics SET code = :code WHERE id = :id"),
            {"code": _code(name, taken), "id": clinic_id},
        )
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=CODE_MAX), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_clinics_code"), ["code"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_users_email"), type_="unique")
        batch_op.create_unique_constraint("uq_users_clinic_email", ["clinic_id", "email"])
        batch_op.create_index(op.f("ix_users_email"), ["email"], unique=False)


def downgrade() -> None:
    conn = op.get_bind()
    shared = conn.execute(
        sa.text("SELECT email FROM users GROUP BY email HAVING COUNT(*) > 1 ORDER BY email")
    ).first()
    if shared is not None:
        raise RuntimeError(
            f"cannot go back to server-wide unique e-mails: {shared[0]} has accounts in several clinics"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_users_email"))
        batch_op.drop_constraint("uq_users_clinic_email", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_users_email"), ["email"])
    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_clinics_code"), type_="unique")
        batch_op.drop_column("code")
