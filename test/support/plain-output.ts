/**
 * Children print for a log, as in a user's CI: no colours. Nx (through chalk's CI detection)
 * colours its output whenever CI=true, as `.ci/run` sets; the assertions read plain text.
 */
process.env.FORCE_COLOR = '0';
process.env.NO_COLOR = '1';
