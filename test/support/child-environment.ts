/**
 * Jest setup file: the environment every process a test starts inherits (and the in-process
 * calls read), the same for both.
 *
 * Children print for a log, as in a user's CI: no colours. Nx (through chalk's CI detection)
 * colours its output whenever CI=true, as `.ci/run` sets; the assertions read plain text.
 */
process.env.FORCE_COLOR = '0';
process.env.NO_COLOR = '1';

/*
 * Node reads the whole certificate bundle NODE_EXTRA_CA_CERTS names as it starts: ~40 ms of each
 * of the suite's thousands of Node processes (fastkit, nx) on a machine that sets it, as this
 * project's VM does. No test needs it: nothing but npm makes a TLS connection, and npm reads its
 * own `cafile` setting.
 */
delete process.env.NODE_EXTRA_CA_CERTS;
