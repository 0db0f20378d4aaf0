/** The `^` inputs migrate-sql gets, by the Nx version that reads them. */
import { dependencyPythonInputs } from '../../src/dependency-inputs';

describe('the inputs that follow the Python files of the projects a target depends on', () => {
  test('Nx 22.6 and later read a fileset of the dependencies; older Nx gets ^default, which every version defines', () => {
    expect(dependencyPythonInputs('22.5.3')).toEqual(['^default']);
    expect(dependencyPythonInputs('22.6.0')).toEqual(['^{projectRoot}/**/*.py']);
    expect(dependencyPythonInputs('23.3.2')).toEqual(['^{projectRoot}/**/*.py']);
    expect(dependencyPythonInputs('24.0.6')).toEqual(['^{projectRoot}/**/*.py']);
    expect(dependencyPythonInputs()).toEqual(['^{projectRoot}/**/*.py']); // the nx 24 of this repository
  });
});
