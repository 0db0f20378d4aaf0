// Ends every test run with one line a person or a CI log can grep: "N passed, N failed".
// Written as the process exits, so it comes after Jest's own summary: the run's last line.
// Before it, the slowest test files of the run, so the suite's time stays easy to watch.
const { relative } = require('node:path');

const SLOWEST = 12;

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const files = results.testResults
      .map((file) => ({
        name: `${relative(this.rootDir, file.testFilePath)}${file.displayName ? ` [${file.displayName.name ?? file.displayName}]` : ''}`,
        seconds: (file.perfStats.end - file.perfStats.start) / 1000,
      }))
      .sort((a, b) => b.seconds - a.seconds);
    const total = files.reduce((sum, file) => sum + file.seconds, 0);
    const slowest = files.length > 1
      ? `\nSlowest test files (${total.toFixed(0)} s of test-file time in all):\n` +
        files.slice(0, SLOWEST).map((file) => `  ${file.seconds.toFixed(1).padStart(6)} s  ${file.name}`).join('\n') + '\n'
      : '';
    const line = `\n${results.numPassedTests} passed, ${failed} failed\n`;
    process.once('exit', () => process.stdout.write(slowest + line));
  }
}
module.exports = SummaryReporter;
