/**
 * Jest setup file (setupFilesAfterEnv) for every test file: the test during which a database
 * password showed up in a captured output, or in the argv of a process fastkit started, fails.
 * See test/support/secrets.ts.
 */
import { describeLeaks, stopArgvWatch, takeLeaks } from './secrets';

afterEach(() => {
  const leaks = takeLeaks();
  if (leaks.length) throw new Error(describeLeaks(leaks));
});

afterAll(() => {
  const leaks = [...takeLeaks(), ...stopArgvWatch()];
  if (leaks.length) throw new Error(describeLeaks(leaks));
});
