import { ConfigError } from './config.js';
import { loadOperationsConfig, loadServiceProcessConfig } from './operations.config.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadOperationsConfig('directory', env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('operations listener configuration', () => {
  it('defaults to a port per process on loopback', () => {
    expect(loadOperationsConfig('gateway', {})).toEqual({ host: '127.0.0.1', port: 9463 });
    expect(loadOperationsConfig('directory', {})).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadOperationsConfig('messaging', {})).toEqual({ host: '127.0.0.1', port: 9465 });
  });

  it('takes a port, 0 for any free one, off for none, and a host', () => {
    expect(loadOperationsConfig('messaging', { FOCAL_OPERATIONS_PORT: '9500' })).toEqual({
      host: '127.0.0.1',
      port: 9500,
    });
    expect(
      loadOperationsConfig('directory', { FOCAL_OPERATIONS_PORT: '0', FOCAL_OPERATIONS_HOST: '0.0.0.0' }),
    ).toEqual({ host: '0.0.0.0', port: 0 });
    expect(loadOperationsConfig('directory', { FOCAL_OPERATIONS_PORT: 'off' })).toBeUndefined();
  });

  it.each(['ninety', '-1', '65536', '9464.5', '1e3'])(
    'refuses FOCAL_OPERATIONS_PORT=%s with its fix',
    (port) => {
      expect(problemsOf({ FOCAL_OPERATIONS_PORT: port })).toEqual([
        `FOCAL_OPERATIONS_PORT=${port} is not a port: use 1 to 65535, 0 for any free port, or off for no operations listener`,
      ]);
    },
  );

  it("is one schema with the service's settings: every problem of both named at once", () => {
    expect(() =>
      loadServiceProcessConfig('messaging', { FOCAL_STORE: 'postgres', FOCAL_OPERATIONS_PORT: 'ninety' }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'DATABASE_URL is not set: give a postgres://… URL',
          expect.stringMatching(/^FOCAL_MASTER_KEY_FILE is not set/),
          'FOCAL_OPERATIONS_PORT=ninety is not a port: use 1 to 65535, 0 for any free port, or off for no operations listener',
        ],
      }),
    );
  });
});
