import { nxExecutor } from '../../src/nx-executor';

export default nxExecutor('verify');
