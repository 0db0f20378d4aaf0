import { hugePageAllocation, thisMachine, type Machine } from '../../src/python-allocator';

const debian12: Machine = { platform: 'linux', glibc: '2.36', hugePages: 'madvise' };
const HUGE_PAGES = { PYTHONMALLOC: 'malloc', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };

describe("the helper's Python allocates on huge pages only where that is faster", () => {
  test('Linux, glibc 2.35 or later, huge pages in madvise or always mode: malloc on huge pages', () => {
    expect(hugePageAllocation({}, debian12)).toEqual(HUGE_PAGES);
    expect(hugePageAllocation({}, { ...debian12, glibc: '2.35' })).toEqual(HUGE_PAGES);
    expect(hugePageAllocation({}, { ...debian12, glibc: '3.0' })).toEqual(HUGE_PAGES);
    expect(hugePageAllocation({}, { ...debian12, hugePages: 'always' })).toEqual(HUGE_PAGES);
  });

  test.each([
    ['huge pages off', { ...debian12, hugePages: 'never' }],
    ['no huge page setting to read', { ...debian12, hugePages: undefined }],
    ['glibc 2.34 (ignores the tunable)', { ...debian12, glibc: '2.34' }],
    ['glibc 2.31', { ...debian12, glibc: '2.31' }],
    ['not glibc (musl)', { ...debian12, glibc: undefined }],
    ['macOS', { platform: 'darwin', glibc: undefined, hugePages: undefined }],
    ['Windows', { platform: 'win32', glibc: undefined, hugePages: undefined }],
  ] as Array<[string, Machine]>)('%s: Python as it is', (_case, machine) => {
    expect(hugePageAllocation({}, machine)).toEqual({});
  });

  test("the user's own PYTHONMALLOC or GLIBC_TUNABLES wins: nothing added", () => {
    expect(hugePageAllocation({ PYTHONMALLOC: 'pymalloc' }, debian12)).toEqual({});
    expect(hugePageAllocation({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, debian12)).toEqual({});
  });

  test('this machine is read as it is: its platform, and on Linux the glibc Node runs on', () => {
    const machine = thisMachine();
    expect(machine.platform).toBe(process.platform);
    if (process.platform === 'linux') expect(machine.glibc).toMatch(/^\d+\.\d+/);
  });
});
