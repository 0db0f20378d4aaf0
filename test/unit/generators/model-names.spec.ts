import { describeError } from '../../../src/errors';
import { checkModuleName, modelClassName } from '../../../src/model-names';

describe('model class names from module names', () => {
  test.each([
    ['invoices', 'Invoice'],
    ['categories', 'Category'],
    ['addresses', 'Address'],
    ['order_items', 'OrderItem'],
    ['status', 'Status'],
    ['statuses', 'Status'],
    ['clients', 'Client'],
    ['companies', 'Company'],
    ['boxes', 'Box'],
    ['batches', 'Batch'],
    ['wishes', 'Wish'],
    ['houses', 'House'],
    ['buses', 'Bus'],
    ['analysis', 'Analysis'],
    ['people', 'Person'],
    ['children', 'Child'],
    ['news', 'News'],
    ['data', 'Data'],
    ['series', 'Series'],
    ['user_addresses', 'UserAddress'],
    ['invoice', 'Invoice'],
    ['days', 'Day'],
    ['movies', 'Movie'],
  ])('%s → %s', (name, expected) => {
    expect(modelClassName(name)).toBe(expected);
  });
});

describe('module names that are refused, with one line saying why and what works', () => {
  const refusal = (name: string | undefined) => {
    try {
      checkModuleName(name);
    } catch (error) {
      return describeError(error);
    }
    throw new Error(`"${name}" was accepted`);
  };

  test.each([
    ['', 'The module needs a name'],
    ['   ', 'The module needs a name'],
    ['../x', 'Module name "../x" is a path'],
    ['a/b', 'Module name "a/b" is a path'],
    ['a\\b', 'Module name "a\\b" is a path'],
    ['.hidden', 'Module name ".hidden" is a path'],
    ['Invoices', 'is not a snake_case Python identifier'],
    ['order-items', 'is not a snake_case Python identifier'],
    ['2fa_codes', 'is not a snake_case Python identifier'],
    ['_private', 'is not a snake_case Python identifier'],
    ['double__underscore', 'is not a snake_case Python identifier'],
    ['trailing_', 'is not a snake_case Python identifier'],
    ['invoices!', 'is not a snake_case Python identifier'],
    ['class', 'Module name "class" is a Python keyword'],
    ['import', 'Module name "import" is a Python keyword'],
    ['lambda', 'Module name "lambda" is a Python keyword'],
  ])('%j is refused', (name, reason) => {
    const line = refusal(name);
    expect(line).toContain(reason);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/e\.g\. invoices|Choose another name/);
  });

  test.each(['invoices', 'order_items', 'v2_items', 'match', 'type'])('%s is accepted', (name) => {
    expect(checkModuleName(name)).toBe(name);
  });
});
