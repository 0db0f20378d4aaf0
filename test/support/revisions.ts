/** Hand-written Alembic revisions for tests. */
/**
 * The source of a revision file with a fixed id, as a test writes it into alembic/versions:
 * the lines a test expects (`Running upgrade base -> a1a1a1a1a1a1, create notes`) are then the
 * same on every run. `upgrade` and `downgrade` are the bodies of the two functions.
 */
export function revision(id: string, down: string | string[] | null, message: string, upgrade = 'pass', downgrade = 'pass'): string {
  return [
    `"""${message}`,
    '',
    `Revision ID: ${id}`,
    `Revises: ${Array.isArray(down) ? down.join(', ') : (down ?? '')}`,
    'Create Date: 2026-01-01 00:00:00',
    '',
    '"""',
    'from alembic import op',
    'import sqlalchemy as sa',
    '',
    `revision = ${JSON.stringify(id)}`,
    `down_revision = ${down === null ? 'None' : JSON.stringify(down)}`,
    'branch_labels = None',
    'depends_on = None',
    '',
    '',
    'def upgrade():',
    `    ${upgrade}`,
    '',
    '',
    'def downgrade():',
    `    ${downgrade}`,
    '',
  ].join('\n');
}
