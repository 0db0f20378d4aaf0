import { maskSecrets, secretsIn } from '../../src/mask';

describe('maskSecrets: no database password in anything fastkit prints', () => {
  test('hides the password of a URL and keeps the rest readable', () => {
    expect(maskSecrets('Cannot connect to postgresql+psycopg://app:S3cret@db.internal:5432/app')).toBe(
      'Cannot connect to postgresql+psycopg://app:***@db.internal:5432/app',
    );
  });

  test('hides every URL password on a line, in quotes or not', () => {
    expect(maskSecrets(`urls: 'mysql+pymysql://root:rootpw@mysql/app' and "postgresql://u:pw2@pg/app"`)).toBe(
      `urls: 'mysql+pymysql://root:***@mysql/app' and "postgresql://u:***@pg/app"`,
    );
  });

  test('hides a password with an empty user name', () => {
    expect(maskSecrets('redis://:hunter2@cache:6379/0')).toBe('redis://:***@cache:6379/0');
  });

  test('hides a password that contains colons, slashes and other punctuation', () => {
    expect(maskSecrets('postgresql://app:pa:ss/w0rd!#$%^&*()@db/app')).toBe('postgresql://app:***@db/app');
  });

  test('leaves URLs without a password, and text without URLs, unchanged', () => {
    for (const text of [
      'sqlite:////tmp/api.db',
      'postgresql+psycopg:///fk?host=/var/run/postgresql',
      'postgresql://app@db:5432/app',
      'Running upgrade base -> 1a2b3c4d5e6f, create invoices: user:name@example.com',
      'Now at 1a2b3c4d5e6f (head)',
    ]) {
      expect(maskSecrets(text)).toBe(text);
    }
  });

  test('hides known secrets that cannot be ordinary words wherever they appear, even outside a URL', () => {
    expect(maskSecrets('FATAL: password "S3cretSentinel" rejected; S3cretSentinel again', ['S3cretSentinel'])).toBe(
      'FATAL: password "***" rejected; *** again',
    );
  });
});

describe('passwords the URL pattern alone would cut short', () => {
  test('a password with an unencoded @ is hidden whole, not cut at its first @', () => {
    const DATABASE_URL = 'postgresql://app:p@ss-w0rd@db/app';
    expect(maskSecrets(`url: ${DATABASE_URL}`, secretsIn({ DATABASE_URL }))).toBe('url: postgresql://app:***@db/app');
  });

  test('and so is its part after the @, which SQLAlchemy takes for the host and prints as such', () => {
    const DATABASE_URL = 'postgresql://app:p@ss-w0rd@db/app';
    expect(maskSecrets("failed to resolve host 'ss-w0rd@db'", secretsIn({ DATABASE_URL }))).toBe("failed to resolve host '***@db'");
  });

  test('a longer secret is hidden before a shorter one inside it', () => {
    expect(maskSecrets('pw=S3cret-and-more', ['S3cret', 'S3cret-and-more'])).toBe('pw=***');
  });
});

describe('secretsIn: the passwords to hide, read from the environment', () => {
  test('takes the values of password variables too: PGPASSWORD, MYSQL_PWD, *_PASSWORD', () => {
    expect(secretsIn({ PGPASSWORD: 'pg-secret', MYSQL_PWD: 'my-secret', DB_PASSWORD: 'db-secret', PASSWORDLESS: 'yes-no' }).sort()).toEqual([
      'db-secret',
      'my-secret',
      'pg-secret',
    ]);
  });

  test('finds the password of each URL-like value', () => {
    expect(
      secretsIn({
        DATABASE_URL: 'postgresql+psycopg://app:S3cretSentinel@127.0.0.1:1/app',
        REPLICA_URL: 'postgresql://ro:replica-pw@replica/app',
        HOME: '/root',
      }).sort(),
    ).toEqual(['S3cretSentinel', 'replica-pw']);
  });

  test('finds a percent-encoded password in both forms, as typed and as the server sees it', () => {
    expect(secretsIn({ DATABASE_URL: 'postgresql://app:S3cret%40Sentinel@db/app' }).sort()).toEqual([
      'S3cret%40Sentinel',
      'S3cret@Sentinel',
    ]);
  });

  test('finds a password that contains a quote, so the URL printed as it is still hides it', () => {
    const DATABASE_URL = "postgresql://app:it's-S3cret@db/app";
    expect(secretsIn({ DATABASE_URL })).toContain("it's-S3cret");
    expect(maskSecrets(`url: ${DATABASE_URL}`, secretsIn({ DATABASE_URL }))).toBe('url: postgresql://app:***@db/app');
  });

  test('ignores values without a URL, URLs without a password, and passwords too short to hide safely', () => {
    expect(
      secretsIn({
        PATH: '/usr/bin:/bin',
        SQLITE_URL: 'sqlite:///api.db',
        NO_PASSWORD: 'postgresql://app@db/app',
        SHORT: 'postgresql://app:pw@db/app',
        UNSET: undefined,
      }),
    ).toEqual([]);
  });

  test('what it finds, maskSecrets hides in any text', () => {
    const env = { DATABASE_URL: 'postgresql://app:S3cret%40Sentinel@db/app' };
    const text = 'tried S3cret@Sentinel and S3cret%40Sentinel at postgresql://app:S3cret%40Sentinel@db/app';
    const masked = maskSecrets(text, secretsIn(env));
    expect(masked).not.toMatch(/S3cret/);
    expect(masked).toBe('tried *** and *** at postgresql://app:***@db/app');
  });
});

