/** Every test file removes the temporary folders it made (test/support's tempDir), pass or fail. */
import { removeTempDirs } from './workspace';

afterAll(() => removeTempDirs());
