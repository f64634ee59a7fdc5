import { Writable } from 'node:stream';

import { jsonLogger } from './logger.js';

/** A logger writing into an array, one parsed JSON object per line. */
function captured(levels?: Parameters<typeof jsonLogger>[1]) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: jsonLogger('directory', levels, stream) };
}

describe('jsonLogger', () => {
  it('writes one JSON object per line with the service, the level by name, an ISO time and Nest’s context', () => {
    const { lines, logger } = captured();
    logger.log('directory listening', 'NestApplication');
    logger.error('failed', 'Error: failed\n    at somewhere', 'CommandHost');
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: 'directory',
        context: 'NestApplication',
        msg: 'directory listening',
      },
      expect.objectContaining({
        level: 'error',
        context: 'CommandHost',
        stack: 'Error: failed\n    at somewhere',
        msg: 'failed',
      }),
    ]);
  });

  it("leaves out Nest's account of its own start, but not its warnings", () => {
    const { lines, logger } = captured();
    logger.log('Mapped {/v1/states, GET} route', 'RouterExplorer');
    logger.log('GatewayModule dependencies initialized', 'InstanceLoader');
    logger.warn('a route is mapped twice', 'RouterExplorer');
    logger.log('directory listening', 'NestApplication');
    expect(lines.map(({ level, msg }) => `${String(level)}: ${String(msg)}`)).toEqual([
      'warn: a route is mapped twice',
      'info: directory listening',
    ]);
  });

  it('redacts personal fields and secrets wherever they sit, up to three levels down', () => {
    const { lines, logger } = captured();
    logger.warn({
      msg: 'careless',
      email: 'a@example.org',
      command: { personal: { fullName: 'Anna Nowak' }, contact: { phone: '+48 1', notes: 'x' } },
      headers: { authorization: 'Bearer abc', cookie: 'session=1', 'set-cookie': 'session=2' },
      deep: { a: { b: { token: 't', secret: 's', password: 'p', kept: 'yes' } } },
    });
    expect(lines[0]).toMatchObject({
      msg: 'careless',
      email: '[redacted]',
      command: { personal: '[redacted]', contact: { phone: '[redacted]', notes: '[redacted]' } },
      headers: { authorization: '[redacted]', cookie: '[redacted]', 'set-cookie': '[redacted]' },
      deep: { a: { b: { token: '[redacted]', secret: '[redacted]', password: '[redacted]', kept: 'yes' } } },
    });
    expect(JSON.stringify(lines)).not.toMatch(/Anna|a@example|Bearer|session=/);
  });

  it('writes from the least severe of the levels given, as Nest lists them', () => {
    const { lines, logger } = captured(['error', 'fatal']);
    logger.log('not written');
    logger.warn('not written');
    logger.error('written');
    logger.setLogLevels(['log', 'warn', 'error', 'fatal']);
    logger.log('written too');
    expect(lines.map((line) => line.msg)).toEqual(['written', 'written too']);
  });
});