describe('passwords in URL queries and settings: hidden by where they stand', () => {
  test.each([
    ['postgresql+psycopg://app@db/app?password=Hunter2pw', 'postgresql+psycopg://app@db/app?password=***'],
    ['mysql+pymysql://root@db/app?charset=utf8mb4&passwd=Hunter2pw&ssl=1', 'mysql+pymysql://root@db/app?charset=utf8mb4&passwd=***&ssl=1'],
    ['mysql://root@db/app?pwd=x', 'mysql://root@db/app?pwd=***'],
    ['postgresql://app@db/app?sslpassword=k3y&sslmode=require', 'postgresql://app@db/app?sslpassword=***&sslmode=require'],
    ["connection to 'host=db user=app password=invoices dbname=app' failed", "connection to 'host=db user=app password=*** dbname=app' failed"],
    ['DB_PASSWORD=true PGPASSWORD=x', 'DB_PASSWORD=*** PGPASSWORD=***'],
    ["{'host': 'db', 'password': 'invoices'}", "{'host': 'db', 'password': '***'}"],
    ['{"user": "app", "passwd":"true"}', '{"user": "app", "passwd":"***"}'],
  ])('%s', (text, masked) => {
    expect(maskSecrets(text)).toBe(masked);
  });

  test('leaves words that only look like the keys alone', () => {
    for (const text of [
      'FATAL:  password authentication failed for user "app"',
      'passwords=2 compass=north bypass: yes',
      'Running upgrade a1 -> b2, add password_hash column',
    ]) {
      expect(maskSecrets(text)).toBe(text);
    }
  });

  test('secretsIn finds a password given in the query of an environment URL', () => {
    expect(secretsIn({ DATABASE_URL: 'postgresql+psycopg://app@db/app?sslmode=require&password=Hunter2pw' })).toEqual(['Hunter2pw']);
  });
});

describe('a password that is an ordinary word is hidden only where a credential stands', () => {
  test('password "invoices": the URL is masked, "create invoices" is not rewritten', () => {
    const DATABASE_URL = 'postgresql+psycopg://app:invoices@db/app';
    const secrets = secretsIn({ DATABASE_URL });
    expect(secrets).toEqual(['invoices']);
    expect(maskSecrets('Running upgrade 3e51a29c4cf9 -> a719d4f7b98f, create invoices', secrets)).toBe(
      'Running upgrade 3e51a29c4cf9 -> a719d4f7b98f, create invoices',
    );
    expect(maskSecrets(`Cannot connect to the database at ${DATABASE_URL}`, secrets)).toBe(
      'Cannot connect to the database at postgresql+psycopg://app:***@db/app',
    );
  });

  test('password "true": status --json stays the same, valid JSON', () => {
    const secrets = secretsIn({ DATABASE_URL: 'postgresql://app:true@db/app', PGPASSWORD: 'true' });
    const json = JSON.stringify({ current: ['a719d4f7b98f'], heads: ['a719d4f7b98f'], pending: [], upToDate: true });
    expect(maskSecrets(json, secrets)).toBe(json);
    expect(JSON.parse(maskSecrets(json, secrets)).upToDate).toBe(true);
  });

  test.each(['postgres', 'app', 'secret', '12345678', 'my-app_db', '1e10'])('%s is not hidden in free text', (password) => {
    expect(maskSecrets(`connected as app to ${password} (${password})`, [password])).toBe(`connected as app to ${password} (${password})`);
  });

  test.each(['Hunter2pw', 's3cr3t!', 'p@ss-w0rd', 'FkSentinel-7q2Wx9'])('%s is hidden wherever it stands', (password) => {
    expect(maskSecrets(`echo ${password}; "${password}"`, [password])).toBe('echo ***; "***"');
  });
});

describe('long lines', () => {
  test('a line of a megabyte full of half-URLs is masked right: every password that ends in @, nothing else', () => {
    const unit = 'pg://u:no-at-here ';
    const line = unit.repeat(40_000) + 'a://b:c://d:e://' + 'x'.repeat(300_000) + ' postgresql://app:S3cret@db/app';
    const masked = maskSecrets(line);
    expect(masked.length).toBe(line.length - 'S3cret'.length + 3);
    expect(masked.endsWith(' postgresql://app:***@db/app')).toBe(true);
    expect(masked.startsWith(unit.repeat(40_000))).toBe(true);
  });
});
