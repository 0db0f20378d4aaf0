/** What `nx g fastkit:alembic-setup` leaves in a project that had only its project.json, sorted. */
export const ALEMBIC_SETUP_FILES = [
  'alembic.ini',
  'alembic/env.py',
  'alembic/script.py.mako',
  'alembic/versions/.gitkeep',
  'database.py',
  'project.json',
];
